/**
 * A parser for the `nft -f` scripts our nftables renderer emits (and the kube-proxy-style
 * constructs it may grow into): tables, base and regular chains, rules, verdict maps, sets and
 * elements, applied in order (`delete table` and `flush` really empty things) so the result is
 * the ruleset the kernel would hold after loading the script.
 *
 * Contract: every construct is either understood or rejected — an unknown statement, selector or
 * keyword throws a `NftParseError` naming the line. The packet tracer must never silently skip
 * a match it does not understand (it would then report a path the kernel does not take).
 */

import { NftParseError, type Verdict, type Selector, type ElementKey, type Value, type Expr, type Rule, type BaseChainSpec, type Chain, type NftSet, type Table, type Ruleset } from './model.js';

export { NftParseError, type Verdict, type Selector, type ElementKey, type Value, type Expr, type Rule, type BaseChainSpec, type Chain, type NftSet, type Table, type Ruleset } from './model.js';

const PRIORITIES: Record<string, number> = { raw: -300, mangle: -150, dstnat: -100, filter: 0, security: 50, srcnat: 100 };
const FAMILIES = new Set(['ip', 'ip6', 'inet']);
const PUNCT = new Set(['{', '}', ',', ';']);

/** Splits a line into words, quoted strings and the punctuation `{ } , ;` (kept as tokens). */
export function tokenize(line: string): string[] {
  const out: string[] = [];
  let i = 0;
  while (i < line.length) {
    const c = line[i]!;
    if (c === ' ' || c === '\t') { i++; continue; }
    if (PUNCT.has(c)) { out.push(c); i++; continue; }
    if (c === '"') {
      const end = line.indexOf('"', i + 1);
      if (end < 0) throw new Error('unterminated string');
      out.push(line.slice(i, end + 1));
      i = end + 1;
      continue;
    }
    let j = i;
    while (j < line.length && !' \t{},;"'.includes(line[j]!)) j++;
    out.push(line.slice(i, j));
    i = j;
  }
  return out;
}

/** A token cursor; `fail` throws with the offending position. */
class Cursor {
  i = 0;
  constructor(readonly t: string[], readonly fail: (msg: string) => never) {}
  peek(k = 0): string | undefined { return this.t[this.i + k]; }
  next(): string {
    const v = this.t[this.i++];
    if (v === undefined) this.fail('unexpected end of statement');
    return v;
  }
  eat(v: string): boolean {
    if (this.t[this.i] === v) { this.i++; return true; }
    return false;
  }
  expect(v: string): void {
    const got = this.next();
    if (got !== v) this.fail(`expected ${JSON.stringify(v)}, got ${JSON.stringify(got)}`);
  }
  done(): boolean { return this.i >= this.t.length; }
}

function num(c: Cursor, s: string): number {
  const n = s.startsWith('0x') ? parseInt(s, 16) : Number(s);
  if (!Number.isFinite(n) || s === '') c.fail(`bad number ${JSON.stringify(s)}`);
  return n;
}

function parsePriority(c: Cursor, words: string[]): number {
  const s = words.join('');
  // `name`, `name+N`, `name-N` or a plain number (`0`, `-100`).
  const m = /^(?:([a-z]+)([+-]\d+)?|([+-]?\d+))$/.exec(s);
  if (!m) return c.fail(`bad priority ${JSON.stringify(s)}`);
  if (m[3] !== undefined) return Number(m[3]);
  let base = 0;
  if (m[1]) {
    const p = PRIORITIES[m[1]];
    if (p === undefined) c.fail(`unknown priority name ${JSON.stringify(m[1])}`);
    base = p!;
  }
  return base + (m[2] ? Number(m[2]) : 0);
}

function parseVerdict(c: Cursor): Verdict | undefined {
  const w = c.peek();
  if (w === 'jump' || w === 'goto') { c.next(); return { kind: w, target: c.next() }; }
  if (w === 'accept' || w === 'drop' || w === 'return' || w === 'continue') { c.next(); return { kind: w }; }
  if (w === 'reject') {
    c.next();
    if (!c.eat('with')) return { kind: 'reject' };
    const words: string[] = [];
    // `with icmp type X` / `with icmpx type X` / `with tcp reset` / `with icmp X`.
    while (!c.done() && !['comment', 'counter'].includes(c.peek()!)) words.push(c.next());
    return { kind: 'reject', with: words.join(' ') };
  }
  return undefined;
}

