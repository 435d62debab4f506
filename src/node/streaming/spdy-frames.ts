/**
 * SPDY/3.1 framing: the byte layout of every frame type and the zlib-compressed header blocks.
 *
 * Why hand-written: kubectl (via moby/spdystream) speaks SPDY/3.1 for port-forward and the SPDY
 * fallback of exec; Node has no SPDY implementation and we add no dependencies. This module is pure
 * (no sockets): `encodeFrame` turns a frame into bytes, `FrameReader` splits a byte stream into raw
 * frames, `decodeFrame` interprets one once its header block (if any) has been inflated.
 *
 * Header compression contract (SPDY/3 §2.6.10): each direction of a session is ONE zlib stream
 * primed with the SPDY/3 dictionary; every header block is a sync-flushed piece of it.
 * - Outbound we emit zlib *stored* blocks (`HeaderDeflater`): valid zlib that any inflater
 *   (Go's compress/zlib in spdystream, Node's) reads, needing no compression state, so encoding
 *   stays synchronous and frames can never be reordered.
 * - Inbound (`HeaderInflater`) is real inflate over one persistent Node zlib context; it is
 *   asynchronous, so the session serialises frame handling around it.
 */
import zlib from 'node:zlib';

/** The SPDY/3 header compression dictionary (a protocol constant, 1423 bytes). */
export const SPDY3_DICTIONARY: Buffer = Buffer.from(
  'AAAAB29wdGlvbnMAAAAEaGVhZAAAAARwb3N0AAAAA3B1dAAAAAZkZWxldGUAAAAFdHJhY2UAAAAGYWNjZXB0AAAADmFjY2VwdC1j' +
  'aGFyc2V0AAAAD2FjY2VwdC1lbmNvZGluZwAAAA9hY2NlcHQtbGFuZ3VhZ2UAAAANYWNjZXB0LXJhbmdlcwAAAANhZ2UAAAAFYWxs' +
  'b3cAAAANYXV0aG9yaXphdGlvbgAAAA1jYWNoZS1jb250cm9sAAAACmNvbm5lY3Rpb24AAAAMY29udGVudC1iYXNlAAAAEGNvbnRl' +
  'bnQtZW5jb2RpbmcAAAAQY29udGVudC1sYW5ndWFnZQAAAA5jb250ZW50LWxlbmd0aAAAABBjb250ZW50LWxvY2F0aW9uAAAAC2Nv' +
  'bnRlbnQtbWQ1AAAADWNvbnRlbnQtcmFuZ2UAAAAMY29udGVudC10eXBlAAAABGRhdGUAAAAEZXRhZwAAAAZleHBlY3QAAAAHZXhw' +
  'aXJlcwAAAARmcm9tAAAABGhvc3QAAAAIaWYtbWF0Y2gAAAARaWYtbW9kaWZpZWQtc2luY2UAAAANaWYtbm9uZS1tYXRjaAAAAAhp' +
  'Zi1yYW5nZQAAABNpZi11bm1vZGlmaWVkLXNpbmNlAAAADWxhc3QtbW9kaWZpZWQAAAAIbG9jYXRpb24AAAAMbWF4LWZvcndhcmRz' +
  'AAAABnByYWdtYQAAABJwcm94eS1hdXRoZW50aWNhdGUAAAATcHJveHktYXV0aG9yaXphdGlvbgAAAAVyYW5nZQAAAAdyZWZlcmVy' +
  'AAAAC3JldHJ5LWFmdGVyAAAABnNlcnZlcgAAAAJ0ZQAAAAd0cmFpbGVyAAAAEXRyYW5zZmVyLWVuY29kaW5nAAAAB3VwZ3JhZGUA' +
  'AAAKdXNlci1hZ2VudAAAAAR2YXJ5AAAAA3ZpYQAAAAd3YXJuaW5nAAAAEHd3dy1hdXRoZW50aWNhdGUAAAAGbWV0aG9kAAAAA2dl' +
  'dAAAAAZzdGF0dXMAAAAGMjAwIE9LAAAAB3ZlcnNpb24AAAAISFRUUC8xLjEAAAADdXJsAAAABnB1YmxpYwAAAApzZXQtY29va2ll' +
  'AAAACmtlZXAtYWxpdmUAAAAGb3JpZ2luMTAwMTAxMjAxMjAyMjA1MjA2MzAwMzAyMzAzMzA0MzA1MzA2MzA3NDAyNDA1NDA2NDA3' +
  'NDA4NDA5NDEwNDExNDEyNDEzNDE0NDE1NDE2NDE3NTAyNTA0NTA1MjAzIE5vbi1BdXRob3JpdGF0aXZlIEluZm9ybWF0aW9uMjA0' +
  'IE5vIENvbnRlbnQzMDEgTW92ZWQgUGVybWFuZW50bHk0MDAgQmFkIFJlcXVlc3Q0MDEgVW5hdXRob3JpemVkNDAzIEZvcmJpZGRl' +
  'bjQwNCBOb3QgRm91bmQ1MDAgSW50ZXJuYWwgU2VydmVyIEVycm9yNTAxIE5vdCBJbXBsZW1lbnRlZDUwMyBTZXJ2aWNlIFVuYXZh' +
  'aWxhYmxlSmFuIEZlYiBNYXIgQXByIE1heSBKdW4gSnVsIEF1ZyBTZXB0IE9jdCBOb3YgRGVjIDAwOjAwOjAwIE1vbiwgVHVlLCBX' +
  'ZWQsIFRodSwgRnJpLCBTYXQsIFN1biwgR01UY2h1bmtlZCx0ZXh0L2h0bWwsaW1hZ2UvcG5nLGltYWdlL2pwZyxpbWFnZS9naWYs' +
  'YXBwbGljYXRpb24veG1sLGFwcGxpY2F0aW9uL3hodG1sK3htbCx0ZXh0L3BsYWluLHRleHQvamF2YXNjcmlwdCxwdWJsaWNwcml2' +
  'YXRlbWF4LWFnZT1nemlwLGRlZmxhdGUsc2RjaGNoYXJzZXQ9dXRmLThjaGFyc2V0PWlzby04ODU5LTEsdXRmLSwqLGVucT0wLg==',
  'base64',
);

