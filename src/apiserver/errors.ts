/**
 * API errors as kube-apiserver returns them: every failure leaves the server as a
 * `metav1.Status` with the same reason, code, details and causes. Store errors are mapped to
 * HTTP here and nowhere else (`fromStoreError`).
 */
import { StoreError } from '../storage/errors.js';

export type StatusReason =
  | 'BadRequest'
  | 'Unauthorized'
  | 'Forbidden'
  | 'NotFound'
  | 'AlreadyExists'
  | 'Conflict'
  | 'Gone'
  | 'Invalid'
  | 'Expired'
  | 'MethodNotAllowed'
  | 'NotAcceptable'
  | 'RequestEntityTooLarge'
  | 'UnsupportedMediaType'
  | 'TooManyRequests'
  | 'InternalError'
  | 'ServiceUnavailable'
  | 'Timeout';

/** One entry of details.causes, as in metav1.StatusCause. */
export interface StatusCause {
  /** e.g. FieldValueRequired, FieldValueInvalid, FieldValueNotSupported, FieldValueDuplicate, FieldValueForbidden, FieldValueTooLong, FieldValueTypeInvalid, FieldValueNotFound */
  reason: string;
  message: string;
  field?: string;
}

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: StatusCause[];
  retryAfterSeconds?: number;
}

export interface Status {
  kind: 'Status';
  apiVersion: 'v1';
  metadata: Record<string, unknown>;
  status: 'Failure' | 'Success';
  message?: string;
  reason?: StatusReason | string;
  details?: StatusDetails;
  code: number;
}

export class StatusError extends Error {
  constructor(
    readonly code: number,
    readonly reason: StatusReason,
    message: string,
    readonly details?: StatusDetails,
  ) {
    super(message);
    this.name = `StatusError(${reason})`;
  }
  toStatus(): Status {
    const s: Status = { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: this.message, reason: this.reason, code: this.code };
    if (this.details && Object.keys(this.details).length) s.details = this.details;
    return s;
  }
}

/**
 * A client-supplied value for an error message. `String(v)` can throw on crafted JSON (an
 * object whose `toString` is not a function), so anything but a string is printed as JSON.
 */
export function shown(v: unknown): string {
  if (typeof v === 'string') return v;
  try {
    return JSON.stringify(v) ?? String(v);
  } catch {
    return '<unprintable>';
  }
}

/** qualified resource as kube prints it: "services", "deployments.apps". */
export function qualified(resource: string, group: string): string {
  return group ? `${resource}.${group}` : resource;
}

export const errors = {
  badRequest: (msg: string, details?: StatusDetails): StatusError => new StatusError(400, 'BadRequest', msg, details),
  unauthorized: (): StatusError => new StatusError(401, 'Unauthorized', 'Unauthorized'),
  forbidden: (msg: string): StatusError => new StatusError(403, 'Forbidden', msg),
  notFound: (resource: string, group: string, name: string): StatusError =>
    new StatusError(404, 'NotFound', `${qualified(resource, group)} "${name}" not found`, { name, group: group || undefined, kind: resource }),
  pathNotFound: (): StatusError => new StatusError(404, 'NotFound', 'the server could not find the requested resource'),
  alreadyExists: (resource: string, group: string, name: string): StatusError =>
    new StatusError(409, 'AlreadyExists', `${qualified(resource, group)} "${name}" already exists`, { name, group: group || undefined, kind: resource }),
  conflict: (resource: string, group: string, name: string, why: string): StatusError =>
    new StatusError(409, 'Conflict', `Operation cannot be fulfilled on ${qualified(resource, group)} "${name}": ${why}`, {
      name,
      group: group || undefined,
      kind: resource,
    }),
  /** 422 with field causes; message formatted as kube does: `Kind "name" is invalid: [a, b]`. */
  invalid: (kind: string, group: string, name: string, causes: StatusCause[]): StatusError => {
    // kube aggregates "field: body" texts, dropping exact repeats (the causes keep them all)
    const parts = [...new Set(causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message)))];
    const body = parts.length === 0 ? '' : parts.length === 1 ? `: ${parts[0]}` : `: [${parts.join(', ')}]`;
    return new StatusError(422, 'Invalid', `${qualified(kind, group)} "${name}" is invalid${body}`, {
      name,
      group: group || undefined,
      kind,
      causes,
    });
  },
  gone: (msg: string): StatusError => new StatusError(410, 'Expired', msg),
  methodNotAllowed: (msg = 'the server does not allow this method on the requested resource'): StatusError =>
    new StatusError(405, 'MethodNotAllowed', msg),
  notAcceptable: (msg: string): StatusError => new StatusError(406, 'NotAcceptable', msg),
  unsupportedMediaType: (type: string): StatusError => new StatusError(415, 'UnsupportedMediaType', `the body of the request was in an unknown format - accepted media types include: application/json, application/yaml, application/json-patch+json, application/merge-patch+json, application/strategic-merge-patch+json, application/apply-patch+yaml (got ${type})`),
  tooLarge: (): StatusError => new StatusError(413, 'RequestEntityTooLarge', 'Request entity too large: limit is 3145728'),
  internal: (msg: string): StatusError => new StatusError(500, 'InternalError', `Internal error occurred: ${msg}`),
  unavailable: (msg: string): StatusError => new StatusError(503, 'ServiceUnavailable', msg),
};

/** The single mapping from store errors to API errors. */
export function fromStoreError(err: unknown, ctx: { resource: string; group: string; name: string }): StatusError {
  if (err instanceof StatusError) return err;
  if (err instanceof StoreError) {
    switch (err.code) {
      case 'KeyExists':
        return errors.alreadyExists(ctx.resource, ctx.group, ctx.name);
      case 'NotFound':
        return errors.notFound(ctx.resource, ctx.group, ctx.name);
      case 'Conflict':
        return errors.conflict(ctx.resource, ctx.group, ctx.name, 'the object has been modified; please apply your changes to the latest version and try again');
      case 'Compacted':
        return errors.gone(`The resourceVersion for the provided list is too old.`);
      case 'FutureRevision':
        // kube answers 504 Timeout here; a resourceVersion from the future is the client's
        // mistake on a single consistent store, so kubelite says so with a 400 (no 5xx for bad input).
        return errors.badRequest(`Too large resource version: ${(err as { requested?: number }).requested}, current: ${(err as { current?: number }).current}`);
      case 'Unavailable':
        return errors.unavailable(err.message);
    }
  }
  return errors.internal(err instanceof Error ? err.message : String(err));
}
