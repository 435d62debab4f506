/**
 * Decodes Kubernetes protobuf request bodies (`application/vnd.kubernetes.protobuf`) into the
 * JSON object the JSON path would have produced for the same request, so that everything after
 * body parsing (defaulting, validation, storage) sees one representation.
 *
 * A body is the 4-byte magic `k8s\0` and a runtime.Unknown envelope: typeMeta (1: apiVersion 1,
 * kind 2), raw (2: the object's own message), contentEncoding (3), contentType (4). The object
 * message is decoded by walking our schemas (src/api/defs) with the field numbers of tags.ts:
 * the schema says what a field is, the tag says where it is. Unknown field numbers are skipped,
 * as Go's decoder does, so newer clients can send fields we do not serve.
 *
 * JSON fidelity: zero scalars are dropped unless zero.ts says the field keeps them (see there);
 * messages are kept even when empty (Go's JSON encoder prints `status: {}` too); a zero Time is
 * `null`; `bytes` become base64 strings.
 *
 * Contract: any malformed input yields a thrown ProtoError with a one-line message; the decoder
 * never recurses deeper than MAX_DEPTH messages and never reads out of bounds.
 */
import { DEFINITIONS, resolve } from '../defs/index.js';
import { RESOURCES, apiVersionOf } from '../resources.js';
import type { Schema } from '../schema.js';
import { PROTO_TAGS } from './tags.js';
import { ProtoError, WIRE_BYTES, WIRE_FIXED32, WIRE_FIXED64, WIRE_VARINT, WireReader } from './wire.js';
import { PROTO_KEEP_ZERO } from './zero.js';

export { ProtoError } from './wire.js';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';
const MAGIC = [0x6b, 0x38, 0x73, 0x00];
/** Messages nested deeper than this are rejected (our schemas nest far less). */
const MAX_DEPTH = 64;

export interface DecodeOptions {
  /** Filled in when the envelope leaves apiVersion or kind empty (as the URL's kind does upstream). */
  defaults?: { apiVersion?: string; kind?: string };
}

/** Decodes one protobuf-encoded object; throws ProtoError on malformed input or unknown kinds. */
export function decodeKubeProtobuf(body: Uint8Array, opts: DecodeOptions = {}): { value: Record<string, unknown> } {
  return { value: decodeObject(body, opts, 0) };
}

/** `depth` counts messages already open around this object (RawExtension can nest whole objects). */
function decodeObject(body: Uint8Array, opts: DecodeOptions, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ProtoError('proto: message nested too deeply');
  if (body.length === 0) throw new ProtoError('empty data');
  if (body.length < MAGIC.length || MAGIC.some((b, i) => body[i] !== b)) {
    throw new ProtoError(`provided data does not appear to be a protobuf message, expected prefix [${MAGIC.join(' ')}]`);
  }
  if (body.length === MAGIC.length) throw new ProtoError('empty body');
  const env = readEnvelope(body.subarray(MAGIC.length));
  if (env.contentEncoding !== '') throw new ProtoError(`unsupported content encoding ${JSON.stringify(env.contentEncoding)}`);
  const apiVersion = env.apiVersion || (opts.defaults?.apiVersion ?? '');
  const kind = env.kind || (opts.defaults?.kind ?? '');
  const typeMeta = `runtime.TypeMeta{APIVersion:${JSON.stringify(env.apiVersion)}, Kind:${JSON.stringify(env.kind)}}`;
  if (kind === '') throw new ProtoError(`Object 'Kind' is missing in '${typeMeta}'`);
  if (apiVersion === '') throw new ProtoError(`Object 'apiVersion' is missing in '${typeMeta}'`);
  const defName = definitionFor(apiVersion, kind);
  if (!defName) throw new ProtoError(`no kind ${JSON.stringify(kind)} is registered for version ${JSON.stringify(apiVersion)}`);
  const obj = decodeMessage(env.raw, defName, depth);
  return { apiVersion, kind, ...obj };
}

interface Envelope {
  apiVersion: string;
  kind: string;
  raw: Uint8Array;
  contentEncoding: string;
}

