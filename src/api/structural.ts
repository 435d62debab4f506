/**
 * Structural checks of a decoded request body against a definition, reproducing what
 * kube-apiserver's typed decoder reports:
 *
 * - type mismatches, in Go encoding/json wording (`json: cannot unmarshal string into Go struct
 *   field DeploymentSpec.spec.replicas of type int32`), plus the value errors of kube's custom
 *   decoders (Quantity, Time, base64 `[]byte`). kube answers the first of these with
 *   `400 BadRequest` and the message `<Kind> in version "<v>" cannot be handled as a <Kind>:
 *   <decodeError>`;
 * - unknown fields and (given the parser's duplicates) duplicate fields, as the strict decoder
 *   lists them: `unknown field "spec.foo"`, `duplicate field "spec.replicas"`, paths with
 *   `[i]` for list items and `.key` for map keys, at most 100, in document order. A duplicated
 *   unknown key is reported once, as unknown.
 *
 * `any` schemas and objects with preserveUnknownFields are not looked into. null is accepted
 * everywhere (Go leaves the field unset).
 */
import type { StatusCause } from '../apiserver/errors.js';
import { resolve } from './defs/index.js';
import type { Schema } from './schema.js';

export interface StructureResult {
  /** One cause per type/value error: reason FieldValueTypeInvalid, field path, Go-worded message. */
  causes: StatusCause[];
  /** Paths of fields the schema does not know, e.g. `spec.foo`, `spec.containers[0].bar`. */
  unknownFields: string[];
  /** The first type/value error as kube's decoder words it (without the "<Kind> in version" prefix). */
  decodeError?: string;
  /** `unknown field "…"` / `duplicate field "…"` messages in document order (max 100). */
  strictErrors: string[];
}

export interface StructureOptions {
  /** Duplicate-key paths reported by parseJson, to be merged into strictErrors. */
  duplicates?: readonly string[];
}

const INT_OR_STRING = 'io.k8s.apimachinery.pkg.util.intstr.IntOrString';
const QUANTITY = 'io.k8s.apimachinery.pkg.api.resource.Quantity';
const TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.Time';
const MICRO_TIME = 'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime';
const MAX_STRICT = 100;

export const QUANTITY_FORMAT_ERROR = "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'";
const QUANTITY_SUFFIX_ERROR = "unable to parse quantity's suffix";

interface Ctx {
  /** Strict-decoder path: keys, `[i]`, map keys. */
  path: string;
  /** Go error-context path: JSON field names only. */
  goPath: string;
  /** The Go struct owning the innermost field, e.g. DeploymentSpec. */
  goStruct?: string;
}

/** Checks a Quantity string as resource.ParseQuantity does; returns the error message or undefined. */
export function quantityError(s: string): string | undefined {
  const m = /^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$/.exec(s);
  if (!m) return QUANTITY_FORMAT_ERROR;
  if (!/^[+-]?(\d+(\.\d*)?|\.\d+)$/.test(m[1])) return QUANTITY_FORMAT_ERROR;
  const suffix = m[2];
  if (['', 'n', 'u', 'm', 'k', 'M', 'G', 'T', 'P', 'E', 'Ki', 'Mi', 'Gi', 'Ti', 'Pi', 'Ei'].includes(suffix)) return undefined;
  if (/^[eE][+-]?\d+$/.test(suffix)) return undefined;
  return QUANTITY_SUFFIX_ERROR;
}

