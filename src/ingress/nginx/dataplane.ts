/**
 * The nginx data plane (`--ingress-backend nginx`): runs Debian's nginx in the foreground as our
 * child (`nginx -p <dir>/ -c nginx.conf -g 'daemon off;'`) and feeds it configurations rendered by
 * the pure `renderNginxConfig` from the same routing tables the built-in proxy gets.
 *
 * Update contract (`update(table)`), serialized: render → write the certificate files (content-
 * addressed, mode 0600) and `nginx.conf.next` → `nginx -t` on it → on success rename it over
 * nginx.conf and SIGHUP the master (nginx starts new workers and lets old ones finish their
 * requests: no connection is dropped) → wait until the control socket answers the new
 * generation AND every worker of the previous configuration has stopped accepting (workers.ts:
 * nginx lets old workers accept for ~100 ms after the new ones start, longer on a busy machine),
 * so once update() resolves every new connection is served by the new configuration. A failed check rejects and leaves the running configuration untouched; a reload
 * nginx refuses (seen as the generation never arriving) rejects too, nginx keeping the old one.
 * `close()` asks for a graceful stop (SIGQUIT), then SIGTERM, then SIGKILL.
 *
 * Access log and metrics: nginx writes one `kl_metrics` line per request (accesslog.ts) into
 * <dir>/logs/access.tsv in 64 KiB batches (flushed at least every 500 ms); `LogTail` reads them
 * and `AccessLogSink` passes nginx's own upstreaminfo line to `accessLog` and counts the request
 * in the per-Ingress metrics. So lines and metrics lag requests by up to ~0.6 s.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngressDataPlane } from '../controller.js';
import type { RoutingTable } from '../types.js';
import type { Registry } from '../../util/prometheus.js';
import { ProxyMetrics } from '../proxy/observe.js';
import { AccessLogSink } from './accesslog.js';
import { LogTail } from './logtail.js';
import { childPids, retired } from './workers.js';
import type { RouteInfo } from './locations.js';
import { CONTROL_SOCKET, renderNginxConfig, type RenderedNginxConfig } from './render.js';

export interface NginxDataPlaneOptions {
  /** Working directory (nginx.conf, certificates, pid, logs, temp); default a fresh temp dir, removed on close. */
  dir?: string;
  httpHost: string;
  /** 0 picks a free port (probed on httpHost just before nginx starts). */
  httpPort: number;
  httpsPort: number;
  /** Port written into ssl-redirect Locations (default the HTTPS listen port). */
  publicHttpsPort?: number;
  defaultCert: { certPem: string; keyPem: string };
  /** Default 'nginx' (looked up on PATH, then /usr/sbin/nginx). */
  nginxBinary?: string;
  /**
   * Access log lines (ingress-nginx's upstreaminfo format, written by nginx itself, $time_local in
   * UTC as the built-in proxy writes it), delivered in batches up to ~0.6 s after the request.
   * Without this and `metrics`, nginx writes upstreaminfo lines to <dir>/logs/access.log itself.
   */
  accessLog?: (line: string) => void;
  /** Per-Ingress request metrics (the built-in proxy's families), fed from nginx's access log. */
  metrics?: Registry;
  /** nginx's error log lines and our warnings (default console.error). */
  log?: (line: string) => void;
  /** worker_processes (default 'auto'). */
  workerProcesses?: number | 'auto';
  /** How long start/reload may take to show the new generation (default 10 s). */
  readyTimeoutMs?: number;
  /** Graceful stop budget before SIGTERM (default 5 s). */
  shutdownTimeoutMs?: number;
}

/** The metrics access log (relative to the working directory) and how nginx batches its writes. */
const METRICS_LOG = 'logs/access.tsv';
const METRICS_LOG_PARAMS = 'buffer=64k flush=500ms';
/** How many generations' route ids stay resolvable (buffered lines of retired workers arrive late). */
const ROUTE_GENERATIONS = 32;

const EMPTY_TABLE: RoutingTable = { hosts: new Map(), conflicts: [], warnings: [] };

