/**
 * Moving one request to an upstream and its answer back, for the three backend protocols
 * (HTTP and HTTPS over keep-alive agents, GRPC over pooled h2c/h2 sessions), with
 * ingress-nginx's failure mapping: a failed or timed-out connect tries the next endpoint once
 * (proxy_next_upstream error timeout, tries=2); refused/reset → 502; connect/read/send timeouts
 * → 504; a streamed body over proxy-body-size → 413. The client body is only read once an
 * upstream connection is up, so a retry never loses bytes.
 */
import http from 'node:http';
import https from 'node:https';
import http2 from 'node:http2';
import type { Readable } from 'node:stream';
import type { BackendProtocol, Upstream } from '../types.js';
import { stripHopByHop, type HeaderMap } from './policy.js';

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
  httpAgent: http.Agent;
  httpsAgent: https.Agent;
  h2: H2Pool;
  now: () => number;
  /** Writes one of the proxy's own answers (error page). */
  answer: (res: ResponseSink, status: number, detail?: string) => number;
}

/** Retry-worthy connect failures (nginx's `error`/`timeout` on connect). */
class ConnectFailure extends Error {
  constructor(readonly timeout: boolean, message: string) {
    super(message);
  }
}

/**
 * Forwards `r` and resolves when the client response is over (finished or aborted). Never
 * rejects: every failure becomes a status in the result.
 */
export function forward(t: Transport, r: ForwardRequest): Promise<ForwardResult> {
  return new Promise((resolve) => {
    const result: ForwardResult = { status: 0, upstreamAddrs: [], bodyBytesSent: 0, requestBodyBytes: 0 };
    let settled = false;
    const finish = (): void => {
      if (settled) return;
      settled = true;
      resolve(result);
    };
    const fail = (status: number, detail: string): void => {
      if (!r.res.headersSent) {
        result.status = status;
        result.error = detail;
        result.bodyBytesSent = t.answer(r.res, status, detail);
      } else {
        r.res.destroy();
      }
      finish();
    };
    r.res.once('close', finish);
    let staleRetries = 0;
    const tryAt = (i: number): void => {
      const ep = r.endpoints[i]!;
      result.upstreamAddrs.push(`${ep.address}:${ep.port}`);
      const onError = (err: Error): void => {
        if (settled) return;
        // A pooled keep-alive connection the upstream had already closed: nginx gives such a
        // failure an extra try (peer.cached); safe while no body byte was sent.
        if (err instanceof StaleConnection && result.requestBodyBytes === 0 && staleRetries++ < 2) {
          result.upstreamAddrs.pop();
          return tryAt(i);
        }
        if ((err instanceof ConnectFailure || err instanceof StaleConnection) && i + 1 < Math.min(r.endpoints.length, 2)) return tryAt(i + 1);
        if (err instanceof BodyTooLarge) return fail(413, 'request body too large');
        const timeout = err instanceof ConnectFailure ? err.timeout : err instanceof UpstreamTimeout;
        fail(timeout ? 504 : 502, `upstream ${ep.address}:${ep.port}: ${err.message}`);
      };
      if (r.protocol === 'GRPC' || r.protocol === 'GRPCS') grpcAttempt(t, r, ep, result, onError, finish);
      else httpAttempt(t, r, ep, result, onError, finish);
    };
    tryAt(0);
  });
}

class UpstreamTimeout extends Error {}
/** An error on a reused keep-alive connection before any response byte. */
class StaleConnection extends Error {}
class BodyTooLarge extends Error {}

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

function httpAttempt(
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
