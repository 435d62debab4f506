import { describe } from 'node:test';
import { POLICY_CHECKS } from './policies.js';
import { assertWellFormed, runCorpus, type Case } from './testutil.js';

const job = (spec: string, pod: string, meta = ''): string => `apiVersion: batch/v1
kind: Job
metadata:
  name: once${meta}
spec:
${spec}  template:
    spec:
${pod}      containers: [{ name: task, image: "busybox:1.36" }]
`;
const cron = (spec: string, jobSpec: string, pod: string): string => `apiVersion: batch/v1
kind: CronJob
metadata: { name: nightly }
spec:
  schedule: "0 3 * * *"
${spec}  jobTemplate:
    spec:
${jobSpec}      template:
        spec:
${pod}          containers: [{ name: task, image: "busybox:1.36" }]
`;
const hpa = (spec: string): string => `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: web }
spec:
  scaleTargetRef: { apiVersion: apps/v1, kind: Deployment, name: web }
  maxReplicas: 10
${spec}`;
const pdb = (spec: string): string => `apiVersion: policy/v1
kind: PodDisruptionBudget
metadata: { name: web }
spec:
${spec}`;
const SEL = '  selector: { matchLabels: { app: web } }\n';

const cases: Case[] = [
  {
    check: 'job-restart-policy',
    good: job('', '      restartPolicy: OnFailure\n'),
    bad: job('', '      restartPolicy: Always\n'),
    expect: [{ path: ['spec', 'template', 'spec', 'restartPolicy'], message: 'use OnFailure or Never' }],
  },
  {
    check: 'job-restart-policy',
    name: 'CronJob without restartPolicy',
    good: cron('', '', '          restartPolicy: Never\n'),
    bad: cron('', '', ''),
    expect: [{ path: ['spec', 'jobTemplate', 'spec', 'template', 'spec'], message: 'no restartPolicy' }],
  },
  {
    check: 'cronjob-deadline',
    good: cron('  startingDeadlineSeconds: 300\n', '', '          restartPolicy: Never\n'),
    bad: cron('', '', '          restartPolicy: Never\n'),
    expect: [{ path: ['spec'], message: 'startingDeadlineSeconds' }],
  },
  {
    check: 'job-ttl',
    good: job('  ttlSecondsAfterFinished: 600\n', '      restartPolicy: Never\n'),
    bad: job('', '      restartPolicy: Never\n'),
    expect: [{ path: ['spec'], message: 'no ttlSecondsAfterFinished' }],
  },
  {
    check: 'job-ttl',
    name: 'CronJob jobTemplate with ttl',
    good: job('', '      restartPolicy: Never\n', '\n  ownerReferences: [{ apiVersion: batch/v1, kind: CronJob, name: nightly, uid: "1" }]'),
    bad: cron('', '      ttlSecondsAfterFinished: 60\n', '          restartPolicy: Never\n'),
    expect: [{ path: ['spec', 'jobTemplate', 'spec', 'ttlSecondsAfterFinished'] }],
  },
  {
    check: 'hpa-min-replicas',
    good: hpa('  minReplicas: 2\n'),
    bad: hpa(''),
    expect: [{ path: ['spec'], message: 'minReplicas is not set (so 1)' }],
  },
  {
    check: 'pdb-policy',
    good: pdb('  maxUnavailable: 1\n' + SEL),
    bad: pdb('  unhealthyPodEvictionPolicy: AlwaysAllow\n'),
    expect: [
      { path: ['spec'], message: 'neither minAvailable nor maxUnavailable' },
      { path: ['spec'], message: 'no selector' },
    ],
  },
  {
    check: 'pdb-policy',
    name: 'both set',
    good: pdb('  minAvailable: 50%\n' + SEL),
    bad: pdb('  minAvailable: 1\n  maxUnavailable: 1\n' + SEL),
    expect: [{ path: ['spec', 'maxUnavailable'], severity: 'error' }],
  },
  {
    check: 'pdb-blocks-eviction',
    good: pdb('  minAvailable: 90%\n' + SEL),
    bad: pdb('  maxUnavailable: 0%\n  minAvailable: 100%\n' + SEL),
    expect: [
      { path: ['spec', 'maxUnavailable'], message: 'maxUnavailable is 0' },
      { path: ['spec', 'minAvailable'], message: 'minAvailable is 100%' },
    ],
  },
  {
    check: 'pdb-unhealthy-pod-eviction-policy',
    good: pdb('  maxUnavailable: 1\n  unhealthyPodEvictionPolicy: AlwaysAllow\n' + SEL),
    bad: pdb('  maxUnavailable: 1\n' + SEL),
    expect: [{ path: ['spec'] }],
  },
];

describe('policy checks', () => {
  assertWellFormed(POLICY_CHECKS);
  runCorpus(POLICY_CHECKS, cases);
});