/** Runs real nginx as an IngressDataPlane; see the file comment. */
export class NginxDataPlane implements IngressDataPlane {
  private readonly dir: string;
  private readonly ownsDir: boolean;
  private readonly binary: string;
  private readonly log: (line: string) => void;
  private proc?: ChildProcess;
  private exited?: Promise<number | null>;
  private exitCode?: number | null;
  private stderrTail: string[] = [];
  private generation = 0;
  private table: RoutingTable = EMPTY_TABLE;
  private chain: Promise<unknown> = Promise.resolve();
  private ports: { httpPort: number; httpsPort: number };
  private closed = false;
  /** Warnings of the last rendered configuration (routes left out, unusable certificates). */
  lastWarnings: string[] = [];
  /** Present when `metrics` was given. */
  readonly metrics?: ProxyMetrics;
  /** Route infos of the last few generations (old workers may still log requests of older ones). */
  private readonly routesByGen = new Map<number, RouteInfo[]>();
  private readonly logPipe: boolean;
  /** Follows the metrics access log nginx writes in 64 KiB batches (see logtail.ts for why not syslog). */
  private logTail?: LogTail;
  /** The configuration nginx.conf holds now. */
  private currentConfig?: string;

  constructor(private readonly opts: NginxDataPlaneOptions) {
    this.ownsDir = opts.dir === undefined;
    this.dir = opts.dir ?? mkdtempSync(join(tmpdir(), 'kubelite-nginx-'));
    this.binary = opts.nginxBinary ?? findNginx() ?? 'nginx';
    this.log = opts.log ?? ((l) => console.error(l));
    this.ports = { httpPort: opts.httpPort, httpsPort: opts.httpsPort };
    this.logPipe = opts.accessLog !== undefined || opts.metrics !== undefined;
    if (opts.metrics) this.metrics = new ProxyMetrics(opts.metrics);
  }

  /** The ListeningDataPlane form of start(): resolves with the ports nginx listens on. */
  async listen(): Promise<{ httpPort: number; httpsPort: number }> {
    await this.start();
    return { ...this.ports };
  }

  /** Writes the configuration for the current table and runs nginx until it serves it. */
  start(): Promise<void> {
    // Serialized with update(): a SIGHUP must never reach nginx before it handles signals.
    const p = this.chain.then(() => this.startNow());
    this.chain = p.catch(() => undefined);
    return p;
  }

