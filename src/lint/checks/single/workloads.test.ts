import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parse } from 'yaml';
import { buildIndex } from '../../index-objects.js';
import type { KObject } from '../../types.js';
import { WORKLOAD_CHECKS } from './workloads.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const WEB = `      - name: web
        image: nginx:1.27.3
`;
const S = ['spec', 'template', 'spec'];

/** A Deployment with a custom spec head (before template) and pod-spec prefix. */
const deploy = (head: string, podSpec = ''): string => `apiVersion: apps/v1
kind: Deployment
metadata: { name: web }
spec:
${head}  template:
    metadata:
      labels: { app: web, tier: front }
    spec:
${podSpec}      containers:
${WEB}`;

const ANTI = `      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector: { matchLabels: { app: web } }
`;

const cases: Case[] = [
  {
    check: 'replicas',
    good: deployment(WEB, { replicas: 2 }),
    bad: deployment(WEB, { replicas: 1 }),
    expect: [{ path: ['spec', 'replicas'], message: 'replicas is 1' }],
  },
  {
    check: 'replicas',
    name: 'unset means 1; 0 is a deliberate scale-down',
    good: deployment(WEB, { replicas: 0 }),
    bad: deploy('  selector: { matchLabels: { app: web } }\n'),
    expect: [{ path: ['spec'], message: 'replicas is not set (so 1)' }],
  },
  {
    check: 'rolling-update',
    good: deploy('  replicas: 4\n  selector: { matchLabels: { app: web } }\n  strategy:\n    type: RollingUpdate\n    rollingUpdate: { maxUnavailable: 1, maxSurge: 25% }\n'),
    bad: deploy('  replicas: 4\n  selector: { matchLabels: { app: web } }\n  strategy:\n    type: RollingUpdate\n    rollingUpdate: { maxUnavailable: 100%, maxSurge: 1 }\n'),
    expect: [{ path: ['spec', 'strategy', 'rollingUpdate', 'maxUnavailable'], message: 'lets all 4 replica(s) be down' }],
  },
  {
    check: 'rolling-update',
    name: 'Recreate',
    good: deploy('  replicas: 2\n  selector: { matchLabels: { app: web } }\n'),
    bad: deploy('  replicas: 2\n  selector: { matchLabels: { app: web } }\n  strategy: { type: Recreate }\n'),
    expect: [{ path: ['spec', 'strategy', 'type'], message: 'strategy Recreate' }],
  },
  {
    check: 'rolling-update',
    name: 'both zero is invalid',
    good: deploy('  replicas: 3\n  selector: { matchLabels: { app: web } }\n  strategy:\n    rollingUpdate: { maxUnavailable: 0, maxSurge: 1 }\n'),
    bad: deploy('  replicas: 3\n  selector: { matchLabels: { app: web } }\n  strategy:\n    rollingUpdate: { maxUnavailable: 0%, maxSurge: 0 }\n'),
    expect: [{ path: ['spec', 'strategy', 'rollingUpdate'], severity: 'error', message: 'both 0' }],
  },
  {
    check: 'selector-mismatch',
    good: deploy('  replicas: 2\n  selector:\n    matchLabels: { app: web }\n    matchExpressions: [{ key: tier, operator: In, values: [front, back] }]\n'),
    bad: deploy('  replicas: 2\n  selector: { matchLabels: { app: api } }\n'),
    expect: [{ path: ['spec', 'selector'], message: 'does not match the template\'s labels (app=web,tier=front)' }],
  },
  {
    check: 'selector-mismatch',
    name: 'missing selector',
    good: deployment(WEB),
    bad: deploy('  replicas: 2\n'),
    expect: [{ path: ['spec'], message: 'spec.selector is missing' }],
  },
  {
    check: 'pod-anti-affinity',
    good: deployment(WEB, { podSpec: ANTI }),
    bad: deployment(WEB, { replicas: 3 }),
    expect: [{ path: S, message: '3 replicas may all land on one node' }],
  },
  {
    check: 'pod-anti-affinity',
    name: 'selector not matching own pods; topology spread accepted',
    good: deployment(WEB, { podSpec: `      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: topology.kubernetes.io/zone
        whenUnsatisfiable: ScheduleAnyway
        labelSelector: { matchLabels: { app: web } }
` }),
    bad: deployment(WEB, { podSpec: ANTI.replace('app: web', 'app: other') }),
    expect: [{ path: [...S, 'affinity', 'podAntiAffinity'] }],
  },
  {
    check: 'topology-spread-constraints',
    good: deployment(WEB, { podSpec: `      topologySpreadConstraints:
      - maxSkew: 1
        topologyKey: kubernetes.io/hostname
        whenUnsatisfiable: DoNotSchedule
        labelSelector: { matchLabels: { app: web } }
` }),
    bad: deployment(WEB, { podSpec: `      topologySpreadConstraints:
      - maxSkew: 0
        minDomains: 0
        whenUnsatisfiable: Sometimes
` }),
    expect: [
      { path: [...S, 'topologySpreadConstraints', 0], severity: 'warning', message: 'no labelSelector' },
      { path: [...S, 'topologySpreadConstraints', 0, 'maxSkew'] },
      { path: [...S, 'topologySpreadConstraints', 0, 'minDomains'] },
      { path: [...S, 'topologySpreadConstraints', 0], message: 'no topologyKey' },
      { path: [...S, 'topologySpreadConstraints', 0, 'whenUnsatisfiable'] },
    ],
  },
];

describe('workload checks', () => {
  assertWellFormed(WORKLOAD_CHECKS);
  runCorpus(WORKLOAD_CHECKS, cases);
});

describe('workload checks with an HorizontalPodAutoscaler in the index', () => {
  const hpa = (min?: number, kind = 'Deployment'): KObject => ({
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name: 'web' }, ...(min === undefined ? {} : { minReplicas: min }), maxReplicas: 10 },
  });
  const run = (id: string, objs: KObject[]): string[] => {
    const check = WORKLOAD_CHECKS.find((c) => c.id === id)!;
    return check.run(objs[0]!, { index: buildIndex(objs), mode: 'cli' }).map((p) => p.message);
  };
  const unset = parse(deploy('  selector: { matchLabels: { app: web } }\n')) as KObject;
  const cases: [string, string, KObject[], number][] = [
    ['replicas: no HPA, replicas unset: warned', 'replicas', [unset], 1],
    ['replicas: an HPA scales it (replicas unset): the HPA decides, no warning', 'replicas', [unset, hpa(3)], 0],
    ['replicas: an HPA of another kind does not count', 'replicas', [unset, hpa(3, 'StatefulSet')], 1],
    ['pod-anti-affinity: replicas unset but an HPA keeps 3: warned', 'pod-anti-affinity', [unset, hpa(3)], 1],
    ['pod-anti-affinity: HPA minReplicas defaults to 1: nothing to spread', 'pod-anti-affinity', [unset, hpa()], 0],
  ];
  for (const [name, id, objs, n] of cases) it(name, () => assert.equal(run(id, objs).length, n));
});
