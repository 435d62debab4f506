/**
 * What the certificate controller wants, as pure functions (compute, then apply): which issuer
 * and certificates an Ingress asks for (its annotations and `spec.tls`), whether the Secret
 * holding a certificate must be (re-)issued and why, when the next renewal is due, and the Secret
 * to write. The controller (controller.ts) only reads objects, calls these and writes.
 *
 * Annotations on an Ingress (the first two are alternatives; `ca-secret` wins when both are set):
 * - `cert.kubelite.io/cluster-issuer: cluster-ca` (or cert-manager's `cert-manager.io/cluster-issuer`):
 *   sign with the cluster CA. `cluster-ca` is the only cluster issuer; an empty value means it.
 * - `cert.kubelite.io/ca-secret: <name>`: sign with the CA in that kubernetes.io/tls Secret of the
 *   Ingress's namespace (tls.crt = CA certificate, tls.key = its key).
 * - `cert.kubelite.io/duration: 2160h`: validity as a Go duration (default 90 days, as
 *   cert-manager); renewal happens after `renewFraction` (default 2/3) of it, which is
 *   cert-manager's default renewBefore of a third of the lifetime.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { isObject, type KObject } from '../../api/types.js';
import { firstPem, normalizeHosts, type IssuedCertificate } from './issue.js';

export const CLUSTER_ISSUER_ANNOTATION = 'cert.kubelite.io/cluster-issuer';
export const CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION = 'cert-manager.io/cluster-issuer';
export const CA_SECRET_ANNOTATION = 'cert.kubelite.io/ca-secret';
export const DURATION_ANNOTATION = 'cert.kubelite.io/duration';
/** The one cluster issuer: the API server's CA. */
export const CLUSTER_CA_ISSUER = 'cluster-ca';
export const DEFAULT_DURATION_MS = 90 * 24 * 3600_000;
export const DEFAULT_RENEW_FRACTION = 2 / 3;

/** Annotations written on issued Secrets (cert-manager's names, and ours). */
export const SECRET_ANNOTATIONS = {
  issuerName: 'cert-manager.io/issuer-name',
  issuerKind: 'cert-manager.io/issuer-kind',
  issuerGroup: 'cert-manager.io/issuer-group',
  altNames: 'cert-manager.io/alt-names',
  ipSans: 'cert-manager.io/ip-sans',
  commonName: 'cert-manager.io/common-name',
  certificateName: 'cert-manager.io/certificate-name',
  issuer: 'cert.kubelite.io/issuer',
  ingress: 'cert.kubelite.io/ingress',
  hosts: 'cert.kubelite.io/hosts',
  serial: 'cert.kubelite.io/serial',
  notBefore: 'cert.kubelite.io/not-before',
  notAfter: 'cert.kubelite.io/not-after',
  renewalTime: 'cert.kubelite.io/renewal-time',
} as const;

/** The issuer an Ingress asks for: the cluster CA, or a CA Secret in the Ingress's namespace. */
export type IssuerRef = { kind: 'ClusterIssuer'; name: string } | { kind: 'CASecret'; name: string };

/** Stable identity of an issuer, recorded on the Secret to notice an issuer change. */
export function issuerId(ref: IssuerRef): string {
  return `${ref.kind}/${ref.name}`;
}

export interface CertRequest {
  secretName: string;
  /** Normalized hosts; the first is the CN. */
  hosts: string[];
}

export interface IngressPlan {
  issuer: IssuerRef;
  durationMs: number;
  certs: CertRequest[];
  /** Problems that stop issuing for this Ingress (bad annotation). */
  error?: string;
  /** Skipped `spec.tls` entries, reported as warnings. */
  skipped: string[];
}

function annotations(obj: KObject): Record<string, string> {
  const a = obj.metadata.annotations;
  return isObject(a) ? (a as Record<string, string>) : {};
}

