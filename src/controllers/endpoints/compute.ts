/**
 * The decision logic of the Endpoints controller (kube's pkg/controller/endpoint), as pure
 * functions: which pods of a Service become addresses, how they are packed into subsets, when
 * the list is truncated, and what the whole Endpoints object should look like. The controller
 * only reads caches, calls `desiredEndpoints` and writes what it returns.
 *
 * Contract: the output is canonical (addresses sorted by IP then pod UID, ports and subsets in a
 * fixed order), so recomputing from unchanged input gives a deep-equal result and the controller
 * writes nothing.
 */
import type { KObject } from '../../api/types.js';
import { isPodReady } from '../owners.js';

export const HEADLESS_LABEL = 'service.kubernetes.io/headless';
export const OVER_CAPACITY_ANNOTATION = 'endpoints.kubernetes.io/over-capacity';
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';
export const LEADER_ELECTION_ANNOTATION = 'control-plane.alpha.kubernetes.io/leader';
/** kube's maxCapacity: addresses kept in one Endpoints object. */
export const MAX_ENDPOINT_ADDRESSES = 1000;

export interface ObjectReference {
  kind: string;
  namespace?: string;
  name: string;
  uid?: string;
}

export interface EndpointAddress {
  ip: string;
  hostname?: string;
  nodeName?: string;
  targetRef?: ObjectReference;
}

export interface EndpointPort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
}

export interface EndpointSubset {
  addresses?: EndpointAddress[];
  notReadyAddresses?: EndpointAddress[];
  ports?: EndpointPort[];
}

interface ServicePort {
  name?: string;
  port: number;
  protocol?: string;
  appProtocol?: string;
  targetPort?: number | string;
}

interface ServiceSpec {
  selector?: Record<string, string> | null;
  ports?: ServicePort[];
  clusterIP?: string;
  ipFamilies?: string[];
  type?: string;
  publishNotReadyAddresses?: boolean;
}

interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

interface PodSpecView {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers?: { ports?: ContainerPort[] }[];
  initContainers?: { ports?: ContainerPort[]; restartPolicy?: string }[];
}

interface PodStatusView {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
}

export const serviceSpec = (svc: KObject): ServiceSpec => (svc.spec ?? {}) as ServiceSpec;
const podSpec = (pod: KObject): PodSpecView => (pod.spec ?? {}) as PodSpecView;
const podStatus = (pod: KObject): PodStatusView => (pod.status ?? {}) as PodStatusView;

/** A Service's selector (a plain map) matches labels: every pair present. `{}` matches all. */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}

/** kube's ShouldPodBeInEndpoints: not terminal, has an IP, and (unless tolerated) not terminating. */
export function shouldPodBeInEndpoints(pod: KObject, includeTerminating: boolean): boolean {
  const st = podStatus(pod);
  if (st.phase === 'Succeeded' || st.phase === 'Failed') return false;
  if (!st.podIP && !(st.podIPs ?? []).length) return false;
  if (!includeTerminating && pod.metadata.deletionTimestamp) return false;
  return true;
}

const isIPv6 = (ip: string): boolean => ip.includes(':');

/** The pod IP of the Service's primary IP family (kube's podToEndpointAddressForService). */
function podIPForService(svc: KObject, pod: KObject): string | undefined {
  const spec = serviceSpec(svc);
  const st = podStatus(pod);
  let v6: boolean;
  if (spec.ipFamilies?.length) v6 = spec.ipFamilies[0] === 'IPv6';
  else if (spec.clusterIP && spec.clusterIP !== 'None') v6 = isIPv6(spec.clusterIP);
  else v6 = isIPv6(st.podIP ?? '');
  const ips = st.podIPs?.length ? st.podIPs.map((p) => p.ip) : st.podIP ? [st.podIP] : [];
  return ips.find((ip) => isIPv6(ip) === v6);
}

/**
 * kube's FindPort: a numeric targetPort is used as is; a named one is looked up in the pod's
 * container ports (and sidecar init containers) by name and protocol. An unset targetPort
 * means the service port itself (the API defaults it so).
 */
