import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster, until } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { EVENTS, LocalClient, PODS, STATEFULSETS } from '../../src/client/client.js';
import { InformerFactory, type SharedInformer } from '../../src/client/shared-informer.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { StatefulSetController } from '../../src/controllers/statefulset/controller.js';
import type { KObject } from '../../src/api/types.js';

const NS = 'default';

function sts(name: string, spec: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'StatefulSet',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 3,
      serviceName: name,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
      ...spec,
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('statefulset controller', () => {
  let c: TestCluster;
  /** Pods of the "web" set land here and turn Ready only when told. */
  let manual: FakeNode;
  /** Every other pod lands here and turns Ready at once. */
  let auto: FakeNode;
  let ctx: ControllerContext;
  let ctrl: StatefulSetController;
  let binderInformers: InformerFactory;
  let pods: SharedInformer;
  let client: LocalClient;
  const deletedPods: string[] = [];

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    manual = new FakeNode(deps, { name: 'manual', autoReady: false });
    auto = new FakeNode(deps, { name: 'auto', index: 1 });
    await manual.start();
    await auto.start();
    client = new LocalClient(c.server.registry, { manager: 'test' });
    // A tiny binder standing in for the scheduler.
    binderInformers = new InformerFactory(deps);
    pods = binderInformers.for('', 'pods');
    const bind = (p: KObject): void => {
      if ((p.spec as { nodeName?: string }).nodeName || p.metadata.deletionTimestamp) return;
      const node = p.metadata.name?.startsWith('web-') ? 'manual' : 'auto';
      void client.bind(p.metadata.namespace ?? '', p.metadata.name ?? '', node).catch(() => undefined);
    };
    pods.addHandlers({ onAdd: bind, onUpdate: bind, onDelete: (p) => deletedPods.push(p.metadata.name ?? '') });
    await binderInformers.start();
    ctx = newControllerContext(deps);
    ctrl = new StatefulSetController(ctx);
    await ctrl.start();
  });
  after(async () => {
    await ctrl.stop();
    ctx.informers.close();
    binderInformers.close();
    await manual.stop();
    await auto.stop();
    await c.close();
  });

  const pod = (name: string): KObject | undefined => pods.getBy(NS, name);
  const phase = (name: string): string | undefined => (pod(name)?.status as { phase?: string } | undefined)?.phase;
  const setStatus = async (name: string): Promise<Record<string, unknown>> => ((await client.get(STATEFULSETS, NS, name)).status ?? {}) as Record<string, unknown>;

  it('OrderedReady: web-1 only after web-0 is Ready; identity, hostname, subdomain, owner, events', async () => {
    await client.create(STATEFULSETS, NS, sts('web'));
    await until('web-0 running', () => phase('web-0') === 'Running');
    await sleep(300);
    assert.equal(pod('web-1'), undefined, 'web-1 must wait for web-0 to be Ready');
    const p0 = pod('web-0')!;
    const spec0 = p0.spec as { hostname?: string; subdomain?: string };
    assert.equal(spec0.hostname, 'web-0');
    assert.equal(spec0.subdomain, 'web');
    assert.equal(p0.metadata.labels?.['statefulset.kubernetes.io/pod-name'], 'web-0');
    assert.equal(p0.metadata.labels?.['apps.kubernetes.io/pod-index'], '0');
    assert.equal(p0.metadata.labels?.app, 'web');
    const set = await client.get(STATEFULSETS, NS, 'web');
    assert.deepEqual(p0.metadata.ownerReferences?.map((r) => [r.kind, r.name, r.uid, r.controller]), [['StatefulSet', 'web', set.metadata.uid, true]]);
    const rev = p0.metadata.labels?.['controller-revision-hash'];
    assert.match(rev ?? '', /^web-[a-z0-9]+$/);

    await manual.setReady(NS, 'web-0', true);
    await until('web-1 created', () => pod('web-1') !== undefined);
    await sleep(200);
    assert.equal(pod('web-2'), undefined, 'web-2 must wait for web-1');
    await manual.setReady(NS, 'web-1', true);
    await until('web-2 created', () => pod('web-2') !== undefined);
    await until('web-2 running', () => phase('web-2') === 'Running');
    await manual.setReady(NS, 'web-2', true);
    let st: Record<string, unknown> = {};
    for (let i = 0; i < 300; i++) {
      st = await setStatus('web');
      if (st.readyReplicas === 3) break;
      await sleep(10);
    }
    assert.equal(st.replicas, 3);
    assert.equal(st.readyReplicas, 3);
    assert.equal(st.availableReplicas, 3);
    assert.equal(st.currentReplicas, 3);
    assert.equal(st.updatedReplicas, 3);
    assert.equal(st.currentRevision, rev);
    assert.equal(st.updateRevision, rev);
    assert.equal(st.observedGeneration, 1);
    const events = await client.list(EVENTS, NS);
    const msgs = events.filter((e) => (e.involvedObject as { name: string }).name === 'web').map((e) => `${e.reason}: ${e.message}`);
    for (const n of [0, 1, 2]) assert.ok(msgs.includes(`SuccessfulCreate: create Pod web-${n} in StatefulSet web successful`), msgs.join('\n'));
  });

  it('scale down removes the highest ordinal first, one at a time', async () => {
    deletedPods.length = 0;
    await client.mutate(STATEFULSETS, NS, 'web', (s) => {
      (s.spec as { replicas: number }).replicas = 1;
      return s;
    });
    await until('web-1 and web-2 gone', () => !pod('web-1') && !pod('web-2'));
    assert.deepEqual(deletedPods.filter((n) => n.startsWith('web-')), ['web-2', 'web-1']);
    assert.ok(pod('web-0'));
    const events = await client.list(EVENTS, NS);
    assert.ok(events.some((e) => e.reason === 'SuccessfulDelete' && e.message === 'delete Pod web-2 in StatefulSet web successful'));
  });

  it('Parallel creates all pods at once, without waiting for readiness', async () => {
    // web-* names go to the manual node, which never readies these pods.
    await client.create(STATEFULSETS, NS, sts('web-burst', { podManagementPolicy: 'Parallel', replicas: 3 }));
    await until('all three created', () => [0, 1, 2].every((i) => pod(`web-burst-${i}`) !== undefined));
    assert.ok([0, 1, 2].every((i) => !(pod(`web-burst-${i}`)!.status as { conditions?: { type: string; status: string }[] }).conditions?.some((x) => x.type === 'Ready' && x.status === 'True')));
  });

  it('rolling update with partition=2 on 3 replicas updates only the highest ordinal; rollout status', async () => {
    await client.create(STATEFULSETS, NS, sts('roll', { updateStrategy: { type: 'RollingUpdate', rollingUpdate: { partition: 2 } } }));
    await until('3 ready', () => [0, 1, 2].every((i) => phase(`roll-${i}`) === 'Running'));
    let st = await setStatus('roll');
    for (let i = 0; i < 300 && st.readyReplicas !== 3; i++) {
      await sleep(10);
      st = await setStatus('roll');
    }
    const oldRev = st.updateRevision as string;
    const uids = [0, 1, 2].map((i) => pod(`roll-${i}`)!.metadata.uid);
    await client.mutate(STATEFULSETS, NS, 'roll', (s) => {
      ((s.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0]).image = 'nginx:1.26';
      return s;
    });
    await until('roll-2 replaced at the new revision', () => {
      const p = pod('roll-2');
      return !!p && p.metadata.uid !== uids[2] && p.metadata.labels?.['controller-revision-hash'] !== oldRev && phase('roll-2') === 'Running';
    });
    const newRev = pod('roll-2')!.metadata.labels?.['controller-revision-hash'];
    assert.equal(((pod('roll-2')!.spec as { containers: { image: string }[] }).containers[0]).image, 'nginx:1.26');
    await sleep(300);
    assert.equal(pod('roll-0')!.metadata.uid, uids[0]);
    assert.equal(pod('roll-1')!.metadata.uid, uids[1]);
    assert.equal(pod('roll-1')!.metadata.labels?.['controller-revision-hash'], oldRev);
    st = await setStatus('roll');
    assert.equal(st.updateRevision, newRev);
    assert.equal(st.currentRevision, oldRev);
    assert.equal(st.updatedReplicas, 1);
    assert.equal(st.currentReplicas, 2);
    assert.equal(st.observedGeneration, 2);

    // Partition 0: the rest roll, highest first.
    deletedPods.length = 0;
    await client.mutate(STATEFULSETS, NS, 'roll', (s) => {
      (s.spec as { updateStrategy: { rollingUpdate: { partition: number } } }).updateStrategy.rollingUpdate.partition = 0;
      return s;
    });
    await until('all at new revision', () => [0, 1, 2].every((i) => pod(`roll-${i}`)?.metadata.labels?.['controller-revision-hash'] === newRev && phase(`roll-${i}`) === 'Running'));
    assert.deepEqual(deletedPods.filter((n) => n.startsWith('roll-')), ['roll-1', 'roll-0']);
    for (let i = 0; i < 300 && st.currentRevision !== newRev; i++) {
      await sleep(10);
      st = await setStatus('roll');
    }
    assert.equal(st.currentRevision, newRev);
    assert.equal(st.currentReplicas, 3);
  });

  it('kubectl rollout status sts exits 0 after an update', { skip: NO_KUBECTL }, async () => {
    await c.kubectl(['set', 'image', 'sts/roll', 'c=nginx:1.27']);
    const r = await c.kubectl(['rollout', 'status', 'sts/roll', '--timeout=20s'], { timeoutMs: 25_000 });
    assert.equal(r.code, 0, r.stderr + r.stdout);
    assert.match(r.stdout, /partitioned roll out complete: 3 new pods have been updated/);
    assert.ok([0, 1, 2].every((i) => ((pod(`roll-${i}`)!.spec as { containers: { image: string }[] }).containers[0]).image === 'nginx:1.27'));
  });

  it('a pod deleted by hand comes back with the same name', async () => {
    const uid = pod('roll-1')!.metadata.uid;
    await client.delete(PODS, NS, 'roll-1');
    await until('roll-1 recreated', () => !!pod('roll-1') && pod('roll-1')!.metadata.uid !== uid && phase('roll-1') === 'Running');
  });

  it('volumeClaimTemplates are refused by the API server', { skip: NO_KUBECTL }, async () => {
    const manifest = JSON.stringify({
      ...sts('db'),
      spec: { ...(sts('db').spec as object), volumeClaimTemplates: [{ metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } }] },
    });
    const r = await c.kubectl(['apply', '-f', '-'], { input: manifest });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /StatefulSet "db" is invalid: spec.volumeClaimTemplates: Forbidden: persistent volumes are not supported by kubelite yet/);
    // and on update of an existing set
    const ok = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(sts('db', { replicas: 0 })) });
    assert.equal(ok.code, 0, ok.stderr);
    const upd = await c.kubectl(['apply', '-f', '-'], { input: manifest.replace('"replicas":3', '"replicas":0') });
    assert.notEqual(upd.code, 0);
    assert.match(upd.stderr, /spec.volumeClaimTemplates: Forbidden: persistent volumes are not supported by kubelite yet/);
  });
});
