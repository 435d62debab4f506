/**
 * RFC 6902 JSON Patch (`application/json-patch+json`) with the semantics of
 * gopkg.in/evanphx/json-patch.v4, which kube-apiserver uses. Its quirks are kept on purpose
 * because clients rely on them: `replace` of a missing object key adds it, `copy` from a
 * missing key copies null, negative array indices count from the end, and a path whose first
 * segment is not empty is resolved from the root.
 *
 * Errors as kube-apiserver returns them:
 * - undecodable patch → 400 BadRequest with encoding/json's text;
 * - more than 10000 operations → 413;
 * - any failing operation → 422 Invalid "the server rejected our request due to an error in
 *   our request" (kube drops the library's message; we keep it as `cause` for logs and tests).
 */
import { StatusError, errors } from '../errors.js';
import { bodyText, clone, deepEqual, genericInvalid, goJsonKind, isObject, parseJson, type JsonObject, type JsonValue } from './util.js';

export const MAX_JSON_PATCH_OPERATIONS = 10000;

type Operation = Record<string, unknown> | null;
type Container = JsonObject | JsonValue[];

/** An operation failure, worded as evanphx/json-patch words it. */
export class JsonPatchOpError extends Error {}

/** Decodes a patch body the way jsonpatch.DecodePatch does; throws 400 on failure. */
export function decodeJsonPatch(body: Buffer | string): Operation[] {
  const parsed = parseJson(bodyText(body));
  if (!parsed.ok) throw errors.badRequest(parsed.message);
  const v = parsed.value;
  if (v === null) return [];
  if (!Array.isArray(v)) throw errors.badRequest(`json: cannot unmarshal ${goJsonKind(v)} into Go value of type jsonpatch.Patch`);
  for (const op of v) {
    if (op !== null && !isObject(op)) {
      throw errors.badRequest(`json: cannot unmarshal ${goJsonKind(op)} into Go value of type jsonpatch.Operation`);
    }
  }
  return v as Operation[];
}

/** Applies a JSON patch body to `doc` (not mutated) and returns the patched document. */
export function applyJsonPatch(doc: JsonValue, body: Buffer | string): JsonValue {
  const ops = decodeJsonPatch(body);
  if (ops.length > MAX_JSON_PATCH_OPERATIONS) {
    throw new StatusError(
      413,
      'RequestEntityTooLarge',
      `Request entity too large: The allowed maximum operations in a JSON patch is ${MAX_JSON_PATCH_OPERATIONS}, got ${ops.length}`,
    );
  }
  try {
    return applyOperations(doc, ops);
  } catch (e) {
    if (e instanceof JsonPatchOpError) {
      const err = genericInvalid();
      (err as Error & { cause?: unknown }).cause = e;
      throw err;
    }
    throw e;
  }
}

/** Applies decoded operations; throws JsonPatchOpError on the first failing one. */
export function applyOperations(doc: JsonValue, ops: Operation[]): JsonValue {
  const root = clone(doc);
  if (!isObject(root) && !Array.isArray(root)) throw new JsonPatchOpError('json: cannot unmarshal document');
  for (const op of ops) {
    const kind = op && typeof op.op === 'string' ? op.op : 'unknown';
    switch (kind) {
      case 'add':
        opAdd(root, op!);
        break;
      case 'remove':
        opRemove(root, op!);
        break;
      case 'replace':
        opReplace(root, op!);
        break;
      case 'move':
        opMove(root, op!);
        break;
      case 'copy':
        opCopy(root, op!);
        break;
      case 'test':
        opTest(root, op!);
        break;
      default:
        throw new JsonPatchOpError(`Unexpected kind: ${kind}`);
    }
  }
  return root;
}

