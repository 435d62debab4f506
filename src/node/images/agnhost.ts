/**
 * Our own implementation of the most used subcommands of the Kubernetes e2e test image `agnhost`
 * (registry.k8s.io/e2e-test-images/agnhost): `netexec`, `serve-hostname` and `pause`.
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
 */
import * as http from 'node:http';
import * as net from 'node:net';
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
  pause: {},
};

/** Subcommands this implementation knows. */
export const SUBCOMMANDS: readonly string[] = Object.keys(FLAG_SPECS);

/**
 * Parses pflag-style arguments (`--name=value`, `--name value`, bare `--bool`) for `subcommand`,
 * filling agnhost's defaults. Throws `Error('unknown flag: --x')` like cobra for unknown flags.
 */
export function parseFlags(subcommand: string, args: readonly string[]): Flags {
  const spec = FLAG_SPECS[subcommand];
  if (spec === undefined) throw new Error(`unknown command "${subcommand}" for "agnhost"`);
  const out: Flags = new Map(Object.entries(spec).map(([k, v]) => [k, v.def]));
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    const m = /^--?([^=]+)(?:=(.*))?$/s.exec(arg);
    if (m === null) throw new Error(`unexpected argument "${arg}"`);
    const name = m[1]!;
    const s = spec[name];
    if (s === undefined) throw new Error(`unknown flag: --${name}`);
    let value = m[2];
    if (value === undefined) {
      if (s.bool === true) value = 'true';
      else if (i + 1 < args.length) value = args[++i]!;
      else throw new Error(`flag needs an argument: --${name}`);
    }
    out.set(name, value);
  }
  return out;
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

/** Time in Go's default `time.Time` String() layout (`2006-01-02 15:04:05.999999999 -0700 MST`), UTC. */
export function goTimeString(d: Date): string {
  const iso = d.toISOString(); // 2026-11-26T15:45:18.123Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}000000 +0000 UTC`;
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

/** Sends one HTTP GET and resolves to the body; rejects with a Go-like error message. */
function dialHttp(request: string, hostPort: string): Promise<string> {
  const url = `http://${hostPort}/${request}`;
  return new Promise((resolve, reject) => {
    const req = http.get(url, { agent: false, timeout: 5000 }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
      res.on('error', (e) => reject(new Error(`Get "${url}": ${e.message}`)));
    });
    req.on('timeout', () => req.destroy(new Error('context deadline exceeded (Client.Timeout exceeded while awaiting headers)')));
    req.on('error', (e: NodeJS.ErrnoException) => {
      const msg = e.code === 'ECONNREFUSED' ? `dial tcp ${hostPort}: connect: connection refused` : e.message;
      reject(new Error(`Get "${url}": ${msg}`));
    });
  });
}

/** Sends one datagram and waits up to `timeoutMs` for one reply datagram. */
function dialUdp(request: string, host: string, port: number, timeoutMs = 5000): Promise<string> {
  const sock = dgram.createSocket(net.isIPv6(host) ? 'udp6' : 'udp4');
  return new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`reading from udp connection failed. err:'read udp ${formatHostPort(host, port)}: i/o timeout'`)), timeoutMs);
    sock.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const msg = e.code === 'ECONNREFUSED' ? `read udp ${formatHostPort(host, port)}: recvfrom: connection refused` : e.message;
      reject(new Error(`reading from udp connection failed. err:'${msg}'`));
    });
    sock.on('message', (msg) => {
      clearTimeout(timer);
      resolve(msg.toString('utf8'));
    });
    sock.connect(port, host, () => sock.send(request));
  }).finally(() => {
    try {
      sock.close();
    } catch {
      // already closed
    }
  });
}

interface DialResult {
  status: number;
  body: string;
}

/** Implements `/dial`: validation messages, tries, and agnhost's JSON quirks. */
export async function dial(query: URLSearchParams): Promise<DialResult> {
  const host = query.get('host') ?? '';
  const port = query.get('port') ?? '';
  const request = query.get('request') ?? '';
  const protocol = (query.get('protocol') ?? '').toLowerCase();
  const tryParam = query.get('tries') ?? '';
  let tries = 1;
  if (tryParam !== '') {
    if (!/^[+-]?\d+$/.test(tryParam)) {
      return { status: 400, body: `tries parameter is invalid. strconv.Atoi: parsing "${tryParam}": invalid syntax\n` };
    }
    tries = Number(tryParam);
  }
  if (request === '') return { status: 400, body: 'request parameter not specified. <nil>\n' };
  if (!['', 'http', 'udp'].includes(protocol)) {
    return { status: 400, body: `unsupported protocol. ${query.get('protocol') ?? ''}\n` };
  }
  const portNum = Number(port);
  if (!/^\d+$/.test(port) || portNum > 65535 || host.includes(' ')) {
    return { status: 400, body: `host and/or port param are invalid. address ${host}:${port}: invalid port\n` };
  }
  const hostPort = net.isIPv6(host) ? `[${host}]:${port}` : `${host}:${port}`;
  const responses: string[] = [];
  const errors: string[] = [];
  let last = '';
  for (let i = 0; i < tries; i++) {
    try {
      last = protocol === 'udp' ? await dialUdp(request, host, portNum) : await dialHttp(request, hostPort);
      responses.push(last);
    } catch (e) {
      last = '';
      errors.push((e as Error).message);
    }
  }
  // agnhost only includes "responses" when the last attempt returned a non-empty body.
  const output: Record<string, string[]> = {};
  if (last.length > 0) output['responses'] = responses;
  if (errors.length > 0) output['errors'] = errors;
  return { status: 200, body: JSON.stringify(output) };
}

