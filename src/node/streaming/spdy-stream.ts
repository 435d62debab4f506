/**
 * One SPDY/3.1 stream as a Node Duplex (see spdy.ts for the session and the interop rules).
 * Split out of spdy.ts to keep each file to one responsibility; the session drives it through the
 * methods marked internal.
 */
import { Duplex } from 'node:stream';
import { DEFAULT_WINDOW, MAX_DATA_CHUNK, RstStatus, type SpdyHeaders } from './spdy-frames.js';
import type { SpdySession } from './spdy.js';

/** Acknowledge received data with WINDOW_UPDATE once this much is consumed (keeps the peer far from blocking). */
export const ACK_THRESHOLD = DEFAULT_WINDOW / 4;

interface BlockedWrite {
  data: Buffer;
  cb: (err?: Error | null) => void;
}

/**
 * One SPDY stream as a Duplex: readable = the peer's DATA, writable = ours. `end()` sends FIN
 * (half-close); the peer's FIN ends the readable side. Events: 'reply' (headers) on an outgoing
 * stream's SYN_REPLY, 'headers' (headers) on a HEADERS frame, 'reset' (status) on the peer's RST_STREAM
 * (the stream is then destroyed without an error).
 */
export class SpdyStream extends Duplex {
  /** Incoming: the SYN_STREAM headers; outgoing: the headers we sent. */
  readonly headers: SpdyHeaders;
  /** Opened by the peer (we reply) rather than by us. */
  readonly incoming: boolean;
  /** Outgoing streams: the SYN_REPLY headers once received. */
  replyHeaders: SpdyHeaders | undefined;
  /** Incoming: we sent SYN_REPLY; outgoing: we received it. */
  replied = false;
  /** Set when the peer reset the stream. */
  resetStatus: number | undefined;
  localFin = false;
  remoteFin = false;
  /** @internal flow control */
  sendWindow: number;
  private unacked = 0;
  private blocked: BlockedWrite | undefined;
  private weReset = false;

  constructor(
    readonly session: SpdySession,
    readonly id: number,
    opts: { headers: SpdyHeaders; incoming: boolean; sendWindow: number },
  ) {
    super({ allowHalfOpen: true });
    this.headers = opts.headers;
    this.incoming = opts.incoming;
    this.sendWindow = opts.sendWindow;
  }

  /** Sends SYN_REPLY on an incoming stream (idempotent). */
  reply(headers: SpdyHeaders = {}, opts: { fin?: boolean } = {}): void {
    if (!this.incoming || this.replied || this.destroyed) return;
    this.replied = true;
    this.session.send({ type: 'syn_reply', streamId: this.id, fin: opts.fin === true, headers });
    if (opts.fin) this.localFin = true;
  }

  /** Sends a HEADERS frame. */
  sendHeaders(headers: SpdyHeaders): void {
    if (this.incoming) this.reply();
    this.session.send({ type: 'headers', streamId: this.id, fin: false, headers });
  }

  /** Aborts the stream with RST_STREAM (default CANCEL) and destroys it. */
  reset(status: number = RstStatus.cancel): void {
    if (this.destroyed) return;
    if (!(this.localFin && this.remoteFin) && this.resetStatus === undefined) {
      this.weReset = true;
      this.session.send({ type: 'rst_stream', streamId: this.id, status });
    }
    this.destroy();
  }

  override _read(): void {
    this.ack();
  }

  override _write(chunk: Buffer, _enc: BufferEncoding, cb: (err?: Error | null) => void): void {
    if (this.incoming) this.reply();
    this.blocked = { data: chunk, cb };
    this.pumpWrite();
  }

  override _final(cb: (err?: Error | null) => void): void {
    if (this.incoming) this.reply();
    if (!this.localFin && this.resetStatus === undefined) {
      this.localFin = true;
      this.session.send({ type: 'data', streamId: this.id, fin: true, data: Buffer.alloc(0) });
    }
    this.session.maybeForget(this);
    cb();
  }

  override _destroy(err: Error | null, cb: (err?: Error | null) => void): void {
    if (!this.weReset && this.resetStatus === undefined && !(this.localFin && this.remoteFin) && !this.session.closed) {
      this.weReset = true;
      this.session.send({ type: 'rst_stream', streamId: this.id, status: RstStatus.cancel });
    }
    const b = this.blocked;
    this.blocked = undefined;
    this.releaseUnacked();
    this.session.forget(this);
    if (b) b.cb();
    cb(err);
  }

  /** @internal Sends as much of the pending write as the windows allow; completes it when all is out. */
  pumpWrite(): void {
    const b = this.blocked;
    if (!b || this.destroyed) return;
    let full = false;
    while (b.data.length > 0) {
      let n = Math.min(b.data.length, MAX_DATA_CHUNK);
      if (this.session.enforcing) n = Math.min(n, this.sendWindow, this.session.sendWindow);
      if (n <= 0) return; // wait for WINDOW_UPDATE (session calls pumpWrite again)
      this.sendWindow -= n;
      this.session.sendWindow -= n;
      if (!this.session.send({ type: 'data', streamId: this.id, fin: false, data: b.data.subarray(0, n) })) full = true;
      b.data = b.data.subarray(n);
    }
    this.blocked = undefined;
    if (full) this.session.afterDrain(() => b.cb());
    else b.cb();
  }

  /** @internal DATA from the peer. */
  onData(data: Buffer, fin: boolean): void {
    if (data.length > 0 && !this.remoteFin) {
      this.unacked += data.length;
      if (this.push(data) && this.unacked >= ACK_THRESHOLD) this.ack();
    } else if (data.length > 0) {
      this.session.ackSession(data.length);
    }
    if (fin) this.onRemoteFin();
  }

  /** @internal */
  onRemoteFin(): void {
    if (this.remoteFin) return;
    this.remoteFin = true;
    this.push(null);
    this.session.maybeForget(this);
  }

  /** @internal */
  onReset(status: number): void {
    this.resetStatus = status;
    this.emit('reset', status);
    this.destroy();
  }

  /** Bytes that will never be read through this stream still count for the session window. */
  private releaseUnacked(): void {
    if (this.unacked === 0) return;
    this.session.ackSession(this.unacked);
    this.unacked = 0;
  }

  private ack(): void {
    if (this.unacked === 0) return;
    const n = this.unacked;
    this.unacked = 0;
    if (!this.remoteFin && !this.destroyed) this.session.send({ type: 'window_update', streamId: this.id, delta: n });
    this.session.ackSession(n);
  }
}
