import { describe } from 'node:test';
import { PROBE_CHECKS } from './probes.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const C = ['spec', 'template', 'spec', 'containers'];
const PROBED = `        livenessProbe:
          httpGet: { path: /healthz, port: 8080 }
        readinessProbe:
          httpGet: { path: /readiness, port: 8080 }
`;

const job = (container: string): string => `apiVersion: batch/v1
kind: Job
metadata: { name: once }
spec:
  template:
    spec:
      restartPolicy: Never
      containers:
${container}`;

const cases: Case[] = [
  {
    check: 'readiness-probe',
    good: deployment(`      - name: web
        image: nginx:1.27.3
${PROBED}`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        livenessProbe:
          tcpSocket: { port: 8080 }
`),
    expect: [{ path: [...C, 0], container: 'web', message: 'no readinessProbe' }],
  },
  {
    check: 'readiness-probe',
    name: 'Jobs need no probes',
    good: job(`      - name: task
        image: busybox:1.36
`),
    bad: deployment(`      - name: a
        image: nginx:1.27.3
${PROBED}      - name: b
        image: nginx:1.27.3
`),
    expect: [{ path: [...C, 1], container: 'b' }],
  },
  {
    check: 'liveness-probe',
    good: deployment(`      - name: web
        image: nginx:1.27.3
${PROBED}`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        readinessProbe:
          tcpSocket: { port: 8080 }
`),
    expect: [{ path: [...C, 0], container: 'web', message: 'no livenessProbe' }],
  },
  {
    check: 'probes-identical',
    good: deployment(`      - name: web
        image: nginx:1.27.3
${PROBED}`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        livenessProbe:
          httpGet: { path: /healthz, port: 8080 }
          periodSeconds: 20
        readinessProbe:
          httpGet: { path: /healthz, port: 8080 }
`),
    expect: [{ path: [...C, 0, 'livenessProbe'], container: 'web', message: 'run the same check' }],
  },
  {
    check: 'probe-port',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        ports:
        - { name: http, containerPort: 8080 }
        livenessProbe:
          httpGet: { path: /healthz, port: http }
        readinessProbe:
          tcpSocket: { port: 9090 }
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
        ports:
        - { name: http, containerPort: 8080 }
        livenessProbe:
          httpGet: { path: /healthz, port: metrics }
        readinessProbe:
          tcpSocket: { port: "8080" }
        startupProbe:
          httpGet: { path: /, port: http }
`),
    expect: [
      { path: [...C, 0, 'livenessProbe', 'httpGet', 'port'], container: 'web', message: 'livenessProbe.httpGet.port "metrics" names no port of the container' },
      { path: [...C, 0, 'readinessProbe', 'tcpSocket', 'port'], container: 'web', message: 'quoted number' },
    ],
  },
];

describe('probe checks', () => {
  assertWellFormed(PROBE_CHECKS);
  runCorpus(PROBE_CHECKS, cases);
});
