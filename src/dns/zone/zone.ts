/**
 * The cluster zone: answers questions for the cluster domain (and the reverse zones) from the
 * informer-fed store, the way CoreDNS's kubernetes plugin does with kubeadm's Corefile
 * (`kubernetes cluster.local in-addr.arpa ip6.arpa { pods insecure; fallthrough in-addr.arpa
 * ip6.arpa; ttl 30 }`). Pure logic: objects in, `Answer` out, no I/O.
 *
 * Contract of `answer`: undefined means "not ours" and the caller forwards the question (names
 * outside our zones, reverse names we have no PTR for — CoreDNS's fallthrough — and classes other
 * than IN/ANY). Every Answer we return is authoritative except REFUSED for zone transfers.
 * Owner names echo the question's spelling; the zone part of generated names (SOA, NS, SRV
 * targets) is spelled as asked too, as CoreDNS derives it from the query name.
 */
import type { KObject } from '../../api/types.js';
import { Rcode as RcodeImport, RRClass as RRClassImport, RRType as RRTypeImport, type Answer, type Question, type ResourceRecord } from '../types.js';
import { lookup, type Hit } from './lookup.js';
import { lowerName as lowerNameImport } from '../wire/names.js';
import { fqdn, inZone, ipFromReverse, parseIP, splitLabels, type ParsedIP } from './names.js';
import { keyOf, ZoneStore } from './store.js';

export interface ClusterZoneOptions {
  /** Cluster domain (default cluster.local). */
  domain?: string;
  /** TTL of every record, and the SOA minimum (default 30, kubeadm's `ttl 30`). */
  ttl?: number;
  /** Addresses of the DNS Service: glue for the apex NS record (`ns.dns.<zone>`). */
  dnsServiceIPs?: string[];
  /** Milliseconds since the epoch, for the SOA serial. */
  clock?: () => number;
}

/** Schema version of the Kubernetes DNS specification we implement. */
export const DNS_SCHEMA_VERSION = '1.1.0';

// Module-local copies: under a transpiling loader an imported binding is a getter call per use,
// and these constants sit on the per-query path.
const RRType = RRTypeImport;
const RRClass = RRClassImport;
const Rcode = RcodeImport;
const lowerName = lowerNameImport;

const REVERSE_ZONES = ['in-addr.arpa.', 'ip6.arpa.'];
/** CoreDNS stops following CNAMEs after this many in one answer. */
const MAX_CNAME_CHAIN = 7;

export class ClusterZone {
  /** Lowercase cluster domain with trailing dot. */
  readonly domain: string;
  readonly ttl: number;
  private readonly store = new ZoneStore();
  private readonly nsIPs: ParsedIP[];
  private readonly clock: () => number;
  private serialValue: number;

  constructor(opts: ClusterZoneOptions = {}) {
    this.domain = fqdn(lowerName(opts.domain ?? 'cluster.local').replace(/^\.+/, ''));
    this.ttl = opts.ttl ?? 30;
    this.nsIPs = (opts.dnsServiceIPs ?? []).map((ip) => parseIP(ip)).filter((ip): ip is ParsedIP => ip !== undefined);
    this.clock = opts.clock ?? Date.now;
    this.serialValue = this.nowSeconds();
  }

  /** The SOA serial: CoreDNS uses the time of the last change in seconds; we also make every change advance it. */
  get serial(): number {
    return this.serialValue;
  }

  upsertService(svc: KObject): void {
    this.store.upsertService(svc);
    this.touch();
  }

  deleteService(namespace: string, name: string): void {
    this.store.removeService(keyOf(namespace, name));
    this.touch();
  }

  upsertEndpointSlice(slice: KObject): void {
    this.store.upsertSlice(slice);
    this.touch();
  }

  deleteEndpointSlice(namespace: string, name: string): void {
    this.store.removeSlice(keyOf(namespace, name));
    this.touch();
  }

  /** Namespace existence decides NXDOMAIN (unknown) vs NODATA for `<ns>.svc.<zone>` and below. */
  upsertNamespace(name: string): void {
    this.store.namespaces.add(name.toLowerCase());
    this.touch();
  }

  deleteNamespace(name: string): void {
    this.store.namespaces.delete(name.toLowerCase());
    this.touch();
  }

