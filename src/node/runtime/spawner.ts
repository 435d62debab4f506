/**
 * Starts container processes from a worker thread.
 *
 * Why: `child_process.spawn` blocks the calling thread until the child has been forked and has
 * exec'd — several milliseconds for a process the size of kubelite. The agent shares its event
 * loop with the API server, the scheduler and the controllers, so a burst of pod starts stalled
 * all of them (bench/pods.ts measured ~8 ms of blocked loop per spawn). A worker thread forks
 * instead; the main thread only exchanges messages.
 *
 * The worker is a child of this process like any other thread, so containers stay our children:
 * their exit codes and signals are reported exactly. Like ChildProcess handles, running children
 * keep the process alive.
 */
import { Worker } from 'node:worker_threads';

export interface SpawnRequest {
  argv: string[];
  cwd: string;
  env: Record<string, string>;
  /** Open file descriptors (process-wide, so valid in the worker) for the child's stdout/stderr. */
  stdout: number;
  stderr: number;
  /** Give the child a pipe on fd 3 and wait until it writes or closes it (the launcher's readiness report, 10 s at most). */
  waitReady?: boolean;
}

export interface Spawned {
  pid: number;
  /** Resolves once with the exit code (null after a signal) and the signal name. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

type Msg =
  | { id: number; type: 'started'; pid: number }
  | { id: number; type: 'error'; message: string; code?: string }
  | { id: number; type: 'exit'; code: number | null; signal: NodeJS.Signals | null };

// Plain CommonJS evaluated in the worker: no TypeScript loader is needed in either mode.
const SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', (m) => {
  let child;
  try {
    child = spawn(m.argv[0], m.argv.slice(1), {
      cwd: m.cwd, env: m.env, detached: true,
      stdio: m.waitReady ? ['ignore', m.stdout, m.stderr, 'pipe'] : ['ignore', m.stdout, m.stderr],
    });
  } catch (e) {
    parentPort.postMessage({ id: m.id, type: 'error', message: String(e && e.message), code: e && e.code });
    return;
  }
  let started = false;
  child.once('error', (e) => {
    if (!started) parentPort.postMessage({ id: m.id, type: 'error', message: String(e && e.message), code: e && e.code });
  });
  child.once('spawn', () => {
    started = true;
    const report = () => parentPort.postMessage({ id: m.id, type: 'started', pid: child.pid });
    const r = m.waitReady ? child.stdio[3] : null;
    if (!r) return report();
    let done = false;
    const finish = () => { if (done) return; done = true; clearTimeout(t); r.destroy(); report(); };
    const t = setTimeout(finish, 10000);
    r.once('data', finish); r.once('end', finish); r.once('error', finish); r.once('close', finish);
  });
  child.once('exit', (code, signal) => parentPort.postMessage({ id: m.id, type: 'exit', code, signal }));
});
`;

interface Pending {
  started: (pid: number) => void;
  failed: (err: Error) => void;
  exit: (r: { code: number | null; signal: NodeJS.Signals | null }) => void;
}

let shared: { worker: Worker; seq: number; pending: Map<number, Pending> } | undefined;

function spawnerWorker(): NonNullable<typeof shared> {
  if (shared) return shared;
  const worker = new Worker(SOURCE, { eval: true });
  const w = { worker, seq: 0, pending: new Map<number, Pending>() };
  // Referenced while any process it started runs, as a ChildProcess handle would be.
  // (Listeners re-reference a worker, so the first unref comes after them.)
  const settled = (): void => {
    if (w.pending.size === 0) worker.unref();
  };
  worker.on('message', (m: Msg) => {
    const p = w.pending.get(m.id);
    if (!p) return;
    if (m.type === 'started') {
      p.started(m.pid);
    } else if (m.type === 'error') {
      w.pending.delete(m.id);
      settled();
      p.failed(Object.assign(new Error(m.message), { code: m.code }));
    } else {
      w.pending.delete(m.id);
      settled();
      p.exit({ code: m.code, signal: m.signal });
    }
  });
  worker.on('error', (err) => {
    // Losing the worker loses exit notifications: fail starts in flight; running containers are
    // then found dead or alive by the runtime's /proc polling, as after an agent restart.
    for (const p of w.pending.values()) p.failed(new Error(`spawner thread failed: ${err.message}`));
    w.pending.clear();
    if (shared === w) shared = undefined;
  });
  worker.unref();
  shared = w;
  return w;
}

/** Starts a detached process (its own process group) from the spawner thread. */
export function spawnDetached(req: SpawnRequest): Promise<Spawned> {
  const w = spawnerWorker();
  const id = ++w.seq;
  return new Promise<Spawned>((resolve, reject) => {
    let exitResolve!: Pending['exit'];
    const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((r) => (exitResolve = r));
    w.pending.set(id, { started: (pid) => resolve({ pid, exited }), failed: reject, exit: (r) => exitResolve(r) });
    if (w.pending.size === 1) w.worker.ref();
    w.worker.postMessage({ id, ...req });
  });
}
