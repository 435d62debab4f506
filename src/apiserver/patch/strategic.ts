/**
 * Strategic merge patch (`application/strategic-merge-patch+json`), server side: the apply
 * half of k8s.io/apimachinery/pkg/util/strategicpatch (StrategicMergeMapPatch with
 * MergeParallelList and IgnoreUnmatchedNulls), driven by the schema DSL's patch metadata
 * instead of Go struct tags.
 *
 * Supported: merge lists by patchMergeKey; primitive merge lists as sets; `$patch:
 * replace|delete|merge` on maps and list items; `$retainKeys`; `$deleteFromPrimitiveList/<f>`;
 * `$setElementOrder/<f>` (with the upstream ordering rules, so kubectl's 3-way patches land in
 * the same order as on a real cluster); `null` deletes. Fields without schema fall back to
 * JSON-merge behaviour (maps merge, lists replace).
 *
 * Errors map as the patch handler maps them (interpretStrategicMergePatchError): format errors
 * are 400, lists of lists and retainKeys mismatches are 422 with the generic message, and any
 * other failure is a plain 500 carrying the library's text.
 */
import type { Definitions, Schema } from '../../api/schema.js';
import { errors, StatusError } from '../errors.js';
import { smpElem, smpField } from './schemaview.js';
import {
  bodyText,
  clone,
  genericInvalid,
  goFormat,
  goJsonKind,
  isObject,
  parseJson,
  plainError,
  type JsonObject,
  type JsonValue,
} from './util.js';

const DIRECTIVE = '$patch';
const DELETE_FROM_PRIMITIVE_LIST = '$deleteFromPrimitiveList';
const SET_ELEMENT_ORDER = '$setElementOrder';
const RETAIN_KEYS = '$retainKeys';

export const SMP_ERRORS = {
  badJSONDoc: 'invalid JSON document',
  noListOfLists: 'lists of lists are not supported',
  badPrimitiveList: 'invalid patch format of primitive list',
  badRetainKeys: 'invalid patch format of retainKeys',
  badSetElementOrder: 'invalid patch format of setElementOrder list',
  retainKeysMismatch: "patch content doesn't match retainKeys list",
} as const;

/** A failure inside the merge, tagged with the HTTP mapping kube gives it. */
export class SmpError extends Error {
  constructor(
    message: string,
    readonly mapping: 'badRequest' | 'invalid' | 'plain',
  ) {
    super(message);
  }
  toStatusError(): StatusError {
    if (this.mapping === 'badRequest') return errors.badRequest(this.message);
    if (this.mapping === 'invalid') {
      const e = genericInvalid();
      (e as Error & { cause?: unknown }).cause = this;
      return e;
    }
    return plainError(this.message);
  }
}

const badRequest = (m: string): SmpError => new SmpError(m, 'badRequest');
const plain = (m: string): SmpError => new SmpError(m, 'plain');

/** Applies a strategic merge patch body to `doc` (not mutated); `defName` names doc's definition. */
export function applyStrategicPatch(defs: Definitions, defName: string, doc: JsonObject, body: Buffer | string): JsonObject {
  const parsed = parseJson(bodyText(body));
  if (!parsed.ok) throw errors.badRequest(parsed.message);
  let patch = parsed.value;
  if (patch === null) patch = {};
  if (!isObject(patch)) throw errors.badRequest(`json: cannot unmarshal ${goJsonKind(patch)} into Go value of type map[string]interface {}`);
  return strategicMerge(defs, defName, doc, patch);
}

