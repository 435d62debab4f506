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
import { hasControllerOwner } from '../../lint/objects.js';
import { overlayIndex, recordDerivation, type IndexBase, type ListOp } from '../../lint/index-objects.js';
import type { ObjectIndex } from '../../lint/types.js';
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

/** Changes recorded against a kind's current array before it is rebuilt (more: rebuilt from scratch). */
const MAX_PENDING = 64;

export class NamespaceState {
  /** namespace → kind → name → object. */
  private readonly byNs = new Map<string, Map<string, Map<string, KObject>>>();
  /** Arrays of byNs's maps per namespace (key `ns`), dropped on change. */
  private readonly arrays = new Map<string, KObject[]>();
  /**
   * Per `ns\0kind`: the current array (a snapshot, never modified) and the changes made since it
   * was built. The next read builds a new array and records it as derived from the old one plus
   * those changes (index-objects.ts recordDerivation), so lookups derived from the old array are
   * patched, not rebuilt: a write's cost does not grow with the number of objects of its kind.
   */
  private readonly lists = new Map<string, { list: KObject[]; ops: ListOp[] | undefined }>();
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
    const name = obj.metadata?.name ?? '';
    const held = obj.kind === 'Secret' ? blankSecret(obj) : obj;
    const prev = names.get(name);
    // A Map keeps a replaced key in place: the array changes in place, or grows at the end.
    names.set(name, held);
    this.changed(ns, String(obj.kind), prev ? { removed: prev, added: held } : { added: held });
  }

  private changed(ns: string, kind: string, op: ListOp): void {
    this.arrays.delete(ns);
    const key = `${ns}\0${kind}`;
    const entry = this.lists.get(key);
    if (!entry) return;
    if (!entry.ops) entry.ops = [op];
    else if (entry.ops.length < MAX_PENDING) entry.ops.push(op);
    else this.lists.delete(key);
  }

  /** Held objects of a namespace and kind (the same array until that namespace+kind changes: never modify). */
  private ofKind(ns: string, kind: string): readonly KObject[] {
    const key = `${ns}\0${kind}`;
    const entry = this.lists.get(key);
    if (entry && !entry.ops) return entry.list;
    const names = this.byNs.get(ns)?.get(kind);
    const list = names ? [...names.values()] : [];
    if (entry?.ops) recordDerivation(list, entry.list, entry.ops);
    this.lists.set(key, { list, ops: undefined });
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
    const name = obj.metadata?.name ?? '';
    const prev = names?.get(name);
    if (!prev || !names!.delete(name)) return;
    this.changed(ns, String(obj.kind), { removed: prev });
    if (names!.size === 0) {
      kinds!.delete(String(obj.kind));
      this.lists.delete(`${ns}\0${String(obj.kind)}`);
    }
    if (kinds!.size === 0) this.byNs.delete(ns);
  }

  /** The held objects of a namespace (a new array). */
  objects(ns: string): KObject[] {
    return this.ofNamespace(ns).slice();
  }

  /**
   * The ObjectIndex a check of `obj` reads: the namespace's held objects as the write would leave
   * them (`obj` replaces the held object of its kind and name, or is added). Answers are what
   * `buildIndex(objects)` would give. It is an overlay (index-objects.ts overlayIndex) on this
   * state's per-kind arrays, which stay the same arrays until that namespace+kind changes: the
   * lookups derived from them (pod templates, selector buckets) are built once per change, not per
   * write, so a write's cost does not grow with the namespace (see bench/lint-admission.ts).
   */
  indexWith(obj: KObject): ObjectIndex {
    const stored = obj.metadata?.namespace ?? '';
    const base: IndexBase = {
      namespace: stored || 'default',
      all: () => this.ofNamespace(stored),
      byKind: (kind) => this.ofKind(stored, kind),
      get: (kind, name) => this.byNs.get(stored)?.get(kind)?.get(name),
    };
    return overlayIndex(base, obj);
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
