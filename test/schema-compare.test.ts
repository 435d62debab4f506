/**
 * Compares our definitions with the upstream Kubernetes OpenAPI v2 schema, kind by kind: for
 * every served kind (and its List) the closure of definitions it reaches is walked on both
 * sides and every missing, extra or mistyped field is listed — type, format, $ref target,
 * items, additionalProperties, required, and the x-kubernetes list/map/patch extensions.
 * Descriptions, defaults and enums are ignored. The upstream file is read, never copied.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { RESOURCES, apiVersionOf } from '../src/api/resources.js';
import { openapiV2 } from '../src/api/openapi.js';

type J = Record<string, unknown>;
const REF_FILE = fileURLToPath(new URL('../../shared/reference/kubernetes-api-swagger-v1.36.json', import.meta.url));
const PREFIX = '#/definitions/';
const EXTENSIONS = [
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-patch-strategy',
  'x-kubernetes-patch-merge-key',
  'x-kubernetes-map-type',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-unions',
];

/** A property schema reduced to what we compare: no descriptions, defaults or enums. */
function normalise(s: unknown): unknown {
  if (!s || typeof s !== 'object') return s;
  const src = s as J;
  const out: J = {};
  for (const k of Object.keys(src).sort()) {
    if (k === 'description' || k === 'default' || k === 'enum') continue;
    if (k === 'items' || k === 'additionalProperties') out[k] = normalise(src[k]);
    else if (k === 'properties') out[k] = Object.fromEntries(Object.keys(src[k] as J).sort().map((p) => [p, normalise((src[k] as J)[p])]));
    else out[k] = src[k];
  }
  return out;
}

function refsIn(value: unknown, into: Set<string>): void {
  if (Array.isArray(value)) value.forEach((v) => refsIn(v, into));
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string') into.add(v.slice(PREFIX.length));
      else refsIn(v, into);
    }
  }
}

function closureOf(defs: Record<string, J>, roots: string[]): Set<string> {
  const seen = new Set<string>();
  const stack = [...roots];
  while (stack.length) {
    const n = stack.pop()!;
    if (seen.has(n)) continue;
    seen.add(n);
    const refs = new Set<string>();
    if (defs[n]) refsIn(defs[n], refs);
    stack.push(...refs);
  }
  return seen;
}

const show = (v: unknown): string => JSON.stringify(v);

/** Differences between one of our definitions and upstream's, as human-readable lines. */
export function compareDefinition(name: string, ours: J, theirs: J): string[] {
  const out: string[] = [];
  for (const k of ['type', 'format', ...EXTENSIONS]) {
    if (show(ours[k]) !== show(theirs[k])) out.push(`${name}: ${k} is ${show(ours[k])}, upstream ${show(theirs[k])}`);
  }
  const req = (d: J): string => show([...((d.required as string[]) ?? [])].sort());
  if (req(ours) !== req(theirs)) out.push(`${name}: required is ${req(ours)}, upstream ${req(theirs)}`);
  const op = (ours.properties ?? {}) as J;
  const tp = (theirs.properties ?? {}) as J;
  for (const p of Object.keys(tp)) if (!(p in op)) out.push(`${name}.${p}: missing`);
  for (const p of Object.keys(op)) if (!(p in tp)) out.push(`${name}.${p}: extra (not upstream)`);
  for (const p of Object.keys(op)) {
    if (!(p in tp)) continue;
    const a = show(normalise(op[p]));
    const b = show(normalise(tp[p]));
    if (a !== b) out.push(`${name}.${p}: is ${a}, upstream ${b}`);
  }
  const gvks = (d: J): string[] =>
    ((d['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[]) ?? []).map((g) => `${g.group}/${g.version}/${g.kind}`);
  const upstreamGvks = new Set(gvks(theirs));
  for (const g of gvks(ours)) if (!upstreamGvks.has(g)) out.push(`${name}: x-kubernetes-group-version-kind ${g} is not upstream`);
  return out;
}

/** Every difference in the closure of `roots`. */
export function compareClosure(ours: Record<string, J>, theirs: Record<string, J>, roots: string[]): string[] {
  const out: string[] = [];
  const upstream = closureOf(theirs, roots);
  const local = closureOf(ours, roots.filter((r) => ours[r] || theirs[r]));
  for (const n of [...new Set([...upstream, ...local])].sort()) {
    if (!theirs[n]) out.push(`${n}: extra definition (not upstream)`);
    else if (!ours[n]) out.push(`${n}: missing definition`);
    else out.push(...compareDefinition(n, ours[n], theirs[n]));
  }
  return out;
}

const haveReference = existsSync(REF_FILE);
const upstreamDefs: Record<string, J> = haveReference ? (JSON.parse(readFileSync(REF_FILE, 'utf8')) as { definitions: Record<string, J> }).definitions : {};
const ourDefs = (openapiV2() as { definitions: Record<string, J> }).definitions;

for (const res of RESOURCES) {
  const label = `${res.kind} (${apiVersionOf(res)})`;
  test(`schema matches upstream: ${label}`, (t) => {
    if (!haveReference) {
      t.skip(`reference schema not found at ${REF_FILE}`);
      return;
    }
    const roots = [res.definition];
    if (upstreamDefs[`${res.definition}List`]) roots.push(`${res.definition}List`);
    const diffs = compareClosure(ourDefs, upstreamDefs, roots);
    // The kind and its list must carry their own GVK.
    for (const r of roots) {
      const kind = r.slice(r.lastIndexOf('.') + 1);
      const g = (ourDefs[r]?.['x-kubernetes-group-version-kind'] as { group: string; version: string; kind: string }[] | undefined) ?? [];
      if (!g.some((x) => x.group === res.group && x.version === res.version && x.kind === kind))
        diffs.push(`${r}: lacks x-kubernetes-group-version-kind ${res.group}/${res.version}/${kind}`);
    }
    if (diffs.length) t.diagnostic(`${label}: ${diffs.length} difference(s)\n  ${diffs.join('\n  ')}`);
    assert.deepEqual(diffs, [], `${label} differs from upstream:\n  ${diffs.join('\n  ')}`);
  });
}

test('the comparison itself detects differences', () => {
  const theirs: Record<string, J> = {
    A: { type: 'object', required: ['x'], properties: { x: { type: 'string' }, y: { $ref: '#/definitions/B' }, z: { type: 'array', items: { type: 'string' }, 'x-kubernetes-list-type': 'atomic' } } },
    B: { type: 'object', properties: { n: { type: 'integer', format: 'int32' } } },
  };
  const ours: Record<string, J> = {
    A: { type: 'object', properties: { x: { type: 'string', description: 'ignored' }, z: { type: 'array', items: { type: 'string' } }, w: { type: 'boolean' } } },
  };
  assert.deepEqual(compareClosure(ours, theirs, ['A']), [
    'A: required is [], upstream ["x"]',
    'A.y: missing',
    'A.w: extra (not upstream)',
    'A.z: is {"items":{"type":"string"},"type":"array"}, upstream {"items":{"type":"string"},"type":"array","x-kubernetes-list-type":"atomic"}',
    'B: missing definition',
  ]);
  assert.deepEqual(compareClosure(theirs, theirs, ['A']), []);
});