/** Applies a decoded strategic merge patch; throws StatusError as kube-apiserver would. */
export function strategicMerge(defs: Definitions, defName: string, doc: JsonObject, patch: JsonObject): JsonObject {
  try {
    return mergeMap(defs, clone(doc), clone(patch), { type: 'ref', ref: defName });
  } catch (e) {
    if (e instanceof SmpError) throw e.toStatusError();
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// Go-flavoured error texts

function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return '%!s(<nil>)';
  if (Array.isArray(v)) return '[]interface {}';
  if (isObject(v)) return 'map[string]interface {}';
  if (typeof v === 'number') return Number.isInteger(v) ? 'int64' : 'float64';
  if (typeof v === 'string') return 'string';
  return 'bool';
}
const errBadArgType = (expected: 'map' | 'slice', actual: unknown): SmpError =>
  plain(`expected a ${expected === 'map' ? 'map[string]interface {}' : '[]interface {}'}, but received a ${goTypeName(actual)}`);
const errNoMergeKey = (m: JsonObject, k: string): SmpError => plain(`map: ${goFormat(m)} does not contain declared merge key: ${k}`);
const errBadPatchType = (t: unknown, m: JsonObject): SmpError => plain(`unknown patch type: ${goFormat(t)} in map: ${goFormat(m)}`);

// ---------------------------------------------------------------------------------------------
// maps

function mergeMap(defs: Definitions, original: JsonObject, patch: JsonObject, schema: Schema | undefined): JsonObject {
  if (Object.prototype.hasOwnProperty.call(patch, DIRECTIVE)) return handleDirectiveInMergeMap(patch[DIRECTIVE], patch);
  applyRetainKeysDirective(original, patch);
  mergePatchIntoOriginal(defs, original, patch, schema);

  for (let k of Object.keys(patch)) {
    const patchV = patch[k]!;
    let isDeleteList = false;
    if (k.startsWith(DELETE_FROM_PRIMITIVE_LIST)) {
      k = extractKey(k, DELETE_FROM_PRIMITIVE_LIST);
      isDeleteList = true;
    }
    if (patchV === null) {
      delete original[k];
      continue;
    }
    if (!Object.prototype.hasOwnProperty.call(original, k) || goTypeName(original[k]) !== goTypeName(patchV)) {
      if (!isDeleteList) setWithoutDirectives(original, k, patchV);
      continue;
    }
    const meta = smpField(defs, schema, k);
    const strategy = extractRetainKeysPatchStrategy(meta.strategies).strategy;
    const orig = original[k]!;
    if (isObject(orig)) {
      original[k] = strategy !== 'replace' ? mergeMap(defs, orig, patchV as JsonObject, meta.schema) : stripDirectives(patchV) ?? {};
    } else if (Array.isArray(orig)) {
      original[k] = mergeSliceHandler(defs, orig, patchV, meta.schema, strategy, meta.mergeKey, isDeleteList);
    } else {
      original[k] = patchV;
    }
  }
  return original;
}

/** Takes a patch value for a key the original lacks: nulls discarded, directives removed. */
function setWithoutDirectives(original: JsonObject, k: string, v: JsonValue): void {
  discardNulls(v);
  const out = stripDirectives(v);
  if (out === undefined) delete original[k];
  else original[k] = out;
}

function discardNulls(v: JsonValue): void {
  if (isObject(v)) {
    for (const k of Object.keys(v)) {
      if (v[k] === null) delete v[k];
      else discardNulls(v[k]!);
    }
  } else if (Array.isArray(v)) {
    for (const x of v) discardNulls(x);
  }
}

/**
 * removeDirectives: maps carrying `$patch` vanish (undefined). Parallel-list and retainKeys
 * directive keys are dropped too; upstream leaves them for the typed decoder to discard, and
 * our untyped storage must not keep them.
 */
export function stripDirectives(v: JsonValue): JsonValue | undefined {
  if (isObject(v)) {
    if (Object.prototype.hasOwnProperty.call(v, DIRECTIVE)) return undefined;
    for (const k of Object.keys(v)) {
      if (k === RETAIN_KEYS || k.startsWith(`${SET_ELEMENT_ORDER}/`) || k.startsWith(`${DELETE_FROM_PRIMITIVE_LIST}/`)) {
        delete v[k];
        continue;
      }
      const x = stripDirectives(v[k]!);
      if (x === undefined) delete v[k];
      else v[k] = x;
    }
    return v;
  }
  if (Array.isArray(v)) {
    const out: JsonValue[] = [];
    for (const x of v) {
      const y = stripDirectives(x);
      if (y !== undefined) out.push(y);
    }
    return out;
  }
  return v;
}

function handleDirectiveInMergeMap(directive: JsonValue | undefined, patch: JsonObject): JsonObject {
  if (directive === 'replace') {
    delete patch[DIRECTIVE];
    return (stripDirectives(patch) as JsonObject | undefined) ?? {};
  }
  if (directive === 'delete') return {};
  throw errBadPatchType(directive, patch);
}

function extractKey(s: string, prefix: string): string {
  const i = s.indexOf('/');
  if (i < 0 || s.slice(0, i) !== prefix) {
    if (prefix === DELETE_FROM_PRIMITIVE_LIST) throw badRequest(SMP_ERRORS.badPrimitiveList);
    if (prefix === SET_ELEMENT_ORDER) throw badRequest(SMP_ERRORS.badSetElementOrder);
    throw plain(`fail to find unknown prefix "${prefix}" in ${s}`);
  }
  return s.slice(i + 1);
}

function extractRetainKeysPatchStrategy(strategies: string[]): { retainKeys: boolean; strategy: string } {
  if (strategies.length === 0) return { retainKeys: false, strategy: '' };
  if (strategies.length === 1) {
    return strategies[0] === 'retainKeys' ? { retainKeys: true, strategy: '' } : { retainKeys: false, strategy: strategies[0]! };
  }
  if (strategies.length === 2) {
    if (strategies[0] === 'retainKeys') return { retainKeys: true, strategy: strategies[1]! };
    if (strategies[1] === 'retainKeys') return { retainKeys: true, strategy: strategies[0]! };
  }
  throw plain(`unexpected patch strategy: [${strategies.join(' ')}]`);
}

function applyRetainKeysDirective(original: JsonObject, patch: JsonObject): void {
  if (!Object.prototype.hasOwnProperty.call(patch, RETAIN_KEYS)) return;
  const retain = patch[RETAIN_KEYS];
  delete patch[RETAIN_KEYS];
  if (!Array.isArray(retain)) throw badRequest(SMP_ERRORS.badRetainKeys);
  const keep = new Set<unknown>(retain);
  for (const [k, v] of Object.entries(patch)) {
    if (v === null || k.startsWith(DELETE_FROM_PRIMITIVE_LIST) || k.startsWith(SET_ELEMENT_ORDER)) continue;
    if (!keep.has(k)) throw badRequest(SMP_ERRORS.badRetainKeys);
  }
  for (const k of Object.keys(original)) if (!keep.has(k)) delete original[k];
}

// ---------------------------------------------------------------------------------------------
// $setElementOrder

function mergePatchIntoOriginal(defs: Definitions, original: JsonObject, patch: JsonObject, schema: Schema | undefined): void {
  for (const key of Object.keys(patch)) {
    if (!key.startsWith(SET_ELEMENT_ORDER)) continue;
    const order = patch[key];
    delete patch[key];
    if (!Array.isArray(order)) throw errBadArgType('slice', order);
    const originalKey = extractKey(key, SET_ELEMENT_ORDER);
    const foundOriginal = Object.prototype.hasOwnProperty.call(original, originalKey);
    const foundPatch = Object.prototype.hasOwnProperty.call(patch, originalKey);
    const originalList = original[originalKey];
    const patchList = patch[originalKey];
    if (foundOriginal && !Array.isArray(originalList)) throw errBadArgType('slice', originalList);
    if (foundPatch && !Array.isArray(patchList)) throw errBadArgType('slice', patchList);
    const originalValue = foundOriginal ? (originalList as JsonValue[]) : [];
    const patchValue = foundPatch ? (patchList as JsonValue[]) : [];

    const meta = smpField(defs, schema, originalKey);
    const strategy = extractRetainKeysPatchStrategy(meta.strategies).strategy;
    const mergeKey = meta.mergeKey;
    validatePatchWithSetOrderList(patchValue, order, mergeKey);

    let merged: JsonValue[];
    if (foundOriginal && !foundPatch) merged = originalValue;
    else if (!foundOriginal && foundPatch) merged = stripDirectives(patchValue) as JsonValue[];
    else if (foundOriginal && foundPatch) merged = mergeSliceHandler(defs, originalValue, patchValue, meta.schema, strategy, mergeKey, false);
    else continue;

    const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, order) : partitionMaps(merged, order, mergeKey);
    const kind = sliceElementKind(originalValue, patchValue);
    original[originalKey] = normalizeElementOrder(patchItems, serverOnly, order, originalValue, mergeKey, kind);
    delete patch[originalKey];
  }
}

