/**
 * Pure helpers of the EndpointSlice controller: what a pod contributes to a Service's slices
 * (its endpoint and its resolved ports), how endpoints and port sets are keyed, and the labels
 * and shape of a fresh slice. They follow kube's k8s.io/endpointslice utils (podToEndpoint,
 * getEndpointPorts, FindPort, setEndpointSliceLabels, getAddressTypesForService) so that the
 * slices we write are the ones kube-controller-manager would write for the same objects.
 */
import type { KObject, OwnerReference } from '../../api/types.js';
import { isPodReady } from '../owners.js';

export const CONTROLLER_NAME = 'endpointslice-controller.k8s.io';
export const LABEL_SERVICE_NAME = 'kubernetes.io/service-name';
export const LABEL_MANAGED_BY = 'endpointslice.kubernetes.io/managed-by';
export const LABEL_HEADLESS = 'service.kubernetes.io/headless';
export const LABEL_ZONE = 'topology.kubernetes.io/zone';
export const ANNOTATION_TRIGGER_TIME = 'endpoints.kubernetes.io/last-change-trigger-time';

export type AddressType = 'IPv4' | 'IPv6';

export interface EndpointPort {
  name: string;
  protocol: string;
  port: number;
  appProtocol?: string;
}

export interface EndpointConditions {
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

export interface TargetRef {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

export interface Endpoint {
  addresses: string[];
  conditions: EndpointConditions;
  hostname?: string;
  targetRef?: TargetRef;
  nodeName?: string;
  zone?: string;
  [field: string]: unknown;
}

export interface ServicePort {
  name?: string;
  protocol?: string;
  port?: number;
  targetPort?: number | string;
  appProtocol?: string;
}

export interface ServiceSpec {
  type?: string;
  selector?: Record<string, string> | null;
  ports?: ServicePort[];
  clusterIP?: string;
  ipFamilies?: string[];
  publishNotReadyAddresses?: boolean;
}

interface ContainerPort {
  name?: string;
  containerPort?: number;
  protocol?: string;
}

interface Container {
  ports?: ContainerPort[];
  restartPolicy?: string;
}

interface PodSpec {
  nodeName?: string;
  hostname?: string;
  subdomain?: string;
  containers?: Container[];
  initContainers?: Container[];
}

interface PodStatus {
  phase?: string;
  podIP?: string;
  podIPs?: { ip: string }[];
}

export function serviceSpec(svc: KObject): ServiceSpec {
  return (svc.spec ?? {}) as ServiceSpec;
}

function podSpec(pod: KObject): PodSpec {
  return (pod.spec ?? {}) as PodSpec;
}

function podStatus(pod: KObject): PodStatus {
  return (pod.status ?? {}) as PodStatus;
}

/**
 * Whether this controller publishes slices for the Service: it needs a (non-null) selector
 * and must not be an ExternalName Service. Selector-less Services get their slices out of
 * band (the mirroring controller or users).
 */
export function isManagedService(svc: KObject): boolean {
  const spec = serviceSpec(svc);
  return spec.type !== 'ExternalName' && spec.selector !== undefined && spec.selector !== null;
}

/** A Service selector (a plain map) matches these labels; `{}` matches everything. */
export function selectorMatches(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const k in selector) {
    if (labels?.[k] !== selector[k]) return false;
  }
  return true;
}

/** The pod's IPs (status.podIPs, falling back to status.podIP). */
export function podIPs(pod: KObject): string[] {
  const st = podStatus(pod);
  if (st.podIPs?.length) return st.podIPs.map((p) => p.ip).filter((ip) => !!ip);
  return st.podIP ? [st.podIP] : [];
}

/**
 * kube's ShouldPodBeInEndpoints with terminating pods included (as the EndpointSlice
 * controller always does): not terminal (Succeeded/Failed) and has an IP.
 */
export function shouldPodBeInEndpoints(pod: KObject): boolean {
  const phase = podStatus(pod).phase;
  if (phase === 'Succeeded' || phase === 'Failed') return false;
  return podIPs(pod).length > 0;
}

export function isIPv6(ip: string): boolean {
  return ip.includes(':');
}

/**
 * The address types a Service's slices carry: its ipFamilies; without them the family of its
 * ClusterIP; a headless Service without families gets both (kube's upgrade-safe default).
 */
export function addressTypesForService(svc: KObject): AddressType[] {
  const spec = serviceSpec(svc);
  const out: AddressType[] = [];
  for (const f of spec.ipFamilies ?? []) {
    if ((f === 'IPv4' || f === 'IPv6') && !out.includes(f)) out.push(f);
  }
  if (out.length) return out;
  if (spec.clusterIP && spec.clusterIP !== 'None') return [isIPv6(spec.clusterIP) ? 'IPv6' : 'IPv4'];
  return ['IPv4', 'IPv6'];
}

/**
 * kube's FindPort: a numeric targetPort is used as is; a named one is looked up by name and
 * protocol in the pod's containers (then in restartable init containers, i.e. sidecars).
 * Returns undefined when the pod has no such port.
 */
export function findPort(pod: KObject, sp: ServicePort): number | undefined {
  const target = sp.targetPort ?? sp.port;
  if (typeof target === 'number') return target;
  if (typeof target !== 'string' || target === '') return sp.port;
  if (/^[0-9]+$/.test(target)) return Number(target);
  const proto = sp.protocol ?? 'TCP';
  const spec = podSpec(pod);
  const search = (containers: Container[] | undefined, sidecarsOnly: boolean): number | undefined => {
    for (const c of containers ?? []) {
      if (sidecarsOnly && c.restartPolicy !== 'Always') continue;
      for (const p of c.ports ?? []) {
        if (p.name === target && (p.protocol ?? 'TCP') === proto) return p.containerPort;
      }
    }
    return undefined;
  };
  return search(spec.containers, false) ?? search(spec.initContainers, true);
}

/**
 * The slice ports this pod serves for the Service (kube's getEndpointPorts): one per Service
 * port the pod resolves, in Service order; ports the pod lacks are left out, so the pod lands in
 * the slice group of the ports it does have.
 */
export function endpointPorts(svc: KObject, pod: KObject): EndpointPort[] {
  const spec = serviceSpec(svc);
  const out: EndpointPort[] = [];
  for (const sp of spec.ports ?? []) {
    const port = findPort(pod, sp);
    if (port === undefined) continue;
    const ep: EndpointPort = { name: sp.name ?? '', protocol: sp.protocol ?? 'TCP', port };
    if (sp.appProtocol !== undefined && sp.appProtocol !== null) ep.appProtocol = sp.appProtocol;
    out.push(ep);
  }
  return out;
}

/** An order-independent key of a port set (kube's PortMapKey). */
export function portMapKey(ports: readonly EndpointPort[] | undefined): string {
  const parts = (ports ?? []).map((p) => `${p.name ?? ''}\u0001${p.protocol ?? 'TCP'}\u0001${p.port ?? ''}\u0001${p.appProtocol ?? '\u0002'}`);
  parts.sort();
  return parts.join('\u0000');
}

/**
 * kube's podToEndpoint: serving is the pod's Ready condition, terminating is a set
 * deletionTimestamp, and ready is serving && !terminating unless the Service publishes
 * not-ready addresses.
 */
export function podToEndpoint(pod: KObject, opts: { service: KObject; addressType: AddressType; node?: KObject }): Endpoint {
  const spec = podSpec(pod);
  const svc = opts.service;
  const serving = isPodReady(pod);
  const terminating = !!pod.metadata.deletionTimestamp;
  const ready = serviceSpec(svc).publishNotReadyAddresses === true || (serving && !terminating);
  const want6 = opts.addressType === 'IPv6';
  const ep: Endpoint = {
    addresses: podIPs(pod).filter((ip) => isIPv6(ip) === want6),
    conditions: { ready, serving, terminating },
  };
  if (spec.hostname && spec.subdomain === svc.metadata.name && svc.metadata.namespace === pod.metadata.namespace) ep.hostname = spec.hostname;
  ep.targetRef = { kind: 'Pod', namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '', uid: pod.metadata.uid ?? '' };
  if (spec.nodeName) ep.nodeName = spec.nodeName;
  const zone = opts.node?.metadata.labels?.[LABEL_ZONE];
  if (zone) ep.zone = zone;
  return ep;
}

/**
 * Whether two endpoints are the same endpoint (kube's hashEndpoint identity: addresses,
 * hostname, target namespace and name). Callers index endpoints by target name first, since
 * pod names are unique within a Service's namespace and cheap to hash.
 */
export function sameEndpointIdentity(a: Endpoint, b: Endpoint): boolean {
  if ((a.targetRef?.name ?? '') !== (b.targetRef?.name ?? '')) return false;
  if ((a.targetRef?.namespace ?? '') !== (b.targetRef?.namespace ?? '')) return false;
  if ((a.hostname ?? '') !== (b.hostname ?? '')) return false;
  const x = a.addresses ?? [];
  const y = b.addresses ?? [];
  if (x.length !== y.length) return false;
  if (x.length === 1) return x[0] === y[0];
  const xs = [...x].sort();
  const ys = [...y].sort();
  return xs.every((v, i) => v === ys[i]);
}

/** kube's EndpointsEqualBeyondHash: the fields not covered by sameEndpointIdentity (targetRef RV ignored). */
export function endpointsEqualBeyondKey(a: Endpoint, b: Endpoint): boolean {
  if (a.nodeName !== b.nodeName || a.zone !== b.zone) return false;
  const ca = a.conditions ?? {};
  const cb = b.conditions ?? {};
  if (ca.ready !== cb.ready || ca.serving !== cb.serving || ca.terminating !== cb.terminating) return false;
  const ra = a.targetRef;
  const rb = b.targetRef;
  if (!ra || !rb) return !ra && !rb;
  return (
    (ra.kind ?? '') === (rb.kind ?? '') &&
    (ra.namespace ?? '') === (rb.namespace ?? '') &&
    (ra.name ?? '') === (rb.name ?? '') &&
    (ra.uid ?? '') === (rb.uid ?? '') &&
    (ra.apiVersion ?? '') === (rb.apiVersion ?? '') &&
    (ra.fieldPath ?? '') === (rb.fieldPath ?? '')
  );
}

function isReservedLabel(key: string): boolean {
  return key === LABEL_SERVICE_NAME || key === LABEL_MANAGED_BY || key === LABEL_HEADLESS;
}

/**
 * kube's setEndpointSliceLabels: the Service's labels (reserved keys skipped), the headless
 * marker when the Service has no ClusterIP, then service-name and managed-by. `changed` reports
 * whether the non-reserved labels differ from the slice's (changes to reserved labels alone
 * never cause an update, as in kube).
 */
export function sliceLabels(slice: KObject | undefined, svc: KObject, controllerName: string): { labels: Record<string, string>; changed: boolean } {
  const sliceOwn: Record<string, string> = {};
  for (const [k, v] of Object.entries(slice?.metadata.labels ?? {})) if (!isReservedLabel(k)) sliceOwn[k] = v;
  const labels: Record<string, string> = {};
  for (const [k, v] of Object.entries(svc.metadata.labels ?? {})) if (!isReservedLabel(k)) labels[k] = v;
  const changed = !sameStringMap(sliceOwn, labels);
  const clusterIP = serviceSpec(svc).clusterIP;
  if (!clusterIP || clusterIP === 'None') labels[LABEL_HEADLESS] = '';
  labels[LABEL_SERVICE_NAME] = svc.metadata.name ?? '';
  labels[LABEL_MANAGED_BY] = controllerName;
  return { labels, changed };
}

export function sameStringMap(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && a[k] === b[k]);
}

