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
export function prng(seed: number): () => number {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
