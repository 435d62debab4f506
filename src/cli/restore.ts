/**
 * `kubelite restore FILE [--store URL] [--force]`: writes a backup into a stopped cluster's store.
 *
 * Order of operations, chosen so that a bad file or a busy store changes nothing:
 * 1. the whole file is verified (gzip, format, checksum, count, every record) before any store
 *    is opened — opening a sqlite URL would already create the file;
 * 2. the data directory is locked like `kubelite up` does and the store is opened; a running
 *    kubelite holds both (lock file, exclusive sqlite lock), so restore refuses with
 *    "stop kubelite first" instead of racing a live API server;
 * 3. a store that holds any `/registry/` key is refused unless `force`; with `force` its keys are
 *    deleted first (and kept in memory to put back if the restore then fails);
 * 4. objects are created with their stored JSON (uid, creationTimestamp, generation,
 *    managedFields, Service clusterIPs all kept; the store assigns new resourceVersions).
 * A write failure rolls back what this run wrote and reports how far it got.
 */
import { readFileSync, mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { openBackend } from '../storage/registry.js';
import type { Backend, KeyValue } from '../storage/types.js';
import { acquireLock, LockError } from './lock.js';
import { BackupFormatError, verifyBackup, type BackupHeader } from './backup-format.js';

export interface RestoreOptions {
  /** Target store URL (default `sqlite://<dataDir>/state.db`). */
  store?: string;
  /** The cluster's data dir (default ./.kubelite): locked during the restore. */
  dataDir?: string;
  /** Replace the contents of a non-empty store. */
  force?: boolean;
  /** Writes in flight at once (default 64; sqlite batches them into one transaction). */
  concurrency?: number;
}

export interface RestoreResult {
  store: string;
  header: BackupHeader;
  count: number;
  /** Keys deleted first because of `force`. */
  replaced: number;
}

/** A refusal or failure whose message is meant for the user as is. */
export class RestoreError extends Error {
  override readonly name = 'RestoreError';
}

const ROOT = '/registry/';

/** Directories a running kubelite would hold locked for this store. */
function lockDirs(store: string, dataDir: string | undefined): string[] {
  const dirs = new Set<string>();
  if (dataDir !== undefined) dirs.add(resolve(dataDir));
  const m = /^sqlite:\/\/(.+)$/i.exec(store);
  if (m && !(m[1] as string).startsWith('file:') && m[1] !== ':memory:') dirs.add(dirname(resolve(m[1] as string)));
  return [...dirs];
}

function lockAll(dirs: string[]): () => void {
  const releases: (() => void)[] = [];
  const releaseAll = (): void => releases.splice(0).reverse().forEach((r) => r());
  try {
    for (const dir of dirs) {
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      releases.push(acquireLock(dir));
    }
  } catch (err) {
    releaseAll();
    if (err instanceof LockError) {
      const pid = /\(pid (\d+)\)/.exec(err.message)?.[1];
      throw new RestoreError(`a kubelite is running on ${dirs.find((d) => err.message.includes(d)) ?? dirs.join(', ')}${pid ? ` (pid ${pid})` : ''}: stop kubelite first`);
    }
    throw err;
  }
  return releaseAll;
}

async function listAll(backend: Backend): Promise<KeyValue[]> {
  const out: KeyValue[] = [];
  let startAfter: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const page = await backend.list(ROOT, { limit: 1000, startAfter, revision });
    revision = page.revision;
    out.push(...page.items);
    if (!page.more || page.items.length === 0) return out;
    startAfter = page.items[page.items.length - 1]!.key;
  }
}

/** Writes every (key, value) with at most `concurrency` creates in flight; returns the keys written and the first error. */
async function createAll(backend: Backend, kvs: { key: string; value: string }[], concurrency: number): Promise<{ written: string[]; error?: { key: string; err: Error } }> {
  const written: string[] = [];
  for (let i = 0; i < kvs.length; i += concurrency) {
    const chunk = kvs.slice(i, i + concurrency);
    const results = await Promise.allSettled(chunk.map((kv) => backend.create(kv.key, kv.value)));
    let error: { key: string; err: Error } | undefined;
    results.forEach((r, j) => {
      if (r.status === 'fulfilled') written.push(chunk[j]!.key);
      else error ??= { key: chunk[j]!.key, err: r.reason as Error };
    });
    if (error) return { written, error };
  }
  return { written };
}

