/**
 * Our own implementation of the most used subcommands of the Kubernetes e2e test image `agnhost`
 * (registry.k8s.io/e2e-test-images/agnhost): `netexec`, `serve-hostname`, `porter`, `connect`
 * and `pause`.
 *
 * Why: conformance-style tests and users' manifests run `agnhost netexec ...` in pods; our node agent
 * runs this file as the container process (`node agnhost.js <subcommand> [flags]`), so flag names,
 * endpoints and response bodies follow agnhost's observable behaviour.
 *
 * Deviations (deliberate, documented):
 * - Startup lines go to stdout (agnhost logs to stderr) and always carry the *bound* port, so tests can
 *   pass `--http-port=0` / `--udp-port=0` / `--port=0` and read the ephemeral port back.
 * - `AGNHOST_BIND_ADDRESS` (env) restricts every listener to one address (tests use 127.0.0.1);
 *   unset means all interfaces, as agnhost.
 * - `/exit` and `/shutdown` reply (empty 200) before exiting; agnhost may drop the connection.
 * - No SCTP (Node has none): netexec `--sctp-port`, porter `SERVE_SCTP_PORT_*` only log that they are
 *   unsupported; `/dial?protocol=sctp` and `connect --protocol=sctp` fail the way agnhost does on a
 *   kernel without SCTP ("protocol not supported"). `/upload` is not implemented.
 * - The image's /localhost.crt + /localhost.key (porter's default TLS pair) are embedded below (our own
 *   self-signed P-256 pair, SANs localhost/127.0.0.1/::1) and used when no such files exist.
 *
 * This file must stay self-contained (only `node:` imports): the node agent transpiles this one file
 * on its own and runs it as the container process, so it cannot import siblings or npm packages.
 * That is why it is longer than our usual ~600-line limit.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import * as dns from 'node:dns/promises';
import { existsSync, readFileSync } from 'node:fs';
import * as dgram from 'node:dgram';
import { hostname as osHostname } from 'node:os';
import { execFile } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/** Parsed command line: flag name → raw value (`"true"` for bare boolean flags). */
export type Flags = Map<string, string>;

/** Flags each subcommand accepts, with agnhost's defaults; `bool` flags may appear bare. */
const FLAG_SPECS: Record<string, Record<string, { def: string; bool?: boolean }>> = {
  netexec: {
    'http-port': { def: '8080' },
    'udp-port': { def: '8081' },
    'sctp-port': { def: '-1' },
    'tls-cert-file': { def: '' },
    'tls-private-key-file': { def: '' },
    'http-override': { def: '' },
    'udp-listen-addresses': { def: '' },
  },
  'serve-hostname': {
    port: { def: '9376' },
    tcp: { def: 'false', bool: true },
    udp: { def: 'false', bool: true },
    http: { def: 'true', bool: true },
    close: { def: 'false', bool: true },
  },
  porter: { 'json-response': { def: 'false', bool: true } },
  connect: {
    timeout: { def: '0s' },
    protocol: { def: 'tcp' },
    'udp-data': { def: 'hostname' },
    'sctp-data': { def: 'hostname' },
  },
  pause: {},
};

/** Exact positional-argument count per subcommand (cobra Args); absent means none allowed. */
const POSITIONAL_ARGS: Record<string, number> = { connect: 1 };

/** Subcommands this implementation knows. */
export const SUBCOMMANDS: readonly string[] = Object.keys(FLAG_SPECS);

/**
 * Parses pflag-style arguments (`--name=value`, `--name value`, bare `--bool`, positionals after
 * or between flags, `--` ends flags) for `subcommand`, filling agnhost's defaults. Throws cobra's
 * messages: `unknown flag: --x`, `unknown command "x" for "agnhost sub"`, `accepts 1 arg(s), received 0`.
 */
export function parseArgs(subcommand: string, argv: readonly string[]): { flags: Flags; args: string[] } {
  const spec = FLAG_SPECS[subcommand];
  if (spec === undefined) throw new Error(`unknown command "${subcommand}" for "agnhost"`);
  const flags: Flags = new Map(Object.entries(spec).map(([k, v]) => [k, v.def]));
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--') {
      args.push(...argv.slice(i + 1));
      break;
    }
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (m === null || arg === '-') {
      args.push(arg);
      continue;
    }
    const name = m[1]!;
    const s = spec[name];
    if (s === undefined) throw new Error(`unknown flag: --${name}`);
    let value = m[2];
    if (value === undefined) {
      if (s.bool === true) value = 'true';
      else if (i + 1 < argv.length) value = argv[++i]!;
      else throw new Error(`flag needs an argument: --${name}`);
    }
    flags.set(name, value);
  }
  const want = POSITIONAL_ARGS[subcommand] ?? 0;
  if (want === 0 && args.length > 0) throw new Error(`unknown command "${args[0]}" for "agnhost ${subcommand}"`);
  if (args.length !== want) throw new Error(`accepts ${want} arg(s), received ${args.length}`);
  return { flags, args };
}

/** Flags only (for subcommands without positional arguments); see parseArgs. */
export function parseFlags(subcommand: string, argv: readonly string[]): Flags {
  return parseArgs(subcommand, argv).flags;
}

