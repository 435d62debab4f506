import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  applyTaintChange,
  evictionModes,
  isOverdue,
  noExecuteTaintChange,
  noScheduleTaintChange,
  observeHealth,
  unknownConditions,
  zoneKey,
  zoneState,
  type NodeHealth,
} from './health.js';

const ready = (hb: string, tr = 't0', status = 'True'): { type: string; status: string; lastHeartbeatTime: string; lastTransitionTime: string } => ({ type: 'Ready', status, lastHeartbeatTime: hb, lastTransitionTime: tr });

describe('observeHealth (fake time)', () => {
  it('tracks when heartbeats were observed to change, not their remote values', () => {
    // Steps of [now, observation, expected probeMs, expected readyTransitionMs].
    const steps: [number, { ready?: ReturnType<typeof ready>; leaseRenewTime?: string }, number, number][] = [
      [100, { ready: ready('h1'), leaseRenewTime: 'l1' }, 100, 100], // first sight
      [200, { ready: ready('h1'), leaseRenewTime: 'l1' }, 100, 100], // nothing changed
      [300, { ready: ready('h1'), leaseRenewTime: 'l2' }, 300, 100], // lease renewed
      [400, { ready: ready('h2'), leaseRenewTime: 'l2' }, 400, 100], // status heartbeat
      [500, { ready: ready('h3', 't1', 'False'), leaseRenewTime: 'l2' }, 500, 500], // Ready transitioned
      [900, { ready: ready('h3', 't1', 'False'), leaseRenewTime: 'l2' }, 500, 500], // silent
      [950, { leaseRenewTime: 'l2' }, 950, 950], // Ready condition disappeared
    ];
    let h: NodeHealth | undefined;
    for (const [now, obs, probe, transition] of steps) {
      h = observeHealth(h, { ...obs, nowMs: now });
      assert.equal(h.probeMs, probe, `probe at ${now}`);
      assert.equal(h.readyTransitionMs, transition, `transition at ${now}`);
    }
  });

  it('isOverdue only strictly after the grace period', () => {
    const h = observeHealth(undefined, { ready: ready('h'), nowMs: 1000 });
    const cases: [number, boolean][] = [[1000, false], [41_000, false], [41_001, true]];
    for (const [now, want] of cases) assert.equal(isOverdue(h, { nowMs: now, graceMs: 40_000 }), want, String(now));
  });
});

describe('unknownConditions', () => {
  const opts = { now: 'NOW', created: 'CREATED' };
  it('turns reported conditions Unknown and adds missing ones', () => {
    const out = unknownConditions([ready('HB'), { type: 'MemoryPressure', status: 'False', reason: 'KubeletHasSufficientMemory' }, { type: 'NetworkUnavailable', status: 'False' }], opts)!;
    const r = out.find((c) => c.type === 'Ready')!;
    assert.deepEqual(r, { type: 'Ready', status: 'Unknown', reason: 'NodeStatusUnknown', message: 'Kubelet stopped posting node status.', lastHeartbeatTime: 'HB', lastTransitionTime: 'NOW' });
    assert.equal(out.find((c) => c.type === 'MemoryPressure')!.status, 'Unknown');
    assert.equal(out.find((c) => c.type === 'NetworkUnavailable')!.status, 'False', 'not a monitored condition');
    const disk = out.find((c) => c.type === 'DiskPressure')!;
    assert.equal(disk.reason, 'NodeStatusNeverUpdated');
    assert.equal(disk.message, 'Kubelet never posted node status.');
    assert.equal(disk.lastHeartbeatTime, 'CREATED');
    assert.equal(unknownConditions(out, opts), undefined, 'second pass changes nothing');
  });
});

