import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { completeRollingUpdate, planStatefulSet, revisionForNewPod, statusDiffers, type Step } from './plan.js';
import { REVISION_LABEL, POD_NAME_LABEL, setSpec } from './pods.js';

const NOW = Date.parse('2024-01-01T00:10:00Z');
type Obj = Record<string, unknown>;

function set(spec: Obj = {}, extra: { status?: Obj; generation?: number; deleting?: boolean } = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name: 'web', namespace: 'default', uid: 'u1', generation: extra.generation ?? 1, ...(extra.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: {
      replicas: 3,
      serviceName: 'web',
      podManagementPolicy: 'OrderedReady',
      updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0 } },
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'x' }] } },
      ...spec,
    },
    status: extra.status ?? {},
  };
}

/** `web-N` with a state: ready (default), notready, pending, failed, deleting; rev defaults to "r2" (update). */
function pod(ordinal: number, state: 'ready' | 'notready' | 'pending' | 'failed' | 'deleting' | 'fresh' = 'ready', rev = 'r2'): KObject {
  const name = `web-${ordinal}`;
  const readySince = state === 'fresh' ? '2024-01-01T00:09:59Z' : '2024-01-01T00:00:00Z';
  const ready = state === 'ready' || state === 'deleting' || state === 'fresh';
  return {
    metadata: { name, namespace: 'default', uid: `p${ordinal}`, labels: { app: 'web', [POD_NAME_LABEL]: name, [REVISION_LABEL]: rev }, ...(state === 'deleting' ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    status: {
      phase: state === 'pending' ? 'Pending' : state === 'failed' ? 'Failed' : 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False', lastTransitionTime: readySince }],
    },
  };
}

/** Steps rendered compactly: "create web-1@update", "delete web-2(update)", "fix web-0". */
function render(steps: Step[]): string[] {
  return steps.map((s) => {
    if (s.op === 'create') return `create web-${s.ordinal}@${s.revision}`;
    if (s.op === 'delete') return `delete ${s.pod.metadata.name}(${s.reason})`;
    return `fix ${s.pod.metadata.name}`;
  });
}

const plan = (s: KObject, pods: KObject[], current = 'r2'): ReturnType<typeof planStatefulSet> =>
  planStatefulSet({ set: s, pods, currentRevision: current, updateRevision: 'r2', collisionCount: 0, now: NOW });

test('planStatefulSet: which pods to create, delete and update next', () => {
  const P = { podManagementPolicy: 'Parallel' };
  const cases: { name: string; set: KObject; pods: KObject[]; current?: string; want: string[] }[] = [
    { name: 'ordered: empty set creates web-0 only', set: set(), pods: [], want: ['create web-0@update'] },
    { name: 'ordered: waits for web-0 to be ready', set: set(), pods: [pod(0, 'notready')], want: [] },
    { name: 'ordered: waits for a pending web-0', set: set(), pods: [pod(0, 'pending')], want: [] },
    { name: 'ordered: web-0 ready, creates web-1', set: set(), pods: [pod(0)], want: ['create web-1@update'] },
    { name: 'ordered: fills the first gap', set: set(), pods: [pod(0), pod(2)], want: ['create web-1@update'] },
    { name: 'ordered: minReadySeconds not yet passed blocks', set: set({ minReadySeconds: 30 }), pods: [pod(0, 'fresh')], want: [] },
    { name: 'ordered: minReadySeconds passed', set: set({ minReadySeconds: 30 }), pods: [pod(0)], want: ['create web-1@update'] },
    { name: 'ordered: ordinals.start=5', set: set({ ordinals: { start: 5 }, replicas: 2 }), pods: [pod(5)], want: ['create web-6@update'] },
    { name: 'ordered: failed pod deleted, nothing else', set: set(), pods: [pod(0, 'failed'), pod(1)], want: ['delete web-0(failed)'] },
    { name: 'ordered: failed pod already terminating: wait', set: set(), pods: [{ ...pod(0, 'failed'), metadata: { ...pod(0).metadata, deletionTimestamp: 'x' } }], want: [] },
    { name: 'ordered: scale down deletes highest first', set: set({ replicas: 1 }), pods: [pod(0), pod(1), pod(2)], want: ['delete web-2(scale-down)'] },
    { name: 'ordered: scale down waits for terminating', set: set({ replicas: 1 }), pods: [pod(0), pod(1), pod(2, 'deleting')], want: [] },
    { name: 'ordered: healthy highest goes even if a lower condemned is unhealthy', set: set({ replicas: 1 }), pods: [pod(0), pod(1, 'notready'), pod(2)], want: ['delete web-2(scale-down)'] },
    { name: 'ordered: unhealthy highest waits while a lower one is the first unhealthy', set: set({ replicas: 1 }), pods: [pod(0), pod(1, 'notready'), pod(2, 'notready')], want: [] },
    { name: 'ordered: unhealthy condemned pod itself may go', set: set({ replicas: 1 }), pods: [pod(0), pod(1, 'notready')], want: ['delete web-1(scale-down)'] },
    { name: 'ordered: scale down waits for replicas to be healthy', set: set({ replicas: 2 }), pods: [pod(0), pod(1, 'notready'), pod(2)], want: [] },
    { name: 'ordered: scale to zero', set: set({ replicas: 0 }), pods: [pod(0), pod(1)], want: ['delete web-1(scale-down)'] },
    { name: 'ordered: missing identity label is repaired', set: set({ replicas: 1 }), pods: [{ ...pod(0), metadata: { ...pod(0).metadata, labels: { app: 'web', [REVISION_LABEL]: 'r2' } } }], want: ['fix web-0'] },
    { name: 'parallel: creates all at once', set: set(P), pods: [], want: ['create web-0@update', 'create web-1@update', 'create web-2@update'] },
    { name: 'parallel: creates around unready pods', set: set(P), pods: [pod(1, 'notready')], want: ['create web-0@update', 'create web-2@update'] },
    { name: 'parallel: scale down deletes all condemned', set: set({ ...P, replicas: 1 }), pods: [pod(0), pod(1, 'notready'), pod(2)], want: ['delete web-2(scale-down)', 'delete web-1(scale-down)'] },
    { name: 'parallel: skips terminating condemned', set: set({ ...P, replicas: 1 }), pods: [pod(0), pod(1), pod(2, 'deleting')], want: ['delete web-1(scale-down)'] },
    { name: 'rolling: highest stale ordinal first', set: set(), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'ready', 'r1')], current: 'r1', want: ['delete web-2(update)'] },
    { name: 'rolling: waits for the updated pod to be ready', set: set(), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'notready')], current: 'r1', want: [] },
    { name: 'rolling: next one down', set: set(), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2)], current: 'r1', want: ['delete web-1(update)'] },
    { name: 'rolling: partition=2 updates only web-2', set: set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'ready', 'r1')], current: 'r1', want: ['delete web-2(update)'] },
    { name: 'rolling: partition=2 done after web-2', set: set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2)], current: 'r1', want: [] },
    { name: 'rolling: recreated pod below partition gets current', set: set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }), pods: [pod(1, 'ready', 'r1'), pod(2)], current: 'r1', want: ['create web-0@current'] },
    { name: 'rolling: maxUnavailable=2 deletes two', set: set({ updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 2 } } }), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'ready', 'r1')], current: 'r1', want: ['delete web-2(update)', 'delete web-1(update)'] },
    { name: 'rolling: maxUnavailable budget used by an unready pod', set: set({ ...P, updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 0, maxUnavailable: 2 } } }), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'notready')], current: 'r1', want: ['delete web-1(update)'] },
    { name: 'ondelete: never deletes for update', set: set({ updateStrategy: { type: 'OnDelete' } }), pods: [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'ready', 'r1')], current: 'r1', want: [] },
    { name: 'ondelete: recreated pod gets the update revision', set: set({ updateStrategy: { type: 'OnDelete' } }), pods: [pod(0, 'ready', 'r1'), pod(2, 'ready', 'r1')], current: 'r1', want: ['create web-1@update'] },
    { name: 'set being deleted: nothing', set: set({}, { deleting: true }), pods: [], want: [] },
  ];
  for (const c of cases) assert.deepEqual(render(plan(c.set, c.pods, c.current).steps), c.want, c.name);
});

