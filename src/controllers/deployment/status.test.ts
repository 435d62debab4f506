import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyPausedCondition,
  calculateStatus,
  deploymentTimedOut,
  getCondition,
  newCondition,
  requeueStuck,
  rolloutStatus,
  setCondition,
  timeString,
} from './status.js';
import type { DeploymentStatus } from './util.js';
import { deploy, rs } from './fixtures.test-util.js';

const T0 = Date.UTC(2024, 0, 1, 12, 0, 0);
const at = (s: number): number => T0 + s * 1000;

test('setCondition: same status+reason untouched; same status keeps lastTransitionTime', () => {
  const s: DeploymentStatus = {};
  setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'a', at(0)));
  setCondition(s, newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'b', at(5)));
  assert.deepEqual(getCondition(s, 'Progressing'), { type: 'Progressing', status: 'True', reason: 'NewReplicaSetCreated', message: 'a', lastUpdateTime: timeString(at(0)), lastTransitionTime: timeString(at(0)) });
  setCondition(s, newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'c', at(7)));
  assert.equal(getCondition(s, 'Progressing')!.lastTransitionTime, timeString(at(0)));
  assert.equal(getCondition(s, 'Progressing')!.lastUpdateTime, timeString(at(7)));
  setCondition(s, newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', 'd', at(9)));
  assert.equal(getCondition(s, 'Progressing')!.lastTransitionTime, timeString(at(9)));
  assert.equal(s.conditions!.length, 1);
});

test('calculateStatus: counts from ReplicaSets, Available by maxUnavailable, zeros omitted', () => {
  const cases: { name: string; unav: number; old: [number, number]; cur: [number, number]; want: Partial<DeploymentStatus>; available: string }[] = [
    { name: 'mid rollout, enough available', unav: 1, old: [8, 8], cur: [4, 1], want: { replicas: 12, updatedReplicas: 4, readyReplicas: 9, availableReplicas: 9, unavailableReplicas: 3 }, available: 'True' },
    { name: 'too few available', unav: 0, old: [0, 0], cur: [10, 9], want: { replicas: 10, updatedReplicas: 10, readyReplicas: 9, availableReplicas: 9, unavailableReplicas: 1 }, available: 'False' },
    { name: 'more available than desired: unavailable clamps at 0 (omitted)', unav: 0, old: [0, 2], cur: [10, 10], want: { replicas: 10, updatedReplicas: 10, readyReplicas: 12, availableReplicas: 12 }, available: 'True' },
  ];
  for (const c of cases) {
    const d = deploy({ replicas: 10, surge: 2, unavailable: c.unav, generation: 3 });
    const old = rs('o', { replicas: c.old[0], available: c.old[1], statusReplicas: c.old[0] });
    const cur = rs('n', { replicas: c.cur[0], available: c.cur[1] });
    const s = calculateStatus([old, cur], cur, d, at(0));
    const { conditions, ...counts } = s;
    assert.deepEqual(counts, { observedGeneration: 3, ...c.want }, c.name);
    assert.equal(getCondition({ conditions }, 'Available')!.status, c.available, c.name);
    assert.equal(getCondition({ conditions }, 'Available')!.reason, c.available === 'True' ? 'MinimumReplicasAvailable' : 'MinimumReplicasUnavailable');
  }
});

