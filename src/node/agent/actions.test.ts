import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { computePodActions, observeContainers, shouldRestart, type ActionsInput, type PodActions } from './actions.js';
import type { ContainerStatus } from '../runtime/cri.js';

let seq = 0;
function ctr(name: string, state: ContainerStatus['state'], extra: Partial<ContainerStatus> & { attempt?: number } = {}): ContainerStatus {
  const { attempt, ...rest } = extra;
  return {
    id: rest.id ?? `c${++seq}`,
    sandboxId: 's1',
    metadata: { name, attempt: attempt ?? 0 },
    state,
    createdAt: 1000 + (attempt ?? 0),
    logPath: `/logs/${name}/${attempt ?? 0}.log`,
    labels: {},
    annotations: {},
    ...(state === 'exited' ? { exitCode: 0, finishedAt: 5000 } : {}),
    ...(state !== 'created' ? { startedAt: 2000 } : {}),
    ...rest,
  };
}

const two = { containers: [{ name: 'a' }, { name: 'b' }] };
const ready = { id: 's1', ready: true };
const act = (p: Partial<PodActions>): PodActions => ({ killPod: false, createSandbox: false, start: [], kill: [], ...p });

describe('computePodActions', () => {
  const cases: { name: string; input: ActionsInput; want: PodActions }[] = [
    { name: 'new pod: create sandbox, start all', input: { spec: two, containers: [] }, want: act({ createSandbox: true, start: ['a', 'b'] }) },
    {
      name: 'new pod with init containers: sandbox then first init',
      input: { spec: { ...two, initContainers: [{ name: 'i1' }, { name: 'i2' }] }, containers: [] },
      want: act({ createSandbox: true, startInit: 'i1' }),
    },
    {
      name: 'init i1 running: wait',
      input: { spec: { ...two, initContainers: [{ name: 'i1' }, { name: 'i2' }] }, sandbox: ready, containers: [ctr('i1', 'running')] },
      want: act({}),
    },
    {
      name: 'init i1 done: start i2',
      input: { spec: { ...two, initContainers: [{ name: 'i1' }, { name: 'i2' }] }, sandbox: ready, containers: [ctr('i1', 'exited')] },
      want: act({ startInit: 'i2' }),
    },
    {
      name: 'init failed, Always: restart it',
      input: { spec: { ...two, initContainers: [{ name: 'i1' }] }, sandbox: ready, containers: [ctr('i1', 'exited', { exitCode: 1 })] },
      want: act({ startInit: 'i1' }),
    },
    {
      name: 'init failed, Never: kill pod',
      input: { spec: { ...two, restartPolicy: 'Never', initContainers: [{ name: 'i1' }] }, sandbox: ready, containers: [ctr('i1', 'exited', { exitCode: 1 })] },
      want: act({ killPod: true }),
    },
    {
      name: 'inits done: start regular containers',
      input: { spec: { ...two, initContainers: [{ name: 'i1' }] }, sandbox: ready, containers: [ctr('i1', 'exited')] },
      want: act({ start: ['a', 'b'] }),
    },
    { name: 'all running: nothing', input: { spec: two, sandbox: ready, containers: [ctr('a', 'running'), ctr('b', 'running')] }, want: act({}) },
    {
      name: 'Always: exited (0) restarts',
      input: { spec: two, sandbox: ready, containers: [ctr('a', 'exited'), ctr('b', 'running')] },
      want: act({ start: ['a'] }),
    },
    {
      name: 'OnFailure: exit 0 stays, exit 1 restarts',
      input: { spec: { ...two, restartPolicy: 'OnFailure' }, sandbox: ready, containers: [ctr('a', 'exited'), ctr('b', 'exited', { exitCode: 1 })] },
      want: act({ start: ['b'] }),
    },
    {
      name: 'OnFailure: all succeeded: kill pod (release sandbox)',
      input: { spec: { ...two, restartPolicy: 'OnFailure' }, sandbox: ready, containers: [ctr('a', 'exited'), ctr('b', 'exited')] },
      want: act({ killPod: true }),
    },
    {
      name: 'Never: one exited, other running: keep',
      input: { spec: { ...two, restartPolicy: 'Never' }, sandbox: ready, containers: [ctr('a', 'exited', { exitCode: 2 }), ctr('b', 'running')] },
      want: act({}),
    },
    {
      name: 'Never: all exited: kill pod',
      input: { spec: { ...two, restartPolicy: 'Never' }, sandbox: ready, containers: [ctr('a', 'exited', { exitCode: 2 }), ctr('b', 'exited')] },
      want: act({ killPod: true }),
    },
    {
      name: 'Never: sandbox gone after containers ran: no new sandbox',
      input: { spec: { ...two, restartPolicy: 'Never' }, containers: [ctr('a', 'exited'), ctr('b', 'exited')] },
      want: act({}),
    },
    {
      name: 'Never: sandbox stopped: kill pod again (idempotent), no recreate',
      input: { spec: { ...two, restartPolicy: 'Never' }, sandbox: { id: 's1', ready: false }, containers: [ctr('a', 'exited')] },
      want: act({ killPod: true }),
    },
    {
      name: 'OnFailure: sandbox died: recreate, skipping succeeded containers',
      input: { spec: { ...two, restartPolicy: 'OnFailure' }, sandbox: { id: 's1', ready: false }, containers: [ctr('a', 'exited'), ctr('b', 'exited', { exitCode: 1 })] },
      want: act({ createSandbox: true, start: ['b'] }),
    },
    {
      name: 'liveness failure: kill and restart',
      input: { spec: two, sandbox: ready, containers: [ctr('a', 'running', { id: 'x1' }), ctr('b', 'running')], unhealthy: new Map([['x1', 'liveness' as const]]) },
      want: act({ start: ['a'], kill: [{ id: 'x1', name: 'a', message: 'Container a failed liveness probe', probe: 'liveness' }] }),
    },
    {
      name: 'startup failure, Never: kill without restart',
      input: {
        spec: { ...two, restartPolicy: 'Never' },
        sandbox: ready,
        containers: [ctr('a', 'running', { id: 'x2' }), ctr('b', 'running')],
        unhealthy: new Map([['x2', 'startup' as const]]),
      },
      want: act({ kill: [{ id: 'x2', name: 'a', message: 'Container a failed startup probe', probe: 'startup' }] }),
    },
    {
      name: 'latest attempt decides (old exited, new running)',
      input: { spec: { containers: [{ name: 'a' }] }, sandbox: ready, containers: [ctr('a', 'exited', { attempt: 0 }), ctr('a', 'running', { attempt: 1 })] },
      want: act({}),
    },
    { name: 'terminating: kill pod', input: { spec: two, sandbox: ready, containers: [ctr('a', 'running')], terminating: true }, want: act({ killPod: true }) },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(computePodActions(c.input), c.want));
});

