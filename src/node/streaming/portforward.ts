/**
 * The server side of `kubectl port-forward`, as the kubelet's streaming server does it
 * (protocol `portforward.k8s.io`), reachable three ways:
 *  (a) HTTP upgrade to SPDY/3.1 (kubectl's fallback, and all kubectl before 1.31);
 *  (b) a WebSocket with subprotocol `SPDY/3.1+portforward.k8s.io` whose binary messages carry the
 *      same SPDY byte stream (kubectl 1.31+ tries this first; no SPDY HTTP upgrade happens inside);
 *  (c) the older WebSocket channel protocol (`v4.channel.k8s.io` etc.): ports from the `port` query
 *      parameter, channel 2i = data and 2i+1 = error for the i-th port, each channel's first message
 *      being the port as 2 bytes little-endian.
 *
 * SPDY contract (kube's httpstream handler): the client opens streams in pairs sharing a
 * `requestid` header, one `streamtype: error` and one `streamtype: data`, both with `port`. Once both
 * are present the target is dialled; bytes are copied both ways with half-close (client FIN → FIN
 * to the target; target EOF → FIN on the data stream). A failure is written as text on the error
 * stream ("error forwarding port P to pod ID, uid UID: ..."), then both streams are closed. The
 * session lives until the client disconnects; each connection kubectl accepts locally is a new pair.
 *
 * Mounting (any http or https server):
 *   server.on('upgrade', (req, socket, head) => {
 *     if (isPortForwardPath(req.url)) servePortForward(req, socket, head, { dial: (p) => dialTcp('10.0.0.5', p) });
 *   });
 * For plain (non-upgrade) requests kube answers 400; route only upgrade requests here.
 */
import net from 'node:net';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { SpdySession, SpdyStream, upgradeSpdy, rejectUpgrade } from './spdy.js';
import { acceptWebSocket, isWebSocketUpgrade, offeredProtocols, webSocketStream, type WebSocketConn } from './websocket.js';

export const PORT_FORWARD_PROTOCOL_V1 = 'portforward.k8s.io';
/** Prefix kubectl puts on the tunnelled stream protocol in Sec-WebSocket-Protocol. */
export const SPDY_TUNNEL_PREFIX = 'SPDY/3.1+';
export const TUNNEL_PROTOCOL = SPDY_TUNNEL_PREFIX + PORT_FORWARD_PROTOCOL_V1;
/** kube's default stream creation timeout: how long one half of a pair waits for the other. */
export const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

/** WebSocket channel protocols for (c), in server preference order ('' = a client offering none). */
const CHANNEL_PROTOCOLS = ['v4.channel.k8s.io', 'v4.base64.channel.k8s.io', 'channel.k8s.io', 'base64.channel.k8s.io', ''];

export interface PortForwardOptions {
  /** Connects to the pod's port. The returned socket should allow half-open (net.connect `allowHalfOpen: true`). */
  dial: (port: number) => Promise<Duplex>;
  /** If set, only these ports may be forwarded (others get an error on the error stream). */
  ports?: number[];
  /** Names used in error messages (the kubelet reports the sandbox id and an empty uid). */
  podName?: string;
  podUid?: string;
  streamCreationTimeoutMs?: number;
}

export interface PortForwardConnection {
  readonly transport: 'spdy' | 'websocket-tunnel' | 'websocket-channel';
  /** Resolves once the client connection is gone. */
  readonly done: Promise<void>;
  close(): void;
}

/** Go's rendering of a dial error (`dial tcp 10.0.0.5:8080: connect: connection refused`) from a Node one. */
export function describeDialError(err: unknown): string {
  const e = err as NodeJS.ErrnoException & { address?: string; port?: number };
  const texts: Record<string, string> = {
    ECONNREFUSED: 'connect: connection refused',
    ETIMEDOUT: 'i/o timeout',
    EHOSTUNREACH: 'connect: no route to host',
    ENETUNREACH: 'connect: network is unreachable',
  };
  const text = e?.code ? texts[e.code] : undefined;
  if (text && e.address !== undefined && e.port !== undefined) {
    const host = e.address.includes(':') ? `[${e.address}]` : e.address;
    return `dial tcp ${host}:${e.port}: ${text}`;
  }
  return e instanceof Error ? e.message : String(err);
}

