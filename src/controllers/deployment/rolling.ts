/**
 * The scaling decisions of a Deployment rollout as pure plans (kube's rolling.go, recreate.go
 * and the scale() of sync.go): given the Deployment and its ReplicaSets, which ReplicaSet goes
 * to how many replicas, in order. The controller applies a plan step by step.
 *
 * Contract: inputs are never mutated; a plan may name one ReplicaSet more than once (a later
 * step then starts from the earlier step's size), exactly as kube's sequence of scale calls does.
 */
import type { KObject } from '../../api/types.js';
import {
  type Deployment,
  type ReplicaSet,
  MAX_REPLICAS,
  activeReplicaSets,
  byCreation,
  bySizeNewer,
  bySizeOlder,
  findActiveOrLatest,
  isRollingUpdate,
  isSaturated,
  maxSurge,
  maxUnavailable,
  scaledValue,
  specReplicas,
  sumSpecReplicas,
  sumStatus,
} from './util.js';

export type ScaleOp = 'up' | 'down' | '';

/** Set ReplicaSet `name` to `to` replicas; `op` is the word the event uses when it is given. */
export interface ScaleStep {
  name: string;
  to: number;
  op?: ScaleOp;
}

/**
 * kube's NewRSNewReplicas: how far the new ReplicaSet may grow now. RollingUpdate: up to
 * spec.replicas + maxSurge pods in total (surge rounded up), never past spec.replicas;
 * Recreate: straight to spec.replicas.
 */
export function newRSNewReplicas(d: Deployment, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d)) {
    if (d.spec.strategy?.type === 'Recreate') return replicas;
    throw new Error(`deployment type ${d.spec.strategy?.type} isn't supported`);
  }
  const surge = scaledValue(d.spec.strategy?.rollingUpdate?.maxSurge ?? 0, replicas, true);
  const current = sumSpecReplicas(allRSs);
  const maxTotal = replicas + surge;
  if (current >= maxTotal) return specReplicas(newRS);
  const up = Math.min(maxTotal - current, replicas - specReplicas(newRS));
  return specReplicas(newRS) + up;
}

/** kube's reconcileNewReplicaSet: the new ReplicaSet's next size, or undefined to leave it. */
export function planNewReplicaSet(d: Deployment, allRSs: (ReplicaSet | undefined)[], newRS: ReplicaSet): number | undefined {
  const want = specReplicas(d);
  const have = specReplicas(newRS);
  if (have === want) return undefined;
  if (have > want) return want;
  const next = newRSNewReplicas(d, allRSs, newRS);
  return next === have ? undefined : next;
}

/**
 * kube's reconcileOldReplicaSets: how far old ReplicaSets may shrink without dropping below
 * spec.replicas - maxUnavailable available pods (counting the new ReplicaSet's unavailable pods
 * against the budget). Unhealthy old replicas go first (cleanupUnhealthyReplicas), then
 * available ones, oldest ReplicaSet first (scaleDownOldReplicaSetsForRollingUpdate).
 */
export function planOldReplicaSets(d: Deployment, allRSs: (ReplicaSet | undefined)[], oldRSs: ReplicaSet[], newRS: ReplicaSet): ScaleStep[] {
  const active = activeReplicaSets(oldRSs);
  if (sumSpecReplicas(active) === 0) return [];
  const allPods = sumSpecReplicas(allRSs);
  const minAvailable = specReplicas(d) - maxUnavailable(d);
  const newUnavailable = specReplicas(newRS) - (newRS.status?.availableReplicas ?? 0);
  const maxScaledDown = allPods - minAvailable - newUnavailable;
  if (maxScaledDown <= 0) return [];

  const steps: ScaleStep[] = [];
  const size = new Map<string, number>(active.map((rs) => [rs.metadata.name ?? '', specReplicas(rs)]));
  const sorted = [...active].sort(byCreation);

  // Unhealthy replicas first: removing them does not lower availability.
  let cleaned = 0;
  for (const rs of sorted) {
    if (cleaned >= maxScaledDown) break;
    const name = rs.metadata.name ?? '';
    const replicas = size.get(name)!;
    const available = rs.status?.availableReplicas ?? 0;
    if (replicas === 0 || replicas === available) continue;
    const n = Math.min(maxScaledDown - cleaned, replicas - available);
    // kube refuses a "scale down" that grows the set (status ahead of spec) and stops here.
    if (n < 0) return steps;
    size.set(name, replicas - n);
    steps.push({ name, to: replicas - n, op: 'down' });
    cleaned += n;
  }

  // Then available replicas, within maxUnavailable.
  const availableNow = sumStatus([...active, newRS], 'availableReplicas');
  if (availableNow <= minAvailable) return steps;
  const budget = availableNow - minAvailable;
  let scaled = 0;
  for (const rs of sorted) {
    if (scaled >= budget) break;
    const name = rs.metadata.name ?? '';
    const replicas = size.get(name)!;
    if (replicas === 0) continue;
    const n = Math.min(replicas, budget - scaled);
    size.set(name, replicas - n);
    steps.push({ name, to: replicas - n, op: 'down' });
    scaled += n;
  }
  return steps;
}

