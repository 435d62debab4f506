/**
 * The EndpointSlice controller (kube-controller-manager's endpointslice-controller): keeps, for
 * every Service with a selector, discovery.k8s.io/v1 EndpointSlices listing the pods the
 * selector matches. The sync is a thin applier: `computeSlices` (reconcile.ts) decides the
 * writes, this class gathers its inputs from shared informers and performs them.
 *
 * Cost model: a pod event enqueues only the Services whose selector matches the pod's old or
 * new labels (found through a selector index, not by scanning the namespace's Services), and
 * only when something endpoint-relevant changed (readiness, IPs, deletion, labels, hostname).
 * A sync reads only that Service's pods (through a label index) and writes only slices whose
 * content changed, so the latency of one pod turning Ready does not grow with the cluster.
 * Rapid updates of one Service are batched by the deduplicating queue.
 *
 * Contract: slices carry `kubernetes.io/service-name`, `endpointslice.kubernetes.io/managed-by:
 * endpointslice-controller.k8s.io` and a controller ownerReference to the Service, so the
 * garbage collector removes them with it; slices managed by anyone else are never touched.
 */
import type { KObject } from '../../api/types.js';
import { StatusError } from '../../apiserver/errors.js';
import { ENDPOINTSLICES, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { isPodReady } from '../owners.js';
import { CONTROLLER_NAME, LABEL_MANAGED_BY, LABEL_SERVICE_NAME, isManagedService, podIPs, selectorMatches, serviceSpec } from './endpoints.js';
import { PodLabelIndex, ServiceSelectorIndex } from './indexes.js';
import { computeSlices, DEFAULT_MAX_ENDPOINTS_PER_SLICE, type SliceChanges } from './reconcile.js';
import { SliceTracker, TriggerTimeTracker } from './tracker.js';

/** Field manager / event source name of this controller. */
export const COMPONENT = 'endpointslice-controller';
const SLICE_SERVICE_INDEX = 'endpointslice:service';

export interface EndpointSliceControllerOptions {
  /** At most this many endpoints per slice (kube default 100). */
  maxEndpointsPerSlice?: number;
  /** Concurrent sync workers (default 4; one Service is never synced by two at once). */
  workers?: number;
  /**
   * Delay before syncing a Service after someone else changed or deleted one of its slices
   * (kube's endpointSliceChangeMinSyncDelay, 1 s), so writers do not fight at full speed.
   */
  sliceChangeDelayMs?: number;
}

/** The informer's slices are older than our own writes; the sync is retried shortly. */
export class StaleSlicesError extends Error {
  constructor(key: string) {
    super(`EndpointSlice informer cache is out of date for service ${key}`);
    this.name = 'StaleSlicesError';
  }
}

function podLabels(pod: KObject): Record<string, string> {
  return pod.metadata.labels ?? {};
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  return ka.length === Object.keys(b).length && ka.every((k) => b[k] === a[k]);
}

/**
 * kube's podEndpointsChanged: (did the pod change in a way that changes its endpoint, did it
 * change in a way that changes which Services select it).
 */
function podChanges(old: KObject, cur: KObject): { podChanged: boolean; labelsChanged: boolean } {
  const os = (old.spec ?? {}) as { hostname?: string; subdomain?: string };
  const cs = (cur.spec ?? {}) as { hostname?: string; subdomain?: string };
  const labelsChanged = !sameLabels(podLabels(old), podLabels(cur)) || os.hostname !== cs.hostname || os.subdomain !== cs.subdomain;
  const phase = (p: KObject): string | undefined => (p.status as { phase?: string } | undefined)?.phase;
  const terminal = (p: KObject): boolean => phase(p) === 'Succeeded' || phase(p) === 'Failed';
  const podChanged =
    old.metadata.deletionTimestamp !== cur.metadata.deletionTimestamp ||
    isPodReady(old) !== isPodReady(cur) ||
    terminal(old) !== terminal(cur) ||
    podIPs(old).join(',') !== podIPs(cur).join(',') ||
    (old.spec as { nodeName?: string } | undefined)?.nodeName !== (cur.spec as { nodeName?: string } | undefined)?.nodeName;
  return { podChanged, labelsChanged };
}

function isNamespaceTerminating(err: unknown): boolean {
  if (!(err instanceof StatusError)) return false;
  return (err.details?.causes ?? []).some((c) => c.reason === 'NamespaceTerminating') || (err.code === 403 && /being terminated/.test(err.message));
}

export class EndpointSliceController implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly podIndex = new PodLabelIndex();
  private readonly serviceIndex = new ServiceSelectorIndex();
  private readonly tracker = new SliceTracker();
  private readonly triggers = new TriggerTimeTracker();
  /** Services with writes in flight → slice events that arrived meanwhile (see checkSlice). */
  private readonly parked = new Map<string, KObject[]>();
  private services!: SharedInformer;
  private pods!: SharedInformer;
  private slices!: SharedInformer;
  private nodes!: SharedInformer;
  private running?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: EndpointSliceControllerOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.client = ctx.client.as(COMPONENT);
    this.recorder = ctx.recorder(COMPONENT);
  }

  async start(): Promise<void> {
    const inf = this.ctx.informers;
    this.services = inf.for('', 'services');
    this.pods = inf.for('', 'pods');
    this.slices = inf.for('discovery.k8s.io', 'endpointslices');
    this.nodes = inf.for('', 'nodes');
    this.slices.addIndexer(SLICE_SERVICE_INDEX, (s) => {
      const svc = s.metadata.labels?.[LABEL_SERVICE_NAME];
      return svc ? [`${s.metadata.namespace ?? ''}/${svc}`] : [];
    });

    this.services.addHandlers({
      onAdd: (s) => this.onService(s),
      onUpdate: (s) => this.onService(s),
      onDelete: (s) => {
        this.serviceIndex.delete(keyOf(s));
        this.queue.add(keyOf(s));
      },
    });
    this.pods.addHandlers({
      onAdd: (p) => this.onPodAdd(p),
      onUpdate: (p, old) => this.onPodUpdate(p, old),
      onDelete: (p) => {
        this.podIndex.delete(keyOf(p));
        this.enqueueServicesFor(p.metadata.namespace ?? '', podLabels(p));
      },
    });
    this.slices.addHandlers({
      onAdd: (s) => {
        if (this.managed(s)) this.checkSlice(s);
      },
      onUpdate: (s, old) => this.onSliceUpdate(s, old),
      onDelete: (s) => {
        if (this.managed(s) && !this.tracker.handleDeletion(this.serviceKeyOf(s), s)) this.enqueueForSlice(s);
      },
    });
    await inf.start();
    this.running = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 4 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }

  /** Brings one Service's slices (key `namespace/name`) in line with its pods. */
  async sync(key: string): Promise<void> {
    const svc = this.services.get(key);
    if (!svc) {
      // Deleted: its slices go with it through their ownerReferences (garbage collector).
      this.tracker.deleteService(key);
      this.triggers.deleteService(key);
      return;
    }
    const existing = this.slices
      .byIndex(SLICE_SERVICE_INDEX, key)
      .filter((s) => s.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME && !s.metadata.deletionTimestamp);
    if (this.tracker.stale(key, existing)) throw new StaleSlicesError(key);

    let pods: KObject[] = [];
    let triggerTime: string | undefined;
    if (isManagedService(svc)) {
      pods = this.podsFor(svc);
      triggerTime = this.triggers.compute(key, svc, pods);
    } else {
      this.triggers.deleteService(key);
    }
    const changes = computeSlices(svc, pods, existing, {
      maxEndpointsPerSlice: this.opts.maxEndpointsPerSlice ?? DEFAULT_MAX_ENDPOINTS_PER_SLICE,
      nodes: (name) => this.nodes.get(name),
      triggerTime,
    });
    try {
      await this.apply(key, svc, changes);
    } catch (err) {
      const { namespace, name } = splitKey(key);
      this.recorder.event(svc, 'Warning', 'FailedToUpdateEndpointSlices', `Error updating Endpoint Slices for Service ${namespace}/${name}: ${(err as Error).message}`);
      throw err;
    }
    if (changes.skippedPods.length) {
      // kube leaves out pods whose Node is unknown and retries the Service later.
      throw new Error(`skipped pods of service ${key} whose node was not found: ${changes.skippedPods.join(', ')}`);
    }
  }

  /** The pods a Service selects, read through the label index (only that Service's pods). */
  private podsFor(svc: KObject): KObject[] {
    const ns = svc.metadata.namespace ?? '';
    const selector = serviceSpec(svc).selector ?? {};
    const candidates = this.podIndex.candidates(ns, selector);
    if (!candidates) return this.pods.list(ns);
    const out: KObject[] = [];
    for (const k of candidates) {
      const p = this.pods.get(k);
      if (p && selectorMatches(selector, p.metadata.labels)) out.push(p);
    }
    return out;
  }

  private async apply(key: string, svc: KObject, changes: SliceChanges): Promise<void> {
    if (!changes.create.length && !changes.update.length && !changes.delete.length) return;
    this.parked.set(key, []);
    try {
      await this.write(key, svc, changes);
    } finally {
      const parked = this.parked.get(key) ?? [];
      this.parked.delete(key);
      for (const s of parked) this.checkSlice(s);
    }
  }

  private async write(key: string, svc: KObject, changes: SliceChanges): Promise<void> {
    const ns = svc.metadata.namespace ?? '';
    const writes = await Promise.allSettled([
      ...changes.create.map(async (s) => {
        try {
          this.tracker.update(key, await this.client.create(ENDPOINTSLICES, ns, s));
        } catch (err) {
          if (!isNamespaceTerminating(err)) throw err;
        }
      }),
      ...changes.update.map(async (s) => this.tracker.update(key, await this.client.update(ENDPOINTSLICES, s))),
    ]);
    const deletes = await Promise.allSettled(
      changes.delete.map(async (s) => {
        // Expect the deletion before the informer can report it, so it is not taken for a foreign one.
        this.tracker.expectDeletion(key, s);
        try {
          await this.client.delete(ENDPOINTSLICES, ns, s.metadata.name ?? '', {});
        } catch (err) {
          if (isNotFound(err)) return;
          this.tracker.update(key, s);
          throw err;
        }
      }),
    );
    const failed = [...writes, ...deletes].find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  }

  private onService(svc: KObject): void {
    const key = keyOf(svc);
    this.serviceIndex.set(key, svc.metadata.namespace ?? '', isManagedService(svc) ? serviceSpec(svc).selector : null);
    this.queue.add(key);
  }

  private onPodAdd(pod: KObject): void {
    const ns = pod.metadata.namespace ?? '';
    this.podIndex.set(keyOf(pod), ns, pod.metadata.labels);
    this.enqueueServicesFor(ns, podLabels(pod));
  }

  private onPodUpdate(pod: KObject, old: KObject): void {
    if (pod.metadata.resourceVersion === old.metadata.resourceVersion) return; // resync: Services resync themselves
    const ns = pod.metadata.namespace ?? '';
    this.podIndex.set(keyOf(pod), ns, pod.metadata.labels);
    const { podChanged, labelsChanged } = podChanges(old, pod);
    if (!podChanged && !labelsChanged) return;
    const now = this.serviceIndex.matching(ns, podLabels(pod));
    if (!labelsChanged) {
      for (const k of now) this.queue.add(k);
      return;
    }
    const before = this.serviceIndex.matching(ns, podLabels(old));
    // Labels changed: every Service gained or lost matters; common ones only if the endpoint changed.
    for (const k of now) if (podChanged || !before.has(k)) this.queue.add(k);
    for (const k of before) if (podChanged || !now.has(k)) this.queue.add(k);
  }

  private enqueueServicesFor(ns: string, labels: Record<string, string>): void {
    for (const k of this.serviceIndex.matching(ns, labels)) this.queue.add(k);
  }

  private onSliceUpdate(s: KObject, old: KObject): void {
    const svcName = s.metadata.labels?.[LABEL_SERVICE_NAME];
    const oldName = old.metadata.labels?.[LABEL_SERVICE_NAME];
    if (svcName !== oldName) {
      this.enqueueForSlice(s);
      this.enqueueForSlice(old);
      return;
    }
    if (this.managed(s) !== this.managed(old)) this.enqueueForSlice(s);
    else if (this.managed(s)) this.checkSlice(s);
  }

  /**
   * Syncs the Service of a managed slice unless the event is the echo of our own write. The
   * watch may deliver that echo before our write call returns (and before the tracker knows
   * the new resourceVersion), so events arriving while writes for the Service are in flight are
   * parked and judged once the writes are done.
   */
  private checkSlice(s: KObject): void {
    const key = this.serviceKeyOf(s);
    const parked = this.parked.get(key);
    if (parked) parked.push(s);
    else if (this.tracker.shouldSync(key, s)) this.enqueueForSlice(s);
  }

  private managed(slice: KObject): boolean {
    return slice.metadata.labels?.[LABEL_MANAGED_BY] === CONTROLLER_NAME;
  }

  private serviceKeyOf(slice: KObject): string {
    return `${slice.metadata.namespace ?? ''}/${slice.metadata.labels?.[LABEL_SERVICE_NAME] ?? ''}`;
  }

  private enqueueForSlice(slice: KObject): void {
    if (!slice.metadata.labels?.[LABEL_SERVICE_NAME]) return;
    this.queue.addAfter(this.serviceKeyOf(slice), this.opts.sliceChangeDelayMs ?? 1000);
  }
}
