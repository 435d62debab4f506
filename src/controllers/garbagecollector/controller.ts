/**
 * The garbage collector: deletes objects whose owners (ownerReferences) are all gone, and
 * carries out the Foreground and Orphan propagation policies (the `foregroundDeletion` and
 * `orphan` finalizers) as kube-controller-manager's garbage collector does. It keeps a
 * uid → dependents index fed by an informer over every stored resource.
 */
import type { KObject, OwnerReference } from '../../api/types.js';
import { RESOURCES } from '../../api/resources.js';
import type { Registry } from '../../apiserver/registry/index.js';
import type { ResourceStore } from '../../apiserver/registry/store.js';
import { internalContext } from '../../apiserver/registry/strategy.js';
import { StatusError } from '../../apiserver/errors.js';
import type { WatchCache } from '../../apiserver/watchcache.js';
import { LocalInformer } from '../../client/informer.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';

interface Ref {
  store: ResourceStore;
  namespace?: string;
  name: string;
}

export class GarbageCollector {
  private readonly queue = new WorkQueue();
  private informer?: LocalInformer;
  private running?: Promise<void>;
  /** owner uid → dependent identities "storePrefix|ns|name" */
  private readonly dependents = new Map<string, Set<string>>();
  private readonly byId = new Map<string, Ref>();
  private readonly stores: ResourceStore[];

  constructor(
    private readonly registry: Registry,
    private readonly cache: WatchCache,
    private readonly opts: { recheckMs?: number } = {},
  ) {
    const seen = new Set<string>();
    this.stores = registry.all().filter((s) => {
      if (s.res.plural === 'bindings') return false;
      const p = s.prefix();
      if (seen.has(p)) return false;
      seen.add(p);
      return true;
    });
  }

  private storeFor(obj: KObject): ResourceStore | undefined {
    const [group, version] = (obj.apiVersion ?? '').includes('/') ? obj.apiVersion!.split('/') : ['', obj.apiVersion ?? ''];
    return this.stores.find((s) => s.res.group === group && s.res.kind === obj.kind) ??
      this.stores.find((s) => s.res.kind === obj.kind && s.res.version === version);
  }

  private id(obj: KObject): string | undefined {
    const store = this.storeFor(obj);
    if (!store) return undefined;
    const id = `${store.prefix()}|${obj.metadata.namespace ?? ''}|${obj.metadata.name}`;
    this.byId.set(id, { store, namespace: obj.metadata.namespace, name: obj.metadata.name ?? '' });
    return id;
  }

  private index(obj: KObject, old?: KObject): void {
    const id = this.id(obj);
    if (!id) return;
    if (obj.metadata.uid) this.uidToId.set(obj.metadata.uid, id);
    for (const r of old?.metadata.ownerReferences ?? []) this.dependents.get(r.uid)?.delete(id);
    for (const r of obj.metadata.ownerReferences ?? []) {
      let set = this.dependents.get(r.uid);
      if (!set) this.dependents.set(r.uid, (set = new Set()));
      set.add(id);
    }
  }

  async start(): Promise<void> {
    const onChange = (obj: KObject, old?: KObject): void => {
      this.index(obj, old);
      const id = this.id(obj);
      if (!id) return;
      const fins = obj.metadata.finalizers ?? [];
      if (obj.metadata.deletionTimestamp && (fins.includes('foregroundDeletion') || fins.includes('orphan'))) this.queue.add(id);
      if (obj.metadata.ownerReferences?.length && !old) this.queue.add(id);
      // A dependent changing may unblock a foreground owner.
      for (const r of obj.metadata.ownerReferences ?? []) this.enqueueUid(r.uid);
    };
    this.informer = new LocalInformer(this.stores, this.cache, {
      onAdd: (o) => onChange(o),
      onUpdate: (o, old) => onChange(o, old),
      onDelete: (o) => {
        const id = this.id(o);
        if (o.metadata.uid) this.uidToId.delete(o.metadata.uid);
        for (const r of o.metadata.ownerReferences ?? []) {
          if (id) this.dependents.get(r.uid)?.delete(id);
          this.enqueueUid(r.uid);
        }
        for (const dep of this.dependents.get(o.metadata.uid ?? '') ?? []) this.queue.add(dep);
      },
    });
    await this.informer.start();
    this.running = runWorkers(this.queue, (k) => this.sync(k), { workers: 2 });
  }

