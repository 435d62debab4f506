/**
 * Acceptance 2: an informer from @kubernetes/client-node (list + watch) observes every change
 * a concurrent writer makes, in order, none missing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type TestCluster } from './harness.js';

describe('client-node informer', () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'sqlite' });
  });
  after(async () => {
    await c?.close();
  });

  it('sees every create, update and delete of a concurrent writer, in order', async () => {
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const ns = 'informer-test';
    await core.createNamespace({ body: { metadata: { name: ns } } });

    const seen: { type: string; name: string; rv: number }[] = [];
    const informer = k8s.makeInformer(kc, `/api/v1/namespaces/${ns}/configmaps`, () => core.listNamespacedConfigMap({ namespace: ns }));
    const record = (type: string) => (o: k8s.V1ConfigMap) => seen.push({ type, name: o.metadata!.name!, rv: Number(o.metadata!.resourceVersion) });
    informer.on('add', record('add'));
    informer.on('update', record('update'));
    informer.on('delete', record('delete'));
    const errors: unknown[] = [];
    informer.on('error', (e) => errors.push(e));
    await informer.start();

    // The writer: 4 concurrent streams of create → 3 updates → (every other) delete.
    const writes: { type: string; name: string; rv?: number }[] = [];
    const stream = async (w: number): Promise<void> => {
      for (let i = 0; i < 25; i++) {
        const name = `cm-${w}-${i}`;
        const created = await core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name }, data: { v: '0' } } });
        writes.push({ type: 'add', name, rv: Number(created.metadata!.resourceVersion) });
        for (let u = 1; u <= 3; u++) {
          const updated = await core.replaceNamespacedConfigMap({ name, namespace: ns, body: { metadata: { name }, data: { v: String(u) } } });
          writes.push({ type: 'update', name, rv: Number(updated.metadata!.resourceVersion) });
        }
        if (i % 2 === 0) {
          await core.deleteNamespacedConfigMap({ name, namespace: ns });
          writes.push({ type: 'delete', name });
        }
      }
    };
    await Promise.all([0, 1, 2, 3].map(stream));

    const expected = writes.length;
    const end = Date.now() + 15_000;
    while (seen.length < expected && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
    const errorsWhileRunning = [...errors];
    await informer.stop();

    assert.deepEqual(errorsWhileRunning, []);
    assert.equal(seen.length, expected, 'one informer event per write');
    const rvs = seen.filter((s) => s.type !== 'delete').map((s) => s.rv);
    const writerRvs = writes.filter((w) => w.type !== 'delete').map((w) => w.rv!);
    assert.deepEqual([...rvs].sort((a, b) => a - b), [...writerRvs].sort((a, b) => a - b), 'every write seen exactly once');
    for (let i = 1; i < seen.length; i++) assert.ok(seen[i].rv > seen[i - 1].rv, `events in revision order at ${i}`);
    const deletes = seen.filter((s) => s.type === 'delete').map((s) => s.name).sort();
    assert.deepEqual(deletes, writes.filter((w) => w.type === 'delete').map((w) => w.name).sort());
    // The cache the informer keeps matches the server.
    const live = await core.listNamespacedConfigMap({ namespace: ns });
    assert.deepEqual(
      informer.list(ns).map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort(),
      live.items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort(),
    );
  });
});
