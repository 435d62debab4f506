/**
 * The built-in data plane on every core: `ProxyWorkerPool` forks `workers` proxy processes
 * (worker.ts) with node:cluster and drives them like one `IngressProxy` — the same
 * `listen`/`update`/`close` contract — as nginx's master drives its workers.
 *
 * Why processes: one Node event loop proxies a few thousand requests a second, and in
 * `kubelite up` it would share that loop with the API server, controllers, node agent, kube-proxy
 * and DNS. Workers share the listening sockets (cluster's SCHED_NONE: the kernel hands each
 * connection to one worker; the primary never accepts), so the primary only ships routing
 * tables and receives batched metrics.
 *
 * Contracts: `listen()` resolves with the bound ports once every worker listens, or rejects with
 * the first worker's bind error (errno `code` kept, so callers fall back to free ports).
 * `update(table)` resolves once every live worker applied it (a worker that dies meanwhile is
 * replaced and starts from the latest table). A worker that exits unexpectedly is replaced after
 * a short delay (doubling up to 10 s while it keeps dying). `close()` stops the workers
 * gracefully, then kills what is left.
 */
import cluster, { type Worker } from 'node:cluster';
import { fileURLToPath } from 'node:url';
import type { IngressDataPlane } from './index.js';
import type { IngressProxyOptions } from './index.js';
import type { RoutingTable } from '../types.js';
import type { Registry } from '../../util/prometheus.js';
import { ProxyMetrics } from './observe.js';
import { applyDeltas, type SeriesDelta } from './batch.js';

/** The serializable part of IngressProxyOptions a worker builds its proxy from. */
export type WorkerProxyOptions = Omit<IngressProxyOptions, 'match' | 'accessLog' | 'metrics' | 'clock' | 'random' | 'observe'>;

export type PrimaryMessage =
  | { t: 'init'; options: { proxy: WorkerProxyOptions; accessLogPath?: string; forwardAccessLog: boolean } }
  | { t: 'update'; seq: number; table: RoutingTable }
  | { t: 'close' };

export type WorkerMessage =
  | { t: 'ready' }
  | { t: 'listening'; ports: { httpPort: number; httpsPort: number } }
  | { t: 'listen-error'; message: string; code?: string }
  | { t: 'updated'; seq: number; error?: string }
  | { t: 'stats'; deltas: SeriesDelta[]; lines: string[] };

export interface ProxyWorkerPoolOptions extends WorkerProxyOptions {
  /** Worker processes (at least 1). */
  workers: number;
  /** Per-Ingress metrics land here (the families IngressProxy registers). */
  metrics?: Registry;
  /** Workers append access-log lines to this file themselves. */
  accessLogPath?: string;
  /** Without accessLogPath: lines are shipped to the primary and given to this. */
  accessLog?: (line: string) => void;
  log?: (line: string) => void;
  /** How long workers may take to listen or apply an update (default 60 s; tsx-run sources start slowly). */
  timeoutMs?: number;
}

interface Member {
  worker: Worker;
  /** Highest update seq the worker acknowledged. */
  acked: number;
  waiters: { seq: number; done: (err?: Error) => void }[];
  exited: boolean;
  /** Said `ready`: messages sent before would be lost (it then gets the latest table). */
  ready: boolean;
}

let clusterConfigured = false;

/** node:cluster is process-global: the scheduling policy and the worker script are set once. */
function configureCluster(): void {
  if (clusterConfigured) return;
  clusterConfigured = true;
  const here = import.meta.url;
  const fromSources = here.endsWith('.ts');
  const execArgv: string[] = [];
  // A source checkout runs through tsx (bin/kubelite.js registers it at runtime, tests use
  // --import): the worker needs it too, by absolute URL so the working directory does not matter.
  if (fromSources) execArgv.push('--import', import.meta.resolve('tsx'));
  cluster.schedulingPolicy = cluster.SCHED_NONE;
  cluster.setupPrimary({
    exec: fileURLToPath(new URL(`./worker${fromSources ? '.ts' : '.js'}`, here)),
    execArgv,
    args: [],
    serialization: 'advanced',
  });
}

/** The built-in proxy in worker processes; see the file comment. */
export class ProxyWorkerPool implements IngressDataPlane {
  readonly metrics: ProxyMetrics;
  private readonly members = new Set<Member>();
  private table?: RoutingTable;
  private seq = 0;
  private closing = false;
  private listened = false;
  private restartDelayMs = 250;
  private lastRestart = 0;
  private readonly log: (line: string) => void;
  private readonly timeoutMs: number;

