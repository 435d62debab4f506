/**
 * The watch cache: one store watch over the whole registry, decoded once and fanned out to
 * every API watcher. It keeps a window of recent events so a watch can resume from any
 * resourceVersion inside it; older (but uncompacted) revisions are replayed from the store by
 * the caller. Delivery contract: each subscriber sees events in revision order, each once.
 */
import type { Backend, WatchEvent } from '../storage/types.js';
import type { KObject } from '../api/types.js';
import type { RecentObjects } from './registry/recent.js';

export type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CachedEvent {
  type: EventType;
  key: string;
  revision: number;
  object: KObject;
  /** The object before this event (for label-selector transitions and DELETED). */
  prev?: KObject;
  /** Encoded watch lines by event type, filled by the first watcher that sends it. */
  encoded?: Record<string, string>;
}

export interface Subscriber {
  prefix: string;
  /** Only events with revision > fromRevision are delivered. */
  fromRevision: number;
  onEvent(ev: CachedEvent): void;
  /**
   * The cache lost its store watch and restarted from the current revision, so events may be
   * missing: the subscriber is dropped and must list again (the in-process 410 Gone).
   */
  onReset?(): void;
}

/** Decodes a store event into an API event, stamping resourceVersion from the revision. */
export function decodeEvent(ev: WatchEvent, recent?: RecentObjects): CachedEvent {
  const type: EventType = ev.type === 'DELETE' ? 'DELETED' : ev.kv.createRevision === ev.kv.modRevision ? 'ADDED' : 'MODIFIED';
  const rv = String(ev.type === 'DELETE' ? ev.revision : ev.kv.modRevision);
  // A value this process just wrote is taken as written: shallow copies give it its
  // resourceVersion without touching the shared object.
  const hit = recent?.get(ev.kv.key, ev.kv.value);
  let obj: KObject;
  if (hit) obj = { ...hit, metadata: { ...hit.metadata, resourceVersion: rv } };
  else {
    obj = JSON.parse(ev.kv.value) as KObject;
    obj.metadata.resourceVersion = rv;
  }
  const out: CachedEvent = { type, key: ev.kv.key, revision: ev.revision, object: obj };
  const prevKv = ev.prevKv;
  if (prevKv) {
    // Most subscribers never look at the previous object: decode it on first use.
    let prev: KObject | undefined;
    Object.defineProperty(out, 'prev', {
      enumerable: true,
      configurable: true,
      get(): KObject {
        if (!prev) {
          prev = JSON.parse(prevKv.value) as KObject;
          prev.metadata.resourceVersion = String(prevKv.modRevision);
        }
        return prev;
      },
    });
  }
  return out;
}

export class WatchCache {
  private events: CachedEvent[] = [];
  private subs = new Set<Subscriber>();
  private stop?: () => void;
  /** Revision the cache started at: events after it are held (within the window). */
  private startRevision = 0;
  private latest = 0;
  private waiters: { rev: number; resolve: () => void }[] = [];

  constructor(
    private readonly backend: Backend,
    private readonly opts: { prefix: string; capacity?: number; recent?: RecentObjects },
  ) {}

  async start(): Promise<void> {
    this.startRevision = await this.backend.currentRevision();
    this.latest = Math.max(this.latest, this.startRevision);
    this.stop = this.backend.watch(this.opts.prefix, {
      fromRevision: this.startRevision,
      onEvent: (ev) => this.push(decodeEvent(ev, this.opts.recent)),
      onError: (err) => void this.reset(err),
    });
  }

  /**
   * The store watch failed (e.g. compacted past it after a long partition): start again from
   * the current revision and tell every subscriber to relist, rather than go silent.
   */
  private async reset(err: Error): Promise<void> {
    process.emitWarning(`watch cache restarting after its store watch failed: ${err.message}`);
    this.stop?.();
    this.events = [];
    const subs = [...this.subs];
    this.subs.clear();
    for (let delay = 100; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.start();
        break;
      } catch {
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    for (const s of subs) {
      try {
        s.onReset?.();
      } catch {
        // a subscriber's failure to relist is its own
      }
    }
  }

  /** The oldest revision a subscriber may resume from using only the cache. */
  oldestResumable(): number {
    return this.events.length ? this.events[0].revision - 1 : this.startRevision;
  }

  latestRevision(): number {
    return this.latest;
  }

  /** Resolves once the cache has seen revision rev (so reads-after-writes are consistent). */
  waitFor(rev: number, timeoutMs = 3000): Promise<boolean> {
    if (this.latest >= rev) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== waiter);
        resolve(false);
      }, timeoutMs);
      const waiter = { rev, resolve: () => { clearTimeout(t); resolve(true); } };
      this.waiters.push(waiter);
    });
  }

  /**
   * Subscribes; replays cached events after fromRevision first. Returns undefined when
   * fromRevision is older than the window (the caller then replays from the store).
   */
  subscribe(sub: Subscriber): (() => void) | undefined {
    if (sub.fromRevision < this.oldestResumable()) return undefined;
    for (const ev of this.events) {
      if (ev.revision > sub.fromRevision && ev.key.startsWith(sub.prefix)) sub.onEvent(ev);
    }
    this.subs.add(sub);
    return () => this.subs.delete(sub);
  }

  private push(ev: CachedEvent): void {
    this.events.push(ev);
    this.latest = ev.revision;
    // Trim in chunks (at 125% of capacity) so the cost per event stays constant.
    const cap = this.opts.capacity ?? 20000;
    if (this.events.length > cap + (cap >> 2)) this.events = this.events.slice(this.events.length - cap);
    for (const s of this.subs) {
      if (ev.revision > s.fromRevision && ev.key.startsWith(s.prefix)) {
        try {
          s.onEvent(ev);
        } catch {
          this.subs.delete(s);
        }
      }
    }
    if (this.waiters.length) {
      const ready = this.waiters.filter((w) => w.rev <= ev.revision);
      this.waiters = this.waiters.filter((w) => w.rev > ev.revision);
      for (const w of ready) w.resolve();
    }
  }

  /** Forgets events at or below a compacted revision: watches from there get 410 like the store's. */
  compacted(revision: number): void {
    const i = this.events.findIndex((e) => e.revision > revision);
    this.events = i < 0 ? [] : this.events.slice(i);
    if (revision > this.startRevision) this.startRevision = Math.min(revision, this.latest);
  }

  private closed = false;

  close(): void {
    this.closed = true;
    this.stop?.();
    this.subs.clear();
  }
}
