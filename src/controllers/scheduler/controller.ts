/**
 * The scheduler (kube-scheduler's default profile, one pod at a time): assigns pending pods to
 * nodes through pods/binding. The decision is pure (schedule.ts / predicates.ts); this class
 * keeps the scheduling queue, the view of what each node already carries, and writes results.
 *
 * Queue: pods without spec.nodeName, not being deleted, not terminal, not scheduling-gated,
 * whose spec.schedulerName is empty or 'default-scheduler'. Unschedulable pods are retried
 * with per-pod backoff (a sync that leaves a pod unschedulable fails, so the queue's rate
 * limiter requeues it) and at once when the cluster changes in a way that could let them fit:
 * a node is added or its allocatable/labels/taints/readiness/cordon change, or an assigned pod
 * is deleted or finishes.
 *
 * Assumed pods: the informer lags behind our own bindings, so each pod we bind is remembered
 * and counted against its node until the informer shows it bound (or gone); two pods
 * scheduled back to back cannot overcommit a node. One worker, so decisions never race.
 */
import type { KObject } from '../../api/types.js';
import { rfc3339 } from '../../apiserver/registry/store.js';
import { PODS, isConflict, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import { keyOf, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import { nodeReadyStatus } from './predicates.js';
import { podSpec } from './resources.js';
import { schedulePod, withUnschedulableCondition, type NodeState } from './schedule.js';

export const SCHEDULER_NAME = 'default-scheduler';
/** Pod informer index: node name → non-terminated pods assigned to it. */
export const NODE_NAME_INDEX = 'scheduler:spec.nodeName';

export interface SchedulerOptions {
  /** First retry delay for an unschedulable pod (default 1000 ms), doubling per attempt. */
  backoffBaseMs?: number;
  /** Longest retry delay (default 60 s); cluster changes retry sooner. */
  backoffMaxMs?: number;
}

export type SyncOutcome = 'scheduled' | 'unschedulable' | 'skipped';

/** Thrown by the worker wrapper so the queue backs the pod off (not a failure to log). */
class StillUnschedulable extends Error {}

interface Assumed {
  uid: string | undefined;
  nodeName: string;
  pod: KObject;
}

function isTerminal(pod: KObject): boolean {
  const phase = (pod.status as { phase?: string } | undefined)?.phase;
  return phase === 'Succeeded' || phase === 'Failed';
}

/** Whether this scheduler should place the pod now. */
export function wantsScheduling(pod: KObject): boolean {
  const spec = podSpec(pod);
  if (spec.nodeName || pod.metadata.deletionTimestamp || isTerminal(pod)) return false;
  if (spec.schedulingGates?.length) return false;
  return !spec.schedulerName || spec.schedulerName === SCHEDULER_NAME;
}

/** The parts of a node that can turn an unschedulable pod schedulable. */
function nodeFingerprint(node: KObject): string {
  const st = (node.status ?? {}) as { allocatable?: unknown };
  const spec = (node.spec ?? {}) as { taints?: unknown; unschedulable?: unknown };
  return JSON.stringify([st.allocatable, node.metadata.labels, spec.taints, spec.unschedulable, nodeReadyStatus(node)]);
}

/** The parts of a pending pod that can change its own scheduling outcome. */
function podFingerprint(pod: KObject): string {
  return JSON.stringify([pod.spec, pod.metadata.labels, pod.metadata.deletionTimestamp]);
}

export class Scheduler implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private pods!: SharedInformer;
  private nodes!: SharedInformer;
  private readonly assumed = new Map<string, Assumed>();
  private readonly unschedulable = new Set<string>();
  private running?: Promise<void>;

  constructor(
    private readonly ctx: ControllerContext,
    opts: SchedulerOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock, { baseDelayMs: opts.backoffBaseMs ?? 1000, maxDelayMs: opts.backoffMaxMs ?? 60_000 });
    this.client = ctx.client.as(SCHEDULER_NAME);
    this.recorder = ctx.recorder(SCHEDULER_NAME);
  }

  async start(): Promise<void> {
    this.pods = this.ctx.informers.for('', 'pods');
    this.nodes = this.ctx.informers.for('', 'nodes');
    this.pods.addIndexer(NODE_NAME_INDEX, (p) => {
      const n = podSpec(p).nodeName;
      return n && !isTerminal(p) ? [n] : [];
    });
    this.pods.addHandlers({
      onAdd: (p) => this.onPod(p),
      onUpdate: (p, old) => this.onPod(p, old),
      onDelete: (p) => this.onPodDeleted(p),
    });
    this.nodes.addHandlers({
      onAdd: () => this.retryUnschedulable(),
      onUpdate: (n, old) => {
        if (n !== old && nodeFingerprint(n) !== nodeFingerprint(old)) this.retryUnschedulable();
      },
    });
    await this.ctx.informers.start();
    this.running = runWorkers(this.queue, (k) => this.work(k), {
      workers: 1,
      onError: (key, err) => {
        if (!(err instanceof StillUnschedulable)) console.error(`kubelite: scheduler: pod ${key}: ${(err as Error).message}`);
      },
    });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    await this.running;
  }

  /** Keys of pods this scheduler last found unschedulable (for tests and diagnostics). */
  unschedulablePods(): string[] {
    return [...this.unschedulable];
  }

  private async work(key: string): Promise<void> {
    if ((await this.sync(key)) === 'unschedulable') throw new StillUnschedulable(key);
  }

  private onPod(pod: KObject, old?: KObject): void {
    const key = keyOf(pod);
    const nodeName = podSpec(pod).nodeName;
    if (nodeName) {
      this.unschedulable.delete(key);
      // An assigned pod that finished frees its node's resources.
      if (old && isTerminal(pod) && !isTerminal(old)) this.retryUnschedulable();
      return;
    }
    if (!wantsScheduling(pod)) return;
    // Our own status write (or a resync) changes nothing about where the pod fits: the
    // backoff, not the echo, decides when to try again.
    if (old && this.unschedulable.has(key) && (pod === old || podFingerprint(pod) === podFingerprint(old))) return;
    this.queue.add(key);
  }

  private onPodDeleted(pod: KObject): void {
    const key = keyOf(pod);
    this.assumed.delete(key);
    this.unschedulable.delete(key);
    if (podSpec(pod).nodeName) this.retryUnschedulable();
  }

  private retryUnschedulable(): void {
    for (const key of this.unschedulable) this.queue.add(key);
  }

  /** Drops assumptions the informer has caught up with (pod shown bound, gone or replaced). */
  private pruneAssumed(): void {
    for (const [key, a] of this.assumed) {
      const cur = this.pods.get(key);
      if (!cur || cur.metadata.uid !== a.uid || podSpec(cur).nodeName) this.assumed.delete(key);
    }
  }

  /** Every node with the pods counted against it: informer-assigned pods plus assumed ones. */
  private nodeStates(): NodeState[] {
    this.pruneAssumed();
    const extra = new Map<string, KObject[]>();
    for (const a of this.assumed.values()) {
      const list = extra.get(a.nodeName) ?? [];
      list.push(a.pod);
      extra.set(a.nodeName, list);
    }
    return this.nodes.list().map((node) => {
      const name = node.metadata.name ?? '';
      return { node, pods: [...this.pods.byIndex(NODE_NAME_INDEX, name), ...(extra.get(name) ?? [])] };
    });
  }

  /** Schedules one pod: bind it, or record why it cannot run anywhere. */
  async sync(key: string): Promise<SyncOutcome> {
    const pod = this.pods.get(key);
    if (!pod || !wantsScheduling(pod)) {
      this.unschedulable.delete(key);
      return 'skipped';
    }
    this.pruneAssumed();
    if (this.assumed.has(key)) return 'skipped';
    const decision = schedulePod(pod, this.nodeStates());
    if ('nodeName' in decision) return this.bind(key, pod, decision.nodeName);
    await this.markUnschedulable(key, pod, decision.message);
    return 'unschedulable';
  }

  private async bind(key: string, pod: KObject, nodeName: string): Promise<SyncOutcome> {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    try {
      await this.client.bind(ns, name, nodeName);
    } catch (err) {
      // Bound elsewhere, being deleted, or gone: the informer will tell us; nothing to retry.
      if (isNotFound(err) || isConflict(err)) {
        this.unschedulable.delete(key);
        return 'skipped';
      }
      throw err;
    }
    const assumedPod: KObject = { ...pod, spec: { ...(pod.spec as object), nodeName } };
    this.assumed.set(key, { uid: pod.metadata.uid, nodeName, pod: assumedPod });
    this.unschedulable.delete(key);
    this.recorder.event(pod, 'Normal', 'Scheduled', `Successfully assigned ${ns}/${name} to ${nodeName}`);
    return 'scheduled';
  }

  private async markUnschedulable(key: string, pod: KObject, message: string): Promise<void> {
    this.unschedulable.add(key);
    const now = rfc3339(new Date(this.ctx.clock.now()));
    if (withUnschedulableCondition(pod.status as Record<string, unknown> | undefined, { message, now })) {
      try {
        await this.client.mutate(
          PODS,
          pod.metadata.namespace,
          pod.metadata.name ?? '',
          (live) => {
            if (live.metadata.uid !== pod.metadata.uid || podSpec(live).nodeName) return undefined;
            const status = withUnschedulableCondition(live.status as Record<string, unknown> | undefined, { message, now });
            if (!status) return undefined;
            live.status = status;
            return live;
          },
          { subresource: 'status' },
        );
      } catch (err) {
        if (isNotFound(err)) {
          this.unschedulable.delete(key);
          return;
        }
        throw err;
      }
    }
    this.recorder.event(pod, 'Warning', 'FailedScheduling', message);
  }
}
