/**
 * DNS message encoding with name compression and UDP truncation. Messages are written into one
 * module-level scratch buffer (encoding is synchronous, so it is never shared between calls)
 * and copied out once at their final size, so the hot path allocates only the result.
 */
import { RRType } from '../types.js';
import type { Edns, Message, RecordData, ResourceRecord } from '../types.js';
import { parseIPv4, parseIPv6 } from './ip.js';
import { Compressor, writeName } from './names.js';

export interface EncodeOptions {
  /**
   * The UDP payload limit (512 without EDNS, else the client's udpSize clamped to >= 512).
   * When the message does not fit, records are dropped from the end (additional, then
   * authority, then answers); TC is set when an answer or authority record was dropped.
   * The header, the questions and the OPT record are always kept.
   */
  maxSize?: number;
}

const MAX_MESSAGE = 65535;
/** Room for a full message plus one maximal record written before the size check. */
const scratch = Buffer.allocUnsafe(2 * 65536 + 1024);
const comp = new Compressor();
/** End offset of each written record, in message order. */
const ends: number[] = [];

function w16(at: number, v: number): void {
  scratch[at] = (v >> 8) & 0xff;
  scratch[at + 1] = v & 0xff;
}

function w32(at: number, v: number): void {
  scratch.writeUInt32BE(v >>> 0, at);
}

function isLatin1(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0xff) return false;
  return true;
}

function writeRdata(data: RecordData, pos: number): number {
  switch (data.kind) {
    case 'A':
      if (!parseIPv4(data.address, scratch, pos)) throw new RangeError(`A record: invalid IPv4 address ${JSON.stringify(data.address)}`);
      return pos + 4;
    case 'AAAA':
      if (!parseIPv6(data.address, scratch, pos)) throw new RangeError(`AAAA record: invalid IPv6 address ${JSON.stringify(data.address)}`);
      return pos + 16;
    case 'NS':
    case 'CNAME':
    case 'PTR':
      return writeName(scratch, pos, data.target, comp);
    case 'MX':
      w16(pos, data.preference);
      return writeName(scratch, pos + 2, data.exchange, comp);
    case 'SRV':
      w16(pos, data.priority);
      w16(pos + 2, data.weight);
      w16(pos + 4, data.port);
      // RFC 2782: the target must not be compressed.
      return writeName(scratch, pos + 6, data.target, null);
    case 'TXT':
      for (const text of data.texts) {
        // Strings are octet strings: one char per octet (latin1); others are sent as UTF-8.
        const octets = isLatin1(text);
        const n = scratch.write(text, pos + 1, octets ? 'latin1' : 'utf8');
        const len = octets ? text.length : Buffer.byteLength(text, 'utf8');
        if (len > 255 || n !== len) throw new RangeError('TXT character-string longer than 255 octets');
        scratch[pos] = len;
        pos += 1 + len;
        if (pos > 2 * MAX_MESSAGE) throw new RangeError('TXT RDATA longer than 65535 octets');
      }
      return pos;
    case 'SOA':
      pos = writeName(scratch, pos, data.mname, comp);
      pos = writeName(scratch, pos, data.rname, comp);
      w32(pos, data.serial);
      w32(pos + 4, data.refresh);
      w32(pos + 8, data.retry);
      w32(pos + 12, data.expire);
      w32(pos + 16, data.minimum);
      return pos + 20;
    case 'raw':
      if (data.bytes.length > MAX_MESSAGE) throw new RangeError('RDATA longer than 65535 octets');
      scratch.set(data.bytes, pos);
      return pos + data.bytes.length;
  }
}

function writeRecord(rr: ResourceRecord, pos: number): number {
  pos = writeName(scratch, pos, rr.name, comp);
  w16(pos, rr.type);
  w16(pos + 2, rr.class);
  w32(pos + 4, rr.ttl);
  const start = pos + 10;
  const end = writeRdata(rr.data, start);
  const rdlength = end - start;
  if (rdlength > MAX_MESSAGE) throw new RangeError('RDATA longer than 65535 octets');
  w16(pos + 8, rdlength);
  return end;
}

