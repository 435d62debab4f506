/**
 * Deployment status and conditions as kube computes them (sync.go calculateStatus, progress.go
 * syncRolloutStatus/requeueStuckDeployment, checkPausedConditions): what `kubectl rollout
 * status` reads. Pure: the time is passed in (ms since epoch) and objects are not mutated unless
 * a function says so.
 */
import {
  type Condition,
  type Deployment,
  type DeploymentStatus,
  type ReplicaSet,
  hasProgressDeadline,
  maxUnavailable,
  semanticEqual,
  specReplicas,
  sumSpecReplicas,
  sumStatus,
} from './util.js';

export const AVAILABLE = 'Available';
export const PROGRESSING = 'Progressing';
export const REPLICA_FAILURE = 'ReplicaFailure';

// Reasons (kube's deployment util constants).
export const MINIMUM_REPLICAS_AVAILABLE = 'MinimumReplicasAvailable';
export const MINIMUM_REPLICAS_UNAVAILABLE = 'MinimumReplicasUnavailable';
export const NEW_RS_REASON = 'NewReplicaSetCreated';
export const FOUND_NEW_RS_REASON = 'FoundNewReplicaSet';
export const RS_UPDATED_REASON = 'ReplicaSetUpdated';
export const NEW_RS_AVAILABLE_REASON = 'NewReplicaSetAvailable';
export const TIMED_OUT_REASON = 'ProgressDeadlineExceeded';
export const PAUSED_REASON = 'DeploymentPaused';
export const RESUMED_REASON = 'DeploymentResumed';
export const FAILED_RS_CREATE_REASON = 'ReplicaSetCreateError';

/** metav1.Time as JSON: RFC 3339 with second precision. */
export function timeString(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function getCondition(status: DeploymentStatus | undefined, type: string): Condition | undefined {
  return (status?.conditions ?? []).find((c) => c.type === type);
}

export function newCondition(type: string, status: string, reason: string, message: string, now: number): Condition {
  const t = timeString(now);
  return { type, status, lastUpdateTime: t, lastTransitionTime: t, reason, message };
}

/**
 * kube's SetDeploymentCondition (mutates `status`): a condition with the same status and reason
 * is left as it was (times and message too); same status with another reason keeps its
 * lastTransitionTime.
 */
export function setCondition(status: DeploymentStatus, cond: Condition): void {
  const cur = getCondition(status, cond.type);
  if (cur && cur.status === cond.status && cur.reason === cond.reason) return;
  const next = { ...cond };
  if (cur && cur.status === cond.status) next.lastTransitionTime = cur.lastTransitionTime;
  status.conditions = [...(status.conditions ?? []).filter((c) => c.type !== cond.type), next];
}

export function removeCondition(status: DeploymentStatus, type: string): void {
  if (!status.conditions) return;
  status.conditions = status.conditions.filter((c) => c.type !== type);
  if (!status.conditions.length) delete status.conditions;
}

/** Drops zero counts (kube's omitempty), so statuses compare as their JSON would. */
export function compactStatus(s: DeploymentStatus): DeploymentStatus {
  const out: DeploymentStatus = {};
  for (const [k, v] of Object.entries(s) as [keyof DeploymentStatus, unknown][]) {
    if (v === undefined || v === null || v === 0) continue;
    if (k === 'conditions' && Array.isArray(v) && !v.length) continue;
    (out as Record<string, unknown>)[k] = v;
  }
  return out;
}

export function statusEqual(a: DeploymentStatus | undefined, b: DeploymentStatus | undefined): boolean {
  return semanticEqual(compactStatus(a ?? {}), compactStatus(b ?? {}));
}

/** kube's calculateStatus: counts from the ReplicaSets, plus the Available condition. */
export function calculateStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): DeploymentStatus {
  const available = sumStatus(allRSs, 'availableReplicas');
  const total = sumSpecReplicas(allRSs);
  const status: DeploymentStatus = {
    observedGeneration: d.metadata.generation ?? 0,
    replicas: sumStatus(allRSs, 'replicas'),
    updatedReplicas: sumStatus([newRS], 'replicas'),
    readyReplicas: sumStatus(allRSs, 'readyReplicas'),
    availableReplicas: available,
    unavailableReplicas: Math.max(0, total - available),
    collisionCount: d.status?.collisionCount,
    conditions: (d.status?.conditions ?? []).map((c) => ({ ...c })),
  };
  if (available >= specReplicas(d) - maxUnavailable(d)) {
    setCondition(status, newCondition(AVAILABLE, 'True', MINIMUM_REPLICAS_AVAILABLE, 'Deployment has minimum availability.', now));
  } else {
    setCondition(status, newCondition(AVAILABLE, 'False', MINIMUM_REPLICAS_UNAVAILABLE, 'Deployment does not have minimum availability.', now));
  }
  return compactStatus(status);
}

