/**
 * The proxy's own HTTP/1.1 client for plain-HTTP upstreams (RFC 9112), replacing node's
 * http.request/Agent, whose per-request cost (header validation, Agent bookkeeping,
 * IncomingMessage streams) dominated the proxy's profile.
 *
 * `UpstreamPool` keeps keep-alive connections per `address:port`: reused LIFO (the warmest
 * socket first), at most `maxIdlePerEndpoint` idle ones, each closed after `idleTimeoutMs` of
 * idleness; idle sockets are unref'd so they never keep the process alive, and one that errors,
 * closes or receives any byte while idle is dropped. `UpstreamExchange` is one request/response
 * on one connection: the head goes out in one write, the body is streamed by the caller through
 * `write`/`end` (Content-Length passed through, or chunked), and the response is reported to an
 * `UpstreamHandler` as head, body chunks and end (with trailers). A connection is reused only
 * when the response was complete, framed (not close-delimited), not `connection: close`, the
 * request was fully sent and no byte followed the response.
 *
 * Failures are classified for the proxy's retry rules: `ConnectFailure` (refused/timed out
 * connecting; try the next endpoint), `StaleConnection` (a reused socket died before any response
 * byte; nginx retries those), `UpstreamTimeout` (send/read timeout → 504), anything else → 502.
 */
import net from 'node:net';
import { ParseError, ResponseParser, type ParserHandler, type ResponseHead } from './upstream-parser.js';

export { ParseError, ResponseParser, type ResponseHead } from './upstream-parser.js';

/** Retry-worthy connect failures (nginx's `error`/`timeout` on connect). */
export class ConnectFailure extends Error {
  constructor(readonly timeout: boolean, message: string) {
    super(message);
  }
}
/** A send or read timeout (nginx proxy_send_timeout / proxy_read_timeout). */
export class UpstreamTimeout extends Error {}
/** An error on a reused keep-alive connection before any response byte. */
export class StaleConnection extends Error {}

/** How the request body is framed: none (no body), the client's Content-Length, or chunked. */
export type BodyFraming = 'none' | 'length' | 'chunked';

export interface UpstreamRequest {
  method: string;
  target: string;
  /** Sent as given (names as keys, arrays as repeated lines); must include framing headers for 'length'. */
  headers: Record<string, string | string[]>;
  framing: BodyFraming;
  connectTimeoutMs: number;
  sendTimeoutMs: number;
  readTimeoutMs: number;
}

/** What an exchange reports; exactly one of onEnd/onError ends it (none after `abort`). */
export interface UpstreamHandler {
  /** The connection is up and the head written: the body may be streamed now. */
  onConnect(): void;
  onResponse(head: ResponseHead): void;
  onData(chunk: Buffer): void;
  onEnd(trailers: Record<string, string> | undefined): void;
  onError(err: Error): void;
}

export interface UpstreamPoolOptions {
  /** Idle keep-alive sockets kept per endpoint (default 32). */
  maxIdlePerEndpoint?: number;
  /** An idle socket is closed after this long (default 60 s). */
  idleTimeoutMs?: number;
  /** Largest response head accepted (default 64 KiB). */
  maxHeadBytes?: number;
}

const BAD_HEADER_CHAR = /[\r\n\0]/;
const CRLF = '\r\n';
const LAST_CHUNK = '0\r\n\r\n';

const P_IDLE = 0;
const P_CONNECTING = 1;
const P_SENDING = 2;
const P_READING = 3;

/** Keep-alive connections per endpoint; see the file comment. */
export class UpstreamPool {
  readonly maxIdle: number;
  readonly idleTimeoutMs: number;
  readonly maxHeadBytes: number;
  private readonly idle = new Map<string, Conn[]>();
  private closed = false;
  /** Connections opened so far (for tests and diagnostics). */
  opened = 0;

  constructor(opts: UpstreamPoolOptions = {}) {
    this.maxIdle = opts.maxIdlePerEndpoint ?? 32;
    this.idleTimeoutMs = opts.idleTimeoutMs ?? 60_000;
    this.maxHeadBytes = opts.maxHeadBytes ?? 64 * 1024;
  }

