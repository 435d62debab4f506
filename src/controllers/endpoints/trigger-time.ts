/**
 * kube's TriggerTimeTracker: the `endpoints.kubernetes.io/last-change-trigger-time` a sync
 * records is the earliest change that caused it — a pod's Ready transition time or the Service's
 * creation — among those changed since the previous sync of the same Service. A Service seen for
 * the first time reports its creation time. Approximate by design (several changes of one object
 * between two syncs count once), as upstream.
 */
import type { KObject } from '../../api/types.js';

interface State {
  service: number;
  pods: Map<string, number>;
}

function readyTransition(pod: KObject): number {
  const conds = ((pod.status as { conditions?: { type: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? []);
  const t = conds.find((c) => c.type === 'Ready')?.lastTransitionTime;
  const ms = t ? Date.parse(t) : NaN;
  return Number.isFinite(ms) ? ms : 0;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, State>();

  /** Updates the Service's state and returns the trigger time (ms), or undefined for none. */
  compute(key: string, svc: KObject, pods: readonly KObject[]): number | undefined {
    const prev = this.states.get(key);
    let min: number | undefined;
    const podTimes = new Map<string, number>();
    for (const pod of pods) {
      const t = readyTransition(pod);
      if (!t) continue;
      const name = pod.metadata.name ?? '';
      podTimes.set(name, t);
      if (t > (prev?.pods.get(name) ?? 0)) min = min === undefined ? t : Math.min(min, t);
    }
    const created = Date.parse(svc.metadata.creationTimestamp ?? '');
    const svcTime = Number.isFinite(created) ? created : 0;
    if (svcTime > (prev?.service ?? 0)) min = min === undefined ? svcTime : Math.min(min, svcTime);
    this.states.set(key, { service: svcTime, pods: podTimes });
    if (!prev) return svcTime || undefined;
    return min;
  }

  delete(key: string): void {
    this.states.delete(key);
  }
}

/** RFC 3339 with nanosecond-style fraction trimmed as Go's RFC3339Nano prints it. */
export function formatTriggerTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
}
