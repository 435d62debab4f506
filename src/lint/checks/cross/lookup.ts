/**
 * Label-selector lookups in both directions, built lazily once per ObjectIndex (memoized in a
 * WeakMap keyed by the index) so cross checks stay near O(objects) on large runs instead of
 * "every workload × every policy of its namespace".
 *
 * Selectors are bucketed by one of their equality requirements (`k=v` from matchLabels, or the
 * Service selector map); a label set only needs to be compared with the buckets of its own `k=v`
 * pairs plus the selectors that have no equality requirement. Pod templates are bucketed by each
 * of their label pairs, so a selector is compared only with the templates carrying its first pair.
 * Results are exactly those of evaluating every selector: the buckets only prune candidates.
 */
import { derivationOf, forgetDerivation, overlayOf, templateOf, templatesOf, type ListOp } from '../../index-objects.js';
import { at, kindOf, nameOf, namespaceOf, stringMap, str, WORKLOAD_KINDS } from '../../objects.js';
import type { CheckContext, KObject, ObjectIndex, PodTemplateRef } from '../../types.js';
import { labelSelector, serviceSelector, templatesIn } from './common.js';
import type { LabelMatcher } from './common.js';

interface Entry<T> {
  item: T;
  /** Position in the list the buckets stand for (answers keep that order). */
  pos: number;
}

/**
 * Items derived from a list's objects (selectors, pod templates), bucketed by label pairs, with
 * each object's list position so answers keep list order whatever the bucket order. Patchable:
 * a list derived from the one these were built for (index-objects.ts ListOp) is served by
 * applying its ops here (O(changed objects × bucket size)), not by a rebuild.
 */
abstract class Buckets<T> {
  private readonly byPair = new Map<string, Entry<T>[]>();
  /** Entries with no key (every lookup tests them). */
  private rest: Entry<T>[] = [];
  private readonly entries = new Map<KObject, { entry: Entry<T>; keys: string[] } | null>();
  private readonly positions = new Map<KObject, number>();
  private nextPos = 0;

  /** The item an object contributes and the bucket keys it goes under ([] = tested by every lookup); undefined = none. */
  protected abstract itemOf(obj: KObject): { item: T; keys: string[] } | undefined;

  protected build(list: readonly KObject[]): void {
    for (const obj of list) this.add(obj, this.nextPos++);
  }

  private add(obj: KObject, pos: number): void {
    this.positions.set(obj, pos);
    const it = this.itemOf(obj);
    if (!it) return;
    const entry = { item: it.item, pos };
    this.entries.set(obj, { entry, keys: it.keys });
    if (!it.keys.length) this.rest.push(entry);
    for (const key of it.keys) {
      const bucket = this.byPair.get(key);
      if (bucket) bucket.push(entry);
      else this.byPair.set(key, [entry]);
    }
  }

  private remove(obj: KObject): void {
    this.positions.delete(obj);
    const e = this.entries.get(obj);
    if (!e) return;
    this.entries.delete(obj);
    if (!e.keys.length) this.rest = this.rest.filter((x) => x !== e.entry);
    for (const key of e.keys) {
      const left = (this.byPair.get(key) ?? []).filter((x) => x !== e.entry);
      if (left.length) this.byPair.set(key, left);
      else this.byPair.delete(key);
    }
  }

  /** Applies a derived list's changes; false when an object to replace is unknown (then rebuild). */
  patch(ops: readonly ListOp[]): boolean {
    for (const op of ops) {
      const pos = op.removed ? this.positions.get(op.removed) : undefined;
      if (op.removed && pos === undefined) return false;
      if (op.removed) this.remove(op.removed);
      if (op.added) this.add(op.added, op.removed ? pos! : this.nextPos++);
    }
    return true;
  }

  /** Entries under `key` (or, without a key, the keyless ones), unordered. */
  protected candidates(key: string | undefined): readonly Entry<T>[] {
    return key === undefined ? this.rest : this.byPair.get(key) ?? [];
  }
}

