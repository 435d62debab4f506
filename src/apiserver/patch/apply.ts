/**
 * Server-side apply (`application/apply-patch+yaml`), following sigs.k8s.io/structured-merge-diff's
 * merge.Updater.Apply inside kube's field-manager chain:
 *  1. the config's apiVersion/kind must be the endpoint's (400 "invalid object type: …"), and it
 *     must not carry managedFields (400);
 *  2. the config is typed against the schema (unknown fields, missing list-map keys and
 *     duplicate keys → 500 "failed to create typed patch object (…): …");
 *  3. live ⊕ config is merged (config wins; list-maps and sets merge by key);
 *  4. the manager's new set is the config's field set; fields it applied last time but not now
 *     are pruned unless another manager owns them;
 *  5. other managers whose fields change are conflicts: 409 unless `force`, in which case they
 *     lose those fields;
 *  6. identity/meta fields are untracked, the timestamp moves only if the object changed,
 *     updaters are capped, and kubectl's last-applied annotation is kept in sync.
 */
import type { Definitions, Schema } from '../../api/schema.js';
import { errors, StatusError } from '../errors.js';
import { FieldSet, pathToString, type Path } from './fieldpath.js';
import {
  capManagers,
  decodeManagedFields,
  encodeManagedFields,
  formatTime,
  ignoredFieldSet,
  managerIdentifier,
  printManager,
  setManagedFields,
  stripMeta,
  withoutManagedFields,
  zeroObject,
  type Managed,
  type ManagedFieldsEntry,
} from './managedfields.js';
import { compare, ensureNamedFieldsAreMembers, formatValidationErrors, merge, removeItems, toFieldSet } from './typed.js';
import { bodyText, clone, deepEqual, isObject, plainError, type JsonObject, type JsonValue } from './util.js';
import { yaml } from '../../util/lazy.js';

export const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';

export interface ApplyOptions {
  /** PatchOptions.fieldManager (required for apply; the server validates its presence). */
  manager: string;
  force?: boolean;
  /** The endpoint's group/version, e.g. "apps/v1". */
  apiVersion: string;
  /** The endpoint's kind; defaults to the definition's x-kubernetes-group-version-kind. */
  kind?: string;
  now?: Date | string;
  subresource?: string;
  ignoredFields?: string[][];
}

export interface ApplyResult {
  /** The object to store, with metadata.managedFields set. */
  object: JsonObject;
  managedFields: ManagedFieldsEntry[];
  /** True when nothing but (possibly) managedFields changed. */
  noop: boolean;
}

/** Decodes an apply body (YAML or JSON) the way the apply patcher does. */
export function decodeApplyBody(body: Buffer | string): JsonObject {
  const text = bodyText(body);
  let v: unknown;
  try {
    v = text.trim() === '' ? {} : yaml().parse(text, { schema: 'core', uniqueKeys: true, maxAliasCount: 100, logLevel: 'error' });
  } catch (e) {
    throw errors.badRequest(`error decoding YAML: ${e instanceof Error ? e.message : String(e)}`);
  }
  if (v === null || v === undefined) return {};
  if (!isObject(v)) {
    const kind = Array.isArray(v) ? 'array' : typeof v === 'number' ? 'number' : typeof v === 'boolean' ? 'bool' : 'string';
    throw errors.badRequest(
      `error decoding YAML: error unmarshaling JSON: while decoding JSON: json: cannot unmarshal ${kind} into Go value of type map[string]interface {}`,
    );
  }
  return v;
}

function gvkString(apiVersion: unknown, kind: unknown): string {
  const av = typeof apiVersion === 'string' ? apiVersion : '';
  const i = av.indexOf('/');
  const [group, version] = i >= 0 ? [av.slice(0, i), av.slice(i + 1)] : ['', av];
  return `${group}/${version}, Kind=${typeof kind === 'string' ? kind : ''}`;
}

function definitionKind(defs: Definitions, defName: string): string {
  const d = defs[defName];
  return d?.type === 'object' && d.gvk?.[0] ? d.gvk[0].kind : '';
}

/** Thrown inside the apply core so the last-applied upgrade path can inspect the conflicts. */
class ApplyConflicts extends Error {
  constructor(readonly conflicts: Map<string, FieldSet>) {
    super('apply conflicts');
  }
}

/**
 * Applies `applied` (a decoded config) on top of `live` (undefined: the object is created).
 * For manager "kubectl", conflicts on fields whose live value still matches the client-side
 * last-applied annotation are waived (kube's lastAppliedManager: the CSA → SSA upgrade path).
 */
