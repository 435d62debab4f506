/**
 * Request parsing: inputs the fuzz test (test/fuzz.test.ts) found answering 500 must be
 * client errors (400 BadRequest Status), as kube-apiserver treats them.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { checkBodyNesting, decodeBody, MAX_NESTING, nonJsonValue, parseApiPath, queryInt } from './request.js';

function badRequest(fn: () => unknown, message: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof StatusError, `a StatusError, got ${String(err)}`);
    assert.equal(err.code, 400);
    assert.equal(err.reason, 'BadRequest');
    assert.match(err.message, message);
    return true;
  });
}

const nested = (depth: number): string => '{"a":'.repeat(depth - 1) + '{}' + '}'.repeat(depth - 1);

describe('request parsing rejects hostile input with 400', () => {
  const rejected: { name: string; run: () => unknown; message: RegExp }[] = [
    { name: 'a self-referencing YAML alias', run: () => decodeBody(Buffer.from('a: &x [*x]'), 'application/yaml'), message: /contains itself/ },
    { name: 'a cyclic alias in an apply patch', run: () => decodeBody(Buffer.from('spec: &s {x: *s}'), 'application/apply-patch+yaml'), message: /contains itself/ },
    { name: 'JSON nested deeper than the limit', run: () => decodeBody(Buffer.from(nested(MAX_NESTING + 1)), 'application/json'), message: /nested too deeply/ },
    { name: 'deep arrays', run: () => decodeBody(Buffer.from('['.repeat(1500) + ']'.repeat(1500)), 'application/merge-patch+json'), message: /nested too deeply/ },
    // Past ~5000 levels the YAML composer overflowed the stack and V8 aborted the process.
    { name: 'deep YAML block sequences', run: () => decodeBody(Buffer.from('- '.repeat(6000) + 'x'), 'application/apply-patch+yaml'), message: /nested too deeply/ },
    { name: 'deep YAML flow collections after a non-JSON start', run: () => decodeBody(Buffer.from('[[[x' + '['.repeat(8000)), 'application/yaml'), message: /nested too deeply/ },
    { name: 'deep JSON inside a YAML body', run: () => decodeBody(Buffer.from('['.repeat(20000) + ']'.repeat(20000)), 'application/apply-patch+yaml'), message: /nested too deeply/ },
    { name: 'unterminated deep JSON', run: () => decodeBody(Buffer.from('{"a":'.repeat(20000)), 'application/json'), message: /nested too deeply/ },
    { name: 'a deep JSON patch value', run: () => checkBodyNesting(Buffer.from(`[{"op":"add","path":"/a","value":${nested(MAX_NESTING)}}]`)), message: /nested too deeply/ },
    { name: 'a malformed percent escape in the path', run: () => parseApiPath('/api/v1/namespaces/%ZZ/configmaps'), message: /malformed request URL/ },
    { name: 'a truncated percent escape', run: () => parseApiPath('/api/v1/namespaces/default/configmaps/%E0%A4%A'), message: /malformed request URL/ },
    { name: 'an integer beyond 2^53', run: () => queryInt(new URLSearchParams('limit=99999999999999999999'), 'limit'), message: /out of range/ },
  ];
  for (const c of rejected) it(c.name, () => badRequest(c.run, c.message));

  it('accepts nesting up to the limit, a shared (acyclic) YAML alias and large safe integers', () => {
    assert.ok(decodeBody(Buffer.from(nested(MAX_NESTING)), 'application/json').value);
    assert.deepEqual(decodeBody(Buffer.from('a: &x [1]\nb: *x'), 'application/yaml').value, { a: [1], b: [1] });
    checkBodyNesting(Buffer.from('not json'));
    // Brackets inside strings are not nesting.
    const brackets = '['.repeat(5000);
    assert.deepEqual(decodeBody(Buffer.from(JSON.stringify({ data: { a: brackets, 'b"[': '\\"[' } })), 'application/json').value, { data: { a: brackets, 'b"[': '\\"[' } });
    assert.deepEqual(decodeBody(Buffer.from(`data:\n  a: "${brackets}"\n`), 'application/yaml').value, { data: { a: brackets } });
    assert.equal(queryInt(new URLSearchParams('limit=9007199254740991'), 'limit'), 9007199254740991);
    assert.deepEqual(parseApiPath('/api/v1/namespaces/a%2Fb/configmaps'), {
      type: 'resource',
      path: { group: '', version: 'v1', namespace: 'a/b', plural: 'configmaps', name: undefined, subresource: undefined, legacyWatch: false },
    });
  });
});

describe('YAML bodies hold only what JSON can', () => {
  for (const text of ['!!binary AAA', 'a: !!binary AAA', 'a: !!timestamp 2001-12-14', 'a: !!set {x}', 'a: .inf']) {
    it(`refuses or flattens ${JSON.stringify(text)} without a non-JSON value`, () => {
      let value: unknown;
      try {
        value = decodeBody(Buffer.from(text), 'application/yaml').value;
      } catch (err) {
        assert.equal((err as { code?: number }).code, 400);
        return;
      }
      assert.equal(nonJsonValue(value), undefined, JSON.stringify(value));
    });
  }
});
