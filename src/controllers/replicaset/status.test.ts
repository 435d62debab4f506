import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { calculateStatus, nextAvailableIn, statusEqual, type RSStatus } from './status.js';

const NOW = Date.parse('2024-01-01T12:00:00Z');
const NOW_S = '2024-01-01T12:00:00Z';
const ago = (s: number): string => new Date(NOW - s * 1000).toISOString().replace(/\.\d+Z$/, 'Z');

function rs(opts: { replicas?: number; minReady?: number; generation?: number; status?: Partial<RSStatus> } = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: 'web', namespace: 'default', generation: opts.generation ?? 2 },
    spec: { replicas: opts.replicas ?? 3, minReadySeconds: opts.minReady ?? 0, template: { metadata: { labels: { app: 'web', tier: 'fe' } } } },
    status: opts.status ?? { replicas: 0 },
  };
}

function pod(opts: { labels?: Record<string, string>; readyAgo?: number } = {}): KObject {
  return {
    metadata: { name: 'p', labels: opts.labels ?? { app: 'web', tier: 'fe' } },
    status: { conditions: opts.readyAgo === undefined ? [] : [{ type: 'Ready', status: 'True', lastTransitionTime: ago(opts.readyAgo) }] },
  };
}

describe('calculateStatus', () => {
  const cases: { name: string; rs: KObject; pods: KObject[]; err?: string; want: RSStatus }[] = [
    { name: 'no pods: zero fields omitted', rs: rs(), pods: [], want: { replicas: 0, observedGeneration: 2 } },
    {
      name: 'counts fully labeled, ready, available',
      rs: rs(),
      pods: [pod({ readyAgo: 5 }), pod({ labels: { app: 'web' }, readyAgo: 5 }), pod()],
      want: { replicas: 3, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 2, observedGeneration: 2 },
    },
    {
      name: 'minReadySeconds holds back availability',
      rs: rs({ minReady: 10 }),
      pods: [pod({ readyAgo: 5 }), pod({ readyAgo: 30 })],
      want: { replicas: 2, fullyLabeledReplicas: 2, readyReplicas: 2, availableReplicas: 1, observedGeneration: 2 },
    },
    {
      name: 'create failure sets ReplicaFailure/FailedCreate',
      rs: rs(),
      pods: [pod()],
      err: 'exceeded quota',
      want: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        observedGeneration: 2,
        conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: NOW_S, reason: 'FailedCreate', message: 'exceeded quota' }],
      },
    },
    {
      name: 'delete failure says FailedDelete',
      rs: rs({ replicas: 0 }),
      pods: [pod()],
      err: 'nope',
      want: {
        replicas: 1,
        fullyLabeledReplicas: 1,
        observedGeneration: 2,
        conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: NOW_S, reason: 'FailedDelete', message: 'nope' }],
      },
    },
    {
      name: 'existing failure is kept as is on a new error',
      rs: rs({ status: { replicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: ago(60), reason: 'FailedCreate', message: 'old' }] } }),
      pods: [],
      err: 'new',
      want: { replicas: 0, observedGeneration: 2, conditions: [{ type: 'ReplicaFailure', status: 'True', lastTransitionTime: ago(60), reason: 'FailedCreate', message: 'old' }] },
    },
    {
      name: 'success clears the failure',
      rs: rs({ status: { replicas: 0, conditions: [{ type: 'ReplicaFailure', status: 'True', reason: 'FailedCreate', message: 'old' }] } }),
      pods: [],
      want: { replicas: 0, observedGeneration: 2 },
    },
  ];
  for (const tc of cases) {
    it(tc.name, () => {
      const got = calculateStatus(tc.rs, tc.pods, { manageError: tc.err ? new Error(tc.err) : undefined, now: NOW, nowRfc3339: NOW_S });
      assert.deepEqual(got, tc.want);
    });
  }
});

describe('statusEqual', () => {
  it('treats missing counters as 0 and compares every field', () => {
    const next: RSStatus = { replicas: 2, readyReplicas: 1, observedGeneration: 3 };
    assert.equal(statusEqual({ replicas: 2, readyReplicas: 1, availableReplicas: 0, observedGeneration: 3 }, next), true);
    assert.equal(statusEqual({ replicas: 2, readyReplicas: 1 }, next), false);
    assert.equal(statusEqual({ replicas: 2, readyReplicas: 2, observedGeneration: 3 }, next), false);
    assert.equal(statusEqual({ ...next, conditions: [{ type: 'ReplicaFailure', status: 'True' }] }, next), false);
    assert.equal(statusEqual(undefined, { replicas: 0 }), true);
  });
});

describe('nextAvailableIn', () => {
  it('is the wait until the soonest ready pod passes minReadySeconds', () => {
    assert.equal(nextAvailableIn(rs({ minReady: 10 }), [pod({ readyAgo: 3 }), pod({ readyAgo: 8 }), pod({ readyAgo: 60 }), pod()], NOW), 2000);
    assert.equal(nextAvailableIn(rs({ minReady: 10 }), [pod({ readyAgo: 60 })], NOW), undefined);
    assert.equal(nextAvailableIn(rs({ minReady: 0 }), [pod({ readyAgo: 0 })], NOW), undefined);
  });
});
