/**
 * A container runtime interface shaped like the CRI RuntimeService (k8s.io/cri-api).
 *
 * Why: the node agent must talk to "a runtime" without knowing whether containers are plain
 * processes (runtime/process.ts), processes in namespaces, or a containerd/crun shim added later.
 * Keeping the shape close to the CRI (sandbox = pod, container = one entrypoint inside it, ids are
 * opaque strings, status is polled plus an exit event) lets the agent's logic mirror the kubelet's.
 *
 * Contracts common to all methods:
 * - Ids are opaque, unique per runtime instance, never reused.
 * - Methods on an unknown id reject with {@link NotFoundError}, except the stop/remove methods,
 *   which are idempotent (CRI requires stop/remove of a missing object to succeed).
 * - Times are milliseconds since the epoch from the runtime's injected clock.
 */

/** Pod-level metadata, as in the CRI PodSandboxMetadata. */
export interface PodSandboxMetadata {
  name: string;
  namespace: string;
  uid: string;
  attempt?: number;
}

/** What the agent asks for when it creates a pod sandbox. */
export interface PodSandboxConfig {
  metadata: PodSandboxMetadata;
  hostname?: string;
  /** Directory where this sandbox's container logs live (kubelet: /var/log/pods/<ns>_<name>_<uid>). */
  logDirectory?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Network namespace to join (filled in by the network part later; ignored by the plain process runtime). */
  netnsPath?: string;
  /** Extra namespace options for later runtimes (pid/ipc sharing, etc.). */
  namespaceOptions?: { network?: 'pod' | 'node'; pid?: 'pod' | 'container' | 'node'; ipc?: 'pod' | 'node' };
}

export type PodSandboxState = 'ready' | 'notready';

export interface PodSandboxStatus {
  id: string;
  metadata: PodSandboxMetadata;
  state: PodSandboxState;
  createdAt: number;
  /** Pod IP once networking exists; undefined for the plain process runtime. */
  ip?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

/** Container-level metadata, as in the CRI ContainerMetadata. */
export interface ContainerMetadata {
  name: string;
  attempt?: number;
}

export interface ContainerConfig {
  /** Container name within the pod (spec.containers[].name). */
  name: string;
  /** Restart attempt number; the kubelet bumps it on each restart of the same container. */
  attempt?: number;
  /** Full argv (entrypoint + args, already resolved from the image catalog). Must be non-empty. */
  command: string[];
  /** Complete environment of the process; nothing is inherited from the agent. */
  env: Record<string, string>;
  /** Working directory; defaults to the sandbox directory. */
  workingDir?: string;
  /** Absolute path of the CRI-format log file; created/appended by the runtime. */
  logPath: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  /** Image reference, kept for status/reporting only. */
  image?: string;
  /**
   * Bind mounts shown inside the container's mount namespace (volumes at their mountPaths, the
   * pod's /etc/hosts and /etc/resolv.conf). `hostPath` may be a file or a directory (a subPath is
   * resolved by the agent into hostPath). Ignored when the runtime runs without isolation.
   */
  mounts?: Mount[];
  /** Resource limits enforced with cgroups when the runtime has isolation; ignored otherwise. */
  resources?: ContainerResources;
}

export interface Mount {
  containerPath: string;
  hostPath: string;
  readonly?: boolean;
}

export interface ContainerResources {
  /** memory limit in bytes (cgroup memory.max / memory.limit_in_bytes); exceeding it OOM-kills → reason OOMKilled. */
  memoryLimitBytes?: number;
  /** CPU limit in millicores (CFS quota over a 100 ms period). */
  cpuLimitMillis?: number;
  /** CPU request in millicores (cpu.shares / cpu.weight). */
  cpuRequestMillis?: number;
}

/** Options of an interactive exec (kubectl exec / attach). */
export interface ExecOptions {
  cmd: string[];
  /** Allocate a terminal (stdout and stderr are then one stream). */
  tty?: boolean;
  /** Whether the caller sends stdin. */
  stdin?: boolean;
}

/** A running interactive exec: streams plus a promise of its exit code. */
export interface ExecSession {
  /** Present when ExecOptions.stdin was set. End it to close the process's stdin. */
  stdin?: NodeJS.WritableStream;
  stdout: NodeJS.ReadableStream;
  /** Absent with a tty (merged into stdout). */
  stderr?: NodeJS.ReadableStream;
  /** Terminal size change (tty only; no-op otherwise). */
  resize(size: { width: number; height: number }): void;
  /** Resolves with the exit code once the process has exited and its output has been read. */
  exited: Promise<number>;
  /** Kill the exec'd process (client went away). */
  kill(): void;
}

export type ContainerState = 'created' | 'running' | 'exited';

/** CRI reasons used by the kubelet in ContainerStateTerminated.reason ('StartError': the process never ran). */
export type ExitReason = 'Completed' | 'Error' | 'OOMKilled' | 'StartError';

export interface ContainerStatus {
  id: string;
  sandboxId: string;
  metadata: ContainerMetadata;
  state: ContainerState;
  createdAt: number;
  /** Pid of the container's main process (also its process-group id) while running / after start. */
  pid?: number;
  startedAt?: number;
  finishedAt?: number;
  /** Exit code; for a signal death it is 128 + signal number, as a shell/container runtime reports. */
  exitCode?: number;
  /** Signal name when the process died from a signal (e.g. 'SIGTERM'). */
  signal?: string;
  reason?: ExitReason;
  message?: string;
  logPath: string;
  image?: string;
  labels: Record<string, string>;
  annotations: Record<string, string>;
}

export interface ContainerFilter {
  id?: string;
  sandboxId?: string;
  state?: ContainerState;
  /** Every key/value here must be present in the container's labels. */
  labelSelector?: Record<string, string>;
}

export interface PodSandboxFilter {
  id?: string;
  state?: PodSandboxState;
  labelSelector?: Record<string, string>;
}

export interface ExecResult {
  stdout: Buffer;
  stderr: Buffer;
  exitCode: number;
  /** True when the command was killed because it exceeded its timeout. */
  timedOut: boolean;
}

export interface ContainerExitEvent {
  containerId: string;
  sandboxId: string;
  status: ContainerStatus;
}

/** The runtime service the agent drives. */
export interface RuntimeService {
  /** Create and start a pod sandbox (directory, later namespaces). Returns its id. */
  runPodSandbox(config: PodSandboxConfig): Promise<string>;
  /** Stop every container in the sandbox (with the given grace, default 0s) and mark it notready. Idempotent. */
  stopPodSandbox(sandboxId: string, opts?: { timeoutSeconds?: number }): Promise<void>;
  /** Remove the sandbox and its containers; stops any still running first (force). Idempotent. */
  removePodSandbox(sandboxId: string): Promise<void>;
  podSandboxStatus(sandboxId: string): Promise<PodSandboxStatus>;
  listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]>;

