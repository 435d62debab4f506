/**
 * A throwaway PKI for mutual-TLS etcd tests: one CA, an etcd serving certificate and a client
 * certificate, written as PEM files into a directory the caller owns (and removes).
 *
 * The server and client certificates carry only their own extended key usage (serverAuth /
 * clientAuth), so a test can tell that etcd really checks the client's certificate rather than
 * accepting any certificate the CA signed. ECDSA P-256, as in src/apiserver/auth/certs.ts,
 * keeps generation in milliseconds.
 */
import { randomBytes, webcrypto } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { isIP } from 'node:net';
import { join } from 'node:path';
import * as x509 from '@peculiar/x509';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** Paths of the PEM files written by `writeMtlsPki`. */
export interface MtlsPki {
  caFile: string;
  serverCertFile: string;
  serverKeyFile: string;
  clientCertFile: string;
  clientKeyFile: string;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] = (b[0] as number) & 0x7f;
  return b.toString('hex');
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

const newKeys = async (): Promise<CryptoKeyPair> =>
  (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;

/** A leaf certificate signed by the CA; `hosts` become SANs (IP or DNS by form). */
async function leaf(
  ca: { cert: x509.X509Certificate; key: CryptoKey },
  opts: { cn: string; usage: string; hosts?: string[] },
): Promise<{ certPem: string; keyPem: string }> {
  const keys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const extensions: x509.Extension[] = [
    new x509.BasicConstraintsExtension(false, undefined, true),
    new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
    new x509.ExtendedKeyUsageExtension([opts.usage]),
    await x509.AuthorityKeyIdentifierExtension.create(ca.cert),
  ];
  if (opts.hosts) {
    extensions.push(new x509.SubjectAlternativeNameExtension(
      opts.hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h })),
    ));
  }
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: `CN=${opts.cn}`,
    issuer: ca.cert.subject,
    notBefore,
    notAfter: new Date(notBefore.getTime() + 86400_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions,
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await keyPem(keys.privateKey) };
}

/**
 * Creates a CA, an etcd server certificate (SANs 127.0.0.1 and localhost, serverAuth) and a
 * client certificate (clientAuth), and writes them into `dir` (keys 0600).
 */
export async function writeMtlsPki(dir: string): Promise<MtlsPki> {
  const caKeys = await newKeys();
  const notBefore = new Date(Date.now() - 60_000);
  const caCert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=kubelite-test-etcd-ca',
    notBefore,
    notAfter: new Date(notBefore.getTime() + 86400_000),
    signingAlgorithm: ALG,
    keys: caKeys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(caKeys.publicKey),
    ],
  });
  const ca = { cert: caCert, key: caKeys.privateKey };
  const server = await leaf(ca, { cn: 'etcd-server', usage: x509.ExtendedKeyUsage.serverAuth, hosts: ['127.0.0.1', 'localhost'] });
  const client = await leaf(ca, { cn: 'kubelite-etcd-client', usage: x509.ExtendedKeyUsage.clientAuth });
  const pki: MtlsPki = {
    caFile: join(dir, 'ca.pem'),
    serverCertFile: join(dir, 'server.pem'),
    serverKeyFile: join(dir, 'server-key.pem'),
    clientCertFile: join(dir, 'client.pem'),
    clientKeyFile: join(dir, 'client-key.pem'),
  };
  writeFileSync(pki.caFile, caCert.toString('pem') + '\n');
  writeFileSync(pki.serverCertFile, server.certPem);
  writeFileSync(pki.serverKeyFile, server.keyPem, { mode: 0o600 });
  writeFileSync(pki.clientCertFile, client.certPem);
  writeFileSync(pki.clientKeyFile, client.keyPem, { mode: 0o600 });
  return pki;
}
