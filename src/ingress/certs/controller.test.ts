/**
 * Integration: the certificate controller against a real (in-memory) API server, on a fake clock.
 * The cluster CA is the test cluster's own (`<dataDir>/pki`), as `kubelite up` would pass it; the
 * issued certificate is checked the way a user would: a TLS client (node, and curl when present)
 * trusting only the cluster CA connects to a server using it.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { createServer, request } from 'node:https';
import { spawnSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { AddressInfo } from 'node:net';
import { startCluster, until, type TestCluster } from '../../../test/harness.js';
import { EVENTS, LocalClient, type ResourceRef } from '../../client/client.js';
import { FakeClock } from '../../client/fakeclock.js';
import { newControllerContext } from '../../controllers/context.js';
import type { KObject } from '../../api/types.js';
import { CertificateController } from './controller.js';
import { SECRET_ANNOTATIONS, secretData } from './decide.js';
import { firstPem, readClusterCA, type CertIssuer } from './issue.js';
import { makeTestCA } from './testca.js';

const INGRESSES: ResourceRef = { group: 'networking.k8s.io', plural: 'ingresses' };
const SECRETS: ResourceRef = { group: '', plural: 'secrets' };
const NS = 'default';
const HAS_CURL = spawnSync('curl', ['--version'], { stdio: 'ignore' }).status === 0;

interface Env {
  c: TestCluster;
  client: LocalClient;
  clock: FakeClock;
  ca: CertIssuer;
  ctrl: CertificateController;
}

async function withController(fn: (env: Env) => Promise<void>): Promise<void> {
  const c = await startCluster({ store: 'memory', controllers: false });
  const clock = new FakeClock(Date.now());
  const ca = readClusterCA(c.dir);
  const ctrl = new CertificateController(newControllerContext({ registry: c.server.registry, cache: c.server.cache }, { clock }), { clusterCA: ca });
  try {
    await ctrl.start();
    await fn({ c, client: new LocalClient(c.server.registry, { manager: 'test' }), clock, ca, ctrl });
  } finally {
    await ctrl.stop();
    await c.close();
  }
}

function ingress(name: string, ann: Record<string, string>, tls: { hosts: string[]; secretName: string }[]): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name, annotations: ann },
    spec: {
      tls,
      rules: [{ host: tls[0]?.hosts[0] ?? 'x.test', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }],
    },
  };
}

async function getSecret(env: Env, name: string): Promise<KObject | undefined> {
  try {
    return await env.client.get(SECRETS, NS, name);
  } catch {
    return undefined;
  }
}

const serialOf = (s: KObject | undefined): string | undefined => s?.metadata.annotations?.[SECRET_ANNOTATIONS.serial];
const leafOf = (s: KObject): X509Certificate => new X509Certificate(firstPem(secretData(s, 'tls.crt') ?? ''));

async function events(env: Env, ing: string, reason: string): Promise<KObject[]> {
  return (await env.client.list(EVENTS, NS)).filter((e) => (e.involvedObject as { name?: string }).name === ing && e.reason === reason);
}
async function eventMessage(env: Env, ing: string, reason: string, match?: RegExp): Promise<string> {
  const e = await until(`event ${reason} on ${ing}`, async () => (await events(env, ing, reason)).find((x) => !match || match.test(String(x.message))));
  return String(e.message);
}

/** Serves the Secret's certificate on 127.0.0.1 and fetches it trusting only `caPem`. */
async function fetchWith(secret: KObject, o: { caPem: string; servername: string }): Promise<{ ok: true; body: string } | { ok: false; error: string }> {
  const server = createServer({ cert: secretData(secret, 'tls.crt'), key: secretData(secret, 'tls.key') }, (_req, res) => res.end('hello over tls'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    return await new Promise((resolve) => {
      const req = request({ host: '127.0.0.1', port, path: '/', servername: o.servername, ca: o.caPem, agent: false }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ ok: true, body }));
      });
      req.on('error', (err) => resolve({ ok: false, error: err.message }));
      req.end();
    });
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  }
}

