/**
 * Real-kernel tests of the iptables mode. They program netfilter, so they run only inside
 * /work/shared/tools/netns-sandbox (a throwaway network namespace) as root:
 *
 *   cd /work/main && /work/shared/tools/netns-sandbox node --import tsx --test src/proxy/iptables/applier.sandbox.test.ts
 *
 * Outside the sandbox every test skips. Extra namespaces are named "$SANDBOX_NETNS-<x>" so the
 * sandbox removes them (and their processes) on exit.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import { IptablesApplier, execCommand } from './applier.js';
import { allCases } from './cases.js';
import { renderIptables } from './render.js';
import { JUMP_RULES, svcChain, sepChain } from './chains.js';
import { ep, plan, state, svc } from '../nftables/fixtures.js';
import type { ProxyState } from '../types.js';

const NS = process.env.SANDBOX_NETNS;
const inSandbox = NS !== undefined && NS !== '' && process.getuid?.() === 0;
const skip = inSandbox ? false : 'only inside netns-sandbox as root';

function sh(argv: string[]): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
  return r.stdout;
}
const save = (table: string): string => sh(['iptables-save', '-t', table]);
const kubeChains = (table: string): string[] => [...save(table).matchAll(/^:(KUBE-\S+)/gm)].map((m) => m[1]!).sort();

test('every golden passes iptables-restore --test', { skip }, () => {
  for (const [name, st] of allCases()) {
    const r = spawnSync('iptables-restore', ['--test', '--noflush'], { input: renderIptables(st).restore, encoding: 'utf8' });
    assert.equal(r.status, 0, `${name}: ${r.stderr}`);
  }
});

test('every case loads for real, shows in iptables-save, and cleans up completely', { skip }, async () => {
  const ap = new IptablesApplier();
  for (const [name, st] of allCases()) {
    assert.deepEqual(await ap.sync({ state: st, changed: 'all' }), { full: true }, name);
    const nat = save('nat');
    for (const p of st.services.values()) {
      for (const e of p.clusterEndpoints) assert.ok(nat.includes(`--to-destination ${e.ip}:${e.port}`), `${name}: DNAT to ${e.ip}:${e.port}`);
    }
    for (const j of JUMP_RULES) {
      const n = save(j.table).split('\n').filter((l) => l.startsWith(`-A ${j.from} `) && l.endsWith(`-j ${j.to}`)).length;
      assert.equal(n, 1, `${name}: ${j.table} ${j.from} -> ${j.to}`);
    }
    // A second full sync neither fails nor duplicates anything.
    const before = save('nat') + save('filter');
    await ap.sync({ state: st, changed: 'all' });
    assert.equal(strip(save('nat') + save('filter')), strip(before), name);
  }
  await ap.cleanup();
  assert.deepEqual(kubeChains('nat'), []);
  assert.deepEqual(kubeChains('filter'), []);
  assert.ok(!/KUBE-/.test(save('nat') + save('filter')), 'no jump left behind');
});

/** iptables-save lines without counters and comments' timestamps. */
function strip(s: string): string {
  return s.split('\n').filter((l) => !l.startsWith('#')).map((l) => l.replace(/\[\d+:\d+\]/g, '')).join('\n');
}

test('a resync after removing a service deletes its chains; partial sync keeps the rest', { skip }, async () => {
  const a = plan(svc('a', { id: 'default/a:http/TCP', clusterIPs: ['10.96.0.30'] }), [ep('10.244.1.2'), ep('10.244.1.3')]);
  const b = plan(svc('b', { id: 'default/b:http/TCP', clusterIPs: ['10.96.0.31'], nodePort: 30031 }), [ep('10.244.1.4')]);
  const ap = new IptablesApplier();
  try {
    await ap.sync({ state: state([a, b]), changed: 'all' });
    assert.ok(kubeChains('nat').includes(svcChain(b)));
    assert.deepEqual(await ap.sync({ state: state([a]), changed: new Set([b.svc.id]) }), { full: false });
    const chains = kubeChains('nat');
    assert.ok(!chains.includes(svcChain(b)), 'KUBE-SVC of b deleted');
    assert.ok(!chains.some((c) => c.startsWith('KUBE-EXT-')), 'KUBE-EXT of b deleted');
    assert.ok(!chains.includes(sepChain(b, b.clusterEndpoints[0]!)), 'KUBE-SEP of b deleted');
    assert.ok(chains.includes(svcChain(a)) && chains.includes(sepChain(a, a.clusterEndpoints[1]!)));
    assert.ok(!save('nat').includes('10.96.0.31'));
    // Shrink a's endpoints in a partial sync: the dropped endpoint's chain goes, the other stays.
    await ap.sync({ state: state([plan(a.svc, [ep('10.244.1.2')])]), changed: new Set([a.svc.id]) });
    assert.ok(!kubeChains('nat').includes(sepChain(a, a.clusterEndpoints[1]!)));
    assert.ok(kubeChains('nat').includes(sepChain(a, a.clusterEndpoints[0]!)));
  } finally {
    await ap.cleanup();
  }
  assert.deepEqual(kubeChains('nat'), []);
});

