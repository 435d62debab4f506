/**
 * One DNS query in, one response (or nothing) out: the part of the server that does not know
 * about sockets. The order follows CoreDNS's chain for kubeadm's Corefile: the request is
 * checked (what we cannot or will not answer gets FORMERR/NOTIMP/BADVERS, responses sent to us
 * are dropped so two servers never ping-pong), then the cluster zone answers what is its own,
 * and everything else goes to the forwarding resolver (cache, then upstream).
 *
 * Contract: `handle` never throws; it returns the encoded response, or null when the packet must
 * be dropped (too short to carry an ID, or a response). Sizes: UDP answers fit the client's EDNS
 * buffer (512 bytes without EDNS) and are truncated with TC=1 beyond it; TCP answers up to 64 KiB.
 */
import { decodeMessage, encodeMessage, DnsFormatError, rrTypeName } from './wire/index.js';
import { Opcode, Rcode, RRClass, RRType, type Answer, type Edns, type Message, type Question, type ResourceRecord } from './types.js';
import type { DnsMetrics } from './metrics.js';

/** The cluster zone as the handler sees it (src/dns/zone ClusterZone). */
export interface ZoneAnswerer {
  answer(q: Question): Answer | undefined;
}

/** Cache + upstream (src/dns/forward ForwardingResolver). Rejects when no upstream answered. */
export interface Resolver {
  resolve(req: Message): Promise<Message>;
}

export interface QueryContext {
  proto: 'udp' | 'tcp';
  family: 4 | 6;
}

export interface DnsHandlerOptions {
  metrics?: DnsMetrics;
  /** The EDNS buffer size we advertise and the most we send over UDP (CoreDNS and the DNS flag day: 1232). */
  maxUdpSize?: number;
  /** Rotate multi-address answers per query as CoreDNS's loadbalance plugin does (default true). */
  loadBalance?: boolean;
  now?: () => number;
  log?: (line: string) => void;
}

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED', 16: 'BADVERS' };
export function rcodeName(rcode: number): string {
  return RCODE_NAMES[rcode] ?? `RCODE${rcode}`;
}

/** Query types that are not questions about data (zone transfers, TSIG/TKEY, MAILA/MAILB): not implemented. */
const META_TYPES = new Set([RRType.AXFR, RRType.IXFR, 249, 250, 253, 254]);

const TCP_MAX = 65_535;

type Result = Buffer | null;

export class DnsHandler {
  private readonly maxUdp: number;
  private readonly now: () => number;
  private rotation = 0;

  constructor(
    private readonly deps: { zone: ZoneAnswerer; resolver?: Resolver },
    private readonly opts: DnsHandlerOptions = {},
  ) {
    this.maxUdp = opts.maxUdpSize ?? 1232;
    this.now = opts.now ?? performance.now.bind(performance);
  }

  /** Answers one packet. A promise only when the question goes upstream. */
  handle(packet: Uint8Array, ctx: QueryContext): Result | Promise<Result> {
    const started = this.now();
    let req: Message;
    try {
      req = decodeMessage(packet);
    } catch (err) {
      if (!(err instanceof DnsFormatError) || err.id === undefined) return null;
      const res = this.errorResponse({ id: err.id, opcode: err.opcode ?? 0, rd: err.rd ?? false, question: err.question }, Rcode.FORMERR);
      return this.finish(res, undefined, ctx, { started, type: err.question ? rrTypeName(err.question.type) : 'other', plugin: '', size: packet.length });
    }
    if (req.qr) return null;
    const info = { started, type: req.questions.length === 1 ? rrTypeName(req.questions[0]!.type) : 'other', plugin: '', size: packet.length };
    const refuse = this.check(req);
    if (refuse !== undefined) {
      return this.finish(this.errorResponse({ id: req.id, opcode: req.opcode, rd: req.rd, question: req.questions[0] }, refuse, req.edns), req, ctx, info);
    }
    const q = req.questions[0]!;
    const own = this.deps.zone.answer(q);
    if (own) {
      info.plugin = 'kubernetes';
      const target = this.danglingCname(q, own);
      if (target === undefined) return this.finish(this.fromAnswer(req, own), req, ctx, info);
      return this.chase(req, own, target).then((full) => this.finish(this.fromAnswer(req, full), req, ctx, info));
    }
    if (!this.deps.resolver) {
      return this.finish(this.errorResponse({ id: req.id, opcode: req.opcode, rd: req.rd, question: q }, Rcode.REFUSED, req.edns), req, ctx, info);
    }
    info.plugin = 'forward';
    return this.deps.resolver.resolve(req).then(
      (up) => this.finish(this.fromUpstream(req, up), req, ctx, info),
      (err: unknown) => {
        this.opts.log?.(`dns: forwarding ${q.name} ${info.type} failed: ${(err as Error).message}`);
        return this.finish(this.errorResponse({ id: req.id, opcode: req.opcode, rd: req.rd, question: q }, Rcode.SERVFAIL, req.edns), req, ctx, info);
      },
    );
  }

  /**
   * The target of a CNAME that ends the answer without the records asked for (an ExternalName
   * Service), or undefined. CoreDNS resolves such targets on the client's behalf (through itself:
   * in-zone targets from the zone, others upstream) and appends what it finds, so `dig ext` shows
   * the CNAME and the addresses behind it.
   */
  private danglingCname(q: Question, a: Answer): string | undefined {
    if (q.type === RRType.CNAME || a.rcode !== Rcode.NOERROR || !a.answers.length) return undefined;
    const last = a.answers[a.answers.length - 1]!;
    if (last.data.kind !== 'CNAME') return undefined;
    if (a.answers.some((r) => r.type === q.type)) return undefined;
    return last.data.target;
  }