/** The issuer an Ingress asks for, or undefined when it asks for no certificates. */
export function issuerRefOf(ingress: KObject): IssuerRef | undefined {
  const a = annotations(ingress);
  const secret = a[CA_SECRET_ANNOTATION];
  if (typeof secret === 'string' && secret.trim()) return { kind: 'CASecret', name: secret.trim() };
  const cluster = a[CLUSTER_ISSUER_ANNOTATION] ?? a[CERT_MANAGER_CLUSTER_ISSUER_ANNOTATION];
  if (typeof cluster === 'string') return { kind: 'ClusterIssuer', name: cluster.trim() || CLUSTER_CA_ISSUER };
  return undefined;
}

const UNIT_MS: Record<string, number> = { ns: 1e-6, us: 1e-3, 'µs': 1e-3, ms: 1, s: 1000, m: 60_000, h: 3600_000 };

/** Parses a Go duration ("90s", "1h30m", "2160h"); undefined when malformed or not positive. */
export function parseDuration(s: string): number | undefined {
  const v = s.trim();
  if (!/^(\d+(\.\d+)?(ns|us|µs|ms|s|m|h))+$/.test(v)) return undefined;
  let total = 0;
  for (const m of v.matchAll(/(\d+(?:\.\d+)?)(ns|us|µs|ms|s|m|h)/g)) total += Number(m[1]) * UNIT_MS[m[2]];
  return total > 0 ? Math.round(total) : undefined;
}

/**
 * The certificates an annotated Ingress asks for: one per distinct `spec.tls[].secretName`
 * (entries naming the same Secret merge their hosts, in order). Entries without a secretName
 * or without hosts are skipped and reported. Undefined when the Ingress is not annotated.
 */
export function planIngress(ingress: KObject): IngressPlan | undefined {
  const issuer = issuerRefOf(ingress);
  if (!issuer) return undefined;
  const plan: IngressPlan = { issuer, durationMs: DEFAULT_DURATION_MS, certs: [], skipped: [] };
  const d = annotations(ingress)[DURATION_ANNOTATION];
  if (typeof d === 'string' && d.trim()) {
    const ms = parseDuration(d);
    if (ms === undefined || ms < 1000) plan.error = `invalid ${DURATION_ANNOTATION} "${d}": want a Go duration of at least 1s, e.g. "2160h"`;
    else plan.durationMs = ms;
  }
  const spec = isObject(ingress.spec) ? ingress.spec : {};
  const tls = Array.isArray(spec.tls) ? spec.tls : [];
  const bySecret = new Map<string, CertRequest>();
  tls.forEach((entry: unknown, i: number) => {
    const e = isObject(entry) ? entry : {};
    const secretName = typeof e.secretName === 'string' ? e.secretName : '';
    const hosts = normalizeHosts(Array.isArray(e.hosts) ? e.hosts.filter((h): h is string => typeof h === 'string') : []);
    if (!secretName) return void plan.skipped.push(`spec.tls[${i}] has no secretName; no certificate issued for it`);
    if (!hosts.length) return void plan.skipped.push(`spec.tls[${i}] (secret ${secretName}) has no hosts; no certificate issued for it`);
    const prior = bySecret.get(secretName);
    if (prior) prior.hosts = normalizeHosts([...prior.hosts, ...hosts]);
    else bySecret.set(secretName, { secretName, hosts });
  });
  plan.certs = [...bySecret.values()];
  return plan;
}

/** What a Secret must hold. */
export interface WantCert {
  hosts: string[];
  issuer: { id: string; certPem: string };
  durationMs: number;
  renewFraction?: number;
}

export type RenewalKind = 'missing' | 'invalid' | 'issuer' | 'hosts' | 'duration' | 'due';

export interface RenewalDecision {
  kind: RenewalKind;
  reason: string;
}

/** A Secret's `data[key]` decoded, or undefined. */
export function secretData(secret: KObject, key: string): string | undefined {
  const data = isObject(secret.data) ? secret.data : {};
  const v = data[key];
  return typeof v === 'string' && v ? Buffer.from(v, 'base64').toString('utf8') : undefined;
}

