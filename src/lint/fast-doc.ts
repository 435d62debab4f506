/**
 * What the fast parsers (fast-yaml.ts for block YAML, fast-json.ts for JSON) produce: plain JS
 * documents plus the offset of every mapping key and sequence item, so `Source.locate` gives what
 * the yaml package's node tree gave, without building that tree.
 */

/** Thrown inside a fast parser for anything outside its subset: the caller falls back to the yaml package. */
export class Bail extends Error {}
export const BAIL = new Bail();

/**
 * Positions of every mapping key and sequence item of a file, as blocks in one flat array: a
 * block is [count, offset0, child0, offset1, child1, ...] for a mapping's keys (Object.keys order:
 * integer-like keys never reach a fast path) or a sequence's items, where childK is the block of
 * that entry's value when it is a mapping or a sequence, else -1. A parallel tree rather than a
 * Map keyed by the values (no identity hashes), and flat rather than nested arrays: positions
 * were half the memory of a loaded file as small JS arrays, 8 bytes per entry like this.
 */
export interface Positions {
  buf: Int32Array;
  /** The document root mapping's block. */
  root: number;
}

/** One parsed document: null for an empty one (comments only). */
export interface FastDoc {
  value: Record<string, unknown>;
  /** Offset of the document contents' start (the root mapping's first key, or its `{`). */
  start: number;
  positions: Positions;
}

export interface FastFile {
  docs: (FastDoc | null)[];
  /** Offsets where lines start (0 first), as the yaml package's LineCounter records them. */
  lineStarts: readonly number[];
}

/**
 * Writes Positions blocks. A container's entries are pushed while it is parsed (its children's
 * blocks are written first, as they finish), then `emit` turns them into its block.
 */
export class PositionsWriter {
  private buf = new Int32Array(4096);
  private len = 0;
  private readonly pending: number[] = [];
  /** Entries in use in `pending` (never shrunk: truncating an array costs more than the space). */
  private pendingLen = 0;

  /** Where the entries of a container that starts now begin (pass it to `emit`). */
  mark(): number {
    return this.pendingLen;
  }

  /** One entry of the container being parsed: its offset and its value's block (-1 for none). */
  push(offset: number, block: number): void {
    this.pending[this.pendingLen++] = offset;
    this.pending[this.pendingLen++] = block;
  }

  /** Writes the entries pushed since `base` as a block and returns the block's index. */
  emit(base: number): number {
    const pending = this.pending;
    const n = this.pendingLen - base;
    if (this.len + n + 1 > this.buf.length) {
      const bigger = new Int32Array(Math.max(this.buf.length * 2, this.len + n + 1));
      bigger.set(this.buf.subarray(0, this.len));
      this.buf = bigger;
    }
    const buf = this.buf;
    const block = this.len;
    buf[block] = n >> 1;
    for (let k = 0; k < n; k++) buf[block + 1 + k] = pending[base + k]!;
    this.len += n + 1;
    this.pendingLen = base;
    return block;
  }

  /** The buffer as it is now (it may still be replaced by a bigger one: give documents `finish()`'s). */
  buffer(): Int32Array {
    return this.buf;
  }

  /** The final buffer, trimmed to what was written. */
  finish(): Int32Array {
    if (this.buf.length !== this.len) this.buf = this.buf.slice(0, this.len);
    return this.buf;
  }
}

/** Offsets where lines start: 0, then after every `\n`. */
export function lineStartsOf(text: string): number[] {
  const out = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) out.push(i + 1);
  return out;
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
  const buf = doc.positions.buf;
  let block = doc.positions.root;
  let offset = doc.start;
  for (const seg of path) {
    if (typeof node !== 'object' || node === null || block < 0) break;
    let idx: number;
    if (Array.isArray(node)) {
      if (typeof seg !== 'number' || !Number.isInteger(seg) || seg < 0 || seg >= node.length) break;
      idx = seg;
      node = node[seg];
    } else {
      const key = String(seg);
      if (!Object.hasOwn(node, key)) break;
      // The key's index in Object.keys order (for-in gives the same order, without an array).
      idx = 0;
      for (const k in node) {
        if (k === key) break;
        idx++;
      }
      node = (node as Record<string, unknown>)[key];
    }
    if (idx >= buf[block]!) break;
    offset = buf[block + 1 + 2 * idx]!;
    block = buf[block + 2 + 2 * idx]!;
  }
  return offset;
}
