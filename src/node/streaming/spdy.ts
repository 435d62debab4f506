/**
 * A SPDY/3.1 session over any byte Duplex (a hijacked HTTP socket, or a WebSocket tunnel), the
 * transport kubectl uses for `port-forward` (and the SPDY fallback of `exec`).
 *
 * Behaviour that matters for interoperating with kubectl's moby/spdystream:
 * - spdystream drops DATA on a stream it has not seen a SYN_REPLY for, so an incoming stream is
 *   replied before any data goes out on it (automatically right after the 'stream' event, as kube's
 *   server does after its stream handler returns, unless the handler reset it).
 * - spdystream ignores SETTINGS and WINDOW_UPDATE and never sends them, i.e. does no flow control.
 *   So our send side enforces the peer's windows only once the peer has shown it does flow control
 *   (sent a WINDOW_UPDATE or an INITIAL_WINDOW_SIZE setting) — flowControl 'auto'. We always
 *   announce our window and send WINDOW_UPDATEs as data is consumed; that is harmless to spdystream
 *   and lets two of our sessions flow-control each other.
 * - PING ids: the client uses odd ids, the server even ones; a ping with the other side's parity is echoed.
 * - Closing a stream half-closes it (empty DATA with FIN); destroying it early sends RST_STREAM CANCEL.
 */
import { EventEmitter } from 'node:events';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import {
  DEFAULT_WINDOW,
  FrameReader,
  GoawayStatus,
  HeaderDeflater,
  HeaderInflater,
  RstStatus,
  SPDY_VERSION,
  SettingId,
  SpdyProtocolError,
  decodeFrame,
  encodeFrame,
  headerBlockOffset,
  type Frame,
  type RawFrame,
  type SpdyHeaders,
} from './spdy-frames.js';

import { ACK_THRESHOLD, SpdyStream } from './spdy-stream.js';

export { RstStatus, GoawayStatus, type SpdyHeaders } from './spdy-frames.js';
export { SpdyStream } from './spdy-stream.js';

export interface SpdySessionOptions {
  role: 'server' | 'client';
  /** See the module comment. Default 'auto'. */
  flowControl?: 'auto' | 'always' | 'never';
  /** Bytes already read past the HTTP upgrade (fed before the socket's own data). */
  head?: Buffer;
}

/**
 * SPDY/3.1 session. Events: 'stream' (SpdyStream) for each SYN_STREAM from the peer, 'goaway'
 * (status), 'close' once the transport is gone (all streams destroyed), 'error' (only if listened to).
 */
export class SpdySession extends EventEmitter {
  readonly role: 'server' | 'client';
  /** The sub-protocol negotiated during the upgrade ('' when none). */
  protocol = '';
  closed = false;
  goneAway = false;
  /** @internal session-level send window */
  sendWindow = DEFAULT_WINDOW;
  /** @internal */
  enforcing: boolean;
  private readonly flowControl: 'auto' | 'always' | 'never';
  private initialSendWindow = DEFAULT_WINDOW;
  private readonly streams = new Map<number, SpdyStream>();
  private nextStreamId: number;
  private lastRemoteId = 0;
  private nextPingId: number;
  private readonly pings = new Map<number, { start: number; resolve: (ms: number) => void; reject: (e: Error) => void }>();
  private readonly reader = new FrameReader();
  private readonly inflater = new HeaderInflater();
  private readonly deflater = new HeaderDeflater();
  private readonly queue: RawFrame[] = [];
  private busy = false;
  private inputEnded = false;
  private sessionUnacked = 0;
  private drainWaiters: (() => void)[] = [];

  constructor(
    readonly socket: Duplex,
    opts: SpdySessionOptions,
  ) {
    super();
    this.role = opts.role;
    this.flowControl = opts.flowControl ?? 'auto';
    this.enforcing = this.flowControl === 'always';
    this.nextStreamId = opts.role === 'client' ? 1 : 2;
    this.nextPingId = opts.role === 'client' ? 1 : 2;
    socket.on('data', (c: Buffer) => this.onBytes(c));
    socket.on('drain', () => {
      const w = this.drainWaiters;
      this.drainWaiters = [];
      for (const f of w) f();
    });
    // Frames already received may still wait for the (async) header inflater: handle them first.
    socket.on('end', () => this.endOfInput());
    socket.on('close', () => this.endOfInput());
    socket.on('error', (e: Error) => {
      if (this.listenerCount('error') > 0) this.emit('error', e);
      this.teardown();
    });
    this.send({ type: 'settings', clear: false, settings: [{ id: SettingId.initialWindowSize, flags: 0, value: DEFAULT_WINDOW }] });
    if (opts.head && opts.head.length > 0) this.onBytes(opts.head);
  }

