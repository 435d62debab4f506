/**
 * StatefulSet pod identity and health, as kube's statefulset utils define them: a member pod is
 * named `<set>-<ordinal>`, carries the pod-name / pod-index / revision labels, and has its
 * hostname and subdomain fixed at creation so it gets the stable DNS name
 * `<pod>.<serviceName>.<ns>.svc.cluster.local`. Everything here is pure.
 */
import type { KObject } from '../../api/types.js';
import { isPodAvailable, isPodReady, podFromTemplate, type PodTemplateSpec } from '../owners.js';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
/** The pod label holding the ControllerRevision name the pod was made from. */
export const REVISION_LABEL = 'controller-revision-hash';

/** The parts of a StatefulSet spec the controller acts on, with API defaults filled in. */
export interface SetSpec {
  replicas: number;
  /** spec.ordinals.start: the first ordinal (inclusive). */
  start: number;
  serviceName: string;
  podManagementPolicy: 'OrderedReady' | 'Parallel';
  updateType: 'RollingUpdate' | 'OnDelete';
  /** Set only for RollingUpdate with a rollingUpdate block (defaulting always adds one). */
  partition?: number;
  maxUnavailable?: number | string;
  minReadySeconds: number;
  revisionHistoryLimit: number;
  template: PodTemplateSpec;
}

type Loose = Record<string, unknown>;
const obj = (v: unknown): Loose => (typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Loose) : {});
const num = (v: unknown, d: number): number => (typeof v === 'number' && Number.isFinite(v) ? v : d);

/** Reads a StatefulSet's spec, filling the same defaults the API server applies. */
export function setSpec(set: KObject): SetSpec {
  const s = obj(set.spec);
  const us = obj(s.updateStrategy);
  const updateType = us.type === 'OnDelete' ? 'OnDelete' : 'RollingUpdate';
  const ru = us.rollingUpdate === undefined || us.rollingUpdate === null ? undefined : obj(us.rollingUpdate);
  const out: SetSpec = {
    replicas: num(s.replicas, 1),
    start: num(obj(s.ordinals).start, 0),
    serviceName: typeof s.serviceName === 'string' ? s.serviceName : '',
    podManagementPolicy: s.podManagementPolicy === 'Parallel' ? 'Parallel' : 'OrderedReady',
    updateType,
    minReadySeconds: num(s.minReadySeconds, 0),
    revisionHistoryLimit: num(s.revisionHistoryLimit, 10),
    template: obj(s.template) as PodTemplateSpec,
  };
  if (updateType === 'RollingUpdate' && ru) {
    out.partition = num(ru.partition, 0);
    if (typeof ru.maxUnavailable === 'number' || typeof ru.maxUnavailable === 'string') out.maxUnavailable = ru.maxUnavailable;
  }
  return out;
}

const ORDINAL_NAME = /^(.*)-([0-9]+)$/;
const MAX_INT32 = 2 ** 31 - 1;

/**
 * Splits a pod name into parent set name and ordinal; `{ parent: '', ordinal: -1 }` when the
 * name has no `-<digits>` suffix, ordinal -1 when the digits overflow int32 (as kube's ParseInt
 * with bitSize 32 fails).
 */
export function parentAndOrdinal(podName: string): { parent: string; ordinal: number } {
  const m = ORDINAL_NAME.exec(podName);
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1], ordinal: Number.isSafeInteger(n) && n <= MAX_INT32 ? n : -1 };
}

export function ordinalOf(pod: KObject): number {
  return parentAndOrdinal(pod.metadata.name ?? '').ordinal;
}

export function podName(setName: string, ordinal: number): string {
  return `${setName}-${ordinal}`;
}

/** The pod's name says it belongs to the set (kube's isMemberOf). */
export function isMemberOf(set: KObject, pod: KObject): boolean {
  return parentAndOrdinal(pod.metadata.name ?? '').parent === set.metadata.name;
}

/** start <= ordinal <= start + replicas - 1. */
export function inOrdinalRange(ordinal: number, spec: Pick<SetSpec, 'start' | 'replicas'>): boolean {
  return ordinal >= spec.start && ordinal <= spec.start + spec.replicas - 1;
}

/** Name, namespace and pod-name label agree with the set (kube's identityMatches). */
export function identityMatches(set: KObject, pod: KObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name ?? '');
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === podName(set.metadata.name ?? '', ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name
  );
}

/** Sets the identity labels on a pod (in place); used at creation and to repair a pod. */
export function applyIdentityLabels(pod: KObject): KObject {
  const ordinal = ordinalOf(pod);
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name ?? '', [POD_INDEX_LABEL]: String(ordinal) };
  return pod;
}

/**
 * The pod for `ordinal` stamped from `template` (the template of the revision it is created at):
 * template labels plus identity and revision labels, hostname = pod name, subdomain = the
 * governing service, and the set as controller.
 */
export function newStatefulPod(set: KObject, opts: { template: PodTemplateSpec; ordinal: number; revision: string }): KObject {
  const name = podName(set.metadata.name ?? '', opts.ordinal);
  const pod = applyIdentityLabels(podFromTemplate(opts.template, set, { name }));
  pod.metadata.labels![REVISION_LABEL] = opts.revision;
  const spec = { ...(pod.spec as Loose) };
  spec.hostname = name;
  const svc = setSpec(set).serviceName;
  if (svc) spec.subdomain = svc;
  pod.spec = spec;
  return pod;
}

export function revisionOf(pod: KObject): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? '';
}

const phaseOf = (pod: KObject): string => (obj(pod.status).phase as string | undefined) ?? '';

/** The API server has given it a phase (kube's isCreated). */
export const isCreated = (pod: KObject): boolean => phaseOf(pod) !== '';
export const isFailed = (pod: KObject): boolean => phaseOf(pod) === 'Failed';
export const isSucceeded = (pod: KObject): boolean => phaseOf(pod) === 'Succeeded';
export const isTerminating = (pod: KObject): boolean => !!pod.metadata.deletionTimestamp;
export const isRunningAndReady = (pod: KObject): boolean => phaseOf(pod) === 'Running' && isPodReady(pod);
export const isRunningAndAvailable = (pod: KObject, minReadySeconds: number, now: number): boolean => isPodAvailable(pod, minReadySeconds, now);
export const isHealthy = (pod: KObject): boolean => isRunningAndReady(pod) && !isTerminating(pod);

/** Not healthy, or not yet available for minReadySeconds; a missing pod is unavailable. */
export function isUnavailable(pod: KObject | undefined, minReadySeconds: number, now: number): boolean {
  return !pod || !isHealthy(pod) || !isRunningAndAvailable(pod, minReadySeconds, now);
}

/**
 * maxUnavailable resolved against the replica count: an int as is, a percentage rounded down,
 * never below 1 (kube's getStatefulSetMaxUnavailable).
 */
export function resolveMaxUnavailable(v: number | string | undefined, replicas: number): number {
  let n = 1;
  if (typeof v === 'number') n = v;
  else if (typeof v === 'string') {
    const m = /^(\d+)%$/.exec(v);
    n = m ? Math.floor((Number(m[1]) * replicas) / 100) : parseInt(v, 10) || 1;
  }
  return Math.max(1, n);
}
