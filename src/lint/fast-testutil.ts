/**
 * Test helpers for the fast parsers (fast-yaml.ts, fast-json.ts): their whole contract is "the
 * same as the yaml package", so tests compare every value, document and field position.
 */
import assert from 'node:assert/strict';
import { parseManifests, parseWithYamlPackage, type LoadResult } from './load.js';
import type { FieldPath } from './types.js';

/** Every path into a value (keys and items), plus a missing child of each, for locate comparisons. */
function pathsOf(v: unknown, prefix: (string | number)[] = [], out: FieldPath[] = []): FieldPath[] {
  out.push(prefix);
  out.push([...prefix, 'no-such-field']);
  out.push([...prefix, 99]);
  if (Array.isArray(v)) v.forEach((x, i) => pathsOf(x, [...prefix, i], out));
  else if (typeof v === 'object' && v !== null) for (const [k, x] of Object.entries(v)) pathsOf(x, [...prefix, k], out);
  return out;
}

function summary(r: LoadResult): unknown {
  return {
    errors: r.errors.map((e) => e.format()),
    objects: r.objects.map((o) => ({
      obj: o.obj,
      file: o.source?.file,
      doc: o.source?.doc,
      positions: pathsOf(o.obj).map((p) => [p.join('.'), o.source!.locate(p)]),
    })),
  };
}

/** parseManifests (fast paths first) gives exactly what the yaml package alone gives. */
export function assertSameAsYamlPackage(text: string, what = ''): void {
  assert.deepEqual(summary(parseManifests(text, 'f.yaml')), summary(parseWithYamlPackage(text, 'f.yaml')), `${what}\n${text}`);
}

/** Deterministic PRNG (mulberry32), so a failure is reproducible from its seed. */
function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * Mutates `base` texts at random (inserting `pieces`, deleting characters and, with `swapLines`,
 * swapping lines) and asserts each result parses exactly as with the yaml package alone; returns
 * how many mutated texts `fast` still accepted (a fast path that refuses everything proves nothing).
 * FUZZ_N (default 400) mutated texts.
 */
export function fuzzAgainstYamlPackage(o: { base: readonly string[]; pieces: readonly string[]; swapLines?: boolean; fast: (text: string) => boolean }): number {
  let accepted = 0;
  for (let seed = 1; seed <= Number(process.env['FUZZ_N'] ?? 400); seed++) {
    const rnd = prng(seed);
    let text = o.base[seed % o.base.length]!;
    for (let m = 1 + Math.floor(rnd() * 3); m > 0; m--) {
      const at = Math.floor(rnd() * text.length);
      const op = rnd();
      if (op < 0.45) text = text.slice(0, at) + o.pieces[Math.floor(rnd() * o.pieces.length)] + text.slice(at);
      else if (op < 0.75 || !o.swapLines) text = text.slice(0, at) + text.slice(at + 1 + Math.floor(rnd() * 3));
      else {
        const lines = text.split('\n');
        const i = Math.floor(rnd() * lines.length);
        const j = Math.floor(rnd() * lines.length);
        [lines[i], lines[j]] = [lines[j]!, lines[i]!];
        text = lines.join('\n');
      }
    }
    if (o.fast(text)) accepted++;
    assertSameAsYamlPackage(text, `seed ${seed}`);
  }
  return accepted;
}
