/**
 * Deployment controller end to end: a real API server, fake nodes, the ReplicaSet controller,
 * the scheduler and the Deployment controller, driven by the real kubectl where it matters
 * (rollout status/history/undo/pause/resume, scale).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { startCluster, hasKubectl, NO_KUBECTL, type TestCluster } from '../harness.js';
import { FakeNode } from '../fakenode.js';
import { newControllerContext, type ControllerContext } from '../../src/controllers/context.js';
import { ReplicaSetController } from '../../src/controllers/replicaset/controller.js';
import { Scheduler } from '../../src/controllers/scheduler/controller.js';
import { DeploymentController } from '../../src/controllers/deployment/controller.js';
import { DEPLOYMENTS, EVENTS, REPLICASETS, SERVICES, type LocalClient } from '../../src/client/client.js';
import type { KObject } from '../../src/api/types.js';
import type { SharedInformer } from '../../src/client/shared-informer.js';
import { isPodReady, controllerOf } from '../../src/controllers/owners.js';

const NS = 'default';
const SEED = '../shared/examples/seed-app.yaml';

interface DStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  availableReplicas?: number;
  conditions?: { type: string; status: string; reason?: string }[];
}

async function waitFor<T>(what: string, fn: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

function deploymentYaml(name: string, o: { replicas: number; image: string; strategy?: string; surge?: number; unavailable?: number; deadline?: number; slow?: boolean }): KObject {
  const strategy = o.strategy === 'Recreate' ? { type: 'Recreate' } : { type: 'RollingUpdate', rollingUpdate: { maxSurge: o.surge ?? 1, maxUnavailable: o.unavailable ?? 0 } };
  const podSpec: Record<string, unknown> = { containers: [{ name: 'c', image: o.image, resources: { requests: { cpu: '10m' } } }] };
  if (o.slow) {
    podSpec.nodeSelector = { pool: 'slow' };
    podSpec.tolerations = [{ key: 'slow', operator: 'Exists', effect: 'NoSchedule' }];
  }
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: name } },
      strategy,
      ...(o.deadline ? { progressDeadlineSeconds: o.deadline } : {}),
      template: { metadata: { labels: { app: name } }, spec: podSpec },
    },
  };
}

describe('deployment controller (integration)', () => {
  let c: TestCluster;
  let ctx: ControllerContext;
  let client: LocalClient;
  let nodes: FakeNode[];
  let pods: SharedInformer;
  const controllers: { stop(): Promise<void> }[] = [];

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const deps = { registry: c.server.registry, cache: c.server.cache };
    nodes = [
      new FakeNode(deps, { name: 'n1', cpu: '64', memory: '64Gi', pods: '500' }),
      new FakeNode(deps, { name: 'slow', index: 1, cpu: '8', memory: '8Gi', autoReady: false, labels: { pool: 'slow' }, taints: [{ key: 'slow', value: 'true', effect: 'NoSchedule' }] }),
    ];
    for (const n of nodes) await n.start();
    ctx = newControllerContext(deps);
    client = ctx.client.as('test');
    pods = ctx.informers.for('', 'pods');
    for (const ctl of [new ReplicaSetController(ctx), new Scheduler(ctx, { backoffBaseMs: 100, backoffMaxMs: 1000 }), new DeploymentController(ctx)]) {
      await ctl.start();
      controllers.push(ctl);
    }
  });

  after(async () => {
    for (const ctl of controllers) await ctl.stop();
    ctx.informers.close();
    for (const n of nodes) await n.stop();
    await c.close();
  });

  const getDeploy = async (name: string): Promise<KObject> => client.get(DEPLOYMENTS, NS, name);
  const appPods = (app: string): KObject[] => pods.list(NS).filter((p) => p.metadata.labels?.app === app && !p.metadata.deletionTimestamp);
  const imageOf = (p: KObject): string => ((p.spec as { containers: { image: string }[] }).containers[0].image);
  const replicaSets = async (app: string): Promise<KObject[]> => (await client.list(REPLICASETS, NS)).filter((r) => r.metadata.labels?.app === app);
  const rsReplicas = (rs: KObject): number => (rs.spec as { replicas: number }).replicas;
  const progressing = (d: KObject): string | undefined => (d.status as DStatus | undefined)?.conditions?.find((x) => x.type === 'Progressing')?.reason;

  /** kubectl rollout status's notion of done, read from the API. */
  const rolledOut = async (name: string): Promise<KObject | undefined> => {
    const d = await getDeploy(name);
    const s = (d.status ?? {}) as DStatus;
    const want = (d.spec as { replicas: number }).replicas;
    const ok = (s.observedGeneration ?? 0) >= (d.metadata.generation ?? 0) && s.updatedReplicas === want && s.replicas === want && s.availableReplicas === want;
    return ok ? d : undefined;
  };

  const create = async (obj: KObject): Promise<void> => {
    if (hasKubectl) {
      const r = await c.kubectl(['apply', '-f', '-'], { input: JSON.stringify(obj) });
      assert.equal(r.code, 0, r.stderr);
    } else {
      await client.create(DEPLOYMENTS, NS, obj);
    }
  };

  const setImage = async (name: string, image: string, cause?: string): Promise<void> => {
    await client.mutate(DEPLOYMENTS, NS, name, (d) => {
      (d.spec as { template: { spec: { containers: { image: string }[] } } }).template.spec.containers[0].image = image;
      if (cause) d.metadata.annotations = { ...(d.metadata.annotations ?? {}), 'kubernetes.io/change-cause': cause };
      return d;
    });
  };

  it('(a) the seed sample gives 3 ready pods owned through a ReplicaSet', async () => {
    if (hasKubectl) {
      const r = await c.kubectl(['apply', '-f', SEED]);
      assert.equal(r.code, 0, r.stderr);
    } else {
      for (const doc of parseAllDocuments(readFileSync(SEED, 'utf8'))) {
        const obj = doc.toJSON() as KObject;
        await client.create(obj.kind === 'Service' ? SERVICES : DEPLOYMENTS, NS, obj);
      }
    }
    const d = await waitFor('my-app rolled out', () => rolledOut('my-app'));
    await waitFor('3 ready my-app pods', () => appPods('my-app').filter(isPodReady).length === 3);
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    const rss = await replicaSets('my-app');
    assert.equal(rss.length, 1);
    const rs = rss[0];
    const hash = rs.metadata.labels?.['pod-template-hash'];
    assert.ok(hash && rs.metadata.name === `my-app-${hash}`, rs.metadata.name);
    assert.deepEqual(controllerOf(rs), { apiVersion: 'apps/v1', kind: 'Deployment', name: 'my-app', uid: d.metadata.uid, controller: true, blockOwnerDeletion: true });
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/revision'], '1');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '3');
    assert.equal(rs.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '4');
    assert.equal(rs.metadata.annotations?.['kubectl.kubernetes.io/last-applied-configuration'], undefined);
    for (const p of appPods('my-app')) {
      assert.equal(p.metadata.labels?.app, 'my-app');
      assert.equal(p.metadata.labels?.['pod-template-hash'], hash);
      assert.equal(controllerOf(p)?.kind, 'ReplicaSet');
      assert.equal(controllerOf(p)?.uid, rs.metadata.uid);
    }
    const st = d.status as DStatus;
    assert.deepEqual(st.conditions?.map((x) => [x.type, x.status, x.reason]), [
      ['Available', 'True', 'MinimumReplicasAvailable'],
      ['Progressing', 'True', 'NewReplicaSetAvailable'],
    ]);
    const events = (await client.list(EVENTS, NS)).filter((e) => (e.involvedObject as { name: string }).name === 'my-app' && e.reason === 'ScalingReplicaSet');
    assert.ok(events.some((e) => e.message === `Scaled up replica set ${rs.metadata.name} from 0 to 3`), JSON.stringify(events.map((e) => e.message)));
  });

  it('(b) rolling update with maxUnavailable 0 never drops below 10 ready pods; history and undo', { skip: NO_KUBECTL }, async () => {
    await create(deploymentYaml('roll', { replicas: 10, image: 'img:v1', surge: 2, unavailable: 0 }));
    await waitFor('roll v1 rolled out', () => rolledOut('roll'));
    await waitFor('10 ready', () => appPods('roll').filter(isPodReady).length === 10);

    let minReady = Infinity;
    const violations: string[] = [];
    const check = (): void => {
      const ready = appPods('roll').filter(isPodReady).length;
      minReady = Math.min(minReady, ready);
      if (ready < 10) violations.push(`ready=${ready}`);
    };
    pods.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });

    await setImage('roll', 'img:v2', 'to v2');
    const st = await c.kubectl(['rollout', 'status', 'deploy/roll', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, /deployment "roll" successfully rolled out/);
    await waitFor('only v2 pods', () => appPods('roll').length === 10 && appPods('roll').every((p) => imageOf(p) === 'img:v2'));
    assert.deepEqual(violations, []);
    assert.equal(minReady, 10);

    const hist = await c.kubectl(['rollout', 'history', 'deploy/roll']);
    assert.equal(hist.code, 0, hist.stderr);
    assert.match(hist.stdout, /^1\s+<none>\s*$/m);
    assert.match(hist.stdout, /^2\s+to v2\s*$/m);

    const undo = await c.kubectl(['rollout', 'undo', 'deploy/roll']);
    assert.equal(undo.code, 0, undo.stderr);
    const st2 = await c.kubectl(['rollout', 'status', 'deploy/roll', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.equal(st2.code, 0, st2.stderr);
    await waitFor('only v1 pods again', () => appPods('roll').length === 10 && appPods('roll').every((p) => imageOf(p) === 'img:v1'));
    assert.deepEqual(violations, [], 'undo is a rolling update too');
    const d = await getDeploy('roll');
    assert.equal(d.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    const rss = await replicaSets('roll');
    assert.equal(rss.length, 2, 'undo reuses the old ReplicaSet');
    const v1 = rss.find((r) => imageOf({ metadata: {}, spec: (r.spec as { template: { spec: unknown } }).template.spec }) === 'img:v1')!;
    assert.equal(v1.metadata.annotations?.['deployment.kubernetes.io/revision'], '3');
    assert.equal(v1.metadata.annotations?.['deployment.kubernetes.io/revision-history'], '1');
    const hist2 = await c.kubectl(['rollout', 'history', 'deploy/roll']);
    assert.match(hist2.stdout, /^2\s+to v2\s*$/m);
    assert.match(hist2.stdout, /^3\s+/m);
    assert.doesNotMatch(hist2.stdout, /^1\s+/m);
  });

  it('(c) Recreate: no new pod while an old one exists', async () => {
    await create(deploymentYaml('rec', { replicas: 3, image: 'img:v1', strategy: 'Recreate' }));
    await waitFor('rec v1 rolled out', () => rolledOut('rec'));
    const bad: string[] = [];
    const check = (): void => {
      const all = pods.list(NS).filter((p) => p.metadata.labels?.app === 'rec');
      const old = all.filter((p) => imageOf(p) === 'img:v1');
      const cur = all.filter((p) => imageOf(p) === 'img:v2');
      if (old.length && cur.length) bad.push(`old=${old.length} new=${cur.length}`);
    };
    pods.addHandlers({ onAdd: check, onUpdate: check, onDelete: check });
    await setImage('rec', 'img:v2');
    await waitFor('rec v2 rolled out', async () => (await rolledOut('rec')) && appPods('rec').length === 3 && appPods('rec').every((p) => imageOf(p) === 'img:v2' && isPodReady(p)));
    assert.deepEqual(bad, []);
    assert.equal((await replicaSets('rec')).length, 2);
  });

  it('(c) pause holds the rollout but not scaling; resume finishes it', { skip: NO_KUBECTL }, async () => {
    await create(deploymentYaml('pz', { replicas: 4, image: 'img:v1', surge: 1, unavailable: 1 }));
    await waitFor('pz rolled out', () => rolledOut('pz'));
    const p = await c.kubectl(['rollout', 'pause', 'deploy/pz']);
    assert.equal(p.code, 0, p.stderr);
    await waitFor('DeploymentPaused', async () => progressing(await getDeploy('pz')) === 'DeploymentPaused');
    await setImage('pz', 'img:v2');
    const sc = await c.kubectl(['scale', 'deploy/pz', '--replicas=6']);
    assert.equal(sc.code, 0, sc.stderr);
    await waitFor('paused scale applies to the old ReplicaSet', async () => {
      const rss = await replicaSets('pz');
      return rss.length === 1 && rsReplicas(rss[0]) === 6 && appPods('pz').filter(isPodReady).length === 6;
    });
    await new Promise((r) => setTimeout(r, 300));
    assert.equal((await replicaSets('pz')).length, 1, 'no new ReplicaSet while paused');
    assert.ok(appPods('pz').every((x) => imageOf(x) === 'img:v1'));
    const d = await getDeploy('pz');
    assert.equal((d.status as DStatus).observedGeneration, d.metadata.generation, 'paused syncs still observe the spec');
    const st = await c.kubectl(['rollout', 'status', 'deploy/pz', '--timeout=1s']);
    assert.notEqual(st.code, 0);

    const r = await c.kubectl(['rollout', 'resume', 'deploy/pz']);
    assert.equal(r.code, 0, r.stderr);
    const st2 = await c.kubectl(['rollout', 'status', 'deploy/pz', '--timeout=60s'], { timeoutMs: 70_000 });
    assert.equal(st2.code, 0, st2.stderr);
    await waitFor('6 v2 pods', () => appPods('pz').length === 6 && appPods('pz').every((x) => imageOf(x) === 'img:v2'));
    assert.equal(progressing(await getDeploy('pz')), 'NewReplicaSetAvailable');
  });

  it('(c) kubectl scale mid-rollout scales ReplicaSets proportionally', { skip: NO_KUBECTL }, async () => {
    await create(deploymentYaml('sc', { replicas: 10, image: 'img:v1', surge: 3, unavailable: 2 }));
    await waitFor('sc rolled out', () => rolledOut('sc'));
    // The new template only fits the slow node, whose pods never turn ready: the rollout stalls
    // at old 8 / new 5 (13 = 10 + maxSurge; 8 = 10 - maxUnavailable available).
    const slow = deploymentYaml('sc', { replicas: 10, image: 'img:v2', slow: true, surge: 3, unavailable: 2 });
    await client.mutate(DEPLOYMENTS, NS, 'sc', (d) => {
      (d.spec as { template: unknown }).template = (slow.spec as { template: unknown }).template;
      return d;
    });
    const sizes = async (): Promise<string> => {
      const rss = await replicaSets('sc');
      return rss
        .map((r) => `${imageOf({ metadata: {}, spec: (r.spec as { template: { spec: unknown } }).template.spec })}=${rsReplicas(r)}`)
        .sort()
        .join(',');
    };
    await waitFor('stalled at 8/5', async () => (await sizes()) === 'img:v1=8,img:v2=5');
    const sc = await c.kubectl(['scale', 'deploy/sc', '--replicas=20']);
    assert.equal(sc.code, 0, sc.stderr);
    // allowed 23, had 13: +10 shared 8:5 → old +6 (round 14.15), new +4.
    await waitFor('proportional 14/9', async () => (await sizes()) === 'img:v1=14,img:v2=9');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(await sizes(), 'img:v1=14,img:v2=9', 'stays put: no availability budget left');
    const rss = await replicaSets('sc');
    for (const r of rss) {
      assert.equal(r.metadata.annotations?.['deployment.kubernetes.io/desired-replicas'], '20');
      assert.equal(r.metadata.annotations?.['deployment.kubernetes.io/max-replicas'], '23');
    }
    const events = (await client.list(EVENTS, NS)).filter((e) => (e.involvedObject as { name: string }).name === 'sc').map((e) => e.message as string);
    assert.ok(events.some((m) => /^Scaled up replica set sc-\w+ from 8 to 14$/.test(m)), JSON.stringify(events));
    await client.delete(DEPLOYMENTS, NS, 'sc');
  });

  it('adopts a matching orphan ReplicaSet and releases one whose labels stop matching', async () => {
    const tmpl = (deploymentYaml('orph', { replicas: 2, image: 'img:v1' }).spec as { template: Record<string, unknown> }).template;
    await client.create(REPLICASETS, NS, {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name: 'orph-manual', labels: { app: 'orph' } },
      spec: { replicas: 2, selector: { matchLabels: { app: 'orph' } }, template: tmpl },
    });
    await waitFor('orphan pods ready', () => appPods('orph').filter(isPodReady).length === 2);
    await create(deploymentYaml('orph', { replicas: 2, image: 'img:v1' }));
    const d = await waitFor('orph rolled out', () => rolledOut('orph'));
    const adopted = await client.get(REPLICASETS, NS, 'orph-manual');
    assert.equal(controllerOf(adopted)?.uid, d.metadata.uid, 'adopted');
    assert.equal(adopted.metadata.annotations?.['deployment.kubernetes.io/revision'], '1', 'the adopted set is the new one');
    assert.equal((await replicaSets('orph')).length, 1, 'no second ReplicaSet for the same template');

    await client.mutate(REPLICASETS, NS, 'orph-manual', (rs) => {
      rs.metadata.labels = { app: 'elsewhere' };
      (rs.spec as { selector: unknown }).selector = { matchLabels: { app: 'orph' } };
      return rs;
    });
    await waitFor('released', async () => controllerOf(await client.get(REPLICASETS, NS, 'orph-manual')) === undefined);
    await waitFor('a new ReplicaSet takes over', async () => (await replicaSets('orph')).some((r) => controllerOf(r)?.uid === d.metadata.uid));
  });

  it('(c) ProgressDeadlineExceeded when new pods never turn ready', async () => {
    await create(deploymentYaml('dl', { replicas: 2, image: 'img:v1', slow: true, deadline: 2, surge: 1, unavailable: 0 }));
    await waitFor('pods scheduled on the slow node', () => appPods('dl').length === 2 && appPods('dl').every((p) => (p.status as { phase?: string })?.phase === 'Running'));
    const d = await waitFor('ProgressDeadlineExceeded', async () => {
      const x = await getDeploy('dl');
      return progressing(x) === 'ProgressDeadlineExceeded' ? x : undefined;
    }, 15_000);
    const cond = (d.status as DStatus).conditions!.find((x) => x.type === 'Progressing')!;
    assert.equal(cond.status, 'False');
    assert.match((cond as { message?: string }).message ?? '', /^ReplicaSet "dl-\w+" has timed out progressing\.$/);
    if (hasKubectl) {
      const st = await c.kubectl(['rollout', 'status', 'deploy/dl', '--timeout=20s']);
      assert.notEqual(st.code, 0);
      assert.match(st.stderr, /error: deployment "dl" exceeded its progress deadline/);
    }
    // Pods turning ready afterwards completes the rollout (the timeout is not sticky).
    for (const p of appPods('dl')) await nodes[1].setReady(NS, p.metadata.name ?? '', true);
    await waitFor('dl rolled out', () => rolledOut('dl'));
    await waitFor('NewReplicaSetAvailable', async () => progressing(await getDeploy('dl')) === 'NewReplicaSetAvailable');
  });
});
