/**
 * Periodic compaction, as kube-apiserver asks etcd for every five minutes: at each tick the
 * store is compacted to the revision seen at the previous tick, so history (and watch resume)
 * reaches back at least one interval.
 */
import type { Backend } from '../storage/types.js';

export interface Compactor {
  stop(): void;
  /** Runs one compaction step now (what the timer does each interval). */
  tick(): Promise<void>;
}

export function startCompactor(
  backend: Backend,
  opts: {
    intervalMs?: number;
    onError?: (err: unknown) => void;
    compact?: (revision: number) => Promise<void>;
    /** The timer (injected so tests drive ticks themselves). */
    every?: (fn: () => void, ms: number) => () => void;
  } = {},
): Compactor {
  const compact = opts.compact ?? ((rev: number): Promise<void> => backend.compact(rev));
  let previous = 0;
  const tick = async (): Promise<void> => {
    try {
      const current = await backend.currentRevision();
      if (previous > 0 && previous > (await backend.compactRevision())) await compact(previous);
      previous = current;
    } catch (err) {
      opts.onError?.(err);
    }
  };
  const every =
    opts.every ??
    ((fn: () => void, ms: number): (() => void) => {
      const t = setInterval(fn, ms);
      t.unref();
      return () => clearInterval(t);
    });
  const stop = every(() => void tick(), opts.intervalMs ?? 5 * 60_000);
  const first = tick();
  return { stop, tick: () => first.then(tick) };
}
