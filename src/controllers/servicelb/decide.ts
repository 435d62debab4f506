/**
 * The LoadBalancer address controller's decisions, as functions of a Service and the pool
 * (compute, then apply: the controller only writes what these return).
 *
 * Which Services are ours: `type: LoadBalancer` without `spec.loadBalancerClass` (a class names
 * another implementation, as with kube's service controller and MetalLB). Which address a
 * Service asks for: the MetalLB annotation `metallb.universe.tf/loadBalancerIPs` (or its newer
 * spelling `metallb.io/loadBalancerIPs`) or the deprecated `spec.loadBalancerIP`; several may
 * be given only if they agree.
 */
import type { KObject } from '../../api/types.js';
import { keyOf } from '../../client/shared-informer.js';
import { looksLikeIPv6, parseIPv4, type IPPool } from './pool.js';

export const LB_IPS_ANNOTATION = 'metallb.universe.tf/loadBalancerIPs';
/** MetalLB 0.14.9+ spelling of the same annotation (the old prefix stays supported there too). */
export const LB_IPS_ANNOTATION_NEW = 'metallb.io/loadBalancerIPs';

interface IngressView {
  ip?: string;
  hostname?: string;
  ipMode?: string;
  ports?: unknown;
}
interface ServiceView {
  spec?: { type?: string; loadBalancerClass?: string | null; loadBalancerIP?: string };
  status?: { loadBalancer?: { ingress?: IngressView[] } };
}

/** The `status.loadBalancer` this controller writes (empty = Pending). */
export interface LoadBalancerStatus {
  ingress?: { ip: string; ipMode: 'VIP' }[];
}

/** Ours: type LoadBalancer and no loadBalancerClass. */
export function isManaged(svc: KObject): boolean {
  const spec = (svc as ServiceView).spec ?? {};
  return spec.type === 'LoadBalancer' && (spec.loadBalancerClass === undefined || spec.loadBalancerClass === null || spec.loadBalancerClass === '');
}

/** The IP addresses (not hostnames) in `status.loadBalancer.ingress`. */
export function statusIPs(svc: KObject): string[] {
  const ing = (svc as ServiceView).status?.loadBalancer?.ingress;
  return Array.isArray(ing) ? ing.map((i) => i?.ip).filter((ip): ip is string => typeof ip === 'string' && ip !== '') : [];
}

export function desiredStatus(ip: string | undefined): LoadBalancerStatus {
  return ip === undefined ? {} : { ingress: [{ ip, ipMode: 'VIP' }] };
}

/** True when the Service's `status.loadBalancer` already equals `want` (entry order matters). */
export function statusMatches(svc: KObject, want: LoadBalancerStatus): boolean {
  const norm = (list: IngressView[] | undefined): string =>
    JSON.stringify((Array.isArray(list) ? list : []).map((i) => [i?.ip ?? '', i?.hostname ?? '', i?.ipMode ?? '', i?.ports ?? null]));
  return norm((svc as ServiceView).status?.loadBalancer?.ingress) === norm(want.ingress);
}

/** The address a Service requests: none, one IPv4 address, or an error message for the user. */
export type Requested = { ip?: undefined; error?: undefined } | { ip: string; error?: undefined } | { ip?: undefined; error: string };

export function requestedIP(svc: KObject): Requested {
  const ann = svc.metadata.annotations ?? {};
  const oldStyle = ann[LB_IPS_ANNOTATION]?.trim() || undefined;
  const newStyle = ann[LB_IPS_ANNOTATION_NEW]?.trim() || undefined;
  if (oldStyle !== undefined && newStyle !== undefined && oldStyle !== newStyle) {
    return { error: `annotations ${LB_IPS_ANNOTATION_NEW} and ${LB_IPS_ANNOTATION} ask for different addresses` };
  }
  const fromAnnotation = newStyle ?? oldStyle;
  const annName = newStyle !== undefined ? LB_IPS_ANNOTATION_NEW : LB_IPS_ANNOTATION;
  const fromSpec = (svc as ServiceView).spec?.loadBalancerIP ?? '';
  let annotated: string | undefined;
  if (fromAnnotation !== undefined && fromAnnotation.trim() !== '') {
    const ips = fromAnnotation
      .split(',')
      .map((s) => s.trim())
      .filter((s) => s !== '');
    const v6 = ips.filter(looksLikeIPv6);
    if (v6.length) return { error: `annotation ${annName} asks for IPv6 address ${v6[0]}, but the pool is IPv4 only` };
    const bad = ips.find((s) => parseIPv4(s) === undefined);
    if (bad !== undefined) return { error: `annotation ${annName}: "${bad}" is not a valid IPv4 address` };
    if (ips.length > 1) return { error: `annotation ${annName} asks for ${ips.length} IPv4 addresses; a Service gets one` };
    annotated = ips[0];
  }
  if (fromSpec !== '') {
    if (looksLikeIPv6(fromSpec)) return { error: `spec.loadBalancerIP ${fromSpec} is IPv6, but the pool is IPv4 only` };
    if (parseIPv4(fromSpec) === undefined) return { error: `spec.loadBalancerIP "${fromSpec}" is not a valid IPv4 address` };
    if (annotated !== undefined && annotated !== fromSpec) {
      return { error: `spec.loadBalancerIP ${fromSpec} and annotation ${annName} ${annotated} ask for different addresses` };
    }
    return { ip: fromSpec };
  }
  return annotated === undefined ? {} : { ip: annotated };
}

