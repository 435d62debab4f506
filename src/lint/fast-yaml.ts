/**
 * A fast path for the YAML people actually write as Kubernetes manifests: block mappings and
 * sequences (including the "list not indented under its key" style), plain and quoted
 * single-line scalars, `|`/`|-` literal blocks, `[]`/`{}`, comments and `---` separators.
 *
 * Why: the yaml package builds a full CST and node tree with ranges for every document, which
 * made loading ~6x slower than linting (about 1 MB/s). This parser is a single linear pass over
 * the lines that builds the plain JS values directly and records the offset of every map key and
 * sequence item on the side, so `Source.locate` gives exactly what the node-tree walk gave.
 *
 * Contract: all or nothing per file. It returns undefined as soon as it meets anything outside
 * the subset it fully understands (anchors, aliases, tags, flow collections with content,
 * multi-line plain or quoted scalars, folded blocks, tabs, CRLF, directives, duplicate keys,
 * keys that are not simple identifiers, non-mapping documents, nesting deeper than the limit),
 * and the caller then parses the whole file with the yaml package as before. So every input the
 * fast path accepts is valid YAML whose value and positions equal the yaml package's (YAML 1.1
 * schema, as the loader uses); every error message still comes from the yaml package path.
 * Plain scalars whose type is not obviously a string or a small decimal integer are resolved by
 * the yaml package itself (cached), so 1.1 booleans, octals, timestamps and floats stay exact.
 */
import { isScalar, parseDocument } from 'yaml';

/**
 * Positions of a mapping's keys or a sequence's items, in order (Object.keys order for mappings:
 * integer-like keys never reach the fast path), each followed by the positions of its value when
 * that is a non-empty mapping or sequence: [offset0, child0, offset1, child1, ...]. A parallel
 * tree rather than a Map keyed by the values: no identity hashes on every object, far less garbage.
 */
export type Positions = (number | Positions | undefined)[];

/** One parsed document: null for an empty one (comments only). */
export interface FastDoc {
  value: Record<string, unknown>;
  /** Offset of the root mapping's first key (the document contents' start). */
  start: number;
  positions: Positions;
}

export interface FastFile {
  docs: (FastDoc | null)[];
  /** Offsets where lines start (0 first), as the yaml package's LineCounter records them. */
  lineStarts: readonly number[];
}

interface NodeResult {
  value: unknown;
  /** The first line after the node (blank and comment lines skipped). */
  next: number;
  positions?: Positions;
}

class Bail extends Error {}
const BAIL = new Bail();

