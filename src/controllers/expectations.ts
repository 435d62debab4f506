/**
 * Controller expectations (kube's ControllerExpectations / UIDTrackingControllerExpectations):
 * a controller that just asked for N creates or deletes records that it *expects* to see them
 * through its informer, and does not act on that object again until it has. Informer caches lag
 * the store, so without this a second sync would still see the old pod count and create (or
 * delete) the same pods twice.
 *
 * Contract: keys are the controller's own object keys (`namespace/name`). `satisfied(key)` is
 * true when nothing is expected for the key (never set, or deleted), when every expected
 * create/delete has been observed (or cancelled because the write failed), or when the record
 * is older than EXPECTATIONS_TIMEOUT_MS (a lost watch event must not wedge the controller
 * forever). Deletions may be tracked by the deleted objects' keys, so a pod observed twice on
 * its way out (deletionTimestamp set, then gone) lowers the count once. Time is injected.
 */

/** kube's ExpectationsTimeout: after this, unmet expectations no longer block syncs. */
export const EXPECTATIONS_TIMEOUT_MS = 5 * 60 * 1000;

export interface ExpectationRecord {
  /** Creates still expected (<= 0 when none). */
  add: number;
  /** Deletes still expected (<= 0 when none). */
  del: number;
  /** When the expectations were set (clock ms). */
  timestamp: number;
}

interface Entry extends ExpectationRecord {
  /** Keys of objects whose deletion is expected, when deletions are tracked by key. */
  deleting?: Set<string>;
}

export class ControllerExpectations {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly clock: { now(): number } = { now: () => Date.now() },
    private readonly opts: { timeoutMs?: number } = {},
  ) {}

  /** Expects `n` creates for key, replacing whatever was expected before. */
  expectCreations(key: string, n: number): void {
    this.entries.set(key, { add: n, del: 0, timestamp: this.clock.now() });
  }

  /**
   * Expects deletes for key, replacing earlier expectations: a count, or the keys of the
   * objects being deleted (then only `deletionObserved(key, thatObjectKey)` lowers it, once each).
   */
  expectDeletions(key: string, what: number | string[]): void {
    if (typeof what === 'number') {
      this.entries.set(key, { add: 0, del: what, timestamp: this.clock.now() });
      return;
    }
    const deleting = new Set(what);
    this.entries.set(key, { add: 0, del: deleting.size, timestamp: this.clock.now(), deleting });
  }

  /** Adds to the expectations of key (creating a record if needed) without resetting its clock. */
  raiseExpectations(key: string, add: number, del: number): void {
    const e = this.entries.get(key);
    if (!e) {
      this.entries.set(key, { add, del, timestamp: this.clock.now() });
      return;
    }
    e.add += add;
    e.del += del;
  }

  /** One expected create was seen by the informer (or will never happen: the write failed). */
  creationObserved(key: string): void {
    const e = this.entries.get(key);
    if (e) e.add--;
  }

  /**
   * One expected delete was seen (or the delete failed). When deletions are tracked by key,
   * only an expected, not yet observed `objKey` counts.
   */
  deletionObserved(key: string, objKey?: string): void {
    const e = this.entries.get(key);
    if (!e) return;
    if (e.deleting) {
      if (objKey === undefined || !e.deleting.delete(objKey)) return;
    }
    e.del--;
  }

  /** True when the controller may act on key again (see the module contract). */
  satisfied(key: string): boolean {
    const e = this.entries.get(key);
    if (!e) return true;
    if (e.add <= 0 && e.del <= 0) return true;
    return this.clock.now() - e.timestamp > (this.opts.timeoutMs ?? EXPECTATIONS_TIMEOUT_MS);
  }

  /** Forgets key (its object was deleted). */
  deleteExpectations(key: string): void {
    this.entries.delete(key);
  }

  /** A copy of key's record, if any (tests and diagnostics). */
  get(key: string): ExpectationRecord | undefined {
    const e = this.entries.get(key);
    return e ? { add: e.add, del: e.del, timestamp: e.timestamp } : undefined;
  }
}
