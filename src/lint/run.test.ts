import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { lintObjects, selectChecks, LintUsageError, INTERNAL_ERROR_ID } from './run.js';
import { parseManifests } from './load.js';
import { containersOf, podTemplateOf } from './objects.js';
import type { Check, LintObject } from './types.js';

/** Test checks: one finding per container without `image` tag pinning, one per object without labels, one that throws on kind Boom. */
const perContainer: Check = {
  id: 'fake-container',
  severity: 'warning',
  description: 'every container is flagged',
  kinds: ['Deployment', 'Pod'],
  scope: 'object',
  admission: true,
  origin: {},
  run: (obj) => {
    const t = podTemplateOf(obj);
    return t ? containersOf(t).map((c) => ({ message: `container ${c.name}`, path: [...c.path, 'image'], container: c.name })) : [];
  },
};
const perObject: Check = {
  id: 'fake-object',
  severity: 'info',
  description: 'every object is flagged',
  kinds: ['Deployment', 'Pod', 'Service', 'Boom'],
  scope: 'object',
  admission: true,
  origin: {},
  run: () => [{ message: 'object', path: ['metadata'] }, { message: 'kind', path: ['kind'], severity: 'error' }],
};
const crossOnly: Check = {
  id: 'fake-cross',
  severity: 'warning',
  description: 'cli only, reads the index',
  kinds: ['Service'],
  scope: 'cross',
  admission: false,
  origin: {},
  run: (_obj, ctx) => [{ message: `${ctx.index.byKind('Deployment').length} deployments`, path: ['spec'] }],
};
const thrower: Check = {
  id: 'fake-throws',
  severity: 'warning',
  description: 'throws',
  kinds: ['Boom'],
  scope: 'object',
  admission: true,
  origin: {},
  run: () => {
    throw new TypeError('cannot read x of undefined');
  },
};
const CHECKS = [perContainer, perObject, crossOnly, thrower];

const TEXT = `apiVersion: v1
kind: Service
metadata:
  name: s
spec: {}
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: d
  annotations:
    kubelite.io/lint-ignore.container.b: fake-container
spec:
  template:
    metadata:
      annotations:
        kubelite.io/lint-ignore: " fake-object , other "
    spec:
      containers:
      - name: a
        image: x
      - name: b
        image: y
---
apiVersion: v1
kind: Pod
metadata:
  name: p
  annotations:
    kubelite.io/lint-ignore: "*"
spec:
  containers:
  - name: a
    image: x
---
apiVersion: v1
kind: Boom
metadata:
  name: boom
`;

function objects(): LintObject[] {
  const r = parseManifests(TEXT, 'm.yaml');
  assert.deepEqual(r.errors, []);
  return r.objects;
}

const summary = (fs: ReturnType<typeof lintObjects>): string[] => fs.map((f) => `${f.object.kind}/${f.object.name} ${f.check} ${f.severity} ${f.message}${f.container ? ` [${f.container}]` : ''}`);

