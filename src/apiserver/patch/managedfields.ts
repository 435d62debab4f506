/**
 * `metadata.managedFields` bookkeeping as k8s.io/apimachinery/pkg/util/managedfields does it:
 * entries are keyed by a manager identifier (manager, operation, apiVersion for updaters,
 * subresource), their sets are stored as FieldsV1, and every write moves ownership:
 * - Update (PUT/POST/non-apply PATCH): the writer owns what it added or changed; others lose
 *   those fields and anything removed; empty entries vanish; entries are capped at 10 updaters
 *   (older ones fold into "ancient-changes").
 * - Apply lives in apply.ts and reuses the pieces here.
 * Identity fields (apiVersion, kind, metadata.name/namespace/uid/…) are never tracked, and
 * reset fields (status on the main resource; spec and labels on /status) are ignored.
 */
import type { Definitions, Schema } from '../../api/schema.js';
import { FieldSet, peField } from './fieldpath.js';
import { deref } from './schemaview.js';
import { compare, toFieldSet } from './typed.js';
import { clone, isObject, type JsonObject } from './util.js';
import { shown } from '../errors.js';

export interface ManagedFieldsEntry {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  time?: string;
  fieldsType: 'FieldsV1';
  fieldsV1: JsonObject;
  subresource?: string;
}

/** One decoded entry: its identity, its set and when it last changed anything. */
export interface ManagerState {
  manager: string;
  operation: 'Apply' | 'Update';
  apiVersion: string;
  subresource?: string;
  time?: string;
  set: FieldSet;
  /**
   * The stored FieldsV1 this entry was decoded from, and the set decoded from it: while `set`
   * is still that very set, encoding reuses `raw` instead of serialising the set again (most
   * writes leave most entries untouched).
   */
  raw?: JsonObject;
  rawSet?: FieldSet;
}

/** Managers keyed by identifier (see managerIdentifier). Map order is irrelevant. */
export type Managed = Map<string, ManagerState>;

export const FIELD_MANAGER_MAX_LENGTH = 128;
export const MAX_UPDATE_MANAGERS = 10;
export const ANCIENT_CHANGES_MANAGER = 'ancient-changes';

/**
 * The manager name kube derives when `fieldManager` is not given: the user agent up to the
 * first '/', without non-printable characters, cut to 128 bytes. An empty result becomes
 * "unknown" when the entry is built.
 */
export function defaultManager(userAgent: string): string {
  const prefix = userAgent.split('/')[0] ?? '';
  let out = '';
  let bytes = 0;
  for (const ch of prefix) {
    if (!/[\p{L}\p{M}\p{N}\p{P}\p{S} ]/u.test(ch)) continue;
    const n = Buffer.byteLength(ch);
    if (bytes + n > FIELD_MANAGER_MAX_LENGTH) break;
    out += ch;
    bytes += n;
  }
  return out;
}

/** BuildManagerIdentifier: the JSON of the entry without fields and time (and apiVersion for appliers). */
export function managerIdentifier(e: { manager: string; operation: 'Apply' | 'Update'; apiVersion?: string; subresource?: string }): string {
  const o: Record<string, string> = { manager: e.manager, operation: e.operation };
  if (e.operation === 'Update' && e.apiVersion) o.apiVersion = e.apiVersion;
  if (e.subresource) o.subresource = e.subresource;
  return JSON.stringify(o);
}

/** How conflicts name a manager: `"name"`, plus subresource and `using <apiVersion>` for updaters. */
export function printManager(id: string): string {
  let e: { manager?: string; operation?: string; apiVersion?: string; subresource?: string };
  try {
    e = JSON.parse(id) as typeof e;
  } catch {
    return JSON.stringify(id);
  }
  let s = JSON.stringify(e.manager ?? '');
  if (e.subresource) s += ` with subresource ${JSON.stringify(e.subresource)}`;
  if (e.operation === 'Update') s += ` using ${e.apiVersion ?? ''}`;
  return s;
}