/** `a . b . c` — one element key; stops before `:`, `,`, `}`. */
function parseKey(c: Cursor): ElementKey {
  const key = [c.next()];
  while (c.eat('.')) key.push(c.next());
  for (const k of key) if (PUNCT.has(k) || k === ':') c.fail(`bad element ${JSON.stringify(k)}`);
  return key;
}

/** `{ k [: verdict|value], ... }` (the opening brace still to read). */
function parseElements(c: Cursor): Array<{ key: ElementKey; verdict?: Verdict; value?: string }> {
  c.expect('{');
  const out: Array<{ key: ElementKey; verdict?: Verdict; value?: string }> = [];
  while (!c.eat('}')) {
    const key = parseKey(c);
    const el: { key: ElementKey; verdict?: Verdict; value?: string } = { key };
    // Element options (timeout/expires on dynamic set members) are tolerated, not used.
    while (c.peek() === 'timeout' || c.peek() === 'expires') { c.next(); c.next(); }
    if (c.eat(':')) {
      const v = parseVerdict(c);
      if (v) el.verdict = v;
      else el.value = c.next();
    }
    out.push(el);
    if (!c.eat(',')) { c.expect('}'); break; }
  }
  return out;
}

const SELECTORS: Record<string, Record<string, Selector>> = {
  ip: { saddr: 'ip saddr', daddr: 'ip daddr' },
  meta: { l4proto: 'meta l4proto', mark: 'meta mark' },
  th: { dport: 'th dport', sport: 'th sport' },
};

/** `ip daddr . meta l4proto . th dport` etc.; `tcp dport` becomes [meta l4proto = tcp] + th dport by the caller. */
function parseSelectors(c: Cursor): Selector[] {
  const out: Selector[] = [];
  for (;;) {
    const a = c.next();
    const b = c.next();
    const s = SELECTORS[a]?.[b];
    if (!s) c.fail(`unknown selector ${JSON.stringify(`${a} ${b}`)}`);
    out.push(s!);
    if (!c.eat('.')) return out;
  }
}

