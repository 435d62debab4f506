/**
 * Change tracking for partial syncs, after kube-proxy's ServiceChangeTracker and
 * EndpointsChangeTracker: an event only marks a Service as pending when what the proxy derives
 * from the object changed, so resourceVersion/managedFields bumps and unrelated status writes
 * cost nothing. ProxyStateCache holds the current objects and recomputes only pending Services.
 */
import { jsonEqual, type KObject } from '../api/types.js';
import { planServiceObject, serviceKeyOf, servicePorts } from './compute.js';
import type { ProxyNode, ProxyState, ServicePlan } from './types.js';

const objKey = (o: KObject): string => `${o.metadata.namespace ?? ''}/${o.metadata.name ?? ''}`;

/** The service names a tracker has marked since the last flush. */
abstract class PendingSet {
  protected readonly dirty = new Set<string>();

  pending(): Set<string> {
    return new Set(this.dirty);
  }

  /** Returns the pending set and clears it (call after a sync used it). */
  flush(): Set<string> {
    const out = this.pending();
    this.dirty.clear();
    return out;
  }
}

/** Records Service add/update/delete (pass undefined for the missing side); marks a service only if its ports info changed. */
export class ServiceChangeTracker extends PendingSet {

  /** Returns true when the change marked the service pending. */
  update(prev: KObject | undefined, cur: KObject | undefined): boolean {
    const obj = cur ?? prev;
    if (!obj) return false;
    if (jsonEqual(prev ? servicePorts(prev) : [], cur ? servicePorts(cur) : [])) return false;
    this.dirty.add(objKey(obj));
    return true;
  }

}

/** What the proxy reads from a slice: everything else (metadata churn) is ignored. */
function sliceEssence(s: KObject): unknown {
  const endpoints = Array.isArray(s.endpoints)
    ? s.endpoints.map((e: Record<string, unknown>) => ({
        addresses: e.addresses, conditions: e.conditions, nodeName: e.nodeName, zone: e.zone,
      }))
    : [];
  return { svc: serviceKeyOf(s), addressType: s.addressType, ports: s.ports, endpoints };
}

/** Records EndpointSlice add/update/delete, marking the owning service(s) (by the service-name label) pending. */
export class EndpointSliceChangeTracker extends PendingSet {

  update(prev: KObject | undefined, cur: KObject | undefined): boolean {
    if (prev && cur && jsonEqual(sliceEssence(prev), sliceEssence(cur))) return false;
    let marked = false;
    for (const o of [prev, cur]) {
      const k = o ? serviceKeyOf(o) : undefined;
      if (k !== undefined) {
        this.dirty.add(k);
        marked = true;
      }
    }
    return marked;
  }

}

export interface ProxyStateCacheOptions {
  /** Plans one Service (injectable so tests can count recomputations). */
  plan?: (svc: KObject, slices: KObject[], nodeName: string) => ServicePlan[];
}

export interface ApplyResult {
  state: ProxyState;
  /** ServicePortInfo ids added, removed or whose plan changed since the previous apply(). */
  changed: Set<string>;
  /** ServicePortInfo ids that no longer exist (a subset of changed). */
  removed: Set<string>;
}

/**
 * Current Services and EndpointSlices of one node's view, with incremental planning: apply()
 * recomputes only Services marked by the trackers since the last apply(). Slices may arrive
 * before their Service (they are kept and used when it appears).
 */
export class ProxyStateCache {
  readonly services = new ServiceChangeTracker();
  readonly slices = new EndpointSliceChangeTracker();
  private readonly svcObjs = new Map<string, KObject>();
  private readonly sliceObjs = new Map<string, KObject>();
  /** service key -> slice keys, by the service-name label. */
  private readonly slicesBySvc = new Map<string, Set<string>>();
  /** service key -> ids of its programmed ports. */
  private readonly idsBySvc = new Map<string, string[]>();
  private readonly plans = new Map<string, ServicePlan>();
  private readonly plan: NonNullable<ProxyStateCacheOptions['plan']>;

  constructor(private readonly node: ProxyNode, opts: ProxyStateCacheOptions = {}) {
    this.plan = opts.plan ?? planServiceObject;
  }

  /** The upsert/delete methods return true when the change needs a sync (what the proxy derives from it changed). */
  upsertService(obj: KObject): boolean {
    const k = objKey(obj);
    const marked = this.services.update(this.svcObjs.get(k), obj);
    this.svcObjs.set(k, obj);
    return marked;
  }

  deleteService(obj: KObject): boolean {
    const k = objKey(obj);
    const marked = this.services.update(this.svcObjs.get(k) ?? obj, undefined);
    this.svcObjs.delete(k);
    return marked;
  }

  upsertSlice(obj: KObject): boolean {
    const k = objKey(obj);
    const prev = this.sliceObjs.get(k);
    const marked = this.slices.update(prev, obj);
    if (prev) this.unindex(prev);
    this.sliceObjs.set(k, obj);
    const svc = serviceKeyOf(obj);
    if (svc !== undefined) {
      const set = this.slicesBySvc.get(svc) ?? new Set<string>();
      set.add(k);
      this.slicesBySvc.set(svc, set);
    }
    return marked;
  }

  deleteSlice(obj: KObject): boolean {
    const k = objKey(obj);
    const prev = this.sliceObjs.get(k) ?? obj;
    const marked = this.slices.update(prev, undefined);
    this.unindex(prev);
    this.sliceObjs.delete(k);
    return marked;
  }

  private unindex(slice: KObject): void {
    const svc = serviceKeyOf(slice);
    if (svc === undefined) return;
    const set = this.slicesBySvc.get(svc);
    set?.delete(objKey(slice));
    if (set && set.size === 0) this.slicesBySvc.delete(svc);
  }

  /** Recomputes pending Services and reports which service-port ids changed. */
  apply(): ApplyResult {
    const pending = new Set([...this.services.flush(), ...this.slices.flush()]);
    const changed = new Set<string>();
    const removed = new Set<string>();
    for (const svcKey of pending) {
      const obj = this.svcObjs.get(svcKey);
      const slices = [...(this.slicesBySvc.get(svcKey) ?? [])].map((k) => this.sliceObjs.get(k)!);
      const next = obj ? this.plan(obj, slices, this.node.name) : [];
      const nextIds = new Set(next.map((p) => p.svc.id));
      for (const id of this.idsBySvc.get(svcKey) ?? []) {
        if (!nextIds.has(id)) {
          this.plans.delete(id);
          changed.add(id);
          removed.add(id);
        }
      }
      for (const p of next) {
        const old = this.plans.get(p.svc.id);
        if (!old || !jsonEqual(old, p)) changed.add(p.svc.id);
        this.plans.set(p.svc.id, p);
      }
      if (next.length > 0) this.idsBySvc.set(svcKey, [...nextIds]);
      else this.idsBySvc.delete(svcKey);
    }
    return { state: { node: this.node, services: new Map(this.plans) }, changed, removed };
  }
}