const DURATION_UNITS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, 'μs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/** Go time.ParseDuration → milliseconds; undefined when Go would reject the string. */
export function parseGoDuration(text: string): number | undefined {
  if (text === '0' || text === '+0' || text === '-0') return 0;
  const m = /^([+-]?)(.+)$/s.exec(text);
  if (m === null) return undefined;
  const re = /(\d+\.?\d*|\.\d+)(ns|us|µs|μs|ms|s|m|h)/gy;
  let total = 0;
  let pos = 0;
  for (let part = re.exec(m[2]!); part !== null; part = re.exec(m[2]!)) {
    total += Number(part[1]) * DURATION_UNITS[part[2]!]!;
    pos = re.lastIndex;
  }
  if (pos === 0 || pos !== m[2]!.length) return undefined;
  return m[1] === '-' ? -total : total;
}

/** Go time.Duration String() for whole-millisecond values (`0s`, `250ms`, `1.5s`, `1m30s`, `2h0m0s`). */
export function goDurationString(ms: number): string {
  if (ms === 0) return '0s';
  const sign = ms < 0 ? '-' : '';
  const abs = Math.abs(ms);
  if (abs < 1000) return `${sign}${abs}ms`;
  const h = Math.floor(abs / 3_600_000);
  const mnt = Math.floor((abs % 3_600_000) / 60_000);
  const sec = ((abs % 60_000) / 1000).toFixed(3).replace(/0+$/, '').replace(/\.$/, '');
  if (h > 0) return `${sign}${h}h${mnt}m${sec}s`;
  if (mnt > 0) return `${sign}${mnt}m${sec}s`;
  return `${sign}${sec}s`;
}

/** Integer flag value; throws with pflag's wording when the value is not an integer. */
export function intFlag(flags: Flags, name: string): number {
  const raw = flags.get(name) ?? '';
  if (!/^[+-]?\d+$/.test(raw)) throw new Error(`invalid argument "${raw}" for "--${name}" flag: parse error`);
  return Number(raw);
}

/** Boolean flag value (Go strconv.ParseBool spellings). */
export function boolFlag(flags: Flags, name: string): boolean {
  const raw = flags.get(name) ?? '';
  if (['1', 't', 'T', 'true', 'TRUE', 'True'].includes(raw)) return true;
  if (['0', 'f', 'F', 'false', 'FALSE', 'False'].includes(raw)) return false;
  throw new Error(`invalid argument "${raw}" for "--${name}" flag: parse error`);
}

/** Go `log` prefix (`2006/01/02 15:04:05 `, local time) so our lines look like agnhost's. */
function log(msg: string): void {
  const d = new Date();
  const p = (n: number): string => String(n).padStart(2, '0');
  const ts = `${d.getFullYear()}/${p(d.getMonth() + 1)}/${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
  process.stdout.write(`${ts} ${msg}\n`);
}

/**
 * Time in Go's default `time.Time` String() layout (`2006-01-02 15:04:05.999999999 -0700 MST`), UTC;
 * with `monotonicSeconds` it appends the ` m=+1.234567890` reading that `time.Now()` values print.
 */
export function goTimeString(d: Date, opts: { monotonicSeconds?: number } = {}): string {
  const iso = d.toISOString(); // 2026-11-26T15:45:18.123Z
  const base = `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}000000 +0000 UTC`;
  return opts.monotonicSeconds === undefined ? base : `${base} m=+${opts.monotonicSeconds.toFixed(9)}`;
}

/** Formats `ip:port` the way Go prints a net.Addr (IPv4-mapped IPv6 shown as IPv4, IPv6 bracketed). */
export function formatHostPort(ip: string, port: number): string {
  const plain = ip.startsWith('::ffff:') && net.isIPv4(ip.slice(7)) ? ip.slice(7) : ip;
  return net.isIPv6(plain) ? `[${plain}]:${port}` : `${plain}:${port}`;
}

function bindAddress(): string | undefined {
  const v = process.env['AGNHOST_BIND_ADDRESS'];
  return v === undefined || v === '' ? undefined : v;
}

function listenHttp(server: http.Server | net.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: bindAddress() }, () => {
      server.off('error', reject);
      resolve((server.address() as net.AddressInfo).port);
    });
  });
}

/** Binds a UDP socket on `port` (dual-stack unless AGNHOST_BIND_ADDRESS is set). */
function bindUdp(port: number, address?: string): Promise<dgram.Socket> {
  const addr = address ?? bindAddress();
  const type: dgram.SocketType = addr === undefined || net.isIPv6(addr) ? 'udp6' : 'udp4';
  const sock = dgram.createSocket({ type, ipv6Only: false });
  return new Promise((resolve, reject) => {
    sock.once('error', (err) => {
      if (addr === undefined && type === 'udp6') bindUdp(port, '0.0.0.0').then(resolve, reject);
      else reject(err);
    });
    sock.bind(port, addr ?? '::', () => {
      sock.removeAllListeners('error');
      sock.on('error', (err) => log(`UDP server error: ${err.message}`));
      resolve(sock);
    });
  });
}

/** The netexec/SCTP-style UDP command protocol: returns the reply, or undefined for no reply. */
export function udpReply(received: string, clientAddr: string, hostname: string): string | undefined {
  const text = received.trim().toLowerCase();
  if (text === 'hostname') return hostname;
  if (text.startsWith('echo ')) return text.slice(5);
  if (text === 'clientip') return clientAddr;
  return undefined;
}

/** Sends one HTTP GET (5s budget, like agnhost's client) and resolves to the body whatever the status. */
function dialHttp(request: string, hostPort: string): Promise<string> {
  const url = `http://${hostPort}/${request}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        clearTimeout(timer);
        resolve(Buffer.concat(chunks).toString('utf8'));
      });
      res.on('error', (e) => reject(new Error(`Get "${url}": ${e.message}`)));
    });
    const timer = setTimeout(() => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')), 5000);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const msg = e.code !== undefined && e.syscall === 'connect' ? `dial tcp ${hostPort}: connect: ${strerror(e.code)}` : e.message;
      reject(new Error(`Get "${url}": ${msg}`));
    });
  });
}

