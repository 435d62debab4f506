import { test } from 'node:test';
import assert from 'node:assert/strict';
import { FieldSet, comparePE, pathToString, peField, peKey, peValue, type Path } from './fieldpath.js';

const P = (...pes: string[]): Path => pes;

test('fieldsV1: round trip keeps upstream order (. first, fields < keys < values)', () => {
  const raw =
    '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:ports":{".":{},"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{}},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{}},"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}}}}';
  const s = FieldSet.fromFieldsV1(JSON.parse(raw));
  const out = JSON.stringify(s.toFieldsV1());
  // spec's children sorted by name: finalizers < ports.
  assert.equal(
    out,
    '{"f:metadata":{"f:labels":{".":{},"f:app":{}}},"f:spec":{"f:finalizers":{"v:\\"a\\"":{},"v:\\"b\\"":{}},"f:ports":{".":{},"k:{\\"port\\":80,\\"protocol\\":\\"TCP\\"}":{".":{},"f:port":{}},"k:{\\"port\\":443,\\"protocol\\":\\"TCP\\"}":{}}}}',
  );
});

test('path elements: keys sorted by name, values JSON, Go escaping', () => {
  assert.equal(peKey([['protocol', 'TCP'], ['containerPort', 80]]), 'k:{"containerPort":80,"protocol":"TCP"}');
  assert.equal(peValue('a<b'), 'v:"a\\u003cb"');
  const order = ['v:"b"', 'k:{"name":"b"}', 'f:z', 'k:{"name":"a"}', 'f:a', 'v:1'];
  assert.deepEqual(order.sort(comparePE), ['f:a', 'f:z', 'k:{"name":"a"}', 'k:{"name":"b"}', 'v:1', 'v:"b"']);
  assert.deepEqual(['k:{"port":443}', 'k:{"port":80}'].sort(comparePE), ['k:{"port":80}', 'k:{"port":443}'], 'numeric, not lexical');
});

test('paths print as kube prints them in conflicts', () => {
  const cases: [Path, string][] = [
    [P(peField('spec'), peField('replicas')), '.spec.replicas'],
    [P(peField('spec'), peField('containers'), peKey([['name', 'nginx']]), peField('image')), '.spec.containers[name="nginx"].image'],
    [P(peField('ports'), peKey([['port', 80], ['protocol', 'TCP']])), '.ports[port=80,protocol="TCP"]'],
    [P(peField('finalizers'), peValue('x')), '.finalizers[="x"]'],
  ];
  for (const [p, s] of cases) assert.equal(pathToString(p), s);
});

test('set algebra is member-wise; recursiveDifference drops subtrees', () => {
  const a = FieldSet.fromPaths([P('f:a'), P('f:a', 'f:b'), P('f:c', 'f:d')]);
  const b = FieldSet.fromPaths([P('f:a'), P('f:c', 'f:d'), P('f:e')]);
  assert.deepEqual(a.difference(b).paths(), [P('f:a', 'f:b')]);
  assert.deepEqual(a.intersection(b).paths(), [P('f:a'), P('f:c', 'f:d')]);
  assert.deepEqual(a.union(b).paths(), [P('f:a'), P('f:e'), P('f:a', 'f:b'), P('f:c', 'f:d')]);
  assert.deepEqual(a.recursiveDifference(FieldSet.fromPaths([P('f:a')])).paths(), [P('f:c', 'f:d')]);
  assert.equal(a.has(P('f:c')), false);
  assert.equal(a.has(P('f:c', 'f:d')), true);
  assert.equal(a.difference(a).isEmpty(), true);
});

test('fieldsV1 rejects garbage', () => {
  assert.throws(() => FieldSet.fromFieldsV1('x'));
  assert.throws(() => FieldSet.fromFieldsV1({ 'z:x': {} }));
});

test('intersects and isSubsetOf agree with intersection and difference', () => {
  const P = (...names: string[]): Path => names.map(peField);
  const cases: [Path[], Path[]][] = [
    [[P('a')], [P('a')]],
    [[P('a')], [P('a', 'b')]],
    [[P('a', 'b')], [P('a', 'c')]],
    [[P('a', 'b'), P('x')], [P('x')]],
    [[P('a'), P('a', 'b')], [P('a', 'b')]],
    [[], [P('a')]],
    [[P('s', 'conditions')], [P('s', 'conditions', 'x'), P('s')]],
  ];
  for (const [l, r] of cases) {
    const a = FieldSet.fromPaths(l);
    const b = FieldSet.fromPaths(r);
    for (const [x, y] of [[a, b], [b, a]]) {
      assert.equal(x.intersects(y), !x.intersection(y).isEmpty(), `${JSON.stringify(l)} ∩ ${JSON.stringify(r)}`);
      assert.equal(x.isSubsetOf(y), x.difference(y).isEmpty(), `${JSON.stringify(l)} ⊆ ${JSON.stringify(r)}`);
    }
  }
});