  /**
   * One request to `address:port`, not yet started: keep the returned exchange, then call
   * `start()` (which may call onConnect or onError synchronously).
   */
  exchange(address: string, port: number, req: UpstreamRequest, handler: UpstreamHandler): UpstreamExchange {
    return new UpstreamExchange(this, `${address}:${port}`, address, port, req, handler);
  }

  /** Idle sockets held for `key` (`address:port`), or in total. */
  idleCount(key?: string): number {
    if (key !== undefined) return this.idle.get(key)?.length ?? 0;
    let n = 0;
    for (const l of this.idle.values()) n += l.length;
    return n;
  }

  /** Destroys every idle socket; later released sockets are destroyed too. */
  close(): void {
    this.closed = true;
    for (const list of this.idle.values()) for (const c of list) c.socket.destroy();
    this.idle.clear();
  }

  /** @internal */
  take(key: string): Conn | undefined {
    const list = this.idle.get(key);
    if (list === undefined) return undefined;
    let c = list.pop();
    while (c !== undefined && (c.socket.destroyed || c.socket.readyState !== 'open')) c = list.pop();
    return c;
  }

  /** @internal */
  connect(key: string, address: string, port: number): Conn {
    this.opened++;
    const socket = net.connect({ host: address, port, noDelay: true });
    return new Conn(this, key, socket);
  }

  /** @internal A connection whose exchange completed cleanly. */
  release(c: Conn): void {
    let list = this.idle.get(c.key);
    if (list === undefined) {
      list = [];
      this.idle.set(c.key, list);
    }
    if (this.closed || list.length >= this.maxIdle) {
      c.socket.destroy();
      return;
    }
    c.phase = P_IDLE;
    c.socket.setTimeout(this.idleTimeoutMs);
    c.socket.unref();
    list.push(c);
  }

  /** @internal */
  forget(c: Conn): void {
    const list = this.idle.get(c.key);
    if (list === undefined) return;
    const i = list.lastIndexOf(c);
    if (i >= 0) list.splice(i, 1);
  }
}

/** One socket and its parser; routes socket events to the current exchange, if any. */
class Conn implements ParserHandler {
  ex: UpstreamExchange | null = null;
  phase = P_CONNECTING;
  readonly parser: ResponseParser;

  constructor(readonly pool: UpstreamPool, readonly key: string, readonly socket: net.Socket) {
    this.parser = new ResponseParser(this, { maxHeadBytes: pool.maxHeadBytes });
    socket.on('connect', this.onConnect);
    socket.on('data', this.onSocketData);
    socket.on('end', this.onSocketEnd);
    socket.on('close', this.onSocketClose);
    socket.on('error', this.onSocketError);
    socket.on('timeout', this.onSocketTimeout);
    socket.on('drain', this.onSocketDrain);
  }

  onHead(head: ResponseHead): void {
    this.ex?.gotHead(head);
  }

  onBody(chunk: Buffer): void {
    this.ex?.handler.onData(chunk);
  }

  private readonly onConnect = (): void => {
    this.ex?.connected();
  };

  private readonly onSocketData = (buf: Buffer): void => {
    const ex = this.ex;
    if (ex === null) {
      // Bytes while idle: the stream is out of sync; never reuse it.
      this.pool.forget(this);
      this.socket.destroy();
      return;
    }
    ex.responseBytes = true;
    let used: number;
    try {
      used = this.parser.execute(buf);
    } catch (e) {
      ex.fail(e instanceof ParseError ? new Error(`invalid upstream response: ${e.message}`) : (e as Error));
      return;
    }
    if (this.ex !== ex || !this.parser.complete) return;
    ex.responseDone(used === buf.length);
  };

  private readonly onSocketEnd = (): void => {
    this.closedByPeer();
  };

  private readonly onSocketClose = (): void => {
    this.closedByPeer();
  };

  private closedByPeer(): void {
    const ex = this.ex;
    if (ex === null) {
      this.pool.forget(this);
      this.socket.destroy();
      return;
    }
    if (this.parser.readsUntilClose && this.parser.finish()) {
      ex.responseDone(false);
      return;
    }
    ex.fail(ex.lostError('upstream closed the connection'));
  }

