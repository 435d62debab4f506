/**
 * The few X.509 certificates kubelite makes itself (the cluster CA, the API server's serving
 * certificate, ingress's default certificate), DER-encoded by hand and signed with node:crypto.
 *
 * Why: @peculiar/x509 takes ~200 ms to load, which was a fifth of a first `kubelite up`; these
 * certificates need only a fixed, small part of the format. Contract: ECDSA P-256 keys and
 * ecdsa-with-SHA256 signatures, X.509 v3, DER (minimal lengths and integers, DEFAULT values left
 * out), so strict parsers (Go's crypto/x509, which kubectl uses; OpenSSL, which Node uses) accept
 * them. Tests parse every certificate with node:crypto's X509Certificate and verify signatures
 * and chains; the kubectl tests connect with them.
 */
import { createHash, sign, type KeyObject } from 'node:crypto';
import { isIP } from 'node:net';

function len(n: number): Buffer {
  if (n < 0x80) return Buffer.from([n]);
  const bytes: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff);
  return Buffer.from([0x80 | bytes.length, ...bytes]);
}

function tlv(tag: number, ...parts: Buffer[]): Buffer {
  const body = Buffer.concat(parts);
  return Buffer.concat([Buffer.from([tag]), len(body.length), body]);
}

const seq = (...parts: Buffer[]): Buffer => tlv(0x30, ...parts);

/** A non-negative INTEGER from big-endian bytes (leading zeros dropped, a 0 added when the top bit is set). */
function uint(bytes: Buffer): Buffer {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b.length === 0) b = Buffer.from([0]);
  if (b[0]! & 0x80) b = Buffer.concat([Buffer.from([0]), b]);
  return tlv(0x02, b);
}

function oid(dotted: string): Buffer {
  const [a, b, ...rest] = dotted.split('.').map(Number);
  const out = [40 * a! + b!];
  for (const n of rest) {
    const chunk: number[] = [n & 0x7f];
    for (let v = Math.floor(n / 128); v > 0; v = Math.floor(v / 128)) chunk.unshift(0x80 | (v & 0x7f));
    out.push(...chunk);
  }
  return tlv(0x06, Buffer.from(out));
}

const bool = (): Buffer => Buffer.from([0x01, 0x01, 0xff]);
const octets = (b: Buffer): Buffer => tlv(0x04, b);
const bits = (b: Buffer, unused = 0): Buffer => tlv(0x03, Buffer.from([unused]), b);

/** UTCTime through 2049, GeneralizedTime after (RFC 5280 4.1.2.5), to the second, in UTC. */
function time(d: Date): Buffer {
  const iso = d.toISOString(); // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-:T]/g, '');
  return d.getUTCFullYear() < 2050 ? tlv(0x17, Buffer.from(`${digits.slice(2)}Z`, 'ascii')) : tlv(0x18, Buffer.from(`${digits}Z`, 'ascii'));
}

export interface DistinguishedName {
  cn: string;
  o?: string;
}

/** Name: O then CN, each in its own RDN, as UTF8String. */
function name(dn: DistinguishedName): Buffer {
  const rdn = (type: string, value: string): Buffer => tlv(0x31, seq(oid(type), tlv(0x0c, Buffer.from(value, 'utf8'))));
  return seq(...(dn.o !== undefined ? [rdn('2.5.4.10', dn.o)] : []), rdn('2.5.4.3', dn.cn));
}

function extension(id: string, critical: boolean, value: Buffer): Buffer {
  return seq(oid(id), ...(critical ? [bool()] : []), octets(value));
}

/** KeyUsage bits (RFC 5280 4.2.1.3), bit 0 first. */
const KEY_USAGE_BITS = { digitalSignature: 0, keyEncipherment: 2, keyCertSign: 5, cRLSign: 6 } as const;
export type KeyUsage = keyof typeof KEY_USAGE_BITS;

/** A named-bit BIT STRING in DER: trailing zero bits dropped, their count as the unused bits. */
function keyUsage(usages: readonly KeyUsage[]): Buffer {
  const set = usages.map((u) => KEY_USAGE_BITS[u]);
  const last = Math.max(...set);
  const bytes = Buffer.alloc(Math.floor(last / 8) + 1);
  for (const bit of set) bytes[bit >> 3]! |= 0x80 >> (bit & 7);
  return bits(bytes, 7 - (last & 7));
}

