/**
 * The ReplicaSet controller (kube-controller-manager's pkg/controller/replicaset): keeps
 * spec.replicas active pods stamped from the template, adopting matching orphans and
 * releasing pods whose labels no longer match, and reports status.
 *
 * Flow of sync(key): read the RS from the informer → claim pods (adopt/release) → if the
 * expectations for the RS are satisfied, create the shortfall (slow-start batches, at most
 * burstReplicas per sync) or delete the surplus (ranked by ./ranking.ts) → write status
 * (./status.ts) through the status subresource when it changed. Expectations (../expectations.ts)
 * stop a sync from acting again before the informer has seen its earlier creates/deletes, so a
 * lagging cache never causes extra pods. A RS being deleted is left alone apart from status:
 * the garbage collector removes its pods.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { StatusError } from '../../apiserver/errors.js';
import { rfc3339 } from '../../apiserver/registry/store.js';
import { fromLabelSelectorObject, isEverything, matchLabels, type LabelSelector, type LabelSelectorObject } from '../../apiserver/selectors/labels.js';
import { PODS, REPLICASETS, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { ControllerExpectations } from '../expectations.js';
import { controllerOf, controllerRef, isPodActive, podFromTemplate, type PodTemplateSpec } from '../owners.js';
import { slowStartBatch } from './batch.js';
import { podsToDelete } from './ranking.js';
import { calculateStatus, desiredReplicas, minReadySeconds, nextAvailableIn, statusEqual, type RSStatus } from './status.js';

/** kube's default --replicaset burst: at most this many creates/deletes per sync. */
export const DEFAULT_BURST_REPLICAS = 500;

/**
 * Pods index: the controller's uid for controlled pods, `orphan:<namespace>` for pods
 * without a controller. Lets a sync look at its own pods and the adoption candidates only.
 */
export const POD_CONTROLLER_INDEX = 'replicaset-controller:controllerUID';

function podControllerIndex(pod: KObject): string[] {
  const ref = controllerOf(pod);
  return [ref ? ref.uid : `orphan:${pod.metadata.namespace ?? ''}`];
}

export interface ReplicaSetControllerOptions {
  burstReplicas?: number;
  /** Concurrent syncs (kube's --concurrent-replicaset-syncs, default 5). */
  workers?: number;
}

interface RSSpecView {
  replicas?: number;
  selector?: LabelSelectorObject | null;
  template?: PodTemplateSpec;
}

function specOf(rs: KObject): RSSpecView {
  return (rs.spec ?? {}) as RSSpecView;
}

function selectorOf(rs: KObject): LabelSelector | undefined {
  try {
    return fromLabelSelectorObject(specOf(rs).selector);
  } catch {
    return undefined;
  }
}

function hasCause(err: unknown, type: string): boolean {
  return err instanceof StatusError && (err.details?.causes ?? []).some((c) => c.reason === type);
}

