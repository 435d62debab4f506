/**
 * Domain names: presentation-form helpers (case-insensitive comparison per RFC 4343) and the
 * wire reader/writer with RFC 1035 §4.1.4 compression. Presentation names escape a label
 * byte that is `.` or `\` as `\.`/`\\` and any byte outside 0x21..0x7e as `\DDD`, so every
 * wire name round-trips through a string.
 */
import { DnsFormatError } from './errors.js';

const DOT = 0x2e;
const BACKSLASH = 0x5c;

/**
 * ASCII-only lowercase (RFC 4343): the input itself when it has no uppercase letter; the native
 * `toLowerCase` when it is pure ASCII (where both agree; decoded names always are); a per-char
 * ASCII fold otherwise, so non-ASCII characters are never changed.
 */
export function lowerName(name: string): string {
  let upper = false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c >= 0x80) return asciiLower(name);
    if (c >= 0x41 && c <= 0x5a) upper = true;
  }
  return upper ? name.toLowerCase() : name;
}

function asciiLower(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    out += c >= 0x41 && c <= 0x5a ? String.fromCharCode(c + 32) : s[i];
  }
  return out;
}

/** Case-insensitive (ASCII) equality of two presentation names. */
export function nameEquals(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    let x = a.charCodeAt(i);
    let y = b.charCodeAt(i);
    if (x === y) continue;
    if (x >= 0x41 && x <= 0x5a) x += 32;
    if (y >= 0x41 && y <= 0x5a) y += 32;
    if (x !== y) return false;
  }
  return true;
}

/** True when the character at `i` (a `.`) is a label separator, not part of an escape. */
function isSeparatorAt(s: string, i: number): boolean {
  let slashes = 0;
  for (let j = i - 1; j >= 0 && s.charCodeAt(j) === BACKSLASH; j--) slashes++;
  return slashes % 2 === 0;
}

/**
 * True when `name` equals `zone` or lies below it (label-wise, case-insensitive).
 * Both are FQDNs; a missing trailing dot on either is tolerated.
 */
export function isSubdomain(name: string, zone: string): boolean {
  if (zone === '.' || zone === '') return true;
  const n = name.endsWith('.') ? name : `${name}.`;
  const z = zone.endsWith('.') ? zone : `${zone}.`;
  if (n.length < z.length) return false;
  const start = n.length - z.length;
  if (!nameEquals(n.slice(start), z)) return false;
  if (start === 0) return true;
  return n.charCodeAt(start - 1) === DOT && isSeparatorAt(n, start - 1);
}

/** Presentation labels (escapes kept) without the root; `.` gives []. */
export function splitLabels(name: string): string[] {
  const labels: string[] = [];
  let start = 0;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c === BACKSLASH) {
      i++;
      continue;
    }
    if (c === DOT) {
      if (i > start) labels.push(name.slice(start, i));
      start = i + 1;
    }
  }
  if (start < name.length) labels.push(name.slice(start));
  return labels;
}

// ---------------------------------------------------------------------------------------------
// Wire reading

/** Presentation of one maximal name: 255 octets, each at most `\DDD` (4 chars). */
const scratch = Buffer.allocUnsafe(1100);

/** Where the last `readName` call stopped in the original stream (after the name or its pointer). */
export const nameCursor = { end: 0 };

/**
 * Reads the (possibly compressed) name at `off`, returning its presentation form and setting
 * `nameCursor.end`. Each compression pointer must target a point before the start of the run of
 * labels that contains it: that rejects loops, self-pointers and forward pointers in one rule and
 * bounds the work by the message length.
 */
export function readName(b: Uint8Array, off: number): string {
  let pos = off;
  let runStart = off;
  let end = -1;
  let wireLen = 1; // the root octet
  let out = 0;
  for (;;) {
    if (pos >= b.length) throw new DnsFormatError('domain name runs past the end of the message');
    const len = b[pos];
    if (len === 0) {
      pos++;
      break;
    }
    const kind = len & 0xc0;
    if (kind === 0xc0) {
      if (pos + 1 >= b.length) throw new DnsFormatError('compression pointer runs past the end of the message');
      const target = ((len & 0x3f) << 8) | b[pos + 1];
      if (target >= runStart) throw new DnsFormatError('compression pointer does not point backwards');
      if (end < 0) end = pos + 2;
      pos = target;
      runStart = target;
      continue;
    }
    if (kind !== 0) throw new DnsFormatError(`unsupported label type 0x${kind.toString(16)}`);
    // len <= 63 here because the two top bits are clear.
    if (pos + 1 + len > b.length) throw new DnsFormatError('label runs past the end of the message');
    wireLen += len + 1;
    if (wireLen > 255) throw new DnsFormatError('domain name longer than 255 octets');
    for (let i = pos + 1, stop = pos + 1 + len; i < stop; i++) {
      const c = b[i];
      if (c === DOT || c === BACKSLASH) {
        scratch[out++] = BACKSLASH;
        scratch[out++] = c;
      } else if (c < 0x21 || c > 0x7e) {
        scratch[out++] = BACKSLASH;
        scratch[out++] = 0x30 + ((c / 100) | 0);
        scratch[out++] = 0x30 + (((c / 10) | 0) % 10);
        scratch[out++] = 0x30 + (c % 10);
      } else {
        scratch[out++] = c;
      }
    }
    scratch[out++] = DOT;
    pos += 1 + len;
  }
  nameCursor.end = end < 0 ? pos : end;
  return out === 0 ? '.' : scratch.toString('latin1', 0, out);
}