/** The instant renewal is due: notBefore + fraction of the lifetime. */
export function renewalTime(notBefore: number, notAfter: number, fraction = DEFAULT_RENEW_FRACTION): number {
  return notBefore + Math.floor((notAfter - notBefore) * fraction);
}

function sameSet(a: string[], b: string[]): boolean {
  const sa = new Set(a);
  return sa.size === new Set(b).size && b.every((x) => sa.has(x));
}

/** The leaf's DNS and IP SANs, lowercased (node prints "DNS:a, IP Address:1.2.3.4"). */
export function sansOf(cert: X509Certificate): string[] {
  return (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .map((s) => /^(?:DNS|IP Address):(.*)$/.exec(s.trim())?.[1]?.toLowerCase())
    .filter((s): s is string => !!s);
}

/**
 * Whether the Secret must be (re-)issued, and why (cert-manager's reasons, in its order: the
 * Secret, its contents, the issuer, the requested names and duration, then the renewal time).
 */
export function checkRenewal(secret: KObject | undefined, want: WantCert, now: number): RenewalDecision | undefined {
  if (!secret) return { kind: 'missing', reason: 'the Secret does not exist' };
  if (secret.type !== 'kubernetes.io/tls') return { kind: 'invalid', reason: `the Secret has type ${String(secret.type ?? 'Opaque')}, not kubernetes.io/tls` };
  const crt = secretData(secret, 'tls.crt');
  const key = secretData(secret, 'tls.key');
  if (!crt || !key) return { kind: 'invalid', reason: `the Secret has no ${crt ? 'tls.key' : 'tls.crt'}` };
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(firstPem(crt));
  } catch {
    return { kind: 'invalid', reason: 'tls.crt does not hold a PEM certificate' };
  }
  try {
    const k = createPrivateKey(key);
    if (k.asymmetricKeyType !== 'ec' || k.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return { kind: 'invalid', reason: 'tls.key is not an ECDSA P-256 key' };
    if (!cert.checkPrivateKey(k)) return { kind: 'invalid', reason: "tls.key does not match the certificate's public key" };
  } catch {
    return { kind: 'invalid', reason: 'tls.key does not hold a PEM private key' };
  }
  const recorded = annotations(secret)[SECRET_ANNOTATIONS.issuer];
  if (recorded !== want.issuer.id) return { kind: 'issuer', reason: `the issuer changed (${recorded ?? 'none'} -> ${want.issuer.id})` };
  let signed = false;
  try {
    signed = cert.verify(new X509Certificate(firstPem(want.issuer.certPem)).publicKey);
  } catch {
    signed = false;
  }
  if (!signed) return { kind: 'issuer', reason: `the certificate is not signed by issuer ${want.issuer.id}` };
  const have = sansOf(cert);
  const hosts = normalizeHosts(want.hosts);
  if (!sameSet(have, hosts)) return { kind: 'hosts', reason: `the hosts changed ([${have.join(', ')}] -> [${hosts.join(', ')}])` };
  const notBefore = Date.parse(cert.validFrom);
  const notAfter = Date.parse(cert.validTo);
  if (Math.abs(notAfter - notBefore - want.durationMs) > 1000) return { kind: 'duration', reason: `the duration changed (${(notAfter - notBefore) / 1000}s -> ${want.durationMs / 1000}s)` };
  if (now >= notAfter) return { kind: 'due', reason: `the certificate expired at ${new Date(notAfter).toISOString()}` };
  const due = renewalTime(notBefore, notAfter, want.renewFraction);
  if (now >= due) return { kind: 'due', reason: `the certificate is due for renewal (renewal time ${new Date(due).toISOString()}, expires ${new Date(notAfter).toISOString()})` };
  return undefined;
}

/** The reason the Secret must be (re-)issued, or undefined when it holds a good certificate. */
export function needsRenewal(secret: KObject | undefined, want: WantCert, now: number): string | undefined {
  return checkRenewal(secret, want, now)?.reason;
}

/** When the certificate in `secret` is due for renewal (ms), or undefined if it has none. */
export function secretRenewalTime(secret: KObject, fraction = DEFAULT_RENEW_FRACTION): number | undefined {
  const crt = secretData(secret, 'tls.crt');
  if (!crt) return undefined;
  try {
    const c = new X509Certificate(firstPem(crt));
    return renewalTime(Date.parse(c.validFrom), Date.parse(c.validTo), fraction);
  } catch {
    return undefined;
  }
}

export interface SecretInput {
  namespace: string;
  name: string;
  ingress: string;
  issuer: IssuerRef;
  issuerCertPem: string;
  hosts: string[];
  issued: IssuedCertificate;
  notBefore: Date;
  notAfter: Date;
  renewAt: Date;
}

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/**
 * The Secret to write: `existing` (if any) with our data keys and annotations replaced and
 * everything else kept (other keys, labels, user annotations). No ownerReference on purpose:
 * deleting the Ingress keeps the certificate (cert-manager's Secrets outlive their Certificate
 * by default too), so re-creating the Ingress does not re-issue.
 */
export function buildSecret(existing: KObject | undefined, input: SecretInput): KObject {
  const dns = input.hosts.filter((h) => !isIP(h));
  const ips = input.hosts.filter((h) => isIP(h));
  const ours: Record<string, string> = {
    [SECRET_ANNOTATIONS.issuerName]: input.issuer.name,
    [SECRET_ANNOTATIONS.issuerKind]: input.issuer.kind,
    [SECRET_ANNOTATIONS.issuerGroup]: 'cert.kubelite.io',
    [SECRET_ANNOTATIONS.altNames]: dns.join(','),
    [SECRET_ANNOTATIONS.ipSans]: ips.join(','),
    [SECRET_ANNOTATIONS.commonName]: input.hosts[0].length <= 64 ? input.hosts[0] : '',
    [SECRET_ANNOTATIONS.certificateName]: input.name,
    [SECRET_ANNOTATIONS.issuer]: issuerId(input.issuer),
    [SECRET_ANNOTATIONS.ingress]: input.ingress,
    [SECRET_ANNOTATIONS.hosts]: input.hosts.join(','),
    [SECRET_ANNOTATIONS.serial]: input.issued.serialNumber,
    [SECRET_ANNOTATIONS.notBefore]: input.notBefore.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [SECRET_ANNOTATIONS.notAfter]: input.notAfter.toISOString().replace(/\.\d{3}Z$/, 'Z'),
    [SECRET_ANNOTATIONS.renewalTime]: input.renewAt.toISOString().replace(/\.\d{3}Z$/, 'Z'),
  };
  const meta = existing ? { ...existing.metadata } : { name: input.name, namespace: input.namespace };
  const prevData = existing && isObject(existing.data) ? existing.data : {};
  return {
    ...(existing ?? {}),
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { ...meta, annotations: { ...(existing ? annotations(existing) : {}), ...ours } },
    type: 'kubernetes.io/tls',
    data: {
      ...prevData,
      'tls.crt': b64(input.issued.certPem),
      'tls.key': b64(input.issued.keyPem),
      'ca.crt': b64(firstPem(input.issuerCertPem)),
    },
  };
}

/** Loads a CA from a kubernetes.io/tls Secret, or says why it cannot be used. */
export function caFromSecret(secret: KObject | undefined, name: string): { certPem: string; keyPem: string } | { error: string } {
  if (!secret) return { error: `CA secret "${name}" not found` };
  const certPem = secretData(secret, 'tls.crt');
  const keyPem = secretData(secret, 'tls.key');
  if (!certPem || !keyPem) return { error: `CA secret "${name}" has no ${certPem ? 'tls.key' : 'tls.crt'}` };
  return { certPem, keyPem };
}
