import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { X509Certificate } from 'node:crypto';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DEFAULT_CERT_FILE, DEFAULT_KEY_FILE, defaultCertificate } from './index.js';

describe('defaultCertificate: the ingress default certificate, kept across restarts', () => {
  let dir: string;
  before(() => (dir = mkdtempSync(join(tmpdir(), 'kubelite-defcert-'))));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is made and written (key 0600) when missing, then reused as is', async () => {
    const first = await defaultCertificate(dir);
    assert.equal(readFileSync(join(dir, DEFAULT_CERT_FILE), 'utf8'), first.certPem);
    assert.equal(statSync(join(dir, DEFAULT_KEY_FILE)).mode & 0o777, 0o600);
    assert.match(new X509Certificate(first.certPem).subject, /Kubernetes Ingress Controller Fake Certificate/);
    assert.deepEqual(await defaultCertificate(dir), first);
  });

  const remade: [string, (d: string) => void, () => number][] = [
    ['less than 30 days left', () => undefined, () => Date.now() + 340 * 86400_000],
    ['a corrupt certificate file', (d) => writeFileSync(join(d, DEFAULT_CERT_FILE), 'garbage'), Date.now],
    ['a key that does not match', (d) => writeFileSync(join(d, DEFAULT_KEY_FILE), readFileSync(new URL('./nginx/testdata/foo.key', import.meta.url))), Date.now],
    ['a missing key file', (d) => rmSync(join(d, DEFAULT_KEY_FILE)), Date.now],
  ];
  for (const [name, spoil, now] of remade) {
    it(`is made anew for ${name}`, async () => {
      const before = await defaultCertificate(dir);
      spoil(dir);
      const after = await defaultCertificate(dir, now);
      assert.notEqual(after.certPem, before.certPem);
      assert.deepEqual(await defaultCertificate(dir), after, 'the new one is kept');
    });
  }

  it('without a directory, is made in memory each time', async () => {
    assert.notEqual((await defaultCertificate()).certPem, (await defaultCertificate()).certPem);
  });
});
