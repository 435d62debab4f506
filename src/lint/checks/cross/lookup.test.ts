import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildIndex, overlayIndex, recordDerivation, type IndexBase, type ListOp } from '../../index-objects.js';
import { labelSelector } from './common.js';
import { hpasTargeting, selectorsMatching, servicesSelecting, templatesSelectedBy } from './lookup.js';
import { object, service, workload } from './testing.js';
import type { CheckContext, KObject } from '../../types.js';

const key = fc.constantFrom('app', 'tier', 'env');
const val = fc.constantFrom('a', 'b', 'c');
const labels = fc.dictionary(key, val, { maxKeys: 3 });
const expr = fc.record({ key, operator: fc.constantFrom('In', 'NotIn', 'Exists', 'DoesNotExist'), values: fc.array(val, { minLength: 1, maxLength: 2 }) }).map((e) =>
  e.operator === 'Exists' || e.operator === 'DoesNotExist' ? { key: e.key, operator: e.operator } : e);
const selector = fc.record({ matchLabels: labels, matchExpressions: fc.array(expr, { maxLength: 2 }) });

describe('lookup buckets agree with evaluating every selector', () => {
  it('NetworkPolicies matching a template, and templates a policy selects', () => {
    fc.assert(
      fc.property(fc.array(labels, { maxLength: 6 }), fc.array(selector, { maxLength: 6 }), (tmpl, sels) => {
        const ws = tmpl.map((l, i) => workload(`w${i}`, { labels: l }));
        const nps = sels.map((s, i) => object('NetworkPolicy', `p${i}`, { spec: { podSelector: s } }));
        const ctx: CheckContext = { index: buildIndex([...ws, ...nps]), mode: 'cli' };
        for (const [i, w] of ws.entries()) {
          const want = nps.filter((np, j) => labelSelector(sels[j])?.(tmpl[i]) === true);
          assert.deepEqual(selectorsMatching(ctx, 'NetworkPolicy', 'default', tmpl[i]), want, JSON.stringify(w));
        }
        for (const s of sels) {
          const m = labelSelector(s);
          const want = ws.filter((_w, i) => m?.(tmpl[i]) === true);
          assert.deepEqual((templatesSelectedBy(ctx, 'default', s) ?? []).map((t) => t.owner), want);
        }
      }),
      { numRuns: 150 },
    );
  });

  it('Services selecting a template use plain-map semantics and skip ExternalName', () => {
    const w = workload('w', { labels: { app: 'a', tier: 'b' } });
    const objs: KObject[] = [
      w,
      service('s1', { selector: { app: 'a' } }),
      service('s2', { selector: { app: 'a', tier: 'c' } }),
      service('s3', { type: 'ExternalName', selector: { app: 'a' } }),
      service('s4', {}),
      service('s5', { selector: { tier: 'b' } }),
    ];
    const ctx: CheckContext = { index: buildIndex(objs), mode: 'cli' };
    const t = { owner: w, specPath: [], spec: {}, labels: { app: 'a', tier: 'b' } };
    assert.deepEqual(servicesSelecting(ctx, t).map((s) => (s['metadata'] as { name: string }).name), ['s1', 's5']);
  });

  it('HPAs are found by target kind and name in the namespace', () => {
    const w = workload('web');
    const h = (n: string, kind: string, name: string, ns?: string): KObject => object('HorizontalPodAutoscaler', n, { spec: { scaleTargetRef: { kind, name } } }, ns);
    const objs = [w, h('a', 'Deployment', 'web'), h('b', 'StatefulSet', 'web'), h('c', 'Deployment', 'web', 'x'), h('d', 'Deployment', 'other')];
    const ctx: CheckContext = { index: buildIndex(objs), mode: 'cli' };
    assert.deepEqual(hpasTargeting(w, ctx), [objs[1]]);
  });
});

describe('lookup memo', () => {
  it('an index whose all() changes is not answered from a stale memo', () => {
    const objs: KObject[] = [workload('web')];
    const base = buildIndex(objs);
    let current = objs;
    // A "live" view: same index object, different contents over time.
    const live = { ...base, all: () => current, byKind: (k: string, ns?: string) => buildIndex(current).byKind(k, ns), podTemplatesSelectedBy: (s: Record<string, string>, ns: string) => buildIndex(current).podTemplatesSelectedBy(s, ns) };
    const ctx: CheckContext = { index: live, mode: 'admission' };
    const labels = { app: 'web' };
    assert.equal(selectorsMatching(ctx, 'NetworkPolicy', 'default', labels).length, 0);
    current = [...objs, object('NetworkPolicy', 'p', { spec: { podSelector: { matchLabels: labels } } })];
    assert.equal(selectorsMatching(ctx, 'NetworkPolicy', 'default', labels).length, 1);
  });
});

/** A minimal IndexBase over per-kind arrays (what admission's NamespaceState provides). */
function baseOf(objs: readonly KObject[]): IndexBase {
  const byKind = new Map<string, KObject[]>();
  for (const o of objs) {
    const list = byKind.get(String(o['kind'])) ?? [];
    list.push(o);
    byKind.set(String(o['kind']), list);
  }
  const empty: KObject[] = [];
  return {
    namespace: 'default',
    all: () => [...byKind.values()].flat(),
    byKind: (k) => byKind.get(k) ?? empty,
    get: (k, n) => byKind.get(k)?.find((o) => (o['metadata'] as { name: string }).name === n),
  };
}