/** DecodeManagedFields; throws Error (kube: "failed to decode managed fields") on bad entries. */
export function decodeManagedFields(entries: unknown): Managed {
  const out: Managed = new Map();
  if (entries === undefined || entries === null) return out;
  if (!Array.isArray(entries)) throw new Error('managedFields must be a list');
  for (const raw of entries) {
    if (!isObject(raw)) throw new Error('managedFields entries must be objects');
    const operation = raw.operation;
    if (operation !== 'Apply' && operation !== 'Update') throw new Error(`operation must be Apply or Update, got ${shown(operation)}`);
    if (raw.fieldsType !== 'FieldsV1') throw new Error(`invalid fieldsType "${shown(raw.fieldsType ?? '')}"`);
    const st: ManagerState = {
      manager: typeof raw.manager === 'string' ? raw.manager : '',
      operation,
      apiVersion: typeof raw.apiVersion === 'string' ? raw.apiVersion : '',
      set: FieldSet.fromFieldsV1(raw.fieldsV1 ?? {}),
    };
    if (isObject(raw.fieldsV1)) {
      st.raw = raw.fieldsV1;
      st.rawSet = st.set;
    }
    if (typeof raw.subresource === 'string' && raw.subresource) st.subresource = raw.subresource;
    if (typeof raw.time === 'string') st.time = raw.time;
    out.set(managerIdentifier(st), st);
  }
  return out;
}

function seconds(t: string | undefined): number {
  if (!t) return 0;
  const ms = Date.parse(t);
  return Number.isNaN(ms) ? 0 : Math.floor(ms / 1000);
}

/** EncodeObjectManagedFields: Apply before Update, then by time, manager, apiVersion, subresource. */
export function encodeManagedFields(managed: Managed): ManagedFieldsEntry[] {
  const out: ManagedFieldsEntry[] = [];
  for (const st of managed.values()) {
    if (st.set.isEmpty()) continue;
    const e: ManagedFieldsEntry = {
      manager: st.manager,
      operation: st.operation,
      apiVersion: st.apiVersion,
      ...(st.time ? { time: st.time } : {}),
      fieldsType: 'FieldsV1',
      fieldsV1: st.raw && st.set === st.rawSet ? st.raw : st.set.toFieldsV1(),
      ...(st.subresource ? { subresource: st.subresource } : {}),
    };
    out.push(e);
  }
  const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
  return out.sort(
    (p, q) =>
      cmp(p.operation, q.operation) ||
      seconds(p.time) - seconds(q.time) ||
      cmp(p.manager, q.manager) ||
      cmp(p.apiVersion, q.apiVersion) ||
      cmp(p.subresource ?? '', q.subresource ?? ''),
  );
}