function validatePatchWithSetOrderList(patchList: JsonValue[], order: JsonValue[], mergeKey: string): void {
  if (order.length === 0 || patchList.length === 0) return;
  const nonDelete = mergeKey ? extractToDeleteItems(patchList)[0] : patchList;
  let p = 0;
  let s = 0;
  while (p < nonDelete.length && s < order.length) {
    const item = nonDelete[p];
    if (isObject(item) && Object.prototype.hasOwnProperty.call(item, DIRECTIVE)) {
      p++;
      continue;
    }
    if (mergeKeyValueEqual(item!, order[s]!, mergeKey)) p++;
    s++;
  }
  if (p < nonDelete.length && s >= order.length) {
    throw plain(`the order in patch list:\n${goFormat(patchList)}\n doesn't match ${SET_ELEMENT_ORDER} list:\n${goFormat(order)}`);
  }
}

function mergeKeyValueEqual(left: JsonValue, right: JsonValue, mergeKey: string): boolean {
  if (!mergeKey) return left === right;
  if (!isObject(left)) throw errBadArgType('map', left);
  if (!isObject(right)) throw errBadArgType('map', right);
  if (!(mergeKey in left)) throw errNoMergeKey(left, mergeKey);
  if (!(mergeKey in right)) throw errNoMergeKey(right, mergeKey);
  return left[mergeKey] === right[mergeKey];
}

