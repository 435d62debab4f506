/**
 * Admission lint: `kubelite lint`'s single-object checks and its cheap (`admission: true`)
 * cross-object checks, run by the API server on user writes (create, update, patch and
 * server-side apply through the HTTP API; dry runs too, as kube runs admission on them) against
 * the object as it will be stored (defaulted and validated) and the namespace's stored objects
 * (NamespaceState, fed by the watch cache).
 *
 * Not linted: writes of the server's own controllers (LocalClient writes carry no `admit` hook),
 * status and scale subresources, objects with a controller ownerReference (their template was
 * checked on the owner), kinds no check covers.
 *
 * Modes (`--lint-admission`):
 * - `warn` (the CLI's default): each finding of severity warning or error becomes a warning
 *   `"<check-id>: <message>"` (kubectl prints `Warning: <text>`); errors first.
 * - `deny`: the same findings reject the write with a 422 Status, reason Invalid, one cause per
 *   finding (field in kube's dotted form, reason FieldValueInvalid). Nothing is stored.
 * - `off`: nothing runs, no state is kept.
 * `info` findings are hints for the CLI: never returned, never blocking.
 *
 * A check that throws (or any failure here) never fails a write: it is logged once and the
 * write proceeds without that check's findings.
 *
 * The state follows the watch cache, so an object written a moment before (e.g. the Deployment
 * of the same `kubectl apply -f` file) is usually, not always, already seen.
 */
import type { KObject } from '../../api/types.js';
import { ALL_CHECKS } from '../../lint/checks/index.js';
import { buildIndex } from '../../lint/index-objects.js';
import { INTERNAL_ERROR_ID, lintObjects } from '../../lint/run.js';
import { SEVERITY_RANK, type Check, type FieldPath, type Finding } from '../../lint/types.js';
import { errors, type StatusCause, type StatusError } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type { WatchCache } from '../watchcache.js';
import { NamespaceState } from './state.js';
import { hasControllerOwner } from '../../lint/objects.js';

export type LintAdmissionMode = 'warn' | 'deny' | 'off';
export const LINT_ADMISSION_MODES: readonly LintAdmissionMode[] = ['warn', 'deny', 'off'];

export function isLintAdmissionMode(v: unknown): v is LintAdmissionMode {
  return typeof v === 'string' && (LINT_ADMISSION_MODES as readonly string[]).includes(v);
}

/**
 * Checks never run at admission, because the stored object cannot tell what the user wrote:
 * - `deprecated-api-version` would only see the storage version (the server converts);
 * - `hpa-target-sets-replicas` asks whether the manifest sets spec.replicas, but a stored
 *   workload always has it (defaulted to 1, or set by the HPA through scale).
 */
const NOT_AT_ADMISSION = new Set(['deprecated-api-version', 'hpa-target-sets-replicas']);

export const ADMISSION_CHECKS: readonly Check[] = ALL_CHECKS.filter((c) => c.admission && !NOT_AT_ADMISSION.has(c.id));

export interface LintAdmissionOptions {
  mode?: LintAdmissionMode;
  /** The checks (default ADMISSION_CHECKS). */
  checks?: readonly Check[];
  /** Where a crashing check is reported, once per check (default console.error). */
  log?: (msg: string) => void;
}

export class LintAdmission {
  private modeValue: LintAdmissionMode;
  private readonly checks: readonly Check[];
  private readonly kinds: ReadonlySet<string>;
  private readonly log: (msg: string) => void;
  private readonly logged = new Set<string>();
  private state?: NamespaceState;
  private deps?: { registry: Registry; cache: WatchCache };

  constructor(opts: LintAdmissionOptions = {}) {
    this.modeValue = opts.mode ?? 'off';
    this.checks = opts.checks ?? ADMISSION_CHECKS;
    this.kinds = new Set(this.checks.flatMap((c) => c.kinds));
    this.log = opts.log ?? ((msg): void => console.error(`kubelite: ${msg}`));
  }

  get mode(): LintAdmissionMode {
    return this.modeValue;
  }

