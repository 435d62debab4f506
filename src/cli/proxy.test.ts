/**
 * `kubelite proxy trace` against a real API server: objects created over HTTP, the command reads
 * them back through the admin kubeconfig, computes, renders and traces.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../test/harness.js';
import { proxyCommand, planTrace } from './proxy.js';

async function run(args: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await proxyCommand(args, { stdout: (s) => (out += s), stderr: (s) => (err += s) });
  return { code, out, err };
}

describe('kubelite proxy trace (real API server)', () => {
  let c: TestCluster;
  let clusterIP = '';
  let nodePort = 0;

  const must = async (method: string, path: string, body: unknown, headers?: Record<string, string>): Promise<Record<string, unknown>> => {
    const r = await c.http(method, path, { body: JSON.stringify(body), ...(headers ? { headers } : {}) });
    assert.ok(r.status >= 200 && r.status < 300, `${method} ${path}: ${r.status} ${r.body}`);
    return r.json();
  };

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    await must('POST', '/api/v1/nodes', { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' } });
    await must('PATCH', '/api/v1/nodes/n1/status', { status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }, { type: 'Hostname', address: 'n1' }] } }, { 'content-type': 'application/merge-patch+json' });
    const svc = await must('POST', '/api/v1/namespaces/default/services', {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' },
      spec: { type: 'NodePort', ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] },
    });
    const spec = svc.spec as { clusterIP: string; ports: Array<{ nodePort: number }> };
    clusterIP = spec.clusterIP;
    nodePort = spec.ports[0]!.nodePort;
    await must('POST', '/apis/discovery.k8s.io/v1/namespaces/default/endpointslices', {
      apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
      metadata: { name: 'web-1', labels: { 'kubernetes.io/service-name': 'web' } },
      addressType: 'IPv4',
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
      endpoints: [
        { addresses: ['10.244.0.5'], nodeName: 'n1', conditions: { ready: true } },
        { addresses: ['10.244.0.6'], nodeName: 'n1', conditions: { ready: true } },
      ],
    });
    await must('POST', '/api/v1/namespaces/default/pods', {
      apiVersion: 'v1', kind: 'Pod', metadata: { name: 'client' },
      spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] },
    });
    await must('PATCH', '/api/v1/namespaces/default/pods/client/status', { status: { podIP: '10.244.0.9', podIPs: [{ ip: '10.244.0.9' }] } }, { 'content-type': 'application/merge-patch+json' });
  });
  after(async () => {
    await c?.close();
  });

  it('traces a pod (by name) to the ClusterIP: service map, both candidates, DNAT, no masquerade', async () => {
    const r = await run(['trace', '--kubeconfig', c.kubeconfig, '--from', 'client', '--to', `${clusterIP}:80`]);
    assert.equal(r.code, 0, r.err);
    assert.match(r.out, /^client: pod default\/client \(10\.244\.0\.9\), origin pod$/m);
    assert.match(r.out, /^node: n1 addresses \[192\.168\.1\.10\], pod CIDRs \[10\.244\.0\.0\/24\]/m);
    assert.match(r.out, /map\/set: service-ips/);
    assert.match(r.out, new RegExp(`${clusterIP.replace(/\./g, '\\.')} \\. tcp \\. 80 found in map service-ips`));
    assert.match(r.out, /candidates: 10\.244\.0\.5:8080, 10\.244\.0\.6:8080/);
    assert.match(r.out, /^verdict: DNAT to 10\.244\.0\.5:8080; source address preserved$/m);
  });

  it('traces an external client to the NodePort as JSON: masqueraded', async () => {
    const r = await run(['trace', '--kubeconfig', c.kubeconfig, '--from', '203.0.113.9', '--to', `192.168.1.10:${nodePort}`, '--output', 'json']);
    assert.equal(r.code, 0, r.err);
    const j = JSON.parse(r.out) as { packet: { origin: string }; verdict: { kind: string; endpoint: string; masquerade: boolean }; steps: Array<{ map?: string }> };
    assert.equal(j.packet.origin, 'external');
    assert.deepEqual([j.verdict.kind, j.verdict.endpoint, j.verdict.masquerade], ['dnat', '10.244.0.5:8080', true]);
    assert.ok(j.steps.some((s) => s.map === 'service-nodeports'));
  });

  it('an address outside the service CIDR, UDP: untouched; an unused service address: dropped', async () => {
    const a = await run(['trace', '--kubeconfig', c.kubeconfig, '--from', '10.244.0.9', '--to', '8.8.8.8:53', '--protocol', 'udp']);
    assert.equal(a.code, 0, a.err);
    assert.match(a.out, /^verdict: ACCEPT/m);
    const unused = clusterIP === '10.96.0.250' ? '10.96.0.251' : '10.96.0.250';
    const d = await run(['trace', '--kubeconfig', c.kubeconfig, '--from', 'default/client', '--to', `${unused}:80`]);
    assert.equal(d.code, 0, d.err);
    assert.match(d.out, /^verdict: DROP/m);
  });

  it('bad flags exit 2 with a message; a missing pod exits 1', async () => {
    const cases: Array<[string[], number, RegExp]> = [
      [['trace', '--from', 'client'], 2, /--to is required/],
      [['trace', '--to', '10.96.0.1:80'], 2, /--from is required/],
      [['trace', '--from', 'client', '--to', '10.96.0.1'], 2, /--to must be IPv4:PORT/],
      [['trace', '--from', 'client', '--to', '10.96.0.1:80', '--protocol', 'ICMP'], 2, /--protocol must be/],
      [['trace', '--from', 'client', '--to', '10.96.0.1:80', '--output', 'yaml'], 2, /--output must be text or json/],
      [['trace', '--from', 'client', '--to', '10.96.0.1:80', '--bogus'], 2, /Unknown option '--bogus'/],
      [['frobnicate'], 2, /unknown subcommand "frobnicate"/],
      [['trace', '--kubeconfig', '', '--from', 'nobody', '--to', '10.96.0.1:80'], 1, /./],
    ];
    for (const [args, code, re] of cases) {
      const r = await run(args.map((a) => (a === '' ? c.kubeconfig : a)));
      assert.equal(r.code, code, `${args.join(' ')}: ${r.err}`);
      assert.match(r.err, re);
    }
    const missing = await run(['trace', '--kubeconfig', c.kubeconfig, '--from', 'nobody', '--to', '10.96.0.1:80']);
    assert.match(missing.err, /pod default\/nobody not found/);
  });
});

describe('planTrace (pure)', () => {
  const node = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { podCIDR: '10.244.0.0/24' }, status: { addresses: [{ type: 'InternalIP', address: '192.168.1.10' }] } };
  const objs = { services: [], slices: [], pods: [], nodes: [node] };
  it('classifies the origin of an address', () => {
    const cases: Array<[string, string]> = [['10.244.0.3', 'pod'], ['192.168.1.10', 'node'], ['203.0.113.1', 'external']];
    for (const [from, origin] of cases) {
      assert.equal(planTrace(objs, { from, to: '10.96.0.1:443', protocol: 'TCP', serviceCIDR: '10.96.0.0/12' }).packet.origin, origin, from);
    }
  });
  it('uses --cluster-cidr over the nodes\' podCIDRs', () => {
    const p = planTrace(objs, { from: '10.245.0.3', to: '10.96.0.1:443', protocol: 'TCP', serviceCIDR: '10.96.0.0/12', clusterCIDR: '10.245.0.0/16' });
    assert.deepEqual(p.state.node.podCIDRs, ['10.245.0.0/16']);
    assert.equal(p.packet.origin, 'pod');
  });
});