// ---------------------------------------------------------------------------------------------
// lists

function mergeSliceHandler(
  defs: Definitions,
  original: JsonValue,
  patch: JsonValue,
  listSchema: Schema | undefined,
  strategy: string,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (!Array.isArray(original)) throw errBadArgType('slice', original);
  if (!Array.isArray(patch)) throw errBadArgType('slice', patch);
  if (strategy === 'merge') return mergeSlice(defs, original, patch, smpElem(defs, listSchema), mergeKey, isDeleteList);
  return (stripDirectives(patch) as JsonValue[]) ?? [];
}

type ElemKind = 'map' | 'scalar';

/** sliceElementType: all elements must share one Go type, and none may be a list. */
function sliceElementKind(...slices: JsonValue[][]): ElemKind {
  let prev: string | undefined;
  for (const s of slices) {
    for (const v of s) {
      const t = goTypeName(v);
      if (prev === undefined) {
        prev = t;
        if (Array.isArray(v)) throw new SmpError(SMP_ERRORS.noListOfLists, 'invalid');
      } else if (prev !== t) {
        throw plain(`list element types are not identical: ${goFormat(slices)}`);
      }
    }
  }
  if (prev === undefined) throw plain('no elements in any of the given slices');
  return prev === 'map[string]interface {}' ? 'map' : 'scalar';
}

