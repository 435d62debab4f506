/**
 * The LoadBalancer address pool (what `--lb-pool` configures): parsing and an in-memory
 * allocator. Pure: no I/O, no clock. The controller rebuilds the allocator from Services'
 * statuses on start, so this state never needs persisting.
 *
 * Pool syntax: a comma list of IPv4 CIDRs (`10.250.0.0/24`) and inclusive ranges
 * (`10.250.0.10-10.250.0.20`). A CIDR of /30 or wider gives up its network and broadcast
 * addresses (nobody can reach a VIP on them); /31 and /32 use every address (RFC 3021), and a
 * range is taken literally. IPv6 is refused with an error saying so (the cluster is
 * single-stack IPv4).
 *
 * Contract: each owner (a Service key) holds at most one address; an address has at most one
 * owner; `allocate` hands out the lowest free address, so results are deterministic.
 */

/** An inclusive range of IPv4 addresses as unsigned 32-bit integers. */
export interface AddressRange {
  first: number;
  last: number;
}

/** Parses a dotted-quad IPv4 address (no leading zeros, as Go's netip) to a uint32. */
export function parseIPv4(s: string): number | undefined {
  const parts = s.split('.');
  if (parts.length !== 4) return undefined;
  let n = 0;
  for (const p of parts) {
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p)) return undefined;
    const v = Number(p);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** True for anything that looks like an IPv6 address (contains a colon). */
export function looksLikeIPv6(s: string): boolean {
  return s.includes(':');
}

function parseEntry(entry: string): AddressRange {
  if (looksLikeIPv6(entry)) throw new Error(`invalid LoadBalancer pool entry "${entry}": IPv6 pools are not supported (this cluster is IPv4 only)`);
  const slash = entry.indexOf('/');
  if (slash >= 0) {
    const base = parseIPv4(entry.slice(0, slash));
    const bitsText = entry.slice(slash + 1);
    const bits = /^[0-9]{1,2}$/.test(bitsText) ? Number(bitsText) : NaN;
    if (base === undefined || !(bits >= 0 && bits <= 32)) throw new Error(`invalid LoadBalancer pool entry "${entry}": not an IPv4 CIDR like 10.250.0.0/24`);
    const hostBits = 32 - bits;
    const size = 2 ** hostBits;
    const network = Math.floor(base / size) * size;
    if (network !== base) throw new Error(`invalid LoadBalancer pool entry "${entry}": host bits are set (did you mean ${formatIPv4(network)}/${bits}?)`);
    const last = network + size - 1;
    // Network and broadcast addresses are unusable as VIPs except in /31 and /32.
    return bits <= 30 ? { first: network + 1, last: last - 1 } : { first: network, last };
  }
  const dash = entry.indexOf('-');
  if (dash >= 0) {
    const from = entry.slice(0, dash).trim();
    const to = entry.slice(dash + 1).trim();
    const first = parseIPv4(from);
    const last = parseIPv4(to);
    if (first === undefined || last === undefined) throw new Error(`invalid LoadBalancer pool entry "${entry}": not an IPv4 range like 10.250.0.10-10.250.0.20`);
    if (first > last) throw new Error(`invalid LoadBalancer pool entry "${entry}": the range starts after it ends`);
    return { first, last };
  }
  const single = parseIPv4(entry);
  if (single === undefined) throw new Error(`invalid LoadBalancer pool entry "${entry}": expected an IPv4 CIDR (10.250.0.0/24) or range (10.250.0.10-10.250.0.20)`);
  return { first: single, last: single };
}

/**
 * Parses a pool spec into sorted, non-overlapping ranges. Throws an Error naming the bad entry
 * for malformed input, IPv6, overlapping entries or an empty pool.
 */
/** `--lb-pool`'s default: a small private range the node routes to itself. */
export const DEFAULT_LB_POOL = '10.250.0.0/24';

export function parsePool(spec: string): AddressRange[] {
  const entries = spec
    .split(',')
    .map((e) => e.trim())
    .filter((e) => e !== '');
  if (entries.length === 0) throw new Error('invalid LoadBalancer pool "": give an IPv4 CIDR (10.250.0.0/24) or range (10.250.0.10-10.250.0.20)');
  const ranges = entries.map((e) => ({ entry: e, ...parseEntry(e) }));
  ranges.sort((a, b) => a.first - b.first);
  for (let i = 1; i < ranges.length; i++) {
    if (ranges[i].first <= ranges[i - 1].last) throw new Error(`invalid LoadBalancer pool "${spec}": entries "${ranges[i - 1].entry}" and "${ranges[i].entry}" overlap`);
  }
  const usable = ranges.filter((r) => r.first <= r.last);
  if (usable.length === 0) throw new Error(`invalid LoadBalancer pool "${spec}": it holds no usable address`);
  return usable.map(({ first, last }) => ({ first, last }));
}

