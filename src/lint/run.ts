/**
 * `lintObjects`: runs the checks over a set of objects and returns findings in a stable order.
 *
 * Ignore annotations (documented in docs/lint.md):
 * - `kubelite.io/lint-ignore: check-a,check-b` on an object's metadata.annotations skips those
 *   checks for the whole object (`*` skips every check).
 * - `kubelite.io/lint-ignore.container.<container-name>: check-a,check-b` skips those checks for
 *   findings about that container only.
 * For workloads both forms are also read from the pod template's annotations
 * (spec.template.metadata.annotations; for CronJobs spec.jobTemplate.spec.template...), which is
 * where people who annotate pods tend to put them. Ids are comma-separated, spaces ignored;
 * unknown ids are ignored (a newer kubelite may know them).
 *
 * A check that throws never stops the run: it becomes an `internal-error` finding on that object.
 */
import { buildIndex } from './index-objects.js';
import { ALL_CHECKS, OPTIONAL_CHECKS } from './checks/index.js';
import { at, isRecord, kindOf, podSpecPathOf, refOf } from './objects.js';
import type { Check, CheckContext, FieldPath, Finding, KObject, LintObject, ObjectIndex, ObjectRef, Problem, Severity, Source } from './types.js';

export const IGNORE_ANNOTATION = 'kubelite.io/lint-ignore';
export const CONTAINER_IGNORE_PREFIX = 'kubelite.io/lint-ignore.container.';
/** The check id of findings made from a check that threw. */
export const INTERNAL_ERROR_ID = 'internal-error';

/** Bad flags or configuration (exit code 2 in the CLI). */
export class LintUsageError extends Error {
  override readonly name = 'LintUsageError';
}

export interface LintOptions {
  /** The checks to choose from (default ALL_CHECKS). */
  checks?: readonly Check[];
  /** Checks that are off unless named in `enableOptional` or `enable` (default OPTIONAL_CHECKS when `checks` is not given). */
  optional?: readonly Check[];
  /** When non-empty, only these checks run (default or optional ones). */
  enable?: readonly string[];
  /** Optional checks added to the default set (kube-score's --enable-optional-test). */
  enableOptional?: readonly string[];
  /** These checks never run (applied after `enable`). */
  disable?: readonly string[];
  /** Per-check severity overrides (replace both the check's and the problem's severity). */
  severity?: Readonly<Record<string, Severity>>;
  mode?: CheckContext['mode'];
  /** The index cross-object checks read (default: built from `objects`). */
  index?: ObjectIndex;
}

/** The checks that run for these options; unknown ids are a LintUsageError. */
export function selectChecks(opts: Pick<LintOptions, 'checks' | 'optional' | 'enable' | 'enableOptional' | 'disable' | 'severity'> = {}): Check[] {
  const checks = opts.checks ?? ALL_CHECKS;
  const optional = opts.optional ?? (opts.checks ? [] : OPTIONAL_CHECKS);
  const known = new Set([...checks, ...optional].map((c) => c.id));
  const unknown = [...(opts.enable ?? []), ...(opts.enableOptional ?? []), ...(opts.disable ?? []), ...Object.keys(opts.severity ?? {})].filter((id) => !known.has(id));
  if (unknown.length) {
    throw new LintUsageError(`unknown check${unknown.length > 1 ? 's' : ''}: ${[...new Set(unknown)].join(', ')} (see kubelite lint --list)`);
  }
  const optionalIds = new Set(optional.map((c) => c.id));
  const notOptional = (opts.enableOptional ?? []).filter((id) => !optionalIds.has(id));
  if (notOptional.length) throw new LintUsageError(`not an optional check (it runs by default): ${[...new Set(notOptional)].join(', ')}`);
  const enable = new Set(opts.enable ?? []);
  const extra = new Set(opts.enableOptional ?? []);
  const disable = new Set(opts.disable ?? []);
  const base = enable.size > 0 ? [...checks, ...optional].filter((c) => enable.has(c.id)) : [...checks, ...optional.filter((c) => extra.has(c.id))];
  return base.filter((c) => !disable.has(c.id));
}

