import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseResolvConf, podDNS, formatResolvConf, podHostsFile, podHostname, type PodDNSInput, type NodeDNSSettings, type ResolvConf } from './resolvconf.js';

const host = parseResolvConf('# generated\nnameserver 8.8.8.8\nnameserver 1.1.1.1\nsearch old.example\nsearch corp.example. . lab.example\noptions timeout:2 rotate\n');
const node: NodeDNSSettings = { clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', host };
const CLUSTER_SEARCH = ['ns1.svc.cluster.local', 'svc.cluster.local', 'cluster.local'];

test('parseResolvConf: nameservers accumulate, last search/options win, dots trimmed', () => {
  assert.deepEqual(host, { nameservers: ['8.8.8.8', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'rotate'] });
});

test('podDNS policy table', () => {
  const cases: { name: string; pod: Omit<PodDNSInput, 'namespace'>; node?: NodeDNSSettings; want: ResolvConf; warn?: RegExp }[] = [
    { name: 'default policy is ClusterFirst', pod: {},
      want: { nameservers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example'], options: ['ndots:5'] } },
    { name: 'ClusterFirst on hostNetwork falls back to Default', pod: { dnsPolicy: 'ClusterFirst', hostNetwork: true },
      want: { nameservers: ['8.8.8.8', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'rotate'] } },
    { name: 'ClusterFirstWithHostNet keeps cluster DNS', pod: { dnsPolicy: 'ClusterFirstWithHostNet', hostNetwork: true },
      want: { nameservers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example'], options: ['ndots:5'] } },
    { name: 'Default copies the host', pod: { dnsPolicy: 'Default' },
      want: { nameservers: ['8.8.8.8', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'rotate'] } },
    { name: 'Default without host resolv.conf uses localhost', pod: { dnsPolicy: 'Default' }, node: { ...node, host: undefined },
      want: { nameservers: ['127.0.0.1'], searches: ['.'], options: [] } },
    { name: 'ClusterFirst without cluster DNS falls back to host', pod: {}, node: { ...node, clusterDNS: [] },
      want: { nameservers: ['8.8.8.8', '1.1.1.1'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'rotate'] }, warn: /Falling back to "Default"/ },
    { name: 'host search duplicates are dropped', pod: {}, node: { ...node, host: { nameservers: [], searches: ['cluster.local', 'x'], options: [] } },
      want: { nameservers: ['10.96.0.10'], searches: [...CLUSTER_SEARCH, 'x'], options: ['ndots:5'] } },
    { name: 'None uses only dnsConfig', pod: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.2.3.4'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'edns0' }] } },
      want: { nameservers: ['1.2.3.4'], searches: ['a.example'], options: ['ndots:2', 'edns0'] } },
    { name: 'dnsConfig merges into ClusterFirst; pod options override', pod: { dnsConfig: { nameservers: ['10.96.0.10', '9.9.9.9'], searches: ['my.dns.search', 'svc.cluster.local'], options: [{ name: 'ndots', value: '1' }, { name: 'single-request' }] } },
      want: { nameservers: ['10.96.0.10', '9.9.9.9'], searches: [...CLUSTER_SEARCH, 'corp.example', 'lab.example', 'my.dns.search'], options: ['ndots:1', 'single-request'] } },
    { name: 'more than 3 nameservers are cut', pod: { dnsPolicy: 'Default', dnsConfig: { nameservers: ['1.1.1.2', '1.1.1.3'] } },
      want: { nameservers: ['8.8.8.8', '1.1.1.1', '1.1.1.2'], searches: ['corp.example', 'lab.example'], options: ['timeout:2', 'rotate'] }, warn: /Nameserver limits were exceeded.*: 8\.8\.8\.8 1\.1\.1\.1 1\.1\.1\.2$/ },
  ];
  for (const c of cases) {
    const got = podDNS({ namespace: 'ns1', ...c.pod }, c.node ?? node);
    const { warnings, ...conf } = got;
    assert.deepEqual(conf, c.want, c.name);
    if (c.warn) assert.match(warnings.join('\n'), c.warn, c.name);
    else assert.deepEqual(warnings, [], c.name);
  }
});

test('search limits: 32 paths, 253-char domains, 2048 chars', () => {
  const many = Array.from({ length: 40 }, (_, i) => `d${i}.example`);
  const r1 = podDNS({ namespace: 'ns1', dnsPolicy: 'None', dnsConfig: { searches: many } }, node);
  assert.deepEqual(r1.searches, many.slice(0, 32));
  assert.match(r1.warnings[0]!, /Search Line limits were exceeded/);

  const long = 'a'.repeat(254);
  assert.deepEqual(podDNS({ namespace: 'ns1', dnsPolicy: 'None', dnsConfig: { searches: ['ok.example', long] } }, node).searches, ['ok.example']);

  const big = Array.from({ length: 10 }, (_, i) => `${String(i).repeat(1)}${'b'.repeat(249)}`); // 250 chars each
  const r3 = podDNS({ namespace: 'ns1', dnsPolicy: 'None', dnsConfig: { searches: big } }, node);
  assert.equal(r3.searches.length, 8); // 8*250 + 7 spaces = 2007 ≤ 2048; 9 would be 2258
  assert.ok(r3.searches.join(' ').length <= 2048);
});

test('formatResolvConf', () => {
  assert.equal(formatResolvConf({ nameservers: ['10.96.0.10'], searches: CLUSTER_SEARCH, options: ['ndots:5'] }),
    'search ns1.svc.cluster.local svc.cluster.local cluster.local\nnameserver 10.96.0.10\noptions ndots:5\n');
  assert.equal(formatResolvConf({ nameservers: [], searches: [], options: [] }), '');
});

const BASE = '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n'
  + 'fe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';

test('podHostsFile table', () => {
  const cases: [string, Parameters<typeof podHostsFile>[0], string][] = [
    ['plain pod', { name: 'web-1', namespace: 'ns1', ips: ['10.244.0.5'] }, BASE + '10.244.0.5\tweb-1\n'],
    ['hostname + subdomain', { name: 'web-1', namespace: 'ns1', ips: ['10.244.0.5'], hostname: 'h', subdomain: 'sub' },
      BASE + '10.244.0.5\th.sub.ns1.svc.cluster.local\th\n'],
    ['hostAliases', { name: 'p', namespace: 'ns1', ips: ['10.244.0.6'], hostAliases: [{ ip: '127.0.0.1', hostnames: ['foo.local', 'bar.local'] }, { ip: '10.1.2.3', hostnames: ['baz'] }] },
      BASE + '10.244.0.6\tp\n\n# Entries added by HostAliases.\n127.0.0.1\tfoo.local\tbar.local\n10.1.2.3\tbaz\n'],
  ];
  for (const [name, pod, want] of cases) assert.equal(podHostsFile(pod, { clusterDomain: 'cluster.local' }), want, name);
});

test('podHostname truncates long pod names to 63 without trailing dash', () => {
  assert.equal(podHostname({ name: 'x', hostname: 'given' }), 'given');
  const n = 'a'.repeat(62) + '-bcd';
  assert.equal(podHostname({ name: n }), 'a'.repeat(62));
});
