/**
 * Endpoint choice for the userspace proxy: round robin, optional ClientIP session affinity,
 * and skipping endpoints that failed to accept a connection recently.
 *
 * Pure apart from the injected clock, so it is table-tested without sockets. One balancer
 * serves one listener (cluster traffic and external traffic see different endpoint sets).
 * Behaviour follows the old kube-proxy userspace LoadBalancerRR: affinity is per client IP,
 * refreshed on each use and forgotten after `timeoutSeconds` idle; a failed dial resets the
 * client's affinity so the retry can move to another endpoint.
 */

/** Only `now()` is needed; a full workqueue Clock fits. */
export interface NowClock {
  now(): number;
}

export interface BalancerOptions {
  clock: NowClock;
  /** How long an endpoint that refused/timed out a dial is skipped (ms). Default 10 s. */
  failureHoldMs?: number;
}

export interface PickOptions {
  /** Ignore (and replace) the client's sticky endpoint: set after a failed dial. */
  resetAffinity?: boolean;
  /** Endpoints already tried for this connection: avoided while any other remains. */
  exclude?: ReadonlySet<string>;
}

interface AffinityEntry {
  endpoint: string;
  lastUsedMs: number;
}

export const DEFAULT_FAILURE_HOLD_MS = 10_000;

export class Balancer {
  private endpoints: string[] = [];
  private index = 0;
  private affinityTimeoutMs: number | undefined;
  private readonly affinity = new Map<string, AffinityEntry>();
  private readonly failedAt = new Map<string, number>();
  private readonly clock: NowClock;
  private readonly failureHoldMs: number;

  constructor(opts: BalancerOptions) {
    this.clock = opts.clock;
    this.failureHoldMs = opts.failureHoldMs ?? DEFAULT_FAILURE_HOLD_MS;
  }

  /**
   * Replace the endpoint set ("ip:port" strings). Affinity entries and failure marks of
   * endpoints that remain are kept, so an update does not re-shuffle sticky clients; the
   * round-robin position restarts only when the set actually changed.
   */
  setEndpoints(endpoints: readonly string[], affinity?: { timeoutSeconds: number }): void {
    const next = [...endpoints];
    const changed = next.length !== this.endpoints.length || next.some((e, i) => e !== this.endpoints[i]);
    this.endpoints = next;
    if (changed) this.index = 0;
    const present = new Set(next);
    const newTimeout = affinity ? affinity.timeoutSeconds * 1000 : undefined;
    if (newTimeout === undefined) this.affinity.clear();
    this.affinityTimeoutMs = newTimeout;
    for (const [client, entry] of this.affinity) if (!present.has(entry.endpoint)) this.affinity.delete(client);
    for (const ep of this.failedAt.keys()) if (!present.has(ep)) this.failedAt.delete(ep);
  }

  size(): number {
    return this.endpoints.length;
  }

  /** Record a failed dial: the endpoint is skipped for `failureHoldMs` while others exist. */
  markFailed(endpoint: string): void {
    this.failedAt.set(endpoint, this.clock.now());
  }

  /** A successful dial clears the failure mark early. */
  markOk(endpoint: string): void {
    this.failedAt.delete(endpoint);
  }

  /**
   * The endpoint for a new connection/session from `clientIP`, or undefined when there are
   * no endpoints. Never returns undefined while endpoints exist: if every endpoint is
   * excluded or failed, it still hands one out (a dead set of endpoints must fail the dial,
   * not starve the client without trying).
   */
  pick(clientIP: string, opts: PickOptions = {}): string | undefined {
    if (this.endpoints.length === 0) return undefined;
    const now = this.clock.now();
    this.expireAffinity(now);
    if (this.affinityTimeoutMs !== undefined && !opts.resetAffinity) {
      const entry = this.affinity.get(clientIP);
      if (entry && this.usable(entry.endpoint, now, opts.exclude)) {
        entry.lastUsedMs = now;
        return entry.endpoint;
      }
    }
    const chosen = this.nextRoundRobin(now, opts.exclude);
    if (this.affinityTimeoutMs !== undefined) this.affinity.set(clientIP, { endpoint: chosen, lastUsedMs: now });
    return chosen;
  }

  private usable(endpoint: string, now: number, exclude?: ReadonlySet<string>): boolean {
    if (!this.endpoints.includes(endpoint)) return false;
    if (exclude?.has(endpoint)) return false;
    const failed = this.failedAt.get(endpoint);
    return failed === undefined || now - failed >= this.failureHoldMs;
  }

  /** Prefer healthy, not-yet-tried endpoints; then not-yet-tried; then anything. */
  private nextRoundRobin(now: number, exclude?: ReadonlySet<string>): string {
    const n = this.endpoints.length;
    const tiers: Array<(e: string) => boolean> = [
      (e) => this.usable(e, now, exclude),
      (e) => !exclude?.has(e),
      () => true,
    ];
    for (const ok of tiers) {
      for (let i = 0; i < n; i++) {
        const idx = (this.index + i) % n;
        const ep = this.endpoints[idx]!;
        if (ok(ep)) {
          this.index = (idx + 1) % n;
          return ep;
        }
      }
    }
    /* unreachable: the last tier accepts everything and n > 0 */
    return this.endpoints[0]!;
  }

  private expireAffinity(now: number): void {
    if (this.affinityTimeoutMs === undefined) return;
    for (const [client, entry] of this.affinity) {
      if (now - entry.lastUsedMs >= this.affinityTimeoutMs) this.affinity.delete(client);
    }
  }
}
