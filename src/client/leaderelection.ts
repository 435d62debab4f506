/**
 * Leader election on a coordination.k8s.io/v1 Lease, with client-go's leaderelection semantics,
 * so that several kubelite control planes on one store run each controller set exactly once.
 *
 * The rules (and why):
 * - A candidate may take the lease when it is absent, already ours, released (empty holder) or
 *   expired. Expiry is judged by OBSERVED time: we remember, on our own clock, when we last saw
 *   the lease record change, and treat it as expired `leaseDurationSeconds` after that. The
 *   remote renewTime is never compared with our clock, so clock skew between hosts cannot make a
 *   live leader look dead. (A fresh candidate therefore waits a full lease duration first.)
 * - Every write is a create or a resourceVersion-preconditioned update: of two candidates racing
 *   for the same record one gets 409 Conflict and simply loses that round.
 * - The leader renews every retryPeriod. If no renewal has succeeded within renewDeadline of a
 *   renewal round starting (renewDeadline < leaseDuration, so this happens before anyone else
 *   may consider the lease expired) it stops leading. Seeing another holder in the record also
 *   stops it at once.
 * - `stop()` with releaseOnCancel first awaits onStoppedLeading (so the guarded work has ended),
 *   then clears holderIdentity (leaseDurationSeconds 1) so another candidate takes over at once.
 *
 * Differences from client-go, on purpose: after losing the lease the elector campaigns again by
 * itself (kube-controller-manager exits and relies on its supervisor; we are in-process), and
 * onStoppedLeading is only called when leadership that was started ends.
 */
import { hostname } from 'node:os';
import { randomUUID } from 'node:crypto';
import type { KObject } from '../api/types.js';
import { clone } from '../api/types.js';
import { LEASES, isNotFound, type LocalClient } from './client.js';
import { realClock, type Clock } from './workqueue.js';

export interface LeaderElectorOptions {
  /** Lease namespace (default 'kube-system'). */
  namespace?: string;
  /** Lease name, e.g. 'kube-controller-manager'. */
  name: string;
  /** Who we are in holderIdentity (default `<hostname>_<uuid>`, as kube components). */
  identity?: string;
  /** How long a lease is valid after last observed change (default 15000; stored in whole seconds). */
  leaseDurationMs?: number;
  /** How long the leader keeps retrying a failed renewal before giving up (default 10000). */
  renewDeadlineMs?: number;
  /** Interval between acquire/renew attempts (default 2000). */
  retryPeriodMs?: number;
  /** Candidates wait retryPeriod * (1 + random * jitterFactor) between attempts (default 1.2). */
  jitterFactor?: number;
  random?: () => number;
  clock?: Clock;
  onStartedLeading?: () => void;
  /** Awaited before the lease is released on stop, and before campaigning again after a loss. */
  onStoppedLeading?: () => void | Promise<void>;
  /** Called when the observed holder changes ('' when released). */
  onNewLeader?: (identity: string) => void;
  /** Clear the lease on stop() while leading (default true). */
  releaseOnCancel?: boolean;
}

/** The fields of LeaseSpec that make up client-go's LeaderElectionRecord. */
export interface LeaseRecord {
  holderIdentity?: string;
  leaseDurationSeconds?: number;
  acquireTime?: string;
  renewTime?: string;
  leaseTransitions?: number;
}