test('planStatefulSet: status counts', () => {
  const s = set({ minReadySeconds: 30 }, { generation: 4 });
  const p = plan(s, [pod(0, 'ready', 'r1'), pod(1, 'fresh', 'r2'), pod(2, 'deleting', 'r2'), pod(7, 'notready', 'r1')], 'r1');
  assert.deepEqual(p.status, {
    observedGeneration: 4,
    currentRevision: 'r1',
    updateRevision: 'r2',
    collisionCount: 0,
    replicas: 4,
    readyReplicas: 3,
    availableReplicas: 2,
    currentReplicas: 2,
    updatedReplicas: 1,
  });
  // a rolling-update delete is counted away from currentReplicas at once
  const r = plan(set(), [pod(0, 'ready', 'r1'), pod(1, 'ready', 'r1'), pod(2, 'ready', 'r1')], 'r1');
  assert.equal(r.status.currentReplicas, 2);
});

test('completeRollingUpdate and statusDiffers', () => {
  const base = { observedGeneration: 1, replicas: 3, readyReplicas: 3, availableReplicas: 3, currentReplicas: 0, updatedReplicas: 3, currentRevision: 'r1', updateRevision: 'r2', collisionCount: 0 };
  assert.deepEqual(completeRollingUpdate(set(), base), { ...base, currentReplicas: 3, currentRevision: 'r2' });
  assert.deepEqual(completeRollingUpdate(set(), { ...base, readyReplicas: 2 }), { ...base, readyReplicas: 2 });
  assert.deepEqual(completeRollingUpdate(set({ updateStrategy: { type: 'OnDelete' } }), base), base);
  assert.equal(statusDiffers(set({}, { status: { ...base } }), base), false);
  assert.equal(statusDiffers(set({}, { status: { ...base } }), { ...base, readyReplicas: 2 }), true);
  assert.equal(statusDiffers(set({}, { status: { ...base } }), { ...base, observedGeneration: 2 }), true);
});

test('revisionForNewPod', () => {
  const cases: { spec: Obj; ordinal: number; cur: number; want: 'current' | 'update' }[] = [
    { spec: {}, ordinal: 0, cur: 3, want: 'update' },
    { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, ordinal: 1, cur: 0, want: 'current' },
    { spec: { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }, ordinal: 2, cur: 0, want: 'update' },
    { spec: { updateStrategy: { type: 'RollingUpdate' } }, ordinal: 1, cur: 2, want: 'current' },
    { spec: { updateStrategy: { type: 'RollingUpdate' } }, ordinal: 2, cur: 2, want: 'update' },
    { spec: { updateStrategy: { type: 'OnDelete' } }, ordinal: 0, cur: 3, want: 'update' },
  ];
  for (const c of cases) assert.equal(revisionForNewPod(setSpec(set(c.spec)), c.ordinal, c.cur), c.want, JSON.stringify(c));
});
