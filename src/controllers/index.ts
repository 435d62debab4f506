/**
 * The controller manager inside kubelite: one leader election per component (as the separate
 * kube-controller-manager and kube-scheduler binaries each hold their own Lease in kube-system),
 * so that several kubelite control planes sharing one store run each controller exactly once.
 *
 * While a component leads it gets a fresh ControllerContext (its own informers) and starts its
 * controllers; on losing the lease they are stopped, the informers closed, and the component
 * campaigns again. A controller whose start fails (its first list needs the store, which may be
 * briefly unreachable, e.g. an etcd without quorum) is retried with backoff until it starts or
 * leadership ends.
 *
 * Adding a controller is one line in COMPONENTS below.
 */
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { LocalClient } from '../client/client.js';
import { LeaderElector, defaultIdentity } from '../client/leaderelection.js';
import { realClock, type Clock } from '../client/workqueue.js';
import { newControllerContext, type Controller, type ControllerContext } from './context.js';
import { NamespaceController } from './namespace/controller.js';
import { GarbageCollector } from './garbagecollector/controller.js';

export type { Controller } from './context.js';

export interface ControllerSpec {
  name: string;
  /** May load the controller's module on demand (keeps `kubelite up`'s start fast). */
  make(ctx: ControllerContext): Controller | Promise<Controller>;
}

/** A set of controllers guarded by one Lease `kube-system/<name>`. */
export interface ComponentSpec {
  name: string;
  controllers: ControllerSpec[];
}

export const COMPONENTS: ComponentSpec[] = [
  {
    name: 'kube-controller-manager',
    controllers: [
      { name: 'namespace', make: (ctx) => new NamespaceController(ctx.registry, ctx.cache) },
      { name: 'garbagecollector', make: (ctx) => new GarbageCollector(ctx.registry, ctx.cache) },
      { name: 'deployment', make: async (ctx) => new (await import('./deployment/controller.js')).DeploymentController(ctx) },
      { name: 'replicaset', make: async (ctx) => new (await import('./replicaset/controller.js')).ReplicaSetController(ctx) },
      { name: 'statefulset', make: async (ctx) => new (await import('./statefulset/controller.js')).StatefulSetController(ctx) },
      { name: 'endpointslice', make: async (ctx) => new (await import('./endpointslice/controller.js')).EndpointSliceController(ctx) },
      { name: 'endpoints', make: async (ctx) => new (await import('./endpoints/controller.js')).EndpointsController(ctx) },
      { name: 'endpointslicemirroring', make: async (ctx) => new (await import('./endpointslicemirroring/controller.js')).EndpointSliceMirroringController(ctx) },
      { name: 'nodelifecycle', make: async (ctx) => new (await import('./nodelifecycle/controller.js')).NodeLifecycleController(ctx) },
    ],
  },
  {
    name: 'kube-scheduler',
    controllers: [{ name: 'scheduler', make: async (ctx) => new (await import('./scheduler/controller.js')).Scheduler(ctx) }],
  },
];

/**
 * COMPONENTS plus the cloud-controller-manager's part we run: the LoadBalancer address
 * controller (ServiceLB), with its own lease as kube's cloud-controller-manager has. An empty
 * pool leaves it out.
 */
export function defaultComponents(o: { lbPool?: string } = {}): ComponentSpec[] {
  if (!o.lbPool) return COMPONENTS;
  const pool = o.lbPool;
  return [
    ...COMPONENTS,
    {
      name: 'cloud-controller-manager',
      controllers: [
        { name: 'service-lb-controller', make: async (ctx) => new (await import('./servicelb/controller.js')).ServiceLBController(ctx, { pool }) },
      ],
    },
  ];
}

export interface LeaderElectionTimings {
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
}

export interface ControllerManagerOptions {
  components?: ComponentSpec[];
  leaderElection?: LeaderElectionTimings;
  /** holderIdentity for every lease (default `<hostname>_<uuid>`). */
  identity?: string;
  clock?: Clock;
  /** First retry delay for a controller whose start failed (doubles up to maxRetryMs). */
  retryMs?: number;
  maxRetryMs?: number;
  /** Where leadership changes are reported (default console.log; no-op when quiet). */
  log?: (line: string) => void;
  quiet?: boolean;
}

