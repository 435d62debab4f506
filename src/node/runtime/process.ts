/**
 * The process runtime: every container is a plain child process (no namespaces yet).
 *
 * - Each container runs in its own process group (spawn `detached`), so stopping it signals the
 *   whole group, like a pid namespace going away; when the main process exits, any leftover group
 *   members are SIGKILLed for the same reason.
 * - stdout/stderr are appended to the container's log file in the CRI log format the kubelet
 *   reads (`<RFC3339Nano> <stream> <P|F> <content>`), so `kubectl logs` can parse them later.
 * - State lives in memory; a small `state.json` in each sandbox directory records ids and pids so
 *   a restarted agent can find its processes (recovery is not implemented yet).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, mkdirSync, renameSync, rmSync, writeFileSync, type WriteStream } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { dirname, join } from 'node:path';
import { realClock, type Clock } from '../../client/workqueue.js';
import {
  FailedPreconditionError,
  NotFoundError,
  type ContainerConfig,
  type ContainerExitEvent,
  type ContainerFilter,
  type ContainerStatus,
  type ExecResult,
  type PodSandboxConfig,
  type PodSandboxFilter,
  type PodSandboxStatus,
  type RuntimeService,
} from './cri.js';

// ---------------------------------------------------------------------------------------------
// CRI log format (pure helpers)

/** Longest content per log line before it is split into partial (`P`) records; containerd's default is 16KiB. */
export const DEFAULT_MAX_LOG_LINE = 16 * 1024;

/**
 * Formats ms-since-epoch like Go's time.RFC3339Nano in UTC: fractional seconds with trailing
 * zeros removed (and no dot at all for a whole second), e.g. `2026-11-26T15:40:00.12Z`.
 */
export function formatRfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-26T15:40:00.120Z
  const [base, fracZ] = iso.split('.') as [string, string];
  const frac = fracZ.slice(0, -1).replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** One CRI log record: `<ts> <stream> <tag> <content>\n`. */
