/**
 * Integration: the Endpoints controller and the EndpointSlice mirroring controller against a
 * real (in-memory) cluster, with a fake node running the pods.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { LocalClient, PODS, SERVICES, ENDPOINTS, ENDPOINTSLICES, isNotFound } from '../../src/client/client.js';
import { newControllerContext } from '../../src/controllers/context.js';
import { EndpointsController } from '../../src/controllers/endpoints/controller.js';
import { EndpointSliceMirroringController } from '../../src/controllers/endpointslicemirroring/controller.js';
import type { KObject } from '../../src/api/types.js';

interface Addr {
  ip: string;
  hostname?: string;
  targetRef?: { name: string };
}
interface Subset {
  addresses?: Addr[];
  notReadyAddresses?: Addr[];
  ports?: { name?: string; port: number; protocol?: string }[];
}

const NS = 'default';
const MAX = 5;

async function until<T>(what: string, fn: () => Promise<T | undefined | false>, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const names = (as: Addr[] | undefined): string[] => (as ?? []).map((a) => a.targetRef?.name ?? a.ip).sort();

describe('endpoints controller and endpointslice mirroring', () => {
  let c: TestCluster;
  let node: FakeNode;
  let client: LocalClient;
  let epc: EndpointsController;
  let mirror: EndpointSliceMirroringController;

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    node = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: 'n1' });
    await node.start();
    const ctx = newControllerContext({ registry: c.server.registry, cache: c.server.cache });
    epc = new EndpointsController(ctx, { maxAddresses: MAX });
    mirror = new EndpointSliceMirroringController(ctx);
    await epc.start();
    await mirror.start();
    client = new LocalClient(c.server.registry, { manager: 'test' });
  });
  after(async () => {
    await epc.stop();
    await mirror.stop();
    await node.stop();
    await c.close();
  });

  async function runPod(name: string, labels: Record<string, string>, opts: { ports?: { name: string; containerPort: number }[]; hostname?: string; subdomain?: string } = {}): Promise<void> {
    await client.create(PODS, NS, {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name, labels },
      spec: { hostname: opts.hostname, subdomain: opts.subdomain, containers: [{ name: 'c', image: 'x:1', ports: opts.ports ?? [] }] },
    });
    await client.bind(NS, name, 'n1');
  }

  async function service(name: string, spec: Record<string, unknown>, labels?: Record<string, string>): Promise<void> {
    await client.create(SERVICES, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name, labels }, spec });
  }

  const subsets = async (name: string): Promise<Subset[] | undefined> => {
    try {
      return ((await client.get(ENDPOINTS, NS, name)).subsets ?? []) as Subset[];
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  };

  it('tracks pods added, readiness flips and removals; copies service labels', async () => {
    await service('web', { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] }, { team: 'a' });
    await runPod('web-1', { app: 'web' });
    await runPod('web-2', { app: 'web' });
    await runPod('other', { app: 'other' });
    await until('two ready addresses', async () => {
      const s = await subsets('web');
      return s?.length === 1 && names(s[0].addresses).join() === 'web-1,web-2';
    });
    const ep = await client.get(ENDPOINTS, NS, 'web');
    assert.deepEqual(ep.metadata.labels, { team: 'a' });
    assert.deepEqual((ep.subsets as Subset[])[0].ports, [{ name: 'http', port: 8080, protocol: 'TCP' }]);
    assert.equal((ep.subsets as Subset[])[0].addresses!.find((a) => a.targetRef?.name === 'web-1')!.ip, node.podIP(NS, 'web-1'));
    assert.ok(ep.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);

    await node.setReady(NS, 'web-2', false);
    await until('web-2 not ready', async () => {
      const s = await subsets('web');
      return s?.length === 1 && names(s[0].addresses).join() === 'web-1' && names(s[0].notReadyAddresses).join() === 'web-2';
    });
    await node.setReady(NS, 'web-2', true);
    await until('web-2 ready again', async () => names((await subsets('web'))?.[0]?.addresses).join() === 'web-1,web-2');

    await client.delete(PODS, NS, 'web-1');
    await until('web-1 removed', async () => names((await subsets('web'))?.[0]?.addresses).join() === 'web-2');

    // A relabeled pod leaves the service.
    await client.mutate(PODS, NS, 'web-2', (p) => ({ ...p, metadata: { ...p.metadata, labels: { app: 'gone' } } }));
    await until('no addresses', async () => (await subsets('web'))?.length === 0);
  });

  it('an unchanged service is not rewritten', async () => {
    await service('calm', { selector: { app: 'calm' }, ports: [{ port: 80 }] });
    await runPod('calm-1', { app: 'calm' });
    await until('calm ready', async () => names((await subsets('calm'))?.[0]?.addresses).join() === 'calm-1');
    const rv = (await client.get(ENDPOINTS, NS, 'calm')).metadata.resourceVersion;
    // Touch the pod (annotation only) and the service (label-less no-op resync): no write.
    await client.mutate(PODS, NS, 'calm-1', (p) => ({ ...p, metadata: { ...p.metadata, annotations: { touched: 'yes' } } }));
    await epc.sync(`${NS}/calm`);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client.get(ENDPOINTS, NS, 'calm')).metadata.resourceVersion, rv);
  });

  it('multiport service with named target ports that differ per pod', async () => {
    await service('named', {
      selector: { app: 'named' },
      ports: [
        { name: 'http', port: 80, targetPort: 'web' },
        { name: 'metrics', port: 9090, targetPort: 9090 },
      ],
    });
    await runPod('named-a', { app: 'named' }, { ports: [{ name: 'web', containerPort: 8080 }] });
    await runPod('named-b', { app: 'named' }, { ports: [{ name: 'web', containerPort: 8081 }] });
    // (4 addresses in all: under this suite's maxAddresses of 5.)
    const got = await until('both pods in named', async () => {
      const s = await subsets('named');
      return s && s.reduce((n, x) => n + (x.addresses?.length ?? 0), 0) === 4 && s.length === 3 ? s : undefined;
    });
    const shape = got.map((s) => `${names(s.addresses).join('+')}:${(s.ports ?? []).map((p) => `${p.name}=${p.port}`).sort().join(',')}`).sort();
    // metrics (9090) is offered by both; http resolves to 8080 on a, 8081 on b.
    assert.deepEqual(shape, ['named-a+named-b:metrics=9090', 'named-a:http=8080', 'named-b:http=8081']);
  });

  it('headless service: label and hostnames for pods in its subdomain', async () => {
    await service('hl', { selector: { app: 'hl' }, clusterIP: 'None', ports: [{ port: 80 }] });
    await runPod('hl-0', { app: 'hl' }, { hostname: 'hl-0', subdomain: 'hl' });
    const s = await until('hl address', async () => (await subsets('hl'))?.[0]?.addresses);
    assert.equal(s[0].hostname, 'hl-0');
    const ep = await client.get(ENDPOINTS, NS, 'hl');
    assert.equal(ep.metadata.labels?.['service.kubernetes.io/headless'], '');
  });

  it(`truncates to maxAddresses (${MAX}) with the over-capacity annotation, and removes it when back under`, async () => {
    await service('big', { selector: { app: 'big' }, ports: [{ port: 80 }] });
    for (let i = 0; i < MAX + 2; i++) await runPod(`big-${i}`, { app: 'big' });
    const ep = await until('truncated', async () => {
      const e = await client.get(ENDPOINTS, NS, 'big');
      const n = ((e.subsets ?? []) as Subset[]).reduce((k, s) => k + (s.addresses?.length ?? 0) + (s.notReadyAddresses?.length ?? 0), 0);
      return n === MAX && e.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'] === 'truncated' ? e : undefined;
    });
    assert.ok(ep);
    await client.delete(PODS, NS, 'big-0');
    await client.delete(PODS, NS, 'big-1');
    await client.delete(PODS, NS, 'big-2');
    await until('annotation removed', async () => {
      const e = await client.get(ENDPOINTS, NS, 'big');
      return !e.metadata.annotations?.['endpoints.kubernetes.io/over-capacity'] && ((e.subsets ?? []) as Subset[])[0]?.addresses?.length === MAX - 1;
    });
  });

  it('service deleted → its Endpoints deleted; selectorless services and default/kubernetes left alone', async () => {
    const kube = await client.get(ENDPOINTS, NS, 'kubernetes');
    await service('doomed', { selector: { app: 'doomed' }, ports: [{ port: 80 }] });
    await until('doomed endpoints', async () => (await subsets('doomed')) !== undefined);
    await client.delete(SERVICES, NS, 'doomed');
    await until('doomed endpoints gone', async () => (await subsets('doomed')) === undefined);

    await service('manual', { ports: [{ port: 80 }] });
    await client.create(ENDPOINTS, NS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'manual' }, subsets: [{ addresses: [{ ip: '192.168.1.1' }], ports: [{ port: 80 }] }] });
    await epc.sync(`${NS}/manual`);
    await client.delete(SERVICES, NS, 'manual');
    await epc.sync(`${NS}/manual`);
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(names((await subsets('manual'))?.[0]?.addresses), ['192.168.1.1']);

    await epc.sync(`${NS}/kubernetes`);
    assert.equal((await client.get(ENDPOINTS, NS, 'kubernetes')).metadata.resourceVersion, kube.metadata.resourceVersion);
    await mirror.sync(`${NS}/kubernetes`);
    await client.get(ENDPOINTSLICES, NS, 'kubernetes');
  });

  it('pod events reach only the services whose selector matches (indexed lookup)', async () => {
    for (let i = 0; i < 200; i++) await service(`fan-${i}`, { selector: { app: `fan-${i}`, tier: 'x' }, ports: [{ port: 80 }] });
    await service('fan-all', { selector: {}, ports: [{ port: 80 }] });
    await until('services cached', async () => epc.servicesFor(NS, { app: 'fan-199', tier: 'x' }).size === 2);
    assert.deepEqual([...epc.servicesFor(NS, { app: 'fan-7', tier: 'x', extra: 'y' })].sort(), [`${NS}/fan-7`, `${NS}/fan-all`]);
    assert.deepEqual([...epc.servicesFor(NS, { app: 'fan-7' })], [`${NS}/fan-all`], 'partial match is no match');
    assert.deepEqual([...epc.servicesFor('other-ns', { app: 'fan-7', tier: 'x' })], []);
    const t0 = performance.now();
    for (let i = 0; i < 1000; i++) epc.servicesFor(NS, { app: `fan-${i % 200}`, tier: 'x' });
    assert.ok(performance.now() - t0 < 500, 'lookups stay cheap with many services');
    await client.delete(SERVICES, NS, 'fan-all');
  });

  const mirrored = async (name: string): Promise<KObject[]> =>
    client.list(ENDPOINTSLICES, NS, {
      filter: (s) => s.metadata.labels?.['kubernetes.io/service-name'] === name && s.metadata.labels?.['endpointslice.kubernetes.io/managed-by'] === 'endpointslicemirroring-controller.k8s.io',
    });
  const sliceIPs = (s: KObject): string => ((s.endpoints ?? []) as { addresses: string[]; conditions: { ready: boolean } }[]).map((e) => `${e.addresses[0]}:${e.conditions.ready}`).sort().join(',');

  it('mirrors a selectorless service\'s Endpoints into an EndpointSlice, follows updates, deletes it with the Endpoints', async () => {
    await service('ext', { ports: [{ name: 'db', port: 5432 }] });
    await client.create(ENDPOINTS, NS, {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'ext', labels: { team: 'db' } },
      subsets: [{ addresses: [{ ip: '192.168.0.1' }], notReadyAddresses: [{ ip: '192.168.0.2' }], ports: [{ name: 'db', port: 5432 }] }],
    });
    const [slice] = await until('mirrored slice', async () => {
      const l = await mirrored('ext');
      return l.length === 1 ? l : undefined;
    });
    assert.equal(sliceIPs(slice), '192.168.0.1:true,192.168.0.2:false');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'db', port: 5432, protocol: 'TCP' }]);
    assert.equal(slice.metadata.labels?.team, 'db');
    const ep = await client.get(ENDPOINTS, NS, 'ext');
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Endpoints', name: 'ext', uid: ep.metadata.uid, controller: true, blockOwnerDeletion: true }]);

    await client.mutate(ENDPOINTS, NS, 'ext', (e) => ({ ...e, subsets: [{ addresses: [{ ip: '192.168.0.1' }, { ip: '192.168.0.3' }], ports: [{ name: 'db', port: 5432 }] }] }));
    await until('slice updated', async () => {
      const l = await mirrored('ext');
      return l.length === 1 && sliceIPs(l[0]) === '192.168.0.1:true,192.168.0.3:true' && l[0].metadata.name === slice.metadata.name;
    });

    // skip-mirror label → slices removed; label gone → mirrored again.
    await client.mutate(ENDPOINTS, NS, 'ext', (e) => ({ ...e, metadata: { ...e.metadata, labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } } }));
    await until('skip-mirror removes slices', async () => (await mirrored('ext')).length === 0);
    await client.mutate(ENDPOINTS, NS, 'ext', (e) => ({ ...e, metadata: { ...e.metadata, labels: {} } }));
    await until('mirrored again', async () => (await mirrored('ext')).length === 1);

    await client.delete(ENDPOINTS, NS, 'ext');
    await until('slices deleted with the Endpoints', async () => (await mirrored('ext')).length === 0);
  });

  it('a service gaining a selector loses its mirrored slices', async () => {
    await service('flip', { ports: [{ port: 80 }] });
    await client.create(ENDPOINTS, NS, { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'flip' }, subsets: [{ addresses: [{ ip: '192.168.5.1' }], ports: [{ port: 80 }] }] });
    await until('flip mirrored', async () => (await mirrored('flip')).length === 1);
    await client.mutate(SERVICES, NS, 'flip', (s) => ({ ...s, spec: { ...(s.spec as object), selector: { app: 'flip' } } }));
    await until('flip slices removed', async () => (await mirrored('flip')).length === 0);
    // …and the Endpoints controller now owns the Endpoints (no matching pods → no subsets).
    await until('flip endpoints emptied', async () => (await subsets('flip'))?.length === 0);
  });

  it('kubectl: apply a selectorless Service + Endpoints, see the mirrored slice and `get endpoints`', { skip: NO_KUBECTL }, async () => {
    const yaml = `apiVersion: v1
kind: Service
metadata:
  name: kext
spec:
  ports:
  - name: web
    port: 80
---
apiVersion: v1
kind: Endpoints
metadata:
  name: kext
subsets:
- addresses:
  - ip: 192.168.9.1
  - ip: 192.168.9.2
  ports:
  - name: web
    port: 8080
`;
    const r = await c.kubectl(['apply', '-f', '-'], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
    const [slice] = await until('kext mirrored', async () => {
      const l = await mirrored('kext');
      return l.length === 1 ? l : undefined;
    });
    assert.equal(sliceIPs(slice), '192.168.9.1:true,192.168.9.2:true');
    assert.equal(slice.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    const get = await c.kubectl(['get', 'endpoints', 'kext']);
    assert.equal(get.code, 0, get.stderr);
    assert.match(get.stdout, /192\.168\.9\.1:8080,192\.168\.9\.2:8080/);
    const del = await c.kubectl(['delete', 'endpoints', 'kext']);
    assert.equal(del.code, 0, del.stderr);
    await until('kext slices gone', async () => (await mirrored('kext')).length === 0);
  });
});
