/**
 * The schema DSL: the one source from which kubelite derives validation, defaulting hooks,
 * strategic-merge metadata and the OpenAPI documents it serves. Definitions carry Kubernetes'
 * own names (e.g. `io.k8s.api.core.v1.ServiceSpec`) so that OpenAPI output, `kubectl explain`
 * and the comparison against the upstream swagger line up one to one.
 *
 * Contract: a Schema is plain data (no functions), so it can be walked, serialised and
 * compared. Builders below only save typing.
 */
export interface SchemaBase {
  description?: string;
}
export interface StringSchema extends SchemaBase {
  type: 'string';
  format?: 'byte' | 'date-time' | 'int-or-string' | string;
  enum?: string[];
}
export interface IntegerSchema extends SchemaBase {
  type: 'integer';
  format?: 'int32' | 'int64';
}
export interface NumberSchema extends SchemaBase {
  type: 'number';
  format?: 'double';
}
export interface BooleanSchema extends SchemaBase {
  type: 'boolean';
}
export interface ArraySchema extends SchemaBase {
  type: 'array';
  items: Schema;
  /** x-kubernetes-list-type */
  listType?: 'atomic' | 'set' | 'map';
  /** x-kubernetes-list-map-keys */
  listMapKeys?: string[];
  /** x-kubernetes-patch-strategy, e.g. 'merge' or 'merge,retainKeys' */
  patchStrategy?: string;
  /** x-kubernetes-patch-merge-key */
  patchMergeKey?: string;
}
/** An object with free-form keys (`additionalProperties`), e.g. labels. */
export interface MapSchema extends SchemaBase {
  type: 'map';
  values: Schema;
  /** x-kubernetes-map-type */
  mapType?: 'atomic' | 'granular';
}
export interface ObjectSchema extends SchemaBase {
  type: 'object';
  properties: Record<string, Schema>;
  required?: string[];
  /** x-kubernetes-map-type for structs ('atomic' means replaced as a whole). */
  mapType?: 'atomic' | 'granular';
  /** x-kubernetes-preserve-unknown-fields */
  preserveUnknownFields?: boolean;
  /** x-kubernetes-patch-strategy on a struct (e.g. 'retainKeys' for volume sources). */
  patchStrategy?: string;
  /** x-kubernetes-unions, copied as data when a type has them. */
  unions?: unknown[];
  /** x-kubernetes-group-version-kind for top-level kinds. */
  gvk?: { group: string; version: string; kind: string }[];
}
/** A reference to a named definition. */
export interface RefSchema extends SchemaBase {
  type: 'ref';
  ref: string;
  /** Strategic-merge metadata placed on the referencing property (rare for non-arrays). */
  patchStrategy?: string;
  patchMergeKey?: string;
}
/** IntOrString: a JSON number or string. Defined by reference in Kubernetes. */
export interface AnySchema extends SchemaBase {
  /** Any JSON value (RawExtension, JSON): validated only as JSON. */
  type: 'any';
  /** As OpenAPI 'object' with x-kubernetes-preserve-unknown-fields */
  objectLike?: boolean;
}

export type Schema =
  | StringSchema
  | IntegerSchema
  | NumberSchema
  | BooleanSchema
  | ArraySchema
  | MapSchema
  | ObjectSchema
  | RefSchema
  | AnySchema;

export type Definitions = Record<string, Schema>;

type Opts<T> = Omit<T, 'type' | 'items' | 'values' | 'properties' | 'ref'>;

