/**
 * Which pods a ReplicaSet deletes first when it has too many (kube's ActivePodsWithRanks.Less
 * and getPodsToDelete). Pure: the caller supplies the pods, the related pods used to count
 * co-located replicas, and "now".
 *
 * Order, most deletable first:
 *  1. unassigned (no spec.nodeName) before assigned;
 *  2. phase Pending < Unknown < Running (other phases rank with Pending);
 *  3. not ready before ready;
 *  4. lower `controller.kubernetes.io/pod-deletion-cost` before higher (unparsable = 0);
 *  5. more active related pods on the same node ("doubled up") before fewer;
 *  6. both ready: ready more recently before ready longer (bucketed by log2 of the age, as
 *     kube's LogarithmicScaleDown; same bucket → by uid);
 *  7. more container restarts before fewer;
 *  8. created more recently before older (log2 buckets, then uid). A missing time counts as
 *     "newest" in 6 and 8.
 */
import type { KObject } from '../../api/types.js';
import { isPodActive, isPodReady } from '../owners.js';

export const POD_DELETION_COST_ANNOTATION = 'controller.kubernetes.io/pod-deletion-cost';

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

interface PodStatusView {
  phase?: string;
  conditions?: { type: string; status: string; lastTransitionTime?: string }[];
  containerStatuses?: { restartCount?: number }[];
}

function status(pod: KObject): PodStatusView {
  return (pod.status ?? {}) as PodStatusView;
}

function nodeName(pod: KObject): string {
  return ((pod.spec as { nodeName?: string } | undefined)?.nodeName) ?? '';
}

/** Time in ms, or undefined for a missing/unparsable (Go zero) time. */
function time(s: string | null | undefined): number | undefined {
  if (!s) return undefined;
  const t = Date.parse(s);
  return Number.isFinite(t) ? t : undefined;
}

function readyTime(pod: KObject): number | undefined {
  const c = (status(pod).conditions ?? []).find((x) => x.type === 'Ready' && x.status === 'True');
  return time(c?.lastTransitionTime);
}

function maxRestarts(pod: KObject): number {
  return (status(pod).containerStatuses ?? []).reduce((m, c) => Math.max(m, c.restartCount ?? 0), 0);
}

/** kube's GetDeletionCostFromPodAnnotations: an int32, 0 when absent or invalid. */
export function podDeletionCost(pod: KObject): number {
  const v = pod.metadata.annotations?.[POD_DELETION_COST_ANNOTATION];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -(2 ** 31) && n <= 2 ** 31 - 1 ? n : 0;
}

/** afterOrZero: a zero time sorts first, otherwise the later time does. */
function afterOrZero(a: number | undefined, b: number | undefined): boolean {
  if (a === undefined || b === undefined) return a === undefined;
  return a > b;
}

/** floor(log2(age in ns)), or -1 for a non-positive age (kube's logarithmicRankDiff). */
function logBucket(t: number, now: number): number {
  const ns = (now - t) * 1e6;
  return ns > 0 ? Math.floor(Math.log2(ns)) : -1;
}

function uidLess(a: KObject, b: KObject): boolean {
  return (a.metadata.uid ?? '') < (b.metadata.uid ?? '');
}

/** Compares two timestamps for rule 6/8: true when `a`'s pod should go first. */
function timeLess(ta: number | undefined, tb: number | undefined, ctx: { a: KObject; b: KObject; now?: number }): boolean | undefined {
  if (ta === tb) return undefined;
  if (ctx.now === undefined || ta === undefined || tb === undefined) return afterOrZero(ta, tb);
  const diff = logBucket(ta, ctx.now) - logBucket(tb, ctx.now);
  if (diff === 0) return uidLess(ctx.a, ctx.b);
  return diff < 0;
}

/**
 * True when pod `a` (with co-location rank `rankA`) should be deleted before pod `b`.
 * `now` (ms) enables the logarithmic time comparison; without it times compare exactly.
 */
export function deleteBefore(a: { pod: KObject; rank: number }, b: { pod: KObject; rank: number }, now?: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = nodeName(pa);
  const nb = nodeName(pb);
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const oa = PHASE_ORDINAL[status(pa).phase ?? ''] ?? 0;
  const ob = PHASE_ORDINAL[status(pb).phase ?? ''] ?? 0;
  if (oa !== ob) return oa < ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  const ca = podDeletionCost(pa);
  const cb = podDeletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  if (ra && rb) {
    const r = timeLess(readyTime(pa), readyTime(pb), { a: pa, b: pb, now });
    if (r !== undefined) return r;
  }
  const ma = maxRestarts(pa);
  const mb = maxRestarts(pb);
  if (ma !== mb) return ma > mb;
  const r = timeLess(time(pa.metadata.creationTimestamp), time(pb.metadata.creationTimestamp), { a: pa, b: pb, now });
  return r ?? false;
}

/**
 * Co-location ranks (getPodsRankedByRelatedPodsOnSameNode): each pod's rank is the number of
 * active pods in `related` on the same node (related normally includes `pods` themselves).
 */
export function colocationRanks(pods: KObject[], related: KObject[]): number[] {
  const onNode = new Map<string, number>();
  for (const p of related) if (isPodActive(p)) onNode.set(nodeName(p), (onNode.get(nodeName(p)) ?? 0) + 1);
  return pods.map((p) => onNode.get(nodeName(p)) ?? 0);
}

/** `pods` ordered most-deletable first (a new array; inputs are not modified). */
export function rankForDeletion(pods: KObject[], opts: { related?: KObject[]; now?: number } = {}): KObject[] {
  const ranks = colocationRanks(pods, opts.related ?? pods);
  const items = pods.map((pod, i) => ({ pod, rank: ranks[i] }));
  items.sort((x, y) => (deleteBefore(x, y, opts.now) ? -1 : deleteBefore(y, x, opts.now) ? 1 : 0));
  return items.map((x) => x.pod);
}

/** The `diff` pods to delete (getPodsToDelete): all of them when diff >= pods.length. */
export function podsToDelete(pods: KObject[], diff: number, opts: { related?: KObject[]; now?: number } = {}): KObject[] {
  if (diff <= 0) return [];
  if (diff >= pods.length) return [...pods];
  return rankForDeletion(pods, opts).slice(0, diff);
}
