/**
 * Renders DSL schemas as OpenAPI schema objects, in the two dialects kube-apiserver serves:
 * Swagger 2.0 (`#/definitions/...` refs, a $ref may carry sibling keys) and OpenAPI 3.0
 * (`#/components/schemas/...` refs; a $ref with siblings is wrapped as `allOf: [{$ref}]`, and
 * IntOrString/Quantity become `oneOf` unions as kube publishes them in v3).
 *
 * Contract: output is plain JSON data, deterministic for a given input, and carries every
 * x-kubernetes-* extension the DSL expresses (kubectl reads them for strategic merge and
 * explain). Enums are emitted in v3 only, as kube does.
 */
import type { Schema } from './schema.js';

export type Dialect = 'v2' | 'v3';
export type Json = Record<string, unknown>;

/** The `$ref` target prefix of each dialect. */
export function refPrefix(dialect: Dialect): string {
  return dialect === 'v2' ? '#/definitions/' : '#/components/schemas/';
}

/** Definitions whose v3 form is a `oneOf` of JSON types rather than their v2 `type: string`. */
const V3_ONE_OF: Record<string, { oneOf: string[]; format?: string }> = {
  'io.k8s.apimachinery.pkg.util.intstr.IntOrString': { oneOf: ['integer', 'string'], format: 'int-or-string' },
  'io.k8s.apimachinery.pkg.api.resource.Quantity': { oneOf: ['string', 'number'] },
};

function withDescription(out: Json, s: Schema): Json {
  if (s.description) out.description = s.description;
  return out;
}

/** A property (or item/value) schema in the given dialect. */
export function renderSchema(s: Schema, dialect: Dialect): Json {
  switch (s.type) {
    case 'string': {
      const out: Json = { type: 'string' };
      if (s.format) out.format = s.format;
      if (s.enum && dialect === 'v3') out.enum = [...s.enum];
      return withDescription(out, s);
    }
    case 'integer':
    case 'number': {
      const out: Json = { type: s.type };
      if (s.format) out.format = s.format;
      return withDescription(out, s);
    }
    case 'boolean':
      return withDescription({ type: 'boolean' }, s);
    case 'array': {
      const out: Json = withDescription({ type: 'array', items: renderSchema(s.items, dialect) }, s);
      if (s.listMapKeys) out['x-kubernetes-list-map-keys'] = [...s.listMapKeys];
      if (s.listType) out['x-kubernetes-list-type'] = s.listType;
      if (s.patchMergeKey) out['x-kubernetes-patch-merge-key'] = s.patchMergeKey;
      if (s.patchStrategy) out['x-kubernetes-patch-strategy'] = s.patchStrategy;
      return out;
    }
    case 'map': {
      const out: Json = withDescription({ type: 'object', additionalProperties: renderSchema(s.values, dialect) }, s);
      if (s.mapType) out['x-kubernetes-map-type'] = s.mapType;
      return out;
    }
    case 'object': {
      const out: Json = {};
      if (s.description) out.description = s.description;
      const names = Object.keys(s.properties);
      if (names.length) {
        const props: Json = {};
        for (const n of names) props[n] = renderSchema(s.properties[n], dialect);
        out.properties = props;
      }
      if (s.required?.length) out.required = [...s.required];
      out.type = 'object';
      if (s.gvk) out['x-kubernetes-group-version-kind'] = s.gvk.map((g) => ({ group: g.group, kind: g.kind, version: g.version }));
      if (s.mapType) out['x-kubernetes-map-type'] = s.mapType;
      if (s.patchStrategy) out['x-kubernetes-patch-strategy'] = s.patchStrategy;
      if (s.preserveUnknownFields) out['x-kubernetes-preserve-unknown-fields'] = true;
      if (s.unions) out['x-kubernetes-unions'] = s.unions;
      return out;
    }
    case 'ref': {
      const target = refPrefix(dialect) + s.ref;
      const siblings: Json = {};
      if (s.description) siblings.description = s.description;
      if (s.patchMergeKey) siblings['x-kubernetes-patch-merge-key'] = s.patchMergeKey;
      if (s.patchStrategy) siblings['x-kubernetes-patch-strategy'] = s.patchStrategy;
      if (dialect === 'v3' && Object.keys(siblings).length) return { allOf: [{ $ref: target }], ...siblings };
      return { $ref: target, ...siblings };
    }
    case 'any': {
      const out: Json = {};
      if (s.description) out.description = s.description;
      if (s.objectLike) out.type = 'object';
      return out;
    }
  }
}

/** A named definition (top-level entry of `definitions` / `components.schemas`). */
export function renderDefinition(name: string, s: Schema, dialect: Dialect): Json {
  const special = dialect === 'v3' ? V3_ONE_OF[name] : undefined;
  if (special) {
    const out: Json = {};
    if (s.description) out.description = s.description;
    if (special.format) out.format = special.format;
    out.oneOf = special.oneOf.map((t) => ({ type: t }));
    return out;
  }
  return renderSchema(s, dialect);
}

/** Every definition name referenced (directly) anywhere inside a rendered JSON value. */
export function collectRefs(value: unknown, prefix: string, into: Set<string> = new Set()): Set<string> {
  if (Array.isArray(value)) {
    for (const v of value) collectRefs(v, prefix, into);
  } else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      if (k === '$ref' && typeof v === 'string' && v.startsWith(prefix)) into.add(v.slice(prefix.length));
      else collectRefs(v, prefix, into);
    }
  }
  return into;
}