function inOrder<T>(hits: Entry<T>[]): T[] {
  if (hits.length > 1) hits.sort((a, b) => a.pos - b.pos);
  return hits.map((e) => e.item);
}

interface Selecting {
  obj: KObject;
  match: LabelMatcher;
}

/** Selectors of one kind in one namespace (one byKind list), bucketed by one equality pair. */
class SelectorBuckets extends Buckets<Selecting> {
  constructor(
    readonly kind: string,
    list: readonly KObject[],
  ) {
    super();
    this.build(list);
  }

  protected itemOf(obj: KObject): { item: Selecting; keys: string[] } | undefined {
    const s = SELECTING[this.kind]?.(obj);
    if (!s) return undefined;
    const first = Object.keys(s.pairs).sort()[0];
    return { item: { obj, match: s.match }, keys: first === undefined ? [] : [pairKey(first, s.pairs[first]!)] };
  }

  /** Objects (in list order) whose selector matches `labels` (a new array). */
  matching(labels: Record<string, string>): KObject[] {
    const hits = this.candidates(undefined).filter((e) => e.item.match(labels));
    for (const [k, v] of Object.entries(labels)) {
      for (const e of this.candidates(pairKey(k, v))) if (e.item.match(labels)) hits.push(e);
    }
    return inOrder(hits).map((s) => s.obj);
  }
}

/** Pod templates of one byKind list, bucketed by each of their label pairs. */
class TemplateBuckets extends Buckets<PodTemplateRef> {
  constructor(
    public all: readonly PodTemplateRef[],
    list: readonly KObject[],
  ) {
    super();
    this.build(list);
  }

  protected itemOf(obj: KObject): { item: PodTemplateRef; keys: string[] } | undefined {
    const t = templateOf(obj);
    // A template without labels is under no key: only selectors without equality pairs (which use `all`) can match it.
    return t && { item: t, keys: Object.entries(t.labels).map(([k, v]) => pairKey(k, v)) };
  }

  /** Templates (in list order) the selector matches; `pairs` are equality requirements it has (any one prunes). */
  matching(match: LabelMatcher, pairs: Record<string, string>): PodTemplateRef[] {
    const first = Object.keys(pairs).sort()[0];
    if (first === undefined) return this.all.filter((t) => match(t.labels));
    return inOrder(this.candidates(pairKey(first, pairs[first]!)).filter((e) => match(e.item.labels)));
  }
}

/** Pod templates of a namespace (an index that is not an overlay), bucketed by each label pair. */
class NamespaceTemplates {
  private readonly byPair = new Map<string, PodTemplateRef[]>();
  constructor(readonly all: readonly PodTemplateRef[]) {
    for (const t of all) {
      for (const [k, v] of Object.entries(t.labels)) {
        const key = pairKey(k, v);
        const list = this.byPair.get(key);
        if (list) list.push(t);
        else this.byPair.set(key, [t]);
      }
    }
  }

  /** Templates the selector matches; `pairs` are equality requirements it has (any one prunes). */
  matching(match: LabelMatcher, pairs: Record<string, string>): PodTemplateRef[] {
    const first = Object.keys(pairs).sort()[0];
    const candidates = first === undefined ? this.all : this.byPair.get(pairKey(first, pairs[first]!)) ?? [];
    return candidates.filter((t) => match(t.labels));
  }
}

/**
 * Derived lookups are cached per byKind list (its identity and length): an index's lists are
 * read-only snapshots, and admission's overlay indexes share their base's lists across writes
 * until that namespace+kind changes (index-objects.ts IndexBase). When it changes, the new list's
 * lookups are the old list's, patched with the recorded changes (index-objects.ts
 * recordDerivation; the old list loses them), else rebuilt: never a stale answer.
 */
interface ListMemo {
  size: number;
  selectors?: SelectorBuckets;
  templates?: TemplateBuckets;
  hpas?: Map<string, KObject[]>;
}
const listMemos = new WeakMap<readonly KObject[], ListMemo>();