export const str = (o: Opts<StringSchema> = {}): StringSchema => ({ type: 'string', ...o });
export const enumOf = (values: string[], o: Opts<StringSchema> = {}): StringSchema => ({ type: 'string', enum: values, ...o });
export const bytes = (o: Opts<StringSchema> = {}): StringSchema => ({ type: 'string', format: 'byte', ...o });
export const int32 = (o: Opts<IntegerSchema> = {}): IntegerSchema => ({ type: 'integer', format: 'int32', ...o });
export const int64 = (o: Opts<IntegerSchema> = {}): IntegerSchema => ({ type: 'integer', format: 'int64', ...o });
export const num = (o: Opts<NumberSchema> = {}): NumberSchema => ({ type: 'number', format: 'double', ...o });
export const bool = (o: Opts<BooleanSchema> = {}): BooleanSchema => ({ type: 'boolean', ...o });
export const arr = (items: Schema, o: Opts<ArraySchema> = {}): ArraySchema => ({ type: 'array', items, ...o });
export const map = (values: Schema, o: Opts<MapSchema> = {}): MapSchema => ({ type: 'map', values, ...o });
export const obj = (properties: Record<string, Schema>, o: Opts<ObjectSchema> = {}): ObjectSchema => ({
  type: 'object',
  properties,
  ...o,
});
export const ref = (name: string, o: Opts<RefSchema> = {}): RefSchema => ({ type: 'ref', ref: name, ...o });
export const any = (o: Opts<AnySchema> = {}): AnySchema => ({ type: 'any', ...o });

/** A list replaced as a whole (x-kubernetes-list-type: atomic). */
export const atomicList = (items: Schema, o: Opts<ArraySchema> = {}): ArraySchema => arr(items, { listType: 'atomic', ...o });
/**
 * A list merged element-wise by `key` in strategic merge patch and server-side apply: the
 * common `patchStrategy: merge` + `listType: map` shape (options override, e.g. listMapKeys).
 */
export const mergeList = (items: Schema, key: string, o: Opts<ArraySchema> = {}): ArraySchema =>
  arr(items, { listType: 'map', listMapKeys: [key], patchStrategy: 'merge', patchMergeKey: key, ...o });

export const CORE_V1 = 'io.k8s.api.core.v1';
/** Reference to a core/v1 definition by its short name. */
export const coreRef = (name: string, o: Opts<RefSchema> = {}): RefSchema => ref(`${CORE_V1}.${name}`, o);

/** Well-known apimachinery definitions, referenced by name as Kubernetes does. */
export const META = 'io.k8s.apimachinery.pkg.apis.meta.v1';
export const objectMeta = (o: Opts<RefSchema> = {}): RefSchema => ref(`${META}.ObjectMeta`, o);
export const listMeta = (o: Opts<RefSchema> = {}): RefSchema => ref(`${META}.ListMeta`, o);
export const time = (o: Opts<RefSchema> = {}): RefSchema => ref(`${META}.Time`, o);
export const microTime = (o: Opts<RefSchema> = {}): RefSchema => ref(`${META}.MicroTime`, o);
export const labelSelector = (o: Opts<RefSchema> = {}): RefSchema => ref(`${META}.LabelSelector`, o);
export const quantity = (o: Opts<RefSchema> = {}): RefSchema => ref('io.k8s.apimachinery.pkg.api.resource.Quantity', o);
export const intOrString = (o: Opts<RefSchema> = {}): RefSchema => ref('io.k8s.apimachinery.pkg.util.intstr.IntOrString', o);

/** Prefixes every key of a group's definitions with its package name. */
export function group(pkg: string, defs: Definitions): Definitions {
  const out: Definitions = {};
  for (const [k, v] of Object.entries(defs)) out[`${pkg}.${k}`] = v;
  return out;
}

/** The standard top-level object shape: apiVersion, kind, metadata plus the given fields. */
export function kindObject(
  gvk: { group: string; version: string; kind: string },
  fields: Record<string, Schema>,
  o: Opts<ObjectSchema> = {},
): ObjectSchema {
  return obj(
    {
      apiVersion: str({ description: 'The versioned schema of this object.' }),
      kind: str({ description: 'The REST resource this object represents, in CamelCase.' }),
      metadata: objectMeta({ description: "Standard object's metadata." }),
      ...fields,
    },
    { gvk: [gvk], ...o },
  );
}

/** The standard list shape for a kind. */
export function listObject(gvk: { group: string; version: string; kind: string }, itemRef: string): ObjectSchema {
  return obj(
    {
      apiVersion: str({ description: 'The versioned schema of this object.' }),
      items: arr(ref(itemRef), { description: `List of ${gvk.kind.replace(/List$/, '')} objects.` }),
      kind: str({ description: 'The REST resource this object represents, in CamelCase.' }),
      metadata: listMeta({ description: "Standard list metadata." }),
    },
    { required: ['items'], gvk: [gvk] },
  );
}