function mergeSlice(
  defs: Definitions,
  original: JsonValue[],
  patch: JsonValue[],
  elemSchema: Schema | undefined,
  mergeKey: string,
  isDeleteList: boolean,
): JsonValue[] {
  if (original.length === 0 && patch.length === 0) return original;
  const kind = sliceElementKind(original, patch);
  let merged: JsonValue[];
  if (kind !== 'map') {
    if (isDeleteList) return deleteFromSlice(original, patch);
    merged = deduplicateScalars([...original, ...patch]);
  } else {
    if (!mergeKey) throw plain('cannot merge lists without merge key for type map');
    [original, patch] = mergeSliceWithSpecialElements(original, patch, mergeKey);
    merged = mergeSliceWithoutSpecialElements(defs, [...original], patch, mergeKey, elemSchema);
  }
  const [patchItems, serverOnly] = mergeKey === '' ? partitionPrimitives(merged, patch) : partitionMaps(merged, patch, mergeKey);
  return normalizeElementOrder(patchItems, serverOnly, patch, original, mergeKey, kind);
}

function mergeSliceWithSpecialElements(original: JsonValue[], patch: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const without: JsonValue[] = [];
  let replace = false;
  for (const v of patch) {
    const m = v as JsonObject;
    if (!Object.prototype.hasOwnProperty.call(m, DIRECTIVE)) {
      without.push(v);
      continue;
    }
    const d = m[DIRECTIVE];
    if (d === 'delete') {
      if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
      original = deleteMatchingEntries(original, mergeKey, m[mergeKey]!);
    } else if (d === 'replace') {
      replace = true;
    } else if (d === 'merge') {
      throw plain('merging lists cannot yet be specified in the patch');
    } else {
      throw errBadPatchType(d, m);
    }
  }
  if (replace) return [without.map((x) => stripDirectives(x)!).filter((x) => x !== undefined), []];
  return [original, without];
}

function findByKey(list: JsonValue[], key: string, value: JsonValue): number {
  for (let i = 0; i < list.length; i++) {
    const v = list[i];
    if (!isObject(v)) throw plain(`value for key ${i} is not a map.`);
    if (Object.prototype.hasOwnProperty.call(v, key) && v[key] === value) return i;
  }
  return -1;
}

function deleteMatchingEntries(original: JsonValue[], mergeKey: string, value: JsonValue): JsonValue[] {
  const out = [...original];
  for (let i = findByKey(out, mergeKey, value); i >= 0; i = findByKey(out, mergeKey, value)) out.splice(i, 1);
  return out;
}

function mergeSliceWithoutSpecialElements(
  defs: Definitions,
  original: JsonValue[],
  patch: JsonValue[],
  mergeKey: string,
  elemSchema: Schema | undefined,
): JsonValue[] {
  for (const v of patch) {
    const m = v as JsonObject;
    if (!Object.prototype.hasOwnProperty.call(m, mergeKey)) throw errNoMergeKey(m, mergeKey);
    const i = findByKey(original, mergeKey, m[mergeKey]!);
    if (i >= 0) {
      original[i] = mergeMap(defs, original[i] as JsonObject, m, elemSchema);
    } else {
      const item = clone(m);
      discardNulls(item);
      const stripped = stripDirectives(item);
      if (stripped !== undefined) original.push(stripped);
    }
  }
  return original;
}

function deleteFromSlice(current: JsonValue[], toDelete: JsonValue[]): JsonValue[] {
  const del = new Set<unknown>(toDelete);
  return current.filter((v) => !del.has(v));
}

/** deduplicateScalars, including its order-scrambling swap-with-last (order is fixed later). */
function deduplicateScalars(s: JsonValue[]): JsonValue[] {
  let length = s.length - 1;
  for (let i = 0; i < length; i++) {
    for (let j = i + 1; j <= length; j++) {
      if (s[i] === s[j]) {
        s[j] = s[length]!;
        s.length = length;
        length--;
        j--;
      }
    }
  }
  return s;
}

function partitionPrimitives(list: JsonValue[], by: JsonValue[]): [JsonValue[], JsonValue[]] {
  const inPatch = new Set<unknown>(by);
  const patch: JsonValue[] = [];
  const serverOnly: JsonValue[] = [];
  for (const v of list) (inPatch.has(v) ? patch : serverOnly).push(v);
  return [patch, serverOnly];
}