/** Start a TCP server in namespace `ns` that answers each connection with the client address. */
async function serverIn(ns: string, port: number): Promise<ChildProcess> {
  const code = `require('net').createServer((s) => s.end(s.remoteAddress + '\\n')).listen(${port}, '0.0.0.0', () => console.log('ready'));`;
  const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { stdio: ['ignore', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout!.once('data', () => resolve());
    child.once('exit', (c) => reject(new Error(`server exited ${c}`)));
  });
  return child;
}

function request(host: string, port: number): Promise<{ ok: true; body: string } | { ok: false; code: string; ms: number }> {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const s = net.connect({ host, port, timeout: 3000 });
    let body = '';
    s.on('data', (d) => { body += d.toString(); });
    s.on('end', () => resolve({ ok: true, body: body.trim() }));
    s.on('timeout', () => { s.destroy(); resolve({ ok: false, code: 'TIMEOUT', ms: Date.now() - t0 }); });
    s.on('error', (e: NodeJS.ErrnoException) => resolve({ ok: false, code: e.code ?? e.message, ms: Date.now() - t0 }));
  });
}

test('real traffic: a cluster IP is DNATed to a pod; a service without endpoints refuses at once', { skip }, async () => {
  const nsB = `${NS}-b`;
  sh(['ip', 'netns', 'add', nsB]);
  sh(['ip', 'link', 'add', 'vk-a', 'type', 'veth', 'peer', 'name', 'vk-b', 'netns', nsB]);
  sh(['ip', 'addr', 'add', '10.244.1.1/24', 'dev', 'vk-a']);
  sh(['ip', 'link', 'set', 'vk-a', 'up']);
  sh(['ip', 'netns', 'exec', nsB, 'ip', 'addr', 'add', '10.244.1.2/24', 'dev', 'vk-b']);
  sh(['ip', 'netns', 'exec', nsB, 'ip', 'link', 'set', 'vk-b', 'up']);
  sh(['ip', 'netns', 'exec', nsB, 'ip', 'link', 'set', 'lo', 'up']);
  // Cluster IPs must be routable for the first lookup (before OUTPUT DNAT), as on a real node.
  sh(['ip', 'route', 'add', '10.96.0.0/16', 'dev', 'vk-a']);
  const server = await serverIn(nsB, 8080);
  const ap = new IptablesApplier();
  try {
    const st: ProxyState = state([
      plan(svc('web', { clusterIPs: ['10.96.0.10'] }), [ep('10.244.1.2')]),
      plan(svc('empty', { id: 'default/empty:http/TCP', clusterIPs: ['10.96.0.15'] }), []),
    ]);
    await ap.sync({ state: st, changed: 'all' });
    const ok = await request('10.96.0.10', 80);
    assert.deepEqual(ok, { ok: true, body: '10.244.1.1' }, 'reached the pod, client IP preserved (pod CIDR source)');
    const refused = await request('10.96.0.15', 80);
    assert.equal(refused.ok, false);
    if (!refused.ok) {
      assert.equal(refused.code, 'ECONNREFUSED');
      assert.ok(refused.ms < 100, `refused in ${refused.ms} ms`);
    }
    // Removing the endpoint turns the first service into a reject too (partial sync).
    await ap.sync({ state: state([plan(svc('web', { clusterIPs: ['10.96.0.10'] }), [])]), changed: new Set(['default/web:http/TCP', 'default/empty:http/TCP']) });
    const gone = await request('10.96.0.10', 80);
    assert.equal(gone.ok ? 'connected' : gone.code, 'ECONNREFUSED');
  } finally {
    server.kill();
    await ap.cleanup();
    await execCommand(['ip', 'link', 'del', 'vk-a']);
  }
});

