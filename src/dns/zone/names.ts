/**
 * Name and address helpers for the cluster zone. IP parsing and IPv6 formatting come from the
 * wire codec (`../wire/ip.ts`; lowercase names with `lowerName` from `../wire/names.ts`); what stays here is
 * zone-specific: Go's `net.IP.String()` view of an address (an IPv4-mapped IPv6 address is IPv4,
 * an IPv4-compatible one is all-hex), reverse names read the way CoreDNS reads them, and the
 * label helpers that work on lowercase relative names without allocating. Names arrive in
 * presentation form (trailing dot, `\.` `\\` `\DDD` escapes); labels are compared in their
 * escaped form, which is fine because no Kubernetes object name contains a backslash, so an
 * escaped label simply matches nothing.
 */
import { formatIPv6 as formatIPv6Import, hexVal as hexValImport, parseIPv4 as parseIPv4Import, parseIPv6 as parseIPv6Import } from '../wire/ip.js';

// Module-local copies: under a transpiling loader an imported binding is a getter call per use,
// and pod-name and PTR look-ups parse addresses per query.
const parseIPv4 = parseIPv4Import;
const parseIPv6 = parseIPv6Import;
const formatIPv6 = formatIPv6Import;
const hexVal = hexValImport;

/** Go's `net.IP.String()` never prints an IPv6 address with a dotted tail (mapped ones are IPv4). */
const GO_TEXT = { embeddedIPv4: false } as const;
/** Scratch for one address; every use finishes before returning, so one buffer serves all. */
const bytes = new Uint8Array(16);

/** Ensures a trailing dot. */
export function fqdn(name: string): string {
  return name.endsWith('.') ? name : name + '.';
}

/**
 * True when `lower` (already lowercase) is `zoneDot` or ends with `.` + `zoneDot` at a real label
 * boundary (the dot before the zone is not itself escaped as `\.`).
 */
export function inZone(lower: string, zoneDot: string): boolean {
  if (lower.length === zoneDot.length) return lower === zoneDot;
  if (lower.length < zoneDot.length + 1 || !lower.endsWith(zoneDot)) return false;
  const dot = lower.length - zoneDot.length - 1;
  if (lower.charCodeAt(dot) !== 0x2e) return false;
  let slashes = 0;
  for (let i = dot - 1; i >= 0 && lower.charCodeAt(i) === 0x5c; i--) slashes++;
  return slashes % 2 === 0;
}

/**
 * Splits a relative name (no trailing dot) into labels, keeping escapes inside a label. The
 * common case (no backslash) is one `split`.
 */
export function splitLabels(rel: string): string[] {
  if (rel === '') return [];
  if (rel.indexOf('\\') < 0) return rel.split('.');
  const out: string[] = [];
  let start = 0;
  for (let i = 0; i < rel.length; i++) {
    const c = rel.charCodeAt(i);
    if (c === 0x5c) i++;
    else if (c === 0x2e) {
      out.push(rel.slice(start, i));
      start = i + 1;
    }
  }
  out.push(rel.slice(start));
  return out;
}

/** A parsed IP: family and canonical text (Go's `net.IP.String()` form). */
export interface ParsedIP {
  family: 4 | 6;
  text: string;
}

/** Go's view of the 16 address bytes in `bytes`: IPv4-mapped is IPv4, everything else IPv6 all-hex. */
function fromV6Bytes(): ParsedIP {
  const b = bytes;
  if (b[0] === 0 && b[1] === 0 && b[2] === 0 && b[3] === 0 && b[4] === 0 && b[5] === 0 && b[6] === 0 && b[7] === 0 && b[8] === 0 && b[9] === 0 && b[10] === 0xff && b[11] === 0xff) {
    return { family: 4, text: `${b[12]}.${b[13]}.${b[14]}.${b[15]}` };
  }
  return { family: 6, text: formatIPv6(b, 0, GO_TEXT) };
}

/**
 * Parses an address as Go's net.ParseIP does (strict dotted quad without leading zeros, any
 * RFC 4291 IPv6 text) and returns its canonical text. An IPv4-mapped IPv6 address
 * (`::ffff:a.b.c.d`) is IPv4, as CoreDNS's `HostType` treats it (`To4() != nil`).
 */
export function parseIP(s: string): ParsedIP | undefined {
  // A dotted quad that parses strictly is already canonical: keep the input string.
  if (s.indexOf(':') < 0) return parseIPv4(s, bytes, 0) ? { family: 4, text: s } : undefined;
  return parseIPv6(s, bytes, 0) ? fromV6Bytes() : undefined;
}

/** Canonical text of an address, or the input unchanged when it does not parse. */
export function canonicalIP(s: string): string {
  return parseIP(s)?.text ?? s;
}

/**
 * The address a reverse name stands for (lowercase name in, canonical text out), or undefined.
 * in-addr.arpa needs exactly four decimal labels; ip6.arpa exactly 32 single-hex-digit labels
 * (CoreDNS's `ExtractAddressFromReverse` rejects anything that does not parse back to a full
 * address; it silently drops extra labels beyond a multiple of four, which we do not copy). The
 * text is Go's (`net.ParseIP(...).String()`), so an ip6.arpa name of an IPv4-mapped address
 * gives the IPv4 text: unlike the wire codec's `ipFromReverse`, which prints inet_ntop text.
 */
export function ipFromReverse(lower: string): string | undefined {
  if (lower.endsWith('.in-addr.arpa.')) {
    const labels = lower.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (labels.length !== 4) return undefined;
    // Parsed like Go's net.ParseIP on the joined labels, as CoreDNS does (so an IPv4-mapped
    // IPv6 text spread over the labels reads as IPv4 too).
    const ip = parseIP(`${labels[3]}.${labels[2]}.${labels[1]}.${labels[0]}`);
    return ip && ip.family === 4 ? ip.text : undefined;
  }
  if (lower.endsWith('.ip6.arpa.')) {
    const rel = lower.slice(0, -'.ip6.arpa.'.length);
    if (rel.length !== 63) return undefined;
    const b = bytes;
    for (let i = 0; i < 32; i++) {
      const pos = (31 - i) * 2;
      const h = hexVal(rel.charCodeAt(pos));
      if (h < 0 || (pos + 1 < rel.length && rel.charCodeAt(pos + 1) !== 0x2e)) return undefined;
      if ((i & 1) === 0) b[i >> 1] = h << 4;
      else b[i >> 1] |= h;
    }
    return fromV6Bytes().text;
  }
  return undefined;
}

/**
 * CoreDNS's endpoint label when an endpoint has no hostname: the address with `.` (IPv4) or
 * `:` (IPv6) replaced by `-`, from the address as written in the EndpointSlice.
 */
export function dashedIP(address: string): string {
  if (address.indexOf('.') >= 0) return address.replaceAll('.', '-');
  if (address.indexOf(':') >= 0) return address.replaceAll(':', '-');
  return '';
}

/**
 * The address a `pods insecure` label names (CoreDNS findPods): exactly three dashes and no
 * `--` is IPv4 (`10-1-2-3`), anything else is IPv6 with dashes for colons (`fd00--1`).
 */
export function ipFromPodLabel(label: string): ParsedIP | undefined {
  let dashes = 0;
  for (let i = 0; i < label.length; i++) if (label.charCodeAt(i) === 0x2d) dashes++;
  const v4 = dashes === 3 && label.indexOf('--') < 0;
  return parseIP(label.replaceAll('-', v4 ? '.' : ':'));
}