function partitionMaps(list: JsonValue[], by: JsonValue[], mergeKey: string): [JsonValue[], JsonValue[]] {
  const patch: JsonValue[] = [];
  const serverOnly: JsonValue[] = [];
  for (const v of list) {
    if (!isObject(v)) throw errBadArgType('map', v);
    if (!Object.prototype.hasOwnProperty.call(v, mergeKey)) throw errNoMergeKey(v, mergeKey);
    (findByKey(by, mergeKey, v[mergeKey]!) >= 0 ? patch : serverOnly).push(v);
  }
  return [patch, serverOnly];
}

function extractToDeleteItems(l: JsonValue[]): [JsonValue[], JsonValue[]] {
  const keep: JsonValue[] = [];
  const del: JsonValue[] = [];
  for (const v of l) {
    if (!isObject(v)) throw errBadArgType('map', v);
    (v[DIRECTIVE] === 'delete' ? del : keep).push(v);
  }
  return [keep, del];
}

/** Position lookup by merge-key value (maps) or by value (scalars), first occurrence wins. */
function indexer(order: JsonValue[], mergeKey: string, kind: ElemKind): (v: JsonValue) => number {
  const key = (item: JsonValue): unknown => (kind === 'map' ? (isObject(item) ? item[mergeKey] : undefined) : item);
  const pos = new Map<unknown, number>();
  order.forEach((item, i) => {
    const k = key(item);
    if (!pos.has(k)) pos.set(k, i);
  });
  return (v) => pos.get(key(v)) ?? -1;
}

function normalizeSliceOrder(toSort: JsonValue[], order: JsonValue[], mergeKey: string, kind: ElemKind): JsonValue[] {
  let toDelete: JsonValue[] = [];
  if (kind === 'map') {
    for (const list of [toSort, order]) {
      for (const item of list) {
        if (!isObject(item)) throw errBadArgType('map', item);
        if (!Object.prototype.hasOwnProperty.call(item, mergeKey)) throw errNoMergeKey(item, mergeKey);
      }
    }
    [toSort, toDelete] = extractToDeleteItems(toSort);
  }
  const idx = indexer(order, mergeKey, kind);
  // sort.SliceStable with upstream's comparator (insertion sort keeps its exact tie behaviour).
  const a = [...toSort];
  const less = (x: JsonValue, y: JsonValue): boolean => {
    const ix = idx(x);
    if (ix >= 0) {
      const iy = idx(y);
      if (iy >= 0) return ix < iy;
    }
    return true;
  };
  for (let i = 1; i < a.length; i++) {
    for (let j = i; j > 0 && less(a[j]!, a[j - 1]!); j--) [a[j], a[j - 1]] = [a[j - 1]!, a[j]!];
  }
  return [...a, ...toDelete];
}

function normalizeElementOrder(
  patch: JsonValue[],
  serverOnly: JsonValue[],
  patchOrder: JsonValue[],
  serverOrder: JsonValue[],
  mergeKey: string,
  kind: ElemKind,
): JsonValue[] {
  const p = normalizeSliceOrder(patch, patchOrder, mergeKey, kind);
  const s = normalizeSliceOrder(serverOnly, serverOrder, mergeKey, kind);
  return mergeSortedSlice(s, p, serverOrder, mergeKey, kind);
}

/** Interleaves server-only items (left) into patch items (right) using the live order. */
function mergeSortedSlice(left: JsonValue[], right: JsonValue[], serverOrder: JsonValue[], mergeKey: string, kind: ElemKind): JsonValue[] {
  const idx = indexer(serverOrder, mergeKey, kind);
  const out: JsonValue[] = [];
  let i = 0;
  let j = 0;
  while (i < left.length || j < right.length) {
    if (i >= left.length) out.push(right[j++]!);
    else if (j >= right.length) out.push(left[i++]!);
    else {
      const li = idx(left[i]!);
      const ri = idx(right[j]!);
      if (li >= 0 && ri >= 0 && li < ri) out.push(left[i++]!);
      else out.push(right[j++]!);
    }
  }
  return out;
}
