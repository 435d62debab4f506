/**
 * The parsed form of an nft ruleset (what parse.ts builds and trace.ts walks): tables, chains
 * with their rules as match/statement expressions, sets and maps with their elements.
 */

export class NftParseError extends Error {
  override readonly name = 'NftParseError';
  constructor(message: string, readonly lineNo: number, readonly line: string) {
    super(`nft script line ${lineNo}: ${message}: ${line}`);
  }
}

/** `goto`/`jump` carry a target chain; `reject` may carry its `with ...` text. */
export type Verdict =
  | { kind: 'jump' | 'goto'; target: string }
  | { kind: 'accept' | 'drop' | 'return' | 'continue' }
  | { kind: 'reject'; with?: string };

/** A packet field a rule can look at. */
export type Selector = 'ip saddr' | 'ip daddr' | 'meta l4proto' | 'th dport' | 'th sport' | 'meta mark';

/** An element of a set/map or an anonymous set: one string per concatenated component. */
export type ElementKey = string[];

export type Value =
  | { kind: 'ref'; name: string }
  | { kind: 'anon'; items: ElementKey[] }
  | { kind: 'literal'; key: ElementKey };

export type Expr =
  | { kind: 'match'; sel: Selector[]; op: '==' | '!='; value: Value }
  | { kind: 'vmap'; sel: Selector[]; map: { kind: 'ref'; name: string } | { kind: 'anon'; entries: Array<{ key: ElementKey; verdict: Verdict }> } }
  | { kind: 'fib'; which: 'saddr' | 'daddr'; op: '==' | '!='; types: string[] }
  | { kind: 'ct-state'; op: '==' | '!='; states: string[] }
  /** `ct status [!=] dnat[,snat...]`: holds when the connection has (any of) the NAT kinds. */
  | { kind: 'ct-status'; op: '==' | '!='; statuses: string[] }
  | { kind: 'mark-match'; mask?: number; op: '==' | '!='; value: number }
  | { kind: 'mark-set'; op: 'set' | 'or' | 'xor' | 'and'; value: number }
  | { kind: 'numgen'; mod: number; offset: number; entries: Array<{ n: number; verdict: Verdict }> }
  /** `numgen random mod N [offset M] [!=] V|{ V, ... }`: a random comparison (iptables-statistic-style cascades). */
  | { kind: 'numgen-match'; mod: number; offset: number; op: '==' | '!='; values: number[] }
  | { kind: 'verdict'; verdict: Verdict }
  | { kind: 'dnat'; addr: string; port?: number }
  | { kind: 'masquerade'; flags: string[] }
  | { kind: 'set-update'; op: 'add' | 'update'; set: string; sel: Selector[] }
  | { kind: 'counter' }
  | { kind: 'comment'; text: string };

export interface Rule {
  /** The rule as written after the chain name. */
  text: string;
  exprs: Expr[];
  lineNo: number;
}

export interface BaseChainSpec {
  type: string;
  hook: string;
  /** Numeric priority (named priorities resolved: dstnat -100, srcnat 100, filter 0, ...). */
  priority: number;
  policy: 'accept' | 'drop';
}

export interface Chain {
  name: string;
  base?: BaseChainSpec;
  rules: Rule[];
}

export interface NftSet {
  name: string;
  isMap: boolean;
  /** Key types, one per concatenated component (e.g. ipv4_addr, inet_proto, inet_service). */
  keyType: string[];
  /** Map value type (`verdict` for vmaps). */
  valueType?: string;
  flags: string[];
  timeoutSeconds?: number;
  elements: Array<{ key: ElementKey; verdict?: Verdict; value?: string }>;
}

export interface Table {
  family: string;
  name: string;
  chains: Map<string, Chain>;
  /** Named sets and maps (one namespace in nft). */
  sets: Map<string, NftSet>;
}

export interface Ruleset {
  /** Keyed by `<family> <name>`. */
  tables: Map<string, Table>;
}
