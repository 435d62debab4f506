/**
 * The ingress controller: watches IngressClasses, Ingresses, Services, EndpointSlices and
 * Secrets, recomputes the whole routing table on any change and hands it to the data plane;
 * reports conflicts and table warnings as events on the Ingresses concerned, and publishes the
 * data-plane Service's address in every served Ingress's `status.loadBalancer`.
 *
 * One work item ("table") for everything: the table is a function of all objects together (rules
 * merge across Ingresses, conflicts depend on age), so per-object keys would buy nothing. Changes
 * are debounced (`debounceMs`, default 100 ms: the queue's `addAfter` keeps the first timer, so a
 * burst of changes costs one recompute) and a change during a sync runs one more sync after it.
 * A failed sync (data plane refused the table, status write failed) is retried by the queue with
 * backoff; sync itself never retries.
 *
 * Events, as ingress-nginx: Normal `Sync` "Scheduled for sync" when an Ingress is first served and
 * when its spec changes (generation); Warning `Conflict` on the younger Ingress of a host/path
 * conflict, once per distinct conflict; table warnings as Warning events, once each while they
 * persist. Only Ingresses that are ours get events or status.
 */
import type { KObject } from '../api/types.js';
import { clone } from '../api/types.js';
import { isNotFound, type LocalClient, type ResourceRef } from '../client/client.js';
import type { EventRecorder } from '../client/events.js';
import { keyOf, type SharedInformer } from '../client/shared-informer.js';
import { WorkQueue, runWorkers, type Clock } from '../client/workqueue.js';
import type { Controller, ControllerContext } from '../controllers/context.js';
import { computeRoutingTable, servedIngresses } from './routes/index.js';
import { INGRESS_SERVICE_NAME, INGRESS_SERVICE_NAMESPACE } from './service.js';
import { decideIngressStatus, ingressStatusFromService, ingressesInTable, newEvents, tableEvents, type IngressLBIngress, type PlannedEvent } from './status.js';
import { INGRESS_CONTROLLER, type IngressRef, type RoutingTable } from './types.js';

/** The signature of routes/ `computeRoutingTable`. */
export type ComputeRoutingTable = typeof computeRoutingTable;

export const INGRESS_CONTROLLER_NAME = 'ingress-kubelite-controller';
export const INGRESSES: ResourceRef = { group: 'networking.k8s.io', plural: 'ingresses' };
const TABLE_KEY = 'table';

/** What a data plane offers the controller (built-in proxy, nginx). */
export interface IngressDataPlane {
  update(table: RoutingTable): Promise<void>;
  close(): Promise<void>;
}

export interface IngressControllerOptions {
  dataPlane: IngressDataPlane;
  /** The routing computation (tests inject one); default routes/ `computeRoutingTable`. */
  compute?: ComputeRoutingTable;
  /** Our IngressClass controller name (default INGRESS_CONTROLLER). */
  controllerName?: string;
  /** Delay between a change and the recompute it causes (default 100 ms). */
  debounceMs?: number;
  /** The Service whose LB status the Ingresses show (default kube-system/ingress-kubelite). */
  publishService?: { namespace: string; name: string };
  clock?: Clock;
  log?: (line: string) => void;
}

