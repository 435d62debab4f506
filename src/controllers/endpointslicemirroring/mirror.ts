/**
 * The decision logic of the EndpointSlice mirroring controller (kube's
 * pkg/controller/endpointslicemirroring), as pure functions. A selectorless Service's
 * hand-made Endpoints is mirrored into EndpointSlices so slice consumers (kube-proxy, DNS) see
 * it: one slice per (address type, port set) with at most `maxEndpointsPerSubset` endpoints,
 * addresses → ready endpoints, notReadyAddresses → not-ready ones. Slices are owned (controller
 * reference) by the Endpoints object and carry its labels and annotations.
 *
 * Contract: `mirrorEndpoints` is deterministic (endpoints sorted), and `planMirroredSlices` is
 * empty when the existing slices already match, so an unchanged Endpoints writes nothing.
 */
import { isIP } from 'node:net';
import type { KObject } from '../../api/types.js';

export const MIRRORING_CONTROLLER_NAME = 'endpointslicemirroring-controller.k8s.io';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_SKIP_MIRROR = 'endpointslice.kubernetes.io/skip-mirror';
const LEADER_ELECTION_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
const LAST_APPLIED_ANNOTATION = 'kubectl.kubernetes.io/last-applied-configuration';
/** kube's default --mirroring-max-endpoints-per-subset. */
export const MAX_ENDPOINTS_PER_SUBSET = 1000;

interface Address {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: Record<string, unknown> & { uid?: string };
}

interface Port {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

interface Subset {
  addresses?: Address[];
  notReadyAddresses?: Address[];
  ports?: Port[];
}

export interface SliceEndpoint {
  addresses: string[];
  conditions: { ready: boolean };
  hostname?: string;
  nodeName?: string;
  targetRef?: Record<string, unknown>;
}

export interface SlicePort {
  name: string;
  port: number;
  protocol: string;
  appProtocol?: string;
}

/** kube's shouldMirror (the Service check is separate): no skip-mirror label, no leader lock. */
export function shouldMirror(endpoints: KObject | undefined): boolean {
  if (!endpoints) return false;
  if (endpoints.metadata.labels?.[LABEL_SKIP_MIRROR] === 'true') return false;
  return !(LEADER_ELECTION_ANNOTATION in (endpoints.metadata.annotations ?? {}));
}

function slicePorts(ports: Port[] | undefined): SlicePort[] {
  return (ports ?? []).map((p) => {
    const out: SlicePort = { name: p.name ?? '', port: p.port, protocol: p.protocol ?? 'TCP' };
    if (p.appProtocol !== undefined) out.appProtocol = p.appProtocol;
    return out;
  });
}

const portsKey = (ports: readonly SlicePort[]): string =>
  ports.map((p) => JSON.stringify([p.name, p.port, p.protocol, p.appProtocol ?? null])).sort().join(',');

/** The slices' grouping key: address type plus the (order-free) port set. */
export function sliceKey(addressType: string, ports: readonly SlicePort[]): string {
  return `${addressType}|${portsKey(ports)}`;
}

function toEndpoint(a: Address, ready: boolean): { ep: SliceEndpoint; type: 'IPv4' | 'IPv6' } | undefined {
  const family = isIP(a.ip ?? '');
  if (!family) return undefined;
  const ep: SliceEndpoint = { addresses: [a.ip], conditions: { ready } };
  if (a.hostname) ep.hostname = a.hostname;
  if (a.nodeName) ep.nodeName = a.nodeName;
  if (a.targetRef) ep.targetRef = { ...a.targetRef };
  return { ep, type: family === 6 ? 'IPv6' : 'IPv4' };
}

const endpointId = (ep: SliceEndpoint): string => JSON.stringify([ep.addresses, ep.hostname ?? '', ep.targetRef?.uid ?? '', ep.targetRef?.name ?? '']);

export interface MirrorResult {
  /** Desired slices without names (`generateName` set), one per slice key, endpoints sorted. */
  slices: KObject[];
  /** Addresses that are not IPs (kube records an InvalidIPAddress event). */
  invalid: number;
  /** Addresses beyond `maxEndpointsPerSubset` of their subset, plus the invalid ones. */
  skipped: number;
}

/** The labels, annotations and owner every mirrored slice of `endpoints` carries. */
export function mirroredMetadata(endpoints: KObject): KObject['metadata'] {
  const labels: Record<string, string> = { ...(endpoints.metadata.labels ?? {}) };
  labels[LABEL_SERVICE_NAME] = endpoints.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = MIRRORING_CONTROLLER_NAME;
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(endpoints.metadata.annotations ?? {})) {
    if (k !== TRIGGER_TIME_ANNOTATION && k !== LAST_APPLIED_ANNOTATION) annotations[k] = v;
  }
  const meta: KObject['metadata'] = {
    generateName: `${endpoints.metadata.name ?? ''}-`,
    namespace: endpoints.metadata.namespace,
    labels,
    ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: endpoints.metadata.name ?? '', uid: endpoints.metadata.uid ?? '', controller: true, blockOwnerDeletion: true }],
  };
  if (Object.keys(annotations).length) meta.annotations = annotations;
  return meta;
}

