/**
 * The built-in ingress data plane: an HTTP/1.1 listener and a TLS listener (SNI certificate
 * choice, ALPN h2 + http/1.1) in front of the routing table, with ingress-nginx's behaviour
 * (see policy.ts, forward.ts, tunnel.ts).
 *
 * One `http.Server` parses HTTP/1 for both ports — the plain port listens on it, TLS sockets
 * negotiated to http/1.1 are handed to it — so header limits, slowloris timeouts and the 400/431
 * answers are identical on both. TLS sockets negotiated to h2 go to an `http2` server. Routing
 * and certificates live in one immutable `State` that `update()` swaps in a single assignment:
 * a request reads the state once, a TLS handshake reads it in the SNI callback, so in-flight
 * requests and open (keep-alive) connections are never dropped by an update.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import type net from 'node:net';
import { randomBytes } from 'node:crypto';
import type { Duplex } from 'node:stream';
import { matchRoute as defaultMatch, type RouteMatch } from '../routes/index.js';
import type { RoutingTable } from '../types.js';
import type { Registry } from '../../util/prometheus.js';
import { errorBody, forwardedHeaders, hostName, InFlight, RoundRobin, TokenBuckets, type HeaderMap } from './policy.js';
import { decide, type Decision } from './decide.js';
import { forward, H2Pool, type ForwardResult, type ResponseSink, type Transport } from './forward.js';
import { rawAnswer, tunnel } from './tunnel.js';
import { UpstreamPool } from './upstream.js';
import { accessLogLine, ProxyMetrics, type RequestRecord } from './observe.js';

export { ProxyMetrics, accessLogLine, type RequestRecord } from './observe.js';

/** What the controller drives; both data planes (this proxy, nginx/) implement it. */
export interface IngressDataPlane {
  update(table: RoutingTable): Promise<void>;
  close(): Promise<void>;
}

export interface IngressProxyOptions {
  httpHost: string;
  /** 0 picks a free port. */
  httpPort: number;
  httpsPort: number;
  /** Served for names without a certificate in the table (and clients without SNI). */
  defaultCert: { certPem: string; keyPem: string };
  match?: (table: RoutingTable, host: string, path: string) => RouteMatch | undefined;
  accessLog?: (line: string) => void;
  metrics?: Registry;
  /** Replaces the per-request metrics update (proxy workers batch records for their primary; pool.ts). */
  observe?: (rec: RequestRecord) => void;
  clock?: { now(): number };
  random?: () => number;
  /** The HTTPS port used in ssl-redirect Locations (default: the https listen port; 443 is left out). */
  publicHttpsPort?: number;
  /** Time allowed for a request's headers (slowloris guard; default 60 s like client_header_timeout). */
  headersTimeoutMs?: number;
  /** Time allowed for a whole request to arrive (default 300 s). */
  requestTimeoutMs?: number;
  /** How often the header/request timeouts are checked (default 1 s). */
  timeoutCheckIntervalMs?: number;
  /** Largest request head accepted (default 32 KiB, ingress-nginx's large_client_header_buffers 4 8k). */
  maxHeaderSize?: number;
}

interface State {
  table: RoutingTable;
  /** Lowercase host (exact or `*.x`) → its certificate. */
  contexts: Map<string, tls.SecureContext>;
}

const EMPTY_TABLE: RoutingTable = { hosts: new Map(), conflicts: [], warnings: [] };

type AnyRequest = http.IncomingMessage | http2.Http2ServerRequest;

/** The built-in reverse proxy; see the file comment. */
export class IngressProxy implements IngressDataPlane {
  readonly metrics: ProxyMetrics;
  private state: State = { table: EMPTY_TABLE, contexts: new Map() };
  private readonly defaultContext: tls.SecureContext;
  private readonly h1: http.Server;
  private readonly h2: http2.Http2Server;
  private readonly tlsServer: tls.Server;
  private readonly sockets = new Set<net.Socket | tls.TLSSocket>();
  private readonly transport: Transport;
  private readonly rr = new RoundRobin();
  private readonly buckets: TokenBuckets;
  private readonly inflight = new InFlight();
  private readonly match: NonNullable<IngressProxyOptions['match']>;
  private readonly now: () => number;
  private readonly random: () => number;
  private ports = { httpPort: 0, httpsPort: 0 };

