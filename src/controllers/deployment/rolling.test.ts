import { test } from 'node:test';
import assert from 'node:assert/strict';
import { newRSNewReplicas, planNewReplicaSet, planOldReplicaSets, planProportionalScale, planRecreateScaleDown, oldPodsRunning, type ScaleStep } from './rolling.js';
import { DESIRED_REPLICAS, MAX_REPLICAS } from './util.js';
import { deploy, rs } from './fixtures.test-util.js';
import type { KObject } from '../../api/types.js';

test('newRSNewReplicas / planNewReplicaSet (kube reconcileNewReplicaSet cases)', () => {
  const cases: { name: string; replicas: number; surge: number | string; old: number; cur: number; want: number | undefined }[] = [
    { name: 'no surge room', replicas: 10, surge: 0, old: 10, cur: 0, want: undefined },
    { name: 'surge 2 from 0', replicas: 10, surge: 2, old: 10, cur: 0, want: 2 },
    { name: 'room beyond surge capped at replicas', replicas: 10, surge: 2, old: 5, cur: 0, want: 7 },
    { name: 'already at max total', replicas: 10, surge: 2, old: 10, cur: 2, want: undefined },
    { name: 'scale new down to replicas', replicas: 10, surge: 2, old: 0, cur: 11, want: 10 },
    { name: 'done', replicas: 10, surge: 2, old: 0, cur: 10, want: undefined },
    { name: 'percent surge rounds up', replicas: 3, surge: '10%', old: 3, cur: 0, want: 1 },
  ];
  for (const c of cases) {
    const d = deploy({ replicas: c.replicas, surge: c.surge, unavailable: 0 });
    const o = rs('old', { replicas: c.old });
    const n = rs('new', { replicas: c.cur });
    assert.equal(planNewReplicaSet(d, [o, n], n), c.want, c.name);
  }
  const rec = deploy({ replicas: 4, recreate: true });
  assert.equal(newRSNewReplicas(rec, [rs('o', { replicas: 4 })], rs('n', { replicas: 0 })), 4);
});

test('planOldReplicaSets (kube reconcileOldReplicaSets / cleanupUnhealthyReplicas cases)', () => {
  type C = { name: string; unav: number; surge: number; old: { replicas: number; available: number }[]; cur: { replicas: number; available: number }; want: ScaleStep[] };
  const cases: C[] = [
    { name: 'maxUnavailable 0, nothing new available', unav: 0, surge: 2, old: [{ replicas: 10, available: 10 }], cur: { replicas: 0, available: 0 }, want: [] },
    { name: 'maxUnavailable 2: two may go at once', unav: 2, surge: 0, old: [{ replicas: 10, available: 10 }], cur: { replicas: 0, available: 0 }, want: [{ name: 'o0', to: 8, op: 'down' }] },
    { name: 'new pods unavailable eat the budget', unav: 2, surge: 3, old: [{ replicas: 8, available: 8 }], cur: { replicas: 5, available: 0 }, want: [] },
    { name: 'surged new pods available: scale old down by them', unav: 0, surge: 2, old: [{ replicas: 10, available: 10 }], cur: { replicas: 2, available: 2 }, want: [{ name: 'o0', to: 8, op: 'down' }] },
    { name: 'unhealthy old replicas first', unav: 0, surge: 2, old: [{ replicas: 10, available: 8 }], cur: { replicas: 2, available: 2 }, want: [{ name: 'o0', to: 8, op: 'down' }] },
    {
      name: 'oldest old first, unhealthy then healthy',
      unav: 3,
      surge: 0,
      old: [{ replicas: 3, available: 2 }, { replicas: 7, available: 7 }],
      cur: { replicas: 0, available: 0 },
      want: [{ name: 'o0', to: 2, op: 'down' }, { name: 'o0', to: 0, op: 'down' }],
    },
    { name: 'no old pods', unav: 1, surge: 1, old: [{ replicas: 0, available: 0 }], cur: { replicas: 10, available: 10 }, want: [] },
  ];
  // 'oldest old first': allPods 10, minAvailable 7 → 3 may go; cleanup removes o0's 1 unhealthy; then
  // available 9 - 7 = 2 go, oldest first: o0 2 → 0.
  for (const c of cases) {
    const d = deploy({ replicas: 10, surge: c.surge, unavailable: c.unav });
    const olds = c.old.map((o, i) => rs(`o${i}`, { ...o, at: i }));
    const n = rs('new', { ...c.cur, at: 100 });
    assert.deepEqual(planOldReplicaSets(d, [...olds, n], olds, n), c.want, c.name);
  }
});

