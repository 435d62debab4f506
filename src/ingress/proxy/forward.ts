/**
 * Moving one request to an upstream and its answer back, for the three backend protocols
 * (HTTP over our own keep-alive client in upstream.ts, HTTPS over node's https agent, GRPC over
 * pooled h2c/h2 sessions), with ingress-nginx's failure mapping: a failed or timed-out connect
 * tries the next endpoint once (proxy_next_upstream error timeout, tries=2); refused/reset → 502;
 * connect/read/send timeouts → 504; a streamed body over proxy-body-size → 413. The client body is
 * only read once an upstream connection is up, so a retry never loses bytes.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { BackendProtocol, Upstream } from '../types.js';
import { stripHopByHop, type HeaderMap } from './policy.js';
import {
  clientHeaders,
  ConnectFailure,
  StaleConnection,
  UpstreamPool,
  UpstreamTimeout,
  type BodyFraming,
  type ResponseHead,
  type UpstreamExchange,
  type UpstreamHandler,
} from './upstream.js';

/** The parts of http.ServerResponse and http2.Http2ServerResponse the proxy uses. */
export interface ResponseSink {
  readonly headersSent: boolean;
  writeHead(status: number, headers?: Record<string, string | string[] | number>): unknown;
  write(chunk: Buffer | string): boolean;
  end(chunk?: Buffer | string): unknown;
  addTrailers(headers: Record<string, string | string[]>): void;
  destroy(err?: Error): unknown;
  on(event: 'drain' | 'close' | 'finish', fn: () => void): unknown;
  once(event: 'drain' | 'close' | 'finish', fn: () => void): unknown;
}

export interface ForwardRequest {
  protocol: BackendProtocol;
  /** Endpoints in try order; at most the first two are tried. */
  endpoints: Upstream[];
  method: string;
  /** Upstream request target (after rewrite). */
  target: string;
  /** Upstream headers (already hop-by-hop-free, X-Forwarded-* set, `host` as sent). */
  headers: Record<string, string | string[]>;
  /** The client's `te` header; GRPC needs `te: trailers` passed on. */
  te?: string;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  sendTimeoutMs: number;
  /** proxy-body-size (0: unlimited). */
  bodyLimit: number;
  body: Readable;
  res: ResponseSink;
}

export interface ForwardResult {
  status: number;
  upstreamAddrs: string[];
  upstreamStatus?: number;
  upstreamTimeSec?: number;
  upstreamBytes?: number;
  bodyBytesSent: number;
  requestBodyBytes: number;
  /** Set when the proxy answered itself (502/504/413) — the reason, for the error body. */
  error?: string;
}

export interface Transport {
  /** The HTTP (plain) upstream client; created on first use when absent. */
  pool?: UpstreamPool;
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  h2: H2Pool;
  now: () => number;
  /** Writes one of the proxy's own answers (error page). */
  answer: (res: ResponseSink, status: number, detail?: string) => number;
}

/**
 * Forwards `r` and resolves when the client response is over (finished or aborted). Never
 * rejects: every failure becomes a status in the result.
 */
export function forward(t: Transport, r: ForwardRequest): Promise<ForwardResult> {
  return new Promise((resolve) => new ForwardCall(t, r, resolve).tryAt(0));
}

class BodyTooLarge extends Error {}

/** The state of one forwarded request across its attempts (a class: no closures per request). */
class ForwardCall {
  readonly result: ForwardResult = { status: 0, upstreamAddrs: [], bodyBytesSent: 0, requestBodyBytes: 0 };
  private settled = false;
  private staleRetries = 0;
  private current: HttpAttempt | undefined;

  constructor(readonly t: Transport, readonly r: ForwardRequest, private readonly resolve: (res: ForwardResult) => void) {
    r.res.once('close', this.onClientClose);
  }

  /** The client response is closed (finished or aborted): the upstream exchange goes too. */
  private readonly onClientClose = (): void => {
    this.current?.abort();
    this.finish();
  };