function parseRuleExprs(c: Cursor): Expr[] {
  const out: Expr[] = [];
  const op = (): '==' | '!=' => (c.eat('!=') ? '!=' : (c.eat('=='), '=='));
  while (!c.done()) {
    const w = c.peek()!;
    const v = parseVerdict(c);
    if (v) { out.push({ kind: 'verdict', verdict: v }); continue; }
    c.next();
    switch (w) {
      case 'counter':
        while (c.peek() === 'packets' || c.peek() === 'bytes') { c.next(); c.next(); }
        out.push({ kind: 'counter' });
        break;
      case 'comment': {
        const s = c.next();
        out.push({ kind: 'comment', text: s.replace(/^"|"$/g, '') });
        break;
      }
      case 'ct': {
        if (c.eat('status')) {
          const o = op();
          const statuses = [c.next()];
          while (c.eat(',')) statuses.push(c.next());
          out.push({ kind: 'ct-status', op: o, statuses });
          break;
        }
        c.expect('state');
        const o = op();
        const states: string[] = [];
        if (c.eat('{')) {
          while (!c.eat('}')) { states.push(c.next()); c.eat(','); }
        } else {
          states.push(c.next());
          while (c.eat(',')) states.push(c.next());
        }
        out.push({ kind: 'ct-state', op: o, states });
        break;
      }
      case 'fib': {
        const which = c.next();
        if (which !== 'saddr' && which !== 'daddr') c.fail(`unsupported fib ${which}`);
        c.expect('type');
        const o = op();
        const types = [c.next()];
        while (c.eat(',')) types.push(c.next());
        out.push({ kind: 'fib', which: which as 'saddr' | 'daddr', op: o, types });
        break;
      }
      case 'numgen': {
        c.expect('random');
        c.expect('mod');
        const mod = num(c, c.next());
        let offset = 0;
        if (c.eat('offset')) offset = num(c, c.next());
        if (!c.eat('vmap')) {
          const o = op();
          const values = c.peek() === '{' ? parseElements(c).map((e) => num(c, e.key.join('.'))) : [num(c, c.next())];
          out.push({ kind: 'numgen-match', mod, offset, op: o, values });
          break;
        }
        const entries = parseElements(c).map((e) => {
          if (!e.verdict || e.key.length !== 1) c.fail('numgen vmap entries must be `N : verdict`');
          return { n: num(c, e.key[0]!), verdict: e.verdict! };
        });
        out.push({ kind: 'numgen', mod, offset, entries });
        break;
      }
      case 'dnat': {
        c.eat('ip');
        c.expect('to');
        const target = c.next();
        const m = /^(\d{1,3}(?:\.\d{1,3}){3})(?::(\d+))?$/.exec(target);
        if (!m) c.fail(`unsupported dnat target ${JSON.stringify(target)}`);
        out.push(m![2] ? { kind: 'dnat', addr: m![1]!, port: Number(m![2]) } : { kind: 'dnat', addr: m![1]! });
        break;
      }
      case 'masquerade': {
        const flags: string[] = [];
        while (['fully-random', 'random', 'persistent'].includes(c.peek() ?? '')) { flags.push(c.next()); c.eat(','); }
        out.push({ kind: 'masquerade', flags });
        break;
      }
      case 'update':
      case 'add': {
        const set = c.next();
        if (!set.startsWith('@')) c.fail(`expected @set after ${w}`);
        c.expect('{');
        const sel = parseSelectors(c);
        while (c.peek() === 'timeout') { c.next(); c.next(); }
        c.expect('}');
        out.push({ kind: 'set-update', op: w, set: set.slice(1), sel });
        break;
      }
      case 'meta':
        if (c.peek() !== 'mark') {
          c.i--;
          out.push(selectorExpr(c, op));
          break;
        }
        c.next();
        out.push(markExpr(c, op));
        break;
      case 'mark': // kube-proxy writes the short form `mark set mark or 0x4000`
        out.push(markExpr(c, op));
        break;
      case 'ip':
      case 'th':
        c.i--;
        out.push(selectorExpr(c, op));
        break;
      case 'tcp':
      case 'udp':
      case 'sctp': {
        const field = c.next();
        if (field !== 'dport' && field !== 'sport') c.fail(`unsupported ${w} ${field}`);
        out.push({ kind: 'match', sel: ['meta l4proto'], op: '==', value: { kind: 'literal', key: [w] } });
        const o = op();
        out.push({ kind: 'match', sel: [field === 'dport' ? 'th dport' : 'th sport'], op: o, value: valueOf(c) });
        break;
      }
      default:
        c.fail(`unknown rule keyword ${JSON.stringify(w)}`);
    }
  }
  return out;
}

/** After `meta mark` / `mark`: `set [meta] mark or|xor|and V`, `set V`, or `[& M] [==|!=] V`. */
function markExpr(c: Cursor, op: () => '==' | '!='): Expr {
  if (c.eat('set')) {
    const meta = c.eat('meta');
    if (c.eat('mark')) {
      const o = c.next();
      const ops: Record<string, 'or' | 'xor' | 'and'> = { or: 'or', '|': 'or', xor: 'xor', '^': 'xor', and: 'and', '&': 'and' };
      if (!ops[o]) c.fail(`unsupported mark operation ${o}`);
      return { kind: 'mark-set', op: ops[o]!, value: num(c, c.next()) };
    }
    if (meta) c.fail('expected `mark` after `set meta`');
    return { kind: 'mark-set', op: 'set', value: num(c, c.next()) };
  }
  let mask: number | undefined;
  if (c.eat('&') || c.eat('and')) mask = num(c, c.next());
  const m: Expr = { kind: 'mark-match', op: op(), value: num(c, c.next()) };
  if (mask !== undefined) m.mask = mask;
  return m;
}

function valueOf(c: Cursor): Value {
  const p = c.peek();
  if (p === '{') return { kind: 'anon', items: parseElements(c).map((e) => e.key) };
  if (p?.startsWith('@')) return { kind: 'ref', name: c.next().slice(1) };
  return { kind: 'literal', key: parseKey(c) };
}

