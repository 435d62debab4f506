/**
 * The process runtime: every container is a child process, optionally isolated.
 *
 * - Each container runs in its own process group (spawn `detached`, which also makes it a session
 *   leader), so stopping it signals the whole group, like a pid namespace going away; when the main
 *   process exits, any leftover group members are SIGKILLed for the same reason.
 * - stdout/stderr go straight into append-only raw files in the sandbox dir (never pipes: a container
 *   must not get EPIPE because the agent died); a {@link LogTailer} converts them into the CRI log
 *   file (`<RFC3339Nano> <stream> <P|F> <content>`) that `kubectl logs` reads.
 * - With `isolation` (root on Linux), the process starts through the wrapper from launch.ts: the
 *   sandbox's network namespace, its own mount namespace with the container's bind mounts, its own
 *   UTS namespace with the pod's hostname, and a cgroup per container with its limits (cgroups.ts).
 *   An exit while the memory cgroup's OOM-kill counter is non-zero is reported as OOMKilled.
 * - State is persisted in `<rootDir>/<sandboxId>/state.json`. A new runtime on the same rootDir
 *   recovers it: processes still alive (same pid AND same /proc start time) are adopted, their
 *   exit detected by polling and their logs tailed on from the persisted offsets. The exit code of
 *   an adopted process is unknowable (it is not our child): it is reported as 137/OOMKilled when the
 *   cgroup saw an OOM kill, else as 255 with reason Error and a message saying the code is unknown.
 */
