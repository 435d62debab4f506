/**
 * `sqlite://PATH` backend: a kine-style revision log in one SQLite file (better-sqlite3,
 * synchronous API).
 *
 * Tables:
 * - `log`: one row per revision (id = revision, name, created, deleted, create_revision,
 *   prev_revision, value, old_value), exactly kine's shape. It is the source of truth: reads at
 *   an old revision take the newest row per name with id <= R; watch replay reads rows id > R.
 * - `current`: name → id of the key's latest live row, maintained in the same transaction as
 *   the log insert, so "latest value of a key" and "latest values under a prefix" are primary-key
 *   lookups/range scans instead of a GROUP BY over the whole history.
 * - `meta`: compact_rev (and schema version).
 *
 * Single process: the database is opened with an exclusive lock, the next revision is kept in
 * memory, and watch events are published in-process once a commit is durable. Every SQLite call
 * runs synchronously to completion, so writes are naturally serialized and a watch's history
 * replay plus listener registration happen with no write in between (see watchhub.ts).
 *
 * Durability without blocking the event loop: SQLite runs with `synchronous=NORMAL`, so COMMIT
 * only write()s the WAL; WalSyncer (wal-sync.ts) then fdatasyncs the WAL file on the libuv thread
 * pool. Between COMMIT and that fsync a revision is *committed* but not *durable*. Nothing outside
 * this class ever sees such a revision: writes resolve and events publish only once durable,
 * `currentRevision()` is the durable revision, and reads are served as of the durable revision
 * (a read of a key or prefix with a not-yet-durable write first waits for one fsync, then falls
 * back to reading history at the durable revision). So, as with etcd, a client never observes
 * data that a crash could take back.
 */