export function findPort(pod: KObject, svcPort: ServicePort): number | undefined {
  const target = svcPort.targetPort ?? svcPort.port;
  if (typeof target === 'number') return target;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const proto = svcPort.protocol ?? 'TCP';
  const spec = podSpec(pod);
  const containers = [...(spec.containers ?? []), ...(spec.initContainers ?? []).filter((c) => c.restartPolicy === 'Always')];
  for (const c of containers) {
    for (const p of c.ports ?? []) if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
  }
  return undefined;
}

function endpointPort(sp: ServicePort, port: number): EndpointPort {
  const out: EndpointPort = { name: sp.name ?? '', port, protocol: sp.protocol ?? 'TCP' };
  if (sp.appProtocol !== undefined) out.appProtocol = sp.appProtocol;
  return out;
}

/** The address a pod contributes, or undefined when it has no IP of the Service's family. */
export function podAddress(svc: KObject, pod: KObject): EndpointAddress | undefined {
  const ip = podIPForService(svc, pod);
  if (!ip) return undefined;
  const spec = podSpec(pod);
  const addr: EndpointAddress = { ip };
  // kube's ShouldSetHostname
  if (spec.hostname && spec.subdomain === svc.metadata.name && svc.metadata.namespace === pod.metadata.namespace) addr.hostname = spec.hostname;
  if (spec.nodeName) addr.nodeName = spec.nodeName;
  addr.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace, name: pod.metadata.name ?? '', uid: pod.metadata.uid };
  return addr;
}

/**
 * The subsets of a selector Service's Endpoints from the pods its selector matches (the caller
 * passes only matching pods of its namespace): one single-address entry per (pod, port), then
 * repacked into the canonical layout. Ready pods (or all, with publishNotReadyAddresses) go to
 * `addresses`, the rest to `notReadyAddresses`. Untruncated; see `truncateSubsets`.
 */
export function computeEndpoints(svc: KObject, pods: readonly KObject[]): EndpointSubset[] {
  const spec = serviceSpec(svc);
  const tolerate = spec.publishNotReadyAddresses === true;
  const ports = spec.ports ?? [];
  const raw: EndpointSubset[] = [];
  for (const pod of pods) {
    if (!shouldPodBeInEndpoints(pod, tolerate)) continue;
    const addr = podAddress(svc, pod);
    if (!addr) continue;
    const ready = tolerate || isPodReady(pod);
    const add = (ps: EndpointPort[]): void => {
      raw.push(ready ? { addresses: [addr], ports: ps } : { notReadyAddresses: [addr], ports: ps });
    };
    if (ports.length === 0) {
      // A headless Service may have no ports: its pods are listed without ports.
      if (spec.clusterIP === 'None') add([]);
      continue;
    }
    for (const sp of ports) {
      const n = findPort(pod, sp);
      if (n === undefined) continue;
      add([endpointPort(sp, n)]);
    }
  }
  return repackSubsets(raw);
}

const addrKey = (a: EndpointAddress): string => `${a.ip}\u0000${a.targetRef?.uid ?? ''}`;
const portKey = (p: EndpointPort | undefined): string =>
  p ? JSON.stringify([p.name ?? '', p.port, p.protocol ?? '', p.appProtocol ?? null]) : '<none>';

function byteCompare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** kube's LessEndpointAddress: by IP, then by target UID (no target first). */
export function compareAddresses(a: EndpointAddress, b: EndpointAddress): number {
  const c = byteCompare(a.ip, b.ip);
  if (c) return c;
  if (!b.targetRef) return a.targetRef ? 1 : 0;
  if (!a.targetRef) return -1;
  return byteCompare(a.targetRef.uid ?? '', b.targetRef.uid ?? '');
}

const comparePorts = (a: EndpointPort, b: EndpointPort): number => byteCompare(portKey(a), portKey(b));

/**
 * kube's RepackSubsets: expands subsets to (address, port, ready) triples, de-duplicates
 * addresses by IP + target UID (not-ready wins over ready for the same port), groups ports
 * offered by exactly the same addresses with the same readiness, and sorts everything.
 * Addresses without ports are kept as a port-less subset.
 */
