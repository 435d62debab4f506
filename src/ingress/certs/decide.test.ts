import { describe, it, before } from 'node:test';
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import type { KObject } from '../../api/types.js';
import {
  CLUSTER_CA_ISSUER,
  DEFAULT_DURATION_MS,
  SECRET_ANNOTATIONS,
  buildSecret,
  caFromSecret,
  checkRenewal,
  issuerId,
  needsRenewal,
  parseDuration,
  planIngress,
  renewalTime,
  secretData,
  secretRenewalTime,
  type IssuerRef,
  type WantCert,
} from './decide.js';
import { issueCertificate, type CertIssuer, type IssuedCertificate } from './issue.js';
import { makeTestCA } from './testca.js';

function ingress(ann: Record<string, string> | undefined, tls: unknown[]): KObject {
  return { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'web', namespace: 'default', annotations: ann }, spec: { tls } };
}

describe('parseDuration', () => {
  const cases: [string, number | undefined][] = [
    ['90s', 90_000],
    ['1h30m', 5400_000],
    ['2160h', DEFAULT_DURATION_MS],
    ['1.5s', 1500],
    ['500ms', 500],
    ['0s', undefined],
    ['10', undefined],
    ['-5s', undefined],
    ['5d', undefined],
    ['', undefined],
  ];
  for (const [s, want] of cases) it(JSON.stringify(s), () => assert.equal(parseDuration(s), want));
});

describe('planIngress', () => {
  const cases: { name: string; ing: KObject; want: unknown }[] = [
    { name: 'not annotated', ing: ingress(undefined, [{ hosts: ['a'], secretName: 's' }]), want: undefined },
    {
      name: 'cluster issuer, default duration',
      ing: ingress({ 'cert.kubelite.io/cluster-issuer': 'cluster-ca' }, [{ hosts: ['A.test', 'b.test'], secretName: 's' }]),
      want: { issuer: { kind: 'ClusterIssuer', name: 'cluster-ca' }, durationMs: DEFAULT_DURATION_MS, certs: [{ secretName: 's', hosts: ['a.test', 'b.test'] }], skipped: [] },
    },
    {
      name: 'cert-manager alias, empty value means cluster-ca',
      ing: ingress({ 'cert-manager.io/cluster-issuer': '' }, [{ hosts: ['a'], secretName: 's' }]),
      want: { issuer: { kind: 'ClusterIssuer', name: CLUSTER_CA_ISSUER }, durationMs: DEFAULT_DURATION_MS, certs: [{ secretName: 's', hosts: ['a'] }], skipped: [] },
    },
    {
      name: 'ca-secret wins; entries for one secret merge; bad entries skipped',
      ing: ingress({ 'cert.kubelite.io/cluster-issuer': 'cluster-ca', 'cert.kubelite.io/ca-secret': 'my-ca', 'cert.kubelite.io/duration': '90s' }, [
        { hosts: ['a'], secretName: 's' },
        { hosts: ['b'] },
        { hosts: ['b', 'a'], secretName: 's' },
        { secretName: 't' },
        { hosts: ['c'], secretName: 'u' },
      ]),
      want: {
        issuer: { kind: 'CASecret', name: 'my-ca' },
        durationMs: 90_000,
        certs: [
          { secretName: 's', hosts: ['a', 'b'] },
          { secretName: 'u', hosts: ['c'] },
        ],
        skipped: ['spec.tls[1] has no secretName; no certificate issued for it', 'spec.tls[3] (secret t) has no hosts; no certificate issued for it'],
      },
    },
    {
      name: 'bad duration is an error',
      ing: ingress({ 'cert.kubelite.io/cluster-issuer': 'cluster-ca', 'cert.kubelite.io/duration': '3 days' }, []),
      want: {
        issuer: { kind: 'ClusterIssuer', name: 'cluster-ca' },
        durationMs: DEFAULT_DURATION_MS,
        certs: [],
        skipped: [],
        error: 'invalid cert.kubelite.io/duration "3 days": want a Go duration of at least 1s, e.g. "2160h"',
      },
    },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(planIngress(c.ing), c.want));
});

