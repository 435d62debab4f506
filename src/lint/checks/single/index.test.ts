import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { parseAllDocuments } from 'yaml';
import type { KObject } from '../../types.js';
import { OPTIONAL_SINGLE_CHECKS, SINGLE_CHECKS } from './index.js';
import { runCheck } from './testutil.js';

const SEED = '/work/shared/examples/seed-app.yaml';
const ALL = [...SINGLE_CHECKS, ...OPTIONAL_SINGLE_CHECKS];

function lint(objs: KObject[]): { id: string; kind: string; path: string; container?: string }[] {
  const out: { id: string; kind: string; path: string; container?: string }[] = [];
  for (const obj of objs) {
    for (const c of SINGLE_CHECKS) {
      for (const p of runCheck(c, obj)) out.push({ id: c.id, kind: String(obj['kind']), path: p.path.join('.'), ...(p.container ? { container: p.container } : {}) });
    }
  }
  return out;
}

describe('single-object checks', () => {
  it('ids are unique, kebab-case, object-scoped and admission-ready', () => {
    const ids = ALL.map((c) => c.id);
    assert.equal(new Set(ids).size, ids.length);
    for (const c of ALL) {
      assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/);
      assert.equal(c.scope, 'object');
      assert.equal(c.admission, true);
      assert.ok(Object.keys(c.origin).length > 0, c.id);
    }
  });

  it('the seed sample only gets findings about what it lacks', () => {
    const objs = parseAllDocuments(readFileSync(SEED, 'utf8')).map((d) => d.toJS() as KObject);
    assert.equal(objs.length, 2);
    const findings = lint(objs);
    assert.deepEqual(findings, [
      { id: 'pod-anti-affinity', kind: 'Deployment', path: 'spec.template.spec' },
      { id: 'run-as-non-root', kind: 'Deployment', path: 'spec.template.spec.containers.0', container: 'my-container' },
      { id: 'read-only-root-fs', kind: 'Deployment', path: 'spec.template.spec.containers.0', container: 'my-container' },
    ]);
    const ids = new Set(findings.map((f) => f.id));
    for (const has of ['image-tag', 'image-pull-policy', 'container-resources', 'readiness-probe', 'liveness-probe', 'probes-identical',
      'probe-port', 'replicas', 'selector-mismatch', 'rolling-update', 'service-type', 'service-selector', 'port-name']) {
      assert.ok(!ids.has(has), has);
    }
  });

  it('never throws on malformed objects', () => {
    const kinds = [...new Set(ALL.flatMap((c) => c.kinds))];
    fc.assert(
      fc.property(fc.constantFrom(...kinds), fc.anything({ maxDepth: 4 }), fc.anything({ maxDepth: 3 }), (kind, spec, containers) => {
        const objs: KObject[] = [
          { apiVersion: 'apps/v1', kind, metadata: spec, spec },
          { kind, spec: { template: { spec: { containers } }, jobTemplate: { spec: { template: { spec: { containers } } } }, containers } },
          { kind, spec: { replicas: spec, strategy: { type: 'RollingUpdate', rollingUpdate: spec }, selector: spec, template: { metadata: { labels: spec }, spec: { containers: [containers, { name: 'x', securityContext: containers, resources: containers, env: containers, ports: containers, livenessProbe: containers }] } } } },
        ];
        for (const obj of objs) for (const c of ALL) runCheck(c, obj);
      }),
      { numRuns: 300 },
    );
  });
});
