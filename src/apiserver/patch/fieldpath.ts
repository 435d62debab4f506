/**
 * Field paths and field sets as sigs.k8s.io/structured-merge-diff models them, with the
 * FieldsV1 wire encoding kube stores in `metadata.managedFields[].fieldsV1`:
 *   `f:<name>` struct/map field, `k:<json>` list-map item (key fields sorted by name),
 *   `v:<json>` set item, `i:<n>` list index, and `.` marking that a node with children is
 *   itself a member of the set.
 *
 * A FieldSet is a trie keyed by serialized path elements. Set algebra follows upstream:
 * union/difference/intersection are member-wise; recursiveDifference also drops everything
 * under a removed member. Output order matches upstream's serializer (`.` first, then path
 * elements ordered fields < keys < values < indices), so stored fieldsV1 is byte-identical.
 */
import { isObject, type JsonObject, type JsonValue } from './util.js';

export type PathElement = string;
export type Path = PathElement[];

/** encoding/json escapes <, > and & (and U+2028/2029); structured-merge-diff's output does too. */
export function goJson(v: unknown): string {
  return JSON.stringify(v)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

export const peField = (name: string): PathElement => `f:${name}`;
export const peValue = (v: unknown): PathElement => `v:${goJson(v)}`;
export const peIndex = (i: number): PathElement => `i:${i}`;
/** A list-map item element; key fields are sorted by name as value.FieldList.Sort does. */
export function peKey(fields: [string, unknown][]): PathElement {
  const sorted = [...fields].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const o: Record<string, unknown> = {};
  for (const [k, v] of sorted) o[k] = v;
  return `k:${goJson(o)}`;
}

const RANK: Record<string, number> = { f: 0, k: 1, v: 2, i: 3 };

function valueRank(v: unknown): number {
  if (typeof v === 'number') return 0;
  if (typeof v === 'string') return 1;
  if (typeof v === 'boolean') return 2;
  if (Array.isArray(v)) return 3;
  if (isObject(v)) return 4;
  return 5; // null
}

/** value.Compare: numbers < strings < bools < lists < maps < null, then natural order. */
export function compareValues(a: unknown, b: unknown): number {
  const ra = valueRank(a);
  const rb = valueRank(b);
  if (ra !== rb) return ra - rb;
  if (typeof a === 'number' || typeof a === 'string') return a < (b as typeof a) ? -1 : a > (b as typeof a) ? 1 : 0;
  if (typeof a === 'boolean') return a === b ? 0 : a ? 1 : -1;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    for (let i = 0; i < Math.min(a.length, bb.length); i++) {
      const c = compareValues(a[i], bb[i]);
      if (c !== 0) return c;
    }
    return a.length - bb.length;
  }
  if (isObject(a)) {
    const x = goJson(sortKeys(a));
    const y = goJson(sortKeys(b as JsonObject));
    return x < y ? -1 : x > y ? 1 : 0;
  }
  return 0;
}

function sortKeys(o: JsonObject): JsonObject {
  const out: JsonObject = {};
  for (const k of Object.keys(o).sort()) out[k] = o[k]!;
  return out;
}

/** PathElement.Compare. */
export function comparePE(a: PathElement, b: PathElement): number {
  const ta = RANK[a[0]!] ?? 9;
  const tb = RANK[b[0]!] ?? 9;
  if (ta !== tb) return ta - tb;
  const xa = a.slice(2);
  const xb = b.slice(2);
  switch (a[0]) {
    case 'f':
      return xa < xb ? -1 : xa > xb ? 1 : 0;
    case 'i':
      return Number(xa) - Number(xb);
    case 'v':
      return compareValues(JSON.parse(xa), JSON.parse(xb));
    case 'k': {
      const ka = Object.entries(JSON.parse(xa) as JsonObject);
      const kb = Object.entries(JSON.parse(xb) as JsonObject);
      if (ka.length !== kb.length) return ka.length - kb.length;
      for (let i = 0; i < ka.length; i++) {
        const [na, va] = ka[i]!;
        const [nb, vb] = kb[i]!;
        if (na !== nb) return na < nb ? -1 : 1;
        const c = compareValues(va, vb);
        if (c !== 0) return c;
      }
      return 0;
    }
  }
  return 0;
}