/**
 * The EndpointSlices mirroring an Endpoints object. Per subset at most `maxEndpointsPerSubset`
 * addresses are taken (ready ones first); subsets with the same address type and port set share
 * one slice (an address listed twice is kept once, the later — not-ready — entry winning), which
 * also holds at most `maxEndpointsPerSubset` endpoints.
 */
export function mirrorEndpoints(endpoints: KObject, opts: { maxEndpointsPerSubset?: number } = {}): MirrorResult {
  const max = opts.maxEndpointsPerSubset ?? MAX_ENDPOINTS_PER_SUBSET;
  const groups = new Map<string, { type: string; ports: SlicePort[]; eps: Map<string, SliceEndpoint> }>();
  let invalid = 0;
  let skipped = 0;
  for (const ss of (endpoints.subsets ?? []) as Subset[]) {
    const ports = slicePorts(ss.ports);
    const all: [Address, boolean][] = [...(ss.addresses ?? []).map((a): [Address, boolean] => [a, true]), ...(ss.notReadyAddresses ?? []).map((a): [Address, boolean] => [a, false])];
    let added = 0;
    for (const [addr, ready] of all) {
      if (added >= max) break;
      const r = toEndpoint(addr, ready);
      if (!r) {
        invalid++;
        continue;
      }
      const key = sliceKey(r.type, ports);
      let g = groups.get(key);
      if (!g) groups.set(key, (g = { type: r.type, ports, eps: new Map() }));
      g.eps.set(endpointId(r.ep), r.ep);
      added++;
    }
    skipped += all.length - added;
  }
  const slices: KObject[] = [];
  for (const key of [...groups.keys()].sort()) {
    const g = groups.get(key)!;
    const eps = [...g.eps.values()].sort(compareEndpoints).slice(0, max);
    slices.push({ apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: mirroredMetadata(endpoints), addressType: g.type, endpoints: eps, ports: g.ports });
  }
  return { slices, invalid, skipped };
}

function compareEndpoints(a: SliceEndpoint, b: SliceEndpoint): number {
  const x = endpointId(a);
  const y = endpointId(b);
  return x < y ? -1 : x > y ? 1 : 0;
}

export interface SlicePlan {
  create: KObject[];
  update: KObject[];
  delete: KObject[];
}

const keyOfSlice = (s: KObject): string => sliceKey(String(s.addressType ?? ''), slicePorts(s.ports as Port[] | undefined));

/** What of a slice this controller owns and compares (so server-side defaults don't count). */
function comparable(s: KObject): string {
  const eps = ((s.endpoints ?? []) as SliceEndpoint[]).map((e) => [
    e.addresses,
    e.conditions?.ready ?? null,
    e.hostname ?? '',
    e.nodeName ?? '',
    e.targetRef ? [e.targetRef.kind ?? '', e.targetRef.namespace ?? '', e.targetRef.name ?? '', e.targetRef.uid ?? ''] : null,
  ]);
  eps.sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
  const sortObj = (o: Record<string, string> | undefined): [string, string][] => Object.entries(o ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  const owner = (s.metadata.ownerReferences ?? []).map((r) => [r.kind, r.name, r.uid, r.controller ?? false]);
  return JSON.stringify([s.addressType, portsKey(slicePorts(s.ports as Port[] | undefined)), eps, sortObj(s.metadata.labels), sortObj(s.metadata.annotations), owner]);
}

/**
 * Turns desired slices and the existing mirrored ones into writes (kube's reconcile +
 * recycleSlices): per key the first existing slice is kept (updated if it differs), extra ones
 * and those of keys no longer desired are deleted, missing keys are created — except that a
 * create and a delete of the same address type become one update of the doomed slice.
 * Updates carry the existing slice's metadata (name, resourceVersion) with the desired content.
 */
export function planMirroredSlices(desired: readonly KObject[], existing: readonly KObject[]): SlicePlan {
  const byKey = new Map<string, KObject[]>();
  for (const s of [...existing].sort((a, b) => String(a.metadata.name).localeCompare(String(b.metadata.name)))) {
    const k = keyOfSlice(s);
    byKey.set(k, [...(byKey.get(k) ?? []), s]);
  }
  const plan: SlicePlan = { create: [], update: [], delete: [] };
  const wanted = new Set<string>();
  for (const d of desired) {
    const k = keyOfSlice(d);
    wanted.add(k);
    const have = byKey.get(k) ?? [];
    plan.delete.push(...have.slice(1));
    if (!have.length) plan.create.push(d);
    else if (comparable(have[0]) !== comparable(d)) plan.update.push(withIdentity(d, have[0]));
  }
  for (const [k, have] of byKey) if (!wanted.has(k)) plan.delete.push(...have);
  // Recycle: reuse a slice about to be deleted for a create of the same address type.
  for (const c of [...plan.create]) {
    const i = plan.delete.findIndex((s) => s.addressType === c.addressType);
    if (i < 0) continue;
    const [victim] = plan.delete.splice(i, 1);
    plan.create.splice(plan.create.indexOf(c), 1);
    plan.update.push(withIdentity(c, victim));
  }
  return plan;
}

function withIdentity(desired: KObject, existing: KObject): KObject {
  const meta: KObject['metadata'] = { ...existing.metadata, labels: desired.metadata.labels, ownerReferences: desired.metadata.ownerReferences };
  if (desired.metadata.annotations) meta.annotations = desired.metadata.annotations;
  else delete meta.annotations;
  return { ...desired, metadata: meta };
}
