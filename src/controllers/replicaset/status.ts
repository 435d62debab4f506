/**
 * ReplicaSet status from its pods (kube's calculateStatus and the equality check of
 * updateReplicaSetStatus). Pure. The Deployment controller and kubectl read these fields, so
 * they follow apps/v1 exactly: `replicas` is always present; fullyLabeledReplicas,
 * readyReplicas, availableReplicas and observedGeneration are omitted when 0 (omitempty), as
 * kube-apiserver would serialize them.
 */
import type { KObject } from '../../api/types.js';
import { isPodAvailable, isPodReady } from '../owners.js';

export const REPLICA_FAILURE = 'ReplicaFailure';

export interface RSCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface RSStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: RSCondition[];
}

export interface RSView {
  spec?: { replicas?: number; minReadySeconds?: number; template?: { metadata?: { labels?: Record<string, string> } } };
  status?: Partial<RSStatus>;
}

/** spec.replicas with the apps/v1 default of 1. */
export function desiredReplicas(rs: KObject): number {
  const r = (rs as RSView).spec?.replicas;
  return typeof r === 'number' ? r : 1;
}

export function minReadySeconds(rs: KObject): number {
  return (rs as RSView).spec?.minReadySeconds ?? 0;
}

function hasAllLabels(want: Record<string, string>, have: Record<string, string> | undefined): boolean {
  return Object.entries(want).every(([k, v]) => have?.[k] === v);
}

/**
 * The status for `rs` owning the active pods `pods`. `manageError` is the error of this sync's
 * creates/deletes: it sets ReplicaFailure (reason FailedCreate when short of pods, FailedDelete
 * when over) if absent; no error removes it. observedGeneration is the generation synced.
 */
export function calculateStatus(rs: KObject, pods: KObject[], opts: { manageError?: Error; now: number; nowRfc3339: string }): RSStatus {
  const old = ((rs as RSView).status ?? {}) as Partial<RSStatus>;
  const templateLabels = (rs as RSView).spec?.template?.metadata?.labels ?? {};
  const minReady = minReadySeconds(rs);
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (hasAllLabels(templateLabels, p.metadata.labels)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, opts.now)) available++;
    }
  }
  let conditions = [...(old.conditions ?? [])];
  const failure = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (opts.manageError && !failure) {
    const diff = pods.length - desiredReplicas(rs);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: RSCondition = { type: REPLICA_FAILURE, status: 'True', lastTransitionTime: opts.nowRfc3339, reason, message: opts.manageError.message };
    if (!reason) delete cond.reason;
    conditions.push(cond);
  } else if (!opts.manageError && failure) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }
  const st: RSStatus = { replicas: pods.length };
  if (fullyLabeled) st.fullyLabeledReplicas = fullyLabeled;
  if (ready) st.readyReplicas = ready;
  if (available) st.availableReplicas = available;
  const gen = rs.metadata.generation ?? 0;
  if (gen) st.observedGeneration = gen;
  if (conditions.length) st.conditions = conditions;
  return st;
}

/** True when `status` (as stored) already says what `next` says. */
export function statusEqual(status: Partial<RSStatus> | undefined, next: RSStatus): boolean {
  const s = status ?? {};
  const n = (v: number | undefined): number => v ?? 0;
  return (
    n(s.replicas) === next.replicas &&
    n(s.fullyLabeledReplicas) === n(next.fullyLabeledReplicas) &&
    n(s.readyReplicas) === n(next.readyReplicas) &&
    n(s.availableReplicas) === n(next.availableReplicas) &&
    n(s.observedGeneration) === n(next.observedGeneration) &&
    JSON.stringify(s.conditions ?? []) === JSON.stringify(next.conditions ?? [])
  );
}

/**
 * Milliseconds until the next ready-but-not-yet-available pod becomes available (so the
 * controller can re-check then), or undefined when none will.
 */
export function nextAvailableIn(rs: KObject, pods: KObject[], now: number): number | undefined {
  const minReady = minReadySeconds(rs);
  if (!minReady) return undefined;
  let best: number | undefined;
  for (const p of pods) {
    if (!isPodReady(p) || isPodAvailable(p, minReady, now)) continue;
    const cond = ((p.status as { conditions?: RSCondition[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready' && c.status === 'True');
    const since = cond?.lastTransitionTime ? Date.parse(cond.lastTransitionTime) : NaN;
    if (!Number.isFinite(since)) continue;
    const wait = Math.max(0, since + minReady * 1000 - now);
    if (best === undefined || wait < best) best = wait;
  }
  return best;
}
