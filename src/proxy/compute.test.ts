import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../api/types.js';
import { computeProxyState, endpointsFor, planService, servicePorts } from './compute.js';
import type { ProxyEndpoint, ServicePortInfo } from './types.js';

function svc(name: string, spec: Record<string, unknown>, status?: Record<string, unknown>): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { namespace: 'default', name, resourceVersion: '1' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
    ...(status ? { status } : {}),
  };
}

function slice(
  name: string,
  service: string,
  opts: { ports?: unknown[]; endpoints?: unknown[]; addressType?: string; ns?: string },
): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: opts.ns ?? 'default', name, labels: { 'kubernetes.io/service-name': service } },
    addressType: opts.addressType ?? 'IPv4',
    ports: opts.ports ?? [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: opts.endpoints ?? [],
  };
}

const ep = (ip: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ addresses: [ip], ...extra });

test('servicePorts: which services are programmed and how fields default', () => {
  const cases: { name: string; svc: KObject; expect: Partial<ServicePortInfo>[] }[] = [
    { name: 'ExternalName', svc: svc('a', { type: 'ExternalName', clusterIP: '', externalName: 'x.example' }), expect: [] },
    { name: 'headless', svc: svc('a', { clusterIP: 'None' }), expect: [] },
    { name: 'no clusterIP', svc: svc('a', { clusterIP: undefined }), expect: [] },
    { name: 'IPv6 only', svc: svc('a', { clusterIP: 'fd00::1', clusterIPs: ['fd00::1'] }), expect: [] },
    {
      name: 'defaults',
      svc: svc('a', { ports: [{ port: 53 }] }),
      expect: [
        {
          id: 'default/a:/TCP', portName: '', protocol: 'TCP', port: 53, clusterIPs: ['10.96.0.10'],
          externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', sessionAffinity: undefined,
          nodePort: undefined, loadBalancerIPs: [], externalIPs: [],
        },
      ],
    },
    {
      name: 'multi-protocol same port number',
      svc: svc('dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] }),
      expect: [
        { id: 'default/dns:dns/UDP', protocol: 'UDP', port: 53 },
        { id: 'default/dns:dns-tcp/TCP', protocol: 'TCP', port: 53 },
      ],
    },
    {
      name: 'affinity default timeout',
      svc: svc('a', { sessionAffinity: 'ClientIP' }),
      expect: [{ sessionAffinity: { timeoutSeconds: 10800 } }],
    },
    {
      name: 'affinity explicit timeout',
      svc: svc('a', { sessionAffinity: 'ClientIP', sessionAffinityConfig: { clientIP: { timeoutSeconds: 60 } } }),
      expect: [{ sessionAffinity: { timeoutSeconds: 60 } }],
    },
    {
      name: 'LoadBalancer with ingress, Local policy, health check port',
      svc: svc(
        'lb',
        {
          type: 'LoadBalancer', externalTrafficPolicy: 'Local', healthCheckNodePort: 32000,
          ports: [{ name: 'http', port: 80, nodePort: 30080 }], externalIPs: ['1.2.3.4'],
          loadBalancerSourceRanges: ['10.0.0.0/8'],
        },
        {
          loadBalancer: {
            ingress: [{ ip: '5.6.7.8' }, { hostname: 'lb.example' }, { ip: '9.9.9.9', ipMode: 'Proxy' }, { ip: '7.7.7.7', ipMode: 'VIP' }],
          },
        },
      ),
      expect: [
        {
          nodePort: 30080, loadBalancerIPs: ['5.6.7.8', '7.7.7.7'], externalIPs: ['1.2.3.4'],
          externalTrafficPolicy: 'Local', healthCheckNodePort: 32000, loadBalancerSourceRanges: ['10.0.0.0/8'],
        },
      ],
    },
    {
      name: 'health check port ignored for Cluster policy',
      svc: svc('lb', { type: 'LoadBalancer', healthCheckNodePort: 32000, internalTrafficPolicy: 'Local' }),
      expect: [{ healthCheckNodePort: undefined, internalTrafficPolicy: 'Local' }],
    },
  ];
  for (const c of cases) {
    const got = servicePorts(c.svc);
    assert.equal(got.length, c.expect.length, c.name);
    c.expect.forEach((want, i) => {
      for (const [k, v] of Object.entries(want)) {
        assert.deepEqual(got[i]![k as keyof ServicePortInfo], v, `${c.name}: ${k}`);
      }
    });
  }
});

test('servicePorts: type change ClusterIP -> ExternalName -> ClusterIP', () => {
  assert.equal(servicePorts(svc('a', {})).length, 1);
  assert.equal(servicePorts(svc('a', { type: 'ExternalName', clusterIP: '' })).length, 0);
  assert.equal(servicePorts(svc('a', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30001 }] }))[0]!.nodePort, 30001);
});

