/**
 * `--format junit`: JUnit XML for CI test reports. A testsuite per file, a testcase per object
 * (clean objects pass), a <failure> per finding at or above --fail-on; findings below it are
 * listed in the testcase's <system-out> so they are visible without failing the report.
 */
import { SEVERITY_RANK } from '../types.js';
import { findingsByObject, NO_FILE, objectLabel, positionOf, refOfLintObject, type FormatInput } from './common.js';
import type { Finding, LintObject } from '../types.js';

export function formatJunit(input: FormatInput): string {
  const files = new Map<string, [LintObject, Finding[]][]>();
  for (const [o, fs] of findingsByObject(input.objects, input.findings)) {
    const file = o.source?.file ?? NO_FILE;
    let list = files.get(file);
    if (!list) files.set(file, (list = []));
    list.push([o, fs]);
  }
  const failing = (f: Finding): boolean => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[input.failOn];
  const suites: string[] = [];
  let totalTests = 0;
  let totalFailures = 0;
  for (const [file, cases] of files) {
    const body: string[] = [];
    let failures = 0;
    for (const [o, fs] of cases) {
      const name = objectLabel(refOfLintObject(o));
      const fails = fs.filter(failing);
      const notes = fs.filter((f) => !failing(f));
      if (fails.length) failures++;
      const inner: string[] = [];
      for (const f of fails) {
        inner.push(`      <failure message="${esc(f.message)}" type="${esc(f.check)}">${esc(line(f), false)}</failure>`);
      }
      if (notes.length) inner.push(`      <system-out>${esc(notes.map(line).join('\n'), false)}</system-out>`);
      const open = `    <testcase name="${esc(name)}" classname="${esc(file)}"`;
      body.push(inner.length ? `${open}>\n${inner.join('\n')}\n    </testcase>` : `${open}/>`);
    }
    totalTests += cases.length;
    totalFailures += failures;
    suites.push(`  <testsuite name="${esc(file)}" tests="${cases.length}" failures="${failures}" errors="0" skipped="0">\n${body.join('\n')}\n  </testsuite>`);
  }
  return (
    `<?xml version="1.0" encoding="UTF-8"?>\n` +
    `<testsuites name="kubelite lint" tests="${totalTests}" failures="${totalFailures}" errors="0">\n` +
    suites.map((s) => s + '\n').join('') +
    `</testsuites>\n`
  );
}

function line(f: Finding): string {
  const pos = positionOf(f);
  return `${f.source?.file ?? NO_FILE}${pos ? `:${pos.line}:${pos.column}` : ''} ${f.severity} ${f.check} ${f.message} [${objectLabel(f.object)}]`;
}

/** XML-escapes text for attributes and content; characters XML 1.0 cannot hold become U+FFFD. */
export function esc(s: string, attr = true): string {
  const out = s
    .replace(/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/g, '\ufffd')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;');
  return attr ? out.replace(/\n/g, '&#10;').replace(/\r/g, '&#13;').replace(/\t/g, '&#9;') : out;
}
