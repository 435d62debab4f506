/**
 * The taint eviction controller (kube's pkg/controller/tainteviction): deletes pods from nodes
 * with NoExecute taints they don't tolerate, at once, or once their tolerationSeconds have run
 * out. Pods without a toleration for the not-ready/unreachable taints are treated as tolerating
 * them for `defaultTolerationSeconds` (kube's DefaultTolerationSeconds admission plugin adds
 * that toleration; kubelite has no such plugin). Deletion is graceful: the pod's owner replaces
 * it; on a dead node the pod stays Terminating until the node comes back or is deleted, as in kube.
 */
import type { KObject } from '../../api/types.js';
import { PODS, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, splitKey, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { NO_EXECUTE, evictionTime, type Taint, type Toleration } from './tolerations.js';

/** Index of pods by spec.nodeName (shared by the node lifecycle controllers). */
export const POD_NODE_INDEX = 'nodelifecycle/nodeName';

export function podNodeName(pod: KObject): string {
  return (pod.spec as { nodeName?: string } | undefined)?.nodeName ?? '';
}

export function nodeTaints(node: KObject | undefined): Taint[] {
  return ((node?.spec as { taints?: Taint[] } | undefined)?.taints ?? []);
}

interface Scheduled {
  uid: string;
  sinceMs: number;
}

export class TaintEvictionController implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private nodes!: SharedInformer;
  private pods!: SharedInformer;
  private workers?: Promise<void>;
  /** Pods due for eviction: when this controller first saw them due (kube's scheduled work). */
  private readonly scheduled = new Map<string, Scheduled>();

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: { defaultTolerationSeconds?: number; workers?: number } = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.client = ctx.client.as('taint-eviction-controller');
    this.recorder = ctx.recorder('taint-eviction-controller');
  }

  async start(): Promise<void> {
    this.nodes = this.ctx.informers.for('', 'nodes');
    this.pods = this.ctx.informers.for('', 'pods');
    this.pods.addIndexer(POD_NODE_INDEX, (p) => [podNodeName(p)]);
    const enqueuePod = (p: KObject): void => {
      if (podNodeName(p)) this.queue.add(keyOf(p));
    };
    this.pods.addHandlers({
      onAdd: enqueuePod,
      onUpdate: enqueuePod,
      onDelete: (p) => {
        this.scheduled.delete(keyOf(p));
      },
    });
    const enqueueNode = (n: KObject): void => {
      for (const p of this.pods.byIndex(POD_NODE_INDEX, n.metadata.name ?? '')) this.queue.add(keyOf(p));
    };
    this.nodes.addHandlers({
      onAdd: enqueueNode,
      onUpdate: (n, old) => {
        if (noExecuteKey(nodeTaints(n)) !== noExecuteKey(nodeTaints(old))) enqueueNode(n);
      },
      onDelete: enqueueNode,
    });
    await this.ctx.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 4 });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.workers;
  }

  /** Decides one pod: nothing, cancel a planned eviction, plan one (re-queued at its time), or evict now. */
  async sync(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod || pod.metadata.deletionTimestamp || !podNodeName(pod)) {
      this.scheduled.delete(key);
      return;
    }
    const now = this.ctx.clock.now();
    const taints = nodeTaints(this.nodes.get(podNodeName(pod))).filter((t) => t.effect === NO_EXECUTE);
    let prev = this.scheduled.get(key);
    if (prev && prev.uid !== pod.metadata.uid) prev = undefined;
    const tolerations = ((pod.spec as { tolerations?: Toleration[] }).tolerations ?? []);
    const at = evictionTime(tolerations, taints, { sinceMs: prev?.sinceMs ?? now, defaultTolerationSeconds: this.opts.defaultTolerationSeconds ?? 300 });
    if (at === null) {
      if (prev) this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Cancelling deletion of Pod ${key}`);
      this.scheduled.delete(key);
      return;
    }
    if (at > now) {
      this.scheduled.set(key, { uid: pod.metadata.uid ?? '', sinceMs: prev?.sinceMs ?? now });
      this.queue.addAfter(key, at - now);
      return;
    }
    await this.evict(pod, key);
    this.scheduled.delete(key);
  }

  /** Marks the pod as a disruption target, then deletes it (kube's addConditionAndDeletePod). */
  private async evict(pod: KObject, key: string): Promise<void> {
    const { namespace, name } = splitKey(key);
    this.recorder.event(pod, 'Normal', 'TaintManagerEviction', `Marking for deletion Pod ${key}`);
    const now = new Date(this.ctx.clock.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    try {
      await this.client.mutate(PODS, namespace, name, (live) => {
        if (live.metadata.uid !== pod.metadata.uid) return undefined;
        const status = (live.status ?? {}) as { conditions?: Record<string, unknown>[] };
        const conds = status.conditions ?? [];
        const existing = conds.find((c) => c.type === 'DisruptionTarget');
        if (existing?.status === 'True' && existing.reason === 'DeletionByTaintManager') return undefined;
        const cond = { type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager', message: 'Taint manager: deleting due to NoExecute taint', lastProbeTime: null, lastTransitionTime: now };
        status.conditions = [...conds.filter((c) => c.type !== 'DisruptionTarget'), cond];
        live.status = status;
        return live;
      }, { subresource: 'status' });
      await this.client.delete(PODS, namespace, name, { preconditions: { uid: pod.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

function noExecuteKey(taints: Taint[]): string {
  return taints.filter((t) => t.effect === NO_EXECUTE).map((t) => `${t.key}=${t.value ?? ''}`).sort().join(',');
}
