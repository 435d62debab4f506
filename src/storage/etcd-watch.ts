/**
 * One resumable etcd watch for the etcd backend (etcd.ts).
 *
 * Why not the `etcd3` library's Watcher: on reconnect it resumes from the last response
 * *header* revision + 1, and the header of the "created" response is the store's current
 * revision, so a watch that drops while etcd is still replaying history would silently skip the
 * rest of that history. Here the only resume point is the revision of the last event actually
 * handed to `onEvent`:
 *
 * - every stream (re)creation asks etcd for events from `last + 1`, with prevKv;
 * - events at or below `last` (a member replaying what another already sent) are dropped;
 * - any stream failure — connection lost, member killed, stream ended — retries with backoff
 *   (50 ms doubling to 1 s) against whichever member the client picks next, forever, until the
 *   watch is stopped or the store closed;
 * - a cancel with `compact_revision` (history needed for `last + 1` is gone) ends the watch
 *   with CompactedError, as the contract requires; any other cancel is fatal (UnavailableError).
 *
 * Each stream belongs to a generation number; callbacks from a superseded stream are ignored,
 * so a late event from a dead stream can never interleave with the new one.
 */
import type { IDuplexStream, IEvent, IKeyValue, IWatchRequest, IWatchResponse, WatchClient } from 'etcd3';
import { CompactedError, UnavailableError } from './errors.js';
import type { KeyValue, WatchEvent, WatchOptions } from './types.js';

const MIN_BACKOFF_MS = 50;
const MAX_BACKOFF_MS = 1000;

export interface EtcdWatchDeps {
  watchClient: WatchClient;
  /** etcd key range [key, rangeEnd) to watch. */
  key: Buffer;
  rangeEnd: Buffer;
  opts: WatchOptions;
  /** The backend's current compactRevision (our numbering). */
  compacted: () => number;
  /** etcd KeyValue → ours (strips the key prefix). */
  decode: (kv: IKeyValue) => KeyValue;
  /** Tells the backend what a compaction cancel revealed (our numbering). */
  onCompacted: (revision: number) => void;
  /** Called once when the watch ends for any reason. */
  onEnd: () => void;
}

type Stream = IDuplexStream<IWatchRequest, IWatchResponse>;

export class EtcdWatch {
  /** Revision of the last delivered event (or fromRevision): the resume point. */
  private last: number;
  private stopped = false;
  private gen = 0;
  private stream: Stream | null = null;
  private timer: NodeJS.Timeout | null = null;
  private backoffMs = MIN_BACKOFF_MS;

  constructor(private readonly deps: EtcdWatchDeps) {
    this.last = deps.opts.fromRevision;
  }

  /** The revision of the last event delivered so far. */
  get lastRevision(): number {
    return this.last;
  }

  start(): void {
    const compacted = this.deps.compacted();
    if (this.last < compacted) {
      this.fail(new CompactedError(this.last, compacted));
      return;
    }
    this.connect();
  }

  /** Stops without calling onError. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.teardown();
    this.deps.onEnd();
  }

  /** Ends the watch with `err` (delivered asynchronously, once). */
  fail(err: Error): void {
    if (this.stopped) return;
    this.stop();
    queueMicrotask(() => this.deps.opts.onError?.(err));
  }

  private connect(): void {
    if (this.stopped) return;
    const gen = ++this.gen;
    this.deps.watchClient.watch().then(
      (stream) => {
        if (this.stopped || gen !== this.gen) {
          closeStream(stream);
          return;
        }
        this.stream = stream;
        stream.on('data', (res: IWatchResponse) => { if (gen === this.gen) this.onResponse(res); });
        stream.on('error', (err: Error) => { if (gen === this.gen) this.retry(err); });
        stream.on('end', () => { if (gen === this.gen) this.retry(new Error('watch stream ended')); });
        stream.write({
          create_request: { key: this.deps.key, range_end: this.deps.rangeEnd, start_revision: this.last + 1, prev_kv: true },
        });
      },
      (err: unknown) => { if (gen === this.gen) this.retry(err as Error); },
    );
  }

  /** Drops the current stream and reconnects from last+1 after a backoff. */
  private retry(_err: Error): void {
    if (this.stopped) return;
    this.teardown();
    const delay = this.backoffMs;
    this.backoffMs = Math.min(MAX_BACKOFF_MS, this.backoffMs * 2);
    this.timer = setTimeout(() => {
      this.timer = null;
      this.connect();
    }, delay);
  }

  private teardown(): void {
    this.gen++;
    if (this.timer) clearTimeout(this.timer);
    this.timer = null;
    if (this.stream) closeStream(this.stream);
    this.stream = null;
  }

  private onResponse(res: IWatchResponse): void {
    if (res.canceled) {
      const compactedAt = Number(res.compact_revision);
      if (compactedAt > 0) {
        // etcd compacted at C keeps C readable; in our numbering that is compactRevision C-1.
        this.deps.onCompacted(compactedAt - 1);
        this.fail(new CompactedError(this.last, compactedAt - 1));
      } else {
        this.fail(new UnavailableError(`etcd watch canceled: ${res.cancel_reason || 'no reason given'}`));
      }
      return;
    }
    if (res.created) this.backoffMs = MIN_BACKOFF_MS;
    const floor = this.last;
    for (const ev of res.events ?? []) {
      if (this.stopped) return;
      const revision = Number(ev.kv.mod_revision);
      if (revision <= floor) continue;
      const out = this.toEvent(ev, revision);
      this.last = Math.max(this.last, revision);
      try {
        this.deps.opts.onEvent(out);
      } catch (err) {
        // A throwing consumer cannot be trusted to have seen the event: end its watch loudly.
        this.fail(err instanceof Error ? err : new Error(String(err)));
        return;
      }
    }
  }

  /**
   * etcd's DELETE event carries a bare tombstone (key and the delete's revision); our contract
   * wants the deleted value in `kv` at the delete's revision, which is prevKv's value.
   */
  private toEvent(ev: IEvent, revision: number): WatchEvent {
    const prevKv = ev.prev_kv && ev.prev_kv.key ? this.deps.decode(ev.prev_kv) : undefined;
    if (String(ev.type).toUpperCase() === 'DELETE') {
      const key = this.deps.decode(ev.kv).key;
      const kv: KeyValue = { key, value: prevKv?.value ?? '', createRevision: prevKv?.createRevision ?? 0, modRevision: revision };
      const out: WatchEvent = { type: 'DELETE', kv, revision };
      if (prevKv) out.prevKv = prevKv;
      return out;
    }
    const out: WatchEvent = { type: 'PUT', kv: this.deps.decode(ev.kv), revision };
    if (prevKv) out.prevKv = prevKv;
    return out;
  }
}

/**
 * Half-closes before cancelling: the library marks a host as failed (dropping every channel to
 * it) when a still-writable watch stream errors, and our own cancel must not count as that.
 */
function closeStream(stream: Stream): void {
  try {
    stream.end();
  } catch { /* already closed */ }
  try {
    stream.cancel();
  } catch { /* already closed */ }
}