test('rolloutStatus: Progressing transitions, timeout and requeue', () => {
  const created = newCondition('Progressing', 'True', 'NewReplicaSetCreated', 'Created new replica set "web-n"', at(0));
  const avail = newCondition('Available', 'True', 'MinimumReplicasAvailable', 'Deployment has minimum availability.', at(0));
  const base = { observedGeneration: 1, replicas: 10, updatedReplicas: 2, readyReplicas: 10, availableReplicas: 10, conditions: [avail, created] };

  // Progress (more updated replicas): ReplicaSetUpdated, lastUpdateTime now, transition kept.
  let d = deploy({ replicas: 10, surge: 2, unavailable: 0, progressDeadlineSeconds: 30, status: base });
  let r = rolloutStatus([rs('o', { replicas: 8, available: 8 }), rs('n', { replicas: 4, available: 2 })], rs('n', { replicas: 4, available: 2 }), d, at(10));
  let p = getCondition(r.status, 'Progressing')!;
  assert.equal(r.changed, true);
  assert.deepEqual([p.reason, p.message, p.lastUpdateTime, p.lastTransitionTime], ['ReplicaSetUpdated', 'ReplicaSet "n" is progressing.', timeString(at(10)), timeString(at(0))]);

  // No progress before the deadline: unchanged, re-check at lastUpdateTime + deadline + 1s.
  const same = [rs('o', { replicas: 8, available: 8, statusReplicas: 8 }), rs('n', { replicas: 2, available: 2 })];
  d = deploy({ replicas: 10, surge: 2, unavailable: 0, progressDeadlineSeconds: 30, status: { ...base, availableReplicas: 10 } });
  r = rolloutStatus(same, same[1], d, at(10));
  assert.equal(r.changed, false, JSON.stringify(r.status));
  assert.equal(r.requeueAfterMs, 21_000);
  assert.equal(requeueStuck(d, r.status, at(29.5)), 0, 'under a second left: now');

  // Past the deadline: ProgressDeadlineExceeded.
  r = rolloutStatus(same, same[1], d, at(31));
  p = getCondition(r.status, 'Progressing')!;
  assert.deepEqual([p.status, p.reason, p.message], ['False', 'ProgressDeadlineExceeded', 'ReplicaSet "n" has timed out progressing.']);
  assert.ok(deploymentTimedOut(d, r.status, at(31)));

  // Complete: NewReplicaSetAvailable; then stays (no requeue).
  const done = [rs('o', { replicas: 0, statusReplicas: 0 }), rs('n', { replicas: 10, available: 10 })];
  r = rolloutStatus(done, done[1], d, at(40));
  p = getCondition(r.status, 'Progressing')!;
  assert.deepEqual([p.status, p.reason, p.message], ['True', 'NewReplicaSetAvailable', 'ReplicaSet "n" has successfully progressed.']);
  const after = deploy({ replicas: 10, surge: 2, unavailable: 0, progressDeadlineSeconds: 30, status: r.status });
  const again = rolloutStatus(done, done[1], after, at(100));
  assert.equal(again.changed, false);
  assert.equal(again.requeueAfterMs, undefined);

  // No deadline (MaxInt32): no Progressing condition at all.
  const nodl = deploy({ replicas: 10, progressDeadlineSeconds: 2147483647, status: base });
  r = rolloutStatus(done, done[1], nodl, at(40));
  assert.equal(getCondition(r.status, 'Progressing'), undefined);
});

test('applyPausedCondition: paused / resumed, never over a timeout', () => {
  const d = deploy({ paused: true, status: { conditions: [newCondition('Progressing', 'True', 'ReplicaSetUpdated', 'x', at(0))] } });
  assert.ok(applyPausedCondition(d, at(5)));
  assert.deepEqual([getCondition(d.status, 'Progressing')!.status, getCondition(d.status, 'Progressing')!.reason], ['Unknown', 'DeploymentPaused']);
  assert.ok(!applyPausedCondition(d, at(6)), 'already paused');
  d.spec.paused = false;
  assert.ok(applyPausedCondition(d, at(7)));
  assert.deepEqual([getCondition(d.status, 'Progressing')!.reason, getCondition(d.status, 'Progressing')!.message], ['DeploymentResumed', 'Deployment is resumed']);
  const timedOut = deploy({ paused: true, status: { conditions: [newCondition('Progressing', 'False', 'ProgressDeadlineExceeded', 'x', at(0))] } });
  assert.ok(!applyPausedCondition(timedOut, at(1)));
});
