/**
 * The nginx data plane (`--ingress-backend nginx`): runs Debian's nginx in the foreground as our
 * child (`nginx -p <dir>/ -c nginx.conf -g 'daemon off;'`) and feeds it configurations rendered by
 * the pure `renderNginxConfig` from the same routing tables the built-in proxy gets.
 *
 * Update contract (`update(table)`), serialized: render → write the certificate files (content-
 * addressed, mode 0600) and `nginx.conf.next` → `nginx -t` on it → on success rename it over
 * nginx.conf and SIGHUP the master (nginx starts new workers and lets old ones finish their
 * requests: no connection is dropped) → wait until the control socket answers the new
 * generation. A failed check rejects and leaves the running configuration untouched; a reload
 * nginx refuses (seen as the generation never arriving) rejects too, nginx keeping the old one.
 * `close()` asks for a graceful stop (SIGQUIT), then SIGTERM, then SIGKILL.
 */
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync, unlinkSync, writeFileSync, existsSync } from 'node:fs';
import dgram from 'node:dgram';
import http from 'node:http';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { IngressDataPlane } from '../controller.js';
import type { RoutingTable } from '../types.js';
import type { Registry } from '../../util/prometheus.js';
import { accessLogLine, ProxyMetrics } from '../proxy/observe.js';
import { parseAccessLine } from './accesslog.js';
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
   * Access log lines (ingress-nginx's upstreaminfo format, as the built-in proxy writes them).
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
  /** Receives nginx's JSON access log over syslog/UDP on loopback (stdio pipes are sockets nginx cannot open). */
  private logSocket?: dgram.Socket;
  private logTarget = 'logs/access.log';
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
    if (this.logPipe) this.logTarget = await this.openLogSocket();
    const gen = ++this.generation;
    const rendered = this.render(this.table, gen);
    await this.writeChecked(rendered);
    this.adopt(rendered, gen);
    const proc = spawn(this.binary, ['-p', `${this.dir}/`, '-c', 'nginx.conf', '-g', 'daemon off;'], { stdio: ['ignore', 'pipe', 'pipe'] });
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
      this.proc.kill('SIGHUP');
      await this.waitForGeneration(gen);
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
    this.logSocket?.close();
    this.logSocket = undefined;
    if (this.ownsDir) rmSync(this.dir, { recursive: true, force: true });
  }

  /** Binds the UDP syslog receiver on loopback; returns the access_log target naming it. */
  private openLogSocket(): Promise<string> {
    const sock = dgram.createSocket('udp4');
    this.logSocket = sock;
    sock.on('message', (msg) => {
      // `<PRI>timestamp tag: {json}`: the JSON object starts at the first '{'.
      const text = msg.toString('utf8');
      const brace = text.indexOf('{');
      if (brace >= 0) this.onAccessLine(text.slice(brace).trimEnd());
    });
    return new Promise((resolve, reject) => {
      sock.once('error', reject);
      sock.bind(0, '127.0.0.1', () => {
        sock.off('error', reject);
        sock.on('error', (err) => this.log(`nginx data plane: access log socket: ${err.message}`));
        resolve(`syslog:server=127.0.0.1:${sock.address().port},tag=kubelite_ingress,nohostname`);
      });
    });
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
      accessLog: this.logTarget,
      accessLogFormat: this.logPipe ? 'json' : 'upstreaminfo',
      errorLog: 'stderr',
    });
    return rendered;
  }

  /** Bookkeeping for a configuration about to be loaded: new warnings logged, route ids kept. */
  private adopt(rendered: RenderedNginxConfig, generation: number): void {
    for (const w of rendered.warnings) if (!this.lastWarnings.includes(w)) this.log(`nginx data plane: ${w}`);
    this.lastWarnings = rendered.warnings;
    this.routesByGen.set(generation, rendered.routes);
    for (const g of this.routesByGen.keys()) if (g < generation - 3) this.routesByGen.delete(g);
  }

  /** One JSON access log line from nginx → metrics and an upstreaminfo line. */
  private onAccessLine(line: string): void {
    const rec = parseAccessLine(line, (id) => {
      const [gen, idx] = id.split('.').map(Number);
      return this.routesByGen.get(gen!)?.[idx!];
    });
    if (!rec) return;
    this.metrics?.observe(rec);
    this.opts.accessLog?.(accessLogLine(rec));
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

  /** Polls the control socket until it answers `gen` three times in a row (old workers gone quiet). */
  private async waitForGeneration(gen: number): Promise<void> {
    const deadline = Date.now() + (this.opts.readyTimeoutMs ?? 10_000);
    let streak = 0;
    while (Date.now() < deadline) {
      if (this.exitCode !== undefined) throw new Error(`nginx exited (code ${this.exitCode}): ${this.stderrTail.join(' | ')}`);
      const got = await controlGet(join(this.dir, CONTROL_SOCKET), '/generation').catch(() => undefined);
      if (got === String(gen)) {
        if (++streak >= 3) return;
        continue;
      }
      streak = 0;
      await new Promise((r) => setTimeout(r, 20));
    }
    throw new Error(`nginx did not load configuration generation ${gen} in time: ${this.stderrTail.slice(-5).join(' | ')}`);
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