/** Runs the selected checks over `objects`; findings sorted by object (input order), position, check. */
export function lintObjects(objects: readonly LintObject[], opts: LintOptions = {}): Finding[] {
  const mode = opts.mode ?? 'cli';
  const selected = selectChecks({ checks: opts.checks, enable: opts.enable, disable: opts.disable }).filter((c) => mode === 'cli' || c.admission);
  const order = new Map(selected.map((c, i) => [c.id, i] as const));
  const byKind = new Map<string, Check[]>();
  for (const c of selected) {
    for (const k of c.kinds) {
      const list = byKind.get(k);
      if (list) list.push(c);
      else byKind.set(k, [c]);
    }
  }
  const ctx: CheckContext = { index: opts.index ?? buildIndex(objects.map((o) => o.obj)), mode };
  const keyed: Keyed[] = [];
  objects.forEach((lo, objIndex) => {
    const checks = byKind.get(kindOf(lo.obj));
    if (!checks) return;
    const ignores = ignoresOf(lo.obj);
    const anyIgnores = ignores !== NO_IGNORES;
    const object = refOf(lo.obj);
    const source = lo.source;
    for (const check of checks) {
      if (anyIgnores && (ignores.object.has(check.id) || ignores.object.has('*'))) continue;
      let problems;
      try {
        problems = check.run(lo.obj, ctx);
      } catch (err) {
        const message = `check ${check.id} failed on this object (a kubelite bug, please report it): ${err instanceof Error ? err.message : String(err)}`;
        keyed.push(keyOf(finding({ message, path: [] }, INTERNAL_ERROR_ID, 'error', object, source), objIndex, order.get(check.id)!));
        continue;
      }
      if (problems.length === 0) continue;
      const checkOrder = order.get(check.id)!;
      const override = opts.severity?.[check.id];
      for (const p of problems) {
        if (anyIgnores && p.container !== undefined) {
          const c = ignores.containers.get(p.container);
          if (c && (c.has(check.id) || c.has('*'))) continue;
        }
        keyed.push(keyOf(finding(p, check.id, override ?? p.severity ?? check.severity, object, source), objIndex, checkOrder));
      }
    }
  });
  keyed.sort((a, b) => a.obj - b.obj || a.line - b.line || a.column - b.column || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0) || a.check - b.check);
  return keyed.map((k) => k.f);
}

/** A Finding built field by field (one object shape for all, unlike a spread of the Problem). */
function finding(p: Problem, check: string, severity: Severity, object: ObjectRef, source: Source | undefined): Finding {
  const f: Finding = { message: p.message, path: p.path, check, severity, object };
  if (p.container !== undefined) f.container = p.container;
  if (source) {
    f.source = source;
    const pos = safeLocate(source, p.path);
    if (pos) f.position = pos;
  }
  return f;
}

interface Keyed {
  f: Finding;
  obj: number;
  line: number;
  column: number;
  path: string;
  check: number;
}

function keyOf(f: Finding, obj: number, check: number): Keyed {
  return { f, obj, line: f.position?.line ?? 0, column: f.position?.column ?? 0, path: f.path.join('\0'), check };
}

function safeLocate(source: Source, path: FieldPath): { line: number; column: number } | undefined {
  try {
    return source.locate(path);
  } catch {
    return undefined;
  }
}

interface Ignores {
  object: ReadonlySet<string>;
  containers: ReadonlyMap<string, ReadonlySet<string>>;
}

/** What an object without ignore annotations has (most of them): shared, never modified. */
const NO_IGNORES: Ignores = { object: new Set(), containers: new Map() };

/** The ignore annotations of an object and (for workloads) of its pod template. */
export function ignoresOf(obj: KObject): Ignores {
  let object: Set<string> | undefined;
  let containers: Map<string, Set<string>> | undefined;
  const read = (annotations: unknown): void => {
    if (!isRecord(annotations)) return;
    for (const k in annotations) {
      if (!Object.hasOwn(annotations, k) || !k.startsWith(IGNORE_ANNOTATION)) continue;
      const v = annotations[k];
      if (typeof v !== 'string') continue;
      if (k === IGNORE_ANNOTATION) {
        object ??= new Set();
        for (const id of splitIds(v)) object.add(id);
      } else if (k.startsWith(CONTAINER_IGNORE_PREFIX)) {
        const name = k.slice(CONTAINER_IGNORE_PREFIX.length);
        containers ??= new Map();
        let set = containers.get(name);
        if (!set) containers.set(name, (set = new Set()));
        for (const id of splitIds(v)) set.add(id);
      }
    }
  };
  read(at(obj, ['metadata', 'annotations']));
  const specPath = podSpecPathOf(kindOf(obj));
  if (specPath && specPath.length > 1) read(at(obj, [...specPath.slice(0, -1), 'metadata', 'annotations']));
  if (!object && !containers) return NO_IGNORES;
  return { object: object ?? NO_IGNORES.object, containers: containers ?? NO_IGNORES.containers };
}

function splitIds(v: string): string[] {
  return v.split(',').map((s) => s.trim()).filter(Boolean);
}
