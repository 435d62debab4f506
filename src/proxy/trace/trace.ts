/**
 * The packet tracer: follows one new connection's first packet through a parsed nftables
 * ruleset the way the kernel would — hooks in order (prerouting or output, the routing decision,
 * input or forward, postrouting), base chains by priority, jump/goto/return, verdict maps,
 * `numgen` load balancing (vmaps, and cascades of rules that DNAT or jump), DNAT, `ct status
 * dnat`, concatenated set lookups (the hairpin set), masquerade marks and ClientIP affinity
 * sets — and records every
 * rule that acted, with why. Pure: no root, no kernel; the node's local addresses, the load
 * balancer's choice and the affinity sets are inputs.
 *
 * Contract: anything the evaluator does not understand throws (a TraceError), never "no match".
 */
import { parseRuleset, type Chain, type ElementKey, type Expr, type Rule, type Ruleset, type Selector, type Table, type Value, type Verdict } from './parse.js';
import { addrMatches, inAny, isIPv4 } from './ip.js';
import { renderRuleset } from '../nftables/render.js';
import type { Protocol, ProxyState } from '../types.js';

export class TraceError extends Error {
  override readonly name = 'TraceError';
}

export type Origin = 'pod' | 'node' | 'external';

export interface TracePacket {
  src: string;
  dst: string;
  protocol: Protocol;
  dport: number;
  /** Where the packet starts: a pod or an external client (prerouting) or the node itself (output). */
  origin: Origin;
  /** Source port (default 40000): no rule we emit looks at it. */
  sport?: number;
}

/** Members of dynamic sets (ClientIP affinity), keyed by `<family> <table> <set>`. */
export type AffinityState = Map<string, Set<string>>;

/** What `numgen random mod N` picks among: one entry per alternative, in order. */
export interface Candidate {
  /** What the alternative does: `dnat to ip:port` (a cascade rule), or a vmap/cascade verdict such as `goto <chain>`. */
  verdict: string;
  /** `ip:port` the alternative's chain DNATs to, when it does. */
  endpoint?: string;
}

export interface TraceOptions {
  /** The node's own addresses (`fib ... type local`); 127.0.0.0/8 is always local. */
  localAddresses?: readonly string[];
  /** Picks the numgen alternative (index into candidates); default: the first (deterministic). */
  choose?: (candidates: readonly Candidate[], ctx: { chain: string }) => number;
  /** Affinity set members from an earlier trace (not modified; the result carries the new state). */
  affinity?: AffinityState;
  /** Loop guard (default 10000 rule evaluations). */
  maxRules?: number;
}

export interface TraceStep {
  hook: string;
  table: string;
  chain: string;
  /** The rule text (absent for "entered base chain" / "fell off the end" steps). */
  rule?: string;
  lineNo?: number;
  /** The map or set consulted, when one decided the step. */
  map?: string;
  /** The endpoint DNATed to, on the DNAT step. */
  endpoint?: string;
  candidates?: string[];
  why: string;
}

export interface TraceVerdict {
  kind: 'dnat' | 'accept' | 'drop' | 'reject';
  /** `ip:port` after DNAT (also set when a DNATed packet is then dropped). */
  endpoint?: string;
  masquerade: boolean;
  /** Every endpoint the load balancer could have chosen at the last numgen (absent on an affinity hit). */
  candidates?: string[];
  /** `reject with ...` when given. */
  rejectWith?: string;
  /** Human summary of the deciding step. */
  why: string;
}

export interface TraceResult {
  packet: TracePacket;
  steps: TraceStep[];
  verdict: TraceVerdict;
  /** The packet as it leaves (after DNAT; masquerade shown by verdict.masquerade). */
  final: { src: string; dst: string; dport: number };
  /** Affinity sets after this packet (feed into the next trace for ClientIP behaviour). */
  affinity: AffinityState;
}

type Outcome =
  | { kind: 'continue' }
  | { kind: 'accept'; nat?: 'dnat' | 'masquerade' }
  | { kind: 'drop' | 'reject'; with?: string };

interface Pkt {
  saddr: string;
  daddr: string;
  l4proto: string;
  dport: number;
  sport: number;
  mark: number;
}

const HEX = (n: number): string => `0x${n.toString(16)}`;
const verdictText = (v: Verdict): string =>
  v.kind === 'jump' || v.kind === 'goto' ? `${v.kind} ${v.target}` : v.kind === 'reject' && v.with ? `reject with ${v.with}` : v.kind;

