/**
 * RFC 7386 JSON Merge Patch (`application/merge-patch+json`) as evanphx/json-patch.v4's
 * MergePatch implements it for kube-apiserver:
 * - objects merge recursively, `null` deletes a key, anything else replaces;
 * - nulls inside newly added values are pruned from objects, but kept as list elements;
 * - a patch that is `null`, a scalar or not JSON at all is 400 "Invalid JSON Patch";
 * - a patch that is a list replaces the document (the server then fails to decode it).
 */
import { errors } from '../errors.js';
import { bodyText, clone, isObject, parseJson, type JsonObject, type JsonValue } from './util.js';

export const ERR_BAD_JSON_PATCH = 'Invalid JSON Patch';

/** Applies a merge patch body to `doc` (not mutated). */
export function applyMergePatch(doc: JsonValue, body: Buffer | string): JsonValue {
  const parsed = parseJson(bodyText(body));
  if (!parsed.ok) throw errors.badRequest(ERR_BAD_JSON_PATCH);
  return mergePatchValue(doc, parsed.value as JsonValue);
}

/** Applies an already-decoded merge patch. */
export function mergePatchValue(doc: JsonValue, patch: JsonValue): JsonValue {
  if (patch === null) throw errors.badRequest(ERR_BAD_JSON_PATCH);
  if (Array.isArray(patch)) return pruneArrayNulls(clone(patch));
  if (!isObject(patch)) throw errors.badRequest(ERR_BAD_JSON_PATCH);
  if (!isObject(doc)) return pruneNulls(clone(patch));
  const out = clone(doc);
  mergeDocs(out, patch);
  return out;
}

function mergeDocs(doc: JsonObject, patch: JsonObject): void {
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) {
      delete doc[k];
      continue;
    }
    const cur = doc[k];
    if (cur === undefined || cur === null) {
      doc[k] = pruneNulls(clone(v));
    } else if (!isObject(cur)) {
      doc[k] = pruneNulls(clone(v));
    } else if (!isObject(v)) {
      doc[k] = clone(v);
    } else {
      mergeDocs(cur, v);
    }
  }
}

function pruneNulls(v: JsonValue): JsonValue {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else v[k] = pruneNulls(v[k]!);
    }
    return v;
  }
  if (Array.isArray(v)) return pruneArrayNulls(v);
  return v;
}

function pruneArrayNulls(a: JsonValue[]): JsonValue[] {
  return a.map((x) => (x === null ? null : pruneNulls(x)));
}