/** A `dial` for a pod IP: TCP with half-close support, resolving once connected. */
export function dialTcp(host: string): (port: number) => Promise<Duplex> {
  return (port) =>
    new Promise((resolve, reject) => {
      const s = net.connect({ host, port, allowHalfOpen: true });
      s.once('connect', () => {
        s.removeListener('error', reject);
        resolve(s);
      });
      s.once('error', reject);
    });
}

/**
 * Serves one port-forward upgrade request; picks the transport from the request (see module
 * comment). Returns undefined when the upgrade was refused (an HTTP error was written).
 */
export function servePortForward(req: IncomingMessage, socket: Duplex, head: Buffer, opts: PortForwardOptions): PortForwardConnection | undefined {
  if (isWebSocketUpgrade(req)) {
    const offered = offeredProtocols(req);
    if (offered.some((p) => p.startsWith(SPDY_TUNNEL_PREFIX))) {
      const conn = acceptWebSocket(req, socket, head, { protocols: [TUNNEL_PROTOCOL] });
      if (!conn) return undefined;
      const session = new SpdySession(webSocketStream(conn), { role: 'server' });
      session.protocol = PORT_FORWARD_PROTOCOL_V1;
      return serveSpdySession(session, opts, 'websocket-tunnel');
    }
    return serveChannelPortForward(req, socket, head, opts);
  }
  const session = upgradeSpdy(req, socket, head, { protocols: [PORT_FORWARD_PROTOCOL_V1] });
  if (!session) return undefined;
  return serveSpdySession(session, opts, 'spdy');
}

interface Pair {
  data?: SpdyStream;
  error?: SpdyStream;
  timer?: NodeJS.Timeout;
}

/** Port-forward over an established SPDY session (server role). */
export function serveSpdySession(session: SpdySession, opts: PortForwardOptions, transport: PortForwardConnection['transport'] = 'spdy'): PortForwardConnection {
  const pairs = new Map<string, Pair>();
  const timeout = opts.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS;
  session.on('stream', (s: SpdyStream) => {
    const type = s.headers['streamtype'] ?? '';
    const port = s.headers['port'] ?? '';
    if (type === '' || port === '' || (type !== 'data' && type !== 'error')) {
      s.reset(); // kube rejects the stream: missing "streamType"/"port" header or invalid stream type
      return;
    }
    let requestId = s.headers['requestid'] ?? '';
    if (requestId === '') requestId = String(type === 'error' ? s.id : s.id - 2); // pre-requestID clients
    let pair = pairs.get(requestId);
    if (!pair) {
      const p: Pair = {};
      pair = p;
      pairs.set(requestId, p);
      p.timer = setTimeout(() => {
        pairs.delete(requestId);
        if (p.error) p.error.end(`(conn=${session.role}, request=${requestId}) timeout waiting for streams`);
        p.data?.reset();
      }, timeout);
      p.timer.unref?.();
    }
    if (pair[type]) {
      s.reset(); // duplicate stream for this request
      return;
    }
    pair[type] = s;
    if (pair.data && pair.error) {
      clearTimeout(pair.timer);
      pairs.delete(requestId);
      void forward(pair.data, pair.error, opts);
    }
  });
  const done = new Promise<void>((resolve) => session.once('close', () => resolve()));
  session.once('close', () => {
    for (const p of pairs.values()) clearTimeout(p.timer);
    pairs.clear();
  });
  return { transport, done, close: () => session.close() };
}

function forwardError(port: number, opts: PortForwardOptions, err: unknown): string {
  return `error forwarding port ${port} to pod ${opts.podName ?? ''}, uid ${opts.podUid ?? ''}: ${describeDialError(err)}`;
}

