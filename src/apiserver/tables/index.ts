/**
 * Server-side printing (`Accept: application/json;as=Table;v=v1;g=meta.k8s.io`): picks the
 * kind's printer and assembles a meta.k8s.io/v1 Table the way kube-apiserver's handlers do.
 * Kinds without a printer get kube's default table convertor (Name, Created At).
 */
import type { ResourceInfo } from '../../api/resources.js';
import { errors, shown } from '../errors.js';
import { type Obj, type Printer, type TableColumnDefinition, type TableRowCondition, NAME_DESC, col, nameOf } from './common.js';
import { corePrinters } from './core.js';
import { podPrinter } from './pods.js';
import { workloadPrinters } from './workloads.js';

export type { TableColumnDefinition, TableRowCondition } from './common.js';
export { humanDuration } from './common.js';

export type IncludeObject = 'None' | 'Metadata' | 'Object';

export interface PartialObjectMetadata {
  kind: 'PartialObjectMetadata';
  apiVersion: 'meta.k8s.io/v1';
  metadata: Record<string, unknown>;
}

export interface TableRow {
  cells: unknown[];
  conditions?: TableRowCondition[];
  /** null for includeObject=None (kube serialises the empty RawExtension as null). */
  object: PartialObjectMetadata | Obj | null;
}

export interface ListMeta {
  resourceVersion?: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface Table {
  kind: 'Table';
  apiVersion: 'meta.k8s.io/v1';
  metadata: ListMeta;
  /** null when the client asked for no headers (TableOptions.noHeaders), as kube sends it. */
  columnDefinitions: TableColumnDefinition[] | null;
  rows: TableRow[];
}

export interface BuildTableOptions {
  now?: Date;
  /** What each row's `object` holds; kubectl's default is Metadata. */
  includeObject?: IncludeObject;
  /** resourceVersion / continue / remainingItemCount of the list (or the object's RV for a get). */
  listMeta?: ListMeta;
  noHeaders?: boolean;
}

/** rest.NewDefaultTableConvertor: Name and a Created At date in RFC 3339 (seconds, UTC). */
const defaultPrinter: Printer = {
  columns: [
    col('Name', 'string', NAME_DESC, { format: 'name' }),
    col('Created At', 'date', 'Time the object was created (server time, RFC 3339, UTC).'),
  ],
  row(obj) {
    const ts = obj.metadata?.creationTimestamp;
    const t = typeof ts === 'string' ? Date.parse(ts) : NaN;
    return [nameOf(obj), Number.isNaN(t) ? '0001-01-01T00:00:00Z' : new Date(t).toISOString().replace(/\.\d{3}Z$/, 'Z')];
  },
};

const PRINTERS: Record<string, Printer> = { '/pods': podPrinter, ...corePrinters, ...workloadPrinters };

function printerFor(resource: Pick<ResourceInfo, 'group' | 'plural'>): Printer {
  return PRINTERS[`${resource.group}/${resource.plural}`] ?? defaultPrinter;
}

/** Whether the kind has a dedicated printer (false → default Name/Created At columns). */
export function hasPrinter(resource: Pick<ResourceInfo, 'group' | 'plural'>): boolean {
  return `${resource.group}/${resource.plural}` in PRINTERS;
}

/** The kind's column definitions, wide (priority 1) columns included. Fresh copies. */
export function columnsFor(resource: Pick<ResourceInfo, 'group' | 'plural'>): TableColumnDefinition[] {
  return printerFor(resource).columns.map((c) => ({ ...c }));
}

/** One row's cells, one per column of `columnsFor(resource)`, as of `now`. */
export function rowFor(resource: Pick<ResourceInfo, 'group' | 'plural'>, obj: Obj, now: Date): unknown[] {
  return printerFor(resource).row(obj, now);
}

/** meta.AsPartialObjectMetadata with the Table's group-version: the whole ObjectMeta. */
export function partialObjectMetadata(obj: Obj): PartialObjectMetadata {
  return { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: { ...(obj.metadata ?? {}) } };
}

/**
 * Builds the Table for a list (or a single object passed as a one-element list). Rows keep the
 * input order. `includeObject` other than None/Metadata/Object → 400 as kube answers.
 */
export function buildTable(resource: Pick<ResourceInfo, 'group' | 'plural'>, objs: Obj[], opts: BuildTableOptions = {}): Table {
  const now = opts.now ?? new Date();
  const include = opts.includeObject ?? 'Metadata';
  if (include !== 'None' && include !== 'Metadata' && include !== 'Object') {
    throw errors.badRequest(`unrecognized includeObject value: "${shown(include)}"`);
  }
  const printer = printerFor(resource);
  const rows = objs.map((obj): TableRow => {
    const cells = printer.row(obj, now);
    const conditions = printer.conditions?.(obj);
    const object = include === 'Metadata' ? partialObjectMetadata(obj) : include === 'Object' ? obj : null;
    return conditions ? { cells, conditions, object } : { cells, object };
  });
  const metadata: ListMeta = {};
  const lm = opts.listMeta ?? {};
  if (lm.resourceVersion) metadata.resourceVersion = lm.resourceVersion;
  if (lm.continue) metadata.continue = lm.continue;
  if (lm.remainingItemCount != null) metadata.remainingItemCount = lm.remainingItemCount;
  return {
    kind: 'Table',
    apiVersion: 'meta.k8s.io/v1',
    metadata,
    columnDefinitions: opts.noHeaders ? null : printer.columns.map((c) => ({ ...c })),
    rows,
  };
}
