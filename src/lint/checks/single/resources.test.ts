import { describe } from 'node:test';
import { RESOURCE_CHECKS, containerEphemeralStorage } from './resources.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const C = ['spec', 'template', 'spec', 'containers'];
const FULL = `        resources:
          requests: { cpu: 100m, memory: 64Mi }
          limits: { cpu: "1", memory: 128Mi }
`;

const cases: Case[] = [
  {
    check: 'container-resources',
    good: deployment(`      - name: web
        image: nginx:1.27.3
${FULL}`, { podSpec: `      initContainers:
      - name: setup
        image: busybox:1.36
${FULL.replace(/^ {8}/gm, '        ')}` }),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
      - name: side
        image: busybox:1.36
        resources:
          requests: { cpu: "0", memory: 64Mi }
      - name: third
        image: busybox:1.36
        resources:
          limits: { cpu: 500m }
`),
    expect: [
      { path: [...C, 0], container: 'web', message: 'no resources set' },
      { path: [...C, 1, 'resources', 'requests', 'cpu'], container: 'side', message: 'resources.requests.cpu is not set' },
      { path: [...C, 1, 'resources'], container: 'side', message: 'resources.limits is not set' },
      { path: [...C, 2, 'resources'], container: 'third', message: 'resources.requests is not set' },
      { path: [...C, 2, 'resources', 'limits'], container: 'third', message: 'resources.limits.memory is not set' },
    ],
  },
  {
    check: 'container-ephemeral-storage',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        resources:
          requests: { ephemeral-storage: 1Gi }
          limits: { ephemeral-storage: 2Gi }
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
${FULL}`),
    expect: [
      { path: [...C, 0, 'resources', 'requests'], container: 'web', message: 'resources.requests.ephemeral-storage is not set' },
      { path: [...C, 0, 'resources', 'limits'], container: 'web', message: 'resources.limits.ephemeral-storage is not set' },
    ],
  },
];

describe('resource checks', () => {
  assertWellFormed([...RESOURCE_CHECKS, containerEphemeralStorage]);
  runCorpus([...RESOURCE_CHECKS, containerEphemeralStorage], cases);
});
