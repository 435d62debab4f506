import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../../test/harness.js';
import { LocalClient, LEASES, NODES, PODS } from '../../client/client.js';
import type { KObject } from '../../api/types.js';
import { newControllerContext, type ControllerContext } from '../context.js';
import { FakeClock } from '../../client/fakeclock.js';
import { NodeLifecycleController } from './controller.js';


async function until(what: string, fn: () => boolean | Promise<boolean>): Promise<void> {
  for (let i = 0; i < 300; i++) {
    if (await fn()) return;
    await new Promise((r) => setTimeout(r, 10));
  }
  assert.fail(`timed out: ${what}`);
}

type Cond = { type: string; status: string; reason?: string };
const ready = (o: KObject | undefined): string | undefined => ((o?.status as { conditions?: Cond[] } | undefined)?.conditions ?? []).find((c) => c.type === 'Ready')?.status;
const taintKeys = (o: KObject): string[] => (((o.spec as { taints?: { key: string; effect: string }[] }).taints) ?? []).map((t) => `${t.key}:${t.effect}`).sort();

describe('NodeLifecycleController on fake time', () => {
  let c: TestCluster;
  let clock: FakeClock;
  let ctx: ControllerContext;
  let ctl: NodeLifecycleController;
  let client: LocalClient;
  const t0 = Date.parse('2030-01-01T00:00:00Z');

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    clock = new FakeClock(t0);
    ctx = newControllerContext({ registry: c.server.registry, cache: c.server.cache }, { clock });
    client = new LocalClient(c.server.registry, { manager: 'test' });
    // Remote timestamps deliberately far in the past: only *observed* changes count.
    const old = '2001-01-01T00:00:00Z';
    await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'x' }, spec: {} });
    await client.mutate(NODES, undefined, 'x', (n) => {
      n.status = { conditions: [{ type: 'Ready', status: 'True', reason: 'KubeletReady', lastHeartbeatTime: old, lastTransitionTime: old }] };
      return n;
    }, { subresource: 'status' });
    await client.create(LEASES, 'kube-node-lease', { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { name: 'x', namespace: 'kube-node-lease' }, spec: { holderIdentity: 'x', renewTime: '2001-01-01T00:00:00.000000Z' } });
    await client.create(PODS, 'default', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p' }, spec: { containers: [{ name: 'c', image: 'i' }], tolerations: [{ key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 10 }] } });
    await client.bind('default', 'p', 'x');
    await client.mutate(PODS, 'default', 'p', (p) => {
      (p.status as Record<string, unknown>).conditions = [{ type: 'Ready', status: 'True', lastTransitionTime: old }];
      return p;
    }, { subresource: 'status' });
    ctl = new NodeLifecycleController(ctx, { monitorPeriodMs: 1e9, gracePeriodMs: 40_000 });
    await ctl.start(); // first monitor pass runs at t0
    await until('pod cached', () => ready(ctx.informers.for('', 'pods').getBy('default', 'p')) === 'True');
  });
  after(async () => {
    await ctl.stop();
    await c.close();
  });

  it('a lease renewal observed at t0+30s keeps the node healthy until t0+70s; then Unknown, taints (per zone mode), pod not ready, eviction 10 s later', async () => {
    await ctl.monitorNodeHealth();
    clock.advance(30_000);
    await client.mutate(LEASES, 'kube-node-lease', 'x', (l) => {
      (l.spec as Record<string, unknown>).renewTime = '2001-01-01T00:00:01.000000Z';
      return l;
    });
    await until('lease cached', () => (ctx.informers.for('coordination.k8s.io', 'leases').getBy('kube-node-lease', 'x')?.spec as { renewTime: string }).renewTime.startsWith('2001-01-01T00:00:01'));
    await ctl.monitorNodeHealth(); // observes the renewal at t0+30s
    clock.advance(40_000); // exactly grace after the renewal: not overdue yet
    await ctl.monitorNodeHealth();
    assert.equal(ready(await client.get(NODES, undefined, 'x')), 'True');
    clock.advance(1);
    await ctl.monitorNodeHealth();
    assert.equal(ready(await client.get(NODES, undefined, 'x')), 'Unknown');
    assert.equal(ready(await client.get(PODS, 'default', 'p')), 'False');
    // The node change runs the NoSchedule pass.
    await until('NoSchedule taint', async () => taintKeys(await client.get(NODES, undefined, 'x')).length === 1);
    // Its only zone is fully disrupted (no Ready node at all): kube adds no NoExecute taint then.
    assert.deepEqual(taintKeys(await client.get(NODES, undefined, 'x')), ['node.kubernetes.io/unreachable:NoSchedule']);
    // Excluded from disruption accounting, the node gets tainted on the next pass.
    await client.mutate(NODES, undefined, 'x', (n) => {
      n.metadata.labels = { ...(n.metadata.labels ?? {}), 'node.kubernetes.io/exclude-disruption': '' };
      return n;
    });
    await until('label cached', () => 'node.kubernetes.io/exclude-disruption' in (ctx.informers.for('', 'nodes').get('x')?.metadata.labels ?? {}));
    await ctl.monitorNodeHealth();
    assert.deepEqual(taintKeys(await client.get(NODES, undefined, 'x')), ['node.kubernetes.io/unreachable:NoExecute', 'node.kubernetes.io/unreachable:NoSchedule']);

    // The taint eviction controller planned the pod's deletion 10 s after it saw the taint.
    await until('pod sees taint', () => (ctx.informers.for('', 'nodes').get('x')?.spec as { taints?: unknown[] }).taints !== undefined);
    await new Promise((r) => setTimeout(r, 100));
    clock.advance(9_000);
    await new Promise((r) => setTimeout(r, 200));
    assert.equal((await client.get(PODS, 'default', 'p')).metadata.deletionTimestamp, undefined, 'not before 10 s');
    clock.advance(1_000);
    await until('pod evicted', async () => !!(await client.get(PODS, 'default', 'p')).metadata.deletionTimestamp);
  });
});