/** Traces one packet; `ruleset` is a parsed ruleset or an `nft -f` script. */
export function tracePacket(ruleset: Ruleset | string, packet: TracePacket, opts: TraceOptions = {}): TraceResult {
  const rs = typeof ruleset === 'string' ? parseRuleset(ruleset) : ruleset;
  return new Tracer(rs, packet, opts).run();
}

/** Renders `state` with the nftables renderer and traces; local addresses default to the node's. */
export function traceProxyState(state: ProxyState, packet: TracePacket, opts: TraceOptions = {}): TraceResult {
  return tracePacket(renderRuleset(state), packet, { localAddresses: state.node.addresses, ...opts });
}

class Tracer {
  private readonly steps: TraceStep[] = [];
  private readonly pkt: Pkt;
  private readonly local: string[];
  private readonly affinity: AffinityState;
  private budget: number;
  private endpoint: string | undefined;
  private masquerade = false;
  private candidates: string[] | undefined;
  private hook = '';
  /** The rule being evaluated (numgen cascades look at their neighbours). */
  private cur: { chain: Chain; idx: number } | undefined;
  /** The chooser's decision for the numgen cascade being walked (rules start..start+count-1 of chain). */
  private cascade: { chain: Chain; start: number; count: number; pick: number } | undefined;

  constructor(private readonly rs: Ruleset, private readonly packet: TracePacket, private readonly opts: TraceOptions) {
    for (const ip of [packet.src, packet.dst]) if (!isIPv4(ip)) throw new TraceError(`not an IPv4 address: ${ip}`);
    if (!Number.isInteger(packet.dport) || packet.dport < 1 || packet.dport > 65535) throw new TraceError(`bad port ${packet.dport}`);
    this.pkt = { saddr: packet.src, daddr: packet.dst, l4proto: packet.protocol.toLowerCase(), dport: packet.dport, sport: packet.sport ?? 40000, mark: 0 };
    this.local = ['127.0.0.0/8', ...(opts.localAddresses ?? [])];
    this.affinity = new Map([...(opts.affinity ?? new Map<string, Set<string>>())].map(([k, v]) => [k, new Set(v)]));
    this.budget = opts.maxRules ?? 10000;
  }

  run(): TraceResult {
    const isLocal = (): boolean => inAny(this.pkt.daddr, this.local);
    let end: Outcome = { kind: 'continue' };
    const hooks = (names: string[], o: { skipNat?: boolean } = {}): boolean => {
      for (const h of names) {
        end = this.runHook(h, o);
        if (end.kind === 'drop' || end.kind === 'reject') return false;
      }
      return true;
    };
    if (this.packet.origin === 'node') {
      // Locally generated: output, routing, postrouting; a local destination then loops back
      // (prerouting again, where NAT is not consulted for an existing connection, then input).
      if (hooks(['output'])) {
        const toLocal = isLocal();
        this.note(toLocal ? `routing: ${this.pkt.daddr} is a local address → delivered over loopback` : `routing: ${this.pkt.daddr} is not local → sent out`);
        if (hooks(['postrouting']) && toLocal) hooks(['prerouting', 'input'], { skipNat: true });
      }
    } else if (hooks(['prerouting'])) {
      if (isLocal()) {
        this.note(`routing: ${this.pkt.daddr} is a local address → input`);
        hooks(['input']);
      } else {
        this.note(`routing: ${this.pkt.daddr} is not local → forward`);
        hooks(['forward', 'postrouting']);
      }
    }
    return this.result(end);
  }

  private result(end: Outcome): TraceResult {
    const v: TraceVerdict = { kind: 'accept', masquerade: this.masquerade, why: '' };
    if (end.kind === 'drop' || end.kind === 'reject') {
      v.kind = end.kind;
      if (end.kind === 'reject' && end.with) v.rejectWith = end.with;
    } else if (this.endpoint !== undefined) {
      v.kind = 'dnat';
    }
    if (this.endpoint !== undefined) v.endpoint = this.endpoint;
    if (this.candidates !== undefined) v.candidates = [...this.candidates];
    const last = [...this.steps].reverse().find((s) => s.rule !== undefined);
    v.why =
      v.kind === 'dnat' ? `DNAT to ${this.endpoint}${this.masquerade ? ', source masqueraded' : ', source address kept'}` :
      v.kind === 'accept' ? `no rule changed the packet: it goes to ${this.pkt.daddr}:${this.pkt.dport} untouched${this.masquerade ? ' (masqueraded)' : ''}` :
      `${v.kind} by ${last?.chain ?? '?'}: ${last?.rule ?? ''}`;
    return {
      packet: { ...this.packet },
      steps: this.steps,
      verdict: v,
      final: { src: this.pkt.saddr, dst: this.pkt.daddr, dport: this.pkt.dport },
      affinity: this.affinity,
    };
  }

