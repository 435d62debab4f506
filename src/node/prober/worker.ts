/**
 * Probe workers with the kubelet's semantics (pkg/kubelet/prober/worker.go): one worker per
 * (container instance, probe kind), periodic on an injected Clock, with initialDelaySeconds
 * counted from container start, consecutive-result thresholds, and the startup probe gating the
 * other two. The check itself is injected, so this state machine is tested on fake time with fake
 * checks; checks.ts provides the real ones.
 *
 * A worker belongs to one container instance: on restart, stop it and make a new one (the
 * kubelet keys workers by container ID for the same reason — results and streaks reset).
 */
import type { Clock } from '../../client/workqueue.js';
import type { CheckOutcome, ProbeResult, ProbeSpec } from './checks.js';

export type ProbeKind = 'liveness' | 'readiness' | 'startup';

/** Runs one check of `probe` (timeout already resolved to ms). */
export type CheckFn = (probe: ProbeSpec, timeoutMs: number) => Promise<CheckOutcome>;

/** Called only when a worker's reported result changes (including the initial value). */
export type ResultCallback = (kind: ProbeKind, result: ProbeResult, outcome?: CheckOutcome) => void;

export interface ProbeTiming {
  initialDelayMs: number;
  periodMs: number;
  timeoutMs: number;
  successThreshold: number;
  failureThreshold: number;
}

/**
 * Applies core/v1 defaults (period 10s, timeout 1s, thresholds 1/3). Liveness and startup probes
 * must have successThreshold 1 (validation enforces it in kube); we force it rather than trust.
 */
export function probeTiming(kind: ProbeKind, p: ProbeSpec): ProbeTiming {
  const pos = (v: number | undefined, d: number): number => (v !== undefined && v > 0 ? v : d);
  return {
    initialDelayMs: Math.max(0, p.initialDelaySeconds ?? 0) * 1000,
    periodMs: pos(p.periodSeconds, 10) * 1000,
    timeoutMs: pos(p.timeoutSeconds, 1) * 1000,
    successThreshold: kind === 'readiness' ? pos(p.successThreshold, 1) : 1,
    failureThreshold: pos(p.failureThreshold, 3),
  };
}

/**
 * The value a kind reports before any probe has decided: readiness starts not ready, liveness
 * starts alive (a container is not killed before its probe says so), startup is undecided.
 */
export function initialResult(kind: ProbeKind): ProbeResult {
  return kind === 'readiness' ? 'failure' : kind === 'liveness' ? 'success' : 'unknown';
}

/**
 * The pure threshold step: given the current streak and a new check result, the new streak and
 * the result to report (undefined = keep the current one). 'unknown' (the probe could not run)
 * is thrown away, as the kubelet does with prober errors.
 */
export function thresholdStep(
  streak: { last?: ProbeResult; run: number },
  result: ProbeResult,
  t: Pick<ProbeTiming, 'successThreshold' | 'failureThreshold'>,
): { streak: { last?: ProbeResult; run: number }; report?: ProbeResult } {
  if (result === 'unknown') return { streak };
  const run = streak.last === result ? streak.run + 1 : 1;
  const next = { last: result, run };
  if (result === 'failure' && run < t.failureThreshold) return { streak: next };
  if (result === 'success' && run < t.successThreshold) return { streak: next };
  return { streak: next, report: result };
}

export interface ProbeWorkerOptions {
  kind: ProbeKind;
  probe: ProbeSpec;
  clock: Clock;
  /** When the container instance started, in clock ms; initialDelaySeconds counts from here. */
  startedAt: number;
  check: CheckFn;
  onResult: ResultCallback;
  /** Whether this worker may probe now (false while a startup probe has not yet succeeded). */
  gate?: () => boolean;
}

/**
 * Probes on a fixed period (the next probe is due one period after the previous one began, or
 * right after it ends if it overran). Liveness and startup workers go on hold after reporting a
 * failure (the container is about to be restarted); a startup worker stops after its success.
 */
export class ProbeWorker {
  readonly kind: ProbeKind;
  private readonly timing: ProbeTiming;
  private reported: ProbeResult;
  private streak: { last?: ProbeResult; run: number } = { run: 0 };
  private timer: unknown;
  private stopped = false;
  private running = false;

  constructor(private readonly opts: ProbeWorkerOptions) {
    this.kind = opts.kind;
    this.timing = probeTiming(opts.kind, opts.probe);
    this.reported = initialResult(opts.kind);
  }

  /** The currently reported result. */
  get result(): ProbeResult {
    return this.reported;
  }

  get isStopped(): boolean {
    return this.stopped;
  }

  /** Reports the initial value and schedules the first probe at startedAt + initialDelay. */
  start(): void {
    this.opts.onResult(this.kind, this.reported);
    const { clock, startedAt } = this.opts;
    this.schedule(Math.max(0, startedAt + this.timing.initialDelayMs - clock.now()));
  }

  /**
   * Stops probing; a check in flight is discarded. Idempotent. With `report`, the worker's result
   * becomes that value (reported if it changed), e.g. readiness failure when the container exits.
   */
  stop(opts: { report?: ProbeResult } = {}): void {
    this.stopped = true;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = undefined;
    if (opts.report !== undefined && opts.report !== this.reported) {
      this.reported = opts.report;
      this.opts.onResult(this.kind, opts.report);
    }
  }