  finish(): void {
    if (this.settled) return;
    this.settled = true;
    this.resolve(this.result);
  }

  /** Answers `status` ourselves when nothing was sent yet, else cuts the client response. */
  fail(status: number, detail: string): void {
    const { r, result } = this;
    if (!r.res.headersSent) {
      result.status = status;
      result.error = detail;
      result.bodyBytesSent = this.t.answer(r.res, status, detail);
    } else {
      r.res.destroy();
    }
    this.finish();
  }

  tryAt(i: number): void {
    const { r } = this;
    const ep = r.endpoints[i]!;
    this.result.upstreamAddrs.push(`${ep.address}:${ep.port}`);
    if (r.protocol === 'HTTP') {
      this.current = new HttpAttempt(this, i, ep);
      this.current.start();
      return;
    }
    const onError = (err: Error): void => this.attemptFailed(i, err);
    const finish = (): void => this.finish();
    if (r.protocol === 'GRPC' || r.protocol === 'GRPCS') grpcAttempt(this.t, r, ep, this.result, onError, finish);
    else httpsAttempt(this.t, r, ep, this.result, onError, finish);
  }

  /** nginx's proxy_next_upstream: which failures try again, and the status otherwise. */
  attemptFailed(i: number, err: Error): void {
    if (this.settled) return;
    const { r, result } = this;
    const ep = r.endpoints[i]!;
    // A pooled keep-alive connection the upstream had already closed: nginx gives such a
    // failure an extra try (peer.cached); safe while no body byte was sent.
    if (err instanceof StaleConnection && result.requestBodyBytes === 0 && this.staleRetries++ < 2) {
      result.upstreamAddrs.pop();
      return this.tryAt(i);
    }
    if ((err instanceof ConnectFailure || err instanceof StaleConnection) && i + 1 < Math.min(r.endpoints.length, 2)) return this.tryAt(i + 1);
    if (err instanceof BodyTooLarge) return this.fail(413, 'request body too large');
    const timeout = err instanceof ConnectFailure ? err.timeout : err instanceof UpstreamTimeout;
    this.fail(timeout ? 504 : 502, `upstream ${ep.address}:${ep.port}: ${err.message}`);
  }
}

/** How the client's body reaches an HTTP/1.1 upstream. */
function framingOf(r: ForwardRequest): BodyFraming {
  if (r.headers['content-length'] !== undefined) return 'length';
  const b = r.body as Readable & { headers?: Record<string, unknown>; stream?: { endAfterHeaders?: boolean } };
  // HTTP/1 chunked from the client, or an HTTP/2 request with DATA frames but no length.
  if (b.headers?.['transfer-encoding'] !== undefined) return 'chunked';
  if (b.stream !== undefined && b.stream.endAfterHeaders === false) return 'chunked';
  return 'none';
}

/**
 * One try of a plain-HTTP request on the UpstreamPool: pumps the body up and the response down.
 * Listener functions are created only when needed (a body to pump, back-pressure to wait on).
 */
class HttpAttempt implements UpstreamHandler {
  private ex: UpstreamExchange | undefined;
  private readonly started: number;
  private readonly framing: BodyFraming;
  private done = false;
  private pump: BodyPump | undefined;
  private resumeUpstream: (() => void) | undefined;

  constructor(readonly call: ForwardCall, private readonly index: number, private readonly ep: Upstream) {
    this.started = call.t.now();
    this.framing = framingOf(call.r);
  }

  start(): void {
    const { t, r } = this.call;
    const pool = (t.pool ??= new UpstreamPool());
    this.ex = pool.exchange(
      this.ep.address,
      this.ep.port,
      {
        method: r.method,
        target: r.target,
        headers: r.headers,
        framing: this.framing,
        connectTimeoutMs: r.connectTimeoutMs,
        sendTimeoutMs: r.sendTimeoutMs,
        readTimeoutMs: r.readTimeoutMs,
      },
      this,
    );
    this.ex.start();
  }

