/**
 * The namespace controller: when a namespace is being deleted, delete everything in it, and
 * once nothing is left remove the `kubernetes` finalizer from spec.finalizers so the API server
 * removes the namespace itself (kube-controller-manager's namespace lifecycle).
 */
import type { KObject } from '../../api/types.js';
import type { Registry } from '../../apiserver/registry/index.js';
import { internalContext } from '../../apiserver/registry/strategy.js';
import { StatusError } from '../../apiserver/errors.js';
import { LocalInformer } from '../../client/informer.js';
import type { WatchCache } from '../../apiserver/watchcache.js';
import { WorkQueue, runWorkers } from '../../client/workqueue.js';

export class NamespaceController {
  private readonly queue = new WorkQueue();
  private informer?: LocalInformer;
  private running?: Promise<void>;

  constructor(
    private readonly registry: Registry,
    private readonly cache: WatchCache,
    private readonly opts: { recheckMs?: number } = {},
  ) {}

  async start(): Promise<void> {
    const enqueue = (o: KObject): void => {
      if (o.metadata.deletionTimestamp) this.queue.add(o.metadata.name ?? '');
    };
    this.informer = new LocalInformer([this.registry.must('', 'namespaces')], this.cache, { onAdd: enqueue, onUpdate: enqueue });
    await this.informer.start();
    this.running = runWorkers(this.queue, (k) => this.sync(k), { workers: 1 });
  }

  /** Stores that hold namespaced content (each storage prefix once). */
  private contentStores(): ReturnType<Registry['all']> {
    const seen = new Set<string>();
    return this.registry.all().filter((s) => {
      if (!s.res.namespaced || s.res.plural === 'bindings') return false;
      const p = s.prefix();
      if (seen.has(p)) return false;
      seen.add(p);
      return true;
    });
  }

  async sync(name: string): Promise<void> {
    const nsStore = this.registry.must('', 'namespaces');
    let ns: KObject;
    try {
      ns = await nsStore.get(undefined, name);
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'NotFound') return;
      throw err;
    }
    if (!ns.metadata.deletionTimestamp) return;
    const ctx = internalContext('namespace-controller');
    let remaining = 0;
    for (const store of this.contentStores()) {
      const { items } = await store.list(name);
      for (const obj of items) {
        remaining++;
        if (obj.metadata.deletionTimestamp && !obj.metadata.finalizers?.length) continue;
        try {
          await store.delete(name, obj.metadata.name ?? '', { propagationPolicy: 'Background', gracePeriodSeconds: obj.metadata.deletionTimestamp ? undefined : undefined }, ctx);
        } catch (err) {
          if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
        }
      }
    }
    if (remaining > 0) {
      // Check again shortly: graceful deletions and finalizers take their time.
      this.queue.addAfter(name, this.opts.recheckMs ?? 250);
      return;
    }
    await nsStore.guaranteedUpdate(undefined, name, (live) => {
      if (!live) throw new StatusError(404, 'NotFound', 'gone');
      const spec = (live.spec ?? {}) as { finalizers?: string[] };
      spec.finalizers = (spec.finalizers ?? []).filter((f) => f !== 'kubernetes');
      live.spec = spec;
      delete live.metadata.resourceVersion;
      return live;
    }, { ...ctx, subresource: 'finalize' }, { subresource: 'finalize' }).catch((err) => {
      if (!(err instanceof StatusError && err.reason === 'NotFound')) throw err;
    });
  }

  async stop(): Promise<void> {
    this.queue.shutDown();
    this.informer?.close();
    await this.running;
  }
}
