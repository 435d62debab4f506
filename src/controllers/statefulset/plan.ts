/**
 * The StatefulSet decision, pure (kube's updateStatefulSet): from the set, its pods and the
 * current/update revision names, compute the status to report and the ordered steps to take.
 *
 * OrderedReady ("monotonic") plans at most one blocking step per sync: the first missing pod is
 * created only once every lower ordinal is Running, Ready and available; scale-down deletes the
 * highest condemned ordinal once everything else is healthy and waits for it to be gone; a
 * rolling update deletes the highest ordinal >= partition not at the update revision, then
 * waits for it to come back Ready. Parallel plans every create/delete at once; rolling updates
 * stay one at a time (or maxUnavailable at a time) under both policies.
 */
import type { KObject } from '../../api/types.js';
import {
  identityMatches,
  inOrdinalRange,
  isCreated,
  isFailed,
  isRunningAndAvailable,
  isRunningAndReady,
  isSucceeded,
  isTerminating,
  isUnavailable,
  ordinalOf,
  resolveMaxUnavailable,
  revisionOf,
  setSpec,
  type SetSpec,
} from './pods.js';

export interface SetStatus {
  observedGeneration: number;
  replicas: number;
  readyReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
  availableReplicas: number;
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
}

/**
 * `phase` groups steps: under Parallel the steps of one phase run concurrently and a failure
 * stops the later phases; under OrderedReady steps run in order and a failure stops the rest.
 */
export type Step =
  | { op: 'create'; phase: 'replicas'; ordinal: number; revision: 'current' | 'update' }
  | { op: 'delete'; phase: 'replicas' | 'condemned' | 'update'; pod: KObject; reason: 'failed' | 'scale-down' | 'update' }
  | { op: 'fixIdentity'; phase: 'replicas'; pod: KObject };

export interface Plan {
  status: SetStatus;
  steps: Step[];
  /** Parallel pod management: steps within a phase may run concurrently. */
  burst: boolean;
}

export interface PlanInput {
  set: KObject;
  /** The set's pods (claimed: controlled by it, named `<set>-<n>`). */
  pods: KObject[];
  currentRevision: string;
  updateRevision: string;
  collisionCount: number;
  /** ms since epoch, for minReadySeconds. */
  now: number;
}

/** A replica position: the existing pod, or the revision a missing pod would be created at. */
interface Slot {
  ordinal: number;
  pod?: KObject;
  newRevision?: 'current' | 'update';
}

/** Counts over pods (kube's computeReplicaStatus summed over lists). */
export function countStatus(pods: KObject[], opts: { minReadySeconds: number; now: number; currentRevision: string; updateRevision: string }): Pick<SetStatus, 'replicas' | 'readyReplicas' | 'availableReplicas' | 'currentReplicas' | 'updatedReplicas'> {
  const s = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const pod of pods) {
    if (isCreated(pod)) s.replicas++;
    if (isRunningAndReady(pod)) {
      s.readyReplicas++;
      if (isRunningAndAvailable(pod, opts.minReadySeconds, opts.now)) s.availableReplicas++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const rev = revisionOf(pod);
      if (rev === opts.currentRevision) s.currentReplicas++;
      if (rev === opts.updateRevision) s.updatedReplicas++;
    }
  }
  return s;
}

/**
 * The revision a missing pod is created at: the current one below the partition (or, with no
 * rollingUpdate block, below start+currentReplicas), otherwise the update one
 * (kube's newVersionedStatefulSetPod).
 */
export function revisionForNewPod(spec: SetSpec, ordinal: number, statusCurrentReplicas: number): 'current' | 'update' {
  if (spec.updateType === 'RollingUpdate' && spec.partition === undefined && ordinal < spec.start + statusCurrentReplicas) return 'current';
  if (spec.partition !== undefined && ordinal < spec.start + spec.partition) return 'current';
  return 'update';
}

