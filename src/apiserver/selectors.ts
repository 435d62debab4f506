/**
 * Label and field selectors, as kube-apiserver parses, validates and matches them.
 * Implementation lives in ./selectors/; this module is the public entry point.
 */
export {
  type LabelOperator,
  type LabelRequirement,
  type LabelSelector,
  type LabelSelectorObject,
  SelectorError,
  parseLabelSelector,
  parseLabelSelectorRaw,
  matchLabels,
  matchesRequirement,
  isEverything,
  selectorToString,
  fromLabelSelectorObject,
  formatLabels,
  formatLabelSelector,
} from './selectors/labels.js';
export {
  type FieldOperator,
  type FieldRequirement,
  type FieldSelector,
  parseFieldSelector,
  parseFieldSelectorRaw,
  fieldSelectorToString,
  escapeFieldValue,
  unescapeFieldValue,
  matchFields,
  requiredFieldValue,
  supportedFieldLabels,
  convertFieldSelector,
  fieldsFor,
  asCoreEvent,
} from './selectors/fields.js';
export { isQualifiedName, isValidLabelValue, isDNS1123Subdomain } from './selectors/validation.js';