/** metav1.Time as kube serialises it: RFC 3339, whole seconds, UTC. */
export function formatTime(now: Date | string | undefined): string {
  const d = now === undefined ? new Date() : typeof now === 'string' ? new Date(now) : now;
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** Paths the strip-meta manager removes from every set (member-wise, not recursively). */
const STRIP_SET = FieldSet.fromPaths(
  [
    ['apiVersion'],
    ['kind'],
    ['metadata'],
    ...['name', 'namespace', 'creationTimestamp', 'selfLink', 'uid', 'clusterName', 'generation', 'managedFields', 'resourceVersion'].map((f) => ['metadata', f]),
  ].map((p) => p.map(peField)),
);

export function stripMeta(managed: Managed): void {
  for (const [id, st] of managed) {
    if (!st.set.intersects(STRIP_SET)) continue;
    st.set = st.set.difference(STRIP_SET);
    if (st.set.isEmpty()) managed.delete(id);
  }
}

/** Reset fields kube ignores for ownership: status on the main resource, spec and labels on /status. */
export function ignoredFieldSet(subresource: string | undefined, ignored?: string[][]): FieldSet {
  const paths = ignored ?? (subresource === 'status' ? [['spec'], ['metadata', 'labels']] : subresource ? [] : [['status']]);
  return FieldSet.fromPaths(paths.map((p) => p.map(peField)));
}

/** Fields that are non-pointer structs in kube's Go types, so present (as `{}`) on a new object. */
const ZERO_STRUCT_FIELDS = new Set(['metadata', 'spec', 'status', 'template', 'strategy', 'updateStrategy', 'loadBalancer']);

/**
 * The object a create is compared against: kube compares with the zero Go value of the kind,
 * where non-pointer struct fields exist as `{}` and fields without omitempty (OpenAPI
 * `required`) exist as null. That decides which nodes get a `.` entry.
 */
export function zeroObject(defs: Definitions, defName: string): JsonObject {
  const build = (s: Schema | undefined, depth: number): JsonObject => {
    const out: JsonObject = {};
    const r = deref(defs, s).schema;
    if (r?.type !== 'object' || depth > 8) return out;
    const required = new Set(r.required ?? []);
    for (const [k, fs] of Object.entries(r.properties)) {
      const c = deref(defs, fs).schema;
      if (ZERO_STRUCT_FIELDS.has(k) && c?.type === 'object' && c.mapType !== 'atomic') out[k] = build(c, depth + 1);
      else if (required.has(k)) out[k] = null;
    }
    return out;
  };
  return build({ type: 'ref', ref: defName }, 0);
}

/** A copy of `obj` without metadata.managedFields. */
export function withoutManagedFields(obj: JsonObject): JsonObject {
  const c = clone(obj);
  if (isObject(c.metadata)) delete c.metadata.managedFields;
  return c;
}

/** A read-only view without managedFields (shallow: shares everything else with `obj`). */
function viewWithoutManagedFields(obj: JsonObject): JsonObject {
  if (!isObject(obj.metadata) || !('managedFields' in obj.metadata)) return obj;
  const { managedFields: _mf, ...metadata } = obj.metadata;
  return { ...obj, metadata };
}

/** Stores entries on the object (or removes the field when there are none). Mutates `obj`. */
export function setManagedFields(obj: JsonObject, entries: ManagedFieldsEntry[]): JsonObject {
  if (!isObject(obj.metadata)) obj.metadata = {};
  const md = obj.metadata as JsonObject;
  if (entries.length) md.managedFields = entries as unknown as JsonObject[];
  else delete md.managedFields;
  return obj;
}

/** The set of field paths `obj` sets, as its owner would own it after an apply of `obj`. */
export function computeFieldSet(defs: Definitions, defName: string, obj: unknown): FieldSet {
  return toFieldSet(defs, { type: 'ref', ref: defName }, obj, { allowDuplicates: true }).set;
}

/** capManagersManager: folds the oldest updaters into per-version "ancient-changes" buckets. */
export function capManagers(managed: Managed, max = MAX_UPDATE_MANAGERS): void {
  const updaters = [...managed.entries()].filter(([, st]) => st.operation === 'Update').map(([id]) => id);
  if (updaters.length <= max) return;
  updaters.sort((a, b) => {
    const d = seconds(managed.get(a)!.time) - seconds(managed.get(b)!.time);
    return d || (a < b ? -1 : a > b ? 1 : 0);
  });
  const firstOfVersion = new Map<string, string>();
  let length = updaters.length;
  for (let i = 0; i < updaters.length && length > max; i++) {
    const id = updaters[i]!;
    const st = managed.get(id)!;
    const bucket = managerIdentifier({ manager: ANCIENT_CHANGES_MANAGER, operation: 'Update', apiVersion: st.apiVersion });
    const first = firstOfVersion.get(st.apiVersion);
    if (first === undefined) {
      firstOfVersion.set(st.apiVersion, id);
      continue;
    }
    if (!managed.has(bucket)) {
      const f = managed.get(first)!;
      managed.delete(first);
      managed.set(bucket, { ...f, manager: ANCIENT_CHANGES_MANAGER, subresource: undefined });
    }
    const b = managed.get(bucket)!;
    b.set = st.set.union(b.set);
    b.time = st.time;
    managed.delete(id);
    length--;
  }
}

/** managedFields: [] or [{}] asks the server to drop all tracking. */
function isResetManagedFields(v: unknown): boolean {
  if (!Array.isArray(v)) return false;
  if (v.length === 0) return true;
  return v.length === 1 && isObject(v[0]) && Object.keys(v[0]).length === 0;
}

export interface UpdateOptions {
  /** Field manager name (PatchOptions.fieldManager or defaultManager(userAgent)). */
  manager: string;
  /** The group/version the request used, e.g. "apps/v1" or "v1". */
  apiVersion: string;
  now?: Date | string;
  subresource?: string;
  /** Override the reset fields (paths of field names). */
  ignoredFields?: string[][];
}

/**
 * New managedFields after a non-apply write. `old` is the stored object (undefined on create);
 * `updated` is the object about to be stored, after defaulting, possibly carrying
 * managedFields the client sent (honoured unless empty or on a subresource, as kube does).
 * Never throws: like UpdateNoErrors, a failure yields no managedFields.
 */
export function updateManagedFields(
  defs: Definitions,
  defName: string,
  old: JsonObject | undefined,
  updated: JsonObject,
  opts: UpdateOptions,
): ManagedFieldsEntry[] {
  try {
    return updateManaged(defs, defName, old, updated, opts);
  } catch {
    return [];
  }
}

function updateManaged(defs: Definitions, defName: string, old: JsonObject | undefined, updated: JsonObject, opts: UpdateOptions): ManagedFieldsEntry[] {
  const liveMF = isObject(old?.metadata) ? old!.metadata.managedFields : undefined;
  const newMF = isObject(updated.metadata) ? updated.metadata.managedFields : undefined;
  const fromLive = (): Managed => {
    try {
      return decodeManagedFields(liveMF);
    } catch {
      return new Map();
    }
  };
  let managed: Managed;
  if (opts.subresource) managed = fromLive();
  else if (isResetManagedFields(newMF)) managed = new Map();
  else {
    try {
      managed = decodeManagedFields(newMF);
    } catch {
      managed = new Map();
    }
    if (managed.size === 0) managed = fromLive();
  }
  // skipNonAppliedManager: an existing object nobody tracks stays untracked.
  if (managed.size === 0 && old !== undefined) return [];

  const schema: Schema = { type: 'ref', ref: defName };
  // compare only reads: views are enough, no copies of the whole object.
  const live = old ? viewWithoutManagedFields(old) : zeroObject(defs, defName);
  const next = viewWithoutManagedFields(updated);
  const ignored = ignoredFieldSet(opts.subresource, opts.ignoredFields);
  const c = compare(defs, schema, live, next);
  const changed = c.modified.union(c.added);
  const changedForOthers = changed.recursiveDifference(ignored);
  const removedForOthers = c.removed.recursiveDifference(ignored);
  for (const [id, st] of managed) {
    if (!st.set.intersects(changedForOthers) && !st.set.intersects(removedForOthers)) continue;
    st.set = st.set.difference(changedForOthers).difference(removedForOthers);
    if (st.set.isEmpty()) managed.delete(id);
  }
  let self = changed.recursiveDifference(ignored);
  stripMeta(managed);
  self = self.difference(STRIP_SET);
  if (!self.isEmpty()) {
    const manager = opts.manager || 'unknown';
    const id = managerIdentifier({ manager, operation: 'Update', apiVersion: opts.apiVersion, subresource: opts.subresource });
    const prev = managed.get(id);
    const st: ManagerState = { manager, operation: 'Update', apiVersion: opts.apiVersion, set: self, time: formatTime(opts.now) };
    if (prev && self.isSubsetOf(prev.set)) Object.assign(st, { set: prev.set, raw: prev.raw, rawSet: prev.rawSet });
    else if (prev) st.set = self.union(prev.set);
    if (opts.subresource) st.subresource = opts.subresource;
    managed.set(id, st);
  }
  capManagers(managed);
  return encodeManagedFields(managed);
}
