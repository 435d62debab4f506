/**
 * The gRPC probe: a minimal client of the standard health service (`grpc.health.v1.Health/Check`)
 * over cleartext HTTP/2, after the kubelet's pkg/probe/grpc. No gRPC library: the request and
 * response messages are one-field protobufs, so they are hand-encoded here.
 *
 * Behaviour contract (matches the kubelet, which dials with a blocking grpc-go client):
 * - One deadline (the probe timeout) covers connecting and the RPC.
 * - Connecting means TCP connect plus the server's HTTP/2 SETTINGS (grpc-go's "ready"); failed
 *   attempts (e.g. connection refused) are retried with grpc-go's backoff until the deadline, so a
 *   closed port reports the connect *timeout*, exactly as the kubelet does.
 * - SERVING is success ("service healthy"); any other status, any RPC error and any timeout is a
 *   failure with the kubelet's message. Nothing here yields 'unknown'.
 */
import * as http2 from 'node:http2';
import type { CheckOutcome } from './checks.js';

export interface GrpcTarget {
  /** Pod IP (the kubelet always probes the pod IP; gRPC probes have no host field). */
  host: string;
  port: number;
  /** Health service name; '' asks about the server as a whole. */
  service?: string;
}

export interface GrpcCheckOptions {
  /** User-Agent sent with the RPC (the kubelet's `kube-probe/<major>.<minor>`). */
  userAgent?: string;
}

export const HEALTH_CHECK_PATH = '/grpc.health.v1.Health/Check';
const DEFAULT_USER_AGENT = 'kube-probe/1.32';
/** grpc-go's default limit on a received message. */
const MAX_RECV_MESSAGE = 4 * 1024 * 1024;
/** grpc-go's connection backoff: 1s base, x1.6 per attempt, capped at 120s. */
const BACKOFF_BASE_MS = 1000;
const BACKOFF_MULTIPLIER = 1.6;
const BACKOFF_MAX_MS = 120_000;

/** gRPC status code names, by number, as grpc-go prints them. */
export const GRPC_CODE_NAMES = [
  'OK',
  'Canceled',
  'Unknown',
  'InvalidArgument',
  'DeadlineExceeded',
  'NotFound',
  'AlreadyExists',
  'PermissionDenied',
  'ResourceExhausted',
  'FailedPrecondition',
  'Aborted',
  'OutOfRange',
  'Unimplemented',
  'Internal',
  'Unavailable',
  'DataLoss',
  'Unauthenticated',
] as const;

const CODE = {
  Canceled: 1,
  Unknown: 2,
  DeadlineExceeded: 4,
  PermissionDenied: 7,
  ResourceExhausted: 8,
  Unimplemented: 12,
  Internal: 13,
  Unavailable: 14,
  Unauthenticated: 16,
} as const;

/** HealthCheckResponse.ServingStatus names, by number. */
const SERVING_STATUS_NAMES = ['UNKNOWN', 'SERVING', 'NOT_SERVING', 'SERVICE_UNKNOWN'] as const;
export const SERVING = 1;

/** A status name as Go's protobuf enum String() prints it: unknown numbers print as digits. */
export function servingStatusName(n: number): string {
  return SERVING_STATUS_NAMES[n] ?? String(n);
}

/** A failed RPC: a gRPC status code and message (grpc-go's status error). */
export class RpcError extends Error {
  constructor(
    readonly code: number,
    readonly desc: string,
  ) {
    super(`rpc error: code = ${GRPC_CODE_NAMES[code] ?? `Code(${code})`} desc = ${desc}`);
  }
}

/**
 * Formats milliseconds as Go's time.Duration String() does ("300ms", "1s", "1.5s", "1m0s",
 * "1h0m0s"), because the kubelet prints the probe timeout that way in its messages.
 */
export function goDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms < 1000) return `${ms}ms`;
  const h = Math.floor(ms / 3_600_000);
  const m = Math.floor((ms % 3_600_000) / 60_000);
  const secMs = ms % 60_000;
  const s = (secMs / 1000).toFixed(3).replace(/\.?0+$/, '');
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function encodeVarint(n: number): Buffer {
  const out: number[] = [];
  while (n > 0x7f) {
    out.push((n & 0x7f) | 0x80);
    n = Math.floor(n / 128);
  }
  out.push(n);
  return Buffer.from(out);
}