export interface ControllerManager {
  readonly identity: string;
  /** Components this process currently leads. */
  leading(): string[];
  /** `component/controller` for every controller started and not yet stopped. */
  running(): string[];
  /** Stops every controller and releases the leases. */
  stop(): Promise<void>;
  /**
   * Tests only: behave like a killed process: renewals stop without releasing the leases (which
   * stay held until they expire), and the controllers stop acting.
   */
  crash(): Promise<void>;
}

/** One leadership term of a component: its context and the controllers started in it. */
class Term {
  private stopping = false;
  private readonly running = new Map<string, Controller>();
  private readonly timers = new Set<unknown>();
  private readonly ctx: ControllerContext;
  private readonly started: Promise<void>;

  constructor(
    private readonly component: ComponentSpec,
    private readonly deps: { registry: Registry; cache: WatchCache; clock: Clock; retryMs: number; maxRetryMs: number },
  ) {
    this.ctx = newControllerContext(deps, { clock: deps.clock });
    this.started = Promise.all(component.controllers.map((s) => this.launch(s, deps.retryMs))).then(() => undefined);
  }

  names(): string[] {
    return [...this.running.keys()].map((n) => `${this.component.name}/${n}`);
  }

  private async launch(spec: ControllerSpec, delay: number): Promise<void> {
    if (this.stopping) return;
    let c: Controller | undefined;
    try {
      c = await spec.make(this.ctx);
      await c.start();
    } catch (err) {
      if (c) void c.stop().catch(() => undefined);
      return this.retry(spec, delay, err);
    }
    if (this.stopping) return c.stop();
    this.running.set(spec.name, c);
  }

  private retry(spec: ControllerSpec, delay: number, err: unknown): Promise<void> {
    if (this.stopping) return Promise.resolve();
    console.error(`kubelite: controller ${spec.name} failed to start (retrying in ${delay} ms): ${(err as Error).message}`);
    return new Promise<void>((resolve) => {
      const t = this.deps.clock.setTimeout(() => {
        this.timers.delete(t);
        resolve(this.launch(spec, Math.min(delay * 2, this.deps.maxRetryMs)));
      }, delay);
      this.timers.add(t);
    });
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) this.deps.clock.clearTimeout(t);
    this.timers.clear();
    // A start still in flight stops its controller itself when it finishes.
    await Promise.race([this.started, new Promise((r) => setTimeout(r, 100))]);
    const running = [...this.running.values()];
    this.running.clear();
    await Promise.all(running.map((c) => c.stop().catch(() => undefined)));
    this.ctx.informers.close();
  }
}

export function startControllerManager(deps: { registry: Registry; cache: WatchCache }, opts: ControllerManagerOptions = {}): ControllerManager {
  const identity = opts.identity ?? defaultIdentity();
  const clock = opts.clock ?? realClock;
  const log = opts.quiet ? (): void => undefined : (opts.log ?? ((l: string): void => console.log(l)));
  const terms = new Map<string, Term>();
  const termDeps = { ...deps, clock, retryMs: opts.retryMs ?? 500, maxRetryMs: opts.maxRetryMs ?? 10_000 };
  // A component with nothing to run does not hold a lease (it would only write heartbeats).
  const electors = (opts.components ?? COMPONENTS)
    .filter((comp) => comp.controllers.length > 0)
    .map((comp) => {
      const elector = new LeaderElector(new LocalClient(deps.registry, { manager: comp.name, now: () => new Date(clock.now()) }), {
        name: comp.name,
        namespace: 'kube-system',
        identity,
        clock,
        ...opts.leaderElection,
        onStartedLeading: () => {
          log(`kubelite: became leader for ${comp.name} (identity ${identity})`);
          terms.set(comp.name, new Term(comp, termDeps));
        },
        onStoppedLeading: async () => {
          const term = terms.get(comp.name);
          terms.delete(comp.name);
          await term?.stop();
          log(`kubelite: stopped leading ${comp.name}`);
        },
      });
      elector.start();
      return elector;
    });
  const byName = (): string[] => [...terms.keys()];
  return {
    identity,
    leading: byName,
    running: () => [...terms.values()].flatMap((t) => t.names()),
    async stop(): Promise<void> {
      await Promise.all(electors.map((e) => e.stop()));
    },
    async crash(): Promise<void> {
      for (const e of electors) e.crash();
      const all = [...terms.values()];
      terms.clear();
      await Promise.all(all.map((t) => t.stop()));
    },
  };
}