function selectorExpr(c: Cursor, op: () => '==' | '!='): Expr {
  const sel = parseSelectors(c);
  if (c.eat('vmap')) {
    if (c.peek()?.startsWith('@')) return { kind: 'vmap', sel, map: { kind: 'ref', name: c.next().slice(1) } };
    const entries = parseElements(c).map((e) => {
      if (!e.verdict) c.fail('anonymous vmap entry without verdict');
      return { key: e.key, verdict: e.verdict! };
    });
    return { kind: 'vmap', sel, map: { kind: 'anon', entries } };
  }
  const o = op();
  const value = valueOf(c);
  if (value.kind === 'literal' && value.key.length !== sel.length) c.fail('concatenation and value differ in length');
  return { kind: 'match', sel, op: o, value };
}

/** `{ type ... ; flags ... ; timeout Ns ; elements = { ... } ; }` of a set or map. */
function parseSetSpec(c: Cursor, set: NftSet): void {
  c.expect('{');
  while (!c.eat('}')) {
    if (c.eat(';')) continue;
    const k = c.next();
    if (k === 'type') {
      const words: string[] = [];
      while (c.peek() !== ';' && c.peek() !== '}') words.push(c.next());
      const colon = words.indexOf(':');
      const key = colon >= 0 ? words.slice(0, colon) : words;
      set.keyType = key.filter((w) => w !== '.');
      if (colon >= 0) set.valueType = words.slice(colon + 1).join(' ');
      if (set.isMap !== colon >= 0) c.fail(set.isMap ? 'map without value type' : 'set with value type');
    } else if (k === 'flags') {
      set.flags.push(c.next());
      while (c.eat(',')) set.flags.push(c.next());
    } else if (k === 'timeout') {
      const m = /^(\d+)([smhd]?)$/.exec(c.next());
      if (!m) c.fail('bad timeout');
      set.timeoutSeconds = Number(m![1]) * ({ '': 1, s: 1, m: 60, h: 3600, d: 86400 } as Record<string, number>)[m![2]!]!;
    } else if (k === 'comment') {
      c.next();
    } else if (k === 'elements') {
      c.expect('=');
      set.elements.push(...parseElements(c));
    } else {
      c.fail(`unknown set/map option ${JSON.stringify(k)}`);
    }
  }
}

function parseChainSpec(c: Cursor): BaseChainSpec | undefined {
  c.expect('{');
  const spec: Partial<BaseChainSpec> = { policy: 'accept' };
  while (!c.eat('}')) {
    if (c.eat(';')) continue;
    const k = c.next();
    if (k === 'type') {
      spec.type = c.next();
      c.expect('hook');
      spec.hook = c.next();
      if (c.eat('device')) c.next();
      c.expect('priority');
      const words: string[] = [];
      while (c.peek() !== ';' && c.peek() !== '}') words.push(c.next());
      spec.priority = parsePriority(c, words);
    } else if (k === 'policy') {
      const p = c.next();
      if (p !== 'accept' && p !== 'drop') c.fail(`bad policy ${p}`);
      spec.policy = p as 'accept' | 'drop';
    } else if (k === 'comment') {
      c.next();
    } else {
      c.fail(`unknown chain option ${JSON.stringify(k)}`);
    }
  }
  return spec.type === undefined ? undefined : (spec as BaseChainSpec);
}

/** Per set, its elements by key: a full script adds tens of thousands of elements, and a linear search per add was quadratic. */
const ELEMENT_INDEX = new WeakMap<NftSet, Map<string, NftSet['elements'][number]>>();

/** The key index of a set, rebuilt when the element list changed behind it (flush, inline `elements = { }`). */
function elementIndex(s: NftSet): Map<string, NftSet['elements'][number]> {
  let index = ELEMENT_INDEX.get(s);
  if (!index || index.size !== s.elements.length) {
    index = new Map(s.elements.map((e) => [e.key.join(' . '), e]));
    ELEMENT_INDEX.set(s, index);
  }
  return index;
}

/**
 * Parses a whole script, applying statements in order. Throws NftParseError on anything it does
 * not understand, and on references to missing tables, chains, sets or maps.
 */
