import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { LocalClient, PODS, NODES, EVENTS } from '../../src/client/client.js';
import { newControllerContext } from '../../src/controllers/context.js';
import { NodeLifecycleController } from '../../src/controllers/nodelifecycle/controller.js';
import type { KObject } from '../../src/api/types.js';

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

async function waitFor(what: string, fn: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

const conds = (o: KObject): Cond[] => ((o.status as { conditions?: Cond[] } | undefined)?.conditions ?? []);
const cond = (o: KObject, type: string): Cond | undefined => conds(o).find((c) => c.type === type);
const taints = (n: KObject): { key: string; effect: string; timeAdded?: string }[] => ((n.spec as { taints?: { key: string; effect: string; timeAdded?: string }[] }).taints ?? []);

describe('node lifecycle controller (grace 1.5 s, monitor 200 ms, eviction 2 s)', () => {
  let c: TestCluster;
  let n1: FakeNode;
  let n2: FakeNode;
  let n1again: FakeNode | undefined;
  let ctl: NodeLifecycleController;
  let client: LocalClient;

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    client = new LocalClient(c.server.registry, { manager: 'test' });
    n1 = new FakeNode(deps, { name: 'n1', index: 1, leaseRenewMs: 200 });
    n2 = new FakeNode(deps, { name: 'n2', index: 2, leaseRenewMs: 200 });
    await n1.start();
    await n2.start();
    ctl = new NodeLifecycleController(newControllerContext(deps), { monitorPeriodMs: 200, gracePeriodMs: 1500, podEvictionTimeoutMs: 2000 });
    await ctl.start();
  });
  after(async () => {
    await ctl.stop();
    await n1.stop();
    await n2.stop();
    await n1again?.stop();
    await c.close();
  });

  const pod = (name: string, tolerations?: unknown[]): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name },
    spec: { containers: [{ name: 'c', image: 'x:1' }], ...(tolerations ? { tolerations } : {}) },
  });
  const get = (ref: typeof PODS, name: string): Promise<KObject> => client.get(ref, ref === NODES ? undefined : 'default', name);

  it('a silent node turns Unknown and tainted, its pods not Ready, then evicted; the node coming back clears it', async () => {
    // The API server's DefaultTolerationSeconds admission gives every pod 300 s tolerations for
    // the not-ready/unreachable taints; a asks for 2 s, b for forever, c gets the defaults.
    await client.create(PODS, 'default', pod('a', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 2 }]));
    await client.create(PODS, 'default', pod('b', [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' }]));
    await client.create(PODS, 'default', pod('c'));
    await client.bind('default', 'a', 'n1');
    await client.bind('default', 'b', 'n1');
    await client.bind('default', 'c', 'n2');
    for (const p of ['a', 'b', 'c']) await waitFor(`${p} ready`, async () => cond(await get(PODS, p), 'Ready')?.status === 'True');

    // Healthy nodes stay untouched across several grace periods' worth of monitor passes.
    await new Promise((r) => setTimeout(r, 2000));
    for (const n of ['n1', 'n2']) {
      const node = await get(NODES, n);
      assert.equal(cond(node, 'Ready')?.status, 'True', n);
      assert.deepEqual(taints(node), [], n);
    }

    // n1 dies: no more lease renewals, no more pod status updates, no graceful-deletion finishing.
    const diedAt = Date.now();
    await n1.stop();
    await waitFor('n1 Unknown with unreachable taints', async () => {
      const node = await get(NODES, 'n1');
      return cond(node, 'Ready')?.status === 'Unknown' && taints(node).length === 2;
    });
    assert.ok(Date.now() - diedAt >= 1400, 'not before the grace period');
    const node = await get(NODES, 'n1');
    const r = cond(node, 'Ready')!;
    assert.equal(r.reason, 'NodeStatusUnknown');
    assert.equal(r.message, 'Kubelet stopped posting node status.');
    for (const t of ['MemoryPressure', 'DiskPressure', 'PIDPressure']) assert.equal(cond(node, t)?.status, 'Unknown', t);
    assert.deepEqual(taints(node).map((t) => `${t.key}:${t.effect}`).sort(), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);
    assert.ok(taints(node).find((t) => t.effect === 'NoExecute')!.timeAdded);

    for (const p of ['a', 'b']) await waitFor(`${p} not ready`, async () => cond(await get(PODS, p), 'Ready')?.status === 'False');
    assert.equal((await get(PODS, 'a')).metadata.deletionTimestamp, undefined, 'not evicted before its toleration runs out');

    // After its 2 s toleration, a is evicted; b tolerates forever.
    const taintedAt = Date.now();
    await waitFor('a evicted', async () => !!(await get(PODS, 'a')).metadata.deletionTimestamp);
    assert.ok(Date.now() - taintedAt >= 1500, `evicted after ${Date.now() - taintedAt} ms`);
    const a = await get(PODS, 'a');
    assert.equal(cond(a, 'DisruptionTarget')?.reason, 'DeletionByTaintManager');
    await new Promise((r) => setTimeout(r, 500));
    // A dead node can't confirm a graceful deletion: the pod stays Terminating (as in kube).
    assert.ok((await get(PODS, 'a')).metadata.deletionTimestamp);
    assert.equal((await get(PODS, 'b')).metadata.deletionTimestamp, undefined);
    const cpod = await get(PODS, 'c');
    assert.equal(cpod.metadata.deletionTimestamp, undefined);
    assert.equal(cond(cpod, 'Ready')?.status, 'True');
    assert.deepEqual(taints(await get(NODES, 'n2')), []);

    const events = await client.list(EVENTS, 'default');
    const has = (reason: string, message: string, type = 'Normal'): boolean => events.some((e) => e.reason === reason && e.message === message && e.type === type);
    assert.ok(has('NodeNotReady', 'Node n1 status is now: NodeNotReady'), 'node event');
    assert.ok(has('NodeNotReady', 'Node is not ready', 'Warning'), 'pod event');
    assert.ok(has('TaintManagerEviction', 'Marking for deletion Pod default/a'), 'eviction event');
    assert.ok(!events.some((e) => e.reason === 'TaintManagerEviction' && String(e.message).endsWith('/b')));

    // The kubelet comes back: it posts Ready=True and renews its lease; the taints go, and it
    // finishes the pending graceful deletion.
    n1again = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: 'n1', index: 1, leaseRenewMs: 200 });
    await n1again.start();
    await waitFor('n1 untainted', async () => taints(await get(NODES, 'n1')).length === 0);
    assert.equal(cond(await get(NODES, 'n1'), 'Ready')?.status, 'True');
    await waitFor('a gone', async () => (await client.list(PODS, 'default')).every((p) => p.metadata.name !== 'a'));
    await waitFor('b ready again', async () => cond(await get(PODS, 'b'), 'Ready')?.status === 'True');
  });
});
