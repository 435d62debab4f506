/**
 * A tiny model of one nftables table, for tests without root: it applies the statements our
 * renderers emit (one per line) with the kernel's refusals that matter for partial syncs —
 * deleting a missing element/chain/set, deleting a chain or set still referenced, adding a
 * map element whose key holds another value, a rule in a missing chain, a reference to a
 * missing chain or set. Like `nft -f`, a script is one transaction: on error nothing changes.
 */

export interface SimTable {
  chains: Map<string, string[]>;
  /** set/map name → key → element body */
  sets: Map<string, Map<string, string>>;
  /** set/map name → declaration (`{ type ... }`); re-adding with another one updates it, as the kernel does for timeouts. */
  decls: Map<string, string>;
}

const keyOf = (e: string): string => { const i = e.indexOf(' : '); return i < 0 ? e : e.slice(0, i); };

function refs(text: string): { chains: string[]; sets: string[] } {
  const chains = [...text.matchAll(/\b(?:goto|jump) (\S+?)(?=[ ,}]|$)/g)].map((m) => m[1]!);
  const sets = [...text.matchAll(/@(\S+?)(?=[ ,}]|$)/g)].map((m) => m[1]!);
  return { chains, sets };
}

export class NftSim {
  tables = new Map<string, SimTable>();

  /** Applies a script atomically; throws (leaving the state unchanged) on the first bad statement. */
  apply(script: string): void {
    const next = new Map<string, SimTable>();
    for (const [n, t] of this.tables) {
      next.set(n, { chains: new Map([...t.chains].map(([c, r]) => [c, [...r]])), sets: new Map([...t.sets].map(([s, m]) => [s, new Map(m)])), decls: new Map(t.decls) });
    }
    const lines = script.split('\n').filter((l) => l.trim() !== '');
    lines.forEach((line, i) => {
      try { step(next, line); } catch (e) { throw new Error(`line ${i + 1}: ${(e as Error).message}: ${line}`); }
    });
    this.tables = next;
  }

  /** Canonical text of a table: sorted chains (with their rules in order), sets and elements. */
  dump(table: string): string {
    const t = this.tables.get(table);
    if (!t) return '';
    const out: string[] = [];
    for (const c of [...t.chains.keys()].sort()) out.push(`chain ${c}`, ...t.chains.get(c)!.map((r) => `  ${r}`));
    for (const s of [...t.sets.keys()].sort()) out.push(`set ${s} ${t.decls.get(s) ?? ''}`, ...[...t.sets.get(s)!.values()].sort().map((e) => `  ${e}`));
    return out.join('\n');
  }
}

function step(tables: Map<string, SimTable>, line: string): void {
  const m = /^(add|delete|flush) (table|chain|rule|set|map|element) ip (\S+)(?: (\S+))?(?: (.*))?$/.exec(line);
  if (!m) throw new Error('unparsed');
  const [, verb, kind, tname, name, rest] = m as unknown as [string, string, string, string, string | undefined, string | undefined];
  if (kind === 'table') {
    if (verb === 'add') { if (!tables.has(tname)) tables.set(tname, { chains: new Map(), sets: new Map(), decls: new Map() }); return; }
    if (verb === 'delete') { if (!tables.delete(tname)) throw new Error('No such file or directory (table)'); return; }
    throw new Error('unsupported');
  }
  const t = tables.get(tname);
  if (!t || name === undefined) throw new Error('No such file or directory (table)');
  const inUse = (what: 'chains' | 'sets', n: string): boolean => {
    for (const rules of t.chains.values()) for (const r of rules) if (refs(r)[what].includes(n)) return true;
    if (what === 'chains') for (const s of t.sets.values()) for (const e of s.values()) if (refs(e).chains.includes(n)) return true;
    return false;
  };
  const checkRefs = (text: string): void => {
    const r = refs(text);
    for (const c of r.chains) if (!t.chains.has(c)) throw new Error(`No such file or directory (chain ${c})`);
    for (const s of r.sets) if (!t.sets.has(s)) throw new Error(`No such file or directory (set ${s})`);
  };
  switch (`${verb} ${kind}`) {
    case 'add chain': if (!t.chains.has(name)) t.chains.set(name, []); return;
    case 'flush chain': { const c = t.chains.get(name); if (!c) throw new Error('No such file or directory'); c.length = 0; return; }
    case 'delete chain':
      if (!t.chains.has(name)) throw new Error('No such file or directory');
      if (t.chains.get(name)!.length > 0 || inUse('chains', name)) throw new Error('Device or resource busy');
      t.chains.delete(name); return;
    case 'add rule': {
      const c = t.chains.get(name);
      if (!c) throw new Error('No such file or directory');
      checkRefs(rest ?? '');
      c.push(rest ?? ''); return;
    }
    case 'add set': case 'add map':
      if (!t.sets.has(name)) t.sets.set(name, new Map());
      if (rest) t.decls.set(name, rest);
      return;
    case 'delete set':
      if (!t.sets.has(name)) throw new Error('No such file or directory');
      if (inUse('sets', name)) throw new Error('Device or resource busy');
      t.sets.delete(name); t.decls.delete(name); return;
    case 'add element': case 'delete element': {
      const s = t.sets.get(name);
      if (!s) throw new Error('No such file or directory');
      const bodies = /^\{ (.*) \}$/.exec(rest ?? '')?.[1]?.split(', '); // our element bodies hold no ', '
      if (bodies === undefined) throw new Error('bad element');
      for (const body of bodies) {
        const k = keyOf(body);
        if (verb === 'delete') { if (!s.delete(k)) throw new Error('No such file or directory (element)'); continue; }
        checkRefs(body);
        const cur = s.get(k);
        if (cur !== undefined && cur !== body) throw new Error('File exists (element with another value)');
        s.set(k, body);
      }
      return;
    }
    default: throw new Error('unsupported');
  }
}