describe('shouldRestart', () => {
  const cases: [string, ContainerStatus | undefined, boolean][] = [
    ['Always', undefined, true],
    ['Never', undefined, true],
    ['Always', ctr('a', 'exited'), true],
    ['OnFailure', ctr('a', 'exited'), false],
    ['OnFailure', ctr('a', 'exited', { exitCode: 137 }), true],
    ['Never', ctr('a', 'exited', { exitCode: 1 }), false],
    ['Always', ctr('a', 'running'), false],
  ];
  for (const [policy, c, want] of cases) it(`${policy} ${c?.state ?? 'none'} ${c?.exitCode ?? ''}`, () => assert.equal(shouldRestart(policy, c), want));
});

describe('observeContainers', () => {
  const iso = (ms: number): string => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
  it('running with previous exit: running state, lastState, restartCount = attempt', () => {
    const prev = ctr('a', 'exited', { id: 'p', attempt: 0, exitCode: 1, reason: 'Error' });
    const cur = ctr('a', 'running', { id: 'q', attempt: 1 });
    const [o] = observeContainers([{ name: 'a', image: 'img' }], { containers: [cur, prev], waiting: new Map(), probes: () => undefined });
    assert.deepEqual(o, {
      name: 'a',
      image: 'img',
      id: 'q',
      state: { running: { startedAt: iso(2000) } },
      restartCount: 1,
      ready: true,
      started: true,
      lastTerminationState: { terminated: { exitCode: 1, id: 'p', reason: 'Error', startedAt: iso(2000), finishedAt: iso(5000) } },
    });
  });
  it('crash loop: waiting override, latest exit as lastState', () => {
    const cur = ctr('a', 'exited', { id: 'q', attempt: 1, exitCode: 2, reason: 'Error' });
    const [o] = observeContainers([{ name: 'a' }], { containers: [cur], waiting: new Map([['a', { reason: 'CrashLoopBackOff', message: 'm' }]]), probes: () => undefined });
    assert.deepEqual(o!.state, { waiting: { reason: 'CrashLoopBackOff', message: 'm' } });
    assert.equal(o!.lastTerminationState?.terminated.exitCode, 2);
    assert.equal(o!.restartCount, 1);
  });
  it('readiness and startup from probes', () => {
    const cur = ctr('a', 'running', { id: 'r' });
    const probe = (ready: boolean | undefined, started: boolean): boolean =>
      observeContainers([{ name: 'a' }], { containers: [cur], waiting: new Map(), probes: () => ({ ready, started }) })[0]!.ready;
    assert.equal(probe(undefined, true), true);
    assert.equal(probe(false, true), false);
    assert.equal(probe(true, false), false);
  });
  it('never created: only an override shows, else nothing (default status applies)', () => {
    assert.deepEqual(observeContainers([{ name: 'a' }], { containers: [], waiting: new Map(), probes: () => undefined }), []);
    const [o] = observeContainers([{ name: 'a', image: 'x' }], { containers: [], waiting: new Map([['a', { reason: 'ErrImagePull', message: 'no' }]]), probes: () => undefined });
    assert.deepEqual(o!.state, { waiting: { reason: 'ErrImagePull', message: 'no' } });
  });
  it('finished: terminated state with container id', () => {
    const [o] = observeContainers([{ name: 'a' }], { containers: [ctr('a', 'exited', { id: 'z', reason: 'Completed' })], waiting: new Map(), probes: () => undefined });
    assert.deepEqual(o!.state, { terminated: { exitCode: 0, id: 'z', reason: 'Completed', startedAt: iso(2000), finishedAt: iso(5000) } });
  });
});
