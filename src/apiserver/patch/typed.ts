/**
 * The typed-value operations of sigs.k8s.io/structured-merge-diff that server-side apply and
 * managedFields tracking are built from, over plain JSON plus our schema DSL:
 * - `toFieldSet`: the paths a value sets (scalars, atomic lists/maps, list items);
 * - `compare`: added / modified / removed paths between two values;
 * - `merge`: apply semantics (config wins; granular maps merge; list-maps and sets merge by
 *   key keeping a stable order; atomic values replace);
 * - `removeItems` and `ensureNamedFieldsAreMembers`, used by apply's pruning.
 *
 * Lists become associative (by keys or as sets) exactly as kube derives it from OpenAPI; see
 * schemaview.typeOf. Unknown schemas are "deduced": maps granular, lists atomic.
 */
import type { Definitions, Schema } from '../../api/schema.js';
import { FieldSet, peField, peKey, peToString, peValue, pathToString, type Path, type PathElement } from './fieldpath.js';
import { deducedFor, keyDefault, mapFieldSchema, typeOf, type TypeNode } from './schemaview.js';
import { deepEqual, isObject, type JsonObject, type JsonValue } from './util.js';

type ListNode = Extract<TypeNode, { kind: 'list' }>;
type MapNode = Extract<TypeNode, { kind: 'map' }>;

export interface ValidationError {
  path: Path;
  message: string;
}

/** ValidationErrors.Error(): one error plainly, several as an indented "errors:" block. */
export function formatValidationErrors(errs: ValidationError[]): string {
  const one = (e: ValidationError): string => (e.path.length ? `${pathToString(e.path)}: ${e.message}` : e.message);
  if (errs.length === 1) return one(errs[0]!);
  return ['errors:', ...errs.map((e) => `  ${one(e)}`)].join('\n');
}

function resolve(defs: Definitions, s: Schema | undefined, v: unknown): TypeNode {
  const t = typeOf(defs, s);
  return t.kind === 'deduced' ? deducedFor(v) : t;
}

/** Schema of a map key; undeclared keys are reported through `onUnknown` and then deduced. */
function fieldSchema(t: MapNode, k: string, onUnknown?: () => void): Schema | undefined {
  const s = mapFieldSchema(t, k);
  if (s === null) {
    onUnknown?.();
    return undefined;
  }
  return s;
}

/** The path element of a list item, or an error message (prefixed "element i:" as upstream). */
export function itemPE(defs: Definitions, t: ListNode, item: unknown, i: number): PathElement | string[] {
  if (t.rel === 'map' && t.keys.length) {
    if (item === null || item === undefined) return [`element ${i}: associative list with keys may not have a null element`];
    if (!isObject(item)) return [`element ${i}: associative list with keys may not have non-map elements`];
    const fields: [string, unknown][] = [];
    for (const k of t.keys) {
      if (Object.prototype.hasOwnProperty.call(item, k) && item[k] !== null) fields.push([k, item[k]]);
      else {
        const d = keyDefault(defs, t.elem, k);
        if (d === undefined) return [`element ${i}: associative list with keys has an element that omits key field "${k}" (and doesn't have default value)`];
        fields.push([k, d]);
      }
    }
    return peKey(fields);
  }
  if (isObject(item)) return [`element ${i}: associative list without keys has an element that's a map type`];
  if (Array.isArray(item)) return [`element ${i}: associative list without keys has an element that's a list type`];
  return peValue(item);
}

export interface ToFieldSetOptions {
  /** Report fields the schema does not declare (apply configs); otherwise they are deduced. */
  strict?: boolean;
  /** Tolerate duplicate list-map keys (live objects); apply configs may not have them. */
  allowDuplicates?: boolean;
}