export const SPDY_VERSION = 3;

export const FrameType = {
  synStream: 1,
  synReply: 2,
  rstStream: 3,
  settings: 4,
  ping: 6,
  goaway: 7,
  headers: 8,
  windowUpdate: 9,
} as const;

export const Flag = { fin: 0x01, unidirectional: 0x02, clearSettings: 0x01 } as const;

/** RST_STREAM status codes (SPDY/3.1 §2.4.2). */
export const RstStatus = {
  protocolError: 1,
  invalidStream: 2,
  refusedStream: 3,
  unsupportedVersion: 4,
  cancel: 5,
  internalError: 6,
  flowControlError: 7,
  streamInUse: 8,
  streamAlreadyClosed: 9,
  frameTooLarge: 11,
} as const;

/** GOAWAY status codes. */
export const GoawayStatus = { ok: 0, protocolError: 1, internalError: 2 } as const;

/** SETTINGS ids used here. */
export const SettingId = { maxConcurrentStreams: 4, initialWindowSize: 7 } as const;

/** SPDY/3.1 default stream and session flow-control window. */
export const DEFAULT_WINDOW = 65536;
/** Largest DATA payload we put in one frame (the format allows 2^24-1; smaller frames interleave streams). */
export const MAX_DATA_CHUNK = 16384;

/**
 * Header block: lower-case names; a value holding several values joins them with NUL, exactly as on
 * the wire (SPDY/3 §2.6.10).
 */
export type SpdyHeaders = Record<string, string>;

export interface Setting {
  id: number;
  flags: number;
  value: number;
}

export type Frame =
  | { type: 'data'; streamId: number; fin: boolean; data: Buffer }
  | {
      type: 'syn_stream';
      streamId: number;
      associatedId: number;
      priority: number;
      fin: boolean;
      unidirectional: boolean;
      headers: SpdyHeaders;
    }
  | { type: 'syn_reply'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'headers'; streamId: number; fin: boolean; headers: SpdyHeaders }
  | { type: 'rst_stream'; streamId: number; status: number }
  | { type: 'settings'; clear: boolean; settings: Setting[] }
  | { type: 'ping'; id: number }
  | { type: 'goaway'; lastGoodStreamId: number; status: number }
  | { type: 'window_update'; streamId: number; delta: number }
  | { type: 'unknown'; frameType: number; flags: number; payload: Buffer };

