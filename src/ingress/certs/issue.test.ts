import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkIssuer, firstPem, issueCertificate, normalizeHosts, type CertIssuer } from './issue.js';
import { makeTestCA } from './testca.js';

const HAS_OPENSSL = spawnSync('openssl', ['version'], { stdio: 'ignore' }).status === 0;

function pemBlocks(pem: string): string[] {
  return pem.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
}

describe('issueCertificate', () => {
  let ca: CertIssuer;
  let other: CertIssuer;
  before(async () => {
    ca = await makeTestCA();
    other = await makeTestCA();
  });

  it('signs a leaf for exactly the hosts, verifiable with the CA public key', async () => {
    const notBefore = new Date('2030-01-01T00:00:00Z');
    const notAfter = new Date('2030-01-01T00:01:30Z');
    const out = await issueCertificate({ hosts: ['Web.Example.com', 'api.example.com', 'web.example.com', '*.apps.example.com'], issuer: ca, notBefore, notAfter });
    const blocks = pemBlocks(out.certPem);
    assert.equal(blocks.length, 2, 'leaf + CA chain');
    const leaf = new X509Certificate(blocks[0]);
    const caCert = new X509Certificate(ca.certPem);
    assert.equal(new X509Certificate(blocks[1]).fingerprint256, caCert.fingerprint256);
    assert.ok(leaf.verify(caCert.publicKey), 'signed by the CA');
    assert.ok(leaf.checkIssued(caCert));
    assert.equal(leaf.verify(new X509Certificate(other.certPem).publicKey), false, 'not signed by another CA');
    assert.equal(leaf.subjectAltName, 'DNS:web.example.com, DNS:api.example.com, DNS:*.apps.example.com');
    assert.equal(leaf.subject, 'CN=web.example.com');
    assert.equal(Date.parse(leaf.validFrom), notBefore.getTime());
    assert.equal(Date.parse(leaf.validTo), notAfter.getTime());
    assert.equal(leaf.ca, false);
    assert.equal(leaf.serialNumber.toLowerCase().replace(/^0+/, ''), out.serialNumber.replace(/^0+/, ''));
    const key = createPrivateKey(out.keyPem);
    assert.match(out.keyPem, /^-----BEGIN PRIVATE KEY-----\n/);
    assert.equal(key.asymmetricKeyType, 'ec');
    assert.equal(key.asymmetricKeyDetails?.namedCurve, 'prime256v1');
    assert.ok(leaf.checkPrivateKey(key));
    assert.ok(leaf.checkHost('web.example.com'));
    assert.ok(leaf.checkHost('x.apps.example.com'));
    assert.equal(leaf.checkHost('other.example.com'), undefined);
    assert.deepEqual(leaf.keyUsage, ['1.3.6.1.5.5.7.3.1'], 'serverAuth');
  });

  it('gives each certificate a new key and serial', async () => {
    const req = { hosts: ['a.test'], issuer: ca, notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) };
    const [a, b] = await Promise.all([issueCertificate(req), issueCertificate(req)]);
    assert.notEqual(a.serialNumber, b.serialNumber);
    assert.notEqual(a.keyPem, b.keyPem);
  });

  it('omits the CN when the first host is longer than 64 characters (SANs carry it)', async () => {
    const long = `${'a'.repeat(60)}.example.com`;
    const out = await issueCertificate({ hosts: [long], issuer: ca, notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
    const leaf = new X509Certificate(firstPem(out.certPem));
    assert.equal(leaf.subject ?? '', '');
    assert.equal(leaf.subjectAltName, `DNS:${long}`);
  });

  it('is trusted by openssl verify -CAfile', { skip: HAS_OPENSSL ? false : 'openssl missing' }, async () => {
    const out = await issueCertificate({ hosts: ['secure.test'], issuer: ca, notBefore: new Date(Date.now() - 60_000), notAfter: new Date(Date.now() + 3600_000) });
    const dir = mkdtempSync(join(tmpdir(), 'certs-test-'));
    try {
      writeFileSync(join(dir, 'ca.pem'), ca.certPem);
      writeFileSync(join(dir, 'leaf.pem'), firstPem(out.certPem));
      writeFileSync(join(dir, 'other.pem'), other.certPem);
      const ok = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'ca.pem'), '-purpose', 'sslserver', '-verify_hostname', 'secure.test', join(dir, 'leaf.pem')], { encoding: 'utf8' });
      assert.equal(ok.status, 0, ok.stdout + ok.stderr);
      const bad = spawnSync('openssl', ['verify', '-CAfile', join(dir, 'other.pem'), join(dir, 'leaf.pem')], { encoding: 'utf8' });
      assert.notEqual(bad.status, 0);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const rejects: { name: string; req: () => Parameters<typeof issueCertificate>[0]; err: RegExp }[] = [
    { name: 'no hosts', req: () => ({ hosts: [' '], issuer: ca, notBefore: new Date(0), notAfter: new Date(1000) }), err: /no hosts/ },
    { name: 'empty validity', req: () => ({ hosts: ['a'], issuer: ca, notBefore: new Date(1000), notAfter: new Date(1000) }), err: /notAfter/ },
    { name: 'key of another CA', req: () => ({ hosts: ['a'], issuer: { certPem: ca.certPem, keyPem: other.keyPem }, notBefore: new Date(0), notAfter: new Date(1000) }), err: /does not match/ },
    { name: 'garbage certificate', req: () => ({ hosts: ['a'], issuer: { certPem: 'nope', keyPem: ca.keyPem }, notBefore: new Date(0), notAfter: new Date(1000) }), err: /not a PEM certificate/ },
  ];
  for (const r of rejects) {
    it(`rejects: ${r.name}`, async () => {
      await assert.rejects(issueCertificate(r.req()), r.err);
    });
  }

  it('refuses a leaf certificate as issuer, and never puts key material in the message', async () => {
    const leaf = await issueCertificate({ hosts: ['a.test'], issuer: ca, notBefore: new Date(), notAfter: new Date(Date.now() + 60_000) });
    const problem = checkIssuer({ certPem: leaf.certPem, keyPem: leaf.keyPem });
    assert.match(problem ?? '', /not a CA certificate/);
    assert.equal(checkIssuer(ca), undefined);
    const garbled = checkIssuer({ certPem: ca.certPem, keyPem: ca.keyPem.slice(0, 80) });
    assert.match(garbled ?? '', /not a readable PEM private key/);
    assert.ok(!garbled?.includes(ca.keyPem.slice(40, 70)));
  });
});

describe('normalizeHosts', () => {
  const cases: [string[], string[]][] = [
    [['A.test', 'a.test', ' b.test '], ['a.test', 'b.test']],
    [['', 'x'], ['x']],
    [[], []],
  ];
  for (const [input, want] of cases) it(JSON.stringify(input), () => assert.deepEqual(normalizeHosts(input), want));
});