/** `curl --cacert <ca> --resolve host:port:127.0.0.1 https://host:port/` against the Secret's cert. */
async function curlWith(secret: KObject, o: { caPem: string; host: string }): Promise<{ code: number | null; out: string }> {
  const dir = mkdtempSync(join(tmpdir(), 'certs-curl-'));
  const server = createServer({ cert: secretData(secret, 'tls.crt'), key: secretData(secret, 'tls.key') }, (_req, res) => res.end('hello over tls'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as AddressInfo).port;
  try {
    writeFileSync(join(dir, 'ca.crt'), o.caPem);
    const p = spawn('curl', ['-sS', '--max-time', '5', '--cacert', join(dir, 'ca.crt'), '--resolve', `${o.host}:${port}:127.0.0.1`, `https://${o.host}:${port}/`]);
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => (out += d));
    const code = await new Promise<number | null>((r) => p.on('close', r));
    return { code, out };
  } finally {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('CertificateController', () => {
  it('issues a cluster-CA certificate that TLS clients trusting the cluster CA accept, and renews it on fake time', async () => {
    await withController(async (env) => {
      await env.client.create(INGRESSES, NS, ingress('shop', { 'cert.kubelite.io/cluster-issuer': 'cluster-ca', 'cert.kubelite.io/duration': '1h' }, [{ hosts: ['shop.test', 'www.shop.test'], secretName: 'shop-tls' }]));
      const secret = await until('secret shop-tls', () => getSecret(env, 'shop-tls'));
      assert.equal(secret.type, 'kubernetes.io/tls');
      assert.equal(secret.metadata.ownerReferences, undefined, 'kept when the Ingress goes');
      const leaf = leafOf(secret);
      assert.ok(leaf.verify(new X509Certificate(env.ca.certPem).publicKey));
      assert.equal(leaf.subjectAltName, 'DNS:shop.test, DNS:www.shop.test');
      assert.equal(leaf.subject, 'CN=shop.test');
      const notBefore = Math.floor(env.clock.now() / 1000) * 1000;
      assert.equal(Date.parse(leaf.validFrom), notBefore);
      assert.equal(Date.parse(leaf.validTo), notBefore + 3600_000);
      assert.equal(secretData(secret, 'ca.crt'), env.ca.certPem);
      const ann = secret.metadata.annotations!;
      assert.equal(ann['cert-manager.io/issuer-name'], 'cluster-ca');
      assert.equal(ann['cert-manager.io/alt-names'], 'shop.test,www.shop.test');
      assert.equal(ann[SECRET_ANNOTATIONS.ingress], 'shop');
      assert.match(await eventMessage(env, 'shop', 'Issuing'), /Secret shop-tls: the Secret does not exist/);
      assert.match(await eventMessage(env, 'shop', 'Issued'), /^Certificate issued for hosts shop\.test, www\.shop\.test valid until \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ/);
      assert.equal((await events(env, 'shop', 'Issued'))[0].type, 'Normal');
      // No key material in events.
      const keyB64 = (secret.data as Record<string, string>)['tls.key'];
      for (const e of await env.client.list(EVENTS, NS)) assert.ok(!String(e.message).includes(keyB64.slice(40, 80)));

      // The acceptance in miniature: a client trusting only the cluster CA accepts it.
      assert.deepEqual(await fetchWith(secret, { caPem: env.ca.certPem, servername: 'www.shop.test' }), { ok: true, body: 'hello over tls' });
      const wrongName = await fetchWith(secret, { caPem: env.ca.certPem, servername: 'other.test' });
      assert.equal(wrongName.ok, false);
      const otherCa = await fetchWith(secret, { caPem: (await makeTestCA()).certPem, servername: 'shop.test' });
      assert.equal(otherCa.ok, false);
      if (HAS_CURL) {
        const r = await curlWith(secret, { caPem: env.ca.certPem, host: 'shop.test' });
        assert.equal(r.code, 0, r.out);
        assert.equal(r.out, 'hello over tls');
      }

      // Renewal: nothing before 2/3 of the lifetime, on the fake clock.
      const key = `${NS}/shop`;
      assert.equal(env.ctrl.nextRenewal(key), notBefore + 2400_000);
      const first = serialOf(secret);
      env.clock.advance(notBefore + 2400_000 - 1000 - env.clock.now());
      await env.ctrl.sync(key);
      assert.equal(serialOf(await getSecret(env, 'shop-tls')), first, 'not renewed before 2/3');
      env.clock.advance(2000);
      const renewed = await until('renewed secret', async () => {
        const s = await getSecret(env, 'shop-tls');
        return s && serialOf(s) !== first ? s : undefined;
      });
      assert.match(await eventMessage(env, 'shop', 'Renewed'), /^Certificate renewed for hosts shop\.test, www\.shop\.test valid until/);
      const leaf2 = leafOf(renewed);
      assert.equal(Date.parse(leaf2.validFrom), Math.floor(env.clock.now() / 1000) * 1000);
      assert.notEqual(leaf2.serialNumber, leaf.serialNumber);
      assert.notEqual(secretData(renewed, 'tls.key'), secretData(secret, 'tls.key'), 'a new key');
      assert.equal(env.ctrl.nextRenewal(key), Date.parse(leaf2.validFrom) + 2400_000);
      // The renewal re-queued through the timer is idempotent: another sync changes nothing.
      await env.ctrl.sync(key);
      assert.equal(serialOf(await getSecret(env, 'shop-tls')), serialOf(renewed));
      assert.equal((await events(env, 'shop', 'Renewed')).length, 1);
    });
  });

  it('re-issues when hosts change or the Secret is deleted; keeps the Secret when the Ingress goes', async () => {
    await withController(async (env) => {
      await env.client.create(INGRESSES, NS, ingress('blog', { 'cert-manager.io/cluster-issuer': 'cluster-ca' }, [{ hosts: ['blog.test'], secretName: 'blog-tls' }]));
      const s1 = await until('secret blog-tls', () => getSecret(env, 'blog-tls'));
      const l1 = leafOf(s1);
      assert.equal(Date.parse(l1.validTo) - Date.parse(l1.validFrom), 90 * 86400_000, 'default 90 days');
      await env.client.mutate(INGRESSES, NS, 'blog', (ing) => {
        (ing.spec as { tls: { hosts: string[] }[] }).tls[0].hosts = ['blog.test', 'news.test'];
        return ing;
      });
      const s2 = await until('re-issued for new hosts', async () => {
        const s = await getSecret(env, 'blog-tls');
        return s && leafOf(s).subjectAltName === 'DNS:blog.test, DNS:news.test' ? s : undefined;
      });
      assert.match(await eventMessage(env, 'blog', 'Issuing', /hosts changed/), /\[blog\.test\] -> \[blog\.test, news\.test\]/);
      await env.client.delete(SECRETS, NS, 'blog-tls');
      await until('re-created secret', async () => {
        const s = await getSecret(env, 'blog-tls');
        return s && serialOf(s) !== serialOf(s2) ? s : undefined;
      });
      await env.client.delete(INGRESSES, NS, 'blog');
      await until('ingress gone', async () => !(await env.client.list(INGRESSES, NS)).length);
      await env.ctrl.sync(`${NS}/blog`);
      assert.ok(await getSecret(env, 'blog-tls'), 'the Secret outlives the Ingress');
      assert.equal(env.ctrl.nextRenewal(`${NS}/blog`), undefined);
    });
  });

  it('signs with a CA from a Secret; reports missing and unknown issuers', async () => {
    await withController(async (env) => {
      await env.client.create(INGRESSES, NS, ingress('a', { 'cert.kubelite.io/cluster-issuer': 'letsencrypt' }, [{ hosts: ['a.test'], secretName: 'a-tls' }]));
      assert.match(await eventMessage(env, 'a', 'IssuerNotFound'), /ClusterIssuer "letsencrypt" not found/);
      assert.equal((await events(env, 'a', 'IssuerNotFound'))[0].type, 'Warning');

      await env.client.create(INGRESSES, NS, ingress('b', { 'cert.kubelite.io/ca-secret': 'team-ca' }, [{ hosts: ['b.test'], secretName: 'b-tls' }]));
      assert.match(await eventMessage(env, 'b', 'IssuerNotFound'), /CA secret "team-ca" not found/);
      assert.equal(await getSecret(env, 'b-tls'), undefined);
      const teamCa = await makeTestCA();
      await env.client.create(SECRETS, NS, {
        apiVersion: 'v1',
        kind: 'Secret',
        metadata: { name: 'team-ca' },
        type: 'kubernetes.io/tls',
        data: { 'tls.crt': Buffer.from(teamCa.certPem).toString('base64'), 'tls.key': Buffer.from(teamCa.keyPem).toString('base64') },
      });
      const s = await until('secret b-tls after the CA appears', () => getSecret(env, 'b-tls'));
      assert.ok(leafOf(s).verify(new X509Certificate(teamCa.certPem).publicKey));
      assert.equal(leafOf(s).verify(new X509Certificate(env.ca.certPem).publicKey), false);
      assert.equal(s.metadata.annotations![SECRET_ANNOTATIONS.issuer], 'CASecret/team-ca');
      assert.deepEqual(await fetchWith(s, { caPem: teamCa.certPem, servername: 'b.test' }), { ok: true, body: 'hello over tls' });

      // Switching the Ingress to the cluster CA re-issues from it.
      await env.client.mutate(INGRESSES, NS, 'b', (ing) => {
        ing.metadata.annotations = { 'cert.kubelite.io/cluster-issuer': 'cluster-ca' };
        return ing;
      });
      await until('re-issued by the cluster CA', async () => {
        const x = await getSecret(env, 'b-tls');
        return x && leafOf(x).verify(new X509Certificate(env.ca.certPem).publicKey);
      });
      assert.match(await eventMessage(env, 'b', 'Issuing', /issuer changed/), /CASecret\/team-ca -> ClusterIssuer\/cluster-ca/);
    });
  });

  it('leaves a Secret of another type alone and reports it', async () => {
    await withController(async (env) => {
      await env.client.create(SECRETS, NS, { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'c-tls' }, type: 'Opaque', data: { x: 'eA==' } });
      await env.client.create(INGRESSES, NS, ingress('c', { 'cert.kubelite.io/cluster-issuer': '' }, [{ hosts: ['c.test'], secretName: 'c-tls' }]));
      assert.match(await eventMessage(env, 'c', 'Failed'), /Secret c-tls exists with type Opaque/);
      assert.equal((await getSecret(env, 'c-tls'))?.type, 'Opaque');
    });
  });

  it('two Ingresses naming one Secret: the older keeps it, the other is told', async () => {
    await withController(async (env) => {
      await env.client.create(INGRESSES, NS, ingress('first', { 'cert.kubelite.io/cluster-issuer': 'cluster-ca' }, [{ hosts: ['one.test'], secretName: 'shared-tls' }]));
      await until('secret shared-tls', () => getSecret(env, 'shared-tls'));
      env.clock.advance(5000);
      await env.client.create(INGRESSES, NS, ingress('second', { 'cert.kubelite.io/cluster-issuer': 'cluster-ca' }, [{ hosts: ['two.test'], secretName: 'shared-tls' }]));
      assert.match(await eventMessage(env, 'second', 'Failed'), /Secret shared-tls is managed for older Ingress first/);
      await env.ctrl.sync(`${NS}/second`);
      await env.ctrl.sync(`${NS}/first`);
      const s = (await getSecret(env, 'shared-tls'))!;
      assert.equal(leafOf(s).subjectAltName, 'DNS:one.test');
      assert.equal((await events(env, 'second', 'Failed'))[0].count, 1, 'reported once, not on every sync');
    });
  });
});
