/**
 * `kubelite up --store etcd://...` end to end: the real API server on a real etcd, with objects
 * under their `/registry/...` keys verbatim and resourceVersion = etcd's revision.
 */
import assert from 'node:assert/strict';
import { request } from 'node:https';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { hasKubectl, startCluster, type TestCluster } from '../harness.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from './etcdtest.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const cm = (name: string, data: Record<string, string>, rv?: string): string =>
  JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, ...(rv ? { resourceVersion: rv } : {}) }, data });

/** The first watch event line from `path` (the watch is closed after it). */
function firstWatchEvent(c: TestCluster, path: string, ms = 10_000): Promise<Obj> {
  const url = new URL(c.url);
  return new Promise((resolve, reject) => {
    let buf = '';
    const req = request({ host: url.hostname, port: url.port, path, ca: c.caCertPem, headers: { authorization: `Bearer ${c.token}` } }, (res) => {
      res.on('data', (d) => {
        buf += d;
        const i = buf.indexOf('\n');
        if (i >= 0) {
          clearTimeout(timer);
          req.destroy();
          resolve(JSON.parse(buf.slice(0, i)) as Obj);
        }
      });
    });
    req.on('error', (e) => { if (!buf.includes('\n')) reject(e); });
    const timer = setTimeout(() => { req.destroy(); reject(new Error(`no watch event on ${path}`)); }, ms);
    req.end();
  });
}

describe('kubelite up --store etcd://', { skip: etcdSkipReason }, () => {
  let etcd: EtcdCluster;
  let raw: Etcd3;
  let c: TestCluster;
  before(async () => {
    etcd = await startEtcd();
    raw = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
    c = await startCluster({ storeUrl: `etcd://${etcd.endpoints.join(',')}` });
  });
  after(async () => {
    await c?.close();
    raw?.close();
    await etcd?.stop();
  });

  it('keeps objects in etcd under /registry with resourceVersion = etcd mod_revision', async () => {
    const created = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm('etcd-cm', { a: '1' }) });
    assert.equal(created.status, 201, created.body);
    const rv = created.json<Obj>().metadata.resourceVersion as string;
    // kubelite uses kube-apiserver's key layout (src/apiserver/registry/keys.ts).
    const stored = await raw.get('/registry/configmaps/default/etcd-cm').exec();
    assert.equal(stored.kvs.length, 1, 'stored under /registry in etcd, key verbatim');
    assert.equal(String(stored.kvs[0]?.mod_revision), rv);
    assert.equal(JSON.parse(stored.kvs[0]?.value.toString() ?? '{}').data.a, '1');
    assert.ok((await raw.get('/registry/namespaces/default').string()) !== null, 'bootstrap objects are in etcd too');

    const got = await c.http('GET', '/api/v1/namespaces/default/configmaps/etcd-cm');
    assert.equal(got.status, 200);
    assert.equal(got.json<Obj>().metadata.resourceVersion, rv);
  });

  it('enforces optimistic concurrency through etcd and streams watch events', async () => {
    const cur = (await c.http('GET', '/api/v1/namespaces/default/configmaps/etcd-cm')).json<Obj>();
    const rv = cur.metadata.resourceVersion as string;
    const watching = firstWatchEvent(c, `/api/v1/namespaces/default/configmaps?watch=1&resourceVersion=${rv}&fieldSelector=metadata.name%3Detcd-cm`);
    const updated = await c.http('PUT', '/api/v1/namespaces/default/configmaps/etcd-cm', { body: cm('etcd-cm', { a: '2' }, rv) });
    assert.equal(updated.status, 200, updated.body);
    const stale = await c.http('PUT', '/api/v1/namespaces/default/configmaps/etcd-cm', { body: cm('etcd-cm', { a: '3' }, rv) });
    assert.equal(stale.status, 409, 'a stale resourceVersion conflicts');
    const ev = await watching;
    assert.equal(ev.type, 'MODIFIED');
    assert.equal(ev.object.data.a, '2');
    assert.equal(ev.object.metadata.resourceVersion, updated.json<Obj>().metadata.resourceVersion);
  });

  it('pages lists with limit and continue', async () => {
    for (let i = 0; i < 5; i++) {
      const r = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body: cm(`page-${i}`, { i: String(i) }) });
      assert.equal(r.status, 201, r.body);
    }
    const names: string[] = [];
    let cont = '';
    for (let pages = 0; pages < 10; pages++) {
      const r = await c.http('GET', `/api/v1/namespaces/default/configmaps?limit=2${cont ? `&continue=${encodeURIComponent(cont)}` : ''}`);
      assert.equal(r.status, 200, r.body);
      const list = r.json<Obj>();
      names.push(...(list.items as Obj[]).map((o) => o.metadata.name as string));
      cont = (list.metadata.continue as string | undefined) ?? '';
      if (!cont) break;
    }
    assert.deepEqual(names.filter((n) => n.startsWith('page-')), ['page-0', 'page-1', 'page-2', 'page-3', 'page-4']);
  });

  it('serves kubectl', { skip: hasKubectl ? false : 'kubectl is not installed' }, async () => {
    const r = await c.kubectl(['get', 'configmap', 'etcd-cm', '-o', 'jsonpath={.data.a}']);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stdout, '2');
  });

  it('finds its state again after the API server restarts on the same etcd', async () => {
    await c.close();
    c = await startCluster({ storeUrl: `etcd://${etcd.endpoints[0]}` });
    const got = await c.http('GET', '/api/v1/namespaces/default/configmaps/etcd-cm');
    assert.equal(got.status, 200, got.body);
    assert.equal(got.json<Obj>().data.a, '2');
  });
});
