/**
 * Cluster DNS against a real API server with the real kubectl and the real `dig`, no pods:
 * Services and EndpointSlices written by kubectl show up in answers as the informers deliver
 * them (ClusterIP, headless with hand-made slices, SRV, PTR, ExternalName changes, NXDOMAIN vs
 * NODATA, TC over UDP then the full answer over TCP, forwarding through a loopback upstream with
 * caching), and kube-system/kube-dns points at the server. The pod path is in dns.sandbox.test.ts.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { NO_KUBECTL, startCluster, until, type TestCluster } from '../harness.js';
import { startDns, type RunningDns } from '../../src/dns/index.js';
import { startFakeUpstream, type FakeUpstream } from './upstream.js';

const HAS_DIG = spawnSync('dig', ['-v'], { stdio: 'ignore' }).status === 0;
type Json = Record<string, any>;

describe('cluster DNS with kubectl and dig (issue 7)', { skip: NO_KUBECTL || (HAS_DIG ? false : 'dig (bind9-dnsutils) is not installed') }, () => {
  let c: TestCluster;
  let dns: RunningDns;
  let up: FakeUpstream;

  const kc = async (args: string[], input?: string): Promise<string> => {
    const r = await c.kubectl(args, input !== undefined ? { input } : {});
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const dig = (args: string[]): Promise<string> =>
    new Promise((resolve, reject) =>
      execFile('dig', ['@127.0.0.1', '-p', String(dns.address.port), '+time=2', '+tries=1', ...args], (err, stdout) => (err ? reject(err) : resolve(stdout))),
    );
  const short = async (args: string[]): Promise<string[]> => (await dig(['+short', ...args])).split('\n').map((l) => l.trim()).filter(Boolean);
  const header = async (args: string[]): Promise<{ status: string; flags: string; answers: number; authority: string }> => {
    const out = await dig(args);
    const status = /status: (\w+)/.exec(out)?.[1] ?? '';
    const flags = /;; flags: ([a-z ]+);/.exec(out)?.[1] ?? '';
    const answers = Number(/ANSWER: (\d+)/.exec(out)?.[1] ?? -1);
    const authority = /;; AUTHORITY SECTION:\n(.*)/.exec(out)?.[1] ?? '';
    return { status, flags, answers, authority };
  };
  const eventually = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => until(what, fn, 10_000) as Promise<T>;
  const sameList = (a: string[], b: string[]): boolean => JSON.stringify([...a].sort()) === JSON.stringify([...b].sort());

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    up = await startFakeUpstream();
    up.setA('foo.example.test', ['192.0.2.1']);
    up.setA('bar.example.test', ['192.0.2.2']);
    dns = await startDns({ registry: c.server.registry, cache: c.server.cache }, {
      host: '127.0.0.1', port: 0, metricsPort: 0, clusterIP: '10.96.0.10', upstreams: [`${up.host}:${up.port}`], log: () => undefined,
    });
  });
  after(async () => {
    await dns?.stop();
    await up?.close();
    await c?.close();
  });

  it('publishes kube-system/kube-dns at 10.96.0.10 with endpoints where the server listens', async () => {
    const svc = JSON.parse(await kc(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json'])) as Json;
    assert.equal(svc.spec.clusterIP, '10.96.0.10');
    assert.equal(svc.metadata.labels['k8s-app'], 'kube-dns');
    const slice = JSON.parse(await kc(['get', 'endpointslices', '-n', 'kube-system', 'kube-dns', '-o', 'json'])) as Json;
    assert.deepEqual(slice.endpoints[0].addresses, ['127.0.0.1']);
    assert.ok((slice.ports as Json[]).some((p) => p.name === 'dns' && p.protocol === 'UDP' && p.port === dns.address.port));
    assert.ok((slice.ports as Json[]).some((p) => p.name === 'dns-tcp' && p.protocol === 'TCP' && p.port === dns.address.port));
    // The kube-dns Service itself resolves, and its IP reverses to its name.
    assert.deepEqual(await short(['kube-dns.kube-system.svc.cluster.local']), ['10.96.0.10']);
    assert.deepEqual(await short(['-x', '10.96.0.10']), ['kube-dns.kube-system.svc.cluster.local.']);
  });

  it('ClusterIP Service: A, SRV for named ports, PTR, NODATA for other types, NXDOMAIN for missing names', async () => {
    await kc(['apply', '-f', '-'], `apiVersion: v1
kind: Service
metadata: {name: my-service, namespace: default}
spec:
  ports: [{name: http, port: 80}, {name: dns, port: 53, protocol: UDP}]
`);
    const ip = (JSON.parse(await kc(['get', 'svc', 'my-service', '-o', 'json'])) as Json).spec.clusterIP as string;
    await eventually('my-service answers', async () => ((await short(['my-service.default.svc.cluster.local']))[0] === ip ? true : undefined));
    assert.deepEqual(await short(['MY-SERVICE.default.SVC.Cluster.Local']), [ip], 'case-insensitive');
    assert.deepEqual(await short(['_http._tcp.my-service.default.svc.cluster.local', 'SRV']), ['0 100 80 my-service.default.svc.cluster.local.']);
    assert.deepEqual(await short(['_dns._udp.my-service.default.svc.cluster.local', 'SRV']), ['0 100 53 my-service.default.svc.cluster.local.']);
    assert.deepEqual(await short(['-x', ip]), ['my-service.default.svc.cluster.local.']);
    const aaaa = await header(['my-service.default.svc.cluster.local', 'AAAA']);
    assert.equal(aaaa.status, 'NOERROR');
    assert.equal(aaaa.answers, 0);
    assert.match(aaaa.authority, /^cluster\.local\.\s+\d+\s+IN\s+SOA\s+ns\.dns\.cluster\.local\. hostmaster\.cluster\.local\./);
    assert.match(aaaa.flags, /\baa\b/);
    const missing = await header(['nope.default.svc.cluster.local']);
    assert.equal(missing.status, 'NXDOMAIN');
    assert.match(missing.authority, /SOA/);
    assert.equal((await header(['my-service.no-such-ns.svc.cluster.local'])).status, 'NXDOMAIN');
    assert.equal((await header(['default.svc.cluster.local'])).status, 'NOERROR', 'an existing namespace is an empty non-terminal');
    assert.deepEqual(await short(['dns-version.cluster.local', 'TXT']), ['"1.1.0"']);
  });

  it('headless Service: one A per ready endpoint, hostnames, SRV per endpoint, PTR, TC over UDP and all over TCP', async () => {
    const endpoints = Array.from({ length: 60 }, (_, i) => ({ addresses: [`10.244.3.${i + 1}`], conditions: { ready: i !== 59 }, ...(i < 3 ? { hostname: `db-${i}` } : {}) }));
    await kc(['apply', '-f', '-'], [
      { apiVersion: 'v1', kind: 'Service', metadata: { name: 'db', namespace: 'default' }, spec: { clusterIP: 'None', ports: [{ name: 'pg', port: 5432 }] } },
      { apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { name: 'db-1', namespace: 'default', labels: { 'kubernetes.io/service-name': 'db' } }, addressType: 'IPv4', endpoints, ports: [{ name: 'pg', port: 5432, protocol: 'TCP' }] },
    ].map((o) => JSON.stringify(o)).join('\n'));
    const ready = endpoints.filter((e) => e.conditions.ready).map((e) => e.addresses[0]!);
    await eventually('59 addresses over TCP', async () => (sameList(await short(['+tcp', 'db.default.svc.cluster.local']), ready) ? true : undefined));
    const udp = await header(['+notcp', '+ignore', '+noedns', 'db.default.svc.cluster.local']);
    assert.match(udp.flags, /\btc\b/, 'a 59-address answer does not fit 512 bytes');
    assert.deepEqual(await short(['db-1.db.default.svc.cluster.local']), ['10.244.3.2']);
    assert.deepEqual(await short(['-x', '10.244.3.3']), ['db-2.db.default.svc.cluster.local.']);
    assert.deepEqual(await short(['-x', '10.244.3.10']), ['10-244-3-10.db.default.svc.cluster.local.']);
    const srv = await short(['+tcp', '_pg._tcp.db.default.svc.cluster.local', 'SRV']);
    assert.equal(srv.length, 59);
    assert.ok(srv.some((l) => l.endsWith(' 5432 db-0.db.default.svc.cluster.local.')), srv[0]);
    // The not-ready endpoint turns ready: it joins.
    endpoints[59]!.conditions.ready = true;
    await kc(['patch', 'endpointslice', 'db-1', '--type=merge', '-p', JSON.stringify({ endpoints })]);
    await eventually('60 addresses', async () => ((await short(['+tcp', 'db.default.svc.cluster.local'])).length === 60 ? true : undefined));
  });

  it('ExternalName: CNAME following externalName, chased upstream; then ClusterIP', async () => {
    await kc(['create', 'service', 'externalname', 'ext', '--external-name', 'foo.example.test']);
    await eventually('CNAME foo', async () => (sameList(await short(['ext.default.svc.cluster.local']), ['foo.example.test.', '192.0.2.1']) ? true : undefined));
    assert.deepEqual(await short(['ext.default.svc.cluster.local', 'CNAME']), ['foo.example.test.']);
    await kc(['patch', 'svc', 'ext', '-p', '{"spec":{"externalName":"bar.example.test"}}']);
    await eventually('CNAME bar', async () => (sameList(await short(['ext.default.svc.cluster.local']), ['bar.example.test.', '192.0.2.2']) ? true : undefined));
    await kc(['patch', 'svc', 'ext', '-p', '{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"port":80}]}}']);
    const ip = (JSON.parse(await kc(['get', 'svc', 'ext', '-o', 'json'])) as Json).spec.clusterIP as string;
    await eventually('A after the change', async () => (sameList(await short(['ext.default.svc.cluster.local']), [ip]) ? true : undefined));
  });

  it('forwards other names and caches positive and negative answers', async () => {
    const count = (n: string): number => up.seen.filter((s) => s === n).length;
    assert.deepEqual(await short(['bar.example.test']), ['192.0.2.2']);
    const n = count('bar.example.test./A');
    assert.deepEqual(await short(['+tcp', 'BAR.example.test']), ['192.0.2.2']);
    assert.equal(count('bar.example.test./A'), n, 'cached (case-insensitively)');
    assert.equal((await header(['nothing.example.test'])).status, 'NXDOMAIN');
    const m = count('nothing.example.test./A');
    assert.equal((await header(['nothing.example.test'])).status, 'NXDOMAIN');
    assert.equal(count('nothing.example.test./A'), m, 'negative answer cached');
    const ttl = Number(/\s(\d+)\s+IN\s+A\s/.exec(await dig(['+noall', '+answer', 'bar.example.test']))?.[1]);
    assert.ok(ttl <= 30, `upstream TTL 60 capped at 30 (got ${ttl})`);
  });

  it('deleting a Service removes its names', async () => {
    await kc(['delete', 'svc', 'my-service']);
    await eventually('NXDOMAIN after delete', async () => ((await header(['my-service.default.svc.cluster.local'])).status === 'NXDOMAIN' ? true : undefined));
  });
});