/** Go's (strerror) wording for the errno codes a connect or read reports. */
export function strerror(code: string): string {
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connection refused',
    ECONNRESET: 'connection reset by peer',
    EHOSTUNREACH: 'no route to host',
    ENETUNREACH: 'network is unreachable',
    ETIMEDOUT: 'connection timed out',
    EADDRNOTAVAIL: 'cannot assign requested address',
    EACCES: 'permission denied',
    EPERM: 'operation not permitted',
  };
  return texts[code] ?? code;
}

/**
 * Sends one datagram on a connected UDP socket and waits up to `timeoutMs` (0: forever) for one
 * reply. Errors carry Go's net.OpError text (`read udp <local>-><remote>: ...`) without a prefix.
 */
export function udpExchange(data: string, host: string, opts: { port: number; timeoutMs: number }): Promise<string> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  const remote = formatHostPort(host, opts.port);
  let local = '';
  return new Promise<string>((resolve, reject) => {
    const timer = opts.timeoutMs > 0 ? setTimeout(() => reject(new Error(`read udp ${local}->${remote}: i/o timeout`)), opts.timeoutMs) : undefined;
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new Error(`read udp ${local}->${remote}: read: ${strerror(e.code ?? e.message)}`));
    });
    sock.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.toString('utf8'));
    });
    sock.connect(opts.port, host, () => {
      const a = sock.address();
      local = formatHostPort(a.address, a.port);
      sock.send(data);
    });
  }).finally(() => {
    try {
      sock.close();
    } catch {
      // already closed
    }
  });
}

/** netexec's UDP dial: agnhost wraps failures (and an empty reply) as `reading from udp connection failed`. */
async function dialUdp(request: string, host: string, port: number): Promise<string> {
  let reply: string;
  try {
    reply = await udpExchange(request, host, { port, timeoutMs: 5000 });
  } catch (e) {
    throw new Error(`reading from udp connection failed. err:'${(e as Error).message}'`);
  }
  if (reply.length === 0) throw new Error("reading from udp connection failed. err:'<nil>'");
  return reply;
}

/**
 * Resolves `host` once, as agnhost's net.Resolve*Addr does before any try: an IP literal is kept,
 * an empty host means this machine, a name is looked up (first address). Rejects with Go's text.
 */
export async function resolveHost(host: string): Promise<string> {
  if (host === '') return '127.0.0.1';
  const bare = host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
  if (net.isIP(bare) !== 0) return bare;
  try {
    // Go's resolver hands the IPv4 address first for "tcp"/"udp" networks.
    const all = await dns.lookup(bare, { all: true });
    return (all.find((a) => a.family === 4) ?? all[0]!).address;
  } catch {
    throw new Error(`lookup ${bare}: no such host`);
  }
}

/** Validates a port string the way Go's address parsing does (empty means 0). */
export function checkPort(port: string, protocol: string): string | undefined {
  if (port === '') return undefined;
  if (!/^\d+$/.test(port)) return `address ${protocol}/${port}: unknown port`;
  if (Number(port) > 65535) return `address ${port}: invalid port`;
  return undefined;
}

interface DialResult {
  status: number;
  body: string;
}

/**
 * Implements `/dial`: parameter validation (400 with agnhost's messages), one name resolution,
 * `tries` sequential attempts, and agnhost's JSON quirk that "responses" appears only when the
 * last attempt returned a non-empty answer. SCTP fails each try as on a kernel without SCTP.
 */
