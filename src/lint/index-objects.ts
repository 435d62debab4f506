/**
 * The read-only ObjectIndexes cross-object checks query:
 * - `buildIndex(objects)`: built once per run (CLI), in O(objects);
 * - `overlayIndex(base, written)`: per admission write, the namespace's held objects (cached
 *   arrays, see IndexBase) with the written object applied, in O(1) per write.
 */
import { at, hasControllerOwner, kindOf, nameOf, namespaceOf, podTemplateOf, selects, str, WORKLOAD_KINDS } from './objects.js';
import type { KObject, ObjectIndex, PodTemplateRef } from './types.js';

export function buildIndex(objects: readonly KObject[]): ObjectIndex {
  const byKind = new Map<string, KObject[]>();
  const byKindNs = new Map<string, KObject[]>();
  const byKey = new Map<string, KObject>();
  const templatesByNs = new Map<string, PodTemplateRef[]>();
  for (const o of objects) {
    const kind = kindOf(o);
    const ns = namespaceOf(o);
    push(byKind, kind, o);
    push(byKindNs, `${kind}\0${ns}`, o);
    byKey.set(`${kind}\0${ns}\0${nameOf(o)}`, o);
    const t = podTemplateOf(o);
    // Pods and ReplicaSets a controller owns are represented by their owner's template.
    if (t && !hasControllerOwner(o)) push(templatesByNs, ns, t);
  }
  return {
    all: () => objects,
    byKind: (kind, namespace) => (namespace === undefined ? byKind.get(kind) : byKindNs.get(`${kind}\0${namespace}`)) ?? [],
    get: (kind, namespace, name) => byKey.get(`${kind}\0${namespace}\0${name}`),
    podTemplatesSelectedBy: (selector, namespace) => (templatesByNs.get(namespace) ?? []).filter((t) => selects(selector, t.labels)),
  };
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}

/**
 * What an overlay index stands on: the held objects of one namespace (admission's NamespaceState).
 * Contract: `byKind(kind)` returns the same array for as long as that namespace+kind is unchanged,
 * and a new one after any change (never an array modified in place). Derived lookups (pod
 * templates here, selector buckets in checks/cross/lookup.ts) are cached per such array, so they
 * are rebuilt only when their namespace+kind changed, not per write.
 */
export interface IndexBase {
  /** The namespace checks see for these objects ('default' for objects without one). */
  namespace: string;
  /** Every held object of the namespace (kinds in order, each in its byKind order). */
  all(): readonly KObject[];
  /** Held objects of a kind, in a stable order (see the contract above). */
  byKind(kind: string): readonly KObject[];
  /** The held object of a kind by name. */
  get(kind: string, name: string): KObject | undefined;
}

/** An overlay index's parts: the base and the one object a write adds or replaces. */
export interface IndexOverlay {
  readonly base: IndexBase;
  readonly written: KObject;
  /** kindOf(written). */
  readonly kind: string;
  /** The held object the write replaces (same kind and name), if any. */
  readonly replaced: KObject | undefined;
  /** The written object's pod template (undefined when it has none or a controller owns it). */
  writtenTemplate(): PodTemplateRef | undefined;
}

const overlays = new WeakMap<ObjectIndex, IndexOverlay>();

/** The overlay an index was built from by overlayIndex (undefined for any other index). */
export function overlayOf(index: ObjectIndex): IndexOverlay | undefined {
  return overlays.get(index);
}

/**
 * One change between two snapshots of a byKind list: `removed` and `added` both set = replaced in
 * place (same position); only `added` = appended at the end; only `removed` = taken out.
 */
export interface ListOp {
  removed?: KObject;
  added?: KObject;
}

/** How a list came from an older snapshot: applying `ops` in order to `prev` gives it, order included. */
export interface ListDerivation {
  prev: readonly KObject[];
  ops: readonly ListOp[];
}

/** Ops composed beyond this are not recorded (consumers rebuild from scratch). */
const MAX_DERIVED_OPS = 256;

const derivations = new WeakMap<readonly KObject[], ListDerivation>();

/**
 * Records that `next` is `prev` with `ops` applied, so lookups cached for `prev` can be patched
 * for `next` instead of rebuilt. When `prev` itself was derived (and nothing was cached for it),
 * the two are composed: a derivation always points at most one step back, so old arrays are not
 * retained in chains.
 */
export function recordDerivation(next: readonly KObject[], prev: readonly KObject[], ops: readonly ListOp[]): void {
  const before = derivations.get(prev);
  const d: ListDerivation = before ? { prev: before.prev, ops: [...before.ops, ...ops] } : { prev, ops };
  if (d.ops.length <= MAX_DERIVED_OPS) derivations.set(next, d);
}

/** How `list` was derived (see recordDerivation), if recorded. */
export function derivationOf(list: readonly KObject[]): ListDerivation | undefined {
  return derivations.get(list);
}

