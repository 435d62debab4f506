/**
 * What every controller is built from (kube-controller-manager's ControllerContext): shared
 * informers, an in-process client, an event recorder and an injected clock. A controller is
 * `new XController(ctx, opts)`; `start()` registers its informer handlers, waits for the
 * informers to sync and starts its workers; `stop()` shuts its queue down and waits for them.
 */
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { InformerFactory } from '../client/shared-informer.js';
import { LocalClient } from '../client/client.js';
import { LocalEventRecorder, type EventRecorder } from '../client/events.js';
import { realClock, type Clock } from '../client/workqueue.js';

export interface ControllerContext {
  registry: Registry;
  cache: WatchCache;
  informers: InformerFactory;
  /** Base client; controllers call `client.as('<controller-name>')` for their field manager. */
  client: LocalClient;
  /** An event recorder reporting as `component` (e.g. 'deployment-controller'). */
  recorder(component: string): EventRecorder;
  clock: Clock;
}

export interface Controller {
  start(): Promise<void>;
  stop(): Promise<void>;
}

export function newControllerContext(deps: { registry: Registry; cache: WatchCache }, opts: { clock?: Clock; resyncMs?: number } = {}): ControllerContext {
  const clock = opts.clock ?? realClock;
  const now = (): Date => new Date(clock.now());
  const client = new LocalClient(deps.registry, { manager: 'kube-controller-manager', now });
  const recorders = new Map<string, LocalEventRecorder>();
  return {
    registry: deps.registry,
    cache: deps.cache,
    informers: new InformerFactory({ registry: deps.registry, cache: deps.cache, clock }, { resyncMs: opts.resyncMs }),
    client,
    clock,
    recorder(component: string): EventRecorder {
      let r = recorders.get(component);
      if (!r) recorders.set(component, (r = new LocalEventRecorder(client.as(component), { component, now })));
      return r;
    },
  };
}
