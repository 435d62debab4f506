/**
 * An in-process informer for controllers that run inside the API server process: list, then
 * follow the watch cache from the list's revision, keeping a local index and calling handlers
 * in revision order. (Out-of-process controllers use the HTTP informer of
 * @kubernetes/client-node against the same API.)
 */
import type { KObject } from '../api/types.js';
import type { ResourceStore } from '../apiserver/registry/store.js';
import type { CachedEvent, WatchCache } from '../apiserver/watchcache.js';

export interface InformerHandlers {
  onAdd?(obj: KObject): void;
  onUpdate?(obj: KObject, old: KObject): void;
  onDelete?(obj: KObject): void;
}

export class LocalInformer {
  private readonly items = new Map<string, KObject>();
  private stop?: () => void;
  private synced = false;

  constructor(
    private readonly stores: ResourceStore[],
    private readonly cache: WatchCache,
    private readonly handlers: InformerHandlers,
  ) {}

  async start(): Promise<void> {
    // Every list reads the same revision, so following the cache from it misses nothing.
    const rev = this.stores.length ? await this.stores[0].backend.currentRevision() : 0;
    const prefixes = [...new Set(this.stores.map((s) => s.prefix()))];
    const seen = new Set<string>();
    for (const s of this.stores) {
      const p = s.prefix();
      if (seen.has(p)) continue;
      seen.add(p);
      if (rev === 0) continue;
      const list = await s.list(undefined, { resourceVersion: String(rev), resourceVersionMatch: 'Exact' });
      for (const obj of list.items) {
        const key = s.key(obj.metadata.namespace, obj.metadata.name ?? '');
        this.items.set(key, obj);
        this.handlers.onAdd?.(obj);
      }
    }
    const match = (key: string): boolean => prefixes.some((p) => key.startsWith(p));
    const stop = this.cache.subscribe({
      prefix: '/registry/',
      fromRevision: rev,
      onEvent: (ev) => {
        if (match(ev.key)) this.apply(ev);
      },
    });
    this.stop = stop ?? (() => undefined);
    this.synced = true;
  }

  private apply(ev: CachedEvent): void {
    const old = this.items.get(ev.key);
    if (ev.type === 'DELETED') {
      this.items.delete(ev.key);
      this.handlers.onDelete?.(ev.object);
      return;
    }
    this.items.set(ev.key, ev.object);
    if (old) this.handlers.onUpdate?.(ev.object, old);
    else this.handlers.onAdd?.(ev.object);
  }

  hasSynced(): boolean {
    return this.synced;
  }

  get(key: string): KObject | undefined {
    return this.items.get(key);
  }

  list(): KObject[] {
    return [...this.items.values()];
  }

  close(): void {
    this.stop?.();
  }
}