  /** Opens a stream (SYN_STREAM) carrying `headers`. */
  openStream(headers: SpdyHeaders, opts: { fin?: boolean; priority?: number } = {}): SpdyStream {
    if (this.closed || this.goneAway) throw new Error('SPDY session is closed');
    const id = this.nextStreamId;
    this.nextStreamId += 2;
    const s = new SpdyStream(this, id, { headers, incoming: false, sendWindow: this.initialSendWindow });
    this.streams.set(id, s);
    this.send({ type: 'syn_stream', streamId: id, associatedId: 0, priority: opts.priority ?? 0, fin: opts.fin === true, unidirectional: false, headers });
    if (opts.fin) {
      s.localFin = true;
      s.end();
    }
    return s;
  }

  /** Round-trip time of a PING, in ms. */
  ping(): Promise<number> {
    if (this.closed) return Promise.reject(new Error('SPDY session is closed'));
    const id = this.nextPingId;
    this.nextPingId = (this.nextPingId + 2) % 0x7fffffff || (this.role === 'client' ? 1 : 2);
    return new Promise((resolve, reject) => {
      this.pings.set(id, { start: Date.now(), resolve, reject });
      this.send({ type: 'ping', id });
    });
  }

  /** Sends GOAWAY and ends the transport (streams are torn down when it closes). */
  close(status: number = GoawayStatus.ok): void {
    if (this.closed) return;
    if (!this.goneAway) this.send({ type: 'goaway', lastGoodStreamId: this.lastRemoteId, status });
    this.goneAway = true;
    this.socket.end();
  }

  /** Tears everything down at once. */
  destroy(): void {
    this.socket.destroy();
    this.teardown();
  }

  get streamCount(): number {
    return this.streams.size;
  }

  /** @internal Writes one frame; false when the transport is buffering (see afterDrain). */
  send(frame: Frame): boolean {
    if (this.closed || this.socket.destroyed || this.socket.writableEnded) return false;
    return this.socket.write(encodeFrame(frame, this.deflater));
  }

  /** @internal */
  afterDrain(fn: () => void): void {
    if (this.closed) fn();
    else this.drainWaiters.push(fn);
  }

  /** @internal Session-level WINDOW_UPDATE for consumed bytes. */
  ackSession(n: number): void {
    this.sessionUnacked += n;
    if (this.sessionUnacked >= ACK_THRESHOLD) {
      this.send({ type: 'window_update', streamId: 0, delta: this.sessionUnacked });
      this.sessionUnacked = 0;
    }
  }

  /** @internal Drops a stream once both sides have sent FIN. */
  maybeForget(s: SpdyStream): void {
    if (s.localFin && s.remoteFin) this.streams.delete(s.id);
  }

  /** @internal */
  forget(s: SpdyStream): void {
    if (this.streams.get(s.id) === s) this.streams.delete(s.id);
  }

  private endOfInput(): void {
    this.inputEnded = true;
    if (!this.busy && this.queue.length === 0) this.teardown();
  }

  private onBytes(chunk: Buffer): void {
    if (this.closed) return;
    this.queue.push(...this.reader.push(chunk));
    this.pump();
  }

  /** Handles queued frames in order; header-bearing frames wait for the (async) inflater. */
  private pump(): void {
    while (!this.busy && !this.closed && this.queue.length > 0) {
      const raw = this.queue.shift()!;
      const off = headerBlockOffset(raw);
      if (off !== undefined && raw.version === SPDY_VERSION && raw.payload.length > off) {
        this.busy = true;
        this.inflater.decode(raw.payload.subarray(off)).then(
          (h) => {
            this.busy = false;
            this.handleRaw(raw, h);
            this.pump();
          },
          (e: Error) => this.fail(e),
        );
        return;
      }
      this.handleRaw(raw, {});
    }
    if (this.inputEnded && !this.busy) this.teardown();
  }

  private handleRaw(raw: RawFrame, headers: SpdyHeaders): void {
    if (this.closed) return;
    try {
      this.handle(decodeFrame(raw, headers));
    } catch (e) {
      this.fail(e as Error);
    }
  }

