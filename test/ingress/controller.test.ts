/**
 * The ingress controller against a real API server (no controller manager): a fake data plane
 * records the tables it is given; objects are written through the registry and the real kubectl.
 * Covers class selection, recompute on Service/EndpointSlice changes, conflict events, Ingress
 * status following the data-plane Service's LoadBalancer status, the IngressClass and the
 * data-plane Service with its endpoints, and `startIngress`'s port fallback.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, request, type Server } from 'node:http';
import { connect } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { internalContext } from '../../src/apiserver/registry/strategy.js';
import type { KObject } from '../../src/api/types.js';
import { ENDPOINTS, ENDPOINTSLICES, EVENTS, NAMESPACES, SERVICES, type LocalClient, type ResourceRef } from '../../src/client/client.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { IngressController, type IngressDataPlane } from '../../src/ingress/controller.js';
import { ensureIngressClass } from '../../src/ingress/ingressclass.js';
import { ensureIngressService, INGRESS_SERVICE_NAME, INGRESS_SERVICE_NAMESPACE } from '../../src/ingress/service.js';
import { startIngress, type DataPlaneOptions, type ListeningDataPlane } from '../../src/ingress/index.js';
import type { RoutingTable } from '../../src/ingress/types.js';
import { NO_KUBECTL, startCluster, until, type TestCluster } from '../harness.js';

const INGRESSES: ResourceRef = { group: 'networking.k8s.io', plural: 'ingresses' };
const INGRESSCLASSES: ResourceRef = { group: 'networking.k8s.io', plural: 'ingressclasses' };
const NS = 'ing-test';

class FakePlane implements IngressDataPlane {
  tables: RoutingTable[] = [];
  failNext = 0;
  failures = 0;
  async update(table: RoutingTable): Promise<void> {
    if (this.failNext > 0) {
      this.failNext--;
      this.failures++;
      throw new Error('data plane refused the table');
    }
    this.tables.push(table);
  }
  async close(): Promise<void> {}
  last(): RoutingTable | undefined {
    return this.tables[this.tables.length - 1];
  }
}

/** `ns/name` of every Ingress with a route in the table. */
function sources(t: RoutingTable | undefined): string[] {
  const out = new Set<string>();
  for (const h of t?.hosts.values() ?? []) for (const r of h.routes) out.add(`${r.source.namespace}/${r.source.name}`);
  return [...out].sort();
}

function ingress(name: string, o: { host: string; path?: string; service?: string; className?: string; annotations?: Record<string, string> }): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, namespace: NS, ...(o.annotations ? { annotations: o.annotations } : {}) },
    spec: {
      ...(o.className ? { ingressClassName: o.className } : {}),
      rules: [{ host: o.host, http: { paths: [{ path: o.path ?? '/', pathType: 'Prefix', backend: { service: { name: o.service ?? 'web', port: { number: 80 } } } }] } }],
    },
  };
}

function slice(name: string, service: string, ips: string[]): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: NS, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

function endpointsOf(t: RoutingTable | undefined, host: string): string[] {
  const b = t?.hosts.get(host)?.routes[0]?.backend;
  return b?.kind === 'service' ? b.endpoints.map((e) => `${e.address}:${e.port}`) : [];
}

function lbIPs(obj: KObject | undefined): string[] {
  const ing = (obj as { status?: { loadBalancer?: { ingress?: { ip?: string }[] } } } | undefined)?.status?.loadBalancer?.ingress ?? [];
  return ing.map((i) => i.ip ?? '');
}

