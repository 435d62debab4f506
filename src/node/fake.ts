/**
 * A simulated node (as KWOK's): for controller tests and benchmarks, and until the node agent
 * exists the only node there is. It registers a
 * Node with capacity and a Ready condition, renews its Lease in kube-node-lease, and for every
 * pod bound to it writes the status a kubelet would — Running, a pod IP, Ready (or not, on
 * demand) — and finishes graceful deletions at once. It talks to the registry in-process, as
 * the real node agent will.
 */
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { rfc3339 } from '../apiserver/registry/store.js';
import { LocalClient, PODS, NODES, LEASES, isNotFound, isAlreadyExists } from '../client/client.js';
import { InformerFactory, keyOf, type SharedInformer } from '../client/shared-informer.js';
import { WorkQueue, runWorkers } from '../client/workqueue.js';

export interface FakeNodeOptions {
  name: string;
  /** Distinguishes pod IP ranges of several fake nodes: pods get 10.(200+index).x.y. */
  index?: number;
  cpu?: string;
  memory?: string;
  pods?: string;
  labels?: Record<string, string>;
  taints?: Record<string, unknown>[];
  /** Whether pods turn Ready as soon as they run (default true). */
  autoReady?: boolean;
  leaseRenewMs?: number;
  workers?: number;
}

export class FakeNode {
  readonly name: string;
  private readonly client: LocalClient;
  private readonly informers: InformerFactory;
  private pods!: SharedInformer;
  private readonly queue = new WorkQueue();
  private readonly readiness = new Map<string, boolean>();
  private readonly ips = new Map<string, string>();
  private nextIp = 2;
  private heartbeat?: NodeJS.Timeout;
  private workers?: Promise<void>;

  constructor(
    private readonly deps: { registry: Registry; cache: WatchCache },
    private readonly opts: FakeNodeOptions,
  ) {
    this.name = opts.name;
    this.client = new LocalClient(deps.registry, { manager: 'kubelet' });
    this.informers = new InformerFactory(deps);
  }

  async start(): Promise<void> {
    await this.register();
    await this.renewLease();
    this.startHeartbeat();
    this.pods = this.informers.for('', 'pods');
    const enqueue = (p: KObject): void => {
      if ((p.spec as { nodeName?: string } | undefined)?.nodeName === this.name) this.queue.add(keyOf(p));
    };
    this.pods.addHandlers({ onAdd: enqueue, onUpdate: enqueue });
    await this.informers.start();
    this.workers = runWorkers(this.queue, (k) => this.sync(k), { workers: this.opts.workers ?? 8 });
  }

  /** Marks a pod Ready or not Ready (its containers keep running). */
  async setReady(namespace: string, name: string, ready: boolean): Promise<void> {
    this.readiness.set(`${namespace}/${name}`, ready);
    await this.writeStatus(namespace, name);
  }

  /** Stops renewing the node's Lease (the node "dies" for the node lifecycle controller). */
  stopHeartbeat(): void {
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = undefined;
  }

  startHeartbeat(): void {
    this.stopHeartbeat();
    this.heartbeat = setInterval(() => void this.renewLease().catch(() => undefined), this.opts.leaseRenewMs ?? 1000);
    this.heartbeat.unref();
  }

  async stop(): Promise<void> {
    this.stopHeartbeat();
    this.queue.shutDown();
    this.informers.close();
    await this.workers;
  }

  /** Pod IP this node gave the pod, if running. */
  podIP(namespace: string, name: string): string | undefined {
    return this.ips.get(`${namespace}/${name}`);
  }

