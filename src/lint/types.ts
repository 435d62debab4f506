/**
 * The shared model of `kubelite lint` and the API server's admission warnings: objects to check
 * (with where they came from), checks (small pure functions with a stable id), and findings.
 *
 * Contract for checks: pure and synchronous — the same objects give the same findings in the
 * same order; never throw on malformed objects (a check sees whatever a user wrote, including
 * wrong types: treat anything unexpected as "not set"); one finding per offending field, with
 * the path of that field (so SARIF can point at its line) and the container name when the field
 * is in a container.
 */

export type Severity = 'error' | 'warning' | 'info';

/** Severity order for `--fail-on` and sorting: error > warning > info. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { error: 3, warning: 2, info: 1 };

/** A Kubernetes object as written by the user (nothing is guaranteed about its shape). */
export type KObject = Record<string, unknown>;

/** A path into an object: keys and array indexes, e.g. ['spec', 'template', 'spec', 'containers', 0, 'image']. */
export type FieldPath = readonly (string | number)[];

/** Where an object came from (absent for objects checked by the API server). */
export interface Source {
  /** The file as given on the command line ('-' or '<stdin>' for standard input). */
  file: string;
  /** 0-based index of the YAML document (or JSON list item) in the file. */
  doc: number;
  /** 1-based line and column of a field of the object (the nearest existing ancestor when the field is absent). */
  locate(path: FieldPath): { line: number; column: number };
}

/** One object to lint. */
export interface LintObject {
  obj: KObject;
  source?: Source;
}

/** The object a finding is about. */
export interface ObjectRef {
  apiVersion: string;
  kind: string;
  namespace?: string;
  name: string;
}

/** What a check reports: `message` is one line that says what is wrong AND how to fix it. */
export interface Problem {
  message: string;
  /** The offending field (or, for a missing field, where it should be added). */
  path: FieldPath;
  /** The container the field belongs to, when it is inside one (per-container ignores use it). */
  container?: string;
  /** Overrides the check's default severity for this problem. */
  severity?: Severity;
}

/** A problem with its check and object: what the CLI prints and the API server returns as a warning. */
export interface Finding extends Problem {
  check: string;
  severity: Severity;
  object: ObjectRef;
  source?: Source;
  /** `source.locate(path)`, computed once by lintObjects (formats read it). */
  position?: { line: number; column: number };
}

/** Read-only view of every object in the run, for cross-object checks (see index.ts). */
export interface ObjectIndex {
  /** Every object, in input order. */
  all(): readonly KObject[];
  /** Objects of a kind (e.g. 'Service'), optionally in one namespace ('default' when an object has none). */
  byKind(kind: string, namespace?: string): readonly KObject[];
  /** One object by kind, namespace and name. */
  get(kind: string, namespace: string, name: string): KObject | undefined;
  /** Pod templates (workloads and bare Pods) in a namespace whose labels the selector matches. */
  podTemplatesSelectedBy(selector: Record<string, string>, namespace: string): readonly PodTemplateRef[];
}

/** A pod spec inside a workload (or a bare Pod), with where it is. */
export interface PodTemplateRef {
  owner: KObject;
  /** Path of the pod spec: ['spec'] for a Pod, ['spec', 'template', 'spec'] for a Deployment, ... */
  specPath: FieldPath;
  spec: Record<string, unknown>;
  /** The template's (or Pod's) labels. */
  labels: Record<string, string>;
}

export interface CheckContext {
  index: ObjectIndex;
  /**
   * 'cli': every object of the run is in the index (manifests checked together).
   * 'admission': the index holds the cluster's stored objects plus the one being written;
   * checks that would be noisy on a live cluster (e.g. "no NetworkPolicy selects this") may skip.
   */
  mode: 'cli' | 'admission';
}

/** Which rule sets a check covers (for the mapping table in docs/lint.md). */
export interface CheckOrigin {
  kubeScore?: string[];
  kubeLinter?: string[];
  polaris?: string[];
  /** The seed article's practice, in a few words. */
  article?: string;
}

export interface Check {
  /** Stable id, kebab-case (e.g. 'image-tag-latest'); never reused for another meaning. */
  id: string;
  severity: Severity;
  /** One sentence: what the check looks for and why it matters (docs and `--list`). */
  description: string;
  /** Kinds it looks at (e.g. ['Deployment', 'StatefulSet', ...]); the runner only calls it for these. */
  kinds: readonly string[];
  /** 'object': needs only the object; 'cross': also reads other objects from the index. */
  scope: 'object' | 'cross';
  /** Cheap enough to run on every API write (admission warnings); single-object checks always are. */
  admission: boolean;
  origin: CheckOrigin;
  run(obj: KObject, ctx: CheckContext): Problem[];
}
