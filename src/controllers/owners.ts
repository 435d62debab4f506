/**
 * Owner references and pod templates, shared by the workload controllers (ReplicaSet,
 * Deployment, StatefulSet): who controls an object, and the pod a template stamps out.
 */
import type { KObject, OwnerReference } from '../api/types.js';
import { clone } from '../api/types.js';

/** The controlling owner reference (controller: true), if any. */
export function controllerOf(obj: KObject): OwnerReference | undefined {
  return (obj.metadata.ownerReferences ?? []).find((r) => r.controller === true);
}

/** An ownerReference naming `owner` as controller, blocking its foreground deletion. */
export function controllerRef(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion ?? '',
    kind: owner.kind ?? '',
    name: owner.metadata.name ?? '',
    uid: owner.metadata.uid ?? '',
    controller: true,
    blockOwnerDeletion: true,
  };
}

/** True when obj is controlled by the object with this uid. */
export function isControlledBy(obj: KObject, uid: string | undefined): boolean {
  return !!uid && controllerOf(obj)?.uid === uid;
}

export interface PodTemplateSpec {
  metadata?: { labels?: Record<string, string>; annotations?: Record<string, string>; [k: string]: unknown };
  spec?: Record<string, unknown>;
}

/**
 * The pod a controller creates from its template: template labels/annotations/spec, a
 * `generateName` of `<prefix>` (or a fixed `name`), and the owner as controller.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KObject, opts: { generateName?: string; name?: string } = {}): KObject {
  const t = clone(template ?? {});
  const meta: KObject['metadata'] = {
    labels: { ...(t.metadata?.labels ?? {}) },
    annotations: { ...(t.metadata?.annotations ?? {}) },
    ownerReferences: [controllerRef(owner)],
  };
  if (!Object.keys(meta.annotations!).length) delete meta.annotations;
  if (opts.name) meta.name = opts.name;
  else meta.generateName = opts.generateName ?? `${owner.metadata.name}-`;
  meta.namespace = owner.metadata.namespace;
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: t.spec ?? {} };
}

interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

/** The pod's Ready condition is True. */
export function isPodReady(pod: KObject): boolean {
  const conds = ((pod.status as { conditions?: PodCondition[] } | undefined)?.conditions ?? []);
  return conds.some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Ready for at least minReadySeconds at time `now` (ms since epoch). */
export function isPodAvailable(pod: KObject, minReadySeconds: number, now: number): boolean {
  const conds = ((pod.status as { conditions?: PodCondition[] } | undefined)?.conditions ?? []);
  const ready = conds.find((c) => c.type === 'Ready' && c.status === 'True');
  if (!ready) return false;
  if (!minReadySeconds) return true;
  const since = ready.lastTransitionTime ? Date.parse(ready.lastTransitionTime) : NaN;
  return Number.isFinite(since) && since + minReadySeconds * 1000 <= now;
}

/** Active: not terminated (Succeeded/Failed) and not being deleted (kube's IsPodActive). */
export function isPodActive(pod: KObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}
