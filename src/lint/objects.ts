/**
 * Safe readers over user-written objects (anything may have the wrong type) and the pod-template
 * helpers every workload check needs. Nothing here throws on malformed input.
 */
import type { FieldPath, KObject, ObjectRef, PodTemplateRef } from './types.js';

export function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at `path`, or undefined when any step is missing or of the wrong type. */
export function at(obj: unknown, path: FieldPath): unknown {
  let cur: unknown = obj;
  for (const k of path) {
    if (typeof k === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[k];
    } else {
      if (!isRecord(cur)) return undefined;
      cur = cur[k];
    }
  }
  return cur;
}

export function str(v: unknown): string | undefined {
  return typeof v === 'string' ? v : undefined;
}

export function rec(v: unknown): Record<string, unknown> | undefined {
  return isRecord(v) ? v : undefined;
}

export function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

/** A string map (labels, selectors): non-string values are dropped. */
export function stringMap(v: unknown): Record<string, string> {
  const out: Record<string, string> = {};
  if (!isRecord(v)) return out;
  for (const k in v) {
    if (!Object.hasOwn(v, k)) continue;
    const val = v[k];
    if (typeof val === 'string') out[k] = val;
  }
  return out;
}

export function kindOf(obj: KObject): string {
  return str(obj['kind']) ?? '';
}

export function nameOf(obj: KObject): string {
  return str(at(obj, ['metadata', 'name'])) ?? str(at(obj, ['metadata', 'generateName'])) ?? '';
}

/** The object's namespace; 'default' when unset (as kubectl apply would use). */
export function namespaceOf(obj: KObject): string {
  return str(at(obj, ['metadata', 'namespace'])) || 'default';
}

/** Whether an object has a controller owner (a ReplicaSet's Pods, a Deployment's ReplicaSets): its owner's template stands for it. */
export function hasControllerOwner(obj: KObject): boolean {
  return arr(at(obj, ['metadata', 'ownerReferences'])).some((r) => isRecord(r) && r['controller'] === true);
}

export function annotationsOf(obj: KObject): Record<string, string> {
  return stringMap(at(obj, ['metadata', 'annotations']));
}

export function refOf(obj: KObject): ObjectRef {
  const ns = str(at(obj, ['metadata', 'namespace']));
  return { apiVersion: str(obj['apiVersion']) ?? '', kind: kindOf(obj), name: nameOf(obj), ...(ns ? { namespace: ns } : {}) };
}

/** Kinds that carry a pod template, and where it is. */
export const POD_SPEC_PATHS: Readonly<Record<string, FieldPath>> = {
  Pod: ['spec'],
  Deployment: ['spec', 'template', 'spec'],
  ReplicaSet: ['spec', 'template', 'spec'],
  ReplicationController: ['spec', 'template', 'spec'],
  StatefulSet: ['spec', 'template', 'spec'],
  DaemonSet: ['spec', 'template', 'spec'],
  Job: ['spec', 'template', 'spec'],
  CronJob: ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

export const WORKLOAD_KINDS: readonly string[] = Object.keys(POD_SPEC_PATHS);

/** Long-running workloads (probes, replicas, rolling updates apply to them; Jobs and Pods differ). */
export const SERVING_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'DaemonSet', 'ReplicaSet', 'ReplicationController'];

/** POD_SPEC_PATHS[kind], safe for any string (`constructor` is not a kind with a pod spec). */
export function podSpecPathOf(kind: string): FieldPath | undefined {
  return Object.hasOwn(POD_SPEC_PATHS, kind) ? POD_SPEC_PATHS[kind] : undefined;
}

/** Where each kind of POD_SPEC_PATHS keeps its pod labels. */
const LABELS_PATHS: Readonly<Record<string, FieldPath>> = Object.fromEntries(
  Object.entries(POD_SPEC_PATHS).map(([kind, p]) => [kind, kind === 'Pod' ? ['metadata', 'labels'] : [...p.slice(0, -1), 'metadata', 'labels']]),
);

/**
 * A PodTemplateRef whose labels are read on first use: most checks that take a template never
 * look at its labels, and this runs for every check of every workload.
 */
class TemplateRef implements PodTemplateRef {
  private labelsValue: Record<string, string> | undefined;
  constructor(
    readonly owner: KObject,
    readonly specPath: FieldPath,
    readonly spec: Record<string, unknown>,
    private readonly labelsPath: FieldPath,
  ) {}
  get labels(): Record<string, string> {
    return (this.labelsValue ??= stringMap(at(this.owner, this.labelsPath)));
  }
}

/** The pod template of a workload or Pod, or undefined (another kind, or no spec). */
export function podTemplateOf(obj: KObject): PodTemplateRef | undefined {
  const kind = kindOf(obj);
  const specPath = podSpecPathOf(kind);
  if (!specPath) return undefined;
  const spec = rec(at(obj, specPath));
  if (!spec) return undefined;
  return new TemplateRef(obj, specPath, spec, LABELS_PATHS[kind]!);
}

export interface ContainerRef {
  container: Record<string, unknown>;
  name: string;
  /** Path of the container object, e.g. [...specPath, 'containers', 0]. */
  path: FieldPath;
  type: 'container' | 'initContainer' | 'ephemeralContainer';
}

/** Containers of a pod spec (init containers too when `withInit`), each with its path. */
export function containersOf(t: PodTemplateRef, o: { withInit?: boolean } = {}): ContainerRef[] {
  const out: ContainerRef[] = [];
  const lists: [string, ContainerRef['type']][] = [['containers', 'container']];
  if (o.withInit) lists.push(['initContainers', 'initContainer']);
  for (const [field, type] of lists) {
    arr(t.spec[field]).forEach((c, i) => {
      if (!isRecord(c)) return;
      out.push({ container: c, name: str(c['name']) ?? `#${i}`, path: [...t.specPath, field, i], type });
    });
  }
  return out;
}

/** A label selector's matchLabels (or a Service's plain map) as a map; undefined when absent. */
export function selectorOf(v: unknown): Record<string, string> | undefined {
  if (!isRecord(v)) return undefined;
  if ('matchLabels' in v || 'matchExpressions' in v) return stringMap(v['matchLabels']);
  return stringMap(v);
}

/** Whether every selector pair is in `labels` (an empty selector matches everything). */
export function selects(selector: Record<string, string>, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}