/** One request made from inside namespace `ns` (a child node process); resolves with the reply or an error code. */
function requestFrom(ns: string, host: string, port: number): Promise<string> {
  const code = `const s=require('net').connect({host:'${host}',port:${port},timeout:3000});let b='';` +
    `s.on('data',d=>b+=d);s.on('end',()=>console.log(b.trim()));s.on('timeout',()=>{console.log('TIMEOUT');process.exit(0)});` +
    `s.on('error',e=>console.log(e.code||e.message));`;
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', code], { encoding: 'utf8', timeout: 10000 });
  return Promise.resolve(r.stdout.trim());
}

test('real traffic: NodePort from outside the cluster; externalTrafficPolicy Local keeps the client IP', { skip }, async () => {
  const nsB = `${NS}-np-b`;
  const nsC = `${NS}-np-c`;
  sh(['sysctl', '-qw', 'net.ipv4.ip_forward=1']); // this netns only (the sandbox's)
  for (const ns of [nsB, nsC]) { sh(['ip', 'netns', 'add', ns]); sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up']); }
  sh(['ip', 'link', 'add', 'vn-b', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsB]);
  sh(['ip', 'link', 'add', 'vn-c', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', nsC]);
  sh(['ip', 'addr', 'add', '10.244.2.1/24', 'dev', 'vn-b']);
  sh(['ip', 'addr', 'add', '192.168.50.1/24', 'dev', 'vn-c']);
  for (const d of ['vn-b', 'vn-c']) sh(['ip', 'link', 'set', d, 'up']);
  for (const [ns, addr, gw] of [[nsB, '10.244.2.2/24', '10.244.2.1'], [nsC, '192.168.50.2/24', '192.168.50.1']] as const) {
    sh(['ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', addr, 'dev', 'eth0']);
    sh(['ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up']);
    sh(['ip', 'netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', gw]);
  }
  const server = await serverIn(nsB, 8080);
  const ap = new IptablesApplier();
  const node = { name: 'n1', addresses: ['192.168.50.1'], serviceCIDRs: ['10.96.0.0/16'], podCIDRs: ['10.244.0.0/16'] };
  const pod = ep('10.244.2.2', { isLocal: true, nodeName: 'n1' });
  const withPolicy = (policy: 'Cluster' | 'Local'): ProxyState => ({
    node,
    services: state([plan(svc('np', { clusterIPs: ['10.96.0.40'], nodePort: 30080, externalTrafficPolicy: policy }), [pod])]).services,
  });
  try {
    await ap.sync({ state: withPolicy('Cluster'), changed: 'all' });
    assert.equal(await requestFrom(nsC, '192.168.50.1', 30080), '10.244.2.1', 'Cluster policy: masqueraded to the node (its address on the pod side)');
    await ap.sync({ state: withPolicy('Local'), changed: new Set(['default/np:http/TCP']) });
    assert.equal(await requestFrom(nsC, '192.168.50.1', 30080), '192.168.50.2', 'Local policy: client IP preserved');
    // Local policy without a local endpoint: dropped (a timeout), not refused.
    const remote = ep('10.244.2.2', { isLocal: false, nodeName: 'n2' });
    const none: ProxyState = { node, services: state([plan(svc('np', { clusterIPs: ['10.96.0.40'], nodePort: 30080, externalTrafficPolicy: 'Local' }), [remote], { externalEndpoints: [], localEndpoints: [] })]).services };
    await ap.sync({ state: none, changed: new Set(['default/np:http/TCP']) });
    assert.equal(await requestFrom(nsC, '192.168.50.1', 30080), 'TIMEOUT');
  } finally {
    server.kill();
    await ap.cleanup();
    for (const d of ['vn-b', 'vn-c']) await execCommand(['ip', 'link', 'del', d]);
  }
});