  /** The client went away: drop the upstream side without reporting. */
  abort(): void {
    if (this.done) return;
    this.done = true;
    this.pump?.detach();
    this.ex?.abort();
  }

  onConnect(): void {
    const ex = this.ex!;
    if (ex.destroyed) return;
    // Nothing to send, or consumed already by an earlier attempt (a body-less request retried).
    if (this.framing === 'none' || this.call.r.body.readableEnded) ex.end();
    else this.pump = new BodyPump(this, ex);
  }

  /** The body went over proxy-body-size (called by the pump). */
  tooLarge(): void {
    this.done = true;
    this.ex!.abort();
    this.call.attemptFailed(this.index, new BodyTooLarge('request body too large'));
  }

  onResponse(head: ResponseHead): void {
    const { r, result } = this.call;
    result.upstreamStatus = head.status;
    result.status = head.status;
    result.upstreamBytes = 0;
    r.res.writeHead(head.status, clientHeaders(head));
  }

  onData(chunk: Buffer): void {
    const { r, result } = this.call;
    result.upstreamBytes! += chunk.length;
    result.bodyBytesSent += chunk.length;
    if (!r.res.write(chunk)) {
      const ex = this.ex!;
      ex.pause();
      r.res.once('drain', (this.resumeUpstream ??= (): void => ex.resume()));
    }
  }

  onEnd(trailers: Record<string, string> | undefined): void {
    if (this.done) return;
    this.done = true;
    const { t, r, result } = this.call;
    result.upstreamTimeSec = (t.now() - this.started) / 1000;
    try {
      if (trailers !== undefined) r.res.addTrailers(trailers);
      r.res.end();
    } catch {
      // A trailer node refuses to send (invalid characters): cut the response rather than crash.
      r.res.destroy();
    }
    this.call.finish();
  }

  onError(err: Error): void {
    if (this.done) return;
    this.done = true;
    this.pump?.detach();
    // Mid-response failures end in fail(), which cuts the client response (headers were sent).
    this.call.attemptFailed(this.index, err);
  }
}

/** Streams the client body into an exchange with back-pressure and the proxy-body-size limit. */
class BodyPump {
  private attached = true;
  private readonly onData = (chunk: Buffer): void => {
    const { r, result } = this.attempt.call;
    result.requestBodyBytes += chunk.length;
    if (r.bodyLimit > 0 && result.requestBodyBytes > r.bodyLimit) {
      this.detach();
      r.body.resume();
      this.attempt.tooLarge();
      return;
    }
    if (!this.ex.write(chunk)) {
      r.body.pause();
      this.ex.once('drain', this.onDrain);
    }
  };
  private readonly onDrain = (): void => {
    this.attempt.call.r.body.resume();
  };
  private readonly onEnd = (): void => {
    this.detach();
    this.ex.end();
  };

  constructor(private readonly attempt: HttpAttempt, private readonly ex: UpstreamExchange) {
    const body = attempt.call.r.body;
    body.on('data', this.onData);
    body.once('end', this.onEnd);
    body.resume();
  }

  detach(): void {
    if (!this.attached) return;
    this.attached = false;
    const body = this.attempt.call.r.body;
    body.off('data', this.onData);
    body.off('end', this.onEnd);
  }
}

/**
 * Streams the client body into `sink` with back-pressure, failing with BodyTooLarge past the
 * limit. Returns a function that detaches it (on upstream failure).
 */