/** ToFieldSet plus the validation the typed conversion of an apply config performs. */
export function toFieldSet(
  defs: Definitions,
  schema: Schema | undefined,
  value: unknown,
  opts: ToFieldSetOptions = {},
): { set: FieldSet; errors: ValidationError[] } {
  const set = new FieldSet();
  const errs: ValidationError[] = [];
  const walk = (path: Path, s: Schema | undefined, v: unknown): void => {
    const t = resolve(defs, s, v);
    if (t.kind === 'scalar' || t.kind === 'deduced') {
      set.insert(path);
      return;
    }
    if (t.kind === 'list') {
      if (t.rel === 'atomic') {
        set.insert(path);
        return;
      }
      if (!Array.isArray(v)) return;
      const seen = new Set<string>();
      v.forEach((item, i) => {
        const pe = itemPE(defs, t, item, i);
        if (Array.isArray(pe)) {
          errs.push({ path, message: pe[0]! });
          return;
        }
        if (seen.has(pe) && !opts.allowDuplicates) errs.push({ path, message: `duplicate entries for key ${peToString(pe)}` });
        seen.add(pe);
        walk([...path, pe], t.elem, item);
        set.insert([...path, pe]);
      });
      return;
    }
    if (t.atomic) {
      set.insert(path);
      return;
    }
    if (!isObject(v)) return;
    for (const [k, x] of Object.entries(v)) {
      const p = [...path, peField(k)];
      let unknown = false;
      const fs = fieldSchema(t, k, () => (unknown = true));
      if (unknown && opts.strict) {
        errs.push({ path: p, message: 'field not declared in schema' });
        continue;
      }
      walk(p, fs, x);
      // Keys that are not declared struct fields (map entries, untyped keys) are members too.
      if (!Object.prototype.hasOwnProperty.call(t.fields, k)) set.insert(p);
    }
  };
  walk([], schema, value);
  return { set, errors: errs };
}

export interface Comparison {
  added: FieldSet;
  modified: FieldSet;
  removed: FieldSet;
}

/** typed.Compare: what changed between `lhs` (old) and `rhs` (new); undefined means absent. */
export function compare(defs: Definitions, schema: Schema | undefined, lhs: unknown, rhs: unknown): Comparison {
  const c: Comparison = { added: new FieldSet(), modified: new FieldSet(), removed: new FieldSet() };
  const cmp = (path: Path, s: Schema | undefined, l: unknown, r: unknown): void => {
    // Equal subtrees contribute nothing: skipping them keeps an update that touches one field
    // of a large object (a pod's status, one endpoint of a slice) from walking all of it.
    if (l !== undefined && r !== undefined && deepEqual(l, r)) return;
    const st = { inLeaf: false };
    const leaf = (): void => {
      if (st.inLeaf) return;
      st.inLeaf = true;
      if (l === undefined) c.added.insert(path);
      else if (r === undefined) c.removed.insert(path);
      else if (!deepEqual(l, r)) c.modified.insert(path);
    };
    const handle = (t: TypeNode): void => {
      if (t.kind === 'scalar' || t.kind === 'deduced') return leaf();
      if (t.kind === 'list') {
        const lv = Array.isArray(l) ? l : undefined;
        const rv = Array.isArray(r) ? r : undefined;
        if (t.rel === 'atomic' || (!lv?.length && !rv?.length)) return leaf();
        const groups = groupItems(defs, t, lv, rv);
        for (const [pe, g] of groups) {
          if (g.l.length >= 2 || g.r.length >= 2) {
            if (!deepEqual(g.l, g.r)) c.modified.insert([...path, pe]);
            continue;
          }
          cmp([...path, pe], t.elem, g.l[0], g.r[0]);
        }
        return;
      }
      const lm = isObject(l) ? l : undefined;
      const rm = isObject(r) ? r : undefined;
      const emptyL = !lm || Object.keys(lm).length === 0;
      const emptyR = !rm || Object.keys(rm).length === 0;
      if (t.atomic || (emptyL && emptyR)) return leaf();
      for (const k of unionKeys(lm, rm)) cmp([...path, peField(k)], fieldSchema(t, k), lm?.[k], rm?.[k]);
    };
    const tl = l === undefined ? undefined : resolve(defs, s, l);
    const tr = r === undefined ? undefined : resolve(defs, s, r);
    if (tl && tr && tl.kind !== tr.kind) {
      const saved = st.inLeaf;
      handle(tl);
      st.inLeaf = saved;
      handle(tr);
    } else handle((tr ?? tl)!);
    if (!st.inLeaf) {
      if (l === undefined) c.added.insert(path);
      else if (r === undefined) c.removed.insert(path);
    }
  };
  cmp([], schema, lhs, rhs);
  return c;
}

