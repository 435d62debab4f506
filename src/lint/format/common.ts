/**
 * What every output format shares: its input, finding positions and display names.
 */
import type { Check, Finding, FieldPath, LintObject, ObjectRef, Severity } from '../types.js';

export interface FormatInput {
  /** Every object linted (JUnit lists clean ones too; the human summary counts them). */
  objects: readonly LintObject[];
  findings: readonly Finding[];
  /** The checks that ran (SARIF rules). */
  checks: readonly Check[];
  /** Findings at or above this severity fail the run (JUnit failures vs. notes). */
  failOn: Severity;
  /** Base for relative SARIF URIs (default process.cwd()). */
  cwd?: string;
  /** The docs page each check id is an anchor of (SARIF helpUri); default: docs/lint.md of this install. */
  docsUri?: string;
}

/** File name for objects that came without a source (API objects). */
export const NO_FILE = '<input>';

/** 1-based line and column of a finding's field, or undefined without a source. */
export function positionOf(f: Finding): { line: number; column: number } | undefined {
  if (f.position) return f.position;
  if (!f.source) return undefined;
  try {
    return f.source.locate(f.path);
  } catch {
    return undefined;
  }
}

/** `spec.template.spec.containers[0].image` */
export function pathString(path: FieldPath): string {
  let out = '';
  for (const seg of path) {
    if (typeof seg === 'number') out += `[${seg}]`;
    else if (/^[A-Za-z_][A-Za-z0-9_-]*$/.test(seg)) out += out ? `.${seg}` : seg;
    else out += `[${JSON.stringify(seg)}]`;
  }
  return out;
}

/** `Deployment prod/web` (`Deployment web` without a namespace). */
export function objectLabel(ref: ObjectRef): string {
  return `${ref.kind || '<no kind>'} ${ref.namespace ? `${ref.namespace}/` : ''}${ref.name || '<no name>'}`;
}

export function refOfLintObject(o: LintObject): ObjectRef {
  const md = (o.obj['metadata'] ?? {}) as Record<string, unknown>;
  const ns = typeof md['namespace'] === 'string' ? md['namespace'] : undefined;
  return {
    apiVersion: typeof o.obj['apiVersion'] === 'string' ? o.obj['apiVersion'] : '',
    kind: typeof o.obj['kind'] === 'string' ? o.obj['kind'] : '',
    name: typeof md['name'] === 'string' ? md['name'] : typeof md['generateName'] === 'string' ? md['generateName'] : '',
    ...(ns ? { namespace: ns } : {}),
  };
}

/** Groups findings by the object they are about (by Source identity, else by ref). */
export function findingsByObject(objects: readonly LintObject[], findings: readonly Finding[]): Map<LintObject, Finding[]> {
  const out = new Map<LintObject, Finding[]>(objects.map((o) => [o, []]));
  const bySource = new Map<unknown, LintObject>();
  for (const o of objects) if (o.source) bySource.set(o.source, o);
  // By ref only for findings whose source matches no object (API objects have none): built on first need.
  let byRef: Map<string, LintObject> | undefined;
  const refKey = (r: ObjectRef): string => `${r.kind}\0${r.namespace ?? ''}\0${r.name}`;
  for (const f of findings) {
    let o = f.source && bySource.get(f.source);
    if (!o) {
      if (!byRef) {
        byRef = new Map();
        for (const x of objects) {
          const k = refKey(refOfLintObject(x));
          if (!byRef.has(k)) byRef.set(k, x);
        }
      }
      o = byRef.get(refKey(f.object));
    }
    if (o) out.get(o)!.push(f);
  }
  return out;
}

export function plural(n: number, word: string): string {
  return `${n} ${word}${n === 1 ? '' : 's'}`;
}