function pumpBody(
  r: ForwardRequest,
  result: ForwardResult,
  sink: NodeJS.WritableStream & { destroyed?: boolean },
  onError: (e: Error) => void,
): () => void {
  if (r.body.readableEnded) {
    // Already consumed by an earlier attempt (a body-less request retried).
    sink.end();
    return () => {};
  }
  const onData = (chunk: Buffer): void => {
    result.requestBodyBytes += chunk.length;
    if (r.bodyLimit > 0 && result.requestBodyBytes > r.bodyLimit) {
      detach();
      r.body.resume();
      onError(new BodyTooLarge('request body too large'));
      return;
    }
    if (!sink.write(chunk)) {
      r.body.pause();
      sink.once('drain', () => r.body.resume());
    }
  };
  const onEnd = (): void => {
    if (!sink.destroyed) sink.end();
  };
  const detach = (): void => {
    r.body.off('data', onData);
    r.body.off('end', onEnd);
  };
  r.body.on('data', onData);
  r.body.once('end', onEnd);
  r.body.resume();
  return detach;
}

/** One try over node's https client (HTTPS backends). */
function httpsAttempt(
  t: Transport,
  r: ForwardRequest,
  ep: Upstream,
  result: ForwardResult,
  onError: (e: Error) => void,
  finish: () => void,
): void {
  const started = t.now();
  const secure = r.protocol === 'HTTPS';
  const mod = secure ? https : http;
  const up = mod.request({
    host: ep.address,
    port: ep.port,
    method: r.method,
    path: r.target,
    headers: r.headers,
    agent: secure ? t.httpsAgent : t.httpAgent,
    rejectUnauthorized: false,
    setHost: false,
  });
  let connected = false;
  let failed = false;
  let complete = false;
  let detach = (): void => {};
  const failOnce = (e: Error): void => {
    if (failed || complete) return;
    failed = true;
    clearTimeout(connectTimer);
    detach();
    up.destroy();
    onError(e);
  };
  const connectTimer = setTimeout(() => failOnce(new ConnectFailure(true, 'connect timed out')), r.connectTimeoutMs);
  let responded = false;
  up.on('error', (e: NodeJS.ErrnoException) => {
    if (!connected) failOnce(new ConnectFailure(false, e.message));
    else if (up.reusedSocket && !responded) failOnce(new StaleConnection(e.message));
    else failOnce(e);
  });
  up.on('socket', (s) => {
    const onConnect = (): void => {
      if (failed) return;
      connected = true;
      clearTimeout(connectTimer);
      up.setTimeout(r.sendTimeoutMs, () => failOnce(new UpstreamTimeout('send timed out')));
      up.once('finish', () => up.setTimeout(r.readTimeoutMs, () => failOnce(new UpstreamTimeout('read timed out'))));
      detach = pumpBody(r, result, up, failOnce);
    };
    if (s.connecting) s.once('connect', onConnect);
    else onConnect();
  });
  r.res.once('close', () => {
    if (!complete && !failed) {
      failed = true;
      clearTimeout(connectTimer);
      up.destroy();
    }
  });
  up.on('response', (upRes) => {
    responded = true;
    if (failed) {
      upRes.resume();
      return;
    }
    up.setTimeout(r.readTimeoutMs, () => failOnce(new UpstreamTimeout('read timed out')));
    result.upstreamStatus = upRes.statusCode ?? 502;
    result.status = result.upstreamStatus;
    result.upstreamBytes = 0;
    r.res.writeHead(result.status, stripHopByHop(upRes.headers as HeaderMap));
    upRes.on('data', (chunk: Buffer) => {
      result.upstreamBytes! += chunk.length;
      result.bodyBytesSent += chunk.length;
      if (!r.res.write(chunk)) {
        upRes.pause();
        r.res.once('drain', () => upRes.resume());
      }
    });
    upRes.on('end', () => {
      complete = true;
      result.upstreamTimeSec = (t.now() - started) / 1000;
      const trailers = upRes.trailers;
      if (trailers && Object.keys(trailers).length > 0) r.res.addTrailers(trailers as Record<string, string>);
      r.res.end();
      finish();
    });
    upRes.on('error', () => {
      failed = true;
      r.res.destroy();
      finish();
    });
  });
}

/** h2 (GRPC) client sessions per upstream, reused across requests like nginx's grpc keepalive. */
export class H2Pool {
  private readonly sessions = new Map<string, http2.ClientHttp2Session>();

