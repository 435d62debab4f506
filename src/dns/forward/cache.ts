/**
 * The response cache in front of the forwarder, as CoreDNS's `cache 30` behaves: a bounded map
 * from (lowercased name, type, class, DO bit) to an upstream response, stored with the number
 * of seconds it may be served (RFC 2308 rules, capped like `cache 30`), and served back with
 * every record's TTL set to what is left of that time — the client never sees a TTL that
 * outlives our copy.
 *
 * What is cached (anything else is not):
 * - NOERROR with answers ("success"): min TTL over the answer, authority and additional
 *   records (the OPT record is never among them), capped by `maxTtl`.
 * - NXDOMAIN, and NOERROR without answers but with an SOA (NODATA) ("denial"): the SOA's
 *   min(TTL, MINIMUM) (RFC 2308 §5), capped by `maxNegativeTtl`. Without an SOA a denial
 *   carries no lifetime, so it is not cached (a referral or a broken upstream).
 * - SERVFAIL ("denial" bucket, as CoreDNS files it): `servfailTtl` seconds, so a dead domain
 *   does not hammer the upstream.
 * - Never: truncated responses (they are incomplete), responses whose single question is not
 *   the one asked (case-insensitive name, type, class) — the last line of defence against a
 *   poisoned answer — and other RCODEs.
 * A computed lifetime below `minTtl` is raised to it; a lifetime of 0 is not cached.
 *
 * Eviction: least recently used once `capacity` entries are held (Map insertion order; a hit
 * moves the entry to the back).
 *
 * Contract: stored messages are copied on `set` and on `get` (records are new objects with the
 * remaining TTL; RDATA objects are shared and must be treated as immutable by callers). `get`
 * returns the response with the caller's question (so the client's letter case is echoed) and
 * the id of the stored response; the caller sets the client's id.
 */
import { Rcode, RRType, type Message, type Question, type ResourceRecord } from '../types.js';

export type CacheKind = 'success' | 'denial';

/** Observers for cache activity; `cacheMetrics(registry)` backs it with CoreDNS's families. */
export interface DnsCacheMetrics {
  hit(kind: CacheKind): void;
  miss(): void;
  /** The current number of entries of this kind (called whenever it changes). */
  entries(kind: CacheKind, n: number): void;
}

export interface DnsCacheOptions {
  /** Maximum entries (CoreDNS: 256 shards × 39 = 9984). */
  capacity?: number;
  /** Cap on success lifetimes in seconds (`cache 30`). */
  maxTtl?: number;
  /** Cap on denial lifetimes in seconds. */
  maxNegativeTtl?: number;
  /** Lifetime of a cached SERVFAIL in seconds (CoreDNS default 5). */
  servfailTtl?: number;
  /** Floor on computed lifetimes in seconds. */
  minTtl?: number;
  /** Milliseconds; injected for tests. */
  clock?: () => number;
  metrics?: DnsCacheMetrics;
}

interface Entry {
  kind: CacheKind;
  /** Clock value (ms) at store time. */
  stored: number;
  /** Seconds the entry may be served. */
  ttl: number;
  msg: Message;
}

/** The cache key: RFC 4343 says names compare ASCII case-insensitively, and presentation names are ASCII. */
export function cacheKey(q: Question, dnssecOk: boolean): string {
  return `${q.name.toLowerCase()}/${q.type}/${q.class}${dnssecOk ? '/do' : ''}`;
}

/** True when `b` asks the same question as `a` (name case-insensitively, type, class). */
export function sameQuestion(a: Question, b: Question): boolean {
  return a.type === b.type && a.class === b.class && (a.name === b.name || a.name.toLowerCase() === b.name.toLowerCase());
}

function copyRecords(rrs: ResourceRecord[], ttl: number | undefined): ResourceRecord[] {
  const out = new Array<ResourceRecord>(rrs.length);
  for (let i = 0; i < rrs.length; i++) {
    const r = rrs[i]!;
    out[i] = { name: r.name, type: r.type, class: r.class, ttl: ttl ?? r.ttl, data: r.data };
  }
  return out;
}

function copyMessage(m: Message, question: Question | undefined, ttl: number | undefined): Message {
  return {
    ...m,
    questions: question ? [{ name: question.name, type: question.type, class: question.class }] : m.questions.map((q) => ({ ...q })),
    answers: copyRecords(m.answers, ttl),
    authority: copyRecords(m.authority, ttl),
    additional: copyRecords(m.additional, ttl),
    edns: m.edns ? { ...m.edns, options: m.edns.options.slice() } : undefined,
  };
}