/** Every desired replica is updated and available, and the spec was observed. */
export function deploymentComplete(d: Deployment, s: DeploymentStatus): boolean {
  const want = specReplicas(d);
  return (s.updatedReplicas ?? 0) === want && (s.replicas ?? 0) === want && (s.availableReplicas ?? 0) === want && (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0);
}

/** Something moved since the last status: more updated/ready/available pods, or fewer old ones. */
export function deploymentProgressing(d: Deployment, s: DeploymentStatus): boolean {
  const old = d.status ?? {};
  const oldOld = (old.replicas ?? 0) - (old.updatedReplicas ?? 0);
  const newOld = (s.replicas ?? 0) - (s.updatedReplicas ?? 0);
  return (s.updatedReplicas ?? 0) > (old.updatedReplicas ?? 0) || newOld < oldOld || (s.readyReplicas ?? 0) > (old.readyReplicas ?? 0) || (s.availableReplicas ?? 0) > (old.availableReplicas ?? 0);
}

/** No progress for progressDeadlineSeconds since the Progressing condition was last updated. */
export function deploymentTimedOut(d: Deployment, s: DeploymentStatus, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(s, PROGRESSING);
  if (!cond) return false;
  if (cond.reason === NEW_RS_AVAILABLE_REASON) return false;
  if (cond.reason === TIMED_OUT_REASON) return true;
  const from = cond.lastUpdateTime ? Date.parse(cond.lastUpdateTime) : NaN;
  if (!Number.isFinite(from)) return false;
  return from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 < now;
}

export interface RolloutStatusResult {
  status: DeploymentStatus;
  /** The status differs from the Deployment's: write it. */
  changed: boolean;
  /** When unchanged: re-check after this many ms (0: now, rate-limited); undefined: no need. */
  requeueAfterMs?: number;
}

/**
 * kube's syncRolloutStatus: the counts, then the Progressing condition — NewReplicaSetAvailable
 * once complete, ReplicaSetUpdated (lastUpdateTime refreshed, lastTransitionTime kept) while
 * anything moves, ProgressDeadlineExceeded once nothing moved for the deadline — and the
 * ReplicaSets' ReplicaFailure condition.
 */
