/**
 * The EndpointSlice mirroring controller (kube's pkg/controller/endpointslicemirroring): for a
 * Service without a selector whose users write the Endpoints themselves, keeps EndpointSlices
 * mirroring that Endpoints (see mirror.ts), and deletes the mirrored slices when the Endpoints
 * goes, stops qualifying (skip-mirror label) or the Service goes or gains a selector.
 * `default/kubernetes` is never touched: the API server writes its slice itself.
 *
 * Work is keyed by `namespace/name` of the Endpoints (= the Service). After writing, the
 * controller remembers the slice versions it expects and treats an informer cache that has
 * not caught up yet as a retryable error, so a quick second sync never creates duplicates.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { ENDPOINTSLICES, isNotFound } from '../../client/client.js';
import type { LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MIRRORING_CONTROLLER_NAME, MAX_ENDPOINTS_PER_SUBSET, mirrorEndpoints, planMirroredSlices, shouldMirror } from './mirror.js';

export const MIRRORING_COMPONENT = 'endpoint-slice-mirroring-controller';
const API_SERVER_KEY = 'default/kubernetes';
const MIRRORED_INDEX = 'endpointslicemirroring.service';

export interface EndpointSliceMirroringOptions {
  /** Addresses mirrored per Endpoints subset, and endpoints per slice (default 1000). */
  maxEndpointsPerSubset?: number;
  workers?: number;
}

/** Slices written but maybe not yet in the cache: name → resourceVersion, or null for deleted. */
type Expectations = Map<string, number | null>;

const selectorOf = (svc: KObject): unknown => (svc.spec as { selector?: unknown } | undefined)?.selector ?? null;

function mirroredIndex(slice: KObject): string[] {
  const labels = slice.metadata.labels ?? {};
  if (labels[LABEL_MANAGED_BY] !== MIRRORING_CONTROLLER_NAME || !labels[LABEL_SERVICE_NAME]) return [];
  return [`${slice.metadata.namespace ?? ''}/${labels[LABEL_SERVICE_NAME]}`];
}

export class StaleCacheError extends Error {}

export class EndpointSliceMirroringController implements Controller {
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly queue: WorkQueue;
  private readonly expected = new Map<string, Expectations>();
  private endpoints!: SharedInformer;
  private slices!: SharedInformer;
  private services!: SharedInformer;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: EndpointSliceMirroringOptions = {},
  ) {
    this.client = ctx.client.as(MIRRORING_COMPONENT);
    this.recorder = ctx.recorder(MIRRORING_COMPONENT);
    this.queue = new WorkQueue(ctx.clock, { baseDelayMs: 5, maxDelayMs: 100_000 });
  }

  async start(): Promise<void> {
    this.endpoints = this.ctx.informers.for('', 'endpoints');
    this.slices = this.ctx.informers.for('discovery.k8s.io', 'endpointslices');
    this.services = this.ctx.informers.for('', 'services');
    this.slices.addIndexer(MIRRORED_INDEX, mirroredIndex);
    const add = (key: string): void => {
      if (key !== API_SERVER_KEY) this.queue.add(key);
    };
    this.endpoints.addHandlers({
      onAdd: (e) => shouldMirror(e) && add(keyOf(e)),
      onUpdate: (e, old) => (shouldMirror(e) || shouldMirror(old)) && add(keyOf(e)),
      onDelete: (e) => add(keyOf(e)),
    });
    this.services.addHandlers({
      onAdd: (s) => selectorOf(s) === null && add(keyOf(s)),
      onUpdate: (s, old) => (selectorOf(s) === null) !== (selectorOf(old) === null) && add(keyOf(s)),
      onDelete: (s) => add(keyOf(s)),
    });
    const onSlice = (s: KObject): void => {
      for (const k of mirroredIndex(s)) add(k);
    };
    this.slices.addHandlers({
      onAdd: onSlice,
      onUpdate: (s, old) => {
        if (s.metadata.resourceVersion === old.metadata.resourceVersion) return;
        onSlice(s);
        onSlice(old);
      },
      onDelete: onSlice,
    });
    await this.ctx.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 5 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Reconciles the mirrored slices of one Endpoints key. */
  async sync(key: string): Promise<void> {
    if (key === API_SERVER_KEY) return;
    this.checkFresh(key);
    const ep = this.endpoints.get(key);
    const svc = this.services.get(key);
    const existing = this.slices.byIndex(MIRRORED_INDEX, key);
    if (!ep || !shouldMirror(ep) || !svc || selectorOf(svc) !== null) {
      await this.deleteSlices(key, existing);
      return;
    }
    const { slices, invalid, skipped } = mirrorEndpoints(ep, { maxEndpointsPerSubset: this.opts.maxEndpointsPerSubset ?? MAX_ENDPOINTS_PER_SUBSET });
    const plan = planMirroredSlices(slices, existing);
    if (!plan.create.length && !plan.update.length && !plan.delete.length) return;
    if (invalid > 0) this.recorder.event(ep, 'Warning', 'InvalidIPAddress', `Skipped ${invalid} invalid IP addresses when mirroring to EndpointSlices`);
    if (skipped > invalid) {
      const max = this.opts.maxEndpointsPerSubset ?? MAX_ENDPOINTS_PER_SUBSET;
      this.recorder.event(ep, 'Warning', 'TooManyAddressesToMirror', `A max of ${max} addresses can be mirrored to EndpointSlices per Endpoints subset. ${skipped} addresses were skipped`);
    }
    const { namespace } = splitKey(key);
    if (!ep.metadata.deletionTimestamp) {
      for (const s of plan.create) this.expect(key, s.metadata.name, await this.client.create(ENDPOINTSLICES, namespace, clone(s)));
    }
    for (const s of plan.update) this.expect(key, s.metadata.name, await this.client.update(ENDPOINTSLICES, clone(s)));
    await this.deleteSlices(key, plan.delete);
  }

  private async deleteSlices(key: string, slices: readonly KObject[]): Promise<void> {
    const { namespace } = splitKey(key);
    for (const s of slices) {
      try {
        await this.client.delete(ENDPOINTSLICES, namespace, s.metadata.name ?? '', { preconditions: { uid: s.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.expect(key, s.metadata.name, undefined);
    }
  }

  private expect(key: string, name: string | undefined, written: KObject | undefined): void {
    const n = written?.metadata.name ?? name;
    if (!n) return;
    let e = this.expected.get(key);
    if (!e) this.expected.set(key, (e = new Map()));
    e.set(n, written ? Number(written.metadata.resourceVersion) : null);
  }

  /** Throws (to retry shortly) while the slice cache lags behind this controller's own writes. */
  private checkFresh(key: string): void {
    const e = this.expected.get(key);
    if (!e) return;
    const { namespace } = splitKey(key);
    for (const [name, rv] of e) {
      const cached = this.slices.getBy(namespace, name);
      if (rv === null ? cached !== undefined : !cached || Number(cached.metadata.resourceVersion) < rv) {
        throw new StaleCacheError(`EndpointSlice informer cache is out of date for ${key}`);
      }
    }
    this.expected.delete(key);
  }
}