  private readonly onSocketError = (err: Error): void => {
    const ex = this.ex;
    if (ex === null) {
      this.pool.forget(this);
      this.socket.destroy();
      return;
    }
    ex.fail(ex.lostError(err.message));
  };

  private readonly onSocketTimeout = (): void => {
    const ex = this.ex;
    if (ex === null) {
      this.pool.forget(this);
      this.socket.destroy();
      return;
    }
    if (this.phase === P_CONNECTING) ex.fail(new ConnectFailure(true, 'connect timed out'));
    else ex.fail(new UpstreamTimeout(this.phase === P_SENDING ? 'send timed out' : 'read timed out'));
  };

  private readonly onSocketDrain = (): void => {
    this.ex?.drained();
  };
}

/** One request/response on one pooled connection; see the file comment. */
export class UpstreamExchange {
  /** Whether the connection came from the idle pool. */
  reused = false;
  /** Any response byte arrived. */
  responseBytes = false;
  private conn: Conn | null = null;
  private requestDone = false;
  /** The head is corked, waiting for the first body bytes. */
  private corked = false;
  private drainFn: (() => void) | null = null;

  constructor(
    private readonly pool: UpstreamPool,
    private readonly key: string,
    private readonly address: string,
    private readonly port: number,
    private readonly req: UpstreamRequest,
    readonly handler: UpstreamHandler,
  ) {}

  /**
   * Takes an idle connection (then onConnect runs synchronously) or opens one. A request head
   * that cannot be serialized (CR/LF/NUL in it) fails synchronously with onError.
   */
  start(): void {
    let c = this.pool.take(this.key);
    if (c !== undefined) {
      this.reused = true;
      c.socket.ref();
    } else {
      c = this.pool.connect(this.key, this.address, this.port);
    }
    this.conn = c;
    c.ex = this;
    c.parser.reset(this.req.method === 'HEAD');
    if (this.reused) {
      this.connected();
    } else {
      c.phase = P_CONNECTING;
      c.socket.setTimeout(this.req.connectTimeoutMs);
    }
  }

  /** @internal The socket is connected: send the head. */
  connected(): void {
    const c = this.conn;
    if (c === null) return;
    let head: string;
    try {
      head = serializeHead(this.req);
    } catch (e) {
      this.fail(e as Error);
      return;
    }
    if (this.req.framing === 'none') {
      this.requestDone = true;
      c.phase = P_READING;
      c.socket.setTimeout(this.req.readTimeoutMs);
    } else {
      c.phase = P_SENDING;
      c.socket.setTimeout(this.req.sendTimeoutMs);
      // Hold the head back until the first body chunk (or the end), so that a small body
      // already buffered from the client leaves in the same write.
      c.socket.cork();
      this.corked = true;
    }
    c.socket.write(head, 'latin1');
    this.handler.onConnect();
  }

  /** Writes a request body chunk; false asks the caller to wait for 'drain'. */
  write(chunk: Buffer): boolean {
    const c = this.conn;
    if (c === null || this.requestDone || chunk.length === 0) return true;
    const s = c.socket;
    let ok: boolean;
    if (this.req.framing === 'chunked') {
      s.cork();
      s.write(chunk.length.toString(16) + CRLF, 'latin1');
      s.write(chunk);
      ok = s.write(CRLF, 'latin1');
      s.uncork();
    } else {
      ok = s.write(chunk);
    }
    if (this.corked) {
      this.corked = false;
      s.uncork();
    }
    return ok;
  }

  /** The request body is complete. */
  end(): void {
    const c = this.conn;
    if (c === null || this.requestDone) return;
    this.requestDone = true;
    if (this.req.framing === 'chunked') c.socket.write(LAST_CHUNK, 'latin1');
    if (this.corked) {
      this.corked = false;
      c.socket.uncork();
    }
    if (c.phase === P_SENDING) {
      c.phase = P_READING;
      c.socket.setTimeout(this.req.readTimeoutMs);
    }
  }

  /** The one-shot 'drain' subscription the body pump needs (a Writable-like surface). */
  once(_event: 'drain', fn: () => void): this {
    this.drainFn = fn;
    return this;
  }

