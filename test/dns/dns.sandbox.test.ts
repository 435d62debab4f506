/**
 * Issue 7 acceptance, end to end: `kubelite up --pod-network netns` in a throwaway namespace with
 * its cluster DNS forwarding to a loopback upstream of this test's own, and the real `dig`
 * (bind9-dnsutils) run inside pods with `kubectl exec`, so every query takes the path a pod's
 * does: the pod's /etc/resolv.conf → 10.96.0.10 (kube-dns) → the proxy's DNAT → our server.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { NO_KUBECTL, until } from '../harness.js';
import { startCliCluster, type CliCluster } from '../node/cli-cluster.js';
import { startFakeUpstream, type FakeUpstream } from './upstream.js';

const SANDBOX = process.env.SANDBOX_NETNS;
const HAS_DIG = spawnSync('dig', ['-v'], { stdio: 'ignore' }).status === 0;
const skip = NO_KUBECTL || (!SANDBOX ? 'needs netns-sandbox (run via npm test)' : false) || (!HAS_DIG ? 'dig (bind9-dnsutils) is not installed' : false);
const AGNHOST = 'registry.k8s.io/e2e-test-images/agnhost:2.52';
const TOKEN = randomBytes(4).toString('hex');

type Json = Record<string, any>;

const MANIFESTS = `apiVersion: v1
kind: Pod
metadata: {name: client, labels: {app: client}}
spec:
  containers:
  - {name: netexec, image: ${AGNHOST}, args: [netexec, --http-port=8080, --udp-port=-1]}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: web}
spec:
  replicas: 1
  selector: {matchLabels: {app: web}}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - name: netexec
        image: ${AGNHOST}
        args: [netexec, --http-port=8080, --udp-port=-1]
        ports: [{name: http, containerPort: 8080}]
---
apiVersion: v1
kind: Service
metadata: {name: my-service}
spec:
  selector: {app: web}
  ports: [{name: http, port: 80, targetPort: http}, {name: dns-like, port: 53, protocol: UDP}]
---
apiVersion: v1
kind: Service
metadata: {name: hs}
spec:
  clusterIP: None
  selector: {app: hs}
  ports: [{name: http, port: 8080}]
---
apiVersion: apps/v1
kind: StatefulSet
metadata: {name: hs}
spec:
  serviceName: hs
  replicas: 3
  podManagementPolicy: Parallel
  selector: {matchLabels: {app: hs}}
  template:
    metadata: {labels: {app: hs}}
    spec:
      containers:
      - name: netexec
        image: ${AGNHOST}
        args: [netexec, --http-port=8080, --udp-port=-1]
        ports: [{name: http, containerPort: 8080}]
        readinessProbe:
          exec: {command: [sh, -c, 'test ! -e /tmp/kl-dns-${TOKEN}-down-$(hostname)']}
          periodSeconds: 1
          failureThreshold: 1
---
apiVersion: v1
kind: Service
metadata: {name: sub}
spec:
  clusterIP: None
  selector: {app: named}
  ports: [{name: http, port: 8080}]
---
apiVersion: v1
kind: Pod
metadata: {name: named, labels: {app: named}}
spec:
  hostname: querier
  subdomain: sub
  containers:
  - {name: netexec, image: ${AGNHOST}, args: [netexec, --http-port=8080, --udp-port=-1]}
`;

describe('cluster DNS from pods (issue 7)', { skip }, () => {
  let dir: string;
  let k: CliCluster;
  let up: FakeUpstream;

  const kc = async (args: string[], input?: string): Promise<string> => {
    const r = await k.kubectl(args, input !== undefined ? { input } : {});
    assert.equal(r.code, 0, `kubectl ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const apply = (yaml: string): Promise<string> => kc(['apply', '-f', '-'], yaml);
  /** `dig` inside a pod; returns its stdout. */
  const dig = async (args: string[], pod = 'client'): Promise<string> => {
    const r = await k.kubectl(['exec', pod, '--', 'dig', '+time=2', '+tries=2', ...args]);
    assert.equal(r.code, 0, `dig ${args.join(' ')} in ${pod}: ${r.stderr}${r.stdout}`);
    return r.stdout;
  };
  const short = async (args: string[], pod = 'client'): Promise<string[]> =>
    (await dig(['+short', ...args], pod)).split('\n').map((l) => l.trim()).filter(Boolean);
  const status = async (args: string[]): Promise<string> => /status: (\w+)/.exec(await dig(args))?.[1] ?? 'none';
  const podIPs = async (selector: string, n: number): Promise<Map<string, string>> =>
    until(`${n} ready pods ${selector}`, async () => {
      const items = (JSON.parse(await kc(['get', 'pods', '-l', selector, '-o', 'json'])) as Json).items as Json[];
      const ready = items.filter((p) => !p.metadata.deletionTimestamp && (p.status.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === n ? new Map(ready.map((p) => [p.metadata.name as string, p.status.podIP as string])) : undefined;
    }, 90_000);
  const settle = <T>(what: string, fn: () => Promise<T | undefined>): Promise<T> => until(what, fn, 30_000) as Promise<T>;

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-dns-'));
    up = await startFakeUpstream();
    up.setA('foo.example.test', ['192.0.2.1']);
    up.setA('bar.example.test', ['192.0.2.2']);
    k = await startCliCluster(dir, ['--pod-network', 'netns', '--dns-upstream', `${up.host}:${up.port}`]);
    await apply(MANIFESTS);
    await podIPs('app=client', 1);
    await podIPs('app=hs', 3);
    await podIPs('app=named', 1);
    await podIPs('app=web', 1);
  });
  after(async () => {
    if (k) {
      await k.kubectl(['delete', 'statefulsets,deployments,pods,services', '--all', '--wait=true', '--timeout=60s']).catch(() => undefined);
      await k.stop();
    }
    await up?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('serves kube-system/kube-dns at the tenth service address, and pods use it', async () => {
    const svc = JSON.parse(await kc(['get', 'svc', '-n', 'kube-system', 'kube-dns', '-o', 'json'])) as Json;
    assert.equal(svc.spec.clusterIP, '10.96.0.10');
    assert.deepEqual((svc.spec.ports as Json[]).map((p) => `${p.name}/${p.port}/${p.protocol}`), ['dns/53/UDP', 'dns-tcp/53/TCP', 'metrics/9153/TCP']);
    const resolv = await kc(['exec', 'client', '--', 'cat', '/etc/resolv.conf']);
    assert.match(resolv, /nameserver 10\.96\.0\.10/);
    assert.match(resolv, /search default\.svc\.cluster\.local svc\.cluster\.local cluster\.local/);
  });

  it('1. my-service by full name and by the search path, over UDP and TCP', async () => {
    const ip = (JSON.parse(await kc(['get', 'svc', 'my-service', '-o', 'json'])) as Json).spec.clusterIP as string;
    for (const proto of ['+notcp', '+tcp']) {
      assert.deepEqual(await short([proto, 'my-service.default.svc.cluster.local']), [ip], `full name ${proto}`);
      assert.deepEqual(await short([proto, '+search', 'my-service']), [ip], `short name ${proto}`);
      assert.deepEqual(await short([proto, '+search', 'my-service.default']), [ip], `name.namespace ${proto}`);
      assert.deepEqual(await short([proto, 'MY-Service.Default.SVC.cluster.LOCAL']), [ip], `mixed case ${proto}`);
    }
    assert.equal(await status(['nope.default.svc.cluster.local']), 'NXDOMAIN');
    assert.equal(await status(['my-service.default.svc.cluster.local', 'TXT']), 'NOERROR');
  });

  it('2. headless: one A per ready pod, a not-ready pod drops out, SRV per port, PTR of a pod IP', async () => {
    const ips = await podIPs('app=hs', 3);
    const all = [...ips.values()].sort();
    assert.deepEqual((await short(['hs.default.svc.cluster.local'])).sort(), all);
    assert.deepEqual(await short(['hs-1.hs.default.svc.cluster.local']), [ips.get('hs-1')]);
    const srv = (await short(['_http._tcp.hs.default.svc.cluster.local', 'SRV'])).sort();
    assert.deepEqual(srv, ['hs-0', 'hs-1', 'hs-2'].map((h) => `0 33 8080 ${h}.hs.default.svc.cluster.local.`));
    const ptrName = ips.get('hs-2')!.split('.').reverse().join('.') + '.in-addr.arpa';
    assert.deepEqual(await short([ptrName, 'PTR']), ['hs-2.hs.default.svc.cluster.local.']);
    assert.deepEqual(await short(['-x', ips.get('hs-2')!]), ['hs-2.hs.default.svc.cluster.local.']);
    await kc(['exec', 'hs-1', '--', 'touch', `/tmp/kl-dns-${TOKEN}-down-hs-1`]);
    const without = all.filter((ip) => ip !== ips.get('hs-1')).sort();
    await settle('hs-1 drops out', async () => {
      const got = (await short(['hs.default.svc.cluster.local'])).sort();
      return JSON.stringify(got) === JSON.stringify(without) ? got : undefined;
    });
    assert.equal(await status(['hs-1.hs.default.svc.cluster.local']), 'NXDOMAIN');
    await kc(['exec', 'hs-1', '--', 'rm', `/tmp/kl-dns-${TOKEN}-down-hs-1`]);
    await settle('hs-1 back', async () => ((await short(['hs.default.svc.cluster.local'])).length === 3 ? true : undefined));
  });

  it('3. ExternalName: a CNAME that follows externalName, then an A record after the change to ClusterIP', async () => {
    await apply(`apiVersion: v1
kind: Service
metadata: {name: ext}
spec: {type: ExternalName, externalName: foo.example.test}
`);
    const first = await settle('CNAME to foo', async () => {
      const got = await short(['ext.default.svc.cluster.local']);
      return got[0] === 'foo.example.test.' ? got : undefined;
    });
    assert.deepEqual(first, ['foo.example.test.', '192.0.2.1'], 'CNAME, then the target chased through the upstream');
    assert.deepEqual(await short(['ext.default.svc.cluster.local', 'CNAME']), ['foo.example.test.']);
    await kc(['patch', 'svc', 'ext', '-p', '{"spec":{"externalName":"bar.example.test"}}']);
    await settle('CNAME to bar', async () => {
      const got = await short(['ext.default.svc.cluster.local']);
      return got[0] === 'bar.example.test.' && got[1] === '192.0.2.2' ? got : undefined;
    });
    await kc(['patch', 'svc', 'ext', '-p', '{"spec":{"type":"ClusterIP","externalName":null,"ports":[{"port":80}]}}']);
    const ip = (JSON.parse(await kc(['get', 'svc', 'ext', '-o', 'json'])) as Json).spec.clusterIP as string;
    assert.match(ip, /^10\.(9[6-9]|10[0-9]|11[01])\./, "an address of the service CIDR 10.96.0.0/12");
    await settle('A record after the type change', async () => {
      const got = await short(['ext.default.svc.cluster.local']);
      return got.length === 1 && got[0] === ip ? got : undefined;
    });
  });

  it('4. hostname + subdomain, pod A records, dns-version', async () => {
    const ips = await podIPs('app=named', 1);
    const ip = ips.get('named')!;
    assert.deepEqual(await short(['querier.sub.default.svc.cluster.local']), [ip]);
    assert.deepEqual(await short(['+search', 'querier.sub']), [ip]);
    assert.deepEqual(await short([`${ip.replaceAll('.', '-')}.default.pod.cluster.local`]), [ip]);
    assert.deepEqual(await short(['dns-version.cluster.local', 'TXT']), ['"1.1.0"']);
  });

  it('forwards other names to the upstream and caches them (30 s), negative answers too', async () => {
    const before = up.seen.filter((s) => s === 'foo.example.test./A').length;
    assert.deepEqual(await short(['foo.example.test']), ['192.0.2.1']);
    assert.deepEqual(await short(['+tcp', 'foo.example.test']), ['192.0.2.1']);
    assert.ok(up.seen.filter((s) => s === 'foo.example.test./A').length <= before + 1, 'second query answered from the cache');
    assert.equal(await status(['missing.example.test']), 'NXDOMAIN');
    const n = up.seen.filter((s) => s === 'missing.example.test./A').length;
    assert.equal(await status(['missing.example.test']), 'NXDOMAIN');
    assert.equal(up.seen.filter((s) => s === 'missing.example.test./A').length, n, 'NXDOMAIN cached');
  });

  it('exports CoreDNS metrics and health through the kube-dns Service', async () => {
    const out = await kc(['exec', 'client', '--', 'curl', '-s', '--max-time', '3', 'http://10.96.0.10:9153/metrics']);
    assert.match(out, /coredns_dns_requests_total\{[^}]*proto="udp"[^}]*\} \d+/);
    assert.match(out, /coredns_dns_request_duration_seconds_bucket/);
    assert.match(out, /coredns_cache_hits_total/);
    assert.equal((await kc(['exec', 'client', '--', 'curl', '-s', '--max-time', '3', 'http://10.96.0.10:9153/health'])).trim(), 'OK');
  });
});