/** One frame as cut from the byte stream, before header-block inflation. */
export interface RawFrame {
  control: boolean;
  /** Control frames: the version field. */
  version: number;
  /** Control frames: the type; data frames: 0. */
  type: number;
  /** Data frames: the stream id. */
  streamId: number;
  flags: number;
  payload: Buffer;
}

export class SpdyProtocolError extends Error {
  constructor(message: string, readonly status: number = GoawayStatus.protocolError) {
    super(message);
  }
}

/** Accumulates bytes and yields whole frames (8-byte header + 24-bit length). */
export class FrameReader {
  private buf: Buffer = Buffer.alloc(0);

  push(chunk: Buffer): RawFrame[] {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
    const out: RawFrame[] = [];
    while (this.buf.length >= 8) {
      const length = this.buf.readUIntBE(5, 3);
      if (this.buf.length < 8 + length) break;
      const first = this.buf.readUInt32BE(0);
      const control = (first & 0x80000000) !== 0;
      const flags = this.buf[4]!;
      const payload = this.buf.subarray(8, 8 + length);
      out.push({
        control,
        version: control ? (first >>> 16) & 0x7fff : 0,
        type: control ? first & 0xffff : 0,
        streamId: control ? 0 : first & 0x7fffffff,
        flags,
        payload,
      });
      this.buf = this.buf.subarray(8 + length);
    }
    return out;
  }
}

/** Control frame types whose payload carries a compressed header block, and where it starts. */
export function headerBlockOffset(raw: RawFrame): number | undefined {
  if (!raw.control) return undefined;
  if (raw.type === FrameType.synStream) return 10;
  if (raw.type === FrameType.synReply || raw.type === FrameType.headers) return 4;
  return undefined;
}

function need(raw: RawFrame, n: number, what: string): void {
  if (raw.payload.length < n) throw new SpdyProtocolError(`${what} frame too short (${raw.payload.length} bytes)`);
}

/**
 * Interprets a raw frame. `headers` is the already-decoded header block for the frame types that
 * carry one (see headerBlockOffset); it is ignored otherwise.
 */
