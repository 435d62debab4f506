/**
 * Pure computation of the proxy's desired state from Services and EndpointSlices (IPv4 only).
 * Mirrors kube-proxy's ServicePortInfo construction, EndpointSliceCache and CategorizeEndpoints
 * so every renderer sees exactly what kube-proxy would program. Topology hints are not yet
 * applied (every ready endpoint is available to every zone).
 */
import { isObject, type KObject } from '../api/types.js';
import type { Protocol, ProxyEndpoint, ProxyNode, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

export const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const DEFAULT_AFFINITY_TIMEOUT = 10800;

type Rec = Record<string, unknown>;
const rec = (v: unknown): Rec => (isObject(v) ? v : {});
const arr = (v: unknown): unknown[] => (Array.isArray(v) ? v : []);
const strs = (v: unknown): string[] => arr(v).filter((x): x is string => typeof x === 'string' && x !== '');
const isV4 = (ip: string): boolean => /^\d{1,3}(\.\d{1,3}){3}(\/\d{1,2})?$/.test(ip.trim());

function protocolOf(v: unknown): Protocol {
  return v === 'UDP' || v === 'SCTP' ? v : 'TCP';
}

/** The stable id of a service port: `<ns>/<name>:<portName>/<protocol>`. */
export function servicePortId(ns: string, name: string, opts: { portName: string; protocol: Protocol }): string {
  return `${ns}/${name}:${opts.portName}/${opts.protocol}`;
}

/** `<namespace>/<name>` of a Service, or of the Service an EndpointSlice belongs to (undefined if unlabelled). */
export function serviceKeyOf(obj: KObject): string | undefined {
  const ns = obj.metadata.namespace ?? '';
  if (obj.kind === 'EndpointSlice' || obj.addressType !== undefined) {
    const svc = obj.metadata.labels?.[SERVICE_NAME_LABEL];
    return svc ? `${ns}/${svc}` : undefined;
  }
  return `${ns}/${obj.metadata.name ?? ''}`;
}

/**
 * One entry per spec.ports entry of a Service this proxy programs. Like kube-proxy, skips
 * ExternalName Services and those without a (IPv4) cluster IP, including headless ones.
 */
export function servicePorts(svc: KObject): ServicePortInfo[] {
  const spec = rec(svc.spec);
  const type = typeof spec.type === 'string' ? spec.type : 'ClusterIP';
  if (type === 'ExternalName') return [];
  const clusterIP = typeof spec.clusterIP === 'string' ? spec.clusterIP : '';
  if (clusterIP === '' || clusterIP === 'None') return [];
  const all = strs(spec.clusterIPs);
  const clusterIPs = (all.length > 0 ? all : [clusterIP]).filter(isV4);
  if (clusterIPs.length === 0) return [];
  const ns = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const externalTrafficPolicy = spec.externalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  const internalTrafficPolicy = spec.internalTrafficPolicy === 'Local' ? 'Local' : 'Cluster';
  // kube-proxy ignores ingress points whose ipMode is Proxy: the LB delivers to the node, not the VIP.
  const loadBalancerIPs = arr(rec(rec(svc.status).loadBalancer).ingress)
    .map(rec)
    .filter((i) => i.ipMode === undefined || i.ipMode === null || i.ipMode === 'VIP')
    .map((i) => (typeof i.ip === 'string' ? i.ip : ''))
    .filter((ip) => ip !== '' && isV4(ip));
  let sessionAffinity: ServicePortInfo['sessionAffinity'];
  if (spec.sessionAffinity === 'ClientIP') {
    const t = rec(rec(spec.sessionAffinityConfig).clientIP).timeoutSeconds;
    sessionAffinity = { timeoutSeconds: typeof t === 'number' && t > 0 ? t : DEFAULT_AFFINITY_TIMEOUT };
  }
  const hc = spec.healthCheckNodePort;
  const healthCheckNodePort =
    type === 'LoadBalancer' && externalTrafficPolicy === 'Local' && typeof hc === 'number' && hc > 0 ? hc : undefined;
  const out: ServicePortInfo[] = [];
  for (const p of arr(spec.ports).map(rec)) {
    if (typeof p.port !== 'number') continue;
    const portName = typeof p.name === 'string' ? p.name : '';
    const protocol = protocolOf(p.protocol);
    const info: ServicePortInfo = {
      id: servicePortId(ns, name, { portName, protocol }),
      namespace: ns,
      name,
      portName,
      protocol,
      clusterIPs: [...clusterIPs],
      port: p.port,
      externalIPs: strs(spec.externalIPs).filter(isV4),
      loadBalancerIPs: [...loadBalancerIPs],
      loadBalancerSourceRanges: strs(spec.loadBalancerSourceRanges).map((s) => s.trim()).filter(isV4),
      externalTrafficPolicy,
      internalTrafficPolicy,
    };
    if (typeof p.nodePort === 'number' && p.nodePort > 0) info.nodePort = p.nodePort;
    if (healthCheckNodePort !== undefined) info.healthCheckNodePort = healthCheckNodePort;
    if (sessionAffinity) info.sessionAffinity = { ...sessionAffinity };
    out.push(info);
  }
  return out;
}

/**
 * The endpoints of one service port from the Service's IPv4 EndpointSlices (others are ignored).
 * A slice port matches by name AND protocol (kube's ServicePortName). Conditions default as in
 * kube: ready unset = true, serving unset = ready, terminating unset = false. Duplicates
 * (same ip:port in several slices) collapse to one, a local copy winning.
 */
export function endpointsFor(port: ServicePortInfo, slices: KObject[], nodeName: string): ProxyEndpoint[] {
  const mine = slices
    .filter(
      (s) =>
        s.metadata.namespace === port.namespace &&
        s.metadata.labels?.[SERVICE_NAME_LABEL] === port.name &&
        s.addressType === 'IPv4',
    )
    .sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
  const byKey = new Map<string, ProxyEndpoint>();
  for (const slice of mine) {
    const sp = arr(slice.ports)
      .map(rec)
      .find((p) => (typeof p.name === 'string' ? p.name : '') === port.portName && protocolOf(p.protocol) === port.protocol);
    if (!sp || typeof sp.port !== 'number' || sp.port <= 0) continue;
    for (const e of arr(slice.endpoints).map(rec)) {
      const ip = strs(e.addresses)[0];
      if (ip === undefined || !isV4(ip)) continue;
      const c = rec(e.conditions);
      const ready = typeof c.ready === 'boolean' ? c.ready : true;
      const serving = typeof c.serving === 'boolean' ? c.serving : ready;
      const terminating = c.terminating === true;
      const ep: ProxyEndpoint = { ip, port: sp.port, ready, serving, terminating, isLocal: false };
      if (typeof e.nodeName === 'string' && e.nodeName !== '') ep.nodeName = e.nodeName;
      if (typeof e.zone === 'string' && e.zone !== '') ep.zone = e.zone;
      ep.isLocal = ep.nodeName !== undefined && ep.nodeName === nodeName;
      const key = `${ip}:${sp.port}`;
      if (!byKey.has(key) || ep.isLocal) byKey.set(key, ep);
    }
  }
  return [...byKey.values()];
}

/** NodePort, externalIPs or LB IPs: only then does externalTrafficPolicy matter (kube's ExternallyAccessible). */
export function externallyAccessible(svc: ServicePortInfo): boolean {
  return svc.nodePort !== undefined || svc.externalIPs.length > 0 || svc.loadBalancerIPs.length > 0;
}

const servingTerminating = (e: ProxyEndpoint): boolean => !e.ready && e.serving && e.terminating;

/**
 * kube-proxy's CategorizeEndpoints. Cluster set: ready endpoints, else serving+terminating ones.
 * Local set: local ready endpoints, else local serving+terminating ones. Internal traffic uses the
 * local set under internalTrafficPolicy Local, external traffic under externalTrafficPolicy Local
 * (if externally accessible). Reject (rather than drop) only when no usable endpoint exists
 * anywhere; an empty set with the reject flag false means "drop" (Local policy, no local endpoint).
 */
export function planService(port: ServicePortInfo, endpoints: ProxyEndpoint[]): ServicePlan {
  const ready = endpoints.filter((e) => e.ready);
  const clusterSet = ready.length > 0 ? ready : endpoints.filter(servingTerminating);
  const localReady = ready.filter((e) => e.isLocal);
  const localEndpoints = localReady.length > 0 ? localReady : endpoints.filter((e) => e.isLocal && servingTerminating(e));
  const hasAny = clusterSet.length > 0;
  const externalLocal = port.externalTrafficPolicy === 'Local' && externallyAccessible(port);
  const clusterEndpoints = port.internalTrafficPolicy === 'Local' ? localEndpoints : clusterSet;
  const externalEndpoints = externalLocal ? localEndpoints : clusterSet;
  return {
    svc: port,
    clusterEndpoints: [...clusterEndpoints],
    externalEndpoints: [...externalEndpoints],
    localEndpoints: [...localEndpoints],
    rejectCluster: !hasAny,
    rejectExternal: !hasAny,
  };
}

/** The plans of every port of one Service. */
export function planServiceObject(svc: KObject, slices: KObject[], nodeName: string): ServicePlan[] {
  return servicePorts(svc).map((p) => planService(p, endpointsFor(p, slices, nodeName)));
}

/** The whole desired state for one node, keyed by ServicePortInfo.id. */
export function computeProxyState(input: { services: KObject[]; slices: KObject[]; node: ProxyNode }): ProxyState {
  const bySvc = new Map<string, KObject[]>();
  for (const s of input.slices) {
    const k = serviceKeyOf(s);
    if (k === undefined) continue;
    const list = bySvc.get(k) ?? [];
    list.push(s);
    bySvc.set(k, list);
  }
  const services = new Map<string, ServicePlan>();
  for (const svc of input.services) {
    for (const plan of planServiceObject(svc, bySvc.get(serviceKeyOf(svc) ?? '') ?? [], input.node.name)) {
      services.set(plan.svc.id, plan);
    }
  }
  return { node: input.node, services };
}
