/**
 * ObjectMeta, label, annotation and label-selector rules shared by every kind (kube's
 * apimachinery/pkg/api/validation/objectmeta.go plus core's finalizer-name check).
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asArr, asObj, asStr, child, deepEqual, fe, FIELD_IMMUTABLE, goRaw, goStringMap, goQuote, index, isObj, nonNegative, type Obj } from './field.js';
import { each, isDNS1123Label, isQualifiedName, isValidLabelValue, type NameFn } from './names.js';

export const TOTAL_ANNOTATION_SIZE_LIMIT = 256 * 1024;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

export function validateLabelName(k: string, path: string): StatusCause[] {
  return each(path, k, isQualifiedName(k));
}

/** Labels: every key a qualified name and every value a label value; errors point at the map. */
export function validateLabels(labels: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const [k, v] of Object.entries(asObj(labels))) {
    out.push(...validateLabelName(k, path));
    out.push(...each(path, asStr(v), isValidLabelValue(asStr(v))));
  }
  return out;
}

export function validateAnnotations(ann: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  let size = 0;
  for (const [k, v] of Object.entries(asObj(ann))) {
    out.push(...each(path, k, isQualifiedName(k.toLowerCase())));
    size += Buffer.byteLength(k) + Buffer.byteLength(asStr(v));
  }
  if (size > TOTAL_ANNOTATION_SIZE_LIMIT) out.push(fe.tooLong(path, TOTAL_ANNOTATION_SIZE_LIMIT));
  return out;
}

/** Renders a label selector as Go's %#v of v1.LabelSelector (used as a bad value by kube). */
export function goLabelSelector(sel: unknown): ReturnType<typeof goRaw> {
  if (!isObj(sel)) return goRaw('null');
  const exprs = asArr(sel.matchExpressions);
  const ex = sel.matchExpressions
    ? `[]v1.LabelSelectorRequirement{${exprs
        .map((e: Obj) => `v1.LabelSelectorRequirement{Key:${goQuote(asStr(e.key))}, Operator:${goQuote(asStr(e.operator))}, Values:${e.values ? `[]string{${asArr(e.values).map((x) => goQuote(String(x))).join(', ')}}` : '[]string(nil)'}}`)
        .join(', ')}}`
    : '[]v1.LabelSelectorRequirement(nil)';
  return goRaw(`v1.LabelSelector{MatchLabels:${goStringMap(sel.matchLabels).text}, MatchExpressions:${ex}}`);
}

export function validateLabelSelector(sel: unknown, path: string): StatusCause[] {
  if (!isObj(sel)) return [];
  const out = validateLabels(sel.matchLabels, child(path, 'matchLabels'));
  asArr(sel.matchExpressions).forEach((e: Obj, i: number) => {
    const p = index(child(path, 'matchExpressions'), i);
    const values = asArr(e?.values);
    switch (e?.operator) {
      case 'In':
      case 'NotIn':
        if (values.length === 0) out.push(fe.required(child(p, 'values'), "must be specified when `operator` is 'In' or 'NotIn'"));
        break;
      case 'Exists':
      case 'DoesNotExist':
        if (values.length > 0) out.push(fe.forbidden(child(p, 'values'), "may not be specified when `operator` is 'Exists' or 'DoesNotExist'"));
        break;
      default:
        out.push(fe.invalid(child(p, 'operator'), asStr(e?.operator), 'not a valid selector operator'));
    }
    out.push(...validateLabelName(asStr(e?.key), child(p, 'key')));
    values.forEach((v, vi) => out.push(...each(index(child(p, 'values'), vi), asStr(v), isValidLabelValue(asStr(v)))));
  });
  return out;
}

/** Whether a metav1.LabelSelector matches a label set (nil selector matches nothing, empty matches all). */
export function selectorMatches(sel: unknown, labels: unknown): boolean {
  if (!isObj(sel)) return false;
  const l = asObj(labels);
  for (const [k, v] of Object.entries(asObj(sel.matchLabels))) if (l[k] !== v) return false;
  for (const e of asArr(sel.matchExpressions) as Obj[]) {
    const has = Object.prototype.hasOwnProperty.call(l, e.key);
    const vals = asArr(e.values);
    switch (e.operator) {
      case 'In':
        if (!has || !vals.includes(l[e.key])) return false;
        break;
      case 'NotIn':
        if (has && vals.includes(l[e.key])) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return false;
    }
  }
  return true;
}

function goOwnerRef(r: Obj): string {
  const b = (v: unknown): string => (typeof v === 'boolean' ? `(*bool)(${v})` : '(*bool)(nil)');
  return `v1.OwnerReference{APIVersion:${goQuote(asStr(r.apiVersion))}, Kind:${goQuote(asStr(r.kind))}, Name:${goQuote(asStr(r.name))}, UID:${goQuote(asStr(r.uid))}, Controller:${b(r.controller)}, BlockOwnerDeletion:${b(r.blockOwnerDeletion)}}`;
}

