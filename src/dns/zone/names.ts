/**
 * Small, allocation-light helpers for names and addresses used by the cluster zone. They are
 * deliberately local to `zone/` (the wire codec has its own) so the zone depends on nothing but
 * the shared model. Names arrive in presentation form (trailing dot, `\.` `\\` `\DDD` escapes);
 * labels are compared in their escaped form, which is fine because no Kubernetes object name
 * contains a backslash, so an escaped label simply matches nothing.
 */

/** Lowercase ASCII letters only (RFC 4343). Presentation names hold printable ASCII only. */
export function lowerName(name: string): string {
  return name.toLowerCase();
}

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

/** Strict dotted-quad as Go's net.ParseIP reads it: four decimal parts 0..255, no leading zeros. */
function parseV4Parts(s: string, out: number[]): boolean {
  let part = 0;
  let digits = 0;
  let n = 0;
  for (let i = 0; i <= s.length; i++) {
    const c = i < s.length ? s.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || n >= 4) return false;
      out[n++] = part;
      part = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits > 0 && part === 0) return false; // leading zero
      part = part * 10 + (c - 0x30);
      digits++;
      if (part > 255) return false;
    } else return false;
  }
  return n === 4;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  return -1;
}

/** Parses IPv6 text (with optional `::` and trailing dotted quad) into eight 16-bit groups. */
function parseV6Groups(s: string): number[] | undefined {
  const groups: number[] = [];
  let ellipsis = -1;
  let i = 0;
  if (s.startsWith('::')) {
    ellipsis = 0;
    i = 2;
    if (i === s.length) return [0, 0, 0, 0, 0, 0, 0, 0];
  }
  while (i < s.length) {
    if (groups.length >= 8) return undefined;
    // A dotted quad may end the address (only as the last group).
    const rest = s.indexOf(':', i) < 0 ? s.slice(i) : '';
    if (rest.indexOf('.') >= 0) {
      const q: number[] = [];
      if (!parseV4Parts(rest, q) || groups.length > 6) return undefined;
      groups.push((q[0]! << 8) | q[1]!, (q[2]! << 8) | q[3]!);
      i = s.length;
      break;
    }
    let v = 0;
    let n = 0;
    while (i < s.length) {
      const h = hexVal(s.charCodeAt(i));
      if (h < 0) break;
      v = v * 16 + h;
      n++;
      i++;
      if (n > 4) return undefined;
    }
    if (n === 0) return undefined;
    groups.push(v);
    if (i === s.length) break;
    if (s.charCodeAt(i) !== 0x3a) return undefined;
    i++;
    if (i < s.length && s.charCodeAt(i) === 0x3a) {
      if (ellipsis >= 0) return undefined;
      ellipsis = groups.length;
      i++;
      if (i === s.length) break;
    } else if (i === s.length) return undefined;
  }
  if (ellipsis < 0) return groups.length === 8 ? groups : undefined;
  if (groups.length >= 8) return undefined;
  const fill = 8 - groups.length;
  const out = groups.slice(0, ellipsis);
  for (let k = 0; k < fill; k++) out.push(0);
  return out.concat(groups.slice(ellipsis));
}

/** RFC 5952 text for eight groups (longest run of two or more zero groups becomes `::`, first on ties). */
function formatV6(g: number[]): string {
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  let out = '';
  for (let i = 0; i < 8; i++) {
    if (i === best) {
      out += '::';
      i += bestLen - 1;
      continue;
    }
    if (out !== '' && !out.endsWith(':')) out += ':';
    out += g[i]!.toString(16);
  }
  return out;
}

/**
 * Parses an address as Go's net.ParseIP does and returns its canonical text. An IPv4-mapped
 * IPv6 address (`::ffff:a.b.c.d`) is IPv4, as CoreDNS's `HostType` treats it (`To4() != nil`).
 */
export function parseIP(s: string): ParsedIP | undefined {
  if (s.indexOf(':') < 0) {
    const q: number[] = [];
    return parseV4Parts(s, q) ? { family: 4, text: `${q[0]}.${q[1]}.${q[2]}.${q[3]}` } : undefined;
  }
  const g = parseV6Groups(s);
  if (!g) return undefined;
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return { family: 4, text: `${g[6]! >> 8}.${g[6]! & 255}.${g[7]! >> 8}.${g[7]! & 255}` };
  }
  return { family: 6, text: formatV6(g) };
}

/** Canonical text of an address, or the input unchanged when it does not parse. */
export function canonicalIP(s: string): string {
  return parseIP(s)?.text ?? s;
}

/**
 * The address a reverse name stands for (lowercase name in, canonical text out), or undefined.
 * in-addr.arpa needs exactly four decimal labels; ip6.arpa exactly 32 single-hex-digit labels
 * (CoreDNS's `ExtractAddressFromReverse` rejects anything that does not parse back to a full
 * address; it silently drops extra labels beyond a multiple of four, which we do not copy).
 */
export function ipFromReverse(lower: string): string | undefined {
  if (lower.endsWith('.in-addr.arpa.')) {
    const labels = lower.slice(0, -'.in-addr.arpa.'.length).split('.');
    if (labels.length !== 4) return undefined;
    const ip = parseIP(`${labels[3]}.${labels[2]}.${labels[1]}.${labels[0]}`);
    return ip && ip.family === 4 ? ip.text : undefined;
  }
  if (lower.endsWith('.ip6.arpa.')) {
    const rel = lower.slice(0, -'.ip6.arpa.'.length);
    if (rel.length !== 63) return undefined;
    const g: number[] = [0, 0, 0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 32; i++) {
      const pos = (31 - i) * 2;
      const h = hexVal(rel.charCodeAt(pos));
      if (h < 0 || (pos + 1 < rel.length && rel.charCodeAt(pos + 1) !== 0x2e)) return undefined;
      g[i >> 2] = (g[i >> 2]! << 4) | h;
    }
    const ip = parseIP(formatV6(g));
    return ip?.text;
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