const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
/** Words YAML 1.1 may resolve to booleans or null (checked case-insensitively: the yaml package decides). */
const SPECIAL_WORDS = new Set(['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off', 'null']);
const SMALL_INT_RE = /^-?(?:0|[1-9][0-9]{0,14})$/;
/** Quantities such as 500m, 128Mi, 1.5Gi: strings under every YAML schema (0x.. and 0b.. excluded). */
const UNIT_RE = /^(?!0[xXbB])[0-9]+(?:\.[0-9]+)?[A-Za-z]+$/;
const JSON_ESCAPES_ONLY = /^(?:[^\\]|\\["\\\/bfnrt]|\\u[0-9A-Fa-f]{4})*$/;

const resolved = new Map<string, unknown>();

/** The value the yaml package (YAML 1.1 schema) gives a plain scalar. */
function resolvePlain(s: string): unknown {
  const first = s.charCodeAt(0);
  const isLetter = (first >= 65 && first <= 90) || (first >= 97 && first <= 122) || first === 95 || first === 47;
  if (isLetter && (s.length > 5 || !SPECIAL_WORDS.has(s.toLowerCase()))) return s;
  if (SMALL_INT_RE.test(s)) return Number(s);
  if (UNIT_RE.test(s)) return s;
  if (resolved.has(s)) return resolved.get(s);
  const doc = parseDocument(s, { version: '1.1' });
  const c = doc.contents;
  if (doc.errors.length || !isScalar(c) || c.type !== 'PLAIN' || !c.range || c.range[0] !== 0 || c.range[1] !== s.length) throw BAIL;
  const v = c.toJS(doc);
  if (resolved.size < 10_000) resolved.set(s, v);
  return v;
}

/**
 * `text.indexOf(needle, from)` limited to [from, end): -1 when not found before `end`. Searches
 * must stay within the line, or a file without comments would be scanned to its end for every
 * scalar (quadratic).
 */
function indexIn(text: string, needle: string, from: number, end: number): number {
  const n = needle.length;
  const c0 = needle.charCodeAt(0);
  for (let i = from; i + n <= end; i++) {
    if (text.charCodeAt(i) === c0 && (n === 1 || text.startsWith(needle, i))) return i;
  }
  return -1;
}

/** Parses `text` on the fast path; undefined when it holds anything outside the subset. */
export function parseFastYaml(text: string, maxDepth: number): FastFile | undefined {
  if (text.includes('\r') || text.includes('\t')) return undefined;
  try {
    return new FastParser(text, maxDepth).file();
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

class FastParser {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Lines of the current document: [from, to). */
  private to = 0;

  constructor(private readonly text: string, private readonly maxDepth: number) {
    let pos = 0;
    for (;;) {
      const nl = text.indexOf('\n', pos);
      this.starts.push(pos);
      if (nl < 0) {
        this.ends.push(text.length);
        break;
      }
      this.ends.push(nl);
      pos = nl + 1;
    }
  }

  file(): FastFile {
    const docs: (FastDoc | null)[] = [];
    const n = this.starts.length;
    let from = 0;
    let content = false;
    let sawMarker = false;
    for (let i = 0; i <= n; i++) {
      const kind = i === n ? 'eof' : this.lineKind(i);
      if (kind === 'marker' || kind === 'eof') {
        // A `---` starts a new document unless the current one has neither content nor its own marker.
        if (content || sawMarker || kind === 'eof') {
          if (content || sawMarker) docs.push(this.doc(from, i));
        }
        from = i + 1;
        content = false;
        sawMarker = kind === 'marker';
      } else if (kind === 'content') {
        content = true;
      }
    }
    return { docs, lineStarts: this.starts };
  }

  /** 'marker' for `---`, 'blank' for empty and comment-only lines, else 'content'; bails on directives and `...`. */
  private lineKind(i: number): 'marker' | 'blank' | 'content' {
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    const t = this.text;
    if (t.charCodeAt(s) === 45 && t.startsWith('---', s) && (e === s + 3 || t.charCodeAt(s + 3) === 32)) {
      let j = s + 3;
      while (j < e && t.charCodeAt(j) === 32) j++;
      if (j < e && t.charCodeAt(j) !== 35) throw BAIL; // content after the marker
      return 'marker';
    }
    if (t.charCodeAt(s) === 37) throw BAIL; // %YAML / %TAG directives
    if (t.startsWith('...', s) && (e === s + 3 || t.charCodeAt(s + 3) === 32)) throw BAIL;
    let j = s;
    while (j < e && t.charCodeAt(j) === 32) j++;
    return j === e || t.charCodeAt(j) === 35 ? 'blank' : 'content';
  }

  private doc(from: number, to: number): FastDoc | null {
    this.to = to;
    let i = this.nextContent(from);
    // Leading lines of the document may be its own `---` marker (from points after it) or blank.
    if (i >= to) return null;
    const indent = this.indentOf(i);
    if (!this.isMapLine(i, indent)) throw BAIL; // scalars and lists at the root: the slow path reports them
    const { value, next, positions } = this.map(i, indent, 1);
    if (this.nextContent(next) < to) throw BAIL;
    return { value: value as Record<string, unknown>, start: this.starts[i]! + indent, positions: positions! };
  }

  /** The first line at or after `i` (within the document) that is neither blank nor a comment. */
  private nextContent(i: number): number {
    const t = this.text;
    for (; i < this.to; i++) {
      const s = this.starts[i]!;
      const e = this.ends[i]!;
      let j = s;
      while (j < e && t.charCodeAt(j) === 32) j++;
      if (j < e && t.charCodeAt(j) !== 35) return i;
    }
    return this.to;
  }

  private indentOf(i: number): number {
    const t = this.text;
    const s = this.starts[i]!;
    let j = s;
    while (t.charCodeAt(j) === 32) j++;
    return j - s;
  }

  /** Whether the text at column `col` of line `i` starts a mapping entry (bails on a `: ` it cannot use as a key). */
  private isMapLine(i: number, col: number): boolean {
    const t = this.text;
    const s = this.starts[i]! + col;
    const c = t.charCodeAt(s);
    if (c === 45 && (s + 1 === this.ends[i] || t.charCodeAt(s + 1) === 32)) return false; // "- "
    return this.keyAt(s, this.ends[i]!) !== undefined;
  }

  /**
   * The key of an entry at `s`: its text and where the value starts; undefined when the text is
   * not an entry (a plain or quoted scalar). Bails on entries with keys outside the subset.
   */
  private keyAt(s: number, e: number): { key: string; valueAt: number } | undefined {
    const t = this.text;
    const q = t.charCodeAt(s);
    let key: string;
    let after: number;
    if (q === 34 || q === 39) {
      const close = indexIn(t, q === 34 ? '"' : "'", s + 1, e);
      if (close < 0 || close >= e) throw BAIL;
      if (t.charCodeAt(close + 1) !== 58) return undefined; // a quoted scalar, not a key
      key = t.slice(s + 1, close);
      if (key.includes('\\') || (q === 39 && t.charCodeAt(close + 1) === 39)) throw BAIL;
      after = close + 1;
    } else {
      // A plain key ends at the first ": " (or ":" at the end of the line).
      let colon = s;
      for (;;) {
        colon = indexIn(t, ':', colon, e);
        if (colon < 0 || colon >= e) return undefined;
        if (colon + 1 === e || t.charCodeAt(colon + 1) === 32) break;
        colon++;
      }
      const hash = indexIn(t, ' #', s, colon);
      if (hash >= 0 && hash < colon) return undefined; // "value # comment: ..." is a scalar with a comment
      key = t.slice(s, colon);
      if (!KEY_RE.test(key) || (key.length <= 5 && SPECIAL_WORDS.has(key.toLowerCase())) || key === '__proto__') throw BAIL;
      after = colon;
    }
    if (after + 1 !== e && t.charCodeAt(after + 1) !== 32) throw BAIL; // "key":value
    let v = after + 1;
    while (v < e && t.charCodeAt(v) === 32) v++;
    return { key, valueAt: v };
  }

  /** A block mapping whose entries start at column `col`, the first on line `i`. */
  private map(i: number, col: number, depth: number): NodeResult {
    if (depth > this.maxDepth) throw BAIL;
    const obj: Record<string, unknown> = {};
    const positions: Positions = [];
    for (;;) {
      const s = this.starts[i]! + col;
      const k = this.keyAt(s, this.ends[i]!);
      if (!k) throw BAIL;
      if (Object.hasOwn(obj, k.key)) throw BAIL; // duplicate: the slow path reports it
      const r = this.value(i, k.valueAt, col, depth);
      positions.push(s, r.positions);
      obj[k.key] = r.value;
      i = r.next;
      if (i >= this.to) return { value: obj, next: i, positions };
      const ind = this.indentOf(i);
      if (ind > col) throw BAIL;
      if (ind < col || this.isDash(i, col)) return { value: obj, next: i, positions };
    }
  }

  private isDash(i: number, col: number): boolean {
    const p = this.starts[i]! + col;
    return this.text.charCodeAt(p) === 45 && (p + 1 === this.ends[i] || this.text.charCodeAt(p + 1) === 32);
  }

  /** The value of a mapping entry on line `i` at offset `v` (the entry's key is at column `col`). */
  private value(i: number, v: number, col: number, depth: number): NodeResult {
    const t = this.text;
    const e = this.ends[i]!;
    if (v === e || t.charCodeAt(v) === 35) {
      const j = this.nextContent(i + 1);
      if (j >= this.to) return { value: null, next: j };
      const ind = this.indentOf(j);
      if (ind > col) {
        return this.isDash(j, ind) ? this.seq(j, ind, depth + 1) : this.nestedMap(j, ind, depth + 1);
      }
      if (ind === col && this.isDash(j, col)) return this.seq(j, col, depth + 1);
      return { value: null, next: j };
    }
    const c = t.charCodeAt(v);
    if (c === 124) return this.literal(i, v, col);
    const r = this.inlineScalar(v, e, depth);
    return { value: r, next: this.nextContent(i + 1) };
  }

  private nestedMap(j: number, ind: number, depth: number): NodeResult {
    if (!this.isMapLine(j, ind)) throw BAIL; // a multi-line plain scalar or an error
    return this.map(j, ind, depth);
  }

  /** A block sequence whose `-` indicators are at column `col`, the first on line `i`. */
  private seq(i: number, col: number, depth: number): NodeResult {
    if (depth > this.maxDepth) throw BAIL;
    const arr: unknown[] = [];
    const positions: Positions = [];
    const t = this.text;
    while (i < this.to && this.indentOf(i) === col && this.isDash(i, col)) {
      const e = this.ends[i]!;
      let p = this.starts[i]! + col + 1;
      while (p < e && t.charCodeAt(p) === 32) p++;
      if (p === e || t.charCodeAt(p) === 35) throw BAIL; // "-" alone: a null or a nested node on the next lines
      if (t.charCodeAt(p) === 45 && (p + 1 === e || t.charCodeAt(p + 1) === 32)) throw BAIL; // "- - x"
      const itemCol = p - this.starts[i]!;
      if (this.keyAt(p, e) !== undefined) {
        const r = this.map(i, itemCol, depth + 1);
        positions.push(p, r.positions);
        arr.push(r.value);
        i = r.next;
      } else {
        if (t.charCodeAt(p) === 124) throw BAIL; // literal block as an item
        positions.push(p, undefined);
        arr.push(this.inlineScalar(p, e, depth));
        i = this.nextContent(i + 1);
      }
      if (i < this.to && this.indentOf(i) > col) throw BAIL;
    }
    return { value: arr, next: i, positions };
  }

  /** A scalar, `[]` or `{}` from `v` to the end of the line (a trailing comment allowed). */
  private inlineScalar(v: number, e: number, depth: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(v);
    if (c === 34 || c === 39) {
      let close = v + 1;
      let raw: string;
      if (c === 39) {
        for (;;) {
          close = indexIn(t, "'", close, e);
          if (close < 0 || close >= e) throw BAIL;
          if (t.charCodeAt(close + 1) === 39) close += 2;
          else break;
        }
        raw = t.slice(v + 1, close).replaceAll("''", "'");
      } else {
        for (;;) {
          close = indexIn(t, '"', close, e);
          if (close < 0 || close >= e) throw BAIL;
          let bs = 0;
          for (let k = close - 1; t.charCodeAt(k) === 92; k--) bs++;
          if (bs % 2 === 0) break;
          close++;
        }
        raw = t.slice(v + 1, close);
        if (raw.includes('\\')) {
          if (!JSON_ESCAPES_ONLY.test(raw)) throw BAIL;
          try {
            raw = JSON.parse(`"${raw}"`) as string;
          } catch {
            throw BAIL;
          }
        }
      }
      this.restIsComment(close + 1, e);
      return raw;
    }
    if (c === 91 || c === 123) {
      if (t.charCodeAt(v + 1) !== (c === 91 ? 93 : 125)) throw BAIL; // flow collections with content
      if (depth + 1 > this.maxDepth) throw BAIL;
      this.restIsComment(v + 2, e);
      return c === 91 ? [] : {};
    }
    // Indicators that cannot start a plain scalar here, or that we leave to the yaml package.
    if (c === 38 || c === 42 || c === 33 || c === 62 || c === 124 || c === 37 || c === 64 || c === 96 || c === 44 || c === 93 || c === 125 || c === 35 || c === 63 || c === 58) throw BAIL;
    if (c === 45 && (v + 1 === e || t.charCodeAt(v + 1) === 32)) throw BAIL;
    let end = e;
    const hash = indexIn(t, ' #', v, e);
    if (hash >= 0 && hash < e) end = hash;
    while (end > v && t.charCodeAt(end - 1) === 32) end--;
    const s = t.slice(v, end);
    if (s.endsWith(':') || s.includes(': ')) throw BAIL;
    return resolvePlain(s);
  }

  private restIsComment(p: number, e: number): void {
    const t = this.text;
    if (p === e) return;
    if (t.charCodeAt(p) !== 32) throw BAIL;
    while (p < e && t.charCodeAt(p) === 32) p++;
    if (p < e && t.charCodeAt(p) !== 35) throw BAIL;
  }

  /** A `|` or `|-` literal block, the value of an entry whose key is at column `col`. */
  private literal(i: number, v: number, col: number): NodeResult {
    const t = this.text;
    const e = this.ends[i]!;
    let p = v + 1;
    let strip = false;
    if (t.charCodeAt(p) === 45) {
      strip = true;
      p++;
    }
    if (p !== e) throw BAIL; // keep (+), explicit indentation, or a comment after the header
    // Content indentation: that of the first non-blank line.
    let j = i + 1;
    let lead = 0;
    for (; j < this.to; j++) {
      const ind = this.indentOf(j);
      if (this.starts[j]! + ind < this.ends[j]!) break;
      lead = Math.max(lead, ind);
    }
    if (j >= this.to) throw BAIL;
    const m = this.indentOf(j);
    if (m <= col || lead > m) throw BAIL;
    const lines: string[] = [];
    for (let k = i + 1; k < j; k++) lines.push('');
    let next = j;
    for (; next < this.to; next++) {
      const s = this.starts[next]!;
      const end = this.ends[next]!;
      const ind = this.indentOf(next);
      if (s + ind === end) {
        if (ind > m) throw BAIL; // whitespace-only line with content spaces
        lines.push('');
        continue;
      }
      if (ind < m) break;
      lines.push(t.slice(s + m, end));
    }
    // Trailing empty lines belong to no one (clip and strip both drop them).
    let last = lines.length;
    while (last > 0 && lines[last - 1] === '') last--;
    const body = lines.slice(0, last).join('\n');
    const value = strip ? body : body + '\n';
    // `next` is the first line after the block; skip blank and comment lines before it for the caller.
    return { value, next: this.nextContent(next) };
  }
}

/** 1-based line and column of `offset` (the yaml package's LineCounter.linePos, same results). */
export function linePos(lineStarts: readonly number[], offset: number): { line: number; column: number } {
  let low = 0;
  let high = lineStarts.length;
  while (low < high) {
    const mid = (low + high) >> 1;
    if (lineStarts[mid]! < offset) low = mid + 1;
    else high = mid;
  }
  if (lineStarts[low] === offset) return { line: low + 1, column: 1 };
  if (low === 0) return { line: 0, column: offset };
  return { line: low, column: offset - lineStarts[low - 1]! + 1 };
}

/** Offset of the field at `path` (of its key, for map entries), or of the nearest existing ancestor. */
export function fastOffsetOf(doc: FastDoc, path: readonly (string | number)[]): number {
  let node: unknown = doc.value;
  let pos: Positions | undefined = doc.positions;
  let offset = doc.start;
  for (const seg of path) {
    if (typeof node !== 'object' || node === null || pos === undefined) break;
    let idx: number;
    if (Array.isArray(node)) {
      if (typeof seg !== 'number' || !Number.isInteger(seg) || seg < 0 || seg >= node.length) break;
      idx = seg;
      node = node[seg];
    } else {
      const key = String(seg);
      if (!Object.hasOwn(node, key)) break;
      idx = Object.keys(node).indexOf(key);
      node = (node as Record<string, unknown>)[key];
    }
    offset = pos[2 * idx] as number;
    pos = pos[2 * idx + 1] as Positions | undefined;
  }
  return offset;
}
