import { describe } from 'node:test';
import { IMAGE_CHECKS, imagePullPolicyAlways } from './images.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const C = ['spec', 'template', 'spec', 'containers'];

const cases: Case[] = [
  {
    check: 'image-tag',
    good: deployment(`      - name: web
        image: registry.local:5000/team/web:1.4.2
      - name: side
        image: busybox@sha256:3fbc632167424a6d997e74f52b878d7cc478225cffac6bc977eedfe51c7f4e79
`),
    bad: deployment(`      - name: web
        image: nginx:latest
      - name: side
        image: registry.local:5000/team/side
`),
    expect: [
      { path: [...C, 0, 'image'], container: 'web', message: 'image nginx:latest uses the mutable tag latest; pin a version tag or a digest' },
      { path: [...C, 1, 'image'], container: 'side', message: 'has no tag' },
    ],
  },
  {
    check: 'image-tag',
    name: 'init container and missing image',
    good: deployment(`      - name: web
        image: nginx:1.27.3
`, { podSpec: `      initContainers:
      - name: setup
        image: busybox:1.36
` }),
    bad: deployment(`      - name: web
`, { podSpec: `      initContainers:
      - name: setup
        image: busybox
` }),
    expect: [
      { path: [...C, 0], container: 'web', severity: 'error', message: 'has no image' },
      { path: ['spec', 'template', 'spec', 'initContainers', 0, 'image'], container: 'setup', message: 'init container setup' },
    ],
  },
  {
    check: 'image-pull-policy',
    good: deployment(`      - name: web
        image: nginx:latest
        imagePullPolicy: Always
      - name: side
        image: busybox:1.36
        imagePullPolicy: IfNotPresent
      - name: third
        image: busybox
`),
    bad: deployment(`      - name: web
        image: nginx
        imagePullPolicy: IfNotPresent
      - name: side
        image: busybox:1.36
        imagePullPolicy: Sometimes
`),
    expect: [
      { path: [...C, 0, 'imagePullPolicy'], container: 'web', message: 'imagePullPolicy IfNotPresent with the mutable image nginx' },
      { path: [...C, 1, 'imagePullPolicy'], container: 'side', severity: 'error', message: 'is not valid' },
    ],
  },
  {
    check: 'image-pull-policy-always',
    good: deployment(`      - name: web
        image: nginx:1.27.3
        imagePullPolicy: Always
      - name: side
        image: busybox
`),
    bad: deployment(`      - name: web
        image: nginx:1.27.3
      - name: side
        image: busybox:1.36
        imagePullPolicy: IfNotPresent
`),
    expect: [
      { path: [...C, 0], container: 'web', message: 'imagePullPolicy is not set' },
      { path: [...C, 1, 'imagePullPolicy'], container: 'side', message: 'imagePullPolicy is IfNotPresent' },
    ],
  },
];

describe('image checks', () => {
  assertWellFormed([...IMAGE_CHECKS, imagePullPolicyAlways]);
  runCorpus([...IMAGE_CHECKS, imagePullPolicyAlways], cases);
});
