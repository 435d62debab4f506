/**
 * The proxy's control loop, shaped like kube-proxy's: informers on Services and EndpointSlices
 * feed change trackers (ProxyStateCache), a rate-bounded runner (BoundedRunner) calls `sync`,
 * which recomputes only the changed Services and hands the result to the mode's backend
 * (nftables, iptables or userspace). A failed apply makes the next sync a full one and retries
 * it; nothing is lost because the cache already holds the wanted state — only the writing is
 * repeated.
 *
 * Around the backend, the same steps for every mode: stale UDP conntrack entries are cleared
 * after an apply, the health-check node ports follow the local endpoint counts, and the
 * metrics (kube-proxy's names) record durations, changes and network programming latency.
 */
import type { KObject } from '../api/types.js';
import type { InformerFactory } from '../client/shared-informer.js';
import { realClock, type Clock } from '../client/workqueue.js';
import { ProxyStateCache } from './changes.js';
import { serviceKeyOf } from './compute.js';
import { BoundedRunner } from './runner.js';
import type { ProxyNode, ProxyState } from './types.js';

/** What a proxy mode must do: make the node match `state`. */
export interface ProxyBackend {
  readonly mode: 'nftables' | 'iptables' | 'userspace';
  /** `changed` lists the service-port ids whose plan changed since the previous successful sync, or 'all'. */
  sync(input: { state: ProxyState; changed: Set<string> | 'all' }): Promise<{ full: boolean }>;
  /** Removes everything the mode installed (rules, listeners). */
  cleanup(): Promise<void>;
}

/** What the loop reports to (metrics, health); every method optional so tests can pass {}. */
export interface ProxyObserver {
  syncDone?(o: { full: boolean; seconds: number; state: ProxyState; changed: number }): void;
  syncFailed?(err: Error): void;
  serviceChanges?(n: number): void;
  endpointChanges?(n: number): void;
  /** Seconds from an EndpointSlice's last-change-trigger-time to its rules being live. */
  networkProgrammed?(seconds: number): void;
  queued?(atMs: number): void;
}

/** Runs after each successful apply with the previous and new state (conntrack clearing, health check ports). */
export type AfterSync = (prev: ProxyState | undefined, next: ProxyState) => Promise<void> | void;

export interface ProxierOptions {
  node: ProxyNode;
  backend: ProxyBackend;
  clock?: Clock;
  /** kube-proxy's --*-min-sync-period (default 100 ms here: one machine, interactive use). */
  minSyncMs?: number;
  /** Periodic full resync (kube-proxy's --*-sync-period; default 30 s). */
  maxSyncMs?: number;
  burst?: number;
  /** Delay before retrying a failed apply (default 1 s). */
  retryMs?: number;
  observer?: ProxyObserver;
  afterSync?: AfterSync[];
  log?: (line: string) => void;
}

export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

function triggerTime(obj: KObject | undefined): number | undefined {
  const v = obj?.metadata.annotations?.[TRIGGER_TIME_ANNOTATION];
  const t = v ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : undefined;
}

export class Proxier {
  readonly cache: ProxyStateCache;
  private readonly runner: BoundedRunner;
  private readonly clock: Clock;
  private readonly observer: ProxyObserver;
  /** When the last full sync succeeded; -Infinity forces the next sync to be full (at start, after a failure). */
  private lastFull = -Infinity;
  private last: ProxyState | undefined;
  /** service key → earliest trigger time of an endpoint change not yet programmed. */
  private readonly triggers = new Map<string, number>();
  private syncs = 0;
  private startedAt = 0;
  private firstAttempt: (() => void) | undefined;
  private waiters: Array<{ after: number; resolve: () => void }> = [];

  constructor(
    private readonly informers: InformerFactory,
    private readonly opts: ProxierOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.observer = opts.observer ?? {};
    this.cache = new ProxyStateCache(opts.node);
    this.runner = new BoundedRunner(() => this.sync(), {
      minIntervalMs: opts.minSyncMs ?? 100,
      maxIntervalMs: opts.maxSyncMs ?? 30_000,
      burst: opts.burst ?? 2,
      clock: this.clock,
    });
  }

  get mode(): ProxyBackend['mode'] {
    return this.opts.backend.mode;
  }

