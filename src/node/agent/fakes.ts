/**
 * In-memory stand-ins for the runtime and the pod network, so the agent's loop is tested without
 * processes or root. FakeRuntime keeps the RuntimeService contracts (ids never reused, idempotent
 * stop/remove, NotFoundError, exit events after the status update) and lets a test make a
 * container exit (`exit`) or answer exec probes (`execHandler`).
 */
import type { Clock } from '../../client/workqueue.js';
import { realClock } from '../../client/workqueue.js';
import {
  NotFoundError,
  FailedPreconditionError,
  type ContainerConfig,
  type ContainerExitEvent,
  type ContainerFilter,
  type ContainerStatus,
  type ExecOptions,
  type ExecResult,
  type ExecSession,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeService,
} from '../runtime/cri.js';
import { containerMatches } from '../runtime/process.js';
import type { PodNetwork } from './agent.js';

interface FakeContainer {
  status: ContainerStatus;
  config: ContainerConfig;
}

export class FakeRuntime implements RuntimeService {
  private seq = 0;
  private readonly sandboxes = new Map<string, PodSandboxStatus & { config: PodSandboxConfig }>();
  private readonly containers = new Map<string, FakeContainer>();
  private readonly listeners = new Set<(ev: ContainerExitEvent) => void>();
  /** Answers execSync (exec probes, preStop hooks); default: exit 0. */
  execHandler: (containerId: string, cmd: string[]) => ExecResult | Promise<ExecResult> = () => ({ stdout: Buffer.alloc(0), stderr: Buffer.alloc(0), exitCode: 0, timedOut: false });
  /** Every execSync call, in order (tests check preStop hooks ran). */
  readonly execCalls: { containerId: string; cmd: string[] }[] = [];
  /** Every stopContainer call with its grace (tests check SIGTERM grace). */
  readonly stopCalls: { containerId: string; timeoutSeconds: number }[] = [];

  constructor(private readonly clock: Clock = realClock) {}

