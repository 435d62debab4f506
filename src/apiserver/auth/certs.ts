/**
 * Cluster PKI: a CA made on first start and kept in the data dir, a serving certificate for the
 * listen address signed by it, and an admin bearer token. ECDSA P-256 keeps generation in the
 * milliseconds (RSA-2048 would cost most of our sub-second start budget). Files are written
 * 0600; the token is never logged.
 */
import { webcrypto, randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
type X509 = typeof import('@peculiar/x509');
let x509Mod: X509 | undefined;

/** @peculiar/x509 costs ~200 ms to load; only a first start (or new hosts) and certificate issuers need it. */
export async function loadX509(): Promise<X509> {
  if (!x509Mod) {
    x509Mod = await import('@peculiar/x509');
    x509Mod.cryptoProvider.set(webcrypto as unknown as Crypto);
  }
  return x509Mod;
}

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

export interface ClusterPki {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminToken: string;
}

async function exportKeyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', key as webcrypto.CryptoKey));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
}

async function importKeyPem(pem: string): Promise<CryptoKey> {
  const b64 = pem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, '');
  return (await webcrypto.subtle.importKey('pkcs8', Buffer.from(b64, 'base64'), ALG, true, ['sign'])) as unknown as CryptoKey;
}

function serial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  return b.toString('hex');
}

async function makeCa(): Promise<{ cert: import('@peculiar/x509').X509Certificate; keys: CryptoKeyPair }> {
  const x509 = await loadX509();
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serial(),
    name: 'CN=kubelite-ca',
    notBefore: now,
    notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert, keys };
}

async function makeServing(
  ca: { certPem: string; key: CryptoKey },
  hosts: string[],
): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.certPem);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = new Date(Date.now() - 60_000);
  const names = hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: 'CN=kube-apiserver',
    issuer: caCert.subject,
    notBefore: now,
    notAfter: new Date(now.getTime() + 365 * 86400_000),
    signingAlgorithm: ALG,
    publicKey: keys.publicKey,
    signingKey: ca.key,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(names),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  return { certPem: cert.toString('pem') + '\n', keyPem: await exportKeyPem(keys.privateKey) };
}

function writeSecret(path: string, data: string): void {
  writeFileSync(path, data, { mode: 0o600 });
}

/**
 * Loads the PKI from `dir/pki`, creating what is missing. The serving certificate is re-issued
 * when the set of hosts changes (e.g. a different --listen address), the CA never is.
 */
export async function ensurePki(dir: string, opts: { hosts: string[] }): Promise<ClusterPki> {
  const pki = join(dir, 'pki');
  mkdirSync(pki, { recursive: true, mode: 0o700 });
  const caCertPath = join(pki, 'ca.crt');
  const caKeyPath = join(pki, 'ca.key');
  let caCertPem: string;
  let caKey: CryptoKey;
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    caCertPem = readFileSync(caCertPath, 'utf8');
    caKey = await importKeyPem(readFileSync(caKeyPath, 'utf8'));
  } else {
    const ca = await makeCa();
    caCertPem = ca.cert.toString('pem') + '\n';
    caKey = ca.keys.privateKey;
    writeSecret(caKeyPath, await exportKeyPem(caKey));
    writeFileSync(caCertPath, caCertPem);
  }
  const hosts = Array.from(new Set(['localhost', '127.0.0.1', '::1', 'kubernetes', 'kubernetes.default', 'kubernetes.default.svc', ...opts.hosts]));
  const hostsKey = createHash('sha256').update(hosts.sort().join(',')).digest('hex');
  const srvCert = join(pki, 'apiserver.crt');
  const srvKey = join(pki, 'apiserver.key');
  const srvHosts = join(pki, 'apiserver.hosts');
  let serverCertPem: string;
  let serverKeyPem: string;
  if (existsSync(srvCert) && existsSync(srvKey) && existsSync(srvHosts) && readFileSync(srvHosts, 'utf8') === hostsKey) {
    serverCertPem = readFileSync(srvCert, 'utf8');
    serverKeyPem = readFileSync(srvKey, 'utf8');
  } else {
    const s = await makeServing({ certPem: caCertPem, key: caKey }, hosts);
    serverCertPem = s.certPem;
    serverKeyPem = s.keyPem;
    writeFileSync(srvCert, serverCertPem);
    writeSecret(srvKey, serverKeyPem);
    writeFileSync(srvHosts, hostsKey);
  }
  const tokenPath = join(pki, 'admin.token');
  let adminToken: string;
  if (existsSync(tokenPath)) adminToken = readFileSync(tokenPath, 'utf8').trim();
  else {
    adminToken = randomBytes(32).toString('hex');
    writeSecret(tokenPath, adminToken + '\n');
  }
  return { caCertPem, serverCertPem, serverKeyPem, adminToken };
}

/** A kubeconfig for the admin user, embedding the CA. */
export function adminKubeconfig(opts: { server: string; caCertPem: string; token: string; name?: string }): string {
  const name = opts.name ?? 'kubelite';
  const ca = Buffer.from(opts.caCertPem).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    `- name: ${name}`,
    '  cluster:',
    `    server: ${opts.server}`,
    `    certificate-authority-data: ${ca}`,
    'users:',
    `- name: ${name}-admin`,
    '  user:',
    `    token: ${opts.token}`,
    'contexts:',
    `- name: ${name}`,
    '  context:',
    `    cluster: ${name}`,
    `    user: ${name}-admin`,
    '    namespace: default',
    `current-context: ${name}`,
    'preferences: {}',
    '',
  ].join('\n');
}
