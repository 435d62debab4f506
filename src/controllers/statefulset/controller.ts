/**
 * The StatefulSet controller (kube-controller-manager's statefulset controller): keeps
 * `<set>-<ordinal>` pods with stable identities, creating and deleting them in ordinal order
 * (OrderedReady) or all at once (Parallel), rolling template changes out from the highest
 * ordinal down to the partition, recording revisions, and reporting status that
 * `kubectl rollout status sts/x` reads.
 *
 * The decision is `planStatefulSet` (pure, plan.ts); `sync` gathers inputs from the informer
 * caches (claiming pods and revisions), applies the plan's steps, writes status only when it
 * changed, and trims revision history. Failures throw, so the work queue retries with backoff.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import type { Controller, ControllerContext } from '../context.js';
import { controllerOf, controllerRef, type PodTemplateSpec } from '../owners.js';
import type { SharedInformer } from '../../client/shared-informer.js';
import { keyOf, splitKey } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import { PODS, STATEFULSETS, isAlreadyExists, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { fromLabelSelectorObject, matchLabels, type LabelSelector } from '../../apiserver/selectors/labels.js';
import { applyIdentityLabels, isMemberOf, newStatefulPod, parentAndOrdinal, revisionOf, setSpec } from './pods.js';
import { completeRollingUpdate, planStatefulSet, statusDiffers, type Plan, type SetStatus, type Step } from './plan.js';
import { decideUpdateRevision, equalRevision, newRevision, nextRevisionNumber, revisionsToTruncate, sortRevisions, templateOf } from './revisions.js';
import { ApiRevisionHistory, MemoryRevisionHistory, type RevisionHistory } from './history.js';

export const STATEFULSET_CONTROLLER = 'statefulset-controller';
/** Pod index: `<namespace>/<parent set name>` parsed from `<set>-<ordinal>` pod names. */
const BY_PARENT = 'statefulset-parent';
const MAX_BATCH = 500;

export interface StatefulSetControllerOptions {
  workers?: number;
}

interface Revisions {
  current: KObject;
  update: KObject;
  collisionCount: number;
  /** Revisions as listed before this sync (for history trimming). */
  listed: KObject[];
}

