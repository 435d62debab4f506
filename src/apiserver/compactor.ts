/**
 * Periodic compaction, as kube-apiserver asks etcd for every five minutes: at each tick the
 * store is compacted to the revision seen at the previous tick, so history (and watch resume)
 * reaches back at least one interval.
 */
import type { Backend } from '../storage/types.js';

export interface Compactor {
  stop(): void;
}

export function startCompactor(
  backend: Backend,
  opts: { intervalMs?: number; onError?: (err: unknown) => void; compact?: (revision: number) => Promise<void> } = {},
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
  const t = setInterval(() => void tick(), opts.intervalMs ?? 5 * 60_000);
  t.unref();
  void tick();
  return { stop: () => clearInterval(t) };
}