  private handle(f: Frame): void {
    switch (f.type) {
      case 'syn_stream':
        return this.onSynStream(f);
      case 'syn_reply': {
        const s = this.streams.get(f.streamId);
        if (!s || s.incoming) return;
        s.replied = true;
        s.replyHeaders = f.headers;
        s.emit('reply', f.headers);
        if (f.fin) s.onRemoteFin();
        return;
      }
      case 'headers': {
        const s = this.streams.get(f.streamId);
        if (!s) return;
        s.emit('headers', f.headers);
        if (f.fin) s.onRemoteFin();
        return;
      }
      case 'data': {
        const s = this.streams.get(f.streamId);
        if (!s) {
          this.ackSession(f.data.length);
          const peerId = (f.streamId % 2 === 1) === (this.role === 'server');
          // Data for a stream never opened is a stream error; for one already finished it is ignored.
          if (peerId ? f.streamId > this.lastRemoteId : f.streamId >= this.nextStreamId) {
            this.send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.invalidStream });
          }
          return;
        }
        s.onData(f.data, f.fin);
        return;
      }
      case 'rst_stream':
        this.streams.get(f.streamId)?.onReset(f.status);
        return;
      case 'settings':
        for (const st of f.settings) {
          if (st.id !== SettingId.initialWindowSize) continue;
          const delta = st.value - this.initialSendWindow;
          this.initialSendWindow = st.value;
          for (const s of this.streams.values()) s.sendWindow += delta;
          this.startEnforcing();
        }
        return;
      case 'ping': {
        const mine = (f.id % 2 === 1) === (this.role === 'client');
        if (!mine) {
          this.send({ type: 'ping', id: f.id });
          return;
        }
        const p = this.pings.get(f.id);
        if (p) {
          this.pings.delete(f.id);
          p.resolve(Date.now() - p.start);
        }
        return;
      }
      case 'goaway':
        this.goneAway = true;
        this.emit('goaway', f.status);
        return;
      case 'window_update': {
        if (f.streamId === 0) this.sendWindow += f.delta;
        else {
          const s = this.streams.get(f.streamId);
          if (s) s.sendWindow += f.delta;
        }
        this.startEnforcing();
        for (const s of [...this.streams.values()]) s.pumpWrite();
        return;
      }
      case 'unknown':
        return;
    }
  }

  private startEnforcing(): void {
    if (this.flowControl === 'auto') this.enforcing = true;
  }

  private onSynStream(f: Extract<Frame, { type: 'syn_stream' }>): void {
    const fromPeer = (f.streamId % 2 === 1) === (this.role === 'server');
    if (!fromPeer || f.streamId <= this.lastRemoteId) {
      this.send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.protocolError });
      return;
    }
    this.lastRemoteId = f.streamId;
    if (this.goneAway) {
      this.send({ type: 'rst_stream', streamId: f.streamId, status: RstStatus.refusedStream });
      return;
    }
    const s = new SpdyStream(this, f.streamId, { headers: f.headers, incoming: true, sendWindow: this.initialSendWindow });
    this.streams.set(f.streamId, s);
    if (f.fin) s.onRemoteFin();
    this.emit('stream', s);
    if (!s.destroyed && s.resetStatus === undefined) s.reply();
  }

  private fail(e: Error): void {
    if (this.closed) return;
    const status = e instanceof SpdyProtocolError ? e.status : GoawayStatus.internalError;
    this.send({ type: 'goaway', lastGoodStreamId: this.lastRemoteId, status });
    if (this.listenerCount('error') > 0) this.emit('error', e);
    this.socket.end();
    this.teardown();
  }

  private teardown(): void {
    if (this.closed) return;
    this.closed = true;
    this.busy = true;
    this.queue.length = 0;
    for (const s of [...this.streams.values()]) {
      // A stream whose peer already sent FIN keeps its buffered data readable; the rest is cut off.
      if (s.remoteFin && !s.readableEnded) {
        s.localFin = true;
        s.once('end', () => s.destroy());
      } else s.destroy();
    }
    this.streams.clear();
    for (const p of this.pings.values()) p.reject(new Error('SPDY session closed'));
    this.pings.clear();
    const w = this.drainWaiters;
    this.drainWaiters = [];
    for (const f of w) f();
    this.inflater.close();
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
    this.emit('close');
  }
}

// ---------------------------------------------------------------------------------------------
// HTTP/1.1 upgrade (kube's spdy.responseUpgrader + httpstream.Handshake)