import Database from 'better-sqlite3';
import { closeSync, fdatasync, fdatasyncSync, fsyncSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import {
  ConflictError, FutureRevisionError, KeyExistsError, NotFoundError, StoreError, UnavailableError,
} from './errors.js';
import { prefixEnd } from './keys.js';
import { rowToEvent, rowToKv, type LogRow } from './log.js';
import { checkWatchRevision, resolveReadRevision } from './revisions.js';
import type { Backend, KeyValue, ListOptions, ListResult, WatchEvent, WatchOptions } from './types.js';
import { WalSyncer, type SyncFn } from './wal-sync.js';
import { WatchHub } from './watchhub.js';

export interface SqliteOptions {
  /**
   * 'full' (default): a write resolves only after an fsync of the WAL that began after its
   * commit, so an acknowledged write survives process kill, OS crash and power loss — the
   * contract in types.ts. The fsync runs off the event loop (see the file comment).
   * 'normal': no fsync of ours at all; the WAL is fsynced only at SQLite's checkpoints. A
   * resolved write still survives `kill -9` of this process (the commit is in the OS page cache
   * once write() returns), but the last transactions can be lost on power loss or kernel panic.
   */
  synchronous?: 'full' | 'normal';
  /**
   * Test hook: flushes the WAL file `fd` and calls `done` once, asynchronously. Defaults to
   * node's `fs.fdatasync` (the thread pool; what SQLite itself uses on Linux). Unused with
   * `synchronous: 'normal'` and for in-memory databases.
   */
  syncWal?: (fd: number, done: (err: Error | null) => void) => void;
}

type Params = Record<string, string | number>;
type Stmt = Database.Statement<unknown[]>;

const SCHEMA = `
CREATE TABLE IF NOT EXISTS log (
  id INTEGER PRIMARY KEY,
  name TEXT NOT NULL,
  created INTEGER NOT NULL,
  deleted INTEGER NOT NULL,
  create_revision INTEGER NOT NULL,
  prev_revision INTEGER NOT NULL,
  value TEXT NOT NULL,
  old_value TEXT
);
CREATE INDEX IF NOT EXISTS log_name_id ON log (name, id);
CREATE TABLE IF NOT EXISTS current (name TEXT PRIMARY KEY, id INTEGER NOT NULL) WITHOUT ROWID;
CREATE TABLE IF NOT EXISTS meta (k TEXT PRIMARY KEY, v INTEGER NOT NULL) WITHOUT ROWID;
INSERT OR IGNORE INTO meta (k, v) VALUES ('schema', 1), ('compact_rev', 0);
`;

/** Columns of `log` aliased to LogRow's field names. */
const COLS = `l.id AS id, l.name AS name, l.created AS created, l.deleted AS deleted,
  l.create_revision AS createRevision, l.prev_revision AS prevRevision, l.value AS value,
  l.old_value AS oldValue`;

interface PendingWrite {
  op: (id: number) => { row: LogRow; result: unknown };
  resolve: (v: unknown) => void;
  reject: (err: Error) => void;
}

export class SqliteBackend implements Backend {
  private readonly db: Database.Database;
  private readonly hub = new WatchHub();
  private readonly cache = new Map<string, Stmt>();
  private rev: number;
  private compacted: number;
  private closed = false;
  /** Writes one log row and its `current` entry; runs inside writeBatch's transaction. */
  private readonly insertRow: (row: LogRow) => void;
  private readonly writeBatch: (fn: () => void) => void;
  private pending: PendingWrite[] = [];
  private flushScheduled = false;
  private readonly syncer: WalSyncer;
  /** Our own descriptor on the `-wal` file (null: no fsync of ours). Never one on the main file. */
  private readonly walFd: number | null;
  /**
   * Keys with a committed write that is not durable yet → revision of their newest such write.
   * Reads of these keys must not use the `current` table (it already shows the write).
   */
  private readonly undurable = new Map<string, number>();
  private closing: Promise<void> | null = null;

  constructor(path: string, opts: SqliteOptions = {}) {
    if (path !== ':memory:' && !path.startsWith('file:')) mkdirSync(dirname(path), { recursive: true });
    // A short busy timeout: the only contender for the lock is another process wrongly opening
    // the same file, and that should fail fast with a clear error rather than hang.
    const db = new Database(path, { timeout: 1000 });
    this.db = db;
    let walFd: number | null = null;
    try {
      const journal = db.pragma('journal_mode = WAL', { simple: true });
      // Setup runs with FULL so SQLite itself syncs the file creation and schema.
      db.pragma('synchronous = FULL');
      // The revision counter lives in this process, so a second writer would corrupt the
      // history: hold the file exclusively (and skip the shared-memory wal-index entirely).
      // In this mode SQLite keeps the -wal file (same inode) until close: checkpoints rewrite or
      // truncate it in place, never unlink it, so one descriptor stays valid for our fsyncs.
      db.pragma('locking_mode = EXCLUSIVE');
      db.exec(SCHEMA);
      db.exec('BEGIN EXCLUSIVE; COMMIT');
      db.pragma('synchronous = NORMAL');
      const file = (db.pragma('database_list') as { name: string; file: string }[]).find((d) => d.name === 'main')?.file ?? '';
      if (opts.synchronous !== 'normal' && journal === 'wal' && file !== '') walFd = openWal(file);
    } catch (err) {
      db.close();
      throw new UnavailableError(`sqlite ${path}: ${(err as Error).message}`);
    }
    this.walFd = walFd;
    this.compacted = (this.stmt(`SELECT v FROM meta WHERE k = 'compact_rev'`).get() as { v: number }).v;
    const max = (this.stmt('SELECT MAX(id) AS m FROM log').get() as { m: number | null }).m ?? 0;
    // Compaction may delete the newest rows (tombstones) but never rows above compact_rev.
    this.rev = Math.max(max, this.compacted);
    const syncWal = opts.syncWal ?? ((fd: number, done: (err: Error | null) => void): void => fdatasync(fd, done));
    const fd = walFd;
    const sync: SyncFn | null = fd === null ? null : (done) => syncWal(fd, done);
    this.syncer = new WalSyncer(this.rev, sync, () => this.flush());

    const insertLog = this.stmt(`INSERT INTO log (id, name, created, deleted, create_revision, prev_revision, value, old_value)
      VALUES (@id, @name, @created, @deleted, @createRevision, @prevRevision, @value, @oldValue)`);
    const upsertCurrent = this.stmt(`INSERT INTO current (name, id) VALUES (@name, @id)
      ON CONFLICT (name) DO UPDATE SET id = excluded.id`);
    const deleteCurrent = this.stmt('DELETE FROM current WHERE name = @name');
    this.insertRow = (row: LogRow): void => {
      insertLog.run(row as unknown as Params);
      if (row.deleted) deleteCurrent.run({ name: row.name });
      else upsertCurrent.run({ name: row.name, id: row.id });
    };
    const tx = db.transaction((fn: () => void) => fn());
    this.writeBatch = (fn): void => tx.immediate(fn);
  }

  async create(key: string, value: string): Promise<number> {
    return this.enqueue((id) => {
      if (this.latest(key)) throw new KeyExistsError(key);
      return { row: { id, name: key, created: 1, deleted: 0, createRevision: id, prevRevision: 0, value, oldValue: null }, result: id };
    });
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    return this.enqueue((id) => {
      const cur = this.latest(key);
      if (!cur) throw new NotFoundError(key);
      if (cur.id !== expectedRevision) throw new ConflictError(key, cur.id);
      const row: LogRow = {
        id, name: key, created: 0, deleted: 0, createRevision: cur.createRevision,
        prevRevision: cur.id, value, oldValue: cur.value,
      };
      return { row, result: id };
    });
  }

  async delete(key: string, expectedRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    return this.enqueue((id) => {
      const cur = this.latest(key);
      if (!cur) throw new NotFoundError(key);
      if (expectedRevision !== undefined && cur.id !== expectedRevision) throw new ConflictError(key, cur.id);
      const row: LogRow = {
        id, name: key, created: 0, deleted: 1, createRevision: cur.createRevision,
        prevRevision: cur.id, value: cur.value, oldValue: cur.value,
      };
      return { row, result: { revision: id, prev: rowToKv(cur) } };
    });
  }

  /**
   * Group commit: writes that arrive in the same turn of the event loop are applied in order
   * inside ONE transaction. Each write's precondition is checked inside the transaction against
   * everything before it (durable or not); a failed precondition fails only that write.
   * Outcomes — successes and failed preconditions alike, since the latter were decided on
   * possibly undurable state — settle (and events publish) only once the WAL fsync covering the
   * commit has completed, group after group, so in revision order. Writes arriving while an
   * fsync is in flight are committed together when it ends and share the next one.
   */
  private enqueue<T>(op: (id: number) => { row: LogRow; result: T }): Promise<T> {
    if (this.closed) return Promise.reject(new UnavailableError('store closed'));
    if (this.syncer.failure) return Promise.reject(this.syncer.failure);
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ op: op as PendingWrite['op'], resolve: resolve as PendingWrite['resolve'], reject });
      if (!this.flushScheduled) {
        this.flushScheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Commits the queued writes as one group; held back while an fsync is in flight (WalSyncer.busy). */
  private flush(force = false): void {
    this.flushScheduled = false;
    if (this.syncer.busy && !force) return; // afterSync calls flush again
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    const refuse = this.closed ? new UnavailableError('store closed') : this.syncer.failure;
    if (refuse) {
      for (const p of batch) p.reject(refuse);
      return;
    }
    const outcomes: ({ ok: true; row: LogRow; result: unknown } | { ok: false; err: Error })[] = [];
    let next = this.rev;
    try {
      this.writeBatch(() => {
        for (const p of batch) {
          try {
            const { row, result } = p.op(next + 1);
            this.insertRow(row);
            next = row.id;
            outcomes.push({ ok: true, row, result });
          } catch (err) {
            if (!(err instanceof StoreError)) throw err;
            outcomes.push({ ok: false, err });
          }
        }
      });
    } catch (err) {
      const e = err instanceof StoreError ? err : new UnavailableError(`sqlite: ${(err as Error).message}`);
      for (const p of batch) p.reject(e);
      return;
    }
    this.rev = next;
    const rows = outcomes.filter((o): o is { ok: true; row: LogRow; result: unknown } => o.ok).map((o) => o.row);
    for (const r of rows) this.undurable.set(r.name, r.id);
    this.syncer.committed(this.rev, (err) => {
      if (err) {
        // The keys stay in `undurable` for good: reads keep answering at the last durable revision.
        for (const p of batch) p.reject(err);
        return;
      }
      for (const r of rows) if (this.undurable.get(r.name) === r.id) this.undurable.delete(r.name);
      if (rows.length) this.hub.publish(rows.map(rowToEvent));
      outcomes.forEach((o, i) => (o.ok ? batch[i].resolve(o.result) : batch[i].reject(o.err)));
    });
  }

  /**
   * For a read at the latest revision that would touch undurable writes (`newest` is the newest
   * such revision, 0 for none): wait for the fsync that covers them, so the reader usually gets
   * the fresh value straight from `current` instead of the slower history path. Waits once only,
   * so a hot key cannot starve readers.
   */
  private async settleFor(newest: number): Promise<void> {
    if (newest === 0) return;
    await this.syncer.waitFor(newest);
    if (this.closed) throw new UnavailableError('store closed');
  }

  /** Newest undurable revision among keys under `prefix` (0: none). */
  private undurableUnder(prefix: string): number {
    let newest = 0;
    for (const [name, rev] of this.undurable) if (rev > newest && name.startsWith(prefix)) newest = rev;
    return newest;
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | null> {
    return this.guard(async () => {
      if (!opts?.revision || opts.revision <= 0) await this.settleFor(this.undurable.get(key) ?? 0);
      const at = resolveReadRevision(opts?.revision, this.syncer.durable, this.compacted);
      if (at === this.syncer.durable && !this.undurable.has(key)) {
        const row = this.latest(key);
        return row ? rowToKv(row) : null;
      }
      const row = this.stmt(`SELECT ${COLS} FROM log l WHERE l.name = @name AND l.id <= @rev ORDER BY l.id DESC LIMIT 1`)
        .get({ name: key, rev: at }) as LogRow | undefined;
      return row && !row.deleted ? rowToKv(row) : null;
    });
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return this.guard(async () => {
      if (!opts.revision || opts.revision <= 0) await this.settleFor(this.undurableUnder(prefix));
      const at = resolveReadRevision(opts.revision, this.syncer.durable, this.compacted);
      const fast = at === this.syncer.durable && this.undurableUnder(prefix) === 0;
      const limit = opts.limit && opts.limit > 0 ? Math.floor(opts.limit) : 0;
      const rows = this.rangeQuery({ prefix, after: opts.startAfter, at, fast, limit, count: false }) as LogRow[];
      let remaining = 0;
      if (limit > 0 && rows.length === limit) {
        const last = (rows[rows.length - 1] as LogRow).name;
        remaining = this.rangeQuery({ prefix, after: last, at, fast, limit: 0, count: true }) as number;
      }
      return { items: rows.map(rowToKv), revision: at, more: remaining > 0, remaining };
    });
  }

  async count(prefix: string): Promise<number> {
    return this.guard(async () => {
      await this.settleFor(this.undurableUnder(prefix));
      const fast = this.undurableUnder(prefix) === 0;
      return this.rangeQuery({ prefix, after: undefined, at: this.syncer.durable, fast, limit: 0, count: true }) as number;
    });
  }

  watch(prefix: string, opts: WatchOptions): () => void {
    return this.hub.add(prefix, opts, () => {
      if (this.closed) throw new UnavailableError('store closed');
      checkWatchRevision(opts.fromRevision, this.compacted);
      const { where, params } = nameRange('l.name', prefix, undefined);
      params['from'] = opts.fromRevision;
      // Rows above the durable revision are delivered by publish() once their fsync completes.
      params['to'] = this.syncer.durable;
      const rows = this.stmt(`SELECT ${COLS} FROM log l WHERE l.id > @from AND l.id <= @to AND ${where} ORDER BY l.id`).all(params) as LogRow[];
      return rows.map(rowToEvent);
    });
  }

  /** The latest durable revision (commits still waiting for their fsync are not counted). */
  async currentRevision(): Promise<number> {
    return this.guard(() => this.syncer.durable);
  }

  async compactRevision(): Promise<number> {
    return this.guard(() => this.compacted);
  }

  async compact(revision: number): Promise<void> {
    return this.guard(() => {
      const durable = this.syncer.durable;
      if (revision > durable) throw new FutureRevisionError(revision, durable);
      if (revision <= this.compacted) return;
      // A row at or below the target goes when it is a tombstone (the key is absent there, and
      // any later re-create carries its own row) or when a newer row of the same key is also at
      // or below the target. The newest surviving row per key is its state at `revision`.
      this.db.transaction(() => {
        this.stmt(`DELETE FROM log WHERE id <= @rev AND (deleted = 1 OR id <
            (SELECT MAX(l2.id) FROM log l2 WHERE l2.name = log.name AND l2.id <= @rev))`).run({ rev: revision });
        this.stmt(`UPDATE meta SET v = @rev WHERE k = 'compact_rev'`).run({ rev: revision });
      }).immediate();
      this.compacted = revision;
    });
  }

  /**
   * Writes already queued still commit, and every commit waits for its fsync (so its caller
   * gets the real outcome) before the handle goes. Calls made after close() starts reject.
   */
  async close(): Promise<void> {
    if (this.closing) return this.closing;
    this.flush(true);
    this.closed = true;
    this.closing = this.syncer.drain().then(() => {
      this.hub.closeAll(new UnavailableError('store closed'));
      if (this.walFd !== null) closeSync(this.walFd);
      this.db.close();
    });
    return this.closing;
  }

  private latest(key: string): LogRow | undefined {
    return this.stmt(`SELECT ${COLS} FROM current c JOIN log l ON l.id = c.id WHERE c.name = @name`)
      .get({ name: key }) as LogRow | undefined;
  }

  /**
   * Rows (or their count) of live keys under `prefix` and > `after`, as of revision `at`, in key
   * order. With `fast` (the caller checked that `current` under the prefix equals the state at
   * `at`) it scans `current`; otherwise it takes the newest log row per name with id <= at and
   * drops tombstones.
   */
  private rangeQuery(q: { prefix: string; after: string | undefined; at: number; fast: boolean; limit: number; count: boolean }): LogRow[] | number {
    let sql: string;
    let params: Params;
    if (q.fast) {
      const r = nameRange('c.name', q.prefix, q.after);
      params = r.params;
      sql = q.count
        ? `SELECT COUNT(*) AS n FROM current c WHERE ${r.where}`
        : `SELECT ${COLS} FROM current c JOIN log l ON l.id = c.id WHERE ${r.where} ORDER BY c.name`;
    } else {
      const r = nameRange('name', q.prefix, q.after);
      params = r.params;
      params['rev'] = q.at;
      const newest = `SELECT MAX(id) AS mid FROM log WHERE ${r.where} AND id <= @rev GROUP BY name`;
      sql = q.count
        ? `SELECT COUNT(*) AS n FROM log l JOIN (${newest}) m ON l.id = m.mid WHERE l.deleted = 0`
        : `SELECT ${COLS} FROM log l JOIN (${newest}) m ON l.id = m.mid WHERE l.deleted = 0 ORDER BY l.name`;
    }
    if (q.count) return (this.stmt(sql).get(params) as { n: number }).n;
    if (q.limit > 0) {
      sql += ' LIMIT @limit';
      params['limit'] = q.limit;
    }
    return this.stmt(sql).all(params) as LogRow[];
  }

  /** Prepared statements are cached by SQL text; the set of distinct texts is small and fixed. */
  private stmt(sql: string): Stmt {
    let s = this.cache.get(sql);
    if (!s) {
      s = this.db.prepare(sql) as Stmt;
      this.cache.set(sql, s);
    }
    return s;
  }

  /**
   * Runs an operation (its SQLite calls are synchronous; it may first await durability), turning
   * low-level SQLite failures (disk full, I/O error, closed handle) into UnavailableError;
   * StoreErrors pass through unchanged.
   */
  private async guard<T>(fn: () => T | Promise<T>): Promise<T> {
    try {
      if (this.closed) throw new UnavailableError('store closed');
      return await fn();
    } catch (err) {
      if (err instanceof StoreError) throw err;
      throw new UnavailableError(`sqlite: ${(err as Error).message}`);
    }
  }
}

/**
 * Opens our descriptor on the WAL of `dbFile` and makes the WAL's (and the database file's)
 * directory entries durable once: our later fdatasyncs cover the WAL's contents, not its name.
 * Only the -wal file is opened: closing a descriptor drops every POSIX lock the process holds on
 * that file, and SQLite's exclusive lock lives on the main file.
 */
function openWal(dbFile: string): number {
  const fd = openSync(`${dbFile}-wal`, 'r+');
  try {
    fdatasyncSync(fd);
    const dir = openSync(dirname(dbFile), 'r');
    try {
      fsyncSync(dir);
    } catch {
      // Some platforms cannot fsync a directory; SQLite ignores that too.
    } finally {
      closeSync(dir);
    }
  } catch (err) {
    closeSync(fd);
    throw err;
  }
  return fd;
}

/** Opens (creating if needed, with parent directories) the store at `path`. */
export async function openSqliteBackend(path: string, opts: SqliteOptions = {}): Promise<Backend> {
  return new SqliteBackend(path, opts);
}

/** SQL condition (and its parameters) for `col` being under `prefix` and strictly after `after`. */
function nameRange(col: string, prefix: string, after: string | undefined): { where: string; params: Params } {
  const params: Params = { lo: prefix };
  const parts = [`${col} >= @lo`];
  const hi = prefixEnd(prefix);
  if (hi !== null) {
    parts.push(`${col} < @hi`);
    params['hi'] = hi;
  }
  if (after !== undefined) {
    parts.push(`${col} > @after`);
    params['after'] = after;
  }
  return { where: parts.join(' AND '), params };
}
