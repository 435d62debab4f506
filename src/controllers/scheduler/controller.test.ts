/**
 * The Scheduler's bookkeeping against a lagging cache: a fake context whose informers change
 * only when the test says so, so the window between our binding and the informer seeing it
 * (instant in-process, real over the network) can be held open.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { StatusError } from '../../apiserver/errors.js';
import { keyOf, type IndexFunc } from '../../client/shared-informer.js';
import type { ControllerContext } from '../context.js';
import { Scheduler } from './controller.js';

class FakeInformer {
  readonly items = new Map<string, KObject>();
  private readonly indexers = new Map<string, IndexFunc>();
  addIndexer(name: string, fn: IndexFunc): void {
    this.indexers.set(name, fn);
  }
  addHandlers(): void {}
  start(): Promise<void> {
    return Promise.resolve();
  }
  get(key: string): KObject | undefined {
    return this.items.get(key);
  }
  list(): KObject[] {
    return [...this.items.values()];
  }
  byIndex(name: string, value: string): KObject[] {
    const fn = this.indexers.get(name)!;
    return this.list().filter((o) => fn(o).includes(value));
  }
  put(obj: KObject): void {
    this.items.set(keyOf(obj), obj);
  }
}

class FakeClient {
  readonly live = new Map<string, KObject>();
  readonly binds: string[] = [];
  statusWrites = 0;
  bindError?: StatusError;
  as(): this {
    return this;
  }
  async bind(ns: string, pod: string, node: string): Promise<KObject> {
    if (this.bindError) throw this.bindError;
    this.binds.push(`${ns}/${pod}->${node}`);
    const p = this.live.get(`${ns}/${pod}`)!;
    (p.spec as Record<string, unknown>).nodeName = node;
    return p;
  }
  async mutate(_ref: unknown, ns: string, name: string, fn: (o: KObject) => KObject | undefined): Promise<KObject> {
    const cur = this.live.get(`${ns}/${name}`)!;
    const next = fn(clone(cur));
    if (next) {
      this.statusWrites++;
      this.live.set(`${ns}/${name}`, next);
    }
    return next ?? cur;
  }
}

function setup(): { sched: Scheduler; pods: FakeInformer; nodes: FakeInformer; client: FakeClient; events: string[] } {
  const pods = new FakeInformer();
  const nodes = new FakeInformer();
  const client = new FakeClient();
  const events: string[] = [];
  const ctx = {
    informers: { for: (_g: string, plural: string) => (plural === 'pods' ? pods : nodes), start: () => Promise.resolve() },
    client,
    recorder: () => ({ event: (_o: KObject, type: string, reason: string, msg: string) => events.push(`${type} ${reason} ${msg}`) }),
    clock: { now: () => 0, setTimeout: () => 0, clearTimeout: () => undefined },
  } as unknown as ControllerContext;
  return { sched: new Scheduler(ctx), pods, nodes, client, events };
}

const node = (name: string, cpu: string): KObject => ({
  metadata: { name },
  spec: {},
  status: { allocatable: { cpu, memory: '8Gi', pods: '110' }, conditions: [{ type: 'Ready', status: 'True' }] },
});
const pod = (name: string, cpu: string): KObject => ({
  kind: 'Pod',
  metadata: { name, namespace: 'default', uid: `u-${name}` },
  spec: { containers: [{ name: 'c', resources: { requests: { cpu } } }] },
  status: { phase: 'Pending' },
});

describe('Scheduler.sync with a lagging informer', () => {
  it('counts a just-bound pod against its node until the informer catches up', async () => {
    const { sched, pods, nodes, client, events } = setup();
    nodes.put(node('n1', '2'));
    for (const p of [pod('a', '1500m'), pod('b', '1500m')]) {
      pods.put(p);
      client.live.set(keyOf(p), clone(p));
    }
    await sched.start();
    assert.equal(await sched.sync('default/a'), 'scheduled');
    // The informer still shows `a` unbound: it must not be bound twice, nor `b` squeezed in.
    assert.equal(await sched.sync('default/a'), 'skipped');
    assert.equal(await sched.sync('default/b'), 'unschedulable');
    assert.deepEqual(client.binds, ['default/a->n1']);
    assert.ok(events.includes('Normal Scheduled Successfully assigned default/a to n1'));
    assert.ok(events.some((e) => e.startsWith('Warning FailedScheduling 0/1 nodes are available: 1 Insufficient cpu.')));
    // Same verdict again: no second status write, but another (deduplicated) event.
    assert.equal(await sched.sync('default/b'), 'unschedulable');
    assert.equal(client.statusWrites, 1);
    assert.deepEqual(sched.unschedulablePods(), ['default/b']);

    // Informer catches up: `a` is bound (still counted, via the index) ...
    pods.put(clone(client.live.get('default/a')!));
    assert.equal(await sched.sync('default/b'), 'unschedulable');
    // ... then finishes: its cpu is free again.
    const done = clone(client.live.get('default/a')!);
    (done.status as Record<string, unknown>).phase = 'Succeeded';
    pods.put(done);
    assert.equal(await sched.sync('default/b'), 'scheduled');
    assert.deepEqual(client.binds, ['default/a->n1', 'default/b->n1']);
    assert.deepEqual(sched.unschedulablePods(), []);
    await sched.stop();
  });

  it('a bind conflict (bound elsewhere meanwhile) is not retried', async () => {
    const { sched, pods, nodes, client } = setup();
    nodes.put(node('n1', '2'));
    pods.put(pod('a', '1'));
    client.live.set('default/a', pod('a', '1'));
    client.bindError = new StatusError(409, 'Conflict', 'pod a is already assigned to node "n2"');
    await sched.start();
    assert.equal(await sched.sync('default/a'), 'skipped');
    await sched.stop();
  });

  it('ignores pods that are bound, deleting, gated or for another scheduler', async () => {
    const { sched, pods, nodes, client } = setup();
    nodes.put(node('n1', '2'));
    const variants: [string, (p: KObject) => void][] = [
      ['bound', (p) => ((p.spec as Record<string, unknown>).nodeName = 'n1')],
      ['deleting', (p) => (p.metadata.deletionTimestamp = '2024-01-01T00:00:00Z')],
      ['gated', (p) => ((p.spec as Record<string, unknown>).schedulingGates = [{ name: 'g' }])],
      ['other', (p) => ((p.spec as Record<string, unknown>).schedulerName = 'other')],
    ];
    for (const [name, change] of variants) {
      const p = pod(name, '1');
      change(p);
      pods.put(p);
    }
    await sched.start();
    for (const [name] of variants) assert.equal(await sched.sync(`default/${name}`), 'skipped', name);
    assert.deepEqual(client.binds, []);
    await sched.stop();
  });
});
