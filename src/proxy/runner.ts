/**
 * Rate-bounded sync scheduling, after client-go's BoundedFrequencyRunner that kube-proxy uses:
 * `run()` asks for a sync; syncs happen at most `burst` times back to back and then at most
 * once per `minIntervalMs` (a token bucket), so a storm of EndpointSlice updates becomes a few
 * syncs instead of one per event, while a lone change is applied at once. A sync also happens
 * every `maxIntervalMs` without being asked (the periodic full resync that repairs drift).
 *
 * Contract: the sync function never runs concurrently with itself; a request that arrives
 * while a sync runs causes exactly one more sync afterwards. A failed sync is retried after
 * `retryAfter()` is called by the caller (kube-proxy's RetryAfter), not automatically, so the
 * caller decides whether to force a full sync.
 */
import { realClock, type Clock } from '../client/workqueue.js';

export interface BoundedRunnerOptions {
  minIntervalMs: number;
  maxIntervalMs: number;
  burst: number;
  clock?: Clock;
}

export class BoundedRunner {
  private readonly clock: Clock;
  private tokens: number;
  private lastRefill: number;
  private timer: unknown;
  private timerAt = Infinity;
  private running = false;
  private wanted = false;
  private retry = false;
  private stopped = false;
  private lastRun = 0;
  private idle: Promise<void> = Promise.resolve();
  private resolveIdle: (() => void) | undefined;

  constructor(
    private readonly fn: () => Promise<void>,
    private readonly opts: BoundedRunnerOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.tokens = opts.burst;
    this.lastRefill = this.clock.now();
    this.lastRun = this.clock.now();
  }

  /** Starts the periodic timer (the first sync still needs a `run()`). */
  start(): void {
    this.schedule(this.opts.maxIntervalMs);
  }

  /** Requests a sync as soon as the rate bound allows. */
  run(): void {
    if (this.stopped) return;
    this.wanted = true;
    this.tryRun();
  }

  /** Requests a sync no later than `ms` from now (used after a failed sync). */
  retryAfter(ms: number): void {
    if (this.stopped) return;
    this.retry = true;
    this.schedule(ms);
  }

  /** Stops scheduling and waits for a running sync to finish. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
    await this.idle;
  }

  private refill(): void {
    const now = this.clock.now();
    const gained = (now - this.lastRefill) / this.opts.minIntervalMs;
    if (gained > 0) {
      this.tokens = Math.min(this.opts.burst, this.tokens + gained);
      this.lastRefill = now;
    }
  }

  private tryRun(): void {
    if (this.running || this.stopped || !this.wanted) return;
    this.refill();
    if (this.tokens < 1) {
      this.schedule(Math.ceil((1 - this.tokens) * this.opts.minIntervalMs));
      return;
    }
    this.tokens -= 1;
    this.wanted = false;
    this.running = true;
    this.idle = new Promise((r) => (this.resolveIdle = r));
    this.lastRun = this.clock.now();
    void this.fn()
      .catch(() => undefined)
      .finally(() => {
        this.running = false;
        this.resolveIdle?.();
        if (this.stopped) return;
        this.schedule(this.opts.maxIntervalMs);
        this.tryRun();
      });
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    const at = this.clock.now() + Math.max(0, ms);
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) this.clock.clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = this.clock.setTimeout(() => {
      this.timer = undefined;
      this.timerAt = Infinity;
      // The periodic timer fires a sync even when nothing was asked for.
      if (this.retry || this.clock.now() - this.lastRun >= this.opts.maxIntervalMs) this.wanted = true;
      this.retry = false;
      if (this.wanted) this.tryRun();
      if (this.timer === undefined && !this.running) this.schedule(this.opts.maxIntervalMs);
    }, Math.max(0, ms));
  }
}
