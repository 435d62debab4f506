import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computePodStatus, type ObservedContainer, type ObservedPod, type PodStatus } from './podstatus.js';

const NOW = new Date('2026-01-01T00:10:00Z');
const T0 = '2026-01-01T00:00:00Z';

function pod(spec: Record<string, unknown>, status: Record<string, unknown> = {}): { spec: Record<string, unknown>; status: Record<string, unknown> } {
  return {
    spec: { restartPolicy: 'Always', ...spec },
    status: { phase: 'Pending', qosClass: 'BestEffort', conditions: [{ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: T0 }], ...status },
  };
}
const running = (name: string, extra: Partial<ObservedContainer> = {}): ObservedContainer => ({
  name, image: 'nginx', imageID: 'sha256:abc', id: `id-${name}`, state: { running: { startedAt: T0 } }, restartCount: 0, ready: true, started: true, ...extra,
});
const exited = (name: string, code: number, extra: Partial<ObservedContainer> = {}): ObservedContainer => ({
  name, image: 'busybox', id: `id-${name}`, restartCount: 0, ready: false, started: false,
  state: { terminated: { exitCode: code, reason: code === 0 ? 'Completed' : 'Error', startedAt: T0, finishedAt: T0 } }, ...extra,
});
const c = (name: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ name, image: 'nginx', ...extra });
const condOf = (s: PodStatus, type: string): { status: string; reason?: string; message?: string; lastTransitionTime?: string } =>
  s.conditions.find((x) => x.type === type)!;
const base: Omit<ObservedPod, 'containers'> = { podIPs: ['10.0.0.5'], hostIPs: ['192.168.1.2'], startTime: T0 };

interface Case {
  name: string;
  spec: Record<string, unknown>;
  observed: Omit<ObservedPod, 'podIPs'>;
  oldStatus?: Record<string, unknown>;
  phase: string;
  ready: string;
  readyReason?: string;
  readyMessage?: string;
  initialized?: [string, string?, string?];
}

