import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { PDB_CHECKS, pdbMinAvailableReplicas } from './pdb.js';
import { brief, object, runChecks, workload } from './testing.js';
import type { KObject } from '../../types.js';

const pdb = (selector: unknown, policy: Record<string, unknown> = { maxUnavailable: 1 }, ns?: string): KObject =>
  object('PodDisruptionBudget', 'b', { apiVersion: 'policy/v1', spec: { selector, ...policy } }, ns);
const hpa = (name: string, minReplicas?: number): KObject =>
  object('HorizontalPodAutoscaler', 'h', { spec: { scaleTargetRef: { kind: 'Deployment', name }, ...(minReplicas ? { minReplicas } : {}), maxReplicas: 9 } });

const cases: { name: string; objs: KObject[]; want: string[]; mode?: 'cli' | 'admission' }[] = [
  { name: '3 replicas with a matching PDB: nothing', objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } })], want: [] },
  { name: '3 replicas without a PDB', objs: [workload('web', { replicas: 3 })], want: ['workload-no-pdb warning Deployment/web spec.replicas'] },
  { name: 'StatefulSet with 2 replicas without a PDB', objs: [workload('db', { kind: 'StatefulSet', replicas: 2 })], want: ['workload-no-pdb warning StatefulSet/db spec.replicas'] },
  { name: 'single replica: skipped', objs: [workload('web', { replicas: 1 })], want: [] },
  { name: 'replicas unset (1): skipped', objs: [workload('web')], want: [] },
  { name: 'HPA floor of 2 counts as replicated', objs: [workload('web'), hpa('web', 2)], want: ['workload-no-pdb warning Deployment/web spec'] },
  { name: 'admission mode skips the missing-PDB check', objs: [workload('web', { replicas: 3 })], want: [], mode: 'admission' },
  {
    name: 'a PDB in another namespace does not count',
    objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, undefined, 'x')],
    want: ['workload-no-pdb warning Deployment/web spec.replicas', 'pdb-selects-nothing warning PodDisruptionBudget/b spec.selector'],
  },
  {
    name: 'PDB selecting nothing',
    objs: [workload('web', { replicas: 1 }), pdb({ matchLabels: { app: 'wbe' } })],
    want: ['pdb-selects-nothing warning PodDisruptionBudget/b spec.selector'],
  },
  {
    name: 'PDB matchExpressions Exists selects',
    objs: [workload('web', { replicas: 3 }), pdb({ matchExpressions: [{ key: 'app', operator: 'Exists' }] })],
    want: [],
  },
  {
    name: 'minAvailable equal to replicas blocks evictions',
    objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: 3 })],
    want: ['pdb-min-available-replicas warning PodDisruptionBudget/b spec.minAvailable'],
  },
  {
    name: 'minAvailable 80% of 3 rounds up to 3: blocks',
    objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: '80%' })],
    want: ['pdb-min-available-replicas warning PodDisruptionBudget/b spec.minAvailable'],
  },
  { name: 'minAvailable below replicas: nothing', objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: 2 })], want: [] },
  { name: 'minAvailable 100% is left to the single-object check', objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: '100%' })], want: [] },
  { name: 'minAvailable 50% of 3: nothing', objs: [workload('web', { replicas: 3 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: '50%' })], want: [] },
];

describe('pdb checks', () => {
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(brief(runChecks(PDB_CHECKS, c.objs, c.mode)), c.want);
    });
  }
  it('min-available-replicas names the workload and its replicas', () => {
    const [f] = runChecks([pdbMinAvailableReplicas], [workload('web', { replicas: 2 }), pdb({ matchLabels: { app: 'web' } }, { minAvailable: 2 })]);
    assert.match(f.message, /minAvailable 2 leaves no pod of Deployment\/web \(2 replicas\) evictable/);
  });
  it('malformed PDBs never throw', () => {
    assert.doesNotThrow(() => runChecks(PDB_CHECKS, [workload('web', { replicas: 3 }), object('PodDisruptionBudget', 'x', { spec: { selector: { matchExpressions: [{ key: 1 }] }, minAvailable: {} } }), object('PodDisruptionBudget', 'y')]));
  });
});
