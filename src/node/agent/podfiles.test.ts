import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { KObject } from '../../api/types.js';
import { podFileContents, writePodFiles } from './podfiles.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

const NODE_RESOLV = '# generated\nnameserver 192.168.1.1\nnameserver 192.168.1.2\nsearch corp.example\noptions edns0\n';
const base = { podIP: '10.244.0.5', clusterDNS: ['10.96.0.10'], clusterDomain: 'cluster.local', nodeResolvConf: NODE_RESOLV };

function pod(spec: Record<string, unknown>, name = 'web-0'): KObject {
  return { metadata: { name, namespace: 'shop', uid: 'u' }, spec: { containers: [{ name: 'c', image: 'x' }], ...spec } };
}

const HOSTS_HEADER =
  '# Kubernetes-managed hosts file.\n127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\nfe00::0\tip6-localnet\nfe00::0\tip6-mcastprefix\nfe00::1\tip6-allnodes\nfe00::2\tip6-allrouters\n';

test('resolv.conf per dnsPolicy and dnsConfig', () => {
  const cases: { name: string; spec: Record<string, unknown>; opts?: Partial<typeof base>; want: string; warn?: RegExp }[] = [
    {
      name: 'ClusterFirst (default)',
      spec: {},
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n',
    },
    { name: 'Default', spec: { dnsPolicy: 'Default' }, want: 'search corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n' },
    {
      name: 'None + dnsConfig',
      spec: { dnsPolicy: 'None', dnsConfig: { nameservers: ['1.1.1.1'], searches: ['a.example'], options: [{ name: 'ndots', value: '2' }, { name: 'rotate' }] } },
      want: 'search a.example\nnameserver 1.1.1.1\noptions ndots:2 rotate\n',
    },
    {
      name: 'ClusterFirst + dnsConfig option override',
      spec: { dnsConfig: { options: [{ name: 'ndots', value: '1' }] } },
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:1\n',
    },
    {
      name: 'ClusterFirst without cluster DNS falls back to Default with a warning',
      spec: {},
      opts: { clusterDNS: [] },
      want: 'search corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n',
      warn: /Falling back to "Default" policy/,
    },
    {
      name: 'hostNetwork ClusterFirst uses the node resolver',
      spec: { hostNetwork: true },
      want: 'search corp.example\nnameserver 192.168.1.1\nnameserver 192.168.1.2\noptions edns0\n',
    },
    {
      name: 'ClusterFirstWithHostNet',
      spec: { hostNetwork: true, dnsPolicy: 'ClusterFirstWithHostNet' },
      want: 'search shop.svc.cluster.local svc.cluster.local cluster.local corp.example\nnameserver 10.96.0.10\noptions ndots:5\n',
    },
  ];
  for (const c of cases) {
    const r = podFileContents(pod(c.spec), { ...base, ...c.opts });
    assert.equal(r.resolvConf, c.want, c.name);
    if (c.warn) assert.ok(r.warnings.some((w) => c.warn!.test(w)), c.name);
    else assert.deepEqual(r.warnings, [], c.name);
  }
});

test('hosts file and hostname from hostname/subdomain/hostAliases', () => {
  const long = 'a'.repeat(62) + '-bcd';
  const cases: { name: string; spec: Record<string, unknown>; podName?: string; opts?: Record<string, unknown>; hosts: string; hostname: string }[] = [
    { name: 'plain', spec: {}, hosts: HOSTS_HEADER + '10.244.0.5\tweb-0\n', hostname: 'web-0' },
    {
      name: 'hostname + subdomain',
      spec: { hostname: 'db', subdomain: 'backend' },
      hosts: HOSTS_HEADER + '10.244.0.5\tdb.backend.shop.svc.cluster.local\tdb\n',
      hostname: 'db',
    },
    {
      name: 'setHostnameAsFQDN',
      spec: { subdomain: 'sub', setHostnameAsFQDN: true },
      hosts: HOSTS_HEADER + '10.244.0.5\tweb-0.sub.shop.svc.cluster.local\tweb-0\n',
      hostname: 'web-0.sub.shop.svc.cluster.local',
    },
    {
      name: 'hostAliases',
      spec: { hostAliases: [{ ip: '10.1.2.3', hostnames: ['foo.local', 'bar.local'] }] },
      hosts: HOSTS_HEADER + '10.244.0.5\tweb-0\n\n# Entries added by HostAliases.\n10.1.2.3\tfoo.local\tbar.local\n',
      hostname: 'web-0',
    },
    { name: 'long pod name is cut to 63 chars', spec: {}, podName: long, hosts: HOSTS_HEADER + `10.244.0.5\t${'a'.repeat(62)}\n`, hostname: 'a'.repeat(62) },
    {
      name: 'hostNetwork copies the node hosts file and uses the node hostname',
      spec: { hostNetwork: true, hostAliases: [{ ip: '10.9.9.9', hostnames: ['x'] }] },
      opts: { nodeHosts: '127.0.0.1 localhost\n192.168.1.10 node1', nodeHostname: 'node1' },
      hosts: '127.0.0.1 localhost\n192.168.1.10 node1\n\n# Entries added by HostAliases.\n10.9.9.9\tx\n',
      hostname: 'node1',
    },
  ];
  for (const c of cases) {
    const r = podFileContents(pod(c.spec, c.podName), { ...base, ...c.opts });
    assert.equal(r.hosts, c.hosts, c.name);
    assert.equal(r.hostname, c.hostname, c.name);
  }
});

test('writePodFiles writes the kubelet-managed files and rewrites them in place', async () => {
  const podDir = await fsp.mkdtemp(path.join(os.tmpdir(), 'kl-podfiles-'));
  dirs.push(podDir);
  const p = pod({ hostname: 'h1' });
  const r = await writePodFiles(p, { ...base, podDir });
  assert.equal(r.hostsPath, path.join(podDir, 'etc-hosts'));
  assert.equal(r.resolvConfPath, path.join(podDir, 'resolv.conf'));
  assert.equal(r.hostnamePath, path.join(podDir, 'hostname'));
  assert.equal(r.hostname, 'h1');
  assert.equal(await fsp.readFile(r.hostsPath, 'utf8'), HOSTS_HEADER + '10.244.0.5\th1\n');
  assert.match(await fsp.readFile(r.resolvConfPath, 'utf8'), /^nameserver 10\.96\.0\.10$/m);
  assert.equal(await fsp.readFile(r.hostnamePath, 'utf8'), 'h1\n');
  const ino = (await fsp.stat(r.hostsPath)).ino;
  const mtime = (await fsp.stat(r.resolvConfPath)).mtimeMs;
  await new Promise((res) => setTimeout(res, 20));
  await writePodFiles(p, { ...base, podDir, podIP: '10.244.0.9' });
  assert.equal(await fsp.readFile(r.hostsPath, 'utf8'), HOSTS_HEADER + '10.244.0.9\th1\n');
  assert.equal((await fsp.stat(r.hostsPath)).ino, ino, 'same inode: bind mounts see the new content');
  assert.equal((await fsp.stat(r.resolvConfPath)).mtimeMs, mtime, 'unchanged file not rewritten');
});
