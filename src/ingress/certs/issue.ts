/**
 * Certificate issuing for Ingress TLS hosts: a CA (cert + PKCS#8 key, PEM) signs a fresh ECDSA
 * P-256 leaf for exactly the requested hosts. This is cert-manager's CA issuer in miniature: no
 * ACME, no CertificateRequest objects; the signer is a pure async function of its inputs (plus
 * fresh randomness for the key and serial), so it is tested without a cluster.
 *
 * The cluster CA is the API server's own (`DATA_DIR/pki/ca.crt` + `ca.key`, made by
 * src/apiserver/auth/certs.ts): whoever trusts the cluster (`kubectl`'s kubeconfig CA) can trust
 * Ingress certificates too. Key material is never logged or put into error messages.
 */
import { webcrypto, randomBytes, createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { isIP } from 'node:net';
import { loadX509 } from '../../apiserver/auth/certs.js';

const EC_P256 = { name: 'ECDSA', namedCurve: 'P-256' } as const;
const SIGN_SHA256 = { name: 'ECDSA', hash: 'SHA-256' } as const;

/** A CA able to sign: its certificate (PEM, may carry its own chain after it) and PKCS#8 key. */
export interface CertIssuer {
  certPem: string;
  keyPem: string;
}

export interface IssueRequest {
  /** DNS names (or IPs) for the SANs, in order; the first is the CN (when it fits in 64 chars). */
  hosts: string[];
  issuer: CertIssuer;
  notBefore: Date;
  notAfter: Date;
}

export interface IssuedCertificate {
  /** The leaf followed by the issuer's certificate (chain), PEM. */
  certPem: string;
  /** The leaf's private key, PKCS#8 PEM. */
  keyPem: string;
  /** Hex serial number of the leaf. */
  serialNumber: string;
}

/** The issuer's own certificate (the first PEM block of its cert). */
export function firstPem(pem: string): string {
  const m = /-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/.exec(pem);
  return m ? m[0] + '\n' : pem;
}

function pkcs8Pem(der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN PRIVATE KEY-----\n${b64}\n-----END PRIVATE KEY-----\n`;
}

/** A positive 128-bit serial, as RFC 5280 asks (≤ 20 octets, not negative). */
function newSerial(): string {
  const b = randomBytes(16);
  b[0] &= 0x7f;
  if (b[0] === 0) b[0] = 1;
  return b.toString('hex');
}

/**
 * Reads an issuer's signing key. Node parses any PEM key (PKCS#8, SEC1 "EC PRIVATE KEY", RSA);
 * only ECDSA P-256 CAs are supported here (the cluster CA is one), anything else is rejected
 * with a message that names the problem but not the key.
 */
async function importSigningKey(keyPem: string): Promise<CryptoKey> {
  let der: Buffer;
  try {
    const key = createPrivateKey(keyPem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
      throw new Error(`issuer key is ${key.asymmetricKeyType ?? 'unknown'}${key.asymmetricKeyDetails?.namedCurve ? ` (${key.asymmetricKeyDetails.namedCurve})` : ''}, only ECDSA P-256 CAs are supported`);
    }
    der = key.export({ format: 'der', type: 'pkcs8' });
  } catch (err) {
    if (err instanceof Error && err.message.startsWith('issuer key is')) throw err;
    throw new Error('issuer key is not a readable PEM private key');
  }
  return (await webcrypto.subtle.importKey('pkcs8', der, EC_P256, false, ['sign'])) as unknown as CryptoKey;
}

/**
 * Checks that `issuer` can sign: a parsable CA certificate (basicConstraints CA:TRUE) whose
 * public key matches the private key. Returns a reason when it cannot, undefined when it can.
 */
export function checkIssuer(issuer: CertIssuer): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(firstPem(issuer.certPem));
  } catch {
    return 'issuer certificate is not a PEM certificate';
  }
  if (!cert.ca) return 'issuer certificate is not a CA certificate (basicConstraints CA:TRUE missing)';
  try {
    if (!cert.checkPrivateKey(createPrivateKey(issuer.keyPem))) return "issuer key does not match the issuer certificate's public key";
  } catch {
    return 'issuer key is not a readable PEM private key';
  }
  return undefined;
}

/**
 * Signs a new leaf certificate for `hosts` (serverAuth, digitalSignature) with a new ECDSA P-256
 * key. Contract: SANs are exactly `hosts` (deduplicated, lowercased; IP literals as IP SANs),
 * validity exactly [notBefore, notAfter] (second precision), issuer = the CA's subject. Throws
 * for an empty host list or an unusable issuer.
 */
export async function issueCertificate(req: IssueRequest): Promise<IssuedCertificate> {
  const hosts = normalizeHosts(req.hosts);
  if (!hosts.length) throw new Error('no hosts to issue a certificate for');
  if (!(req.notAfter.getTime() > req.notBefore.getTime())) throw new Error('notAfter must be after notBefore');
  const problem = checkIssuer(req.issuer);
  if (problem) throw new Error(problem);
  const x509 = await loadX509();
  const caPem = firstPem(req.issuer.certPem);
  const caCert = new x509.X509Certificate(caPem);
  const signingKey = await importSigningKey(req.issuer.keyPem);
  const keys = (await webcrypto.subtle.generateKey(EC_P256, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const names = hosts.map((h) => (isIP(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h }));
  const serialNumber = newSerial();
  const cn = hosts[0].length <= 64 ? `CN=${hosts[0]}` : '';
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber,
    subject: cn,
    issuer: caCert.subject,
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    signingAlgorithm: SIGN_SHA256,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      // RFC 5280: with an empty subject the SAN extension must be critical.
      new x509.SubjectAlternativeNameExtension(names, cn === ''),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
    ],
  });
  const chain = req.issuer.certPem.endsWith('\n') ? req.issuer.certPem : req.issuer.certPem + '\n';
  return {
    certPem: cert.toString('pem') + '\n' + chain,
    keyPem: pkcs8Pem(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey)),
    serialNumber,
  };
}

/** Lowercased, without duplicates, first occurrence order kept (the first is the CN). */
export function normalizeHosts(hosts: string[]): string[] {
  const out: string[] = [];
  for (const h of hosts) {
    const v = h.trim().toLowerCase();
    if (v && !out.includes(v)) out.push(v);
  }
  return out;
}

/** The cluster CA as the API server keeps it (`<dataDir>/pki/ca.crt`, `ca.key`). */
export function readClusterCA(dataDir: string): CertIssuer {
  return {
    certPem: readFileSync(join(dataDir, 'pki', 'ca.crt'), 'utf8'),
    keyPem: readFileSync(join(dataDir, 'pki', 'ca.key'), 'utf8'),
  };
}