  private note(why: string): void {
    this.steps.push({ hook: this.hook, table: '', chain: '', why });
  }

  /** Every base chain on `hook` of every ip/inet table, by priority. */
  private runHook(hook: string, o: { skipNat?: boolean }): Outcome {
    this.hook = hook;
    const bases: Array<{ table: Table; chain: Chain }> = [];
    for (const table of this.rs.tables.values()) {
      if (table.family !== 'ip' && table.family !== 'inet') continue;
      for (const chain of table.chains.values()) if (chain.base?.hook === hook) bases.push({ table, chain });
    }
    bases.sort((a, b) => a.chain.base!.priority - b.chain.base!.priority);
    let natDone = false;
    for (const { table, chain } of bases) {
      const b = chain.base!;
      if (b.type === 'nat' && (o.skipNat || natDone)) continue;
      this.steps.push({ hook, table: `${table.family} ${table.name}`, chain: chain.name, why: `hook ${hook}: base chain (type ${b.type}, priority ${b.priority})` });
      const out = this.runChain(table, chain);
      if (out.kind === 'drop' || out.kind === 'reject') return out;
      if (out.kind === 'accept' && out.nat) natDone = true;
    }
    return { kind: 'continue' };
  }

  /** Runs a base chain with jump/goto/return semantics. */
  private runChain(table: Table, base: Chain): Outcome {
    // `mark`: the step count on entry, to explain chains that end without any rule matching.
    const frames: Array<{ chain: Chain; idx: number; mark: number }> = [{ chain: base, idx: 0, mark: this.steps.length }];
    const chainOf = (name: string): Chain => {
      const c = table.chains.get(name);
      if (!c) throw new TraceError(`jump to missing chain ${name}`);
      if (c.base) throw new TraceError(`jump to base chain ${name}`);
      return c;
    };
    while (frames.length > 0) {
      const top = frames[frames.length - 1]!;
      if (top.idx >= top.chain.rules.length) {
        frames.pop();
        if (this.steps.length === top.mark && frames.length > 0) {
          const back = frames[frames.length - 1]!.chain.name;
          this.steps.push({ hook: this.hook, table: `${table.family} ${table.name}`, chain: top.chain.name, why: `no rule of ${top.chain.name} matched: back to ${back}` });
        }
        continue;
      }
      const rule = top.chain.rules[top.idx++]!;
      if (--this.budget < 0) throw new TraceError('rule budget exhausted (a loop?)');
      this.cur = { chain: top.chain, idx: top.idx - 1 };
      const r = this.evalRule(table, top.chain, rule);
      if (r?.kind === 'jump' || r?.kind === 'goto') this.cascade = undefined;
      if (r === undefined) continue;
      if (r.kind === 'jump') {
        if (frames.length > 64) throw new TraceError('jump depth exceeded');
        frames.push({ chain: chainOf(r.target), idx: 0, mark: this.steps.length });
      } else if (r.kind === 'goto') {
        frames[frames.length - 1] = { chain: chainOf(r.target), idx: 0, mark: this.steps.length };
      } else if (r.kind === 'return') {
        frames.pop();
      } else if (r.kind === 'continue') {
        // next rule
      } else if (r.kind === 'accept') {
        return { kind: 'accept' };
      } else if (r.kind === 'drop') {
        return { kind: 'drop' };
      } else if (r.kind === 'reject') {
        return r.with ? { kind: 'reject', with: r.with } : { kind: 'reject' };
      } else {
        return { kind: 'accept', nat: r.kind };
      }
    }
    if (base.base?.policy === 'drop') {
      this.steps.push({ hook: this.hook, table: `${table.family} ${table.name}`, chain: base.name, why: 'end of base chain: policy drop' });
      return { kind: 'drop' };
    }
    return { kind: 'continue' };
  }

