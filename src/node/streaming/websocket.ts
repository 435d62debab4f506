/**
 * A small RFC 6455 WebSocket server (no extensions), enough for the kubelet's streaming endpoints:
 * `kubectl exec/attach` (channel.k8s.io family) and port-forward tunnelling (SPDY inside WebSocket).
 *
 * Why our own: no npm dependency may be added, and Node 20 has no WebSocket server. The behaviour
 * follows the RFC strictly where the peers (gorilla/websocket in kubectl, undici) rely on it:
 * client frames must be masked, control frames are ≤125 bytes and unfragmented, a close frame is
 * echoed before the TCP connection is closed, text messages must be valid UTF-8.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import { Duplex } from 'node:stream';

const GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** x/net/websocket's default (the library the kubelet's streaming server uses). */
export const DEFAULT_MAX_MESSAGE_SIZE = 32 << 20;
const CLOSE_TIMEOUT_MS = 5000;

export const OPCODE = { continuation: 0, text: 1, binary: 2, close: 8, ping: 9, pong: 10 } as const;

/** Close codes used here (RFC 6455 §7.4.1). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  protocolError: 1002,
  unsupportedData: 1003,
  noStatus: 1005,
  abnormal: 1006,
  invalidPayload: 1007,
  tooBig: 1009,
  internalError: 1011,
} as const;

/**
 * A server-side WebSocket connection.
 * Events: 'message' (data: Buffer, isBinary: boolean), 'close' (code?: number, reason?: string) — emitted
 * exactly once, 'error' (err), 'drain' (the socket accepted all queued output), 'ping'/'pong' (payload).
 */
export interface WebSocketConn extends EventEmitter {
  /** The negotiated subprotocol ('' when the client offered none and '' was allowed). */
  readonly protocol: string;
  /** Sends one message (binary by default for Buffers, text for strings). Returns false when the
   * socket buffer is full (backpressure: wait for 'drain'). Sending after close is a no-op returning false. */
  send(data: Buffer | string, opts?: { binary?: boolean }): boolean;
  /** Starts the close handshake (idempotent); the TCP connection is ended once the peer answers or after a timeout. */
  close(code?: number, reason?: string): void;
  /** Stops reading from the socket (inbound backpressure); `resume()` undoes it. */
  pause(): void;
  resume(): void;
  /** Sends a ping control frame. */
  ping(data?: Buffer): void;
  /** Tears the connection down immediately without a close handshake. */
  terminate(): void;
  /** True once a close frame was sent or received, or the socket ended. */
  readonly closed: boolean;
}

export interface AcceptOptions {
  /** Acceptable subprotocols in server preference order; '' means "a client offering none is accepted". */
  protocols: string[];
  /** Largest accepted message (after reassembly); a larger one closes with 1009. */
  maxMessageSize?: number;
}

/** True when the request asks for a WebSocket upgrade (same test as wsstream.IsWebSocketRequest). */
export function isWebSocketUpgrade(req: IncomingMessage): boolean {
  const upgrade = String(req.headers.upgrade ?? '');
  if (upgrade.toLowerCase() !== 'websocket') return false;
  const connection = String(req.headers.connection ?? '').toLowerCase();
  return connection.split(',').some((t) => t.trim() === 'upgrade');
}

/** The Sec-WebSocket-Accept value for a client key (RFC 6455 §4.2.2). */
export function acceptKey(key: string): string {
  return createHash('sha1').update(key + GUID).digest('base64');
}

/** Subprotocols the client offered, in its order (Sec-WebSocket-Protocol may be repeated or comma-separated). */
export function offeredProtocols(req: IncomingMessage): string[] {
  const raw = req.headers['sec-websocket-protocol'];
  const values = Array.isArray(raw) ? raw : raw === undefined ? [] : [raw];
  return values
    .flatMap((v) => v.split(','))
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
}

/**
 * Picks the subprotocol: the first of `allowed` (server preference) the client offered. A client that
 * offered none gets '' if '' is allowed (kube's wsstream treats "no protocol" as the empty name).
 */
export function negotiateProtocol(offered: string[], allowed: string[]): string | undefined {
  if (offered.length === 0) return allowed.includes('') ? '' : undefined;
  return allowed.find((p) => p !== '' && offered.includes(p));
}

/**
 * Answers an upgrade request with a plain HTTP error (as Go's http.Error: text body) and closes the
 * connection. For refusing an upgrade before any WebSocket handshake happened.
 */