const cases: Case[] = [
  { name: 'running and ready', spec: { containers: [c('a'), c('b')] }, observed: { containers: [running('a'), running('b')] }, phase: 'Running', ready: 'True' },
  {
    name: 'one container not ready', spec: { containers: [c('a'), c('b'), c('d')] },
    observed: { containers: [running('a', { ready: false }), running('b'), running('d', { ready: false })] },
    phase: 'Running', ready: 'False', readyReason: 'ContainersNotReady', readyMessage: 'containers with unready status: [a d]',
  },
  {
    name: 'not yet observed: ContainerCreating', spec: { containers: [c('a')] }, observed: { containers: [] },
    phase: 'Pending', ready: 'False', readyReason: 'ContainersNotReady', readyMessage: 'containers with unready status: [a]',
  },
  {
    name: 'CrashLoopBackOff waiting keeps Running (Always)', spec: { containers: [c('a')] },
    observed: { containers: [{ ...running('a'), ready: false, started: false, restartCount: 3,
      state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 40s restarting failed container=a pod=p_ns(u)' } },
      lastTerminationState: { terminated: { exitCode: 1, reason: 'Error', startedAt: T0, finishedAt: T0, id: 'old' } } }] },
    phase: 'Running', ready: 'False', readyReason: 'ContainersNotReady',
  },
  {
    name: 'completed with Never', spec: { restartPolicy: 'Never', containers: [c('a'), c('b')] },
    observed: { containers: [exited('a', 0), exited('b', 0)] }, phase: 'Succeeded', ready: 'False', readyReason: 'PodCompleted',
  },
  {
    name: 'one failed with Never', spec: { restartPolicy: 'Never', containers: [c('a'), c('b')] },
    observed: { containers: [exited('a', 0), exited('b', 2)] }, phase: 'Failed', ready: 'False', readyReason: 'ContainersNotReady',
  },
  {
    name: 'OnFailure with a failure restarts: Running', spec: { restartPolicy: 'OnFailure', containers: [c('a')] },
    observed: { containers: [exited('a', 1)] }, phase: 'Running', ready: 'False',
  },
  {
    name: 'OnFailure all succeeded', spec: { restartPolicy: 'OnFailure', containers: [c('a')] },
    observed: { containers: [exited('a', 0)] }, phase: 'Succeeded', ready: 'False', readyReason: 'PodCompleted',
  },
  {
    name: 'Always, exited 0 is Running (restarting)', spec: { containers: [c('a')] },
    observed: { containers: [exited('a', 0)] }, phase: 'Running', ready: 'False',
  },
  {
    name: 'terminal pod (deleted) with Always: Succeeded', spec: { containers: [c('a')] },
    observed: { containers: [exited('a', 0)], terminal: true }, phase: 'Succeeded', ready: 'False', readyReason: 'PodCompleted',
  },
  {
    name: 'OOMKilled with Never', spec: { restartPolicy: 'Never', containers: [c('a')] },
    observed: { containers: [exited('a', 137, { state: { terminated: { exitCode: 137, reason: 'OOMKilled', startedAt: T0, finishedAt: T0 } } })] },
    phase: 'Failed', ready: 'False',
  },
  {
    name: 'init pending (not started)', spec: { initContainers: [c('i1'), c('i2')], containers: [c('a')] },
    observed: { containers: [], initContainers: [] }, phase: 'Pending', ready: 'False',
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [i1 i2]'],
  },
  {
    name: 'init running', spec: { initContainers: [c('i1'), c('i2')], containers: [c('a')] },
    observed: { containers: [], initContainers: [exited('i1', 0), running('i2', { ready: false })] }, phase: 'Pending', ready: 'False',
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [i2]'],
  },
  {
    name: 'init failed with Never', spec: { restartPolicy: 'Never', initContainers: [c('i1')], containers: [c('a')] },
    observed: { containers: [], initContainers: [exited('i1', 1)] }, phase: 'Failed', ready: 'False',
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [i1]'],
  },
  {
    name: 'init failed with Always: Pending (restarting)', spec: { initContainers: [c('i1')], containers: [c('a')] },
    observed: { containers: [], initContainers: [exited('i1', 1)] }, phase: 'Pending', ready: 'False',
  },
  {
    name: 'init done, app running', spec: { initContainers: [c('i1')], containers: [c('a')] },
    observed: { containers: [running('a')], initContainers: [exited('i1', 0)] }, phase: 'Running', ready: 'True', initialized: ['True'],
  },
  {
    name: 'sidecar not started keeps Pending', spec: { initContainers: [c('s', { restartPolicy: 'Always' })], containers: [c('a')] },
    observed: { containers: [], initContainers: [running('s', { started: false, ready: false })] }, phase: 'Pending', ready: 'False',
    initialized: ['False', 'ContainersNotInitialized', 'containers with incomplete status: [s]'],
  },
  {
    name: 'sidecar unready makes pod unready', spec: { initContainers: [c('s', { restartPolicy: 'Always' })], containers: [c('a')] },
    observed: { containers: [running('a')], initContainers: [running('s', { ready: false })] }, phase: 'Running', ready: 'False',
    readyMessage: 'containers with unready status: [s]', initialized: ['True'],
  },
  {
    name: 'readiness gate missing', spec: { readinessGates: [{ conditionType: 'example.com/lb' }], containers: [c('a')] },
    observed: { containers: [running('a')] }, phase: 'Running', ready: 'False', readyReason: 'ReadinessGatesNotReady',
    readyMessage: 'corresponding condition of pod readiness gate "example.com/lb" does not exist.',
  },
  {
    name: 'readiness gate False', spec: { readinessGates: [{ conditionType: 'example.com/lb' }], containers: [c('a')] },
    oldStatus: { conditions: [{ type: 'example.com/lb', status: 'False', lastProbeTime: null }] },
    observed: { containers: [running('a')] }, phase: 'Running', ready: 'False', readyReason: 'ReadinessGatesNotReady',
    readyMessage: 'the status of pod readiness gate "example.com/lb" is not "True", but False',
  },
  {
    name: 'readiness gate True', spec: { readinessGates: [{ conditionType: 'example.com/lb' }], containers: [c('a')] },
    oldStatus: { conditions: [{ type: 'example.com/lb', status: 'True', lastProbeTime: null }] },
    observed: { containers: [running('a')] }, phase: 'Running', ready: 'True',
  },
  {
    name: 'terminal phase is sticky', spec: { restartPolicy: 'Never', containers: [c('a')] }, oldStatus: { phase: 'Failed' },
    observed: { containers: [running('a')] }, phase: 'Failed', ready: 'True',
  },
];

describe('computePodStatus phase and Ready', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      const s = computePodStatus(pod(tc.spec, tc.oldStatus), { ...base, ...tc.observed }, { now: NOW });
      assert.equal(s.phase, tc.phase);
      const ready = condOf(s, 'Ready');
      assert.equal(ready.status, tc.ready);
      if (tc.readyReason) assert.equal(ready.reason, tc.readyReason);
      if (tc.readyMessage) assert.equal(ready.message, tc.readyMessage);
      const cr = condOf(s, 'ContainersReady');
      if (!tc.spec.readinessGates) assert.deepEqual([cr.status, cr.reason, cr.message], [ready.status, ready.reason, ready.message]);
      if (tc.initialized) {
        const ini = condOf(s, 'Initialized');
        assert.deepEqual([ini.status, ini.reason, ini.message], [tc.initialized[0], tc.initialized[1], tc.initialized[2]]);
      }
    });
  }
});

