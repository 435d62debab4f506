/**
 * One scheduling decision, pure: filter every node, score the feasible ones, pick the best
 * (ties broken by node name so results are reproducible), or explain in kube-scheduler's
 * FitError format why no node fits.
 *
 * Scores (each 0..100, weighted as kube's default profile weights them): NodeResourcesFit
 * LeastAllocated ×1, NodeAffinity preferred terms ×2, TaintToleration (fewest untolerated
 * PreferNoSchedule taints) ×3. Preemption is not implemented; the message carries the
 * "preemption:" part kube's DefaultPreemption would add when it finds nothing to evict.
 */
import type { KObject } from '../../api/types.js';
import { effectiveTaints, filterNode, matchTerm, tolerated, type FilterFailure } from './predicates.js';
import { leastAllocatedScore, podSpec, type NodeState } from './resources.js';

export type { NodeState };

export type Decision = { nodeName: string; score: number } | { message: string; failures: Map<string, FilterFailure> };

export const NO_NODES_MESSAGE = 'no nodes available to schedule pods';
export const PREEMPTION_NOT_HELPFUL = 'Preemption is not helpful for scheduling';
export const NO_VICTIMS = 'No preemption victims found for incoming pod.';
export const PREEMPTION_NEVER = 'not eligible due to preemptionPolicy=Never.';

/** "<count> <reason>" sorted as strings, joined by ", " (FitError's histogram). */
function histogram(failures: Iterable<FilterFailure>): string {
  const counts = new Map<string, number>();
  for (const f of failures) for (const r of f.reasons) counts.set(r, (counts.get(r) ?? 0) + 1);
  return [...counts].map(([r, n]) => `${n} ${r}`).sort().join(', ');
}

/**
 * kube's FitError text: `0/N nodes are available: <histogram>. preemption: 0/N nodes are
 * available: <preemption histogram>.` Nodes rejected by an unresolvable filter get "Preemption
 * is not helpful for scheduling"; the rest "No preemption victims found for incoming pod."
 * (whose own trailing period gives kube's doubled "..").
 */
export function fitErrorMessage(pod: KObject, failures: Map<string, FilterFailure>): string {
  const n = failures.size;
  let msg = `0/${n} nodes are available: ${histogram(failures.values())}.`;
  if (podSpec(pod).preemptionPolicy === 'Never') return `${msg} preemption: ${PREEMPTION_NEVER}`;
  const post = [...failures.values()].map((f): FilterFailure => ({ reasons: [f.unresolvable ? PREEMPTION_NOT_HELPFUL : NO_VICTIMS], unresolvable: true }));
  msg += ` preemption: 0/${n} nodes are available: ${histogram(post)}.`;
  return msg;
}

function preferredAffinityRaw(pod: KObject, node: KObject): number {
  const prefs = podSpec(pod).affinity?.nodeAffinity?.preferredDuringSchedulingIgnoredDuringExecution ?? [];
  let sum = 0;
  for (const p of prefs) if (p.weight && matchTerm(p.preference ?? {}, node)) sum += p.weight;
  return sum;
}

function untoleratedPreferNoSchedule(pod: KObject, node: KObject): number {
  const tols = (podSpec(pod).tolerations ?? []).filter((t) => !t.effect || t.effect === 'PreferNoSchedule');
  return effectiveTaints(node).filter((t) => t.effect === 'PreferNoSchedule' && !tolerated(tols, t)).length;
}

/** Total weighted score of each feasible node (same order as `feasible`). */
export function scoreNodes(pod: KObject, feasible: NodeState[]): number[] {
  const affinity = feasible.map((s) => preferredAffinityRaw(pod, s.node));
  const taints = feasible.map((s) => untoleratedPreferNoSchedule(pod, s.node));
  const maxAff = Math.max(0, ...affinity);
  const maxTaint = Math.max(0, ...taints);
  return feasible.map((s, i) => {
    const fit = leastAllocatedScore(pod, s);
    const aff = maxAff > 0 ? Math.floor((affinity[i]! * 100) / maxAff) : 0;
    const tt = maxTaint > 0 ? 100 - Math.floor((taints[i]! * 100) / maxTaint) : 100;
    return fit + 2 * aff + 3 * tt;
  });
}

/** Filters and scores all nodes for `pod`. */
export function schedulePod(pod: KObject, nodes: NodeState[]): Decision {
  if (!nodes.length) return { message: NO_NODES_MESSAGE, failures: new Map() };
  const feasible: NodeState[] = [];
  const failures = new Map<string, FilterFailure>();
  for (const s of nodes) {
    const f = filterNode(pod, s);
    if (f) failures.set(s.node.metadata.name ?? '', f);
    else feasible.push(s);
  }
  if (!feasible.length) return { message: fitErrorMessage(pod, failures), failures };
  const scores = scoreNodes(pod, feasible);
  let best = 0;
  for (let i = 1; i < feasible.length; i++) {
    const better = scores[i]! > scores[best]! || (scores[i] === scores[best] && (feasible[i]!.node.metadata.name ?? '') < (feasible[best]!.node.metadata.name ?? ''));
    if (better) best = i;
  }
  return { nodeName: feasible[best]!.node.metadata.name ?? '', score: scores[best]! };
}

interface PodCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastProbeTime?: string | null;
  lastTransitionTime?: string;
}

/**
 * The pod status with PodScheduled=False/Unschedulable/`message`, or undefined when the pod
 * already says exactly that (so the controller writes only on change). lastTransitionTime
 * moves only when the condition's status changes, as podutil.UpdatePodCondition does.
 */
export function withUnschedulableCondition(status: Record<string, unknown> | undefined, cond: { message: string; now: string }): Record<string, unknown> | undefined {
  const { message, now } = cond;
  const st = { ...(status ?? {}) };
  const conds = ((st.conditions ?? []) as PodCondition[]).slice();
  const i = conds.findIndex((c) => c.type === 'PodScheduled');
  const old = i >= 0 ? conds[i] : undefined;
  if (old && old.status === 'False' && old.reason === 'Unschedulable' && old.message === message) return undefined;
  const next: PodCondition = {
    type: 'PodScheduled',
    status: 'False',
    reason: 'Unschedulable',
    message,
    lastProbeTime: null,
    lastTransitionTime: old && old.status === 'False' && old.lastTransitionTime ? old.lastTransitionTime : now,
  };
  if (i >= 0) conds[i] = next;
  else conds.push(next);
  st.conditions = conds;
  return st;
}