export function writeHttpError(socket: Duplex, status: number, body: string, extra: Record<string, string> = {}): void {
  const reason = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 426: 'Upgrade Required', 500: 'Internal Server Error' }[status] ?? 'Error';
  const headers = { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': String(Buffer.byteLength(body)), Connection: 'close', ...extra };
  const lines = [`HTTP/1.1 ${status} ${reason}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', body];
  if (socket.writable) socket.end(lines.join('\r\n'));
  else socket.destroy();
}

/**
 * Completes the RFC 6455 handshake on an HTTP upgrade (server side). Chooses the first of
 * `opts.protocols` (server preference order) that the client offered. A malformed handshake gets
 * 400 (426 for a wrong version); no protocol in common gets 403 with the reason in the body, as
 * x/net/websocket (used by the kubelet) answers a failed protocol handshake. Returns undefined when rejected
 * (the socket is then being closed).
 */
export function acceptWebSocket(req: IncomingMessage, socket: Duplex, head: Buffer, opts: AcceptOptions): WebSocketConn | undefined {
  if (req.method !== 'GET') {
    writeHttpError(socket, 405, 'websocket upgrade requires GET\n');
    return undefined;
  }
  if (!isWebSocketUpgrade(req)) {
    writeHttpError(socket, 400, 'missing websocket upgrade headers\n');
    return undefined;
  }
  if (String(req.headers['sec-websocket-version'] ?? '') !== '13') {
    writeHttpError(socket, 426, 'unsupported websocket version\n', { 'Sec-WebSocket-Version': '13' });
    return undefined;
  }
  const key = String(req.headers['sec-websocket-key'] ?? '').trim();
  if (Buffer.from(key, 'base64').length !== 16) {
    writeHttpError(socket, 400, 'invalid Sec-WebSocket-Key\n');
    return undefined;
  }
  const offered = offeredProtocols(req);
  const protocol = negotiateProtocol(offered, opts.protocols);
  if (protocol === undefined) {
    writeHttpError(socket, 403, `requested protocol(s) are not supported: [${offered.join(' ')}]; supports [${opts.protocols.join(' ')}]`);
    return undefined;
  }
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptKey(key)}`];
  if (protocol !== '') lines.push(`Sec-WebSocket-Protocol: ${protocol}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const s = socket as Duplex & { setNoDelay?: (v: boolean) => void; setTimeout?: (ms: number) => void };
  s.setNoDelay?.(true);
  s.setTimeout?.(0);
  return new ServerConn(socket, head, { protocol, maxMessageSize: opts.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE });
}

/** Encodes one frame header (server frames are never masked). */
export function frameHeader(opcode: number, length: number, fin = true): Buffer {
  const b0 = (fin ? 0x80 : 0) | opcode;
  if (length < 126) return Buffer.from([b0, length]);
  if (length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = b0;
  h[1] = 127;
  h.writeBigUInt64BE(BigInt(length), 2);
  return h;
}

class ProtocolError extends Error {
  constructor(readonly code: number, message: string) {
    super(message);
  }
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

function validUtf8(b: Buffer): boolean {
  try {
    utf8.decode(b);
    return true;
  } catch {
    return false;
  }
}

/** The connection: an incremental frame parser over the socket plus a frame writer. */
class ServerConn extends EventEmitter implements WebSocketConn {
  readonly protocol: string;
  private readonly socket: Duplex;
  private readonly maxMessageSize: number;
  private chunks: Buffer[] = [];
  private buffered = 0;
  /** Opcode and parts of the message being reassembled from fragments. */
  private fragOpcode = -1;
  private fragParts: Buffer[] = [];
  private fragSize = 0;
  private sentClose = false;
  private receivedClose = false;
  private emittedClose = false;
  private closeTimer: NodeJS.Timeout | undefined;
  private closeInfo: { code?: number; reason?: string } = {};
  /** While paused no further messages are emitted, even ones already received. */
  private paused = false;

  constructor(socket: Duplex, head: Buffer, opts: { protocol: string; maxMessageSize: number }) {
    super();
    this.socket = socket;
    this.protocol = opts.protocol;
    this.maxMessageSize = opts.maxMessageSize;
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    socket.on('drain', () => this.emit('drain'));
    socket.on('error', (err: Error) => {
      // A reset peer is a normal way for a connection to end; surface it only if someone listens.
      if (this.listenerCount('error') > 0) this.emit('error', err);
    });
    socket.on('close', () => this.finish());
    socket.on('end', () => {
      if (!this.sentClose) socket.end();
    });
    if (head.length > 0) queueMicrotask(() => this.onData(head));
  }

  get closed(): boolean {
    return this.sentClose || this.receivedClose || this.emittedClose;
  }

  send(data: Buffer | string, opts: { binary?: boolean } = {}): boolean {
    if (this.sentClose || !this.socket.writable) return false;
    const binary = opts.binary ?? typeof data !== 'string';
    const payload = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
    return this.writeFrame(binary ? OPCODE.binary : OPCODE.text, payload);
  }

  ping(data: Buffer = Buffer.alloc(0)): void {
    if (!this.sentClose && this.socket.writable) this.writeFrame(OPCODE.ping, data.subarray(0, 125));
  }

  close(code: number = CloseCode.normal, reason = ''): void {
    if (this.sentClose) return;
    this.sendClose(code, reason);
    if (this.receivedClose) {
      this.socket.end();
    } else {
      this.closeTimer = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
      this.closeTimer.unref();
    }
  }

  terminate(): void {
    this.socket.destroy();
  }

  pause(): void {
    this.paused = true;
    this.socket.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.socket.resume();
    // Frames that arrived in the same TCP read as the one that caused the pause are still buffered.
    if (this.buffered > 0) queueMicrotask(() => this.onData(Buffer.alloc(0)));
  }

  private sendClose(code: number, reason: string): void {
    this.sentClose = true;
    if (!this.socket.writable) return;
    let payload = Buffer.alloc(0);
    if (code !== CloseCode.noStatus && code !== CloseCode.abnormal) {
      const r = Buffer.from(reason, 'utf8').subarray(0, 123);
      payload = Buffer.alloc(2 + r.length);
      payload.writeUInt16BE(code, 0);
      r.copy(payload, 2);
    }
    this.writeFrame(OPCODE.close, payload);
  }

  private writeFrame(opcode: number, payload: Buffer): boolean {
    const header = frameHeader(opcode, payload.length);
    if (payload.length < 1024) return this.socket.write(Buffer.concat([header, payload]));
    this.socket.cork();
    this.socket.write(header);
    const ok = this.socket.write(payload);
    process.nextTick(() => this.socket.uncork());
    return ok;
  }

  private finish(): void {
    if (this.closeTimer) clearTimeout(this.closeTimer);
    if (this.emittedClose) return;
    this.emittedClose = true;
    const { code, reason } = this.receivedClose ? this.closeInfo : { code: CloseCode.abnormal, reason: '' };
    this.emit('close', code, reason);
  }

  private fail(code: number, message: string): void {
    this.chunks = [];
    this.buffered = 0;
    this.receivedClose = true; // stop parsing further input
    if (this.listenerCount('error') > 0) this.emit('error', new ProtocolError(code, message));
    if (!this.sentClose) this.sendClose(code, message);
    this.closeInfo = { code, reason: message };
    this.socket.end();
    const t = setTimeout(() => this.socket.destroy(), CLOSE_TIMEOUT_MS);
    t.unref();
  }

  private onData(chunk: Buffer): void {
    if (this.receivedClose) return;
    if (chunk.length > 0) {
      this.chunks.push(chunk);
      this.buffered += chunk.length;
    }
    try {
      while (!this.paused && this.parseFrame()) {
        /* keep parsing */
      }
    } catch (err) {
      if (err instanceof ProtocolError) this.fail(err.code, err.message);
      else this.fail(CloseCode.internalError, String(err));
    }
  }

  /** Copies the first n buffered bytes without consuming them. */
  private peek(n: number): Buffer {
    if (this.chunks[0].length >= n) return this.chunks[0].subarray(0, n);
    const merged = Buffer.concat(this.chunks);
    this.chunks = [merged];
    return merged.subarray(0, n);
  }

  private consume(n: number): Buffer {
    const out = this.peek(n);
    const first = this.chunks[0];
    if (first.length === n) this.chunks.shift();
    else this.chunks[0] = first.subarray(n);
    this.buffered -= n;
    return Buffer.from(out); // own copy: the caller unmasks in place
  }

  /** Parses one complete frame if buffered; returns whether one was consumed. */
  private parseFrame(): boolean {
    if (this.receivedClose || this.buffered < 2) return false;
    const h = this.peek(2);
    const fin = (h[0] & 0x80) !== 0;
    const rsv = h[0] & 0x70;
    const opcode = h[0] & 0x0f;
    const masked = (h[1] & 0x80) !== 0;
    let len = h[1] & 0x7f;
    let headerLen = 2;
    if (rsv !== 0) throw new ProtocolError(CloseCode.protocolError, 'reserved bits set');
    if (!masked) throw new ProtocolError(CloseCode.protocolError, 'client frame not masked');
    const control = opcode >= 8;
    if (![0, 1, 2, 8, 9, 10].includes(opcode)) throw new ProtocolError(CloseCode.protocolError, `unknown opcode ${opcode}`);
    if (control && (!fin || len > 125)) throw new ProtocolError(CloseCode.protocolError, 'invalid control frame');
    if (len === 126) {
      if (this.buffered < 4) return false;
      len = this.peek(4).readUInt16BE(2);
      headerLen = 4;
    } else if (len === 127) {
      if (this.buffered < 10) return false;
      const big = this.peek(10).readBigUInt64BE(2);
      if (big > BigInt(Number.MAX_SAFE_INTEGER)) throw new ProtocolError(CloseCode.tooBig, 'frame too large');
      len = Number(big);
      headerLen = 10;
    }
    if (!control && this.fragSize + len > this.maxMessageSize) throw new ProtocolError(CloseCode.tooBig, 'message too big');
    if (this.buffered < headerLen + 4 + len) return false;
    this.consume(headerLen);
    const mask = this.consume(4);
    const payload = len > 0 ? this.consume(len) : Buffer.alloc(0);
    for (let i = 0; i < payload.length; i++) payload[i] ^= mask[i & 3];
    this.handleFrame(opcode, fin, payload);
    return true;
  }

  private handleFrame(opcode: number, fin: boolean, payload: Buffer): void {
    switch (opcode) {
      case OPCODE.ping:
        this.emit('ping', payload);
        if (!this.sentClose && this.socket.writable) this.writeFrame(OPCODE.pong, payload);
        return;
      case OPCODE.pong:
        this.emit('pong', payload);
        return;
      case OPCODE.close:
        return this.handleClose(payload);
      case OPCODE.continuation:
        if (this.fragOpcode < 0) throw new ProtocolError(CloseCode.protocolError, 'unexpected continuation frame');
        this.fragParts.push(payload);
        this.fragSize += payload.length;
        if (fin) {
          const op = this.fragOpcode;
          const data = Buffer.concat(this.fragParts);
          this.fragOpcode = -1;
          this.fragParts = [];
          this.fragSize = 0;
          this.deliver(op, data);
        }
        return;
      default:
        if (this.fragOpcode >= 0) throw new ProtocolError(CloseCode.protocolError, 'expected continuation frame');
        if (fin) return this.deliver(opcode, payload);
        this.fragOpcode = opcode;
        this.fragParts = [payload];
        this.fragSize = payload.length;
    }
  }

  private deliver(opcode: number, data: Buffer): void {
    if (opcode === OPCODE.text && !validUtf8(data)) throw new ProtocolError(CloseCode.invalidPayload, 'invalid UTF-8 in text message');
    if (this.sentClose) return; // we are closing: drop data (RFC allows discarding after sending close)
    this.emit('message', data, opcode === OPCODE.binary);
  }

  private handleClose(payload: Buffer): void {
    if (payload.length === 1) throw new ProtocolError(CloseCode.protocolError, 'invalid close payload');
    let code: number = CloseCode.noStatus;
    let reason = '';
    if (payload.length >= 2) {
      code = payload.readUInt16BE(0);
      const r = payload.subarray(2);
      if (!validUtf8(r)) throw new ProtocolError(CloseCode.invalidPayload, 'invalid UTF-8 in close reason');
      reason = r.toString('utf8');
    }
    this.receivedClose = true;
    this.closeInfo = { code, reason };
    if (!this.sentClose) this.sendClose(code === CloseCode.noStatus ? CloseCode.normal : code, '');
    this.socket.end(); // server closes TCP first (RFC 6455 §7.1.1)
  }
}

/**
 * Binary messages as a byte stream and back (for tunnelled protocols such as SPDY inside WebSocket).
 * Each write becomes one binary message; inbound binary messages are pushed in order (text messages are
 * ignored). Backpressure works both ways: a full socket delays the write callback until 'drain', a full
 * readable buffer pauses the socket. Ending the writable side closes the WebSocket normally; the
 * readable side ends when the WebSocket closes.
 */
export function webSocketStream(conn: WebSocketConn): Duplex {
  let pendingDrain: (() => void) | undefined;
  const stream = new Duplex({
    write(chunk: Buffer, _enc, cb): void {
      if (conn.closed) return cb(new Error('websocket closed'));
      if (conn.send(chunk, { binary: true })) return cb();
      pendingDrain = () => cb();
    },
    final(cb): void {
      conn.close(CloseCode.normal);
      cb();
    },
    read(): void {
      conn.resume();
    },
    destroy(err, cb): void {
      if (!conn.closed) conn.close(err ? CloseCode.internalError : CloseCode.normal);
      cb(err);
    },
  });
  conn.on('drain', () => {
    const d = pendingDrain;
    pendingDrain = undefined;
    d?.();
  });
  conn.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary) return;
    if (!stream.push(data)) conn.pause();
  });
  conn.on('close', () => {
    stream.push(null);
    const d = pendingDrain;
    pendingDrain = undefined;
    d?.();
  });
  return stream;
}
