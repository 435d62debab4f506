/**
 * The Deployment controller (kube-controller-manager's deployment controller): rolls a
 * Deployment's pod template out through ReplicaSets — one new ReplicaSet per template, named
 * `<deployment>-<pod-template-hash>`, scaled up while old ones scale down within
 * maxSurge/maxUnavailable (or old first, then new, for Recreate) — and reports progress in
 * the Deployment's status for `kubectl rollout status`.
 *
 * This file holds the event wiring and the ReplicaSet claiming (adopt orphans whose labels
 * match, release owned ones that stopped matching); one sync's work is in sync.ts, its
 * decisions in rolling.ts/status.ts/util.ts.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { fromLabelSelectorObject, matchLabels, isEverything, type LabelSelector } from '../../apiserver/selectors/labels.js';
import { DEPLOYMENTS, REPLICASETS, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { controllerOf, controllerRef } from '../owners.js';
import { DeploymentSync } from './sync.js';
import type { Deployment, ReplicaSet } from './util.js';

export interface DeploymentControllerOptions {
  /** Concurrent syncs (kube's --concurrent-deployment-syncs, default 5). */
  workers?: number;
  /** Called when a sync fails (it is retried with backoff either way). */
  onError?: (key: string, err: unknown) => void;
}

const COMPONENT = 'deployment-controller';