/** metav1.MicroTime's wire format: RFC 3339 with exactly six fractional digits, UTC. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

export function defaultIdentity(): string {
  return `${hostname()}_${randomUUID()}`;
}

type Attempt = 'ok' | 'held' | 'error';
type State = 'idle' | 'campaigning' | 'leading' | 'stopped';

const recordKey = (r: LeaseRecord): string =>
  JSON.stringify([r.holderIdentity ?? '', r.leaseDurationSeconds ?? 0, r.acquireTime ?? '', r.renewTime ?? '', r.leaseTransitions ?? 0]);

export class LeaderElector {
  readonly identity: string;
  readonly namespace: string;
  readonly name: string;
  private readonly clock: Clock;
  private readonly leaseMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryMs: number;
  private state: State = 'idle';
  /** Bumped on every state change; an attempt finishing under an older generation is ignored. */
  private gen = 0;
  private timer: unknown;
  private deadlineTimer: unknown;
  /** Attempts and loss handling in flight (a hung store call may overlap a later step). */
  private readonly inflight = new Set<Promise<void>>();
  private observedKey: string | undefined;
  private observedTime = 0;
  private observedHolder = '';
  private stopping: Promise<void> | undefined;

  constructor(
    private readonly client: LocalClient,
    private readonly opts: LeaderElectorOptions,
  ) {
    this.identity = opts.identity ?? defaultIdentity();
    this.namespace = opts.namespace ?? 'kube-system';
    this.name = opts.name;
    this.clock = opts.clock ?? realClock;
    this.leaseMs = opts.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = opts.renewDeadlineMs ?? 10_000;
    this.retryMs = opts.retryPeriodMs ?? 2_000;
    if (!(this.leaseMs > this.renewDeadlineMs)) throw new Error('leaseDuration must be greater than renewDeadline');
    if (!(this.retryMs > 0)) throw new Error('retryPeriod must be positive');
    if (!(this.renewDeadlineMs > this.retryMs * (opts.jitterFactor ?? 1.2))) throw new Error('renewDeadline must be greater than retryPeriod * jitterFactor');
  }

  /** Starts campaigning (the first attempt is immediate). Idempotent. */
  start(): void {
    if (this.state !== 'idle') return;
    this.state = 'campaigning';
    this.schedule(0);
  }

  isLeader(): boolean {
    return this.state === 'leading';
  }

  /** The holder we last observed in the lease ('' when none or released). */
  leader(): string {
    return this.observedHolder;
  }

  /** Resolves once the attempt in flight (if any) has finished; for tests on a fake clock. */
  async settled(): Promise<void> {
    while (this.inflight.size) await Promise.all([...this.inflight]);
  }

  /**
   * Stops campaigning or leading. While leading: awaits onStoppedLeading, then (releaseOnCancel)
   * clears the lease so another candidate can take it immediately.
   */
  stop(): Promise<void> {
    this.stopping ??= this.doStop(true);
    return this.stopping;
  }

  /**
   * Simulates a crash (tests): stops all timers at once, without callbacks or release, so the
   * lease stays held until it expires. Returns whether we were leading.
   */
  crash(): boolean {
    const was = this.state === 'leading';
    this.halt();
    this.stopping ??= Promise.resolve();
    return was;
  }

  private halt(): void {
    this.state = 'stopped';
    this.gen++;
    this.clearTimers();
  }

  private async doStop(release: boolean): Promise<void> {
    const wasLeading = this.state === 'leading';
    this.halt();
    // An attempt in flight could still write us in as holder after our release; let it land
    // first (bounded, in case the store hangs).
    await Promise.race([this.settled(), new Promise<void>((r) => this.clock.setTimeout(r, this.retryMs))]);
    if (!wasLeading) return;
    await this.callStopped();
    if (release && (this.opts.releaseOnCancel ?? true)) await this.release().catch(() => undefined);
  }

  private clearTimers(): void {
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    this.timer = this.deadlineTimer = undefined;
  }

  private schedule(ms: number): void {
    const gen = this.gen;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      if (gen !== this.gen) return;
      this.track(this.tick(gen));
    }, ms);
  }

  private track(p: Promise<void>): void {
    const t = p.finally(() => this.inflight.delete(t));
    this.inflight.add(t);
  }

  private jittered(): number {
    const f = this.opts.jitterFactor ?? 1.2;
    return this.retryMs * (1 + (this.opts.random ?? Math.random)() * f);
  }

  /** One acquire or renew attempt, then the next one is scheduled (same generation only). */
  private async tick(gen: number): Promise<void> {
    const result = await this.tryAcquireOrRenew().catch((): Attempt => 'error');
    if (gen !== this.gen) return;
    if (this.state === 'campaigning') {
      if (result !== 'ok') return this.schedule(this.jittered());
      this.state = 'leading';
      this.gen++;
      this.armDeadline();
      this.schedule(this.retryMs);
      try {
        this.opts.onStartedLeading?.();
      } catch {
        /* a callback's failure is its own */
      }
      return;
    }
    if (this.state !== 'leading') return;
    if (result === 'ok') {
      this.armDeadline();
      return this.schedule(this.retryMs);
    }
    if (result === 'held') return this.lose();
    this.schedule(this.retryMs);
  }

  /** The renewal round after a success starts retryPeriod later and may last renewDeadline. */
  private armDeadline(): void {
    if (this.deadlineTimer !== undefined) this.clock.clearTimeout(this.deadlineTimer);
    const gen = this.gen;
    this.deadlineTimer = this.clock.setTimeout(() => {
      this.deadlineTimer = undefined;
      if (gen === this.gen && this.state === 'leading') this.track(this.lose());
    }, this.retryMs + this.renewDeadlineMs);
  }

  /** Leadership lost (renew deadline passed or another holder seen): stop, then campaign again. */
  private async lose(): Promise<void> {
    this.state = 'campaigning';
    this.gen++;
    this.clearTimers();
    const gen = this.gen;
    await this.callStopped();
    if (gen === this.gen) this.schedule(this.retryMs);
  }

  private async callStopped(): Promise<void> {
    try {
      await this.opts.onStoppedLeading?.();
    } catch {
      /* a callback's failure is its own */
    }
  }

  private observe(rec: LeaseRecord, now: number): void {
    const key = recordKey(rec);
    if (key === this.observedKey) return;
    this.observedKey = key;
    this.observedTime = now;
    const holder = rec.holderIdentity ?? '';
    if (holder !== this.observedHolder) {
      this.observedHolder = holder;
      try {
        this.opts.onNewLeader?.(holder);
      } catch {
        /* a callback's failure is its own */
      }
    }
  }

  private leaseSeconds(): number {
    return Math.max(1, Math.ceil(this.leaseMs / 1000));
  }

  /** client-go's tryAcquireOrRenew: 'held' when another holder has a lease we still see as valid. */
  private async tryAcquireOrRenew(): Promise<Attempt> {
    const now = this.clock.now();
    let live: KObject;
    try {
      live = await this.client.get(LEASES, this.namespace, this.name);
    } catch (err) {
      if (!isNotFound(err)) return 'error';
      const spec: LeaseRecord = { holderIdentity: this.identity, leaseDurationSeconds: this.leaseSeconds(), acquireTime: microTime(now), renewTime: microTime(now), leaseTransitions: 0 };
      try {
        const created = await this.client.create(LEASES, this.namespace, { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: this.name, namespace: this.namespace }, spec });
        this.observe(((created as { spec?: LeaseRecord }).spec ?? spec), now);
        return 'ok';
      } catch {
        return 'error';
      }
    }
    const old: LeaseRecord = (live as { spec?: LeaseRecord }).spec ?? {};
    this.observe(old, now);
    const holder = old.holderIdentity ?? '';
    const validUntil = this.observedTime + (old.leaseDurationSeconds ?? 0) * 1000;
    if (holder !== '' && holder !== this.identity && validUntil > now) return 'held';
    const ours = holder === this.identity;
    const next = clone(live) as KObject & { spec?: LeaseRecord };
    next.spec = {
      ...old,
      holderIdentity: this.identity,
      leaseDurationSeconds: this.leaseSeconds(),
      acquireTime: ours && old.acquireTime ? old.acquireTime : microTime(now),
      renewTime: microTime(now),
      leaseTransitions: ours ? (old.leaseTransitions ?? 0) : (old.leaseTransitions ?? 0) + 1,
    };
    try {
      const updated = await this.client.update(LEASES, next);
      this.observe((updated as { spec?: LeaseRecord }).spec ?? next.spec, now);
      return 'ok';
    } catch {
      return 'error';
    }
  }

  /** Clears the holder if it is still us (409 or another holder: nothing to release). */
  private async release(): Promise<void> {
    const live = await this.client.get(LEASES, this.namespace, this.name);
    const old: LeaseRecord = (live as { spec?: LeaseRecord }).spec ?? {};
    if ((old.holderIdentity ?? '') !== this.identity) return;
    const now = microTime(this.clock.now());
    const next = clone(live) as KObject & { spec?: LeaseRecord };
    next.spec = { ...old, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: now, renewTime: now, leaseTransitions: old.leaseTransitions ?? 0 };
    await this.client.update(LEASES, next);
    this.observedHolder = '';
  }
}