test('planProportionalScale (kube scale cases)', () => {
  const ann = (max: number, desired: number): Record<string, string> => ({ [MAX_REPLICAS]: String(max), [DESIRED_REPLICAS]: String(desired) });
  type C = { name: string; d: ReturnType<typeof deploy>; newRS?: ReturnType<typeof rs>; old: ReturnType<typeof rs>[]; want: ScaleStep[] };
  const cases: C[] = [
    { name: 'single active set takes the new size', d: deploy({ replicas: 12 }), newRS: rs('n', { replicas: 10 }), old: [rs('o', { replicas: 0 })], want: [{ name: 'n', to: 12, op: 'up' }] },
    { name: 'single active old set (paused) shrinks', d: deploy({ replicas: 3 }), newRS: undefined, old: [rs('o', { replicas: 5 })], want: [{ name: 'o', to: 3, op: 'down' }] },
    { name: 'nothing to do', d: deploy({ replicas: 5 }), newRS: rs('n', { replicas: 5 }), old: [], want: [] },
    {
      name: 'saturated new set: old ones to 0',
      d: deploy({ replicas: 4 }),
      newRS: rs('n', { replicas: 4, available: 4, annotations: ann(5, 4) }),
      old: [rs('o', { replicas: 1, at: 0 })],
      want: [{ name: 'o', to: 0, op: 'down' }],
    },
    {
      name: 'scale up 5 → 10 mid-rollout, surge 3',
      d: deploy({ replicas: 10, surge: 3, unavailable: 2 }),
      newRS: rs('n', { replicas: 5, at: 10, annotations: ann(8, 5) }),
      old: [rs('o', { replicas: 3, at: 0, annotations: ann(8, 5) })],
      want: [{ name: 'n', to: 8, op: 'up' }, { name: 'o', to: 5, op: 'up' }],
    },
    {
      name: 'scale down 10 → 5 mid-rollout, surge 3',
      d: deploy({ replicas: 5, surge: 3, unavailable: 2 }),
      newRS: rs('n', { replicas: 8, at: 10, annotations: ann(13, 10) }),
      old: [rs('o', { replicas: 5, at: 0, annotations: ann(13, 10) })],
      want: [{ name: 'n', to: 5, op: 'down' }, { name: 'o', to: 3, op: 'down' }],
    },
    {
      name: 'scale to zero',
      d: deploy({ replicas: 0, surge: 3, unavailable: 2 }),
      newRS: rs('n', { replicas: 8, at: 10, annotations: ann(13, 10) }),
      old: [rs('o', { replicas: 5, at: 0, annotations: ann(13, 10) })],
      want: [{ name: 'n', to: 0, op: 'down' }, { name: 'o', to: 0, op: 'down' }],
    },
    {
      name: 'leftover goes to the largest; equal sizes: newer first when growing',
      d: deploy({ replicas: 7, surge: 0, unavailable: 1 }),
      newRS: rs('n', { replicas: 2, at: 10, annotations: ann(4, 4) }),
      old: [rs('o', { replicas: 2, at: 0, annotations: ann(4, 4) })],
      want: [{ name: 'n', to: 4, op: 'up' }, { name: 'o', to: 3, op: 'up' }],
    },
    {
      name: 'no annotation: falls back to status.replicas',
      d: deploy({ replicas: 20, surge: 0, unavailable: 1, status: { replicas: 10 } }),
      newRS: rs('n', { replicas: 5, at: 10 }),
      old: [rs('o', { replicas: 5, at: 0 })],
      want: [{ name: 'n', to: 10, op: 'up' }, { name: 'o', to: 10, op: 'up' }],
    },
    {
      name: 'same total: annotations-only refresh (op empty)',
      d: deploy({ replicas: 10, surge: 0, unavailable: 2 }),
      newRS: rs('n', { replicas: 4, at: 10, annotations: ann(12, 12) }),
      old: [rs('o', { replicas: 6, at: 0, annotations: ann(12, 12) })],
      want: [{ name: 'o', to: 6, op: '' }, { name: 'n', to: 4, op: '' }],
    },
  ];
  for (const c of cases) assert.deepEqual(planProportionalScale(c.d, c.newRS, c.old), c.want, c.name);
});

test('Recreate: scale old down, then wait for old pods', () => {
  assert.deepEqual(planRecreateScaleDown([rs('a', { replicas: 2 }), rs('b', { replicas: 0 })]), [{ name: 'a', to: 0, op: 'down' }]);
  const n = rs('n', { replicas: 0 });
  const o = rs('o', { replicas: 0, statusReplicas: 0 });
  const pod = (phase: string): KObject => ({ metadata: { name: phase }, status: { phase } });
  const cases: { name: string; old: ReturnType<typeof rs>; pods: Map<string, KObject[]>; want: boolean }[] = [
    { name: 'no pods', old: o, pods: new Map([['o-uid', []]]), want: false },
    { name: 'old RS still reports replicas', old: rs('o', { replicas: 0, statusReplicas: 1 }), pods: new Map(), want: true },
    { name: 'a running old pod', old: o, pods: new Map([['o-uid', [pod('Running')]]]), want: true },
    { name: 'unknown counts as running', old: o, pods: new Map([['o-uid', [pod('Unknown')]]]), want: true },
    { name: 'terminated old pods do not count', old: o, pods: new Map([['o-uid', [pod('Succeeded'), pod('Failed')]]]), want: false },
    { name: 'new pods do not count', old: o, pods: new Map([['n-uid', [pod('Running')]]]), want: false },
  ];
  for (const c of cases) assert.equal(oldPodsRunning(n, [c.old], c.pods), c.want, c.name);
});