/** Seconds a response may be cached and in which bucket, or undefined when it must not be cached. */
export function cacheLifetime(
  response: Message,
  limits: { maxTtl: number; maxNegativeTtl: number; servfailTtl: number; minTtl: number },
): { kind: CacheKind; ttl: number } | undefined {
  if (response.tc) return undefined;
  let kind: CacheKind;
  let ttl: number;
  if (response.rcode === Rcode.SERVFAIL) {
    kind = 'denial';
    ttl = limits.servfailTtl;
  } else if (response.rcode === Rcode.NOERROR && response.answers.length > 0) {
    kind = 'success';
    ttl = limits.maxTtl;
    for (const sec of [response.answers, response.authority, response.additional]) {
      for (const r of sec) if (r.type !== RRType.OPT && r.ttl < ttl) ttl = r.ttl;
    }
  } else if (response.rcode === Rcode.NXDOMAIN || response.rcode === Rcode.NOERROR) {
    kind = 'denial';
    const soa = response.authority.find((r) => r.type === RRType.SOA && r.data.kind === 'SOA');
    if (!soa || soa.data.kind !== 'SOA') return undefined;
    ttl = Math.min(soa.ttl, soa.data.minimum, limits.maxNegativeTtl);
  } else {
    return undefined;
  }
  if (ttl < limits.minTtl) ttl = limits.minTtl;
  if (!(ttl > 0)) return undefined;
  return { kind, ttl: Math.floor(ttl) };
}

export class DnsCache {
  private readonly entries = new Map<string, Entry>();
  private readonly capacity: number;
  private readonly limits: { maxTtl: number; maxNegativeTtl: number; servfailTtl: number; minTtl: number };
  private readonly clock: () => number;
  private readonly metrics?: DnsCacheMetrics;
  private readonly counts: Record<CacheKind, number> = { success: 0, denial: 0 };

  constructor(opts: DnsCacheOptions = {}) {
    this.capacity = Math.max(1, opts.capacity ?? 9984);
    this.limits = {
      maxTtl: opts.maxTtl ?? 30,
      maxNegativeTtl: opts.maxNegativeTtl ?? 30,
      servfailTtl: opts.servfailTtl ?? 5,
      minTtl: opts.minTtl ?? 0,
    };
    this.clock = opts.clock ?? Date.now;
    this.metrics = opts.metrics;
  }

  /** Number of entries held (expired ones included until touched or evicted). */
  get size(): number {
    return this.entries.size;
  }

  /**
   * The cached response for `q` with TTLs reduced by the whole seconds spent in the cache, or
   * undefined (a miss) when absent or expired; expired entries are removed.
   */
  get(q: Question, opts: { dnssecOk?: boolean } = {}): Message | undefined {
    const key = cacheKey(q, opts.dnssecOk === true);
    const e = this.entries.get(key);
    if (!e) {
      this.metrics?.miss();
      return undefined;
    }
    const elapsedMs = this.clock() - e.stored;
    const remaining = e.ttl - Math.floor(Math.max(0, elapsedMs) / 1000);
    if (remaining <= 0) {
      this.remove(key, e);
      this.metrics?.miss();
      return undefined;
    }
    // LRU: move to the back of the insertion order.
    this.entries.delete(key);
    this.entries.set(key, e);
    this.metrics?.hit(e.kind);
    return copyMessage(e.msg, q, remaining);
  }

  /**
   * Stores `response` as the answer to `q` when it is cacheable (see the file comment), under the
   * DO bit of the client's query (`dnssecOk`, default false). Returns whether it was stored.
   */
  set(q: Question, response: Message, opts: { dnssecOk?: boolean } = {}): boolean {
    if (!response.qr || response.questions.length !== 1 || !sameQuestion(q, response.questions[0]!)) return false;
    const life = cacheLifetime(response, this.limits);
    if (!life) return false;
    const key = cacheKey(q, opts.dnssecOk === true);
    const old = this.entries.get(key);
    if (old) this.remove(key, old);
    while (this.entries.size >= this.capacity) {
      const oldest = this.entries.keys().next();
      if (oldest.done) break;
      this.remove(oldest.value, this.entries.get(oldest.value)!);
    }
    this.entries.set(key, { kind: life.kind, stored: this.clock(), ttl: life.ttl, msg: copyMessage(response, undefined, undefined) });
    this.counts[life.kind]++;
    this.metrics?.entries(life.kind, this.counts[life.kind]);
    return true;
  }

  /** Drops everything (e.g. on reload). */
  clear(): void {
    this.entries.clear();
    for (const k of ['success', 'denial'] as const) {
      this.counts[k] = 0;
      this.metrics?.entries(k, 0);
    }
  }

  private remove(key: string, e: Entry): void {
    this.entries.delete(key);
    this.counts[e.kind]--;
    this.metrics?.entries(e.kind, this.counts[e.kind]);
  }
}