describe('renewalTime', () => {
  it('is 2/3 of the lifetime by default', () => {
    assert.equal(renewalTime(0, 90_000), 60_000);
    assert.equal(renewalTime(1000, 2000, 0.5), 1500);
  });
});

describe('needsRenewal', () => {
  let ca: CertIssuer;
  let other: CertIssuer;
  let issued: IssuedCertificate;
  const T0 = Date.parse('2030-01-01T00:00:00Z');
  const DUR = 90_000;
  const ISSUER: IssuerRef = { kind: 'ClusterIssuer', name: 'cluster-ca' };
  let good: KObject;
  let want: WantCert;

  before(async () => {
    ca = await makeTestCA();
    other = await makeTestCA();
    issued = await issueCertificate({ hosts: ['a.test', 'b.test'], issuer: ca, notBefore: new Date(T0), notAfter: new Date(T0 + DUR) });
    good = secretFor(issued);
    want = { hosts: ['a.test', 'b.test'], issuer: { id: issuerId(ISSUER), certPem: ca.certPem }, durationMs: DUR };
  });

  function secretFor(c: IssuedCertificate, issuer: IssuerRef = ISSUER): KObject {
    return buildSecret(undefined, {
      namespace: 'default',
      name: 's',
      ingress: 'web',
      issuer,
      issuerCertPem: ca.certPem,
      hosts: ['a.test', 'b.test'],
      issued: c,
      notBefore: new Date(T0),
      notAfter: new Date(T0 + DUR),
      renewAt: new Date(T0 + 60_000),
    });
  }
  function edit(fn: (s: KObject) => void): () => KObject {
    return () => {
      const s = structuredClone(good);
      fn(s);
      return s;
    };
  }
  const b64 = (s: string): string => Buffer.from(s).toString('base64');

  const table: { name: string; secret: () => KObject | undefined; want?: () => Partial<WantCert>; now?: number; kind?: string; reason?: RegExp }[] = [
    { name: 'good, fresh', secret: () => good, now: T0 },
    { name: 'good, just before 2/3', secret: () => good, now: T0 + 59_999 },
    { name: 'due at 2/3 of the lifetime', secret: () => good, now: T0 + 60_000, kind: 'due', reason: /due for renewal/ },
    { name: 'expired', secret: () => good, now: T0 + DUR, kind: 'due', reason: /expired/ },
    { name: 'custom renew fraction', secret: () => good, want: () => ({ renewFraction: 0.5 }), now: T0 + 45_000, kind: 'due' },
    { name: 'missing', secret: () => undefined, kind: 'missing', reason: /does not exist/ },
    { name: 'wrong type', secret: edit((s) => (s.type = 'Opaque')), kind: 'invalid', reason: /type Opaque/ },
    { name: 'no tls.key', secret: edit((s) => delete (s.data as Record<string, string>)['tls.key']), kind: 'invalid', reason: /no tls.key/ },
    { name: 'garbage tls.crt', secret: edit((s) => ((s.data as Record<string, string>)['tls.crt'] = b64('hello'))), kind: 'invalid', reason: /PEM certificate/ },
    { name: 'key of another certificate', secret: edit((s) => ((s.data as Record<string, string>)['tls.key'] = b64(other.keyPem))), kind: 'invalid', reason: /does not match/ },
    {
      name: 'RSA key',
      secret: edit((s) => ((s.data as Record<string, string>)['tls.key'] = b64(generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ format: 'pem', type: 'pkcs8' }) as string))),
      kind: 'invalid',
      reason: /not an ECDSA P-256 key/,
    },
    { name: 'issuer recorded differently', secret: edit((s) => (s.metadata.annotations![SECRET_ANNOTATIONS.issuer] = 'CASecret/x')), kind: 'issuer', reason: /issuer changed/ },
    { name: 'signed by another CA (rotated CA)', secret: () => good, want: () => ({ issuer: { id: issuerId(ISSUER), certPem: other.certPem } }), kind: 'issuer', reason: /not signed/ },
    { name: 'a host added', secret: () => good, want: () => ({ hosts: ['a.test', 'b.test', 'c.test'] }), kind: 'hosts', reason: /hosts changed/ },
    { name: 'a host removed', secret: () => good, want: () => ({ hosts: ['a.test'] }), kind: 'hosts' },
    { name: 'same hosts, other order and case', secret: () => good, want: () => ({ hosts: ['B.test', 'a.test'] }) },
    { name: 'duration changed', secret: () => good, want: () => ({ durationMs: 3600_000 }), kind: 'duration', reason: /duration changed \(90s -> 3600s\)/ },
  ];
  for (const c of table) {
    it(c.name, () => {
      const w = { ...want, ...(c.want?.() ?? {}) };
      const d = checkRenewal(c.secret(), w, c.now ?? T0 + 1000);
      assert.equal(d?.kind, c.kind, d?.reason);
      if (c.reason) assert.match(needsRenewal(c.secret(), w, c.now ?? T0 + 1000) ?? '', c.reason);
    });
  }

  it('secretRenewalTime reads the certificate', () => {
    assert.equal(secretRenewalTime(good), T0 + 60_000);
    assert.equal(secretRenewalTime(good, 0.5), T0 + 45_000);
  });

  it('buildSecret keeps foreign data and annotations and records cert-manager annotations', () => {
    const existing: KObject = {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's', namespace: 'default', resourceVersion: '7', labels: { team: 'x' }, annotations: { keep: 'me', [SECRET_ANNOTATIONS.serial]: 'old' } },
      type: 'kubernetes.io/tls',
      data: { extra: b64('x'), 'tls.crt': b64('old') },
    };
    const s = buildSecret(existing, {
      namespace: 'default',
      name: 's',
      ingress: 'web',
      issuer: ISSUER,
      issuerCertPem: ca.certPem,
      hosts: ['a.test', 'b.test'],
      issued,
      notBefore: new Date(T0),
      notAfter: new Date(T0 + DUR),
      renewAt: new Date(T0 + 60_000),
    });
    assert.equal(s.metadata.resourceVersion, '7');
    assert.deepEqual(s.metadata.labels, { team: 'x' });
    const a = s.metadata.annotations!;
    assert.equal(a.keep, 'me');
    assert.equal(a['cert-manager.io/issuer-name'], 'cluster-ca');
    assert.equal(a['cert-manager.io/issuer-kind'], 'ClusterIssuer');
    assert.equal(a['cert-manager.io/alt-names'], 'a.test,b.test');
    assert.equal(a['cert-manager.io/common-name'], 'a.test');
    assert.equal(a[SECRET_ANNOTATIONS.serial], issued.serialNumber);
    assert.equal(a[SECRET_ANNOTATIONS.notAfter], '2030-01-01T00:01:30Z');
    assert.equal(a[SECRET_ANNOTATIONS.renewalTime], '2030-01-01T00:01:00Z');
    assert.equal(secretData(s, 'extra'), 'x');
    assert.equal(secretData(s, 'tls.crt'), issued.certPem);
    assert.equal(secretData(s, 'tls.key'), issued.keyPem);
    assert.equal(secretData(s, 'ca.crt'), ca.certPem);
    assert.equal(s.metadata.ownerReferences, undefined);
    assert.equal((existing.data as Record<string, string>)['tls.crt'], b64('old'), 'input not mutated');
  });

  it('caFromSecret', () => {
    assert.deepEqual(caFromSecret(undefined, 'x'), { error: 'CA secret "x" not found' });
    assert.deepEqual(caFromSecret({ apiVersion: 'v1', kind: 'Secret', metadata: {}, data: { 'tls.crt': b64('c') } }, 'x'), { error: 'CA secret "x" has no tls.key' });
    assert.deepEqual(caFromSecret({ apiVersion: 'v1', kind: 'Secret', metadata: {}, data: { 'tls.crt': b64('c'), 'tls.key': b64('k') } }, 'x'), { certPem: 'c', keyPem: 'k' });
  });
});