function decodeKey(k: string): string {
  return k.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** Go's strconv.Atoi: optional sign, decimal digits only. */
function atoi(k: string): number | undefined {
  return /^[+-]?\d+$/.test(k) ? Number(k) : undefined;
}

function strField(op: Record<string, unknown>, name: 'path' | 'from', what: string): string {
  const v = op[name];
  if (typeof v !== 'string') throw new JsonPatchOpError(`${what} operation failed to decode ${name}: missing value`);
  return v;
}

/** Value of the op; a missing "value" member behaves as JSON null, as in the Go library. */
function opValue(op: Record<string, unknown>): JsonValue {
  return op.value === undefined ? null : clone(op.value as JsonValue);
}

/** Resolves everything but the last path segment; undefined when the parent does not exist. */
function findObject(root: Container, path: string): { con: Container; key: string } | undefined {
  const split = path.split('/');
  if (split.length < 2) return undefined;
  let cur: Container = root;
  for (const part of split.slice(1, -1)) {
    const next = get(cur, decodeKey(part));
    if (next === undefined || next === null || typeof next !== 'object') return undefined;
    cur = next as Container;
  }
  return { con: cur, key: decodeKey(split[split.length - 1]!) };
}

/** partialDoc/partialArray.get: missing object keys are not an error; bad indices are. */
function get(con: Container, key: string): JsonValue | undefined {
  if (Array.isArray(con)) {
    const idx = atoi(key);
    if (idx === undefined || idx < 0 || idx >= con.length) return undefined;
    return con[idx];
  }
  return Object.prototype.hasOwnProperty.call(con, key) ? con[key] : undefined;
}

function getChecked(con: Container, key: string, path: string, what: string): JsonValue | undefined {
  if (Array.isArray(con)) {
    const idx = atoi(key);
    if (idx === undefined) throw new JsonPatchOpError(`error in ${what} for path: '${path}': strconv.Atoi: parsing "${key}": invalid syntax`);
    if (idx < 0 || idx >= con.length) throw new JsonPatchOpError(`error in ${what} for path: '${path}': Unable to access invalid index: ${idx}: invalid index referenced`);
    return con[idx];
  }
  return Object.prototype.hasOwnProperty.call(con, key) ? con[key] : undefined;
}

function addTo(con: Container, key: string, val: JsonValue, path: string): void {
  if (!Array.isArray(con)) {
    con[key] = val;
    return;
  }
  if (key === '-') {
    con.push(val);
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new JsonPatchOpError(`error in add for path: '${path}': value was not a proper array index: '${key}'`);
  const size = con.length + 1;
  if (idx >= size || idx < -size) throw new JsonPatchOpError(`error in add for path: '${path}': Unable to access invalid index: ${idx}: invalid index referenced`);
  if (idx < 0) idx += size;
  con.splice(idx, 0, val);
}

function removeFrom(con: Container, key: string, path: string, what: string): void {
  if (!Array.isArray(con)) {
    if (!Object.prototype.hasOwnProperty.call(con, key)) {
      throw new JsonPatchOpError(`error in ${what} for path: '${path}': Unable to remove nonexistent key: ${key}: missing value`);
    }
    delete con[key];
    return;
  }
  let idx = atoi(key);
  if (idx === undefined) throw new JsonPatchOpError(`error in ${what} for path: '${path}': strconv.Atoi: parsing "${key}": invalid syntax`);
  if (idx >= con.length || idx < -con.length) throw new JsonPatchOpError(`error in ${what} for path: '${path}': Unable to access invalid index: ${idx}: invalid index referenced`);
  if (idx < 0) idx += con.length;
  con.splice(idx, 1);
}

function opAdd(root: Container, op: Record<string, unknown>): void {
  const path = strField(op, 'path', 'add');
  const f = findObject(root, path);
  if (!f) throw new JsonPatchOpError(`add operation does not apply: doc is missing path: "${path}": missing value`);
  addTo(f.con, f.key, opValue(op), path);
}

function opRemove(root: Container, op: Record<string, unknown>): void {
  const path = strField(op, 'path', 'remove');
  const f = findObject(root, path);
  if (!f) throw new JsonPatchOpError(`remove operation does not apply: doc is missing path: "${path}": missing value`);
  removeFrom(f.con, f.key, path, 'remove');
}

function opReplace(root: Container, op: Record<string, unknown>): void {
  const path = strField(op, 'path', 'replace');
  const f = findObject(root, path);
  if (!f) throw new JsonPatchOpError(`replace operation does not apply: doc is missing path: ${path}: missing value`);
  if (Array.isArray(f.con)) {
    const idx = atoi(f.key);
    if (idx === undefined || idx < 0 || idx >= f.con.length) {
      throw new JsonPatchOpError(`replace operation does not apply: doc is missing key: ${path}: missing value`);
    }
    f.con[idx] = opValue(op);
    return;
  }
  f.con[f.key] = opValue(op);
}

function opMove(root: Container, op: Record<string, unknown>): void {
  const from = strField(op, 'from', 'move');
  const src = findObject(root, from);
  if (!src) throw new JsonPatchOpError(`move operation does not apply: doc is missing from path: ${from}: missing value`);
  const val = getChecked(src.con, src.key, src.key, 'move');
  removeFrom(src.con, src.key, src.key, 'move');
  const path = strField(op, 'path', 'move');
  const dst = findObject(root, path);
  if (!dst) throw new JsonPatchOpError(`move operation does not apply: doc is missing destination path: ${path}: missing value`);
  addTo(dst.con, dst.key, val === undefined ? null : val, path);
}

function opCopy(root: Container, op: Record<string, unknown>): void {
  const from = strField(op, 'from', 'copy');
  const src = findObject(root, from);
  if (!src) throw new JsonPatchOpError(`copy operation does not apply: doc is missing from path: ${from}: missing value`);
  const val = getChecked(src.con, src.key, from, 'copy');
  const path = strField(op, 'path', 'copy');
  const dst = findObject(root, path);
  if (!dst) throw new JsonPatchOpError(`copy operation does not apply: doc is missing destination path: ${path}: missing value`);
  addTo(dst.con, dst.key, val === undefined ? null : clone(val), path);
}

function opTest(root: Container, op: Record<string, unknown>): void {
  const path = strField(op, 'path', 'test');
  const f = findObject(root, path);
  if (!f) throw new JsonPatchOpError(`test operation does not apply: is missing path: ${path}: missing value`);
  const val = getChecked(f.con, f.key, path, 'test');
  const want = op.value;
  if (val === undefined || val === null) {
    if (want === null || want === undefined) return;
    throw new JsonPatchOpError(`testing value ${path} failed: test failed`);
  }
  if (want === undefined || !deepEqual(val, want)) throw new JsonPatchOpError(`testing value ${path} failed: test failed`);
}