export function repackSubsets(subsets: readonly EndpointSubset[]): EndpointSubset[] {
  const addrs = new Map<string, EndpointAddress>();
  // port key → (address key → ready)
  const byPort = new Map<string, { port?: EndpointPort; ready: Map<string, boolean> }>();
  const note = (a: EndpointAddress, port: EndpointPort | undefined, ready: boolean): void => {
    const ak = addrKey(a);
    if (!addrs.has(ak)) addrs.set(ak, a);
    const pk = portKey(port);
    let e = byPort.get(pk);
    if (!e) byPort.set(pk, (e = { port, ready: new Map() }));
    const was = e.ready.get(ak);
    if (was === undefined || was) e.ready.set(ak, ready);
  };
  for (const ss of subsets) {
    const ports: (EndpointPort | undefined)[] = ss.ports?.length ? ss.ports : [undefined];
    for (const p of ports) {
      for (const a of ss.addresses ?? []) note(a, p, true);
      for (const a of ss.notReadyAddresses ?? []) note(a, p, false);
    }
  }
  // Group ports by their identical (address, ready) sets.
  const groups = new Map<string, { ready: Map<string, boolean>; ports: EndpointPort[] }>();
  for (const { port, ready } of byPort.values()) {
    const key = [...ready.entries()].map(([k, r]) => `${k}\u0000${r ? 1 : 0}`).sort().join('\u0001');
    let g = groups.get(key);
    if (!g) groups.set(key, (g = { ready, ports: [] }));
    if (port) g.ports.push(port);
  }
  const out: EndpointSubset[] = [];
  for (const g of groups.values()) {
    const ready: EndpointAddress[] = [];
    const notReady: EndpointAddress[] = [];
    for (const [k, r] of g.ready) (r ? ready : notReady).push(addrs.get(k)!);
    out.push(makeSubset(ready.sort(compareAddresses), notReady.sort(compareAddresses), g.ports.sort(comparePorts)));
  }
  return out.sort((a, b) => byteCompare(subsetSortKey(a), subsetSortKey(b)));
}

function makeSubset(addresses: EndpointAddress[], notReady: EndpointAddress[], ports: EndpointPort[]): EndpointSubset {
  const s: EndpointSubset = {};
  if (addresses.length) s.addresses = addresses;
  if (notReady.length) s.notReadyAddresses = notReady;
  if (ports.length) s.ports = ports;
  return s;
}

const subsetSortKey = (s: EndpointSubset): string =>
  JSON.stringify([(s.ports ?? []).map(portKey), (s.addresses ?? []).map(addrKey), (s.notReadyAddresses ?? []).map(addrKey)]);

/**
 * kube's truncateEndpoints: when more than `max` addresses are listed, keep at most `max`,
 * preferring ready addresses (not-ready ones are dropped first) and sharing what is kept across
 * subsets in proportion to their size (rounded up, so later subsets may get fewer). Subsets left
 * with no address are dropped (the API rejects them).
 */
export function truncateSubsets(subsets: readonly EndpointSubset[], max: number): { subsets: EndpointSubset[]; truncated: boolean } {
  let ready = 0;
  let notReady = 0;
  for (const s of subsets) {
    ready += s.addresses?.length ?? 0;
    notReady += s.notReadyAddresses?.length ?? 0;
  }
  if (ready + notReady <= max) return { subsets: [...subsets], truncated: false };
  const truncateReady = ready > max;
  const budget = truncateReady ? max : max - ready;
  const total = truncateReady ? ready : notReady;
  let left = budget;
  const out: EndpointSubset[] = [];
  for (const s of subsets) {
    const n = (truncateReady ? s.addresses?.length : s.notReadyAddresses?.length) ?? 0;
    const share = Math.min(Math.ceil((n / total) * budget), left);
    const next: EndpointSubset = { ...s };
    if (truncateReady) {
      next.addresses = (s.addresses ?? []).slice(0, share);
      delete next.notReadyAddresses;
      left -= next.addresses.length;
    } else {
      next.notReadyAddresses = (s.notReadyAddresses ?? []).slice(0, share);
      left -= next.notReadyAddresses.length;
    }
    if (!next.addresses?.length) delete next.addresses;
    if (!next.notReadyAddresses?.length) delete next.notReadyAddresses;
    if (next.addresses || next.notReadyAddresses) out.push(next);
  }
  return { subsets: out, truncated: true };
}