function optLength(edns: Edns | undefined): number {
  if (edns === undefined) return 0;
  let n = 11;
  for (const o of edns.options) n += 4 + o.data.length;
  return n;
}

function writeOpt(edns: Edns, rcode: number, pos: number): number {
  scratch[pos] = 0; // root owner name
  w16(pos + 1, RRType.OPT);
  w16(pos + 3, edns.udpSize);
  scratch[pos + 5] = (rcode >> 4) & 0xff;
  scratch[pos + 6] = edns.version & 0xff;
  w16(pos + 7, edns.dnssecOk ? 0x8000 : 0);
  let p = pos + 11;
  for (const o of edns.options) {
    w16(p, o.code);
    w16(p + 2, o.data.length);
    scratch.set(o.data, p + 4);
    p += 4 + o.data.length;
  }
  w16(pos + 9, p - pos - 11);
  return p;
}

/**
 * Encodes `msg` (compressing owner names and the names inside NS/CNAME/PTR/MX/SOA RDATA).
 * The OPT record is built from `msg.edns` and placed last; `msg.rcode` is split between the
 * header (low 4 bits) and the OPT record (high 8 bits); `edns.extendedRcode` is not consulted,
 * so the full RCODE has one source of truth. Throws RangeError for content the
 * wire cannot carry (bad names or addresses, a message over 65535 octets without maxSize).
 */
export function encodeMessage(msg: Message, opts: EncodeOptions = {}): Buffer {
  comp.reset();
  ends.length = 0;
  const limit = Math.min(opts.maxSize ?? MAX_MESSAGE, MAX_MESSAGE);
  const optLen = optLength(msg.edns);
  if (optLen > MAX_MESSAGE) throw new RangeError('OPT record longer than 65535 octets');

  w16(0, msg.id);
  scratch[2] = (msg.qr ? 0x80 : 0) | ((msg.opcode & 0xf) << 3) | (msg.aa ? 0x04 : 0) | (msg.tc ? 0x02 : 0) | (msg.rd ? 1 : 0);
  scratch[3] = (msg.ra ? 0x80 : 0) | (msg.ad ? 0x20 : 0) | (msg.cd ? 0x10 : 0) | (msg.rcode & 0xf);
  w16(4, msg.questions.length);
  let pos = 12;
  for (const q of msg.questions) {
    pos = writeName(scratch, pos, q.name, comp);
    w16(pos, q.type);
    w16(pos + 2, q.class);
    pos += 4;
    if (pos > MAX_MESSAGE) throw new RangeError('question section longer than 65535 octets');
  }
  const questionEnd = pos;

  // Write records until one would not fit with the OPT record; later ones are dropped anyway.
  const sections = [msg.answers, msg.authority, msg.additional];
  let overflow = false;
  for (let s = 0; s < 3 && !overflow; s++) {
    for (const rr of sections[s]) {
      pos = writeRecord(rr, pos);
      if (pos + optLen > limit) {
        overflow = true;
        break;
      }
      ends.push(pos);
    }
  }
  if (overflow && opts.maxSize === undefined) throw new RangeError('message longer than 65535 octets');

  const kept = ends.length;
  pos = kept > 0 ? ends[kept - 1] : questionEnd;
  const an = Math.min(kept, msg.answers.length);
  const ns = Math.min(kept - an, msg.authority.length);
  const ar = kept - an - ns;
  w16(6, an);
  w16(8, ns);
  w16(10, ar + (msg.edns !== undefined ? 1 : 0));
  if (an < msg.answers.length || ns < msg.authority.length) scratch[2] |= 0x02;
  if (msg.edns !== undefined) pos = writeOpt(msg.edns, msg.rcode, pos);

  const out = Buffer.allocUnsafe(pos);
  scratch.copy(out, 0, 0, pos);
  return out;
}