export function validateOwnerReferences(refs: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const list = asArr(refs) as Obj[];
  let firstController = '';
  for (const ref of list) {
    const apiVersion = asStr(ref?.apiVersion);
    const parts = apiVersion.split('/');
    const version = parts.length === 1 ? parts[0] : parts.length === 2 ? parts[1] : '';
    const group = parts.length === 2 ? parts[0] : '';
    if (!version) out.push(fe.invalid(child(path, 'apiVersion'), apiVersion, 'version must not be empty'));
    if (!asStr(ref?.kind)) out.push(fe.invalid(child(path, 'kind'), asStr(ref?.kind), 'kind must not be empty'));
    if (!asStr(ref?.name)) out.push(fe.invalid(child(path, 'name'), asStr(ref?.name), 'name must not be empty'));
    if (!asStr(ref?.uid)) out.push(fe.invalid(child(path, 'uid'), asStr(ref?.uid), 'uid must not be empty'));
    if (group === '' && version === 'v1' && ref?.kind === 'Event') {
      out.push(fe.invalid(path, goRaw(goOwnerRef(ref)), '/v1, Kind=Event is disallowed from being an owner'));
    }
    if (ref?.controller === true) {
      const cur = `${asStr(ref.kind)}/${asStr(ref.name)}`;
      if (firstController) {
        out.push(
          fe.invalid(
            path,
            goRaw(`[]v1.OwnerReference{${list.map(goOwnerRef).join(', ')}}`),
            `Only one reference can have Controller set to true. Found "true" in references for ${firstController} and ${cur}`,
          ),
        );
      } else firstController = cur;
    }
  }
  return out;
}

function validateFinalizers(fins: unknown, path: string): StatusCause[] {
  const list = asArr(fins).map(asStr);
  const out: StatusCause[] = [];
  for (const f of list) out.push(...each(path, f, isQualifiedName(f)));
  if (list.includes('orphan') && list.includes('foregroundDeletion')) {
    out.push(fe.invalid(path, list, 'finalizer orphan and foregroundDeletion cannot be both set'));
  }
  return out;
}

/** core's extra per-entry check: unprefixed finalizers must be one of the standard names. */
function validateKubeFinalizers(fins: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  asArr(fins).forEach((f, i) => {
    const s = asStr(f);
    const p = index(path, i);
    out.push(...each(p, s, isQualifiedName(s)));
    if (!s.includes('/') && !STANDARD_FINALIZERS.has(s)) {
      out.push(fe.invalid(p, s, 'name is neither a standard finalizer name nor is it fully qualified'));
    }
  });
  return out;
}

export interface MetaOptions {
  namespaced: boolean;
  nameFn: NameFn;
}

/** ValidateObjectMeta as run on create. The caller has already turned generateName into a name if it does that. */
export function validateObjectMeta(metaIn: unknown, opts: MetaOptions, path = 'metadata'): StatusCause[] {
  const meta = asObj(metaIn);
  const out: StatusCause[] = [];
  const name = asStr(meta.name);
  const generateName = asStr(meta.generateName);
  const ns = asStr(meta.namespace);
  if (generateName) out.push(...each(child(path, 'generateName'), generateName, opts.nameFn(generateName, true)));
  if (!name) out.push(fe.required(child(path, 'name'), 'name or generateName is required'));
  else out.push(...each(child(path, 'name'), name, opts.nameFn(name, false)));
  if (opts.namespaced) {
    if (!ns) out.push(fe.required(child(path, 'namespace')));
    else out.push(...each(child(path, 'namespace'), ns, isDNS1123Label(ns)));
  } else if (ns) {
    out.push(fe.forbidden(child(path, 'namespace'), 'not allowed on this type'));
  }
  out.push(...nonNegative(meta.generation, child(path, 'generation')));
  out.push(...validateLabels(meta.labels, child(path, 'labels')));
  out.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  out.push(...validateOwnerReferences(meta.ownerReferences, child(path, 'ownerReferences')));
  out.push(...validateFinalizers(meta.finalizers, child(path, 'finalizers')));
  out.push(...validateKubeFinalizers(meta.finalizers, child(path, 'finalizers')));
  return out;
}

/** Go's metav1.Time String(): "2006-01-02 15:04:05 +0000 UTC". */
function goTime(v: unknown): ReturnType<typeof goRaw> {
  if (typeof v !== 'string' || !v) return goRaw('null');
  const d = new Date(v);
  if (Number.isNaN(d.getTime())) return goRaw(v);
  return goRaw(`${d.toISOString().slice(0, 19).replace('T', ' ')} +0000 UTC`);
}

/** ValidateObjectMetaUpdate: identity fields are immutable; labels etc. re-validated. */
export function validateObjectMetaUpdate(newIn: unknown, oldIn: unknown, path = 'metadata'): StatusCause[] {
  const n = asObj(newIn);
  const o = asObj(oldIn);
  const out: StatusCause[] = [];
  if (o.deletionTimestamp) {
    const extra = asArr(n.finalizers).filter((f) => !asArr(o.finalizers).includes(f)).map(asStr).sort();
    if (extra.length) {
      out.push(
        fe.forbidden(
          child(path, 'finalizers'),
          `no new finalizers can be added if the object is being deleted, found new finalizers []string{${extra.map(goQuote).join(', ')}}`,
        ),
      );
    }
  }
  if (typeof n.generation === 'number' && typeof o.generation === 'number' && n.generation < o.generation) {
    out.push(fe.invalid(child(path, 'generation'), n.generation, 'must not be decremented'));
  }
  const imm = (field: string, render: (v: unknown) => unknown = (v) => asStr(v)): void => {
    if (!deepEqual(n[field] ?? '', o[field] ?? '')) out.push(fe.invalid(child(path, field), render(n[field]), FIELD_IMMUTABLE));
  };
  imm('name');
  imm('namespace');
  imm('uid');
  imm('creationTimestamp', goTime);
  imm('deletionTimestamp', goTime);
  imm('deletionGracePeriodSeconds', (v) => (typeof v === 'number' ? v : null));
  out.push(...validateLabels(n.labels, child(path, 'labels')));
  out.push(...validateAnnotations(n.annotations, child(path, 'annotations')));
  out.push(...validateOwnerReferences(n.ownerReferences, child(path, 'ownerReferences')));
  out.push(...validateKubeFinalizers(n.finalizers, child(path, 'finalizers')));
  return out;
}
