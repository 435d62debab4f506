/**
 * In-process watch fan-out shared by the single-process backends (memory, sqlite).
 *
 * Why it is race-free: both backends commit synchronously, so `add` reads the history it must
 * replay and registers the watcher in one synchronous step — no write can land in between. Each
 * watcher then sees replayed events followed by every later `publish`, and a revision watermark
 * drops anything at or below what it has already queued, so there is no gap, duplicate or
 * reordering by construction.
 *
 * Delivery is asynchronous (a microtask drains each watcher's queue) so a callback never runs
 * inside a write, a slow or re-entrant consumer cannot interleave with the store's bookkeeping,
 * and the caller always holds the stop function before the first event or error arrives.
 */
import type { WatchEvent, WatchOptions } from './types.js';

interface Watcher {
  prefix: string;
  opts: WatchOptions;
  queue: WatchEvent[];
  /** Highest revision queued so far; later events must be above it. */
  watermark: number;
  scheduled: boolean;
  stopped: boolean;
}

export class WatchHub {
  private readonly watchers = new Set<Watcher>();

  /**
   * Registers a watcher. `replay` must synchronously return the stored events under `prefix`
   * with revision > opts.fromRevision, in revision order; if it throws (e.g. CompactedError)
   * the watcher's onError is called once, asynchronously, and nothing else is delivered.
   */
  add(prefix: string, opts: WatchOptions, replay: () => WatchEvent[]): () => void {
    const w: Watcher = { prefix, opts, queue: [], watermark: opts.fromRevision, scheduled: false, stopped: false };
    let history: WatchEvent[];
    try {
      history = replay();
    } catch (err) {
      w.stopped = true;
      queueMicrotask(() => opts.onError?.(toError(err)));
      return () => {};
    }
    for (const ev of history) this.enqueue(w, ev);
    this.watchers.add(w);
    this.schedule(w);
    return () => this.stop(w);
  }

  /** Fans committed events (in revision order) out to every matching watcher. */
  publish(events: WatchEvent[]): void {
    for (const w of this.watchers) {
      let added = false;
      for (const ev of events) added = this.enqueue(w, ev) || added;
      if (added) this.schedule(w);
    }
  }

  /** Ends every watch with `err` (used on close). */
  closeAll(err: Error): void {
    for (const w of [...this.watchers]) {
      this.stop(w);
      queueMicrotask(() => w.opts.onError?.(err));
    }
  }

  /** Number of live watchers (for tests and metrics). */
  get size(): number {
    return this.watchers.size;
  }

  private enqueue(w: Watcher, ev: WatchEvent): boolean {
    if (ev.revision <= w.watermark || !ev.kv.key.startsWith(w.prefix)) return false;
    w.queue.push(ev);
    w.watermark = ev.revision;
    return true;
  }

  private schedule(w: Watcher): void {
    if (w.scheduled || w.stopped || w.queue.length === 0) return;
    w.scheduled = true;
    queueMicrotask(() => this.drain(w));
  }

  private drain(w: Watcher): void {
    w.scheduled = false;
    while (!w.stopped && w.queue.length > 0) {
      const batch = w.queue;
      w.queue = [];
      for (let i = 0; i < batch.length; i++) {
        if (w.stopped) return;
        try {
          w.opts.onEvent(batch[i] as WatchEvent);
        } catch (err) {
          // A throwing consumer cannot be trusted to have seen the event: end its watch loudly
          // rather than silently skip ahead.
          this.stop(w);
          w.opts.onError?.(toError(err));
          return;
        }
      }
    }
  }

  private stop(w: Watcher): void {
    w.stopped = true;
    w.queue = [];
    this.watchers.delete(w);
  }
}

function toError(err: unknown): Error {
  return err instanceof Error ? err : new Error(String(err));
}
