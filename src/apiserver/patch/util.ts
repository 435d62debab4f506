/**
 * Small JSON helpers shared by the patch engines, plus the few Go formatting rules that leak
 * into kube-apiserver's error messages (`%v` of maps and lists, encoding/json error text).
 * Everything here is pure and works on plain JSON values.
 */
import { StatusError, type StatusReason } from '../errors.js';

export type JsonValue = null | boolean | number | string | JsonValue[] | JsonObject;
export interface JsonObject {
  [key: string]: JsonValue;
}

export function isObject(v: unknown): v is JsonObject {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Deep copy of a JSON value (structuredClone is slower for small trees and keeps undefined). */
export function clone<T>(v: T): T {
  if (Array.isArray(v)) return v.map((x) => clone(x)) as unknown as T;
  if (isObject(v)) {
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) out[k] = clone(x);
    return out as unknown as T;
  }
  return v;
}

/** Structural equality of two JSON values; object key order is ignored, list order is not. */
export function deepEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) {
    if (!Array.isArray(b) || a.length !== b.length) return false;
    return a.every((x, i) => deepEqual(x, b[i]));
  }
  if (isObject(a)) {
    if (!isObject(b)) return false;
    const ka = Object.keys(a);
    if (ka.length !== Object.keys(b).length) return false;
    return ka.every((k) => Object.prototype.hasOwnProperty.call(b, k) && deepEqual(a[k], b[k]));
  }
  return false;
}

/** Go's `%v` rendering of a decoded JSON value, as it appears inside upstream error messages. */
export function goFormat(v: unknown): string {
  if (v === null || v === undefined) return '<nil>';
  if (Array.isArray(v)) return `[${v.map(goFormat).join(' ')}]`;
  if (isObject(v)) {
    const keys = Object.keys(v).sort();
    return `map[${keys.map((k) => `${k}:${goFormat(v[k])}`).join(' ')}]`;
  }
  if (typeof v === 'number') {
    if (Number.isInteger(v) || !Number.isFinite(v)) return String(v);
    const abs = Math.abs(v);
    if (abs !== 0 && (abs < 1e-4 || abs >= 1e21)) return v.toExponential().replace(/e([+-])(\d)$/, 'e$10$2');
    return String(v);
  }
  return String(v);
}

/** Go's reflect kind name for a decoded JSON value, used in "cannot unmarshal X" messages. */
export function goJsonKind(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  if (isObject(v)) return 'object';
  if (typeof v === 'number') return 'number';
  if (typeof v === 'string') return 'string';
  return 'bool';
}

/**
 * Parses JSON and turns a syntax error into encoding/json's wording, because kube-apiserver
 * echoes that text back in 400 responses.
 */
export function parseJson(text: string): { ok: true; value: unknown } | { ok: false; message: string } {
  if (text.trim() === '') return { ok: false, message: 'unexpected end of JSON input' };
  try {
    return { ok: true, value: JSON.parse(text) };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    const m = /position (\d+)/.exec(msg);
    if (m) {
      const pos = Number(m[1]);
      if (pos >= text.length) return { ok: false, message: 'unexpected end of JSON input' };
      return { ok: false, message: `invalid character '${text[pos]}' looking for beginning of value` };
    }
    if (/end of (JSON )?input/i.test(msg)) return { ok: false, message: 'unexpected end of JSON input' };
    return { ok: false, message: `invalid character '${text.trim()[0]}' looking for beginning of value` };
  }
}

export function bodyText(body: Buffer | string | Uint8Array): string {
  return typeof body === 'string' ? body : Buffer.from(body).toString('utf8');
}

/**
 * A plain Go error surfacing from the handler: kube answers 500 with an empty reason and the
 * error text as message (apierrors.ErrorToAPIStatus for non-Status errors).
 */
export function plainError(message: string): StatusError {
  return new StatusError(500, '' as StatusReason, message);
}

/** apierrors.NewGenericServerResponse(422, ...) as the patch handler uses it: the cause text is dropped. */
export function genericInvalid(): StatusError {
  return new StatusError(422, 'Invalid', 'the server rejected our request due to an error in our request');
}
