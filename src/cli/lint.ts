/**
 * `kubelite lint [PATH...] [-k DIR]`: checks manifests against the practices in docs/lint.md.
 *
 * Exit codes: 0 no findings at or above --fail-on (default `warning`: an `info` finding is
 * advice, a warning is something to fix before it bites, so CI fails on it unless told
 * otherwise); 1 findings at or above --fail-on; 2 usage, configuration or input errors (each
 * printed to stderr as `file:line:col: message`; with input errors nothing is linted, so a
 * half-read manifest set never passes as clean).
 *
 * Flags on the command line win over the config file: --enable replaces the file's `enable`
 * list (and re-enables ids the file disables), --disable adds to its `disable` list, --fail-on
 * replaces `failOn`.
 */
import { parseArgs } from 'node:util';
import { ALL_CHECKS, OPTIONAL_CHECKS } from '../lint/checks/index.js';
import { loadConfig, SEVERITIES, type LintConfig } from '../lint/config.js';
import { loadPaths, type LoadPathsOptions } from '../lint/load.js';
import { lintObjects, selectChecks, LintUsageError } from '../lint/run.js';
import { FORMATS, type FormatName } from '../lint/format/index.js';
import { SEVERITY_RANK, type Check, type Severity } from '../lint/types.js';

export const LINT_USAGE = `usage: kubelite lint [PATH...] [-k DIR] [flags]

Checks Kubernetes manifests (files, directories searched recursively for *.yaml, *.yml and
*.json, '-' for standard input) against the practices in docs/lint.md.

flags:
  -k, --kustomize DIR   also lint the output of 'kubectl kustomize DIR' (repeatable)
  --format F            human (default) | json | sarif | junit
  --fail-on S           exit 1 when a finding is at or above S: error | warning (default) | info
  --enable ID[,ID]      run only these checks (repeatable)
  --enable-optional ID[,ID]  also run these checks that are off by default (repeatable)
  --disable ID[,ID]     do not run these checks (repeatable)
  --config FILE         configuration (default ./.kubelite-lint.yaml when present)
  --max-file-size SIZE  refuse larger inputs (default 10Mi; e.g. 64Mi)
  --list                list the checks and exit

ignore annotations (on the object, or on a workload's pod template):
  kubelite.io/lint-ignore: check-a,check-b              skip checks for the object ('*': all)
  kubelite.io/lint-ignore.container.NAME: check-a      skip checks for container NAME

exit status: 0 clean (or only findings below --fail-on), 1 findings at or above --fail-on,
2 usage, configuration or input errors.
`;

export interface LintCommandIO {
  stdout?: (s: string) => void;
  stderr?: (s: string) => void;
  stdin?: NodeJS.ReadableStream;
  cwd?: string;
  /** The checks (default ALL_CHECKS); tests pass their own. */
  checks?: readonly Check[];
  load?: Pick<LoadPathsOptions, 'maxBytes' | 'maxDepth' | 'kubectl'>;
}

