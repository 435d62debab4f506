/**
 * Starts the controllers that run inside the kubelite process.
 */
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { NamespaceController } from './namespace/controller.js';
import { GarbageCollector } from './garbagecollector/controller.js';

export interface RunningControllers {
  stop(): Promise<void>;
}

export function startControllers(deps: { registry: Registry; cache: WatchCache }): RunningControllers {
  const controllers = [new NamespaceController(deps.registry, deps.cache), new GarbageCollector(deps.registry, deps.cache)];
  const started = Promise.all(controllers.map((c) => c.start())).catch((err) => {
    console.error('kubelite: controller failed to start:', err);
  });
  return {
    async stop(): Promise<void> {
      await started;
      await Promise.all(controllers.map((c) => c.stop()));
    },
  };
}