export const HEADER_PROTOCOL_VERSION = 'X-Stream-Protocol-Version';
export const HEADER_ACCEPTED_PROTOCOL_VERSIONS = 'X-Accepted-Stream-Protocol-Versions';

/** Writes a plain-text HTTP error on a not-yet-upgraded socket (like Go's http.Error) and ends it. */
export function rejectUpgrade(socket: Duplex, status: number, message: string, extraHeaders: [string, string][] = []): void {
  const reasons: Record<number, string> = { 400: 'Bad Request', 403: 'Forbidden', 404: 'Not Found', 500: 'Internal Server Error' };
  const body = Buffer.from(message + '\n', 'utf8');
  const lines = [
    `HTTP/1.1 ${status} ${reasons[status] ?? 'Error'}`,
    'Content-Type: text/plain; charset=utf-8',
    'X-Content-Type-Options: nosniff',
    ...extraHeaders.map(([k, v]) => `${k}: ${v}`),
    `Content-Length: ${body.length}`,
    'Connection: close',
  ];
  socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
}

/** Values of a possibly repeated, comma-joined request header. */
export function headerValues(req: IncomingMessage, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    if (req.rawHeaders[i]!.toLowerCase() !== name.toLowerCase()) continue;
    for (const v of req.rawHeaders[i + 1]!.split(',')) if (v.trim() !== '') out.push(v.trim());
  }
  return out;
}

/** True when the request asks for `Upgrade: SPDY/3.1` (substring tests, as kube's upgrader does). */
export function isSpdyUpgrade(req: IncomingMessage): boolean {
  const conn = String(req.headers.connection ?? '').toLowerCase();
  const up = String(req.headers.upgrade ?? '').toLowerCase();
  return conn.includes('upgrade') && up.includes('spdy/3.1');
}

function goHeaderDump(req: IncomingMessage): string {
  const m = new Map<string, string[]>();
  for (let i = 0; i < req.rawHeaders.length; i += 2) {
    const k = req.rawHeaders[i]!.toLowerCase().replace(/(^|-)([a-z])/g, (_s, d: string, c: string) => d + c.toUpperCase());
    m.set(k, [...(m.get(k) ?? []), req.rawHeaders[i + 1]!]);
  }
  const parts = [...m].map(([k, vs]) => `"${k}":[]string{${vs.map((v) => JSON.stringify(v)).join(', ')}}`);
  return `http.Header{${parts.join(', ')}}`;
}

/**
 * Negotiates the stream protocol (first client-offered protocol the server supports) and upgrades
 * the connection to SPDY/3.1, answering 101 with `X-Stream-Protocol-Version`. On failure writes the
 * error response kube writes (400 missing upgrade headers / protocol header, 403 with
 * X-Accepted-Stream-Protocol-Versions when nothing matches) and returns undefined.
 * Mount on an http(s).Server 'upgrade' event: `upgradeSpdy(req, socket, head, { protocols })`.
 */
export function upgradeSpdy(req: IncomingMessage, socket: Duplex, head: Buffer, opts: { protocols: string[] }): SpdySession | undefined {
  if (!isSpdyUpgrade(req)) {
    rejectUpgrade(socket, 400, `unable to upgrade: missing upgrade headers in request: ${goHeaderDump(req)}`);
    return undefined;
  }
  let protocol = '';
  if (opts.protocols.length > 0) {
    const offered = headerValues(req, HEADER_PROTOCOL_VERSION);
    if (offered.length === 0) {
      rejectUpgrade(socket, 400, `unable to upgrade: ${HEADER_PROTOCOL_VERSION} is required`);
      return undefined;
    }
    const chosen = offered.find((p) => opts.protocols.includes(p));
    if (chosen === undefined) {
      rejectUpgrade(
        socket,
        403,
        `unable to upgrade: unable to negotiate protocol: client supports [${offered.join(' ')}], server accepts [${opts.protocols.join(' ')}]`,
        opts.protocols.map((p) => [HEADER_ACCEPTED_PROTOCOL_VERSIONS, p]),
      );
      return undefined;
    }
    protocol = chosen;
  }
  const lines = ['HTTP/1.1 101 Switching Protocols', 'Connection: Upgrade', 'Upgrade: SPDY/3.1'];
  if (protocol !== '') lines.push(`${HEADER_PROTOCOL_VERSION}: ${protocol}`);
  socket.write(lines.join('\r\n') + '\r\n\r\n');
  const session = new SpdySession(socket, { role: 'server', head });
  session.protocol = protocol;
  return session;
}
