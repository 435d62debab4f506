/**
 * The legacy Endpoints controller (kube's pkg/controller/endpoint): for every Service with a
 * selector it keeps an Endpoints object of the same name listing the matching pods' addresses
 * (see compute.ts for the exact rules). Services without a selector are left to their users,
 * ExternalName Services get nothing, and `default/kubernetes` belongs to the API server.
 *
 * Work is keyed by Service (`namespace/name`). Pod events enqueue only the Services whose
 * selector matches the pod's old or new labels, found through an index of each Service's
 * selector by one of its `key=value` pairs, so a pod change costs a few map lookups even with
 * thousands of Services.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { ENDPOINTS, isConflict, isNotFound } from '../../client/client.js';
import type { LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { isPodReady } from '../owners.js';
import { LEADER_ELECTION_ANNOTATION, desiredEndpoints, selectorMatches, serviceSpec, MAX_ENDPOINT_ADDRESSES } from './compute.js';
import { TriggerTimeTracker, formatTriggerTime } from './trigger-time.js';

export const ENDPOINTS_CONTROLLER_NAME = 'endpoint-controller';
/** The Endpoints the API server itself maintains. */
export const API_SERVER_ENDPOINTS_KEY = 'default/kubernetes';
const SELECTOR_INDEX = 'endpoint-controller.selector';
const ALL = '*';

export interface EndpointsControllerOptions {
  /** Addresses kept per Endpoints before truncating (default 1000). */
  maxAddresses?: number;
  workers?: number;
  /**
   * kube's --endpoint-updates-batch-period: pod changes reach a Service's Endpoints at most
   * once per period, so a burst of pod updates costs one recomputation of a large Endpoints
   * instead of one each. kube defaults it to 0; we default to 50 ms because every controller
   * shares one event loop here, and the EndpointSlices (what the proxy reads) are not batched.
   */
  podBatchPeriodMs?: number;
}

/** Index values of a selector Service: `ns\0key=value` for its smallest key, `ns\0*` for `{}`. */
function selectorIndex(svc: KObject): string[] {
  const sel = serviceSpec(svc).selector;
  if (sel == null) return [];
  const ns = svc.metadata.namespace ?? '';
  const keys = Object.keys(sel).sort();
  return [keys.length ? `${ns}\u0000${keys[0]}=${sel[keys[0]]}` : `${ns}\u0000${ALL}`];
}

interface PodView {
  spec?: { hostname?: string; subdomain?: string };
  status?: { phase?: string; podIPs?: { ip: string }[]; podIP?: string };
}

function sameLabels(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  return ka.length === Object.keys(b ?? {}).length && ka.every((k) => a?.[k] === b?.[k]);
}

/**
 * kube's podEndpointsChanged: [whether the pod's address may have changed, whether the
 * Services it belongs to may have changed (labels, hostname, subdomain)].
 */
export function podEndpointsChanged(old: KObject, cur: KObject): [boolean, boolean] {
  const o = old as PodView;
  const n = cur as PodView;
  const labelsChanged = !sameLabels(old.metadata.labels, cur.metadata.labels) || o.spec?.hostname !== n.spec?.hostname || o.spec?.subdomain !== n.spec?.subdomain;
  if (old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp) return [true, labelsChanged];
  if (isPodReady(old) !== isPodReady(cur)) return [true, labelsChanged];
  const terminal = (p: PodView): boolean => p.status?.phase === 'Succeeded' || p.status?.phase === 'Failed';
  if (terminal(o) !== terminal(n)) return [true, labelsChanged];
  const ips = (p: PodView): string => (p.status?.podIPs?.map((x) => x.ip) ?? [p.status?.podIP ?? '']).join(',');
  if (ips(o) !== ips(n)) return [true, labelsChanged];
  return [false, labelsChanged];
}

