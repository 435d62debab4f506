import { test } from 'node:test';
import assert from 'node:assert/strict';
import { JsonSyntaxError, parseJson } from './json.js';

test('parseJson: values equal JSON.parse and duplicates carry strict-decoder paths', () => {
  const cases: { text: string; duplicates: string[] }[] = [
    { text: '{"a":1}', duplicates: [] },
    { text: '{"spec":{"replicas":1,"replicas":2}}', duplicates: ['spec.replicas'] },
    { text: '{"a":1,"a":2,"b":1,"b":2,"a":3}', duplicates: ['a', 'b'] },
    { text: '{"spec":{"containers":[{"name":"a"},{"name":"b","name":"c"}]}}', duplicates: ['spec.containers[1].name'] },
    { text: '{"metadata":{"labels":{"app":"x","app":"y"}}}', duplicates: ['metadata.labels.app'] },
    { text: '[[{"k":1,"k":2}]]', duplicates: ['[0][0].k'] },
    { text: ' "s\\u00e9\\n\\"" ', duplicates: [] },
    { text: '[-0.5e+3, 0, 12, true, false, null, {}, []]', duplicates: [] },
  ];
  for (const c of cases) {
    const r = parseJson(c.text);
    assert.deepEqual(r.value, JSON.parse(c.text), c.text);
    assert.deepEqual(r.duplicates, c.duplicates, c.text);
  }
});

test('parseJson: the last duplicate wins, __proto__ stays an own property', () => {
  const v = parseJson('{"x":1,"x":2,"__proto__":{"polluted":true}}').value as Record<string, unknown>;
  assert.equal(v.x, 2);
  assert.deepEqual(Object.getPrototypeOf(v), Object.prototype);
  assert.deepEqual(Object.keys(v), ['x', '__proto__']);
  assert.equal(({} as Record<string, unknown>).polluted, undefined);
});

test('parseJson: syntax errors use Go encoding/json wording', () => {
  const cases: [string, string][] = [
    ['', 'unexpected end of JSON input'],
    ['{"a":1', 'unexpected end of JSON input'],
    ['x', "invalid character 'x' looking for beginning of value"],
    ['{a:1}', "invalid character 'a' looking for beginning of object key string"],
    ['{"a" 1}', "invalid character '1' after object key"],
    ['{"a":1 "b":2}', `invalid character '"' after object key:value pair`],
    ['[1 2]', "invalid character '2' after array element"],
    ['{} x', "invalid character 'x' after top-level value"],
    ['tru', 'unexpected end of JSON input'],
    ['trux', "invalid character 'x' in literal true (expecting 'e')"],
    ['"a\\qb"', "invalid character 'q' in string escape code"],
    ['"a\nb"', "invalid character '\\n' in string literal"],
    ['-x', "invalid character 'x' in numeric literal"],
    ['1.x', "invalid character 'x' after decimal point in numeric literal"],
    ['1ex', "invalid character 'x' in exponent of numeric literal"],
  ];
  for (const [text, message] of cases) {
    assert.throws(() => parseJson(text), (e: unknown) => e instanceof JsonSyntaxError && e.message === message, `${JSON.stringify(text)} → ${message}`);
  }
});