  private readonly uidToId = new Map<string, string>();

  private enqueueUid(uid: string): void {
    const id = this.uidToId.get(uid);
    if (id) this.queue.add(id);
  }

  private async getRef(ref: Ref): Promise<KObject | undefined> {
    try {
      return await ref.store.get(ref.namespace, ref.name);
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'NotFound') return undefined;
      throw err;
    }
  }

  private async ownerExists(obj: KObject, owner: OwnerReference): Promise<boolean> {
    const [group] = owner.apiVersion.includes('/') ? owner.apiVersion.split('/') : [''];
    const res = RESOURCES.find((r) => r.group === group && r.kind === owner.kind);
    if (!res) return true; // unknown owner kinds are never collected
    const store = this.registry.must(res.group, res.plural);
    const o = await this.getRef({ store, namespace: res.namespaced ? obj.metadata.namespace : undefined, name: owner.name });
    return !!o && o.metadata.uid === owner.uid;
  }

  async sync(id: string): Promise<void> {
    const ref = this.byId.get(id);
    if (!ref) return;
    const obj = await this.getRef(ref);
    if (!obj) return;
    const ctx = internalContext('garbage-collector');
    const fins = obj.metadata.finalizers ?? [];
    if (obj.metadata.deletionTimestamp && fins.includes('orphan')) {
      await this.orphanDependents(obj);
      await this.removeFinalizer(ref, 'orphan');
      return;
    }
    if (obj.metadata.deletionTimestamp && fins.includes('foregroundDeletion')) {
      const deps = [...(this.dependents.get(obj.metadata.uid ?? '') ?? [])];
      let blocking = 0;
      for (const d of deps) {
        const dr = this.byId.get(d);
        if (!dr) continue;
        const dep = await this.getRef(dr);
        if (!dep || !(dep.metadata.ownerReferences ?? []).some((r) => r.uid === obj.metadata.uid)) continue;
        blocking++;
        if (!dep.metadata.deletionTimestamp) {
          await dr.store.delete(dr.namespace, dr.name, { propagationPolicy: 'Foreground' }, ctx).catch(ignoreNotFound);
        }
      }
      if (blocking > 0) {
        this.queue.addAfter(id, this.opts.recheckMs ?? 200);
        return;
      }
      await this.removeFinalizer(ref, 'foregroundDeletion');
      return;
    }
    const owners = obj.metadata.ownerReferences ?? [];
    if (!owners.length || obj.metadata.deletionTimestamp) return;
    for (const o of owners) if (await this.ownerExists(obj, o)) return;
    await ref.store.delete(ref.namespace, ref.name, { propagationPolicy: 'Background', preconditions: { uid: obj.metadata.uid } }, ctx).catch(ignoreNotFound);
  }

  private async orphanDependents(owner: KObject): Promise<void> {
    const ctx = internalContext('garbage-collector');
    for (const d of [...(this.dependents.get(owner.metadata.uid ?? '') ?? [])]) {
      const dr = this.byId.get(d);
      if (!dr) continue;
      await dr.store
        .guaranteedUpdate(dr.namespace, dr.name, (live) => {
          if (!live) throw new StatusError(404, 'NotFound', 'gone');
          live.metadata.ownerReferences = (live.metadata.ownerReferences ?? []).filter((r) => r.uid !== owner.metadata.uid);
          if (!live.metadata.ownerReferences.length) delete live.metadata.ownerReferences;
          delete live.metadata.resourceVersion;
          return live;
        }, ctx)
        .catch(ignoreNotFound);
    }
  }

  private async removeFinalizer(ref: Ref, finalizer: string): Promise<void> {
    await ref.store
      .guaranteedUpdate(ref.namespace, ref.name, (live) => {
        if (!live) throw new StatusError(404, 'NotFound', 'gone');
        live.metadata.finalizers = (live.metadata.finalizers ?? []).filter((f) => f !== finalizer);
        delete live.metadata.resourceVersion;
        return live;
      }, internalContext('garbage-collector'))
      .catch(ignoreNotFound);
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    this.informer?.close();
    await this.running;
  }
}

function ignoreNotFound(err: unknown): void {
  if (err instanceof StatusError && err.reason === 'NotFound') return;
  throw err;
}
