import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyJsonPatch, JsonPatchOpError } from './jsonpatch.js';

const doc = () => ({ metadata: { name: 'x', labels: { a: '1', 'b/c': '2', 'd~e': '3' } }, spec: { list: [1, 2, 3], n: null as null } });

const ok: [string, unknown[], (d: any) => void][] = [
  ['add field', [{ op: 'add', path: '/spec/x', value: { y: 1 } }], (d) => assert.deepEqual(d.spec.x, { y: 1 })],
  ['add replaces existing field', [{ op: 'add', path: '/metadata/name', value: 'y' }], (d) => assert.equal(d.metadata.name, 'y')],
  ['add into array index', [{ op: 'add', path: '/spec/list/1', value: 9 }], (d) => assert.deepEqual(d.spec.list, [1, 9, 2, 3])],
  ['add at array end index', [{ op: 'add', path: '/spec/list/3', value: 9 }], (d) => assert.deepEqual(d.spec.list, [1, 2, 3, 9])],
  ['add with -', [{ op: 'add', path: '/spec/list/-', value: 4 }], (d) => assert.deepEqual(d.spec.list, [1, 2, 3, 4])],
  ['add negative index', [{ op: 'add', path: '/spec/list/-1', value: 0 }], (d) => assert.deepEqual(d.spec.list, [1, 2, 3, 0])],
  ['escaped ~1 key', [{ op: 'replace', path: '/metadata/labels/b~1c', value: 'x' }], (d) => assert.equal(d.metadata.labels['b/c'], 'x')],
  ['escaped ~0 key', [{ op: 'remove', path: '/metadata/labels/d~0e' }], (d) => assert.equal('d~e' in d.metadata.labels, false)],
  ['remove field', [{ op: 'remove', path: '/metadata/labels/a' }], (d) => assert.deepEqual(Object.keys(d.metadata.labels), ['b/c', 'd~e'])],
  ['remove array item', [{ op: 'remove', path: '/spec/list/0' }], (d) => assert.deepEqual(d.spec.list, [2, 3])],
  ['remove negative index', [{ op: 'remove', path: '/spec/list/-1' }], (d) => assert.deepEqual(d.spec.list, [1, 2])],
  ['replace array item', [{ op: 'replace', path: '/spec/list/2', value: 'z' }], (d) => assert.deepEqual(d.spec.list, [1, 2, 'z'])],
  ['replace of a missing key adds it (v4 quirk)', [{ op: 'replace', path: '/metadata/labels/new', value: 'v' }], (d) => assert.equal(d.metadata.labels.new, 'v')],
  ['move', [{ op: 'move', from: '/metadata/labels/a', path: '/spec/a' }], (d) => {
    assert.equal(d.spec.a, '1');
    assert.equal(d.metadata.labels.a, undefined);
  }],
  ['copy is deep', [{ op: 'copy', from: '/metadata/labels', path: '/spec/l' }, { op: 'replace', path: '/spec/l/a', value: 'changed' }], (d) => {
    assert.equal(d.metadata.labels.a, '1');
    assert.equal(d.spec.l.a, 'changed');
  }],
  ['test passes then add', [{ op: 'test', path: '/metadata/name', value: 'x' }, { op: 'add', path: '/spec/t', value: true }], (d) => assert.equal(d.spec.t, true)],
  ['test deep value', [{ op: 'test', path: '/spec/list', value: [1, 2, 3] }], () => {}],
  ['test null against missing passes', [{ op: 'test', path: '/spec/missing', value: null }], () => {}],
  ['test null against null passes', [{ op: 'test', path: '/spec/n', value: null }], () => {}],
  ['path without leading slash resolves from root (v4 quirk)', [{ op: 'add', path: 'x/top', value: 1 }], (d) => assert.equal(d.top, 1)],
];

for (const [name, ops, check] of ok) {
  test(`json patch: ${name}`, () => {
    const input = doc();
    const out = applyJsonPatch(input, JSON.stringify(ops));
    check(out);
    assert.deepEqual(input, doc(), 'input must not be mutated');
  });
}

const failing: [string, unknown[], RegExp][] = [
  ['remove missing key', [{ op: 'remove', path: '/metadata/nope' }], /Unable to remove nonexistent key: nope/],
  ['add under missing parent', [{ op: 'add', path: '/spec/foo/bar', value: 1 }], /add operation does not apply: doc is missing path: "\/spec\/foo\/bar"/],
  ['add beyond array end', [{ op: 'add', path: '/spec/list/5', value: 1 }], /invalid index/],
  ['add bad index', [{ op: 'add', path: '/spec/list/x', value: 1 }], /not a proper array index/],
  ['remove beyond end', [{ op: 'remove', path: '/spec/list/3' }], /invalid index/],
  ['replace beyond end', [{ op: 'replace', path: '/spec/list/3', value: 1 }], /missing key/],
  ['test fails', [{ op: 'test', path: '/metadata/name', value: 'other' }], /testing value \/metadata\/name failed/],
  ['test missing with value', [{ op: 'test', path: '/spec/missing', value: 1 }], /test failed/],
  ['unknown op', [{ op: 'frob', path: '/x' }], /Unexpected kind: frob/],
  ['missing op', [{ path: '/x' }], /Unexpected kind: unknown/],
  ['move from missing parent', [{ op: 'move', from: '/a/b/c', path: '/x' }], /move operation does not apply/],
  ['whole-document path', [{ op: 'add', path: '', value: {} }], /doc is missing path/],
];

for (const [name, ops, cause] of failing) {
  test(`json patch fails with 422: ${name}`, () => {
    assert.throws(
      () => applyJsonPatch(doc(), JSON.stringify(ops)),
      (e: unknown) => {
        assert.ok(e instanceof StatusError);
        assert.equal(e.code, 422);
        assert.equal(e.reason, 'Invalid');
        assert.equal(e.message, 'the server rejected our request due to an error in our request');
        const c = (e as Error & { cause?: unknown }).cause;
        assert.ok(c instanceof JsonPatchOpError);
        assert.match(c.message, cause);
        return true;
      },
    );
  });
}

const undecodable: [string, string, string][] = [
  ['object body', '{"op":"add"}', 'json: cannot unmarshal object into Go value of type jsonpatch.Patch'],
  ['string element', '["x"]', 'json: cannot unmarshal string into Go value of type jsonpatch.Operation'],
  ['syntax error', '[{]', "invalid character ']' looking for beginning of value"],
  ['empty body', '', 'unexpected end of JSON input'],
];
for (const [name, body, message] of undecodable) {
  test(`json patch decode error is 400: ${name}`, () => {
    assert.throws(() => applyJsonPatch(doc(), body), (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === message);
  });
}

test('json patch: null body is an empty patch', () => {
  assert.deepEqual(applyJsonPatch(doc(), 'null'), doc());
});

test('json patch: more than 10000 operations is 413', () => {
  const ops = Array.from({ length: 10001 }, () => ({ op: 'test', path: '/metadata/name', value: 'x' }));
  assert.throws(
    () => applyJsonPatch(doc(), JSON.stringify(ops)),
    (e: unknown) =>
      e instanceof StatusError &&
      e.code === 413 &&
      e.message === 'Request entity too large: The allowed maximum operations in a JSON patch is 10000, got 10001',
  );
  const okOps = ops.slice(0, 10000);
  assert.deepEqual(applyJsonPatch(doc(), JSON.stringify(okOps)), doc());
});
