/**
 * Field selectors as apimachinery `pkg/fields` parses them, plus the per-kind field label
 * conversions and selectable-field sets kube-apiserver registers (core/v1 conversion.go,
 * events/v1 conversion.go, pkg/registry/* ToSelectableFields).
 *
 * Two steps, as in kube: `parseFieldSelector` checks syntax only; `convertFieldSelector`
 * checks each field label is supported for the kind (renaming aliases such as events.k8s.io's
 * `regarding.name` → `involvedObject.name`). Matching then compares against `fieldsFor`, whose
 * keys are the internal (converted) names. A field that is accepted but has no value in the
 * set compares as "" — kube does the same (e.g. pods accept `status.podIPs` but never fill it).
 */
import type { ResourceInfo } from '../../api/resources.js';
import { errors } from '../errors.js';
import { SelectorError } from './labels.js';

export type FieldOperator = '=' | '!=';

export interface FieldRequirement {
  field: string;
  operator: FieldOperator;
  value: string;
}

export interface FieldSelector {
  requirements: FieldRequirement[];
}

// ---------------------------------------------------------------- escaping

/** fields.EscapeValue: `\` → `\\`, `,` → `\,`, `=` → `\=`. */
export function escapeFieldValue(s: string): string {
  return s.replace(/[\\,=]/g, (c) => `\\${c}`);
}

/** fields.UnescapeValue, with kube's error texts (the unescaped rune is printed as its code). */
export function unescapeFieldValue(s: string): string {
  if (!/[\\,=]/.test(s)) return s;
  let out = '';
  let inSlash = false;
  for (const c of s) {
    if (inSlash) {
      if (c === '\\' || c === ',' || c === '=') out += c;
      else throw new SelectorError(`invalid field selector: invalid escape sequence: \\${c}`);
      inSlash = false;
      continue;
    }
    if (c === '\\') inSlash = true;
    else if (c === ',' || c === '=') throw new SelectorError(`invalid field selector: unescaped character in value: ${c.codePointAt(0)}`);
    else out += c;
  }
  if (inSlash) throw new SelectorError('invalid field selector: invalid escape sequence: \\');
  return out;
}

// ---------------------------------------------------------------- parsing

