import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyMergePatch } from './mergepatch.js';

// RFC 7386 appendix A, plus the evanphx/json-patch.v4 behaviour kube inherits.
const cases: [string, unknown, unknown, unknown][] = [
  ['replace scalar', { a: 'b' }, { a: 'c' }, { a: 'c' }],
  ['add key', { a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
  ['null deletes', { a: 'b' }, { a: null }, {}],
  ['null deletes one of two', { a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
  ['list replaces', { a: ['b'] }, { a: 'c' }, { a: 'c' }],
  ['scalar replaced by list', { a: 'c' }, { a: ['b'] }, { a: ['b'] }],
  ['nested merge with delete', { a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
  ['list of objects replaced whole', { a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
  ['nested nulls pruned on new key', {}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ['nulls kept as list elements', {}, { a: [null, { b: null, c: 1 }] }, { a: [null, { c: 1 }] }],
  ['object replaced by scalar', { a: { b: 1 } }, { a: 2 }, { a: 2 }],
  ['scalar replaced by object prunes nulls', { a: 1 }, { a: { b: null, c: 2 } }, { a: { c: 2 } }],
  ['empty patch is a no-op', { a: 1 }, {}, { a: 1 }],
  ['array patch replaces the document', { a: 1 }, [1, null], [1, null]],
];

for (const [name, doc, patch, want] of cases) {
  test(`merge patch: ${name}`, () => {
    const before = JSON.stringify(doc);
    assert.deepEqual(applyMergePatch(doc as never, JSON.stringify(patch)), want);
    assert.equal(JSON.stringify(doc), before, 'input must not be mutated');
  });
}

for (const [name, body] of [
  ['null patch', 'null'],
  ['string patch', '"x"'],
  ['number patch', '3'],
  ['syntax error', '{'],
] as const) {
  test(`merge patch: ${name} is 400 Invalid JSON Patch`, () => {
    assert.throws(
      () => applyMergePatch({ a: 1 }, body),
      (e: unknown) => e instanceof StatusError && e.code === 400 && e.reason === 'BadRequest' && e.message === 'Invalid JSON Patch',
    );
  });
}
