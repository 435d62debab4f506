import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { HPA_CHECKS } from './hpa.js';
import { brief, object, runChecks, workload } from './testing.js';
import type { KObject } from '../../types.js';

const hpa = (kind: string, name: string, ns?: string): KObject =>
  object('HorizontalPodAutoscaler', 'h', { apiVersion: 'autoscaling/v2', spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind, name }, minReplicas: 2, maxReplicas: 5 } }, ns);

const cases: { name: string; objs: KObject[]; want: string[] }[] = [
  { name: 'target exists without replicas: nothing', objs: [workload('web'), hpa('Deployment', 'web')], want: [] },
  { name: 'missing target', objs: [workload('web'), hpa('Deployment', 'wbe')], want: ['hpa-target-missing warning HorizontalPodAutoscaler/h spec.scaleTargetRef.name'] },
  { name: 'wrong kind', objs: [workload('web'), hpa('StatefulSet', 'web')], want: ['hpa-target-missing warning HorizontalPodAutoscaler/h spec.scaleTargetRef.name'] },
  { name: 'target in another namespace', objs: [workload('web', { ns: 'x' }), hpa('Deployment', 'web')], want: ['hpa-target-missing warning HorizontalPodAutoscaler/h spec.scaleTargetRef.name'] },
  { name: 'custom kinds are not resolved', objs: [hpa('Rollout', 'web')], want: [] },
  { name: 'target sets replicas', objs: [workload('web', { replicas: 3 }), hpa('Deployment', 'web')], want: ['hpa-target-sets-replicas warning Deployment/web spec.replicas'] },
  { name: 'StatefulSet target sets replicas', objs: [workload('db', { kind: 'StatefulSet', replicas: 3 }), hpa('StatefulSet', 'db')], want: ['hpa-target-sets-replicas warning StatefulSet/db spec.replicas'] },
  { name: 'replicas without an HPA: nothing', objs: [workload('web', { replicas: 3 })], want: [] },
];

describe('hpa checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(HPA_CHECKS, c.objs)), c.want);
    });
  }
  it('malformed HPAs never throw', () => {
    assert.doesNotThrow(() => runChecks(HPA_CHECKS, [object('HorizontalPodAutoscaler', 'x', { spec: { scaleTargetRef: 'x' } }), object('HorizontalPodAutoscaler', 'y')]));
  });
});
