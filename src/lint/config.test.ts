import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseConfig, loadConfig, LintConfigError } from './config.js';
import type { Check } from './types.js';

const check = (id: string): Check => ({ id, severity: 'warning', description: id, kinds: [], scope: 'object', admission: true, origin: {}, run: () => [] });
const CHECKS = [check('a'), check('b')];

describe('parseConfig', () => {
  const ok: [string, string, unknown][] = [
    ['empty file', '', {}],
    ['comments only', '# nothing\n', {}],
    ['everything', 'enable: [a]\ndisable:\n- b\nseverity:\n  a: info\nfailOn: error\n', { enable: ['a'], disable: ['b'], severity: { a: 'info' }, failOn: 'error' }],
  ];
  for (const [name, text, want] of ok) it(name, () => assert.deepEqual(parseConfig(text, 'c.yaml', CHECKS), want));

  const bad: [string, string, RegExp][] = [
    ['unknown field', 'enable: [a]\nfailon: error\n', /^c\.yaml:2: unknown field "failon"/],
    ['unknown check', 'disable: [a, zzz]\n', /^c\.yaml:1: disable: unknown check zzz/],
    ['not a list', 'enable: a\n', /enable must be a list of check ids/],
    ['bad severity', 'severity:\n  a: fatal\n', /^c\.yaml:1: severity\.a must be error, warning or info \(got "fatal"\)/],
    ['severity of unknown check', 'severity: {q: info}\n', /severity: unknown check q/],
    ['bad failOn', 'failOn: 3\n', /failOn must be error, warning or info \(got 3\)/],
    ['not a mapping', '- a\n', /the config must be a mapping/],
    ['invalid YAML', 'enable: [a\n', /^c\.yaml:2: invalid YAML/],
  ];
  for (const [name, text, re] of bad) {
    it(name, () => assert.throws(() => parseConfig(text, 'c.yaml', CHECKS), (e: Error) => e instanceof LintConfigError && re.test(e.message)));
  }
});

describe('loadConfig', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kubelite-lint-config-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));
  it('no default file: empty config; a default file is read', () => {
    assert.deepEqual(loadConfig(undefined, { checks: CHECKS, cwd: dir }), {});
    writeFileSync(join(dir, '.kubelite-lint.yaml'), 'failOn: info\n');
    assert.deepEqual(loadConfig(undefined, { checks: CHECKS, cwd: dir }), { failOn: 'info' });
  });
  it('an explicit missing file is an error', () => {
    assert.throws(() => loadConfig(join(dir, 'nope.yaml'), { checks: CHECKS }), /nope\.yaml: cannot read config: no such file/);
  });
});