  answer(q: Question): Answer | undefined {
    if (q.class !== RRClass.IN && q.class !== RRClass.ANY) return undefined;
    const lower = lowerName(q.name);
    if (inZone(lower, this.domain)) return this.answerCluster(q, lower);
    for (const z of REVERSE_ZONES) if (inZone(lower, z)) return this.answerReverse(q, lower, z);
    return undefined;
  }

  // ---- cluster domain ----

  /** CoreDNS kubernetes ServeDNS: dispatch per query type, then NXDOMAIN / NODATA / answer. */
  private answerCluster(q: Question, lower: string): Answer {
    const zl = this.domain.length;
    const zone = q.name.slice(q.name.length - zl);
    const rel = lower.length === zl ? '' : lower.slice(0, lower.length - zl - 1);
    switch (q.type) {
      case RRType.AXFR:
      case RRType.IXFR:
        return refused();
      case RRType.SOA:
        // CoreDNS answers SOA only at the apex; below it, any name (even a missing one) is NODATA.
        return rel === '' ? this.positive([this.soa(zone)], []) : this.negative(Rcode.NOERROR, zone);
      case RRType.NS:
        if (rel === '') return this.nsAnswer(q.name, zone);
        return this.existence(rel, zone);
      case RRType.A:
      case RRType.AAAA: {
        const recs = this.addresses(q.name, lower, { qtype: q.type, zone, chain: [] });
        if (recs === undefined) return this.negative(Rcode.NXDOMAIN, zone);
        return recs.length > 0 ? this.positive(recs, []) : this.negative(Rcode.NOERROR, zone);
      }
      case RRType.TXT:
        // The spec's schema-version record. CoreDNS gives it TTL 28800, but kubeadm's `cache 30`
        // caps what clients see at 30 s, so we serve it with the zone TTL like everything else.
        if (rel === 'dns-version') return this.positive([this.rr(q.name, RRType.TXT, { kind: 'TXT', texts: [DNS_SCHEMA_VERSION] })], []);
        return this.existence(rel, zone, true);
      case RRType.CNAME: {
        if (rel === 'ns.dns') return this.negative(Rcode.NOERROR, zone);
        const hits = lookup(this.store, splitLabels(rel));
        if (hits === undefined) return this.negative(Rcode.NXDOMAIN, zone);
        // CoreDNS answers a CNAME query from the first hit only, and only when it is a name.
        const first = hits[0];
        if (first && first.family === 0) return this.positive([this.rr(q.name, RRType.CNAME, { kind: 'CNAME', target: fqdn(first.host) })], []);
        return this.negative(Rcode.NOERROR, zone);
      }
      case RRType.SRV:
        return this.srvAnswer(q.name, rel, zone);
      default:
        // PTR, MX, ANY and every other type: CoreDNS looks the name up (a "fake A") only to
        // choose between NXDOMAIN and NODATA.
        return this.existence(rel, zone);
    }
  }

  /**
   * NXDOMAIN when the name does not exist, else NODATA. The apex and `ns.dns` exist.
   * `txt`: CoreDNS's TXT path also needs at least one hit for NODATA, so `svc.<zone>` and
   * `<ns>.svc.<zone>` answer NXDOMAIN to TXT there; we answer NODATA for those structural names
   * (they exist: A queries on them get NODATA), so a negative cache never hides the whole zone.
   */
  private existence(rel: string, zone: string, txt = false): Answer {
    if (rel === '' || (rel === 'ns.dns' && !txt)) return this.negative(Rcode.NOERROR, zone);
    const hits = lookup(this.store, splitLabels(rel));
    return this.negative(hits === undefined ? Rcode.NXDOMAIN : Rcode.NOERROR, zone);
  }

