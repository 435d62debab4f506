/**
 * Server-side Table printing for every served kind (kube's pkg/printers/internalversion).
 * Implementation lives in ./tables/; this module is the public entry point.
 */
export {
  type BuildTableOptions,
  type IncludeObject,
  type ListMeta,
  type PartialObjectMetadata,
  type Table,
  type TableColumnDefinition,
  type TableRow,
  type TableRowCondition,
  buildTable,
  columnsFor,
  hasPrinter,
  humanDuration,
  partialObjectMetadata,
  rowFor,
} from './tables/index.js';
export { podSummary } from './tables/pods.js';
