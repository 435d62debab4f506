/**
 * `--format sarif`: SARIF 2.1.0 (what GitHub code scanning and most CI dashboards ingest). One
 * run; tool.driver.rules are the checks that ran (plus `internal-error` when a check crashed),
 * each with a helpUri anchor in docs/lint.md; each result points at the offending field's file,
 * line and column. File URIs are relative to `cwd` (uriBaseId %SRCROOT%) when the file is below
 * it, otherwise absolute file: URIs.
 */
import { isAbsolute, relative, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { Severity } from '../types.js';
import { INTERNAL_ERROR_ID } from '../run.js';
import { STDIN_NAME } from '../load.js';
import { NO_FILE, objectLabel, pathString, positionOf, type FormatInput } from './common.js';

export const SARIF_SCHEMA_URI = 'https://json.schemastore.org/sarif-2.1.0.json';
/** docs/lint.md of this installation (src/lint/format → ../../../docs). */
export const DEFAULT_DOCS_URI = new URL('../../../docs/lint.md', import.meta.url).href;

const LEVEL: Readonly<Record<Severity, 'error' | 'warning' | 'note'>> = { error: 'error', warning: 'warning', info: 'note' };

export function toSarif(input: FormatInput): Record<string, unknown> {
  const cwd = input.cwd ?? process.cwd();
  const docs = input.docsUri ?? DEFAULT_DOCS_URI;
  const rules: Record<string, unknown>[] = input.checks.map((c) => ({
    id: c.id,
    shortDescription: { text: c.description },
    helpUri: `${docs}#${c.id}`,
    defaultConfiguration: { level: LEVEL[c.severity] },
  }));
  const ruleIndex = new Map(input.checks.map((c, i) => [c.id, i] as const));
  if (input.findings.some((f) => f.check === INTERNAL_ERROR_ID && !ruleIndex.has(f.check))) {
    ruleIndex.set(INTERNAL_ERROR_ID, rules.length);
    rules.push({
      id: INTERNAL_ERROR_ID,
      shortDescription: { text: 'A check failed on an object: a kubelite bug.' },
      helpUri: `${docs}#${INTERNAL_ERROR_ID}`,
      defaultConfiguration: { level: 'error' },
    });
  }
  const results = input.findings.map((f) => {
    const pos = positionOf(f);
    const result: Record<string, unknown> = {
      ruleId: f.check,
      level: LEVEL[f.severity],
      message: { text: f.message },
      locations: [
        {
          physicalLocation: {
            artifactLocation: artifactOf(f.source?.file ?? NO_FILE, cwd),
            ...(pos ? { region: { startLine: pos.line, startColumn: pos.column } } : {}),
          },
          logicalLocations: [{ fullyQualifiedName: `${objectLabel(f.object)}.${pathString(f.path)}`.replace(/\.$/, ''), kind: 'object' }],
        },
      ],
    };
    const idx = ruleIndex.get(f.check);
    if (idx !== undefined) result['ruleIndex'] = idx;
    return result;
  });
  return {
    $schema: SARIF_SCHEMA_URI,
    version: '2.1.0',
    runs: [
      {
        tool: { driver: { name: 'kubelite-lint', version: '0.1.0', informationUri: docs, rules } },
        originalUriBaseIds: { '%SRCROOT%': { uri: pathToFileURL(cwd.endsWith(sep) ? cwd : cwd + sep).href } },
        results,
      },
    ],
  };
}

export function formatSarif(input: FormatInput): string {
  return JSON.stringify(toSarif(input), null, 2) + '\n';
}

function artifactOf(file: string, cwd: string): { uri: string; uriBaseId?: string } {
  if (file === STDIN_NAME || file === '-') return { uri: 'stdin' };
  if (file === NO_FILE) return { uri: 'input' };
  const abs = resolve(cwd, file);
  const rel = relative(cwd, abs);
  if (rel && !rel.startsWith('..') && !isAbsolute(rel)) {
    return { uri: rel.split(sep).map(encodeURIComponent).join('/'), uriBaseId: '%SRCROOT%' };
  }
  return { uri: pathToFileURL(abs).href };
}
