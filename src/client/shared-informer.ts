/**
 * Shared informers for the controllers inside the kubelite process (client-go's
 * SharedIndexInformer over the in-process registry): one informer per resource, shared by every
 * controller that asks for it. It lists at one revision, then follows the watch cache from that
 * revision; when the cache can no longer resume it (the in-process 410 Gone) it relists and
 * turns the difference into add/update/delete notifications. A resync period re-delivers every
 * cached object as an update so controllers re-check state they could have missed acting on.
 *
 * Contract: handlers see each object's changes in revision order; a handler added after the
 * informer started first receives an add for every cached object. Keys are client-go's
 * `namespace/name` (just `name` for cluster-scoped objects). Handlers must not mutate objects.
 */
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import type { ResourceStore } from '../apiserver/registry/store.js';
import type { CachedEvent, WatchCache } from '../apiserver/watchcache.js';
import { realClock, type Clock } from './workqueue.js';

export interface InformerHandlers {
  onAdd?(obj: KObject): void;
  /** Also called on resync with obj === old (same resourceVersion). */
  onUpdate?(obj: KObject, old: KObject): void;
  /** `obj` is the last state the informer knew. */
  onDelete?(obj: KObject): void;
}

/** An index function: the index values an object is filed under. */
export type IndexFunc = (obj: KObject) => string[];

/** client-go's MetaNamespaceKeyFunc. */
export function keyOf(obj: KObject): string {
  const ns = obj.metadata.namespace;
  return ns ? `${ns}/${obj.metadata.name ?? ''}` : (obj.metadata.name ?? '');
}

/** Splits a `namespace/name` key; cluster-scoped keys give namespace ''. */
export function splitKey(key: string): { namespace: string; name: string } {
  const i = key.indexOf('/');
  return i < 0 ? { namespace: '', name: key } : { namespace: key.slice(0, i), name: key.slice(i + 1) };
}

export const NAMESPACE_INDEX = 'namespace';
/** Files each object under `namespace\0key=value` for every label: see `selectByLabels`. */
export const LABEL_INDEX = 'labels';

function labelIndexFunc(o: KObject): string[] {
  const ns = o.metadata.namespace ?? '';
  const labels = o.metadata.labels;
  if (!labels) return [];
  return Object.entries(labels).map(([k, v]) => `${ns}\u0000${k}=${v}`);
}

export class SharedInformer {
  private readonly items = new Map<string, KObject>();
  private readonly handlers: InformerHandlers[] = [];
  private readonly indexers = new Map<string, IndexFunc>();
  /** index name → value → keys */
  private readonly indices = new Map<string, Map<string, Set<string>>>();
  private unsubscribe?: () => void;
  private started?: Promise<void>;
  private closed = false;
  private resyncTimer?: unknown;
  private lastRevision = 0;

  constructor(
    private readonly deps: { store: ResourceStore; cache: WatchCache; clock?: Clock },
    private readonly opts: { resyncMs?: number } = {},
  ) {
    this.addIndexer(NAMESPACE_INDEX, (o) => [o.metadata.namespace ?? '']);
  }

  get resource(): ResourceStore['res'] {
    return this.deps.store.res;
  }

  /** Registers handlers; if already started, replays an add for every cached object. */
  addHandlers(h: InformerHandlers): void {
    this.handlers.push(h);
    if (this.started) for (const obj of this.items.values()) this.call(h, 'add', obj);
  }

  /** Adds an index (before or after start; existing items are indexed at once). */
  addIndexer(name: string, fn: IndexFunc): void {
    if (this.indexers.has(name)) return;
    this.indexers.set(name, fn);
    this.indices.set(name, new Map());
    for (const [key, obj] of this.items) this.indexOne(name, fn, key, obj);
  }

  /** Lists and starts following; idempotent (every caller awaits the same first sync). */
  start(): Promise<void> {
    this.started ??= this.run();
    return this.started;
  }

  hasSynced(): boolean {
    return this.started !== undefined && this.lastRevision > 0;
  }

  get(key: string): KObject | undefined {
    return this.items.get(key);
  }

  getBy(namespace: string | undefined, name: string): KObject | undefined {
    return this.items.get(namespace ? `${namespace}/${name}` : name);
  }

  /** Every cached object, or those of one namespace. */
  list(namespace?: string): KObject[] {
    if (namespace === undefined) return [...this.items.values()];
    return this.byIndex(NAMESPACE_INDEX, namespace);
  }

  /**
   * Objects of a namespace whose labels contain every pair of an equality selector (a Service's
   * spec.selector; `{}` selects all), found through the smallest label bucket so the cost is
   * proportional to the matches rather than to the namespace (1,000 Services x 10 pods in one
   * namespace must not cost 10,000 label checks per sync).
   */
  selectByLabels(namespace: string, selector: Record<string, string>): KObject[] {
    this.addIndexer(LABEL_INDEX, labelIndexFunc);
    const pairs = Object.entries(selector);
    if (!pairs.length) return this.list(namespace);
    const idx = this.indices.get(LABEL_INDEX)!;
    let best: Set<string> | undefined;
    for (const [k, v] of pairs) {
      const bucket = idx.get(`${namespace}\u0000${k}=${v}`);
      if (!bucket) return [];
      if (!best || bucket.size < best.size) best = bucket;
    }
    const out: KObject[] = [];
    for (const key of best!) {
      const o = this.items.get(key);
      if (o && pairs.every(([k, v]) => o.metadata.labels?.[k] === v)) out.push(o);
    }
    return out;
  }

  byIndex(name: string, value: string): KObject[] {
    const keys = this.indices.get(name)?.get(value);
    if (!keys) return [];
    const out: KObject[] = [];
    for (const k of keys) {
      const o = this.items.get(k);
      if (o) out.push(o);
    }
    return out;
  }