export function applyPatch(defs: Definitions, defName: string, live: JsonObject | undefined, applied: JsonObject, opts: ApplyOptions): ApplyResult {
  try {
    return applyCore(defs, defName, live, applied, opts);
  } catch (e) {
    if (!(e instanceof ApplyConflicts)) throw e;
    if (opts.manager !== 'kubectl' || !live) throw conflictError(e.conflicts);
    const allowed = allowedConflictsFromLastApplied(defs, defName, live);
    if (!allowed) throw conflictError(e.conflicts);
    const remaining = new Map<string, FieldSet>();
    for (const [id, set] of e.conflicts) {
      const rest = set.difference(allowed);
      if (!rest.isEmpty()) remaining.set(id, rest);
    }
    if (remaining.size) throw conflictError(remaining);
    return applyCore(defs, defName, live, applied, { ...opts, force: true });
  }
}

/** Fields of the last-applied annotation whose values the live object still has. */
function allowedConflictsFromLastApplied(defs: Definitions, defName: string, live: JsonObject): FieldSet | undefined {
  const annotations = isObject(live.metadata) && isObject(live.metadata.annotations) ? live.metadata.annotations : undefined;
  const text = annotations?.[LAST_APPLIED_ANNOTATION];
  if (typeof text !== 'string') return undefined;
  let last: unknown;
  try {
    last = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (!isObject(last)) return undefined;
  const schema: Schema = { type: 'ref', ref: defName };
  const liveObj = withoutManagedFields(live);
  const c = compare(defs, schema, last, liveObj);
  return toFieldSet(defs, schema, last, { allowDuplicates: true }).set.difference(c.modified).difference(c.added).difference(c.removed);
}

function applyCore(defs: Definitions, defName: string, live: JsonObject | undefined, applied: JsonObject, opts: ApplyOptions): ApplyResult {
  const kind = opts.kind ?? definitionKind(defs, defName);
  if (applied.apiVersion !== opts.apiVersion || applied.kind !== kind) {
    throw errors.badRequest(`invalid object type: ${gvkString(applied.apiVersion, applied.kind)}`);
  }
  const md = isObject(applied.metadata) ? applied.metadata : {};
  if (md.managedFields !== undefined && md.managedFields !== null) throw errors.badRequest('metadata.managedFields must be nil');

  let managed: Managed;
  try {
    managed = decodeManagedFields(isObject(live?.metadata) ? live!.metadata.managedFields : undefined);
  } catch (e) {
    throw plainError(`failed to decode managed fields: ${e instanceof Error ? e.message : String(e)}`);
  }

  const schema: Schema = { type: 'ref', ref: defName };
  const typed = toFieldSet(defs, schema, applied, { strict: true });
  if (typed.errors.length) {
    const nn = `${typeof md.namespace === 'string' ? md.namespace : ''}/${typeof md.name === 'string' ? md.name : ''}`;
    throw plainError(`failed to create typed patch object (${nn}; ${gvkString(applied.apiVersion, applied.kind)}): ${formatValidationErrors(typed.errors)}`);
  }

  // A create merges onto nothing but is compared with the zero object, as kube does.
  const liveObj = live ? withoutManagedFields(live) : zeroObject(defs, defName);
  const merged = dropNulls(merge(defs, schema, live ? liveObj : {}, applied)) as JsonObject;

  const id = managerIdentifier({ manager: opts.manager, operation: 'Apply', subresource: opts.subresource });
  const last = managed.get(id);
  const ignored = ignoredFieldSet(opts.subresource, opts.ignoredFields);
  managed.set(id, {
    manager: opts.manager,
    operation: 'Apply',
    apiVersion: opts.apiVersion,
    ...(opts.subresource ? { subresource: opts.subresource } : {}),
    ...(last?.time ? { time: last.time } : {}),
    set: typed.set.recursiveDifference(ignored),
  });

  const next = (last ? prune(defs, schema, merged, managed, last.set) : merged) as JsonObject;

  // Updater.update: other managers lose (or conflict on) what this apply changed or removed.
  const c = compare(defs, schema, liveObj, next);
  const changed = c.modified.union(c.added).recursiveDifference(ignored);
  const removed = c.removed.recursiveDifference(ignored);
  const conflicts = new Map<string, FieldSet>();
  for (const [mid, st] of managed) {
    if (mid === id) continue;
    const cs = st.set.intersection(changed);
    if (!cs.isEmpty()) conflicts.set(mid, cs);
  }
  if (conflicts.size && !opts.force) throw new ApplyConflicts(conflicts);
  for (const [mid, st] of managed) {
    if (mid === id) continue;
    const cs = conflicts.get(mid);
    if (cs) st.set = st.set.difference(cs);
    st.set = st.set.difference(removed);
    if (st.set.isEmpty()) managed.delete(mid);
  }

  const noop = live !== undefined && deepEqual(liveObj, next);
  stripMeta(managed);
  const mine = managed.get(id);
  if (mine && !noop) mine.time = formatTime(opts.now);
  capManagers(managed);

  const object = next;
  if (opts.manager === 'kubectl') syncLastApplied(object, applied);
  const managedFields = encodeManagedFields(managed);
  setManagedFields(object, managedFields);
  return { object, managedFields, noop };
}

/** Decodes `body` and applies it; convenience for the HTTP layer. */
export function applyPatchBody(defs: Definitions, defName: string, live: JsonObject | undefined, body: Buffer | string, opts: ApplyOptions): ApplyResult {
  return applyPatch(defs, defName, live, decodeApplyBody(body), opts);
}

/**
 * Updater.prune: remove what this manager applied last time and no longer applies, unless
 * another manager (applier or updater) owns it; implemented with upstream's three set passes.
 */
function prune(defs: Definitions, schema: Schema, merged: unknown, managed: Managed, lastSet: FieldSet): unknown {
  if (lastSet.isEmpty()) return merged;
  const named = (s: FieldSet): FieldSet => ensureNamedFieldsAreMembers(defs, schema, s);
  const setOf = (v: unknown): FieldSet => named(toFieldSet(defs, schema, v, { allowDuplicates: true }).set);
  const last = named(lastSet);
  const pruned = removeItems(defs, schema, merged, last);
  let all = new FieldSet();
  for (const st of managed.values()) all = all.union(st.set);
  const mergedSet = setOf(merged);
  const readd = removeItems(defs, schema, merged, mergedSet.difference(setOf(pruned).union(named(all))));
  return removeItems(defs, schema, merged, mergedSet.difference(setOf(readd)).intersection(last));
}

/** 409 with one FieldManagerConflict cause per path, worded as kube words it. */
export function conflictError(conflicts: Map<string, FieldSet>): StatusError {
  const list: { manager: string; path: Path }[] = [];
  for (const id of [...conflicts.keys()].sort()) for (const path of conflicts.get(id)!.paths()) list.push({ manager: id, path });
  const causes = list.map((c) => ({ reason: 'FieldManagerConflict', message: `conflict with ${printManager(c.manager)}`, field: pathToString(c.path) }));
  let message: string;
  if (list.length === 1) {
    message = `Apply failed with 1 conflict: conflict with ${printManager(list[0]!.manager)}: ${pathToString(list[0]!.path)}`;
  } else {
    const byManager = new Map<string, string[]>();
    for (const c of list) byManager.set(c.manager, [...(byManager.get(c.manager) ?? []), pathToString(c.path)]);
    const lines: string[] = [];
    for (const m of [...byManager.keys()].sort()) {
      lines.push(`conflicts with ${printManager(m)}:`);
      for (const p of byManager.get(m)!) lines.push(`- ${p}`);
    }
    message = `Apply failed with ${list.length} conflicts: ${lines.join('\n')}`;
  }
  return new StatusError(409, 'Conflict', message, { causes });
}

/** Null fields in a config mean "unset": after kube's typed round trip they are simply absent. */
function dropNulls(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(dropNulls);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) if (x !== null) out[k] = dropNulls(x) as JsonValue;
    return out;
  }
  return v;
}

/** lastAppliedUpdater: `kubectl apply --server-side` keeps an existing CSA annotation current. */
function syncLastApplied(object: JsonObject, applied: JsonObject): void {
  const annotations = isObject(object.metadata) && isObject(object.metadata.annotations) ? object.metadata.annotations : undefined;
  if (!annotations || typeof annotations[LAST_APPLIED_ANNOTATION] !== 'string') return;
  const copy = clone(applied);
  if (isObject(copy.metadata) && isObject(copy.metadata.annotations)) delete copy.metadata.annotations[LAST_APPLIED_ANNOTATION];
  annotations[LAST_APPLIED_ANNOTATION] = `${JSON.stringify(sortDeep(copy))}\n`;
}

function sortDeep(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortDeep);
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const k of Object.keys(v).sort()) out[k] = sortDeep(v[k]) as JsonValue;
    return out;
  }
  return v;
}
