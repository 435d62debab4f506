/**
 * Durability tracking for the sqlite backend: SQLite commits with `synchronous=NORMAL` (the WAL
 * is appended with write(), no fsync), and this class makes those commits durable with its own
 * fsync of the WAL file, run on the libuv thread pool so the event loop never blocks on the disk.
 *
 * Contract:
 * - `committed(rev, settle)` registers a group commit whose store revision after COMMIT is
 *   `rev`. `settle()` runs once an fsync that STARTED after that call has completed, so
 *   everything the group wrote (and every earlier commit) is on stable storage. An fsync reads
 *   nothing from us: it covers whatever write() calls returned before it began.
 * - fsyncs are coalesced: at most one is in flight; groups committed meanwhile wait for the next
 *   one, which starts as soon as the current one ends and covers them all.
 * - `settle` callbacks run in commit order (so in revision order). They run inside
 *   `committed()` only when the group is already durable or there is no fsync at all.
 * - `durable` is the highest revision known to be on stable storage. It only grows.
 * - An fsync error is permanent: the pages it failed to write may be gone from the page cache
 *   (Linux drops them after reporting EIO), so a retry could "succeed" without the data. Every
 *   pending group settles with the error and `failure` stays set; callers must refuse writes.
 */
import { UnavailableError } from './errors.js';

/** Flushes the WAL; calls `done` exactly once, asynchronously, with an error or null. */
export type SyncFn = (done: (err: Error | null) => void) => void;

interface Group {
  target: number;
  settle: (err: Error | null) => void;
}

export class WalSyncer {
  private queue: Group[] = [];
  private inFlight = false;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private drainers: (() => void)[] = [];
  private failed: Error | null = null;
  private lastDurable: number;

  /**
   * `sync` null means "no fsync at all": a commit counts as durable as soon as it returns.
   * `afterSync` runs after every fsync completes (or fails), once its groups have settled: the
   * backend commits the writes it held back while the fsync was in flight (see `busy`).
   */
  constructor(
    initialRevision: number,
    private readonly sync: SyncFn | null,
    private readonly afterSync: () => void = () => {},
  ) {
    this.lastDurable = initialRevision;
  }

  /**
   * True while an fsync is in flight. A commit made now could not be covered before the next
   * fsync anyway, so the backend holds new writes back and commits them all in one transaction
   * when `afterSync` runs: same latency, far fewer transactions, WAL pages and checkpoints.
   */
  get busy(): boolean {
    return this.inFlight;
  }

  /** Highest revision on stable storage. */
  get durable(): number {
    return this.lastDurable;
  }

  /** Set (forever) once an fsync failed. */
  get failure(): Error | null {
    return this.failed;
  }

  /** Registers a commit that left the store at revision `rev`; see the class contract. */
  committed(rev: number, settle: (err: Error | null) => void): void {
    if (this.failed) return settle(this.failed);
    // Nothing newer than the durable point is queued when rev <= durable (revisions only grow),
    // so settling right away keeps commit order.
    if (this.sync === null || (rev <= this.lastDurable && this.queue.length === 0)) {
      this.lastDurable = Math.max(this.lastDurable, rev);
      settle(null);
      this.wake();
      return;
    }
    this.queue.push({ target: rev, settle });
    this.kick();
  }

  /** Resolves once revision `rev` is durable, or the syncer failed or was closed. Never rejects. */
  waitFor(rev: number): Promise<void> {
    if (rev <= this.lastDurable || this.failed || this.sync === null) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push({ rev, resolve }));
  }

  /** Resolves when no group is pending and no fsync is in flight. */
  drain(): Promise<void> {
    if (this.queue.length === 0 && !this.inFlight) return Promise.resolve();
    return new Promise((resolve) => this.drainers.push(resolve));
  }

  private kick(): void {
    if (this.inFlight || this.failed || this.queue.length === 0) return;
    const target = (this.queue[this.queue.length - 1] as Group).target;
    this.inFlight = true;
    let called = false;
    const done = (err: Error | null): void => {
      if (called) return;
      called = true;
      this.inFlight = false;
      if (err) {
        this.fail(err);
      } else {
        this.lastDurable = Math.max(this.lastDurable, target);
        while (this.queue.length > 0 && (this.queue[0] as Group).target <= this.lastDurable) {
          (this.queue.shift() as Group).settle(null);
        }
        this.wake();
        this.kick();
      }
      this.afterSync();
    };
    try {
      (this.sync as SyncFn)(done);
    } catch (err) {
      done(err instanceof Error ? err : new Error(String(err)));
    }
  }

  private fail(err: Error): void {
    this.failed = new UnavailableError(
      `sqlite: fsync of the write-ahead log failed (${err.message}); recent writes may be lost, so the store refuses writes until it is reopened`,
    );
    const queue = this.queue;
    this.queue = [];
    for (const g of queue) g.settle(this.failed);
    this.wake();
  }

  /** Resolves the read waiters whose revision is durable (all of them after a failure), and drainers when idle. */
  private wake(): void {
    if (this.waiters.length > 0) {
      const keep: typeof this.waiters = [];
      for (const w of this.waiters) {
        if (this.failed || w.rev <= this.lastDurable) w.resolve();
        else keep.push(w);
      }
      this.waiters = keep;
    }
    if (this.queue.length === 0 && !this.inFlight && this.drainers.length > 0) {
      const drainers = this.drainers;
      this.drainers = [];
      for (const d of drainers) d();
    }
  }
}