export async function dial(query: URLSearchParams): Promise<DialResult> {
  const host = query.get('host') ?? '';
  const port = query.get('port') ?? '';
  const request = query.get('request') ?? '';
  const protocolRaw = query.get('protocol') ?? '';
  const protocol = protocolRaw.toLowerCase();
  const tryParam = query.get('tries') ?? '';
  log(`GET /dial?host=${host}&protocol=${protocolRaw}&port=${port}&request=${request}&tries=${tryParam}`);
  let tries = 1;
  if (tryParam !== '') {
    if (!/^[+-]?\d+$/.test(tryParam)) {
      return { status: 400, body: `tries parameter is invalid. strconv.Atoi: parsing "${tryParam}": invalid syntax\n` };
    }
    tries = Number(tryParam);
  }
  if (request === '') return { status: 400, body: 'request parameter not specified. <nil>\n' };
  if (!['', 'http', 'udp', 'sctp'].includes(protocol)) return { status: 400, body: `unsupported protocol. ${protocolRaw}\n` };
  const portErr = checkPort(port, protocol === 'udp' ? 'udp' : protocol === 'sctp' ? 'sctp' : 'tcp');
  let ip: string;
  try {
    if (portErr !== undefined) throw new Error(portErr);
    ip = await resolveHost(host);
  } catch (e) {
    return { status: 400, body: `host and/or port param are invalid. ${(e as Error).message}\n` };
  }
  const portNum = port === '' ? 0 : Number(port);
  const responses: string[] = [];
  const errors: string[] = [];
  let last = '';
  for (let i = 0; i < tries; i++) {
    try {
      if (protocol === 'sctp') throw new Error('sctp dial failed. err:socket: protocol not supported');
      last = protocol === 'udp' ? await dialUdp(request, ip, portNum) : await dialHttp(request, formatHostPort(ip, portNum));
      responses.push(last);
    } catch (e) {
      last = '';
      errors.push((e as Error).message);
    }
  }
  const output: Record<string, string[]> = {};
  if (last.length > 0) output['responses'] = responses;
  if (errors.length > 0) output['errors'] = errors;
  return { status: 200, body: goJson(output) };
}

/** JSON as Go's encoding/json writes it: `<`, `>`, `&`, U+2028/9 escaped as \\u00XX. */
export function goJson(value: unknown): string {
  return JSON.stringify(value).replace(/[<>&\u2028\u2029]/g, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Runs `cmd` via /bin/sh -c, returning agnhost's `/shell` JSON (`output` combined, `error`). */
function runShell(cmd: string): Promise<string> {
  return new Promise((resolve) => {
    // Combined output: stderr is redirected into stdout by the shell itself, keeping ordering.
    execFile('/bin/sh', ['-c', `exec 2>&1; ${cmd}`], { maxBuffer: 16 << 20 }, (err, stdout) => {
      const out: Record<string, string> = {};
      if (stdout.length > 0) out['output'] = stdout;
      if (err !== null) {
        const { code, signal } = err as { code?: unknown; signal?: unknown };
        if (typeof code === 'number') out['error'] = `exit status ${code}`;
        else if (typeof signal === 'string') out['error'] = `signal: ${SIGNAL_TEXT[signal] ?? signal}`;
        else out['error'] = err.message;
      }
      resolve(goJson(out));
    });
  });
}

const SIGNAL_TEXT: Record<string, string> = { SIGKILL: 'killed', SIGTERM: 'terminated', SIGINT: 'interrupt', SIGSEGV: 'segmentation fault', SIGABRT: 'aborted', SIGHUP: 'hangup' };

/** What startNetexec needs; `exit` is replaceable so the HTTP handler stays testable in-process. */
export interface NetexecOptions {
  httpPort: number;
  udpPort: number;
  /** Addresses for the UDP server (`--udp-listen-addresses`); empty means all (or AGNHOST_BIND_ADDRESS). */
  udpAddresses?: string[];
  sctpPort?: number;
  /** PEM file paths; a cert turns the HTTP server into HTTPS. */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Serve every request as a GET of this path+query (`--http-override`). */
  httpOverride?: string;
  exit?: (code: number) => void;
}

/** A running netexec server set. */
export interface Netexec {
  httpPort: number;
  /** Bound UDP port, or -1 when disabled. */
  udpPort: number;
  close(): Promise<void>;
}

/** `--udp-listen-addresses`: comma list of IPs, deduplicated and sorted like agnhost's string set. */
export function parseUdpAddresses(list: string): string[] {
  if (list === '') return [];
  const out = new Set<string>();
  for (const a of list.split(',')) {
    if (net.isIP(a) === 0) throw new Error(`parseAddress: invalid address ${a}`);
    out.add(a);
  }
  return [...out].sort();
}

function goSend(res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'Content-Type': type });
  res.end(body);
}