function listMemo(list: readonly KObject[]): ListMemo {
  let m = listMemos.get(list);
  if (m && m.size === list.length) return m;
  m = { size: list.length };
  listMemos.set(list, m);
  const d = derivationOf(list);
  const prev = d && listMemos.get(d.prev);
  if (!d || !prev || prev.size !== d.prev.length) return m;
  // Take the older list's lookups over (it keeps none: if used again, it rebuilds its own).
  const { selectors, templates } = prev;
  prev.selectors = prev.templates = prev.hpas = undefined;
  if (selectors?.patch(d.ops)) m.selectors = selectors;
  if (templates?.patch(d.ops)) {
    templates.all = templatesOf(list);
    m.templates = templates;
  }
  // Later lists derive from this one (which now has lookups) rather than from its predecessor.
  if (selectors || templates) forgetDerivation(list);
  return m;
}

function selectorBuckets(kind: 'Service' | 'NetworkPolicy' | 'PodDisruptionBudget', list: readonly KObject[]): SelectorBuckets {
  const m = listMemo(list);
  if (m.selectors?.kind !== kind) m.selectors = new SelectorBuckets(kind, list);
  return m.selectors;
}

function templateBuckets(list: readonly KObject[]): TemplateBuckets {
  const m = listMemo(list);
  return (m.templates ??= new TemplateBuckets(templatesOf(list), list));
}

/** Per-index memo for indexes that are not overlays: template buckets of a namespace. */
interface IndexMemo {
  /** The `index.all()` the memo was built from (and its length): a changed view invalidates it. */
  all: readonly KObject[];
  size: number;
  templates: Map<string, NamespaceTemplates>;
}
const indexMemos = new WeakMap<ObjectIndex, IndexMemo>();

function indexMemo(index: ObjectIndex): IndexMemo {
  const all = index.all();
  let m = indexMemos.get(index);
  if (!m || m.all !== all || m.size !== all.length) indexMemos.set(index, (m = { all, size: all.length, templates: new Map() }));
  return m;
}

function pairKey(k: string, v: string): string {
  return `${k}\0${v}`;
}

/** Where each selecting kind keeps its selector, and how to read it. */
const SELECTING: Record<string, (o: KObject) => { match: LabelMatcher; pairs: Record<string, string> } | undefined> = {
  Service: (o) => {
    const sel = serviceSelector(o);
    if (!sel) return undefined;
    return { match: (labels) => Object.entries(sel).every(([k, v]) => labels[k] === v), pairs: sel };
  },
  NetworkPolicy: (o) => fromLabelSelector(at(o, ['spec', 'podSelector'])),
  PodDisruptionBudget: (o) => fromLabelSelector(at(o, ['spec', 'selector'])),
};

function fromLabelSelector(v: unknown): { match: LabelMatcher; pairs: Record<string, string> } | undefined {
  const match = labelSelector(v);
  return match ? { match, pairs: stringMap(at(v, ['matchLabels'])) } : undefined;
}

/** The Services / NetworkPolicies / PDBs of `namespace` whose selector matches `labels` (in index order). */
export function selectorsMatching(ctx: CheckContext, kind: 'Service' | 'NetworkPolicy' | 'PodDisruptionBudget', namespace: string, labels: Record<string, string>): KObject[] {
  const ov = overlayOf(ctx.index);
  if (!ov || namespace !== ov.base.namespace || kind !== ov.kind) return selectorBuckets(kind, ctx.index.byKind(kind, namespace)).matching(labels);
  // The written object's own kind: the base's buckets, minus what it replaces, plus itself (last).
  const hits = selectorBuckets(kind, ov.base.byKind(kind)).matching(labels);
  const out = ov.replaced ? hits.filter((o) => o !== ov.replaced) : hits;
  if (SELECTING[kind](ov.written)?.match(labels)) out.push(ov.written);
  return out;
}

