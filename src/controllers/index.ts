/**
 * Starts the controllers that run inside the kubelite process. A controller whose start fails
 * (its first list needs the store, which may be briefly unreachable, e.g. an etcd without
 * quorum) is retried with backoff until it starts or kubelite stops.
 */
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { NamespaceController } from './namespace/controller.js';
import { GarbageCollector } from './garbagecollector/controller.js';

export interface RunningControllers {
  stop(): Promise<void>;
}

export interface Controller {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function startControllers(
  deps: { registry: Registry; cache: WatchCache },
  opts: { retryMs?: number; maxRetryMs?: number; factories?: (() => Controller)[] } = {},
): RunningControllers {
  const make: (() => Controller)[] = opts.factories ?? [
    () => new NamespaceController(deps.registry, deps.cache),
    () => new GarbageCollector(deps.registry, deps.cache),
  ];
  let stopping = false;
  const running: Controller[] = [];
  const timers = new Set<NodeJS.Timeout>();
  const launch = (factory: () => Controller, delay: number): Promise<void> => {
    if (stopping) return Promise.resolve();
    const c = factory();
    return c.start().then(
      () => {
        if (stopping) return c.stop();
        running.push(c);
      },
      (err: unknown) => {
        console.error(`kubelite: controller failed to start (retrying in ${delay} ms): ${(err as Error).message}`);
        void c.stop().catch(() => undefined);
        return new Promise<void>((resolve) => {
          const t = setTimeout(() => {
            timers.delete(t);
            resolve(launch(factory, Math.min(delay * 2, opts.maxRetryMs ?? 10_000)));
          }, delay);
          timers.add(t);
        });
      },
    );
  };
  const started = Promise.all(make.map((f) => launch(f, opts.retryMs ?? 500)));
  return {
    async stop(): Promise<void> {
      stopping = true;
      for (const t of timers) clearTimeout(t);
      timers.clear();
      await Promise.race([started, new Promise((r) => setTimeout(r, 100))]);
      await Promise.all(running.map((c) => c.stop()));
    },
  };
}