test('endpointsFor: slice selection, port matching and condition defaulting', () => {
  const port = servicePorts(svc('web', { ports: [{ name: 'http', port: 80 }, { name: 'http', port: 80, protocol: 'UDP' }] }));
  const tcp = port[0]!;
  const udp = port[1]!;
  const slices: KObject[] = [
    slice('web-a', 'web', {
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }, { name: 'http', port: 9090, protocol: 'UDP' }],
      endpoints: [
        ep('10.0.0.1', { nodeName: 'n1', zone: 'z1' }),
        ep('10.0.0.2', { conditions: { ready: false } }),
        ep('10.0.0.3', { conditions: { ready: false, serving: true, terminating: true }, nodeName: 'n2' }),
        ep('10.0.0.4', { conditions: { ready: false, terminating: true } }), // serving unset = ready
        ep('10.0.0.1', { nodeName: 'n9' }), // non-local duplicate: the local copy stays
      ],
    }),
    slice('web-b', 'web', { ports: [{ name: 'other', port: 7000 }], endpoints: [ep('10.0.0.9')] }),
    slice('web-c', 'web', { addressType: 'IPv6', endpoints: [ep('fd00::9')] }),
    slice('other', 'api', { endpoints: [ep('10.0.0.8')] }),
    slice('web-ns', 'web', { ns: 'kube-system', endpoints: [ep('10.0.0.7')] }),
    slice('web-d', 'web', { endpoints: [ep('10.0.0.2', { nodeName: 'n1', conditions: { ready: true } })] }),
  ];
  const got = endpointsFor(tcp, slices, 'n1');
  assert.deepEqual(
    got.map((e) => [e.ip, e.port, e.ready, e.serving, e.terminating, e.isLocal, e.nodeName ?? '', e.zone ?? '']),
    [
      ['10.0.0.1', 8080, true, true, false, true, 'n1', 'z1'],
      ['10.0.0.2', 8080, true, true, false, true, 'n1', ''], // local duplicate from web-d wins
      ['10.0.0.3', 8080, false, true, true, false, 'n2', ''],
      ['10.0.0.4', 8080, false, false, true, false, '', ''],
    ],
  );
  assert.deepEqual(endpointsFor(udp, slices, 'n1').map((e) => `${e.ip}:${e.port}`), ['10.0.0.1:9090', '10.0.0.2:9090', '10.0.0.3:9090', '10.0.0.4:9090']);
});

const E = (ip: string, f: Partial<ProxyEndpoint>): ProxyEndpoint => ({
  ip, port: 80, ready: true, serving: true, terminating: false, isLocal: false, ...f,
});

