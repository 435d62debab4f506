/**
 * Helpers shared by the single-object checks: walking containers with their paths, reading
 * int-or-percent values, parsing image references and matching label selectors without
 * throwing. Everything here tolerates malformed input (anything of the wrong type is "not set").
 */
import { fromLabelSelectorObject, matchLabels, type LabelSelectorObject } from '../../../apiserver/selectors/labels.js';
import { SERVING_KINDS, WORKLOAD_KINDS, containersOf, isRecord, podTemplateOf, rec, type ContainerRef } from '../../objects.js';
import type { KObject, PodTemplateRef } from '../../types.js';

/** Kinds whose objects carry a pod spec (bare Pods included). */
export const POD_KINDS: readonly string[] = WORKLOAD_KINDS;

/** Long-running kinds: probes, replicas and anti-affinity only make sense for them. */
export const SERVING_POD_KINDS: readonly string[] = SERVING_KINDS;

/**
 * Calls `fn` for every container of the object's pod template (init containers too when
 * `withInit`), collecting what it returns. Objects without a pod template give nothing.
 */
export function perContainer<T>(
  obj: KObject,
  fn: (c: ContainerRef, t: PodTemplateRef) => T[],
  o: { withInit?: boolean } = {},
): T[] {
  const t = podTemplateOf(obj);
  if (!t) return [];
  const out: T[] = [];
  for (const c of containersOf(t, { withInit: o.withInit ?? true })) out.push(...fn(c, t));
  return out;
}

/** Label for a container in messages: "container web" or "init container setup". */
export function containerLabel(c: ContainerRef): string {
  return `${c.type === 'initContainer' ? 'init container' : 'container'} ${c.name}`;
}

/** An int or a percentage string as written; undefined when absent or malformed. */
export type IntOrPercent = { kind: 'int'; value: number } | { kind: 'percent'; value: number };

/** Parses an IntOrString field: integers and "N%" strings; anything else is `'invalid'`. */
export function intOrPercent(v: unknown): IntOrPercent | 'invalid' | undefined {
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'number') return Number.isInteger(v) ? { kind: 'int', value: v } : 'invalid';
  if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    if (m) return { kind: 'percent', value: Number(m[1]) };
    return 'invalid';
  }
  return 'invalid';
}

/** intstr.GetScaledValueFromIntOrPercent: a percentage of `total`, rounded up or down. */
export function scaled(v: IntOrPercent, total: number, roundUp: boolean): number {
  if (v.kind === 'int') return v.value;
  const x = (v.value * total) / 100;
  return roundUp ? Math.ceil(x) : Math.floor(x);
}

/** The parts of an image reference that matter for pinning. */
export interface ImageRef {
  /** The tag, or undefined when none is written (the runtime then pulls `latest`). */
  tag?: string;
  /** The digest (`sha256:...`) when pinned by digest. */
  digest?: string;
}

/**
 * Splits `registry:5000/team/app:1.2@sha256:...` correctly: a ':' only starts a tag after the
 * last '/', so a registry port is not mistaken for a tag.
 */
export function parseImage(image: string): ImageRef {
  let rest = image;
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  const slash = rest.lastIndexOf('/');
  const colon = rest.lastIndexOf(':');
  const tag = colon > slash ? rest.slice(colon + 1) : undefined;
  return { ...(tag !== undefined ? { tag } : {}), ...(digest !== undefined ? { digest } : {}) };
}

/** Whether an image runs whatever `latest` (or no tag) points at right now. */
export function isMutableImage(image: string): boolean {
  const ref = parseImage(image);
  if (ref.digest) return false;
  return ref.tag === undefined || ref.tag === '' || ref.tag === 'latest';
}

/**
 * Whether a metav1.LabelSelector object matches `labels`; `'invalid'` when it cannot be parsed
 * (bad operator or key). A missing selector matches nothing.
 */
export function selectorMatches(sel: unknown, labels: Record<string, string>): boolean | 'invalid' {
  if (sel === undefined || sel === null) return false;
  if (!isRecord(sel)) return 'invalid';
  try {
    return matchLabels(fromLabelSelectorObject(sel as LabelSelectorObject), labels);
  } catch {
    return 'invalid';
  }
}

/** The `replicas` of a Deployment/StatefulSet/ReplicaSet: 1 when unset (the API default). */
export function replicasOf(obj: KObject): number | undefined {
  const spec = rec(obj['spec']);
  if (!spec) return 1;
  const r = spec['replicas'];
  if (r === undefined || r === null) return 1;
  return typeof r === 'number' && Number.isInteger(r) ? r : undefined;
}