export class DeploymentController implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private deployments!: SharedInformer;
  private replicaSets!: SharedInformer;
  private pods!: SharedInformer;
  private running?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: DeploymentControllerOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.client = ctx.client.as(COMPONENT);
    this.recorder = ctx.recorder(COMPONENT);
  }

  async start(): Promise<void> {
    this.deployments = this.ctx.informers.for('apps', 'deployments');
    this.replicaSets = this.ctx.informers.for('apps', 'replicasets');
    this.pods = this.ctx.informers.for('', 'pods');
    this.deployments.addHandlers({
      onAdd: (d) => this.enqueue(d),
      onUpdate: (d) => this.enqueue(d),
      onDelete: (d) => this.enqueue(d),
    });
    this.replicaSets.addHandlers({
      onAdd: (rs) => this.onReplicaSetAdd(rs),
      onUpdate: (rs, old) => this.onReplicaSetUpdate(rs, old),
      onDelete: (rs) => this.onReplicaSetDelete(rs),
    });
    this.pods.addHandlers({ onDelete: (p) => this.onPodDelete(p) });
    await this.ctx.informers.start();
    this.running = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 5, onError: this.opts.onError });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }

  private enqueue(d: KObject): void {
    this.queue.add(keyOf(d));
  }

  /** The Deployment a controller reference names, if it is still that object (same uid). */
  private resolve(namespace: string | undefined, ref: { kind: string; name: string; uid: string }): KObject | undefined {
    if (ref.kind !== 'Deployment') return undefined;
    const d = this.deployments.getBy(namespace, ref.name);
    return d && d.metadata.uid === ref.uid ? d : undefined;
  }

  /** Deployments (non-empty selector) whose selector matches an orphan ReplicaSet's labels. */
  private deploymentsFor(rs: KObject): KObject[] {
    const out: KObject[] = [];
    for (const d of this.deployments.list(rs.metadata.namespace ?? '')) {
      const sel = selectorOf(d as Deployment);
      if (!sel || isEverything(sel)) continue;
      if (matchLabels(sel, rs.metadata.labels)) out.push(d);
    }
    return out;
  }

  private onReplicaSetAdd(rs: KObject): void {
    if (rs.metadata.deletionTimestamp) return this.onReplicaSetDelete(rs);
    const ref = controllerOf(rs);
    if (ref) {
      const d = this.resolve(rs.metadata.namespace, ref);
      if (d) this.enqueue(d);
      return;
    }
    for (const d of this.deploymentsFor(rs)) this.enqueue(d);
  }

  private onReplicaSetUpdate(rs: KObject, old: KObject): void {
    if (rs.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const cur = controllerOf(rs);
    const prev = controllerOf(old);
    const refChanged = cur?.uid !== prev?.uid;
    if (refChanged && prev) {
      const d = this.resolve(old.metadata.namespace, prev);
      if (d) this.enqueue(d);
    }
    if (cur) {
      const d = this.resolve(rs.metadata.namespace, cur);
      if (d) this.enqueue(d);
      return;
    }
    const labelsChanged = JSON.stringify(rs.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {});
    if (labelsChanged || refChanged) for (const d of this.deploymentsFor(rs)) this.enqueue(d);
  }

  private onReplicaSetDelete(rs: KObject): void {
    const ref = controllerOf(rs);
    if (!ref) return;
    const d = this.resolve(rs.metadata.namespace, ref);
    if (d) this.enqueue(d);
  }

  /** A Recreate rollout waits for old pods to be gone: their deletion may unblock it. */
  private onPodDelete(pod: KObject): void {
    const ref = controllerOf(pod);
    if (!ref || ref.kind !== 'ReplicaSet') return;
    const rs = this.replicaSets.getBy(pod.metadata.namespace, ref.name);
    if (!rs || rs.metadata.uid !== ref.uid) return;
    const dref = controllerOf(rs);
    if (!dref) return;
    const d = this.resolve(rs.metadata.namespace, dref) as Deployment | undefined;
    if (d && d.spec?.strategy?.type === 'Recreate') this.enqueue(d);
  }

  /** Reconciles one Deployment by key (`namespace/name`); public for tests. */
  async sync(key: string): Promise<void> {
    const cached = this.deployments.get(key) as Deployment | undefined;
    if (!cached) return;
    const d = clone(cached);
    d.apiVersion ??= 'apps/v1';
    d.kind ??= 'Deployment';
    const sel = d.spec.selector;
    if (sel && !Object.keys(sel.matchLabels ?? {}).length && !(sel.matchExpressions ?? []).length) {
      this.recorder.event(d, 'Warning', 'SelectingAll', 'This deployment is selecting all pods. A non-empty selector is required.');
      if ((d.status?.observedGeneration ?? 0) < (d.metadata.generation ?? 0)) {
        d.status = { ...(d.status ?? {}), observedGeneration: d.metadata.generation };
        await this.client.updateStatus(DEPLOYMENTS, d);
      }
      return;
    }
    const rsList = await this.claimReplicaSets(d);
    const podsByRS = this.podsByReplicaSet(d, rsList);
    const run = new DeploymentSync(
      {
        client: this.client,
        recorder: this.recorder,
        now: () => this.ctx.clock.now(),
        requeueAfter: (ms) => this.queue.addAfter(key, Math.max(ms, 200)),
      },
      d,
      rsList,
      podsByRS,
    );
    await run.run();
  }

  /**
   * kube's getReplicaSetsForDeployment + ClaimReplicaSets: the ReplicaSets this Deployment
   * controls, adopting matching orphans and releasing owned ones whose labels no longer match.
   * Adoption first re-reads the Deployment: a deleted or replaced one adopts nothing.
   */
  private async claimReplicaSets(d: Deployment): Promise<ReplicaSet[]> {
    const sel = selectorOf(d);
    if (!sel) throw new Error(`deployment ${d.metadata.namespace}/${d.metadata.name} has invalid label selector`);
    const uid = d.metadata.uid;
    let canAdopt: Promise<void> | undefined;
    const recheck = (): Promise<void> =>
      (canAdopt ??= (async () => {
        const fresh = await this.client.get(DEPLOYMENTS, d.metadata.namespace, d.metadata.name ?? '');
        if (fresh.metadata.uid !== uid) throw new Error(`original Deployment ${d.metadata.namespace}/${d.metadata.name} is gone: got uid ${fresh.metadata.uid}, wanted ${uid}`);
        if (fresh.metadata.deletionTimestamp) throw new Error(`${d.metadata.namespace}/${d.metadata.name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
      })());
    const out: ReplicaSet[] = [];
    for (const rs of this.replicaSets.list(d.metadata.namespace ?? '') as ReplicaSet[]) {
      const ref = controllerOf(rs);
      const matches = matchLabels(sel, rs.metadata.labels);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) out.push(rs);
        else if (!d.metadata.deletionTimestamp) await this.release(rs, uid ?? '');
        continue;
      }
      if (d.metadata.deletionTimestamp || !matches || rs.metadata.deletionTimestamp) continue;
      await recheck();
      const adopted = await this.adopt(rs, d);
      if (adopted) out.push(adopted);
    }
    return out;
  }

  private async adopt(rs: ReplicaSet, d: Deployment): Promise<ReplicaSet | undefined> {
    let adopted = true;
    try {
      const updated = await this.client.mutate(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '', (live) => {
        if (live.metadata.uid !== rs.metadata.uid || controllerOf(live) || live.metadata.deletionTimestamp) {
          adopted = false;
          return undefined;
        }
        live.metadata.ownerReferences = [...(live.metadata.ownerReferences ?? []), controllerRef(d)];
        return live;
      });
      return adopted ? (updated as ReplicaSet) : undefined;
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  private async release(rs: ReplicaSet, uid: string): Promise<void> {
    try {
      await this.client.mutate(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '', (live) => {
        if (live.metadata.uid !== rs.metadata.uid) return undefined;
        const refs = live.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === uid)) return undefined;
        live.metadata.ownerReferences = refs.filter((r) => r.uid !== uid);
        return live;
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Pods matching the Deployment's selector, by the uid of the claimed ReplicaSet controlling them. */
  private podsByReplicaSet(d: Deployment, rsList: ReplicaSet[]): Map<string, KObject[]> {
    const out = new Map<string, KObject[]>();
    for (const rs of rsList) out.set(rs.metadata.uid ?? '', []);
    const sel = selectorOf(d);
    if (!sel) return out;
    for (const pod of this.pods.list(d.metadata.namespace ?? '')) {
      if (!matchLabels(sel, pod.metadata.labels)) continue;
      const ref = controllerOf(pod);
      if (ref && out.has(ref.uid)) out.get(ref.uid)!.push(pod);
    }
    return out;
  }
}

function selectorOf(d: Deployment): LabelSelector | undefined {
  try {
    return fromLabelSelectorObject(d.spec?.selector);
  } catch {
    return undefined;
  }
}
