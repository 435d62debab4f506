/**
 * The etcd:// backend against an etcd that requires client certificates (`--client-cert-auth`),
 * the way production etcd for kube-apiserver is run: the URL's cert/key must reach the gRPC
 * client, a client without them must fail fast and clearly, and the API server must work on it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { UnavailableError } from '../../src/storage/errors.js';
import { openBackend } from '../../src/storage/registry.js';
import type { Backend } from '../../src/storage/types.js';
import { startCluster, type TestCluster } from '../harness.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from './etcdtest.js';
import { record, until } from './helpers.js';
import { writeMtlsPki, type MtlsPki } from './pki.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

describe('etcd backend with client-certificate auth', { skip: etcdSkipReason }, () => {
  let dir: string;
  let pki: MtlsPki;
  let etcd: EtcdCluster | undefined;
  const opened: Backend[] = [];
  const url = (params: Record<string, string>): string =>
    `etcd://${etcd?.endpoints[0]}?${new URLSearchParams(params).toString()}`;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-etcd-mtls-'));
    pki = await writeMtlsPki(dir);
    etcd = await startEtcd({
      tls: { certFile: pki.serverCertFile, keyFile: pki.serverKeyFile, caFile: pki.caFile },
      clientCertAuth: { certFile: pki.clientCertFile, keyFile: pki.clientKeyFile },
    });
  });
  after(async () => {
    for (const b of opened) await b.close();
    await etcd?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('creates, gets, lists and watches with the client certificate from the URL', async () => {
    const b = await openBackend(url({ ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile, prefix: '/mtls' }));
    opened.push(b);
    const start = await b.currentRevision();
    const w = record(b, '/registry/', start);
    const r1 = await b.create('/registry/configmaps/default/a', 'one');
    const r2 = await b.create('/registry/configmaps/default/b', 'two');
    assert.deepEqual(await b.get('/registry/configmaps/default/a'), { key: '/registry/configmaps/default/a', value: 'one', createRevision: r1, modRevision: r1 });
    const listed = await b.list('/registry/configmaps/');
    assert.deepEqual(listed.items.map((i) => [i.key, i.value]), [['/registry/configmaps/default/a', 'one'], ['/registry/configmaps/default/b', 'two']]);
    await until(() => w.events.length >= 2 || w.errors.length > 0, 10_000, () => `two watch events (got ${w.events.length})`);
    w.stop();
    assert.deepEqual(w.errors, []);
    assert.deepEqual(w.events.map((e) => [e.type, e.kv.key, e.revision]), [
      ['PUT', '/registry/configmaps/default/a', r1],
      ['PUT', '/registry/configmaps/default/b', r2],
    ]);
  });

  it('fails fast with UnavailableError when the URL names only the CA', async () => {
    const t0 = Date.now();
    await assert.rejects(openBackend(url({ ca: pki.caFile })), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, `want UnavailableError, got ${String(err)}`);
      assert.match(err.message, new RegExp(`cannot reach etcd at ${etcd?.endpoints[0]}`));
      assert.match(err.message, /bad certificate/, 'the cause is etcd rejecting the TLS handshake');
      return true;
    });
    const ms = Date.now() - t0;
    assert.ok(ms < 15_000, `open without a client certificate took ${ms} ms`);
  });

  it('fails when the client presents a certificate that is not for client auth', async () => {
    // The server certificate is signed by the same CA but lacks the clientAuth usage.
    await assert.rejects(openBackend(url({ ca: pki.caFile, cert: pki.serverCertFile, key: pki.serverKeyFile })), (err: unknown) => {
      assert.ok(err instanceof UnavailableError, `want UnavailableError, got ${String(err)}`);
      assert.match(err.message, /bad certificate/);
      return true;
    });
  });

  it('serves a create and a get from kubelite up on that store', async () => {
    let c: TestCluster | undefined;
    try {
      c = await startCluster({ storeUrl: url({ ca: pki.caFile, cert: pki.clientCertFile, key: pki.clientKeyFile }) });
      const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'mtls-cm' }, data: { k: 'v' } });
      const created = await c.http('POST', '/api/v1/namespaces/default/configmaps', { body });
      assert.equal(created.status, 201, created.body);
      const got = await c.http('GET', '/api/v1/namespaces/default/configmaps/mtls-cm');
      assert.equal(got.status, 200, got.body);
      const obj = got.json<Obj>();
      assert.deepEqual(obj.data, { k: 'v' });
      assert.equal(obj.metadata.resourceVersion, created.json<Obj>().metadata.resourceVersion);
    } finally {
      await c?.close();
    }
  });
});
