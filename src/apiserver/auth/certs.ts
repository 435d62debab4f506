/**
 * Cluster PKI: a CA made on first start and kept in the data dir, a serving certificate for the
 * listen address signed by it, and an admin bearer token. ECDSA P-256 keeps generation in the
 * milliseconds (RSA-2048 would cost most of our sub-second start budget). Files are written
 * 0600; the token is never logged.
 */
import { createHash, createPrivateKey, generateKeyPairSync, randomBytes, webcrypto, X509Certificate, type KeyObject } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createCertificate, keyIdentifier, subjectNameOf } from './x509-lite.js';
type X509 = typeof import('@peculiar/x509');
let x509Mod: X509 | undefined;

/** @peculiar/x509 costs ~200 ms to load: only certificate issuers (ingress's cluster-issuer) need it; the cluster PKI is made by x509-lite.ts. */
export async function loadX509(): Promise<X509> {
  if (!x509Mod) {
    x509Mod = await import('@peculiar/x509');
    x509Mod.cryptoProvider.set(webcrypto as unknown as Crypto);
  }
  return x509Mod;
}

export interface ClusterPki {
  caCertPem: string;
  serverCertPem: string;
  serverKeyPem: string;
  adminToken: string;
}

/** A fresh P-256 key pair (node:crypto: no library to load). */
function newKeyPair(): { publicKey: KeyObject; privateKey: KeyObject } {
  return generateKeyPairSync('ec', { namedCurve: 'P-256' });
}

function keyPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

function serial(): Buffer {
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b;
}

function makeCa(): { certPem: string; key: KeyObject } {
  const keys = newKeyPair();
  const now = new Date(Date.now() - 60_000);
  const certPem = createCertificate({
    subject: { cn: 'kubelite-ca' },
    serial: serial(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 10 * 365 * 86400_000),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    ca: true,
    keyUsage: ['digitalSignature', 'keyCertSign', 'cRLSign'],
  });
  return { certPem, key: keys.privateKey };
}

function makeServing(ca: { certPem: string; key: KeyObject }, hosts: string[]): { certPem: string; keyPem: string } {
  const caCert = new X509Certificate(ca.certPem);
  const keys = newKeyPair();
  const now = new Date(Date.now() - 60_000);
  const certPem = createCertificate({
    subject: { cn: 'kube-apiserver' },
    issuer: subjectNameOf(ca.certPem),
    serial: serial(),
    notBefore: now,
    notAfter: new Date(now.getTime() + 365 * 86400_000),
    publicKey: keys.publicKey,
    signingKey: ca.key,
    keyUsage: ['digitalSignature', 'keyEncipherment'],
    serverAuth: true,
    altNames: hosts,
    authorityKeyId: keyIdentifier(caCert.publicKey),
  });
  return { certPem, keyPem: keyPem(keys.privateKey) };
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
  let caKey: KeyObject;
  if (existsSync(caCertPath) && existsSync(caKeyPath)) {
    caCertPem = readFileSync(caCertPath, 'utf8');
    caKey = createPrivateKey(readFileSync(caKeyPath, 'utf8'));
  } else {
    const ca = makeCa();
    caCertPem = ca.certPem;
    caKey = ca.key;
    writeSecret(caKeyPath, keyPem(caKey));
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
    const s = makeServing({ certPem: caCertPem, key: caKey }, hosts);
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