export type PendingReason = 'exhausted' | 'requested-in-use' | 'requested-not-in-pool' | 'invalid-request';

export type Decision =
  /** Not ours and nothing to undo. */
  | { kind: 'ignore' }
  /** Not ours (any more): `released` was freed; clear status when `clearStatus`. */
  | { kind: 'release'; released?: string; clearStatus: boolean; why: string }
  /** Ours with address `ip` (`released`: a previous address given up for it). */
  | { kind: 'assign'; ip: string; released?: string }
  /** Ours, but no address: status stays empty; `retryOnRelease`: try again when one frees up. */
  | { kind: 'pending'; reason: PendingReason; message: string; released?: string; retryOnRelease: boolean };

/**
 * Decides (and records in `pool`) what `key` gets. `svc` undefined means the Service is gone.
 * Precedence: a request (annotation / loadBalancerIP) wins over the current address; otherwise
 * the current address is kept, else a free address shown in status is adopted, else the
 * lowest free one is allocated.
 */
export function decide(pool: IPPool, key: string, svc: KObject | undefined): Decision {
  if (svc === undefined) {
    const released = pool.release(key);
    return released === undefined ? { kind: 'ignore' } : { kind: 'release', released, clearStatus: false, why: 'the Service was deleted' };
  }
  if (!isManaged(svc)) {
    const released = pool.release(key);
    const spec = (svc as ServiceView).spec ?? {};
    const notLB = spec.type !== 'LoadBalancer';
    // A Service that left type LoadBalancer keeps no load-balancer status; one that moved to
    // another class keeps whatever that implementation writes.
    const clearStatus = notLB && statusIPs(svc).length > 0 && (released !== undefined || statusIPs(svc).some((ip) => pool.contains(ip)));
    if (released === undefined && !clearStatus) return { kind: 'ignore' };
    const why = notLB
      ? `the Service is no longer of type LoadBalancer`
      : `spec.loadBalancerClass ${JSON.stringify(spec.loadBalancerClass)} hands it to another load-balancer implementation`;
    return { kind: 'release', released, clearStatus, why };
  }
  const req = requestedIP(svc);
  const current = pool.addressOf(key);
  if (req.error !== undefined) {
    const released = pool.release(key);
    return { kind: 'pending', reason: 'invalid-request', message: `Failed to allocate an IP: ${req.error}`, released, retryOnRelease: false };
  }
  if (req.ip !== undefined) {
    if (current === req.ip) return { kind: 'assign', ip: current };
    const r = pool.claim(req.ip, key);
    if (r.ok) return current === undefined ? { kind: 'assign', ip: req.ip } : { kind: 'assign', ip: req.ip, released: current };
    const released = pool.release(key);
    if (r.reason === 'in-use') {
      return { kind: 'pending', reason: 'requested-in-use', message: `Failed to allocate requested IP ${req.ip}: it is already assigned to ${r.owner}`, released, retryOnRelease: true };
    }
    return { kind: 'pending', reason: 'requested-not-in-pool', message: `Failed to allocate requested IP ${req.ip}: it is not in pool ${pool.spec}`, released, retryOnRelease: false };
  }
  if (current !== undefined) return { kind: 'assign', ip: current };
  for (const ip of statusIPs(svc)) if (pool.contains(ip) && pool.claim(ip, key).ok) return { kind: 'assign', ip };
  const ip = pool.allocate(key);
  if (ip !== undefined) return { kind: 'assign', ip };
  return {
    kind: 'pending',
    reason: 'exhausted',
    message: `Failed to allocate an IP: pool ${pool.spec} is exhausted (all ${pool.size} addresses are in use)`,
    retryOnRelease: true,
  };
}

function createdMs(svc: KObject): number {
  const t = Date.parse(svc.metadata.creationTimestamp ?? '');
  return Number.isNaN(t) ? Number.MAX_SAFE_INTEGER : t;
}

/** Oldest first (creationTimestamp, then namespace/name): who wins a contested address. */
export function byAge(a: KObject, b: KObject): number {
  return createdMs(a) - createdMs(b) || (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0);
}

export interface RebuildConflict {
  ip: string;
  winner: string;
  loser: string;
}

/**
 * Rebuilds `pool` from what Services' statuses show (on start, before any new assignment, so
 * no address is handed out twice). Oldest Service wins an address shown by several; a status
 * address outside the pool, or not the one the Service requests, is not claimed (the Service's
 * sync re-assigns it). Returns the conflicts for reporting.
 */
export function rebuild(pool: IPPool, services: KObject[]): RebuildConflict[] {
  const conflicts: RebuildConflict[] = [];
  for (const svc of [...services].filter(isManaged).sort(byAge)) {
    const key = keyOf(svc);
    const req = requestedIP(svc);
    if (req.error !== undefined) continue;
    for (const ip of statusIPs(svc)) {
      if (!pool.contains(ip) || (req.ip !== undefined && req.ip !== ip)) continue;
      const r = pool.claim(ip, key);
      if (r.ok) break;
      if (r.reason === 'in-use') conflicts.push({ ip, winner: r.owner, loser: key });
    }
  }
  return conflicts;
}
