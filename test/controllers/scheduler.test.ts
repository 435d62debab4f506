import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { LocalClient, PODS } from '../../src/client/client.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { Scheduler } from '../../src/controllers/scheduler/controller.js';
import { quantityMilli } from '../../src/controllers/scheduler/quantity.js';
import type { KObject } from '../../src/api/types.js';

const GPU_TOLERATION = [{ key: 'dedicated', operator: 'Equal', value: 'gpu', effect: 'NoSchedule' }];

interface Cond {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

async function until<T>(fn: () => Promise<T | undefined | false>, what: string, ms = 5000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

describe('scheduler', () => {
  let c: TestCluster;
  let ctx: ControllerContext;
  let scheduler: Scheduler;
  let client: LocalClient;
  const nodes: FakeNode[] = [];

  const makePod = (name: string, o: { cpu?: string; nodeSelector?: Record<string, string>; tolerations?: unknown[]; schedulerName?: string } = {}): Promise<KObject> =>
    client.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: {
        containers: [{ name: 'c', image: 'x:1', ...(o.cpu ? { resources: { requests: { cpu: o.cpu } } } : {}) }],
        ...(o.nodeSelector ? { nodeSelector: o.nodeSelector } : {}),
        ...(o.tolerations ? { tolerations: o.tolerations } : {}),
        ...(o.schedulerName ? { schedulerName: o.schedulerName } : {}),
      },
    });
  const nodeOf = async (name: string): Promise<string | undefined> => ((await client.get(PODS, 'default', name)).spec as { nodeName?: string }).nodeName;
  const boundTo = (name: string): Promise<string> => until(() => nodeOf(name), `${name} to be bound`);
  const scheduledCond = async (name: string): Promise<Cond | undefined> =>
    (((await client.get(PODS, 'default', name)).status as { conditions?: Cond[] }).conditions ?? []).find((x) => x.type === 'PodScheduled');
  const events = async (name: string): Promise<{ reason: string; message: string; type: string; source?: { component?: string } }[]> => {
    const r = await c.http('GET', `/api/v1/namespaces/default/events?fieldSelector=involvedObject.name%3D${name}`);
    assert.equal(r.status, 200, r.body);
    return r.json<{ items: { reason: string; message: string; type: string }[] }>().items;
  };
  const deleteAll = async (): Promise<void> => {
    for (const p of await client.list(PODS, 'default')) await client.delete(PODS, 'default', p.metadata.name ?? '', { gracePeriodSeconds: 0 });
    await until(async () => (await client.list(PODS, 'default')).length === 0, 'pods to be gone');
  };

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    client = new LocalClient(c.server.registry, { manager: 'test' });
    nodes.push(new FakeNode(deps, { name: 'small', index: 0, cpu: '2', labels: { disk: 'ssd' } }));
    nodes.push(new FakeNode(deps, { name: 'big', index: 1, cpu: '4', taints: [{ key: 'dedicated', value: 'gpu', effect: 'NoSchedule' }] }));
    for (const n of nodes) await n.start();
    ctx = newControllerContext(deps);
    // A long backoff: every quick retry below must come from a cluster event, not the timer.
    scheduler = new Scheduler(ctx, { backoffBaseMs: 60_000 });
    await scheduler.start();
  });
  after(async () => {
    await scheduler.stop();
    ctx.informers.close();
    for (const n of nodes) await n.stop();
    await c.close();
  });

  it('places pods on matching nodes and records Scheduled', async () => {
    await makePod('ssd', { nodeSelector: { disk: 'ssd' } });
    await makePod('plain');
    await makePod('gpu', { cpu: '1', tolerations: GPU_TOLERATION });
    await makePod('gpu-ssd', { tolerations: GPU_TOLERATION, nodeSelector: { disk: 'ssd' } });
    await makePod('foreign', { schedulerName: 'other-scheduler' });
    assert.equal(await boundTo('ssd'), 'small');
    assert.equal(await boundTo('plain'), 'small', 'the tainted node is off limits');
    assert.equal(await boundTo('gpu'), 'big', 'tolerating pod goes to the emptier node');
    assert.equal(await boundTo('gpu-ssd'), 'small');
    const sc = (await scheduledCond('ssd')) as Cond & { lastTransitionTime?: string };
    assert.equal(sc.status, 'True');
    assert.match(sc.lastTransitionTime ?? '', /^\d{4}-\d\d-\d\dT/);
    const ev = await until(async () => (await events('gpu')).find((e) => e.reason === 'Scheduled'), 'Scheduled event');
    assert.equal(ev.message, 'Successfully assigned default/gpu to big');
    assert.equal(ev.type, 'Normal');
    assert.equal(ev.source?.component, 'default-scheduler');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(await nodeOf('foreign'), undefined, 'pods for another scheduler are left alone');
    assert.equal(await scheduledCond('foreign'), undefined);
    await deleteAll();
  });

  it('back-to-back pods do not overcommit a node; a freed slot is reused', async () => {
    const names = ['f1', 'f2', 'f3', 'f4'];
    await Promise.all(names.map((n) => makePod(n, { cpu: '1500m', tolerations: GPU_TOLERATION })));
    const wantMsg = '0/2 nodes are available: 2 Insufficient cpu. preemption: 0/2 nodes are available: 2 No preemption victims found for incoming pod..';
    const unschedulable = await until(async () => {
      for (const n of names) {
        const cond = await scheduledCond(n);
        if (cond?.status === 'False') return { name: n, cond };
      }
      return undefined;
    }, 'one pod to be unschedulable');
    assert.equal(unschedulable.cond.reason, 'Unschedulable');
    assert.equal(unschedulable.cond.message, wantMsg);
    const placed = new Map<string, string>();
    for (const n of names.filter((x) => x !== unschedulable.name)) placed.set(n, await boundTo(n));
    const perNode = (node: string): number => [...placed.values()].filter((x) => x === node).length;
    assert.equal(perNode('big'), 2, 'the 4-cpu node takes two 1.5-cpu pods');
    assert.equal(perNode('small'), 1, 'the 2-cpu node takes one');
    for (const node of ['big', 'small']) {
      const pods = (await client.list(PODS, 'default')).filter((p) => (p.spec as { nodeName?: string }).nodeName === node);
      const used = pods.reduce((s, p) => s + quantityMilli((p.spec as { containers: { resources?: { requests?: { cpu?: string } } }[] }).containers[0]!.resources?.requests?.cpu), 0);
      assert.ok(used <= (node === 'big' ? 4000 : 2000), `${node} overcommitted: ${used}m`);
    }
    // Deleting a bound pod frees its cpu: the waiting pod is retried at once (backoff is 60 s).
    const victim = [...placed.entries()].find(([, n]) => n === 'small')![0];
    await client.delete(PODS, 'default', victim, { gracePeriodSeconds: 0 });
    assert.equal(await boundTo(unschedulable.name), 'small');
    assert.equal((await scheduledCond(unschedulable.name))?.status, 'True');
    await deleteAll();
  });

  it('a pod too big for every node stays Pending with the reason, then lands on a new node', async () => {
    await makePod('huge', { cpu: '8' });
    const wantMsg =
      '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {dedicated: gpu}. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod., 1 Preemption is not helpful for scheduling.';
    const cond = await until(async () => {
      const x = await scheduledCond('huge');
      return x?.status === 'False' ? x : undefined;
    }, 'PodScheduled=False');
    assert.equal(cond.reason, 'Unschedulable');
    assert.equal(cond.message, wantMsg);
    assert.match(cond.message ?? '', /Insufficient cpu/);
    const pod = await client.get(PODS, 'default', 'huge');
    assert.equal((pod.status as { phase: string }).phase, 'Pending');
    const ev = await until(async () => (await events('huge')).find((e) => e.reason === 'FailedScheduling'), 'FailedScheduling event');
    assert.equal(ev.type, 'Warning');
    assert.equal(ev.message, wantMsg);
    // Our own status write must not trigger a second attempt (the event count stays 1).
    await new Promise((r) => setTimeout(r, 300));
    const failed = (await events('huge')).filter((e) => e.reason === 'FailedScheduling') as unknown as { count: number }[];
    assert.equal(failed.length, 1);
    assert.equal(failed[0]!.count, 1);
    assert.deepEqual(scheduler.unschedulablePods(), ['default/huge']);

    const n3 = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: 'huge-node', index: 2, cpu: '16' });
    nodes.push(n3);
    await n3.start();
    assert.equal(await boundTo('huge'), 'huge-node');
    assert.equal((await scheduledCond('huge'))?.status, 'True');
    assert.deepEqual(scheduler.unschedulablePods(), []);
  });

  it('kubectl describe pod shows the FailedScheduling event', { skip: NO_KUBECTL }, async () => {
    await makePod('toobig', { cpu: '64' });
    await until(async () => (await events('toobig')).some((e) => e.reason === 'FailedScheduling'), 'FailedScheduling event');
    const r = await c.kubectl(['describe', 'pod', 'toobig']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/3 nodes are available: 1 node\(s\) had untolerated taint {dedicated: gpu}, 2 Insufficient cpu\./);
    assert.match(r.stdout, /PodScheduled\s+False/);
    const ev = await c.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=toobig,reason=FailedScheduling', '-o', 'jsonpath={.items[*].reason}']);
    assert.equal(ev.code, 0, ev.stderr);
    assert.equal(ev.stdout.trim(), 'FailedScheduling');
  });
});
