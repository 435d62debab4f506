import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { DEFINITIONS, closure, resolve, schemaAt } from './index.js';
import { RESOURCES } from '../resources.js';

test('DEFINITIONS merges every defs module in this folder', async () => {
  const dir = fileURLToPath(new URL('.', import.meta.url));
  const files = readdirSync(dir).filter((f) => f.endsWith('.ts') && !f.endsWith('.test.ts') && f !== 'index.ts');
  for (const f of files) {
    const mod = (await import(`./${f.replace(/\.ts$/, '.js')}`)) as { defs?: Record<string, unknown> };
    assert.ok(mod.defs, `${f} exports defs`);
    for (const k of Object.keys(mod.defs)) assert.equal(DEFINITIONS[k], mod.defs[k], `${k} from ${f}`);
  }
});

test('every served kind has a definition and every reachable ref resolves', () => {
  for (const r of RESOURCES) assert.ok(resolve(r.definition), r.definition);
  const dangling = closure(RESOURCES.map((r) => r.definition)).filter((n) => !resolve(n));
  assert.deepEqual(dangling, []);
});

test('schemaAt walks properties, refs, arrays and maps', () => {
  const D = 'io.k8s.api.apps.v1.Deployment';
  const cases: { def: string; path: string[]; expect: (s: ReturnType<typeof schemaAt>) => boolean; what: string }[] = [
    { def: D, path: [], expect: (s) => s?.type === 'object' && 'spec' in s.properties, what: 'the definition itself' },
    { def: D, path: ['spec', 'replicas'], expect: (s) => s?.type === 'integer' && s.format === 'int32', what: 'int32 replicas' },
    { def: D, path: ['spec', 'template', 'spec', 'containers'], expect: (s) => s?.type === 'array' && s.patchMergeKey === 'name', what: 'containers list' },
    { def: D, path: ['spec', 'template', 'spec', 'containers', '0', 'image'], expect: (s) => s?.type === 'string', what: 'item field via index' },
    { def: D, path: ['spec', 'template', 'spec', 'containers', '*', 'ports'], expect: (s) => s?.type === 'array' && s.listType === 'map', what: 'item field via *' },
    { def: D, path: ['metadata', 'labels', 'app'], expect: (s) => s?.type === 'string', what: 'map value' },
    { def: 'io.k8s.api.core.v1.Service', path: ['spec', 'ports', '0', 'targetPort'], expect: (s) => s?.type === 'string' && s.format === 'int-or-string', what: 'ref resolved to IntOrString' },
    { def: D, path: ['spec', 'nope'], expect: (s) => s === undefined, what: 'unknown field' },
    { def: D, path: ['spec', 'replicas', 'x'], expect: (s) => s === undefined, what: 'below a scalar' },
    { def: 'no.such.Thing', path: [], expect: (s) => s === undefined, what: 'unknown definition' },
  ];
  for (const c of cases) assert.ok(c.expect(schemaAt(c.def, c.path)), c.what);
});

test('closure includes the roots and their transitive refs', () => {
  const names = closure(['io.k8s.api.core.v1.Service']);
  for (const n of ['io.k8s.api.core.v1.Service', 'io.k8s.api.core.v1.ServicePort', 'io.k8s.apimachinery.pkg.util.intstr.IntOrString', 'io.k8s.apimachinery.pkg.apis.meta.v1.Time']) {
    assert.ok(names.includes(n), n);
  }
  assert.ok(!names.includes('io.k8s.api.core.v1.Pod'));
});
