import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parse as parseYaml } from 'yaml';
import { parseFastJson } from './fast-json.js';
import { parseManifests } from './load.js';
import { assertSameAsYamlPackage, fuzzAgainstYamlPackage } from './fast-testutil.js';

const SEED_JSON = JSON.stringify(parseYaml(readFileSync(new URL('../../../shared/examples/seed-app.yaml', import.meta.url), 'utf8').split('\n---\n')[0]!), null, 4);

function assertSame(text: string, fastExpected: boolean): void {
  assert.equal(parseFastJson(text, 100) !== undefined, fastExpected, `JSON fast path ${fastExpected ? 'should' : 'should not'} accept:\n${text}`);
  assertSameAsYamlPackage(text);
}

const ACCEPTED: [string, string][] = [
  ['kubectl -o json style (4-space indent)', SEED_JSON],
  ['compact, one line', JSON.stringify(JSON.parse(SEED_JSON))],
  ['a List', JSON.stringify({ apiVersion: 'v1', kind: 'List', items: [{ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' } }, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: {} }] }, null, 2)],
  ['scalars, escapes, empty collections', `{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "x", "labels": {}},
  "data": {"s": "a \\"b\\" \\u00e9 \\n \\\\ \\/", "e": "", "yes": "yes"}, "n": [0, -3, 8080, 1.5, -0.25, 12345678901234567890, true, false, null, [], {}]}`],
  ['exponent numbers resolved as YAML 1.1 resolves them', '{"apiVersion": "v1", "kind": "A", "x": 1e3, "y": 1E+2, "z": -2.5e-3}'],
  ['leading blank lines and trailing newline', `\n\n  {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "p"}}\n`],
];

const REFUSED: [string, string][] = [
  ['duplicate key', '{"apiVersion": "v1", "kind": "A", "kind": "B"}'],
  ['numeric key', '{"apiVersion": "v1", "kind": "A", "data": {"80": "http"}}'],
  ['trailing content', '{"apiVersion": "v1", "kind": "A"} {"b": 1}'],
  ['key and colon on different lines', '{"apiVersion": "v1", "kind": "A", "x"\n: 1}'],
  ['tab', '{"apiVersion":\t"v1", "kind": "A"}'],
  ['root array', '[{"apiVersion": "v1", "kind": "A"}]'],
  ['unterminated', '{"apiVersion": "v1", "kind": "A"'],
  ['trailing comma', '{"apiVersion": "v1", "kind": "A",}'],
  ['__proto__ key', '{"apiVersion": "v1", "kind": "A", "__proto__": {"x": 1}}'],
  ['control character in a string', '{"apiVersion": "v1", "kind": "A\u0001"}'],
];

for (const [name, text] of ACCEPTED) {
  test(`JSON fast path accepts and matches the yaml package: ${name}`, () => assertSame(text, true));
}
for (const [name, text] of REFUSED) {
  test(`JSON fast path leaves to the yaml package (same result): ${name}`, () => assertSame(text, false));
}

test('JSON fast path respects the depth limit', () => {
  const text = `{"apiVersion": "v1", "kind": "A", "x": ${'{"k": '.repeat(10)}1${'}'.repeat(10)}}`;
  assert.equal(parseFastJson(text, 5), undefined);
  assert.notEqual(parseFastJson(text, 50), undefined);
  assert.match(parseManifests(text, 'f', { maxDepth: 5 }).errors[0]?.message ?? '', /nesting deeper than 5 levels/);
});

test('JSON fast path equals the yaml package on mutated JSON manifests', () => {
  const accepted = fuzzAgainstYamlPackage({
    base: ACCEPTED.map(([, text]) => text),
    pieces: [' ', '\n', ',', ':', '"', '{', '}', '[', ']', '\\', '\\u00', '0', '-', '1.5', 'e5', 'true', 'null', '"k": 1, '],
    fast: (text) => parseFastJson(text, 100) !== undefined,
  });
  assert.ok(accepted > 40, `the fast path should still accept many mutated files (accepted ${accepted})`);
});
