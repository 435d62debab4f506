/**
 * Bookkeeping the EndpointSlice controller keeps between syncs (kube's EndpointSliceTracker and
 * TriggerTimeTracker).
 *
 * SliceTracker remembers, per Service, the resourceVersion of every slice this controller
 * wrote and the slices it deleted. It answers two questions: is the informer's view of a
 * Service's slices older than our own writes (then a sync would act on stale state, e.g.
 * create a duplicate slice, so it must wait), and is an informer event just the echo of our
 * own write (then it needs no sync).
 *
 * TriggerTimeTracker computes the last-change-trigger-time annotation: the earliest of the
 * changes (pod Ready transitions, Service creation) that happened since the previous sync.
 */
import type { KObject } from '../../api/types.js';

const DELETION_EXPECTED = -1;

function rvOf(obj: KObject): number {
  const n = Number(obj.metadata.resourceVersion);
  return Number.isFinite(n) ? n : 0;
}

export class SliceTracker {
  /** service key → slice uid → resourceVersion we wrote (or DELETION_EXPECTED). */
  private readonly byService = new Map<string, Map<string, number>>();

  private forService(serviceKey: string): Map<string, number> {
    let m = this.byService.get(serviceKey);
    if (!m) this.byService.set(serviceKey, (m = new Map()));
    return m;
  }

  /** Records a slice as we wrote it (the object the API returned). */
  update(serviceKey: string, slice: KObject): void {
    const uid = slice.metadata.uid;
    if (uid) this.forService(serviceKey).set(uid, rvOf(slice));
  }

  /** Records that we deleted this slice. */
  expectDeletion(serviceKey: string, slice: KObject): void {
    const uid = slice.metadata.uid;
    if (uid) this.forService(serviceKey).set(uid, DELETION_EXPECTED);
  }

  /** An informer add/update needs a sync unless it is the echo of our own write. */
  shouldSync(serviceKey: string, slice: KObject): boolean {
    const rv = this.byService.get(serviceKey)?.get(slice.metadata.uid ?? '');
    return rv === undefined || rvOf(slice) > rv;
  }

  /**
   * Forgets a slice the informer saw deleted. Returns true when we deleted it ourselves (no
   * sync needed), false when someone else did (the Service must be synced to recreate it).
   */
  handleDeletion(serviceKey: string, slice: KObject): boolean {
    const m = this.byService.get(serviceKey);
    const uid = slice.metadata.uid ?? '';
    const rv = m?.get(uid);
    m?.delete(uid);
    return rv === DELETION_EXPECTED;
  }

  /**
   * The informer's slices are older than our writes: a slice we wrote is missing or has an
   * older resourceVersion, or a slice we deleted is still there.
   */
  stale(serviceKey: string, slices: readonly KObject[]): boolean {
    const m = this.byService.get(serviceKey);
    if (!m || m.size === 0) return false;
    const seen = new Set<string>();
    for (const s of slices) {
      const uid = s.metadata.uid ?? '';
      seen.add(uid);
      const rv = m.get(uid);
      if (rv !== undefined && (rv === DELETION_EXPECTED || rv > rvOf(s))) return true;
    }
    for (const [uid, rv] of m) {
      if (rv !== DELETION_EXPECTED && !seen.has(uid)) return true;
    }
    return false;
  }

  deleteService(serviceKey: string): void {
    this.byService.delete(serviceKey);
  }
}

interface TriggerState {
  pods: Map<string, number>;
  service: number;
}

/** The Ready condition's lastTransitionTime in ms, or undefined. */
function podTriggerTime(pod: KObject): number | undefined {
  const conds = ((pod.status as { conditions?: { type: string; lastTransitionTime?: string }[] } | undefined)?.conditions ?? []);
  const ready = conds.find((c) => c.type === 'Ready');
  if (!ready?.lastTransitionTime) return undefined;
  const t = Date.parse(ready.lastTransitionTime);
  return Number.isFinite(t) ? t : undefined;
}

export class TriggerTimeTracker {
  private readonly states = new Map<string, TriggerState>();

  /**
   * The trigger time for this sync (RFC 3339, or undefined for none): the Service's creation
   * time on its first sync, else the earliest pod Ready transition newer than last time.
   */
  compute(serviceKey: string, service: KObject, pods: readonly KObject[]): string | undefined {
    const prev = this.states.get(serviceKey);
    const next: TriggerState = { pods: new Map(), service: 0 };
    let min = Infinity;
    for (const pod of pods) {
      const t = podTriggerTime(pod);
      if (t === undefined) continue;
      const name = pod.metadata.name ?? '';
      next.pods.set(name, t);
      if (t > (prev?.pods.get(name) ?? -Infinity)) min = Math.min(min, t);
    }
    const created = Date.parse(service.metadata.creationTimestamp ?? '');
    next.service = Number.isFinite(created) ? created : 0;
    if (next.service > (prev?.service ?? -Infinity)) min = Math.min(min, next.service);
    this.states.set(serviceKey, next);
    if (!prev) return Number.isFinite(created) ? formatTime(created) : undefined;
    return Number.isFinite(min) ? formatTime(min) : undefined;
  }

  deleteService(serviceKey: string): void {
    this.states.delete(serviceKey);
  }
}

/** Go's RFC3339Nano in UTC for a ms timestamp (trailing zero fractions dropped). */
export function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.replace(/\.000Z$/, 'Z').replace(/(\.\d*?)0+Z$/, '$1Z');
}
