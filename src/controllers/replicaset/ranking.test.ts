import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { deleteBefore, podsToDelete, rankForDeletion, colocationRanks, podDeletionCost } from './ranking.js';

const NOW = Date.parse('2024-01-01T12:00:00Z');
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

interface P {
  name: string;
  node?: string;
  phase?: string;
  ready?: boolean;
  readyAgo?: number;
  createdAgo?: number;
  restarts?: number;
  cost?: string;
  deleting?: boolean;
}

function pod(p: P): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: p.name,
      namespace: 'default',
      uid: `uid-${p.name}`,
      creationTimestamp: p.createdAgo === undefined ? ago(1000) : ago(p.createdAgo),
      ...(p.cost !== undefined ? { annotations: { 'controller.kubernetes.io/pod-deletion-cost': p.cost } } : {}),
      ...(p.deleting ? { deletionTimestamp: ago(0) } : {}),
    },
    spec: p.node === undefined ? {} : { nodeName: p.node },
    status: {
      phase: p.phase ?? 'Running',
      conditions: [{ type: 'Ready', status: p.ready === false ? 'False' : 'True', lastTransitionTime: ago(p.readyAgo ?? 500) }],
      containerStatuses: [{ name: 'c', restartCount: p.restarts ?? 0 }],
    },
  };
}

const base: P = { name: 'b', node: 'n1' };

/** Each case: `first` must be deleted before `second` (and not the other way round). */
const cases: { name: string; first: P; second: P; ranks?: [number, number] }[] = [
  { name: 'unassigned before assigned', first: { name: 'a' }, second: base },
  { name: 'Pending before Unknown', first: { name: 'a', node: 'n1', phase: 'Pending' }, second: { ...base, phase: 'Unknown' } },
  { name: 'Unknown before Running', first: { name: 'a', node: 'n1', phase: 'Unknown' }, second: base },
  { name: 'Pending before Running even if Pending is older', first: { name: 'a', node: 'n1', phase: 'Pending', createdAgo: 9000 }, second: { ...base, createdAgo: 1 } },
  { name: 'not ready before ready', first: { name: 'a', node: 'n1', ready: false }, second: base },
  { name: 'not ready before ready even with more restarts on ready', first: { name: 'a', node: 'n1', ready: false }, second: { ...base, restarts: 9 } },
  { name: 'lower deletion cost first', first: { name: 'a', node: 'n1', cost: '-5' }, second: { ...base, cost: '10' } },
  { name: 'invalid deletion cost counts as 0', first: { name: 'a', node: 'n1', cost: 'x' }, second: { ...base, cost: '1' } },
  { name: 'doubled up before alone', first: { name: 'a', node: 'n1' }, second: base, ranks: [3, 1] },
  { name: 'ready for less time first', first: { name: 'a', node: 'n1', readyAgo: 10 }, second: { ...base, readyAgo: 1000 } },
  { name: 'ready-time ties within a log2 bucket go by uid', first: { name: 'a', node: 'n1', readyAgo: 1000 }, second: { ...base, readyAgo: 1001 } },
  { name: 'more restarts first', first: { name: 'a', node: 'n1', restarts: 3 }, second: { ...base, restarts: 1 } },
  { name: 'newer creation first', first: { name: 'a', node: 'n1', createdAgo: 5 }, second: { ...base, createdAgo: 5000 } },
  { name: 'readiness beats restarts and age', first: { name: 'z', node: 'n1', readyAgo: 1, createdAgo: 9000 }, second: { name: 'y', node: 'n1', readyAgo: 9000, createdAgo: 1, restarts: 5 } },
];

describe('deleteBefore (kube ActivePodsWithRanks.Less)', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const [ra, rb] = tc.ranks ?? [1, 1];
      const a = { pod: pod(tc.first), rank: ra };
      const b = { pod: pod(tc.second), rank: rb };
      assert.equal(deleteBefore(a, b, NOW), true, 'first should go first');
      assert.equal(deleteBefore(b, a, NOW), false, 'second should not go first');
    });
  }

  it('identical pods are not ordered', () => {
    const a = { pod: pod(base), rank: 1 };
    assert.equal(deleteBefore(a, a, NOW), false);
  });

  it('without now, times compare exactly', () => {
    const a = { pod: pod({ name: 'b', node: 'n1', readyAgo: 1000 }), rank: 1 };
    const b = { pod: pod({ name: 'a', node: 'n1', readyAgo: 1001 }), rank: 1 };
    assert.equal(deleteBefore(a, b), true);
    assert.equal(deleteBefore(a, b, NOW), false); // same log bucket: uid-a first
  });
});

describe('rankForDeletion / podsToDelete', () => {
  const pods = [
    pod({ name: 'running-old', node: 'n1', createdAgo: 5000, readyAgo: 5000 }),
    pod({ name: 'pending', phase: 'Pending', ready: false }),
    pod({ name: 'notready', node: 'n2', ready: false }),
    pod({ name: 'running-new', node: 'n2', createdAgo: 20, readyAgo: 20 }),
    pod({ name: 'restarty', node: 'n3', restarts: 7, readyAgo: 5000, createdAgo: 5000 }),
  ];
  it('orders the whole set', () => {
    assert.deepEqual(
      rankForDeletion(pods, { now: NOW }).map((p) => p.metadata.name),
      ['pending', 'notready', 'running-new', 'restarty', 'running-old'],
    );
  });
  it('takes the first diff pods, all when diff covers them, none for diff <= 0', () => {
    assert.deepEqual(podsToDelete(pods, 2, { now: NOW }).map((p) => p.metadata.name), ['pending', 'notready']);
    assert.equal(podsToDelete(pods, 9).length, 5);
    assert.equal(podsToDelete(pods, 0).length, 0);
  });
  it('does not reorder its input', () => {
    const names = pods.map((p) => p.metadata.name);
    rankForDeletion(pods, { now: NOW });
    assert.deepEqual(pods.map((p) => p.metadata.name), names);
  });
  it('co-location ranks count active related pods per node', () => {
    const related = [pod({ name: 'x', node: 'n1' }), pod({ name: 'y', node: 'n1' }), pod({ name: 'z', node: 'n1', deleting: true }), pod({ name: 'w', node: 'n2' })];
    assert.deepEqual(colocationRanks([pod({ name: 'p', node: 'n1' }), pod({ name: 'q', node: 'n2' }), pod({ name: 'r', node: 'n9' })], related), [2, 1, 0]);
  });
  it('parses deletion cost as int32', () => {
    const c = (v: string): number => podDeletionCost(pod({ name: 'p', cost: v }));
    assert.deepEqual([c('7'), c('-3'), c('+4'), c('2147483648'), c('1.5'), c('')], [7, -3, 4, 0, 0, 0]);
  });
});
