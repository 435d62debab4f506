/**
 * Strict DNS message decoding (RFC 1035, 3596, 2782, 6891, 3597). Everything that is not
 * well-formed throws DnsFormatError, carrying the header fields and first question when those
 * were readable so the server can answer FORMERR; bytes after the last counted record are
 * ignored, as miekg/dns does.
 */
import { RRClass, RRType } from '../types.js';
import type { Edns, EdnsOption, Message, Question, RecordData, ResourceRecord } from '../types.js';
import { DnsFormatError } from './errors.js';
import { formatIPv6 } from './ip.js';
import { nameCursor, readName } from './names.js';

/** Decoder state for one message: the buffer, the read position and what is known so far. */
interface State {
  b: Uint8Array;
  pos: number;
  edns: Edns | undefined;
}

function u16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function u32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) >>> 0) + ((b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]);
}

/**
 * A copy (never a view: decoded messages must not alias the receive buffer) of `b[start..end)`.
 * Small copies loop, because `subarray` on a Buffer goes through the slow species constructor.
 */
function copyBytes(b: Uint8Array, start: number, end: number): Uint8Array {
  const n = end - start;
  const out = new Uint8Array(n);
  if (n <= 64) {
    for (let i = 0; i < n; i++) out[i] = b[start + i];
  } else {
    out.set(Uint8Array.prototype.subarray.call(b, start, end));
  }
  return out;
}

function need(s: State, n: number, what: string): void {
  if (s.pos + n > s.b.length) throw new DnsFormatError(`${what} runs past the end of the message`);
}

function readQuestion(s: State): Question {
  const name = readName(s.b, s.pos);
  s.pos = nameCursor.end;
  need(s, 4, 'question');
  const q: Question = { name, type: u16(s.b, s.pos), class: u16(s.b, s.pos + 2) };
  s.pos += 4;
  return q;
}

/** Reads a name that must lie inside RDATA ending at `end`; returns it and advances `s.pos`. */
function rdName(s: State, end: number): string {
  if (s.pos >= end) throw new DnsFormatError('RDATA shorter than its RDLENGTH says');
  const name = readName(s.b, s.pos);
  if (nameCursor.end > end) throw new DnsFormatError('domain name in RDATA runs past RDLENGTH');
  s.pos = nameCursor.end;
  return name;
}

/** Checks that exactly `n` octets remain, consumes them and returns where they start. */
function fixed(s: State, end: number, n: number): number {
  if (end - s.pos !== n) throw new DnsFormatError(`RDATA length ${end - s.pos} does not match the ${n} octets expected`);
  const start = s.pos;
  s.pos = end;
  return start;
}

function readRdata(s: State, type: number, end: number): RecordData {
  const b = s.b;
  switch (type) {
    case RRType.A: {
      const p = fixed(s, end, 4);
      return { kind: 'A', address: `${b[p]}.${b[p + 1]}.${b[p + 2]}.${b[p + 3]}` };
    }
    case RRType.AAAA:
      return { kind: 'AAAA', address: formatIPv6(b, fixed(s, end, 16)) };
    case RRType.NS:
      return { kind: 'NS', target: rdName(s, end) };
    case RRType.CNAME:
      return { kind: 'CNAME', target: rdName(s, end) };
    case RRType.PTR:
      return { kind: 'PTR', target: rdName(s, end) };
    case RRType.MX: {
      if (end - s.pos < 3) throw new DnsFormatError('MX RDATA too short');
      const preference = u16(b, s.pos);
      s.pos += 2;
      return { kind: 'MX', preference, exchange: rdName(s, end) };
    }
    case RRType.SRV: {
      if (end - s.pos < 7) throw new DnsFormatError('SRV RDATA too short');
      const priority = u16(b, s.pos);
      const weight = u16(b, s.pos + 2);
      const port = u16(b, s.pos + 4);
      s.pos += 6;
      return { kind: 'SRV', priority, weight, port, target: rdName(s, end) };
    }
    case RRType.TXT: {
      const texts: string[] = [];
      let p = s.pos;
      while (p < end) {
        const len = b[p];
        if (p + 1 + len > end) throw new DnsFormatError('TXT character-string runs past RDLENGTH');
        texts.push(Buffer.from(b.buffer, b.byteOffset + p + 1, len).toString('latin1'));
        p += 1 + len;
      }
      s.pos = end;
      return { kind: 'TXT', texts };
    }
    case RRType.SOA: {
      const mname = rdName(s, end);
      const rname = rdName(s, end);
      const p = fixed(s, end, 20);
      return {
        kind: 'SOA', mname, rname, serial: u32(b, p), refresh: u32(b, p + 4), retry: u32(b, p + 8),
        expire: u32(b, p + 12), minimum: u32(b, p + 16),
      };
    }
    default: {
      const bytes = copyBytes(b, s.pos, end);
      s.pos = end;
      return { kind: 'raw', bytes };
    }
  }
}