/** Starts netexec's HTTP(S) server and (unless udpPort is -1) its UDP server(s). */
export async function startNetexec(opts: NetexecOptions): Promise<Netexec> {
  const exit = opts.exit ?? ((code: number): never => process.exit(code));
  const host = osHostname();
  let udpReady = false;
  const udps: dgram.Socket[] = [];
  if (opts.udpPort !== -1) {
    const addrs = opts.udpAddresses !== undefined && opts.udpAddresses.length > 0 ? opts.udpAddresses : [undefined];
    let port = opts.udpPort;
    for (const addr of addrs) {
      const sock = await bindUdp(port, addr);
      port = sock.address().port; // --udp-port=0 with several addresses: one ephemeral port for all
      sock.on('message', (msg, rinfo) => {
        const client = formatHostPort(rinfo.address, rinfo.port);
        const reply = udpReply(msg.toString('utf8'), client, host);
        if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
        else if (msg.toString().trim() !== '') log(`Unknown UDP command received from ${client}: ${msg.toString().trim().toLowerCase()}`);
      });
      udps.push(sock);
      log(`Started UDP server on port ${addr ?? bindAddress() ?? ''} ${port}`);
    }
    udpReady = true;
  }
  if (opts.sctpPort !== undefined && opts.sctpPort !== -1) log(`SCTP is not supported by this agnhost; not serving SCTP port ${opts.sctpPort}`);
  const handler = (req: http.IncomingMessage, res: http.ServerResponse): void => {
    void handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(e.message);
    });
  };
  const server =
    opts.tlsCertFile !== undefined && opts.tlsCertFile !== ''
      ? https.createServer({ cert: readFileSync(opts.tlsCertFile), key: readFileSync(opts.tlsKeyFile || opts.tlsCertFile) }, handler)
      : http.createServer(handler);
  let shuttingDown = false;
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(opts.httpOverride || (req.url ?? '/'), 'http://x');
    const q = url.searchParams;
    const client = formatHostPort(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0);
    switch (url.pathname) {
      case '/clientip':
        log('GET /clientip');
        return goSend(res, 200, client);
      case '/hostname':
      case '/hostName':
        log(`GET ${url.pathname}`);
        return goSend(res, 200, host);
      case '/echo': {
        const code = q.get('code') ?? '';
        log(`GET /echo?msg=${q.get('msg') ?? ''}&code=${code}`);
        if (code !== '' && !/^[+-]?\d+$/.test(code)) return goSend(res, 200, `argument 'code' must be an integer or empty, got "${code}"\n`);
        return goSend(res, code === '' ? 200 : Number(code), q.get('msg') ?? '');
      }
      case '/healthz':
        log('GET /healthz');
        return goSend(res, udpReady ? 200 : 412, '');
      case '/shell': {
        const cmd = q.get('shellCommand') || (q.get('cmd') ?? '');
        log(`GET /shell?cmd=${cmd}`);
        return goSend(res, 200, await runShell(cmd));
      }
      case '/dial': {
        const r = await dial(q);
        return goSend(res, r.status, r.body);
      }
      case '/redirect': {
        const code = q.get('code') ?? '';
        const location = q.get('location') ?? '';
        log(`${req.method ?? 'GET'} /redirect?msg=${location}&code=${code}`);
        if (code !== '' && !/^[+-]?\d+$/.test(code)) return goSend(res, 200, `argument 'code' must be an integer or empty, got "${code}"\n`);
        const status = code === '' ? 302 : Number(code);
        const get = (req.method ?? 'GET') === 'GET';
        res.writeHead(status, { Location: location, ...(get || req.method === 'HEAD' ? { 'Content-Type': 'text/html; charset=utf-8' } : {}) });
        res.end(get ? `<a href="${htmlEscape(location)}">${http.STATUS_CODES[status] ?? ''}</a>.\n\n` : undefined);
        return;
      }
      case '/exit':
        return exitHandler(q, res);
      case '/shutdown':
        log('GET /shutdown');
        res.writeHead(200, { Connection: 'close' });
        res.end(() => exit(0));
        return;
      default:
        log('GET /');
        return goSend(res, 200, `NOW: ${goTimeString(new Date(), { monotonicSeconds: process.uptime() })}`);
    }
  }
  /** `/exit?code=&wait=&timeout=`: sleep `wait`, then exit now (timeout 0) or after a graceful shutdown. */
  async function exitHandler(q: URLSearchParams, res: http.ServerResponse): Promise<void> {
    const [codeStr, timeoutStr, waitStr] = [q.get('code') ?? '', q.get('timeout') ?? '', q.get('wait') ?? ''];
    log(`GET /exit?code=${codeStr}&timeout=${timeoutStr}&wait=${waitStr}`);
    const timeout = timeoutStr === '' ? 0 : parseGoDuration(timeoutStr);
    if (timeout === undefined) return goSend(res, 200, `argument 'timeout' must be a valid golang duration or empty, got "${timeoutStr}"\n`);
    const wait = waitStr === '' ? 0 : parseGoDuration(waitStr);
    if (wait === undefined) return goSend(res, 200, `argument 'wait' must be a valid golang duration or empty, got "${waitStr}"\n`);
    if (codeStr !== '' && !/^[+-]?\d+$/.test(codeStr)) return goSend(res, 200, `argument 'code' must be an integer [0-127] or empty, got "${codeStr}"\n`);
    const code = codeStr === '' ? 0 : Number(codeStr);
    log(`Will begin shutdown in ${goDurationString(wait)}, allowing ${goDurationString(timeout)} for connections to close, then will exit with ${code}`);
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    res.writeHead(200, { Connection: 'close' });
    if (timeout <= 0) {
      res.end(() => exit(code));
      return;
    }
    res.end();
    if (shuttingDown) return;
    shuttingDown = true;
    // Graceful: stop accepting, let in-flight requests finish, give up after `timeout`.
    const deadline = setTimeout(() => {
      log('Graceful shutdown completed with: context deadline exceeded');
      exit(code);
    }, timeout);
    server.close(() => {
      clearTimeout(deadline);
      log('Graceful shutdown completed with: <nil>');
      exit(code);
    });
    server.closeIdleConnections();
  }
  const httpPort = await listenHttp(server, opts.httpPort);
  log(`Started HTTP server on port ${httpPort}`);
  return {
    httpPort,
    udpPort: udps.length === 0 ? -1 : udps[0]!.address().port,
    close: async (): Promise<void> => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      for (const u of udps) await new Promise<void>((r) => u.close(() => r()));
    },
  };
}

