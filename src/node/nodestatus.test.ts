import { test } from 'node:test';
import assert from 'node:assert/strict';
import { nodeObject, nodeStatus, type MachineInfo } from './nodestatus.js';

const machine: MachineInfo = {
  cpus: 2,
  memoryBytes: 8 * 1024 ** 3,
  hostname: 'box',
  kernelVersion: '6.18.0',
  osImage: 'Debian GNU/Linux 12 (bookworm)',
  architecture: 'amd64',
  machineID: 'm1',
  bootID: 'b1',
};
const base = { name: 'box', machine, internalIP: '10.244.0.1', maxPods: 110, runtimeVersion: 'kubelite://0.1.0' };

test('nodeObject: kube labels, control-plane role, podCIDR', () => {
  const n = nodeObject({ name: 'box', podCIDR: '10.244.0.0/24', machine, labels: { extra: 'x' } });
  assert.deepEqual(n.spec, { podCIDR: '10.244.0.0/24', podCIDRs: ['10.244.0.0/24'] });
  const labels = n.metadata.labels!;
  assert.equal(labels['kubernetes.io/hostname'], 'box');
  assert.equal(labels['kubernetes.io/arch'], 'amd64');
  assert.equal(labels['node-role.kubernetes.io/control-plane'], '');
  assert.equal(labels.extra, 'x');
});

test('nodeStatus: capacity/allocatable, addresses, nodeInfo, conditions', () => {
  const cases: { name: string; in: Partial<Parameters<typeof nodeStatus>[0]>; cpu: string; memory: string; ready: string }[] = [
    { name: 'whole machine', in: {}, cpu: '2', memory: `${8 * 1024 * 1024}Ki`, ready: 'True/KubeletReady' },
    { name: 'reserved', in: { reserved: { cpuMillis: 250, memoryBytes: 1024 ** 3 } }, cpu: '1750m', memory: `${7 * 1024 * 1024}Ki`, ready: 'True/KubeletReady' },
    { name: 'not ready', in: { notReadyReason: 'pod network failed: x' }, cpu: '2', memory: `${8 * 1024 * 1024}Ki`, ready: 'False/KubeletNotReady' },
  ];
  for (const c of cases) {
    const st = nodeStatus({ ...base, now: new Date('2026-11-26T10:00:00Z'), ...c.in }) as Record<string, any>;
    assert.equal(st.capacity.cpu, '2', c.name);
    assert.equal(st.allocatable.cpu, c.cpu, c.name);
    assert.equal(st.allocatable.memory, c.memory, c.name);
    assert.equal(st.allocatable.pods, '110', c.name);
    const ready = st.conditions.find((x: { type: string }) => x.type === 'Ready');
    assert.equal(`${ready.status}/${ready.reason}`, c.ready, c.name);
    assert.deepEqual(st.addresses, [{ type: 'InternalIP', address: '10.244.0.1' }, { type: 'Hostname', address: 'box' }], c.name);
    assert.equal(st.nodeInfo.containerRuntimeVersion, 'kubelite://0.1.0');
    assert.equal(st.nodeInfo.osImage, 'Debian GNU/Linux 12 (bookworm)');
  }
});

test('nodeStatus: lastTransitionTime kept while a condition holds, moved when it flips', () => {
  const t1 = new Date('2026-11-26T10:00:00Z');
  const t2 = new Date('2026-11-26T10:05:00Z');
  const first = nodeStatus({ ...base, now: t1 });
  const same = nodeStatus({ ...base, now: t2, previous: first }) as Record<string, any>;
  const ready = same.conditions.find((x: { type: string }) => x.type === 'Ready');
  assert.equal(ready.lastTransitionTime, '2026-11-26T10:00:00Z');
  assert.equal(ready.lastHeartbeatTime, '2026-11-26T10:05:00Z');
  const flipped = nodeStatus({ ...base, now: t2, previous: first, notReadyReason: 'x' }) as Record<string, any>;
  assert.equal(flipped.conditions.find((x: { type: string }) => x.type === 'Ready').lastTransitionTime, '2026-11-26T10:05:00Z');
});
