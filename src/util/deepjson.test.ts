import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iterativeStringify, stringifyJson, stringifyYaml } from './deepjson.js';

function deep(n: number): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  let c = root;
  for (let i = 0; i < n; i++) {
    const next: Record<string, unknown> = { x: [i, 'é"\n', null] };
    c.a = next;
    c = next;
  }
  return root;
}

test('iterativeStringify matches JSON.stringify on ordinary data', () => {
  const cases: unknown[] = [
    null,
    0,
    -1.5,
    'a"b\\c\u0001',
    true,
    [],
    {},
    [1, [2, [3, {}]], { a: [] }],
    { a: 1, b: undefined, c: () => 1, d: [undefined, () => 1], e: { f: 'g' }, 'k"ey': null },
    { first: undefined, second: 2 },
    { date: new Date(0) },
    deep(50),
  ];
  for (const c of cases) assert.equal(iterativeStringify(c), JSON.stringify(c), JSON.stringify(c));
});

test('objects nested beyond the native serializers still come out, and parse back equal', () => {
  const o = deep(9000);
  assert.throws(() => JSON.stringify(o), RangeError, 'the native path really overflows here');
  const text = stringifyJson(o);
  // (assert.deepEqual itself recurses too deep here: compare the re-serialised parse instead.)
  assert.equal(iterativeStringify(JSON.parse(text)), text);
  assert.equal(text.length, iterativeStringify(o).length);
  assert.match(text, /^\{"a":\{"x":\[0,"é\\"\\n",null\],"a":/);
  const y = stringifyYaml(deep(2000));
  assert.equal(y, `${iterativeStringify(deep(2000))}\n`, 'too deep for the YAML emitter: JSON text (valid YAML)');
  assert.equal(stringifyYaml({ a: 1 }), 'a: 1\n');
});