function htmlEscape(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&#34;', "'": '&#39;' })[c]!);
}

/** Starts serve-hostname listeners per flags; resolves to the bound port. */
async function serveHostname(flags: Flags): Promise<number> {
  const doTcp = boolFlag(flags, 'tcp');
  const doUdp = boolFlag(flags, 'udp');
  const doHttp = boolFlag(flags, 'http');
  const doClose = boolFlag(flags, 'close');
  let port = intFlag(flags, 'port');
  if (doHttp && (doTcp || doUdp)) throw new Error("Can't server TCP/UDP mode and HTTP mode at the same time");
  const host = osHostname();
  if (doTcp) {
    const srv = net.createServer((c) => {
      log(`TCP request from ${formatHostPort(c.remoteAddress ?? '', c.remotePort ?? 0)}`);
      c.end(host);
    });
    port = await listenHttp(srv, port);
  }
  if (doUdp) {
    const sock = await bindUdp(port);
    port = sock.address().port;
    sock.on('message', (_m, r) => {
      log(`UDP request from ${formatHostPort(r.address, r.port)}`);
      sock.send(host, r.port, r.address);
    });
  }
  if (doHttp) {
    const srv = http.createServer((req, res) => {
      log(`HTTP request from ${formatHostPort(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0)}`);
      res.writeHead(200, doClose ? { Connection: 'close' } : {});
      res.end(host);
    });
    port = await listenHttp(srv, port);
  }
  process.on('SIGTERM', () => {
    // agnhost keeps serving for 60s after SIGTERM ("awaiting pod deletion"), then exits 0.
    log('Shutting down after receiving signal: terminated.');
    log('Awaiting pod deletion.');
    setTimeout(() => process.exit(0), 60_000);
  });
  log(`Serving on port ${port}.`);
  return port;
}

/** `pause`: blocks until SIGINT/SIGTERM, then exits 0. */
function pause(): void {
  const timer = setInterval(() => undefined, 1 << 30);
  const onSignal = (sig: NodeJS.Signals): void => {
    clearInterval(timer);
    log(`Shutting down after receiving signal: ${sig === 'SIGTERM' ? 'terminated' : 'interrupt'}.`);
    log('Exiting');
    process.exit(0);
  };
  process.on('SIGTERM', onSignal);
  process.on('SIGINT', onSignal);
  // Printed only after the handlers exist, so a supervisor that signals on seeing it cannot race them.
  log('Paused');
}

