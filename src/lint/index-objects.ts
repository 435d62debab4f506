/**
 * `buildIndex(objects)`: the read-only ObjectIndex cross-object checks query. Built once per run
 * (CLI) or per write (admission: the stored objects plus the incoming one), in O(objects).
 */
import { hasControllerOwner, kindOf, nameOf, namespaceOf, podTemplateOf, selects } from './objects.js';
import type { KObject, ObjectIndex, PodTemplateRef } from './types.js';

export function buildIndex(objects: readonly KObject[]): ObjectIndex {
  const byKind = new Map<string, KObject[]>();
  const byKindNs = new Map<string, KObject[]>();
  const byKey = new Map<string, KObject>();
  const templatesByNs = new Map<string, PodTemplateRef[]>();
  for (const o of objects) {
    const kind = kindOf(o);
    const ns = namespaceOf(o);
    push(byKind, kind, o);
    push(byKindNs, `${kind}\0${ns}`, o);
    byKey.set(`${kind}\0${ns}\0${nameOf(o)}`, o);
    const t = podTemplateOf(o);
    // Pods and ReplicaSets a controller owns are represented by their owner's template.
    if (t && !hasControllerOwner(o)) push(templatesByNs, ns, t);
  }
  return {
    all: () => objects,
    byKind: (kind, namespace) => (namespace === undefined ? byKind.get(kind) : byKindNs.get(`${kind}\0${namespace}`)) ?? [],
    get: (kind, namespace, name) => byKey.get(`${kind}\0${namespace}\0${name}`),
    podTemplatesSelectedBy: (selector, namespace) => (templatesByNs.get(namespace) ?? []).filter((t) => selects(selector, t.labels)),
  };
}

function push<T>(m: Map<string, T[]>, k: string, v: T): void {
  const list = m.get(k);
  if (list) list.push(v);
  else m.set(k, [v]);
}