  private async startNow(): Promise<void> {
    if (this.proc) throw new Error('nginx data plane already started');
    if (this.closed) throw new Error('nginx data plane is closed');
    try {
      await this.spawnNginx();
    } catch (err) {
      await this.close().catch(() => undefined);
      // Give bind failures the errno code callers fall back on (startIngress tries free ports).
      const tail = this.stderrTail.join('\n');
      const code = /bind\(\)[^\n]*\(98: /.test(tail) ? 'EADDRINUSE' : /bind\(\)[^\n]*\(13: /.test(tail) ? 'EACCES' : undefined;
      if (code) Object.assign(err as Error, { code });
      throw err;
    }
  }

  private async spawnNginx(): Promise<void> {
    for (const d of ['', 'tls', 'logs', 'tmp']) mkdirSync(join(this.dir, d), { recursive: true });
    if (this.ports.httpPort === 0) this.ports.httpPort = await freePort(this.opts.httpHost);
    if (this.ports.httpsPort === 0) this.ports.httpsPort = await freePort(this.opts.httpHost);
    rmSync(join(this.dir, CONTROL_SOCKET), { force: true });
    if (this.logPipe) this.openLogTail();
    const gen = ++this.generation;
    const rendered = this.render(this.table, gen);
    await this.writeChecked(rendered);
    this.adopt(rendered, gen);
    const proc = spawn(this.binary, ['-p', `${this.dir}/`, '-c', 'nginx.conf', '-g', 'daemon off;'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      // $time_local in UTC, as the built-in proxy writes it (nginx keeps TZ for its workers).
      env: { ...process.env, TZ: 'UTC' },
    });
    this.proc = proc;
    this.exited = new Promise((resolve) => {
      proc.on('exit', (code) => {
        this.exitCode = code;
        resolve(code);
      });
      proc.on('error', (err) => {
        this.stderrTail.push(String(err));
        this.exitCode = -1;
        resolve(-1);
      });
    });
    lines(proc.stdout!, (l) => this.log(`nginx: ${l}`));
    lines(proc.stderr!, (l) => {
      this.stderrTail = [...this.stderrTail.slice(-19), l];
      this.log(`nginx: ${l}`);
    });
    await this.waitForGeneration(gen);
  }

  /** Renders, checks and reloads; see the file comment. Calls are serialized. */
  update(table: RoutingTable): Promise<void> {
    const run = async (): Promise<void> => {
      if (this.closed) throw new Error('nginx data plane is closed');
      if (!this.proc) {
        // Not started yet: start() renders the latest table.
        this.table = table;
        return;
      }
      if (this.exitCode !== undefined) throw new Error(`nginx exited (code ${this.exitCode}): ${this.stderrTail.join(' | ')}`);
      // An unchanged configuration needs no reload (the controller resyncs with equal tables).
      if (this.render(table, this.generation).config === this.currentConfig) {
        this.table = table;
        return;
      }
      const gen = ++this.generation;
      const rendered = this.render(table, gen);
      await this.writeChecked(rendered);
      this.adopt(rendered, gen);
      // The workers serving now are paused across the reload (connections wait in the listen
      // backlog meanwhile), then retired before they run again: nginx alone would let them keep
      // accepting with the old configuration for 100+ ms after the new workers answered, so a
      // client could see the new configuration and then the old one (workers.ts).
      const previous = childPids(this.proc.pid!).filter((pid) => !retired(pid));
      const signal = (sig: NodeJS.Signals): void => {
        for (const pid of previous) {
          try {
            process.kill(pid, sig);
          } catch {
            // Exited meanwhile.
          }
        }
      };
      signal('SIGSTOP');
      try {
        this.proc.kill('SIGHUP');
        await this.waitForGeneration(gen);
        // The master has started the reconfiguration (the new generation answers), so it marks
        // these workers as exiting and does not respawn them.
        signal('SIGQUIT');
      } finally {
        signal('SIGCONT');
      }
      await this.waitRetired(previous, gen);
      this.table = table;
      this.collectGarbage(rendered);
    };
    const p = this.chain.then(run, run);
    this.chain = p.catch(() => undefined);
    return p;
  }

  /** Graceful stop (SIGQUIT), then SIGTERM, then SIGKILL; removes a temp dir we created. */
  async close(): Promise<void> {
    this.closed = true;
    const proc = this.proc;
    if (proc && this.exitCode === undefined) {
      const waitExit = (ms: number): Promise<boolean> =>
        Promise.race([this.exited!.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), ms).unref())]);
      proc.kill('SIGQUIT');
      if (!(await waitExit(this.opts.shutdownTimeoutMs ?? 5_000))) {
        proc.kill('SIGTERM');
        if (!(await waitExit(2_000))) {
          proc.kill('SIGKILL');
          await waitExit(2_000);
        }
      }
    }
    // After nginx exited: its workers flushed their log buffers, so nothing is lost.
    this.logTail?.close();
    this.logTail = undefined;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Starts following a fresh metrics access log (lines of an earlier run are not replayed). */
  private openLogTail(): void {
    const path = join(this.dir, METRICS_LOG);
    rmSync(path, { force: true });
    rmSync(`${path}.1`, { force: true });
    this.logTail?.close();
    const sink = new AccessLogSink((id) => {
      const dot = id.indexOf('.');
      return this.routesByGen.get(Number(id.slice(0, dot)))?.[Number(id.slice(dot + 1))];
    }, { ...(this.metrics ? { metrics: this.metrics } : {}), ...(this.opts.accessLog ? { accessLog: this.opts.accessLog } : {}) });
    this.logTail = new LogTail(path, (lines) => {
      for (const l of lines) sink.add(l);
    }, {
      reopen: () => {
        if (this.proc && this.exitCode === undefined) this.proc.kill('SIGUSR1');
      },
    });
    this.logTail.start();
  }

  /** Where nginx's files live (tests read the rendered configuration there). */
  get workDir(): string {
    return this.dir;
  }

  /** The generation of the configuration nginx serves (bumped by every reload). */
  get configGeneration(): number {
    return this.generation;
  }

  get listenPorts(): { httpPort: number; httpsPort: number } {
    return { ...this.ports };
  }

  private render(table: RoutingTable, generation: number): RenderedNginxConfig {
    const rendered = renderNginxConfig(table, {
      dir: this.dir,
      httpHost: this.opts.httpHost,
      httpPort: this.ports.httpPort,
      httpsPort: this.ports.httpsPort,
      publicHttpsPort: this.opts.publicHttpsPort ?? this.ports.httpsPort,
      defaultCert: this.opts.defaultCert,
      generation,
      ...(process.getuid?.() === 0 ? { user: 'root' } : {}),
      workerProcesses: this.opts.workerProcesses ?? 'auto',
      ...(this.logPipe ? { accessLog: METRICS_LOG, accessLogFormat: 'metrics' as const, accessLogParams: METRICS_LOG_PARAMS } : { accessLog: 'logs/access.log' }),
      errorLog: 'stderr',
    });
    return rendered;
  }

