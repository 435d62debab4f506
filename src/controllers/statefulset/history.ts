/**
 * Where StatefulSet revisions live (kube's history.Interface). Normally apps/v1
 * ControllerRevisions through the API (so `kubectl rollout history` and the garbage collector
 * see them); while the server does not serve controllerrevisions, an in-process map stands in
 * so the controller still rolls out correctly (history is then lost on restart: the current
 * revision falls back to the update revision, which only means pods already at the old template
 * are not counted as "current").
 *
 * Contract: `create` throws an AlreadyExists StatusError on a name clash, as the API does.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import type { SharedInformer } from '../../client/shared-informer.js';
import { CONTROLLERREVISIONS, isNotFound, type LocalClient } from '../../client/client.js';
import { errors } from '../../apiserver/errors.js';

export interface RevisionHistory {
  /** Revisions in a namespace (from a cache; never mutate them). */
  list(namespace: string): KObject[];
  get(namespace: string, name: string): Promise<KObject | undefined>;
  create(rev: KObject): Promise<KObject>;
  /** Re-numbers a revision (a rollback makes an old template the newest revision). */
  setRevision(rev: KObject, revision: number): Promise<KObject>;
  /** Makes `owner` the controller of an orphaned revision. */
  adopt(rev: KObject, ownerRef: NonNullable<KObject['metadata']['ownerReferences']>[number]): Promise<KObject>;
  delete(rev: KObject): Promise<void>;
}

/** ControllerRevisions through the API, read from the shared informer. */
export class ApiRevisionHistory implements RevisionHistory {
  constructor(
    private readonly informer: SharedInformer,
    private readonly client: LocalClient,
  ) {}

  list(namespace: string): KObject[] {
    return this.informer.list(namespace);
  }

  async get(namespace: string, name: string): Promise<KObject | undefined> {
    try {
      return await this.client.get(CONTROLLERREVISIONS, namespace, name);
    } catch (err) {
      if (isNotFound(err)) return undefined;
      throw err;
    }
  }

  create(rev: KObject): Promise<KObject> {
    return this.client.create(CONTROLLERREVISIONS, rev.metadata.namespace, rev);
  }

  setRevision(rev: KObject, revision: number): Promise<KObject> {
    return this.client.mutate(CONTROLLERREVISIONS, rev.metadata.namespace, rev.metadata.name ?? '', (live) => {
      live.revision = revision;
      return live;
    });
  }

  adopt(rev: KObject, ownerRef: NonNullable<KObject['metadata']['ownerReferences']>[number]): Promise<KObject> {
    return this.client.mutate(CONTROLLERREVISIONS, rev.metadata.namespace, rev.metadata.name ?? '', (live) => {
      if ((live.metadata.ownerReferences ?? []).some((r) => r.controller)) return undefined;
      live.metadata.ownerReferences = [...(live.metadata.ownerReferences ?? []), ownerRef];
      return live;
    });
  }

  async delete(rev: KObject): Promise<void> {
    try {
      await this.client.delete(CONTROLLERREVISIONS, rev.metadata.namespace, rev.metadata.name ?? '', { preconditions: { uid: rev.metadata.uid } });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }
}

/** The stand-in while controllerrevisions are not served: revisions kept in process memory. */
export class MemoryRevisionHistory implements RevisionHistory {
  private readonly items = new Map<string, KObject>();
  private seq = 0;

  constructor(private readonly now: () => number = Date.now) {}

  private key(ns: string | undefined, name: string | undefined): string {
    return `${ns ?? ''}/${name ?? ''}`;
  }

  list(namespace: string): KObject[] {
    return [...this.items.values()].filter((r) => r.metadata.namespace === namespace);
  }

  async get(namespace: string, name: string): Promise<KObject | undefined> {
    const r = this.items.get(this.key(namespace, name));
    return r && clone(r);
  }

  async create(rev: KObject): Promise<KObject> {
    const k = this.key(rev.metadata.namespace, rev.metadata.name);
    if (this.items.has(k)) throw errors.alreadyExists('controllerrevisions', 'apps', rev.metadata.name ?? '');
    const stored = clone(rev);
    stored.metadata.uid = `memory-revision-${++this.seq}`;
    stored.metadata.creationTimestamp = new Date(this.now()).toISOString().replace(/\.\d{3}Z$/, 'Z');
    this.items.set(k, stored);
    return clone(stored);
  }

  async setRevision(rev: KObject, revision: number): Promise<KObject> {
    const live = this.must(rev);
    live.revision = revision;
    return clone(live);
  }

  async adopt(rev: KObject, ownerRef: NonNullable<KObject['metadata']['ownerReferences']>[number]): Promise<KObject> {
    const live = this.must(rev);
    if (!(live.metadata.ownerReferences ?? []).some((r) => r.controller)) live.metadata.ownerReferences = [...(live.metadata.ownerReferences ?? []), ownerRef];
    return clone(live);
  }

  async delete(rev: KObject): Promise<void> {
    this.items.delete(this.key(rev.metadata.namespace, rev.metadata.name));
  }

  /** Forgets every revision owned by `uid` (the garbage collector's job for real revisions). */
  forgetOwner(uid: string): void {
    for (const [k, r] of this.items) if ((r.metadata.ownerReferences ?? []).some((o) => o.uid === uid)) this.items.delete(k);
  }

  private must(rev: KObject): KObject {
    const live = this.items.get(this.key(rev.metadata.namespace, rev.metadata.name));
    if (!live) throw errors.notFound('controllerrevisions', 'apps', rev.metadata.name ?? '');
    return live;
  }
}
