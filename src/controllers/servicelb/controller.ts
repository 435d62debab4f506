/**
 * The LoadBalancer address controller (k3s ServiceLB / MetalLB layer 2, the address half):
 * gives every `type: LoadBalancer` Service without a `loadBalancerClass` an address from the
 * configured pool and writes it to `status.loadBalancer.ingress` (ipMode VIP, so the proxy
 * programs it); releases it when the Service is deleted, leaves type LoadBalancer (status is
 * cleared too) or is handed to another class. A Service that cannot get an address keeps an
 * empty status (`<pending>` in `kubectl get svc`) and gets a Warning event saying why — never a
 * silent failure — and is retried whenever an address frees up.
 *
 * The allocator lives in memory: on start it is rebuilt from the Services' statuses before any
 * worker runs (decide.ts `rebuild`), so a restart keeps every address and never hands one out
 * twice; a contested address stays with the oldest Service and the others are re-assigned.
 *
 * Work is keyed by Service (`namespace/name`); retries are the queue's (a thrown sync requeues
 * with backoff). One worker by default: assignments then follow queue order, and pending
 * Services are re-queued oldest first.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { SERVICES, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers, type Clock } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { byAge, decide, desiredStatus, isManaged, rebuild, statusIPs, statusMatches, type LoadBalancerStatus } from './decide.js';
import { IPPool } from './pool.js';

export const SERVICE_LB_CONTROLLER_NAME = 'service-lb-controller';
/** The pool `kubelite up` uses without `--lb-pool`. */
export { DEFAULT_LB_POOL } from './pool.js';

export interface ServiceLBControllerOptions {
  /** Pool spec (see pool.ts): CIDRs and/or ranges, comma-separated. Invalid → the constructor throws. */
  pool: string;
  /** Overrides ctx.clock for the queue's backoff. */
  clock?: Clock;
  workers?: number;
}

export class ServiceLBController implements Controller {
  /** The allocator (read it for diagnostics; only this controller writes it). */
  readonly pool: IPPool;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly queue: WorkQueue;
  /** Pending Services → the last failure message reported (one event per distinct failure). */
  private readonly pending = new Map<string, string>();
  /** Pending Services that an address freeing up may help. */
  private readonly waiting = new Set<string>();
  private services!: SharedInformer;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: ServiceLBControllerOptions,
  ) {
    this.pool = new IPPool(opts.pool);
    this.client = ctx.client.as(SERVICE_LB_CONTROLLER_NAME);
    this.recorder = ctx.recorder(SERVICE_LB_CONTROLLER_NAME);
    this.queue = new WorkQueue(opts.clock ?? ctx.clock);
  }

  async start(): Promise<void> {
    this.services = this.ctx.informers.for('', 'services');
    this.services.addHandlers({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (s) => this.queue.add(keyOf(s)),
      onDelete: (s) => this.queue.add(keyOf(s)),
    });
    await this.ctx.informers.start();
    for (const c of rebuild(this.pool, this.services.list())) {
      const loser = this.services.get(c.loser);
      if (loser) this.recorder.event(loser, 'Warning', 'AllocationConflict', `IP ${c.ip} is also shown by older Service ${c.winner}, which keeps it; assigning another address`);
    }
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 1 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Keys of the Services waiting for an address. */
  pendingKeys(): string[] {
    return [...this.pending.keys()].sort();
  }

  /** Reconciles one Service's address and status. */
  async sync(key: string): Promise<void> {
    const svc = this.services.get(key);
    const d = decide(this.pool, key, svc);
    if (d.kind !== 'pending') {
      this.pending.delete(key);
      this.waiting.delete(key);
    }
    if (d.kind !== 'ignore' && d.released !== undefined) this.requeueWaiting(key);
    switch (d.kind) {
      case 'ignore':
        return;
      case 'release':
        if (svc && d.clearStatus) await this.writeStatus(svc, desiredStatus(undefined));
        if (svc && d.released !== undefined) this.recorder.event(svc, 'Normal', 'IPReleased', `Released IP ${d.released}: ${d.why}`);
        return;
      case 'assign': {
        if (!svc) return;
        const want = desiredStatus(d.ip);
        if (statusMatches(svc, want)) return;
        const shown = statusIPs(svc).includes(d.ip);
        if ((await this.writeStatus(svc, want)) && !shown) this.recorder.event(svc, 'Normal', 'IPAllocated', `Assigned IP ${d.ip} from pool ${this.pool.spec}`);
        return;
      }
      case 'pending': {
        if (!svc) return;
        if (d.retryOnRelease) this.waiting.add(key);
        else this.waiting.delete(key);
        if (!statusMatches(svc, desiredStatus(undefined))) await this.writeStatus(svc, desiredStatus(undefined));
        if (this.pending.get(key) !== d.message) {
          this.pending.set(key, d.message);
          this.recorder.event(svc, 'Warning', 'AllocationFailed', d.message);
        }
        return;
      }
    }
  }

  /** An address freed up: every waiting Service (but `except`) tries again, oldest first. */
  private requeueWaiting(except: string): void {
    const waiting = [...this.waiting]
      .filter((k) => k !== except)
      .map((k) => this.services.get(k))
      .filter((s): s is KObject => s !== undefined)
      .sort(byAge);
    for (const s of waiting) this.queue.add(keyOf(s));
  }

  /**
   * Writes `status.loadBalancer` through the status subresource. False when the Service is
   * gone (its delete event releases the address). Throws, to be retried, when the live object
   * is a re-created Service or no longer ours while we would announce an address.
   */
  private async writeStatus(svc: KObject, want: LoadBalancerStatus): Promise<boolean> {
    const { namespace, name } = splitKey(keyOf(svc));
    try {
      await this.client.mutate(
        SERVICES,
        namespace,
        name,
        (live) => {
          if (live.metadata.uid !== svc.metadata.uid) throw new Error(`Service ${namespace}/${name} was re-created; retrying`);
          if (want.ingress && !isManaged(live)) throw new Error(`Service ${namespace}/${name} changed while assigning an address; retrying`);
          const status = (live.status && typeof live.status === 'object' ? live.status : {}) as Record<string, unknown>;
          status.loadBalancer = clone(want);
          live.status = status;
          return live;
        },
        { subresource: 'status' },
      );
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      throw err;
    }
  }
}
