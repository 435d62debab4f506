/**
 * The node lifecycle controller (kube-controller-manager's nodelifecycle): every monitor period
 * it checks each node's heartbeat (Lease renewals in kube-node-lease and the Ready condition's
 * lastHeartbeatTime), as *observed* by this controller's clock. A node silent for longer than
 * the grace period gets its conditions set Unknown ("Kubelet stopped posting node status."),
 * its pods marked not Ready (so they leave Endpoints/EndpointSlices) and the unreachable
 * NoExecute taint; a node reporting Ready=False gets the not-ready one. Both go once the node
 * reports Ready=True again. NoSchedule taints follow node conditions on every node change.
 * The pods themselves are evicted by the TaintEvictionController it runs alongside.
 *
 * Differences from kube: no eviction rate limiter (kube taints at most 0.1 nodes/s per zone),
 * no cloud-provider node deletion; zone disruption modes are kept (see health.ts).
 */
import type { KObject } from '../../api/types.js';
import { NODES, PODS, isConflict, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import type { SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';
import type { Controller, ControllerContext } from '../context.js';
import {
  applyTaintChange,
  evictionModes,
  isOverdue,
  noExecuteTaintChange,
  noScheduleTaintChange,
  observeHealth,
  unknownConditions,
  zoneKey,
  type NodeCondition,
  type NodeHealth,
  type TaintChange,
} from './health.js';
import { POD_NODE_INDEX, TaintEvictionController, nodeTaints, podNodeName } from './taint-eviction.js';

export interface NodeLifecycleOptions {
  /** How often node health is checked (node-monitor-period). */
  monitorPeriodMs?: number;
  /** How long a node may be silent before it is Unknown (node-monitor-grace-period). */
  gracePeriodMs?: number;
  /** Grace for a node that never posted a Ready condition (node-startup-grace-period). */
  startupGracePeriodMs?: number;
  /** tolerationSeconds of the default not-ready/unreachable tolerations, in ms. */
  podEvictionTimeoutMs?: number;
  /** Run the taint eviction controller too (default true). */
  taintEviction?: boolean;
}

const EXCLUDE_DISRUPTION_LABEL = 'node.kubernetes.io/exclude-disruption';
const LEASE_NAMESPACE = 'kube-node-lease';

function rfc3339(ms: number): string {
  return new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function conditionsOf(node: KObject): NodeCondition[] {
  return ((node.status as { conditions?: NodeCondition[] } | undefined)?.conditions ?? []);
}

function readyStatus(conds: readonly NodeCondition[]): string {
  return conds.find((c) => c.type === 'Ready')?.status ?? 'Unknown';
}

export class NodeLifecycleController implements Controller {
  private readonly queue: WorkQueue;
  private readonly client: LocalClient;
  private readonly recorder: EventRecorder;
  private readonly taintEviction?: TaintEvictionController;
  private readonly health = new Map<string, NodeHealth>();
  /** Nodes whose pods still need marking not Ready (a failed MarkPodsNotReady). */
  private readonly retryMarkPods = new Set<string>();
  private nodes!: SharedInformer;
  private leases!: SharedInformer;
  private pods!: SharedInformer;
  private workers?: Promise<void>;
  private timer?: unknown;
  private monitoring?: Promise<void>;
  private stopped = false;

  constructor(
    private readonly ctx: ControllerContext,
    private readonly opts: NodeLifecycleOptions = {},
  ) {
    this.queue = new WorkQueue(ctx.clock);
    this.client = ctx.client.as('node-controller');
    this.recorder = ctx.recorder('node-controller');
    if (opts.taintEviction !== false) {
      this.taintEviction = new TaintEvictionController(ctx, { defaultTolerationSeconds: (opts.podEvictionTimeoutMs ?? 300_000) / 1000 });
    }
  }

  async start(): Promise<void> {
    this.nodes = this.ctx.informers.for('', 'nodes');
    this.leases = this.ctx.informers.for('coordination.k8s.io', 'leases');
    this.pods = this.ctx.informers.for('', 'pods');
    this.pods.addIndexer(POD_NODE_INDEX, (p) => [podNodeName(p)]);
    const enqueue = (n: KObject): void => this.queue.add(n.metadata.name ?? '');
    this.nodes.addHandlers({ onAdd: enqueue, onUpdate: enqueue });
    await this.ctx.informers.start();
    await this.taintEviction?.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: 2 });
    this.tick();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.ctx.clock.clearTimeout(this.timer);
    this.queue.shutDown();
    await Promise.all([this.workers, this.monitoring, this.taintEviction?.stop()]);
  }

  /** The monitor loop: one pass now, the next a monitor period after it finishes. */
  private tick(): void {
    if (this.stopped) return;
    this.monitoring = this.monitorNodeHealth()
      .catch(() => undefined)
      .finally(() => {
        if (!this.stopped) this.timer = this.ctx.clock.setTimeout(() => this.tick(), this.opts.monitorPeriodMs ?? 5000);
      });
  }

  /** The NoSchedule pass for one node (kube's doNoScheduleTaintingPass), run on every node change. */
  async sync(name: string): Promise<void> {
    const node = this.nodes.get(name);
    if (!node) {
      this.health.delete(name);
      return;
    }
    const spec = (node.spec ?? {}) as { unschedulable?: boolean };
    const change = noScheduleTaintChange({ conditions: conditionsOf(node), unschedulable: spec.unschedulable, taints: nodeTaints(node) });
    await this.applyTaints(name, change);
  }

  /**
   * One monitor pass over all nodes: update observed health, mark silent nodes Unknown (and
   * their pods not Ready), then set the NoExecute taints per zone disruption mode.
   */
  async monitorNodeHealth(): Promise<void> {
    const now = this.ctx.clock.now();
    const zones = new Map<string, { ready: number; notReady: number }>();
    const current = new Map<string, string>();
    for (const node of this.nodes.list()) {
      const name = node.metadata.name ?? '';
      let status: string;
      try {
        status = await this.updateNodeHealth(node, now);
      } catch {
        continue; // kube: skip the node this pass, retry on the next
      }
      current.set(name, status);
      const labels = node.metadata.labels ?? {};
      if (!(EXCLUDE_DISRUPTION_LABEL in labels)) {
        const z = zones.get(zoneKey(labels)) ?? { ready: 0, notReady: 0 };
        if (status === 'True') z.ready++;
        else z.notReady++;
        zones.set(zoneKey(labels), z);
      }
    }
    const modes = evictionModes(zones);
    for (const [name, status] of current) {
      const node = this.nodes.get(name);
      if (!node) continue;
      const mode = modes.get(zoneKey(node.metadata.labels)) ?? 'on';
      try {
        await this.applyTaints(name, noExecuteTaintChange(status, { taints: nodeTaints(node), mode }));
      } catch {
        // retried on the next pass
      }
    }
  }

  /** Observes one node, writes Unknown conditions if it went silent; returns its current Ready status. */
  private async updateNodeHealth(node: KObject, now: number): Promise<string> {
    const name = node.metadata.name ?? '';
    const conds = conditionsOf(node);
    const ready = conds.find((c) => c.type === 'Ready');
    const lease = this.leases.getBy(LEASE_NAMESPACE, name);
    const leaseRenewTime = (lease?.spec as { renewTime?: string } | undefined)?.renewTime ?? undefined;
    const prev = this.health.get(name);
    const health = observeHealth(prev, { ready, leaseRenewTime, nowMs: now });
    this.health.set(name, health);
    const observed = readyStatus(conds);
    let currentStatus = observed;
    const grace = ready ? (this.opts.gracePeriodMs ?? 40_000) : (this.opts.startupGracePeriodMs ?? 60_000);
    if (isOverdue(health, { nowMs: now, graceMs: grace })) {
      const next = unknownConditions(conds, { now: rfc3339(now), created: node.metadata.creationTimestamp ?? rfc3339(now) });
      if (next) {
        // The cached resourceVersion is the precondition: a kubelet that just reported wins.
        const updated = structuredClone(node);
        (updated.status as { conditions?: NodeCondition[] }) = { ...((updated.status ?? {}) as object), conditions: next };
        try {
          await this.client.updateStatus(NODES, updated);
        } catch (err) {
          if (isConflict(err) || isNotFound(err)) return observed;
          throw err;
        }
        health.readyTransitionMs = now;
      }
      currentStatus = 'Unknown';
    }
    let markPods = this.retryMarkPods.has(name) && currentStatus !== 'True';
    if (currentStatus !== 'True' && observed === 'True') {
      this.recorder.event(node, 'Normal', 'NodeNotReady', `Node ${name} status is now: NodeNotReady`);
      markPods = true;
    }
    if (markPods) {
      try {
        await this.markPodsNotReady(name, now);
        this.retryMarkPods.delete(name);
      } catch {
        this.retryMarkPods.add(name);
      }
    } else {
      this.retryMarkPods.delete(name);
    }
    return currentStatus;
  }

  /** Sets every pod on the node to Ready=False (kube's MarkPodsNotReady) and records NodeNotReady on it. */
  private async markPodsNotReady(nodeName: string, now: number): Promise<void> {
    let failed: unknown;
    for (const pod of this.pods.byIndex(POD_NODE_INDEX, nodeName)) {
      const conds = ((pod.status as { conditions?: { type: string; status: string }[] } | undefined)?.conditions ?? []);
      const readyCond = conds.find((c) => c.type === 'Ready');
      if (!readyCond || readyCond.status === 'False') continue;
      try {
        await this.client.mutate(PODS, pod.metadata.namespace, pod.metadata.name ?? '', (live) => {
          if (live.metadata.uid !== pod.metadata.uid) return undefined;
          const st = (live.status ?? {}) as { conditions?: Record<string, unknown>[] };
          const c = st.conditions?.find((x) => x.type === 'Ready');
          if (!c || c.status === 'False') return undefined;
          c.status = 'False';
          c.lastTransitionTime = rfc3339(now);
          return live;
        }, { subresource: 'status' });
        this.recorder.event(pod, 'Warning', 'NodeNotReady', 'Node is not ready');
      } catch (err) {
        if (!isNotFound(err)) failed = err;
      }
    }
    if (failed) throw failed;
  }

  private async applyTaints(name: string, change: TaintChange): Promise<void> {
    if (change.add.length === 0 && change.remove.length === 0) return;
    const now = rfc3339(this.ctx.clock.now());
    await this.client.mutate(NODES, undefined, name, (live) => {
      const spec = (live.spec ?? {}) as { taints?: unknown[] };
      const taints = applyTaintChange(nodeTaints(live), change, { now });
      if (!taints) return undefined;
      if (taints.length) spec.taints = taints;
      else delete spec.taints;
      live.spec = spec;
      return live;
    });
  }
}