/** Runs `cmd` via /bin/sh -c, returning agnhost's `/shell` JSON (`output` combined, `error`). */
function runShell(cmd: string): Promise<string> {
  return new Promise((resolve) => {
    // Combined output: stderr is redirected into stdout by the shell itself, keeping ordering.
    execFile('/bin/sh', ['-c', `exec 2>&1; ${cmd}`], { maxBuffer: 16 << 20 }, (err, stdout) => {
      const out: Record<string, string> = {};
      if (stdout.length > 0) out['output'] = stdout;
      if (err !== null) {
        const code = (err as { code?: unknown }).code;
        out['error'] = typeof code === 'number' ? `exit status ${code}` : err.message;
      }
      resolve(JSON.stringify(out));
    });
  });
}

/** Per-process exit hook, replaceable so the HTTP handler stays testable in-process. */
export interface NetexecOptions {
  httpPort: number;
  udpPort: number;
  exit?: (code: number) => void;
}

/** A running netexec server set. */
export interface Netexec {
  httpPort: number;
  /** Bound UDP port, or -1 when disabled. */
  udpPort: number;
  close(): Promise<void>;
}

/** Starts netexec's HTTP server and (unless udpPort is -1) its UDP server. */
export async function startNetexec(opts: NetexecOptions): Promise<Netexec> {
  const exit = opts.exit ?? ((code: number): never => process.exit(code));
  const host = osHostname();
  let udpReady = false;
  let udp: dgram.Socket | undefined;
  if (opts.udpPort !== -1) {
    udp = await bindUdp(opts.udpPort);
    const sock = udp;
    sock.on('message', (msg, rinfo) => {
      const client = formatHostPort(rinfo.address, rinfo.port);
      const reply = udpReply(msg.toString('utf8'), client, host);
      if (reply !== undefined) sock.send(reply, rinfo.port, rinfo.address);
      else if (msg.toString().trim() !== '') log(`Unknown UDP command received from ${client}: ${msg.toString().trim()}`);
    });
    udpReady = true;
  }
  const server = http.createServer((req, res) => {
    void handle(req, res).catch((e: Error) => {
      if (!res.headersSent) res.writeHead(500);
      res.end(e.message);
    });
  });
  const send = (res: http.ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void => {
    res.writeHead(status, { 'Content-Type': type });
    res.end(body);
  };
  async function handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const url = new URL(req.url ?? '/', 'http://x');
    const q = url.searchParams;
    const client = formatHostPort(req.socket.remoteAddress ?? '', req.socket.remotePort ?? 0);
    log(`${req.method ?? 'GET'} ${url.pathname}${url.search}`);
    switch (url.pathname) {
      case '/clientip':
        return send(res, 200, client);
      case '/hostname':
      case '/hostName':
        return send(res, 200, host);
      case '/echo': {
        const code = q.get('code') ?? '';
        if (code !== '' && !/^\d+$/.test(code)) return send(res, 200, `argument 'code' must be an integer or empty, got "${code}"\n`);
        return send(res, code === '' ? 200 : Number(code), q.get('msg') ?? '');
      }
      case '/healthz':
        return send(res, udpReady ? 200 : 412, '');
      case '/shell': {
        const cmd = q.get('shellCommand') || (q.get('cmd') ?? '');
        return send(res, 200, await runShell(cmd));
      }
      case '/dial': {
        const r = await dial(q);
        return send(res, r.status, r.body);
      }
      case '/redirect': {
        const code = q.get('code') ?? '';
        if (code !== '' && !/^\d+$/.test(code)) return send(res, 200, `argument 'code' must be an integer or empty, got "${code}"\n`);
        res.writeHead(code === '' ? 302 : Number(code), { Location: q.get('location') ?? '' });
        res.end();
        return;
      }
      case '/exit': {
        const codeStr = q.get('code') ?? '';
        if (codeStr !== '' && !/^[+-]?\d+$/.test(codeStr)) {
          return send(res, 200, `argument 'code' must be an integer [0-127] or empty, got "${codeStr}"\n`);
        }
        const code = codeStr === '' ? 0 : Number(codeStr);
        log(`Will begin shutdown, then will exit with ${code}`);
        res.writeHead(200, { Connection: 'close' });
        res.end(() => exit(code));
        return;
      }
      case '/shutdown':
        res.writeHead(200, { Connection: 'close' });
        res.end(() => exit(0));
        return;
      default:
        return send(res, 200, `NOW: ${goTimeString(new Date())}`);
    }
  }
  const httpPort = await listenHttp(server, opts.httpPort);
  log(`Started HTTP server on port ${httpPort}`);
  const udpPort = udp === undefined ? -1 : udp.address().port;
  if (udp !== undefined) log(`Started UDP server on port ${bindAddress() ?? ''} ${udpPort}`);
  return {
    httpPort,
    udpPort,
    close: async (): Promise<void> => {
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
      if (udp !== undefined) await new Promise<void>((r) => udp!.close(() => r()));
    },
  };
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

/**
 * Process entry point: `argv` is what follows the script path. Starts the subcommand and returns;
 * long-running servers keep the process alive. Errors print cobra-style and exit 1.
 */
export async function main(argv: readonly string[]): Promise<void> {
  const [sub, ...rest] = argv;
  try {
    if (sub === undefined) throw new Error(`a subcommand is required (${SUBCOMMANDS.join(', ')})`);
    const flags = parseFlags(sub, rest);
    if (sub === 'netexec') {
      await startNetexec({ httpPort: intFlag(flags, 'http-port'), udpPort: intFlag(flags, 'udp-port') });
    } else if (sub === 'serve-hostname') {
      await serveHostname(flags);
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