  /** Evaluates one rule; undefined when it does not match or ends without a verdict. */
  private evalRule(table: Table, chain: Chain, rule: Rule): Verdict | { kind: 'dnat' | 'masquerade' } | undefined {
    const why: string[] = [];
    const step: TraceStep = { hook: this.hook, table: `${table.family} ${table.name}`, chain: chain.name, rule: rule.text, lineNo: rule.lineNo, why: '' };
    const done = (): void => {
      step.why = why.join('; ');
      this.steps.push(step);
    };
    for (const e of rule.exprs) {
      const r = this.evalExpr(table, e, why, step);
      if (r === false) {
        // Record misses of map lookups: they show which map was consulted and why nothing happened.
        if (e.kind === 'vmap') done();
        return undefined;
      }
      if (r !== true) {
        done();
        return r;
      }
    }
    done();
    return undefined;
  }

  /** true: matched/no effect on flow; false: no match; otherwise a verdict ending the rule. */
  private evalExpr(table: Table, e: Expr, why: string[], step: TraceStep): boolean | Verdict | { kind: 'dnat' | 'masquerade' } {
    const p = this.pkt;
    switch (e.kind) {
      case 'counter':
      case 'comment':
        return true;
      case 'ct-status': {
        for (const st of e.statuses) if (st !== 'dnat') throw new TraceError(`ct status ${st} is not simulated`);
        const dnatted = this.endpoint !== undefined;
        const hit = dnatted === (e.op === '==');
        if (hit) why.push(`ct status ${e.op === '!=' ? '!= ' : ''}dnat: the connection was ${dnatted ? `DNATed (to ${this.endpoint})` : 'not DNATed'}`);
        return hit;
      }
      case 'ct-state': {
        const hit = e.states.includes('new') === (e.op === '==');
        why.push(hit ? `ct state ${e.op === '==' ? '' : '!= '}${e.states.join(',')} holds (a traced packet opens a new connection)` : 'ct state: not a new connection');
        return hit;
      }
      case 'fib': {
        for (const t of e.types) if (t !== 'local') throw new TraceError(`fib type ${t} is not simulated`);
        const addr = e.which === 'saddr' ? p.saddr : p.daddr;
        const isLocal = inAny(addr, this.local);
        const hit = isLocal === (e.op === '==');
        if (hit) why.push(`fib ${e.which} type ${e.op === '!=' ? '!= ' : ''}local: ${addr} is ${isLocal ? '' : 'not '}a local address of the node`);
        return hit;
      }
      case 'mark-match': {
        const v = e.mask === undefined ? p.mark : (p.mark & e.mask) >>> 0;
        const hit = (v === e.value) === (e.op === '==');
        if (hit) why.push(`meta mark ${HEX(p.mark)}${e.mask !== undefined ? ` & ${HEX(e.mask)}` : ''} ${e.op} ${HEX(e.value)}`);
        return hit;
      }
      case 'mark-set': {
        const before = p.mark;
        p.mark = (e.op === 'set' ? e.value : e.op === 'or' ? p.mark | e.value : e.op === 'xor' ? p.mark ^ e.value : p.mark & e.value) >>> 0;
        why.push(`meta mark ${HEX(before)} → ${HEX(p.mark)}${p.mark & 0x4000 && !(before & 0x4000) ? ' (marked for masquerade)' : ''}`);
        return true;
      }
      case 'match': {
        const vals = e.sel.map((s) => this.field(s));
        const hit = this.valueHas(table, e.value, e.sel, vals) === (e.op === '==');
        if (hit) why.push(`${e.sel.join(' . ')} = ${vals.join(' . ')} ${e.op === '==' ? 'matches' : 'does not match'} ${this.valueText(e.value)}`);
        return hit;
      }
      case 'vmap': {
        const vals = e.sel.map((s) => this.field(s));
        const entries = e.map.kind === 'anon' ? e.map.entries : this.setOf(table, e.map.name).elements.map((x) => {
          if (!x.verdict) throw new TraceError(`map ${e.map.kind === 'ref' ? e.map.name : ''} is not a verdict map`);
          return { key: x.key, verdict: x.verdict };
        });
        const where = e.map.kind === 'ref' ? `map ${e.map.name}` : 'the inline map';
        if (e.map.kind === 'ref') step.map = e.map.name;
        const hit = entries.find((x) => this.keyMatches(e.sel, vals, x.key));
        if (!hit) {
          why.push(`${e.sel.join(' . ')} = ${vals.join(' . ')}: no element in ${where}`);
          return false;
        }
        why.push(`${e.sel.join(' . ')} = ${vals.join(' . ')} found in ${where} → ${verdictText(hit.verdict)}`);
        return hit.verdict;
      }
      case 'numgen': {
        const sorted = [...e.entries].sort((a, b) => a.n - b.n);
        const cands: Candidate[] = sorted.map((x) => {
          const c: Candidate = { verdict: verdictText(x.verdict) };
          const ep = x.verdict.kind === 'jump' || x.verdict.kind === 'goto' ? this.dnatTarget(table, x.verdict.target) : undefined;
          if (ep) c.endpoint = ep;
          return c;
        });
        const choose = this.opts.choose ?? ((): number => 0);
        const idx = choose(cands, { chain: step.chain });
        if (!Number.isInteger(idx) || idx < 0 || idx >= e.mod) throw new TraceError(`chooser returned ${idx} for numgen mod ${e.mod}`);
        const n = idx + e.offset;
        const picked = sorted.find((x) => x.n === n);
        this.candidates = cands.map((c) => c.endpoint ?? c.verdict);
        step.candidates = [...this.candidates];
        if (!picked) {
          why.push(`numgen random mod ${e.mod} gave ${n}: no element for it`);
          return false;
        }
        why.push(`numgen random mod ${e.mod} picked ${n} of ${e.mod} alternatives → ${verdictText(picked.verdict)}`);
        return picked.verdict;
      }
      case 'numgen-match':
        return this.cascadeStep(table, e, why, step);
      case 'set-update': {
        const s = this.setOf(table, e.set);
        const key = e.sel.map((x) => this.field(x)).join(' . ');
        const id = `${table.family} ${table.name} ${s.name}`;
        const members = this.affinity.get(id) ?? new Set<string>();
        members.add(key);
        this.affinity.set(id, members);
        step.map = s.name;
        why.push(`${e.op} ${key} to set ${s.name}${s.timeoutSeconds ? ` (timeout ${s.timeoutSeconds}s)` : ''}: later packets from it stick to this endpoint`);
        return true;
      }
      case 'dnat': {
        const port = e.port ?? p.dport;
        why.push(`DNAT ${p.daddr}:${p.dport} → ${e.addr}:${port}`);
        p.daddr = e.addr;
        p.dport = port;
        this.endpoint = `${e.addr}:${port}`;
        step.endpoint = this.endpoint;
        return { kind: 'dnat' };
      }
      case 'masquerade':
        this.masquerade = true;
        why.push(`masquerade: the source ${p.saddr} is replaced by the node's address on the way out`);
        return { kind: 'masquerade' };
      case 'verdict':
        why.push(`→ ${verdictText(e.verdict)}`);
        return e.verdict;
    }
  }