const RFC3339 = '2006-01-02T15:04:05Z07:00';
/** Checks an RFC 3339 timestamp as Go's time.Parse does, with a Go-like message on failure. */
export function timeError(s: string): string | undefined {
  const steps: [string, RegExp][] = [
    ['2006', /^\d{4}/],
    ['-', /^-/],
    ['01', /^\d{2}/],
    ['-', /^-/],
    ['02', /^\d{2}/],
    ['T', /^T/],
    ['15', /^\d{2}/],
    [':', /^:/],
    ['04', /^\d{2}/],
    [':', /^:/],
    ['05', /^\d{2}(\.\d+)?/],
    ['Z07:00', /^(Z|[+-]\d{2}:\d{2})/],
  ];
  let rest = s;
  const nums: number[] = [];
  for (const [elem, re] of steps) {
    const m = re.exec(rest);
    if (!m) return `parsing time ${JSON.stringify(s)} as ${JSON.stringify(RFC3339)}: cannot parse ${JSON.stringify(rest)} as ${JSON.stringify(elem)}`;
    if (/^\d/.test(m[0])) nums.push(parseInt(m[0], 10));
    rest = rest.slice(m[0].length);
  }
  if (rest) return `parsing time ${JSON.stringify(s)}: extra text: ${JSON.stringify(rest)}`;
  const [, month, day, hour, minute, second] = nums;
  if (month < 1 || month > 12) return `parsing time ${JSON.stringify(s)}: month out of range`;
  if (day < 1 || day > 31) return `parsing time ${JSON.stringify(s)}: day out of range`;
  if (hour > 23) return `parsing time ${JSON.stringify(s)}: hour out of range`;
  if (minute > 59) return `parsing time ${JSON.stringify(s)}: minute out of range`;
  if (second > 59) return `parsing time ${JSON.stringify(s)}: second out of range`;
  return undefined;
}

/** Checks standard padded base64 as Go's base64.StdEncoding does (CR/LF ignored). */
export function base64Error(s: string): string | undefined {
  const idx: number[] = [];
  const chars: string[] = [];
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\r' || s[i] === '\n') continue;
    idx.push(i);
    chars.push(s[i]);
  }
  const bad = (k: number): string => `illegal base64 data at input byte ${k < idx.length ? idx[k] : s.length}`;
  for (let q = 0; q < chars.length; q += 4) {
    const quantum = chars.slice(q, q + 4);
    for (let k = 0; k < quantum.length; k++) {
      const c = quantum[k];
      if (c === '=') {
        const ok = (k === 2 && quantum[3] === '=' && q + 4 === chars.length) || (k === 3 && q + 4 === chars.length);
        if (!ok) return bad(q + k);
        break;
      }
      if (!/[A-Za-z0-9+/]/.test(c)) return bad(q + k);
    }
    if (quantum.length < 4 && !quantum.includes('=')) return bad(q);
  }
  return undefined;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return 'array';
  if (typeof v === 'object') return 'object';
  if (typeof v === 'boolean') return 'bool';
  if (typeof v === 'number') return 'number';
  return 'string';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Go's name for the type a schema decodes into: int32, []v1.Container, map[string]string. */
export function goTypeName(s: Schema): string {
  switch (s.type) {
    case 'string':
      return s.format === 'byte' ? '[]uint8' : 'string';
    case 'integer':
      return s.format === 'int64' ? 'int64' : 'int32';
    case 'number':
      return 'float64';
    case 'boolean':
      return 'bool';
    case 'array':
      return `[]${goTypeName(s.items)}`;
    case 'map':
      return `map[string]${goTypeName(s.values)}`;
    case 'ref': {
      const parts = s.ref.split('.');
      return `${parts[parts.length - 2]}.${parts[parts.length - 1]}`;
    }
    case 'object':
      return 'struct';
    case 'any':
      return 'interface {}';
  }
}

const join = (a: string, b: string): string => (a ? `${a}.${b}` : b);

class Walker {
  readonly causes: StatusCause[] = [];
  readonly unknownFields: string[] = [];
  readonly strictErrors: string[] = [];
  private readonly seenStrict = new Set<string>();
  constructor(private readonly duplicates: ReadonlySet<string>) {}

  private strict(msg: string): void {
    if (this.seenStrict.has(msg) || this.strictErrors.length >= MAX_STRICT) return;
    this.seenStrict.add(msg);
    this.strictErrors.push(msg);
  }

  private valueError(ctx: Ctx, message: string): void {
    this.causes.push({ reason: 'FieldValueTypeInvalid', message, field: ctx.path });
  }

  private typeError(ctx: Ctx, value: string, goType: string): void {
    const where = ctx.goStruct ? `Go struct field ${ctx.goStruct}.${ctx.goPath}` : 'Go value';
    this.valueError(ctx, `json: cannot unmarshal ${value} into ${where} of type ${goType}`);
  }