/** Deep equality of subsets, ignoring targetRef.resourceVersion and absent-vs-empty lists. */
export function subsetsEqual(a: readonly EndpointSubset[] | undefined, b: readonly EndpointSubset[] | undefined): boolean {
  return JSON.stringify(normalizeSubsets(a)) === JSON.stringify(normalizeSubsets(b));
}

function normalizeSubsets(ss: readonly EndpointSubset[] | undefined): unknown {
  const addr = (a: EndpointAddress): unknown[] => [a.ip, a.hostname ?? '', a.nodeName ?? null, a.targetRef ? [a.targetRef.kind, a.targetRef.namespace ?? '', a.targetRef.name, a.targetRef.uid ?? ''] : null];
  return (ss ?? []).map((s) => [(s.addresses ?? []).map(addr), (s.notReadyAddresses ?? []).map(addr), (s.ports ?? []).map(portKey)]);
}

function labelsEqual(a: Record<string, string> | undefined, b: Record<string, string> | undefined): boolean {
  const ka = Object.keys(a ?? {});
  if (ka.length !== Object.keys(b ?? {}).length) return false;
  return ka.every((k) => b?.[k] === a?.[k]);
}

/** The Endpoints labels: the Service's, plus the headless marker for Services without a cluster IP. */
export function endpointsLabels(svc: KObject): Record<string, string> {
  const labels = { ...(svc.metadata.labels ?? {}) };
  const ip = serviceSpec(svc).clusterIP;
  if (!ip || ip === 'None') labels[HEADLESS_LABEL] = '';
  else delete labels[HEADLESS_LABEL];
  return labels;
}

export interface DesiredEndpointsOptions {
  /** Addresses kept before truncating (default 1000, kube's maxCapacity). */
  maxAddresses?: number;
  /** The last-change-trigger-time to record (RFC 3339); undefined removes the annotation. */
  triggerTime?: string;
}

/**
 * The Endpoints object a selector Service should have, given the current one (undefined if
 * none): `undefined` when nothing needs writing (same subsets after truncation, same labels,
 * capacity annotation right — the trigger-time annotation alone never causes a write, as in
 * kube). The result keeps
 * the current object's other metadata (resourceVersion included, for an optimistic update).
 */
export function desiredEndpoints(svc: KObject, pods: readonly KObject[], current: KObject | undefined, opts: DesiredEndpointsOptions = {}): KObject | undefined {
  const t = truncateSubsets(computeEndpoints(svc, pods), opts.maxAddresses ?? MAX_ENDPOINT_ADDRESSES);
  const labels = endpointsLabels(svc);
  if (current) {
    // Compared after truncation: an over-capacity Service that did not change writes nothing.
    const curAnn = current.metadata.annotations ?? {};
    const capacityOk = t.truncated ? curAnn[OVER_CAPACITY_ANNOTATION] === 'truncated' : !(OVER_CAPACITY_ANNOTATION in curAnn);
    if (capacityOk && labelsEqual(current.metadata.labels, labels) && subsetsEqual(current.subsets as EndpointSubset[] | undefined, t.subsets)) return undefined;
  }
  const next: KObject = current
    ? { ...current, metadata: { ...current.metadata } }
    : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: svc.metadata.name, namespace: svc.metadata.namespace } };
  const annotations = { ...(next.metadata.annotations ?? {}) };
  if (opts.triggerTime) annotations[TRIGGER_TIME_ANNOTATION] = opts.triggerTime;
  else delete annotations[TRIGGER_TIME_ANNOTATION];
  if (t.truncated) annotations[OVER_CAPACITY_ANNOTATION] = 'truncated';
  else delete annotations[OVER_CAPACITY_ANNOTATION];
  if (Object.keys(annotations).length) next.metadata.annotations = annotations;
  else delete next.metadata.annotations;
  next.metadata.labels = labels;
  next.subsets = t.subsets;
  return next;
}