export function rolloutStatus(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined, d: Deployment, now: number): RolloutStatusResult {
  const s = calculateStatus(allRSs, newRS, d, now);
  const status: DeploymentStatus = { ...s, conditions: [...(s.conditions ?? [])] };
  if (!hasProgressDeadline(d)) removeCondition(status, PROGRESSING);
  const current = getCondition(d.status, PROGRESSING);
  const isComplete = (status.replicas ?? 0) === (status.updatedReplicas ?? 0) && current?.reason === NEW_RS_AVAILABLE_REASON;
  if (hasProgressDeadline(d) && !isComplete) {
    const name = newRS?.metadata.name;
    if (deploymentComplete(d, status)) {
      const msg = name ? `ReplicaSet "${name}" has successfully progressed.` : `Deployment "${d.metadata.name}" has successfully progressed.`;
      setCondition(status, newCondition(PROGRESSING, 'True', NEW_RS_AVAILABLE_REASON, msg, now));
    } else if (deploymentProgressing(d, status)) {
      const msg = name ? `ReplicaSet "${name}" is progressing.` : `Deployment "${d.metadata.name}" is progressing.`;
      const cond = newCondition(PROGRESSING, 'True', RS_UPDATED_REASON, msg, now);
      if (current) {
        if (current.status === 'True') cond.lastTransitionTime = current.lastTransitionTime;
        removeCondition(status, PROGRESSING);
      }
      setCondition(status, cond);
    } else if (deploymentTimedOut(d, status, now)) {
      const msg = name ? `ReplicaSet "${name}" has timed out progressing.` : `Deployment "${d.metadata.name}" has timed out progressing.`;
      setCondition(status, newCondition(PROGRESSING, 'False', TIMED_OUT_REASON, msg, now));
    }
  }
  const failure = replicaFailure(allRSs, newRS);
  if (failure) setCondition(status, failure);
  else removeCondition(status, REPLICA_FAILURE);

  const out = compactStatus(status);
  if (statusEqual(d.status, out)) return { status: out, changed: false, requeueAfterMs: requeueStuck(d, out, now) };
  return { status: out, changed: true };
}

/** The new ReplicaSet's ReplicaFailure condition, else any old one's, as a Deployment condition. */
function replicaFailure(allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet | undefined): Condition | undefined {
  const from = (rs: ReplicaSet | undefined): Condition | undefined => {
    const c = (rs?.status?.conditions ?? []).find((x) => x.type === REPLICA_FAILURE);
    if (!c) return undefined;
    return { type: REPLICA_FAILURE, status: c.status, lastUpdateTime: c.lastTransitionTime, lastTransitionTime: c.lastTransitionTime, reason: c.reason, message: c.message };
  };
  return from(newRS) ?? allRSs.map(from).find((c) => c !== undefined);
}

/**
 * kube's requeueStuckDeployment: when a rollout shows no progress, when to look again so the
 * deadline is noticed — the condition's lastUpdateTime + deadline - now, plus a second; 0 when
 * under a second (re-queue now, rate-limited); undefined when there is nothing to watch.
 */
export function requeueStuck(d: Deployment, s: DeploymentStatus, now: number): number | undefined {
  const cond = getCondition(d.status, PROGRESSING);
  if (!hasProgressDeadline(d) || !cond) return undefined;
  if (deploymentComplete(d, s) || cond.reason === TIMED_OUT_REASON) return undefined;
  const from = cond.lastUpdateTime ? Date.parse(cond.lastUpdateTime) : NaN;
  if (!Number.isFinite(from)) return undefined;
  const after = from + (d.spec.progressDeadlineSeconds ?? 0) * 1000 - now;
  if (after < 1000) return 0;
  return after + 1000;
}

/**
 * kube's checkPausedConditions (mutates d.status): Progressing Unknown/DeploymentPaused when
 * paused, Unknown/DeploymentResumed when resumed, so time spent paused never counts against the
 * deadline; a reported timeout is never overwritten. True if the status changed.
 */
export function applyPausedCondition(d: Deployment, now: number): boolean {
  if (!hasProgressDeadline(d)) return false;
  const cond = getCondition(d.status, PROGRESSING);
  if (cond?.reason === TIMED_OUT_REASON) return false;
  const pausedExists = cond?.reason === PAUSED_REASON;
  const status = (d.status ??= {});
  if (d.spec.paused && !pausedExists) {
    setCondition(status, newCondition(PROGRESSING, 'Unknown', PAUSED_REASON, 'Deployment is paused', now));
    return true;
  }
  if (!d.spec.paused && pausedExists) {
    setCondition(status, newCondition(PROGRESSING, 'Unknown', RESUMED_REASON, 'Deployment is resumed', now));
    return true;
  }
  return false;
}