export function planStatefulSet(input: PlanInput): Plan {
  const { set, now } = input;
  const spec = setSpec(set);
  const mrs = spec.minReadySeconds;
  const burst = spec.podManagementPolicy === 'Parallel';
  const monotonic = !burst;
  const counts = (pods: KObject[]): ReturnType<typeof countStatus> => countStatus(pods, { minReadySeconds: mrs, now, currentRevision: input.currentRevision, updateRevision: input.updateRevision });
  const status: SetStatus = {
    observedGeneration: set.metadata.generation ?? 0,
    currentRevision: input.currentRevision,
    updateRevision: input.updateRevision,
    collisionCount: input.collisionCount,
    ...counts(input.pods),
  };
  const steps: Step[] = [];
  const done = (): Plan => ({ status, steps, burst });
  if (set.metadata.deletionTimestamp) return done();

  const statusCurrentReplicas = ((set.status as { currentReplicas?: number } | undefined)?.currentReplicas) ?? 0;
  const slots: Slot[] = [];
  for (let i = 0; i < spec.replicas; i++) slots.push({ ordinal: spec.start + i });
  const condemned: KObject[] = [];
  for (const pod of input.pods) {
    const ord = ordinalOf(pod);
    if (ord < 0) continue;
    if (inOrdinalRange(ord, spec)) slots[ord - spec.start].pod = pod;
    else condemned.push(pod);
  }
  for (const s of slots) if (!s.pod) s.newRevision = revisionForNewPod(spec, s.ordinal, statusCurrentReplicas);
  condemned.sort((a, b) => ordinalOf(b) - ordinalOf(a));
  const live = (): KObject[] => [...slots.flatMap((s) => (s.pod ? [s.pod] : [])), ...condemned];
  const finish = (): Plan => {
    Object.assign(status, counts(live()));
    return done();
  };

  let firstUnavailable: KObject | undefined;
  for (const s of slots) if (s.pod && isUnavailable(s.pod, mrs, now) && !firstUnavailable) firstUnavailable = s.pod;
  if (!firstUnavailable) for (let i = condemned.length - 1; i >= 0; i--) if (isUnavailable(condemned[i], mrs, now)) { firstUnavailable = condemned[i]; break; }

  // 1. Every replica ordinal: replace failed pods, create missing ones, wait for health.
  for (const s of slots) {
    if (processReplica(s) && monotonic) return finish();
  }
  function processReplica(s: Slot): boolean {
    const pod = s.pod;
    if (pod && (isFailed(pod) || isSucceeded(pod))) {
      if (!isTerminating(pod)) steps.push({ op: 'delete', phase: 'replicas', pod, reason: 'failed' });
      return true;
    }
    if (!pod) {
      steps.push({ op: 'create', phase: 'replicas', ordinal: s.ordinal, revision: s.newRevision ?? 'update' });
      return monotonic;
    }
    if (monotonic && (isTerminating(pod) || !isRunningAndReady(pod) || !isRunningAndAvailable(pod, mrs, now))) return true;
    if (!identityMatches(set, pod)) steps.push({ op: 'fixIdentity', phase: 'replicas', pod });
    return false;
  }

  // 2. Scale down: condemned pods, highest ordinal first.
  for (const pod of condemned) {
    if (isTerminating(pod)) {
      if (monotonic) return finish();
      continue;
    }
    if (monotonic && pod !== firstUnavailable && (!isRunningAndReady(pod) || !isRunningAndAvailable(pod, mrs, now))) return finish();
    steps.push({ op: 'delete', phase: 'condemned', pod, reason: 'scale-down' });
    if (monotonic) return finish();
  }

  Object.assign(status, counts(live()));
  if (spec.updateType === 'OnDelete') return done();

  // 3. Rolling update from the highest ordinal down to the partition.
  const updateMin = spec.partition ?? 0;
  const revAt = (s: Slot): string => (s.pod ? revisionOf(s.pod) : s.newRevision === 'current' ? input.currentRevision : input.updateRevision);
  const stale = (s: Slot): boolean => revAt(s) !== input.updateRevision && !(s.pod && isTerminating(s.pod));
  if (spec.maxUnavailable !== undefined) {
    const maxUnavailable = resolveMaxUnavailable(spec.maxUnavailable, spec.replicas);
    const unavailable = slots.filter((s) => isUnavailable(s.pod, mrs, now)).length;
    if (unavailable > maxUnavailable) return done();
    let budget = maxUnavailable - unavailable;
    for (let t = slots.length - 1; t >= updateMin && budget > 0; t--) {
      const s = slots[t];
      if (s.pod && stale(s)) {
        steps.push({ op: 'delete', phase: 'update', pod: s.pod, reason: 'update' });
        budget--;
        status.currentReplicas--;
      }
    }
    return done();
  }
  for (let t = slots.length - 1; t >= updateMin; t--) {
    const s = slots[t];
    if (s.pod && stale(s)) {
      steps.push({ op: 'delete', phase: 'update', pod: s.pod, reason: 'update' });
      status.currentReplicas--;
      return done();
    }
    if (isUnavailable(s.pod, mrs, now)) return done();
  }
  return done();
}

/**
 * The status to write: a finished RollingUpdate (every replica updated and ready) makes the
 * update revision current (kube's completeRollingUpdate).
 */
export function completeRollingUpdate(set: KObject, status: SetStatus): SetStatus {
  const spec = setSpec(set);
  const out = { ...status };
  if (spec.updateType === 'RollingUpdate' && out.updatedReplicas === spec.replicas && out.readyReplicas === spec.replicas && out.replicas === spec.replicas) {
    out.currentReplicas = out.updatedReplicas;
    out.currentRevision = out.updateRevision;
  }
  return out;
}

/** Whether `status` differs from what the set reports (kube's inconsistentStatus, plus collisionCount). */
export function statusDiffers(set: KObject, status: SetStatus): boolean {
  const cur = (set.status ?? {}) as Partial<SetStatus>;
  return (
    status.observedGeneration > (cur.observedGeneration ?? 0) ||
    status.replicas !== (cur.replicas ?? 0) ||
    status.currentReplicas !== (cur.currentReplicas ?? 0) ||
    status.readyReplicas !== (cur.readyReplicas ?? 0) ||
    status.updatedReplicas !== (cur.updatedReplicas ?? 0) ||
    status.availableReplicas !== (cur.availableReplicas ?? 0) ||
    status.currentRevision !== (cur.currentRevision ?? '') ||
    status.updateRevision !== (cur.updateRevision ?? '') ||
    status.collisionCount !== (cur.collisionCount ?? 0)
  );
}
