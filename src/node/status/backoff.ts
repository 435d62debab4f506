/**
 * Crash-loop restart back-off, as the kubelet does it (kube 1.32).
 *
 * The kubelet keeps one `flowcontrol.Backoff` (10 s initial, 300 s max, no jitter) keyed per
 * container ("stable key": pod name, namespace, uid, container name, spec hash). Before restarting
 * an exited container it asks `IsInBackOffSince(key, finishedAt)`: if the time since the last exit
 * is shorter than the current delay the restart is skipped and the container waits with reason
 * `CrashLoopBackOff` and a message like `back-off 20s restarting failed container=c pod=p_ns(uid)`;
 * otherwise it calls `Next(key, finishedAt)` (doubling the delay) and restarts.
 *
 * Reset rule: an entry whose `lastUpdate` (clock time of the last `next`) is more than 2×max
 * (10 min) before the event time counts as expired — a container that ran that long starts over at
 * 10 s. Time is injected (`clock`) so tests drive it; all times are epoch milliseconds.
 */

/** kubelet's backOffPeriod. */
export const INITIAL_BACKOFF_MS = 10_000;
/** kubelet's MaxContainerBackOff. */
export const MAX_BACKOFF_MS = 300_000;

export interface BackoffOptions {
  /** Current time in epoch ms (default Date.now). */
  clock?: () => number;
  initialMs?: number;
  maxMs?: number;
}

interface Entry {
  backoffMs: number;
  lastUpdateMs: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();
  private readonly clock: () => number;
  readonly initialMs: number;
  readonly maxMs: number;

  constructor(opts: BackoffOptions = {}) {
    this.clock = opts.clock ?? Date.now;
    this.initialMs = opts.initialMs ?? INITIAL_BACKOFF_MS;
    this.maxMs = opts.maxMs ?? MAX_BACKOFF_MS;
  }

  /** The current delay for key (0 when unknown). */
  get(key: string): number {
    return this.entries.get(key)?.backoffMs ?? 0;
  }

  /**
   * Records a failure whose event happened at eventMs: first time (or after expiry) the delay is
   * the initial one, afterwards it doubles up to max. lastUpdate is the clock's now, not eventMs.
   */
  next(key: string, eventMs: number): number {
    const entry = this.entries.get(key);
    let backoffMs: number;
    if (!entry || this.expired(eventMs, entry.lastUpdateMs)) backoffMs = this.initialMs;
    else backoffMs = Math.min(entry.backoffMs * 2, this.maxMs);
    this.entries.set(key, { backoffMs, lastUpdateMs: this.clock() });
    return backoffMs;
  }

  /** Whether a restart for key must still wait, given the last event (container exit) at eventMs. */
  isInBackOffSince(key: string, eventMs: number): boolean {
    const entry = this.entries.get(key);
    if (!entry || this.expired(eventMs, entry.lastUpdateMs)) return false;
    return this.clock() - eventMs < entry.backoffMs;
  }

  /** Milliseconds left before a restart is allowed (0 when not in back-off). */
  remaining(key: string, eventMs: number): number {
    if (!this.isInBackOffSince(key, eventMs)) return 0;
    return this.entries.get(key)!.backoffMs - (this.clock() - eventMs);
  }

  reset(key: string): void {
    this.entries.delete(key);
  }

  /** Drops entries not updated for more than 2×max (the kubelet runs this periodically). */
  gc(): void {
    const now = this.clock();
    for (const [key, e] of this.entries) if (now - e.lastUpdateMs > this.maxMs * 2) this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }

  private expired(eventMs: number, lastUpdateMs: number): boolean {
    return eventMs - lastUpdateMs > this.maxMs * 2;
  }
}

/** The kubelet's per-container key (getStableKey): name_namespace_uid_container_hash. */
export function containerKey(pod: PodRef, container: { name: string; hash?: string }): string {
  return `${pod.name}_${pod.namespace}_${pod.uid}_${container.name}_${container.hash ?? ''}`;
}

export interface PodRef {
  name: string;
  namespace: string;
  uid: string;
}

/** kube's format.Pod: `name_namespace(uid)`. */
export function formatPod(pod: PodRef): string {
  return `${pod.name}_${pod.namespace}(${pod.uid})`;
}

/** Formats milliseconds as Go's time.Duration.String() does ("10s", "1m20s", "5m0s", "1.5s"). */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  const neg = ms < 0;
  let rest = Math.abs(ms);
  let out: string;
  if (rest < 1000) {
    out = `${trimNum(rest)}ms`;
  } else {
    const h = Math.floor(rest / 3_600_000);
    rest -= h * 3_600_000;
    const m = Math.floor(rest / 60_000);
    rest -= m * 60_000;
    const s = `${trimNum(rest / 1000)}s`;
    out = h > 0 ? `${h}h${m}m${s}` : m > 0 ? `${m}m${s}` : s;
  }
  return neg ? `-${out}` : out;
}

function trimNum(n: number): string {
  return String(Number(n.toFixed(9)));
}

export interface BackOffDecision {
  /** True: do not restart now; the container waits with reason CrashLoopBackOff and `message`. */
  inBackOff: boolean;
  message?: string;
  /** The delay in force (ms). */
  delayMs: number;
}

/**
 * The kubelet's doBackOff for one exited container: if still in back-off, report the waiting
 * message; otherwise advance the back-off (the caller restarts the container now).
 * `finishedAtMs` is when the latest instance exited.
 */
export function checkRestart(
  backoff: Backoff,
  args: { pod: PodRef; container: { name: string; hash?: string }; finishedAtMs: number },
): BackOffDecision {
  const key = containerKey(args.pod, args.container);
  if (backoff.isInBackOffSince(key, args.finishedAtMs)) {
    const delayMs = backoff.get(key);
    return {
      inBackOff: true,
      delayMs,
      message: crashLoopMessage(delayMs, { pod: args.pod, container: args.container.name }),
    };
  }
  return { inBackOff: false, delayMs: backoff.next(key, args.finishedAtMs) };
}

/** `back-off 10s restarting failed container=<name> pod=<pod>_<ns>(<uid>)`. */
export function crashLoopMessage(delayMs: number, args: { pod: PodRef; container: string }): string {
  return `back-off ${goDuration(delayMs)} restarting failed container=${args.container} pod=${formatPod(args.pod)}`;
}

/** The Warning event message the kubelet records alongside (reason BackOff). */
export function backOffEventMessage(args: { pod: PodRef; container: string }): string {
  return `Back-off restarting failed container ${args.container} in pod ${formatPod(args.pod)}`;
}
