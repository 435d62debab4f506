/**
 * `kubelite backup --out FILE`: a consistent snapshot of every stored object, read through the
 * API server so it works while the cluster serves (a running kubelite holds its sqlite file
 * exclusively, and reading the store directly would bypass that lock anyway).
 *
 * Consistency: one revision R is picked first (the resourceVersion of a namespace list), then
 * every storage location is listed with `resourceVersion=R&resourceVersionMatch=Exact` and
 * paged with `continue` tokens that pin R too, so the file holds each object exactly as it was
 * at R no matter what writes happen meanwhile. If R is compacted mid-way (410 Gone), the whole
 * snapshot starts over at a new revision.
 *
 * The file (see backup-format.ts) is written to a temp file beside FILE with mode 0600 (it
 * holds Secrets), fsynced and renamed into place, so FILE is either the old file or a
 * complete new backup, never half of one.
 */
import { readFileSync, rmSync, openSync, fsyncSync, closeSync, renameSync, createWriteStream } from 'node:fs';
import { dirname, basename, join, resolve } from 'node:path';
import { Agent, request } from 'node:https';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGzip } from 'node:zlib';
import { parseArgs } from 'node:util';
import { parse as parseYaml } from 'yaml';
import { apiVersionOf, type ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { BackupWriter, storedResources } from './backup-format.js';

export interface BackupOptions {
  /** Kubeconfig to reach the cluster; default `<dataDir>/kubeconfig`. */
  kubeconfig?: string;
  /** Data dir of the cluster (default ./.kubelite); used only to find its kubeconfig. */
  dataDir?: string;
  out: string;
  /** Objects per list page (default 500). */
  pageSize?: number;
}

export interface BackupResult {
  out: string;
  revision: number;
  count: number;
  bytes: number;
}

/** An error whose message is meant for the user as is (no stack trace). */
export class BackupError extends Error {
  override readonly name = 'BackupError';
}

interface Endpoint {
  server: URL;
  agent: Agent;
  headers: Record<string, string>;
}

type Named<T> = { name?: string } & T;

/** Reads the kubeconfig's current context: server, CA and credentials. */
export function loadKubeconfig(path: string): Endpoint {
  let doc: Record<string, unknown>;
  try {
    doc = parseYaml(readFileSync(path, 'utf8')) as Record<string, unknown>;
  } catch (err) {
    throw new BackupError(`cannot read kubeconfig ${path}: ${(err as Error).message}`);
  }
  const pick = <T>(list: unknown, name: unknown, field: string): T | undefined => {
    const arr = Array.isArray(list) ? (list as Named<Record<string, T>>[]) : [];
    const hit = (name ? arr.find((x) => x.name === name) : undefined) ?? (arr.length === 1 ? arr[0] : undefined);
    return hit?.[field];
  };
  const ctx = pick<{ cluster?: string; user?: string }>(doc?.contexts, doc?.['current-context'], 'context') ?? {};
  const cluster = pick<Record<string, unknown>>(doc?.clusters, ctx.cluster, 'cluster');
  const user = pick<Record<string, unknown>>(doc?.users, ctx.user, 'user') ?? {};
  if (!cluster || typeof cluster.server !== 'string') throw new BackupError(`kubeconfig ${path} has no cluster server for its current context`);
  const base = dirname(resolve(path));
  const file = (p: unknown): Buffer | undefined => (typeof p === 'string' ? readFileSync(resolve(base, p)) : undefined);
  const data = (d: unknown): Buffer | undefined => (typeof d === 'string' ? Buffer.from(d, 'base64') : undefined);
  const headers: Record<string, string> = { accept: 'application/json', 'user-agent': 'kubelite-backup' };
  const token = typeof user.token === 'string' ? user.token : typeof user.tokenFile === 'string' ? readFileSync(resolve(base, user.tokenFile), 'utf8').trim() : undefined;
  if (token) headers.authorization = `Bearer ${token}`;
  const agent = new Agent({
    keepAlive: true,
    ca: data(cluster['certificate-authority-data']) ?? file(cluster['certificate-authority']),
    cert: data(user['client-certificate-data']) ?? file(user['client-certificate']),
    key: data(user['client-key-data']) ?? file(user['client-key']),
    rejectUnauthorized: cluster['insecure-skip-tls-verify'] !== true,
  });
  return { server: new URL(cluster.server), agent, headers };
}

class HttpStatusError extends Error {
  constructor(readonly status: number, message: string) {
    super(message);
  }
}

function getJson(ep: Endpoint, path: string): Promise<Record<string, unknown>> {
  const url = new URL(path, ep.server);
  return new Promise((resolvePromise, reject) => {
    const req = request(url, { method: 'GET', agent: ep.agent, headers: ep.headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        let parsed: Record<string, unknown> | undefined;
        try {
          parsed = JSON.parse(body) as Record<string, unknown>;
        } catch {
          parsed = undefined;
        }
        if (res.statusCode !== 200 || !parsed) {
          const msg = typeof parsed?.message === 'string' ? parsed.message : body.slice(0, 200);
          reject(new HttpStatusError(res.statusCode ?? 0, `GET ${url.pathname}: ${res.statusCode} ${msg}`));
          return;
        }
        resolvePromise(parsed);
      });
    });
    req.on('error', (err) => reject(new BackupError(`cannot reach the API server at ${ep.server.origin}: ${err.message} (is kubelite running?)`)));
    req.end();
  });
}

function listPath(res: ResourceInfo): string {
  return res.group ? `/apis/${res.group}/${res.version}/${res.plural}` : `/api/${res.version}/${res.plural}`;
}

