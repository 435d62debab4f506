/**
 * Every check has its doc entry: docs/lint.md carries a `### \`id\`` heading (the anchor SARIF
 * rules link to) with the check's severity and description, and lists it in a mapping table.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ALL_CHECKS } from './checks/index.js';
import { OPTIONAL_SINGLE_CHECKS } from './checks/single/index.js';

const DOC = readFileSync(new URL('../../docs/lint.md', import.meta.url), 'utf8');

describe('docs/lint.md', () => {
  for (const c of [...ALL_CHECKS, ...OPTIONAL_SINGLE_CHECKS]) {
    it(c.id, () => {
      const at = DOC.indexOf(`### \`${c.id}\`\n`);
      assert.ok(at >= 0, `a heading for ${c.id}`);
      const entry = DOC.slice(at, DOC.indexOf('\n### ', at + 1) >>> 0 || undefined);
      assert.ok(entry.includes(c.description), `${c.id}: its description`);
      assert.match(entry, new RegExp(`^${c.severity} · `, 'm'), `${c.id}: its severity`);
      assert.ok(DOC.includes(`| \`${c.id}\``), `${c.id} is in a mapping table`);
    });
  }
});