/** One forwarded connection: dial, then copy both ways with half-close; errors go to the error stream. */
async function forward(data: SpdyStream, error: SpdyStream, opts: PortForwardOptions): Promise<void> {
  const port = Number.parseInt(data.headers['port'] ?? '', 10);
  const fail = (err: unknown): void => {
    if (!error.destroyed && !error.writableEnded) error.end(forwardError(port, opts, err));
    if (!data.destroyed && !data.writableEnded) data.end();
  };
  error.resume(); // the client sends nothing on it; drain its FIN
  let upstream: Duplex;
  try {
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid port ${data.headers['port']}`);
    if (opts.ports && !opts.ports.includes(port)) throw new Error(`port ${port} is not allowed`);
    upstream = await opts.dial(port);
  } catch (e) {
    fail(e);
    return;
  }
  if (data.destroyed) {
    upstream.destroy();
    if (!error.destroyed) error.end();
    return;
  }
  let failed: unknown;
  upstream.on('error', (e) => {
    failed ??= e;
  });
  data.pipe(upstream); // client FIN → end() → TCP FIN
  upstream.pipe(data); // target EOF → FIN on the data stream
  await new Promise<void>((resolve) => {
    let left = 2;
    const one = (): void => {
      if (--left === 0) resolve();
    };
    data.once('close', () => {
      upstream.destroy();
      one();
    });
    upstream.once('close', () => {
      if (failed !== undefined) {
        fail(failed);
        data.destroy();
      }
      one();
    });
  });
  if (!error.destroyed && !error.writableEnded) error.end();
}

// ---------------------------------------------------------------------------------------------
// (c) WebSocket channel protocol port-forward (kubelet websocket.go)

/** Parses the `port` query parameters (repeatable, comma-separated) as the kubelet does. */
export function parseChannelPorts(url: string | undefined): number[] | string {
  const q = new URL(url ?? '/', 'http://x').searchParams.getAll('port');
  const ports: number[] = [];
  for (const v of q.flatMap((s) => s.split(','))) {
    const t = v.trim();
    if (!/^\d+$/.test(t) || Number(t) > 65535) return `unable to parse "${t}" as a port: invalid syntax`;
    if (Number(t) < 1) return `port "${t}" must be > 0`;
    ports.push(Number(t));
  }
  if (ports.length === 0) return 'query parameter "port" is required';
  return ports;
}

function serveChannelPortForward(req: IncomingMessage, socket: Duplex, head: Buffer, opts: PortForwardOptions): PortForwardConnection | undefined {
  const ports = parseChannelPorts(req.url);
  if (typeof ports === 'string') {
    rejectUpgrade(socket, 400, ports);
    return undefined;
  }
  const conn = acceptWebSocket(req, socket, head, { protocols: CHANNEL_PROTOCOLS });
  if (!conn) return undefined;
  const base64 = conn.protocol.includes('base64');
  const sendOn = (channel: number, payload: Buffer): void => {
    if (conn.closed) return;
    if (base64) conn.send(String(channel) + payload.toString('base64'), { binary: false });
    else conn.send(Buffer.concat([Buffer.from([channel]), payload]), { binary: true });
  };
  const upstreams = new Map<number, Duplex>();
  /** Bytes sent on a data channel before its dial finished. */
  const pending = new Map<number, Buffer[]>();
  const portBytes = (p: number): Buffer => {
    const b = Buffer.alloc(2);
    b.writeUInt16LE(p, 0);
    return b;
  };
  ports.forEach((port, i) => {
    sendOn(2 * i, portBytes(port));
    sendOn(2 * i + 1, portBytes(port));
  });
  ports.forEach((port, i) => {
    const reportError = (e: unknown): void => sendOn(2 * i + 1, Buffer.from(forwardError(port, opts, e)));
    const allowed = !opts.ports || opts.ports.includes(port);
    const dialing = allowed ? opts.dial(port) : Promise.reject(new Error(`port ${port} is not allowed`));
    dialing.then(
      (up) => {
        if (conn.closed) return void up.destroy();
        upstreams.set(2 * i, up);
        for (const b of pending.get(2 * i) ?? []) up.write(b);
        pending.delete(2 * i);
        up.on('data', (c: Buffer) => sendOn(2 * i, c));
        up.on('error', reportError);
      },
      reportError,
    );
  });
  conn.on('message', (data: Buffer, isBinary: boolean) => {
    let channel: number;
    let payload: Buffer;
    if (isBinary) {
      if (data.length === 0) return;
      channel = data[0]!;
      payload = data.subarray(1);
    } else {
      const text = data.toString('utf8');
      channel = Number(text[0]);
      payload = Buffer.from(text.slice(1), 'base64');
    }
    const up = upstreams.get(channel);
    if (up) up.write(payload);
    else if (channel % 2 === 0) pending.set(channel, [...(pending.get(channel) ?? []), payload]);
  });
  const done = new Promise<void>((resolve) =>
    (conn as WebSocketConn).once('close', () => {
      for (const up of upstreams.values()) up.destroy();
      resolve();
    }),
  );
  return { transport: 'websocket-channel', done, close: () => conn.close() };
}
