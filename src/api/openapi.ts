/**
 * The OpenAPI documents kube-apiserver serves, generated from DEFINITIONS and RESOURCES:
 *
 * - `GET /openapi/v3` → `openapiV3Root()`: an index of per-group-version documents, each
 *   with a `serverRelativeURL` carrying `?hash=<uppercase hex sha512 of the document bytes>`,
 *   so clients (kubectl explain/apply, client-go's cached openapi client) can cache by hash.
 * - `GET /openapi/v3/<key>` → `openapiV3Doc(key)` / `openapiV3Document(key)`: OpenAPI 3.0 with
 *   the key's paths and every schema they reach.
 * - `GET /openapi/v2` → `openapiV2()`: Swagger 2.0 of everything.
 *
 * Contract: results are computed once and cached; callers must treat them as read-only. Serve
 * `openapiV3Document(key).json` byte for byte so the hash in the root index stays valid.
 */
import { createHash } from 'node:crypto';
import { DEFINITIONS, closure } from './defs/index.js';
import { type Json, collectRefs, refPrefix, renderDefinition } from './openapi-schema.js';
import { documentKeys, pathItemsFor, renderPaths } from './openapi-paths.js';

/** The version string reported in document `info` blocks. */
export const OPENAPI_INFO_VERSION = 'v1.32.0';

const SECURITY_V3 = {
  BearerToken: { description: 'Bearer token authentication', in: 'header', name: 'authorization', type: 'apiKey' },
};

export interface RenderedDocument {
  /** The document as data (do not mutate). */
  doc: Json;
  /** The exact bytes to serve. */
  json: string;
  /** Uppercase hex SHA-512 of `json`, as kube-apiserver computes it. */
  hash: string;
}

const v3Cache = new Map<string, RenderedDocument | null>();
let v3RootCache: Json | undefined;
let v2Cache: Json | undefined;

/** Normalises '/api/v1/' style keys to 'api/v1'. */
function normaliseKey(key: string): string {
  return key.replace(/^\/+|\/+$/g, '');
}

function sha512Upper(text: string): string {
  return createHash('sha512').update(text).digest('hex').toUpperCase();
}

/** Definitions reachable from the refs inside `value`, rendered; dangling names are skipped. */
function schemasFor(value: unknown, dialect: 'v2' | 'v3'): Json {
  const roots = [...collectRefs(value, refPrefix(dialect))];
  const names = closure(roots).filter((n) => DEFINITIONS[n] !== undefined).sort();
  const out: Json = {};
  for (const n of names) out[n] = renderDefinition(n, DEFINITIONS[n], dialect);
  return out;
}

/** The rendered v3 document for a key ('api/v1', 'apis/apps/v1', 'api', 'apis', 'apis/apps'). */
export function openapiV3Document(key: string): RenderedDocument | undefined {
  const k = normaliseKey(key);
  const cached = v3Cache.get(k);
  if (cached !== undefined) return cached ?? undefined;
  const items = pathItemsFor(k);
  if (!items) {
    v3Cache.set(k, null);
    return undefined;
  }
  const paths = renderPaths(items, 'v3');
  const doc: Json = {
    openapi: '3.0.0',
    info: { title: 'Kubernetes', version: 'unversioned' },
    paths,
    components: { schemas: schemasFor(paths, 'v3'), securitySchemes: SECURITY_V3 },
    security: [{ BearerToken: [] }],
  };
  const json = JSON.stringify(doc);
  const rendered: RenderedDocument = { doc, json, hash: sha512Upper(json) };
  v3Cache.set(k, rendered);
  return rendered;
}

/** The v3 document for a key, or undefined when no such document exists. */
export function openapiV3Doc(gv: string): object | undefined {
  return openapiV3Document(gv)?.doc;
}

/** The `/openapi/v3` index: `{ paths: { "<key>": { serverRelativeURL } } }`. */
export function openapiV3Root(): object {
  if (!v3RootCache) {
    const paths: Json = {};
    for (const key of documentKeys()) {
      const d = openapiV3Document(key);
      if (d) paths[key] = { serverRelativeURL: `/openapi/v3/${key}?hash=${d.hash}` };
    }
    v3RootCache = { paths };
  }
  return v3RootCache;
}

/** Swagger 2.0 document with every definition and every path. */
export function openapiV2(): object {
  if (!v2Cache) {
    const paths: Json = {};
    for (const key of documentKeys()) Object.assign(paths, renderPaths(pathItemsFor(key) ?? [], 'v2'));
    const definitions: Json = {};
    for (const n of Object.keys(DEFINITIONS).sort()) definitions[n] = renderDefinition(n, DEFINITIONS[n], 'v2');
    v2Cache = {
      swagger: '2.0',
      info: { title: 'Kubernetes', version: OPENAPI_INFO_VERSION },
      paths,
      definitions,
      securityDefinitions: SECURITY_V3,
      security: [{ BearerToken: [] }],
    };
  }
  return v2Cache;
}
