/** IPv4 helpers for the tracer: addresses, CIDRs and ranges as nft writes them. */

/** The address as a 32-bit unsigned number, or undefined when it is not dotted-quad IPv4. */
export function ipToInt(ip: string): number | undefined {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return undefined;
  const parts = m.slice(1).map(Number);
  if (parts.some((p) => p > 255)) return undefined;
  return ((parts[0]! << 24) >>> 0) + (parts[1]! << 16) + (parts[2]! << 8) + parts[3]!;
}

export function isIPv4(ip: string): boolean {
  return ipToInt(ip) !== undefined;
}

/**
 * Does `ip` match `pattern` — an address, a CIDR (`a.b.c.d/n`) or a range (`a-b`)? Throws on
 * a pattern that is none of these: the tracer must not guess.
 */
export function addrMatches(ip: string, pattern: string): boolean {
  const v = ipToInt(ip);
  if (v === undefined) throw new Error(`not an IPv4 address: ${ip}`);
  const slash = pattern.indexOf('/');
  if (slash >= 0) {
    const base = ipToInt(pattern.slice(0, slash));
    const bits = Number(pattern.slice(slash + 1));
    if (base === undefined || !Number.isInteger(bits) || bits < 0 || bits > 32) throw new Error(`bad CIDR ${pattern}`);
    if (bits === 0) return true;
    const mask = (0xffffffff << (32 - bits)) >>> 0;
    return ((v & mask) >>> 0) === ((base & mask) >>> 0);
  }
  const dash = pattern.indexOf('-');
  if (dash >= 0) {
    const lo = ipToInt(pattern.slice(0, dash));
    const hi = ipToInt(pattern.slice(dash + 1));
    if (lo === undefined || hi === undefined) throw new Error(`bad address range ${pattern}`);
    return v >= lo && v <= hi;
  }
  const exact = ipToInt(pattern);
  if (exact === undefined) throw new Error(`bad address ${pattern}`);
  return v === exact;
}

/** Is `ip` inside any of the CIDRs/addresses? */
export function inAny(ip: string, patterns: readonly string[]): boolean {
  return patterns.some((p) => addrMatches(ip, p));
}
