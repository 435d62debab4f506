import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { CROSS_CHECKS } from './index.js';
import { OPTIONAL_SINGLE_CHECKS, SINGLE_CHECKS } from '../single/index.js';
import { brief, runChecks } from './testing.js';
import type { KObject } from '../../types.js';

const SEED = '/work/shared/examples/seed-app.yaml';

function loadSeed(): KObject[] {
  return parseAllDocuments(readFileSync(SEED, 'utf8')).map((d) => d.toJS() as KObject).filter((o) => o !== null);
}

describe('CROSS_CHECKS', () => {
  it('ids are unique kebab-case, every check is cross-scoped and documented', () => {
    const ids = CROSS_CHECKS.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    const mapping = readFileSync(new URL('../../../../docs/lint.md', import.meta.url), 'utf8');
    for (const c of CROSS_CHECKS) {
      assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.equal(c.scope, 'cross');
      assert.ok(c.kinds.length > 0, c.id);
      assert.ok(c.description.endsWith('.'), c.id);
      assert.ok(mapping.includes(`\`${c.id}\``), `${c.id} is in docs/lint.md`);
    }
  });

  it('no id collides with a single-object check', () => {
    const single = new Set([...SINGLE_CHECKS, ...OPTIONAL_SINGLE_CHECKS].map((c) => c.id));
    assert.deepEqual(CROSS_CHECKS.filter((c) => single.has(c.id)).map((c) => c.id), []);
  });

  it('the seed sample reports only what it lacks: a NetworkPolicy, a PDB, and the info to declare containerPort', () => {
    const rows = runChecks(CROSS_CHECKS, loadSeed(), 'cli');
    assert.deepEqual(brief(rows).sort(), [
      'service-target-port info Service/my-service spec.ports.0.targetPort',
      'workload-no-networkpolicy warning Deployment/my-app spec.template.metadata.labels',
      'workload-no-pdb warning Deployment/my-app spec.replicas',
    ]);
    const info = rows.find((r) => r.check === 'service-target-port');
    assert.match(info?.message ?? '', /declare containerPort 8080/);
  });

  it('in admission mode the seed gets nothing from the cross checks (no PDB/NetworkPolicy noise, no hints)', () => {
    assert.deepEqual(brief(runChecks(CROSS_CHECKS, loadSeed(), 'admission')), []);
  });

  it("the seed with a named targetPort its container does not declare is caught as an error", () => {
    const objs = loadSeed();
    const svc = objs.find((o) => o['kind'] === 'Service') as { spec: { ports: Record<string, unknown>[] } };
    svc.spec.ports[0]['targetPort'] = 'http';
    const errors = runChecks(CROSS_CHECKS, objs).filter((r) => r.severity === 'error');
    assert.deepEqual(brief(errors), ['service-target-port error Service/my-service spec.ports.0.targetPort']);
    assert.match(errors[0].message, /Deployment\/my-app \(declares none\)/);
  });
});