const nameArb = fc.constantFrom('x', 'y', 'z');
const objArb = fc.oneof(
  fc.tuple(nameArb, labels).map(([n, l]) => workload(n, { labels: l })),
  fc.tuple(nameArb, selector).map(([n, s]) => object('NetworkPolicy', n, { spec: { podSelector: s } })),
  fc.tuple(nameArb, labels).map(([n, l]) => service(n, { selector: l })),
  fc.tuple(nameArb, nameArb).map(([n, t]) => object('HorizontalPodAutoscaler', n, { spec: { scaleTargetRef: { kind: 'Deployment', name: t } } })),
);
const nameOfObj = (o: KObject): string => (o['metadata'] as { name: string }).name;
/** Objects unique by kind and name (the last wins), in first-seen order: what a namespace holds. */
const uniq = (objs: readonly KObject[]): KObject[] => [...new Map(objs.map((o) => [`${String(o['kind'])}/${nameOfObj(o)}`, o])).values()];

/** Every lookup of `ctx` for the given probes, as comparable values. */
function lookups(ctx: CheckContext, probes: readonly Record<string, string>[], sels: readonly unknown[]): unknown[] {
  return [
    ...probes.flatMap((l) => (['Service', 'NetworkPolicy', 'PodDisruptionBudget'] as const).map((k) => selectorsMatching(ctx, k, 'default', l))),
    ...sels.map((s) => templatesSelectedBy(ctx, 'default', s)?.map((t) => t.owner)),
    ...['x', 'y', 'z'].map((n) => hpasTargeting(workload(n), ctx)),
  ];
}

describe('overlay indexes (admission)', () => {
  it('answer every lookup as buildIndex over the base with the written object applied', () => {
    fc.assert(
      fc.property(fc.array(objArb, { maxLength: 12 }), objArb, fc.array(labels, { maxLength: 3 }), fc.array(selector, { maxLength: 3 }), (objs, written, probes, sels) => {
        const held = uniq(objs);
        const base = baseOf(held);
        const ov: CheckContext = { index: overlayIndex(base, written), mode: 'admission' };
        // Warm the base's caches with another write first: they must not leak into this one.
        lookups({ index: overlayIndex(base, object('ConfigMap', 'c')), mode: 'admission' }, probes, sels);
        const applied = [...held.filter((o) => o !== base.get(String(written['kind']), nameOfObj(written))), written];
        const ref: CheckContext = { index: buildIndex(applied), mode: 'admission' };
        assert.deepEqual(lookups(ov, probes, sels), lookups(ref, probes, sels));
      }),
      { numRuns: 200 },
    );
  });

  it('lookups of a derived list (recordDerivation) are the old ones patched, equal to a rebuild', () => {
    fc.assert(
      fc.property(fc.array(objArb, { maxLength: 10 }), fc.array(fc.tuple(fc.boolean(), objArb), { maxLength: 8 }), fc.array(labels, { maxLength: 3 }), fc.array(selector, { maxLength: 3 }), (objs, changes, probes, sels) => {
        // Per kind, a Map like NamespaceState's: a put of a held name keeps its place.
        const maps = new Map<string, Map<string, KObject>>();
        for (const o of objs) (maps.get(String(o['kind'])) ?? maps.set(String(o['kind']), new Map()).get(String(o['kind']))!).set(nameOfObj(o), o);
        const snapshot = (): Map<string, KObject[]> => new Map([...maps].map(([k, m]) => [k, [...m.values()]]));
        const baseFrom = (lists: Map<string, KObject[]>): IndexBase => ({
          namespace: 'default',
          all: () => [...lists.values()].flat(),
          byKind: (k) => lists.get(k) ?? (lists.set(k, []), lists.get(k)!),
          get: (k, n) => lists.get(k)?.find((o) => nameOfObj(o) === n),
        });
        const before = snapshot();
        const probe = object('ConfigMap', 'c');
        lookups({ index: overlayIndex(baseFrom(before), probe), mode: 'admission' }, probes, sels);
        const ops = new Map<string, ListOp[]>();
        for (const [remove, o] of changes) {
          const kind = String(o['kind']);
          const m = maps.get(kind) ?? maps.set(kind, new Map()).get(kind)!;
          const prev = m.get(nameOfObj(o));
          const op: ListOp | undefined = remove ? (prev ? { removed: prev } : undefined) : prev ? { removed: prev, added: o } : { added: o };
          if (!op) continue;
          if (remove) m.delete(nameOfObj(o));
          else m.set(nameOfObj(o), o);
          ops.set(kind, [...(ops.get(kind) ?? []), op]);
        }
        const after = snapshot();
        for (const [kind, list] of after) recordDerivation(list, before.get(kind) ?? (before.set(kind, []), before.get(kind)!), ops.get(kind) ?? []);
        const got = lookups({ index: overlayIndex(baseFrom(after), probe), mode: 'admission' }, probes, sels);
        const want = lookups({ index: buildIndex([...after.values()].flat()), mode: 'admission' }, probes, sels);
        assert.deepEqual(got, want);
      }),
      { numRuns: 300 },
    );
  });
});
