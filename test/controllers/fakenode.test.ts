import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { LocalClient, PODS } from '../../src/client/client.js';
import { InformerFactory } from '../../src/client/shared-informer.js';
import type { KObject } from '../../src/api/types.js';

describe('framework: shared informer, local client, fake node', () => {
  let c: TestCluster;
  let node: FakeNode;
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    node = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: 'n1' });
    await node.start();
  });
  after(async () => {
    await node.stop();
    await c.close();
  });

  it('a bound pod runs and turns ready; setReady flips it; informer sees every step', async () => {
    const client = new LocalClient(c.server.registry, { manager: 'test' });
    const f = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
    const pods = f.for('', 'pods');
    const seen: string[] = [];
    pods.addHandlers({ onUpdate: (o: KObject) => seen.push(String((o.status as { phase?: string }).phase)) });
    await f.start();
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p1' }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
    await client.bind('default', 'p1', 'n1');
    const until = async (fn: () => boolean): Promise<void> => {
      for (let i = 0; i < 200 && !fn(); i++) await new Promise((r) => setTimeout(r, 10));
      assert.ok(fn());
    };
    const ready = (): boolean => ((pods.getBy('default', 'p1')?.status as { conditions?: { type: string; status: string }[] })?.conditions ?? []).some((x) => x.type === 'Ready' && x.status === 'True');
    await until(ready);
    assert.equal((pods.getBy('default', 'p1')!.status as { podIP: string }).podIP, node.podIP('default', 'p1'));
    await node.setReady('default', 'p1', false);
    await until(() => !ready());
    await client.delete(PODS, 'default', 'p1');
    await until(() => pods.getBy('default', 'p1') === undefined);
    assert.ok(seen.includes('Running'));
    f.close();
  });
});