describe('taints', () => {
  const NE = (key: string): { key: string; effect: string } => ({ key: `node.kubernetes.io/${key}`, effect: 'NoExecute' });
  const NS = (key: string): { key: string; effect: string } => ({ key: `node.kubernetes.io/${key}`, effect: 'NoSchedule' });
  it('noExecuteTaintChange table', () => {
    const cases: [string, string, ReturnType<typeof NE>[], 'on' | 'hold' | 'off', { add: unknown[]; remove: unknown[] }][] = [
      ['Unknown → unreachable', 'Unknown', [], 'on', { add: [NE('unreachable')], remove: [] }],
      ['False → not-ready', 'False', [], 'on', { add: [NE('not-ready')], remove: [] }],
      ['False swaps unreachable for not-ready', 'False', [NE('unreachable')], 'hold', { add: [NE('not-ready')], remove: [NE('unreachable')] }],
      ['already tainted', 'Unknown', [NE('unreachable')], 'on', { add: [], remove: [] }],
      ['True removes both', 'True', [NE('unreachable'), NE('not-ready')], 'on', { add: [], remove: [NE('not-ready'), NE('unreachable')] }],
      ['hold adds nothing new', 'Unknown', [], 'hold', { add: [], remove: [] }],
      ['off removes', 'Unknown', [NE('unreachable')], 'off', { add: [], remove: [NE('unreachable')] }],
    ];
    for (const [name, status, taints, mode, want] of cases) assert.deepEqual(noExecuteTaintChange(status, { taints, mode }), want, name);
  });
  it('noScheduleTaintChange follows conditions and leaves foreign taints alone', () => {
    const change = noScheduleTaintChange({
      conditions: [{ type: 'Ready', status: 'Unknown' }, { type: 'MemoryPressure', status: 'True' }, { type: 'DiskPressure', status: 'False' }],
      unschedulable: true,
      taints: [NS('not-ready'), NS('disk-pressure'), { key: 'dedicated', effect: 'NoSchedule' }, NE('unreachable')],
    });
    assert.deepEqual(change.add, [NS('unreachable'), NS('memory-pressure'), NS('unschedulable')]);
    assert.deepEqual(change.remove, [NS('not-ready'), NS('disk-pressure')]);
    assert.deepEqual(noScheduleTaintChange({ conditions: [{ type: 'Ready', status: 'True' }], taints: [] }), { add: [], remove: [] });
  });
  it('applyTaintChange stamps timeAdded on new taints only', () => {
    const old = { ...NE('unreachable'), timeAdded: 'OLD' };
    assert.deepEqual(applyTaintChange([old], { add: [NE('unreachable'), NS('unreachable')], remove: [] }, { now: 'NOW' }), [old, { ...NS('unreachable'), timeAdded: 'NOW' }]);
    assert.deepEqual(applyTaintChange([old], { add: [], remove: [NE('unreachable')] }, { now: 'NOW' }), []);
    assert.equal(applyTaintChange([old], { add: [NE('unreachable')], remove: [] }, { now: 'NOW' }), undefined);
  });
});

describe('zones', () => {
  it('zoneState table', () => {
    const cases: [number, number, string][] = [[0, 1, 'FullDisruption'], [1, 1, 'Normal'], [2, 3, 'PartialDisruption'], [3, 3, 'Normal'], [1, 2, 'Normal'], [0, 0, 'Normal']];
    for (const [r, n, want] of cases) assert.equal(zoneState(r, n), want, `${r}/${n}`);
  });
  it('evictionModes: all zones down → off; one down while another is fine → on; small partial → hold', () => {
    assert.deepEqual([...evictionModes(new Map([['', { ready: 0, notReady: 1 }]]))], [['', 'off']]);
    assert.deepEqual([...evictionModes(new Map([['a', { ready: 0, notReady: 2 }], ['b', { ready: 1, notReady: 0 }]]))], [['a', 'on'], ['b', 'on']]);
    assert.deepEqual([...evictionModes(new Map([['a', { ready: 1, notReady: 4 }]]))], [['a', 'hold']]);
    assert.deepEqual([...evictionModes(new Map([['a', { ready: 1, notReady: 60 }]]))], [['a', 'on']]);
  });
  it('zoneKey', () => {
    assert.equal(zoneKey(undefined), '');
    assert.equal(zoneKey({ 'topology.kubernetes.io/region': 'r', 'topology.kubernetes.io/zone': 'z' }), 'r:\u0000:z');
  });
});
