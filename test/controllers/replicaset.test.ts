import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster, until } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import type { KObject } from '../../src/api/types.js';
import type { WatchCache, Subscriber } from '../../src/apiserver/watchcache.js';
import { StatusError } from '../../src/apiserver/errors.js';
import { LocalClient, PODS, REPLICASETS, EVENTS, type ResourceRef } from '../../src/client/client.js';
import { InformerFactory } from '../../src/client/shared-informer.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { controllerOf, isPodActive } from '../../src/controllers/owners.js';
import { ReplicaSetController } from '../../src/controllers/replicaset/controller.js';

const NS = 'default';
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));


interface RSStatusView {
  replicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  fullyLabeledReplicas?: number;
  observedGeneration?: number;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
}

describe('ReplicaSet controller (integration)', () => {
  let c: TestCluster;
  let node: FakeNode;
  let client: LocalClient;
  let binderInformers: InformerFactory;
  let ctx: ControllerContext;
  let ctrl: ReplicaSetController;

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    client = new LocalClient(c.server.registry, { manager: 'test' });
    node = new FakeNode(deps, { name: 'n1', pods: '1000' });
    await node.start();
    // A tiny scheduler stand-in: bind every unbound pod to the fake node.
    binderInformers = new InformerFactory(deps);
    const pods = binderInformers.for('', 'pods');
    const bind = (p: KObject): void => {
      if ((p.spec as { nodeName?: string }).nodeName || p.metadata.deletionTimestamp) return;
      client.bind(p.metadata.namespace ?? NS, p.metadata.name ?? '', 'n1').catch(() => undefined);
    };
    pods.addHandlers({ onAdd: bind, onUpdate: bind });
    await binderInformers.start();
    ctx = newControllerContext(deps);
    ctrl = new ReplicaSetController(ctx);
    await ctrl.start();
  });

  after(async () => {
    await ctrl.stop();
    ctx.informers.close();
    binderInformers.close();
    await node.stop();
    await c.close();
  });

  function rsObject(name: string, replicas: number, extra: { minReadySeconds?: number } = {}): KObject {
    return {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: NS },
      spec: {
        replicas,
        ...extra,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name, tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } },
      },
    };
  }

  const getRS = (name: string): Promise<KObject> => client.get(REPLICASETS, NS, name);
  const statusOf = async (name: string): Promise<RSStatusView> => ((await getRS(name)).status ?? {}) as RSStatusView;
  const scale = (name: string, replicas: number): Promise<KObject> =>
    client.mutate(REPLICASETS, NS, name, (rs) => {
      (rs.spec as { replicas: number }).replicas = replicas;
      return rs;
    });
  /** Active pods carrying the RS's app label. */
  const labeled = async (app: string): Promise<KObject[]> => (await client.list(PODS, NS)).filter((p) => p.metadata.labels?.app === app && isPodActive(p));
  /** Every pod (even terminating) controlled by the RS. */
  const owned = async (rs: KObject): Promise<KObject[]> => (await client.list(PODS, NS)).filter((p) => controllerOf(p)?.uid === rs.metadata.uid);

  async function settle(rs: KObject, n: number): Promise<KObject[]> {
    const name = rs.metadata.name!;
    await until(`${name} has exactly ${n} pods and status.replicas ${n}`, async () => {
      const pods = await owned(rs);
      return pods.length === n && pods.every(isPodActive) && (await statusOf(name)).replicas === n;
    });
    // Stays there: no overshoot once the informer catches up.
    await sleep(200);
    const pods = await owned(rs);
    assert.equal(pods.length, n);
    return pods;
  }

  it('scales 0 → 3 → 10 → 2 with labeled, controlled pods', async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('scale', 0));
    await until('status observed', async () => (await statusOf('scale')).observedGeneration === 1);
    assert.equal((await owned(rs)).length, 0);
    for (const n of [3, 10, 2]) {
      await scale('scale', n);
      const pods = await settle(rs, n);
      for (const p of pods) {
        assert.deepEqual(p.metadata.labels, { app: 'scale', tier: 'web' });
        const ref = controllerOf(p)!;
        assert.deepEqual(ref, { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'scale', uid: rs.metadata.uid, controller: true, blockOwnerDeletion: true });
        assert.match(p.metadata.name!, /^scale-[a-z0-9]{5}$/);
      }
      assert.equal((await labeled('scale')).length, n);
    }
    const st = await statusOf('scale');
    assert.equal(st.observedGeneration, (await getRS('scale')).metadata.generation);
    await until('ready status', async () => (await statusOf('scale')).readyReplicas === 2);
    assert.equal((await statusOf('scale')).fullyLabeledReplicas, 2);
    const events = (await client.list(EVENTS, NS)).filter((e) => (e.involvedObject as { name: string }).name === 'scale');
    assert.ok(events.some((e) => e.reason === 'SuccessfulCreate' && /^Created pod: scale-/.test(e.message as string)));
    assert.ok(events.some((e) => e.reason === 'SuccessfulDelete' && /^Deleted pod: scale-/.test(e.message as string)));
  });

  it('replaces a deleted pod', async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('replace', 3));
    const before = await settle(rs, 3);
    const victim = before[0].metadata.name!;
    await client.delete(PODS, NS, victim);
    await until('a replacement exists', async () => {
      const pods = (await owned(rs)).filter(isPodActive);
      return pods.length === 3 && !pods.some((p) => p.metadata.name === victim);
    });
    await settle(rs, 3);
  });

  it('adopts matching orphans and counts them', async () => {
    for (const n of ['orphan-a', 'orphan-b']) {
      await client.create(PODS, NS, { apiVersion: 'v1', kind: 'Pod', metadata: { name: n, labels: { app: 'adopt' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } });
    }
    const rs = await client.create(REPLICASETS, NS, rsObject('adopt', 3));
    const pods = await settle(rs, 3);
    const names = pods.map((p) => p.metadata.name).sort();
    assert.ok(names.includes('orphan-a') && names.includes('orphan-b'), `orphans adopted: ${names.join(',')}`);
    assert.equal((await labeled('adopt')).length, 3, 'only one pod created');
    assert.equal(controllerOf(pods.find((p) => p.metadata.name === 'orphan-a')!)?.uid, rs.metadata.uid);
  });

  it('releases a relabeled pod and replaces it', async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('release', 2));
    const pods = await settle(rs, 2);
    const moved = pods[0].metadata.name!;
    await client.mutate(PODS, NS, moved, (p) => {
      p.metadata.labels = { app: 'elsewhere' };
      return p;
    });
    await until('released', async () => !(await client.get(PODS, NS, moved)).metadata.ownerReferences?.length);
    const now = await settle(rs, 2);
    assert.ok(!now.some((p) => p.metadata.name === moved));
    assert.equal((await client.get(PODS, NS, moved)).metadata.deletionTimestamp, undefined, 'released pod keeps running');
  });

  it('scale-down deletes not-ready pods first; ready/available follow readiness', async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('rank', 4));
    const pods = await settle(rs, 4);
    await until('all ready', async () => (await statusOf('rank')).readyReplicas === 4);
    assert.equal((await statusOf('rank')).availableReplicas, 4);
    const sick = [pods[1].metadata.name!, pods[3].metadata.name!];
    for (const n of sick) await node.setReady(NS, n, false);
    await until('two not ready', async () => (await statusOf('rank')).readyReplicas === 2);
    assert.equal((await statusOf('rank')).availableReplicas, 2);
    await scale('rank', 2);
    const left = await settle(rs, 2);
    assert.deepEqual(left.map((p) => p.metadata.name).sort(), [pods[0].metadata.name, pods[2].metadata.name].sort());
  });

  it('availableReplicas waits for minReadySeconds and is re-checked later', async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('minready', 2, { minReadySeconds: 2 }));
    await settle(rs, 2);
    await until('ready', async () => (await statusOf('minready')).readyReplicas === 2);
    assert.equal((await statusOf('minready')).availableReplicas ?? 0, 0);
    // Nothing about the pods changes any more: only the controller's own requeue can do this.
    await until('available after minReadySeconds', async () => (await statusOf('minready')).availableReplicas === 2, 6000);
  });

  it('reports FailedCreate (event + ReplicaFailure) and recovers', async () => {
    const deps = { registry: c.server.registry, cache: c.server.cache };
    const base = newControllerContext(deps);
    let fail = true;
    let attempts = 0;
    class QuotaClient extends LocalClient {
      override as(): LocalClient {
        return this;
      }
      override create(ref: ResourceRef, ns: string | undefined, obj: KObject): Promise<KObject> {
        if (ref === PODS && fail) {
          attempts++;
          return Promise.reject(new StatusError(403, 'Forbidden', 'pods "quota-" is forbidden: exceeded quota: q, requested: pods=1, used: pods=0, limited: pods=0'));
        }
        return super.create(ref, ns, obj);
      }
    }
    const qctx: ControllerContext = { ...base, client: new QuotaClient(c.server.registry, { manager: 'replicaset-controller' }) };
    // The main controller is stopped meanwhile so only this one (with the failing client) acts.
    const q = new ReplicaSetController(qctx);
    await ctrl.stop();
    ctx.informers.close();
    try {
      await q.start();
      await client.create(REPLICASETS, NS, rsObject('quota', 5));
      await until('ReplicaFailure', async () => ((await statusOf('quota')).conditions ?? []).some((x) => x.type === 'ReplicaFailure'));
      const cond = (await statusOf('quota')).conditions!.find((x) => x.type === 'ReplicaFailure')!;
      assert.equal(cond.status, 'True');
      assert.equal(cond.reason, 'FailedCreate');
      assert.match(cond.message ?? '', /exceeded quota/);
      await until('FailedCreate event', async () =>
        (await client.list(EVENTS, NS)).some((e) => e.reason === 'FailedCreate' && e.type === 'Warning' && /^Error creating: pods "quota-" is forbidden/.test(e.message as string)),
      );
      await sleep(50);
      // Slow start: one attempt per sync, not five.
      assert.ok(attempts < 5 * 3, `attempts ${attempts}`);
      fail = false;
      await until('recovered', async () => {
        const st = await statusOf('quota');
        return st.replicas === 5 && !(st.conditions ?? []).length;
      });
    } finally {
      await q.stop();
      qctx.informers.close();
      ctx = newControllerContext(deps);
      ctrl = new ReplicaSetController(ctx);
      await ctrl.start();
    }
  });

  it('a burst of 100 replicas creates exactly 100 pods although the cache lags', async () => {
    // The controller's informers see every event 150 ms late.
    const lagging = {
      subscribe: (sub: Subscriber) => c.server.cache.subscribe({ ...sub, onEvent: (ev) => void setTimeout(() => sub.onEvent(ev), 150) }),
    } as unknown as WatchCache;
    const lctx = newControllerContext({ registry: c.server.registry, cache: lagging });
    const lagged = new ReplicaSetController(lctx);
    await ctrl.stop();
    ctx.informers.close();
    const created = new Set<string>();
    const counter = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
    try {
      await lagged.start();
      const rs = await client.create(REPLICASETS, NS, rsObject('burst', 100));
      counter.for('', 'pods').addHandlers({ onAdd: (p) => void (controllerOf(p)?.uid === rs.metadata.uid && created.add(p.metadata.name!)) });
      await counter.start();
      await until('100 pods', async () => (await statusOf('burst')).replicas === 100, 20_000);
      await sleep(600);
      assert.equal(created.size, 100);
      assert.equal((await owned(rs)).length, 100);
      assert.equal(lagged.expectations.satisfied(`${NS}/burst`), true);
      // Scale down under lag too: exactly 70 deleted, no more.
      await scale('burst', 30);
      await until('30 pods', async () => (await owned(rs)).length === 30, 20_000);
      await sleep(600);
      assert.equal((await owned(rs)).length, 30);
      assert.equal(created.size, 100, 'no replacement pods created during scale-down');
    } finally {
      counter.close();
      await lagged.stop();
      lctx.informers.close();
      ctx = newControllerContext({ registry: c.server.registry, cache: c.server.cache });
      ctrl = new ReplicaSetController(ctx);
      await ctrl.start();
    }
  });

  it('kubectl get rs shows DESIRED/CURRENT/READY', { skip: NO_KUBECTL }, async () => {
    const rs = await client.create(REPLICASETS, NS, rsObject('kubectl', 3));
    await settle(rs, 3);
    await until('ready', async () => (await statusOf('kubectl')).readyReplicas === 3);
    await node.setReady(NS, (await owned(rs))[0].metadata.name!, false);
    await until('2 ready', async () => (await statusOf('kubectl')).readyReplicas === 2);
    const r = await c.kubectl(['get', 'rs', 'kubectl', '-n', NS]);
    assert.equal(r.code, 0, r.stderr);
    const [head, row] = r.stdout.trim().split('\n');
    assert.match(head, /^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$/);
    assert.deepEqual(row.split(/\s+/).slice(0, 4), ['kubectl', '3', '3', '2']);
  });
});
