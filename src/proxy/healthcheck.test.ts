import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import {
  ProxyHealthServer, ServiceHealthServer, TO_BE_DELETED_TAINT, goTimeString, healthCheckTargets, serviceHealthBody,
} from './healthcheck.js';
import { ProxyMetrics } from './metrics.js';
import type { ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

const T0 = Date.parse('2024-05-01T10:00:00Z');

class FakeClock {
  constructor(public t = T0) {}
  now(): number {
    return this.t;
  }
}

test('goTimeString renders Go time.Time String() in UTC', () => {
  const cases: [number, string][] = [
    [0, '0001-01-01 00:00:00 +0000 UTC'],
    [T0, '2024-05-01 10:00:00 +0000 UTC'],
    [T0 + 500, '2024-05-01 10:00:00.5 +0000 UTC'],
    [T0 + 123, '2024-05-01 10:00:00.123 +0000 UTC'],
    [T0 + 120, '2024-05-01 10:00:00.12 +0000 UTC'],
  ];
  for (const [ms, want] of cases) assert.equal(goTimeString(ms), want);
});

test('ProxyHealthServer: healthz/livez status and bodies over time', () => {
  const node = (extra: Record<string, unknown>): { metadata: Record<string, unknown>; spec?: unknown } => ({ metadata: { name: 'n1' }, ...extra });
  type Step = (s: ProxyHealthServer, c: FakeClock) => void;
  const cases: { name: string; steps: Step[]; healthz: [number, string]; livez: [number, string] }[] = [
    {
      name: 'starting up: healthy',
      steps: [(_, c) => (c.t = T0 + 1000)],
      healthz: [200, '{"lastUpdated": "2024-05-01 10:00:01 +0000 UTC","currentTime": "2024-05-01 10:00:01 +0000 UTC", "nodeEligible": true}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:00:01 +0000 UTC","currentTime": "2024-05-01 10:00:01 +0000 UTC"}'],
    },
    {
      name: 'queued before any sync: still starting up',
      steps: [(s) => s.queuedUpdate(), (_, c) => (c.t = T0 + 120_000)],
      healthz: [200, '{"lastUpdated": "2024-05-01 10:02:00 +0000 UTC","currentTime": "2024-05-01 10:02:00 +0000 UTC", "nodeEligible": true}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:02:00 +0000 UTC","currentTime": "2024-05-01 10:02:00 +0000 UTC"}'],
    },
    {
      name: 'pending change younger than the timeout',
      steps: [(s) => s.updated(), (_, c) => (c.t += 5000), (s) => s.queuedUpdate(), (_, c) => (c.t += 59_999)],
      healthz: [200, '{"lastUpdated": "2024-05-01 10:01:04.999 +0000 UTC","currentTime": "2024-05-01 10:01:04.999 +0000 UTC", "nodeEligible": true}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:01:04.999 +0000 UTC","currentTime": "2024-05-01 10:01:04.999 +0000 UTC"}'],
    },
    {
      name: 'pending change older than the timeout: unhealthy, reports the last update',
      steps: [
        (s) => s.updated(), (_, c) => (c.t += 5000), (s) => s.queuedUpdate(), (_, c) => (c.t += 30_000),
        (s) => s.queuedUpdate(), (_, c) => (c.t += 30_000),
      ],
      healthz: [503, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:01:05 +0000 UTC", "nodeEligible": true}'],
      livez: [503, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:01:05 +0000 UTC"}'],
    },
    {
      name: 'late change applied: healthy again',
      steps: [(s) => s.updated(), (s) => s.queuedUpdate(), (_, c) => (c.t += 90_000), (s) => s.updated()],
      healthz: [200, '{"lastUpdated": "2024-05-01 10:01:30 +0000 UTC","currentTime": "2024-05-01 10:01:30 +0000 UTC", "nodeEligible": true}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:01:30 +0000 UTC","currentTime": "2024-05-01 10:01:30 +0000 UTC"}'],
    },
    {
      name: 'one family stale makes the proxy unhealthy',
      steps: [(s) => s.updated('IPv4'), (s) => s.updated('IPv6'), (s) => s.queuedUpdate('IPv6'), (_, c) => (c.t += 60_000), (s) => s.updated('IPv4')],
      healthz: [503, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:01:00 +0000 UTC", "nodeEligible": true}'],
      livez: [503, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:01:00 +0000 UTC"}'],
    },
    {
      name: 'node tainted for deletion: healthz fails, livez does not',
      steps: [(s) => s.updated(), (s) => s.syncNode(node({ spec: { taints: [{ key: TO_BE_DELETED_TAINT, effect: 'NoSchedule' }] } }) as never)],
      healthz: [503, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC", "nodeEligible": false}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC"}'],
    },
    {
      name: 'node being deleted',
      steps: [(s) => s.syncNode({ metadata: { name: 'n1', deletionTimestamp: '2024-05-01T09:00:00Z' } })],
      healthz: [503, '{"lastUpdated": "0001-01-01 00:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC", "nodeEligible": false}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC"}'],
    },
    {
      name: 'node eligible again after the taint goes',
      steps: [
        (s) => s.syncNode(node({ spec: { taints: [{ key: TO_BE_DELETED_TAINT }] } }) as never),
        (s) => s.syncNode(node({ spec: { taints: [{ key: 'other' }] } }) as never),
      ],
      healthz: [200, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC", "nodeEligible": true}'],
      livez: [200, '{"lastUpdated": "2024-05-01 10:00:00 +0000 UTC","currentTime": "2024-05-01 10:00:00 +0000 UTC"}'],
    },
  ];
  for (const c of cases) {
    const clock = new FakeClock();
    const s = new ProxyHealthServer({ clock, healthTimeoutMs: 60_000 });
    for (const step of c.steps) step(s, clock);
    const hz = s.healthz();
    const lz = s.livez();
    assert.deepEqual([hz.status, hz.body], c.healthz, `${c.name}: healthz`);
    assert.deepEqual([lz.status, lz.body], c.livez, `${c.name}: livez`);
    assert.equal(s.isHealthy(), c.livez[0] === 200, `${c.name}: isHealthy`);
  }
});

test('ProxyHealthServer over HTTP: headers, paths, metrics', async () => {
  const clock = new FakeClock();
  const metrics = new ProxyMetrics();
  const s = new ProxyHealthServer({ clock, metrics });
  const port = await s.listen({ host: '127.0.0.1', port: 0 });
  try {
    const base = `http://127.0.0.1:${port}`;
    const ok = await fetch(`${base}/healthz?verbose=1`);
    assert.equal(ok.status, 200);
    assert.equal(ok.headers.get('content-type'), 'application/json');
    assert.equal(ok.headers.get('x-content-type-options'), 'nosniff');
    assert.match(await ok.text(), /"nodeEligible": true}$/);
    s.updated();
    s.queuedUpdate();
    clock.t += 61_000;
    const bad = await fetch(`${base}/livez`);
    assert.equal(bad.status, 503);
    await bad.text();
    const nf = await fetch(`${base}/healthz/extra`);
    assert.equal(nf.status, 404);
    assert.equal(await nf.text(), '404 page not found\n');
    const out = metrics.render();
    assert.match(out, /^kubeproxy_proxy_healthz_total\{code="200"\} 1$/m);
    assert.match(out, /^kubeproxy_proxy_livez_total\{code="503"\} 1$/m);
  } finally {
    await s.close();
  }
});

test('serviceHealthBody is kube-proxy\'s dedented JSON', () => {
  assert.equal(
    serviceHealthBody('web/front', 2, true),
    '{\n\t"service": {\n\t\t"namespace": "web",\n\t\t"name": "front"\n\t},\n\t"localEndpoints": 2,\n\t"serviceProxyHealthy": true\n}',
  );
  assert.deepEqual(JSON.parse(serviceHealthBody('a/b', 0, false)), {
    service: { namespace: 'a', name: 'b' }, localEndpoints: 0, serviceProxyHealthy: false,
  });
});

const info = (name: string, portName: string, extra: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  id: `ns/${name}:${portName}/TCP`, namespace: 'ns', name, portName, protocol: 'TCP', clusterIPs: ['10.96.0.1'], port: 80,
  externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Local', internalTrafficPolicy: 'Cluster', ...extra,
});
const ep = (ip: string, port: number, ready = true): ProxyEndpoint => ({ ip, port, ready, serving: true, terminating: !ready, isLocal: true });
const plan = (svc: ServicePortInfo, local: ProxyEndpoint[]): ServicePlan => ({
  svc, clusterEndpoints: local, externalEndpoints: local, localEndpoints: local, rejectCluster: false, rejectExternal: false,
});

test('healthCheckTargets: ports of Local LB services and distinct local ready endpoint IPs', () => {
  const plans = [
    plan(info('lb', 'http', { healthCheckNodePort: 31000 }), [ep('10.244.0.5', 8080), ep('10.244.0.6', 8080)]),
    plan(info('lb', 'https', { healthCheckNodePort: 31000 }), [ep('10.244.0.5', 8443)]),
    plan(info('draining', '', { healthCheckNodePort: 31001 }), [ep('10.244.0.7', 80, false)]),
    plan(info('plain', ''), [ep('10.244.0.8', 80)]),
  ];
  const state: ProxyState = { node: { name: 'n', addresses: [], serviceCIDRs: [], podCIDRs: [] }, services: new Map(plans.map((p) => [p.svc.id, p])) };
  const got = healthCheckTargets(state);
  assert.deepEqual([...got.services], [['ns/lb', { port: 31000 }], ['ns/draining', { port: 31001 }]]);
  assert.deepEqual([...got.endpoints].sort(), [['ns/lb', 2], ['ns/plain', 1]]);
});

async function freePort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const port = (s.address() as net.AddressInfo).port;
  await new Promise((r) => s.close(r));
  return port;
}

async function get(port: number): Promise<{ status: number; body: string; headers: Headers } | 'refused'> {
  try {
    const res = await fetch(`http://127.0.0.1:${port}/`);
    return { status: res.status, body: await res.text(), headers: res.headers };
  } catch {
    return 'refused';
  }
}

test('ServiceHealthServer opens, answers, moves and closes per-service listeners', async () => {
  const [p1, p2, p3] = [await freePort(), await freePort(), await freePort()];
  let proxyOk = true;
  const errors: string[] = [];
  const hs = new ServiceHealthServer({ addresses: ['127.0.0.1'], proxyHealthy: () => proxyOk, onError: (e) => errors.push(`${e.service}:${e.port}`) });
  try {
    await hs.syncServices(new Map([['ns/a', { port: p1 }], ['ns/b', { port: p2 }]]));
    const first = await get(p1);
    assert.ok(first !== 'refused');
    assert.equal(first.status, 503, 'no endpoints yet');
    assert.equal(first.headers.get('content-type'), 'application/json');
    assert.equal(first.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(first.body, serviceHealthBody('ns/a', 0, true));

    hs.syncEndpoints(new Map([['ns/a', 2], ['ns/unknown', 5]]));
    const a = await get(p1);
    const b = await get(p2);
    assert.ok(a !== 'refused' && b !== 'refused');
    assert.deepEqual([a.status, a.body], [200, serviceHealthBody('ns/a', 2, true)]);
    assert.deepEqual([b.status, b.body], [503, serviceHealthBody('ns/b', 0, true)]);

    proxyOk = false;
    const sick = await get(p1);
    assert.ok(sick !== 'refused');
    assert.deepEqual([sick.status, sick.body], [503, serviceHealthBody('ns/a', 2, false)]);
    proxyOk = true;

    // b goes away, a moves to p3.
    await hs.syncServices(new Map([['ns/a', { port: p3 }]]));
    assert.equal(await get(p2), 'refused');
    assert.equal(await get(p1), 'refused');
    const moved = await get(p3);
    assert.ok(moved !== 'refused');
    assert.equal(moved.status, 200);
    assert.deepEqual([...hs.serving()], [['ns/a', p3]]);
    assert.deepEqual(errors, []);
  } finally {
    await hs.close();
  }
  assert.equal(await get(p3), 'refused');
});

test('ServiceHealthServer reports a busy port and retries it on the next sync', async () => {
  const blocker = net.createServer();
  await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
  const port = (blocker.address() as net.AddressInfo).port;
  const errors: string[] = [];
  const hs = new ServiceHealthServer({ addresses: ['127.0.0.1'], onError: (e) => errors.push(`${e.service}:${e.port}:${e.message}`) });
  try {
    const want = new Map([['ns/x', { port }]]);
    await hs.syncServices(want);
    assert.equal(errors.length, 1);
    assert.match(errors[0], new RegExp(`^ns/x:${port}:.*EADDRINUSE`));
    assert.deepEqual([...hs.serving()], []);
    await new Promise((r) => blocker.close(r));
    hs.syncEndpoints(new Map([['ns/x', 1]]));
    await hs.syncServices(want);
    const res = await get(port);
    assert.ok(res !== 'refused');
    assert.equal(res.status, 200);
  } finally {
    await hs.close();
    if (blocker.listening) await new Promise((r) => blocker.close(r));
  }
});