  /** Asks for a probe as soon as possible (the kubelet's manual trigger), unless one is running. */
  trigger(): void {
    if (this.stopped || this.running) return;
    this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    if (this.timer !== undefined) this.opts.clock.clearTimeout(this.timer);
    this.timer = this.opts.clock.setTimeout(() => {
      this.timer = undefined;
      void this.tick();
    }, ms);
  }

  private async tick(): Promise<void> {
    if (this.stopped || this.running) return;
    const { clock } = this.opts;
    const began = clock.now();
    if (this.opts.gate && !this.opts.gate()) {
      this.schedule(this.timing.periodMs);
      return;
    }
    this.running = true;
    let outcome: CheckOutcome;
    try {
      outcome = await this.runWithTimeout();
    } finally {
      this.running = false;
    }
    if (this.stopped) return;
    const step = thresholdStep(this.streak, outcome.result, this.timing);
    this.streak = step.streak;
    if (step.report !== undefined && step.report !== this.reported) {
      this.reported = step.report;
      this.opts.onResult(this.kind, step.report, outcome);
    }
    if (this.kind !== 'readiness' && step.report === 'failure') {
      // On hold until the container restarts (a new worker), as the kubelet does.
      this.stop();
      return;
    }
    if (this.kind === 'startup' && this.reported === 'success') {
      this.stop();
      return;
    }
    this.schedule(Math.max(0, began + this.timing.periodMs - clock.now()));
  }

  /** The check, bounded by timeoutSeconds on the injected clock (so fake time enforces it too). */
  private runWithTimeout(): Promise<CheckOutcome> {
    const { clock, check, probe } = this.opts;
    const ms = this.timing.timeoutMs;
    return new Promise<CheckOutcome>((resolve) => {
      let settled = false;
      const settle = (o: CheckOutcome): void => {
        if (settled) return;
        settled = true;
        clock.clearTimeout(handle);
        resolve(o);
      };
      const handle = clock.setTimeout(
        () => settle({ result: 'failure', message: `probe timed out after ${ms / 1000}s` }),
        ms,
      );
      check(probe, ms).then(settle, (e: unknown) =>
        settle({ result: 'unknown', message: e instanceof Error ? e.message : String(e) }),
      );
    });
  }
}

export interface ContainerProbes {
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
}

export interface ContainerProberOptions {
  clock: Clock;
  startedAt: number;
  check: (kind: ProbeKind, probe: ProbeSpec, timeoutMs: number) => Promise<CheckOutcome>;
  onResult: ResultCallback;
}

/**
 * The probes of one container instance. Without a startup probe the container counts as started
 * at once; with one, liveness and readiness do not probe until it succeeded (readiness stays
 * failure, liveness stays success meanwhile). Containers without a readiness probe are not
 * reported here: the caller treats them as ready once running.
 */
export class ContainerProber {
  private readonly workers = new Map<ProbeKind, ProbeWorker>();
  private startedFlag: boolean;

  constructor(
    spec: ContainerProbes,
    private readonly opts: ContainerProberOptions,
  ) {
    this.startedFlag = !spec.startupProbe;
    const entries: [ProbeKind, ProbeSpec | undefined][] = [
      ['startup', spec.startupProbe],
      ['liveness', spec.livenessProbe],
      ['readiness', spec.readinessProbe],
    ];
    for (const [kind, probe] of entries) {
      if (!probe) continue;
      this.workers.set(
        kind,
        new ProbeWorker({
          kind,
          probe,
          clock: opts.clock,
          startedAt: opts.startedAt,
          check: (p, ms) => opts.check(kind, p, ms),
          onResult: (k, r, o) => this.onWorkerResult(k, r, o),
          gate: kind === 'startup' ? undefined : () => this.startedFlag,
        }),
      );
    }
  }

  /** Whether the container counts as started (no startup probe, or it succeeded). */
  get started(): boolean {
    return this.startedFlag;
  }

  /** Current result of a kind, or undefined when the container has no such probe. */
  result(kind: ProbeKind): ProbeResult | undefined {
    return this.workers.get(kind)?.result;
  }

  start(): void {
    for (const w of this.workers.values()) w.start();
  }

  /** Stops all workers silently (container restarting: make a new ContainerProber for it). */
  stop(): void {
    for (const w of this.workers.values()) w.stop();
  }

  /** The container exited: stop probing, and a ready container becomes not ready. */
  containerStopped(): void {
    this.workers.get('readiness')?.stop({ report: 'failure' });
    this.stop();
  }

  private onWorkerResult(kind: ProbeKind, result: ProbeResult, outcome?: CheckOutcome): void {
    if (kind === 'startup' && result === 'success') {
      this.startedFlag = true;
      // Probe readiness/liveness promptly instead of waiting out their period.
      this.workers.get('readiness')?.trigger();
      this.workers.get('liveness')?.trigger();
    }
    this.opts.onResult(kind, result, outcome);
  }
}
