/**
 * Applies network plans from `plan.ts`. The runner and file writer are injected so tests can
 * record commands; the real ones use `execFile` and `fs.writeFile`. Setup stops at the first
 * failure (later steps depend on earlier ones); teardown runs every step and ignores "not found".
 */
import { execFile } from 'node:child_process';
import { Worker } from 'node:worker_threads';
import { writeFile } from 'node:fs/promises';
import type { NetCommand } from './plan.js';

export interface RunResult { code: number; stderr: string }
export type Runner = (argv: string[], opts?: { input?: string }) => Promise<RunResult>;
export type FileWriter = (path: string, content: string) => Promise<void>;

export interface ApplyOptions {
  runner?: Runner;
  writeFile?: FileWriter;
}

/** A failed plan step; `argv` is the command (or `['write', path]`), `stderr` its output. */
export class NetApplyError extends Error {
  constructor(readonly argv: string[], readonly code: number, readonly stderr: string) {
    super(`network command failed (exit ${code}): ${argv.join(' ')}: ${stderr.trim() || '(no output)'}`);
    this.name = 'NetApplyError';
  }
}

/** Runs argv without a shell, `input` on its stdin; a spawn failure (e.g. ENOENT) becomes code 127. */
export const execRunner: Runner = (argv, opts = {}) =>
  new Promise((resolve) => {
    const child = execFile(argv[0]!, argv.slice(1), { timeout: 30_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ code: 0, stderr: String(stderr) });
      const code = typeof err.code === 'number' ? err.code : 127;
      resolve({ code, stderr: String(stderr) || err.message });
    });
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(opts.input ?? '');
  });

/**
 * The same as {@link execRunner}, but the processes are started from a worker thread. Starting
 * a child process blocks the starting thread for several milliseconds (the fork of a large
 * process); on the agent's main thread that stalls the API server and the controllers that
 * share it, which is what limited pod start-up under bursts. One worker, started lazily and
 * not keeping the process alive.
 */
export const threadRunner: Runner = (argv, opts = {}) => {
  const w = (spawnWorker ??= startSpawnWorker());
  const id = ++w.seq;
  return new Promise((resolve) => {
    w.pending.set(id, resolve);
    w.worker.ref();
    w.worker.postMessage({ id, argv, input: opts.input ?? '' });
  });
};

interface SpawnWorker {
  worker: Worker;
  seq: number;
  pending: Map<number, (r: RunResult) => void>;
}

let spawnWorker: SpawnWorker | undefined;

// Plain CommonJS evaluated in the worker: no TypeScript loader needed, whether kubelite runs
// compiled or from sources.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { execFile } = require('node:child_process');
parentPort.on('message', ({ id, argv, input }) => {
  let child;
  try {
    child = execFile(argv[0], argv.slice(1), { timeout: 30000 }, (err, _out, stderr) => {
      const code = !err ? 0 : typeof err.code === 'number' ? err.code : 127;
      parentPort.postMessage({ id, code, stderr: String(stderr) || (err ? err.message : '') });
    });
  } catch (e) {
    parentPort.postMessage({ id, code: 127, stderr: String(e && e.message) });
    return;
  }
  child.stdin.on('error', () => {});
  child.stdin.end(input);
});
`;

function startSpawnWorker(): SpawnWorker {
  const worker = new Worker(WORKER_SOURCE, { eval: true });
  const w: SpawnWorker = { worker, seq: 0, pending: new Map() };
  worker.on('message', (m: { id: number; code: number; stderr: string }) => {
    const done = w.pending.get(m.id);
    w.pending.delete(m.id);
    if (w.pending.size === 0) worker.unref();
    done?.({ code: m.code, stderr: m.stderr });
  });
  worker.on('error', (err) => {
    // The worker died: fail what was waiting and start a new one next time.
    for (const done of w.pending.values()) done({ code: 127, stderr: `spawn worker failed: ${err.message}` });
    w.pending.clear();
    if (spawnWorker === w) spawnWorker = undefined;
  });
  // After the listeners, which re-reference it; referenced again only while commands run.
  worker.unref();
  return w;
}

const defaultWriter: FileWriter = (path, content) => writeFile(path, content);

const EXISTS = /File exists|already exists/i;
const NOT_FOUND = /Cannot find device|does not exist|No such file|No such device|not found|Invalid netns|ENOENT|Cannot open network namespace|Cannot remove namespace file/i;

/**
 * True for stderr that says the object is already gone (what teardown tolerates). For a batch
 * (`ip -force -batch`) every failed line must say so: `Command failed -:N` lines are ip's own
 * bookkeeping.
 */
export function isNotFoundError(stderr: string): boolean {
  const lines = stderr.split('\n').map((l) => l.trim()).filter((l) => l && !/^Command failed /.test(l));
  return lines.length > 0 && lines.every((l) => NOT_FOUND.test(l));
}

async function runOne(cmd: NetCommand, opts: ApplyOptions): Promise<NetApplyError | undefined> {
  if (cmd.kind === 'write') {
    try {
      await (opts.writeFile ?? defaultWriter)(cmd.path, cmd.content);
      return undefined;
    } catch (e) {
      return new NetApplyError(['write', cmd.path], 1, e instanceof Error ? e.message : String(e));
    }
  }
  const r = await (opts.runner ?? threadRunner)(cmd.argv, cmd.input === undefined ? undefined : { input: cmd.input });
  if (r.code === 0) return undefined;
  if (cmd.okIfExists && EXISTS.test(r.stderr)) return undefined;
  return new NetApplyError(cmd.argv, r.code, r.stderr);
}

/** Runs the plan in order; throws {@link NetApplyError} for the first failing step. */
export async function applyCommands(cmds: readonly NetCommand[], opts: ApplyOptions = {}): Promise<void> {
  for (const cmd of cmds) {
    const err = await runOne(cmd, opts);
    if (err) throw err;
  }
}

/**
 * Runs every step even if some fail; "not found" failures are ignored (the thing is already
 * gone). Other failures are thrown together at the end as an AggregateError of NetApplyErrors.
 */
export async function teardown(cmds: readonly NetCommand[], opts: ApplyOptions = {}): Promise<void> {
  const errors: NetApplyError[] = [];
  for (const cmd of cmds) {
    const err = await runOne(cmd, opts);
    if (err && !isNotFoundError(err.stderr)) errors.push(err);
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, `${errors.length} teardown steps failed: ${errors.map((e) => e.message).join('; ')}`);
}