/** value.ToString, as used in human-readable paths. */
function valueToString(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return JSON.stringify(v);
  if (Array.isArray(v)) return `[${v.map(valueToString).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${k}=${valueToString(v[k])}`).join(';')}}`;
  return String(v);
}

/** PathElement.String: `.name`, `[k=v,...]`, `[=v]`, `[i]`. */
export function peToString(pe: PathElement): string {
  const rest = pe.slice(2);
  switch (pe[0]) {
    case 'f':
      return `.${rest}`;
    case 'k':
      return `[${Object.entries(JSON.parse(rest) as JsonObject).map(([k, v]) => `${k}=${valueToString(v)}`).join(',')}]`;
    case 'v':
      return `[=${valueToString(JSON.parse(rest))}]`;
    case 'i':
      return `[${rest}]`;
  }
  return '{{invalid path element}}';
}

export function pathToString(p: Path): string {
  return p.map(peToString).join('');
}

/** A set of field paths, stored as a trie. Instances are treated as immutable by the algebra. */
export class FieldSet {
  member = false;
  readonly children = new Map<PathElement, FieldSet>();

  static fromPaths(paths: Path[]): FieldSet {
    const s = new FieldSet();
    for (const p of paths) s.insert(p);
    return s;
  }

  /** Parses FieldsV1 JSON; throws on malformed input. */
  static fromFieldsV1(v: unknown): FieldSet {
    const s = new FieldSet();
    fill(s, v);
    return s;
  }

  insert(path: Path): void {
    let n: FieldSet = this;
    for (const pe of path) {
      let c = n.children.get(pe);
      if (!c) n.children.set(pe, (c = new FieldSet()));
      n = c;
    }
    n.member = true;
  }

  child(pe: PathElement): FieldSet | undefined {
    return this.children.get(pe);
  }

  has(path: Path): boolean {
    let n: FieldSet | undefined = this;
    for (const pe of path) {
      n = n.children.get(pe);
      if (!n) return false;
    }
    return n.member;
  }

  isEmpty(): boolean {
    if (this.member) return false;
    for (const c of this.children.values()) if (!c.isEmpty()) return false;
    return true;
  }

  union(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member || o.member;
    for (const pe of new Set([...this.children.keys(), ...o.children.keys()])) {
      const a = this.children.get(pe);
      const b = o.children.get(pe);
      const c = a && b ? a.union(b) : (a ?? b)!.clone();
      if (!c.isEmpty()) out.children.set(pe, c);
    }
    return out;
  }

  difference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !o.member;
    for (const [pe, a] of this.children) {
      const b = o.children.get(pe);
      const c = b ? a.difference(b) : a.clone();
      if (!c.isEmpty()) out.children.set(pe, c);
    }
    return out;
  }

  intersection(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && o.member;
    for (const [pe, a] of this.children) {
      const b = o.children.get(pe);
      if (!b) continue;
      const c = a.intersection(b);
      if (!c.isEmpty()) out.children.set(pe, c);
    }
    return out;
  }

  /** Whether some path is a member of both sets (intersection(o) is non-empty), without building it. */
  intersects(o: FieldSet): boolean {
    for (const [pe, a] of this.children) {
      const b = o.children.get(pe);
      if (!b) continue;
      if ((a.member && b.member) || a.intersects(b)) return true;
    }
    return false;
  }

  /** Whether every member of this set is a member of `o`. */
  isSubsetOf(o: FieldSet): boolean {
    for (const [pe, a] of this.children) {
      const b = o.children.get(pe);
      if (!b) {
        if (!a.isEmpty()) return false;
        continue;
      }
      if (a.member && !b.member) return false;
      if (!a.isSubsetOf(b)) return false;
    }
    return true;
  }

  /** Removes every path of `o` and everything below those paths. */
  recursiveDifference(o: FieldSet): FieldSet {
    const out = new FieldSet();
    out.member = this.member && !o.member;
    for (const [pe, a] of this.children) {
      const b = o.children.get(pe);
      if (b?.member) continue;
      const c = b ? a.recursiveDifference(b) : a.clone();
      if (!c.isEmpty()) out.children.set(pe, c);
    }
    return out;
  }

  /** Whether this set has a member at `p` or below it. */
  hasPrefix(p: Path): boolean {
    let n: FieldSet | undefined = this;
    for (const pe of p) {
      n = n.children.get(pe);
      if (!n) return false;
    }
    return !n.isEmpty();
  }

  clone(): FieldSet {
    const out = new FieldSet();
    out.member = this.member;
    for (const [pe, c] of this.children) out.children.set(pe, c.clone());
    return out;
  }

  /** Members in Set.Iterate order: at each level members first, then descend into children. */
  paths(): Path[] {
    const out: Path[] = [];
    const walk = (n: FieldSet, prefix: Path): void => {
      const keys = [...n.children.keys()].sort(comparePE);
      for (const pe of keys) if (n.children.get(pe)!.member) out.push([...prefix, pe]);
      for (const pe of keys) {
        const c = n.children.get(pe)!;
        if (c.children.size) walk(c, [...prefix, pe]);
      }
    };
    walk(this, []);
    return out;
  }

  /** FieldsV1 JSON with upstream's key order. */
  toFieldsV1(): JsonObject {
    return emit(this, false);
  }
}

function emit(n: FieldSet, includeSelf: boolean): JsonObject {
  const out: JsonObject = {};
  const keys = [...n.children.keys()].filter((k) => !n.children.get(k)!.isEmpty()).sort(comparePE);
  if (includeSelf && n.member && keys.length) out['.'] = {};
  for (const pe of keys) out[pe] = emit(n.children.get(pe)!, true);
  return out;
}

function fill(n: FieldSet, v: unknown): void {
  if (!isObject(v)) throw new Error('FieldsV1 must be a JSON object');
  for (const [k, c] of Object.entries(v as Record<string, JsonValue>)) {
    if (k === '.') {
      n.member = true;
      continue;
    }
    if (!/^[fkvi]:/.test(k)) throw new Error(`unknown path element prefix in ${JSON.stringify(k)}`);
    const child = new FieldSet();
    if (isObject(c) && Object.keys(c).length === 0) child.member = true;
    else fill(child, c);
    n.children.set(k, child);
  }
}