export class IngressController implements Controller {
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly compute: ComputeRoutingTable;
  private readonly controllerName: string;
  private readonly debounceMs: number;
  private readonly publish: { namespace: string; name: string };
  private informers!: { classes: SharedInformer; ingresses: SharedInformer; services: SharedInformer; slices: SharedInformer; secrets: SharedInformer };
  private workers?: Promise<void>;
  /** Dedup keys of the Warning events already reported (and still current). */
  private reportedWarnings = new Set<string>();
  /** `uid/generation` of the Ingresses we reported `Sync` for. */
  private syncedGenerations = new Set<string>();
  /** uids of the Ingresses whose status we set (to clear it when they stop being ours). */
  private readonly statusWritten = new Set<string>();
  /** The last table the data plane accepted. */
  lastTable?: RoutingTable;
  /** Completed syncs (tests wait on it). */
  syncs = 0;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: IngressControllerOptions,
  ) {
    this.client = ctx.client.as(INGRESS_CONTROLLER_NAME);
    this.recorder = ctx.recorder(INGRESS_CONTROLLER_NAME);
    this.queue = new WorkQueue(opts.clock ?? ctx.clock);
    this.compute = opts.compute ?? computeRoutingTable;
    this.controllerName = opts.controllerName ?? INGRESS_CONTROLLER;
    this.debounceMs = opts.debounceMs ?? 100;
    this.publish = opts.publishService ?? { namespace: INGRESS_SERVICE_NAMESPACE, name: INGRESS_SERVICE_NAME };
  }

  async start(): Promise<void> {
    const f = this.ctx.informers;
    this.informers = {
      classes: f.for('networking.k8s.io', 'ingressclasses'),
      ingresses: f.for('networking.k8s.io', 'ingresses'),
      services: f.for('', 'services'),
      slices: f.for('discovery.k8s.io', 'endpointslices'),
      secrets: f.for('', 'secrets'),
    };
    const poke = (): void => this.queue.addAfter(TABLE_KEY, this.debounceMs);
    for (const [name, inf] of Object.entries(this.informers)) {
      inf.addHandlers({
        onAdd: poke,
        onUpdate: (obj, old) => {
          // Resyncs (same object) change nothing. An Ingress's status change is followed too (someone
          // else may have overwritten our address); after our own writes that costs one no-op sync.
          if (obj === old || obj.metadata.resourceVersion === old.metadata.resourceVersion) return;
          if (name === 'ingresses' && !routingChanged(obj, old)) return;
          poke();
        },
        onDelete: poke,
      });
    }
    await f.start();
    this.queue.add(TABLE_KEY);
    this.workers = runWorkers(this.queue, (k) => this.sync(k), {
      onError: (_k, err) => this.opts.log?.(`ingress: sync failed (retrying): ${(err as Error).message}`),
    });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Recomputes the table, gives it to the data plane, then reports events and writes statuses. */
  async sync(_key: string = TABLE_KEY): Promise<void> {
    const inf = this.informers;
    const table = this.compute(
      {
        ingressClasses: inf.classes.list(),
        ingresses: inf.ingresses.list(),
        services: inf.services.list(),
        endpointSlices: inf.slices.list(),
        secrets: inf.secrets.list(),
      },
      { controller: this.controllerName },
    );
    await this.opts.dataPlane.update(table);
    this.lastTable = table;
    const served = this.servedIngresses(table);
    this.reportEvents(table, served);
    await this.writeStatuses(served);
    this.syncs++;
  }

  /**
   * The Ingresses we serve, by uid: those routes/ selects by class (the same rule the table was
   * computed with, so an Ingress whose rules all lost conflicts, or a canary, still counts), plus
   * any the table mentions.
   */
  servedIngresses(table: RoutingTable): Map<string, KObject> {
    const out = new Map<string, KObject>();
    for (const ing of servedIngresses(this.informers.classes.list(), this.informers.ingresses.list(), this.controllerName)) {
      out.set(ing.metadata.uid ?? keyOf(ing), ing);
    }
    for (const ref of ingressesInTable(table).values()) {
      const ing = this.liveIngress(ref);
      if (ing) out.set(ref.uid, ing);
    }
    return out;
  }

  private liveIngress(ref: IngressRef): KObject | undefined {
    const ing = this.informers.ingresses.getBy(ref.namespace, ref.name);
    return ing && ing.metadata.uid === ref.uid ? ing : undefined;
  }

  private reportEvents(table: RoutingTable, served: Map<string, KObject>): void {
    const planned: PlannedEvent[] = tableEvents(table).filter((e) => served.has(e.ingress.uid));
    const { emit, keep } = newEvents(planned, this.reportedWarnings);
    this.reportedWarnings = keep;
    for (const e of emit) {
      const ing = served.get(e.ingress.uid);
      if (ing) this.recorder.event(ing, e.type, e.reason, e.message);
    }
    const generations = new Set<string>();
    for (const [uid, ing] of served) {
      const key = `${uid}/${ing.metadata.generation ?? 0}`;
      generations.add(key);
      if (!this.syncedGenerations.has(key)) this.recorder.event(ing, 'Normal', 'Sync', 'Scheduled for sync');
    }
    this.syncedGenerations = generations;
  }

  /** Publishes the data-plane Service's address on served Ingresses, clears it on the others. */
  private async writeStatuses(served: Map<string, KObject>): Promise<void> {
    const svc = this.informers.services.getBy(this.publish.namespace, this.publish.name);
    const published = ingressStatusFromService(svc);
    const failures: string[] = [];
    for (const ing of this.informers.ingresses.list()) {
      const uid = ing.metadata.uid ?? '';
      const isServed = served.has(uid);
      const want = decideIngressStatus(ing, { served: isServed, published, wroteBefore: this.statusWritten.has(uid) });
      if (!isServed && want === undefined) this.statusWritten.delete(uid);
      if (want === undefined) continue;
      try {
        await this.writeStatus(ing, want);
        if (isServed) this.statusWritten.add(uid);
        else this.statusWritten.delete(uid);
      } catch (err) {
        failures.push(`${keyOf(ing)}: ${(err as Error).message}`);
      }
    }
    const live = new Set(this.informers.ingresses.list().map((i) => i.metadata.uid));
    for (const uid of [...this.statusWritten]) if (!live.has(uid)) this.statusWritten.delete(uid);
    if (failures.length) throw new Error(`could not update Ingress status: ${failures.join('; ')}`);
  }

  private async writeStatus(ing: KObject, want: IngressLBIngress[]): Promise<void> {
    const ns = ing.metadata.namespace ?? '';
    const name = ing.metadata.name ?? '';
    try {
      await this.client.mutate(
        INGRESSES,
        ns,
        name,
        (live) => {
          if (live.metadata.uid !== ing.metadata.uid) return undefined;
          const status = (live.status && typeof live.status === 'object' ? live.status : {}) as Record<string, unknown>;
          status.loadBalancer = want.length ? { ingress: clone(want) } : {};
          live.status = status;
          return live;
        },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** An Ingress update that matters: spec (generation), annotations, labels, deletion, status. */
function routingChanged(obj: KObject, old: KObject): boolean {
  const m = obj.metadata;
  const o = old.metadata;
  return (
    JSON.stringify(obj.status ?? {}) !== JSON.stringify(old.status ?? {}) ||
    m.generation !== o.generation ||
    m.uid !== o.uid ||
    Boolean(m.deletionTimestamp) !== Boolean(o.deletionTimestamp) ||
    JSON.stringify(m.annotations ?? {}) !== JSON.stringify(o.annotations ?? {}) ||
    JSON.stringify(m.labels ?? {}) !== JSON.stringify(o.labels ?? {})
  );
}