/** Marks `list`'s derivation as used (its lookups now exist): later lists derive from it directly. */
export function forgetDerivation(list: readonly KObject[]): void {
  derivations.delete(list);
}

const templateRefs = new WeakMap<KObject, PodTemplateRef | null>();

/**
 * The pod template a held (never modified) object stands for, or undefined (no pod spec, or a
 * controller owns it). Cached per object, so every lookup over the same objects sees the same
 * PodTemplateRef.
 */
export function templateOf(o: KObject): PodTemplateRef | undefined {
  let t = templateRefs.get(o);
  if (t === undefined) templateRefs.set(o, (t = (hasControllerOwner(o) ? undefined : podTemplateOf(o)) ?? null));
  return t ?? undefined;
}

const templateCache = new WeakMap<readonly KObject[], { size: number; templates: readonly PodTemplateRef[] }>();

/**
 * The pod templates of a list's objects, controller-owned ones left out, in list order (cached
 * per array: never modify). A derived list's templates are the older list's, patched.
 */
export function templatesOf(list: readonly KObject[]): readonly PodTemplateRef[] {
  const hit = templateCache.get(list);
  if (hit && hit.size === list.length) return hit.templates;
  const d = derivationOf(list);
  const prev = d && templateCache.get(d.prev);
  const templates = (prev && prev.size === d.prev.length && patchTemplates(prev.templates, d.ops)) || list.flatMap((o) => {
    const t = templateOf(o);
    return t ? [t] : [];
  });
  templateCache.set(list, { size: list.length, templates });
  return templates;
}

/** `templates` with `ops` applied; undefined when a position cannot be told (then rebuild). */
function patchTemplates(templates: readonly PodTemplateRef[], ops: readonly ListOp[]): PodTemplateRef[] | undefined {
  const out = templates.slice();
  for (const op of ops) {
    const i = op.removed ? out.findIndex((t) => t.owner === op.removed) : -1;
    const t = op.added && templateOf(op.added);
    if (op.removed && op.added) {
      if (i >= 0 && t) out[i] = t;
      else if (i >= 0) out.splice(i, 1);
      else if (t) return undefined; // gained a template in place: its position among templates is unknown here
    } else if (op.removed) {
      if (i >= 0) out.splice(i, 1);
    } else if (t) out.push(t);
  }
  return out;
}

/**
 * The ObjectIndex of a write: `base` with `written` applied (it replaces the held object of its
 * kind and name, or is added; either way it comes last among its kind). Answers are what
 * `buildIndex` over those objects would give, in that order; pod templates come per kind in
 * WORKLOAD_KINDS order. Costs O(1) plus, lazily, a copy of the written kind's list: everything
 * else is read from the base's cached arrays.
 */
export function overlayIndex(base: IndexBase, written: KObject): ObjectIndex {
  const ns = base.namespace;
  const selfKind = kindOf(written);
  const selfName = str(at(written, ['metadata', 'name'])) ?? '';
  const replaced = base.get(selfKind, selfName);
  const applied = (list: readonly KObject[]): KObject[] => {
    const out = replaced ? list.filter((o) => o !== replaced) : list.slice();
    out.push(written);
    return out;
  };
  let own: KObject[] | undefined;
  let all: KObject[] | undefined;
  let templates: PodTemplateRef[] | undefined;
  let writtenT: { t: PodTemplateRef | undefined } | undefined;
  const writtenTemplate = (): PodTemplateRef | undefined =>
    (writtenT ??= { t: hasControllerOwner(written) ? undefined : podTemplateOf(written) }).t;
  const ofKind = (kind: string): readonly KObject[] => (kind === selfKind ? (own ??= applied(base.byKind(kind))) : base.byKind(kind));
  const index: ObjectIndex = {
    all: () => (all ??= applied(base.all())),
    byKind: (kind, namespace) => (namespace === undefined || namespace === ns ? ofKind(kind) : []),
    get: (kind, namespace, name) => {
      if (namespace !== ns) return undefined;
      if (kind === selfKind && name === selfName) return written;
      return base.get(kind, name);
    },
    podTemplatesSelectedBy: (selector, namespace) => {
      if (namespace !== ns) return [];
      templates ??= WORKLOAD_KINDS.flatMap((k) => {
        const ts = templatesOf(base.byKind(k));
        if (k !== selfKind) return ts;
        const t = writtenTemplate();
        const kept = replaced ? ts.filter((x) => x.owner !== replaced) : ts.slice();
        if (t) kept.push(t);
        return kept;
      });
      return Object.keys(selector).length === 0 ? templates : templates.filter((t) => selects(selector, t.labels));
    },
  };
  overlays.set(index, { base, written, kind: selfKind, replaced, writtenTemplate });
  return index;
}