  /** Follows CNAME chains from `a` (at most 8 links, no loops) and returns the answer with the records appended. */
  private async chase(req: Message, a: Answer, first: string): Promise<Answer> {
    const q = req.questions[0]!;
    const answers = [...a.answers];
    const seen = new Set<string>([q.name.toLowerCase()]);
    let target: string | undefined = first;
    for (let hops = 0; target !== undefined && hops < 8 && !seen.has(target.toLowerCase()); hops++) {
      seen.add(target.toLowerCase());
      const sub: Question = { name: target, type: q.type, class: q.class };
      let got: ResourceRecord[] = [];
      const own = this.deps.zone.answer(sub);
      if (own) got = own.answers;
      else if (this.deps.resolver) {
        try {
          got = (await this.deps.resolver.resolve({ ...req, questions: [sub] })).answers;
        } catch {
          got = [];
        }
      }
      answers.push(...got);
      const last = got[got.length - 1];
      target = last && last.data.kind === 'CNAME' && !got.some((r) => r.type === q.type) ? last.data.target : undefined;
    }
    return { ...a, answers };
  }

  /** The RCODE for a request we will not look up, or undefined when it is a plain question. */
  private check(req: Message): number | undefined {
    if (req.opcode !== Opcode.QUERY) return Rcode.NOTIMP;
    if (req.questions.length !== 1) return Rcode.FORMERR;
    if (req.edns && req.edns.version > 0) return Rcode.BADVERS;
    const q = req.questions[0]!;
    if (q.type === RRType.OPT) return Rcode.FORMERR;
    if (META_TYPES.has(q.type as 252)) return Rcode.NOTIMP;
    if (q.class !== RRClass.IN) return Rcode.NOTIMP;
    return undefined;
  }

  private ourEdns(req: Message | undefined): Edns | undefined {
    if (!req?.edns) return undefined;
    return { udpSize: this.maxUdp, version: 0, dnssecOk: req.edns.dnssecOk, extendedRcode: 0, options: [] };
  }

  private errorResponse(r: { id: number; opcode: number; rd: boolean; question?: Question }, rcode: number, edns?: Edns): Message {
    return {
      id: r.id, qr: true, opcode: r.opcode, aa: false, tc: false, rd: r.rd, ra: true, ad: false, cd: false, rcode,
      questions: r.question ? [r.question] : [], answers: [], authority: [], additional: [],
      edns: edns ? { udpSize: this.maxUdp, version: 0, dnssecOk: edns.dnssecOk, extendedRcode: 0, options: [] } : undefined,
    };
  }

  private fromAnswer(req: Message, a: Answer): Message {
    return {
      id: req.id, qr: true, opcode: req.opcode, aa: a.aa, tc: false, rd: req.rd, ra: true, ad: false, cd: req.cd, rcode: a.rcode,
      questions: req.questions,
      answers: this.opts.loadBalance === false ? a.answers : this.rotate(a.answers),
      authority: a.authority, additional: a.additional, edns: this.ourEdns(req),
    };
  }

  private fromUpstream(req: Message, up: Message): Message {
    return {
      id: req.id, qr: true, opcode: req.opcode, aa: false, tc: false, rd: req.rd, ra: true, ad: up.ad, cd: req.cd, rcode: up.rcode,
      questions: req.questions, answers: up.answers, authority: up.authority, additional: up.additional, edns: this.ourEdns(req),
    };
  }

  /**
   * Rotates the address records of an answer by one position per query (CoreDNS's loadbalance
   * shuffles A/AAAA/MX in place), so clients that take the first address spread over all of
   * them. Records of other types keep their place.
   */
  private rotate(rrs: ResourceRecord[]): ResourceRecord[] {
    if (rrs.length < 2) return rrs;
    const idx: number[] = [];
    for (let i = 0; i < rrs.length; i++) if (rrs[i]!.type === RRType.A || rrs[i]!.type === RRType.AAAA) idx.push(i);
    if (idx.length < 2) return rrs;
    const shift = this.rotation++ % idx.length;
    const out = rrs.slice();
    for (let j = 0; j < idx.length; j++) out[idx[j]!] = rrs[idx[(j + shift) % idx.length]!]!;
    return out;
  }

  private finish(res: Message, req: Message | undefined, ctx: QueryContext, info: { started: number; type: string; plugin: string; size: number }): Result {
    let buf: Buffer;
    try {
      const maxSize = ctx.proto === 'tcp' ? TCP_MAX : req?.edns ? Math.max(512, Math.min(req.edns.udpSize, this.maxUdp)) : 512;
      buf = encodeMessage(res, { maxSize });
    } catch (err) {
      // A record we could not encode (e.g. an upstream name we cannot represent): SERVFAIL, never a crash.
      this.opts.metrics?.panics.inc();
      this.opts.log?.(`dns: encoding a response failed: ${(err as Error).message}`);
      buf = encodeMessage({ ...res, rcode: Rcode.SERVFAIL, aa: false, answers: [], authority: [], additional: [] }, { maxSize: 512 });
      res = { ...res, rcode: Rcode.SERVFAIL };
    }
    this.opts.metrics?.observe({
      proto: ctx.proto, family: ctx.family, type: info.type, rcode: rcodeName(res.rcode), plugin: info.plugin,
      durationSeconds: (this.now() - info.started) / 1000,
      requestBytes: info.size,
      responseBytes: buf.length,
    });
    return buf;
  }
}
