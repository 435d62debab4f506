/**
 * A small cluster, as Service and EndpointSlice objects, covering every Service feature of
 * issue 6 — the tracer tests build the ProxyState from it with computeProxyState, so compute,
 * render and trace are exercised together. Node n1 (192.168.1.10) is "this" node; pods on n1
 * are 10.244.0.x, pods on n2 are 10.244.1.x.
 */
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { computeProxyState } from '../compute.js';
import type { ProxyEndpoint, ProxyNode, ProxyState } from '../types.js';
import type { Ruleset } from './parse.js';
import { tracePacket, type TracePacket } from './trace.js';
import { formatTrace } from './format.js';

export const NODE: ProxyNode = {
  name: 'n1',
  addresses: ['192.168.1.10'],
  serviceCIDRs: ['10.96.0.0/12'],
  podCIDRs: ['10.244.0.0/16'],
};
export const NODE_IP = '192.168.1.10';

/** A Service object; `spec` overrides the ClusterIP/port defaults. */
export function service(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name },
    spec: { type: 'ClusterIP', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
    ...(status ? { status } : {}),
  };
}

export interface EndpointSpec {
  ip: string;
  node?: string;
  ready?: boolean;
  serving?: boolean;
  terminating?: boolean;
}

/** An EndpointSlice of `svc`; ports default to `http` 8080/TCP. */
export function slice(name: string, svc: string, eps: EndpointSpec[], ports: unknown[] = [{ name: 'http', port: 8080, protocol: 'TCP' }]): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': svc } },
    addressType: 'IPv4',
    ports,
    endpoints: eps.map((e) => ({
      addresses: [e.ip],
      conditions: { ready: e.ready ?? true, serving: e.serving ?? e.ready ?? true, terminating: e.terminating ?? false },
      ...(e.node ? { nodeName: e.node } : {}),
    })),
  };
}

const remote = (ip: string): EndpointSpec => ({ ip, node: 'n2' });
const local = (ip: string): EndpointSpec => ({ ip, node: 'n1' });

export const SERVICES: KObject[] = [
  service('web', { clusterIP: '10.96.0.10' }),
  service('np', { type: 'NodePort', clusterIP: '10.96.0.11', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30080 }] }),
  service(
    'lb',
    { type: 'LoadBalancer', clusterIP: '10.96.0.12', loadBalancerSourceRanges: ['198.51.100.0/24'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30081 }] },
    { loadBalancer: { ingress: [{ ip: '203.0.113.5' }] } },
  ),
  service('ext', { clusterIP: '10.96.0.13', externalIPs: ['192.0.2.7'] }),
  service('sticky', { clusterIP: '10.96.0.14', sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 600 } } }),
  service('empty', { type: 'NodePort', clusterIP: '10.96.0.15', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30082 }] }),
  service('loc', { type: 'NodePort', clusterIP: '10.96.0.16', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30083 }] }),
  service('locnone', { type: 'NodePort', clusterIP: '10.96.0.17', externalTrafficPolicy: 'Local', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30084 }] }),
  service('itp', { clusterIP: '10.96.0.18', internalTrafficPolicy: 'Local' }),
  service('itpnone', { clusterIP: '10.96.0.19', internalTrafficPolicy: 'Local' }),
  service('dns', {
    clusterIP: '10.96.0.53',
    ports: [{ name: 'dns', port: 53, protocol: 'UDP', targetPort: 'dns' }, { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 'dns-tcp' }],
  }),
  service('multi', {
    clusterIP: '10.96.0.20',
    ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'metrics', port: 9090, protocol: 'TCP', targetPort: 9100 }],
  }),
  service('named', { clusterIP: '10.96.0.21', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] }),
  service('term', { clusterIP: '10.96.0.22' }),
  service('mixed', { clusterIP: '10.96.0.23' }),
  service('extname', { type: 'ExternalName', externalName: 'example.com', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }),
  service('headless', { clusterIP: 'None' }),
];