  /** Bookkeeping for a configuration about to be loaded: new warnings logged, route ids kept. */
  private adopt(rendered: RenderedNginxConfig, generation: number): void {
    for (const w of rendered.warnings) if (!this.lastWarnings.includes(w)) this.log(`nginx data plane: ${w}`);
    this.lastWarnings = rendered.warnings;
    this.routesByGen.set(generation, rendered.routes);
    for (const g of this.routesByGen.keys()) if (g <= generation - ROUTE_GENERATIONS) this.routesByGen.delete(g);
  }

  /** Writes files and nginx.conf.next, `nginx -t`s it, then moves it over nginx.conf. */
  private async writeChecked(r: RenderedNginxConfig): Promise<void> {
    for (const [name, content] of r.files) {
      const path = join(this.dir, name);
      if (!existsSync(path)) writeFileSync(path, content, { mode: 0o600 });
    }
    const next = join(this.dir, 'nginx.conf.next');
    writeFileSync(next, r.config, { mode: 0o600 });
    const check = await run(this.binary, ['-t', '-q', '-p', `${this.dir}/`, '-c', 'nginx.conf.next', '-g', 'daemon off;']);
    if (check.code !== 0) {
      rmSync(next, { force: true });
      throw new Error(`nginx rejected the configuration (the running one is kept): ${check.output.trim()}`);
    }
    renameSync(next, join(this.dir, 'nginx.conf'));
    this.currentConfig = r.config;
  }

  /**
   * Polls the control socket until it answers `gen`: the new workers run and accept. (Old
   * workers may still accept too; waitRetired() is what proves they stopped.)
   */
  private async waitForGeneration(gen: number): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 10_000);
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) throw new Error(`nginx exited (code ${this.exitCode}): ${this.stderrTail.join(' | ')}`);
      const got = await controlGet(join(this.dir, CONTROL_SOCKET), '/generation').catch(() => undefined);
      if (got === String(gen)) return;
      await new Promise((r) => setTimeout(r, 5));
    }
    throw new Error(`nginx did not load configuration generation ${gen} in time: ${this.stderrTail.slice(-5).join(' | ')}`);
  }

  /**
   * Waits until the workers that ran before the reload stopped accepting connections (see
   * workers.ts): only then does every new connection get the new configuration. Past the ready
   * timeout it logs and returns (an old worker stuck in a long task must not block updates).
   */
  private async waitRetired(previous: number[], gen: number): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 10_000);
    let left = previous;
    while ((left = left.filter((pid) => !retired(pid))).length > 0) {
      if (this.exitCode !== undefined) return;
      if (Date.now() > deadline) {
        this.log(`nginx data plane: workers ${left.join(', ')} still accept connections with the configuration before generation ${gen}`);
        return;
      }
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  /** Removes certificate files the running configuration no longer names. */
  private collectGarbage(current: RenderedNginxConfig): void {
    for (const f of readdirSync(join(this.dir, 'tls'))) {
      if (!current.files.has(`tls/${f}`)) {
        try {
          unlinkSync(join(this.dir, 'tls', f));
        } catch {
          // Already gone: nothing to do.
        }
      }
    }
  }
}

/** The nginx binary on PATH or in the usual sbin directories, if any. */
export function findNginx(): string | undefined {
  for (const dir of [...(process.env['PATH'] ?? '').split(':'), '/usr/sbin', '/usr/local/sbin', '/usr/local/nginx/sbin']) {
    if (dir && existsSync(join(dir, 'nginx'))) return join(dir, 'nginx');
  }
  return undefined;
}

/** Whether an nginx binary is available (tests skip without one). */
export function nginxAvailable(binary?: string): boolean {
  return binary ? existsSync(binary) : findNginx() !== undefined;
}

function run(cmd: string, args: string[]): Promise<{ code: number; output: string }> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: 30_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as NodeJS.ErrnoException & { code?: unknown }).code === 'number' ? (err as unknown as { code: number }).code : 1) : 0;
      resolve({ code, output: `${stdout}${stderr}${err && !stderr ? String(err) : ''}` });
    });
  });
}

function lines(stream: NodeJS.ReadableStream, onLine: (l: string) => void): void {
  let buf = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buf += chunk;
    let nl: number;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const l = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (l) onLine(l);
    }
  });
}

function controlGet(socketPath: string, path: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const req = http.get({ socketPath, path, agent: false, timeout: 1_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve(body));
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.on('error', reject);
  });
}

/** A port free on `host` right now (bound to 0 and released). */
export function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, host, () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
  });
}
