/** Hand-built ProxyStates shared by the render and trace tests. */
import type { ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from '../types.js';

export function ep(ip: string, opts: Partial<ProxyEndpoint> = {}): ProxyEndpoint {
  return { ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: false, ...opts };
}

export function svc(name: string, opts: Partial<ServicePortInfo> = {}): ServicePortInfo {
  return {
    id: `default/${name}:http/TCP`, namespace: 'default', name, portName: 'http', protocol: 'TCP',
    clusterIPs: ['10.96.0.10'], port: 80, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [],
    externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', ...opts,
  };
}

export function plan(s: ServicePortInfo, eps: ProxyEndpoint[], opts: Partial<ServicePlan> = {}): ServicePlan {
  return {
    svc: s, clusterEndpoints: eps, externalEndpoints: eps, localEndpoints: eps.filter((e) => e.isLocal),
    rejectCluster: eps.length === 0, rejectExternal: eps.length === 0, ...opts,
  };
}

export function state(plans: ServicePlan[]): ProxyState {
  return {
    node: { name: 'n1', addresses: ['192.168.1.10'], serviceCIDRs: ['10.96.0.0/16'], podCIDRs: ['10.244.0.0/16'] },
    services: new Map(plans.map((p) => [p.svc.id, p])),
  };
}

const three = [ep('10.244.1.2'), ep('10.244.1.3'), ep('10.244.1.4')];
const local = ep('10.244.0.5', { isLocal: true, nodeName: 'n1' });

/** name → state; each is a golden fixture in testdata/<name>.nft. */
export const CASES: Record<string, ProxyState> = {
  clusterip: state([plan(svc('web'), three)]),
  nodeport: state([plan(svc('np', { nodePort: 30080, clusterIPs: ['10.96.0.11'] }), [three[0]!])]),
  lb: state([plan(svc('lb', { clusterIPs: ['10.96.0.12'], nodePort: 30081, loadBalancerIPs: ['203.0.113.5'], loadBalancerSourceRanges: ['198.51.100.0/24'] }), [three[0]!])]),
  externalips: state([plan(svc('ext', { clusterIPs: ['10.96.0.13'], externalIPs: ['192.0.2.7'] }), [three[1]!])]),
  affinity: state([plan(svc('sticky', { clusterIPs: ['10.96.0.14'], sessionAffinity: { timeoutSeconds: 10800 } }), three.slice(0, 2))]),
  noendpoints: state([plan(svc('empty', { clusterIPs: ['10.96.0.15'], nodePort: 30082 }), [])]),
  etplocal: state([plan(svc('loc', { clusterIPs: ['10.96.0.16'], nodePort: 30083, externalTrafficPolicy: 'Local' }), [...three, local], { externalEndpoints: [local] })]),
  // Endpoints exist, none on this node: external traffic is dropped (not rejected); pods and the node still reach the cluster endpoints.
  'etplocal-nolocal': state([plan(svc('locnone', { clusterIPs: ['10.96.0.17'], nodePort: 30084, externalIPs: ['192.0.2.8'], externalTrafficPolicy: 'Local' }), three, { externalEndpoints: [], localEndpoints: [] })]),
  // internalTrafficPolicy Local without a local endpoint: cluster traffic is dropped.
  'itplocal-nolocal': state([plan(svc('itp', { clusterIPs: ['10.96.0.18'], internalTrafficPolicy: 'Local' }), three, { clusterEndpoints: [], localEndpoints: [] })]),
  // internalTrafficPolicy Local with NodePort (externalTrafficPolicy Cluster): internal dropped, external balanced over all endpoints.
  'itplocal-nodeport': state([plan(svc('itpnp', { clusterIPs: ['10.96.0.19'], nodePort: 30085, internalTrafficPolicy: 'Local' }), three, { clusterEndpoints: [], localEndpoints: [] })]),
  udp: state([plan(svc('dns', { id: 'default/dns:dns/UDP', portName: 'dns', protocol: 'UDP', clusterIPs: ['10.96.0.20'], port: 53 }), [ep('10.244.1.5', { port: 53 })])]),
  'udp-noendpoints': state([plan(svc('dnsnone', { id: 'default/dnsnone:dns/UDP', portName: 'dns', protocol: 'UDP', clusterIPs: ['10.96.0.21'], port: 53, nodePort: 30053 }), [])]),
  // One Service, two ports sharing a cluster IP (one cluster-ips element).
  twoports: state([
    plan(svc('multi', { clusterIPs: ['10.96.0.22'] }), [three[0]!]),
    plan(svc('multi', { id: 'default/multi:https/TCP', portName: 'https', clusterIPs: ['10.96.0.22'], port: 443 }), [ep('10.244.1.2', { port: 8443 })]),
  ]),
};

/** n services × 3 endpoints, as in the benchmark. */
export function bigState(n: number): ProxyState {
  const plans = [];
  for (let i = 0; i < n; i++) {
    const eps = [1, 2, 3].map((k) => ep(`10.${128 + ((i * 3 + k) >> 16)}.${((i * 3 + k) >> 8) & 255}.${(i * 3 + k) & 255}`));
    plans.push(plan(svc(`s${i}`, { id: `ns/s${i}:http/TCP`, clusterIPs: [`10.96.${i >> 8}.${i & 255}`] }), eps));
  }
  return state(plans);
}
