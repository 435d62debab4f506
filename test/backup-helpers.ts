/**
 * Helpers for test/backup.test.ts: raw HTTPS to any running cluster, a listing of every stored
 * object (optionally at one revision), a cluster on any store URL, and an etcd for the
 * sqlite -> etcd round trip when both the etcd binary and the etcd backend are available.
 */
import { request as httpsRequest } from 'node:https';
import { up, type RunningCluster } from '../src/cli/up.js';
import { knownSchemes } from '../src/storage/registry.js';
import { storedResources } from '../src/cli/backup-format.js';
import type { KObject } from '../src/api/types.js';
import { etcdAvailable, startEtcd } from './etcd/etcdtest.js';

export type Http = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: string }>;

/** id (`group/plural/namespace/name`) -> object without resourceVersion. */
export type Objects = Map<string, KObject>;

export function clusterHttp(c: RunningCluster): Http {
  const url = new URL(c.url);
  return (method, path, body) =>
    new Promise((resolve, reject) => {
      const data = body === undefined ? undefined : JSON.stringify(body);
      const headers: Record<string, string> = { authorization: `Bearer ${c.token}`, accept: 'application/json' };
      if (data !== undefined) {
        headers['content-type'] = 'application/json';
        headers['content-length'] = String(Buffer.byteLength(data));
      }
      const req = httpsRequest({ host: url.hostname, port: url.port, path, method, headers, ca: c.caCertPem }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
      });
      req.on('error', reject);
      if (data !== undefined) req.write(data);
      req.end();
    });
}

/** Every stored object through the API (each storage location once), at `revision` if given. */
export async function listAll(http: Http, revision?: number): Promise<Objects> {
  const out: Objects = new Map();
  for (const res of storedResources()) {
    const base = res.group ? `/apis/${res.group}/${res.version}/${res.plural}` : `/api/${res.version}/${res.plural}`;
    const q = revision ? `?resourceVersion=${revision}&resourceVersionMatch=Exact` : '';
    const r = await http('GET', base + q);
    if (r.status !== 200) throw new Error(`GET ${base}${q}: ${r.status} ${r.body}`);
    for (const o of (JSON.parse(r.body) as { items: KObject[] }).items) {
      delete o.metadata.resourceVersion;
      out.set(`${res.group}/${res.plural}/${o.metadata.namespace ?? ''}/${o.metadata.name}`, o);
    }
  }
  return out;
}

/** A cluster on any store URL (the harness only knows memory and sqlite). */
export async function startOn(dir: string, store?: string): Promise<RunningCluster> {
  return up({ dataDir: dir, listen: '127.0.0.1:0', store, serviceCIDR: '10.96.0.0/12', quiet: true });
}

/**
 * A throwaway single-member etcd (test/etcd/etcdtest.ts) and the kubelite store URL for it.
 * Resolves to a reason string (for t.skip) when etcd or the `etcd://` backend is unavailable.
 */
export async function startEtcdBackend(): Promise<{ url: string; stop: () => Promise<void> } | string> {
  if (!etcdAvailable) return 'etcd is not on PATH';
  if (!knownSchemes().includes('etcd')) return 'the etcd:// storage backend is not registered';
  const etcd = await startEtcd();
  return { url: `etcd://${etcd.endpoints.join(',')}`, stop: () => etcd.stop() };
}
