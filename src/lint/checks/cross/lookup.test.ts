import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { buildIndex } from '../../index-objects.js';
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
