/**
 * The node's own object: registration, status and heartbeat, as the kubelet keeps them.
 *
 * - The Node is created once (labels kubernetes.io/hostname/os/arch and the control-plane role,
 *   spec.podCIDR) and its status (capacity and allocatable from this machine, addresses,
 *   conditions, nodeInfo, daemonEndpoints) is written at start and then whenever it changes or
 *   every `statusReportMs` (the kubelet's nodeStatusReportFrequency, 5 min by default; we use 1 min).
 * - The heartbeat is the Lease in kube-node-lease, renewed every `leaseRenewMs` (10 s, a quarter
 *   of the 40 s lease as the kubelet does), which the node lifecycle controller watches.
 * Decisions are pure ({@link nodeObject}, {@link nodeStatus}); {@link NodeRegistrar} writes them.
 */
import { readFileSync } from 'node:fs';
import { arch, cpus, hostname, release, totalmem } from 'node:os';
import type { KObject } from '../api/types.js';
import { rfc3339 } from '../apiserver/registry/store.js';
import { KUBE_VERSION } from '../apiserver/discovery.js';
import { LEASES, NODES, isAlreadyExists, isNotFound, type LocalClient } from '../client/client.js';
import { realClock, type Clock } from '../client/workqueue.js';

export interface MachineInfo {
  cpus: number;
  memoryBytes: number;
  hostname: string;
  kernelVersion: string;
  osImage: string;
  architecture: string;
  machineID: string;
  bootID: string;
}

function readTrim(path: string): string {
  try {
    return readFileSync(path, 'utf8').trim();
  } catch {
    return '';
  }
}

/** GOARCH names, as the kubelet reports them. */
const GOARCH: Record<string, string> = { x64: 'amd64', arm64: 'arm64', arm: 'arm', ia32: '386', ppc64: 'ppc64le', s390x: 's390x' };

export function machineInfo(): MachineInfo {
  const osRelease = readTrim('/etc/os-release');
  const pretty = /^PRETTY_NAME="?([^"\n]*)"?$/m.exec(osRelease)?.[1];
  return {
    cpus: cpus().length || 1,
    memoryBytes: totalmem(),
    hostname: hostname().toLowerCase(),
    kernelVersion: release(),
    osImage: pretty ?? process.platform,
    architecture: GOARCH[arch()] ?? arch(),
    machineID: readTrim('/etc/machine-id'),
    bootID: readTrim('/proc/sys/kernel/random/boot_id'),
  };
}

export interface NodeSpecInput {
  name: string;
  podCIDR: string;
  machine: MachineInfo;
  labels?: Record<string, string>;
}

/** The Node as first registered. */
export function nodeObject(input: NodeSpecInput): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name: input.name,
      labels: {
        'beta.kubernetes.io/arch': input.machine.architecture,
        'beta.kubernetes.io/os': 'linux',
        'kubernetes.io/arch': input.machine.architecture,
        'kubernetes.io/hostname': input.name,
        'kubernetes.io/os': 'linux',
        'node-role.kubernetes.io/control-plane': '',
        ...(input.labels ?? {}),
      },
      annotations: { 'node.alpha.kubernetes.io/ttl': '0', 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' },
    },
    spec: { podCIDR: input.podCIDR, podCIDRs: [input.podCIDR] },
  };
}

export interface NodeStatusInput {
  name: string;
  machine: MachineInfo;
  internalIP: string;
  maxPods: number;
  /** Memory and CPU held back for the system (kubelet's system-reserved); default none. */
  reserved?: { cpuMillis?: number; memoryBytes?: number };
  /** The kubelet's port as reported in daemonEndpoints (kubelite's agent runs in-process: 0). */
  kubeletPort?: number;
  runtimeVersion: string;
  /** Problems that make the node NotReady (e.g. the pod network failed to start). */
  notReadyReason?: string;
  now: Date;
  previous?: Record<string, unknown>;
}

interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastHeartbeatTime: string;
  lastTransitionTime: string;
}

/** The Node's status now; conditions keep their lastTransitionTime unless their status changed. */
export function nodeStatus(input: NodeStatusInput): Record<string, unknown> {
  const now = rfc3339(input.now);
  const prev = ((input.previous?.conditions ?? []) as Condition[]);
  const cond = (type: string, status: 'True' | 'False', reason: string, message: string): Condition => {
    const p = prev.find((c) => c.type === type);
    return { type, status, reason, message, lastHeartbeatTime: now, lastTransitionTime: p && p.status === status ? p.lastTransitionTime : now };
  };
  const memKi = Math.floor(input.machine.memoryBytes / 1024);
  const reservedKi = Math.floor((input.reserved?.memoryBytes ?? 0) / 1024);
  const cpuMillis = input.machine.cpus * 1000 - (input.reserved?.cpuMillis ?? 0);
  const capacity = { cpu: String(input.machine.cpus), 'ephemeral-storage': '0', memory: `${memKi}Ki`, pods: String(input.maxPods) };
  const allocatable = {
    cpu: cpuMillis % 1000 === 0 ? String(cpuMillis / 1000) : `${cpuMillis}m`,
    'ephemeral-storage': '0',
    memory: `${memKi - reservedKi}Ki`,
    pods: String(input.maxPods),
  };
  const ready = input.notReadyReason
    ? cond('Ready', 'False', 'KubeletNotReady', input.notReadyReason)
    : cond('Ready', 'True', 'KubeletReady', 'kubelet is posting ready status');
  return {
    capacity,
    allocatable,
    conditions: [
      cond('MemoryPressure', 'False', 'KubeletHasSufficientMemory', 'kubelet has sufficient memory available'),
      cond('DiskPressure', 'False', 'KubeletHasNoDiskPressure', 'kubelet has no disk pressure'),
      cond('PIDPressure', 'False', 'KubeletHasSufficientPID', 'kubelet has sufficient PID available'),
      ready,
    ],
    addresses: [
      { type: 'InternalIP', address: input.internalIP },
      { type: 'Hostname', address: input.name },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: input.kubeletPort ?? 0 } },
    nodeInfo: {
      machineID: input.machine.machineID,
      systemUUID: input.machine.machineID,
      bootID: input.machine.bootID,
      kernelVersion: input.machine.kernelVersion,
      osImage: input.machine.osImage,
      containerRuntimeVersion: input.runtimeVersion,
      kubeletVersion: KUBE_VERSION.gitVersion,
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: input.machine.architecture,
    },
  };
}