  /** Watches Services and EndpointSlices, waits for their first list, then applies the first full sync. */
  async start(): Promise<void> {
    this.startedAt = this.clock.now();
    const svcs = this.informers.for('', 'services');
    const slices = this.informers.for('discovery.k8s.io', 'endpointslices');
    const changed = (marked: boolean): void => {
      if (!marked) return;
      this.observer.queued?.(this.clock.now());
      this.runner.run();
    };
    svcs.addHandlers({
      onAdd: (o) => changed(this.trackService(undefined, o)),
      onUpdate: (cur, old) => changed(this.trackService(old, cur)),
      onDelete: (o) => changed(this.trackService(o, undefined)),
    });
    slices.addHandlers({
      onAdd: (o) => changed(this.trackSlice(undefined, o)),
      onUpdate: (cur, old) => changed(this.trackSlice(old, cur)),
      onDelete: (o) => changed(this.trackSlice(o, undefined)),
    });
    await this.informers.start();
    this.runner.start();
    const first = new Promise<void>((r) => (this.firstAttempt = r));
    this.runner.run();
    // The first attempt, not the first success: a failing backend must not hang `kubelite up`
    // (it is retried and reported); callers wanting success use waitForSync().
    await first;
  }

  async stop(opts: { cleanup?: boolean } = {}): Promise<void> {
    await this.runner.stop();
    if (opts.cleanup) await this.opts.backend.cleanup();
    for (const w of this.waiters) w.resolve();
    this.waiters = [];
  }

  /** Resolves after the next successful sync that starts after this call. */
  waitForSync(): Promise<void> {
    return new Promise((resolve) => this.waiters.push({ after: this.syncs, resolve }));
  }

  /** The state of the last successful sync. */
  current(): ProxyState | undefined {
    return this.last;
  }

  private trackService(prev: KObject | undefined, cur: KObject | undefined): boolean {
    const marked = cur ? this.cache.upsertService(cur) : prev ? this.cache.deleteService(prev) : false;
    if (marked) this.observer.serviceChanges?.(1);
    return marked;
  }

  private trackSlice(prev: KObject | undefined, cur: KObject | undefined): boolean {
    const marked = cur ? this.cache.upsertSlice(cur) : prev ? this.cache.deleteSlice(prev) : false;
    if (!marked) return false;
    this.observer.endpointChanges?.(1);
    const t = triggerTime(cur);
    // As kube-proxy: changes from before this proxy started say nothing about its latency.
    if (t !== undefined && t < this.startedAt) return true;
    const key = serviceKeyOf((cur ?? prev)!);
    if (t !== undefined && key !== undefined) {
      const have = this.triggers.get(key);
      if (have === undefined || t < have) this.triggers.set(key, t);
    }
    return true;
  }

  /** One sync: never concurrent (the runner guarantees it); throws after scheduling a retry. */
  private async sync(): Promise<void> {
    try {
      await this.syncOnce();
    } finally {
      this.firstAttempt?.();
      this.firstAttempt = undefined;
    }
  }

  private async syncOnce(): Promise<void> {
    const started = this.clock.now();
    const { state, changed } = this.cache.apply();
    // The periodic sync (every maxSyncMs) rewrites everything, repairing rules changed behind our back.
    const full = this.clock.now() - this.lastFull >= (this.opts.maxSyncMs ?? 30_000);
    const triggers = new Map(this.triggers);
    this.triggers.clear();
    try {
      const r = await this.opts.backend.sync({ state, changed: full ? 'all' : changed });
      if (full) this.lastFull = this.clock.now();
      const prev = this.last;
      this.last = state;
      const seconds = (this.clock.now() - started) / 1000;
      this.observer.syncDone?.({ full: r.full, seconds, state, changed: changed.size });
      const now = this.clock.now();
      for (const t of triggers.values()) this.observer.networkProgrammed?.(Math.max(0, now - t) / 1000);
      for (const f of this.opts.afterSync ?? []) {
        try {
          await f(prev, state);
        } catch (err) {
          this.opts.log?.(`proxy: after-sync step failed: ${(err as Error).message}`);
        }
      }
      this.syncs++;
      const done = this.waiters.filter((w) => w.after < this.syncs);
      this.waiters = this.waiters.filter((w) => w.after >= this.syncs);
      for (const w of done) w.resolve();
    } catch (err) {
      // The cache already moved on; the next sync must rewrite everything, and soon.
      this.lastFull = -Infinity;
      for (const [k, t] of triggers) if (!this.triggers.has(k)) this.triggers.set(k, t);
      this.observer.syncFailed?.(err as Error);
      this.opts.log?.(`proxy: ${this.mode} sync failed (full resync in ${this.opts.retryMs ?? 1000} ms): ${(err as Error).message}`);
      this.runner.retryAfter(this.opts.retryMs ?? 1000);
      throw err;
    }
  }
}