/** The largest CIDRs exactly covering [first, last] (the classic range-to-prefix split). */
function rangeToCIDRs(first: number, last: number): string[] {
  const out: string[] = [];
  let n = first;
  while (n <= last) {
    let size = 1;
    // Grow while n stays aligned to the block and the block stays inside the range.
    while (size < 2 ** 32 && n % (size * 2) === 0 && n + size * 2 - 1 <= last) size *= 2;
    out.push(`${formatIPv4(n)}/${32 - Math.log2(size)}`);
    n += size;
  }
  return out;
}

/**
 * The pool's address space as CIDRs, for whoever routes or filters it (the proxy): a CIDR entry
 * as written (network and broadcast included: nothing else may use them either), a range or
 * single address as the smallest exact set of CIDRs. Throws like parsePool.
 */
export function poolCIDRs(spec: string): string[] {
  parsePool(spec);
  const out: string[] = [];
  for (const entry of spec.split(',').map((e) => e.trim()).filter((e) => e !== '')) {
    if (entry.includes('/')) {
      out.push(entry);
      continue;
    }
    const r = parseEntry(entry);
    out.push(...rangeToCIDRs(r.first, r.last));
  }
  return out;
}

export type ClaimResult = { ok: true } | { ok: false; reason: 'invalid' | 'not-in-pool' } | { ok: false; reason: 'in-use'; owner: string };

export class IPPool {
  /** The spec as configured (what events and errors name the pool by). */
  readonly spec: string;
  readonly size: number;
  private readonly ranges: AddressRange[];
  private readonly byAddress = new Map<number, string>();
  private readonly byOwner = new Map<string, number>();

  /** Throws (see parsePool) for a malformed spec. */
  constructor(spec: string) {
    this.spec = spec.trim();
    this.ranges = parsePool(spec);
    this.size = this.ranges.reduce((n, r) => n + (r.last - r.first + 1), 0);
  }

  contains(ip: string): boolean {
    const n = parseIPv4(ip);
    return n !== undefined && this.ranges.some((r) => n >= r.first && n <= r.last);
  }

  used(): number {
    return this.byOwner.size;
  }

  free(): number {
    return this.size - this.byOwner.size;
  }

  ownerOf(ip: string): string | undefined {
    const n = parseIPv4(ip);
    return n === undefined ? undefined : this.byAddress.get(n);
  }

  addressOf(owner: string): string | undefined {
    const n = this.byOwner.get(owner);
    return n === undefined ? undefined : formatIPv4(n);
  }

  /**
   * Takes a specific address for `owner` (idempotent for the same owner); the owner's previous
   * address, if different, is released only when the claim succeeds.
   */
  claim(ip: string, owner: string): ClaimResult {
    const n = parseIPv4(ip);
    if (n === undefined) return { ok: false, reason: 'invalid' };
    if (!this.ranges.some((r) => n >= r.first && n <= r.last)) return { ok: false, reason: 'not-in-pool' };
    const holder = this.byAddress.get(n);
    if (holder !== undefined && holder !== owner) return { ok: false, reason: 'in-use', owner: holder };
    this.release(owner);
    this.byAddress.set(n, owner);
    this.byOwner.set(owner, n);
    return { ok: true };
  }

  /** The owner's address, or else the lowest free one; undefined when the pool is exhausted. */
  allocate(owner: string): string | undefined {
    const held = this.addressOf(owner);
    if (held !== undefined) return held;
    if (this.free() === 0) return undefined;
    for (const r of this.ranges) {
      for (let n = r.first; n <= r.last; n++) {
        if (this.byAddress.has(n)) continue;
        this.byAddress.set(n, owner);
        this.byOwner.set(owner, n);
        return formatIPv4(n);
      }
    }
    return undefined;
  }

  /** Frees the owner's address; returns it (undefined if the owner held none). */
  release(owner: string): string | undefined {
    const n = this.byOwner.get(owner);
    if (n === undefined) return undefined;
    this.byOwner.delete(owner);
    this.byAddress.delete(n);
    return formatIPv4(n);
  }
}
