import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ALL_CHECKS, checkById } from './index.js';

describe('ALL_CHECKS', () => {
  it('ids are unique (checkById, --enable and SARIF rules depend on it)', () => {
    const seen = new Map<string, number>();
    for (const c of ALL_CHECKS) seen.set(c.id, (seen.get(c.id) ?? 0) + 1);
    assert.deepEqual([...seen].filter(([, n]) => n > 1).map(([id]) => id), []);
  });
  it('ids are kebab-case, with a description and kinds', () => {
    for (const c of ALL_CHECKS) {
      assert.match(c.id, /^[a-z0-9]+(-[a-z0-9]+)*$/, c.id);
      assert.ok(c.description.length > 0 && c.kinds.length > 0, c.id);
      assert.notEqual(c.id, 'internal-error');
    }
  });
  it('checkById finds each check', () => {
    for (const c of ALL_CHECKS) assert.equal(checkById(c.id)?.id, c.id);
    assert.equal(checkById('no-such-check'), undefined);
  });
});