describe('lintObjects', () => {
  it('runs checks by kind, honours ignore annotations, turns a throw into internal-error, and sorts by object then position', () => {
    assert.deepEqual(summary(lintObjects(objects(), { checks: CHECKS })), [
      'Service/s fake-object error kind',
      'Service/s fake-object info object',
      'Service/s fake-cross warning 1 deployments',
      // Deployment: object ignore on the pod template skips fake-object; container b ignored for fake-container
      'Deployment/d fake-container warning container a [a]',
      // Pod: '*' ignores everything
      'Boom/boom internal-error error check fake-throws failed on this object (a kubelite bug, please report it): cannot read x of undefined',
      'Boom/boom fake-object error kind',
      'Boom/boom fake-object info object',
    ]);
  });
  it('admission mode skips checks not marked admission', () => {
    const ids = lintObjects(objects(), { checks: CHECKS, mode: 'admission' }).map((f) => f.check);
    assert.ok(!ids.includes('fake-cross'));
    assert.ok(ids.includes('fake-object'));
  });
  it('enable, disable and severity overrides', () => {
    assert.deepEqual(new Set(lintObjects(objects(), { checks: CHECKS, enable: ['fake-container'] }).map((f) => f.check)), new Set(['fake-container']));
    const ids = new Set(lintObjects(objects(), { checks: CHECKS, disable: ['fake-object', 'fake-throws'] }).map((f) => f.check));
    assert.deepEqual(ids, new Set(['fake-container', 'fake-cross']));
    const sev = lintObjects(objects(), { checks: CHECKS, enable: ['fake-object'], severity: { 'fake-object': 'warning' } });
    assert.deepEqual(new Set(sev.map((f) => f.severity)), new Set(['warning']));
  });
  it('an index can be given (admission: the cluster state)', () => {
    const fs = lintObjects(objects().slice(0, 1), { checks: CHECKS, enable: ['fake-cross'] });
    assert.equal(fs[0]!.message, '0 deployments');
    const withIndex = lintObjects(objects().slice(0, 1), {
      checks: CHECKS,
      enable: ['fake-cross'],
      index: { all: () => [], byKind: () => [{}, {}], get: () => undefined, podTemplatesSelectedBy: () => [] },
    });
    assert.equal(withIndex[0]!.message, '2 deployments');
  });
  it('objects without a source are fine (API objects)', () => {
    const fs = lintObjects([{ obj: { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } } }], { checks: CHECKS, enable: ['fake-object'] });
    assert.equal(fs.length, 2);
    assert.equal(fs[0]!.source, undefined);
  });
  it('internal-error is the documented id', () => {
    assert.equal(INTERNAL_ERROR_ID, 'internal-error');
  });
});

describe('selectChecks', () => {
  const cases: [string, Parameters<typeof selectChecks>[0], string[] | RegExp][] = [
    ['all by default', { checks: CHECKS }, ['fake-container', 'fake-object', 'fake-cross', 'fake-throws']],
    ['enable narrows', { checks: CHECKS, enable: ['fake-cross', 'fake-object'] }, ['fake-object', 'fake-cross']],
    ['disable removes, after enable', { checks: CHECKS, enable: ['fake-cross', 'fake-object'], disable: ['fake-cross'] }, ['fake-object']],
    ['unknown enable', { checks: CHECKS, enable: ['nope'] }, /unknown check: nope/],
    ['unknown disable', { checks: CHECKS, disable: ['nope', 'nah'] }, /unknown checks: nope, nah/],
    ['unknown severity override', { checks: CHECKS, severity: { nope: 'info' } }, /unknown check: nope/],
    ['optional checks are off by default', { checks: CHECKS.slice(0, 2), optional: CHECKS.slice(2) }, ['fake-container', 'fake-object']],
    ['enableOptional adds to the defaults', { checks: CHECKS.slice(0, 2), optional: CHECKS.slice(2), enableOptional: ['fake-throws'] }, ['fake-container', 'fake-object', 'fake-throws']],
    ['enable may name an optional check', { checks: CHECKS.slice(0, 2), optional: CHECKS.slice(2), enable: ['fake-cross'] }, ['fake-cross']],
    ['disable wins over enableOptional', { checks: CHECKS.slice(0, 2), optional: CHECKS.slice(2), enableOptional: ['fake-cross'], disable: ['fake-cross'] }, ['fake-container', 'fake-object']],
    ['enableOptional of a default check', { checks: CHECKS.slice(0, 2), optional: CHECKS.slice(2), enableOptional: ['fake-object'] }, /not an optional check .*: fake-object/],
    ['the real optional checks are known', { enableOptional: ['container-ephemeral-storage'], enable: ['container-ephemeral-storage'] }, ['container-ephemeral-storage']],
  ];
  for (const [name, opts, want] of cases) {
    it(name, () => {
      if (want instanceof RegExp) assert.throws(() => selectChecks(opts), (e: Error) => e instanceof LintUsageError && want.test(e.message));
      else assert.deepEqual(selectChecks(opts).map((c) => c.id), want);
    });
  }
});