export function formatCriLogLine(ms: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${formatRfc3339Nano(ms)} ${stream} ${tag} `), Buffer.from(content), Buffer.from('\n')]);
}

export interface LogRecord {
  tag: 'P' | 'F';
  content: Buffer;
}

/**
 * Splits a byte stream into CRI log records. A newline ends a full (`F`) record; content longer
 * than `maxLine` is emitted in `P` chunks (the last piece of that line is `F`). Content still
 * buffered when the stream ends is flushed by `end()` as a full record, as containerd does at EOF.
 */
export class CriLineSplitter {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLine: number = DEFAULT_MAX_LOG_LINE) {}

  push(chunk: Buffer): LogRecord[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: LogRecord[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0 && nl <= this.maxLine) {
        let line = this.buf.subarray(0, nl);
        if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
        out.push({ tag: 'F', content: Buffer.from(line) });
        this.buf = this.buf.subarray(nl + 1);
      } else if (this.buf.length > this.maxLine) {
        out.push({ tag: 'P', content: Buffer.from(this.buf.subarray(0, this.maxLine)) });
        this.buf = this.buf.subarray(this.maxLine);
      } else {
        return out;
      }
    }
  }

  end(): LogRecord[] {
    if (!this.buf.length) return [];
    const rec: LogRecord = { tag: 'F', content: Buffer.from(this.buf) };
    this.buf = Buffer.alloc(0);
    return [rec];
  }
}

/** Exit code as a container runtime reports it: the code, or 128 + signal number for a signal death. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}

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
}

interface SandboxRec {
  status: PodSandboxStatus;
  dir: string;
}

interface ContainerRec {
  status: ContainerStatus;
  config: ContainerConfig;
  child?: ChildProcess;
  /** Resolves when the container is exited and its log is flushed. */
  exited?: Promise<void>;
}

function newId(): string {
  return randomBytes(32).toString('hex');
}

function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: group already gone.
  }
}

export class ProcessRuntime implements RuntimeService {
  private readonly sandboxes = new Map<string, SandboxRec>();
  private readonly containers = new Map<string, ContainerRec>();
  private readonly exitListeners = new Set<(ev: ContainerExitEvent) => void>();
  private readonly clock: Clock;
  private readonly maxLogLine: number;
  private readonly defaultPath: string;

  constructor(private readonly opts: ProcessRuntimeOptions) {
    this.clock = opts.clock ?? realClock;
    this.maxLogLine = opts.maxLogLine ?? DEFAULT_MAX_LOG_LINE;
    this.defaultPath = opts.defaultPath ?? '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
    mkdirSync(opts.rootDir, { recursive: true });
  }

  // --- sandboxes ---

  async runPodSandbox(config: PodSandboxConfig): Promise<string> {
    const id = newId();
    const dir = join(this.opts.rootDir, id);
    mkdirSync(dir, { recursive: true });
    if (config.logDirectory) mkdirSync(config.logDirectory, { recursive: true });
    this.sandboxes.set(id, {
      dir,
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
      if (c.status.sandboxId === sandboxId) this.containers.delete(c.status.id);
    }
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
    const log = createWriteStream(config.logPath, { flags: 'a' });
    const child = spawn(config.command[0]!, config.command.slice(1), {
      cwd: config.workingDir ?? sb.dir,
      env: this.envOf(config),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    rec.child = child;
    const spawned = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (spawned) {
      const now = this.clock.now();
      Object.assign(rec.status, {
        state: 'exited',
        startedAt: now,
        finishedAt: now,
        exitCode: 128,
        reason: 'StartError',
        message: spawned.message,
      } satisfies Partial<ContainerStatus>);
      log.end();
      this.persist(rec.status.sandboxId);
      throw spawned;
    }
    const pid = child.pid!;
    rec.status.state = 'running';
    rec.status.pid = pid;
    rec.status.startedAt = this.clock.now();
    this.persist(rec.status.sandboxId);
    rec.exited = this.supervise(rec, child, log);
  }

  /** Pipes output to the log, records the exit, flushes, then notifies listeners. */
  private supervise(rec: ContainerRec, child: ChildProcess, log: WriteStream): Promise<void> {
    const pipe = (stream: 'stdout' | 'stderr'): Promise<void> => {
      const split = new CriLineSplitter(this.maxLogLine);
      const src = child[stream]!;
      const write = (records: LogRecord[]): void => {
        const now = this.clock.now();
        for (const r of records) log.write(formatCriLogLine(now, stream, r.tag, r.content));
      };
      src.on('data', (chunk: Buffer) => write(split.push(chunk)));
      return new Promise((resolve) => {
        src.once('close', () => {
          write(split.end());
          resolve();
        });
      });
    };
    const pipes = Promise.all([pipe('stdout'), pipe('stderr')]);
    const exit = new Promise<void>((resolve) => {
      child.once('exit', (code, signal) => {
        // The main process is the container: anything left in its group goes with it.
        killGroup(child.pid!, 'SIGKILL');
        const exitCode = exitCodeOf(code, signal);
        Object.assign(rec.status, {
          state: 'exited',
          finishedAt: this.clock.now(),
          exitCode,
          signal: signal ?? undefined,
          reason: exitCode === 0 ? 'Completed' : 'Error',
        } satisfies Partial<ContainerStatus>);
        resolve();
      });
    });
    return (async () => {
      await exit;
      await pipes;
      await new Promise<void>((resolve) => log.end(() => resolve()));
      rec.child = undefined;
      if (this.sandboxes.has(rec.status.sandboxId)) this.persist(rec.status.sandboxId);
      const ev: ContainerExitEvent = {
        containerId: rec.status.id,
        sandboxId: rec.status.sandboxId,
        status: structuredClone(rec.status),
      };
      for (const cb of this.exitListeners) {
        try {
          cb(ev);
        } catch {
          // A listener's failure must not break the runtime.
        }
      }
    })();
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
    try {
      await rec.exited;
    } finally {
      if (timer !== undefined) this.clock.clearTimeout(timer);
    }
  }

  async removeContainer(containerId: string): Promise<void> {
    const rec = this.containers.get(containerId);
    if (!rec) return;
    await this.stopContainer(containerId, 0);
    this.containers.delete(containerId);
    if (this.sandboxes.has(rec.status.sandboxId)) this.persist(rec.status.sandboxId);
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

  async execSync(containerId: string, cmd: string[], timeoutMs: number): Promise<ExecResult> {
    const rec = this.container(containerId);
    if (rec.status.state !== 'running') {
      throw new FailedPreconditionError(`container "${containerId}" is not running`);
    }
    if (!cmd.length) throw new FailedPreconditionError('exec command must not be empty');
    const sb = this.sandbox(rec.status.sandboxId);
    const child = spawn(cmd[0]!, cmd.slice(1), {
      cwd: rec.config.workingDir ?? sb.dir,
      env: this.envOf(rec.config),
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
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

  onContainerExit(cb: (ev: ContainerExitEvent) => void): () => void {
    this.exitListeners.add(cb);
    return () => this.exitListeners.delete(cb);
  }

  /** Kills every running container immediately (for agent shutdown and test cleanup). */
  async shutdown(): Promise<void> {
    await Promise.all([...this.containers.keys()].map((id) => this.stopContainer(id, 0)));
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
    if (!sb) return;
    const state = {
      version: 1,
      sandbox: sb.status,
      containers: [...this.containers.values()]
        .filter((c) => c.status.sandboxId === sandboxId)
        .map((c) => ({ status: c.status, config: c.config })),
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

/** The path of a sandbox's state file (for the future recovery code and tests). */
export function sandboxStatePath(rootDir: string, sandboxId: string): string {
  return join(rootDir, sandboxId, 'state.json');
}