function readEnvelope(data: Uint8Array): Envelope {
  const env: Envelope = { apiVersion: '', kind: '', raw: new Uint8Array(0), contentEncoding: '' };
  const r = new WireReader(data);
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field >= 1 && field <= 4) expectWire(wire, WIRE_BYTES, ['typeMeta', 'raw', 'contentEncoding', 'contentType'][field - 1]);
    if (field === 1) {
      const tm = new WireReader(r.bytes());
      while (!tm.done()) {
        const k = tm.key();
        if (k.field === 1 || k.field === 2) {
          expectWire(k.wire, WIRE_BYTES, k.field === 1 ? 'apiVersion' : 'kind');
          const s = utf8(tm.bytes());
          if (k.field === 1) env.apiVersion = s;
          else env.kind = s;
        } else tm.skip(k.wire);
      }
    } else if (field === 2) env.raw = r.bytes();
    else if (field === 3) env.contentEncoding = utf8(r.bytes());
    else r.skip(wire);
  }
  return env;
}

let kindIndex: Map<string, string> | undefined;

/** The definition decoding `apiVersion`/`kind`: a served kind, or any kind-bearing definition (DeleteOptions, Scale, Eviction). */
function definitionFor(apiVersion: string, kind: string): string | undefined {
  if (!kindIndex) {
    const idx = new Map<string, string>();
    for (const r of RESOURCES) idx.set(`${apiVersionOf(r)}|${r.kind}`, r.definition);
    for (const [name, s] of Object.entries(DEFINITIONS)) {
      if (s.type !== 'object' || !s.gvk) continue;
      for (const g of s.gvk) {
        const key = `${apiVersionOf(g)}|${g.kind}`;
        if (!idx.has(key) && PROTO_TAGS[name]) idx.set(key, name);
      }
    }
    kindIndex = idx;
  }
  return kindIndex.get(`${apiVersion}|${kind}`);
}

// --- plans: per-definition field-number lookup, built once --------------------------------------

interface FieldStep {
  kind: 'field';
  name: string;
  schema: Schema;
  keepZero: boolean;
}
/** A field whose message is flattened into the enclosing JSON object (Go's inline embedding). */
interface NestedStep {
  kind: 'nested';
  plan: Plan;
}
type Step = FieldStep | NestedStep;
type Plan = Map<number, Step>;

const plans = new Map<string, Plan>();

function planFor(defName: string): Plan {
  const cached = plans.get(defName);
  if (cached) return cached;
  const schema = resolve(defName);
  const tags = PROTO_TAGS[defName];
  if (!schema || schema.type !== 'object' || !tags) throw new ProtoError(`no protobuf mapping for ${defName}`);
  const keep = new Set((PROTO_KEEP_ZERO[defName] ?? '').split(' '));
  const plan: Plan = new Map();
  for (const [name, tag] of Object.entries(tags)) {
    const fieldSchema = schema.properties[name];
    if (!fieldSchema) continue;
    const path = typeof tag === 'number' ? [tag] : tag;
    let cur = plan;
    for (const t of path.slice(0, -1)) {
      let step = cur.get(t);
      if (!step) cur.set(t, (step = { kind: 'nested', plan: new Map() }));
      if (step.kind !== 'nested') throw new ProtoError(`conflicting protobuf mapping in ${defName}`);
      cur = step.plan;
    }
    cur.set(path[path.length - 1], { kind: 'field', name, schema: fieldSchema, keepZero: keep.has(name) });
  }
  plans.set(defName, plan);
  return plan;
}

// --- messages -----------------------------------------------------------------------------------

function decodeMessage(data: Uint8Array, defName: string, depth: number): Record<string, unknown> {
  if (depth > MAX_DEPTH) throw new ProtoError('proto: message nested too deeply');
  const out: Record<string, unknown> = {};
  applyMessage(data, planFor(defName), { out, depth });
  return out;
}

function applyMessage(data: Uint8Array, plan: Plan, ctx: { out: Record<string, unknown>; depth: number }): void {
  const r = new WireReader(data);
  while (!r.done()) {
    const { field, wire } = r.key();
    const step = plan.get(field);
    if (!step) {
      r.skip(wire);
    } else if (step.kind === 'nested') {
      expectWire(wire, WIRE_BYTES, `#${field}`);
      if (ctx.depth + 1 > MAX_DEPTH) throw new ProtoError('proto: message nested too deeply');
      applyMessage(r.bytes(), step.plan, { out: ctx.out, depth: ctx.depth + 1 });
    } else {
      applyField(r, { wire, step, out: ctx.out, depth: ctx.depth });
    }
  }
}

interface FieldCtx {
  wire: number;
  step: FieldStep;
  out: Record<string, unknown>;
  depth: number;
}