describe('computePodStatus shape', () => {
  it('orders conditions, keeps PodScheduled time, sets IPs, start time, qos and container fields', () => {
    const p = pod({ containers: [c('b'), c('a')] });
    const s = computePodStatus(p, { ...base, containers: [running('a'), running('b', { ready: false })] }, { now: NOW });
    assert.deepEqual(s.conditions.map((x) => x.type), ['PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
    assert.equal(condOf(s, 'PodScheduled').lastTransitionTime, T0);
    assert.equal(condOf(s, 'Ready').lastTransitionTime, '2026-01-01T00:10:00Z');
    assert.equal(s.podIP, '10.0.0.5');
    assert.deepEqual(s.podIPs, [{ ip: '10.0.0.5' }]);
    assert.equal(s.hostIP, '192.168.1.2');
    assert.deepEqual(s.hostIPs, [{ ip: '192.168.1.2' }]);
    assert.equal(s.startTime, T0);
    assert.equal(s.qosClass, 'BestEffort');
    assert.equal(s.initContainerStatuses, undefined);
    assert.deepEqual(s.containerStatuses.map((x) => x.name), ['b', 'a'], 'spec order');
    assert.deepEqual(s.containerStatuses[1], {
      name: 'a', state: { running: { startedAt: T0 } }, lastState: {}, ready: true, restartCount: 0,
      image: 'nginx', imageID: 'sha256:abc', containerID: 'kubelite://id-a', started: true,
    });
    assert.deepEqual(Object.keys(s.containerStatuses[1]!), ['name', 'state', 'lastState', 'ready', 'restartCount', 'image', 'imageID', 'containerID', 'started']);
  });

  it('preserves lastTransitionTime while a condition status is unchanged', () => {
    const p = pod({ containers: [c('a')] });
    const first = computePodStatus(p, { ...base, containers: [running('a')] }, { now: new Date(T0) });
    const later = new Date('2026-01-01T01:00:00Z');
    const same = computePodStatus({ ...p, status: first }, { ...base, containers: [running('a')] }, { now: later });
    assert.equal(condOf(same, 'Ready').lastTransitionTime, T0);
    const flipped = computePodStatus({ ...p, status: first }, { ...base, containers: [running('a', { ready: false })] }, { now: later });
    assert.equal(condOf(flipped, 'Ready').lastTransitionTime, '2026-01-01T01:00:00Z');
    assert.equal(condOf(flipped, 'Initialized').lastTransitionTime, T0);
    assert.equal(flipped.startTime, T0, 'start time kept');
  });

  it('writes waiting, last state and terminated details (OOMKilled, signal)', () => {
    const p = pod({ restartPolicy: 'OnFailure', containers: [c('a')] });
    const s = computePodStatus(p, {
      ...base,
      containers: [{
        name: 'a', image: 'app:1', imageID: 'sha256:1', id: 'new', restartCount: 2, ready: true, started: true,
        state: { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=a pod=p_default(u)' } },
        lastTerminationState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', startedAt: T0, finishedAt: T0, id: 'old' } },
      }],
    }, { now: NOW });
    const cs = s.containerStatuses[0]!;
    assert.deepEqual(cs.state, { waiting: { reason: 'CrashLoopBackOff', message: 'back-off 20s restarting failed container=a pod=p_default(u)' } });
    assert.deepEqual(cs.lastState, { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', startedAt: T0, finishedAt: T0, containerID: 'kubelite://old' } });
    assert.equal(cs.ready, false, 'not running → not ready');
    assert.equal(cs.started, false);
    assert.equal(cs.restartCount, 2);
    assert.equal(s.phase, 'Running');
  });

  it('defaults unobserved containers (PodInitializing with init containers) and keeps old restart counts', () => {
    const p = pod({ initContainers: [c('i')], containers: [c('a')] }, {
      containerStatuses: [{ name: 'a', state: {}, lastState: { terminated: { exitCode: 1 } }, ready: false, restartCount: 4, image: 'nginx', imageID: '', started: false }],
    });
    const s = computePodStatus(p, { ...base, containers: [], initContainers: [], sandboxReady: false }, { now: NOW });
    assert.deepEqual(s.initContainerStatuses![0]!.state, { waiting: { reason: 'PodInitializing' } });
    assert.deepEqual(s.containerStatuses[0]!.state, { waiting: { reason: 'PodInitializing' } });
    assert.equal(s.containerStatuses[0]!.restartCount, 4);
    assert.equal(s.containerStatuses[0]!.containerID, undefined);
    assert.equal(condOf(s, 'PodReadyToStartContainers').status, 'False');
  });

  it('keeps non-kubelet conditions first (DisruptionTarget)', () => {
    const p = pod({ containers: [c('a')] }, {
      conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'EvictionByEvictionAPI', lastProbeTime: null, lastTransitionTime: T0 }],
    });
    const s = computePodStatus(p, { ...base, containers: [running('a')] }, { now: NOW });
    assert.deepEqual(s.conditions.map((x) => x.type), ['DisruptionTarget', 'PodReadyToStartContainers', 'Initialized', 'Ready', 'ContainersReady', 'PodScheduled']);
    assert.equal(s.conditions[0]!.reason, 'EvictionByEvictionAPI');
  });
});
