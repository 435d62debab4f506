/**
 * Key-range helpers shared by the backends. Keys are compared in code-point order, which is
 * the order SQLite's BINARY collation gives (it compares UTF-8 bytes) and, for the ASCII keys
 * Kubernetes uses, the same as JavaScript's `<`.
 */

const MAX_CODE_POINT = 0x10ffff;

/**
 * The smallest string greater than every string that starts with `prefix`, or null when no such
 * bound exists (empty prefix, or a prefix made only of U+10FFFF). Like etcd's prefix range end,
 * but on code points: the last code point that can grow is incremented and everything after it
 * dropped, so `[prefix, prefixEnd(prefix))` is exactly the set of keys under the prefix.
 */
export function prefixEnd(prefix: string): string | null {
  const cps = Array.from(prefix, (c) => c.codePointAt(0) as number);
  for (let i = cps.length - 1; i >= 0; i--) {
    const cp = cps[i] as number;
    if (cp === MAX_CODE_POINT) continue;
    // Skip the surrogate block: it holds no code points a well-formed string can contain.
    const next = cp + 1 === 0xd800 ? 0xe000 : cp + 1;
    return String.fromCodePoint(...cps.slice(0, i), next);
  }
  return null;
}

/** Three-way comparison in code-point order (the order every backend lists keys in). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  // For strings without astral characters UTF-16 order equals code-point order; the slow path
  // only runs when either side contains a surrogate.
  if (!/[\ud800-\udfff]/.test(a) && !/[\ud800-\udfff]/.test(b)) return a < b ? -1 : 1;
  return Buffer.compare(Buffer.from(a, 'utf8'), Buffer.from(b, 'utf8'));
}
