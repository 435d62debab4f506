/**
 * One sync of one Deployment (kube's syncDeployment after the ReplicaSets were claimed): find
 * or create the new ReplicaSet, apply the pure plans of rolling.ts by writing ReplicaSets, and
 * write the status of status.ts. It works on private copies: every write replaces the copy
 * with what the server returned, so one sync never conflicts with itself; a conflict with
 * anyone else throws and the queue retries with fresh state.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { DEPLOYMENTS, REPLICASETS, isAlreadyExists, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { controllerOf, controllerRef } from '../owners.js';
import { planNewReplicaSet, planOldReplicaSets, planProportionalScale, planRecreateScaleDown, newRSNewReplicas, oldPodsRunning, type ScaleOp, type ScaleStep } from './rolling.js';
import {
  FAILED_RS_CREATE_REASON,
  FOUND_NEW_RS_REASON,
  NEW_RS_REASON,
  PROGRESSING,
  applyPausedCondition,
  calculateStatus,
  deploymentComplete,
  getCondition,
  newCondition,
  rolloutStatus,
  setCondition,
  statusEqual,
} from './status.js';
import {
  type Deployment,
  type ReplicaSet,
  DESIRED_REPLICAS,
  REVISION,
  activeReplicaSets,
  byRevision,
  computeHash,
  equalIgnoreHash,
  findNewReplicaSet,
  findOldReplicaSets,
  hasProgressDeadline,
  hasRevisionHistoryLimit,
  maxRevision,
  maxSurge,
  newReplicaSetShape,
  replicasAnnotationsNeedUpdate,
  setDeploymentRevision,
  setNewReplicaSetAnnotations,
  setReplicasAnnotations,
  specReplicas,
} from './util.js';

export interface SyncDeps {
  client: LocalClient;
  recorder: EventRecorder;
  now(): number;
  /** Look again at this Deployment after ms (0: soon). */
  requeueAfter(ms: number): void;
}

interface RSPair {
  newRS: ReplicaSet | undefined;
  oldRSs: ReplicaSet[];
}

export class DeploymentSync {
  private rsList: ReplicaSet[];

  constructor(
    private readonly deps: SyncDeps,
    private readonly d: Deployment,
    rsList: ReplicaSet[],
    private readonly podsByRS: Map<string, KObject[]> = new Map(),
  ) {
    this.rsList = rsList.map((rs) => clone(rs));
  }

  /** kube's syncDeployment from "deleted?" on: status only, paused/scaling, or a rollout. */
  async run(): Promise<void> {
    const d = this.d;
    if (d.metadata.deletionTimestamp) {
      const { newRS, oldRSs } = await this.getAllReplicaSets(false);
      return this.syncDeploymentStatus(newRS, oldRSs);
    }
    if (applyPausedCondition(d, this.deps.now())) await this.writeStatus();
    if (d.spec.paused || (await this.isScalingEvent())) return this.syncScale();
    if (d.spec.strategy?.type === 'Recreate') return this.rolloutRecreate();
    return this.rolloutRolling();
  }

  /** Desired-replicas annotation of an active ReplicaSet differs from spec.replicas. */
  private async isScalingEvent(): Promise<boolean> {
    const { newRS, oldRSs } = await this.getAllReplicaSets(false);
    for (const rs of activeReplicaSets([...oldRSs, newRS])) {
      const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
      if (desired === undefined || !/^-?\d+$/.test(desired)) continue;
      if (Number(desired) !== specReplicas(this.d)) return true;
    }
    return false;
  }

