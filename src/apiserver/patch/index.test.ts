import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyPatchByType, PATCH_TYPES } from './index.js';
import { DEFS, DEPLOYMENT, liveDeployment } from './testfixtures.js';

const base = { defs: DEFS, defName: DEPLOYMENT };

const dispatch: [string, string, (o: any) => void][] = [
  ['application/json-patch+json', JSON.stringify([{ op: 'replace', path: '/spec/replicas', value: 4 }]), (o) => assert.equal(o.spec.replicas, 4)],
  ['application/merge-patch+json', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'x' }] } } } }), (o) =>
    assert.deepEqual(o.spec.template.spec.containers, [{ name: 'x' }])],
  ['application/strategic-merge-patch+json; charset=utf-8', JSON.stringify({ spec: { template: { spec: { containers: [{ name: 'x' }] } } } }), (o) =>
    assert.equal(o.spec.template.spec.containers.length, 3)],
];

for (const [ct, body, check] of dispatch) {
  test(`applyPatchByType dispatches ${ct}`, () => {
    const r = applyPatchByType(ct, { ...base, live: liveDeployment(), body: Buffer.from(body) });
    check(r.object);
    assert.equal(r.created, false);
    assert.equal(r.managedFields, undefined);
  });
}

test('applyPatchByType: apply creates and sets managedFields', () => {
  const body = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n';
  const r = applyPatchByType(PATCH_TYPES.apply, { ...base, live: undefined, body, manager: 'm', apiVersion: 'apps/v1' });
  assert.equal(r.created, true);
  assert.equal(r.managedFields?.[0]?.manager, 'm');
});

test('applyPatchByType: unsupported media type is 415', () => {
  assert.throws(() => applyPatchByType('application/json', { ...base, live: liveDeployment(), body: '{}' }), (e: unknown) => e instanceof StatusError && e.code === 415);
});

test('applyPatchByType: non-apply patch of a missing object is 404', () => {
  assert.throws(
    () => applyPatchByType(PATCH_TYPES.merge, { ...base, live: undefined, body: '{}', target: { resource: 'deployments', group: 'apps', name: 'web' } }),
    (e: unknown) => e instanceof StatusError && e.code === 404 && e.message === 'deployments.apps "web" not found',
  );
});

test('applyPatchByType: a result that is not an object is 422', () => {
  assert.throws(
    () => applyPatchByType(PATCH_TYPES.merge, { ...base, live: liveDeployment(), body: '[1]' }),
    (e: unknown) => e instanceof StatusError && e.code === 422 && e.reason === 'Invalid',
  );
});
