/**
 * The hand-made certificates (x509-lite.ts) as OpenSSL and Node read them: fields, signatures,
 * chains (also under a CA made earlier by @peculiar/x509, as existing data dirs have), TLS
 * handshakes, and `openssl verify` when openssl is installed. The kubectl tests connect with them too.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey, webcrypto } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki, loadX509 } from './certs.js';
import { keyIdentifier, subjectNameOf } from './x509-lite.js';

const HAS_OPENSSL = spawnSync('openssl', ['version']).status === 0;

function handshake(pki: { caCertPem: string; serverCertPem: string; serverKeyPem: string }, servername: string, host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, (_req, res) => res.end('ok'));
    srv.listen(0, host, () => {
      const port = (srv.address() as AddressInfo).port;
      const req = https.get({ host, port, servername: servername === host ? undefined : servername, ca: pki.caCertPem, agent: false, headers: { host: servername } }, (res) => {
        res.resume();
        res.on('end', () => srv.close(() => resolve(res.statusCode ?? 0)));
      });
      req.on('error', (e) => srv.close(() => reject(e)));
    });
  });
}

describe('cluster PKI made by x509-lite', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kubelite-x509lite-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('a CA and a serving certificate with the expected fields, signatures and chain', async () => {
    const pki = await ensurePki(dir, { hosts: ['10.1.2.3', 'my.host'] });
    const ca = new X509Certificate(pki.caCertPem);
    const srv = new X509Certificate(pki.serverCertPem);
    assert.equal(ca.subject, 'CN=kubelite-ca');
    assert.equal(ca.ca, true);
    assert.ok(ca.verify(ca.publicKey), 'self-signed');
    assert.equal(srv.ca, false);
    assert.equal(srv.subject, 'CN=kube-apiserver');
    assert.equal(srv.issuer, 'CN=kubelite-ca');
    assert.ok(srv.verify(ca.publicKey) && srv.checkIssued(ca));
    assert.deepEqual(srv.keyUsage, ['1.3.6.1.5.5.7.3.1']);
    for (const san of ['DNS:localhost', 'DNS:kubernetes.default.svc', 'DNS:my.host', 'IP Address:127.0.0.1', 'IP Address:10.1.2.3', 'IP Address:0:0:0:0:0:0:0:1']) {
      assert.ok(srv.subjectAltName!.split(', ').includes(san), `${san} in ${srv.subjectAltName}`);
    }
    assert.ok(Date.parse(ca.validTo) - Date.now() > 9 * 365 * 86400_000);
    assert.ok(Math.abs(Date.parse(srv.validFrom) - Date.now()) < 5 * 60_000);
    assert.ok(srv.checkPrivateKey(createPrivateKey(pki.serverKeyPem)));
    assert.equal(await handshake(pki, 'localhost', '127.0.0.1'), 200);
    assert.equal(await handshake(pki, '127.0.0.1', '127.0.0.1'), 200);
  });

  it('openssl verifies the chain and reads both certificates without complaint', { skip: !HAS_OPENSSL && 'openssl not installed' }, () => {
    const pki = join(dir, 'pki');
    const v = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', join(pki, 'ca.crt'), join(pki, 'apiserver.crt')], { encoding: 'utf8' });
    assert.equal(v.status, 0, v.stdout + v.stderr);
    for (const f of ['ca.crt', 'apiserver.crt']) {
      const t = spawnSync('openssl', ['x509', '-noout', '-text', '-in', join(pki, f)], { encoding: 'utf8' });
      assert.equal(t.status, 0, t.stderr);
      assert.match(t.stdout, /ecdsa-with-SHA256/);
    }
    const text = spawnSync('openssl', ['x509', '-noout', '-text', '-in', join(pki, 'apiserver.crt')], { encoding: 'utf8' }).stdout;
    assert.match(text, /X509v3 Authority Key Identifier/);
    assert.match(text, /Digital Signature, Key Encipherment/);
    const caText = spawnSync('openssl', ['x509', '-noout', '-text', '-in', join(pki, 'ca.crt')], { encoding: 'utf8' }).stdout;
    assert.match(caText, /CA:TRUE/);
    assert.match(caText, /Digital Signature, Certificate Sign, CRL Sign/);
  });

  it('issues serving certificates under a CA @peculiar/x509 made (existing data dirs), same issuer bytes and key id', async () => {
    const old = mkdtempSync(join(tmpdir(), 'kubelite-x509old-'));
    try {
      const x509 = await loadX509();
      const alg = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
      const keys = (await webcrypto.subtle.generateKey(alg, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
      const caCert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: '01',
        name: 'CN=kubelite-ca',
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + 86400_000),
        signingAlgorithm: alg,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey));
      mkdirSync(join(old, 'pki'), { recursive: true });
      writeFileSync(join(old, 'pki', 'ca.crt'), caCert.toString('pem') + '\n');
      writeFileSync(join(old, 'pki', 'ca.key'), `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`);
      const pki = await ensurePki(old, { hosts: [] });
      const ca = new X509Certificate(pki.caCertPem);
      const srv = new X509Certificate(pki.serverCertPem);
      assert.ok(srv.verify(ca.publicKey) && srv.checkIssued(ca));
      assert.deepEqual(subjectNameOf(pki.caCertPem), Buffer.from(new x509.X509Certificate(pki.serverCertPem).issuerName.toArrayBuffer()));
      const ski = caCert.getExtension(x509.SubjectKeyIdentifierExtension)!.keyId;
      assert.equal(keyIdentifier(ca.publicKey).toString('hex'), ski);
      assert.equal(await handshake(pki, 'localhost', '127.0.0.1'), 200);
      if (HAS_OPENSSL) {
        const v = spawnSync('openssl', ['verify', '-x509_strict', '-CAfile', join(old, 'pki', 'ca.crt'), join(old, 'pki', 'apiserver.crt')], { encoding: 'utf8' });
        assert.equal(v.status, 0, v.stdout + v.stderr);
      }
    } finally {
      rmSync(old, { recursive: true, force: true });
    }
  });

  it('keeps what exists: a second ensurePki returns the same PKI', async () => {
    const a = await ensurePki(dir, { hosts: ['10.1.2.3', 'my.host'] });
    assert.deepEqual(await ensurePki(dir, { hosts: ['10.1.2.3', 'my.host'] }), a);
    assert.equal(readFileSync(join(dir, 'pki', 'apiserver.crt'), 'utf8'), a.serverCertPem);
  });
});
