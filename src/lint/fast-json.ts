/**
 * A fast path for JSON manifests (`kubectl get -o json`, generated Lists): one pass that builds
 * the values and records the offset of every key and array item, as fast-yaml.ts does for block
 * YAML. Without it, JSON went through the yaml package's full node tree (~1 MB/s).
 *
 * Contract (as fast-yaml.ts): all or nothing. The value and positions of accepted input equal
 * what the yaml package gives for the same text under the YAML 1.1 schema the loader uses, so it
 * returns undefined for anything where JSON and YAML 1.1 could differ or that it does not read
 * exactly: a root that is not an object, trailing content, duplicate keys, keys starting with a
 * digit (integer-like keys reorder a JS object), `__proto__`, control characters or invalid
 * escapes in strings, tabs or CRs in the file (kept simple: positions are counted as the yaml
 * package counts lines), nesting deeper than the limit. Numbers are resolved as YAML 1.1 plain
 * scalars (`1e3` is a string there), by the same resolver as the YAML fast path.
 */
import { BAIL, Bail, lineStartsOf, PositionsWriter, type FastFile } from './fast-doc.js';
import { resolvePlain } from './fast-yaml.js';

/** Parses `text` as one JSON object document; undefined when outside the subset (see above). */
export function parseFastJson(text: string, maxDepth: number): FastFile | undefined {
  if (text.includes('\r') || text.includes('\t')) return undefined;
  try {
    const p = new JsonParser(text, maxDepth);
    const doc = p.document();
    return doc ? { docs: [doc], lineStarts: lineStartsOf(text) } : undefined;
  } catch (e) {
    if (e instanceof Bail) return undefined;
    throw e;
  }
}

const NUMBER_RE = /^-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][-+]?[0-9]+)?$/;

class JsonParser {
  private pos = 0;
  /** Set by value(): the block of the value just parsed, -1 for scalars. */
  private block = -1;
  private readonly positions = new PositionsWriter();

  constructor(private readonly text: string, private readonly maxDepth: number) {}

  document(): { value: Record<string, unknown>; start: number; positions: { buf: Int32Array; root: number } } | undefined {
    this.ws();
    if (this.text.charCodeAt(this.pos) !== 123) return undefined; // `{`
    const start = this.pos;
    const value = this.value(1) as Record<string, unknown>;
    const root = this.block;
    this.ws();
    if (this.pos !== this.text.length) throw BAIL; // trailing content (another document, garbage)
    return { value, start, positions: { buf: this.positions.finish(), root } };
  }

  /** Skips spaces and newlines (tabs and CRs never reach here). */
  private ws(): void {
    const t = this.text;
    let c = t.charCodeAt(this.pos);
    while (c === 32 || c === 10) c = t.charCodeAt(++this.pos);
  }

  private value(depth: number): unknown {
    const t = this.text;
    const c = t.charCodeAt(this.pos);
    this.block = -1;
    if (c === 123) return this.object(depth);
    if (c === 91) return this.array(depth);
    if (c === 34) return this.string();
    if (t.startsWith('true', this.pos)) return this.word(4, true);
    if (t.startsWith('false', this.pos)) return this.word(5, false);
    if (t.startsWith('null', this.pos)) return this.word(4, null);
    return this.number();
  }

  private word<T>(n: number, v: T): T {
    this.pos += n;
    return v;
  }

  private number(): unknown {
    const t = this.text;
    const s = this.pos;
    let e = s;
    for (;;) {
      const c = t.charCodeAt(e);
      if ((c >= 48 && c <= 57) || c === 45 || c === 43 || c === 46 || c === 101 || c === 69) e++;
      else break;
    }
    const raw = t.slice(s, e);
    if (!NUMBER_RE.test(raw)) throw BAIL;
    this.pos = e;
    return resolvePlain(raw);
  }

  /** A string at this.pos (the opening quote); escapes decoded by JSON.parse. */
  private string(): string {
    const t = this.text;
    const s = this.pos + 1;
    let i = s;
    let escaped = false;
    for (;;) {
      const c = t.charCodeAt(i);
      if (c === 34) break;
      if (c === 92) {
        escaped = true;
        i += 2;
        continue;
      }
      if (c < 32 || Number.isNaN(c)) throw BAIL; // control character or end of text
      i++;
    }
    this.pos = i + 1;
    if (!escaped) return t.slice(s, i);
    try {
      return JSON.parse(t.slice(s - 1, i + 1)) as string;
    } catch {
      throw BAIL;
    }
  }

  private object(depth: number): Record<string, unknown> {
    if (depth > this.maxDepth) throw BAIL;
    const t = this.text;
    const obj: Record<string, unknown> = {};
    const base = this.positions.mark();
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 125) {
      this.pos++;
      this.block = this.positions.emit(base);
      return obj;
    }
    for (;;) {
      if (t.charCodeAt(this.pos) !== 34) throw BAIL;
      const keyAt = this.pos;
      const key = this.string();
      const k0 = key.charCodeAt(0);
      if ((k0 >= 48 && k0 <= 57) || key === '__proto__' || Object.hasOwn(obj, key)) throw BAIL;
      // YAML reads `"key": v` as an implicit key: on one line, at most 1024 characters.
      if (this.pos - keyAt > 1000) throw BAIL;
      while (t.charCodeAt(this.pos) === 32) this.pos++;
      if (t.charCodeAt(this.pos) !== 58) throw BAIL; // `:` (on the key's line)
      this.pos++;
      this.ws();
      obj[key] = this.value(depth + 1);
      this.positions.push(keyAt, this.block);
      this.ws();
      const c = t.charCodeAt(this.pos++);
      if (c === 125) break;
      if (c !== 44) throw BAIL;
      this.ws();
    }
    this.block = this.positions.emit(base);
    return obj;
  }

  private array(depth: number): unknown[] {
    if (depth > this.maxDepth) throw BAIL;
    const t = this.text;
    const arr: unknown[] = [];
    const base = this.positions.mark();
    this.pos++;
    this.ws();
    if (t.charCodeAt(this.pos) === 93) {
      this.pos++;
      this.block = this.positions.emit(base);
      return arr;
    }
    for (;;) {
      const itemAt = this.pos;
      arr.push(this.value(depth + 1));
      this.positions.push(itemAt, this.block);
      this.ws();
      const c = t.charCodeAt(this.pos++);
      if (c === 93) break;
      if (c !== 44) throw BAIL;
      this.ws();
    }
    this.block = this.positions.emit(base);
    return arr;
  }
}