  close(): void {
    this.closed = true;
    this.unsubscribe?.();
    if (this.resyncTimer !== undefined) (this.deps.clock ?? realClock).clearTimeout(this.resyncTimer);
  }

  private async run(): Promise<void> {
    await this.relist();
    this.scheduleResync();
  }

  /** Lists at the current revision, diffs against the cache, then follows the watch cache. */
  private async relist(): Promise<void> {
    if (this.closed) return;
    this.unsubscribe?.();
    const store = this.deps.store;
    const list = await store.list(undefined);
    const rev = Number(list.resourceVersion);
    const fresh = new Map<string, KObject>();
    for (const obj of list.items) fresh.set(keyOf(obj), obj);
    for (const [key, old] of this.items) {
      if (!fresh.has(key)) this.remove(key, old);
    }
    for (const [key, obj] of fresh) this.upsert(key, obj);
    this.lastRevision = rev;
    const prefix = store.prefix();
    const unsub = this.deps.cache.subscribe({
      prefix,
      fromRevision: rev,
      onEvent: (ev) => this.onEvent(ev),
      onReset: () => void this.relistSoon(),
    });
    if (!unsub) {
      // The cache no longer holds our revision (410 Gone in-process): list again shortly.
      const clock = this.deps.clock ?? realClock;
      await new Promise<void>((r) => clock.setTimeout(r, 50));
      return this.relist();
    }
    this.unsubscribe = unsub;
  }

  /** Relists after the cache reset, retrying while the store is unreachable. */
  private async relistSoon(): Promise<void> {
    const clock = this.deps.clock ?? realClock;
    for (let delay = 50; !this.closed; delay = Math.min(delay * 2, 5000)) {
      try {
        await this.relist();
        return;
      } catch {
        await new Promise<void>((r) => clock.setTimeout(r, delay));
      }
    }
  }

  private onEvent(ev: CachedEvent): void {
    if (this.closed) return;
    this.lastRevision = ev.revision;
    const obj = ev.object;
    if (!this.matchesResource(obj)) return;
    const key = keyOf(obj);
    if (ev.type === 'DELETED') {
      const old = this.items.get(key);
      if (old) this.remove(key, obj);
      return;
    }
    this.upsert(key, obj);
  }

  /** Stores sharing a prefix (e.g. events in two groups) hold one kind of object: accept all. */
  private matchesResource(obj: KObject): boolean {
    return typeof obj?.metadata === 'object' && obj.metadata !== null;
  }

  private upsert(key: string, obj: KObject): void {
    const old = this.items.get(key);
    if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) return;
    if (old) this.unindex(key, old);
    this.items.set(key, obj);
    for (const [name, fn] of this.indexers) this.indexOne(name, fn, key, obj);
    for (const h of this.handlers) {
      if (old) this.call(h, 'update', obj, old);
      else this.call(h, 'add', obj);
    }
  }

  private remove(key: string, last: KObject): void {
    const old = this.items.get(key);
    if (old) this.unindex(key, old);
    this.items.delete(key);
    for (const h of this.handlers) this.call(h, 'delete', last);
  }

  private indexOne(name: string, fn: IndexFunc, key: string, obj: KObject): void {
    const idx = this.indices.get(name)!;
    for (const v of fn(obj)) {
      let set = idx.get(v);
      if (!set) idx.set(v, (set = new Set()));
      set.add(key);
    }
  }

  private unindex(key: string, obj: KObject): void {
    for (const [name, fn] of this.indexers) {
      const idx = this.indices.get(name)!;
      for (const v of fn(obj)) {
        const set = idx.get(v);
        if (!set) continue;
        set.delete(key);
        if (!set.size) idx.delete(v);
      }
    }
  }

  private call(h: InformerHandlers, what: 'add' | 'update' | 'delete', obj: KObject, old?: KObject): void {
    try {
      if (what === 'add') h.onAdd?.(obj);
      else if (what === 'update') h.onUpdate?.(obj, old!);
      else h.onDelete?.(obj);
    } catch (err) {
      console.error(`kubelite: informer handler for ${this.resource.plural} failed: ${(err as Error).stack ?? String(err)}`);
    }
  }

  private scheduleResync(): void {
    const ms = this.opts.resyncMs;
    if (!ms || this.closed) return;
    const clock = this.deps.clock ?? realClock;
    this.resyncTimer = clock.setTimeout(() => {
      for (const obj of this.items.values()) for (const h of this.handlers) this.call(h, 'update', obj, obj);
      this.scheduleResync();
    }, ms);
  }
}

/**
 * Hands out one SharedInformer per resource (client-go's SharedInformerFactory). Controllers
 * ask for informers, add handlers and indexes, then `await factory.start()` (idempotent).
 */
export class InformerFactory {
  private readonly informers = new Map<string, SharedInformer>();

  constructor(
    private readonly deps: { registry: Registry; cache: WatchCache; clock?: Clock },
    private readonly opts: { resyncMs?: number } = {},
  ) {}

  /** The informer for a resource by API group ('' for core) and plural, e.g. ('apps', 'deployments'). */
  for(group: string, plural: string): SharedInformer {
    const id = `${group}/${plural}`;
    let inf = this.informers.get(id);
    if (!inf) {
      inf = new SharedInformer({ store: this.deps.registry.must(group, plural), cache: this.deps.cache, clock: this.deps.clock }, this.opts);
      this.informers.set(id, inf);
    }
    return inf;
  }

  /** Starts every informer handed out so far and resolves when all have listed. */
  async start(): Promise<void> {
    await Promise.all([...this.informers.values()].map((i) => i.start()));
  }

  close(): void {
    for (const i of this.informers.values()) i.close();
    this.informers.clear();
  }
}
