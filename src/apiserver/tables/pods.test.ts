import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource } from '../../api/resources.js';
import { rowFor } from './index.js';

const NOW = new Date('2025-01-10T12:00:00Z');
const ago = (s: number): string => new Date(NOW.getTime() - s * 1000).toISOString();
const pods = findResource('', 'v1', 'pods')!;

type Obj = Record<string, any>;
const running = (name: string, extra: Obj = {}): Obj => ({ name, ready: true, restartCount: 0, state: { running: { startedAt: ago(100) } }, ...extra });

function pod(spec: Obj, status: Obj, meta: Obj = {}): Obj {
  return {
    metadata: { name: 'p', namespace: 'default', creationTimestamp: ago(125), ...meta },
    spec: { containers: [{ name: 'app', image: 'img' }], ...spec },
    status,
  };
}

test('pod READY / STATUS / RESTARTS follow kube printPod', () => {
  const cases: [string, Obj, [string, string, string]][] = [
    ['pending, unscheduled', pod({}, { phase: 'Pending' }), ['0/1', 'Pending', '0']],
    [
      'scheduling gated',
      pod({}, { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] }),
      ['0/1', 'SchedulingGated', '0'],
    ],
    [
      'container creating',
      pod({}, { phase: 'Pending', containerStatuses: [{ name: 'app', ready: false, restartCount: 0, state: { waiting: { reason: 'ContainerCreating' } } }] }),
      ['0/1', 'ContainerCreating', '0'],
    ],
    ['running and ready', pod({}, { phase: 'Running', containerStatuses: [running('app')] }), ['1/1', 'Running', '0']],
    [
      'running, one of two ready',
      pod({ containers: [{ name: 'a' }, { name: 'b' }] }, { phase: 'Running', containerStatuses: [running('a'), running('b', { ready: false })] }),
      ['1/2', 'Running', '0'],
    ],
    [
      'crash loop with restart age',
      pod(
        {},
        {
          phase: 'Running',
          containerStatuses: [
            {
              name: 'app',
              ready: false,
              restartCount: 3,
              state: { waiting: { reason: 'CrashLoopBackOff' } },
              lastState: { terminated: { exitCode: 1, reason: 'Error', finishedAt: ago(150) } },
            },
          ],
        },
      ),
      ['0/1', 'CrashLoopBackOff', '3 (2m30s ago)'],
    ],
    [
      'terminated without reason: exit code',
      pod({}, { phase: 'Failed', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated: { exitCode: 137 } } }] }),
      ['0/1', 'ExitCode:137', '0'],
    ],
    [
      'terminated by signal',
      pod({}, { phase: 'Failed', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated: { exitCode: 0, signal: 9 } } }] }),
      ['0/1', 'Signal:9', '0'],
    ],
    [
      'completed',
      pod({}, { phase: 'Succeeded', containerStatuses: [{ name: 'app', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] }),
      ['0/1', 'Completed', '0'],
    ],
    [
      'completed container but another still running and pod ready',
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Ready', status: 'True' }],
          containerStatuses: [running('a'), { name: 'b', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }],
        },
      ),
      ['1/2', 'Running', '0'],
    ],
    [
      'completed container, another running, pod not ready',
      pod(
        { containers: [{ name: 'a' }, { name: 'b' }] },
        { phase: 'Running', containerStatuses: [running('a'), { name: 'b', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } }] },
      ),
      ['1/2', 'NotReady', '0'],
    ],
    [
      'init container running',
      pod(
        { initContainers: [{ name: 'init' }, { name: 'init2' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'init', restartCount: 0, state: { terminated: { exitCode: 0, reason: 'Completed' } } },
            { name: 'init2', restartCount: 0, state: { running: {} } },
          ],
          containerStatuses: [{ name: 'app', restartCount: 0, state: { waiting: { reason: 'PodInitializing' } } }],
        },
      ),
      ['0/1', 'Init:1/2', '0'],
    ],
    [
      'init container failing',
      pod(
        { initContainers: [{ name: 'init' }] },
        {
          phase: 'Pending',
          initContainerStatuses: [
            { name: 'init', restartCount: 2, state: { waiting: { reason: 'CrashLoopBackOff' } }, lastState: { terminated: { exitCode: 1, finishedAt: ago(30) } } },
          ],
        },
      ),
      ['0/1', 'Init:CrashLoopBackOff', '2 (30s ago)'],
    ],
    [
      'init container exited non-zero without reason',
      pod({ initContainers: [{ name: 'init' }] }, { phase: 'Pending', initContainerStatuses: [{ name: 'init', restartCount: 0, state: { terminated: { exitCode: 2 } } }] }),
      ['0/1', 'Init:ExitCode:2', '0'],
    ],
    [
      'sidecar init container counts toward READY',
      pod(
        { initContainers: [{ name: 'proxy', restartPolicy: 'Always' }] },
        {
          phase: 'Running',
          conditions: [{ type: 'Initialized', status: 'True' }],
          initContainerStatuses: [{ name: 'proxy', started: true, ready: true, restartCount: 1, state: { running: {} }, lastState: { terminated: { exitCode: 1, finishedAt: ago(600) } } }],
          containerStatuses: [running('app')],
        },
      ),
      ['2/2', 'Running', '1 (10m ago)'],
    ],
    [
      'terminating',
      pod({}, { phase: 'Running', containerStatuses: [running('app')] }, { deletionTimestamp: ago(1) }),
      ['1/1', 'Terminating', '0'],
    ],
    [
      'deleted on lost node',
      pod({}, { phase: 'Running', reason: 'NodeLost', containerStatuses: [running('app')] }, { deletionTimestamp: ago(1) }),
      ['1/1', 'Unknown', '0'],
    ],
    ['deleted after success stays Completed-phase text', pod({}, { phase: 'Succeeded' }, { deletionTimestamp: ago(1) }), ['0/1', 'Succeeded', '0']],
    ['status.reason overrides phase', pod({}, { phase: 'Failed', reason: 'Evicted' }), ['0/1', 'Evicted', '0']],
  ];
  for (const [what, p, [ready, status, restarts]] of cases) {
    const cells = rowFor(pods, p, NOW);
    assert.deepEqual(cells.slice(1, 4), [ready, status, restarts], what);
    assert.equal(cells[4], '2m5s', `${what}: age`);
  }
});

test('pod wide columns: IP, node, nominated node, readiness gates', () => {
  const bound = pod(
    { nodeName: 'n1', readinessGates: [{ conditionType: 'example.com/lb' }, { conditionType: 'example.com/dns' }] },
    {
      phase: 'Running',
      podIP: '10.244.0.7',
      podIPs: [{ ip: '10.244.0.7' }, { ip: 'fd00::7' }],
      conditions: [{ type: 'example.com/lb', status: 'True' }, { type: 'example.com/dns', status: 'False' }],
      containerStatuses: [running('app')],
    },
  );
  assert.deepEqual(rowFor(pods, bound, NOW).slice(5), ['10.244.0.7', 'n1', '<none>', '1/2']);
  const pending = pod({}, { phase: 'Pending', nominatedNodeName: 'n2' });
  assert.deepEqual(rowFor(pods, pending, NOW).slice(5), ['<none>', '<none>', 'n2', '<none>']);
  const legacyIP = pod({}, { phase: 'Running', podIP: '10.0.0.1' });
  assert.equal(rowFor(pods, legacyIP, NOW)[5], '10.0.0.1');
});