/** HealthCheckRequest {string service = 1}: empty service encodes as the empty message (proto3). */
export function encodeHealthCheckRequest(service: string): Buffer {
  if (service === '') return Buffer.alloc(0);
  const bytes = Buffer.from(service, 'utf8');
  return Buffer.concat([Buffer.from([0x0a]), encodeVarint(bytes.length), bytes]);
}

/** Wraps one message in a gRPC length-prefixed frame (uncompressed flag + uint32 BE length). */
export function grpcFrame(message: Buffer): Buffer {
  const head = Buffer.alloc(5);
  head.writeUInt8(0, 0);
  head.writeUInt32BE(message.length, 1);
  return Buffer.concat([head, message]);
}

/** Reads a varint at `pos`; returns its value (as a 64-bit BigInt) and the next position. */
function readVarint(buf: Buffer, pos: number): { value: bigint; next: number } {
  let value = 0n;
  for (let shift = 0n, i = pos; i < buf.length && shift < 70n; i++, shift += 7n) {
    const b = buf[i]!;
    value |= BigInt(b & 0x7f) << shift;
    if ((b & 0x80) === 0) return { value, next: i + 1 };
  }
  throw new Error('proto: bad varint');
}

/**
 * Decodes HealthCheckResponse {ServingStatus status = 1}, skipping unknown fields; an absent status
 * is 0 (UNKNOWN). Throws on malformed protobuf.
 */
export function decodeHealthCheckResponse(buf: Buffer): number {
  let status = 0;
  let pos = 0;
  while (pos < buf.length) {
    const tag = readVarint(buf, pos);
    pos = tag.next;
    const field = Number(tag.value >> 3n);
    const wire = Number(tag.value & 7n);
    if (field === 0) throw new Error('proto: illegal field number 0');
    if (wire === 0) {
      const v = readVarint(buf, pos);
      pos = v.next;
      if (field === 1) status = Number(BigInt.asIntN(32, v.value));
    } else if (wire === 1) pos += 8;
    else if (wire === 5) pos += 4;
    else if (wire === 2) {
      const len = readVarint(buf, pos);
      pos = len.next + Number(len.value);
    } else throw new Error(`proto: cannot parse reserved wire type ${wire}`);
    if (pos > buf.length) throw new Error('proto: unexpected end of message');
  }
  return status;
}

/** Joins host and port like Go's net.JoinHostPort (IPv6 in brackets). */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/**
 * Runs one gRPC health check against host:port within timeoutMs and reports the kubelet's verdict
 * and message. Never throws.
 */
export async function grpcHealthCheck(t: GrpcTarget, timeoutMs: number, opts: GrpcCheckOptions = {}): Promise<CheckOutcome> {
  const addr = joinHostPort(t.host, t.port);
  const timeout = goDuration(timeoutMs);
  const deadline = Date.now() + timeoutMs;
  const session = await dialUntilReady(t, deadline);
  if (!session) {
    return {
      result: 'failure',
      message: `timeout: failed to connect service ${JSON.stringify(addr)} within ${timeout}: context deadline exceeded`,
    };
  }
  try {
    const status = await checkRpc(session, { service: t.service ?? '', deadline, userAgent: opts.userAgent });
    if (status !== SERVING) {
      return { result: 'failure', message: `service unhealthy (responded with ${JSON.stringify(servingStatusName(status))})` };
    }
    return { result: 'success', message: 'service healthy' };
  } catch (e) {
    if (e instanceof RpcError) {
      if (e.code === CODE.Unimplemented) {
        return {
          result: 'failure',
          message: `error: this server does not implement the grpc health protocol (grpc.health.v1.Health): ${e.desc}`,
        };
      }
      if (e.code === CODE.DeadlineExceeded) {
        return { result: 'failure', message: `timeout: health rpc did not complete within ${timeout}` };
      }
    }
    return { result: 'failure', message: `error: health rpc probe failed: ${(e as Error).message}` };
  } finally {
    session.destroy();
  }
}

/** Connects with grpc-go's blocking-dial semantics: retry with backoff until ready or deadline (→ null). */
async function dialUntilReady(t: GrpcTarget, deadline: number): Promise<http2.ClientHttp2Session | null> {
  let backoff = BACKOFF_BASE_MS;
  for (;;) {
    const started = Date.now();
    if (started >= deadline) return null;
    const s = await connectOnce(t, deadline);
    if (s) return s;
    const wait = Math.min(backoff - (Date.now() - started), deadline - Date.now());
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    backoff = Math.min(backoff * BACKOFF_MULTIPLIER, BACKOFF_MAX_MS);
  }
}