  /**
   * CoreDNS backend A/AAAA: addresses of the hits of the query's family, deduplicated; an
   * ExternalName hit yields its CNAME, followed inside the zone (the CNAME is kept only when the
   * target has addresses of that family) and left for the caller to chase when the target is
   * outside. Targets equal to or below the name itself, repeated targets and chains longer than
   * seven links are skipped. undefined = the name does not exist.
   */
  private addresses(owner: string, lower: string, ctx: { qtype: number; zone: string; chain: ResourceRecord[] }): ResourceRecord[] | undefined {
    const zl = this.domain.length;
    const rel = lower.length === zl ? '' : lower.slice(0, lower.length - zl - 1);
    const family = ctx.qtype === RRType.A ? 4 : 6;
    if (rel === '') return [];
    if (rel === 'ns.dns') return this.nsIPs.filter((ip) => ip.family === family).map((ip) => this.addressRR(owner, ip.text, family));
    const hits = lookup(this.store, splitLabels(rel));
    if (hits === undefined) return undefined;
    const out: ResourceRecord[] = [];
    const seen = hits.length > 1 ? new Set<string>() : undefined;
    for (const h of hits) {
      if (h.family === 0) {
        this.followCname(owner, lower, h, ctx, out);
        continue;
      }
      if (h.family !== family) continue;
      if (seen) {
        if (seen.has(h.host)) continue;
        seen.add(h.host);
      }
      out.push(this.addressRR(owner, h.host, family));
    }
    return out;
  }

  private followCname(owner: string, lower: string, h: Hit, ctx: { qtype: number; zone: string; chain: ResourceRecord[] }, out: ResourceRecord[]): void {
    const target = fqdn(h.host);
    const tl = lowerName(target);
    if (tl === lower || tl.endsWith('.' + lower)) return;
    if (ctx.chain.length > MAX_CNAME_CHAIN) return;
    if (ctx.chain.some((r) => r.data.kind === 'CNAME' && lowerName(r.data.target) === tl)) return;
    const cname = this.rr(owner, RRType.CNAME, { kind: 'CNAME', target });
    if (!inZone(tl, this.domain)) {
      out.push(cname);
      return;
    }
    const next = this.addresses(target, tl, { ...ctx, chain: [...ctx.chain, cname] });
    if (next && next.length > 0) out.push(cname, ...next);
  }

  /**
   * CoreDNS backend SRV: one record per distinct (target, port), priority 0, weight
   * floor(100 / hits) (at least 1) where hits counts every address×port the name matched, and the
   * targets' addresses in the additional section. ClusterIP hits target `<svc>.<ns>.svc.<zone>`,
   * endpoint hits `<label>.<svc>.<ns>.svc.<zone>`; ExternalName and port-less hits give no SRV.
   */
  private srvAnswer(owner: string, rel: string, zone: string): Answer {
    if (rel === 'ns.dns' || rel === '') return this.negative(Rcode.NOERROR, zone);
    const found = lookup(this.store, splitLabels(rel));
    if (found === undefined) return this.negative(Rcode.NXDOMAIN, zone);
    const hits = found.filter((h) => h.family !== 0);
    const weight = Math.max(1, Math.floor((100 / (100 * hits.length)) * 100));
    const answers: ResourceRecord[] = [];
    const additional: ResourceRecord[] = [];
    const dup = new Set<string>();
    for (const h of hits) {
      if (h.port === -1 || !h.svc) continue;
      const base = `${h.svc.name}.${h.svc.ns}.svc.${zone}`;
      const target = h.label ? `${h.label}.${base}` : base;
      const srvKey = `${target} ${h.port}`;
      if (!dup.has(srvKey)) {
        dup.add(srvKey);
        answers.push(this.rr(owner, RRType.SRV, { kind: 'SRV', priority: 0, weight, port: h.port, target }));
      }
      const addrKey = `${target} @${h.host}`;
      if (!dup.has(addrKey)) {
        dup.add(addrKey);
        additional.push(this.addressRR(target, h.host, h.family as 4 | 6));
      }
    }
    return answers.length > 0 ? this.positive(answers, additional) : this.negative(Rcode.NOERROR, zone);
  }

  /** Apex NS: `ns.dns.<zone>` with the DNS Service's addresses as glue (CoreDNS ns.go). */
  private nsAnswer(owner: string, zone: string): Answer {
    if (this.nsIPs.length === 0) return this.negative(Rcode.NOERROR, zone);
    const target = `ns.dns.${zone}`;
    const glue = this.nsIPs.map((ip) => this.addressRR(target, ip.text, ip.family));
    return this.positive([this.rr(owner, RRType.NS, { kind: 'NS', target })], glue);
  }

