/**
 * One-shot container probe checks (httpGet, tcpSocket, exec, grpc), after the kubelet's
 * pkg/probe/{http,tcp,exec}. Each check runs once and reports an outcome; timing, thresholds and
 * gating live in the worker (worker.ts), which gets these checks injected so it can be tested
 * with fakes.
 *
 * Outcome contract: 'success' and 'failure' are probe verdicts; 'unknown' means the probe could
 * not be run at all (e.g. a named port that the container does not declare). The kubelet throws
 * such results away rather than counting them, and so does our worker.
 */
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { grpcHealthCheck } from './grpc.js';

export type ProbeResult = 'success' | 'failure' | 'unknown';

export interface CheckOutcome {
  result: ProbeResult;
  message: string;
}

/** The probe handler fields of core/v1 Probe (camelCase, as stored in pod specs). */
export interface ProbeHandler {
  httpGet?: {
    path?: string;
    port: number | string;
    host?: string;
    scheme?: string;
    httpHeaders?: { name: string; value: string }[];
  };
  tcpSocket?: { port: number | string; host?: string };
  exec?: { command?: string[] };
  grpc?: { port: number; service?: string };
}

/** core/v1 Probe: a handler plus its timing fields (all optional; defaults applied by the worker). */
export interface ProbeSpec extends ProbeHandler {
  initialDelaySeconds?: number;
  timeoutSeconds?: number;
  periodSeconds?: number;
  successThreshold?: number;
  failureThreshold?: number;
  terminationGracePeriodSeconds?: number;
}

export interface ContainerPort {
  name?: string;
  containerPort: number;
  protocol?: string;
}

/** Runs a command in the container; the agent's runtime supplies it. */
export type ExecFn = (cmd: string[], timeoutMs: number) => Promise<{ exitCode: number; output?: string }>;

export interface CheckContext {
  /** Pod IP; the default host for httpGet and tcpSocket. */
  podIP: string;
  /** The container's declared ports, for resolving named probe ports. */
  ports?: ContainerPort[];
  exec?: ExecFn;
}

/** Max body bytes kept for the message, like the kubelet's 10 KiB limit. */
const MAX_BODY = 10 * 1024;
const MAX_REDIRECTS = 10;
/** The kubelet's probe User-Agent (major.minor of the version we emulate). */
export const PROBE_USER_AGENT = 'kube-probe/1.32';

/**
 * Resolves a probe port: a number (or numeric string) as is; otherwise the name of one of the
 * container's ports. Throws with the kubelet's wording when absent or out of range.
 */
export function resolvePort(port: number | string, ports: ContainerPort[] = []): number {
  let n: number;
  if (typeof port === 'number') n = port;
  else if (/^[0-9]+$/.test(port)) n = Number(port);
  else {
    const found = ports.find((p) => p.name === port);
    if (!found) throw new Error(`couldn't find port: ${port} in container`);
    n = found.containerPort;
  }
  if (!Number.isInteger(n) || n <= 0 || n >= 65536) throw new Error(`invalid port number: ${n}`);
  return n;
}

/** Picks the handler that is set and runs it once with a timeout. */
export async function runCheck(probe: ProbeHandler, timeoutMs: number, ctx: CheckContext): Promise<CheckOutcome> {
  try {
    if (probe.exec) {
      if (!ctx.exec) return { result: 'unknown', message: 'exec probes need a runtime exec function' };
      return await execCheck(probe.exec.command ?? [], timeoutMs, ctx.exec);
    }
    if (probe.httpGet) {
      const g = probe.httpGet;
      const port = resolvePort(g.port, ctx.ports);
      return await httpGetCheck(
        { scheme: g.scheme, host: g.host || ctx.podIP, port, path: g.path, headers: g.httpHeaders },
        timeoutMs,
      );
    }
    if (probe.tcpSocket) {
      const port = resolvePort(probe.tcpSocket.port, ctx.ports);
      return await tcpCheck(probe.tcpSocket.host || ctx.podIP, port, timeoutMs);
    }
    if (probe.grpc) {
      const port = resolvePort(probe.grpc.port);
      return await grpcCheck({ host: ctx.podIP, port, service: probe.grpc.service ?? '' }, timeoutMs);
    }
    return { result: 'unknown', message: 'missing probe handler' };
  } catch (e) {
    return { result: 'unknown', message: (e as Error).message };
  }
}

/**
 * grpc: the standard health service's Check RPC against the pod IP (grpc.ts). Kept under this
 * name so callers of the checks module need not know where it lives.
 */
export const grpcCheck = grpcHealthCheck;

/** exec: exit code 0 is success; the command's output (if any) is the message, as in kube. */
export async function execCheck(cmd: string[], timeoutMs: number, exec: ExecFn): Promise<CheckOutcome> {
  try {
    const r = await exec(cmd, timeoutMs);
    if (r.exitCode === 0) return { result: 'success', message: r.output ?? '' };
    return { result: 'failure', message: r.output || `command ${JSON.stringify(cmd.join(' '))} exited with ${r.exitCode}` };
  } catch (e) {
    const msg = (e as Error).message;
    if (/timed? ?out/i.test(msg)) return { result: 'failure', message: `command timed out: ${msg}` };
    return { result: 'unknown', message: msg };
  }
}