  /** Record a container in a ready sandbox without starting it (state 'created'). Returns its id. */
  createContainer(sandboxId: string, config: ContainerConfig): Promise<string>;
  /** Start a created container. Rejects if it is not in state 'created' or the process cannot be spawned. */
  startContainer(containerId: string): Promise<void>;
  /**
   * Stop a container: SIGTERM to its whole process group, then SIGKILL after `timeoutSeconds`
   * (0 = SIGKILL at once). Resolves once the process has exited. Idempotent for exited containers.
   */
  stopContainer(containerId: string, timeoutSeconds: number): Promise<void>;
  /** Forget a container (killing it first if still running). Its log file is left in place. Idempotent. */
  removeContainer(containerId: string): Promise<void>;
  containerStatus(containerId: string): Promise<ContainerStatus>;
  listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]>;
  /**
   * Run a one-off command "inside" a running container (same env and working dir; later: same namespaces),
   * collect its output, kill it after `timeoutMs`. Used by exec probes and non-interactive exec.
   */
  execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult>;
  /** Start an interactive command inside a running container (its namespaces, env, working dir, cgroup). */
  exec(containerId: string, opts: ExecOptions): Promise<ExecSession>;
  /** Subscribe to container exits (fired once per exit, after status is updated). Returns an unsubscribe function. */
  onContainerExit(cb: (ev: ContainerExitEvent) => void): () => void;
}

/** Thrown for an unknown sandbox/container id (CRI NotFound). */
export class NotFoundError extends Error {
  constructor(kind: 'sandbox' | 'container', id: string) {
    super(`${kind} "${id}" not found`);
    this.name = 'NotFoundError';
  }
}

/** Thrown when an operation is invalid for the object's current state (CRI FailedPrecondition). */
export class FailedPreconditionError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'FailedPreconditionError';
  }
}