export const SLICES: KObject[] = [
  slice('web-1', 'web', [remote('10.244.1.2'), remote('10.244.1.3'), local('10.244.0.4')]),
  slice('np-1', 'np', [remote('10.244.1.5')]),
  slice('lb-1', 'lb', [remote('10.244.1.6')]),
  slice('ext-1', 'ext', [remote('10.244.1.7')]),
  slice('sticky-1', 'sticky', [remote('10.244.1.10'), remote('10.244.1.11')]),
  slice('empty-1', 'empty', []),
  slice('loc-1', 'loc', [remote('10.244.1.12'), local('10.244.0.5')]),
  slice('locnone-1', 'locnone', [remote('10.244.1.13')]),
  slice('itp-1', 'itp', [remote('10.244.1.14'), local('10.244.0.6')]),
  slice('itpnone-1', 'itpnone', [remote('10.244.1.15')]),
  slice('dns-1', 'dns', [remote('10.244.1.9')], [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'dns-tcp', port: 5354, protocol: 'TCP' }]),
  slice('multi-1', 'multi', [remote('10.244.1.16')], [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'metrics', port: 9100, protocol: 'TCP' }]),
  // A named targetPort resolves per pod: the slice controller writes one slice per port number.
  slice('named-a', 'named', [remote('10.244.1.17')], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  slice('named-b', 'named', [remote('10.244.1.18')], [{ name: 'http', port: 9090, protocol: 'TCP' }]),
  // All terminating: the serving ones are used (kube's fallback), the non-serving one never.
  slice('term-1', 'term', [
    { ip: '10.244.1.19', node: 'n2', ready: false, serving: true, terminating: true },
    { ip: '10.244.1.20', node: 'n2', ready: false, serving: false, terminating: true },
  ]),
  // One ready, one terminating: only the ready one.
  slice('mixed-1', 'mixed', [remote('10.244.1.21'), { ip: '10.244.1.22', node: 'n2', ready: false, serving: true, terminating: true }]),
  slice('headless-1', 'headless', [remote('10.244.1.23')]),
];

/** The whole world's ProxyState for node n1. */
export function worldState(): ProxyState {
  return computeProxyState({ services: SERVICES, slices: SLICES, node: NODE });
}

const EXTERNAL_CLIENT = '203.0.113.99';

/**
 * An oracle from the computed plans: for every service port of every state, traffic from a pod to
 * each cluster IP goes to exactly the plan's cluster endpoints (or is rejected/dropped as the
 * plan says), and traffic from outside to each NodePort/externalIP/LB IP to its external endpoints,
 * masqueraded exactly under externalTrafficPolicy Cluster.
 */
export function planChecks(name: string, st: ProxyState): Array<{ what: string; packet: TracePacket; eps: ProxyEndpoint[]; reject: boolean; masq?: boolean }> {
  const out: Array<{ what: string; packet: TracePacket; eps: ProxyEndpoint[]; reject: boolean; masq?: boolean }> = [];
  for (const plan of st.services.values()) {
    const s = plan.svc;
    for (const ip of s.clusterIPs) {
      out.push({ what: `${name} ${s.id} cluster ${ip}`, packet: { src: '10.244.7.7', dst: ip, dport: s.port, protocol: s.protocol, origin: 'pod' }, eps: plan.clusterEndpoints, reject: plan.rejectCluster, masq: false });
    }
    const src = s.loadBalancerSourceRanges.length > 0 ? s.loadBalancerSourceRanges[0]!.replace(/\.0\/\d+$/, '.9') : EXTERNAL_CLIENT;
    const masq = s.externalTrafficPolicy === 'Cluster';
    for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) {
      out.push({ what: `${name} ${s.id} external ${ip}`, packet: { src, dst: ip, dport: s.port, protocol: s.protocol, origin: 'external' }, eps: plan.externalEndpoints, reject: plan.rejectExternal, masq });
    }
    if (s.nodePort !== undefined) {
      out.push({ what: `${name} ${s.id} nodePort ${s.nodePort}`, packet: { src: EXTERNAL_CLIENT, dst: st.node.addresses[0]!, dport: s.nodePort, protocol: s.protocol, origin: 'external' }, eps: plan.externalEndpoints, reject: plan.rejectExternal, masq });
    }
  }
  return out;
}

/**
 * Runs planChecks against a parsed ruleset, walking every numgen alternative; returns the number
 * of DNAT traces made. Throws (assert) on the first disagreement, with the formatted trace.
 */
export function checkPlans(name: string, rs: Ruleset, st: ProxyState): number {
  let n = 0;
  for (const c of planChecks(name, st)) {
    const seen = new Set<string>();
    const want = new Set(c.eps.map((e) => `${e.ip}:${e.port}`));
    for (let i = 0; i < Math.max(1, want.size); i++) {
      const r = tracePacket(rs, c.packet, { localAddresses: st.node.addresses, choose: (cands) => Math.min(i, cands.length - 1) });
      const ctx = `${c.what}\n${formatTrace(r)}`;
      if (want.size === 0) {
        assert.equal(r.verdict.kind, c.reject ? 'reject' : 'drop', ctx);
        continue;
      }
      assert.equal(r.verdict.kind, 'dnat', ctx);
      if (c.masq !== undefined) assert.equal(r.verdict.masquerade, c.masq, ctx);
      if (r.verdict.candidates) assert.deepEqual(new Set(r.verdict.candidates), want, ctx);
      seen.add(r.verdict.endpoint!);
      n++;
    }
    assert.deepEqual(seen, want, c.what);
  }
  return n;
}