  get(ep: Upstream, secure: boolean): http2.ClientHttp2Session {
    const key = `${secure ? 'https' : 'http'}://${ep.address.includes(':') ? `[${ep.address}]` : ep.address}:${ep.port}`;
    const existing = this.sessions.get(key);
    if (existing && !existing.closed && !existing.destroyed) return existing;
    const s = http2.connect(key, { rejectUnauthorized: false });
    s.on('error', () => this.sessions.delete(key));
    s.on('close', () => {
      if (this.sessions.get(key) === s) this.sessions.delete(key);
    });
    s.on('goaway', () => this.sessions.delete(key));
    // Idle sessions must not keep the process alive.
    s.unref();
    this.sessions.set(key, s);
    return s;
  }

  close(): void {
    for (const s of this.sessions.values()) s.destroy();
    this.sessions.clear();
  }
}

function grpcAttempt(
  t: Transport,
  r: ForwardRequest,
  ep: Upstream,
  result: ForwardResult,
  onError: (e: Error) => void,
  finish: () => void,
): void {
  const started = t.now();
  const session = t.h2.get(ep, r.protocol === 'GRPCS');
  let failed = false;
  let connected = !session.connecting;
  let detach = (): void => {};
  const failOnce = (e: Error): void => {
    if (failed) return;
    failed = true;
    clearTimeout(connectTimer);
    detach();
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
    onError(e);
  };
  const connectTimer = connected ? undefined : setTimeout(() => failOnce(new ConnectFailure(true, 'connect timed out')), r.connectTimeoutMs);
  // The body is read only once the session is up, so a connect failure can retry with it intact.
  const startBody = (): void => {
    if (!failed) detach = pumpBody(r, result, stream, failOnce);
  };
  if (!connected) {
    session.once('connect', () => {
      connected = true;
      clearTimeout(connectTimer);
      startBody();
    });
  }
  const headers: http2.OutgoingHttpHeaders = { ...r.headers };
  const authority = String(headers['host'] ?? `${ep.address}:${ep.port}`);
  delete headers['host'];
  if (r.te) headers['te'] = 'trailers';
  Object.assign(headers, { ':method': r.method, ':path': r.target, ':authority': authority, ':scheme': r.protocol === 'GRPCS' ? 'https' : 'http' });
  const stream = session.request(headers);
  stream.on('error', (e) => failOnce(connected ? e : new ConnectFailure(false, e.message)));
  stream.setTimeout(r.readTimeoutMs, () => failOnce(new UpstreamTimeout('read timed out')));
  r.res.once('close', () => {
    if (!stream.destroyed) stream.close(http2.constants.NGHTTP2_CANCEL);
  });
  if (connected) startBody();
  stream.on('response', (h) => {
    if (failed) return;
    connected = true;
    result.upstreamStatus = Number(h[':status'] ?? 502);
    result.status = result.upstreamStatus;
    result.upstreamBytes = 0;
    const out: HeaderMap = {};
    for (const [k, v] of Object.entries(h)) if (!k.startsWith(':')) out[k] = v as string | string[];
    r.res.writeHead(result.status, stripHopByHop(out));
  });
  stream.on('data', (chunk: Buffer) => {
    result.upstreamBytes = (result.upstreamBytes ?? 0) + chunk.length;
    result.bodyBytesSent += chunk.length;
    if (!r.res.write(chunk)) {
      stream.pause();
      r.res.once('drain', () => stream.resume());
    }
  });
  stream.on('trailers', (tr) => {
    const out: Record<string, string | string[]> = {};
    for (const [k, v] of Object.entries(tr)) if (!k.startsWith(':') && v !== undefined) out[k] = v as string | string[];
    r.res.addTrailers(out);
  });
  stream.on('end', () => {
    if (failed) return;
    result.upstreamTimeSec = (t.now() - started) / 1000;
    r.res.end();
    finish();
  });
}