export class ReplicaSetController implements Controller {
  readonly expectations: ControllerExpectations;
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly burst: number;
  private rsInformer!: SharedInformer;
  private podInformer!: SharedInformer;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: ReplicaSetControllerOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.expectations = new ControllerExpectations(ctx.clock);
    this.client = ctx.client.as('replicaset-controller');
    this.recorder = ctx.recorder('replicaset-controller');
    this.burst = opts.burstReplicas ?? DEFAULT_BURST_REPLICAS;
  }

  async start(): Promise<void> {
    this.rsInformer = this.ctx.informers.for('apps', 'replicasets');
    this.podInformer = this.ctx.informers.for('', 'pods');
    this.podInformer.addIndexer(POD_CONTROLLER_INDEX, podControllerIndex);
    this.rsInformer.addHandlers({
      onAdd: (rs) => this.queue.add(keyOf(rs)),
      onUpdate: (rs) => this.queue.add(keyOf(rs)),
      onDelete: (rs) => {
        this.expectations.deleteExpectations(keyOf(rs));
        this.queue.add(keyOf(rs));
      },
    });
    this.podInformer.addHandlers({
      onAdd: (p) => this.podAdded(p),
      onUpdate: (p, old) => this.podUpdated(p, old),
      onDelete: (p) => this.podDeleted(p),
    });
    await this.ctx.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), {
      workers: this.opts.workers ?? 5,
      onError: (key, err) => {
        if (!(err instanceof StatusError)) console.error(`kubelite: replicaset ${key}: ${(err as Error).stack ?? String(err)}`);
      },
    });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  // ---- event handlers: map pod events to ReplicaSet keys -------------------------------

  /** The ReplicaSet a controller reference names, if it is in the cache with that uid. */
  private resolveRef(namespace: string | undefined, ref: { kind: string; name: string; uid: string } | undefined): KObject | undefined {
    if (!ref || ref.kind !== 'ReplicaSet') return undefined;
    const rs = this.rsInformer.getBy(namespace, ref.name);
    return rs && rs.metadata.uid === ref.uid ? rs : undefined;
  }

  /** Every ReplicaSet in the pod's namespace whose (non-empty) selector matches it. */
  private matchingReplicaSets(pod: KObject): KObject[] {
    return this.rsInformer.list(pod.metadata.namespace ?? '').filter((rs) => {
      const sel = selectorOf(rs);
      return !!sel && !isEverything(sel) && matchLabels(sel, pod.metadata.labels);
    });
  }

  private podAdded(pod: KObject): void {
    if (pod.metadata.deletionTimestamp) return this.podDeleted(pod);
    const ref = controllerOf(pod);
    if (ref) {
      const rs = this.resolveRef(pod.metadata.namespace, ref);
      if (!rs) return;
      this.expectations.creationObserved(keyOf(rs));
      this.queue.add(keyOf(rs));
      return;
    }
    // An orphan: every matching RS gets a chance to adopt it (no expectation is lowered).
    for (const rs of this.matchingReplicaSets(pod)) this.queue.add(keyOf(rs));
  }

  private podUpdated(pod: KObject, old: KObject): void {
    if (pod.metadata.resourceVersion === old.metadata.resourceVersion) return;
    const labelsChanged = JSON.stringify(pod.metadata.labels ?? {}) !== JSON.stringify(old.metadata.labels ?? {});
    if (pod.metadata.deletionTimestamp) {
      // Graceful deletion started: count it as observed now rather than when the pod is gone.
      this.podDeleted(pod);
      if (labelsChanged) this.podDeleted(old);
      return;
    }
    const ref = controllerOf(pod);
    const oldRef = controllerOf(old);
    const refChanged = JSON.stringify(ref) !== JSON.stringify(oldRef);
    if (refChanged && oldRef) {
      const rs = this.resolveRef(old.metadata.namespace, oldRef);
      if (rs) this.queue.add(keyOf(rs));
    }
    if (ref) {
      const rs = this.resolveRef(pod.metadata.namespace, ref);
      if (rs) this.queue.add(keyOf(rs));
      return;
    }
    if (labelsChanged || refChanged) for (const rs of this.matchingReplicaSets(pod)) this.queue.add(keyOf(rs));
  }

  private podDeleted(pod: KObject): void {
    const rs = this.resolveRef(pod.metadata.namespace, controllerOf(pod));
    if (!rs) return;
    this.expectations.deletionObserved(keyOf(rs), keyOf(pod));
    this.queue.add(keyOf(rs));
  }

  // ---- sync -------------------------------------------------------------------------------

  /** Reconciles one ReplicaSet (`namespace/name`); throws to be retried with backoff. */
  async sync(key: string): Promise<void> {
    const cached = this.rsInformer.get(key);
    if (!cached) {
      this.expectations.deleteExpectations(key);
      return;
    }
    const rs = withKind(cached);
    const selector = selectorOf(rs);
    if (!selector) return; // invalid selector: validation should have refused it; nothing to do
    const needsSync = this.expectations.satisfied(key);
    const candidates = [
      ...this.podInformer.byIndex(POD_CONTROLLER_INDEX, rs.metadata.uid ?? ''),
      ...this.podInformer.byIndex(POD_CONTROLLER_INDEX, `orphan:${rs.metadata.namespace ?? ''}`),
    ].filter(isPodActive);
    const pods = await this.claimPods(rs, selector, candidates);
    let manageError: Error | undefined;
    if (needsSync && !rs.metadata.deletionTimestamp) {
      manageError = await this.manageReplicas(rs, pods, key);
    }
    const now = this.ctx.clock.now();
    const status = calculateStatus(rs, pods, { manageError, now, nowRfc3339: rfc3339(new Date(now)) });
    if (!statusEqual(rs.status as Partial<RSStatus> | undefined, status)) await this.writeStatus(rs, status);
    if (manageError) throw manageError;
    const wait = nextAvailableIn(rs, pods, now);
    if (wait !== undefined && minReadySeconds(rs) > 0) this.queue.addAfter(key, wait + 10);
  }

  /**
   * kube's ClaimPods: pods we control that match stay ours; pods we control that no longer
   * match are released; matching orphans are adopted. A RS being deleted neither adopts nor
   * releases. Returns the pods the RS owns after claiming.
   */
  private async claimPods(rs: KObject, selector: LabelSelector, candidates: KObject[]): Promise<KObject[]> {
    const uid = rs.metadata.uid ?? '';
    const deleting = !!rs.metadata.deletionTimestamp;
    const claimed: KObject[] = [];
    const errors: Error[] = [];
    let canAdopt: Promise<void> | undefined;
    await Promise.all(
      candidates.map(async (pod) => {
        const matches = matchLabels(selector, pod.metadata.labels);
        const ref = controllerOf(pod);
        if (ref) {
          if (ref.uid !== uid) return;
          if (matches) return void claimed.push(pod);
          if (deleting) return;
          try {
            await this.release(rs, pod);
          } catch (err) {
            errors.push(err as Error);
          }
          return;
        }
        if (deleting || !matches || pod.metadata.deletionTimestamp) return;
        try {
          canAdopt ??= this.checkCanAdopt(rs);
          await canAdopt;
          const adopted = await this.adopt(rs, pod, selector);
          if (adopted) claimed.push(adopted);
        } catch (err) {
          if (!isNotFound(err)) errors.push(err as Error);
        }
      }),
    );
    if (errors.length) throw errors[0];
    return claimed;
  }

  /** A fresh (uncached) read: never adopt for a RS that was just deleted or recreated. */
  private async checkCanAdopt(rs: KObject): Promise<void> {
    const ns = rs.metadata.namespace ?? '';
    const name = rs.metadata.name ?? '';
    const fresh = await this.client.get(REPLICASETS, ns, name);
    if (fresh.metadata.uid !== rs.metadata.uid) throw new Error(`original ReplicaSet ${ns}/${name} is gone: got uid ${fresh.metadata.uid}, wanted ${rs.metadata.uid}`);
    if (fresh.metadata.deletionTimestamp) throw new Error(`${ns}/${name} has just been deleted at ${fresh.metadata.deletionTimestamp}`);
  }

  /** Makes rs the pod's controller, if the live pod is still the orphan we saw. */
  private async adopt(rs: KObject, pod: KObject, selector: LabelSelector): Promise<KObject | undefined> {
    let adopted = false;
    const out = await this.client.mutate(PODS, pod.metadata.namespace, pod.metadata.name ?? '', (live) => {
      adopted = false;
      if (live.metadata.uid !== pod.metadata.uid) throw new StatusError(404, 'NotFound', `pods "${pod.metadata.name}" not found`);
      if (live.metadata.deletionTimestamp || controllerOf(live) || !matchLabels(selector, live.metadata.labels)) return undefined;
      live.metadata.ownerReferences = [...(live.metadata.ownerReferences ?? []).filter((r) => r.uid !== rs.metadata.uid), controllerRef(rs)];
      adopted = true;
      return live;
    });
    return adopted ? out : undefined;
  }

  /** Removes our owner reference from a pod that no longer matches the selector. */
  private async release(rs: KObject, pod: KObject): Promise<void> {
    try {
      await this.client.mutate(PODS, pod.metadata.namespace, pod.metadata.name ?? '', (live) => {
        if (live.metadata.uid !== pod.metadata.uid) return undefined;
        const refs = live.metadata.ownerReferences ?? [];
        if (!refs.some((r) => r.uid === rs.metadata.uid)) return undefined;
        live.metadata.ownerReferences = refs.filter((r) => r.uid !== rs.metadata.uid);
        if (!live.metadata.ownerReferences.length) delete live.metadata.ownerReferences;
        return live;
      });
    } catch (err) {
      if (isNotFound(err) || (err instanceof StatusError && err.reason === 'Invalid')) return;
      throw err;
    }
  }

  /** Creates or deletes pods toward spec.replicas; returns the first error (already evented). */
  private async manageReplicas(rs: KObject, pods: KObject[], key: string): Promise<Error | undefined> {
    const diff = pods.length - desiredReplicas(rs);
    if (diff < 0) {
      const n = Math.min(-diff, this.burst);
      this.expectations.expectCreations(key, n);
      const { successes, error } = await slowStartBatch(n, 1, () => this.createPod(rs));
      for (let i = successes; i < n; i++) this.expectations.creationObserved(key);
      return error;
    }
    if (diff > 0) {
      const n = Math.min(diff, this.burst);
      const victims = podsToDelete(pods, n, { related: this.relatedPods(rs), now: this.ctx.clock.now() });
      this.expectations.expectDeletions(key, victims.map(keyOf));
      const errors: Error[] = [];
      await Promise.all(
        victims.map(async (pod) => {
          try {
            await this.deletePod(rs, pod);
          } catch (err) {
            // The informer will never see this deletion: stop waiting for it.
            this.expectations.deletionObserved(key, keyOf(pod));
            if (!isNotFound(err)) errors.push(err as Error);
          }
        }),
      );
      return errors[0];
    }
    return undefined;
  }

  private async createPod(rs: KObject): Promise<void> {
    const pod = podFromTemplate(specOf(rs).template ?? {}, rs, { generateName: `${rs.metadata.name}-` });
    if (!Object.keys(pod.metadata.labels ?? {}).length) throw new Error('unable to create pods, no labels');
    try {
      const created = await this.client.create(PODS, rs.metadata.namespace, pod);
      this.recorder.event(rs, 'Normal', 'SuccessfulCreate', `Created pod: ${created.metadata.name}`);
    } catch (err) {
      // A terminating namespace refuses creates: nothing to report, and no point retrying.
      if (hasCause(err, 'NamespaceTerminating')) return;
      this.recorder.event(rs, 'Warning', 'FailedCreate', `Error creating: ${(err as Error).message}`);
      throw err;
    }
  }

  private async deletePod(rs: KObject, pod: KObject): Promise<void> {
    const name = pod.metadata.name ?? '';
    try {
      await this.client.delete(PODS, pod.metadata.namespace, name);
    } catch (err) {
      if (isNotFound(err)) throw err;
      this.recorder.event(rs, 'Warning', 'FailedDelete', `Error deleting: ${(err as Error).message}`);
      throw new Error(`unable to delete pods: ${(err as Error).message}`);
    }
    this.recorder.event(rs, 'Normal', 'SuccessfulDelete', `Deleted pod: ${name}`);
  }

  /**
   * Pods of every ReplicaSet sharing this one's controller (e.g. all RSs of a Deployment), or
   * just this RS's pods: used to rank pods doubled up on a node for deletion first.
   */
  private relatedPods(rs: KObject): KObject[] {
    const owner = controllerOf(rs);
    const sets = owner ? this.rsInformer.list(rs.metadata.namespace ?? '').filter((r) => controllerOf(r)?.uid === owner.uid) : [rs];
    if (!sets.some((r) => r.metadata.uid === rs.metadata.uid)) sets.push(rs);
    return sets.flatMap((r) => this.podInformer.byIndex(POD_CONTROLLER_INDEX, r.metadata.uid ?? ''));
  }

  /** Writes status through the status subresource, to the same incarnation of the RS only. */
  private async writeStatus(rs: KObject, status: RSStatus): Promise<void> {
    try {
      await this.client.mutate(
        REPLICASETS,
        rs.metadata.namespace,
        rs.metadata.name ?? '',
        (live) => {
          if (live.metadata.uid !== rs.metadata.uid) return undefined;
          if (statusEqual(live.status as Partial<RSStatus> | undefined, status)) return undefined;
          live.status = clone(status);
          return live;
        },
        { subresource: 'status' },
      );
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** Cached objects normally carry apiVersion/kind; owner references need them. */
function withKind(rs: KObject): KObject {
  if (rs.apiVersion && rs.kind) return rs;
  return { ...rs, apiVersion: 'apps/v1', kind: 'ReplicaSet' };
}