// ---------------------------------------------------------------------------------------------
// Wire writing

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/**
 * The names already written into one message, for compression. Suffixes are matched by their
 * exact presentation text (so only identical spellings share a pointer, which keeps case as
 * given) with a linear scan over parallel arrays: responses hold a handful of distinct names,
 * and this avoids allocating a substring key per label as a Map would. Past `MAX_ENTRIES` new
 * suffixes are no longer recorded, which bounds the scan for huge (TCP) responses.
 */
export class Compressor {
  private static readonly MAX_ENTRIES = 256;
  private names: string[] = [];
  private starts: number[] = [];
  private offsets: number[] = [];
  private count = 0;

  reset(): void {
    this.count = 0;
  }

  /** Offset of an earlier name whose suffix equals `name` from index `i`, or -1. */
  find(name: string, i: number): number {
    const len = name.length - i;
    for (let k = 0; k < this.count; k++) {
      const other = this.names[k];
      const start = this.starts[k];
      if (other.length - start !== len) continue;
      if (other === name && start === i) return this.offsets[k];
      let j = 0;
      while (j < len && other.charCodeAt(start + j) === name.charCodeAt(i + j)) j++;
      if (j === len) return this.offsets[k];
    }
    return -1;
  }

  add(name: string, i: number, offset: number): void {
    if (this.count >= Compressor.MAX_ENTRIES) return;
    this.names[this.count] = name;
    this.starts[this.count] = i;
    this.offsets[this.count] = offset;
    this.count++;
  }
}

/**
 * Writes `name` at `pos` and returns the position after it. With `comp`, each label suffix is
 * looked up among earlier names and replaced by a pointer when found; new suffixes are recorded
 * when their offset fits a 14-bit pointer. Throws RangeError for names the wire cannot carry
 * (empty or > 63-octet labels, > 255 octets, bad escapes).
 */
export function writeName(buf: Uint8Array, pos: number, name: string, comp: Compressor | null): number {
  const n = name.length;
  if (n === 0 || (n === 1 && name.charCodeAt(0) === DOT)) {
    buf[pos] = 0;
    return pos + 1;
  }
  let i = 0;
  let wireLen = 1;
  while (i < n) {
    if (comp !== null) {
      const ptr = comp.find(name, i);
      if (ptr >= 0) {
        buf[pos] = 0xc0 | (ptr >> 8);
        buf[pos + 1] = ptr & 0xff;
        return pos + 2;
      }
      if (pos < 0x4000) comp.add(name, i, pos);
    }
    const lenPos = pos++;
    while (i < n) {
      let c = name.charCodeAt(i);
      if (c === DOT) break;
      if (c === BACKSLASH) {
        if (i + 1 >= n) throw new RangeError(`name ${JSON.stringify(name)}: trailing backslash`);
        const d1 = name.charCodeAt(i + 1);
        if (isDigit(d1)) {
          const d2 = name.charCodeAt(i + 2);
          const d3 = name.charCodeAt(i + 3);
          if (!isDigit(d2) || !isDigit(d3)) throw new RangeError(`name ${JSON.stringify(name)}: bad \\DDD escape`);
          c = (d1 - 0x30) * 100 + (d2 - 0x30) * 10 + (d3 - 0x30);
          if (c > 255) throw new RangeError(`name ${JSON.stringify(name)}: \\DDD escape above 255`);
          i += 4;
        } else {
          c = d1;
          i += 2;
        }
      } else {
        i++;
      }
      if (c > 0xff) throw new RangeError(`name ${JSON.stringify(name)}: non-ASCII character`);
      buf[pos++] = c;
      if (pos - lenPos - 1 > 63) throw new RangeError(`name ${JSON.stringify(name)}: label longer than 63 octets`);
    }
    const len = pos - lenPos - 1;
    if (len === 0) throw new RangeError(`name ${JSON.stringify(name)}: empty label`);
    buf[lenPos] = len;
    wireLen += len + 1;
    if (wireLen > 255) throw new RangeError(`name ${JSON.stringify(name)}: longer than 255 octets`);
    i++; // skip the separator (or step past the end)
  }
  buf[pos] = 0;
  return pos + 1;
}