import { spawnDetached, type Spawned } from './spawner.js';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { closeSync, existsSync, mkdirSync, openSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { realClock, type Clock } from '../../client/workqueue.js';
import { cgroupDirs, createContainerCgroup, detectSystemCgroups, killCgroupProcs, readOomKills, removeCgroupDirs, type CgroupBase } from './cgroups.js';
import {
  FailedPreconditionError,
  NotFoundError,
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
} from './cri.js';
import { DEFAULT_TOOLS, buildExecArgv, buildLaunchArgv, rootSubmountsOf, ttyWrap, type LaunchTools, type PathKind } from './launch.js';
import { DEFAULT_MAX_LOG_LINE, LogTailer } from './logtail.js';
import { exitCodeOf, isAlive, killGroup, procStat, sessionFromChild } from './proc.js';

export { exitCodeOf, parseProcStat } from './proc.js';
export { CriLineSplitter, DEFAULT_MAX_LOG_LINE, formatCriLogLine, formatRfc3339Nano, type LogRecord } from './logtail.js';

function matchesLabels(labels: Record<string, string>, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  return Object.entries(selector).every(([k, v]) => labels[k] === v);
}

/** Pure filter for listContainers (exported for table tests). */
export function containerMatches(s: ContainerStatus, f: ContainerFilter | undefined): boolean {
  if (!f) return true;
  if (f.id !== undefined && s.id !== f.id) return false;
  if (f.sandboxId !== undefined && s.sandboxId !== f.sandboxId) return false;
  if (f.state !== undefined && s.state !== f.state) return false;
  return matchesLabels(s.labels, f.labelSelector);
}


// ---------------------------------------------------------------------------------------------
// The runtime

export interface ProcessRuntimeOptions {
  /** Directory under which each sandbox gets `<rootDir>/<sandboxId>/` (working dir default + state.json). */
  rootDir: string;
  clock?: Clock;
  maxLogLine?: number;
  /** Base environment for processes is NOT inherited; PATH is added from this when the container env lacks one. */
  defaultPath?: string;
  /**
   * Run containers in namespaces and cgroups (root on Linux; see launch.ts). Default false: plain
   * processes, mounts/resources/netns/hostname ignored.
   */
  isolation?: boolean;
  /** Cgroup base override (tests); `null` disables cgroups; default: detected from /proc/self. */
  cgroups?: CgroupBase | null;
  tools?: LaunchTools;
  /** How often adopted (not our child) processes are checked for exit, ms. Default 250. */
  adoptPollMs?: number;
  /** Fallback poll of the raw output files, ms (fs.watch does the prompt part). Default 500. */
  logPollMs?: number;
}

interface SandboxRec {
  status: PodSandboxStatus;
  dir: string;
  hostname?: string;
  netnsPath?: string;
}

interface ContainerRec {
  status: ContainerStatus;
  config: ContainerConfig;
  /** Resolves when the container is exited and its log is flushed. */
  exited?: Promise<void>;
  resolveExited?: () => void;
  /** /proc start time of the main process, to tell it from a later process with the same pid. */
  pidStart?: string;
  cgroupDirs?: string[];
  tailer?: LogTailer;
  adopted?: boolean;
}

interface PersistedContainer {
  status: ContainerStatus;
  config: ContainerConfig;
  pidStart?: string;
  cgroupDirs?: string[];
}

interface PersistedState {
  version: number;
  sandbox: PodSandboxStatus;
  hostname?: string;
  netnsPath?: string;
  containers: PersistedContainer[];
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

function pathKind(p: string): PathKind {
  try {
    return statSync(p).isDirectory() ? 'dir' : 'file';
  } catch {
    return 'none';
  }
}

export class ProcessRuntime implements RuntimeService {
  private readonly sandboxes = new Map<string, SandboxRec>();
  private readonly containers = new Map<string, ContainerRec>();
  private readonly exitListeners = new Set<(ev: ContainerExitEvent) => void>();
  private readonly clock: Clock;
  private readonly maxLogLine: number;
  private readonly defaultPath: string;
  private readonly cgroupBase: CgroupBase | undefined;
  private readonly tools: LaunchTools;
  private adoptTimer: NodeJS.Timeout | undefined;
  private adoptWaiters = 0;
  private closed = false;

  constructor(private readonly opts: ProcessRuntimeOptions) {
    this.clock = opts.clock ?? realClock;
    this.maxLogLine = opts.maxLogLine ?? DEFAULT_MAX_LOG_LINE;
    this.defaultPath = opts.defaultPath ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    this.tools = opts.tools ?? DEFAULT_TOOLS;
    this.cgroupBase = opts.isolation ? (opts.cgroups === null ? undefined : (opts.cgroups ?? detectSystemCgroups())) : undefined;
    mkdirSync(opts.rootDir, { recursive: true });
    this.recover();
  }

  // --- sandboxes ---

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = newId();
    const dir = join(this.opts.rootDir, id);
    mkdirSync(dir, { recursive: true });
    if (config.logDirectory) mkdirSync(config.logDirectory, { recursive: true });
    this.sandboxes.set(id, {
      dir,
      hostname: config.hostname,
      netnsPath: config.netnsPath,
      status: {
        id,
        metadata: { ...config.metadata },
        state: 'ready',
        createdAt: this.clock.now(),
        labels: { ...(config.labels ?? {}) },
        annotations: { ...(config.annotations ?? {}) },
      },
    });
    this.persist(id);
    return id;
  }

  async stopPodSandbox(sandboxId: string, opts: { timeoutSeconds?: number } = {}): Promise<void> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) return;
    const ids = [...this.containers.values()].filter((c) => c.status.sandboxId === sandboxId).map((c) => c.status.id);
    await Promise.all(ids.map((id) => this.stopContainer(id, opts.timeoutSeconds ?? 0)));
    sb.status.state = 'notready';
    this.persist(sandboxId);
  }

  async removePodSandbox(sandboxId: string): Promise<void> {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb) return;
    await this.stopPodSandbox(sandboxId);
    for (const c of [...this.containers.values()]) {
      if (c.status.sandboxId === sandboxId) await this.removeContainer(c.status.id);
    }
    if (this.cgroupBase) await removeCgroupDirs(cgroupDirs(this.cgroupBase, sandboxId));
    this.sandboxes.delete(sandboxId);
    rmSync(sb.dir, { recursive: true, force: true });
  }

  async podSandboxStatus(sandboxId: string): Promise<PodSandboxStatus> {
    return structuredClone(this.sandbox(sandboxId).status);
  }

  async listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandboxStatus[]> {
    return [...this.sandboxes.values()]
      .map((s) => s.status)
      .filter((s) => (filter?.id === undefined || s.id === filter.id) && (filter?.state === undefined || s.state === filter.state))
      .filter((s) => matchesLabels(s.labels, filter?.labelSelector))
      .map((s) => structuredClone(s));
  }

  // --- containers ---

  async createContainer(sandboxId: string, config: ContainerConfig): Promise<string> {
    const sb = this.sandbox(sandboxId);
    if (sb.status.state !== 'ready') throw new FailedPreconditionError(`sandbox "${sandboxId}" is not ready`);
    if (!config.command.length) throw new FailedPreconditionError('container command must not be empty');
    const id = newId();
    mkdirSync(dirname(config.logPath), { recursive: true });
    this.containers.set(id, {
      config: structuredClone(config),
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
    this.persist(sandboxId);
    return id;
  }

  async startContainer(containerId: string): Promise<void> {
    const rec = this.container(containerId);
    if (rec.status.state !== 'created') {
      throw new FailedPreconditionError(`container "${containerId}" is in state ${rec.status.state}, not created`);
    }
    const sb = this.sandbox(rec.status.sandboxId);
    const { config } = rec;
    const raw = this.rawPaths(sb, containerId);
    let argv = config.command;
    let spawned: Spawned | undefined;
    let err: Error | undefined;
    const outFd = openSync(raw.stdout, 'a');
    const errFd = openSync(raw.stderr, 'a');
    try {
      if (this.opts.isolation) argv = this.isolatedArgv(sb, rec);
      // From the spawner thread (see spawner.ts): forking here would stall the API server that
      // shares this event loop. With isolation it also waits for the launcher's readiness report
      // on fd 3, so the mount namespace is complete before anyone can exec into it.
      spawned = await spawnDetached({
        argv,
        cwd: this.opts.isolation ? sb.dir : (config.workingDir ?? sb.dir),
        env: this.envOf(config),
        stdout: outFd,
        stderr: errFd,
        waitReady: !!this.opts.isolation,
      });
    } catch (e) {
      err = e as Error;
    } finally {
      // The child has its own copies of the descriptors now.
      closeSync(outFd);
      closeSync(errFd);
    }
    if (err || !spawned?.pid) {
      const now = this.clock.now();
      Object.assign(rec.status, {
        state: 'exited',
        startedAt: now,
        finishedAt: now,
        exitCode: 128,
        reason: 'StartError',
        message: err?.message ?? 'no pid',
      } satisfies Partial<ContainerStatus>);
      this.persist(rec.status.sandboxId);
      throw err ?? new Error('spawn failed');
    }
    const pid = spawned.pid;
    rec.pidStart = procStat(pid)?.startTime;
    rec.status.state = 'running';
    rec.status.pid = pid;
    rec.status.startedAt = this.clock.now();
    this.persist(rec.status.sandboxId);
    this.follow(rec, sb);
    void spawned.exited.then(({ code, signal }) => this.handleExit(rec, exitCodeOf(code, signal), signal ?? undefined));
  }

  /** Creates the cgroup and scratch dir, and computes the wrapper argv (see launch.ts). */
  private isolatedArgv(sb: SandboxRec, rec: ContainerRec): string[] {
    const { config } = rec;
    if (this.cgroupBase) {
      rec.cgroupDirs = cgroupDirs(this.cgroupBase, sb.status.id, rec.status.id);
      createContainerCgroup(this.cgroupBase, rec.cgroupDirs, config.resources);
    }
    const scratchDir = join(sb.dir, `${rec.status.id}.scratch`);
    mkdirSync(scratchDir, { recursive: true });
    const mounts = (config.mounts ?? []).map((m) => {
      const kind = pathKind(m.hostPath);
      if (kind === 'none') throw new Error(`mount source "${m.hostPath}" does not exist`);
      return { containerPath: m.containerPath, hostPath: m.hostPath, readonly: m.readonly, isDir: kind === 'dir' };
    });
    let mountinfo = '';
    try {
      mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
    } catch {
      // not Linux: rootSubmounts stays empty
    }
    return buildLaunchArgv({
      netnsPath: sb.netnsPath,
      hostname: sb.hostname,
      mounts,
      cgroupDirs: rec.cgroupDirs ?? [],
      workingDir: config.workingDir ?? sb.dir,
      argv: config.command,
      scratchDir,
      lookup: pathKind,
      rootSubmounts: rootSubmountsOf(mountinfo),
      tools: this.tools,
      readyFd: 3,
    });
  }

  private rawPaths(sb: SandboxRec, containerId: string): { stdout: string; stderr: string; pos: string } {
    return {
      stdout: join(sb.dir, `${containerId}.stdout`),
      stderr: join(sb.dir, `${containerId}.stderr`),
      pos: join(sb.dir, `${containerId}.logpos`),
    };
  }

  /** Starts tailing the container's output and creates its `exited` promise. */
  private follow(rec: ContainerRec, sb: SandboxRec): void {
    const raw = this.rawPaths(sb, rec.status.id);
    rec.tailer = new LogTailer({
      raw: { stdout: raw.stdout, stderr: raw.stderr },
      logPath: rec.config.logPath,
      posPath: raw.pos,
      clock: this.clock,
      maxLine: this.maxLogLine,
      pollMs: this.opts.logPollMs,
    });
    rec.tailer.start();
    rec.exited = new Promise<void>((resolve) => (rec.resolveExited = resolve));
  }

  /**
   * Records an exit (code undefined: unknown, the process was adopted), flushes the log, then
   * notifies listeners. Runs once per start; ignored after close() (a later runtime takes over).
   */
  private handleExit(rec: ContainerRec, code: number | undefined, signal?: string): void {
    if (this.closed || rec.status.state !== 'running') return;
    // The main process is the container: anything left in its group goes with it.
    if (rec.status.pid) killGroup(rec.status.pid, 'SIGKILL');
    if (rec.cgroupDirs) killCgroupProcs(rec.cgroupDirs);
    rec.tailer?.finish();
    const oom = !!(this.cgroupBase && rec.cgroupDirs && readOomKills(this.cgroupBase, rec.cgroupDirs) > 0);
    const exitCode = code ?? (oom ? 137 : 255);
    Object.assign(rec.status, {
      state: 'exited',
      finishedAt: this.clock.now(),
      exitCode,
      signal,
      reason: oom ? 'OOMKilled' : exitCode === 0 ? 'Completed' : 'Error',
      message: code === undefined && !oom ? 'exit code unknown: the process exited while adopted by a restarted runtime' : undefined,
    } satisfies Partial<ContainerStatus>);
    rec.adopted = false;
    if (this.sandboxes.has(rec.status.sandboxId)) this.persist(rec.status.sandboxId);
    const ev: ContainerExitEvent = { containerId: rec.status.id, sandboxId: rec.status.sandboxId, status: structuredClone(rec.status) };
    for (const cb of this.exitListeners) {
      try {
        cb(ev);
      } catch {
        // A listener's failure must not break the runtime.
      }
    }
    rec.resolveExited?.();
  }

  async stopContainer(containerId: string, timeoutSeconds: number): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec || rec.status.state !== 'running' || !rec.status.pid) {
      await rec?.exited;
      return;
    }
    const pid = rec.status.pid;
    let timer: unknown;
    if (timeoutSeconds <= 0) {
      killGroup(pid, 'SIGKILL');
    } else {
      killGroup(pid, 'SIGTERM');
      timer = this.clock.setTimeout(() => killGroup(pid, 'SIGKILL'), timeoutSeconds * 1000);
    }
    // An adopted process's exit is only seen by the (unref'd) poll: keep it alive while we wait.
    const adopted = !!rec.adopted;
    if (adopted && this.adoptWaiters++ === 0) this.adoptTimer?.ref();
    try {
      await rec.exited;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
      if (adopted && --this.adoptWaiters === 0) this.adoptTimer?.unref();
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec) return;
    await this.stopContainer(containerId, 0);
    this.containers.delete(containerId);
    if (rec.cgroupDirs) await removeCgroupDirs(rec.cgroupDirs);
    const sb = this.sandboxes.get(rec.status.sandboxId);
    if (sb) {
      const raw = this.rawPaths(sb, containerId);
      for (const f of [raw.stdout, raw.stderr, raw.pos, join(sb.dir, `${containerId}.scratch`)]) rmSync(f, { recursive: true, force: true });
      this.persist(rec.status.sandboxId);
    }
  }

  async containerStatus(containerId: string): Promise<ContainerStatus> {
    return structuredClone(this.container(containerId).status);
  }

  async listContainers(filter?: ContainerFilter): Promise<ContainerStatus[]> {
    return [...this.containers.values()]
      .map((c) => c.status)
      .filter((s) => containerMatches(s, filter))
      .map((s) => structuredClone(s));
  }

  /** Spawns a command "inside" a running container (its namespaces + cgroup with isolation). */
  private async spawnInContainer(containerId: string, cmd: string[], io: { tty: boolean; stdin: boolean }): Promise<ChildProcess> {
    const rec = this.container(containerId);
    if (rec.status.state !== 'running' || !rec.status.pid) {
      throw new FailedPreconditionError(`container "${containerId}" is not running`);
    }
    if (!cmd.length) throw new FailedPreconditionError('exec command must not be empty');
    const sb = this.sandbox(rec.status.sandboxId);
    const workingDir = rec.config.workingDir ?? sb.dir;
    const argv = this.opts.isolation
      ? buildExecArgv({ pid: rec.status.pid, cgroupDirs: rec.cgroupDirs ?? [], workingDir, cmd, tty: io.tty, tools: this.tools })
      : ttyWrap(cmd, io.tty);
    const child = spawn(argv[0]!, argv.slice(1), {
      cwd: this.opts.isolation ? sb.dir : workingDir,
      env: this.envOf(rec.config),
      detached: true,
      stdio: [io.stdin ? 'pipe' : 'ignore', 'pipe', 'pipe'],
    });
    await new Promise<void>((resolve, reject) => {
      child.once('spawn', () => resolve());
      child.once('error', reject);
    });
    return child;
  }

  async execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const child = await this.spawnInContainer(containerId, cmd, { tty: false, stdin: false });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout!.on('data', (b: Buffer) => out.push(b));
    child.stderr!.on('data', (b: Buffer) => err.push(b));
    let timedOut = false;
    const timer = this.clock.setTimeout(() => {
      timedOut = true;
      if (child.pid) killGroup(child.pid, 'SIGKILL');
    }, timeoutMs);
    try {
      const exitCode = await new Promise<number>((resolve, reject) => {
        child.once('error', reject);
        child.once('close', (code, signal) => resolve(exitCodeOf(code, signal)));
        // Kill any background leftovers once the command itself is done, so 'close' is not held open.
        child.once('exit', () => child.pid && killGroup(child.pid, 'SIGKILL'));
      });
      return { stdout: Buffer.concat(out), stderr: Buffer.concat(err), exitCode, timedOut };
    } finally {
      this.clock.clearTimeout(timer);
    }
  }

  /**
   * Interactive exec. With a tty the command runs under util-linux `script` (node has no pty API);
   * resize is best-effort: `stty -F /proc/<child>/fd/0 rows H cols W` on the pty's first process.
   */
  async exec(containerId: string, opts: ExecOptions): Promise<ExecSession> {
    const tty = !!opts.tty;
    const child = await this.spawnInContainer(containerId, opts.cmd, { tty, stdin: !!opts.stdin });
    return sessionFromChild(child, { tty, stdin: !!opts.stdin });
  }

  onContainerExit(cb: (ev: ContainerExitEvent) => void): () => void {
    this.exitListeners.add(cb);
    return () => this.exitListeners.delete(cb);
  }

  /** Kills every running container immediately (for agent shutdown and test cleanup), then closes. */
  async shutdown(): Promise<void> {
    await Promise.all([...this.containers.keys()].map((id) => this.stopContainer(id, 0)));
    this.close();
  }

  /**
   * Lets go of everything WITHOUT stopping containers (the agent exits or restarts): stops log
   * tailing and exit polling; a new runtime on the same rootDir adopts the containers.
   */
  close(): void {
    this.closed = true;
    if (this.adoptTimer) clearInterval(this.adoptTimer);
    for (const c of this.containers.values()) c.tailer?.stop();
  }

  // --- recovery ---

  /** Loads every `<rootDir>/<id>/state.json`; adopts live processes, settles dead ones. */
  private recover(): void {
    let names: string[] = [];
    try {
      names = readdirSync(this.opts.rootDir);
    } catch {
      return;
    }
    for (const name of names) {
      let state: PersistedState;
      try {
        state = JSON.parse(readFileSync(join(this.opts.rootDir, name, 'state.json'), 'utf8')) as PersistedState;
      } catch {
        continue;
      }
      const sb: SandboxRec = { status: state.sandbox, dir: join(this.opts.rootDir, name), hostname: state.hostname, netnsPath: state.netnsPath };
      this.sandboxes.set(sb.status.id, sb);
      for (const c of state.containers) {
        const rec: ContainerRec = { status: c.status, config: c.config, pidStart: c.pidStart, cgroupDirs: c.cgroupDirs };
        this.containers.set(rec.status.id, rec);
        if (rec.status.state !== 'running') continue;
        this.follow(rec, sb);
        if (rec.status.pid && isAlive(rec.status.pid, rec.pidStart)) {
          rec.adopted = true;
        } else {
          this.handleExit(rec, undefined);
        }
      }
    }
    if ([...this.containers.values()].some((c) => c.adopted)) {
      this.adoptTimer = setInterval(() => this.pollAdopted(), this.opts.adoptPollMs ?? 250);
      this.adoptTimer.unref();
    }
  }

  private pollAdopted(): void {
    for (const rec of this.containers.values()) {
      if (rec.adopted && rec.status.pid && !isAlive(rec.status.pid, rec.pidStart)) this.handleExit(rec, undefined);
    }
  }

  // --- helpers ---

  private sandbox(id: string): SandboxRec {
    const sb = this.sandboxes.get(id);
    if (!sb) throw new NotFoundError('sandbox', id);
    return sb;
  }

  private container(id: string): ContainerRec {
    const c = this.containers.get(id);
    if (!c) throw new NotFoundError('container', id);
    return c;
  }

  private envOf(config: ContainerConfig): Record<string, string> {
    return config.env.PATH === undefined ? { PATH: this.defaultPath, ...config.env } : { ...config.env };
  }

  /** Writes `<sandboxDir>/state.json` atomically (tmp + rename) so a crash never leaves half a file. */
  private persist(sandboxId: string): void {
    const sb = this.sandboxes.get(sandboxId);
    if (!sb || this.closed) return;
    const state: PersistedState = {
      version: 2,
      sandbox: sb.status,
      hostname: sb.hostname,
      netnsPath: sb.netnsPath,
      containers: [...this.containers.values()]
        .filter((c) => c.status.sandboxId === sandboxId)
        .map((c) => ({ status: c.status, config: c.config, pidStart: c.pidStart, cgroupDirs: c.cgroupDirs })),
    };
    const file = join(sb.dir, 'state.json');
    try {
      writeFileSync(`${file}.tmp`, JSON.stringify(state, null, 2));
      renameSync(`${file}.tmp`, file);
    } catch {
      // Best effort: the sandbox dir may be gone during removal.
    }
  }
}

/**
 * Waits until the isolation wrapper reports `ready` on fd 3 or closes it (it failed and exits; the
 * exit is then handled as usual), bounded so a stuck mount cannot hang startContainer forever.
 */
/** The path of a sandbox's state file (for recovery and tests). */
export function sandboxStatePath(rootDir: string, sandboxId: string): string {
  return join(rootDir, sandboxId, 'state.json');
}
