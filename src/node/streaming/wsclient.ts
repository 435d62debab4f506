/**
 * A minimal RFC 6455 *client* over a raw TCP socket, written independently of the server code so
 * tests can exercise the server byte by byte (masking, fragmentation, odd frames) and read exactly
 * what it sends. Test/diagnostic use only; not for production paths.
 */
import { randomBytes } from 'node:crypto';
import net from 'node:net';

export interface RawFrame {
  fin: boolean;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

/** Encodes a client frame; masked unless `masked: false` (to test the server's rejection). */
export function encodeClientFrame(opcode: number, payload: Buffer, opts: { fin?: boolean; masked?: boolean; rsv?: number } = {}): Buffer {
  const fin = opts.fin ?? true;
  const masked = opts.masked ?? true;
  const parts: Buffer[] = [];
  const b0 = (fin ? 0x80 : 0) | ((opts.rsv ?? 0) << 4) | opcode;
  const m = masked ? 0x80 : 0;
  if (payload.length < 126) parts.push(Buffer.from([b0, m | payload.length]));
  else if (payload.length < 65536) {
    const h = Buffer.alloc(4);
    h[0] = b0;
    h[1] = m | 126;
    h.writeUInt16BE(payload.length, 2);
    parts.push(h);
  } else {
    const h = Buffer.alloc(10);
    h[0] = b0;
    h[1] = m | 127;
    h.writeBigUInt64BE(BigInt(payload.length), 2);
    parts.push(h);
  }
  if (masked) {
    const key = randomBytes(4);
    const body = Buffer.from(payload);
    for (let i = 0; i < body.length; i++) body[i] ^= key[i & 3];
    parts.push(key, body);
  } else parts.push(payload);
  return Buffer.concat(parts);
}

/** Parses complete frames off the front of `buf`; returns them and the unconsumed rest. */
export function decodeFrames(buf: Buffer): { frames: RawFrame[]; rest: Buffer } {
  const frames: RawFrame[] = [];
  let off = 0;
  for (;;) {
    if (buf.length - off < 2) break;
    const fin = (buf[off] & 0x80) !== 0;
    const opcode = buf[off] & 0x0f;
    const masked = (buf[off + 1] & 0x80) !== 0;
    let len = buf[off + 1] & 0x7f;
    let p = off + 2;
    if (len === 126) {
      if (buf.length - off < 4) break;
      len = buf.readUInt16BE(off + 2);
      p = off + 4;
    } else if (len === 127) {
      if (buf.length - off < 10) break;
      len = Number(buf.readBigUInt64BE(off + 2));
      p = off + 10;
    }
    const maskLen = masked ? 4 : 0;
    if (buf.length < p + maskLen + len) break;
    const payload = Buffer.from(buf.subarray(p + maskLen, p + maskLen + len));
    if (masked) for (let i = 0; i < len; i++) payload[i] ^= buf[p + (i & 3)];
    frames.push({ fin, opcode, masked, payload });
    off = p + maskLen + len;
  }
  return { frames, rest: buf.subarray(off) };
}

export interface HandshakeResult {
  status: number;
  headers: Record<string, string>;
  /** Body text for a non-101 answer (read until the server closes). */
  body: string;
}

/** A connected client: raw frame I/O plus a frame queue. */
export class TestWsClient {
  readonly socket: net.Socket;
  readonly handshake: HandshakeResult;
  private buf: Buffer;
  private frames: RawFrame[] = [];
  private waiters: Array<() => void> = [];
  ended = false;
  /** Answer a server close frame with a close frame (as a real client does); tests may turn it off. */
  answerClose = true;
  private sentClose = false;

  private constructor(socket: net.Socket, handshake: HandshakeResult, rest: Buffer) {
    this.socket = socket;
    this.handshake = handshake;
    this.buf = Buffer.alloc(0);
    socket.on('data', (d: Buffer) => this.onData(d));
    socket.on('close', () => {
      this.ended = true;
      this.wake();
    });
    socket.on('error', () => undefined);
    if (rest.length) this.onData(rest);
  }

