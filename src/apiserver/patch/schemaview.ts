/**
 * Reads the schema DSL the way the two merge engines need it. Strategic merge patch wants the
 * Go struct tags (patchStrategy / patchMergeKey) of a field; server-side apply wants the
 * structured-merge-diff view (scalar / list with a relationship / map that is atomic or
 * granular). Both views are derived here from the same `Definitions`, so fake definitions in
 * tests and the real ones behave alike.
 *
 * Contract: unknown definitions, `any` and missing schemas resolve to "deduced" (JSON merge
 * semantics for SMP; structured-merge-diff's untyped-deduced type for apply).
 */
import type { Definitions, Schema } from '../../api/schema.js';

/** Follows refs; returns the concrete schema plus patch metadata placed on the referencing property. */
export function deref(
  defs: Definitions,
  s: Schema | undefined,
): { schema: Schema | undefined; patchStrategy?: string; patchMergeKey?: string } {
  let patchStrategy: string | undefined;
  let patchMergeKey: string | undefined;
  let cur = s;
  for (let hops = 0; cur && cur.type === 'ref' && hops < 64; hops++) {
    patchStrategy ??= cur.patchStrategy;
    patchMergeKey ??= cur.patchMergeKey;
    cur = defs[cur.ref];
  }
  if (cur && cur.type === 'ref') cur = undefined;
  return { schema: cur, patchStrategy, patchMergeKey };
}

/** Strategic-merge metadata of one field, as LookupPatchMetadataFor{Struct,Slice} returns it. */
export interface PatchMeta {
  /** Schema of the field's value (for slices: of the list; use `elem` for items). */
  schema: Schema | undefined;
  strategies: string[];
  mergeKey: string;
}

/** Metadata for `key` inside a value described by `parent`. Unknown fields get none. */
export function smpField(defs: Definitions, parent: Schema | undefined, key: string): PatchMeta {
  const p = deref(defs, parent).schema;
  let field: Schema | undefined;
  if (p?.type === 'object') field = p.properties[key];
  else if (p?.type === 'map') field = p.values;
  if (!field) return { schema: undefined, strategies: [], mergeKey: '' };
  const r = deref(defs, field);
  let strategy = r.patchStrategy;
  let mergeKey = r.patchMergeKey;
  if (r.schema?.type === 'array') {
    strategy = r.schema.patchStrategy ?? strategy;
    mergeKey = r.schema.patchMergeKey ?? mergeKey;
  } else if (r.schema?.type === 'object') {
    strategy = strategy ?? r.schema.patchStrategy;
  }
  return { schema: r.schema, strategies: strategy ? strategy.split(',') : [], mergeKey: mergeKey ?? '' };
}

/** Item schema of a list schema (undefined when unknown). */
export function smpElem(defs: Definitions, list: Schema | undefined): Schema | undefined {
  const l = deref(defs, list).schema;
  return l?.type === 'array' ? l.items : undefined;
}

// ---------------------------------------------------------------------------------------------
// structured-merge-diff view

export type TypeNode =
  | { kind: 'scalar' }
  | { kind: 'deduced' }
  | { kind: 'list'; rel: 'atomic' | 'set' | 'map'; keys: string[]; elem: Schema | undefined }
  | {
      kind: 'map';
      atomic: boolean;
      /** Declared struct fields (named fields); empty for additionalProperties maps. */
      fields: Record<string, Schema>;
      isStruct: boolean;
      /** Type of undeclared keys: a schema, 'deduced', or 'none' when undeclared keys are errors. */
      elem: Schema | 'deduced' | 'none';
    };

/**
 * The list relationship kube derives from OpenAPI extensions: x-kubernetes-list-type wins;
 * otherwise patchStrategy merge makes an associative list keyed by the merge key (or a set of
 * primitives); anything else is atomic.
 */
export function typeOf(defs: Definitions, s: Schema | undefined): TypeNode {
  const r = deref(defs, s).schema;
  if (!r || r.type === 'any') return { kind: 'deduced' };
  switch (r.type) {
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      return { kind: 'scalar' };
    case 'array': {
      if (r.listType === 'atomic') return { kind: 'list', rel: 'atomic', keys: [], elem: r.items };
      if (r.listType === 'set') return { kind: 'list', rel: 'set', keys: [], elem: r.items };
      if (r.listType === 'map') return { kind: 'list', rel: 'map', keys: r.listMapKeys ?? [], elem: r.items };
      const strategies = (r.patchStrategy ?? '').split(',');
      if (strategies.includes('merge')) {
        return r.patchMergeKey
          ? { kind: 'list', rel: 'map', keys: [r.patchMergeKey], elem: r.items }
          : { kind: 'list', rel: 'set', keys: [], elem: r.items };
      }
      return { kind: 'list', rel: 'atomic', keys: [], elem: r.items };
    }
    case 'map':
      return { kind: 'map', atomic: r.mapType === 'atomic', fields: {}, isStruct: false, elem: r.values };
    case 'object':
      return {
        kind: 'map',
        atomic: r.mapType === 'atomic',
        fields: r.properties,
        isStruct: true,
        elem: r.preserveUnknownFields ? 'deduced' : 'none',
      };
  }
  return { kind: 'deduced' };
}

/** The untyped type of a concrete value under a deduced schema: maps granular, lists atomic. */
export function deducedFor(v: unknown): TypeNode {
  if (Array.isArray(v)) return { kind: 'list', rel: 'atomic', keys: [], elem: undefined };
  if (typeof v === 'object' && v !== null) return { kind: 'map', atomic: false, fields: {}, isStruct: false, elem: 'deduced' };
  return { kind: 'scalar' };
}

/** Schema of key `k` of a map node; `undefined` means deduced, `null` means undeclared. */
export function mapFieldSchema(t: Extract<TypeNode, { kind: 'map' }>, k: string): Schema | undefined | null {
  if (Object.prototype.hasOwnProperty.call(t.fields, k)) return t.fields[k];
  if (t.elem === 'deduced') return undefined;
  if (t.elem === 'none') return null;
  return t.elem;
}

/**
 * Default value for a list-map key field that an item omits. kube's OpenAPI carries
 * `default: "TCP"` on port protocols; our DSL has no defaults, so a `default` property on the
 * schema is honoured if present and `protocol` falls back to TCP.
 */
export function keyDefault(defs: Definitions, elem: Schema | undefined, key: string): unknown {
  const e = deref(defs, elem).schema;
  if (e?.type !== 'object') return undefined;
  const f = deref(defs, e.properties[key]).schema as (Schema & { default?: unknown }) | undefined;
  if (!f) return undefined;
  if (f.default !== undefined) return f.default;
  if (key === 'protocol' && f.type === 'string') return 'TCP';
  return undefined;
}
