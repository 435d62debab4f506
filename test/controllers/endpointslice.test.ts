import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster, until } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import type { KObject } from '../../src/api/types.js';
import { LocalClient, PODS, SERVICES, ENDPOINTSLICES } from '../../src/client/client.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { EndpointSliceController } from '../../src/controllers/endpointslice/controller.js';
import type { Endpoint } from '../../src/controllers/endpointslice/endpoints.js';

const NS = 'default';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


describe('EndpointSlice controller (integration)', () => {
  let c: TestCluster;
  let node: FakeNode;
  let client: LocalClient;
  let ctx: ControllerContext;
  let ctrl: EndpointSliceController;

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    client = new LocalClient(c.server.registry, { manager: 'test' });
    node = new FakeNode(deps, { name: 'n1', pods: '1000', labels: { 'topology.kubernetes.io/zone': 'zone-a' } });
    await node.start();
    ctx = newControllerContext(deps);
    ctrl = new EndpointSliceController(ctx, { sliceChangeDelayMs: 50 });
    await ctrl.start();
  });

  after(async () => {
    await ctrl.stop();
    ctx.informers.close();
    await node.stop();
    await c.close();
  });

  async function service(name: string, spec: Record<string, unknown>): Promise<KObject> {
    return client.create(SERVICES, NS, { apiVersion: 'v1', kind: 'Service', metadata: { name, labels: { owner: 'test' } }, spec });
  }

  async function runPod(name: string, labels: Record<string, string>, ports: Record<string, unknown>[] = []): Promise<void> {
    await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name, labels }, spec: { containers: [{ name: 'c', image: 'x:1', ports }] } });
    await client.bind(NS, name, 'n1');
  }

  async function slicesOf(svc: string): Promise<KObject[]> {
    return client.list(ENDPOINTSLICES, NS, { filter: (o) => o.metadata.labels?.['kubernetes.io/service-name'] === svc });
  }

  const eps = (s: KObject): Endpoint[] => (s.endpoints ?? []) as Endpoint[];
  const podNames = (slices: KObject[]): string[] => slices.flatMap((s) => eps(s).map((e) => e.targetRef?.name ?? '')).sort();

  it('endpoints track pods added and removed', async () => {
    const svc = await service('track', { selector: { app: 'track' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] });
    await until('placeholder slice', async () => (await slicesOf('track')).length === 1);
    await runPod('track-1', { app: 'track' });
    await runPod('track-2', { app: 'track' });
    await runPod('other-1', { app: 'other' });
    await until('both pods ready in the slice', async () => {
      const s = await slicesOf('track');
      return s.length === 1 && eps(s[0]).length === 2 && eps(s[0]).every((e) => e.conditions.ready === true);
    });
    const [slice] = await slicesOf('track');
    assert.equal(slice.addressType, 'IPv4');
    assert.deepEqual(slice.ports, [{ name: 'http', protocol: 'TCP', port: 8080 }]);
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.equal(slice.metadata.labels?.owner, 'test');
    assert.ok(slice.metadata.name?.startsWith('track-'));
    assert.deepEqual(slice.metadata.ownerReferences, [{ apiVersion: 'v1', kind: 'Service', name: 'track', uid: svc.metadata.uid, controller: true, blockOwnerDeletion: true }]);
    assert.ok(slice.metadata.annotations?.['endpoints.kubernetes.io/last-change-trigger-time']);
    const e1 = eps(slice).find((e) => e.targetRef?.name === 'track-1')!;
    assert.deepEqual(e1.addresses, [node.podIP(NS, 'track-1')]);
    assert.equal(e1.nodeName, 'n1');
    assert.equal(e1.zone, 'zone-a');
    assert.equal(e1.targetRef?.kind, 'Pod');

    await client.delete(PODS, NS, 'track-1');
    await until('deleted pod leaves the slice', async () => JSON.stringify(podNames(await slicesOf('track'))) === '["track-2"]');
    await runPod('track-3', { app: 'track' });
    await until('added pod joins', async () => JSON.stringify(podNames(await slicesOf('track'))) === '["track-2","track-3"]');
    assert.equal((await slicesOf('track')).length, 1);
  });

  it('a pod made not-ready shows ready:false (serving:false) promptly', async () => {
    await service('ready', { selector: { app: 'ready' }, ports: [{ port: 80 }] });
    await runPod('ready-1', { app: 'ready' });
    const cond = async (): Promise<Endpoint['conditions'] | undefined> => eps((await slicesOf('ready'))[0] ?? { metadata: {} })[0]?.conditions;
    await until('ready endpoint', async () => (await cond())?.ready === true);
    const t0 = Date.now();
    await node.setReady(NS, 'ready-1', false);
    await until('not-ready endpoint', async () => (await cond())?.ready === false, 2000);
    assert.ok(Date.now() - t0 < 2000);
    assert.deepEqual(await cond(), { ready: false, serving: false, terminating: false });
    await node.setReady(NS, 'ready-1', true);
    await until('ready again', async () => (await cond())?.ready === true, 2000);
  });

  it('multiport services list every port', async () => {
    await service('multi', {
      selector: { app: 'multi' },
      ports: [
        { name: 'http', port: 80, targetPort: 8080 },
        { name: 'metrics', port: 9100, targetPort: 'metrics', appProtocol: 'http' },
      ],
    });
    await runPod('multi-1', { app: 'multi' }, [{ name: 'metrics', containerPort: 9101 }]);
    await until('slice with both ports', async () => {
      const s = await slicesOf('multi');
      return s.length === 1 && eps(s[0]).length === 1 && (s[0].ports as unknown[]).length === 2;
    });
    const [slice] = await slicesOf('multi');
    const ports = (slice.ports as { name: string; port: number }[]).map((p) => `${p.name}:${p.port}`).sort();
    assert.deepEqual(ports, ['http:8080', 'metrics:9101']);
  });

  it('named targetPorts resolving to different numbers land in different slices', async () => {
    await service('named', { selector: { app: 'named' }, ports: [{ name: 'web', port: 80, targetPort: 'web' }] });
    await runPod('named-1', { app: 'named' }, [{ name: 'web', containerPort: 8080 }]);
    await runPod('named-2', { app: 'named' }, [{ name: 'web', containerPort: 8081 }]);
    await runPod('named-3', { app: 'named' }, [{ name: 'web', containerPort: 8080 }]);
    await until('two slices by port', async () => {
      const s = await slicesOf('named');
      return s.length === 2 && podNames(s).length === 3;
    });
    const byPort = Object.fromEntries(
      (await slicesOf('named')).map((s) => [String((s.ports as { port: number }[])[0].port), eps(s).map((e) => e.targetRef?.name).sort()]),
    );
    assert.deepEqual(byPort, { '8080': ['named-1', 'named-3'], '8081': ['named-2'] });
  });

  it('a selector matching no pods gives exactly one empty slice', async () => {
    await service('empty', { selector: { app: 'nobody' }, ports: [{ port: 80 }] });
    await until('one placeholder', async () => (await slicesOf('empty')).length === 1);
    await sleep(100);
    const s = await slicesOf('empty');
    assert.equal(s.length, 1);
    assert.deepEqual(s[0].endpoints ?? [], []);
    assert.deepEqual(s[0].ports ?? [], []);
  });

  it('a deleted managed slice is recreated', async () => {
    await service('again', { selector: { app: 'again' }, ports: [{ port: 80 }] });
    await runPod('again-1', { app: 'again' });
    await until('slice with the pod', async () => podNames(await slicesOf('again')).length === 1);
    const [old] = await slicesOf('again');
    await client.delete(ENDPOINTSLICES, NS, old.metadata.name ?? '');
    await until('recreated', async () => {
      const s = await slicesOf('again');
      return s.length === 1 && s[0].metadata.uid !== old.metadata.uid && podNames(s).length === 1;
    });
  });

  it('removing the selector deletes managed slices', async () => {
    await service('unsel', { selector: { app: 'unsel' }, ports: [{ port: 80 }] });
    await until('slice', async () => (await slicesOf('unsel')).length === 1);
    await client.mutate(SERVICES, NS, 'unsel', (s) => {
      delete (s.spec as Record<string, unknown>).selector;
      return s;
    });
    await until('slices gone', async () => (await slicesOf('unsel')).length === 0);
  });

  it('kubectl lists the slice by service-name label', { skip: NO_KUBECTL }, async () => {
    await service('kube', { selector: { app: 'kube' }, ports: [{ name: 'http', port: 80 }] });
    await runPod('kube-1', { app: 'kube' });
    await until('slice', async () => podNames(await slicesOf('kube')).length === 1);
    const r = await c.kubectl(['get', 'endpointslices', '-n', NS, '-l', 'kubernetes.io/service-name=kube']);
    assert.equal(r.code, 0, r.stderr);
    const [slice] = await slicesOf('kube');
    assert.match(r.stdout, /NAME\s+ADDRESSTYPE\s+PORTS\s+ENDPOINTS\s+AGE/);
    assert.match(r.stdout, new RegExp(`${slice.metadata.name}\\s+IPv4\\s+80\\s+${node.podIP(NS, 'kube-1')!.replace(/\./g, '\\.')}`));
  });
});