  /**
   * `numgen random mod K V <action>` rules in a row, usually ending in a rule without numgen:
   * iptables' statistic cascade. An action is a DNAT in the rule itself (our service chains) or a
   * goto/jump (to a chain that DNATs). The chooser picks one alternative for the whole run of
   * rules; each numgen comparison then holds exactly at the picked rule (throws if the picked
   * rule cannot be reached, e.g. an earlier `mod 1` comparison always matches).
   */
  private cascadeStep(table: Table, e: Extract<Expr, { kind: 'numgen-match' }>, why: string[], step: TraceStep): boolean {
    const cur = this.cur!;
    const c = this.cascade;
    if (!c || c.chain !== cur.chain || cur.idx < c.start || cur.idx >= c.start + c.count) {
      const cands: Candidate[] = [];
      const core = (r: Rule): Expr[] => r.exprs.filter((x) => x.kind !== 'counter' && x.kind !== 'comment');
      for (let j = cur.idx; j < cur.chain.rules.length; j++) {
        const ex = core(cur.chain.rules[j]!);
        if (ex[0]?.kind === 'numgen-match') {
          const alt = this.alternative(table, ex.slice(1));
          if (alt) { cands.push(alt); continue; }
        } else if (!ex.some((x) => x.kind === 'numgen-match' || x.kind === 'numgen')) {
          const alt = this.alternative(table, ex);
          if (alt) cands.push(alt);
        }
        break;
      }
      if (cands.length === 0) throw new TraceError(`numgen comparison outside a cascade is not simulated: ${step.rule}`);
      const pick = (this.opts.choose ?? ((): number => 0))(cands, { chain: cur.chain.name });
      if (!Number.isInteger(pick) || pick < 0 || pick >= cands.length) throw new TraceError(`chooser returned ${pick} for ${cands.length} alternatives`);
      this.cascade = { chain: cur.chain, start: cur.idx, count: cands.length, pick };
      this.candidates = cands.map((x) => x.endpoint ?? x.verdict);
      this.steps.push({
        hook: this.hook, table: step.table, chain: cur.chain.name, candidates: [...this.candidates],
        why: `numgen cascade of ${cands.length} alternatives: picked #${pick + 1} → ${cands[pick]!.verdict}`,
      });
    }
    const k = this.cascade!;
    const want = cur.idx - k.start === k.pick;
    const values = new Set(e.values);
    const outcomes = Array.from({ length: e.mod }, (_, i) => values.has(i + e.offset) === (e.op === '=='));
    if (!outcomes.includes(want)) throw new TraceError(`numgen random mod ${e.mod} can never ${want ? 'match' : 'miss'}: the picked alternative is unreachable`);
    if (want) why.push(`numgen random mod ${e.mod} ${e.op === '!=' ? '!= ' : ''}${e.values.join(',')} holds for the picked alternative`);
    return want;
  }