  private id(prefix: string): string {
    return `${prefix}${(++this.seq).toString(16).padStart(8, '0')}`;
  }

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = this.id('s');
    this.sandboxes.set(id, {
      id,
      metadata: { ...config.metadata },
      state: 'ready',
      createdAt: this.clock.now(),
      labels: { ...(config.labels ?? {}) },
      annotations: { ...(config.annotations ?? {}) },
      config,
    });
    return id;
  }

  async stopPodSandbox(sandboxId: string): Promise<void> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) return;
    for (const c of this.containers.values()) if (c.status.sandboxId === sandboxId) this.finish(c, { exitCode: 137, signal: 'SIGKILL' });
    s.state = 'notready';
  }

  async removePodSandbox(sandboxId: string): Promise<void> {
    await this.stopPodSandbox(sandboxId);
    for (const [id, c] of this.containers) if (c.status.sandboxId === sandboxId) this.containers.delete(id);
    this.sandboxes.delete(sandboxId);
  }

  async podSandboxStatus(sandboxId: string): Promise<PodSandboxStatus> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) throw new NotFoundError('sandbox', sandboxId);
    return this.sandboxView(s);
  }

  async listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()]
      .filter((s) => (!filter?.id || s.id === filter.id) && (!filter?.state || s.state === filter.state))
      .filter((s) => Object.entries(filter?.labelSelector ?? {}).every(([k, v]) => s.labels[k] === v))
      .map((s) => this.sandboxView(s));
  }

  private sandboxView(s: PodSandboxStatus & { config: PodSandboxConfig }): PodSandboxStatus {
    const { config: _config, ...rest } = s;
    return structuredClone(rest);
  }

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const s = this.sandboxes.get(sandboxId);
    if (!s) throw new NotFoundError('sandbox', sandboxId);
    if (s.state !== 'ready') throw new FailedPreconditionError(`sandbox ${sandboxId} is not ready`);
    const id = this.id('c');
    this.containers.set(id, {
      config,
      status: {
        id,
        sandboxId,
        metadata: { name: config.name, attempt: config.attempt ?? 0 },
        state: 'created',
        createdAt: this.clock.now(),
        logPath: config.logPath,
        image: config.image,
        labels: { ...(config.labels ?? {}) },
        annotations: { ...(config.annotations ?? {}) },
      },
    });
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const c = this.must(containerId);
    if (c.status.state !== 'created') throw new FailedPreconditionError(`container ${containerId} is not in created state`);
    c.status.state = 'running';
    c.status.startedAt = this.clock.now();
    c.status.pid = 1000 + this.seq;
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    this.stopCalls.push({ containerId, timeoutSeconds });
    const c = this.containers.get(containerId);
    if (!c || c.status.state === 'exited') return;
    this.finish(c, { exitCode: 143, signal: 'SIGTERM' });
  }

  async removeContainer(containerId: string): Promise<void> {
    const c = this.containers.get(containerId);
    if (!c) return;
    if (c.status.state === 'running') this.finish(c, { exitCode: 137, signal: 'SIGKILL' });
    this.containers.delete(containerId);
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return structuredClone(this.must(containerId).status);
  }

  async listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]> {
    return [...this.containers.values()].map((c) => c.status).filter((s) => containerMatches(s, filter)).map((s) => structuredClone(s));
  }

  async execSync(containerId: string, cmd: string[], _timeoutMs: number): Promise<ExecResult> {
    const c = this.must(containerId);
    if (c.status.state !== 'running') throw new FailedPreconditionError(`container ${containerId} is not running`);
    this.execCalls.push({ containerId, cmd });
    return this.execHandler(containerId, cmd);
  }

  async exec(_containerId: string, _opts: ExecOptions): Promise<ExecSession> {
    throw new Error('FakeRuntime does not support interactive exec');
  }

  onContainerExit(cb: (ev: ContainerExitEvent) => void): () => void {
    this.listeners.add(cb);
    return () => this.listeners.delete(cb);
  }

  // ---- test helpers ----

  /** Makes a running container exit as if its process ended (fires the exit event). */
  exit(containerId: string, exitCode: number, reason?: 'Completed' | 'Error' | 'OOMKilled'): void {
    const c = this.must(containerId);
    if (c.status.state !== 'running') throw new FailedPreconditionError(`container ${containerId} is not running`);
    this.finish(c, { exitCode, reason });
  }

  /** The config a container was created with. */
  configOf(containerId: string): ContainerConfig {
    return this.must(containerId).config;
  }

  /** Containers (any state) whose label io.kubernetes.pod.name is `pod` and, optionally, named `name`. */
  containersOf(pod: string, name?: string): ContainerStatus[] {
    return [...this.containers.values()]
      .map((c) => c.status)
      .filter((s) => s.labels['io.kubernetes.pod.name'] === pod && (!name || s.metadata.name === name))
      .sort((a, b) => (a.metadata.attempt ?? 0) - (b.metadata.attempt ?? 0));
  }

  sandboxCount(): number {
    return this.sandboxes.size;
  }

  private must(id: string): FakeContainer {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container', id);
    return c;
  }

  private finish(c: FakeContainer, how: { exitCode: number; signal?: string; reason?: 'Completed' | 'Error' | 'OOMKilled' }): void {
    if (c.status.state === 'exited') return;
    const wasRunning = c.status.state === 'running';
    c.status.state = 'exited';
    c.status.finishedAt = this.clock.now();
    c.status.exitCode = how.exitCode;
    if (how.signal) c.status.signal = how.signal;
    c.status.reason = how.reason ?? (how.exitCode === 0 ? 'Completed' : 'Error');
    if (!wasRunning) return;
    const ev: ContainerExitEvent = { containerId: c.status.id, sandboxId: c.status.sandboxId, status: structuredClone(c.status) };
    for (const l of this.listeners) l(ev);
  }
}

/** A pod network handing out 10.88.0.x per uid, recording set-ups and tear-downs. */
export class FakePodNetwork implements PodNetwork {
  private next = 2;
  readonly ips = new Map<string, string>();
  readonly tornDown: string[] = [];

  async setUp(pod: { uid: string; namespace: string; name: string }): Promise<{ ip: string; netnsPath?: string }> {
    let ip = this.ips.get(pod.uid);
    if (!ip) {
      ip = `10.88.${(this.next >> 8) & 255}.${this.next & 255}`;
      this.next++;
      this.ips.set(pod.uid, ip);
    }
    return { ip, netnsPath: `/run/netns/fake-${pod.uid}` };
  }

  async tearDown(uid: string): Promise<void> {
    if (this.ips.delete(uid)) this.tornDown.push(uid);
  }

  async list(): Promise<string[]> {
    return [...this.ips.keys()];
  }
}
