/**
 * A test-only view of a backend whose revisions start at 0: every revision going in gets `base`
 * added and every revision coming out (results, events, error fields) gets it subtracted.
 *
 * Why it exists: the shared conformance suite asserts absolute revisions ("an empty store is at
 * revision 0, the first write is revision 1"). etcd cannot give that: its revision counter is
 * global to the cluster and starts at 1 on a brand-new cluster (the first write is revision 2),
 * and the suite's fresh store per case is a fresh key prefix in one shared etcd. Since exactly one
 * writer uses the etcd at a time, etcd's revisions inside a case are `base + suite revision`,
 * so this constant shift is the only change; all behaviour still comes from etcd and the real
 * backend.
 */
import { CompactedError, ConflictError, FutureRevisionError } from '../../src/storage/errors.js';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent, WatchOptions } from '../../src/storage/types.js';

export class RebasedBackend implements Backend {
  constructor(private readonly inner: Backend, private readonly base: number) {}

  /** Opens `inner` and rebases so that its current revision reads as 0. */
  static async at(inner: Backend): Promise<RebasedBackend> {
    return new RebasedBackend(inner, await inner.currentRevision());
  }

  create(key: string, value: string): Promise<number> {
    return this.wrap(async () => (await this.inner.create(key, value)) - this.base);
  }

  update(key: string, value: string, expectedRevision: number): Promise<number> {
    return this.wrap(async () => (await this.inner.update(key, value, this.in(expectedRevision))) - this.base);
  }

  delete(key: string, expectedRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    return this.wrap(async () => {
      const r = await this.inner.delete(key, expectedRevision === undefined ? undefined : this.in(expectedRevision));
      return { revision: r.revision - this.base, prev: this.kv(r.prev) };
    });
  }

  get(key: string, opts?: { revision?: number }): Promise<KeyValue | null> {
    return this.wrap(async () => {
      const kv = await this.inner.get(key, opts?.revision ? { revision: this.in(opts.revision) } : opts);
      return kv ? this.kv(kv) : null;
    });
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return this.wrap(async () => {
      const r = await this.inner.list(prefix, opts.revision ? { ...opts, revision: this.in(opts.revision) } : opts);
      return { ...r, items: r.items.map((i) => this.kv(i)), revision: r.revision - this.base };
    });
  }

  count(prefix: string): Promise<number> {
    return this.wrap(() => this.inner.count(prefix));
  }

  watch(prefix: string, opts: WatchOptions): () => void {
    return this.inner.watch(prefix, {
      fromRevision: this.in(opts.fromRevision),
      onEvent: (ev) => opts.onEvent(this.event(ev)),
      onError: (err) => opts.onError?.(this.error(err)),
    });
  }

  currentRevision(): Promise<number> {
    return this.wrap(async () => (await this.inner.currentRevision()) - this.base);
  }

  compactRevision(): Promise<number> {
    return this.wrap(async () => Math.max(0, (await this.inner.compactRevision()) - this.base));
  }

  compact(revision: number): Promise<void> {
    return this.wrap(() => this.inner.compact(this.in(revision)));
  }

  close(): Promise<void> {
    return this.inner.close();
  }

  /** Suite revision → etcd revision (0 keeps meaning "latest"/"from the start of this store"). */
  private in(revision: number): number {
    return revision + this.base;
  }

  private kv(kv: KeyValue): KeyValue {
    return { ...kv, createRevision: kv.createRevision - this.base, modRevision: kv.modRevision - this.base };
  }

  private event(ev: WatchEvent): WatchEvent {
    const out: WatchEvent = { type: ev.type, kv: this.kv(ev.kv), revision: ev.revision - this.base };
    if (ev.prevKv) out.prevKv = this.kv(ev.prevKv);
    return out;
  }

  private error(err: Error): Error {
    const b = this.base;
    if (err instanceof ConflictError) return new ConflictError(err.key ?? '', err.actualRevision - b);
    if (err instanceof CompactedError) return new CompactedError(err.requested - b, Math.max(0, err.compacted - b));
    if (err instanceof FutureRevisionError) return new FutureRevisionError(err.requested - b, err.current - b);
    return err;
  }

  private async wrap<T>(fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (err) {
      throw err instanceof Error ? this.error(err) : err;
    }
  }
}