test('planService: CategorizeEndpoints rules', () => {
  const base = servicePorts(svc('a', { type: 'NodePort', ports: [{ name: 'http', port: 80, nodePort: 30080 }] }))[0]!;
  const readyLocal = E('1.1.1.1', { isLocal: true });
  const readyRemote = E('1.1.1.2', {});
  const termLocal = E('1.1.1.3', { ready: false, terminating: true, isLocal: true });
  const termRemote = E('1.1.1.4', { ready: false, terminating: true });
  const notServing = E('1.1.1.5', { ready: false, serving: false, terminating: true, isLocal: true });
  const unready = E('1.1.1.6', { ready: false, serving: false });
  type Row = {
    name: string; svc?: Partial<ServicePortInfo>; eps: ProxyEndpoint[];
    cluster: string[]; external: string[]; local: string[]; reject: boolean;
  };
  const ips = (l: ProxyEndpoint[]): string[] => l.map((e) => e.ip);
  const rows: Row[] = [
    { name: 'no endpoints', eps: [], cluster: [], external: [], local: [], reject: true },
    { name: 'only unready', eps: [unready, notServing], cluster: [], external: [], local: [], reject: true },
    { name: 'ready only', eps: [readyLocal, readyRemote, termRemote], cluster: ['1.1.1.1', '1.1.1.2'], external: ['1.1.1.1', '1.1.1.2'], local: ['1.1.1.1'], reject: false },
    { name: 'terminating fallback', eps: [termLocal, termRemote, notServing, unready], cluster: ['1.1.1.3', '1.1.1.4'], external: ['1.1.1.3', '1.1.1.4'], local: ['1.1.1.3'], reject: false },
    { name: 'internal Local', svc: { internalTrafficPolicy: 'Local' }, eps: [readyLocal, readyRemote], cluster: ['1.1.1.1'], external: ['1.1.1.1', '1.1.1.2'], local: ['1.1.1.1'], reject: false },
    { name: 'internal Local, no local: drop not reject', svc: { internalTrafficPolicy: 'Local' }, eps: [readyRemote], cluster: [], external: ['1.1.1.2'], local: [], reject: false },
    { name: 'external Local', svc: { externalTrafficPolicy: 'Local' }, eps: [readyLocal, readyRemote], cluster: ['1.1.1.1', '1.1.1.2'], external: ['1.1.1.1'], local: ['1.1.1.1'], reject: false },
    { name: 'external Local, local terminating only while remote ready', svc: { externalTrafficPolicy: 'Local' }, eps: [termLocal, readyRemote], cluster: ['1.1.1.2'], external: ['1.1.1.3'], local: ['1.1.1.3'], reject: false },
    { name: 'external Local but not externally accessible', svc: { externalTrafficPolicy: 'Local', nodePort: undefined }, eps: [readyLocal, readyRemote], cluster: ['1.1.1.1', '1.1.1.2'], external: ['1.1.1.1', '1.1.1.2'], local: ['1.1.1.1'], reject: false },
  ];
  for (const r of rows) {
    const p = planService({ ...base, ...r.svc }, r.eps);
    assert.deepEqual(ips(p.clusterEndpoints), r.cluster, `${r.name}: cluster`);
    assert.deepEqual(ips(p.externalEndpoints), r.external, `${r.name}: external`);
    assert.deepEqual(ips(p.localEndpoints), r.local, `${r.name}: local`);
    assert.equal(p.rejectCluster, r.reject, `${r.name}: rejectCluster`);
    assert.equal(p.rejectExternal, r.reject, `${r.name}: rejectExternal`);
  }
});

test('computeProxyState: all ports of all services, slices of others ignored', () => {
  const node = { name: 'n1', addresses: ['192.168.1.10'], serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'] };
  const state = computeProxyState({
    node,
    services: [
      svc('web', {}),
      svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns', port: 53, protocol: 'TCP' }] }),
      svc('headless', { clusterIP: 'None' }),
    ],
    slices: [
      slice('web-1', 'web', { endpoints: [ep('10.244.0.5', { nodeName: 'n1' })] }),
      slice('dns-1', 'dns', { ports: [{ name: 'dns', port: 53, protocol: 'UDP' }], endpoints: [ep('10.244.0.6')] }),
      slice('headless-1', 'headless', { endpoints: [ep('10.244.0.7')] }),
      slice('orphan', '', { endpoints: [ep('10.244.0.8')] }),
    ],
  });
  assert.equal(state.node, node);
  assert.deepEqual([...state.services.keys()].sort(), ['default/dns:dns/TCP', 'default/dns:dns/UDP', 'default/web:http/TCP']);
  assert.deepEqual(state.services.get('default/web:http/TCP')!.clusterEndpoints.map((e) => [e.ip, e.port, e.isLocal]), [['10.244.0.5', 8080, true]]);
  assert.deepEqual(state.services.get('default/dns:dns/UDP')!.clusterEndpoints.map((e) => e.ip), ['10.244.0.6']);
  assert.equal(state.services.get('default/dns:dns/TCP')!.rejectCluster, true);
});