export function decodeFrame(raw: RawFrame, headers: SpdyHeaders = {}): Frame {
  const p = raw.payload;
  if (!raw.control) return { type: 'data', streamId: raw.streamId, fin: (raw.flags & Flag.fin) !== 0, data: p };
  if (raw.version !== SPDY_VERSION) throw new SpdyProtocolError(`unsupported SPDY version ${raw.version}`);
  const fin = (raw.flags & Flag.fin) !== 0;
  switch (raw.type) {
    case FrameType.synStream:
      need(raw, 10, 'SYN_STREAM');
      return {
        type: 'syn_stream',
        streamId: p.readUInt32BE(0) & 0x7fffffff,
        associatedId: p.readUInt32BE(4) & 0x7fffffff,
        priority: p[8]! >> 5,
        fin,
        unidirectional: (raw.flags & Flag.unidirectional) !== 0,
        headers,
      };
    case FrameType.synReply:
      need(raw, 4, 'SYN_REPLY');
      return { type: 'syn_reply', streamId: p.readUInt32BE(0) & 0x7fffffff, fin, headers };
    case FrameType.headers:
      need(raw, 4, 'HEADERS');
      return { type: 'headers', streamId: p.readUInt32BE(0) & 0x7fffffff, fin, headers };
    case FrameType.rstStream:
      need(raw, 8, 'RST_STREAM');
      return { type: 'rst_stream', streamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FrameType.settings: {
      need(raw, 4, 'SETTINGS');
      const n = p.readUInt32BE(0);
      need(raw, 4 + n * 8, 'SETTINGS');
      const settings: Setting[] = [];
      for (let i = 0; i < n; i++) {
        const off = 4 + i * 8;
        settings.push({ flags: p[off]!, id: p.readUIntBE(off + 1, 3), value: p.readUInt32BE(off + 4) });
      }
      return { type: 'settings', clear: (raw.flags & Flag.clearSettings) !== 0, settings };
    }
    case FrameType.ping:
      need(raw, 4, 'PING');
      return { type: 'ping', id: p.readUInt32BE(0) };
    case FrameType.goaway:
      need(raw, 8, 'GOAWAY');
      return { type: 'goaway', lastGoodStreamId: p.readUInt32BE(0) & 0x7fffffff, status: p.readUInt32BE(4) };
    case FrameType.windowUpdate:
      need(raw, 8, 'WINDOW_UPDATE');
      return { type: 'window_update', streamId: p.readUInt32BE(0) & 0x7fffffff, delta: p.readUInt32BE(4) & 0x7fffffff };
    default:
      return { type: 'unknown', frameType: raw.type, flags: raw.flags, payload: p };
  }
}

function controlFrame(type: number, flags: number, payload: Buffer): Buffer {
  const h = Buffer.alloc(8);
  h.writeUInt32BE((0x8000 | SPDY_VERSION) * 0x10000 + type, 0);
  h.writeUInt32BE(flags * 0x1000000 + payload.length, 4);
  return Buffer.concat([h, payload]);
}

function u32s(...values: number[]): Buffer {
  const b = Buffer.alloc(values.length * 4);
  values.forEach((v, i) => b.writeUInt32BE(v >>> 0, i * 4));
  return b;
}

/** Serialises a frame; `deflater` compresses header blocks (it is stateful: frames must be written in encode order). */
export function encodeFrame(frame: Frame, deflater: HeaderDeflater): Buffer {
  switch (frame.type) {
    case 'data': {
      if (frame.data.length > 0xffffff) throw new RangeError('DATA payload too large');
      const h = Buffer.alloc(8);
      h.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
      h.writeUInt32BE((frame.fin ? Flag.fin : 0) * 0x1000000 + frame.data.length, 4);
      return Buffer.concat([h, frame.data]);
    }
    case 'syn_stream': {
      const fixed = Buffer.alloc(10);
      fixed.writeUInt32BE(frame.streamId & 0x7fffffff, 0);
      fixed.writeUInt32BE(frame.associatedId & 0x7fffffff, 4);
      fixed[8] = (frame.priority & 7) << 5;
      const flags = (frame.fin ? Flag.fin : 0) | (frame.unidirectional ? Flag.unidirectional : 0);
      return controlFrame(FrameType.synStream, flags, Buffer.concat([fixed, deflater.block(frame.headers)]));
    }
    case 'syn_reply':
    case 'headers':
      return controlFrame(
        frame.type === 'syn_reply' ? FrameType.synReply : FrameType.headers,
        frame.fin ? Flag.fin : 0,
        Buffer.concat([u32s(frame.streamId & 0x7fffffff), deflater.block(frame.headers)]),
      );
    case 'rst_stream':
      return controlFrame(FrameType.rstStream, 0, u32s(frame.streamId & 0x7fffffff, frame.status));
    case 'settings': {
      const body = Buffer.alloc(4 + frame.settings.length * 8);
      body.writeUInt32BE(frame.settings.length, 0);
      frame.settings.forEach((s, i) => {
        body[4 + i * 8] = s.flags;
        body.writeUIntBE(s.id, 5 + i * 8, 3);
        body.writeUInt32BE(s.value >>> 0, 8 + i * 8);
      });
      return controlFrame(FrameType.settings, frame.clear ? Flag.clearSettings : 0, body);
    }
    case 'ping':
      return controlFrame(FrameType.ping, 0, u32s(frame.id));
    case 'goaway':
      return controlFrame(FrameType.goaway, 0, u32s(frame.lastGoodStreamId & 0x7fffffff, frame.status));
    case 'window_update':
      return controlFrame(FrameType.windowUpdate, 0, u32s(frame.streamId & 0x7fffffff, frame.delta & 0x7fffffff));
    case 'unknown':
      return controlFrame(frame.frameType, frame.flags, frame.payload);
  }
}

/** The uncompressed header block: count, then length-prefixed name/value pairs (all 32-bit). */
export function serializeHeaders(headers: SpdyHeaders): Buffer {
  const parts: Buffer[] = [];
  const entries = Object.entries(headers);
  parts.push(u32s(entries.length));
  for (const [name, value] of entries) {
    const n = Buffer.from(name.toLowerCase(), 'utf8');
    const v = Buffer.from(value, 'utf8');
    parts.push(u32s(n.length), n, u32s(v.length), v);
  }
  return Buffer.concat(parts);
}

export function parseHeaders(block: Buffer): SpdyHeaders {
  const out: SpdyHeaders = {};
  if (block.length < 4) throw new SpdyProtocolError('header block too short');
  const count = block.readUInt32BE(0);
  let off = 4;
  const take = (): string => {
    if (off + 4 > block.length) throw new SpdyProtocolError('truncated header block');
    const len = block.readUInt32BE(off);
    off += 4;
    if (off + len > block.length) throw new SpdyProtocolError('truncated header block');
    const s = block.toString('utf8', off, off + len);
    off += len;
    return s;
  };
  for (let i = 0; i < count; i++) {
    const name = take();
    const value = take();
    if (name === '') throw new SpdyProtocolError('empty header name');
    out[name] = name in out ? `${out[name]}\0${value}` : value;
  }
  return out;
}

/** Adler-32 (RFC 1950), needed for the zlib header's dictionary id. */
export function adler32(data: Buffer): number {
  let a = 1;
  let b = 0;
  for (let i = 0; i < data.length; i++) {
    a = (a + data[i]!) % 65521;
    b = (b + a) % 65521;
  }
  return (b * 65536 + a) >>> 0;
}

/**
 * Outbound header compression for one session direction. The first block starts the zlib stream
 * (CMF/FLG with FDICT + the dictionary's Adler-32); each header block is then a run of stored
 * deflate blocks closed by the empty stored block of a sync flush, so the peer's persistent
 * inflater yields it completely without reading further.
 */
export class HeaderDeflater {
  private started = false;

  block(headers: SpdyHeaders): Buffer {
    const data = serializeHeaders(headers);
    const parts: Buffer[] = [];
    if (!this.started) {
      this.started = true;
      // CMF 0x78 (deflate, 32K window); FLG: FDICT set, level bits 0, FCHECK making CMF*256+FLG a multiple of 31.
      const cmf = 0x78;
      let flg = 0x20;
      flg += (31 - ((cmf * 256 + flg) % 31)) % 31;
      parts.push(Buffer.from([cmf, flg]), u32s(adler32(SPDY3_DICTIONARY)));
    }
    for (let off = 0; off < data.length; off += 0xffff) {
      const piece = data.subarray(off, Math.min(off + 0xffff, data.length));
      const h = Buffer.alloc(5);
      h[0] = 0; // BFINAL=0, BTYPE=00 (stored); the remaining bits pad to the byte boundary
      h.writeUInt16LE(piece.length, 1);
      h.writeUInt16LE(~piece.length & 0xffff, 3);
      parts.push(h, piece);
    }
    // An empty stored block, exactly what zlib's Z_SYNC_FLUSH ends with. Go's flate reader only hands
    // out a stored block's bytes once the next block starts, so without it spdystream would read
    // past the frame and fail with "compressed payload size was incorrect".
    parts.push(Buffer.from([0x00, 0x00, 0x00, 0xff, 0xff]));
    return Buffer.concat(parts);
  }
}

/**
 * Inbound header decompression for one session direction: one zlib inflate context for the whole
 * session (the peer's header blocks share one compression stream). Calls must be serialised.
 */
export class HeaderInflater {
  private readonly inflate = zlib.createInflate({ dictionary: SPDY3_DICTIONARY });
  private chunks: Buffer[] = [];
  private failure: Error | undefined;
  /** The in-flight decode's reject (a zlib error ends the stream without calling the flush callback). */
  private onFailure: ((e: Error) => void) | undefined;

  constructor() {
    this.inflate.on('data', (c: Buffer) => this.chunks.push(c));
    this.inflate.on('error', (e: Error) => {
      this.failure = e;
      const f = this.onFailure;
      this.onFailure = undefined;
      f?.(e);
    });
  }

  /** Inflates one compressed header block and parses it. */
  decode(block: Buffer): Promise<SpdyHeaders> {
    return new Promise((resolve, reject) => {
      const failed = (e: Error): void => reject(new SpdyProtocolError(`header decompression failed: ${e.message}`));
      if (this.failure) return failed(this.failure);
      this.onFailure = failed;
      this.inflate.write(block);
      this.inflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
        if (this.onFailure !== failed) return; // already rejected
        this.onFailure = undefined;
        const out = Buffer.concat(this.chunks);
        this.chunks = [];
        try {
          resolve(parseHeaders(out));
        } catch (e) {
          reject(e);
        }
      });
    });
  }

  close(): void {
    this.inflate.destroy();
  }
}
