import { describe } from 'node:test';
import { META_CHECKS } from './meta.js';
import { assertWellFormed, deployment, runCorpus, type Case } from './testutil.js';

const WEB = `      - name: web
        image: nginx:1.27.3
`;

const cases: Case[] = [
  {
    check: 'deprecated-api-version',
    good: deployment(WEB),
    bad: deployment(WEB).replace('apps/v1', 'extensions/v1beta1'),
    expect: [{ path: ['apiVersion'], message: 'extensions/v1beta1 Deployment was removed in Kubernetes 1.16; use apiVersion: apps/v1' }],
  },
  {
    check: 'deprecated-api-version',
    name: 'Ingress, PDB, HPA, CronJob',
    good: 'apiVersion: networking.k8s.io/v1\nkind: Ingress\nmetadata: { name: x }\n',
    bad: 'apiVersion: autoscaling/v2beta2\nkind: HorizontalPodAutoscaler\nmetadata: { name: x }\n',
    expect: [{ path: ['apiVersion'], message: 'removed in Kubernetes 1.26; use apiVersion: autoscaling/v2' }],
  },
  {
    check: 'deprecated-api-version',
    name: 'PodSecurityPolicy has no replacement',
    good: 'apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: x }\n',
    bad: 'apiVersion: policy/v1beta1\nkind: PodSecurityPolicy\nmetadata: { name: x }\n',
    expect: [{ path: ['apiVersion'], message: 'Pod Security Admission' }],
  },
  {
    check: 'label-values',
    good: deployment(WEB).replace('name: web\n', 'name: web\n  labels: { app.kubernetes.io/version: "1.2_3", empty: "" }\n'),
    bad: deployment(WEB)
      .replace('name: web\n', 'name: web\n  labels: { team: "-platform", ok: fine }\n')
      .replace('app: web\n    spec:', `app: web\n        version: "${'x'.repeat(64)}"\n    spec:`),
    expect: [
      { path: ['metadata', 'labels', 'team'], message: 'label team' },
      { path: ['spec', 'template', 'metadata', 'labels', 'version'] },
    ],
  },
];

describe('meta checks', () => {
  assertWellFormed(META_CHECKS);
  runCorpus(META_CHECKS, cases);
});
