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
import { BAIL, Bail, PositionsWriter, type FastDoc, type FastFile } from './fast-doc.js';

export type { FastDoc, FastFile } from './fast-doc.js';
export { fastOffsetOf, linePos } from './fast-doc.js';


const KEY_RE = /^[A-Za-z_][A-Za-z0-9_.\/-]*$/;
/** Words YAML 1.1 may resolve to booleans or null (checked case-insensitively: the yaml package decides). */
const SPECIAL_WORDS = new Set(['y', 'n', 'yes', 'no', 'true', 'false', 'on', 'off', 'null']);
const SMALL_INT_RE = /^-?(?:0|[1-9][0-9]{0,14})$/;
/** Quantities such as 500m, 128Mi, 1.5Gi: strings under every YAML schema (0x.. and 0b.. excluded). */
const UNIT_RE = /^(?!0[xXbB])[0-9]+(?:\.[0-9]+)?[A-Za-z]+$/;
const JSON_ESCAPES_ONLY = /^(?:[^\\]|\\["\\\/bfnrt]|\\u[0-9A-Fa-f]{4})*$/;

const resolved = new Map<string, unknown>();

/** The value the yaml package (YAML 1.1 schema) gives a plain scalar. */
export function resolvePlain(s: string): unknown {
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

/** Characters of a plain key the fast path accepts after the first: [A-Za-z0-9_./-]. */
function isKeyChar(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || (c >= 45 && c <= 57) || c === 95; // 45-57: - . / 0-9
}

function isKeyStart(c: number): boolean {
  return (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c === 95;
}

/**
 * Keys seen recently, direct-mapped by length and a few characters: a hit is compared in place
 * (`startsWith`), so the common keys (name, image, ports, ...) are neither sliced nor re-hashed
 * into V8's string table for every occurrence. Purely a cache: a miss just slices.
 */
const KEY_CACHE: (string | undefined)[] = new Array<string | undefined>(4096);

class FastParser {
  private readonly starts: number[] = [];
  private readonly ends: number[] = [];
  /** Indentation of each line, or -1 for blank and comment-only lines (outside literal blocks). */
  private readonly indents: number[] = [];
  /** Lines of the current document: [from, to). */
  private to = 0;
  /** Set by keyAt: the key and where its value starts. */
  private key = '';
  private valueAt = 0;
  /** Set by every node parser: the first line after the node (blank and comment lines skipped). */
  private next = 0;
  /** Set by every node parser: the node's positions block, -1 for scalars. */
  private block = -1;
  private readonly positions = new PositionsWriter();

  constructor(private readonly text: string, private readonly maxDepth: number) {
    let pos = 0;
    const n = text.length;
    for (;;) {
      let nl = text.indexOf('\n', pos);
      if (nl < 0) nl = n;
      this.starts.push(pos);
      this.ends.push(nl);
      let j = pos;
      while (j < nl && text.charCodeAt(j) === 32) j++;
      this.indents.push(j === nl || text.charCodeAt(j) === 35 ? -1 : j - pos);
      if (nl === n) break;
      pos = nl + 1;
    }
  }

  file(): FastFile {
    const docs: (FastDoc | null)[] = [];
    const n = this.starts.length;
    const t = this.text;
    let from = 0;
    let content = false;
    let sawMarker = false;
    for (let i = 0; i <= n; i++) {
      let marker = i === n;
      if (!marker) {
        const ind = this.indents[i]!;
        if (ind !== 0) {
          // Blank, comment or indented: never a marker or directive.
          if (ind > 0) content = true;
          continue;
        }
        const s = this.starts[i]!;
        const c = t.charCodeAt(s);
        if (c === 45 || c === 46 || c === 37) marker = this.isMarker(i);
        if (!marker) {
          content = true;
          continue;
        }
      }
      // A `---` starts a new document unless the current one has neither content nor its own marker.
      if (content || sawMarker) docs.push(this.doc(from, i));
      from = i + 1;
      content = false;
      sawMarker = i < n;
    }
    // Documents were given the buffer as it was when they ended: all share the final one.
    const buf = this.positions.finish();
    for (const d of docs) if (d) d.positions.buf = buf;
    return { docs, lineStarts: this.starts };
  }

  /** Whether line `i` (content at column 0) is a `---` marker; bails on directives, `...` and content after `---`. */
  private isMarker(i: number): boolean {
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    const t = this.text;
    if (t.charCodeAt(s) === 45 && t.startsWith('---', s) && (e === s + 3 || t.charCodeAt(s + 3) === 32)) {
      let j = s + 3;
      while (j < e && t.charCodeAt(j) === 32) j++;
      if (j < e && t.charCodeAt(j) !== 35) throw BAIL; // content after the marker
      return true;
    }
    if (t.charCodeAt(s) === 37) throw BAIL; // %YAML / %TAG directives
    if (t.startsWith('...', s) && (e === s + 3 || t.charCodeAt(s + 3) === 32)) throw BAIL;
    return false;
  }

  private doc(from: number, to: number): FastDoc | null {
    this.to = to;
    let i = this.nextContent(from);
    // Leading lines of the document may be its own `---` marker (from points after it) or blank.
    if (i >= to) return null;
    const indent = this.indents[i]!;
    if (!this.isMapLine(i, indent)) throw BAIL; // scalars and lists at the root: the slow path reports them
    const value = this.map(i, indent, 1);
    if (this.nextContent(this.next) < to) throw BAIL;
    return { value: value as Record<string, unknown>, start: this.starts[i]! + indent, positions: { buf: this.positions.buffer(), root: this.block } };
  }

  /** The first line at or after `i` (within the document) that is neither blank nor a comment. */
  private nextContent(i: number): number {
    const to = this.to;
    const indents = this.indents;
    while (i < to && indents[i]! < 0) i++;
    return i < to ? i : to;
  }

  /** Leading spaces of line `i`, whatever follows them (literal blocks count comment-like lines as content). */
  private rawIndent(i: number): number {
    const t = this.text;
    const s = this.starts[i]!;
    const e = this.ends[i]!;
    let j = s;
    while (j < e && t.charCodeAt(j) === 32) j++;
    return j - s;
  }

  /** Whether the text at column `col` of line `i` starts a mapping entry (bails on a `: ` it cannot use as a key). */
  private isMapLine(i: number, col: number): boolean {
    const t = this.text;
    const s = this.starts[i]! + col;
    const c = t.charCodeAt(s);
    if (c === 45 && (s + 1 === this.ends[i] || t.charCodeAt(s + 1) === 32)) return false; // "- "
    return this.keyAt(s, this.ends[i]!);
  }

  /**
   * Whether the text at `s` is a mapping entry; if so its key and where its value starts are left
   * in this.key and this.valueAt. False when the text is a plain or quoted scalar. Bails on
   * entries with keys outside the subset. The common case (an identifier-like key followed by
   * `: ` or the end of the line) is one scan; anything else takes the general route.
   */
  private keyAt(s: number, e: number): boolean {
    const t = this.text;
    if (!isKeyStart(t.charCodeAt(s))) return this.keyAtGeneral(s, e);
    let p = s + 1;
    for (; p < e; p++) {
      const c = t.charCodeAt(p);
      if (c === 58) break;
      if (!isKeyChar(c)) return this.keyAtGeneral(s, e);
    }
    if (p === e) return false; // no colon: a plain scalar
    if (p + 1 !== e && t.charCodeAt(p + 1) !== 32) return this.keyAtGeneral(s, e); // "a:b", maybe a key later on
    const len = p - s;
    const c0 = t.charCodeAt(s);
    const h = (len * 131 + c0 * 31 + t.charCodeAt(p - 1) * 7 + t.charCodeAt(s + (len >> 1))) & 4095;
    const cached = KEY_CACHE[h];
    let key: string;
    if (cached !== undefined && cached.length === len && t.startsWith(cached, s)) {
      key = cached;
    } else {
      key = t.slice(s, p);
      if (len <= 5 && SPECIAL_WORDS.has(key.toLowerCase())) throw BAIL;
      if (key === '__proto__') throw BAIL;
      KEY_CACHE[h] = key;
    }
    let v = p + 1;
    while (v < e && t.charCodeAt(v) === 32) v++;
    this.key = key;
    this.valueAt = v;
    return true;
  }

  /** keyAt for everything but the common case: quoted keys, colons inside, comments, refusals. */
  private keyAtGeneral(s: number, e: number): boolean {
    const t = this.text;
    const q = t.charCodeAt(s);
    let key: string;
    let after: number;
    if (q === 34 || q === 39) {
      const close = indexIn(t, q === 34 ? '"' : "'", s + 1, e);
      if (close < 0 || close >= e) throw BAIL;
      if (t.charCodeAt(close + 1) !== 58) return false; // a quoted scalar, not a key
      key = t.slice(s + 1, close);
      if (key.includes('\\') || (q === 39 && t.charCodeAt(close + 1) === 39)) throw BAIL;
      after = close + 1;
    } else {
      // A plain key ends at the first ": " (or ":" at the end of the line).
      let colon = s;
      for (;;) {
        colon = indexIn(t, ':', colon, e);
        if (colon < 0 || colon >= e) return false;
        if (colon + 1 === e || t.charCodeAt(colon + 1) === 32) break;
        colon++;
      }
      const hash = indexIn(t, ' #', s, colon);
      if (hash >= 0 && hash < colon) return false; // "value # comment: ..." is a scalar with a comment
      key = t.slice(s, colon);
      if (!KEY_RE.test(key) || (key.length <= 5 && SPECIAL_WORDS.has(key.toLowerCase())) || key === '__proto__') throw BAIL;
      after = colon;
    }
    if (after + 1 !== e && t.charCodeAt(after + 1) !== 32) throw BAIL; // "key":value
    let v = after + 1;
    while (v < e && t.charCodeAt(v) === 32) v++;
    this.key = key;
    this.valueAt = v;
    return true;
  }

  /** A block mapping whose entries start at column `col`, the first on line `i`. */
  private map(i: number, col: number, depth: number): unknown {
    if (depth > this.maxDepth) throw BAIL;
    const obj: Record<string, unknown> = {};
    const base = this.positions.mark();
    const indents = this.indents;
    for (;;) {
      const s = this.starts[i]! + col;
      if (!this.keyAt(s, this.ends[i]!)) throw BAIL;
      const key = this.key;
      if (Object.hasOwn(obj, key)) throw BAIL; // duplicate: the slow path reports it
      obj[key] = this.value(i, this.valueAt, col, depth);
      this.positions.push(s, this.block);
      i = this.next;
      if (i < this.to) {
        const ind = indents[i]!;
        if (ind > col) throw BAIL;
        if (ind === col && !this.isDash(i, col)) continue;
      }
      this.next = i;
      this.block = this.positions.emit(base);
      return obj;
    }
  }

  private isDash(i: number, col: number): boolean {
    const p = this.starts[i]! + col;
    return this.text.charCodeAt(p) === 45 && (p + 1 === this.ends[i] || this.text.charCodeAt(p + 1) === 32);
  }

  /** The value of a mapping entry on line `i` at offset `v` (the entry's key is at column `col`). */
  private value(i: number, v: number, col: number, depth: number): unknown {
    const t = this.text;
    const e = this.ends[i]!;
    if (v === e || t.charCodeAt(v) === 35) {
      const j = this.nextContent(i + 1);
      if (j < this.to) {
        const ind = this.indents[j]!;
        if (ind > col) return this.isDash(j, ind) ? this.seq(j, ind, depth + 1) : this.nestedMap(j, ind, depth + 1);
        if (ind === col && this.isDash(j, col)) return this.seq(j, col, depth + 1);
      }
      this.next = j;
      this.block = -1;
      return null;
    }
    if (t.charCodeAt(v) === 124) return this.literal(i, v, col);
    const r = this.inlineScalar(v, e, depth);
    this.next = this.nextContent(i + 1);
    this.block = -1;
    return r;
  }

  private nestedMap(j: number, ind: number, depth: number): unknown {
    if (!this.isMapLine(j, ind)) throw BAIL; // a multi-line plain scalar or an error
    return this.map(j, ind, depth);
  }

  /** A block sequence whose `-` indicators are at column `col`, the first on line `i`. */
  private seq(i: number, col: number, depth: number): unknown {
    if (depth > this.maxDepth) throw BAIL;
    const arr: unknown[] = [];
    const base = this.positions.mark();
    const t = this.text;
    while (i < this.to && this.indents[i]! === col && this.isDash(i, col)) {
      const e = this.ends[i]!;
      let p = this.starts[i]! + col + 1;
      while (p < e && t.charCodeAt(p) === 32) p++;
      if (p === e || t.charCodeAt(p) === 35) throw BAIL; // "-" alone: a null or a nested node on the next lines
      if (t.charCodeAt(p) === 45 && (p + 1 === e || t.charCodeAt(p + 1) === 32)) throw BAIL; // "- - x"
      const itemCol = p - this.starts[i]!;
      if (this.keyAt(p, e)) {
        arr.push(this.map(i, itemCol, depth + 1));
        this.positions.push(p, this.block);
        i = this.next;
      } else {
        if (t.charCodeAt(p) === 124) throw BAIL; // literal block as an item
        arr.push(this.inlineScalar(p, e, depth));
        this.positions.push(p, -1);
        i = this.nextContent(i + 1);
      }
      if (i < this.to && this.indents[i]! > col) throw BAIL;
    }
    this.next = i;
    this.block = this.positions.emit(base);
    return arr;
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
  private literal(i: number, v: number, col: number): unknown {
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
      const ind = this.rawIndent(j);
      if (this.starts[j]! + ind < this.ends[j]!) break;
      lead = Math.max(lead, ind);
    }
    if (j >= this.to) throw BAIL;
    const m = this.rawIndent(j);
    if (m <= col || lead > m) throw BAIL;
    const lines: string[] = [];
    for (let k = i + 1; k < j; k++) lines.push('');
    let next = j;
    for (; next < this.to; next++) {
      const s = this.starts[next]!;
      const end = this.ends[next]!;
      const ind = this.rawIndent(next);
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
    this.next = this.nextContent(next);
    this.block = -1;
    return value;
  }
}