/** The controller ownerReference a slice carries to its Service. */
export function serviceOwnerRef(svc: KObject): OwnerReference {
  return { apiVersion: 'v1', kind: 'Service', name: svc.metadata.name ?? '', uid: svc.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}

/** kube's ownedBy: some ownerReference names this Service (v1 Service with its uid). */
export function ownedBy(slice: KObject, svc: KObject): boolean {
  return (slice.metadata.ownerReferences ?? []).some((o) => o.uid === svc.metadata.uid && o.kind === 'Service' && o.apiVersion === 'v1');
}

/** A new, unnamed slice (generateName `<service>-`) for one address type and port set. */
export function newSlice(svc: KObject, opts: { addressType: AddressType; ports: EndpointPort[]; controllerName: string }): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      generateName: `${svc.metadata.name ?? ''}-`,
      namespace: svc.metadata.namespace,
      labels: sliceLabels(undefined, svc, opts.controllerName).labels,
      ownerReferences: [serviceOwnerRef(svc)],
    },
    addressType: opts.addressType,
    endpoints: [],
    ports: opts.ports.map((p) => ({ ...p })),
  };
}

export function sliceEndpoints(slice: KObject): Endpoint[] {
  return (slice.endpoints ?? []) as Endpoint[];
}

export function slicePorts(slice: KObject): EndpointPort[] {
  return (slice.ports ?? []) as EndpointPort[];
}