/** One connection attempt: resolves the session once the server's SETTINGS arrive, else null. */
function connectOnce(t: GrpcTarget, deadline: number): Promise<http2.ClientHttp2Session | null> {
  return new Promise((resolve) => {
    const host = t.host === '' ? 'localhost' : t.host;
    const session = http2.connect(`http://${joinHostPort(host, t.port)}`);
    let done = false;
    const finish = (ok: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (ok) resolve(session);
      else {
        session.destroy();
        resolve(null);
      }
    };
    const timer = setTimeout(() => finish(false), Math.max(0, deadline - Date.now()));
    session.on('error', () => finish(false));
    session.once('close', () => finish(false));
    session.once('remoteSettings', () => finish(true));
  });
}

/** Maps an HTTP status without grpc-status to a gRPC code, as grpc-go does. */
function httpStatusToCode(status: number): number {
  switch (status) {
    case 400:
      return CODE.Internal;
    case 401:
      return CODE.Unauthenticated;
    case 403:
      return CODE.PermissionDenied;
    case 404:
      return CODE.Unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return CODE.Unavailable;
    default:
      return CODE.Unknown;
  }
}

const HTTP_STATUS_TEXT: Record<number, string> = {
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  429: 'Too Many Requests',
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** HTTP/2 error code names as Go's http2.ErrCode prints them. */
const H2_ERROR_NAMES = [
  'NO_ERROR',
  'PROTOCOL_ERROR',
  'INTERNAL_ERROR',
  'FLOW_CONTROL_ERROR',
  'SETTINGS_TIMEOUT',
  'STREAM_CLOSED',
  'FRAME_SIZE_ERROR',
  'REFUSED_STREAM',
  'CANCEL',
  'COMPRESSION_ERROR',
  'CONNECT_ERROR',
  'ENHANCE_YOUR_CALM',
  'INADEQUATE_SECURITY',
  'HTTP_1_1_REQUIRED',
];

/** grpc-go's mapping of a received RST_STREAM code to a gRPC code. */
function rstToCode(rst: number): number {
  if (rst === http2.constants.NGHTTP2_CANCEL) return CODE.Canceled;
  if (rst === http2.constants.NGHTTP2_REFUSED_STREAM) return CODE.Unavailable;
  if (rst === http2.constants.NGHTTP2_ENHANCE_YOUR_CALM) return CODE.ResourceExhausted;
  if (rst === http2.constants.NGHTTP2_INADEQUATE_SECURITY) return CODE.PermissionDenied;
  return CODE.Internal;
}

/** Decodes a percent-encoded grpc-message; malformed encodings are kept as sent. */
function decodeGrpcMessage(v: string | string[] | undefined): string {
  const s = Array.isArray(v) ? v.join(',') : (v ?? '');
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

function headerValue(v: string | string[] | number | undefined): string | undefined {
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

/**
 * Sends the Check RPC on a ready session; resolves the ServingStatus or rejects with an RpcError
 * (DeadlineExceeded when the deadline passes first).
 */
function checkRpc(
  session: http2.ClientHttp2Session,
  o: { service: string; deadline: number; userAgent?: string },
): Promise<number> {
  return new Promise((resolve, reject) => {
    const left = Math.max(1, o.deadline - Date.now());
    const req = session.request({
      ':method': 'POST',
      ':path': HEALTH_CHECK_PATH,
      'content-type': 'application/grpc',
      te: 'trailers',
      'user-agent': o.userAgent ?? DEFAULT_USER_AGENT,
      'grpc-timeout': `${left}m`,
    });
    let done = false;
    const finish = (err: Error | null, status = 0): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      if (!req.closed) req.close(http2.constants.NGHTTP2_CANCEL);
      if (err) reject(err);
      else resolve(status);
    };
    const timer = setTimeout(() => finish(new RpcError(CODE.DeadlineExceeded, 'context deadline exceeded')), left);

    let headers: http2.IncomingHttpHeaders | undefined;
    let trailers: http2.IncomingHttpHeaders | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('response', (h) => (headers = h));
    req.on('trailers', (h) => (trailers = h));
    let sizeChecked = false;
    req.on('data', (c: Buffer) => {
      chunks.push(c);
      size += c.length;
      // Only a gRPC response has a frame header to check; other bodies are judged by interpret().
      if (!sizeChecked && size >= 5 && headers && isGrpcResponse(headers)) {
        sizeChecked = true;
        const len = Buffer.concat(chunks).readUInt32BE(1);
        if (len > MAX_RECV_MESSAGE) {
          finish(
            new RpcError(
              CODE.ResourceExhausted,
              `grpc: received message larger than max (${len} vs. ${MAX_RECV_MESSAGE})`,
            ),
          );
        }
      }
    });
    req.on('error', () => {
      /* reported through 'close' (rstCode) */
    });
    req.on('close', () => {
      if (done) return;
      try {
        finish(null, interpret({ headers, trailers, body: Buffer.concat(chunks), rstCode: req.rstCode }));
      } catch (e) {
        finish(e as Error);
      }
    });
    req.end(grpcFrame(encodeHealthCheckRequest(o.service)));
  });
}

function isGrpcContentType(ct: string): boolean {
  return /^application\/grpc([+;].*)?$/.test(ct);
}

function isGrpcResponse(h: http2.IncomingHttpHeaders): boolean {
  return Number(h[':status']) === 200 && isGrpcContentType(headerValue(h['content-type']) ?? '');
}

/** Turns a finished stream (headers, trailers, body, reset code) into a ServingStatus or an RpcError. */
function interpret(r: {
  headers?: http2.IncomingHttpHeaders;
  trailers?: http2.IncomingHttpHeaders;
  body: Buffer;
  rstCode?: number;
}): number {
  if (!r.headers) {
    const rst = r.rstCode ?? 0;
    if (rst !== 0) {
      throw new RpcError(rstToCode(rst), `stream terminated by RST_STREAM with error code: ${H2_ERROR_NAMES[rst] ?? rst}`);
    }
    throw new RpcError(CODE.Unavailable, 'error reading from server: EOF');
  }
  const httpStatus = Number(r.headers[':status'] ?? 0);
  const contentType = headerValue(r.headers['content-type']) ?? '';
  const isGrpc = isGrpcContentType(contentType);
  if (httpStatus !== 200 || !isGrpc) {
    let desc =
      httpStatus !== 200
        ? `unexpected HTTP status code received from server: ${httpStatus} (${HTTP_STATUS_TEXT[httpStatus] ?? 'status code ' + httpStatus})`
        : '';
    if (!isGrpc) {
      const ctErr = contentType === '' ? 'malformed header: missing HTTP content-type' : `transport: received unexpected content-type ${JSON.stringify(contentType)}`;
      desc = desc ? `${desc}; ${ctErr}` : ctErr;
    }
    throw new RpcError(httpStatus !== 200 ? httpStatusToCode(httpStatus) : CODE.Unknown, desc);
  }
  // Trailers-only responses carry the status in the (only) header block.
  const meta = r.trailers && r.trailers['grpc-status'] !== undefined ? r.trailers : r.headers;
  const rawStatus = headerValue(meta['grpc-status']);
  if (rawStatus === undefined) {
    const rst = r.rstCode ?? 0;
    if (rst !== 0) {
      throw new RpcError(rstToCode(rst), `stream terminated by RST_STREAM with error code: ${H2_ERROR_NAMES[rst] ?? rst}`);
    }
    throw new RpcError(CODE.Internal, 'server closed the stream without sending trailers');
  }
  const code = Number(rawStatus);
  if (!Number.isInteger(code) || code < 0) throw new RpcError(CODE.Internal, `transport: malformed grpc-status: ${rawStatus}`);
  if (code !== 0) throw new RpcError(code, decodeGrpcMessage(meta['grpc-message']));
  return decodeSingleMessage(r.body);
}

/** Extracts the one response message a unary RPC must carry and decodes it. */
function decodeSingleMessage(body: Buffer): number {
  if (body.length === 0) {
    throw new RpcError(CODE.Internal, 'cardinality violation: received no response message from non-streaming RPC');
  }
  if (body.length < 5) throw new RpcError(CODE.Internal, 'unexpected EOF');
  const flag = body[0]!;
  const len = body.readUInt32BE(1);
  if (body.length < 5 + len) throw new RpcError(CODE.Internal, 'unexpected EOF');
  if (flag !== 0) {
    throw new RpcError(CODE.Internal, 'grpc: compressed flag set with identity or empty encoding');
  }
  if (body.length > 5 + len) {
    throw new RpcError(CODE.Internal, 'cardinality violation: expected <EOF> for non server-streaming RPCs, but received another message');
  }
  try {
    return decodeHealthCheckResponse(body.subarray(5, 5 + len));
  } catch (e) {
    throw new RpcError(CODE.Internal, `grpc: failed to unmarshal the received message: ${(e as Error).message}`);
  }
}