  // ---- reverse zones ----

  /**
   * in-addr.arpa / ip6.arpa: PTR for cluster IPs and ready endpoint addresses; everything we have
   * no record for falls through (undefined), except what CoreDNS answers itself: the apex (SOA,
   * NS, NODATA for other types but TXT), SOA below the apex (NODATA) and zone transfers (REFUSED).
   */
  private answerReverse(q: Question, lower: string, zoneDot: string): Answer | undefined {
    const zone = q.name.slice(q.name.length - zoneDot.length);
    const apex = lower.length === zoneDot.length;
    switch (q.type) {
      case RRType.AXFR:
      case RRType.IXFR:
        return refused();
      case RRType.SOA:
        return apex ? this.positive([this.soa(zone)], []) : this.negative(Rcode.NOERROR, zone);
      case RRType.NS:
        return apex ? this.nsAnswer(q.name, zone) : undefined;
      case RRType.TXT:
        return undefined;
      case RRType.PTR: {
        if (apex) return this.negative(Rcode.NOERROR, zone);
        const ip = ipFromReverse(lower);
        if (ip === undefined) return undefined;
        const targets = this.ptrTargets(ip);
        if (targets.length === 0) return undefined;
        return this.positive(
          targets.map((target) => this.rr(q.name, RRType.PTR, { kind: 'PTR', target })),
          [],
        );
      }
      default:
        return apex ? this.negative(Rcode.NOERROR, zone) : undefined;
    }
  }

  /**
   * CoreDNS serviceRecordForIP: a Service's cluster IP names the Service; otherwise every ready
   * endpoint with that address names `<label>.<svc>.<ns>.svc.<domain>`. The domain is the
   * configured one (lowercase), not the question's spelling.
   */
  private ptrTargets(ip: string): string[] {
    const svcKey = this.store.byClusterIP.get(ip);
    const svc = svcKey === undefined ? undefined : this.store.services.get(svcKey);
    if (svc) return [`${svc.name}.${svc.ns}.svc.${this.domain}`];
    const out: string[] = [];
    for (const slice of this.store.byEndpointIP.get(ip)?.values() ?? []) {
      for (const ep of slice.endpoints) {
        if (ep.ip !== ip) continue;
        const target = `${ep.label}.${slice.service}.${slice.ns}.svc.${this.domain}`;
        if (!out.includes(target)) out.push(target);
      }
    }
    return out;
  }

  // ---- records ----

  private rr(name: string, type: number, data: ResourceRecord['data']): ResourceRecord {
    return { name, type, class: RRClass.IN, ttl: this.ttl, data };
  }

  private addressRR(name: string, address: string, family: 4 | 6): ResourceRecord {
    return family === 4 ? this.rr(name, RRType.A, { kind: 'A', address }) : this.rr(name, RRType.AAAA, { kind: 'AAAA', address });
  }

  /** CoreDNS plugin.SOA: `ns.dns.<zone> hostmaster.<zone> serial 7200 1800 86400 ttl`, TTL min(ttl, 300). */
  private soa(zone: string): ResourceRecord {
    return {
      name: zone,
      type: RRType.SOA,
      class: RRClass.IN,
      ttl: Math.min(this.ttl, 300),
      data: { kind: 'SOA', mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial: this.serialValue, refresh: 7200, retry: 1800, expire: 86400, minimum: this.ttl },
    };
  }

  private positive(answers: ResourceRecord[], additional: ResourceRecord[]): Answer {
    return { rcode: Rcode.NOERROR, aa: true, answers, authority: [], additional };
  }

  /** CoreDNS BackendError: the RCODE, aa, and the zone's SOA in the authority section. */
  private negative(rcode: number, zone: string): Answer {
    return { rcode, aa: true, answers: [], authority: [this.soa(zone)], additional: [] };
  }

  private nowSeconds(): number {
    return Math.floor(this.clock() / 1000) >>> 0;
  }

  private touch(): void {
    this.serialValue = Math.max((this.serialValue + 1) >>> 0, this.nowSeconds());
  }
}

function refused(): Answer {
  return { rcode: Rcode.REFUSED, aa: false, answers: [], authority: [], additional: [] };
}
