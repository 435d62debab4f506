/**
 * The lint configuration file: `--config FILE`, or `.kubelite-lint.yaml` in the current
 * directory when present. Format (every field optional):
 *
 *   enable: [check-a, check-b]   # run only these checks
 *   disable: [check-c]           # never run these
 *   severity:                    # per-check severity overrides
 *     check-d: info
 *   failOn: warning              # error | warning | info (the --fail-on default)
 *
 * Validation is strict (unknown fields, wrong types, unknown check ids and severities are
 * errors naming the file and line), so a typo never silently turns a check off.
 */
import { existsSync, statSync, readFileSync } from 'node:fs';
import { LineCounter, parseDocument, isMap, isScalar, type Node as YamlNode } from 'yaml';
import type { Check, Severity } from './types.js';
import { LintUsageError } from './run.js';

export const DEFAULT_CONFIG_FILE = '.kubelite-lint.yaml';
export const SEVERITIES: readonly Severity[] = ['error', 'warning', 'info'];

export interface LintConfig {
  enable?: string[];
  disable?: string[];
  severity?: Record<string, Severity>;
  failOn?: Severity;
}

/** A configuration problem: `file[:line]: message`, exit code 2 in the CLI. */
export class LintConfigError extends LintUsageError {}

/**
 * Reads and validates a config file. `file` undefined: the default file in `cwd` when it
 * exists, else an empty config. Check ids are validated against `checks`.
 */
export function loadConfig(file: string | undefined, opts: { checks: readonly Check[]; cwd?: string }): LintConfig {
  const path = file ?? `${opts.cwd ?? process.cwd()}/${DEFAULT_CONFIG_FILE}`;
  if (file === undefined && !existsSync(path)) return {};
  let text: string;
  try {
    if (statSync(path).size > 1024 * 1024) throw new LintConfigError(`${path}: config file over 1 MiB`);
    text = readFileSync(path, 'utf8');
  } catch (err) {
    if (err instanceof LintConfigError) throw err;
    throw new LintConfigError(`${path}: cannot read config: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  return parseConfig(text, path, opts.checks);
}

/** Parses and validates config text (exported for tests). */
export function parseConfig(text: string, file: string, checks: readonly Check[]): LintConfig {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, version: '1.1' });
  const fail = (msg: string, node?: unknown): never => {
    const range = (node as YamlNode | undefined)?.range;
    throw new LintConfigError(`${file}${range ? `:${lc.linePos(range[0]).line}` : ''}: ${msg}`);
  };
  if (doc.errors.length) {
    const e = doc.errors[0]!;
    throw new LintConfigError(`${file}:${lc.linePos(e.pos[0]).line}: invalid YAML: ${e.message.split('\n')[0]}`);
  }
  if (doc.contents === null || (isScalar(doc.contents) && doc.contents.value === null)) return {};
  if (!isMap(doc.contents)) fail('the config must be a mapping (enable, disable, severity, failOn)', doc.contents);
  const known = new Set(checks.map((c) => c.id));
  const out: LintConfig = {};
  for (const pair of (doc.contents as { items: { key: unknown; value: unknown }[] }).items) {
    const key = isScalar(pair.key) ? String(pair.key.value) : '';
    const value = (pair.value as YamlNode | null)?.toJSON?.() ?? (isScalar(pair.value) ? pair.value.value : pair.value);
    const where = pair.key;
    const ids = (v: unknown): string[] => {
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) fail(`${key} must be a list of check ids`, where);
      const unknown = (v as string[]).filter((id) => !known.has(id));
      if (unknown.length) fail(`${key}: unknown check${unknown.length > 1 ? 's' : ''} ${unknown.join(', ')} (see kubelite lint --list)`, where);
      return v as string[];
    };
    switch (key) {
      case 'enable':
        out.enable = ids(value);
        break;
      case 'disable':
        out.disable = ids(value);
        break;
      case 'severity': {
        if (typeof value !== 'object' || value === null || Array.isArray(value)) fail('severity must map check ids to error, warning or info', where);
        out.severity = {};
        for (const [id, sev] of Object.entries(value as Record<string, unknown>)) {
          if (!known.has(id)) fail(`severity: unknown check ${id} (see kubelite lint --list)`, where);
          if (!SEVERITIES.includes(sev as Severity)) fail(`severity.${id} must be error, warning or info (got ${JSON.stringify(sev)})`, where);
          out.severity[id] = sev as Severity;
        }
        break;
      }
      case 'failOn':
        if (!SEVERITIES.includes(value as Severity)) fail(`failOn must be error, warning or info (got ${JSON.stringify(value)})`, where);
        out.failOn = value as Severity;
        break;
      default:
        fail(`unknown field ${JSON.stringify(key)} (want enable, disable, severity or failOn)`, where);
    }
  }
  return out;
}
