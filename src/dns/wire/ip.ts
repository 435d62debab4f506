/**
 * IP address text <-> bytes for A/AAAA RDATA and reverse (PTR) names. IPv6 output is the
 * canonical form libuv's `inet_ntop` (and so Node) prints: lowercase, no leading zeros, the
 * longest run of two or more zero groups as `::` (first run on ties), and dotted IPv4 for
 * IPv4-mapped (`::ffff:a.b.c.d`) and IPv4-compatible (`::a.b.c.d`) addresses.
 */
import { lowerName, splitLabels } from './names.js';

/** Parses dotted-quad IPv4 into `out[at..at+4]`; false when invalid (no leading zeros). */
export function parseIPv4(s: string, out: Uint8Array, at: number): boolean {
  let part = 0;
  let digits = 0;
  let idx = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || idx > 3) return false;
      out[at + idx++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return false; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return false;
    } else {
      return false;
    }
  }
  return idx === 4;
}

/** Value of one hex digit (either case) given its char code, or -1. */
export function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Parses any RFC 4291 text form of IPv6 (incl. `::` and trailing IPv4) into 16 bytes at `at`. */
export function parseIPv6(s: string, out: Uint8Array, at: number): boolean {
  const groups: number[] = [];
  let gap = -1;
  let i = 0;
  const n = s.length;
  if (n < 2) return false;
  if (s.charCodeAt(0) === 0x3a) {
    if (s.charCodeAt(1) !== 0x3a) return false;
    gap = 0;
    i = 2;
    if (i === n) {
      out.fill(0, at, at + 16);
      return true;
    }
  }
  while (i < n) {
    let v = 0;
    let digits = 0;
    let j = i;
    while (j < n && digits <= 4) {
      const h = hexVal(s.charCodeAt(j));
      if (h < 0) break;
      v = v * 16 + h;
      digits++;
      j++;
    }
    if (j < n && s.charCodeAt(j) === 0x2e) {
      // Embedded IPv4 in the last 32 bits.
      if (groups.length > 6) return false;
      const v4 = new Uint8Array(4);
      if (!parseIPv4(s.slice(i), v4, 0)) return false;
      groups.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
      i = n;
      break;
    }
    if (digits === 0 || digits > 4) return false;
    groups.push(v);
    if (groups.length > 8) return false;
    i = j;
    if (i === n) break;
    if (s.charCodeAt(i) !== 0x3a) return false;
    i++;
    if (i < n && s.charCodeAt(i) === 0x3a) {
      if (gap >= 0) return false;
      gap = groups.length;
      i++;
    } else if (i === n) {
      return false; // trailing single colon
    }
  }
  if (gap < 0 ? groups.length !== 8 : groups.length > 7) return false;
  const fill = 8 - groups.length;
  let g = 0;
  for (let k = 0; k < 8; k++) {
    let v = 0;
    if (gap >= 0 && k >= gap && k < gap + fill) v = 0;
    else v = groups[g++];
    out[at + 2 * k] = v >> 8;
    out[at + 2 * k + 1] = v & 0xff;
  }
  return true;
}

export interface FormatIPv6Options {
  /**
   * Print the last 32 bits as a dotted quad for IPv4-compatible (`::a.b.c.d`) and IPv4-mapped
   * (`::ffff:a.b.c.d`) addresses, as inet_ntop does (default true). false gives all-hex text, as
   * Go's `net.IP.String()` prints an IPv4-compatible address (`::a01:203`); Go prints a mapped
   * address as plain IPv4, which callers that want Go's text check for themselves.
   */
  embeddedIPv4?: boolean;
}

/**
 * Canonical IPv6 text (libuv inet_ntop6 rules, see `FormatIPv6Options`) of the 16 bytes at `at`.
 * Pass a shared constant as `opts` on hot paths: no object is allocated when it is omitted.
 */
export function formatIPv6(b: Uint8Array, at: number, opts?: FormatIPv6Options): string {
  const words = new Array<number>(8);
  for (let k = 0; k < 8; k++) words[k] = (b[at + 2 * k] << 8) | b[at + 2 * k + 1];
  let bestBase = -1;
  let bestLen = 0;
  let curBase = -1;
  let curLen = 0;
  for (let k = 0; k < 8; k++) {
    if (words[k] === 0) {
      if (curBase < 0) {
        curBase = k;
        curLen = 1;
      } else {
        curLen++;
      }
    } else if (curBase >= 0) {
      if (curLen > bestLen) {
        bestBase = curBase;
        bestLen = curLen;
      }
      curBase = -1;
    }
  }
  if (curBase >= 0 && curLen > bestLen) {
    bestBase = curBase;
    bestLen = curLen;
  }
  if (bestLen < 2) bestBase = -1;
  let out = '';
  for (let k = 0; k < 8; k++) {
    if (bestBase >= 0 && k >= bestBase && k < bestBase + bestLen) {
      if (k === bestBase) out += ':';
      continue;
    }
    if (k !== 0) out += ':';
    if (k === 6 && bestBase === 0 && opts?.embeddedIPv4 !== false && (bestLen === 6 || (bestLen === 5 && words[5] === 0xffff))) {
      out += `${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`;
      return out;
    }
    out += words[k].toString(16);
  }
  if (bestBase >= 0 && bestBase + bestLen === 8) out += ':';
  return out;
}

const HEX = '0123456789abcdef';

/**
 * The reverse-lookup name of an IP: `d.c.b.a.in-addr.arpa.` for IPv4, the 32-nibble
 * `ip6.arpa.` name for IPv6; undefined when `ip` is not an address.
 */
export function reverseName(ip: string): string | undefined {
  const bytes = new Uint8Array(16);
  if (parseIPv4(ip, bytes, 0)) return `${bytes[3]}.${bytes[2]}.${bytes[1]}.${bytes[0]}.in-addr.arpa.`;
  if (!parseIPv6(ip, bytes, 0)) return undefined;
  let out = '';
  for (let k = 15; k >= 0; k--) out += `${HEX[bytes[k] & 0xf]}.${HEX[bytes[k] >> 4]}.`;
  return `${out}ip6.arpa.`;
}

/**
 * The address a complete reverse name stands for (inverse of `reverseName`, case-insensitive);
 * undefined for partial names (fewer labels: a network, not a host) and malformed ones.
 */
export function ipFromReverse(name: string): string | undefined {
  const labels = splitLabels(lowerName(name));
  const n = labels.length;
  if (n === 6 && labels[4] === 'in-addr' && labels[5] === 'arpa') {
    const b = new Uint8Array(4);
    if (!parseIPv4(`${labels[3]}.${labels[2]}.${labels[1]}.${labels[0]}`, b, 0)) return undefined;
    return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  }
  if (n === 34 && labels[32] === 'ip6' && labels[33] === 'arpa') {
    const b = new Uint8Array(16);
    for (let k = 0; k < 32; k++) {
      const label = labels[31 - k];
      if (label.length !== 1) return undefined;
      const v = hexVal(label.charCodeAt(0));
      if (v < 0) return undefined;
      if (k % 2 === 0) b[k >> 1] = v << 4;
      else b[k >> 1] |= v;
    }
    return formatIPv6(b, 0);
  }
  return undefined;
}
