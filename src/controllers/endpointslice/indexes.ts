/**
 * Label indexes that keep the EndpointSlice controller's work proportional to one Service's
 * pods rather than to all pods or all Services of a namespace (1000 Services x 10 pods in one
 * namespace must not cost 10 000 label matches per event).
 *
 * PodLabelIndex files every pod under each of its `key=value` labels, so a Service's pods are
 * found by scanning only the smallest bucket among its selector's pairs. ServiceSelectorIndex
 * files every Service under each pair of its selector (and match-all `{}` selectors apart), so
 * the Services a pod may belong to are found from the pod's own labels.
 */

const SEP = '\u0000';

function pairKey(ns: string, k: string, v: string): string {
  return `${ns}${SEP}${k}${SEP}${v}`;
}

class Buckets {
  private readonly map = new Map<string, Set<string>>();

  add(bucket: string, key: string): void {
    let s = this.map.get(bucket);
    if (!s) this.map.set(bucket, (s = new Set()));
    s.add(key);
  }

  remove(bucket: string, key: string): void {
    const s = this.map.get(bucket);
    if (!s) return;
    s.delete(key);
    if (!s.size) this.map.delete(bucket);
  }

  get(bucket: string): ReadonlySet<string> | undefined {
    return this.map.get(bucket);
  }
}

const EMPTY: ReadonlySet<string> = new Set();

export class PodLabelIndex {
  private readonly buckets = new Buckets();
  /** object key → the namespace and labels it is filed under */
  private readonly filed = new Map<string, { ns: string; labels: Record<string, string> }>();

  /** Files (or re-files) a pod under its current labels. */
  set(key: string, ns: string, labels: Record<string, string> | undefined): void {
    const old = this.filed.get(key);
    const next = labels ?? {};
    if (old && old.ns === ns && sameLabels(old.labels, next)) return;
    this.delete(key);
    for (const [k, v] of Object.entries(next)) this.buckets.add(pairKey(ns, k, v), key);
    this.filed.set(key, { ns, labels: { ...next } });
  }

  delete(key: string): void {
    const old = this.filed.get(key);
    if (!old) return;
    for (const [k, v] of Object.entries(old.labels)) this.buckets.remove(pairKey(old.ns, k, v), key);
    this.filed.delete(key);
  }

  /**
   * Keys of pods that may match a non-empty selector: the smallest bucket among its pairs
   * (callers still check the full selector). Undefined for an empty selector (match all).
   */
  candidates(ns: string, selector: Record<string, string>): ReadonlySet<string> | undefined {
    let best: ReadonlySet<string> | undefined;
    for (const [k, v] of Object.entries(selector)) {
      const b = this.buckets.get(pairKey(ns, k, v)) ?? EMPTY;
      if (!best || b.size < best.size) best = b;
      if (best.size === 0) break;
    }
    return best;
  }
}

export class ServiceSelectorIndex {
  private readonly buckets = new Buckets();
  private readonly filed = new Map<string, { ns: string; selector: Record<string, string> | null }>();

  /** Files a Service under its selector; a null selector (unmanaged) is not filed. */
  set(key: string, ns: string, selector: Record<string, string> | null | undefined): void {
    const next = selector ?? null;
    const old = this.filed.get(key);
    if (old && old.ns === ns && (old.selector === next || (old.selector && next && sameLabels(old.selector, next)))) return;
    this.delete(key);
    if (next) {
      const pairs = Object.entries(next);
      if (!pairs.length) this.buckets.add(`${ns}${SEP}*`, key);
      for (const [k, v] of pairs) this.buckets.add(pairKey(ns, k, v), key);
    }
    this.filed.set(key, { ns, selector: next ? { ...next } : null });
  }

  delete(key: string): void {
    const old = this.filed.get(key);
    if (!old) return;
    if (old.selector) {
      const pairs = Object.entries(old.selector);
      if (!pairs.length) this.buckets.remove(`${old.ns}${SEP}*`, key);
      for (const [k, v] of pairs) this.buckets.remove(pairKey(old.ns, k, v), key);
    }
    this.filed.delete(key);
  }

  /** Keys of the Services in `ns` whose selector matches these labels. */
  matching(ns: string, labels: Record<string, string> | undefined): Set<string> {
    const out = new Set<string>();
    for (const key of this.buckets.get(`${ns}${SEP}*`) ?? EMPTY) out.add(key);
    for (const [k, v] of Object.entries(labels ?? {})) {
      for (const key of this.buckets.get(pairKey(ns, k, v)) ?? EMPTY) {
        if (out.has(key)) continue;
        const sel = this.filed.get(key)?.selector;
        if (sel && selectorMatchesLabels(sel, labels)) out.add(key);
      }
    }
    return out;
  }
}

function selectorMatchesLabels(selector: Record<string, string>, labels: Record<string, string> | undefined): boolean {
  for (const k in selector) if (labels?.[k] !== selector[k]) return false;
  return true;
}

function sameLabels(a: Record<string, string>, b: Record<string, string>): boolean {
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  for (const k of ka) if (b[k] !== a[k]) return false;
  return true;
}