function unionKeys(a: JsonObject | undefined, b: JsonObject | undefined): string[] {
  const keys = a ? Object.keys(a) : [];
  if (b) for (const k of Object.keys(b)) if (!a || !Object.prototype.hasOwnProperty.call(a, k)) keys.push(k);
  return keys;
}

/** Items of both sides grouped by path element (lhs order first); unkeyable items get indices. */
function groupItems(defs: Definitions, t: ListNode, l: unknown[] | undefined, r: unknown[] | undefined): Map<PathElement, { l: unknown[]; r: unknown[] }> {
  const out = new Map<PathElement, { l: unknown[]; r: unknown[] }>();
  const add = (list: unknown[] | undefined, side: 'l' | 'r'): void => {
    list?.forEach((item, i) => {
      let pe = itemPE(defs, t, item, i);
      if (Array.isArray(pe)) pe = `i:${i}`;
      let g = out.get(pe);
      if (!g) out.set(pe, (g = { l: [], r: [] }));
      g[side].push(item);
    });
  };
  add(l, 'l');
  add(r, 'r');
  return out;
}

/** typed.Merge with the "keep RHS" rule: `rhs` (the applied config) wins on every leaf. */
export function merge(defs: Definitions, schema: Schema | undefined, lhs: unknown, rhs: unknown): unknown {
  const m = (s: Schema | undefined, l: unknown, r: unknown): unknown => {
    const leaf = (): unknown => (r !== undefined ? r : l);
    const t = r === undefined ? resolve(defs, s, l) : resolve(defs, s, r);
    if (t.kind === 'scalar' || t.kind === 'deduced') return leaf();
    if (t.kind === 'list') {
      const lv = Array.isArray(l) ? l : undefined;
      const rv = Array.isArray(r) ? r : undefined;
      if (t.rel === 'atomic' || (!lv?.length && !rv?.length)) return leaf();
      const out = mergeListItems(defs, t, lv ?? [], rv ?? [], (a, b) => m(t.elem, a, b));
      return out.length ? out : undefined;
    }
    const lm = isObject(l) ? l : undefined;
    const rm = isObject(r) ? r : undefined;
    const emptyL = !lm || Object.keys(lm).length === 0;
    const emptyR = !rm || Object.keys(rm).length === 0;
    if (t.atomic || (emptyL && emptyR)) return leaf();
    const out: JsonObject = {};
    for (const k of unionKeys(lm, rm)) {
      const v = m(fieldSchema(t, k), lm?.[k], rm?.[k]);
      if (v !== undefined) out[k] = v as JsonValue;
    }
    return Object.keys(out).length ? out : undefined;
  };
  return m(schema, lhs, rhs);
}

/**
 * mergingWalker.visitListItems: keeps live order, inserts new config items after the live item
 * that precedes them in the config, and lets shared items follow the config's relative order.
 */
function mergeListItems(
  defs: Definitions,
  t: ListNode,
  lhs: unknown[],
  rhs: unknown[],
  mergeItem: (l: unknown, r: unknown) => unknown,
): unknown[] {
  const index = (list: unknown[]): { pes: PathElement[]; observed: Map<PathElement, unknown> } => {
    const pes: PathElement[] = [];
    const observed = new Map<PathElement, unknown>();
    list.forEach((item, i) => {
      let pe = itemPE(defs, t, item, i);
      if (Array.isArray(pe)) pe = `i:${i}`;
      if (observed.has(pe)) observed.set(pe, undefined); // duplicated: no single item to merge with
      else observed.set(pe, item);
      pes.push(pe);
    });
    return { pes, observed };
  };
  const R = index(rhs);
  const L = index(lhs);
  const shared = R.pes.filter((pe) => L.observed.has(pe));
  let nextShared = shared.shift();
  const mergedRHS = new Set<PathElement>();
  const out: unknown[] = [];
  const push = (v: unknown): void => {
    if (v !== undefined) out.push(v);
  };
  let lI = 0;
  let rI = 0;
  while (lI < L.pes.length || rI < R.pes.length) {
    if (lI < L.pes.length && rI < R.pes.length) {
      const pe = L.pes[lI]!;
      if (pe === R.pes[rI]) {
        mergedRHS.add(pe);
        push(mergeItem(L.observed.get(pe), R.observed.get(pe)));
        lI++;
        rI++;
        nextShared = shared.shift();
        continue;
      }
      if (R.observed.has(pe) && nextShared !== undefined && nextShared !== pe) {
        lI++;
        continue;
      }
    }
    if (lI < L.pes.length) {
      const pe = L.pes[lI]!;
      if (!R.observed.has(pe)) {
        push(mergeItem(lhs[lI], undefined));
        lI++;
        continue;
      } else if (mergedRHS.has(pe)) {
        lI++;
        continue;
      }
    }
    if (rI < R.pes.length) {
      const pe = R.pes[rI]!;
      mergedRHS.add(pe);
      const l = L.observed.get(pe);
      push(mergeItem(l, R.observed.get(pe) ?? rhs[rI]));
      rI++;
      if (nextShared !== undefined && nextShared === pe) nextShared = shared.shift();
    }
  }
  return out;
}

