/**
 * `memory://` backend: the whole store in process memory, with full revision history until it
 * is compacted, so reads at old revisions and watches from old revisions behave exactly as in
 * the sqlite backend. Nothing survives the process; meant for tests and throwaway clusters.
 *
 * Layout mirrors the kine log: `log` holds every retained row in revision order (watch replay),
 * `history` the same rows per key (reads at a revision), `current` the latest live row per key
 * (fast latest reads).
 */
import { FutureRevisionError, KeyExistsError, NotFoundError, ConflictError, UnavailableError } from './errors.js';
import { compareKeys } from './keys.js';
import { rowToEvent, rowToKv, type LogRow } from './log.js';
import { checkWatchRevision, page, resolveReadRevision } from './revisions.js';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent, WatchOptions } from './types.js';
import { WatchHub } from './watchhub.js';

export class MemoryBackend implements Backend {
  private rev = 0;
  private compacted = 0;
  private log: LogRow[] = [];
  private readonly history = new Map<string, LogRow[]>();
  private readonly current = new Map<string, LogRow>();
  private readonly hub = new WatchHub();
  private closed = false;

  async create(key: string, value: string): Promise<number> {
    this.ensureOpen();
    if (this.current.has(key)) throw new KeyExistsError(key);
    const id = this.rev + 1;
    this.append({ id, name: key, created: 1, deleted: 0, createRevision: id, prevRevision: 0, value, oldValue: null });
    return id;
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    this.ensureOpen();
    const cur = this.current.get(key);
    if (!cur) throw new NotFoundError(key);
    if (cur.id !== expectedRevision) throw new ConflictError(key, cur.id);
    const id = this.rev + 1;
    this.append({
      id, name: key, created: 0, deleted: 0, createRevision: cur.createRevision,
      prevRevision: cur.id, value, oldValue: cur.value,
    });
    return id;
  }

  async delete(key: string, expectedRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    this.ensureOpen();
    const cur = this.current.get(key);
    if (!cur) throw new NotFoundError(key);
    if (expectedRevision !== undefined && cur.id !== expectedRevision) throw new ConflictError(key, cur.id);
    const id = this.rev + 1;
    this.append({
      id, name: key, created: 0, deleted: 1, createRevision: cur.createRevision,
      prevRevision: cur.id, value: cur.value, oldValue: cur.value,
    });
    return { revision: id, prev: rowToKv(cur) };
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | null> {
    this.ensureOpen();
    const at = resolveReadRevision(opts?.revision, this.rev, this.compacted);
    if (at === this.rev) {
      const cur = this.current.get(key);
      return cur ? rowToKv(cur) : null;
    }
    const row = latestAtOrBelow(this.history.get(key), at);
    return row && !row.deleted ? rowToKv(row) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    this.ensureOpen();
    const at = resolveReadRevision(opts.revision, this.rev, this.compacted);
    const after = opts.startAfter;
    const inRange = (k: string): boolean => k.startsWith(prefix) && (after === undefined || compareKeys(k, after) > 0);
    const rows: LogRow[] = [];
    if (at === this.rev) {
      for (const [k, row] of this.current) if (inRange(k)) rows.push(row);
    } else {
      for (const [k, hist] of this.history) {
        if (!inRange(k)) continue;
        const row = latestAtOrBelow(hist, at);
        if (row && !row.deleted) rows.push(row);
      }
    }
    rows.sort((a, b) => compareKeys(a.name, b.name));
    const p = page(rows, opts.limit);
    return { items: p.items.map(rowToKv), revision: at, more: p.more, remaining: p.remaining };
  }

  async count(prefix: string): Promise<number> {
    this.ensureOpen();
    let n = 0;
    for (const k of this.current.keys()) if (k.startsWith(prefix)) n++;
    return n;
  }

  watch(prefix: string, opts: WatchOptions): () => void {
    return this.hub.add(prefix, opts, () => {
      this.ensureOpen();
      checkWatchRevision(opts.fromRevision, this.compacted);
      const out: WatchEvent[] = [];
      for (let i = firstIndexAbove(this.log, opts.fromRevision); i < this.log.length; i++) {
        const row = this.log[i] as LogRow;
        if (row.name.startsWith(prefix)) out.push(rowToEvent(row));
      }
      return out;
    });
  }

  async currentRevision(): Promise<number> {
    this.ensureOpen();
    return this.rev;
  }

  async compactRevision(): Promise<number> {
    this.ensureOpen();
    return this.compacted;
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    if (revision > this.rev) throw new FutureRevisionError(revision, this.rev);
    if (revision <= this.compacted) return;
    const dropped = new Set<LogRow>();
    for (const [key, hist] of this.history) {
      // Keep the newest row at or below `revision` (it is the key's state there) unless it is a
      // tombstone; drop everything older.
      let keepFrom = 0;
      for (let i = hist.length - 1; i >= 0; i--) {
        const row = hist[i] as LogRow;
        if (row.id <= revision) {
          keepFrom = row.deleted ? i + 1 : i;
          break;
        }
      }
      if (keepFrom === 0) continue;
      for (let i = 0; i < keepFrom; i++) dropped.add(hist[i] as LogRow);
      const rest = hist.slice(keepFrom);
      if (rest.length === 0) this.history.delete(key);
      else this.history.set(key, rest);
    }
    if (dropped.size > 0) this.log = this.log.filter((r) => !dropped.has(r));
    this.compacted = revision;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.hub.closeAll(new UnavailableError('store closed'));
  }

  private append(row: LogRow): void {
    this.log.push(row);
    const hist = this.history.get(row.name);
    if (hist) hist.push(row);
    else this.history.set(row.name, [row]);
    if (row.deleted) this.current.delete(row.name);
    else this.current.set(row.name, row);
    this.rev = row.id;
    this.hub.publish([rowToEvent(row)]);
  }

  private ensureOpen(): void {
    if (this.closed) throw new UnavailableError('store closed');
  }
}

/** Opens a fresh, empty in-memory store. */
export async function openMemoryBackend(): Promise<Backend> {
  return new MemoryBackend();
}

/** The newest row with id <= rev in an id-sorted history, or undefined. */
function latestAtOrBelow(hist: LogRow[] | undefined, rev: number): LogRow | undefined {
  if (!hist) return undefined;
  for (let i = hist.length - 1; i >= 0; i--) {
    const row = hist[i] as LogRow;
    if (row.id <= rev) return row;
  }
  return undefined;
}

/** Index of the first row with id > rev in an id-sorted log (binary search). */
function firstIndexAbove(log: LogRow[], rev: number): number {
  let lo = 0;
  let hi = log.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((log[mid] as LogRow).id <= rev) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