export class EndpointsController implements Controller {
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly triggers = new TriggerTimeTracker();
  /** Services deleted while they had a selector: their Endpoints are ours to delete. */
  private readonly deletedWithSelector = new Set<string>();
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private endpoints!: SharedInformer;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: EndpointsControllerOptions = {},
  ) {
    this.client = ctx.client.as(ENDPOINTS_CONTROLLER_NAME);
    this.recorder = ctx.recorder(ENDPOINTS_CONTROLLER_NAME);
    this.queue = new WorkQueue(ctx.clock);
  }

  async start(): Promise<void> {
    this.services = this.ctx.informers.for('', 'services');
    this.pods = this.ctx.informers.for('', 'pods');
    this.endpoints = this.ctx.informers.for('', 'endpoints');
    this.services.addIndexer(SELECTOR_INDEX, selectorIndex);
    this.services.addHandlers({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (s) => this.queue.add(keyOf(s)),
      onDelete: (s) => {
        if (serviceSpec(s).selector != null) this.deletedWithSelector.add(keyOf(s));
        this.queue.add(keyOf(s));
      },
    });
    this.pods.addHandlers({
      onAdd: (p) => this.enqueueFor(p.metadata.namespace ?? '', p.metadata.labels),
      onUpdate: (p, old) => this.onPodUpdate(p, old),
      onDelete: (p) => this.enqueueFor(p.metadata.namespace ?? '', p.metadata.labels),
    });
    this.endpoints.addHandlers({ onDelete: (e) => this.queue.add(keyOf(e)) });
    await this.ctx.informers.start();
    // kube's checkLeftoverEndpoints: Endpoints whose Service vanished while we were down.
    for (const ep of this.endpoints.list()) if (!this.services.get(keyOf(ep))) this.queue.add(keyOf(ep));
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 5 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Keys of the selector Services in `namespace` that match `labels`. */
  servicesFor(namespace: string, labels: Record<string, string> | undefined): Set<string> {
    const out = new Set<string>();
    const consider = (svcs: KObject[]): void => {
      for (const s of svcs) {
        const sel = serviceSpec(s).selector;
        if (sel != null && selectorMatches(sel, labels)) out.add(keyOf(s));
      }
    };
    consider(this.services.byIndex(SELECTOR_INDEX, `${namespace}\u0000${ALL}`));
    for (const [k, v] of Object.entries(labels ?? {})) consider(this.services.byIndex(SELECTOR_INDEX, `${namespace}\u0000${k}=${v}`));
    return out;
  }

  private enqueueFor(namespace: string, labels: Record<string, string> | undefined): void {
    for (const key of this.servicesFor(namespace, labels)) this.enqueuePod(key);
  }

  /** A pod-triggered sync, batched by podBatchPeriodMs. */
  private enqueuePod(key: string): void {
    this.queue.addAfter(key, this.opts.podBatchPeriodMs ?? 50);
  }

  private onPodUpdate(cur: KObject, old: KObject): void {
    if (cur.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const [podChanged, labelsChanged] = podEndpointsChanged(old, cur);
    if (!podChanged && !labelsChanged) return;
    const ns = cur.metadata.namespace ?? '';
    const now = this.servicesFor(ns, cur.metadata.labels);
    if (labelsChanged) {
      const before = this.servicesFor(ns, old.metadata.labels);
      // Labels (and maybe more) changed: every Service the pod entered or left; with a pod
      // change also those it stayed in (kube's determineNeededServiceUpdates).
      for (const k of before) if (podChanged || !now.has(k)) this.enqueuePod(k);
      for (const k of now) if (podChanged || !before.has(k)) this.enqueuePod(k);
      return;
    }
    for (const k of now) this.enqueuePod(k);
  }

  /** Reconciles the Endpoints of one Service key. */
  async sync(key: string): Promise<void> {
    if (key === API_SERVER_ENDPOINTS_KEY) return;
    const { namespace, name } = splitKey(key);
    const svc = this.services.get(key);
    if (!svc) return this.deleteOrphan(key);
    this.deletedWithSelector.delete(key);
    const spec = serviceSpec(svc);
    if (spec.type === 'ExternalName' || spec.selector == null) return;
    const selector = spec.selector;
    const pods = this.pods.selectByLabels(namespace, selector);
    const trigger = this.triggers.compute(key, svc, pods);
    const current = this.endpoints.get(key);
    const next = desiredEndpoints(svc, pods, current, {
      maxAddresses: this.opts.maxAddresses ?? MAX_ENDPOINT_ADDRESSES,
      triggerTime: trigger === undefined ? undefined : formatTriggerTime(trigger),
    });
    if (!next) return;
    try {
      if (current) await this.client.update(ENDPOINTS, clone(next));
      else await this.client.create(ENDPOINTS, namespace, clone(next));
    } catch (err) {
      const msg = (err as Error).message;
      if (current) this.recorder.event(next, 'Warning', 'FailedToUpdateEndpoint', `Failed to update endpoint ${namespace}/${name}: ${msg}`);
      else this.recorder.event(next, 'Warning', 'FailedToCreateEndpoint', `Failed to create endpoint for service ${namespace}/${name}: ${msg}`);
      throw err;
    }
  }

  /**
   * The Service is gone: delete its Endpoints if this controller managed them (the Service had
   * a selector when deleted, or we wrote the object), never hand-made ones or leader locks.
   */
  private async deleteOrphan(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    this.triggers.delete(key);
    const ep = this.endpoints.get(key);
    const ours = this.deletedWithSelector.has(key) || (ep?.metadata.managedFields ?? []).some((m) => m.manager === ENDPOINTS_CONTROLLER_NAME);
    if (!ours || (ep && LEADER_ELECTION_ANNOTATION in (ep.metadata.annotations ?? {}))) return;
    try {
      await this.client.delete(ENDPOINTS, namespace, name, ep?.metadata.uid ? { preconditions: { uid: ep.metadata.uid } } : {});
    } catch (err) {
      // Conflict: the uid precondition failed, a new (not ours) object took the name.
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
    this.deletedWithSelector.delete(key);
  }
}