describe('ingress controller', () => {
  let c: TestCluster;
  let ctx: ControllerContext;
  let client: LocalClient;
  let plane: FakePlane;
  let controller: IngressController;

  const events = async (name: string, reason: string): Promise<KObject[]> =>
    (await client.list(EVENTS, NS)).filter((e) => (e.involvedObject as { name: string }).name === name && e.reason === reason);
  const setLB = (ip: string | undefined): Promise<KObject> =>
    client.mutate(SERVICES, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME, (s) => {
      s.status = { loadBalancer: ip ? { ingress: [{ ip, ipMode: 'VIP' }] } : {} };
      return s;
    }, { subresource: 'status' });

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    await ensureIngressClass(c.server.registry);
    await ensureIngressService(c.server.registry, { address: '127.0.0.1', httpPort: 18080, httpsPort: 18443, nodeName: 'node-1' });
    ctx = newControllerContext({ registry: c.server.registry, cache: c.server.cache });
    client = ctx.client.as('test');
    await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } });
    await client.create(INGRESSCLASSES, undefined, { apiVersion: 'networking.k8s.io/v1', kind: 'IngressClass', metadata: { name: 'other' }, spec: { controller: 'example.com/other' } });
    await client.create(SERVICES, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await client.create(ENDPOINTSLICES, NS, slice('web-1', 'web', ['10.244.0.5']));
    plane = new FakePlane();
    controller = new IngressController(ctx, { dataPlane: plane, debounceMs: 20 });
    await controller.start();
  });

  after(async () => {
    await controller?.stop();
    ctx?.informers.close();
    await c?.close();
  });

  it('creates IngressClass kubelite, default, and never overwrites it', { skip: NO_KUBECTL }, async () => {
    const r = await c.kubectl(['get', 'ingressclass', 'kubelite', '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    const cls = JSON.parse(r.stdout) as KObject;
    assert.equal((cls.spec as { controller: string }).controller, 'kubelite.io/ingress-controller');
    assert.equal(cls.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
    const list = await c.kubectl(['get', 'ingressclass']);
    assert.match(list.stdout, /kubelite\s+kubelite\.io\/ingress-controller/);
    // A user's change survives the next start.
    await client.mutate(INGRESSCLASSES, undefined, 'kubelite', (o) => {
      o.metadata.annotations = { 'ingressclass.kubernetes.io/is-default-class': 'false' };
      return o;
    });
    assert.equal(await ensureIngressClass(c.server.registry), false);
    const after = await client.get(INGRESSCLASSES, undefined, 'kubelite');
    assert.equal(after.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'false');
    await client.mutate(INGRESSCLASSES, undefined, 'kubelite', (o) => {
      o.metadata.annotations = { 'ingressclass.kubernetes.io/is-default-class': 'true' };
      return o;
    });
  });

  it('publishes kube-system/ingress-kubelite: LoadBalancer 80/443, endpoints at the data plane', async () => {
    const svc = await client.get(SERVICES, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
    const spec = svc.spec as { type: string; selector?: unknown; ports: { name: string; port: number; protocol: string; targetPort: number }[] };
    assert.equal(spec.type, 'LoadBalancer');
    assert.equal(spec.selector, undefined);
    assert.deepEqual(spec.ports.map((p) => [p.name, p.port, p.protocol, p.targetPort]), [['http', 80, 'TCP', 18080], ['https', 443, 'TCP', 18443]]);
    assert.equal(svc.metadata.labels?.['app.kubernetes.io/name'], 'ingress-kubelite');
    const ep = await client.get(ENDPOINTS, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
    assert.deepEqual(ep.subsets, [{ addresses: [{ ip: '127.0.0.1', nodeName: 'node-1' }], ports: [{ name: 'http', port: 18080, protocol: 'TCP' }, { name: 'https', port: 18443, protocol: 'TCP' }] }]);
    const sl = await client.get(ENDPOINTSLICES, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
    assert.deepEqual((sl.endpoints as { addresses: string[] }[]).map((e) => e.addresses), [['127.0.0.1']]);
    assert.deepEqual((sl.ports as { port: number }[]).map((p) => p.port), [18080, 18443]);
    // A restart on other ports moves the endpoints, not the Service's identity.
    await ensureIngressService(c.server.registry, { address: '127.0.0.1', httpPort: 28080, httpsPort: 28443, nodeName: 'node-1' });
    const moved = await client.get(ENDPOINTSLICES, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
    assert.deepEqual((moved.ports as { port: number }[]).map((p) => p.port), [28080, 28443]);
    assert.equal((await client.get(SERVICES, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME)).metadata.uid, svc.metadata.uid);
  });

  it('serves exactly the Ingresses of our class (explicit, or none while ours is default)', async () => {
    await client.create(INGRESSES, NS, ingress('ours', { host: 'ours.example', className: 'kubelite' }));
    await client.create(INGRESSES, NS, ingress('theirs', { host: 'theirs.example', className: 'other' }));
    await client.create(INGRESSES, NS, ingress('classless', { host: 'classless.example' }));
    await until('table with ours and classless', () => sources(plane.last()).join() === `${NS}/classless,${NS}/ours`);
    assert.ok(!plane.last()!.hosts.has('theirs.example'));
    assert.deepEqual(endpointsOf(plane.last(), 'ours.example'), ['10.244.0.5:8080']);
    // Normal Sync events, as ingress-nginx, only on ours.
    await until('Sync event on ours', async () => (await events('ours', 'Sync')).length === 1);
    await until('Sync event on classless', async () => (await events('classless', 'Sync')).length === 1);
    assert.equal((await events('ours', 'Sync'))[0].message, 'Scheduled for sync');
    assert.equal((await events('theirs', 'Sync')).length, 0);
  });

  it('recomputes when EndpointSlices and Services change', async () => {
    await client.create(ENDPOINTSLICES, NS, slice('web-2', 'web', ['10.244.0.6']));
    await until('new endpoint in the table', () => endpointsOf(plane.last(), 'ours.example').join() === '10.244.0.5:8080,10.244.0.6:8080');
    await client.delete(SERVICES, NS, 'web');
    await until('backend without Service', () => {
      const b = plane.last()?.hosts.get('ours.example')?.routes[0]?.backend;
      return b?.kind === 'service' && b.endpoints.length === 0 && /not found/.test(b.problem ?? '');
    });
    await client.create(SERVICES, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: NS }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
    await until('endpoints back', () => endpointsOf(plane.last(), 'ours.example').length === 2);
  });

  it('debounces a burst of changes into few recomputes', async () => {
    const before = plane.tables.length;
    for (let i = 0; i < 20; i++) {
      await client.mutate(ENDPOINTSLICES, NS, 'web-2', (s) => {
        s.metadata.labels = { ...s.metadata.labels, burst: String(i) };
        return s;
      });
    }
    await new Promise((r) => setTimeout(r, 200));
    assert.ok(plane.tables.length - before >= 1, 'recomputed at least once');
    assert.ok(plane.tables.length - before < 10, `recomputed ${plane.tables.length - before} times for 20 changes`);
  });

  it('reports a conflict once, on the younger Ingress', { skip: NO_KUBECTL }, async () => {
    await client.create(INGRESSES, NS, ingress('old', { host: 'clash.example', path: '/api' }));
    await new Promise((r) => setTimeout(r, 1100)); // creationTimestamp has second resolution
    await client.create(INGRESSES, NS, ingress('young', { host: 'clash.example', path: '/api' }));
    await until('conflict in the table', () => plane.last()?.conflicts.some((x) => x.loser.name === 'young'));
    await until('Conflict event', async () => (await events('young', 'Conflict')).length === 1);
    // More syncs do not repeat it.
    const n = controller.syncs;
    await client.mutate(ENDPOINTSLICES, NS, 'web-2', (s) => ({ ...s, metadata: { ...s.metadata, labels: { ...s.metadata.labels, poke: '1' } } }));
    await until('another sync', () => controller.syncs > n);
    await new Promise((r) => setTimeout(r, 100));
    const evs = await events('young', 'Conflict');
    assert.equal(evs.length, 1);
    assert.equal(evs[0].type, 'Warning');
    assert.equal(evs[0].count ?? 1, 1);
    assert.match(evs[0].message as string, /clash\.example/);
    assert.match(evs[0].message as string, new RegExp(`${NS}/old`));
    assert.equal((await events('old', 'Conflict')).length, 0);
    const d = await c.kubectl(['describe', 'ingress', 'young', '-n', NS]);
    assert.equal(d.code, 0, d.stderr);
    assert.match(d.stdout, /Warning\s+Conflict/);
  });

  it("status.loadBalancer of served Ingresses follows the data-plane Service's status", async () => {
    const get = (name: string): Promise<KObject> => client.get(INGRESSES, NS, name);
    await setLB('10.250.0.7');
    await until('ours shows 10.250.0.7', async () => lbIPs(await get('ours')).join() === '10.250.0.7');
    await until('classless shows it too', async () => lbIPs(await get('classless')).join() === '10.250.0.7');
    assert.deepEqual(lbIPs(await get('theirs')), []);
    // No ipMode on Ingress status (a Service-only field).
    const st = (await get('ours')).status as { loadBalancer: { ingress: Record<string, unknown>[] } };
    assert.deepEqual(st.loadBalancer.ingress, [{ ip: '10.250.0.7' }]);

    await setLB('10.250.0.8');
    await until('ours follows to 10.250.0.8', async () => lbIPs(await get('ours')).join() === '10.250.0.8');

    // No write when equal: a sync that changes nothing leaves the resourceVersion alone.
    const rv = (await get('ours')).metadata.resourceVersion;
    const n = controller.syncs;
    await client.mutate(ENDPOINTSLICES, NS, 'web-2', (s) => ({ ...s, metadata: { ...s.metadata, labels: { ...s.metadata.labels, poke: '2' } } }));
    await until('another sync', () => controller.syncs > n);
    assert.equal((await get('ours')).metadata.resourceVersion, rv);

    // No longer ours → status cleared; another controller's status is left alone.
    await client.mutate(INGRESSES, NS, 'theirs', (i) => ({ ...i, status: { loadBalancer: { ingress: [{ ip: '192.0.2.1' }] } } }), { subresource: 'status' });
    await client.mutate(INGRESSES, NS, 'classless', (i) => ({ ...i, spec: { ...(i.spec as object), ingressClassName: 'other' } }));
    await until('classless cleared', async () => lbIPs(await get('classless')).length === 0);
    assert.deepEqual(lbIPs(await get('theirs')), ['192.0.2.1']);

    // Someone overwrites a served Ingress's status: we put ours back.
    await client.mutate(INGRESSES, NS, 'ours', (i) => ({ ...i, status: { loadBalancer: { ingress: [{ ip: '192.0.2.2' }] } } }), { subresource: 'status' });
    await until('ours restored', async () => lbIPs(await get('ours')).join() === '10.250.0.8');

    // The Service loses its address → served Ingresses lose theirs.
    await setLB(undefined);
    await until('ours cleared', async () => lbIPs(await get('ours')).length === 0);
  });

  it('kubectl shows the address in the ADDRESS column', { skip: NO_KUBECTL }, async () => {
    await setLB('10.250.0.9');
    await until('ours shows 10.250.0.9', async () => lbIPs(await client.get(INGRESSES, NS, 'ours')).join() === '10.250.0.9');
    const r = await c.kubectl(['get', 'ingress', 'ours', '-n', NS]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /ours\s+kubelite\s+ours\.example\s+10\.250\.0\.9\s+80/);
  });

  it('retries a table the data plane refused, with backoff', async () => {
    plane.failNext = 2;
    const failures = plane.failures;
    await client.create(INGRESSES, NS, ingress('retry', { host: 'retry.example', className: 'kubelite' }));
    await until('table with retry', () => sources(plane.last()).includes(`${NS}/retry`));
    assert.equal(plane.failures - failures, 2);
  });
});

describe('startIngress', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
  });
  after(async () => {
    await c?.close();
  });

  it('falls back to free ports, publishes class and Service, and feeds the data plane', async () => {
    const built: DataPlaneOptions[] = [];
    const planes: FakePlane[] = [];
    const factory = (o: DataPlaneOptions): ListeningDataPlane => {
      built.push(o);
      const p = new FakePlane();
      planes.push(p);
      return Object.assign(p, {
        listen: async (): Promise<{ httpPort: number; httpsPort: number }> => {
          if (o.httpPort === 80) throw Object.assign(new Error('listen EACCES: permission denied 127.0.0.1:80'), { code: 'EACCES' });
          return { httpPort: 40080, httpsPort: 40443 };
        },
      });
    };
    const ing = await startIngress(
      { registry: c.server.registry, cache: c.server.cache },
      { host: '127.0.0.1', defaultCert: { certPem: 'c', keyPem: 'k' }, dataPlaneFactory: factory, debounceMs: 10, log: () => undefined },
    );
    try {
      assert.deepEqual(built.map((b) => [b.httpHost, b.httpPort, b.httpsPort]), [['127.0.0.1', 80, 443], ['127.0.0.1', 0, 0]]);
      assert.deepEqual([ing.httpPort, ing.httpsPort], [40080, 40443]);
      const client = newControllerContext({ registry: c.server.registry, cache: c.server.cache }).client;
      const cls = await client.get(INGRESSCLASSES, undefined, 'kubelite');
      assert.equal(cls.metadata.annotations?.['ingressclass.kubernetes.io/is-default-class'], 'true');
      const ep = await client.get(ENDPOINTS, INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
      assert.deepEqual((ep.subsets as { ports: { port: number }[] }[])[0].ports.map((p) => p.port), [40080, 40443]);
      await client.create(INGRESSES, 'default', { ...ingress('hello', { host: 'hello.example' }), metadata: { name: 'hello', namespace: 'default' } });
      await until('table served to the data plane', () => planes[1].last()?.hosts.has('hello.example'));
    } finally {
      await ing.stop();
    }
  });

  it('with the built-in proxy: routes a request to the backend, default certificate on TLS', async () => {
    const backend: Server = createServer((req, res) => res.end(`backend saw ${req.headers.host} ${req.url}`));
    await new Promise<void>((r) => backend.listen(0, '127.0.0.1', r));
    const port = (backend.address() as AddressInfo).port;
    const ing = await startIngress({ registry: c.server.registry, cache: c.server.cache }, { host: '127.0.0.1', httpPort: 0, httpsPort: 0, debounceMs: 10, log: () => undefined });
    try {
      const client = newControllerContext({ registry: c.server.registry, cache: c.server.cache }).client;
      await client.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'echo', namespace: 'default' }, spec: { ports: [{ name: 'http', port: 80, targetPort: port }] } });
      // Loopback endpoints need the trusted path (validation refuses them for pods).
      await c.server.registry.must('discovery.k8s.io', 'endpointslices').create('default', { ...slice('echo-1', 'echo', ['127.0.0.1']), metadata: { name: 'echo-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'echo' } }, ports: [{ name: 'http', port, protocol: 'TCP' }] }, { ...internalContext('test'), skipValidation: true });
      await client.create(INGRESSES, 'default', { ...ingress('echo', { host: 'echo.example', service: 'echo' }), metadata: { name: 'echo', namespace: 'default' } });
      const get = (): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = request({ host: '127.0.0.1', port: ing.httpPort, path: '/hello', headers: { host: 'echo.example' } }, (res) => {
            let body = '';
            res.on('data', (d) => (body += d));
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
          });
          req.on('error', reject);
          req.end();
        });
      const r = await until('proxied 200', async () => {
        const x = await get();
        return x.status === 200 ? x : undefined;
      });
      assert.equal(r.body, 'backend saw echo.example /hello');
      const subject = await new Promise<string>((resolve, reject) => {
        const sock = connect({ host: '127.0.0.1', port: ing.httpsPort, servername: 'unknown.example', rejectUnauthorized: false }, () => {
          resolve(String(sock.getPeerCertificate().subject?.CN));
          sock.end();
        });
        sock.on('error', reject);
      });
      assert.equal(subject, 'Kubernetes Ingress Controller Fake Certificate');
    } finally {
      await ing.stop();
      await new Promise((r) => backend.close(r));
    }
  });

  it('an explicitly given port that cannot be bound is an error', async () => {
    const factory = (): ListeningDataPlane =>
      Object.assign(new FakePlane(), { listen: async (): Promise<never> => Promise.reject(Object.assign(new Error('in use'), { code: 'EADDRINUSE' })) });
    await assert.rejects(
      startIngress({ registry: c.server.registry, cache: c.server.cache }, { host: '127.0.0.1', httpPort: 8080, httpsPort: 8443, defaultCert: { certPem: 'c', keyPem: 'k' }, dataPlaneFactory: factory, log: () => undefined }),
      /in use/,
    );
  });
});