  constructor(private readonly opts: IngressProxyOptions) {
    this.match = opts.match ?? defaultMatch;
    this.now = opts.clock ? () => opts.clock!.now() : Date.now;
    this.random = opts.random ?? Math.random;
    this.metrics = new ProxyMetrics(opts.metrics);
    this.buckets = new TokenBuckets({ now: this.now });
    this.defaultContext = tls.createSecureContext({ cert: opts.defaultCert.certPem, key: opts.defaultCert.keyPem });
    this.transport = {
      httpAgent: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32, timeout: 60_000 }),
      httpsAgent: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32, rejectUnauthorized: false }),
      h2: new H2Pool(),
      pool: new UpstreamPool(),
      now: this.now,
      answer: (res, status, detail) => this.answer(res, status, detail),
    };
    this.h1 = http.createServer({
      maxHeaderSize: opts.maxHeaderSize ?? 32 * 1024,
      headersTimeout: opts.headersTimeoutMs ?? 60_000,
      requestTimeout: opts.requestTimeoutMs ?? 300_000,
      connectionsCheckingInterval: opts.timeoutCheckIntervalMs ?? 1_000,
      keepAliveTimeout: 75_000,
    });
    this.h1.on('request', (req, res) => void this.handle(req, res as unknown as ResponseSink));
    this.h1.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => void this.handleUpgrade(req, socket, head));
    this.h1.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => this.clientError(err, socket));
    this.h1.on('connection', (s: net.Socket) => this.track(s));
    this.h2 = http2.createServer({ maxSessionMemory: 32 });
    this.h2.on('request', (req, res) => void this.handle(req, res as unknown as ResponseSink));
    this.h2.on('sessionError', () => {});
    this.tlsServer = tls.createServer({
      SNICallback: (name, cb) => cb(null, this.contextFor(name)),
      cert: opts.defaultCert.certPem,
      key: opts.defaultCert.keyPem,
      ALPNProtocols: ['h2', 'http/1.1'],
      handshakeTimeout: opts.headersTimeoutMs ?? 60_000,
    });
    this.tlsServer.on('secureConnection', (s: tls.TLSSocket) => {
      this.track(s);
      if (s.alpnProtocol === 'h2') this.h2.emit('connection', s);
      else this.h1.emit('connection', s);
    });
    this.tlsServer.on('tlsClientError', (_e, s) => s.destroy());
    this.tlsServer.on('connection', (s: net.Socket) => {
      this.track(s);
      s.on('error', () => s.destroy());
    });
  }

  /** Starts both listeners; returns the bound ports (useful with 0). */
  async listen(): Promise<{ httpPort: number; httpsPort: number }> {
    const bind = (srv: net.Server, port: number): Promise<number> =>
      new Promise((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(port, this.opts.httpHost, () => {
          srv.off('error', reject);
          resolve((srv.address() as net.AddressInfo).port);
        });
      });
    this.ports.httpPort = await bind(this.h1, this.opts.httpPort);
    this.ports.httpsPort = await bind(this.tlsServer, this.opts.httpsPort);
    return { ...this.ports };
  }

  /**
   * Swaps routing and certificates at once. Certificates that fail to load are skipped (their
   * hosts get the default certificate) rather than failing the whole update.
   */
  async update(table: RoutingTable): Promise<void> {
    const contexts = new Map<string, tls.SecureContext>();
    const bySecret = new Map<string, tls.SecureContext | null>();
    for (const [host, entry] of table.hosts) {
      if (!entry.tls || host === '') continue;
      const key = `${entry.tls.secret}\n${entry.tls.certPem}\n${entry.tls.keyPem}`;
      let ctx = bySecret.get(key);
      if (ctx === undefined) {
        try {
          ctx = tls.createSecureContext({ cert: entry.tls.certPem, key: entry.tls.keyPem });
        } catch {
          ctx = null;
        }
        bySecret.set(key, ctx);
      }
      if (ctx) contexts.set(host.toLowerCase(), ctx);
    }
    this.state = { table, contexts };
  }

  /** Stops listening and drops every connection (clients and upstreams). */
  async close(): Promise<void> {
    const closed = (srv: net.Server): Promise<void> => new Promise((resolve) => (srv.listening ? srv.close(() => resolve()) : resolve()));
    const done = Promise.all([closed(this.h1), closed(this.tlsServer)]);
    for (const s of this.sockets) s.destroy();
    this.h1.closeAllConnections();
    this.transport.httpAgent.destroy();
    this.transport.pool?.close();
    this.transport.httpsAgent.destroy();
    this.transport.h2.close();
    await done;
  }

  private track(s: net.Socket): void {
    if (this.sockets.has(s)) return;
    this.sockets.add(s);
    s.once('close', () => this.sockets.delete(s));
  }

  /** SNI: exact host, then the one-label wildcard, else the default certificate. */
  private contextFor(servername: string): tls.SecureContext {
    const name = hostName(servername);
    const { contexts } = this.state;
    const exact = contexts.get(name);
    if (exact) return exact;
    const dot = name.indexOf('.');
    const wild = dot > 0 ? contexts.get(`*${name.slice(dot)}`) : undefined;
    return wild ?? this.defaultContext;
  }

  /** Node's parser rejected the request: 431 for an oversized head, 408 on timeout, else 400. */
  private clientError(err: NodeJS.ErrnoException, socket: Duplex): void {
    const code = err.code ?? '';
    if (code === 'ECONNRESET' || !socket.writable) {
      socket.destroy();
      return;
    }
    const [status, reason] =
      code === 'HPE_HEADER_OVERFLOW'
        ? [431, 'Request Header Fields Too Large']
        : code === 'ERR_HTTP_REQUEST_TIMEOUT'
          ? [408, 'Request Timeout']
          : [400, 'Bad Request'];
    rawAnswer(socket, status, reason, status === 408 ? '' : errorBody(status));
  }

  private answer(res: ResponseSink, status: number, detail?: string, extra?: Record<string, string>): number {
    const body = errorBody(status, detail);
    res.writeHead(status, { 'content-type': 'text/html', 'content-length': Buffer.byteLength(body), ...extra });
    res.end(body);
    return Buffer.byteLength(body);
  }

  private clientInfo(req: AnyRequest): { host: string; remote: string; scheme: 'http' | 'https'; port: number; id: string } {
    const h = req.headers as HeaderMap;
    const host = String(h[':authority'] ?? h['host'] ?? '');
    const sock = req.socket as net.Socket & { encrypted?: boolean };
    const rid = h['x-request-id'];
    return {
      host,
      remote: (sock.remoteAddress ?? '').replace(/^::ffff:/, ''),
      scheme: sock.encrypted ? 'https' : 'http',
      port: sock.localPort ?? 0,
      id: typeof rid === 'string' && rid !== '' ? rid : requestId(),
    };
  }

  /** A fresh log record for a request (routing fields are filled by `decide`). */
  private newRecord(req: AnyRequest, c: ReturnType<IngressProxy['clientInfo']>, start: number): RequestRecord {
    const h = req.headers as HeaderMap;
    return {
      remoteAddr: c.remote,
      startMs: start,
      method: req.method ?? 'GET',
      target: req.url ?? '/',
      httpVersion: req.httpVersion,
      status: 0,
      bodyBytesSent: 0,
      referer: String(h['referer'] ?? ''),
      userAgent: String(h['user-agent'] ?? ''),
      requestLength: headLength(req),
      requestTimeSec: 0,
      upstreamName: '',
      alternativeUpstreamName: '',
      upstreamAddrs: [],
      requestId: c.id,
    };
  }

  private decideFor(req: AnyRequest, c: ReturnType<IngressProxy['clientInfo']>, rec: RequestRecord): Decision {
    return decide(
      {
        table: this.state.table,
        match: this.match,
        random: this.random,
        buckets: this.buckets,
        inflight: this.inflight,
        httpsPort: this.opts.publicHttpsPort ?? this.ports.httpsPort,
      },
      { host: c.host, target: rec.target, headers: req.headers as HeaderMap, scheme: c.scheme, remote: c.remote },
      rec,
    );
  }

  /** One request: decide (decide.ts), then answer it ourselves or forward it (forward.ts). */
  private async handle(req: AnyRequest, res: ResponseSink): Promise<void> {
    const start = this.now();
    const c = this.clientInfo(req);
    const rec = this.newRecord(req, c, start);
    let release: (() => void) | undefined;
    try {
      const d = this.decideFor(req, c, rec);
      release = d.release;
      if (d.kind === 'answer') {
        rec.status = d.status;
        rec.bodyBytesSent = this.answer(res, d.status, d.detail, d.headers);
        req.resume();
        return;
      }
      const headers = req.headers as HeaderMap;
      const te = headers['te'];
      const result: ForwardResult = await forward(this.transport, {
        protocol: d.options.backendProtocol,
        endpoints: this.rr.order(rec.upstreamName, d.endpoints),
        method: rec.method,
        target: d.target,
        headers: forwardedHeaders(headers, { remoteAddress: c.remote, scheme: c.scheme, host: c.host, port: c.port, requestId: c.id }),
        te: typeof te === 'string' ? te : undefined,
        connectTimeoutMs: d.options.connectTimeoutMs,
        readTimeoutMs: d.options.readTimeoutMs,
        sendTimeoutMs: d.options.sendTimeoutMs,
        bodyLimit: d.options.bodySizeLimit,
        body: req,
        res,
      });
      // 499: nginx's "client closed the request" before any status was sent.
      rec.status = result.status || 499;
      rec.bodyBytesSent = result.bodyBytesSent;
      rec.upstreamAddrs = result.upstreamAddrs;
      rec.upstreamStatus = result.upstreamStatus;
      rec.upstreamResponseTimeSec = result.upstreamTimeSec;
      rec.upstreamResponseLength = result.upstreamBytes;
      rec.requestLength += result.requestBodyBytes;
    } catch (err) {
      // A bug or a closed stream: answer 500 if still possible; never let it escape.
      try {
        if (!res.headersSent) {
          rec.status = 500;
          this.answer(res, 500, (err as Error).message);
        } else res.destroy();
      } catch {
        /* the stream is gone */
      }
    } finally {
      release?.();
      rec.requestTimeSec = (this.now() - start) / 1000;
      this.record(rec);
    }
  }

  /** `Upgrade` requests (WebSocket): the same decision, then a byte tunnel (tunnel.ts). */
  private async handleUpgrade(req: http.IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    socket.on('error', () => socket.destroy());
    const start = this.now();
    const c = this.clientInfo(req);
    const rec = this.newRecord(req, c, start);
    const raw = (status: number, detail?: string, headers?: Record<string, string>): number =>
      rawAnswer(socket, status, reasonOf(status), errorBody(status, detail), headers);
    let release: (() => void) | undefined;
    try {
      const d = this.decideFor(req, c, rec);
      release = d.release;
      if (d.kind === 'answer') {
        rec.status = d.status;
        rec.bodyBytesSent = raw(d.status, d.detail, d.headers);
        return;
      }
      const result = await tunnel(
        socket,
        {
          endpoints: this.rr.order(rec.upstreamName, d.endpoints),
          secure: d.options.backendProtocol === 'HTTPS',
          method: rec.method,
          target: d.target,
          headers: forwardedHeaders(req.headers as HeaderMap, { remoteAddress: c.remote, scheme: c.scheme, host: c.host, port: c.port, requestId: c.id }),
          upgrade: String(req.headers['upgrade'] ?? 'websocket'),
          head,
          connectTimeoutMs: d.options.connectTimeoutMs,
        },
        (status) => raw(status),
      );
      rec.status = result.status;
      rec.upstreamAddrs = result.upstreamAddrs;
      rec.upstreamStatus = result.status;
      rec.bodyBytesSent = result.bytesSent;
    } catch {
      socket.destroy();
    } finally {
      release?.();
      rec.requestTimeSec = (this.now() - start) / 1000;
      this.record(rec);
    }
  }

  private record(rec: RequestRecord): void {
    try {
      if (this.opts.observe) this.opts.observe(rec);
      else this.metrics.observe(rec);
      this.opts.accessLog?.(accessLogLine(rec));
    } catch {
      /* logging must never break serving */
    }
  }
}

/** Random bytes for request ids, drawn 4 KiB at a time (one crypto call per 256 requests). */
let idPool = Buffer.alloc(0);
let idOffset = 0;

/** A fresh 32-hex-digit request id, as nginx's `$request_id`. */
function requestId(): string {
  if (idOffset + 16 > idPool.length) {
    idPool = randomBytes(4096);
    idOffset = 0;
  }
  const id = idPool.toString('hex', idOffset, idOffset + 16);
  idOffset += 16;
  return id;
}

function reasonOf(status: number): string {
  return http.STATUS_CODES[status] ?? 'Error';
}

/** Approximate `$request_length` of the head: request line plus header lines. */
function headLength(req: AnyRequest): number {
  let n = (req.method ?? '').length + (req.url ?? '').length + 12;
  const raw = req.rawHeaders;
  for (let i = 0; i + 1 < raw.length; i += 2) n += raw[i]!.length + raw[i + 1]!.length + 4;
  return n + 2;
}