/** tcpSocket: success when a connection opens within the timeout; closed immediately. */
export function tcpCheck(host: string, port: number, timeoutMs: number): Promise<CheckOutcome> {
  const addr = host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
  return new Promise((resolve) => {
    const sock = net.connect({ host, port });
    let done = false;
    const finish = (o: CheckOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve(o);
    };
    const timer = setTimeout(() => finish({ result: 'failure', message: `dial tcp ${addr}: i/o timeout` }), timeoutMs);
    sock.once('connect', () => finish({ result: 'success', message: '' }));
    sock.once('error', (e: NodeJS.ErrnoException) =>
      finish({ result: 'failure', message: `dial tcp ${addr}: connect: ${errnoText(e)}` }),
    );
  });
}

function errnoText(e: NodeJS.ErrnoException): string {
  switch (e.code) {
    case 'ECONNREFUSED':
      return 'connection refused';
    case 'EHOSTUNREACH':
      return 'no route to host';
    case 'ENETUNREACH':
      return 'network is unreachable';
    case 'ECONNRESET':
      return 'connection reset by peer';
    default:
      return e.message;
  }
}

export interface HttpGetTarget {
  scheme?: string;
  host: string;
  port: number;
  path?: string;
  headers?: { name: string; value: string }[];
}

/** Builds the probe URL the way the kubelet does (path gets a leading slash). */
export function probeURL(t: HttpGetTarget): URL {
  const scheme = (t.scheme ?? 'HTTP').toLowerCase() === 'https' ? 'https' : 'http';
  const host = t.host.includes(':') && !t.host.startsWith('[') ? `[${t.host}]` : t.host;
  let path = t.path ?? '';
  if (!path.startsWith('/')) path = '/' + path;
  return new URL(`${scheme}://${host}:${t.port}${path}`);
}

/**
 * httpGet: 200–399 is success, anything else failure with kube's message. Redirects are followed
 * (up to 10) only while they stay on the same host; a redirect elsewhere ends the chain and its 3xx
 * counts as success with "Probe terminated redirects". HTTPS certificates are not verified. The
 * timeout covers the whole exchange, redirects included.
 */
export async function httpGetCheck(t: HttpGetTarget, timeoutMs: number): Promise<CheckOutcome> {
  const headers: Record<string, string> = { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*' };
  let hostHeader: string | undefined;
  for (const h of t.headers ?? []) {
    if (h.name.toLowerCase() === 'host') hostHeader = h.value;
    else {
      for (const k of Object.keys(headers)) if (k.toLowerCase() === h.name.toLowerCase()) delete headers[k];
      headers[h.name] = h.value;
    }
  }
  if (hostHeader !== undefined) headers.Host = hostHeader;
  const deadline = Date.now() + timeoutMs;
  let url = probeURL(t);
  const firstHost = url.hostname;
  for (let redirects = 0; ; redirects++) {
    const left = deadline - Date.now();
    if (left <= 0) return timeoutOutcome(url);
    let res: { status: number; location?: string; body: string };
    try {
      res = await httpRequest(url, headers, left);
    } catch (e) {
      return { result: 'failure', message: (e as Error).message };
    }
    if (res.status >= 300 && res.status < 400 && res.location) {
      const next = new URL(res.location, url);
      if (next.hostname !== firstHost) {
        return { result: 'success', message: `Probe terminated redirects, Response body: ${res.body}` };
      }
      if (redirects + 1 >= MAX_REDIRECTS) {
        return { result: 'failure', message: `Get "${next.href}": stopped after ${MAX_REDIRECTS} redirects` };
      }
      url = next;
      continue;
    }
    if (res.status >= 200 && res.status < 400) return { result: 'success', message: res.body };
    return { result: 'failure', message: `HTTP probe failed with statuscode: ${res.status}` };
  }
}

function timeoutOutcome(url: URL): CheckOutcome {
  return {
    result: 'failure',
    message: `Get "${url.href}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)`,
  };
}

function httpRequest(
  url: URL,
  headers: Record<string, string>,
  timeoutMs: number,
): Promise<{ status: number; location?: string; body: string }> {
  return new Promise((resolve, reject) => {
    const mod = url.protocol === 'https:' ? https : http;
    const req = mod.request(url, { method: 'GET', headers, rejectUnauthorized: false, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_BODY) chunks.push(c);
        size += c.length;
      });
      res.on('end', () => {
        clearTimeout(timer);
        const body = Buffer.concat(chunks).subarray(0, MAX_BODY).toString('utf8');
        resolve({ status: res.statusCode ?? 0, location: res.headers.location, body });
      });
      res.on('error', (e) => {
        clearTimeout(timer);
        reject(new Error(`Get "${url.href}": ${e.message}`));
      });
    });
    const timer = setTimeout(() => {
      req.destroy();
      reject(new Error(timeoutOutcome(url).message));
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      const addr = `${url.hostname}:${url.port}`;
      const detail = e.code && e.syscall === 'connect' ? `dial tcp ${addr}: connect: ${errnoText(e)}` : e.message;
      reject(new Error(`Get "${url.href}": ${detail}`));
    });
    req.end();
  });
}
