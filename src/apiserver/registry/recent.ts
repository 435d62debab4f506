/**
 * The latest object the registry wrote under each key, decoded, with the exact JSON it was
 * stored as. Decoding (JSON.parse) what was just encoded is a large share of a write's cost:
 * the watch cache would parse every event again, and the next update of the same object would
 * parse it once more. With this map both take the object the write already had.
 *
 * Contract: an entry answers only for the exact stored value it was remembered with (string
 * equality), so anything written by anyone else — another API server on the same etcd, a
 * write that failed — is always decoded from the store. Entries are remembered before the
 * write (a watch event may arrive before the write call returns) and never mutated; readers
 * copy what they change. Objects are kept without resourceVersion (the store's revision is it).
 */
import type { KObject } from '../../api/types.js';

export class RecentObjects {
  private readonly entries = new Map<string, { value: string; obj: KObject }>();

  /** `obj` must be private to this map from now on (pass a copy). */
  remember(key: string, value: string, obj: KObject): void {
    this.entries.set(key, { value, obj });
  }

  /** The object stored under key as exactly `value`, if remembered. Read-only. */
  get(key: string, value: string): KObject | undefined {
    const e = this.entries.get(key);
    return e && e.value === value ? e.obj : undefined;
  }

  forget(key: string): void {
    this.entries.delete(key);
  }

  get size(): number {
    return this.entries.size;
  }
}