export function parseRuleset(script: string): Ruleset {
  const rs: Ruleset = { tables: new Map() };
  const lines = script.split('\n');
  lines.forEach((raw, idx) => {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) return;
    const lineNo = idx + 1;
    const fail = (msg: string): never => { throw new NftParseError(msg, lineNo, line); };
    let toks: string[];
    try { toks = tokenize(line); } catch (e) { return fail((e as Error).message); }
    const c = new Cursor(toks, fail);
    const verb = c.next();
    const obj = c.next();
    const family = c.next();
    if (!FAMILIES.has(family)) fail(`unsupported family ${JSON.stringify(family)}`);
    const tname = c.next();
    const tkey = `${family} ${tname}`;
    const table = (): Table => rs.tables.get(tkey) ?? fail(`no table ${tkey}`);
    const chain = (name: string): Chain => table().chains.get(name) ?? fail(`no chain ${name}`);
    const set = (name: string): NftSet => table().sets.get(name) ?? fail(`no set or map ${name}`);
    const key = `${verb} ${obj}`;
    switch (key) {
      case 'add table':
      case 'create table':
        if (!rs.tables.has(tkey)) rs.tables.set(tkey, { family, name: tname, chains: new Map(), sets: new Map() });
        if (c.peek() === '{') { c.next(); while (!c.eat('}')) c.next(); }
        break;
      case 'delete table':
        table();
        rs.tables.delete(tkey);
        break;
      case 'flush table':
        for (const ch of table().chains.values()) ch.rules = [];
        for (const s of table().sets.values()) s.elements = [];
        break;
      case 'add chain':
      case 'create chain': {
        const name = c.next();
        const base = c.peek() === '{' ? parseChainSpec(c) : undefined;
        const existing = table().chains.get(name);
        if (existing) {
          if (base) existing.base = base;
        } else {
          const ch: Chain = { name, rules: [] };
          if (base) ch.base = base;
          table().chains.set(name, ch);
        }
        break;
      }
      case 'flush chain':
        chain(c.next()).rules = [];
        break;
      case 'delete chain': {
        const name = c.next();
        chain(name);
        table().chains.delete(name);
        break;
      }
      case 'add rule':
      case 'insert rule': {
        const ch = chain(c.next());
        const exprs = parseRuleExprs(c);
        // The rule as written: the line minus `add rule <family> <table> <chain>`.
        const rule: Rule = { text: line.replace(/^(\S+\s+){5}/, '').trim(), exprs, lineNo };
        if (verb === 'insert') ch.rules.unshift(rule);
        else ch.rules.push(rule);
        break;
      }
      case 'add map':
      case 'add set': {
        const name = c.next();
        if (!table().sets.has(name)) {
          table().sets.set(name, { name, isMap: obj === 'map', keyType: [], flags: [], elements: [] });
        }
        const s = set(name);
        if (c.peek() === '{') parseSetSpec(c, s);
        break;
      }
      case 'flush map':
      case 'flush set':
        set(c.next()).elements = [];
        break;
      case 'delete map':
      case 'delete set': {
        const name = c.next();
        set(name);
        table().sets.delete(name);
        break;
      }
      case 'add element':
      case 'create element': {
        const s = set(c.next());
        const index = elementIndex(s);
        for (const el of parseElements(c)) {
          if (el.key.length !== s.keyType.length) fail(`element arity ${el.key.length} does not match ${s.name} type (${s.keyType.join(' . ')})`);
          if (s.isMap !== (el.verdict !== undefined || el.value !== undefined)) fail(s.isMap ? 'map element without value' : 'set element with value');
          const k = el.key.join(' . ');
          const same = index.get(k);
          if (same) s.elements[s.elements.indexOf(same)] = el;
          else s.elements.push(el);
          index.set(k, el);
        }
        break;
      }
      case 'delete element': {
        const s = set(c.next());
        const index = elementIndex(s);
        for (const el of parseElements(c)) {
          const k = el.key.join(' . ');
          const old = index.get(k);
          if (!old) fail(`no element ${k} in ${s.name}`);
          s.elements.splice(s.elements.indexOf(old!), 1);
          index.delete(k);
        }
        break;
      }
      default:
        fail(`unknown statement ${JSON.stringify(key)}`);
    }
    if (!c.done()) fail(`unexpected ${JSON.stringify(c.peek())}`);
  });
  return rs;
}
