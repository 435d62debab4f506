/**
 * Runs the built kubelite CLI as a child process for the benchmarks. A separate process keeps
 * the load generator's event loop from competing with the server's, and lets us read the
 * server's own RSS from /proc. Credentials come from the kubeconfig the server writes — the
 * same contract kubectl uses.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse as parseYaml } from 'yaml';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CLI = join(ROOT, 'bin', 'kubelite.js');
const BUILT_MAIN = join(ROOT, 'dist', 'cli', 'main.js');

export type StoreKind = 'sqlite' | 'memory';
export const STORES: readonly StoreKind[] = ['sqlite', 'memory'];

/**
 * Makes sure dist/ exists so bin/kubelite.js runs compiled JS (not tsx). With `force` it
 * rebuilds even when dist/ exists, so the numbers are for the current source. A failing tsc
 * (type errors elsewhere in a shared tree) is tolerated as long as it emitted the CLI, since
 * tsc emits despite type errors.
 */
export function ensureBuilt(opts: { force?: boolean; log?: (s: string) => void } = {}): void {
  if (!opts.force && existsSync(BUILT_MAIN)) return;
  opts.log?.('building dist/ (npm run build) ...');
  const r = spawnSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, encoding: 'utf8' });
  if (r.status !== 0) {
    if (!existsSync(BUILT_MAIN)) throw new Error(`npm run build failed:\n${r.stdout}\n${r.stderr}`);
    opts.log?.(`warning: npm run build exited ${r.status} (type errors?); using what it emitted`);
  }
}

export interface ServerProcess {
  url: string;
  host: string;
  port: number;
  token: string;
  caCertPem: string;
  pid: number;
  dataDir: string;
  /** Resident set size of the server process, in bytes (VmRSS) and its peak (VmHWM). */
  memory(): { rss: number; hwm: number };
  /** CPU time (user + system) the server process has used so far, in milliseconds. */
  cpuMs(): number;
  /** SIGTERM, wait for exit (SIGKILL after 5 s), and remove the data dir if we made it. */
  stop(): Promise<void>;
}

/** VmRSS and VmHWM from /proc/<pid>/status, in bytes. */
export function procStatus(pid: number): { rss: number; hwm: number } {
  const text = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (name: string): number => {
    const m = new RegExp(`^${name}:\\s+(\\d+)\\s+kB`, 'm').exec(text);
    return m ? Number(m[1]) * 1024 : NaN;
  };
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

let clockTicks: number | undefined;

/** CPU time (utime + stime) of a process from /proc/<pid>/stat, in milliseconds. */
export function procCpuMs(pid: number): number {
  if (clockTicks === undefined) {
    const r = spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' });
    clockTicks = Number(r.stdout?.trim()) || 100;
  }
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name: state is field 3, utime 14, stime 15.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return ((Number(f[11]) + Number(f[12])) * 1000) / clockTicks;
}

export function cliArgs(store: StoreKind, dataDir: string, listen = '127.0.0.1:0'): string[] {
  // The node agent runs (as with `npm start`), on loopback addresses: benchmarks never touch the host network.
  const args = [CLI, 'up', '--pod-network', 'host', '--data-dir', dataDir, '--listen', listen];
  if (store === 'memory') args.push('--store', 'memory://');
  return args;
}

/** Resolves when the child prints the ready line; rejects if it exits or 20 s pass first. */
function waitReady(child: ChildProcess): Promise<{ url: string; kubeconfig: string }> {
  return new Promise((resolve, reject) => {
    let out = '';
    let err = '';
    let url = '';
    const timer = setTimeout(() => fail(new Error('server did not become ready in 20 s')), 20_000);
    const fail = (e: Error): void => {
      clearTimeout(timer);
      child.kill('SIGKILL');
      reject(new Error(`${e.message}\nstdout: ${out}\nstderr: ${err}`));
    };
    child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const u = /API server at (https:\/\/\S+)/.exec(out);
      if (u) url = u[1];
      const k = /kubelite ready: export KUBECONFIG=(\S+)/.exec(out);
      if (k && url) {
        clearTimeout(timer);
        resolve({ url, kubeconfig: k[1] });
      }
    });
    child.once('exit', (code) => fail(new Error(`server exited with code ${code} before ready`)));
  });
}

/** What startServer can run on: the built-in stores, or an etcd named by `storeUrl`. */
export type ServerStore = StoreKind | 'etcd';

/**
 * Starts the built CLI on `store`. For `etcd`, `opts.storeUrl` (e.g. `etcd://127.0.0.1:2379`)
 * is required and passed as `--store`; the data dir then only holds the PKI and kubeconfig.
 * `opts.extraArgs` are appended to the `up` command line (later flags win); `opts.nodeArgs` go
 * to node itself, before the script (e.g. `--cpu-prof` when profiling).
 */
export async function startServer(store: ServerStore, opts: { dataDir?: string; storeUrl?: string; extraArgs?: string[]; nodeArgs?: string[] } = {}): Promise<ServerProcess> {
  if (store === 'etcd' && !opts.storeUrl) throw new Error('startServer("etcd") needs opts.storeUrl');
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), `kubelite-bench-${store}-`));
  const args = store === 'etcd' ? [CLI, 'up', '--pod-network', 'host', '--data-dir', dataDir, '--listen', '127.0.0.1:0', '--store', opts.storeUrl as string] : cliArgs(store, dataDir);
  // Extra flags go last: a repeated flag (e.g. `--pod-network netns`) overrides the default above.
  if (opts.extraArgs) args.push(...opts.extraArgs);
  const child = spawn(process.execPath, [...(opts.nodeArgs ?? []), ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const { url, kubeconfig } = await waitReady(child);
  // Keep draining output so the child never blocks on a full pipe.
  child.stdout!.resume();
  child.stderr!.resume();
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8')) as {
    clusters: { cluster: { 'certificate-authority-data': string } }[];
    users: { user: { token: string } }[];
  };
  const caCertPem = Buffer.from(kc.clusters[0].cluster['certificate-authority-data'], 'base64').toString('utf8');
  const token = kc.users[0].user.token;
  const parsed = new URL(url);
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return {
    url,
    host: parsed.hostname,
    port: Number(parsed.port),
    token,
    caCertPem,
    pid: child.pid!,
    dataDir,
    memory: () => procStatus(child.pid!),
    cpuMs: () => procCpuMs(child.pid!),
    async stop(): Promise<void> {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const t = setTimeout(() => child.kill('SIGKILL'), 5_000);
        await exited;
        clearTimeout(t);
      }
      if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
