/**
 * The lint corpus (issue 9, acceptance 2): for every check, a manifest that breaks the practice
 * (`corpus/<check-id>/bad.yaml`) and the same manifest fixed (`good.yaml`), linted exactly as
 * `kubelite lint FILE --format json` does (lintCommand in-process, every optional check on).
 *
 * bad.yaml marks each line a finding of its check must point at with a trailing comment
 * `# expect: <check-id>`: the test asserts the finding lines are exactly the marked lines (so the
 * line numbers of the human, JSON and SARIF outputs are checked too), and good.yaml must get no
 * finding of that check. Other checks may fire in either file: each pair is about one practice.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { lintCommand } from '../../src/cli/lint.js';
import { ALL_CHECKS, OPTIONAL_CHECKS } from '../../src/lint/checks/index.js';

const DIR = new URL('./corpus/', import.meta.url).pathname;
const CHECKS = [...ALL_CHECKS, ...OPTIONAL_CHECKS];
const OPTIONAL_IDS = OPTIONAL_CHECKS.map((c) => c.id).join(',');

interface JsonFinding {
  check: string;
  severity: string;
  line: number;
  column: number;
  path: string;
  message: string;
}

async function lintFile(file: string): Promise<{ code: number; findings: JsonFinding[]; err: string }> {
  let out = '';
  let err = '';
  const code = await lintCommand([file, '--format', 'json', '--fail-on', 'error', ...(OPTIONAL_IDS ? ['--enable-optional', OPTIONAL_IDS] : [])], {
    stdout: (s) => (out += s),
    stderr: (s) => (err += s),
    cwd: DIR,
  });
  return { code, findings: code === 2 ? [] : (JSON.parse(out) as JsonFinding[]), err };
}

/** Line numbers (1-based) carrying `# expect: id[, id...]` for `id`. */
function markedLines(text: string, id: string): number[] {
  const out: number[] = [];
  text.split('\n').forEach((line, i) => {
    const m = /#\s*expect:\s*([a-z0-9, -]+)\s*$/.exec(line);
    if (m && m[1]!.split(',').map((s) => s.trim()).includes(id)) out.push(i + 1);
  });
  return out;
}

const unique = (xs: number[]): number[] => [...new Set(xs)].sort((a, b) => a - b);

describe('lint corpus: a bad and a good manifest for every check', () => {
  it('every check has corpus/<id>/bad.yaml and good.yaml, and every corpus directory is a check', () => {
    const missing = CHECKS.flatMap((c) => ['bad.yaml', 'good.yaml'].filter((f) => !existsSync(join(DIR, c.id, f))).map((f) => `${c.id}/${f}`));
    assert.deepEqual(missing, []);
    const ids = new Set(CHECKS.map((c) => c.id));
    assert.deepEqual(readdirSync(DIR).filter((d) => !ids.has(d)), []);
  });

  for (const check of CHECKS) {
    const dir = join(DIR, check.id);
    it(`${check.id}: bad.yaml is flagged at the marked lines, good.yaml is not`, { skip: !existsSync(join(dir, 'bad.yaml')) && 'no corpus yet' }, async () => {
      const badFile = join(dir, 'bad.yaml');
      const bad = await lintFile(badFile);
      assert.notEqual(bad.code, 2, `bad.yaml has input errors: ${bad.err}`);
      const want = markedLines(readFileSync(badFile, 'utf8'), check.id);
      assert.ok(want.length > 0, `bad.yaml marks no line with "# expect: ${check.id}"`);
      const got = bad.findings.filter((f) => f.check === check.id);
      assert.deepEqual(unique(got.map((f) => f.line)), unique(want), `findings of ${check.id} in bad.yaml: ${JSON.stringify(got, null, 1)}`);

      const good = await lintFile(join(dir, 'good.yaml'));
      assert.notEqual(good.code, 2, `good.yaml has input errors: ${good.err}`);
      assert.deepEqual(good.findings.filter((f) => f.check === check.id), [], 'good.yaml must not get this check');
    });
  }
});