function ipBytes(ip: string): Buffer {
  if (isIP(ip) === 4) return Buffer.from(ip.split('.').map(Number));
  // IPv6: expand `::` and write 8 groups.
  const [head, tail] = ip.includes('::') ? ip.split('::') : [ip, undefined];
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  const out = Buffer.alloc(16);
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** The key identifier of a public key: SHA-1 of its subjectPublicKey bits (RFC 5280 4.2.1.2, method 1). */
export function keyIdentifier(publicKey: KeyObject): Buffer {
  const spki = publicKey.export({ type: 'spki', format: 'der' });
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, BIT STRING }: the key bits are the last element.
  // For P-256 the BIT STRING is the final 66 bytes: tag, length 0x42, unused-bits 0, then 65 key bytes.
  return createHash('sha1').update(spki.subarray(spki.length - 65)).digest();
}

export interface CertificateSpec {
  subject: DistinguishedName;
  /** The issuer's Name exactly as in its certificate (subjectNameOf); default: the subject (self-signed). */
  issuer?: Buffer;
  serial: Buffer;
  notBefore: Date;
  notAfter: Date;
  publicKey: KeyObject;
  /** The issuer's private key (the subject's own for a self-signed certificate). */
  signingKey: KeyObject;
  /** A CA certificate: basicConstraints cA, and a subject key identifier. */
  ca?: boolean;
  keyUsage: readonly KeyUsage[];
  /** extendedKeyUsage serverAuth. */
  serverAuth?: boolean;
  /** subjectAltName entries: DNS names and IP addresses (told apart by their form). */
  altNames?: readonly string[];
  /** authorityKeyIdentifier (the issuer's key identifier). */
  authorityKeyId?: Buffer;
}

const ECDSA_SHA256 = seq(oid('1.2.840.10045.4.3.2'));

/** One TLV at `at`: where its contents start and end. */
function readTlv(der: Buffer, at: number): { start: number; end: number } {
  let n = der[at + 1]!;
  let start = at + 2;
  if (n & 0x80) {
    const k = n & 0x7f;
    n = 0;
    for (let i = 0; i < k; i++) n = n * 256 + der[at + 2 + i]!;
    start += k;
  }
  if (start + n > der.length) throw new Error('truncated DER');
  return { start, end: start + n };
}

/**
 * The subject Name of a PEM certificate, byte for byte: a child's issuer must equal it exactly
 * (Go compares the raw bytes), whatever string types the parent's maker chose.
 */
export function subjectNameOf(certPem: string): Buffer {
  const der = Buffer.from(certPem.replace(/-----[^-]+-----/g, '').replace(/\s+/g, ''), 'base64');
  const tbs = readTlv(der, readTlv(der, 0).start); // Certificate → TBSCertificate
  let at = tbs.start;
  // version [0] (optional), serialNumber, signature, issuer, validity, then subject
  if (der[at] === 0xa0) at = readTlv(der, at).end;
  for (let i = 0; i < 4; i++) at = readTlv(der, at).end;
  return der.subarray(at, readTlv(der, at).end);
}

/** A PEM certificate for `spec`, signed by spec.signingKey (ECDSA P-256, SHA-256). */
export function createCertificate(spec: CertificateSpec): string {
  const exts: Buffer[] = [
    extension('2.5.29.19', true, spec.ca ? seq(bool()) : seq()),
    extension('2.5.29.15', true, keyUsage(spec.keyUsage)),
  ];
  if (spec.serverAuth) exts.push(extension('2.5.29.37', false, seq(oid('1.3.6.1.5.5.7.3.1'))));
  if (spec.altNames?.length) {
    exts.push(extension('2.5.29.17', false, seq(...spec.altNames.map((n) => (isIP(n) ? tlv(0x87, ipBytes(n)) : tlv(0x82, Buffer.from(n, 'ascii')))))));
  }
  if (spec.ca) exts.push(extension('2.5.29.14', false, octets(keyIdentifier(spec.publicKey))));
  if (spec.authorityKeyId) exts.push(extension('2.5.29.35', false, seq(tlv(0x80, spec.authorityKeyId))));
  const tbs = seq(
    tlv(0xa0, uint(Buffer.from([2]))), // v3
    uint(spec.serial),
    ECDSA_SHA256,
    spec.issuer ?? name(spec.subject),
    seq(time(spec.notBefore), time(spec.notAfter)),
    name(spec.subject),
    spec.publicKey.export({ type: 'spki', format: 'der' }),
    tlv(0xa3, seq(...exts)),
  );
  const signature = sign('sha256', tbs, { key: spec.signingKey, dsaEncoding: 'der' });
  const der = seq(tbs, ECDSA_SHA256, bits(signature));
  return `-----BEGIN CERTIFICATE-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
}