  /** What a cascade rule (without its numgen comparison) does: a DNAT of its own, else its final goto/jump/verdict. */
  private alternative(table: Table, exprs: Expr[]): Candidate | undefined {
    const d = exprs.find((x) => x.kind === 'dnat');
    if (d) {
      const ep = `${d.addr}:${d.port ?? this.pkt.dport}`;
      return { verdict: `dnat to ${ep}`, endpoint: ep };
    }
    const last = exprs[exprs.length - 1];
    if (last?.kind !== 'verdict') return undefined;
    const cand: Candidate = { verdict: verdictText(last.verdict) };
    const v = last.verdict;
    const ep = v.kind === 'jump' || v.kind === 'goto' ? this.dnatTarget(table, v.target) : undefined;
    if (ep) cand.endpoint = ep;
    return cand;
  }

  private field(s: Selector): string {
    const p = this.pkt;
    switch (s) {
      case 'ip saddr': return p.saddr;
      case 'ip daddr': return p.daddr;
      case 'meta l4proto': return p.l4proto;
      case 'th dport': return String(p.dport);
      case 'th sport': return String(p.sport);
      case 'meta mark': return String(p.mark);
    }
  }

  private setOf(table: Table, name: string): Table['sets'] extends Map<string, infer S> ? S : never {
    const s = table.sets.get(name);
    if (!s) throw new TraceError(`missing set or map @${name}`);
    return s;
  }

  /** Does one packet component match one element component? */
  private compMatches(sel: Selector, val: string, pat: string): boolean {
    if (sel === 'ip saddr' || sel === 'ip daddr') return addrMatches(val, pat);
    if (sel === 'meta l4proto') {
      const nums: Record<string, string> = { tcp: '6', udp: '17', sctp: '132' };
      return val === pat || nums[val] === pat;
    }
    const n = Number(val);
    const range = /^(\d+)-(\d+)$/.exec(pat);
    if (range) return n >= Number(range[1]) && n <= Number(range[2]);
    const m = pat.startsWith('0x') ? parseInt(pat, 16) : Number(pat);
    if (!Number.isFinite(m)) throw new TraceError(`cannot compare ${sel} with ${pat}`);
    return n === m;
  }

  private keyMatches(sel: Selector[], vals: string[], key: ElementKey): boolean {
    if (key.length !== sel.length) throw new TraceError(`element ${key.join(' . ')} does not fit ${sel.join(' . ')}`);
    return sel.every((s, i) => this.compMatches(s, vals[i]!, key[i]!));
  }

  private valueHas(table: Table, v: Value, sel: Selector[], vals: string[]): boolean {
    if (v.kind === 'literal') return this.keyMatches(sel, vals, v.key);
    if (v.kind === 'anon') return v.items.some((k) => this.keyMatches(sel, vals, k));
    const s = this.setOf(table, v.name);
    if (s.elements.some((x) => this.keyMatches(sel, vals, x.key))) return true;
    return this.affinity.get(`${table.family} ${table.name} ${s.name}`)?.has(vals.join(' . ')) ?? false;
  }

  private valueText(v: Value): string {
    if (v.kind === 'literal') return v.key.join(' . ');
    if (v.kind === 'anon') return `{ ${v.items.map((k) => k.join(' . ')).join(', ')} }`;
    return `@${v.name}`;
  }

  /** The `ip:port` a chain DNATs to (its first dnat statement), for listing load-balancing candidates. */
  private dnatTarget(table: Table, chain: string): string | undefined {
    for (const r of table.chains.get(chain)?.rules ?? []) {
      for (const e of r.exprs) if (e.kind === 'dnat') return `${e.addr}:${e.port ?? this.pkt.dport}`;
    }
    return undefined;
  }
}
