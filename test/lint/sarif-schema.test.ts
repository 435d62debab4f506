/**
 * SARIF output validates against the SARIF 2.1.0 JSON schema, and every result's region points
 * at the offending field in the file (acceptance 4).
 *
 * Needs `ajv` and `ajv-formats` (devDependencies) and the schema file (OASIS
 * sarif-schema-2.1.0.json) at test/lint/fixtures/sarif-schema-2.1.0.json or $SARIF_SCHEMA;
 * skips with a message when either is missing. $KUBELITE_TEST_MODULES may name a
 * node_modules directory to load ajv from (for running before the packages are installed).
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { loadFile } from '../../src/lint/load.js';
import { lintObjects, selectChecks } from '../../src/lint/run.js';
import { toSarif } from '../../src/lint/format/sarif.js';
import type { FieldPath } from '../../src/lint/types.js';

const ROOT = new URL('../..', import.meta.url).pathname;
const SEED = join(ROOT, '..', 'shared', 'examples', 'seed-app.yaml');

type Validate = ((data: unknown) => boolean) & { errors?: unknown };

function loadValidator(): Validate | string {
  const schemaPath = process.env['SARIF_SCHEMA'] ?? join(ROOT, 'test', 'lint', 'fixtures', 'sarif-schema-2.1.0.json');
  if (!existsSync(schemaPath)) return `no SARIF schema at ${schemaPath} (set SARIF_SCHEMA)`;
  const from = process.env['KUBELITE_TEST_MODULES'] ? join(process.env['KUBELITE_TEST_MODULES'], 'x.js') : join(ROOT, 'package.json');
  const req = createRequire(from);
  let Ajv: new (o: object) => { compile(s: unknown): Validate };
  let addFormats: (a: unknown) => void;
  try {
    const ajvMod = req('ajv') as { default?: unknown };
    Ajv = (ajvMod.default ?? ajvMod) as typeof Ajv;
    const fmtMod = req('ajv-formats') as { default?: unknown };
    addFormats = (fmtMod.default ?? fmtMod) as typeof addFormats;
  } catch {
    return 'ajv and ajv-formats are not installed (npm install -D ajv ajv-formats)';
  }
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  return ajv.compile(JSON.parse(readFileSync(schemaPath, 'utf8')));
}

describe('SARIF 2.1.0', () => {
  const validate = loadValidator();
  const loaded = loadFile(SEED);
  const findings = lintObjects(loaded.objects);
  const log = toSarif({ objects: loaded.objects, findings, checks: selectChecks(), failOn: 'warning', cwd: join(ROOT, '..') });

  it('validates against the schema', (t) => {
    if (typeof validate === 'string') {
      t.skip(validate);
      return;
    }
    assert.deepEqual(loaded.errors, []);
    assert.ok(findings.length > 0, 'the seed app has findings');
    assert.ok(validate(log), JSON.stringify(validate.errors, null, 2));
    // the validator is real: a wrong level is refused
    const broken = JSON.parse(JSON.stringify(log)) as { runs: { results: { level: string }[] }[] };
    broken.runs[0]!.results[0]!.level = 'info';
    assert.equal(validate(broken), false);
    // an internal-error result, stdin and a file outside cwd are valid too
    const odd = toSarif({
      objects: [],
      findings: [
        { check: 'internal-error', severity: 'error', message: 'boom', path: [], object: { apiVersion: 'v1', kind: 'Pod', name: 'p' } },
        { ...findings[0]!, source: { ...findings[0]!.source!, file: '<stdin>' } },
        { ...findings[0]!, source: { ...findings[0]!.source!, file: '/elsewhere/a b.yaml' } },
      ],
      checks: [],
      failOn: 'warning',
      cwd: ROOT,
    });
    assert.ok(validate(odd), JSON.stringify(validate.errors, null, 2));
  });

  it('every region points at the offending field (or, when it is missing, its nearest parent)', () => {
    const lines = readFileSync(SEED, 'utf8').split('\n');
    const results = (log as { runs: { results: { ruleId: string; locations: { physicalLocation: { region: { startLine: number; startColumn: number } } }[] }[] }[] }).runs[0]!.results;
    assert.equal(results.length, findings.length);
    results.forEach((r, i) => {
      const { startLine, startColumn } = r.locations[0]!.physicalLocation.region;
      const at = lines[startLine - 1]!.slice(startColumn - 1);
      const path: FieldPath = findings[i]!.path;
      const keys = path.filter((s): s is string => typeof s === 'string');
      // a list item is located at its first key (`- name: app` → `name:`)
      const itemStart = path.some((s) => typeof s === 'number') && /^[\w.-]+:/.test(at);
      const ok = path.length === 0 || at.startsWith('-') || keys.some((k) => at.startsWith(`${k}:`)) || itemStart || /^(apiVersion|kind):/.test(at);
      assert.ok(ok, `${r.ruleId} at ${startLine}:${startColumn} (${JSON.stringify(at)}) is not on ${path.join('.')}`);
    });
  });
});