  /** Starts following the cluster state (nothing when off). Call after the watch cache started. */
  async start(deps: { registry: Registry; cache: WatchCache }): Promise<void> {
    this.deps = deps;
    if (this.modeValue !== 'off') await this.ensureState();
  }

  /** Changes the mode at run time (starts the state when leaving `off`). */
  async setMode(mode: LintAdmissionMode): Promise<void> {
    this.modeValue = mode;
    if (mode !== 'off' && this.deps) await this.ensureState();
  }

  close(): void {
    this.state?.close();
    this.state = undefined;
  }

  private async ensureState(): Promise<void> {
    if (this.state || !this.deps) return;
    const state = new NamespaceState();
    this.state = state;
    try {
      await state.start(this.deps);
    } catch (err) {
      // Without the state, cross-object checks see only the object written; the server still serves.
      state.close();
      this.state = undefined;
      this.logOnce('state', `admission lint: cannot follow the cluster state (cross-object checks see only the written object): ${err instanceof Error ? err.message : String(err)}`);
    }
  }

  /**
   * Lints `obj` (as it will be stored) and either appends its warnings to `warnings` or, in
   * deny mode, throws the 422 StatusError. Never throws for any other reason.
   */
  admit(obj: KObject, out: { warnings: string[] }): void {
    if (this.modeValue === 'off') return;
    const findings = this.findings(obj);
    if (!findings.length) return;
    if (this.modeValue === 'deny') throw denyError(obj, findings);
    out.warnings.push(...warningTexts(findings));
  }

  /** The findings that admission reports for `obj` (severity warning or error, errors first). */
  findings(obj: KObject): Finding[] {
    try {
      if (!this.kinds.has(String(obj.kind)) || hasControllerOwner(obj)) return [];
      const index = this.state ? this.state.indexWith(obj) : buildIndex([obj as Record<string, unknown>]);
      const all = lintObjects([{ obj: obj as Record<string, unknown> }], { checks: this.checks, mode: 'admission', index });
      const kept: Finding[] = [];
      for (const f of all) {
        if (f.check === INTERNAL_ERROR_ID) {
          // run.ts words it "check <id> failed ...": once per check, whatever the object.
          this.logOnce(/^check (\S+)/.exec(f.message)?.[1] ?? f.message, `admission lint: ${f.message}`);
          continue;
        }
        if (SEVERITY_RANK[f.severity] >= SEVERITY_RANK.warning) kept.push(f);
      }
      // Errors first: under the header budget the most important findings survive.
      return kept.sort((a, b) => SEVERITY_RANK[b.severity] - SEVERITY_RANK[a.severity]);
    } catch (err) {
      this.logOnce('crash', `admission lint failed (the write proceeds without it): ${err instanceof Error ? err.stack ?? err.message : String(err)}`);
      return [];
    }
  }

  private logOnce(key: string, msg: string): void {
    if (this.logged.has(key)) return;
    this.logged.add(key);
    this.log(msg);
  }
}

/** One warning text per finding: `<check-id>: <message>`. */
export function warningTexts(findings: readonly Finding[]): string[] {
  return findings.map((f) => `${f.check}: ${f.message}`);
}

/** The 422 a denied write gets: kube's Invalid Status with one FieldValueInvalid cause per finding. */
export function denyError(obj: KObject, findings: readonly Finding[]): StatusError {
  const apiVersion = String(obj.apiVersion ?? '');
  const group = apiVersion.includes('/') ? apiVersion.split('/')[0] : '';
  const causes: StatusCause[] = findings.map((f) => {
    const field = dottedPath(f.path);
    return { reason: 'FieldValueInvalid', message: `${f.check}: ${f.message}`, ...(field ? { field } : {}) };
  });
  return errors.invalid(String(obj.kind ?? ''), group, obj.metadata?.name ?? '', causes);
}

/** A field path as kube prints it: `spec.template.spec.containers[0].image`, map keys with dots as `[key]`. */
export function dottedPath(path: FieldPath): string {
  let out = '';
  for (const p of path) {
    if (typeof p === 'number') out += `[${p}]`;
    else if (/^[A-Za-z_$][A-Za-z0-9_$-]*$/.test(p)) out += out ? `.${p}` : p;
    else out += `[${p}]`;
  }
  return out;
}