  /** True once the exchange is over (written chunks are then dropped). */
  get destroyed(): boolean {
    return this.conn === null;
  }

  /** Response back-pressure: stop/start reading the upstream socket. */
  pause(): void {
    this.conn?.socket.pause();
  }

  resume(): void {
    this.conn?.socket.resume();
  }

  /** Drops the exchange and its socket without any further callback (client went away). */
  abort(): void {
    const c = this.conn;
    if (c === null) return;
    this.detach(c);
    c.socket.destroy();
  }

  /** @internal */
  drained(): void {
    const fn = this.drainFn;
    if (fn !== null) {
      this.drainFn = null;
      fn();
    }
  }

  /** @internal */
  gotHead(head: ResponseHead): void {
    const c = this.conn!;
    if (c.phase === P_SENDING) {
      // An early answer (e.g. 413): from now on it is the read timeout that applies.
      c.phase = P_READING;
      c.socket.setTimeout(this.req.readTimeoutMs);
    }
    this.handler.onResponse(head);
  }

  /** @internal The response is complete; `clean`: nothing followed it in the same read. */
  responseDone(clean: boolean): void {
    const c = this.conn!;
    const trailers = c.parser.trailers;
    const reusable = clean && c.parser.keepAlive && this.requestDone && !c.socket.destroyed;
    this.detach(c);
    if (reusable) this.pool.release(c);
    else c.socket.destroy();
    this.handler.onEnd(trailers);
  }

  /** @internal The error for a connection lost before the response completed. */
  lostError(message: string): Error {
    const c = this.conn;
    if (c !== null && c.phase === P_CONNECTING) return new ConnectFailure(false, message);
    if (this.reused && !this.responseBytes) return new StaleConnection(message);
    return new Error(message);
  }

  /** @internal Ends the exchange with an error; the socket is never reused. */
  fail(err: Error): void {
    const c = this.conn;
    if (c === null) return;
    this.detach(c);
    c.socket.destroy();
    this.handler.onError(err);
  }

  private detach(c: Conn): void {
    this.conn = null;
    this.drainFn = null;
    c.ex = null;
    c.parser.stop();
    if (c.socket.isPaused()) c.socket.resume();
  }
}

/** `METHOD target HTTP/1.1` and the header lines; throws on CR/LF/NUL anywhere in them. */
export function serializeHead(req: UpstreamRequest): string {
  let head = `${req.method} ${req.target} HTTP/1.1\r\n`;
  if (BAD_HEADER_CHAR.test(req.target) || req.target.includes(' ')) throw new Error('invalid request target');
  const h = req.headers;
  for (const name in h) {
    const v = h[name]!;
    if (typeof v === 'string') {
      if (BAD_HEADER_CHAR.test(v) || BAD_HEADER_CHAR.test(name)) throw new Error(`invalid header value for ${name}`);
      head += `${name}: ${v}\r\n`;
    } else {
      for (const item of v) {
        if (BAD_HEADER_CHAR.test(item) || BAD_HEADER_CHAR.test(name)) throw new Error(`invalid header value for ${name}`);
        head += `${name}: ${item}\r\n`;
      }
    }
  }
  if (req.framing === 'chunked') head += 'transfer-encoding: chunked\r\n';
  return head + CRLF;
}

/** Response headers that describe one hop (the list policy.ts stripHopByHop uses). */
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'proxy-authenticate', 'proxy-authorization', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'http2-settings']);

/**
 * The response headers for the client: lowercased names, duplicates as arrays in arrival order,
 * without hop-by-hop headers and without those the Connection header lists (what
 * policy.ts stripHopByHop does, straight from the raw arrays).
 */
export function clientHeaders(head: ResponseHead): Record<string, string | string[]> {
  const out = Object.create(null) as Record<string, string | string[]>;
  const { names, values, connection } = head;
  for (let i = 0; i < names.length; i++) {
    const name = names[i]!;
    if (HOP_BY_HOP.has(name) || (connection.length > 0 && connection.includes(name))) continue;
    const prior = out[name];
    if (prior === undefined) out[name] = values[i]!;
    else if (typeof prior === 'string') out[name] = [prior, values[i]!];
    else prior.push(values[i]!);
  }
  return out;
}