/**
 * TypedValue.RemoveItems: drops every path in `set` (with its subtree). Lists emptied by the
 * removal and additionalProperties maps left empty disappear, as they would after kube's
 * round trip through typed Go objects (nil slices and empty omitempty maps are not encoded).
 */
export function removeItems(defs: Definitions, schema: Schema | undefined, value: unknown, set: FieldSet): unknown {
  const rm = (s: Schema | undefined, v: unknown, sub: FieldSet): unknown => {
    const t = resolve(defs, s, v);
    if (t.kind === 'scalar' || t.kind === 'deduced') return v;
    if (t.kind === 'list') {
      if (!Array.isArray(v)) return v;
      if (v.length === 0 || t.rel === 'atomic') return undefined;
      const out: unknown[] = [];
      v.forEach((item, i) => {
        const pe = itemPE(defs, t, item, i);
        if (Array.isArray(pe)) {
          out.push(item);
          return;
        }
        if (sub.has([pe])) return;
        const c = sub.child(pe);
        out.push(c && !c.isEmpty() ? rm(t.elem, item, c) : item);
      });
      return out.length ? out : undefined;
    }
    if (!isObject(v)) return v;
    if (Object.keys(v).length === 0 || t.atomic) return undefined;
    const out: JsonObject = {};
    for (const [k, x] of Object.entries(v)) {
      const pe = peField(k);
      if (sub.has([pe])) continue;
      const c = sub.child(pe);
      if (!c || c.isEmpty()) {
        out[k] = x;
        continue;
      }
      const fs = fieldSchema(t, k);
      const y = rm(fs, x, c);
      if (y === undefined) continue;
      const ft = resolve(defs, fs, y);
      if (ft.kind === 'map' && !ft.isStruct && isObject(y) && Object.keys(y).length === 0) continue;
      out[k] = y as JsonValue;
    }
    return out;
  };
  return set.isEmpty() ? value : rm(schema, value, set);
}

/** Set.EnsureNamedFieldsAreMembers: declared struct fields on the way to a member become members. */
export function ensureNamedFieldsAreMembers(defs: Definitions, schema: Schema | undefined, set: FieldSet): FieldSet {
  const walk = (s: Schema | undefined, n: FieldSet): FieldSet => {
    const out = new FieldSet();
    out.member = n.member;
    const t = typeOf(defs, s);
    for (const [pe, c] of n.children) {
      let childSchema: Schema | undefined;
      let named = false;
      if (pe.startsWith('f:') && t.kind === 'map') {
        const name = pe.slice(2);
        named = Object.prototype.hasOwnProperty.call(t.fields, name);
        const fs = mapFieldSchema(t, name);
        childSchema = fs === null ? undefined : fs;
      } else if (pe.startsWith('k:') && t.kind === 'list') {
        childSchema = t.elem;
      }
      const nc = walk(childSchema, c);
      if (named) nc.member = true;
      if (!nc.isEmpty()) out.children.set(pe, nc);
    }
    return out;
  };
  return walk(schema, set);
}