/** Best-effort undo: deletes what this run wrote and puts back what `force` removed. */
async function rollback(backend: Backend, written: string[], removed: KeyValue[]): Promise<string> {
  const problems: string[] = [];
  for (const key of written) {
    try {
      await backend.delete(key);
    } catch (err) {
      problems.push(`${key}: ${(err as Error).message}`);
    }
  }
  const back = await createAll(backend, removed.map((kv) => ({ key: kv.key, value: kv.value })), 64).catch((err: Error) => ({ written: [], error: { key: '?', err } }));
  if (back.error) problems.push(`putting back ${back.error.key}: ${back.error.err.message}`);
  if (problems.length) return `rollback incomplete, the store needs attention (${problems.slice(0, 3).join('; ')}${problems.length > 3 ? '; …' : ''})`;
  return removed.length ? 'rolled back: the store holds its previous contents again' : 'rolled back: the store is empty again';
}

/** Restores `file` into the target store. Throws RestoreError/BackupFormatError with user-facing messages. */
export async function restore(file: string, opts: RestoreOptions = {}): Promise<RestoreResult> {
  let bytes: Buffer;
  try {
    bytes = readFileSync(file);
  } catch (err) {
    throw new RestoreError(`cannot read backup ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`);
  }
  const backup = verifyBackup(bytes);
  const store = opts.store ?? `sqlite://${join(opts.dataDir ?? './.kubelite', 'state.db')}`;
  const release = lockAll(lockDirs(store, opts.store === undefined ? (opts.dataDir ?? './.kubelite') : opts.dataDir));
  try {
    let backend: Backend;
    try {
      backend = await openBackend(store);
    } catch (err) {
      const msg = (err as Error).message;
      if (/locked|busy/i.test(msg)) throw new RestoreError(`the store ${store} is locked by another process (a running kubelite?): stop kubelite first`);
      throw new RestoreError(`cannot open the store ${store}: ${msg}`);
    }
    try {
      const existing = await backend.count(ROOT);
      if (existing > 0 && !opts.force) {
        throw new RestoreError(
          `the store ${store} is not empty (${existing} objects): restore writes only into an empty store; pass --force to replace its contents with the backup`,
        );
      }
      const removed = existing > 0 ? await listAll(backend) : [];
      const deleted: KeyValue[] = [];
      for (const kv of removed) {
        try {
          await backend.delete(kv.key);
          deleted.push(kv);
        } catch (err) {
          const undo = await rollback(backend, [], deleted);
          throw new RestoreError(`restore failed while clearing the store (${kv.key}: ${(err as Error).message}); ${undo}`);
        }
      }
      const total = backup.entries.length;
      const { written, error } = await createAll(backend, backup.entries, Math.max(1, opts.concurrency ?? 64));
      if (error) {
        const undo = await rollback(backend, written, deleted);
        throw new RestoreError(`restore failed after writing ${written.length} of ${total} objects (${error.key}: ${error.err.message}); ${undo}`);
      }
      return { store, header: backup.header, count: total, replaced: deleted.length };
    } finally {
      await backend.close();
    }
  } finally {
    release();
  }
}

const RESTORE_USAGE = 'usage: kubelite restore FILE [--store URL | --data-dir DIR] [--force]\n';

/** The `kubelite restore` command: parses flags, runs, prints one summary line; returns the exit code. */
export async function restoreCommand(args: string[]): Promise<number> {
  let values;
  let positionals: string[];
  try {
    ({ values, positionals } = parseArgs({
      args,
      options: { store: { type: 'string' }, 'data-dir': { type: 'string' }, force: { type: 'boolean', default: false } },
      allowPositionals: true,
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kubelite restore: ${(err as Error).message}\n${RESTORE_USAGE}`);
    return 2;
  }
  if (positionals.length !== 1) {
    process.stderr.write(`kubelite restore: expected exactly one backup FILE\n${RESTORE_USAGE}`);
    return 2;
  }
  try {
    const r = await restore(positionals[0]!, { store: values.store, dataDir: values['data-dir'], force: values.force });
    const replaced = r.replaced ? ` (replaced ${r.replaced} existing objects)` : '';
    process.stdout.write(`kubelite restore: restored ${r.count} objects from the backup of revision ${r.header.revision} (${r.header.createdAt}) into ${r.store}${replaced}\n`);
    return 0;
  } catch (err) {
    const prefix = err instanceof BackupFormatError ? `${positionals[0]}: ` : '';
    process.stderr.write(`kubelite restore: ${prefix}${(err as Error).message}\n`);
    return 1;
  }
}
