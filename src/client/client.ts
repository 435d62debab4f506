/**
 * The in-process client controllers write through: the same registry stores (defaulting,
 * validation, admission rules, optimistic concurrency) the HTTP API uses, without HTTP. Every
 * write carries the controller's name as field manager, as client-go's user agent would.
 *
 * Contract: errors are the API's StatusErrors (`isNotFound`, `isConflict`, `isAlreadyExists`
 * below); `update`/`updateStatus` send the object's resourceVersion as precondition, so a
 * stale write fails with 409 and the controller's queue retries with fresh state.
 */
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import type { DeleteOptions, ListOptions, ResourceStore } from '../apiserver/registry/store.js';
import { internalContext, type WriteContext } from '../apiserver/registry/strategy.js';
import { StatusError } from '../apiserver/errors.js';
import { bindPod } from '../apiserver/registry/binding.js';

/** A resource named by API group ('' for core) and plural, e.g. { group: 'apps', plural: 'deployments' }. */
export interface ResourceRef {
  group: string;
  plural: string;
}

export const PODS: ResourceRef = { group: '', plural: 'pods' };
export const NODES: ResourceRef = { group: '', plural: 'nodes' };
export const SERVICES: ResourceRef = { group: '', plural: 'services' };
export const ENDPOINTS: ResourceRef = { group: '', plural: 'endpoints' };
export const EVENTS: ResourceRef = { group: '', plural: 'events' };
export const NAMESPACES: ResourceRef = { group: '', plural: 'namespaces' };
export const ENDPOINTSLICES: ResourceRef = { group: 'discovery.k8s.io', plural: 'endpointslices' };
export const DEPLOYMENTS: ResourceRef = { group: 'apps', plural: 'deployments' };
export const REPLICASETS: ResourceRef = { group: 'apps', plural: 'replicasets' };
export const STATEFULSETS: ResourceRef = { group: 'apps', plural: 'statefulsets' };
export const CONTROLLERREVISIONS: ResourceRef = { group: 'apps', plural: 'controllerrevisions' };
export const LEASES: ResourceRef = { group: 'coordination.k8s.io', plural: 'leases' };

export function isNotFound(err: unknown): boolean {
  return err instanceof StatusError && err.code === 404;
}
export function isConflict(err: unknown): boolean {
  return err instanceof StatusError && err.code === 409 && err.reason === 'Conflict';
}
export function isAlreadyExists(err: unknown): boolean {
  return err instanceof StatusError && err.reason === 'AlreadyExists';
}

export class LocalClient {
  constructor(
    private readonly registry: Registry,
    private readonly opts: { manager: string; now?: () => Date },
  ) {}

  /** A client writing under another field manager (one per controller). */
  as(manager: string): LocalClient {
    return new LocalClient(this.registry, { ...this.opts, manager });
  }

  store(ref: ResourceRef): ResourceStore {
    return this.registry.must(ref.group, ref.plural);
  }

  private ctx(subresource?: string): WriteContext {
    const c = internalContext(this.opts.manager, this.opts.now?.() ?? new Date());
    if (subresource) c.subresource = subresource;
    return c;
  }

  get(ref: ResourceRef, ns: string | undefined, name: string): Promise<KObject> {
    return this.store(ref).get(ns || undefined, name);
  }

  async list(ref: ResourceRef, ns?: string, opts: ListOptions = {}): Promise<KObject[]> {
    return (await this.store(ref).list(ns || undefined, opts)).items;
  }

  create(ref: ResourceRef, ns: string | undefined, obj: KObject): Promise<KObject> {
    return this.store(ref).create(ns || undefined, obj, this.ctx());
  }

  /** PUT with obj.metadata.resourceVersion as precondition. */
  async update(ref: ResourceRef, obj: KObject): Promise<KObject> {
    const { object } = await this.store(ref).update(obj.metadata.namespace || undefined, obj.metadata.name ?? '', obj, this.ctx());
    return object;
  }

  /** PUT to the status subresource (only status changes are kept), resourceVersion as precondition. */
  async updateStatus(ref: ResourceRef, obj: KObject): Promise<KObject> {
    const { object } = await this.store(ref).update(obj.metadata.namespace || undefined, obj.metadata.name ?? '', obj, this.ctx('status'), { subresource: 'status' });
    return object;
  }

  /**
   * Read-modify-write retried on conflict (GuaranteedUpdate): `mutate` gets a private copy of
   * the live object and returns the desired one (or undefined for no change).
   */
  async mutate(ref: ResourceRef, ns: string | undefined, name: string, mutate: (live: KObject) => KObject | undefined, opts: { subresource?: 'status' } = {}): Promise<KObject> {
    const { object } = await this.store(ref).guaranteedUpdate(ns || undefined, name, (live) => {
      if (!live) throw new StatusError(404, 'NotFound', `${ref.plural} "${name}" not found`);
      // guaranteedUpdate hands us a private copy already.
      const next = mutate(live) ?? live;
      delete next.metadata.resourceVersion;
      return next;
    }, this.ctx(opts.subresource), { subresource: opts.subresource });
    return object;
  }

  async delete(ref: ResourceRef, ns: string | undefined, name: string, opts: DeleteOptions = {}): Promise<{ object: KObject; deleted: boolean }> {
    return this.store(ref).delete(ns || undefined, name, opts, this.ctx());
  }

  /** POST pods/binding: assigns a pending pod to a node (409 if already bound). */
  bind(ns: string, pod: string, nodeName: string): Promise<KObject> {
    return bindPod(this.store(PODS), { namespace: ns, name: pod, nodeName }, this.ctx('binding'));
  }
}