  /** `goType` is the Go type of the value's slot (used in type-error messages). */
  walk(s: Schema, v: unknown, ctx: Ctx, goType: string = goTypeName(s)): void {
    if (v === null) return;
    switch (s.type) {
      case 'ref':
        return this.ref(s.ref, v, ctx);
      case 'any':
        return;
      case 'string':
        if (typeof v !== 'string') return this.typeError(ctx, jsonKind(v), goType);
        if (s.format === 'byte') {
          const err = base64Error(v);
          if (err) this.valueError(ctx, err);
        }
        return;
      case 'integer': {
        if (typeof v !== 'number') return this.typeError(ctx, jsonKind(v), goType);
        const limit = s.format === 'int64' ? 2 ** 63 : 2 ** 31;
        if (!Number.isInteger(v) || v >= limit || v < -limit) this.typeError(ctx, `number ${v}`, goType);
        return;
      }
      case 'number':
        if (typeof v !== 'number') this.typeError(ctx, jsonKind(v), goType);
        return;
      case 'boolean':
        if (typeof v !== 'boolean') this.typeError(ctx, jsonKind(v), goType);
        return;
      case 'array':
        if (!Array.isArray(v)) return this.typeError(ctx, jsonKind(v), goType);
        v.forEach((item, i) => this.walk(s.items, item, { ...ctx, path: `${ctx.path}[${i}]` }));
        return;
      case 'map':
        if (!isPlainObject(v)) return this.typeError(ctx, jsonKind(v), goType);
        for (const [k, item] of Object.entries(v)) {
          const path = join(ctx.path, k);
          if (this.duplicates.has(path)) this.strict(`duplicate field ${JSON.stringify(path)}`);
          this.walk(s.values, item, { ...ctx, path });
        }
        return;
      case 'object':
        return this.object(s, v, ctx, goType, undefined);
    }
  }

  private object(s: Extract<Schema, { type: 'object' }>, v: unknown, ctx: Ctx, goType: string, structName: string | undefined): void {
    if (!isPlainObject(v)) return this.typeError(ctx, jsonKind(v), goType);
    if (s.preserveUnknownFields) return;
    for (const [k, item] of Object.entries(v)) {
      const path = join(ctx.path, k);
      if (!Object.prototype.hasOwnProperty.call(s.properties, k)) {
        this.unknownFields.push(path);
        this.strict(`unknown field ${JSON.stringify(path)}`);
        continue;
      }
      if (this.duplicates.has(path)) this.strict(`duplicate field ${JSON.stringify(path)}`);
      this.walk(s.properties[k], item, { path, goPath: join(ctx.goPath, k), goStruct: structName ?? ctx.goStruct });
    }
  }

  private ref(name: string, v: unknown, ctx: Ctx): void {
    const goType = goTypeName({ type: 'ref', ref: name });
    if (name === INT_OR_STRING) {
      if (typeof v === 'string') return;
      if (typeof v !== 'number') return this.typeError(ctx, jsonKind(v), 'int32');
      if (!Number.isInteger(v) || v >= 2 ** 31 || v < -(2 ** 31)) this.typeError(ctx, `number ${v}`, 'int32');
      return;
    }
    if (name === QUANTITY) {
      if (typeof v === 'number') return;
      const err = typeof v === 'string' ? quantityError(v.trim()) : QUANTITY_FORMAT_ERROR;
      if (err) this.valueError(ctx, err);
      return;
    }
    if (name === TIME || name === MICRO_TIME) {
      if (typeof v !== 'string') return this.typeError(ctx, jsonKind(v), 'string');
      const err = timeError(v);
      if (err) this.valueError(ctx, err);
      return;
    }
    const target = resolve(name);
    if (!target) return;
    if (target.type === 'object') return this.object(target, v, ctx, goType, name.slice(name.lastIndexOf('.') + 1));
    this.walk(target, v, ctx, goType);
  }
}

/**
 * Checks `value` against definition `defName`. An unknown definition name yields no findings
 * (callers validate the kind before calling).
 */
export function validateStructure(defName: string, value: unknown, opts: StructureOptions = {}): StructureResult {
  const w = new Walker(new Set(opts.duplicates ?? []));
  if (resolve(defName)) w.walk({ type: 'ref', ref: defName }, value, { path: '', goPath: '' });
  const out: StructureResult = { causes: w.causes, unknownFields: w.unknownFields, strictErrors: w.strictErrors };
  if (w.causes.length) out.decodeError = w.causes[0].message;
  return out;
}
