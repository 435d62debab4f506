/**
 * The registry: one ResourceStore per served resource, sharing one backend. Also the small
 * in-process client that controllers inside the server use.
 */
import type { Backend } from '../../storage/types.js';
import { RESOURCES, type ResourceInfo } from '../../api/resources.js';
import { errors } from '../errors.js';
import type { KObject } from '../../api/types.js';
import { ResourceStore } from './store.js';
import type { RecentObjects } from './recent.js';
import { GenericStrategy, NamespaceStrategy, PodStrategy, ServiceStrategy, type KindPlugins, type KindStrategy } from './strategy.js';

export interface RegistryOptions {
  backend: Backend;
  plugins: KindPlugins;
  /** Per-plural strategy overrides (e.g. services with allocators). */
  strategies?: Record<string, (res: ResourceInfo, plugins: KindPlugins) => KindStrategy>;
  now?: () => Date;
  /** Shared with the watch cache (see recent.ts). */
  recent?: RecentObjects;
}

export class Registry {
  private readonly stores = new Map<string, ResourceStore>();

  constructor(private readonly opts: RegistryOptions) {
    for (const res of RESOURCES) {
      const make = opts.strategies?.[res.plural] ?? defaultStrategy;
      const strategy = make(res, opts.plugins);
      this.stores.set(this.id(res.group, res.version, res.plural), new ResourceStore(res, {
        backend: opts.backend,
        strategy,
        now: opts.now,
        recent: opts.recent,
        checkNamespace: res.plural === 'namespaces' ? undefined : (ns) => this.checkNamespace(ns),
      }));
    }
  }

  private id(group: string, version: string, plural: string): string {
    return `${group}/${version}/${plural}`;
  }

  store(group: string, version: string, plural: string): ResourceStore | undefined {
    return this.stores.get(this.id(group, version, plural));
  }

  /** The store for a resource by plural and group, preferring the first served version. */
  must(group: string, plural: string): ResourceStore {
    for (const s of this.stores.values()) if (s.res.group === group && s.res.plural === plural) return s;
    throw new Error(`no store for ${plural}.${group}`);
  }

  all(): ResourceStore[] {
    return [...this.stores.values()];
  }

  get backend(): Backend {
    return this.opts.backend;
  }

  private namespaceCache?: (name: string) => KObject | undefined;

  /**
   * Serves namespace checks from an informer's cache (as kube's NamespaceLifecycle admission
   * does), saving a store read per create; a miss still reads the store, so a namespace created
   * a moment ago is never refused.
   */
  useNamespaceCache(lookup: (name: string) => KObject | undefined): void {
    this.namespaceCache = lookup;
  }

  private async checkNamespace(ns: string): Promise<void> {
    let obj: KObject | undefined = this.namespaceCache?.(ns);
    if (!obj) {
      const nsStore = this.must('', 'namespaces');
      const kv = await this.opts.backend.get(nsStore.key(undefined, ns));
      if (!kv) throw errors.notFound('namespaces', '', ns);
      obj = JSON.parse(kv.value) as KObject;
    }
    if (obj.metadata?.deletionTimestamp) {
      throw errors.forbidden(`unable to create new content in namespace ${ns} because it is being terminated`);
    }
  }
}

export function defaultStrategy(res: ResourceInfo, plugins: KindPlugins): KindStrategy {
  switch (res.plural) {
    case 'namespaces':
      return new NamespaceStrategy(res, plugins);
    case 'pods':
      return new PodStrategy(res, plugins);
    case 'services':
      return new ServiceStrategy(res, plugins);
    default:
      return new GenericStrategy(res, plugins);
  }
}