/** Status fields that, when changed, are written at once rather than at the next report. */
function significant(st: Record<string, unknown> | undefined): string {
  if (!st) return '';
  const conds = ((st.conditions ?? []) as Condition[]).map((c) => `${c.type}=${c.status}/${c.reason}`);
  return JSON.stringify([st.capacity, st.allocatable, st.addresses, st.nodeInfo, conds]);
}

export interface NodeRegistrarOptions extends Omit<NodeStatusInput, 'now' | 'previous' | 'name'>, Omit<NodeSpecInput, 'machine'> {
  clock?: Clock;
  leaseRenewMs?: number;
  leaseDurationSeconds?: number;
  statusReportMs?: number;
}

/** Registers the node, keeps its Lease renewed and its status current. */
export class NodeRegistrar {
  private readonly clock: Clock;
  private leaseTimer?: unknown;
  private statusTimer?: unknown;
  private lastWritten = '';
  private notReadyReason?: string;
  private stopped = false;

  constructor(
    private readonly client: LocalClient,
    private readonly opts: NodeRegistrarOptions,
  ) {
    this.clock = opts.clock ?? realClock;
    this.notReadyReason = opts.notReadyReason;
  }

  async start(): Promise<void> {
    try {
      await this.client.create(NODES, undefined, nodeObject(this.opts));
    } catch (err) {
      if (!isAlreadyExists(err)) throw err;
    }
    await this.updateStatus(true);
    await this.renewLease();
    this.scheduleLease();
    this.scheduleStatus();
  }

  stop(): void {
    this.stopped = true;
    if (this.leaseTimer !== undefined) this.clock.clearTimeout(this.leaseTimer);
    if (this.statusTimer !== undefined) this.clock.clearTimeout(this.statusTimer);
  }

  /** Marks the node NotReady with a reason (undefined: Ready again) and writes it at once. */
  async setNotReady(reason: string | undefined): Promise<void> {
    this.notReadyReason = reason;
    await this.updateStatus(false);
  }

  /** Writes the status when it changed significantly, or always with `force`. */
  async updateStatus(force: boolean): Promise<void> {
    await this.client.mutate(NODES, undefined, this.opts.name, (node) => {
      const next = nodeStatus({ ...this.opts, notReadyReason: this.notReadyReason, now: new Date(this.clock.now()), previous: node.status as Record<string, unknown> | undefined });
      const sig = significant(next);
      if (!force && sig === this.lastWritten && sig === significant(node.status as Record<string, unknown>)) return undefined;
      this.lastWritten = sig;
      node.status = { ...(node.status as Record<string, unknown> | undefined), ...next };
      return node;
    }, { subresource: 'status' });
  }

  async renewLease(): Promise<void> {
    const now = new Date(this.clock.now()).toISOString().replace('Z', '000Z');
    try {
      await this.client.mutate(LEASES, 'kube-node-lease', this.opts.name, (l) => {
        (l.spec as Record<string, unknown>).renewTime = now;
        return l;
      });
    } catch (err) {
      if (!isNotFound(err)) throw err;
      const node = await this.client.get(NODES, undefined, this.opts.name);
      await this.client.create(LEASES, 'kube-node-lease', {
        apiVersion: 'coordination.k8s.io/v1',
        kind: 'Lease',
        metadata: {
          name: this.opts.name,
          namespace: 'kube-node-lease',
          ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: this.opts.name, uid: node.metadata.uid ?? "" }],
        },
        spec: { holderIdentity: this.opts.name, leaseDurationSeconds: this.opts.leaseDurationSeconds ?? 40, renewTime: now },
      });
    }
  }

  private scheduleLease(): void {
    if (this.stopped) return;
    this.leaseTimer = this.clock.setTimeout(() => {
      this.renewLease()
        .catch((err) => console.error(`kubelite: node ${this.opts.name}: lease renewal failed: ${(err as Error).message}`))
        .finally(() => this.scheduleLease());
    }, this.opts.leaseRenewMs ?? 10_000);
  }

  private scheduleStatus(): void {
    if (this.stopped) return;
    this.statusTimer = this.clock.setTimeout(() => {
      this.updateStatus(true)
        .catch((err) => console.error(`kubelite: node ${this.opts.name}: status update failed: ${(err as Error).message}`))
        .finally(() => this.scheduleStatus());
    }, this.opts.statusReportMs ?? 60_000);
  }
}
