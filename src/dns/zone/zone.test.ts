import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RRClass, RRType } from '../types.js';
import { ClusterZone } from './index.js';
import { A, AAAA, CNAME, NS, PTR, SRV, TXT, T0, expected, service, slice, type Expect } from './testutil.js';

const Z = 'cluster.local.';

/** A cluster with one of everything (see the table below for what each object answers). */
function fixture(): ClusterZone {
  const zone = new ClusterZone({ dnsServiceIPs: ['10.96.0.10'], clock: () => T0 });
  for (const ns of ['default', 'web', 'kube-system']) zone.upsertNamespace(ns);
  zone.upsertService(service('web', 'frontend', { type: 'ClusterIP', clusterIP: '10.96.1.10', clusterIPs: ['10.96.1.10'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }, { name: 'dns', port: 53, protocol: 'UDP' }] }));
  // Endpoints of a ClusterIP Service still answer by endpoint name (CoreDNS checks endpoints whenever one is named).
  zone.upsertEndpointSlice(slice('web', 'frontend-1', 'frontend', [{ ip: '10.2.0.1', hostname: 'fe-0' }], [{ name: 'http', port: 8080, protocol: 'TCP' }]));
  zone.upsertService(service('web', 'single', { type: 'ClusterIP', clusterIP: '10.96.1.11', ports: [{ port: 8080, protocol: 'TCP' }] }));
  zone.upsertService(service('web', 'dual', { type: 'ClusterIP', clusterIPs: ['10.96.1.20', 'fd00:10:96::20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  zone.upsertService(service('web', 'v6only', { type: 'ClusterIP', clusterIPs: ['fd00:10:96::21'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  zone.upsertService(service('web', 'hl', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }));
  zone.upsertEndpointSlice(
    slice('web', 'hl-abc', 'hl', [
      { ip: '10.1.0.1', hostname: 'web-0' },
      { ip: '10.1.0.2', hostname: 'web-1', ready: true },
      { ip: '10.1.0.3' },
      { ip: '10.1.0.4', hostname: 'web-3', ready: false },
    ], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  );
  // A second slice repeating an address: the union counts it once.
  zone.upsertEndpointSlice(slice('web', 'hl-def', 'hl', [{ ip: '10.1.0.3' }], [{ name: 'http', port: 8080, protocol: 'TCP' }]));
  zone.upsertService(service('web', 'empty', { type: 'ClusterIP', clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }));
  zone.upsertEndpointSlice(slice('web', 'empty-1', 'empty', [{ ip: '10.1.9.9', ready: false }], [{ name: 'http', port: 80, protocol: 'TCP' }]));
  zone.upsertService(service('web', 'noports', { clusterIP: 'None' }));
  zone.upsertEndpointSlice(slice('web', 'noports-1', 'noports', [{ ip: '10.1.5.1' }], undefined));
  zone.upsertService(service('web', 'ext', { type: 'ExternalName', externalName: 'example.com' }));
  zone.upsertService(service('web', 'alias', { type: 'ExternalName', externalName: 'frontend.web.svc.cluster.local' }));
  zone.upsertService(service('web', 'dangling', { type: 'ExternalName', externalName: 'missing.web.svc.cluster.local' }));
  zone.upsertService(service('web', 'v6hl', { clusterIP: 'None', ports: [{ name: 'http', port: 80 }] }));
  zone.upsertEndpointSlice(slice('web', 'v6hl-1', 'v6hl', [{ ip: 'fd00:1::5' }], [{ name: 'http', port: 80, protocol: 'TCP' }], 'IPv6'));
  return zone;
}

const n = (rel: string): string => (rel === '' ? Z : `${rel}.${Z}`);

interface Row {
  q: string;
  t: number;
  want: Expect;
}

const rows: Row[] = [
  // ClusterIP services.
  { q: n('frontend.web.svc'), t: RRType.A, want: { ok: [A(n('frontend.web.svc'), '10.96.1.10')] } },
  { q: n('frontend.web.svc'), t: RRType.AAAA, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.TXT, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.MX, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.CNAME, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.PTR, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.ANY, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.SOA, want: { nodata: Z } },
  { q: n('frontend.web.svc'), t: RRType.NS, want: { nodata: Z } },
  { q: n('fe-0.frontend.web.svc'), t: RRType.A, want: { ok: [A(n('fe-0.frontend.web.svc'), '10.2.0.1')] } },
  { q: '1.0.2.10.in-addr.arpa.', t: RRType.PTR, want: { ok: [PTR('1.0.2.10.in-addr.arpa.', 'fe-0.frontend.web.svc.cluster.local.')] } },
  // Dual stack: A and AAAA from clusterIPs by family; IPv6-only has no A.
  { q: n('dual.web.svc'), t: RRType.A, want: { ok: [A(n('dual.web.svc'), '10.96.1.20')] } },
  { q: n('dual.web.svc'), t: RRType.AAAA, want: { ok: [AAAA(n('dual.web.svc'), 'fd00:10:96::20')] } },
  { q: n('v6only.web.svc'), t: RRType.A, want: { nodata: Z } },
  { q: n('v6only.web.svc'), t: RRType.AAAA, want: { ok: [AAAA(n('v6only.web.svc'), 'fd00:10:96::21')] } },
  // SRV, ClusterIP: named ports, target the service; the bare name lists every port (unnamed too).
  {
    q: n('_http._tcp.frontend.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('_http._tcp.frontend.web.svc'), 100, 80, n('frontend.web.svc'))], extra: [A(n('frontend.web.svc'), '10.96.1.10')] },
  },
  {
    q: n('_dns._udp.frontend.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('_dns._udp.frontend.web.svc'), 100, 53, n('frontend.web.svc'))], extra: [A(n('frontend.web.svc'), '10.96.1.10')] },
  },
  { q: n('_http._udp.frontend.web.svc'), t: RRType.SRV, want: { nx: Z } },
  { q: n('_nope._tcp.frontend.web.svc'), t: RRType.SRV, want: { nx: Z } },
  // The SRV-shaped name also answers A (CoreDNS matches the port, then returns the service).
  { q: n('_http._tcp.frontend.web.svc'), t: RRType.A, want: { ok: [A(n('_http._tcp.frontend.web.svc'), '10.96.1.10')] } },
  {
    q: n('frontend.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('frontend.web.svc'), 50, 80, n('frontend.web.svc')), SRV(n('frontend.web.svc'), 50, 53, n('frontend.web.svc'))], extra: [A(n('frontend.web.svc'), '10.96.1.10')] },
  },
  {
    q: n('single.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('single.web.svc'), 100, 8080, n('single.web.svc'))], extra: [A(n('single.web.svc'), '10.96.1.11')] },
  },
  { q: n('_http._tcp.single.web.svc'), t: RRType.SRV, want: { nx: Z } },
  {
    q: n('_http._tcp.dual.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('_http._tcp.dual.web.svc'), 50, 80, n('dual.web.svc'))], extra: [A(n('dual.web.svc'), '10.96.1.20'), AAAA(n('dual.web.svc'), 'fd00:10:96::20')] },
  },
  // Headless: one A per ready endpoint (3 of 4), deduplicated across slices.
  { q: n('hl.web.svc'), t: RRType.A, want: { ok: [A(n('hl.web.svc'), '10.1.0.1'), A(n('hl.web.svc'), '10.1.0.2'), A(n('hl.web.svc'), '10.1.0.3')] } },
  { q: n('hl.web.svc'), t: RRType.AAAA, want: { nodata: Z } },
  { q: n('web-0.hl.web.svc'), t: RRType.A, want: { ok: [A(n('web-0.hl.web.svc'), '10.1.0.1')] } },
  { q: n('10-1-0-3.hl.web.svc'), t: RRType.A, want: { ok: [A(n('10-1-0-3.hl.web.svc'), '10.1.0.3')] } },
  { q: n('10-1-0-1.hl.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('web-3.hl.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('web-9.hl.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('web-0.hl.web.svc'), t: RRType.TXT, want: { nodata: Z } },
  {
    q: n('_http._tcp.hl.web.svc'), t: RRType.SRV,
    want: {
      ok: [
        SRV(n('_http._tcp.hl.web.svc'), 33, 8080, n('web-0.hl.web.svc')),
        SRV(n('_http._tcp.hl.web.svc'), 33, 8080, n('web-1.hl.web.svc')),
        SRV(n('_http._tcp.hl.web.svc'), 33, 8080, n('10-1-0-3.hl.web.svc')),
      ],
      extra: [A(n('web-0.hl.web.svc'), '10.1.0.1'), A(n('web-1.hl.web.svc'), '10.1.0.2'), A(n('10-1-0-3.hl.web.svc'), '10.1.0.3')],
    },
  },
  {
    q: n('_http._tcp.v6hl.web.svc'), t: RRType.SRV,
    want: { ok: [SRV(n('_http._tcp.v6hl.web.svc'), 100, 80, n('fd00-1--5.v6hl.web.svc'))], extra: [AAAA(n('fd00-1--5.v6hl.web.svc'), 'fd00:1::5')] },
  },
  { q: n('fd00-1--5.v6hl.web.svc'), t: RRType.AAAA, want: { ok: [AAAA(n('fd00-1--5.v6hl.web.svc'), 'fd00:1::5')] } },
  // Headless with only not-ready endpoints: CoreDNS has no hits, so NXDOMAIN.
  { q: n('empty.web.svc'), t: RRType.A, want: { nx: Z } },
  // Headless without ports: A works, SRV has nothing to list.
  { q: n('noports.web.svc'), t: RRType.A, want: { ok: [A(n('noports.web.svc'), '10.1.5.1')] } },
  { q: n('noports.web.svc'), t: RRType.SRV, want: { nodata: Z } },
  // ExternalName.
  { q: n('ext.web.svc'), t: RRType.A, want: { ok: [CNAME(n('ext.web.svc'), 'example.com.')] } },
  { q: n('ext.web.svc'), t: RRType.AAAA, want: { ok: [CNAME(n('ext.web.svc'), 'example.com.')] } },
  { q: n('ext.web.svc'), t: RRType.CNAME, want: { ok: [CNAME(n('ext.web.svc'), 'example.com.')] } },
  { q: n('ext.web.svc'), t: RRType.SRV, want: { nodata: Z } },
  { q: n('ext.web.svc'), t: RRType.MX, want: { nodata: Z } },
  { q: n('x.ext.web.svc'), t: RRType.A, want: { nx: Z } },
  {
    q: n('alias.web.svc'), t: RRType.A,
    want: { ok: [CNAME(n('alias.web.svc'), 'frontend.web.svc.cluster.local.'), A('frontend.web.svc.cluster.local.', '10.96.1.10')] },
  },
  { q: n('alias.web.svc'), t: RRType.AAAA, want: { nodata: Z } },
  { q: n('dangling.web.svc'), t: RRType.A, want: { nodata: Z } },
  // NXDOMAIN vs NODATA for the structure of the zone.
  { q: Z, t: RRType.A, want: { nodata: Z } },
  { q: Z, t: RRType.MX, want: { nodata: Z } },
  { q: Z, t: RRType.SRV, want: { nodata: Z } },
  { q: Z, t: RRType.TXT, want: { nodata: Z } },
  { q: n('svc'), t: RRType.A, want: { nodata: Z } },
  { q: n('svc'), t: RRType.TXT, want: { nodata: Z } },
  { q: n('pod'), t: RRType.A, want: { nodata: Z } },
  { q: n('web.svc'), t: RRType.A, want: { nodata: Z } },
  { q: n('web.pod'), t: RRType.A, want: { nodata: Z } },
  { q: n('nons.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('frontend.nons.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('missing.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('missing.web.svc'), t: RRType.TXT, want: { nx: Z } },
  { q: n('missing.web.svc'), t: RRType.MX, want: { nx: Z } },
  { q: n('missing.web.svc'), t: RRType.SOA, want: { nodata: Z } },
  { q: n('foo'), t: RRType.A, want: { nx: Z } },
  { q: n('frontend.web'), t: RRType.A, want: { nx: Z } },
  { q: n('a.b._http._tcp.frontend.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('x._http._tcp.frontend.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('*.web.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('*.*.svc'), t: RRType.A, want: { nx: Z } },
  { q: n('_*._tcp.frontend.web.svc'), t: RRType.SRV, want: { nx: Z } },
  { q: n('fron\\.tend.web.svc'), t: RRType.A, want: { nx: Z } },
  // Pods (`pods insecure`): any address in the right shape, in an existing namespace.
  { q: n('10-244-1-7.web.pod'), t: RRType.A, want: { ok: [A(n('10-244-1-7.web.pod'), '10.244.1.7')] } },
  { q: n('10-244-1-7.web.pod'), t: RRType.AAAA, want: { nodata: Z } },
  { q: n('fd00--7.web.pod'), t: RRType.AAAA, want: { ok: [AAAA(n('fd00--7.web.pod'), 'fd00::7')] } },
  { q: n('10-244-1-7.nons.pod'), t: RRType.A, want: { nx: Z } },
  { q: n('10-244-1-300.web.pod'), t: RRType.A, want: { nx: Z } },
  { q: n('my-pod.web.pod'), t: RRType.A, want: { nx: Z } },
  // CoreDNS ignores extra labels in front of a pod name (up to the five-label limit).
  { q: n('x.10-244-1-7.web.pod'), t: RRType.A, want: { ok: [A(n('x.10-244-1-7.web.pod'), '10.244.1.7')] } },
  // dns-version, SOA, NS and the NS glue name.
  { q: n('dns-version'), t: RRType.TXT, want: { ok: [TXT(n('dns-version'), '1.1.0')] } },
  { q: Z, t: RRType.SOA, want: { soa: Z } },
  { q: Z, t: RRType.NS, want: { ok: [NS(Z, 'ns.dns.cluster.local.')], extra: [A('ns.dns.cluster.local.', '10.96.0.10')] } },
  { q: n('ns.dns'), t: RRType.A, want: { ok: [A(n('ns.dns'), '10.96.0.10')] } },
  { q: n('ns.dns'), t: RRType.AAAA, want: { nodata: Z } },
  { q: Z, t: RRType.AXFR, want: 'refused' },
  // Case: matched without case, echoed as asked (owner, SOA, SRV targets spell the zone as asked).
  { q: 'FrontEnd.WEB.svc.Cluster.Local.', t: RRType.A, want: { ok: [A('FrontEnd.WEB.svc.Cluster.Local.', '10.96.1.10')] } },
  { q: 'Missing.WEB.svc.Cluster.Local.', t: RRType.A, want: { nx: 'Cluster.Local.' } },
  {
    q: '_HTTP._TCP.Frontend.web.SVC.CLUSTER.local.', t: RRType.SRV,
    want: { ok: [SRV('_HTTP._TCP.Frontend.web.SVC.CLUSTER.local.', 100, 80, 'frontend.web.svc.CLUSTER.local.')], extra: [A('frontend.web.svc.CLUSTER.local.', '10.96.1.10')] },
  },
  { q: 'WEB-0.HL.web.svc.cluster.local.', t: RRType.A, want: { ok: [A('WEB-0.HL.web.svc.cluster.local.', '10.1.0.1')] } },
  // Reverse: PTR for cluster IPs and ready endpoint addresses; the rest falls through.
  { q: '10.1.96.10.in-addr.arpa.', t: RRType.PTR, want: { ok: [PTR('10.1.96.10.in-addr.arpa.', 'frontend.web.svc.cluster.local.')] } },
  { q: '1.0.1.10.in-addr.arpa.', t: RRType.PTR, want: { ok: [PTR('1.0.1.10.in-addr.arpa.', 'web-0.hl.web.svc.cluster.local.')] } },
  { q: '3.0.1.10.IN-ADDR.ARPA.', t: RRType.PTR, want: { ok: [PTR('3.0.1.10.IN-ADDR.ARPA.', '10-1-0-3.hl.web.svc.cluster.local.')] } },
  { q: '4.0.1.10.in-addr.arpa.', t: RRType.PTR, want: 'forward' },
  { q: '9.9.9.9.in-addr.arpa.', t: RRType.PTR, want: 'forward' },
  { q: '1.10.in-addr.arpa.', t: RRType.PTR, want: 'forward' },
  { q: '10.1.96.10.in-addr.arpa.', t: RRType.A, want: 'forward' },
  { q: '10.1.96.10.in-addr.arpa.', t: RRType.SOA, want: { nodata: 'in-addr.arpa.' } },
  { q: 'in-addr.arpa.', t: RRType.SOA, want: { soa: 'in-addr.arpa.' } },
  { q: 'in-addr.arpa.', t: RRType.PTR, want: { nodata: 'in-addr.arpa.' } },
  { q: 'in-addr.arpa.', t: RRType.NS, want: { ok: [NS('in-addr.arpa.', 'ns.dns.in-addr.arpa.')], extra: [A('ns.dns.in-addr.arpa.', '10.96.0.10')] } },
  { q: 'in-addr.arpa.', t: RRType.TXT, want: 'forward' },
  { q: 'ip6.arpa.', t: RRType.AXFR, want: 'refused' },
  {
    q: `${'0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f'}.ip6.arpa.`, t: RRType.PTR,
    want: { ok: [PTR(`${'0.2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.6.9.0.0.0.1.0.0.0.0.d.f'}.ip6.arpa.`, 'dual.web.svc.cluster.local.')] },
  },
  {
    q: `${'5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f'}.ip6.arpa.`, t: RRType.PTR,
    want: { ok: [PTR(`${'5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.1.0.0.0.0.0.d.f'}.ip6.arpa.`, 'fd00-1--5.v6hl.web.svc.cluster.local.')] },
  },
  { q: '1.0.0.ip6.arpa.', t: RRType.PTR, want: 'forward' },
  // Not ours.
  { q: 'example.com.', t: RRType.A, want: 'forward' },
  { q: 'local.', t: RRType.A, want: 'forward' },
  { q: 'cluster.local.example.com.', t: RRType.A, want: 'forward' },
  { q: 'xcluster.local.', t: RRType.A, want: 'forward' },
  { q: 'a\\.cluster.local.', t: RRType.A, want: 'forward' },
  { q: '.', t: RRType.NS, want: 'forward' },
];

test('golden answers for the fixture cluster', () => {
  const zone = fixture();
  for (const r of rows) {
    const got = zone.answer({ name: r.q, type: r.t, class: RRClass.IN });
    assert.deepEqual(got, expected(zone, r.want), `${r.q} type ${r.t}`);
  }
});

test('class other than IN/ANY is not ours; ANY class answers like IN', () => {
  const zone = fixture();
  assert.equal(zone.answer({ name: n('frontend.web.svc'), type: RRType.A, class: RRClass.CH }), undefined);
  assert.deepEqual(zone.answer({ name: n('frontend.web.svc'), type: RRType.A, class: RRClass.ANY })?.answers, [A(n('frontend.web.svc'), '10.96.1.10')]);
});

/** Query helpers for the change tests. */
function ask(zone: ClusterZone, rel: string, t: number): ReturnType<ClusterZone['answer']> {
  return zone.answer({ name: n(rel), type: t, class: RRClass.IN });
}

test('ExternalName follows externalName changes and the switch to ClusterIP', () => {
  const zone = fixture();
  const steps: Array<{ spec: Record<string, unknown>; want: Expect }> = [
    { spec: { type: 'ExternalName', externalName: 'example.com' }, want: { ok: [CNAME(n('ext.web.svc'), 'example.com.')] } },
    { spec: { type: 'ExternalName', externalName: 'other.example.org.' }, want: { ok: [CNAME(n('ext.web.svc'), 'other.example.org.')] } },
    { spec: { type: 'ExternalName', externalName: '1.2.3.4' }, want: { nx: Z } },
    { spec: { type: 'ClusterIP', clusterIP: '10.96.7.7', ports: [{ name: 'http', port: 80 }] }, want: { ok: [A(n('ext.web.svc'), '10.96.7.7')] } },
  ];
  for (const s of steps) {
    zone.upsertService(service('web', 'ext', s.spec));
    assert.deepEqual(ask(zone, 'ext.web.svc', RRType.A), expected(zone, s.want), JSON.stringify(s.spec));
  }
  assert.deepEqual(ask(zone, 'ext.web.svc', RRType.CNAME), expected(zone, { nodata: Z }));
  // The PTR follows the new cluster IP.
  assert.deepEqual(zone.answer({ name: '7.7.96.10.in-addr.arpa.', type: RRType.PTR, class: RRClass.IN })?.answers, [PTR('7.7.96.10.in-addr.arpa.', 'ext.web.svc.cluster.local.')]);
});

test('endpoint readiness and slice changes update answers', () => {
  const zone = fixture();
  const three = ask(zone, 'hl.web.svc', RRType.A)!.answers.length;
  assert.equal(three, 3);
  // web-1 turns not ready: it drops out of A, its hostname and its PTR.
  zone.upsertEndpointSlice(
    slice('web', 'hl-abc', 'hl', [{ ip: '10.1.0.1', hostname: 'web-0' }, { ip: '10.1.0.2', hostname: 'web-1', ready: false }, { ip: '10.1.0.3' }], [{ name: 'http', port: 8080, protocol: 'TCP' }]),
  );
  assert.deepEqual(ask(zone, 'hl.web.svc', RRType.A)!.answers.map((r) => (r.data as { address: string }).address), ['10.1.0.1', '10.1.0.3']);
  assert.deepEqual(ask(zone, 'web-1.hl.web.svc', RRType.A), expected(zone, { nx: Z }));
  assert.equal(zone.answer({ name: '2.0.1.10.in-addr.arpa.', type: RRType.PTR, class: RRClass.IN }), undefined);
  // Removing the first slice leaves the duplicate address from the second.
  zone.deleteEndpointSlice('web', 'hl-abc');
  assert.deepEqual(ask(zone, 'hl.web.svc', RRType.A), expected(zone, { ok: [A(n('hl.web.svc'), '10.1.0.3')] }));
  zone.deleteEndpointSlice('web', 'hl-def');
  assert.deepEqual(ask(zone, 'hl.web.svc', RRType.A), expected(zone, { nx: Z }));
  assert.equal(zone.answer({ name: '3.0.1.10.in-addr.arpa.', type: RRType.PTR, class: RRClass.IN }), undefined);
});

test('removing services and namespaces', () => {
  const zone = fixture();
  zone.deleteService('web', 'frontend');
  assert.deepEqual(ask(zone, 'frontend.web.svc', RRType.A), expected(zone, { nx: Z }));
  assert.equal(zone.answer({ name: '10.1.96.10.in-addr.arpa.', type: RRType.PTR, class: RRClass.IN }), undefined);
  // Alias now points at a missing in-zone name: the CNAME is dropped, NODATA.
  assert.deepEqual(ask(zone, 'alias.web.svc', RRType.A), expected(zone, { nodata: Z }));
  zone.deleteNamespace('web');
  for (const rel of ['web.svc', 'dual.web.svc', '10-1-2-3.web.pod', 'web.pod']) {
    assert.deepEqual(ask(zone, rel, RRType.A), expected(zone, { nx: Z }), rel);
  }
  // Deleting what is not there is harmless.
  zone.deleteService('nope', 'nope');
  zone.deleteEndpointSlice('nope', 'nope');
});

test('every change advances the SOA serial; it starts at the clock in seconds', () => {
  let now = T0;
  const zone = new ClusterZone({ clock: () => now });
  assert.equal(zone.serial, T0 / 1000);
  zone.upsertNamespace('a');
  assert.equal(zone.serial, T0 / 1000 + 1);
  zone.upsertService(service('a', 's', { clusterIP: '10.0.0.1', ports: [{ port: 1 }] }));
  assert.equal(zone.serial, T0 / 1000 + 2);
  now = T0 + 60_000;
  zone.deleteService('a', 's');
  assert.equal(zone.serial, T0 / 1000 + 60);
  assert.equal(zone.answer({ name: 'cluster.local.', type: RRType.SOA, class: RRClass.IN })?.answers[0]?.data.kind === 'SOA' &&
    (zone.answer({ name: 'cluster.local.', type: RRType.SOA, class: RRClass.IN })!.answers[0]!.data as { serial: number }).serial, T0 / 1000 + 60);
});

test('custom domain and ttl', () => {
  const zone = new ClusterZone({ domain: 'Corp.Example', ttl: 5, clock: () => T0 });
  zone.upsertNamespace('x');
  zone.upsertService(service('x', 's', { clusterIP: '10.0.0.1', ports: [{ port: 1 }] }));
  const a = zone.answer({ name: 's.x.svc.corp.example.', type: RRType.A, class: RRClass.IN });
  assert.deepEqual(a?.answers, [{ name: 's.x.svc.corp.example.', type: RRType.A, class: RRClass.IN, ttl: 5, data: { kind: 'A', address: '10.0.0.1' } }]);
  const nx = zone.answer({ name: 'nope.x.svc.corp.example.', type: RRType.A, class: RRClass.IN });
  assert.equal(nx?.authority[0]?.ttl, 5);
  assert.deepEqual(nx?.authority[0]?.data, { kind: 'SOA', mname: 'ns.dns.corp.example.', rname: 'hostmaster.corp.example.', serial: T0 / 1000 + 2, refresh: 7200, retry: 1800, expire: 86400, minimum: 5 });
  assert.equal(zone.answer({ name: 's.x.svc.cluster.local.', type: RRType.A, class: RRClass.IN }), undefined);
  // No DNS service addresses configured: the apex NS has no data.
  assert.equal(zone.answer({ name: 'corp.example.', type: RRType.NS, class: RRClass.IN })?.answers.length, 0);
});

test('does not mutate or keep the objects it is given', () => {
  const zone = new ClusterZone({ clock: () => T0 });
  zone.upsertNamespace('web');
  const svc = service('web', 'a', { clusterIP: '10.0.0.1', ports: [{ name: 'http', port: 80 }] });
  const frozen = JSON.stringify(svc);
  zone.upsertService(svc);
  assert.equal(JSON.stringify(svc), frozen);
  (svc['spec'] as { clusterIP: string }).clusterIP = '10.9.9.9';
  assert.deepEqual(zone.answer({ name: 'a.web.svc.cluster.local.', type: RRType.A, class: RRClass.IN })?.answers, [A('a.web.svc.cluster.local.', '10.0.0.1')]);
});
