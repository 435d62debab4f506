/**
 * The generic REST store, as kube-apiserver's genericregistry.Store: one instance per served
 * resource, turning API verbs into revisioned store operations. Per-kind behaviour (defaulting,
 * validation, status handling, allocation) comes in through `KindStrategy`; this file owns the
 * rules every kind shares: names, uids, timestamps, resourceVersion, generation, optimistic
 * concurrency, finalizers and graceful deletion.
 */
import { randomUUID } from 'node:crypto';
import { isDeepStrictEqual } from 'node:util';
import type { Backend, KeyValue } from '../../storage/types.js';
import { ConflictError, NotFoundError, StoreError } from '../../storage/errors.js';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import type { KObject, ManagedFieldsEntry } from '../../api/types.js';
import { clone, isObject, jsonEqual } from '../../api/types.js';
import { errors, fromStoreError, shown, StatusError } from '../errors.js';
import { listPrefix, objectKey, storageOf, type StorageLocation } from './keys.js';
import type { KindStrategy, Reservation, WriteContext } from './strategy.js';
import type { RecentObjects } from './recent.js';

export interface ListOptions {
  /** Filters applied to each object (label and field selectors, compiled by the caller). */
  filter?: (obj: KObject) => boolean;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListResult {
  items: KObject[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface DeleteResult {
  object: KObject;
  /** True when the object is gone; false when it is only marked for deletion. */
  deleted: boolean;
}

const NAME_CHARS = 'bcdfghjklmnpqrstvwxz2456789';

export function rfc3339(d: Date): string {
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

function decode(kv: KeyValue): KObject {
  const obj = JSON.parse(kv.value) as KObject;
  obj.metadata.resourceVersion = String(kv.modRevision);
  return obj;
}

function encode(obj: KObject): string {
  const copy = { ...obj, metadata: { ...obj.metadata } };
  delete copy.metadata.resourceVersion;
  return JSON.stringify(copy);
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, lastKey: string, prefix: string): string {
  const t: ContinueToken = { v: 'meta.k8s.io/v1', rv, start: lastKey.slice(prefix.length) + '\u0000' };
  return Buffer.from(JSON.stringify(t)).toString('base64url');
}

function decodeContinue(token: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as ContinueToken;
    // Across namespaces the start key is "ns/name"; like kube, refuse only keys that climb out of the prefix.
    const escapes = typeof t.start === 'string' && t.start.split('/').some((seg) => seg === '..' || seg === '.');
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string' || escapes) throw new Error('bad');
    return t;
  } catch {
    throw errors.badRequest('continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)');
  }
}

export interface StoreDeps {
  backend: Backend;
  strategy: KindStrategy;
  /** Checks that a namespace exists and accepts new content (throws a StatusError). */
  checkNamespace?: (ns: string) => Promise<void>;
  now?: () => Date;
  /** Shared with the watch cache: saves decoding what this store just wrote. */
  recent?: RecentObjects;
}

export class ResourceStore {
  readonly loc: StorageLocation;
  private readonly now: () => Date;

  constructor(
    readonly res: ResourceInfo,
    private readonly deps: StoreDeps,
  ) {
    this.loc = storageOf(res);
    this.now = deps.now ?? (() => new Date());
  }

  get backend(): Backend {
    return this.deps.backend;
  }

  key(ns: string | undefined, name: string): string {
    return objectKey(this.loc, ns, name);
  }

  prefix(ns?: string): string {
    return listPrefix(this.loc, ns);
  }

  private ctxErr(err: unknown, name: string): StatusError {
    return fromStoreError(err, { resource: this.res.plural, group: this.res.group, name });
  }

  async get(ns: string | undefined, name: string, opts: { resourceVersion?: string } = {}): Promise<KObject> {
    let kv: KeyValue | null;
    try {
      const rev = opts.resourceVersion && opts.resourceVersion !== '0' ? parseRV(opts.resourceVersion) : undefined;
      kv = await this.deps.backend.get(this.key(ns, name), rev ? { revision: rev } : undefined);
    } catch (err) {
      throw this.ctxErr(err, name);
    }
    if (!kv) throw errors.notFound(this.res.plural, this.res.group, name);
    return this.decodeKv(kv);
  }

  /** The stored object of kv, copied from the recent-writes map when it holds that value. */
  private decodeKv(kv: KeyValue): KObject {
    const hit = this.deps.recent?.get(kv.key, kv.value);
    if (!hit) return decode(kv);
    const obj = clone(hit);
    obj.metadata.resourceVersion = String(kv.modRevision);
    return obj;
  }

  /** Encodes obj for the store and remembers it (before the write: its event may come first). */
  private encodeAndRemember(key: string, obj: KObject): string {
    const value = encode(obj);
    if (this.deps.recent) {
      const copy = clone(obj);
      delete copy.metadata.resourceVersion;
      this.deps.recent.remember(key, value, copy);
    }
    return value;
  }

  async list(ns: string | undefined, opts: ListOptions = {}): Promise<ListResult> {
    let prefix = this.prefix(ns);
    let revision: number | undefined;
    let startAfter: string | undefined;
    if (opts.continue) {
      const t = decodeContinue(opts.continue);
      revision = t.rv;
      startAfter = prefix + t.start.replace(/\u0000$/, '');
    } else if (opts.resourceVersion && opts.resourceVersion !== '0') {
      const rv = parseRV(opts.resourceVersion);
      if (opts.resourceVersionMatch === 'Exact') revision = rv;
      else {
        const cur = await this.deps.backend.currentRevision();
        if (rv > cur) throw errors.badRequest(`Too large resource version: ${rv}, current: ${cur}`);
      }
    } else if (opts.resourceVersionMatch === 'Exact') {
      throw errors.badRequest('resourceVersionMatch "Exact" is forbidden for resourceVersion "" or "0"');
    }
    const limit = opts.limit && opts.limit > 0 ? opts.limit : 0;
    const items: KObject[] = [];
    let lastKey: string | undefined;
    let more = false;
    let remaining = 0;
    try {
      for (;;) {
        const page = await this.deps.backend.list(prefix, {
          revision,
          limit: limit ? Math.max(limit - items.length, 1) * (opts.filter ? 2 : 1) : 0,
          startAfter,
        });
        revision = page.revision;
        for (const kv of page.items) {
          // A namespaced list over all namespaces must not descend into another resource's keys.
          const obj = decode(kv);
          lastKey = kv.key;
          if (!opts.filter || opts.filter(obj)) items.push(obj);
          if (limit && items.length >= limit) break;
        }
        const stoppedEarly = limit > 0 && items.length >= limit && lastKey !== page.items[page.items.length - 1]?.key;
        if (limit && items.length >= limit) {
          more = stoppedEarly || page.more;
          remaining = stoppedEarly ? -1 : page.remaining;
          break;
        }
        if (!page.more || page.items.length === 0) break;
        startAfter = page.items[page.items.length - 1].key;
      }
    } catch (err) {
      if (err instanceof StoreError && err.code === 'Compacted' && opts.continue) {
        throw errors.gone(
          'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.',
        );
      }
      if (err instanceof StoreError && err.code === 'Compacted') {
        throw errors.gone(`The resourceVersion for the provided list is too old.`);
      }
      throw this.ctxErr(err, '');
    }
    prefix = this.prefix(ns);
    const result: ListResult = { items, resourceVersion: String(revision ?? 0) };
    if (more && lastKey) {
      result.continue = encodeContinue(revision!, lastKey, prefix);
      if (!opts.filter && remaining > 0) result.remainingItemCount = remaining;
    }
    return result;
  }

  /** Creates obj in ns. The object is defaulted, validated and stamped with system fields. */
  async create(ns: string | undefined, input: KObject, ctx: WriteContext): Promise<KObject> {
    const obj = clone(input);
    const meta = (obj.metadata ??= {});
    this.checkNamespaceOf(ns, obj);
    if (this.res.namespaced) meta.namespace = ns;
    else delete meta.namespace;
    if (meta.resourceVersion) throw errors.badRequest('resourceVersion should not be set on objects to be created');
    if (!meta.name && meta.generateName) meta.name = generateName(meta.generateName);
    const name = meta.name ?? '';
    if (this.res.namespaced && ns && this.deps.checkNamespace) await this.deps.checkNamespace(ns);
    obj.apiVersion = apiVersionOf(this.res);
    obj.kind = this.res.kind;
    meta.uid = randomUUID();
    meta.creationTimestamp = rfc3339(this.now());
    delete meta.deletionTimestamp;
    delete meta.deletionGracePeriodSeconds;
    delete meta.selfLink;
    if (this.res.generation) meta.generation = 1;
    else delete meta.generation;
    const strategy = this.deps.strategy;
    strategy.prepareForCreate(obj, ctx);
    const reservation = await strategy.reserve?.(obj, undefined, ctx);
    try {
      strategy.validateCreate(obj, ctx);
      ctx.admit?.(obj, undefined);
      meta.managedFields = strategy.managedFields(undefined, obj, ctx);
      if (ctx.dryRun) {
        await reservation?.rollback();
        return obj;
      }
      const rev = await this.deps.backend.create(this.key(ns, name), this.encodeAndRemember(this.key(ns, name), obj));
      meta.resourceVersion = String(rev);
    } catch (err) {
      await reservation?.rollback();
      throw this.ctxErr(err, name);
    }
    await reservation?.commit();
    return obj;
  }

  private checkNamespaceOf(ns: string | undefined, obj: KObject): void {
    const objNs = obj.metadata?.namespace;
    if (this.res.namespaced && objNs && ns && objNs !== ns) {
      throw errors.badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
  }

  /**
   * Reads the live object, computes its successor with `tryUpdate` and writes it with the
   * live revision as precondition, retrying on conflict (as kube's GuaranteedUpdate). When the
   * object does not exist, tryUpdate receives undefined and may ask for a create.
   */
  async guaranteedUpdate(
    ns: string | undefined,
    name: string,
    tryUpdate: (live: KObject | undefined) => Promise<KObject> | KObject,
    ctx: WriteContext,
    opts: { allowCreate?: boolean; subresource?: string } = {},
  ): Promise<{ object: KObject; created: boolean }> {
    const key = this.key(ns, name);
    for (let attempt = 0; ; attempt++) {
      let kv: KeyValue | null;
      try {
        kv = await this.deps.backend.get(key);
      } catch (err) {
        throw this.ctxErr(err, name);
      }
      if (!kv) {
        if (!opts.allowCreate) throw errors.notFound(this.res.plural, this.res.group, name);
        const candidate = await tryUpdate(undefined);
        candidate.metadata ??= {};
        if (!candidate.metadata.name) candidate.metadata.name = name;
        if (candidate.metadata.name !== name) {
          throw errors.badRequest(`the name of the object (${candidate.metadata.name}) does not match the name on the URL (${name})`);
        }
        try {
          return { object: await this.create(ns, candidate, ctx), created: true };
        } catch (err) {
          if (err instanceof StatusError && err.reason === 'AlreadyExists' && attempt < 5) continue;
          throw err;
        }
      }
      const live = this.decodeKv(kv);
      // tryUpdate gets a private copy; what it returns is copied again unless it is that copy
      // (a returned foreign object may be reused by the caller on a retry).
      const mine = clone(live);
      const out = await tryUpdate(mine);
      const next = out === mine ? out : clone(out);
      const prepared = await this.prepareUpdate(ns, name, next, live, ctx, opts.subresource);
      if (prepared === 'noop') return { object: live, created: false };
      const { object: result, reservation } = prepared;
      if (ctx.dryRun) {
        await reservation?.rollback();
        return { object: result, created: false };
      }
      try {
        if (result.metadata.deletionTimestamp && !result.metadata.finalizers?.length && !this.deps.strategy.blocksDeletion?.(result)) {
          const del = await this.deps.backend.delete(key, kv.modRevision);
          this.deps.recent?.forget(key);
          await reservation?.commit();
          result.metadata.resourceVersion = String(del.revision);
          await this.deps.strategy.afterDelete?.(result);
          return { object: result, created: false };
        }
        const rev = await this.deps.backend.update(key, this.encodeAndRemember(key, result), kv.modRevision);
        await reservation?.commit();
        result.metadata.resourceVersion = String(rev);
        return { object: result, created: false };
      } catch (err) {
        await reservation?.rollback();
        if (err instanceof ConflictError && attempt < 100) continue;
        if (err instanceof NotFoundError && attempt < 100) continue;
        throw this.ctxErr(err, name);
      }
    }
  }

  /** Common update rules; returns 'noop' when nothing would change. */
  private async prepareUpdate(
    ns: string | undefined,
    name: string,
    next: KObject,
    live: KObject,
    ctx: WriteContext,
    subresource?: string,
  ): Promise<{ object: KObject; reservation?: Reservation } | 'noop'> {
    next.metadata ??= {};
    const meta = next.metadata;
    this.checkNamespaceOf(ns, next);
    if (meta.name && meta.name !== name) {
      throw errors.badRequest(`the name of the object (${meta.name}) does not match the name on the URL (${name})`);
    }
    const wantRV = meta.resourceVersion;
    if (wantRV && wantRV !== live.metadata.resourceVersion) {
      throw errors.conflict(this.res.plural, this.res.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
    }
    meta.name = name;
    if (this.res.namespaced) meta.namespace = ns;
    next.apiVersion = apiVersionOf(this.res);
    next.kind = this.res.kind;
    if (!meta.uid) meta.uid = live.metadata.uid;
    meta.creationTimestamp = live.metadata.creationTimestamp;
    if (live.metadata.deletionTimestamp) {
      meta.deletionTimestamp = live.metadata.deletionTimestamp;
      meta.deletionGracePeriodSeconds = live.metadata.deletionGracePeriodSeconds;
    } else {
      delete meta.deletionTimestamp;
      delete meta.deletionGracePeriodSeconds;
    }
    delete meta.selfLink;
    const strategy = this.deps.strategy;
    if (subresource === 'status') strategy.prepareForStatusUpdate(next, live, ctx);
    else strategy.prepareForUpdate(next, live, ctx);
    const reservation = subresource === 'status' ? undefined : await strategy.reserve?.(next, live, ctx);
    try {
      if (this.res.generation) {
        meta.generation = live.metadata.generation ?? 1;
        if (specChanged(next, live)) meta.generation += 1;
      } else delete meta.generation;
      if (subresource === 'status') strategy.validateStatusUpdate(next, live, ctx);
      else strategy.validateUpdate(next, live, ctx);
      // Admission never holds up an object on its way out (finalizers being removed).
      if (subresource !== 'status' && !meta.deletionTimestamp) ctx.admit?.(next, live);
      meta.resourceVersion = live.metadata.resourceVersion;
      const withoutMF = (o: KObject): unknown => ({ ...o, metadata: { ...o.metadata, managedFields: undefined } });
      if (jsonEqual(withoutMF(next), withoutMF(live)) && !ctx.forceWrite) {
        await reservation?.rollback();
        return 'noop';
      }
      meta.managedFields = strategy.managedFields(live, next, { ...ctx, subresource: subresource ?? ctx.subresource });
    } catch (err) {
      await reservation?.rollback();
      throw err;
    }
    return { object: next, reservation };
  }

  /** PUT: replace the object (or create it where the kind allows create-on-update). */
  async update(
    ns: string | undefined,
    name: string,
    input: KObject,
    ctx: WriteContext,
    opts: { subresource?: string } = {},
  ): Promise<{ object: KObject; created: boolean }> {
    if (!isObject(input) || !isObject(input.metadata)) {
      input = { ...(input as object), metadata: {} } as KObject;
    }
    const allowCreate = this.deps.strategy.allowCreateOnUpdate && !opts.subresource;
    return this.guaranteedUpdate(ns, name, (live) => {
      const next = clone(input);
      if (live && !next.metadata.resourceVersion && !this.deps.strategy.allowUnconditionalUpdate) {
        throw errors.invalid(this.res.kind, this.res.group, name, [
          { reason: 'FieldValueInvalid', message: 'Invalid value: 0x0: must be specified for an update', field: 'metadata.resourceVersion' },
        ]);
      }
      return next;
    }, ctx, { allowCreate, subresource: opts.subresource });
  }

  /** DELETE with kube's finalizer, propagation and grace rules. */
  async delete(ns: string | undefined, name: string, opts: DeleteOptions, ctx: WriteContext): Promise<DeleteResult> {
    const key = this.key(ns, name);
    for (let attempt = 0; ; attempt++) {
      let kv: KeyValue | null;
      try {
        kv = await this.deps.backend.get(key);
      } catch (err) {
        throw this.ctxErr(err, name);
      }
      if (!kv) throw errors.notFound(this.res.plural, this.res.group, name);
      const live = decode(kv);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== live.metadata.uid) {
        throw errors.conflict(this.res.plural, this.res.group, name, `Precondition failed: UID in precondition: ${shown(pre.uid)}, UID in object meta: ${live.metadata.uid}`);
      }
      if (pre?.resourceVersion && pre.resourceVersion !== live.metadata.resourceVersion) {
        throw errors.conflict(
          this.res.plural,
          this.res.group,
          name,
          `Precondition failed: ResourceVersion in precondition: ${shown(pre.resourceVersion)}, ResourceVersion in object meta: ${live.metadata.resourceVersion}`,
        );
      }
      const next = clone(live);
      const finalizers = new Set(next.metadata.finalizers ?? []);
      const policy = opts.propagationPolicy ?? (opts.orphanDependents ? 'Orphan' : opts.orphanDependents === false ? 'Background' : this.deps.strategy.defaultPropagation);
      if (policy === 'Orphan') finalizers.add('orphan');
      if (policy === 'Foreground') finalizers.add('foregroundDeletion');
      if (policy === 'Orphan' || policy === 'Foreground') {
        if (policy === 'Orphan') finalizers.delete('foregroundDeletion');
        else finalizers.delete('orphan');
      }
      const graceful = this.deps.strategy.gracefulDelete?.(next, opts) ?? 0;
      const alreadyDeleting = !!live.metadata.deletionTimestamp;
      if (finalizers.size > 0 || graceful > 0 || this.deps.strategy.blocksDeletion?.(next)) {
        if (!alreadyDeleting || graceful > 0 || !isDeepStrictEqual([...finalizers].sort(), [...(live.metadata.finalizers ?? [])].sort())) {
          next.metadata.finalizers = [...finalizers];
          if (!alreadyDeleting) {
            next.metadata.deletionTimestamp = rfc3339(new Date(this.now().getTime() + graceful * 1000));
            next.metadata.deletionGracePeriodSeconds = graceful;
          } else if (graceful > 0 && graceful < (live.metadata.deletionGracePeriodSeconds ?? Infinity)) {
            next.metadata.deletionTimestamp = rfc3339(new Date(this.now().getTime() + graceful * 1000));
            next.metadata.deletionGracePeriodSeconds = graceful;
          }
          this.deps.strategy.prepareForDelete?.(next);
          if (ctx.dryRun) return { object: next, deleted: false };
          try {
            const rev = await this.deps.backend.update(key, this.encodeAndRemember(key, next), kv.modRevision);
            next.metadata.resourceVersion = String(rev);
            return { object: next, deleted: false };
          } catch (err) {
            if (err instanceof ConflictError && attempt < 100) continue;
            throw this.ctxErr(err, name);
          }
        }
        return { object: live, deleted: false };
      }
      if (ctx.dryRun) return { object: live, deleted: true };
      try {
        const res = await this.deps.backend.delete(key, kv.modRevision);
        this.deps.recent?.forget(key);
        live.metadata.resourceVersion = String(res.revision);
        await this.deps.strategy.afterDelete?.(live);
        return { object: live, deleted: true };
      } catch (err) {
        if (err instanceof ConflictError && attempt < 100) continue;
        if (err instanceof NotFoundError) throw errors.notFound(this.res.plural, this.res.group, name);
        throw this.ctxErr(err, name);
      }
    }
  }
}

export function parseRV(rv: string): number {
  if (!/^\d+$/.test(rv)) throw errors.badRequest(`invalid resource version: ${JSON.stringify(rv)}`);
  return Number(rv);
}

export function generateName(base: string): string {
  const trimmed = base.length > 58 ? base.slice(0, 58) : base;
  let s = '';
  for (let i = 0; i < 5; i++) s += NAME_CHARS[Math.floor(Math.random() * NAME_CHARS.length)];
  return trimmed + s;
}

/** Whether anything outside metadata and status differs (what bumps metadata.generation). */
export function specChanged(a: KObject, b: KObject): boolean {
  const strip = (o: KObject): Record<string, unknown> => {
    const { metadata: _m, status: _s, apiVersion: _a, kind: _k, ...rest } = o;
    return rest;
  };
  return !jsonEqual(strip(a), strip(b));
}

export type { ManagedFieldsEntry };