/**
 * Every object of `res` at exactly `revision`, paged. Servers that reject the continue token of
 * an all-namespaces list (keys then contain "/") get one unpaged list at the same revision.
 */
async function listAt(ep: Endpoint, res: ResourceInfo, revision: number, pageSize: number): Promise<KObject[]> {
  const items: KObject[] = [];
  let cont: string | undefined;
  let limit = pageSize;
  for (;;) {
    const q = new URLSearchParams();
    if (limit) q.set('limit', String(limit));
    if (cont) q.set('continue', cont);
    else {
      q.set('resourceVersion', String(revision));
      q.set('resourceVersionMatch', 'Exact');
    }
    let list: Record<string, unknown>;
    try {
      list = await getJson(ep, `${listPath(res)}?${q}`);
    } catch (err) {
      if (cont && err instanceof HttpStatusError && err.status === 400 && /continue/i.test(err.message)) {
        items.length = 0;
        cont = undefined;
        limit = 0;
        continue;
      }
      throw err;
    }
    const meta = (list.metadata ?? {}) as { resourceVersion?: string; continue?: string };
    if (Number(meta.resourceVersion) !== revision) {
      throw new BackupError(`the API server answered ${res.plural} at revision ${meta.resourceVersion}, not ${revision}: cannot take a consistent snapshot`);
    }
    items.push(...((list.items ?? []) as KObject[]));
    cont = meta.continue || undefined;
    if (!cont) return items;
  }
}

/** Lines of one snapshot at a single revision; throws HttpStatusError(410) if R gets compacted. */
async function* snapshotLines(ep: Endpoint, pageSize: number, stats: { revision: number; count: number }): AsyncGenerator<string> {
  const first = await getJson(ep, '/api/v1/namespaces?limit=1');
  const revision = Number((first.metadata as { resourceVersion?: string } | undefined)?.resourceVersion);
  if (!Number.isSafeInteger(revision) || revision <= 0) throw new BackupError('the API server returned no usable resourceVersion');
  const lines: string[] = [];
  const writer = new BackupWriter((line) => void lines.push(line));
  await writer.header({ revision, createdAt: new Date().toISOString(), server: ep.server.origin });
  yield* lines.splice(0);
  for (const res of storedResources()) {
    for (const item of await listAt(ep, res, revision, pageSize)) {
      // Items are in the storage version; anything else would not restore byte-for-byte.
      if (item.apiVersion !== apiVersionOf(res) || item.kind !== res.kind) {
        throw new BackupError(`unexpected ${item.apiVersion}/${item.kind} in the ${res.plural} list`);
      }
      await writer.object(res, item);
    }
    yield* lines.splice(0);
  }
  await writer.trailer();
  yield* lines.splice(0);
  stats.revision = revision;
  stats.count = writer.count;
}

/** Takes a backup; resolves once FILE is complete and durable. */
export async function backup(opts: BackupOptions): Promise<BackupResult> {
  const kubeconfig = opts.kubeconfig ?? join(opts.dataDir ?? './.kubelite', 'kubeconfig');
  const ep = loadKubeconfig(kubeconfig);
  const out = resolve(opts.out);
  const tmp = join(dirname(out), `.${basename(out)}.tmp-${process.pid}`);
  try {
    for (let attempt = 1; ; attempt++) {
      const stats = { revision: 0, count: 0 };
      try {
        await pipeline(Readable.from(snapshotLines(ep, opts.pageSize ?? 500, stats)), createGzip(), createWriteStream(tmp, { mode: 0o600 }));
      } catch (err) {
        rmSync(tmp, { force: true });
        if (err instanceof HttpStatusError && err.status === 410 && attempt < 3) continue;
        if (err instanceof HttpStatusError) throw new BackupError(`backup failed: ${err.message}`);
        throw err;
      }
      const fd = openSync(tmp, 'r');
      try {
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
      renameSync(tmp, out);
      try {
        const dfd = openSync(dirname(out), 'r');
        fsyncSync(dfd);
        closeSync(dfd);
      } catch {
        // Directory fsync is best effort (not supported everywhere).
      }
      const bytes = readFileSync(out).length;
      return { out, revision: stats.revision, count: stats.count, bytes };
    }
  } finally {
    ep.agent.destroy();
  }
}

const BACKUP_USAGE = 'usage: kubelite backup --out FILE [--kubeconfig PATH | --data-dir DIR]\n';

/** The `kubelite backup` command: parses flags, runs, prints one summary line; returns the exit code. */
export async function backupCommand(args: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args,
      options: { out: { type: 'string', short: 'o' }, kubeconfig: { type: 'string' }, 'data-dir': { type: 'string' } },
      strict: true,
    }));
  } catch (err) {
    process.stderr.write(`kubelite backup: ${(err as Error).message}\n${BACKUP_USAGE}`);
    return 2;
  }
  if (!values.out) {
    process.stderr.write(`kubelite backup: --out FILE is required\n${BACKUP_USAGE}`);
    return 2;
  }
  if (values.kubeconfig && values['data-dir']) {
    process.stderr.write(`kubelite backup: pass --kubeconfig or --data-dir, not both\n${BACKUP_USAGE}`);
    return 2;
  }
  try {
    const r = await backup({ out: values.out, kubeconfig: values.kubeconfig, dataDir: values['data-dir'] });
    process.stdout.write(`kubelite backup: wrote ${r.count} objects at revision ${r.revision} to ${r.out} (${r.bytes} bytes)\n`);
    return 0;
  } catch (err) {
    process.stderr.write(`kubelite backup: ${(err as Error).message}\n`);
    return 1;
  }
}
