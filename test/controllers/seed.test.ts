/**
 * Acceptance point 1 of the controllers issue, end to end through `kubelite up`'s own
 * controllers (leader-elected manager) and the real kubectl: the seed sample becomes 3 pods
 * owned (via a ReplicaSet) by the Deployment; its EndpointSlice and Endpoints list exactly the
 * ready pods; a pod turning not-ready leaves the ready set; a deleted pod is replaced.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { startCluster, NO_KUBECTL, type TestCluster, until } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { InformerFactory, type SharedInformer } from '../../src/client/shared-informer.js';
import { LocalClient, PODS } from '../../src/client/client.js';
import type { KObject } from '../../src/api/types.js';

const SEED = '../shared/examples/seed-app.yaml';

interface Ep {
  addresses: string[];
  conditions?: { ready?: boolean };
  targetRef?: { name: string };
}


describe('seed sample end to end (controllers in kubelite up)', { skip: NO_KUBECTL }, () => {
  let c: TestCluster;
  let node: FakeNode;
  let informers: InformerFactory;
  let pods: SharedInformer;
  let slices: SharedInformer;
  let endpoints: SharedInformer;
  const ownPods = (): KObject[] => pods.list('default').filter((p) => p.metadata.labels?.app === 'my-app' && !p.metadata.deletionTimestamp);
  const readyPods = (): string[] =>
    ownPods()
      .filter((p) => ((p.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True'))
      .map((p) => p.metadata.name!)
      .sort();
  const sliceReady = (): string[] =>
    slices
      .list('default')
      .filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'my-service')
      .flatMap((s) => (s.endpoints ?? []) as Ep[])
      .filter((e) => e.conditions?.ready)
      .map((e) => e.targetRef!.name)
      .sort();
  const endpointsReady = (): string[] => {
    const ep = endpoints.getBy('default', 'my-service');
    return ((ep?.subsets ?? []) as { addresses?: { targetRef?: { name: string } }[] }[]).flatMap((s) => (s.addresses ?? []).map((a) => a.targetRef!.name)).sort();
  };

  before(async () => {
    c = await startCluster({ store: 'sqlite' });
    node = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: 'node-1' });
    await node.start();
    informers = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
    pods = informers.for('', 'pods');
    slices = informers.for('discovery.k8s.io', 'endpointslices');
    endpoints = informers.for('', 'endpoints');
    await informers.start();
  });
  after(async () => {
    informers?.close();
    await node?.stop();
    await c?.close();
  });

  it('applies, runs 3 owned pods, and the slice lists exactly the ready ones', async () => {
    const r = await c.kubectl(['apply', '-f', SEED]);
    assert.equal(r.code, 0, r.stderr);
    await until('3 ready pods', () => readyPods().length === 3);
    const deploy = JSON.parse((await c.kubectl(['get', 'deploy', 'my-app', '-o', 'json'])).stdout) as KObject;
    const rsList = JSON.parse((await c.kubectl(['get', 'rs', '-l', 'app=my-app', '-o', 'json'])).stdout) as { items: KObject[] };
    assert.equal(rsList.items.length, 1);
    const rs = rsList.items[0];
    assert.equal(rs.metadata.ownerReferences?.[0].uid, deploy.metadata.uid);
    assert.equal(rs.metadata.ownerReferences?.[0].controller, true);
    for (const p of ownPods()) {
      assert.equal(p.metadata.labels?.app, 'my-app');
      assert.ok(p.metadata.labels?.['pod-template-hash']);
      assert.deepEqual(p.metadata.ownerReferences?.map((o) => [o.kind, o.uid, o.controller]), [['ReplicaSet', rs.metadata.uid, true]]);
      assert.equal((p.spec as { nodeName?: string }).nodeName, 'node-1', 'scheduled by the scheduler');
    }
    await until('slice = ready pods', () => sliceReady().join() === readyPods().join());
    await until('endpoints = ready pods', () => endpointsReady().join() === readyPods().join());
    const slice = slices.list('default').find((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'my-service')!;
    assert.equal(slice.metadata.labels?.['endpointslice.kubernetes.io/managed-by'], 'endpointslice-controller.k8s.io');
    assert.deepEqual((slice.ports as { port: number }[]).map((p) => p.port), [8080]);
    const st = await c.kubectl(['rollout', 'status', 'deploy/my-app', '--timeout=20s']);
    assert.equal(st.code, 0, st.stderr + st.stdout);
    const get = await c.kubectl(['get', 'endpoints', 'my-service', '-o', 'jsonpath={.subsets[*].addresses[*].ip}']);
    assert.equal(get.stdout.split(' ').filter(Boolean).length, 3);
  });

  it('a pod turning not-ready leaves the ready endpoints; ready again comes back', async () => {
    const victim = readyPods()[0];
    await node.setReady('default', victim, false);
    await until('slice without the not-ready pod', () => !sliceReady().includes(victim) && sliceReady().length === 2);
    await until('endpoints without it', () => !endpointsReady().includes(victim) && endpointsReady().length === 2);
    const ep = slices.list('default').flatMap((s) => (s.endpoints ?? []) as Ep[]).find((e) => e.targetRef?.name === victim);
    assert.equal(ep?.conditions?.ready, false, 'still listed, as not ready');
    await node.setReady('default', victim, true);
    await until('back in the slice', () => sliceReady().includes(victim));
  });

  it('deleting a pod brings a replacement', async () => {
    const before = readyPods();
    const victim = before[1];
    const r = await c.kubectl(['delete', 'pod', victim, '--wait=true']);
    assert.equal(r.code, 0, r.stderr);
    await until('a replacement, 3 ready again', () => readyPods().length === 3 && !readyPods().includes(victim));
    await until('slice follows', () => sliceReady().join() === readyPods().join());
    const client = new LocalClient(c.server.registry, { manager: 't' });
    assert.equal((await client.list(PODS, 'default')).filter((p) => p.metadata.labels?.app === 'my-app').length, 3);
  });
});