  /**
   * Opens a TCP connection and performs the upgrade. Resolves once the response head is read;
   * a non-101 response is returned with its body (the socket is then closed).
   */
  static async connect(port: number, path: string, opts: { protocols?: string[]; headers?: Record<string, string> } = {}): Promise<TestWsClient> {
    const socket = net.connect(port, '127.0.0.1');
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    const key = randomBytes(16).toString('base64');
    const headers: Record<string, string> = {
      Host: `127.0.0.1:${port}`,
      Upgrade: 'websocket',
      Connection: 'Upgrade',
      'Sec-WebSocket-Key': key,
      'Sec-WebSocket-Version': '13',
      ...(opts.protocols?.length ? { 'Sec-WebSocket-Protocol': opts.protocols.join(', ') } : {}),
      ...opts.headers,
    };
    socket.write(`GET ${path} HTTP/1.1\r\n` + Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('') + '\r\n');
    let acc = Buffer.alloc(0);
    const headEnd = await new Promise<number>((resolve, reject) => {
      const onData = (d: Buffer): void => {
        acc = Buffer.concat([acc, d]);
        const i = acc.indexOf('\r\n\r\n');
        if (i >= 0) {
          socket.off('data', onData);
          socket.pause();
          resolve(i);
        }
      };
      socket.on('data', onData);
      socket.once('error', reject);
      socket.once('close', () => reject(new Error('closed before handshake response')));
    });
    const [statusLine, ...lines] = acc.subarray(0, headEnd).toString('latin1').split('\r\n');
    const status = Number(statusLine.split(' ')[1]);
    const hdrs: Record<string, string> = {};
    for (const l of lines) {
      const i = l.indexOf(':');
      hdrs[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim();
    }
    let rest = acc.subarray(headEnd + 4);
    let body = '';
    if (status !== 101) {
      socket.resume();
      body = await new Promise<string>((resolve) => {
        socket.on('data', (d: Buffer) => (rest = Buffer.concat([rest, d])));
        socket.on('close', () => resolve(rest.toString('utf8')));
        socket.on('error', () => undefined);
      });
      rest = Buffer.alloc(0);
    }
    const client = new TestWsClient(socket, { status, headers: hdrs, body }, rest);
    socket.resume();
    return client;
  }

  private onData(d: Buffer): void {
    const { frames, rest } = decodeFrames(Buffer.concat([this.buf, d]));
    this.buf = rest;
    this.frames.push(...frames);
    if (this.answerClose && !this.sentClose && frames.some((f) => f.opcode === 8)) this.send(8, frames.find((f) => f.opcode === 8)?.payload.subarray(0, 2) ?? Buffer.alloc(0));
    if (frames.length) this.wake();
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  writeRaw(b: Buffer): void {
    this.socket.write(b);
  }

  send(opcode: number, payload: Buffer | string, opts: { fin?: boolean; masked?: boolean; rsv?: number } = {}): void {
    if (opcode === 8) this.sentClose = true;
    this.socket.write(encodeClientFrame(opcode, typeof payload === 'string' ? Buffer.from(payload) : payload, opts));
  }

  sendBinary(payload: Buffer): void {
    this.send(2, payload);
  }

  /** Sends a close frame with a code. */
  sendClose(code = 1000, reason = ''): void {
    const r = Buffer.from(reason);
    const p = Buffer.alloc(2 + r.length);
    p.writeUInt16BE(code, 0);
    r.copy(p, 2);
    this.send(8, p);
  }

  /** Next frame, or undefined when the connection closed with none left. Rejects after `timeoutMs`. */
  async nextFrame(timeoutMs = 5000): Promise<RawFrame | undefined> {
    const deadline = Date.now() + timeoutMs;
    while (this.frames.length === 0) {
      if (this.ended) return undefined;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error('timed out waiting for a frame');
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    return this.frames.shift();
  }

  /** Collects frames until the connection closes. */
  async allFrames(timeoutMs = 10000): Promise<RawFrame[]> {
    const out: RawFrame[] = [];
    for (;;) {
      const f = await this.nextFrame(timeoutMs);
      if (!f) return out;
      out.push(f);
    }
  }

  /** Resolves once the TCP connection is closed. */
  async closed(timeoutMs = 5000): Promise<void> {
    if (this.ended) return;
    await new Promise<void>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error('timed out waiting for close')), timeoutMs);
      this.socket.once('close', () => {
        clearTimeout(t);
        resolve();
      });
    });
  }

  destroy(): void {
    this.socket.destroy();
  }
}