/** Runs `kubelite lint` with `args` (after the subcommand); resolves to the exit code. */
export async function lintCommand(args: string[], io: LintCommandIO = {}): Promise<number> {
  const out = io.stdout ?? ((s: string) => void process.stdout.write(s));
  const err = io.stderr ?? ((s: string) => void process.stderr.write(s));
  const checks = io.checks ?? ALL_CHECKS;
  const optional = io.checks ? [] : OPTIONAL_CHECKS;
  const usage = (msg: string): number => {
    err(`kubelite lint: ${msg}\n(see kubelite lint --help)\n`);
    return 2;
  };
  let values: Record<string, string | boolean | string[] | undefined>;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      allowPositionals: true,
      strict: true,
      options: {
        kustomize: { type: 'string', short: 'k', multiple: true },
        format: { type: 'string' },
        'fail-on': { type: 'string' },
        enable: { type: 'string', multiple: true },
        'enable-optional': { type: 'string', multiple: true },
        disable: { type: 'string', multiple: true },
        config: { type: 'string' },
        'max-file-size': { type: 'string' },
        list: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    }));
  } catch (e) {
    return usage((e as Error).message);
  }
  if (values['help']) {
    out(LINT_USAGE);
    return 0;
  }
  const format = (values['format'] as string | undefined) ?? 'human';
  if (!(format in FORMATS)) return usage(`--format must be human, json, sarif or junit (got ${JSON.stringify(format)})`);
  const failOnFlag = values['fail-on'] as string | undefined;
  if (failOnFlag !== undefined && !SEVERITIES.includes(failOnFlag as Severity)) {
    return usage(`--fail-on must be error, warning or info (got ${JSON.stringify(failOnFlag)})`);
  }
  if (values['list']) {
    const all = [...checks.map((c) => ({ c, optional: false })), ...optional.map((c) => ({ c, optional: true }))];
    out(format === 'json' ? JSON.stringify(all.map(listEntry), null, 2) + '\n' : listTable(all));
    return 0;
  }
  const ids = (v: unknown): string[] => ((v as string[] | undefined) ?? []).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
  let config: LintConfig;
  let selected: Check[];
  const enableFlag = ids(values['enable']);
  try {
    config = loadConfig(values['config'] as string | undefined, { checks: [...checks, ...optional], cwd: io.cwd });
    const enable = enableFlag.length ? enableFlag : (config.enable ?? []);
    const disable = [...(config.disable ?? []).filter((id) => !enableFlag.includes(id)), ...ids(values['disable'])];
    selected = selectChecks({ checks, optional, enable, enableOptional: ids(values['enable-optional']), disable, severity: config.severity });
  } catch (e) {
    if (e instanceof LintUsageError) return usage(e.message);
    throw e;
  }
  const failOn = (failOnFlag as Severity | undefined) ?? config.failOn ?? 'warning';
  const kustomize = (values['kustomize'] as string[] | undefined) ?? [];
  if (positionals.length === 0 && kustomize.length === 0) {
    return usage('no input: give files, directories, - for standard input, or -k DIR');
  }
  const maxBytes = parseSize(values['max-file-size'] as string | undefined);
  if (maxBytes === null) return usage(`--max-file-size must be a size such as 10Mi, 50MiB or 1048576 (got ${JSON.stringify(values['max-file-size'])})`);
  const cwd = io.cwd ?? process.cwd();
  const loaded = await loadPaths(positionals, { ...io.load, ...(maxBytes !== undefined ? { maxBytes } : {}), kustomize, ...(io.stdin ? { stdin: io.stdin } : {}) });
  if (loaded.errors.length) {
    for (const e of loaded.errors) err(`kubelite lint: ${e.format()}\n`);
    err(`kubelite lint: ${loaded.errors.length === 1 ? '1 input error' : `${loaded.errors.length} input errors`}: nothing was linted\n`);
    return 2;
  }
  if (loaded.objects.length === 0) err('kubelite lint: warning: the input holds no Kubernetes objects\n');
  const findings = lintObjects(loaded.objects, { checks: selected, severity: config.severity, mode: 'cli' });
  out(FORMATS[format as FormatName]({ objects: loaded.objects, findings, checks: selected, failOn, cwd }));
  return findings.some((f) => SEVERITY_RANK[f.severity] >= SEVERITY_RANK[failOn]) ? 1 : 0;
}

const SIZE_UNITS: Record<string, number> = { '': 1, k: 1e3, ki: 1024, m: 1e6, mi: 1024 ** 2, g: 1e9, gi: 1024 ** 3 };

/** `--max-file-size`: bytes, or a number with k/Ki/M/Mi/G/Gi (a trailing B allowed); undefined when absent, null when invalid. */
export function parseSize(v: string | undefined): number | undefined | null {
  if (v === undefined) return undefined;
  const m = /^([0-9]+(?:\.[0-9]+)?)\s*([kKmMgG]i?)?[bB]?$/.exec(v.trim());
  if (!m) return null;
  const n = Math.floor(Number(m[1]) * SIZE_UNITS[(m[2] ?? '').toLowerCase()]!);
  return n >= 1 && Number.isSafeInteger(n) ? n : null;
}

function listEntry({ c, optional }: { c: Check; optional: boolean }): Record<string, unknown> {
  return { id: c.id, severity: c.severity, scope: c.scope, admission: c.admission, optional, kinds: c.kinds, description: c.description };
}

function listTable(checks: readonly { c: Check; optional: boolean }[]): string {
  const w = Math.max(2, ...checks.map(({ c }) => c.id.length));
  const rows = checks.map(({ c, optional }) => `${c.id.padEnd(w)}  ${c.severity.padEnd(7)}  ${c.scope.padEnd(6)}  ${optional ? '(optional: --enable-optional) ' : ''}${c.description}`);
  const n = checks.filter((x) => x.optional).length;
  return [`${'ID'.padEnd(w)}  SEVERITY SCOPE   DESCRIPTION`, ...rows].join('\n') + `\n${checks.length - n} checks, ${n} optional\n`;
}
