/**
 * Responses: content negotiation (JSON, YAML, Table, PartialObjectMetadata) and Status errors.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { stringifyJson, stringifyYaml } from '../../util/deepjson.js';
import { StatusError, errors } from '../errors.js';
import { UnavailableError } from '../../storage/errors.js';

export type Representation = 'object' | 'table' | 'metadata';

export interface Negotiated {
  as: Representation;
  /** Media type for the response Content-Type. */
  contentType: string;
  yaml: boolean;
}

/**
 * Picks the first acceptable entry of the Accept header, as kube does: Table and
 * PartialObjectMetadata(List) in meta.k8s.io v1 / v1beta1, plain JSON, YAML.
 */
export function negotiate(req: IncomingMessage): Negotiated {
  const accept = String(req.headers.accept ?? '').trim();
  if (!accept) return { as: 'object', contentType: 'application/json', yaml: false };
  let sawProtobufOnly = true;
  for (const raw of accept.split(',')) {
    const [typeRaw, ...paramsRaw] = raw.split(';').map((s) => s.trim());
    const type = typeRaw.toLowerCase();
    const params: Record<string, string> = {};
    for (const p of paramsRaw) {
      const [k, v] = p.split('=').map((s) => s.trim());
      if (k) params[k] = v ?? '';
    }
    if (type === 'application/vnd.kubernetes.protobuf') continue;
    sawProtobufOnly = false;
    const yaml = type === 'application/yaml';
    if (type !== 'application/json' && type !== '*/*' && type !== 'application/*' && !yaml) continue;
    if (params.as) {
      if (params.g !== 'meta.k8s.io' || (params.v !== 'v1' && params.v !== 'v1beta1')) continue;
      const base = yaml ? 'application/yaml' : 'application/json';
      if (params.as === 'Table') return { as: 'table', contentType: `${base};as=Table;v=${params.v};g=meta.k8s.io`, yaml };
      if (params.as === 'PartialObjectMetadata' || params.as === 'PartialObjectMetadataList') {
        return { as: 'metadata', contentType: `${base};as=${params.as};v=${params.v};g=meta.k8s.io`, yaml };
      }
      continue;
    }
    return { as: 'object', contentType: yaml ? 'application/yaml' : 'application/json', yaml };
  }
  if (sawProtobufOnly && accept) {
    throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml');
  }
  throw errors.notAcceptable('only the following media types are accepted: application/json, application/yaml, application/json;as=Table;v=v1;g=meta.k8s.io');
}

export function send(
  res: ServerResponse,
  code: number,
  body: unknown,
  opts: { contentType?: string; yaml?: boolean; warnings?: string[] } = {},
): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = opts.yaml ? stringifyYaml(body) : stringifyJson(body);
  const headers: Record<string, string | string[]> = {
    'Content-Type': opts.contentType ?? 'application/json',
    'Content-Length': String(Buffer.byteLength(text)),
    'Cache-Control': 'no-cache, private',
  };
  if (opts.warnings?.length) headers['Warning'] = opts.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
  res.writeHead(code, headers);
  res.end(text);
}

export function sendError(res: ServerResponse, err: unknown, opts: { warnings?: string[] } = {}): void {
  // A store outage that reached here without passing fromStoreError (e.g. the namespace check
  // before a create) is still an outage, 503, not a bug.
  if (err instanceof UnavailableError) err = errors.unavailable(err.message);
  const se = err instanceof StatusError ? err : errors.internal(err instanceof Error ? err.message : String(err));
  if (!(err instanceof StatusError)) {
    // An unexpected error is a bug; log it (never request bodies: they may hold secrets).
    console.error('kubelite: internal error:', err instanceof Error ? err.stack : err);
  }
  send(res, se.code, se.toStatus(), { warnings: opts.warnings });
}
