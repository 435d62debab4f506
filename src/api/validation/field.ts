/**
 * Field-error builders that produce `metav1.StatusCause` entries exactly as kube-apiserver does:
 * `reason` is the field.ErrorType, `field` the JSON path, and `message` the error *body* (the text
 * after the path), e.g. `Invalid value: "My_Svc": a lowercase RFC 1123 label ...`.
 *
 * Bad values are rendered the way Go's `%#v`/`%q` renders them in kube 1.32 (strings quoted, ints
 * bare, `[]string{"a"}`, `map[string]string{"k":"v"}`), because clients and tests compare these
 * texts verbatim. Values that are Go structs in kube are passed pre-rendered with `goRaw`.
 */
import type { StatusCause } from '../../apiserver/errors.js';

/** A value already rendered in Go syntax (used for struct-typed bad values). */
export class GoRaw {
  constructor(readonly text: string) {}
}
export const goRaw = (text: string): GoRaw => new GoRaw(text);

export type BadValue = string | number | boolean | null | undefined | string[] | Record<string, unknown> | GoRaw | unknown;

/** Go's %q for a string: JSON quoting with control characters as \xNN. */
export function goQuote(s: string): string {
  return JSON.stringify(s).replace(/\\u00([0-9a-f]{2})/g, (_m, h: string) => `\\x${h}`);
}

/** Renders a JSON-ish value the way kube's field.Error.ErrorBody renders a Go value. */
export function goValue(v: BadValue): string {
  if (v instanceof GoRaw) return v.text;
  if (v === null || v === undefined) return 'null';
  if (typeof v === 'string') return goQuote(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) return `[]string{${v.map((x) => goQuote(x as string)).join(', ')}}`;
    if (v.every((x) => typeof x === 'number')) return `[]int32{${v.join(', ')}}`;
    return `[]interface {}{${v.map((x) => goValue(x)).join(', ')}}`;
  }
  if (typeof v === 'object') {
    const keys = Object.keys(v as object).sort();
    const entries = keys.map((k) => `${goQuote(k)}:${goValue((v as Record<string, unknown>)[k])}`);
    return `map[string]string{${entries.join(', ')}}`;
  }
  return String(v);
}

/** `map[string]string{...}` or `map[string]string(nil)` when absent, as %#v prints a nil map. */
export function goStringMap(m: unknown): GoRaw {
  if (m === undefined || m === null) return goRaw('map[string]string(nil)');
  return goRaw(goValue(m as Record<string, string>));
}

function withDetail(s: string, detail: string | undefined): string {
  return detail ? `${s}: ${detail}` : s;
}

function cause(reason: string, field: string, message: string): StatusCause {
  return { reason, message, field };
}

export const fe = {
  required: (field: string, detail = ''): StatusCause => cause('FieldValueRequired', field, withDetail('Required value', detail)),
  invalid: (field: string, value: BadValue, detail = ''): StatusCause =>
    cause('FieldValueInvalid', field, withDetail(`Invalid value: ${goValue(value)}`, detail)),
  notSupported: (field: string, value: BadValue, valid: readonly string[]): StatusCause =>
    cause(
      'FieldValueNotSupported',
      field,
      withDetail(`Unsupported value: ${goValue(value)}`, valid.length ? `supported values: ${valid.map((x) => goQuote(x)).join(', ')}` : ''),
    ),
  duplicate: (field: string, value: BadValue): StatusCause => cause('FieldValueDuplicate', field, `Duplicate value: ${goValue(value)}`),
  forbidden: (field: string, detail = ''): StatusCause => cause('FieldValueForbidden', field, withDetail('Forbidden', detail)),
  tooLong: (field: string, max: number): StatusCause => cause('FieldValueTooLong', field, `Too long: may not be more than ${max} bytes`),
  tooMany: (field: string, actual: number, max: number): StatusCause =>
    cause('FieldValueTooMany', field, `Too many: ${actual}: must have at most ${max} items`),
  notFound: (field: string, value: BadValue): StatusCause => cause('FieldValueNotFound', field, `Not found: ${goValue(value)}`),
};

export const FIELD_IMMUTABLE = 'field is immutable';
export const IS_NEGATIVE = 'must be greater than or equal to 0';

/** Path helpers: kube renders map keys as `[key]` without quotes and indices as `[i]`. */
export const child = (base: string, name: string): string => (base ? `${base}.${name}` : name);
export const index = (base: string, i: number): string => `${base}[${i}]`;
export const key = (base: string, k: string): string => `${base}[${k}]`;

/** Plain JSON object helpers: the validators accept untyped decoded JSON. */
export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
export const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
export const asObj = (v: unknown): Obj => (isObj(v) ? v : {});
export const asArr = (v: unknown): any[] => (Array.isArray(v) ? v : []); // eslint-disable-line @typescript-eslint/no-explicit-any
export const asStr = (v: unknown): string => (typeof v === 'string' ? v : '');
export const asNum = (v: unknown): number => (typeof v === 'number' ? v : 0);

/** Go zero-ish values that decoded JSON may spell as absent, null, "", [] or {}. */
function isEmpty(v: unknown): boolean {
  if (v === undefined || v === null || v === '') return true;
  if (Array.isArray(v)) return v.length === 0;
  return isObj(v) && Object.keys(v).every((k) => isEmpty(v[k]));
}

/**
 * Semantic deep equality for decoded JSON, like kube's apiequality.Semantic.DeepEqual: an absent
 * field, null, "", an empty list and an empty map are the same (Go cannot tell them apart after
 * decoding into a struct); numbers and booleans compare strictly.
 */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (isEmpty(a) && isEmpty(b)) return true;
  if (a === null || b === null || a === undefined || b === undefined || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => deepEqual(x, bb[i]));
  }
  const keys = new Set([...Object.keys(a as object), ...Object.keys(b as object)]);
  for (const k of keys) if (!deepEqual((a as Obj)[k], (b as Obj)[k])) return false;
  return true;
}

/** Validates a number is >= 0 (kube's ValidateNonnegativeField). */
export function nonNegative(value: unknown, path: string): StatusCause[] {
  return typeof value === 'number' && value < 0 ? [fe.invalid(path, value, IS_NEGATIVE)] : [];
}

/** ValidateImmutableField. */
export function immutable(newVal: unknown, oldVal: unknown, path: string, rendered?: BadValue): StatusCause[] {
  return deepEqual(newVal ?? null, oldVal ?? null) ? [] : [fe.invalid(path, rendered !== undefined ? rendered : (newVal as BadValue), FIELD_IMMUTABLE)];
}