/** kube's getReplicaSetFraction: this ReplicaSet's share of a resize, from its max-replicas annotation. */
export function replicaSetFraction(rs: ReplicaSet, d: Deployment): number {
  const replicas = specReplicas(d);
  if (replicas === 0) return -specReplicas(rs);
  const maxNow = replicas + maxSurge(d);
  const ann = rs.metadata.annotations?.[MAX_REPLICAS];
  let before = ann !== undefined && /^\d+$/.test(ann) ? Number(ann) : 0;
  if (!before) {
    // No annotation (someone edited the ReplicaSet): assume the Deployment's current size.
    before = d.status?.replicas ?? 0;
    if (!before) return -specReplicas(rs);
  }
  const scaledSize = (specReplicas(rs) * maxNow) / before;
  return Math.round(scaledSize) - specReplicas(rs);
}

/** kube's GetProportion: the fraction, bounded by what is left to add (or remove). */
export function proportion(rs: ReplicaSet, d: Deployment, toAdd: number, added: number): number {
  if (specReplicas(rs) === 0 || toAdd === 0 || toAdd === added) return 0;
  const fraction = replicaSetFraction(rs, d);
  const allowed = toAdd - added;
  return toAdd > 0 ? Math.min(fraction, allowed) : Math.max(fraction, allowed);
}

/**
 * kube's scale(): a resize while no rollout is progressing (paused, or spec.replicas changed
 * mid-rollout). One active ReplicaSet takes the whole new size; a saturated new ReplicaSet
 * sends the old ones to 0; otherwise, for RollingUpdate, the difference to spec.replicas +
 * maxSurge is shared among the active ReplicaSets in proportion to their size (leftover to the
 * first: the largest, newer first when growing, older first when shrinking).
 */
export function planProportionalScale(d: Deployment, newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ScaleStep[] {
  const want = specReplicas(d);
  const single = findActiveOrLatest(newRS, oldRSs);
  if (single) {
    const have = specReplicas(single);
    if (have === want) return [];
    return [{ name: single.metadata.name ?? '', to: want, op: have < want ? 'up' : 'down' }];
  }
  if (isSaturated(d, newRS)) {
    return activeReplicaSets(oldRSs).map((rs) => ({ name: rs.metadata.name ?? '', to: 0, op: 'down' as const }));
  }
  if (!isRollingUpdate(d)) return [];
  const all = activeReplicaSets([...oldRSs, newRS]);
  const allowed = want > 0 ? want + maxSurge(d) : 0;
  const toAdd = allowed - sumSpecReplicas(all);
  let op: ScaleOp = '';
  if (toAdd > 0) {
    all.sort(bySizeNewer);
    op = 'up';
  } else if (toAdd < 0) {
    all.sort(bySizeOlder);
    op = 'down';
  }
  let added = 0;
  const sizes = all.map((rs) => {
    if (toAdd === 0) return specReplicas(rs);
    const p = proportion(rs, d, toAdd, added);
    added += p;
    return specReplicas(rs) + p;
  });
  if (toAdd !== 0 && sizes.length) sizes[0] = Math.max(0, sizes[0] + toAdd - added);
  return all.map((rs, i) => ({ name: rs.metadata.name ?? '', to: sizes[i], op }));
}

/** Recreate, step 1: every active old ReplicaSet to 0. */
export function planRecreateScaleDown(oldRSs: ReplicaSet[]): ScaleStep[] {
  return activeReplicaSets(oldRSs).map((rs) => ({ name: rs.metadata.name ?? '', to: 0, op: 'down' as const }));
}

/**
 * Recreate, step 2 gate (kube's oldPodsRunning): old ReplicaSets still report pods, or a pod of
 * an old ReplicaSet is in any phase but Succeeded/Failed (Unknown counts as running).
 */
export function oldPodsRunning(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[], podsByRS: Map<string, KObject[]>): boolean {
  if (sumStatus(oldRSs, 'replicas') > 0) return true;
  for (const [uid, pods] of podsByRS) {
    if (newRS && newRS.metadata.uid === uid) continue;
    for (const pod of pods) {
      const phase = (pod.status as { phase?: string } | undefined)?.phase;
      if (phase === 'Failed' || phase === 'Succeeded') continue;
      return true;
    }
  }
  return false;
}
