/**
 * Entry point for PATCH: picks the engine from the Content-Type, as the patch handler does.
 *
 * Contract for the server:
 * - json-patch, merge-patch and strategic-merge-patch need the live object; when it does not
 *   exist pass `target` and a 404 in kube's words is thrown (they never create).
 * - For those three the result's managedFields are NOT recomputed here: the server should
 *   default the object and then call `updateManagedFields` (kube tracks the defaulted object).
 * - apply-patch+yaml creates when `live` is undefined and returns managedFields already set.
 * - A patch result that is not a JSON object is rejected with kube's 422 decode error.
 */
import type { Definitions } from '../../api/schema.js';
import { errors, StatusError } from '../errors.js';
import { applyPatchBody, type ApplyOptions, type ApplyResult } from './apply.js';
import { applyJsonPatch } from './jsonpatch.js';
import type { ManagedFieldsEntry } from './managedfields.js';
import { applyMergePatch } from './mergepatch.js';
import { applyStrategicPatch } from './strategic.js';
import { goJsonKind, isObject, type JsonObject, type JsonValue } from './util.js';

export { applyJsonPatch, decodeJsonPatch, MAX_JSON_PATCH_OPERATIONS } from './jsonpatch.js';
export { applyMergePatch, mergePatchValue } from './mergepatch.js';
export { applyStrategicPatch, strategicMerge } from './strategic.js';
export { applyPatch, applyPatchBody, conflictError, decodeApplyBody, LAST_APPLIED_ANNOTATION, type ApplyOptions, type ApplyResult } from './apply.js';
export {
  computeFieldSet,
  decodeManagedFields,
  defaultManager,
  encodeManagedFields,
  managerIdentifier,
  setManagedFields,
  updateManagedFields,
  type ManagedFieldsEntry,
  type UpdateOptions,
} from './managedfields.js';
export { FieldSet } from './fieldpath.js';

export const PATCH_TYPES = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
} as const;

export const SUPPORTED_PATCH_TYPES: string[] = Object.values(PATCH_TYPES);

export interface PatchRequest extends Partial<ApplyOptions> {
  defs: Definitions;
  /** Definition of the resource, e.g. `io.k8s.api.apps.v1.Deployment`. */
  defName: string;
  live: JsonObject | undefined;
  body: Buffer | string;
  /** Used for the 404 when a non-apply patch targets a missing object. */
  target?: { resource: string; group: string; name: string };
}

export interface PatchResult {
  object: JsonObject;
  /** Set for apply only (see the module contract). */
  managedFields?: ManagedFieldsEntry[];
  /** True when the object did not exist and apply created it. */
  created: boolean;
}

/** The media type without parameters (`; charset=utf-8`), as the handler compares it. */
export function patchMediaType(contentType: string): string {
  const i = contentType.indexOf(';');
  return (i > 0 ? contentType.slice(0, i) : contentType).trim();
}

/** Applies `req.body` as the patch type named by `contentType`. */
export function applyPatchByType(contentType: string, req: PatchRequest): PatchResult {
  const type = patchMediaType(contentType);
  if (!SUPPORTED_PATCH_TYPES.includes(type)) {
    throw new StatusError(
      415,
      'UnsupportedMediaType',
      `the body of the request was in an unknown format - accepted media types include: ${SUPPORTED_PATCH_TYPES.join(', ')}`,
    );
  }
  if (type === PATCH_TYPES.apply) {
    if (!req.manager || !req.apiVersion) throw errors.badRequest('fieldManager and apiVersion are required for apply');
    const opts: ApplyOptions = {
      manager: req.manager,
      apiVersion: req.apiVersion,
      force: req.force,
      kind: req.kind,
      now: req.now,
      subresource: req.subresource,
      ignoredFields: req.ignoredFields,
    };
    const r: ApplyResult = applyPatchBody(req.defs, req.defName, req.live, req.body, opts);
    return { object: r.object, managedFields: r.managedFields, created: req.live === undefined };
  }
  if (!req.live) {
    if (req.target) throw errors.notFound(req.target.resource, req.target.group, req.target.name);
    throw errors.pathNotFound();
  }
  let out: JsonValue;
  if (type === PATCH_TYPES.json) out = applyJsonPatch(req.live, req.body);
  else if (type === PATCH_TYPES.merge) out = applyMergePatch(req.live, req.body);
  else out = applyStrategicPatch(req.defs, req.defName, req.live, req.body);
  if (!isObject(out)) throw decodeError(out);
  return { object: out, created: false };
}

/** What decoding a non-object patch result gives in kube: 422 on field "patch". */
function decodeError(out: JsonValue): StatusError {
  const text = JSON.stringify(out);
  const message = `json: cannot unmarshal ${goJsonKind(out)} into Go value of type map[string]interface {}`;
  return new StatusError(422, 'Invalid', ` "" is invalid: patch: Invalid value: ${JSON.stringify(text)}: ${message}`, {
    causes: [{ reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(text)}: ${message}`, field: 'patch' }],
  });
}