  private async syncScale(): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSets(false);
    await this.apply(planProportionalScale(this.d, newRS, oldRSs), true);
    ({ newRS, oldRSs } = this.split(newRS));
    if (this.d.spec.paused) await this.cleanup(oldRSs);
    await this.syncDeploymentStatus(newRS, oldRSs);
  }

  private async rolloutRolling(): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSets(true);
    const created = newRS!;
    const target = planNewReplicaSet(this.d, [...oldRSs, created], created);
    if (target !== undefined && (await this.scale(created.metadata.name ?? '', target))) {
      ({ newRS, oldRSs } = this.split(newRS));
      return this.syncRolloutStatus(newRS, oldRSs);
    }
    ({ newRS, oldRSs } = this.split(newRS));
    const steps = planOldReplicaSets(this.d, [...oldRSs, newRS], oldRSs, newRS!);
    if (await this.apply(steps, false)) {
      ({ newRS, oldRSs } = this.split(newRS));
      return this.syncRolloutStatus(newRS, oldRSs);
    }
    if (deploymentComplete(this.d, this.d.status ?? {})) await this.cleanup(oldRSs);
    return this.syncRolloutStatus(newRS, oldRSs);
  }

  private async rolloutRecreate(): Promise<void> {
    let { newRS, oldRSs } = await this.getAllReplicaSets(false);
    if (await this.apply(planRecreateScaleDown(oldRSs), false)) {
      ({ newRS, oldRSs } = this.split(newRS));
      return this.syncRolloutStatus(newRS, oldRSs);
    }
    if (oldPodsRunning(newRS, oldRSs, this.podsByRS)) return this.syncRolloutStatus(newRS, oldRSs);
    if (!newRS) ({ newRS, oldRSs } = await this.getAllReplicaSets(true));
    await this.scale(newRS!.metadata.name ?? '', specReplicas(this.d));
    ({ newRS, oldRSs } = this.split(newRS));
    if (deploymentComplete(this.d, this.d.status ?? {})) await this.cleanup(oldRSs);
    return this.syncRolloutStatus(newRS, oldRSs);
  }

  /** The working copies, split again into new and old after writes replaced some. */
  private split(newRS: ReplicaSet | undefined): RSPair {
    const uid = newRS?.metadata.uid;
    const cur = uid ? this.rsList.find((rs) => rs.metadata.uid === uid) : undefined;
    return { newRS: cur, oldRSs: this.rsList.filter((rs) => rs !== cur) };
  }

  /**
   * kube's getAllReplicaSetsAndSyncRevision: the new ReplicaSet (its revision raised to the
   * highest old revision + 1 and the Deployment's annotations copied; created if asked and
   * missing) and the old ones; the Deployment gets the new ReplicaSet's revision.
   */
  private async getAllReplicaSets(create: boolean): Promise<RSPair> {
    const d = this.d;
    const existing = findNewReplicaSet(d, this.rsList);
    const oldRSs = findOldReplicaSets(d, this.rsList);
    const newRevision = maxRevision(oldRSs) + 1;
    if (existing) {
      const copy = clone(existing);
      const annChanged = setNewReplicaSetAnnotations(d, copy, newRevision, true);
      if (annChanged || (copy.spec.minReadySeconds ?? 0) !== (d.spec.minReadySeconds ?? 0)) {
        if (d.spec.minReadySeconds === undefined) delete copy.spec.minReadySeconds;
        else copy.spec.minReadySeconds = d.spec.minReadySeconds;
        const updated = this.replace((await this.deps.client.update(REPLICASETS, copy)) as ReplicaSet);
        return { newRS: updated, oldRSs };
      }
      const revChanged = setDeploymentRevision(d, copy.metadata.annotations?.[REVISION] ?? '');
      let condChanged = false;
      if (hasProgressDeadline(d) && !getCondition(d.status, PROGRESSING)) {
        setCondition((d.status ??= {}), newCondition(PROGRESSING, 'True', FOUND_NEW_RS_REASON, `Found new replica set "${copy.metadata.name}"`, this.deps.now()));
        condChanged = true;
      }
      await this.writeDeployment(revChanged, condChanged);
      return { newRS: existing, oldRSs };
    }
    if (!create) return { newRS: undefined, oldRSs };
    return { newRS: await this.createNewReplicaSet(oldRSs, newRevision), oldRSs };
  }

  private async createNewReplicaSet(oldRSs: ReplicaSet[], newRevision: number): Promise<ReplicaSet> {
    const d = this.d;
    const hash = computeHash(d.spec.template, d.status?.collisionCount);
    const shape = newReplicaSetShape(d, hash);
    const name = `${d.metadata.name}-${hash}`;
    const rs: ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: { name, namespace: d.metadata.namespace, labels: shape.labels, ownerReferences: [controllerRef({ ...d, apiVersion: 'apps/v1', kind: 'Deployment' })] },
      spec: { replicas: 0, selector: shape.selector, template: shape.template },
    };
    if (d.spec.minReadySeconds !== undefined) rs.spec.minReadySeconds = d.spec.minReadySeconds;
    const count = newRSNewReplicas(d, [...oldRSs, rs], rs);
    rs.spec.replicas = count;
    setNewReplicaSetAnnotations(d, rs, newRevision, false);
    let created: ReplicaSet;
    let alreadyExists = false;
    try {
      created = (await this.deps.client.create(REPLICASETS, d.metadata.namespace, rs)) as ReplicaSet;
    } catch (err) {
      if (isAlreadyExists(err)) {
        alreadyExists = true;
        const live = (await this.deps.client.get(REPLICASETS, d.metadata.namespace, name)) as ReplicaSet;
        if (controllerOf(live)?.uid === d.metadata.uid && equalIgnoreHash(d.spec.template, live.spec.template)) {
          created = live;
        } else {
          // A hash collision: another template owns this name. Bump collisionCount, retry later.
          const status = (d.status ??= {});
          status.collisionCount = (status.collisionCount ?? 0) + 1;
          await this.writeStatus();
          throw err;
        }
      } else {
        const msg = `Failed to create new replica set "${name}": ${(err as Error).message}`;
        if (hasProgressDeadline(d)) {
          setCondition((d.status ??= {}), newCondition(PROGRESSING, 'False', FAILED_RS_CREATE_REASON, msg, this.deps.now()));
          await this.writeStatus().catch(() => undefined);
        }
        this.deps.recorder.event(d, 'Warning', FAILED_RS_CREATE_REASON, msg);
        throw err;
      }
    }
    const known = this.rsList.findIndex((x) => x.metadata.uid === created.metadata.uid);
    if (known >= 0) this.rsList[known] = clone(created);
    else this.rsList.push(clone(created));
    const mine = this.rsList.find((x) => x.metadata.uid === created.metadata.uid)!;
    if (!alreadyExists && count > 0) {
      this.deps.recorder.event(d, 'Normal', 'ScalingReplicaSet', `Scaled up replica set ${name} from 0 to ${count}`);
    }
    const revChanged = setDeploymentRevision(d, String(newRevision));
    let condChanged = false;
    if (!alreadyExists && hasProgressDeadline(d)) {
      setCondition((d.status ??= {}), newCondition(PROGRESSING, 'True', NEW_RS_REASON, `Created new replica set "${name}"`, this.deps.now()));
      condChanged = true;
    }
    await this.writeDeployment(revChanged, condChanged);
    return mine;
  }

  /** Applies scale steps in order; `withAnnotations` also refreshes unchanged sizes' annotations (kube's scale()). */
  private async apply(steps: ScaleStep[], withAnnotations: boolean): Promise<boolean> {
    let scaled = false;
    for (const step of steps) {
      if (await this.scale(step.name, step.to, withAnnotations ? step.op ?? '' : undefined)) scaled = true;
    }
    return scaled;
  }

  /**
   * Sets a ReplicaSet's size and replicas annotations, and records the ScalingReplicaSet event.
   * Without `op` (kube's scaleReplicaSetAndRecordEvent) an unchanged size is left alone; with
   * it (kube's scaleReplicaSet) stale annotations are still refreshed. True if the size changed.
   */
  private async scale(name: string, to: number, op?: ScaleOp): Promise<boolean> {
    const rs = this.rsList.find((x) => x.metadata.name === name);
    if (!rs) return false;
    const from = specReplicas(rs);
    if (op === undefined) {
      if (from === to) return false;
      op = from < to ? 'up' : 'down';
    }
    const desired = specReplicas(this.d);
    const max = desired + maxSurge(this.d);
    const sizeChanged = from !== to;
    if (!sizeChanged && !replicasAnnotationsNeedUpdate(rs, desired, max)) return false;
    const copy = clone(rs);
    copy.spec.replicas = to;
    setReplicasAnnotations(copy, desired, max);
    this.replace((await this.deps.client.update(REPLICASETS, copy)) as ReplicaSet);
    if (sizeChanged) this.deps.recorder.event(this.d, 'Normal', 'ScalingReplicaSet', `Scaled ${op} replica set ${name} from ${from} to ${to}`);
    return sizeChanged;
  }

  private replace(rs: ReplicaSet): ReplicaSet {
    const i = this.rsList.findIndex((x) => x.metadata.uid === rs.metadata.uid);
    const copy = clone(rs);
    if (i >= 0) this.rsList[i] = copy;
    else this.rsList.push(copy);
    return copy;
  }

  /**
   * kube's cleanupDeployment: deletes the oldest old ReplicaSets beyond revisionHistoryLimit,
   * only those scaled to 0 with no pods left and their spec observed.
   */
  private async cleanup(oldRSs: ReplicaSet[]): Promise<void> {
    const d = this.d;
    if (!hasRevisionHistoryLimit(d)) return;
    const cleanable = oldRSs.filter((rs) => !rs.metadata.deletionTimestamp).sort(byRevision);
    const diff = cleanable.length - (d.spec.revisionHistoryLimit ?? 10);
    for (let i = 0; i < diff; i++) {
      const rs = cleanable[i];
      if ((rs.status?.replicas ?? 0) !== 0 || specReplicas(rs) !== 0) continue;
      if ((rs.metadata.generation ?? 0) > (rs.status?.observedGeneration ?? 0)) continue;
      try {
        await this.deps.client.delete(REPLICASETS, rs.metadata.namespace, rs.metadata.name ?? '', { preconditions: { uid: rs.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
  }

  /** kube's syncDeploymentStatus: counts and Available only (paused and scaling syncs). */
  private async syncDeploymentStatus(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const status = calculateStatus([...oldRSs, newRS], newRS, this.d, this.deps.now());
    if (statusEqual(this.d.status, status)) return;
    this.d.status = status;
    await this.writeStatus();
  }

  /** kube's syncRolloutStatus: counts and conditions; re-checks a stuck rollout at its deadline. */
  private async syncRolloutStatus(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): Promise<void> {
    const r = rolloutStatus([...oldRSs, newRS], newRS, this.d, this.deps.now());
    if (!r.changed) {
      if (r.requeueAfterMs !== undefined) this.deps.requeueAfter(r.requeueAfterMs);
      return;
    }
    this.d.status = r.status;
    await this.writeStatus();
  }

  /** Writes the revision annotation (main resource) and/or status (status subresource). */
  private async writeDeployment(annotations: boolean, status: boolean): Promise<void> {
    if (annotations) {
      // kube writes the annotation through UpdateStatus; our status strategy keeps metadata, so
      // it goes through a plain update (spec untouched: the generation does not move).
      const updated = await this.deps.client.update(DEPLOYMENTS, this.d);
      this.d.metadata = clone(updated.metadata);
    }
    if (status) await this.writeStatus();
  }

  private async writeStatus(): Promise<void> {
    const updated = await this.deps.client.updateStatus(DEPLOYMENTS, this.d);
    this.d.metadata.resourceVersion = updated.metadata.resourceVersion;
  }
}
