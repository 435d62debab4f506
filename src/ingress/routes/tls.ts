/**
 * TLS Secrets → `TlsCertificate`: a `kubernetes.io/tls` Secret whose `tls.crt` and `tls.key`
 * decode to a PEM certificate and a PEM private key that belong together.
 *
 * Validation happens here (not in the data plane) so a broken Secret becomes one warning on the
 * Ingress and the host falls back to the default certificate, instead of a data plane failing to
 * load it. Parsing is cached per Secret object: informer-cached objects are immutable and replaced
 * on every change, so a WeakMap keyed by the object is an exact cache across computations.
 */
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isObject, type KObject } from '../../api/types.js';
import type { TlsCertificate } from '../types.js';

export type SecretResult = { ok: true; cert: TlsCertificate } | { ok: false; reason: string; message: string };

const cache = new WeakMap<KObject, SecretResult>();

/** Secrets by `namespace/name`. */
export function indexSecrets(secrets: KObject[]): Map<string, KObject> {
  const out = new Map<string, KObject>();
  for (const s of secrets) out.set(`${s.metadata.namespace ?? ''}/${s.metadata.name ?? ''}`, s);
  return out;
}

/** Loads `namespace/name` for use as a serving certificate. */
export function loadTlsSecret(secrets: Map<string, KObject>, ref: { namespace: string; name: string }): SecretResult {
  const key = `${ref.namespace}/${ref.name}`;
  const secret = secrets.get(key);
  if (!secret) {
    return { ok: false, reason: 'TLSSecretNotFound', message: `TLS secret ${key} not found; serving the default certificate` };
  }
  let result = cache.get(secret);
  if (!result) {
    result = parseSecret(key, secret);
    cache.set(secret, result);
  }
  return result;
}

function parseSecret(key: string, secret: KObject): SecretResult {
  const invalid = (why: string): SecretResult => ({
    ok: false,
    reason: 'InvalidTLSSecret',
    message: `TLS secret ${key} ${why}; serving the default certificate`,
  });
  if (secret.type !== 'kubernetes.io/tls') return invalid(`has type "${String(secret.type ?? 'Opaque')}", not kubernetes.io/tls`);
  const data = isObject(secret.data) ? secret.data : {};
  const crt = data['tls.crt'];
  const k = data['tls.key'];
  if (typeof crt !== 'string' || !crt) return invalid('has no tls.crt');
  if (typeof k !== 'string' || !k) return invalid('has no tls.key');
  const certPem = Buffer.from(crt, 'base64').toString('utf8');
  const keyPem = Buffer.from(k, 'base64').toString('utf8');
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch {
    return invalid('has a tls.crt that is not a PEM certificate');
  }
  try {
    const privateKey = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(privateKey)) return invalid("has a tls.key that does not match tls.crt's public key");
  } catch {
    return invalid('has a tls.key that is not a PEM private key');
  }
  return { ok: true, cert: { secret: key, certPem, keyPem } };
}