  private async register(): Promise<void> {
    const now = rfc3339(new Date());
    const capacity = { cpu: this.opts.cpu ?? '4', memory: this.opts.memory ?? '8Gi', pods: this.opts.pods ?? '110' };
    const node: KObject = {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: this.name, labels: { 'kubernetes.io/hostname': this.name, 'kubernetes.io/os': 'linux', ...(this.opts.labels ?? {}) } },
      spec: { podCIDR: `10.${200 + (this.opts.index ?? 0)}.0.0/16`, ...(this.opts.taints ? { taints: this.opts.taints } : {}) },
    };
    try {
      await this.client.create(NODES, undefined, node);
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    await this.client.mutate(NODES, undefined, this.name, (live) => {
      live.status = {
        capacity,
        allocatable: capacity,
        conditions: [
          { type: 'Ready', status: 'True', reason: 'KubeletReady', message: 'kubelet is posting ready status', lastHeartbeatTime: now, lastTransitionTime: now },
        ],
        addresses: [{ type: 'InternalIP', address: `10.0.0.${(this.opts.index ?? 0) + 1}` }, { type: 'Hostname', address: this.name }],
        nodeInfo: { kubeletVersion: 'v1.32.0-kubelite-fake', osImage: 'fake', architecture: 'amd64', operatingSystem: 'linux', containerRuntimeVersion: 'fake://0', kernelVersion: '', kubeProxyVersion: '', machineID: '', systemUUID: '', bootID: '' },
      };
      return live;
    }, { subresource: 'status' });
  }

  async renewLease(): Promise<void> {
    const now = new Date().toISOString().replace('Z', '000Z');
    try {
      await this.client.mutate(LEASES, 'kube-node-lease', this.name, (l) => {
        (l.spec as Record<string, unknown>).renewTime = now;
        return l;
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      await this.client.create(LEASES, 'kube-node-lease', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: { name: this.name, namespace: 'kube-node-lease' },
        spec: { holderIdentity: this.name, leaseDurationSeconds: 40, renewTime: now },
      });
    }
  }

  private async sync(key: string): Promise<void> {
    const pod = this.pods.get(key);
    if (!pod) return;
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    if (pod.metadata.deletionTimestamp) {
      try {
        await this.client.delete(PODS, ns, name, { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata.uid } });
      } catch (err) {
        if (!isNotFound(err)) throw err;
      }
      this.ips.delete(key);
      this.readiness.delete(key);
      return;
    }
    const status = pod.status as { phase?: string; conditions?: { type: string; status: string }[] } | undefined;
    const wantReady = this.readiness.get(key) ?? this.opts.autoReady ?? true;
    const isReady = status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false;
    if (status?.phase === 'Running' && isReady === wantReady) return;
    await this.writeStatus(ns, name);
  }

  private async writeStatus(namespace: string, name: string): Promise<void> {
    const key = `${namespace}/${name}`;
    const ready = this.readiness.get(key) ?? this.opts.autoReady ?? true;
    let ip = this.ips.get(key);
    if (!ip) {
      const n = this.nextIp++;
      ip = `10.${200 + (this.opts.index ?? 0)}.${(n >> 8) & 255}.${n & 255}`;
      this.ips.set(key, ip);
    }
    const podIP = ip;
    const now = rfc3339(new Date());
    await this.client.mutate(PODS, namespace, name, (pod) => {
      if (pod.metadata.deletionTimestamp) return undefined;
      const st = (pod.status ?? {}) as Record<string, unknown>;
      const old = (st.conditions ?? []) as { type: string; status: string; lastTransitionTime?: string }[];
      const cond = (type: string, status: boolean): Record<string, unknown> => {
        const s = status ? 'True' : 'False';
        const prev = old.find((c) => c.type === type);
        return { type, status: s, lastProbeTime: null, lastTransitionTime: prev && prev.status === s ? prev.lastTransitionTime : now };
      };
      const containers = ((pod.spec as { containers?: { name: string; image?: string }[] }).containers ?? []);
      st.phase = 'Running';
      st.hostIP = `10.0.0.${(this.opts.index ?? 0) + 1}`;
      st.hostIPs = [{ ip: st.hostIP }];
      st.podIP = podIP;
      st.podIPs = [{ ip: podIP }];
      st.startTime ??= now;
      st.qosClass ??= 'BestEffort';
      st.conditions = [cond('PodReadyToStartContainers', true), cond('Initialized', true), cond('Ready', ready), cond('ContainersReady', ready), cond('PodScheduled', true)];
      st.containerStatuses = containers.map((c) => ({
        name: c.name,
        image: c.image ?? '',
        imageID: '',
        ready,
        started: true,
        restartCount: 0,
        state: { running: { startedAt: (st.startTime as string) ?? now } },
      }));
      pod.status = st;
      return pod;
    }, { subresource: 'status' });
  }
}