function readOptions(b: Uint8Array, start: number, end: number): EdnsOption[] {
  const options: EdnsOption[] = [];
  let p = start;
  while (p < end) {
    if (p + 4 > end) throw new DnsFormatError('EDNS option header runs past RDLENGTH');
    const code = u16(b, p);
    const len = u16(b, p + 2);
    if (p + 4 + len > end) throw new DnsFormatError('EDNS option data runs past RDLENGTH');
    options.push({ code, data: copyBytes(b, p + 4, p + 4 + len) });
    p += 4 + len;
  }
  return options;
}

/** Reads one RR; returns undefined for the OPT pseudo-record (stored in `s.edns`). */
function readRecord(s: State, additional: boolean): ResourceRecord | undefined {
  const name = readName(s.b, s.pos);
  s.pos = nameCursor.end;
  need(s, 10, 'resource record header');
  const b = s.b;
  const type = u16(b, s.pos);
  const cls = u16(b, s.pos + 2);
  const rawTtl = u32(b, s.pos + 4);
  const rdlength = u16(b, s.pos + 8);
  s.pos += 10;
  need(s, rdlength, 'RDATA');
  const end = s.pos + rdlength;
  if (type === RRType.OPT) {
    if (!additional) throw new DnsFormatError('OPT record outside the additional section');
    if (s.edns !== undefined) throw new DnsFormatError('more than one OPT record');
    if (name !== '.') throw new DnsFormatError('OPT record with a non-root owner name');
    s.edns = {
      udpSize: cls,
      extendedRcode: rawTtl >>> 24,
      version: (rawTtl >>> 16) & 0xff,
      dnssecOk: (rawTtl & 0x8000) !== 0,
      options: readOptions(b, s.pos, end),
    };
    s.pos = end;
    return undefined;
  }
  // RFC 2181 §8: a TTL with the top bit set is treated as zero.
  const ttl = rawTtl > 0x7fffffff ? 0 : rawTtl;
  let data: RecordData;
  if (rdlength === 0 && (cls === RRClass.ANY || cls === RRClass.NONE)) {
    // RFC 2136 deletions carry empty RDATA for any type.
    data = { kind: 'raw', bytes: new Uint8Array(0) };
  } else {
    data = readRdata(s, type, end);
    if (s.pos !== end) throw new DnsFormatError('RDATA shorter than its RDLENGTH says');
  }
  s.pos = end;
  return { name, type, class: cls, ttl, data };
}

/** Decodes a whole message; throws only DnsFormatError. */
export function decodeMessage(buf: Uint8Array): Message {
  if (buf.length < 12) throw new DnsFormatError('message shorter than the 12-octet header');
  const b = buf;
  const id = u16(b, 0);
  const f1 = b[2];
  const f2 = b[3];
  const opcode = (f1 >> 3) & 0xf;
  const rd = (f1 & 1) !== 0;
  const qd = u16(b, 4);
  const an = u16(b, 6);
  const ns = u16(b, 8);
  const ar = u16(b, 10);
  const s: State = { b, pos: 12, edns: undefined };
  const questions: Question[] = [];
  try {
    for (let i = 0; i < qd; i++) questions.push(readQuestion(s));
    const answers: ResourceRecord[] = [];
    const authority: ResourceRecord[] = [];
    const additional: ResourceRecord[] = [];
    for (let i = 0; i < an; i++) answers.push(readRecord(s, false)!);
    for (let i = 0; i < ns; i++) authority.push(readRecord(s, false)!);
    for (let i = 0; i < ar; i++) {
      const rr = readRecord(s, true);
      if (rr !== undefined) additional.push(rr);
    }
    const msg: Message = {
      id,
      qr: (f1 & 0x80) !== 0,
      opcode,
      aa: (f1 & 0x04) !== 0,
      tc: (f1 & 0x02) !== 0,
      rd,
      ra: (f2 & 0x80) !== 0,
      ad: (f2 & 0x20) !== 0,
      cd: (f2 & 0x10) !== 0,
      rcode: (f2 & 0xf) | (s.edns !== undefined ? s.edns.extendedRcode << 4 : 0),
      questions,
      answers,
      authority,
      additional,
    };
    if (s.edns !== undefined) msg.edns = s.edns;
    return msg;
  } catch (err) {
    if (err instanceof DnsFormatError) {
      err.id = id;
      err.opcode = opcode;
      err.rd = rd;
      if (questions.length > 0) err.question = questions[0];
    }
    throw err;
  }
}

/**
 * Decodes a query. The general decoder is already allocation-light, so this is the same
 * function; it exists so the server's hot path can get a specialised parser later without
 * changing callers.
 */
export function decodeQuery(buf: Uint8Array): Message {
  return decodeMessage(buf);
}
