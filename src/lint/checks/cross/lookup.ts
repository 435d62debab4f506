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
import { at, kindOf, nameOf, namespaceOf, stringMap, str } from '../../objects.js';
import type { CheckContext, KObject, ObjectIndex, PodTemplateRef } from '../../types.js';
import { labelSelector, serviceSelector, templatesIn } from './common.js';
import type { LabelMatcher } from './common.js';

interface Entry {
  obj: KObject;
  match: LabelMatcher;
}

/** Selectors of one kind in one namespace, bucketed by an equality pair. */
class SelectorBuckets {
  private readonly byPair = new Map<string, Entry[]>();
  private readonly rest: Entry[] = [];

  add(obj: KObject, match: LabelMatcher, pairs: Record<string, string>): void {
    const first = Object.keys(pairs).sort()[0];
    if (first === undefined) {
      this.rest.push({ obj, match });
      return;
    }
    const key = pairKey(first, pairs[first]);
    const list = this.byPair.get(key);
    if (list) list.push({ obj, match });
    else this.byPair.set(key, [{ obj, match }]);
  }

  /** Objects (in input order, per `order`) whose selector matches `labels`. */
  matching(labels: Record<string, string>, order: ReadonlyMap<KObject, number>): KObject[] {
    const hits: KObject[] = this.rest.filter((e) => e.match(labels)).map((e) => e.obj);
    for (const [k, v] of Object.entries(labels)) {
      for (const e of this.byPair.get(pairKey(k, v)) ?? []) if (e.match(labels)) hits.push(e.obj);
    }
    return hits.length > 1 ? hits.sort((a, b) => (order.get(a) ?? 0) - (order.get(b) ?? 0)) : hits;
  }
}

/** Pod templates of one namespace, bucketed by each label pair. */
class TemplateBuckets {
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
    const candidates = first === undefined ? this.all : this.byPair.get(pairKey(first, pairs[first])) ?? [];
    return candidates.filter((t) => match(t.labels));
  }
}

interface Memo {
  /** The `index.all()` the memo was built from (and its length): a changed view invalidates it. */
  all: readonly KObject[];
  size: number;
  selectors: Map<string, SelectorBuckets>;
  templates: Map<string, TemplateBuckets>;
  hpas: Map<string, Map<string, KObject[]>>;
  order: Map<KObject, number>;
}

/**
 * Memo per index. buildIndex's indexes are read-only snapshots (all() is always the same array),
 * so derived lookups never go stale; an index that is a live view (all() returning a new or
 * resized array) simply gets its memo rebuilt, never a stale answer.
 */
const memos = new WeakMap<ObjectIndex, Memo>();

function memoOf(index: ObjectIndex): Memo {
  const all = index.all();
  let m = memos.get(index);
  if (!m || m.all !== all || m.size !== all.length) {
    const order = new Map<KObject, number>();
    all.forEach((o, i) => order.set(o, i));
    m = { all, size: all.length, selectors: new Map(), templates: new Map(), hpas: new Map(), order };
    memos.set(index, m);
  }
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

/** The Services / NetworkPolicies / PDBs of `namespace` whose selector matches `labels`. */
export function selectorsMatching(ctx: CheckContext, kind: 'Service' | 'NetworkPolicy' | 'PodDisruptionBudget', namespace: string, labels: Record<string, string>): KObject[] {
  const memo = memoOf(ctx.index);
  const key = `${kind}\0${namespace}`;
  let b = memo.selectors.get(key);
  if (!b) {
    b = new SelectorBuckets();
    for (const o of ctx.index.byKind(kind, namespace)) {
      const s = SELECTING[kind](o);
      if (s) b.add(o, s.match, s.pairs);
    }
    memo.selectors.set(key, b);
  }
  return b.matching(labels, memo.order);
}

/** Services of the template's namespace whose selector selects it (ExternalName/selectorless never do). */
export function servicesSelecting(ctx: CheckContext, t: PodTemplateRef): KObject[] {
  return selectorsMatching(ctx, 'Service', namespaceOf(t.owner), t.labels);
}

/** Pod templates of `namespace` a matcher selects (`pairs`: equality requirements it has, for pruning). */
export function templatesMatching(ctx: CheckContext, namespace: string, match: LabelMatcher, pairs: Record<string, string>): PodTemplateRef[] {
  const memo = memoOf(ctx.index);
  let b = memo.templates.get(namespace);
  if (!b) memo.templates.set(namespace, (b = new TemplateBuckets(templatesIn(ctx, namespace))));
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

/** HPAs of the workload's namespace whose scaleTargetRef names it (kind and name). */
export function hpasTargeting(obj: KObject, ctx: CheckContext): KObject[] {
  const memo = memoOf(ctx.index);
  const ns = namespaceOf(obj);
  let byTarget = memo.hpas.get(ns);
  if (!byTarget) {
    byTarget = new Map();
    for (const h of ctx.index.byKind('HorizontalPodAutoscaler', ns)) {
      const kind = str(at(h, ['spec', 'scaleTargetRef', 'kind']));
      const name = str(at(h, ['spec', 'scaleTargetRef', 'name']));
      if (!kind || !name) continue;
      const key = `${kind}\0${name}`;
      const list = byTarget.get(key);
      if (list) list.push(h);
      else byTarget.set(key, [h]);
    }
    memo.hpas.set(ns, byTarget);
  }
  return byTarget.get(`${kindOf(obj)}\0${nameOf(obj)}`) ?? [];
}