/** Our stand-in for the image's /localhost.crt + /localhost.key (self-signed, localhost/127.0.0.1/::1, until 2086). */
export const LOCALHOST_CERT = `-----BEGIN CERTIFICATE-----
MIIB4zCCAYqgAwIBAgIUYdNOBLBS2qHdOg8Yjoq8ZmEt/WwwCgYIKoZIzj0EAwIw
LzEZMBcGA1UECgwQa3ViZWxpdGUgYWduaG9zdDESMBAGA1UEAwwJbG9jYWxob3N0
MCAXDTI2MTEyNjE2NTg1MFoYDzIwODYxMTExMTY1ODUwWjAvMRkwFwYDVQQKDBBr
dWJlbGl0ZSBhZ25ob3N0MRIwEAYDVQQDDAlsb2NhbGhvc3QwWTATBgcqhkjOPQIB
BggqhkjOPQMBBwNCAAT9QLZLJb0NHtDcXkCmnf/hxB/Mglm1NJBiLHRnVZml5WQv
Q/bpmj5BNb0+fL8x0sLRryaxPHPIQ26XPfyOSJaAo4GBMH8wHQYDVR0OBBYEFNA7
LPDSPJ3BH+gC/qiRgEo3RpFiMB8GA1UdIwQYMBaAFNA7LPDSPJ3BH+gC/qiRgEo3
RpFiMA8GA1UdEwEB/wQFMAMBAf8wLAYDVR0RBCUwI4IJbG9jYWxob3N0hwR/AAAB
hxAAAAAAAAAAAAAAAAAAAAABMAoGCCqGSM49BAMCA0cAMEQCIBioVbZ47OmIMWVM
Td7u0yZOyLh9tBk3jTwZCluGrlCWAiAi+QMoGv1pZY6gEz/W783FlisBG8uP8Cdf
igUEpJuhWQ==
-----END CERTIFICATE-----
`;
export const LOCALHOST_KEY = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgmW8C33TQmFbqEzpz
exYQO6XcWFEFPTQhCEaRuY//U8uhRANCAAT9QLZLJb0NHtDcXkCmnf/hxB/Mglm1
NJBiLHRnVZml5WQvQ/bpmj5BNb0+fL8x0sLRryaxPHPIQ26XPfyOSJaA
-----END PRIVATE KEY-----
`;

/** One listener porter starts for an environment variable. */
export interface PorterListener {
  kind: 'tcp' | 'udp' | 'tls' | 'sctp';
  /** The environment variable's name, e.g. SERVE_PORT_9001. */
  key: string;
  /** The text after the prefix, as agnhost uses it (not validated yet). */
  port: string;
  value: string;
}

const PORTER_PREFIXES: ReadonlyArray<[string, PorterListener['kind']]> = [
  ['SERVE_PORT_', 'tcp'],
  ['SERVE_TCP_PORT_', 'tcp'],
  ['SERVE_UDP_PORT_', 'udp'],
  ['SERVE_SCTP_PORT_', 'sctp'],
  ['SERVE_TLS_PORT_', 'tls'],
];

/** porter's plan: one listener per `SERVE_{PORT,TCP_PORT,UDP_PORT,TLS_PORT,SCTP_PORT}_<port>` variable. */
export function porterPlan(env: Record<string, string | undefined>): PorterListener[] {
  const out: PorterListener[] = [];
  for (const [key, value] of Object.entries(env)) {
    if (value === undefined) continue;
    const hit = PORTER_PREFIXES.find(([prefix]) => key.startsWith(prefix));
    if (hit !== undefined) out.push({ kind: hit[1], key, port: key.slice(hit[0].length), value });
  }
  return out;
}

/** porter's HTTP(S) body: the value, or `{"Method":..,"Body":..}` with --json-response. */
function porterHandler(value: string, json: boolean): http.RequestListener {
  return (req, res) => {
    if (json) goSend(res, 200, goJson({ Method: req.method ?? 'GET', Body: value }), 'application/json');
    else goSend(res, 200, value);
  };
}

/**
 * The TLS pair porter uses: $CERT_FILE/$KEY_FILE, else localhost.{crt,key} (cwd, then /), else the
 * embedded pair when neither variable is set and no such file exists. `load` throws on unreadable files.
 */
function porterTlsPair(): { certFile: string; keyFile: string; load(): { cert: string | Buffer; key: string | Buffer } } {
  const certEnv = process.env['CERT_FILE'] ?? '';
  const keyEnv = process.env['KEY_FILE'] ?? '';
  const certFile = certEnv || (existsSync('localhost.crt') ? 'localhost.crt' : '/localhost.crt');
  const keyFile = keyEnv || (existsSync('localhost.key') ? 'localhost.key' : '/localhost.key');
  if (certEnv === '' && keyEnv === '' && !existsSync(certFile)) {
    return { certFile: 'localhost.crt', keyFile: 'localhost.key', load: () => ({ cert: LOCALHOST_CERT, key: LOCALHOST_KEY }) };
  }
  return { certFile, keyFile, load: () => ({ cert: readFileSync(certFile), key: readFileSync(keyFile) }) };
}

/**
 * `porter`: serves each SERVE_* variable's value on its port. As in agnhost, a TCP/TLS listener that
 * fails only logs (`server on port "x" failed: ...`) and a UDP one that fails exits 1; porter keeps
 * running even with nothing to serve. Each started listener logs `Started <kind> server on port <bound> (<VAR>)`.
 */
async function porter(flags: Flags, env: Record<string, string | undefined>): Promise<void> {
  const json = boolFlag(flags, 'json-response');
  setInterval(() => undefined, 1 << 30); // agnhost blocks forever (select {})
  for (const l of porterPlan(env)) {
    const portErr = checkPort(l.port, l.kind === 'udp' ? 'udp' : 'tcp');
    const port = l.port === '' ? 0 : Number(l.port);
    if (l.kind === 'sctp') {
      log(`SCTP is not supported by this agnhost; not serving ${l.key}`);
    } else if (l.kind === 'udp') {
      if (portErr !== undefined) fatal(`UDP: failed to resolve address: ${portErr}`);
      const sock = await bindUdp(port).catch((e: Error) => fatal(`UDP: failed to listen on port ${l.port}: ${e.message}`));
      sock.on('message', (_m, r) => sock.send(l.value, r.port, r.address));
      log(`Started UDP server on port ${sock.address().port} (${l.key})`);
    } else {
      let server: http.Server;
      let failPrefix = `server on port "${l.port}" failed`;
      try {
        if (l.kind === 'tls') {
          const pair = porterTlsPair();
          failPrefix = `tls server on port "${l.port}" with certFile="${pair.certFile}", keyFile="${pair.keyFile}" failed`;
          server = https.createServer(pair.load(), porterHandler(l.value, json));
        } else server = http.createServer(porterHandler(l.value, json));
        if (portErr !== undefined) throw new Error(`listen tcp: ${portErr}`);
        const bound = await listenHttp(server, port);
        log(`Started ${l.kind === 'tls' ? 'HTTPS' : 'HTTP'} server on port ${bound} (${l.key})`);
      } catch (e) {
        log(`${failPrefix}: ${(e as Error).message}`);
      }
    }
  }
}

function fatal(msg: string): never {
  log(msg);
  process.exit(1);
}

/** How `connect` ended: exit code and the stderr text (agnhost's fixed prefixes UNKNOWN/TIMEOUT/DNS/REFUSED/OTHER). */
export interface ConnectOutcome {
  code: number;
  stderr: string;
}

/** Go net.SplitHostPort; returns the error text for malformed input. */
export function splitHostPort(dest: string): { host: string; port: string } | { error: string } {
  const missing = { error: `address ${dest}: missing port in address` };
  if (dest.startsWith('[')) {
    const end = dest.indexOf(']');
    if (end < 0) return { error: `address ${dest}: missing ']' in address` };
    if (dest[end + 1] !== ':') return end + 1 === dest.length ? missing : { error: `address ${dest}: unexpected ']' in address` };
    return { host: dest.slice(1, end), port: dest.slice(end + 2) };
  }
  const i = dest.lastIndexOf(':');
  if (i < 0) return missing;
  const host = dest.slice(0, i);
  if (host.includes(':')) return { error: `address ${dest}: too many colons in address` };
  return { host, port: dest.slice(i + 1) };
}

/** Classifies a failed TCP connect like agnhost: timeouts → TIMEOUT, ECONNREFUSED → REFUSED, else OTHER. */
export function classifyTcpError(code: string | undefined, dest: string): string {
  if (code === 'ETIMEDOUT') return 'TIMEOUT\n';
  if (code === 'ECONNREFUSED') return 'REFUSED\n';
  return `OTHER: dial tcp ${dest}: connect: ${strerror(code ?? 'unknown error')}\n`;
}

/**
 * `connect <host:port>`: one TCP connection (or one UDP request/reply) attempt. Success is exit 0
 * with no output; every failure is exit 1 with a prefixed line on stderr, which is how agnhost
 * (and the e2e tests reading it) tell failures apart. `timeoutMs` 0 means no timeout.
 */
export async function connect(dest: string, opts: { timeoutMs: number; protocol: string; udpData: string }): Promise<ConnectOutcome> {
  const fail = (stderr: string): ConnectOutcome => ({ code: 1, stderr });
  if (!['', 'tcp', 'udp', 'sctp'].includes(opts.protocol)) return fail(`Unsupported protocol\n${opts.protocol}`);
  const hp = splitHostPort(dest);
  if ('error' in hp) return fail(`${opts.protocol === 'udp' || opts.protocol === 'sctp' ? 'DNS' : 'UNKNOWN'}: ${hp.error}\n`);
  const portErr = checkPort(hp.port, opts.protocol || 'tcp');
  let ip: string;
  try {
    if (portErr !== undefined) throw new Error(portErr);
    ip = await resolveHost(hp.host);
  } catch (e) {
    return fail(`DNS: ${(e as Error).message}\n`);
  }
  const port = hp.port === '' ? 0 : Number(hp.port);
  if (opts.protocol === 'sctp') return fail('OTHER: socket: protocol not supported\n');
  if (opts.protocol === 'udp') {
    try {
      const reply = await udpExchange(`${opts.udpData}\n`, ip, { port, timeoutMs: opts.timeoutMs });
      if (reply.length === 0) return fail('OTHER: No data received from the server. Cannot guarantee the server received the request.\n');
      return { code: 0, stderr: '' };
    } catch (e) {
      const msg = (e as Error).message;
      if (msg.endsWith('i/o timeout')) return fail(`TIMEOUT: ${msg}\n`);
      if (msg.includes('connection refused')) return fail(`REFUSED: ${msg}\n`);
      return fail(`UNKNOWN: ${msg}\n`);
    }
  }
  return new Promise((resolve) => {
    const sock = net.connect({ host: ip, port });
    const timer = opts.timeoutMs > 0 ? setTimeout(() => done(fail('TIMEOUT\n')), opts.timeoutMs) : undefined;
    function done(o: ConnectOutcome): void {
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    }
    sock.once('connect', () => done({ code: 0, stderr: '' }));
    sock.once('error', (e: NodeJS.ErrnoException) => done(fail(classifyTcpError(e.code, formatHostPort(ip, port)))));
  });
}

/**
 * Process entry point: `argv` is what follows the script path. Starts the subcommand and returns;
 * long-running servers keep the process alive. Errors print cobra-style and exit 1.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined) throw new Error(`a subcommand is required (${SUBCOMMANDS.join(', ')})`);
    const { flags, args } = parseArgs(sub, rest);
    if (sub === 'netexec') {
      await startNetexec({
        httpPort: intFlag(flags, 'http-port'),
        udpPort: intFlag(flags, 'udp-port'),
        sctpPort: intFlag(flags, 'sctp-port'),
        udpAddresses: parseUdpAddresses(flags.get('udp-listen-addresses') ?? ''),
        tlsCertFile: flags.get('tls-cert-file'),
        tlsKeyFile: flags.get('tls-private-key-file'),
        httpOverride: flags.get('http-override'),
      });
    } else if (sub === 'serve-hostname') {
      await serveHostname(flags);
    } else if (sub === 'porter') {
      await porter(flags, process.env);
    } else if (sub === 'connect') {
      const raw = flags.get('timeout') ?? '0s';
      const timeoutMs = parseGoDuration(raw);
      if (timeoutMs === undefined) throw new Error(`invalid argument "${raw}" for "--timeout" flag: time: invalid duration "${raw}"`);
      const o = await connect(args[0]!, { timeoutMs, protocol: flags.get('protocol') ?? 'tcp', udpData: flags.get('udp-data') ?? 'hostname' });
      process.stderr.write(o.stderr);
      process.exit(o.code);
    } else {
      pause();
    }
  } catch (e) {
    process.stderr.write(`Error: ${(e as Error).message}\n`);
    process.exit(1);
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  void main(process.argv.slice(2));
}
