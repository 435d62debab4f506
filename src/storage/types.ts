/**
 * The storage contract every backend implements: a revisioned key-value store in the shape of
 * etcd's (and k3s kine's) model. The API server keeps no state of its own beyond caches, so
 * everything Kubernetes promises about resourceVersion, optimistic concurrency and watch
 * ordering rests on these guarantees:
 *
 * - One global revision counter, bumped by exactly one for every successful write
 *   (create, update, delete). A key's `modRevision` is the revision of its last write and its
 *   `createRevision` the revision that created it.
 * - A write resolves only once it is durable for the backend (sqlite: committed; etcd:
 *   committed by raft). Nothing acknowledged is ever lost.
 * - `watch` delivers every event after `fromRevision`, in revision order, once each, and then
 *   live events; if history before `fromRevision` was compacted it fails with CompactedError.
 */
export interface KeyValue {
  key: string;
  value: string;
  createRevision: number;
  modRevision: number;
}

export interface WatchEvent {
  type: 'PUT' | 'DELETE';
  /** For PUT the new value; for DELETE the value as it was when deleted. */
  kv: KeyValue;
  /** The value before this event, when there was one (always set for DELETE). */
  prevKv?: KeyValue;
  /** Revision of this event (equals kv.modRevision for PUT; the delete's revision for DELETE). */
  revision: number;
}

export interface ListOptions {
  /** Read at this revision (0 or unset: the latest). Fails with CompactedError if compacted. */
  revision?: number;
  /** At most this many items (0 or unset: all). */
  limit?: number;
  /** Return keys strictly greater than this (used for continue tokens). */
  startAfter?: string;
}

export interface ListResult {
  items: KeyValue[];
  /** The revision the list was read at. */
  revision: number;
  /** True when more keys under the prefix follow the last returned one. */
  more: boolean;
  /** Remaining items after the returned page (only meaningful when more is true). */
  remaining: number;
}

export interface WatchOptions {
  /** Deliver events with revision > fromRevision. */
  fromRevision: number;
  onEvent: (ev: WatchEvent) => void;
  /** Called once if the watch cannot continue (e.g. CompactedError); no events follow. */
  onError?: (err: Error) => void;
}

export interface Backend {
  /** Creates key; throws KeyExistsError if it exists. Returns the new revision. */
  create(key: string, value: string): Promise<number>;
  /** Replaces key if its modRevision equals expectedRevision; throws NotFoundError / ConflictError. */
  update(key: string, value: string, expectedRevision: number): Promise<number>;
  /** Deletes key (if expectedRevision is given, only at that modRevision). Returns the delete's revision and the deleted value. */
  delete(key: string, expectedRevision?: number): Promise<{ revision: number; prev: KeyValue }>;
  /** The key's current value (or at `revision`), or null. */
  get(key: string, opts?: { revision?: number }): Promise<KeyValue | null>;
  /** Keys starting with prefix, in key order. */
  list(prefix: string, opts?: ListOptions): Promise<ListResult>;
  /** Number of keys under prefix now. */
  count(prefix: string): Promise<number>;
  /** Streams changes under prefix. Returns a function that stops the watch. */
  watch(prefix: string, opts: WatchOptions): () => void;
  /** The latest revision (0 for an empty new store). */
  currentRevision(): Promise<number>;
  /** The oldest revision still readable/watchable is compactRevision()+1. */
  compactRevision(): Promise<number>;
  /** Drops history at and below revision. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}

export type BackendFactory = (url: URL) => Promise<Backend>;
