/**
 * A JSON parser that behaves like kube-apiserver's strict decoder on the points clients can
 * observe: duplicate object keys are reported with their field paths (`spec.replicas`,
 * `spec.containers[0].name`, `metadata.labels.app`) while the last value wins, and syntax
 * errors carry Go's encoding/json wording ("invalid character 'x' looking for beginning of
 * value", "unexpected end of JSON input") plus the byte offset.
 *
 * Contract: `parseJson(text).value` equals `JSON.parse(text)` for every valid input (keys named
 * `__proto__` become own properties, never prototypes).
 */

export class JsonSyntaxError extends Error {
  constructor(
    message: string,
    /** Offset (in UTF-16 code units) of the offending character. */
    readonly offset: number,
  ) {
    super(message);
    this.name = 'JsonSyntaxError';
  }
}

export interface ParsedJson {
  value: unknown;
  /** Paths of keys that appeared more than once in the same object, in document order, deduplicated. */
  duplicates: string[];
}

/** Go's limit on nesting depth. */
const MAX_DEPTH = 10000;

function quoteChar(c: string): string {
  if (c === "'") return "'\\''";
  if (c === '"') return `'"'`;
  return `'${JSON.stringify(c).slice(1, -1)}'`;
}

function joinKey(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

class Parser {
  private pos = 0;
  private depth = 0;
  readonly duplicates: string[] = [];
  private readonly seenDup = new Set<string>();

  constructor(private readonly text: string) {}

  fail(context: string): never {
    if (this.pos >= this.text.length) throw new JsonSyntaxError('unexpected end of JSON input', this.pos);
    throw new JsonSyntaxError(`invalid character ${quoteChar(this.text[this.pos])} ${context}`, this.pos);
  }

  skipWs(): void {
    const t = this.text;
    while (this.pos < t.length) {
      const c = t.charCodeAt(this.pos);
      if (c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d) this.pos++;
      else break;
    }
  }

  parseTop(): unknown {
    this.skipWs();
    const v = this.value('');
    this.skipWs();
    if (this.pos < this.text.length) this.fail('after top-level value');
    return v;
  }

  value(path: string): unknown {
    const c = this.text[this.pos];
    switch (c) {
      case '{':
        return this.object(path);
      case '[':
        return this.array(path);
      case '"':
        return this.string();
      case 't':
        return this.literal('true', true);
      case 'f':
        return this.literal('false', false);
      case 'n':
        return this.literal('null', null);
      default:
        if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) return this.number();
        return this.fail('looking for beginning of value');
    }
  }

  enter(): void {
    if (++this.depth > MAX_DEPTH) throw new JsonSyntaxError('exceeded max depth', this.pos);
  }

  object(path: string): Record<string, unknown> {
    this.enter();
    this.pos++; // {
    const out: Record<string, unknown> = {};
    const seen = new Set<string>();
    this.skipWs();
    if (this.text[this.pos] === '}') {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWs();
      if (this.text[this.pos] !== '"') this.fail('looking for beginning of object key string');
      const key = this.string();
      this.skipWs();
      if (this.text[this.pos] !== ':') this.fail('after object key');
      this.pos++;
      this.skipWs();
      const childPath = joinKey(path, key);
      if (seen.has(key)) {
        if (!this.seenDup.has(childPath)) {
          this.seenDup.add(childPath);
          this.duplicates.push(childPath);
        }
      } else seen.add(key);
      const v = this.value(childPath);
      if (key === '__proto__') Object.defineProperty(out, key, { value: v, enumerable: true, writable: true, configurable: true });
      else out[key] = v;
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === '}') {
        this.pos++;
        this.depth--;
        return out;
      }
      this.fail('after object key:value pair');
    }
  }

  array(path: string): unknown[] {
    this.enter();
    this.pos++; // [
    const out: unknown[] = [];
    this.skipWs();
    if (this.text[this.pos] === ']') {
      this.pos++;
      this.depth--;
      return out;
    }
    for (;;) {
      this.skipWs();
      out.push(this.value(`${path}[${out.length}]`));
      this.skipWs();
      const c = this.text[this.pos];
      if (c === ',') {
        this.pos++;
        continue;
      }
      if (c === ']') {
        this.pos++;
        this.depth--;
        return out;
      }
      this.fail('after array element');
    }
  }

  string(): string {
    const t = this.text;
    const start = ++this.pos; // opening quote
    // Fast path: no escapes.
    let i = start;
    while (i < t.length) {
      const c = t.charCodeAt(i);
      if (c === 0x22) {
        this.pos = i + 1;
        return t.slice(start, i);
      }
      if (c === 0x5c || c < 0x20) break;
      i++;
    }
    let out = t.slice(start, i);
    this.pos = i;
    for (;;) {
      if (this.pos >= t.length) this.fail('in string literal');
      const ch = t[this.pos];
      const code = ch.charCodeAt(0);
      if (ch === '"') {
        this.pos++;
        return out;
      }
      if (code < 0x20) this.fail('in string literal');
      if (ch !== '\\') {
        out += ch;
        this.pos++;
        continue;
      }
      this.pos++;
      const e = t[this.pos];
      const simple: Record<string, string> = { '"': '"', '\\': '\\', '/': '/', b: '\b', f: '\f', n: '\n', r: '\r', t: '\t' };
      if (e !== undefined && e in simple) {
        out += simple[e];
        this.pos++;
      } else if (e === 'u') {
        this.pos++;
        let hex = '';
        for (let k = 0; k < 4; k++) {
          const h = t[this.pos];
          if (h === undefined || !/[0-9a-fA-F]/.test(h)) this.fail('in \\u hexadecimal character escape');
          hex += h;
          this.pos++;
        }
        out += String.fromCharCode(parseInt(hex, 16));
      } else this.fail('in string escape code');
    }
  }

  literal<T>(word: string, v: T): T {
    for (let k = 0; k < word.length; k++) {
      if (this.text[this.pos + k] !== word[k]) {
        this.pos += k;
        this.fail(`in literal ${word} (expecting ${quoteChar(word[k])})`);
      }
    }
    this.pos += word.length;
    return v;
  }

  number(): number {
    const t = this.text;
    const start = this.pos;
    const digit = (): boolean => this.pos < t.length && t[this.pos] >= '0' && t[this.pos] <= '9';
    if (t[this.pos] === '-') {
      this.pos++;
      if (!digit()) this.fail('in numeric literal');
    }
    if (t[this.pos] === '0') this.pos++;
    else while (digit()) this.pos++;
    if (t[this.pos] === '.') {
      this.pos++;
      if (!digit()) this.fail('after decimal point in numeric literal');
      while (digit()) this.pos++;
    }
    if (t[this.pos] === 'e' || t[this.pos] === 'E') {
      this.pos++;
      if (t[this.pos] === '+' || t[this.pos] === '-') this.pos++;
      if (!digit()) this.fail('in exponent of numeric literal');
      while (digit()) this.pos++;
    }
    return Number(t.slice(start, this.pos));
  }
}

/** Parses JSON text; throws JsonSyntaxError (Go-worded message, offset) when it is not valid JSON. */
export function parseJson(text: string): ParsedJson {
  const p = new Parser(text);
  const value = p.parseTop();
  return { value, duplicates: p.duplicates };
}