/** Splits on commas not preceded by a backslash escape. */
function splitTerms(s: string): string[] {
  if (s.length === 0) return [];
  const terms: string[] = [];
  let start = 0;
  let inSlash = false;
  for (let i = 0; i < s.length; i++) {
    const c = s[i];
    if (inSlash) inSlash = false;
    else if (c === '\\') inSlash = true;
    else if (c === ',') {
      terms.push(s.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(s.slice(start));
  return terms;
}

/** First operator occurrence scanning left to right; at each position `!=`, then `==`, then `=`. */
function splitTerm(term: string): { lhs: string; op: string; rhs: string } | undefined {
  for (let i = 0; i < term.length; i++) {
    for (const op of ['!=', '==', '=']) {
      if (term.startsWith(op, i)) return { lhs: term.slice(0, i), op, rhs: term.slice(i + op.length) };
    }
  }
  return undefined;
}

/** fields.ParseSelector without HTTP wrapping; throws SelectorError with kube's message. */
export function parseFieldSelectorRaw(s: string): FieldSelector {
  const parts = splitTerms(s).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  const requirements: FieldRequirement[] = [];
  for (const part of parts) {
    if (part === '') continue;
    const t = splitTerm(part);
    if (!t) throw new SelectorError(`invalid selector: '${s}'; can't understand '${part}'`);
    const value = unescapeFieldValue(t.rhs);
    requirements.push({ field: t.lhs, operator: t.op === '!=' ? '!=' : '=', value });
  }
  return { requirements };
}

/** Parses a `fieldSelector` query parameter; syntax errors → 400 BadRequest with kube's text. */
export function parseFieldSelector(s: string): FieldSelector {
  try {
    return parseFieldSelectorRaw(s);
  } catch (e) {
    if (e instanceof SelectorError) throw errors.badRequest(e.message);
    throw e;
  }
}

/** Selector.String(): `f=v` / `f!=v` with values re-escaped, joined by commas. */
export function fieldSelectorToString(sel: FieldSelector): string {
  return sel.requirements.map((r) => `${r.field}${r.operator}${escapeFieldValue(r.value)}`).join(',');
}

/** Matches when every requirement holds; absent fields compare as "". */
export function matchFields(sel: FieldSelector, fields: Record<string, string>): boolean {
  return sel.requirements.every((r) => {
    const v = Object.prototype.hasOwnProperty.call(fields, r.field) ? fields[r.field] : '';
    return r.operator === '=' ? v === r.value : v !== r.value;
  });
}

/** RequiresExactMatch: the value a `field=value` term pins, if any (used to narrow scans). */
export function requiredFieldValue(sel: FieldSelector, field: string): string | undefined {
  return sel.requirements.find((r) => r.field === field && r.operator === '=')?.value;
}

// ---------------------------------------------------------------- per-kind labels

type Conversion = Record<string, string>; // accepted label → internal field name

function identity(...labels: string[]): Conversion {
  return Object.fromEntries(labels.map((l) => [l, l]));
}

const META = identity('metadata.name', 'metadata.namespace');

const CORE_EVENT_FIELDS = [
  'involvedObject.kind',
  'involvedObject.namespace',
  'involvedObject.name',
  'involvedObject.uid',
  'involvedObject.apiVersion',
  'involvedObject.resourceVersion',
  'involvedObject.fieldPath',
  'reason',
  'reportingComponent',
  'source',
  'type',
];

/** Registered AddFieldLabelConversionFunc tables, keyed `group/plural`. Others use META. */
const CONVERSIONS: Record<string, Conversion> = {
  '/pods': {
    ...identity(
      'metadata.name',
      'metadata.namespace',
      'spec.nodeName',
      'spec.restartPolicy',
      'spec.schedulerName',
      'spec.serviceAccountName',
      'spec.hostNetwork',
      'status.phase',
      'status.podIP',
      'status.podIPs',
      'status.nominatedNodeName',
    ),
    'spec.host': 'spec.nodeName', // old v1 clients
  },
  '/nodes': identity('metadata.name', 'spec.unschedulable'),
  '/events': identity(...CORE_EVENT_FIELDS, 'metadata.namespace', 'metadata.name'),
  '/namespaces': identity('status.phase', 'metadata.name'),
  '/secrets': identity('type', 'metadata.namespace', 'metadata.name'),
  '/services': identity('metadata.namespace', 'metadata.name', 'spec.clusterIP', 'spec.type'),
  'apps/replicasets': identity('metadata.name', 'metadata.namespace', 'status.replicas'),
  'events.k8s.io/events': {
    reason: 'reason',
    'regarding.kind': 'involvedObject.kind',
    'regarding.namespace': 'involvedObject.namespace',
    'regarding.name': 'involvedObject.name',
    'regarding.uid': 'involvedObject.uid',
    'regarding.apiVersion': 'involvedObject.apiVersion',
    'regarding.resourceVersion': 'involvedObject.resourceVersion',
    'regarding.fieldPath': 'involvedObject.fieldPath',
    reportingController: 'reportingComponent',
    source: 'source',
    type: 'type',
    'metadata.namespace': 'metadata.namespace',
    'metadata.name': 'metadata.name',
  },
};

function conversionFor(resource: Pick<ResourceInfo, 'group' | 'plural'>): Conversion {
  return CONVERSIONS[`${resource.group}/${resource.plural}`] ?? META;
}

/** The field labels a kind accepts in `fieldSelector` (before conversion), sorted. */
export function supportedFieldLabels(resource: Pick<ResourceInfo, 'group' | 'plural'>): string[] {
  return Object.keys(conversionFor(resource)).sort();
}

/**
 * Applies the kind's field label conversion (Selector.Transform): every field must be
 * supported, aliases are renamed to internal names. Unsupported → 400 BadRequest
 * `field label not supported: <label>`.
 */
export function convertFieldSelector(resource: Pick<ResourceInfo, 'group' | 'plural'>, sel: FieldSelector): FieldSelector {
  const conv = conversionFor(resource);
  return {
    requirements: sel.requirements.map((r) => {
      const mapped = Object.prototype.hasOwnProperty.call(conv, r.field) ? conv[r.field] : undefined;
      if (mapped === undefined) throw errors.badRequest(`field label not supported: ${r.field}`);
      return { ...r, field: mapped };
    }),
  };
}

// ---------------------------------------------------------------- selectable field values

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

function str(v: unknown): string {
  return typeof v === 'string' ? v : v == null ? '' : String(v);
}

/** The core/v1 shape of an Event, whichever API version the stored object is in. */
export function asCoreEvent(obj: Obj): Obj {
  const isNew = typeof obj.apiVersion === 'string' ? obj.apiVersion.startsWith('events.k8s.io/') : obj.regarding !== undefined;
  if (!isNew) return obj;
  return {
    ...obj,
    involvedObject: obj.regarding ?? {},
    related: obj.related,
    message: obj.note,
    source: obj.deprecatedSource ?? {},
    firstTimestamp: obj.deprecatedFirstTimestamp,
    lastTimestamp: obj.deprecatedLastTimestamp,
    count: obj.deprecatedCount,
  };
}

/**
 * The selectable field set kube-apiserver computes for an object (internal field names):
 * metadata.name always, metadata.namespace for namespaced kinds, plus the kind's own fields.
 */
export function fieldsFor(resource: Pick<ResourceInfo, 'group' | 'plural' | 'namespaced'>, obj: Obj): Record<string, string> {
  const md = obj.metadata ?? {};
  const out: Record<string, string> = { 'metadata.name': str(md.name) };
  if (resource.namespaced) out['metadata.namespace'] = str(md.namespace);
  const spec = obj.spec ?? {};
  const status = obj.status ?? {};
  switch (`${resource.group}/${resource.plural}`) {
    case '/pods': {
      out['spec.nodeName'] = str(spec.nodeName);
      out['spec.restartPolicy'] = str(spec.restartPolicy);
      out['spec.schedulerName'] = str(spec.schedulerName);
      out['spec.serviceAccountName'] = str(spec.serviceAccountName);
      out['spec.hostNetwork'] = spec.hostNetwork === true ? 'true' : 'false';
      out['status.phase'] = str(status.phase);
      out['status.podIP'] = str(status.podIPs?.[0]?.ip ?? status.podIP);
      out['status.nominatedNodeName'] = str(status.nominatedNodeName);
      break;
    }
    case '/nodes':
      out['spec.unschedulable'] = spec.unschedulable === true ? 'true' : 'false';
      break;
    case '/namespaces':
      out['status.phase'] = str(status.phase);
      break;
    case '/secrets':
      out.type = str(obj.type);
      break;
    case '/services':
      out['spec.clusterIP'] = str(spec.clusterIP);
      out['spec.type'] = str(spec.type);
      break;
    case 'apps/replicasets':
      out['status.replicas'] = String(typeof status.replicas === 'number' ? status.replicas : 0);
      break;
    case '/events':
    case 'events.k8s.io/events': {
      const ev = asCoreEvent(obj);
      const io = ev.involvedObject ?? {};
      out['involvedObject.kind'] = str(io.kind);
      out['involvedObject.namespace'] = str(io.namespace);
      out['involvedObject.name'] = str(io.name);
      out['involvedObject.uid'] = str(io.uid);
      out['involvedObject.apiVersion'] = str(io.apiVersion);
      out['involvedObject.resourceVersion'] = str(io.resourceVersion);
      out['involvedObject.fieldPath'] = str(io.fieldPath);
      out.reason = str(ev.reason);
      out.reportingComponent = str(ev.reportingController);
      out.source = str(ev.source?.component) || str(ev.reportingController);
      out.type = str(ev.type);
      break;
    }
  }
  return out;
}
