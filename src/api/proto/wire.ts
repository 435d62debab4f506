/**
 * Protobuf wire-format primitives: a bounds-checked reader over one message's bytes. Every read
 * checks its bounds and throws a ProtoError (never a RangeError or a silent wrap-around), so a
 * decoder built on it fails cleanly on truncated or hostile input.
 */

/** A malformed protobuf body. The message is phrased for a 400 response. */
export class ProtoError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ProtoError';
  }
}

export const WIRE_VARINT = 0;
export const WIRE_FIXED64 = 1;
export const WIRE_BYTES = 2;
export const WIRE_START_GROUP = 3;
export const WIRE_END_GROUP = 4;
export const WIRE_FIXED32 = 5;

/** Deepest group nesting `skip` follows; deeper input is rejected rather than recursed into. */
const MAX_GROUP_DEPTH = 64;

export interface FieldKey {
  field: number;
  wire: number;
}

/** Sequential reader over one message's bytes. */
export class WireReader {
  private readonly buf: Uint8Array;
  private readonly end: number;
  private pos = 0;

  constructor(buf: Uint8Array) {
    this.buf = buf;
    this.end = buf.length;
  }

  done(): boolean {
    return this.pos >= this.end;
  }

  /** Reads an unsigned varint of up to 64 bits as a bigint. */
  varint(): bigint {
    let lo = 0;
    let shift = 0;
    // Fast path: the first 7 bytes (49 bits) fit a JS number exactly.
    for (let i = 0; i < 7; i++) {
      const b = this.byte();
      lo += (b & 0x7f) * 2 ** shift;
      shift += 7;
      if (b < 0x80) return BigInt(lo);
    }
    let v = BigInt(lo);
    for (let i = 7; i < 10; i++) {
      const b = this.byte();
      v |= BigInt(b & 0x7f) << BigInt(shift);
      shift += 7;
      if (b < 0x80) {
        if (i === 9 && b > 1) throw new ProtoError('proto: integer overflow');
        return v;
      }
    }
    throw new ProtoError('proto: integer overflow');
  }

  /** A varint used as a length or count: must fit comfortably in a JS number. */
  length(): number {
    const v = this.varint();
    if (v > BigInt(this.end - this.pos)) throw new ProtoError('unexpected EOF');
    return Number(v);
  }

  key(): FieldKey {
    const k = this.varint();
    const field = Number(k >> 3n);
    const wire = Number(k & 7n);
    if (field <= 0 || field > 0x1fffffff) throw new ProtoError(`proto: illegal tag ${field} (wire type ${wire})`);
    if (wire === WIRE_END_GROUP) throw new ProtoError('proto: wiretype end group for non-group');
    if (wire > WIRE_FIXED32) throw new ProtoError(`proto: illegal wireType ${wire}`);
    return { field, wire };
  }

  /** The payload of a length-delimited field, as a view (no copy). */
  bytes(): Uint8Array {
    const n = this.length();
    const out = this.buf.subarray(this.pos, this.pos + n);
    this.pos += n;
    return out;
  }

  fixed64(): DataView {
    return this.fixed(8);
  }

  fixed32(): DataView {
    return this.fixed(4);
  }

  /** Skips one field's payload of the given wire type (groups included). */
  skip(wire: number, depth = 0): void {
    switch (wire) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_FIXED64:
        this.fixed(8);
        return;
      case WIRE_BYTES:
        this.bytes();
        return;
      case WIRE_FIXED32:
        this.fixed(4);
        return;
      case WIRE_START_GROUP: {
        if (depth >= MAX_GROUP_DEPTH) throw new ProtoError('proto: groups nested too deeply');
        for (;;) {
          const k = this.varint();
          const w = Number(k & 7n);
          if (w === WIRE_END_GROUP) return;
          if (Number(k >> 3n) <= 0) throw new ProtoError('proto: illegal tag 0');
          this.skip(w, depth + 1);
        }
      }
      default:
        throw new ProtoError(`proto: illegal wireType ${wire}`);
    }
  }

  private byte(): number {
    if (this.pos >= this.end) throw new ProtoError('unexpected EOF');
    return this.buf[this.pos++];
  }

  private fixed(n: number): DataView {
    if (this.end - this.pos < n) throw new ProtoError('unexpected EOF');
    const view = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, n);
    this.pos += n;
    return view;
  }
}