export class StatefulSetController implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private sets!: SharedInformer;
  private pods!: SharedInformer;
  private history!: RevisionHistory;
  private workers?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: StatefulSetControllerOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.client = ctx.client.as(STATEFULSET_CONTROLLER);
    this.recorder = ctx.recorder(STATEFULSET_CONTROLLER);
  }

  async start(): Promise<void> {
    this.sets = this.ctx.informers.for('apps', 'statefulsets');
    this.pods = this.ctx.informers.for('', 'pods');
    this.history = this.revisionHistory();
    this.pods.addIndexer(BY_PARENT, (p) => {
      const { parent, ordinal } = parentAndOrdinal(p.metadata.name ?? '');
      return ordinal >= 0 ? [`${p.metadata.namespace ?? ''}/${parent}`] : [];
    });
    this.sets.addHandlers({
      onAdd: (s) => this.queue.add(keyOf(s)),
      onUpdate: (s) => this.queue.add(keyOf(s)),
      onDelete: (s) => {
        if (this.history instanceof MemoryRevisionHistory && s.metadata.uid) this.history.forgetOwner(s.metadata.uid);
        this.queue.add(keyOf(s));
      },
    });
    this.pods.addHandlers({
      onAdd: (p) => this.enqueueForPod(p),
      onUpdate: (p, old) => {
        if (p.metadata.resourceVersion === old.metadata.resourceVersion) return;
        this.enqueueForPod(p);
        if (controllerOf(old)?.uid !== controllerOf(p)?.uid) this.enqueueForPod(old);
      },
      onDelete: (p) => this.enqueueForPod(p),
    });
    await this.ctx.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 2 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** ControllerRevisions through the API when served; otherwise an in-memory stand-in. */
  private revisionHistory(): RevisionHistory {
    try {
      this.ctx.registry.must('apps', 'controllerrevisions');
    } catch {
      return new MemoryRevisionHistory(() => this.ctx.clock.now());
    }
    const informer = this.ctx.informers.for('apps', 'controllerrevisions');
    informer.addHandlers({ onDelete: (r) => this.enqueueOwner(r) });
    return new ApiRevisionHistory(informer, this.client);
  }

  private enqueueOwner(obj: KObject): boolean {
    const ref = controllerOf(obj);
    if (!ref || ref.kind !== 'StatefulSet') return false;
    const set = this.sets.getBy(obj.metadata.namespace, ref.name);
    if (set && set.metadata.uid === ref.uid) this.queue.add(keyOf(set));
    return true;
  }

  /** The pod's controlling set, or for an orphan every set that could adopt it. */
  private enqueueForPod(pod: KObject): void {
    if (this.enqueueOwner(pod) || controllerOf(pod)) return;
    for (const set of this.sets.list(pod.metadata.namespace ?? '')) {
      if (isMemberOf(set, pod) && selectorMatches(set, pod)) this.queue.add(keyOf(set));
    }
  }

  async sync(key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    const cached = this.sets.getBy(namespace, name);
    if (!cached) return;
    const set = clone(cached);
    let selector: LabelSelector;
    try {
      selector = fromLabelSelectorObject((set.spec as { selector?: Parameters<typeof fromLabelSelectorObject>[0] }).selector);
    } catch {
      return; // an invalid selector cannot be fixed by retrying (validation keeps them out anyway)
    }
    const listed = sortRevisions(await this.claimRevisions(set, selector));
    const pods = await this.claimPods(set, selector);
    const revs = await this.revisions(set, listed);
    const plan = planStatefulSet({
      set,
      pods,
      currentRevision: revs.current.metadata.name ?? '',
      updateRevision: revs.update.metadata.name ?? '',
      collisionCount: revs.collisionCount,
      now: this.ctx.clock.now(),
    });
    let failure: unknown;
    try {
      await this.apply(set, plan, { current: revs.current, update: revs.update });
    } catch (err) {
      failure = err;
    }
    const status = completeRollingUpdate(set, plan.status);
    if (statusDiffers(set, status)) await this.writeStatus(set, status);
    await this.truncateHistory(set, { pods, revs });
    if (failure) throw failure;
    const spec = setSpec(set);
    if (spec.minReadySeconds > 0 && status.availableReplicas !== spec.replicas) this.queue.addAfter(key, spec.minReadySeconds * 1000);
  }

  /**
   * The set's pods: those it controls whose labels still match (others are released), plus
   * orphans named `<set>-<n>` matching the selector, which it adopts (kube's ClaimPods).
   */
  private async claimPods(set: KObject, selector: LabelSelector): Promise<KObject[]> {
    const uid = set.metadata.uid;
    const out: KObject[] = [];
    for (const pod of this.pods.byIndex(BY_PARENT, `${set.metadata.namespace ?? ''}/${set.metadata.name ?? ''}`)) {
      const ref = controllerOf(pod);
      const matches = matchLabels(selector, pod.metadata.labels);
      if (ref) {
        if (ref.uid !== uid) continue;
        if (matches) out.push(pod);
        else if (!set.metadata.deletionTimestamp) await this.patchOwner(pod, { release: uid });
        continue;
      }
      if (!matches || pod.metadata.deletionTimestamp || set.metadata.deletionTimestamp) continue;
      const adopted = await this.patchOwner(pod, { adopt: set });
      if (adopted) out.push(adopted);
    }
    return out;
  }

  private async patchOwner(pod: KObject, how: { adopt?: KObject; release?: string }): Promise<KObject | undefined> {
    try {
      return await this.client.mutate(PODS, pod.metadata.namespace, pod.metadata.name ?? '', (live) => {
        if (live.metadata.uid !== pod.metadata.uid) return undefined;
        const refs = live.metadata.ownerReferences ?? [];
        if (how.adopt) {
          if (refs.some((r) => r.controller)) return undefined;
          live.metadata.ownerReferences = [...refs, controllerRef(how.adopt)];
        } else {
          live.metadata.ownerReferences = refs.filter((r) => r.uid !== how.release);
        }
        return live;
      });
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  /** Revisions the set controls, plus matching orphans it adopts. */
  private async claimRevisions(set: KObject, selector: LabelSelector): Promise<KObject[]> {
    const out: KObject[] = [];
    for (const rev of this.history.list(set.metadata.namespace ?? '')) {
      if (!matchLabels(selector, rev.metadata.labels)) continue;
      const ref = controllerOf(rev);
      if (ref) {
        if (ref.uid === set.metadata.uid) out.push(rev);
        continue;
      }
      if (set.metadata.deletionTimestamp) continue;
      try {
        out.push(await this.history.adopt(rev, controllerRef(set)));
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
    }
    return out;
  }

  /** Current and update revisions, creating or re-numbering the update revision as needed. */
  private async revisions(set: KObject, listed: KObject[]): Promise<Revisions> {
    let collisionCount = ((set.status as { collisionCount?: number } | undefined)?.collisionCount) ?? 0;
    const decision = decideUpdateRevision(set, listed, collisionCount);
    let update: KObject;
    if (decision.kind === 'existing') update = decision.revision;
    else if (decision.kind === 'renumber') update = await this.history.setRevision(decision.revision, decision.to);
    else {
      for (;;) {
        const candidate = newRevision(set, { revision: nextRevisionNumber(listed), collisionCount });
        try {
          update = await this.history.create(candidate);
          break;
        } catch (err) {
          if (!isAlreadyExists(err)) throw err;
          const existing = await this.history.get(set.metadata.namespace ?? '', candidate.metadata.name ?? '');
          if (existing && equalRevision(existing, candidate)) {
            update = existing;
            break;
          }
          if (!existing) continue;
          collisionCount++;
        }
      }
    }
    const currentName = ((set.status as { currentRevision?: string } | undefined)?.currentRevision) ?? '';
    const current = listed.find((r) => r.metadata.name === currentName) ?? update;
    return { current, update, collisionCount, listed };
  }

  /** Runs the plan: in order under OrderedReady; phase by phase, in slow-start batches, under Parallel. */
  private async apply(set: KObject, plan: Plan, revs: { current: KObject; update: KObject }): Promise<void> {
    const templates = { current: templateOf(revs.current), update: templateOf(revs.update) };
    const names = { current: revs.current.metadata.name ?? '', update: revs.update.metadata.name ?? '' };
    const run = (step: Step): Promise<void> => this.runStep(set, step, { templates, names });
    if (!plan.burst) {
      for (const step of plan.steps) await run(step);
      return;
    }
    for (const phase of ['replicas', 'condemned', 'update'] as const) {
      const steps = plan.steps.filter((s) => s.phase === phase);
      for (let i = 0, batch = 1; i < steps.length; i += batch, batch = Math.min(batch * 2, MAX_BATCH)) {
        const results = await Promise.allSettled(steps.slice(i, i + batch).map(run));
        const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
        if (failed) throw failed.reason;
      }
    }
  }

  private async runStep(set: KObject, step: Step, ctx: { templates: Record<'current' | 'update', PodTemplateSpec>; names: Record<'current' | 'update', string> }): Promise<void> {
    const ns = set.metadata.namespace ?? '';
    if (step.op === 'create') {
      const pod = newStatefulPod(set, { template: ctx.templates[step.revision], ordinal: step.ordinal, revision: ctx.names[step.revision] });
      try {
        await this.client.create(PODS, ns, pod);
      } catch (err) {
        // Already there: our cache lags; the pod's add event brings us back.
        if (!isAlreadyExists(err)) this.podEvent(set, 'create', pod, err);
        throw err;
      }
      this.podEvent(set, 'create', pod);
      return;
    }
    const pod = step.pod;
    if (step.op === 'fixIdentity') {
      try {
        await this.client.mutate(PODS, ns, pod.metadata.name ?? '', (live) => (live.metadata.uid === pod.metadata.uid ? applyIdentityLabels(live) : undefined));
      } catch (err) {
        if (isNotFound(err)) return;
        this.podEvent(set, 'update', pod, err);
        throw err;
      }
      this.podEvent(set, 'update', pod);
      return;
    }
    try {
      await this.client.delete(PODS, ns, pod.metadata.name ?? '', { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (isNotFound(err)) return;
      this.podEvent(set, 'delete', pod, err);
      throw err;
    }
    this.podEvent(set, 'delete', pod);
  }

  /** SuccessfulCreate / FailedDelete … with kube's messages. */
  private podEvent(set: KObject, verb: 'create' | 'update' | 'delete', pod: KObject, err?: unknown): void {
    const Verb = verb[0].toUpperCase() + verb.slice(1);
    const setName = set.metadata.name ?? '';
    const podName = pod.metadata.name ?? '';
    if (err === undefined) this.recorder.event(set, 'Normal', `Successful${Verb}`, `${verb} Pod ${podName} in StatefulSet ${setName} successful`);
    else this.recorder.event(set, 'Warning', `Failed${Verb}`, `${verb} Pod ${podName} in StatefulSet ${setName} failed error: ${(err as Error).message ?? String(err)}`);
  }

  private async writeStatus(set: KObject, status: SetStatus): Promise<void> {
    try {
      await this.client.mutate(STATEFULSETS, set.metadata.namespace, set.metadata.name ?? '', (live) => {
        if (live.metadata.uid !== set.metadata.uid) return undefined;
        live.status = { ...((live.status as Record<string, unknown> | undefined) ?? {}), ...status };
        return live;
      }, { subresource: 'status' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  /** Deletes the oldest revisions beyond revisionHistoryLimit that no pod or status still uses. */
  private async truncateHistory(set: KObject, input: { pods: KObject[]; revs: Revisions }): Promise<void> {
    const live = new Set<string>([input.revs.current.metadata.name ?? '', input.revs.update.metadata.name ?? '']);
    for (const pod of input.pods) live.add(revisionOf(pod));
    for (const rev of revisionsToTruncate(input.revs.listed, { live, limit: setSpec(set).revisionHistoryLimit })) await this.history.delete(rev);
  }
}

function selectorMatches(set: KObject, pod: KObject): boolean {
  try {
    return matchLabels(fromLabelSelectorObject((set.spec as { selector?: Parameters<typeof fromLabelSelectorObject>[0] }).selector), pod.metadata.labels);
  } catch {
    return false;
  }
}