function applyField(r: WireReader, ctx: FieldCtx): void {
  const { wire, step, out, depth } = ctx;
  const { name, schema } = step;
  if (schema.type === 'array') {
    const list = Array.isArray(out[name]) ? (out[name] as unknown[]) : [];
    out[name] = list;
    const item = schema.items;
    const scalarWire = packableWire(item);
    if (scalarWire !== undefined && wire === WIRE_BYTES) {
      // Packed repeated scalars: one length-delimited run of values.
      const run = new WireReader(r.bytes());
      while (!run.done()) list.push(readValue(run, { wire: scalarWire, schema: item, name, depth }));
    } else {
      list.push(readValue(r, { wire, schema: item, name, depth }));
    }
    return;
  }
  if (schema.type === 'map') {
    expectWire(wire, WIRE_BYTES, name);
    const entries = out[name] !== null && typeof out[name] === 'object' ? (out[name] as Record<string, unknown>) : {};
    out[name] = entries;
    const [key, value] = readMapEntry(r.bytes(), { schema: schema.values, name, depth });
    Object.defineProperty(entries, key, { value, enumerable: true, writable: true, configurable: true });
    return;
  }
  const value = readValue(r, { wire, schema, name, depth });
  if (!step.keepZero && isZeroScalar(value, schema)) delete out[name];
  else out[name] = value;
}

function readMapEntry(data: Uint8Array, ctx: { schema: Schema; name: string; depth: number }): [string, unknown] {
  const r = new WireReader(data);
  let key = '';
  let value: unknown;
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field === 1) {
      expectWire(wire, WIRE_BYTES, `${ctx.name} key`);
      key = utf8(r.bytes());
    } else if (field === 2) {
      value = readValue(r, { wire, schema: ctx.schema, name: ctx.name, depth: ctx.depth });
    } else r.skip(wire);
  }
  return [key, value === undefined ? emptyValue(ctx.schema, ctx.depth) : value];
}

interface ValueCtx {
  wire: number;
  schema: Schema;
  name: string;
  depth: number;
}

/** Reads one (non-repeated) value of `schema` whose key has just been read. */
function readValue(r: WireReader, ctx: ValueCtx): unknown {
  const { wire, schema, name, depth } = ctx;
  switch (schema.type) {
    case 'ref': {
      const special = SPECIAL[schema.ref];
      if (special) {
        expectWire(wire, WIRE_BYTES, name);
        return special(r.bytes(), depth + 1);
      }
      const target = resolve(schema.ref);
      if (!target) throw new ProtoError(`no schema for ${schema.ref}`);
      if (target.type === 'object') {
        expectWire(wire, WIRE_BYTES, name);
        return decodeMessage(r.bytes(), schema.ref, depth + 1);
      }
      return readValue(r, { ...ctx, schema: target });
    }
    case 'string':
      expectWire(wire, WIRE_BYTES, name);
      return schema.format === 'byte' ? Buffer.from(r.bytes()).toString('base64') : utf8(r.bytes());
    case 'integer': {
      expectWire(wire, WIRE_VARINT, name);
      const v = r.varint();
      return Number(schema.format === 'int32' ? BigInt.asIntN(32, v) : BigInt.asIntN(64, v));
    }
    case 'boolean':
      expectWire(wire, WIRE_VARINT, name);
      return r.varint() !== 0n;
    case 'number':
      if (wire === WIRE_FIXED32) return r.fixed32().getFloat32(0, true);
      expectWire(wire, WIRE_FIXED64, name);
      return r.fixed64().getFloat64(0, true);
    case 'any':
      expectWire(wire, WIRE_BYTES, name);
      return rawJson(r.bytes(), depth + 1);
    default:
      throw new ProtoError(`field ${name}: cannot decode a nested ${schema.type} from protobuf`);
  }
}

/** The wire type a scalar item is encoded with when packed, or undefined when it cannot be. */
function packableWire(s: Schema): number | undefined {
  if (s.type === 'integer' || s.type === 'boolean') return WIRE_VARINT;
  if (s.type === 'number') return WIRE_FIXED64;
  return undefined;
}

/** The value an absent map-entry value stands for (Go's zero value of the type). */
function emptyValue(s: Schema, depth: number): unknown {
  switch (s.type) {
    case 'ref': {
      const special = SPECIAL[s.ref];
      if (special) return special(new Uint8Array(0), depth + 1);
      const target = resolve(s.ref);
      if (target?.type === 'object') return {};
      return target ? emptyValue(target, depth) : null;
    }
    case 'string':
      return '';
    case 'integer':
    case 'number':
      return 0;
    case 'boolean':
      return false;
    default:
      return null;
  }
}

function isZeroScalar(v: unknown, s: Schema): boolean {
  if (s.type === 'ref' || s.type === 'any') return false;
  return v === '' || v === 0 || v === false;
}