/** Services of the template's namespace whose selector selects it (ExternalName/selectorless never do). */
export function servicesSelecting(ctx: CheckContext, t: PodTemplateRef): KObject[] {
  return selectorsMatching(ctx, 'Service', namespaceOf(t.owner), t.labels);
}

/** Pod templates of `namespace` a matcher selects (`pairs`: equality requirements it has, for pruning). */
export function templatesMatching(ctx: CheckContext, namespace: string, match: LabelMatcher, pairs: Record<string, string>): PodTemplateRef[] {
  const ov = overlayOf(ctx.index);
  if (ov && namespace === ov.base.namespace) {
    // Per kind, from the base's cached lists, in the overlay's template order (WORKLOAD_KINDS).
    const out: PodTemplateRef[] = [];
    for (const kind of WORKLOAD_KINDS) {
      const list = ov.base.byKind(kind);
      const hits = list.length ? templateBuckets(list).matching(match, pairs) : [];
      if (kind !== ov.kind) {
        out.push(...hits);
        continue;
      }
      for (const t of hits) if (t.owner !== ov.replaced) out.push(t);
      const own = ov.writtenTemplate();
      if (own && match(own.labels)) out.push(own);
    }
    return out;
  }
  const memo = indexMemo(ctx.index);
  let b = memo.templates.get(namespace);
  if (!b) memo.templates.set(namespace, (b = new NamespaceTemplates(templatesIn(ctx, namespace))));
  return b.matching(match, pairs);
}

/** Pod templates a NetworkPolicy podSelector / PDB selector object selects; undefined when invalid or absent. */
export function templatesSelectedBy(ctx: CheckContext, namespace: string, selector: unknown): PodTemplateRef[] | undefined {
  const s = fromLabelSelector(selector);
  return s ? templatesMatching(ctx, namespace, s.match, s.pairs) : undefined;
}

/** The pod templates a Service selects; undefined when it has no selector or is ExternalName. */
export function templatesSelectedByService(ctx: CheckContext, svc: KObject): PodTemplateRef[] | undefined {
  const s = SELECTING['Service'](svc);
  return s ? templatesMatching(ctx, namespaceOf(svc), s.match, s.pairs) : undefined;
}

/** HPAs of the workload's namespace whose scaleTargetRef names it (kind and name), in index order. */
export function hpasTargeting(obj: KObject, ctx: CheckContext): KObject[] {
  const ns = namespaceOf(obj);
  const key = `${kindOf(obj)}\0${nameOf(obj)}`;
  const ov = overlayOf(ctx.index);
  if (!ov || ns !== ov.base.namespace || ov.kind !== HPA) return hpasByTarget(ctx.index.byKind(HPA, ns)).get(key) ?? [];
  const hits = (hpasByTarget(ov.base.byKind(HPA)).get(key) ?? []).filter((h) => h !== ov.replaced);
  if (hpaTarget(ov.written) === key) hits.push(ov.written);
  return hits;
}

const HPA = 'HorizontalPodAutoscaler';

/** `kind\0name` of an HPA's scaleTargetRef; undefined when either is missing. */
function hpaTarget(h: KObject): string | undefined {
  const kind = str(at(h, ['spec', 'scaleTargetRef', 'kind']));
  const name = str(at(h, ['spec', 'scaleTargetRef', 'name']));
  return kind && name ? `${kind}\0${name}` : undefined;
}

/** A list's HPAs by target (cached per list: never modify the arrays). */
function hpasByTarget(list: readonly KObject[]): ReadonlyMap<string, KObject[]> {
  const m = listMemo(list);
  if (!m.hpas) {
    m.hpas = new Map();
    for (const h of list) {
      const key = hpaTarget(h);
      if (!key) continue;
      const bucket = m.hpas.get(key);
      if (bucket) bucket.push(h);
      else m.hpas.set(key, [h]);
    }
  }
  return m.hpas;
}
