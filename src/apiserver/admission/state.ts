/**
 * The cluster state admission lint reads: the stored objects of the kinds cross-object checks
 * look up (Services, workloads, bare Pods, ConfigMaps, Secrets, ServiceAccounts, PDBs,
 * NetworkPolicies, HPAs, Ingresses), grouped by namespace, kept current from the watch cache by
 * one in-process informer, so a write never reads the store for it.
 *
 * Held objects are the cache's shared objects (never mutated), except:
 * - Pods with a controller ownerReference are not held: checks see them through their owner's
 *   template (buildIndex skips them anyway), and they are most of a cluster's objects;
 * - Secrets are held with their values blanked: checks only ask which keys exist.
 */
import type { KObject } from '../../api/types.js';
import { hasControllerOwner, podTemplateOf, selects, WORKLOAD_KINDS } from '../../lint/objects.js';
import type { ObjectIndex, PodTemplateRef } from '../../lint/types.js';
import { LocalInformer } from '../../client/informer.js';
import type { Registry } from '../registry/index.js';
import type { WatchCache } from '../watchcache.js';

/** Kinds held (only those the API serves are watched). */
export const STATE_KINDS: ReadonlySet<string> = new Set([
  'Service',
  'Pod',
  'Deployment',
  'ReplicaSet',
  'StatefulSet',
  'DaemonSet',
  'ReplicationController',
  'Job',
  'CronJob',
  'ConfigMap',
  'Secret',
  'ServiceAccount',
  'PodDisruptionBudget',
  'NetworkPolicy',
  'HorizontalPodAutoscaler',
  'Ingress',
]);

export class NamespaceState {
  /** namespace → kind → name → object. */
  private readonly byNs = new Map<string, Map<string, Map<string, KObject>>>();
  /** Arrays of byNs's maps (key `ns\0kind`, and `ns` for the whole namespace), dropped on change. */
  private readonly arrays = new Map<string, KObject[]>();
  private informer?: LocalInformer;

  /** Starts following the registry's stores of the held kinds (lists them once). */
  async start(deps: { registry: Registry; cache: WatchCache }): Promise<void> {
    const stores = deps.registry.all().filter((s) => STATE_KINDS.has(s.res.kind));
    this.informer = new LocalInformer(stores, deps.cache, {
      onAdd: (o) => this.put(o),
      onUpdate: (o) => this.put(o),
      onDelete: (o) => this.remove(o),
    });
    await this.informer.start();
  }

  close(): void {
    this.informer?.close();
    this.informer = undefined;
  }

  /** Adds or replaces an object (or drops it when it is no longer held, e.g. a Pod got a controller). */
  put(obj: KObject): void {
    if (obj.kind === 'Pod' && hasControllerOwner(obj)) {
      this.remove(obj);
      return;
    }
    const ns = obj.metadata?.namespace ?? '';
    let kinds = this.byNs.get(ns);
    if (!kinds) this.byNs.set(ns, (kinds = new Map()));
    let names = kinds.get(String(obj.kind));
    if (!names) kinds.set(String(obj.kind), (names = new Map()));
    names.set(obj.metadata?.name ?? '', obj.kind === 'Secret' ? blankSecret(obj) : obj);
    this.changed(ns, String(obj.kind));
  }

  private changed(ns: string, kind: string): void {
    this.arrays.delete(ns);
    this.arrays.delete(`${ns}\0${kind}`);
  }

  /** Held objects of a namespace and kind (a shared array: never modify). */
  private ofKind(ns: string, kind: string): readonly KObject[] {
    const key = `${ns}\0${kind}`;
    let list = this.arrays.get(key);
    if (!list) {
      const names = this.byNs.get(ns)?.get(kind);
      list = names ? [...names.values()] : [];
      this.arrays.set(key, list);
    }
    return list;
  }

  /** Held objects of a namespace (a shared array: never modify). */
  private ofNamespace(ns: string): readonly KObject[] {
    let list = this.arrays.get(ns);
    if (!list) {
      list = [...(this.byNs.get(ns)?.keys() ?? [])].flatMap((kind) => this.ofKind(ns, kind));
      this.arrays.set(ns, list);
    }
    return list;
  }

  remove(obj: KObject): void {
    const ns = obj.metadata?.namespace ?? '';
    const kinds = this.byNs.get(ns);
    const names = kinds?.get(String(obj.kind));
    if (!names?.delete(obj.metadata?.name ?? '')) return;
    this.changed(ns, String(obj.kind));
    if (names.size === 0) kinds!.delete(String(obj.kind));
    if (kinds!.size === 0) this.byNs.delete(ns);
  }

  /** The held objects of a namespace (a new array). */
  objects(ns: string): KObject[] {
    return this.ofNamespace(ns).slice();
  }

  /**
   * The ObjectIndex a check of `obj` reads: the namespace's held objects as the write would leave
   * them (`obj` replaces the held object of its kind and name, or is added). Answers are what
   * `buildIndex(objects)` would give, but computed lazily per kind: a write pays only for the
   * kinds its checks look up, not for indexing the whole namespace (see bench/lint-admission.ts).
   */
  indexWith(obj: KObject): ObjectIndex {
    const stored = obj.metadata?.namespace ?? '';
    const ns = stored || 'default';
    const kinds = this.byNs.get(stored);
    const selfKind = String(obj.kind);
    const selfName = obj.metadata?.name ?? '';
    const held = kinds?.get(selfKind)?.get(selfName);
    /** The stored list with the write applied (a copy only for the write's own kind). */
    const applied = (list: readonly KObject[]): KObject[] => {
      const out = held ? list.filter((o) => o !== held) : list.slice();
      out.push(obj);
      return out;
    };
    let own: KObject[] | undefined;
    let all: KObject[] | undefined;
    let templates: PodTemplateRef[] | undefined;
    const ofKind = (kind: string): readonly KObject[] => (kind === selfKind ? (own ??= applied(this.ofKind(stored, kind))) : this.ofKind(stored, kind));
    return {
      all: () => (all ??= applied(this.ofNamespace(stored))),
      byKind: (kind, namespace) => (namespace === undefined || namespace === ns ? ofKind(kind) : []),
      get: (kind, namespace, name) => {
        if (namespace !== ns) return undefined;
        if (kind === selfKind && name === selfName) return obj;
        return kinds?.get(kind)?.get(name);
      },
      podTemplatesSelectedBy: (selector, namespace) => {
        if (namespace !== ns) return [];
        templates ??= WORKLOAD_KINDS.flatMap((k) => ofKind(k)).flatMap((o) => {
          const t = hasControllerOwner(o) ? undefined : podTemplateOf(o);
          return t ? [t] : [];
        });
        return templates.filter((t) => selects(selector, t.labels));
      },
    };
  }
}

function blankSecret(obj: KObject): KObject {
  const blank = (v: unknown): unknown =>
    v && typeof v === 'object' ? Object.fromEntries(Object.keys(v as object).map((k) => [k, ''])) : v;
  const out: KObject = { ...obj };
  const rec = out as Record<string, unknown>;
  if (rec['data'] !== undefined) rec['data'] = blank(rec['data']);
  if (rec['stringData'] !== undefined) rec['stringData'] = blank(rec['stringData']);
  return out;
}
