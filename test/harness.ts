/**
 * Test harness: a real cluster (the same `up` as the CLI) on a random loopback port in a temp
 * dir, and a runner for the real kubectl against it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawn, spawnSync } from 'node:child_process';
import { request } from 'node:https';
import { up, type RunningCluster } from '../src/cli/up.js';

export interface TestCluster extends RunningCluster {
  dir: string;
  kubectl(args: string[], opts?: { input?: string; timeoutMs?: number }): Promise<KubectlResult>;
  /** Raw HTTPS request with the admin token. */
  http(method: string, path: string, opts?: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null }): Promise<HttpResult>;
  close(): Promise<void>;
}

export interface KubectlResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface HttpResult {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
  json<T = Record<string, unknown>>(): T;
}

export const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;
export const NO_KUBECTL = hasKubectl ? false : 'kubectl is not installed: skipping tests that drive the real kubectl';

/** Runs the real kubectl against a kubeconfig; `input` goes to its stdin; killed after `timeoutMs` (30 s). */
export function runKubectl(kubeconfig: string, args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> {
  return new Promise((resolve) => {
    const child = spawn('kubectl', ['--kubeconfig', kubeconfig, ...args], { stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const t = setTimeout(() => child.kill('SIGKILL'), o.timeoutMs ?? 30_000);
    child.on('close', (code) => {
      clearTimeout(t);
      resolve({ code: code ?? -1, stdout, stderr });
    });
    child.stdin.end(o.input ?? '');
  });
}

/** Options of the node agent `up` runs with `node` (no agent when omitted). */
export type RunningClusterNodeOptions = NonNullable<Parameters<typeof up>[0]['node']>;

/** `storeUrl` (e.g. `etcd://127.0.0.1:2379`) is passed to `up` verbatim and wins over `store`. */
/**
 * `controllers: false` runs the API server without kubelite's controller manager, for tests
 * that start the controllers they exercise themselves.
 */
export async function startCluster(opts: { store?: 'memory' | 'sqlite'; storeUrl?: string; dir?: string; controllers?: boolean; node?: RunningClusterNodeOptions } = {}): Promise<TestCluster> {
  const dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kubelite-test-'));
  const cluster = await up({
    dataDir: dir,
    listen: '127.0.0.1:0',
    store: opts.storeUrl ?? (opts.store === 'memory' ? 'memory://' : undefined),
    serviceCIDR: '10.96.0.0/12',
    bookmarkIntervalMs: 300,
    controllers: opts.controllers,
    node: opts.node,
    quiet: true,
  });
  const kubectl = (args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<KubectlResult> => runKubectl(cluster.kubeconfig, args, o);
  const url = new URL(cluster.url);
  const http = (method: string, path: string, o: { body?: string | Buffer; headers?: Record<string, string>; token?: string | null } = {}): Promise<HttpResult> =>
    new Promise((resolve, reject) => {
      const headers: Record<string, string> = { ...(o.headers ?? {}) };
      if (o.token !== null) headers.authorization = `Bearer ${o.token ?? cluster.token}`;
      if (o.body !== undefined && !headers['content-type']) headers['content-type'] = 'application/json';
      // Node frames GET/DELETE bodies only with an explicit length.
      if (o.body !== undefined) headers['content-length'] = String(Buffer.byteLength(o.body));
      const req = request(
        { host: url.hostname, port: url.port, path, method, headers, ca: cluster.caCertPem },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => {
            const body = Buffer.concat(chunks).toString('utf8');
            resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: <T>() => JSON.parse(body) as T });
          });
        },
      );
      req.on('error', reject);
      if (o.body !== undefined) req.write(o.body);
      req.end();
    });
  return {
    ...cluster,
    dir,
    kubectl,
    http,
    async close(): Promise<void> {
      await cluster.stop();
      if (!opts.dir) rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * Polls `fn` until it returns a truthy value (returned) or `ms` pass (the test fails naming
 * `what`). For waiting on controllers, which act asynchronously.
 */
export async function until<T>(what: string, fn: () => T | Promise<T>, ms = 10_000): Promise<NonNullable<T>> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v) return v as NonNullable<T>;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}