  constructor(private readonly opts: ProxyWorkerPoolOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1) throw new Error(`ingress proxy workers must be a positive integer, not ${opts.workers}`);
    this.metrics = new ProxyMetrics(opts.metrics);
    this.log = opts.log ?? ((l) => console.error(l));
    this.timeoutMs = opts.timeoutMs ?? 60_000;
  }

  async listen(): Promise<{ httpPort: number; httpsPort: number }> {
    configureCluster();
    const started = await Promise.allSettled(Array.from({ length: this.opts.workers }, () => this.spawn()));
    const failed = started.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) {
      await this.close();
      throw failed.reason;
    }
    this.listened = true;
    const ports = (started[0] as PromiseFulfilledResult<{ httpPort: number; httpsPort: number }>).value;
    return { ...ports };
  }

  update(table: RoutingTable): Promise<void> {
    if (this.closing) return Promise.reject(new Error('ingress proxy workers are closed'));
    const seq = ++this.seq;
    this.table = table;
    const waits: Promise<void>[] = [];
    for (const m of this.members) {
      if (m.exited) continue;
      if (m.ready) m.worker.send({ t: 'update', seq, table } satisfies PrimaryMessage);
      waits.push(this.acknowledged(m, seq));
    }
    return Promise.all(waits).then(() => undefined);
  }

  async close(): Promise<void> {
    this.closing = true;
    const exits = [...this.members].filter((m) => !m.exited).map((m) => this.exitOf(m));
    for (const m of this.members) {
      if (m.exited) continue;
      try {
        m.worker.send({ t: 'close' } satisfies PrimaryMessage);
      } catch {
        m.worker.process.kill('SIGKILL');
      }
    }
    const all = Promise.all(exits);
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), 5_000).unref());
    if ((await Promise.race([all, timer])) === 'timeout') {
      for (const m of this.members) if (!m.exited) m.worker.process.kill('SIGKILL');
      await all;
    }
  }

  /** Worker count currently alive (tests). */
  get liveWorkers(): number {
    return [...this.members].filter((m) => !m.exited).length;
  }

  /** Worker process ids (tests kill one to see it replaced). */
  get pids(): number[] {
    return [...this.members].filter((m) => !m.exited).map((m) => m.worker.process.pid!);
  }

  private exitOf(m: Member): Promise<void> {
    return m.exited ? Promise.resolve() : new Promise((r) => m.worker.once('exit', () => r()));
  }

  private acknowledged(m: Member, seq: number): Promise<void> {
    if (m.acked >= seq || m.exited) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => done(new Error(`ingress proxy worker ${m.worker.id} did not apply update ${seq} in ${this.timeoutMs} ms`)), this.timeoutMs);
      const done = (err?: Error): void => {
        clearTimeout(timer);
        m.waiters = m.waiters.filter((w) => w.done !== done);
        if (err) reject(err);
        else resolve();
      };
      m.waiters.push({ seq, done });
    });
  }

  /** Forks one worker; resolves with its ports once it listens (and has the latest table). */
  private spawn(): Promise<{ httpPort: number; httpsPort: number }> {
    const { workers: _w, metrics: _m, accessLogPath, accessLog, log: _l, timeoutMs: _t, ...proxy } = this.opts;
    const worker = cluster.fork();
    const m: Member = { worker, acked: 0, waiters: [], exited: false, ready: false };
    this.members.add(m);
    return new Promise((resolve, reject) => {
      let settled = false;
      const settle = (err: Error | undefined, ports?: { httpPort: number; httpsPort: number }): void => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        if (err) reject(err);
        else resolve(ports!);
      };
      const timer = setTimeout(() => settle(new Error(`ingress proxy worker ${worker.id} did not listen in ${this.timeoutMs} ms`)), this.timeoutMs);
      worker.on('message', (msg: WorkerMessage) => {
        switch (msg.t) {
          case 'ready':
            m.ready = true;
            worker.send({ t: 'init', options: { proxy, ...(accessLogPath ? { accessLogPath } : {}), forwardAccessLog: !accessLogPath && accessLog !== undefined } } satisfies PrimaryMessage);
            // The latest table; later updates reach this worker through update() like every other.
            if (this.table) worker.send({ t: 'update', seq: this.seq, table: this.table } satisfies PrimaryMessage);
            break;
          case 'listening':
            settle(undefined, msg.ports);
            break;
          case 'listen-error':
            settle(Object.assign(new Error(msg.message), msg.code ? { code: msg.code } : {}));
            break;
          case 'updated':
            if (msg.error) this.log(`ingress: proxy worker ${worker.id} rejected update ${msg.seq}: ${msg.error}`);
            m.acked = Math.max(m.acked, msg.seq);
            for (const w of [...m.waiters]) if (w.seq <= m.acked) w.done();
            break;
          case 'stats':
            try {
              applyDeltas(this.metrics, msg.deltas);
              if (accessLog) for (const line of msg.lines) accessLog(line);
            } catch (err) {
              this.log(`ingress: proxy worker ${worker.id} sent bad stats: ${(err as Error).message}`);
            }
            break;
        }
      });
      worker.on('error', () => {});
      worker.once('exit', (code, signal) => {
        m.exited = true;
        this.members.delete(m);
        for (const w of [...m.waiters]) w.done();
        settle(new Error(`ingress proxy worker ${worker.id} exited (${signal ?? `code ${code}`}) before listening`));
        if (!this.closing && this.listened) this.replace(worker.id, signal ?? `code ${code}`);
      });
    });
  }

  /** Replaces a dead worker, backing off while workers keep dying. */
  private replace(id: number, why: string): void {
    const now = Date.now();
    this.restartDelayMs = now - this.lastRestart > 30_000 ? 250 : Math.min(this.restartDelayMs * 2, 10_000);
    this.lastRestart = now;
    this.log(`ingress: proxy worker ${id} exited (${why}); starting a new one in ${this.restartDelayMs} ms`);
    setTimeout(() => {
      if (this.closing) return;
      this.spawn().catch((err: Error) => this.log(`ingress: replacing proxy worker ${id}: ${err.message}`));
    }, this.restartDelayMs).unref();
  }
}