function expectWire(actual: number, wanted: number, field: string): void {
  if (actual !== wanted) throw new ProtoError(`proto: wrong wireType = ${actual} for field ${field}`);
}

const decoder = new TextDecoder('utf-8');
function utf8(b: Uint8Array): string {
  return decoder.decode(b);
}

// --- hand-written wire forms ------------------------------------------------------------------

type Special = (data: Uint8Array, depth: number) => unknown;

const SPECIAL: Record<string, Special> = {
  'io.k8s.apimachinery.pkg.apis.meta.v1.Time': (d) => timestamp(d, false),
  'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime': (d) => timestamp(d, true),
  'io.k8s.apimachinery.pkg.api.resource.Quantity': quantity,
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': intOrString,
  'io.k8s.apimachinery.pkg.runtime.RawExtension': (d, depth) => rawField(d, depth),
  'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1': (d, depth) => rawField(d, depth),
};

/** {seconds = 1, nanos = 2}; an empty message is Go's zero time, which JSON prints as null. */
function timestamp(data: Uint8Array, micro: boolean): string | null {
  if (data.length === 0) return null;
  const r = new WireReader(data);
  let seconds = 0n;
  let nanos = 0n;
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field === 1) {
      expectWire(wire, WIRE_VARINT, 'seconds');
      seconds = BigInt.asIntN(64, r.varint());
    } else if (field === 2) {
      expectWire(wire, WIRE_VARINT, 'nanos');
      nanos = BigInt.asIntN(32, r.varint());
    } else r.skip(wire);
  }
  // Time keeps whole seconds only (as its JSON form does); MicroTime truncates to microseconds.
  const totalMicros = seconds * 1_000_000n + (micro ? nanos / 1000n : 0n);
  let secs = totalMicros / 1_000_000n;
  let frac = totalMicros % 1_000_000n;
  if (frac < 0n) {
    frac += 1_000_000n;
    secs -= 1n;
  }
  // Years 0..9999 only, as Go's RFC 3339 JSON encoding requires.
  if (secs < -62167219200n || secs > 253402300799n) throw new ProtoError('Time.MarshalJSON: year outside of range [0,9999]');
  const base = new Date(Number(secs) * 1000).toISOString().slice(0, 19);
  return micro ? `${base}.${frac.toString().padStart(6, '0')}Z` : `${base}Z`;
}

/** {string = 1}; an empty message is the zero quantity. */
function quantity(data: Uint8Array): string {
  const r = new WireReader(data);
  let s = '0';
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field === 1) {
      expectWire(wire, WIRE_BYTES, 'string');
      s = utf8(r.bytes());
    } else r.skip(wire);
  }
  return s;
}

/** {type = 1 (0 int, 1 string), intVal = 2, strVal = 3}. */
function intOrString(data: Uint8Array): number | string {
  const r = new WireReader(data);
  let type = 0n;
  let intVal = 0;
  let strVal = '';
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field === 1) {
      expectWire(wire, WIRE_VARINT, 'type');
      type = BigInt.asIntN(64, r.varint());
    } else if (field === 2) {
      expectWire(wire, WIRE_VARINT, 'intVal');
      intVal = Number(BigInt.asIntN(32, r.varint()));
    } else if (field === 3) {
      expectWire(wire, WIRE_BYTES, 'strVal');
      strVal = utf8(r.bytes());
    } else r.skip(wire);
  }
  if (type === 0n) return intVal;
  if (type === 1n) return strVal;
  throw new ProtoError('impossible IntOrString.Type');
}

/** RawExtension / FieldsV1: {raw = 1} holding JSON (or a nested protobuf object); absent is null. */
function rawField(data: Uint8Array, depth: number): unknown {
  const r = new WireReader(data);
  let raw: Uint8Array | undefined;
  while (!r.done()) {
    const { field, wire } = r.key();
    if (field === 1) {
      expectWire(wire, WIRE_BYTES, 'raw');
      raw = r.bytes();
    } else r.skip(wire);
  }
  return raw === undefined ? null : rawJson(raw, depth);
}

function rawJson(raw: Uint8Array, depth: number): unknown {
  if (depth > MAX_DEPTH) throw new ProtoError('proto: message nested too deeply');
  if (raw.length > MAGIC.length && MAGIC.every((b, i) => raw[i] === b)) return decodeObject(raw, {}, depth);
  if (raw.length === 0) return null;
  try {
    return JSON.parse(utf8(raw)) as unknown;
  } catch (err) {
    throw new ProtoError(`embedded object is not valid JSON: ${err instanceof Error ? err.message : String(err)}`);
  }
}
