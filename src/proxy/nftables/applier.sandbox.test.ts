/**
 * Loads real rules with the real `nft` — only inside netns-sandbox (a throwaway network
 * namespace): `/work/shared/tools/netns-sandbox node --import tsx --test src/proxy/nftables/applier.sandbox.test.ts`.
 * After every partial sync, the table must equal (handles and element order aside) what a full
 * sync of the same state produces in a second table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import net from 'node:net';
import { jsonEqual } from '../../api/types.js';
import type { ProxyState } from '../types.js';
import { NftablesApplier } from './applier.js';
import { bigState, ep, plan, state, svc } from './fixtures.js';
import { chainName } from './render.js';

const inSandbox = process.env.SANDBOX_NETNS !== undefined && process.getuid?.() === 0;
const skip = inSandbox ? false : 'needs root inside /work/shared/tools/netns-sandbox';

type Json = Record<string, unknown>;

/** `nft -j list table`, normalised: no handles, table renamed, chains/sets sorted, elements sorted, rule order kept. */
function snapshot(table: string): unknown {
  const out = execFileSync('nft', ['-j', 'list', 'table', 'ip', table], { encoding: 'utf8', maxBuffer: 1 << 30 });
  const items = (JSON.parse(out) as { nftables: Json[] }).nftables;
  const strip = (o: Json): Json => {
    const c: Json = { ...o, table: 'T' };
    delete c.handle;
    if (Array.isArray(c.elem)) c.elem = c.elem.map((e) => JSON.stringify(e)).sort();
    return c;
  };
  const chains: string[] = [];
  const sets: string[] = [];
  const rules = new Map<string, string[]>();
  for (const it of items) {
    const [kind, body] = Object.entries(it)[0] as [string, Json];
    if (kind === 'chain') chains.push(JSON.stringify(strip(body)));
    else if (kind === 'set' || kind === 'map') sets.push(`${kind} ${JSON.stringify(strip(body))}`);
    else if (kind === 'rule') {
      const r = strip(body);
      const list = rules.get(String(r.chain)) ?? [];
      list.push(JSON.stringify(r));
      rules.set(String(r.chain), list);
    }
  }
  return { chains: chains.sort(), sets: sets.sort(), rules: [...rules].sort(([a], [b]) => (a < b ? -1 : 1)) };
}

const three = [ep('10.244.1.2'), ep('10.244.1.3'), ep('10.244.1.4')];
const db = plan(svc('db', { clusterIPs: ['10.96.0.20'], port: 5432 }), [ep('10.244.2.1', { port: 5432 })]);
const apiHttp = plan(svc('api', { clusterIPs: ['10.96.0.30'] }), three.slice(0, 2));
const apiHttps = plan(svc('api', { id: 'default/api:https/TCP', portName: 'https', clusterIPs: ['10.96.0.30'], port: 443 }), three.slice(0, 2));
const web = (o: Parameters<typeof svc>[1] = {}, eps = three, p: Parameters<typeof plan>[2] = {}): ReturnType<typeof plan> => plan(svc('web', o), eps, p);
const dns = plan(svc('dns', { id: 'default/dns:dns/UDP', portName: 'dns', protocol: 'UDP', clusterIPs: ['10.96.0.40'], port: 53, nodePort: 30053 }), []);

const steps: Array<[string, ProxyState]> = [
  ['initial', state([web(), db])],
  ['add a two-port service', state([web(), db, apiHttp, apiHttps])],
  ['change endpoints', state([web({}, [three[0]!, ep('10.244.1.9')]), db, apiHttp, apiHttps])],
  ['remove a port (shared cluster IP stays)', state([web({}, [three[0]!, ep('10.244.1.9')]), db, apiHttp])],
  ['remove a service', state([web({}, [three[0]!, ep('10.244.1.9')]), apiHttp])],
  ['affinity on', state([web({ sessionAffinity: { timeoutSeconds: 10800 } }), apiHttp])],
  ['affinity timeout change', state([web({ sessionAffinity: { timeoutSeconds: 60 } }), apiHttp])],
  ['affinity off', state([web(), apiHttp])],
  ['type change to NodePort', state([web({ nodePort: 30080 }), apiHttp])],
  ['LoadBalancer with source ranges, etp Local without local endpoints', state([web({ nodePort: 30080, loadBalancerIPs: ['203.0.113.5'], loadBalancerSourceRanges: ['198.51.100.0/24'], externalTrafficPolicy: 'Local' }, three, { externalEndpoints: [] }), apiHttp])],
  ['back to ClusterIP, UDP service without endpoints', state([web(), apiHttp, dns])],
  ['everything gone', state([])],
];

function changedIds(prev: ProxyState, next: ProxyState): Set<string> {
  const out = new Set<string>();
  for (const id of new Set([...prev.services.keys(), ...next.services.keys()])) {
    if (!jsonEqual(prev.services.get(id) ?? null, next.services.get(id) ?? null)) out.add(id);
  }
  return out;
}

test('partial syncs leave the kernel exactly as a full sync would', { skip }, async () => {
  const partial = new NftablesApplier({ table: 'kp' });
  const full = new NftablesApplier({ table: 'kf' });
  try {
    let prev = steps[0]![1];
    assert.equal((await partial.sync({ state: prev, changed: 'all' })).full, true);
    for (const [name, st] of steps.slice(1)) {
      const r = await partial.sync({ state: st, changed: changedIds(prev, st) });
      assert.equal(r.full, false, name);
      assert.ok(r.bytes > 0, name);
      await full.sync({ state: st, changed: 'all' });
      assert.deepEqual(snapshot('kp'), snapshot('kf'), `after "${name}"`);
      prev = st;
    }
  } finally {
    await partial.cleanup();
    await full.cleanup();
  }
  assert.throws(() => execFileSync('nft', ['list', 'table', 'ip', 'kp'], { stdio: 'pipe' }));
});

test('a rejected script leaves the old rules and the next sync is full', { skip }, async () => {
  const a = new NftablesApplier({ table: 'kx' });
  try {
    await a.sync({ state: state([web()]), changed: 'all' });
    // Sabotage: empty the table behind the applier's back, so the partial script's flush fails.
    execFileSync('nft', ['-f', '-'], { input: 'add table ip kx\ndelete table ip kx\nadd table ip kx\n' });
    await assert.rejects(a.sync({ state: state([web({}, three.slice(0, 2))]), changed: new Set([web().svc.id]) }), /nft -f - failed/);
    const r = await a.sync({ state: state([web({}, three.slice(0, 2))]), changed: new Set() });
    assert.equal(r.full, true);
    assert.match(execFileSync('nft', ['list', 'table', 'ip', 'kx'], { encoding: 'utf8' }), /numgen random mod 2/);
  } finally {
    await a.cleanup();
  }
});

const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

test('apply times at 10,000 services × 3 endpoints: no chain per endpoint; full and one-endpoint partial syncs', { skip }, async () => {
  const big = bigState(10_000);
  const a = new NftablesApplier({ table: 'kbig' });
  try {
    let t0 = performance.now();
    const r = await a.sync({ state: big, changed: 'all' });
    const fullMs = performance.now() - t0;
    const listed = JSON.parse(execFileSync('nft', ['-j', 'list', 'chains', 'ip'], { encoding: 'utf8', maxBuffer: 1 << 28 })) as { nftables: Array<{ chain?: { table: string } }> };
    const chains = listed.nftables.filter((x) => x.chain?.table === 'kbig').length;
    // One service chain per service port plus the skeleton's ~17: nothing per endpoint.
    assert.ok(chains > 10_000 && chains < 10_050, `${chains} chains`);
    // One endpoint changes in one service, over and over (3 → 2 endpoints and back, a new address each time).
    const id = 'ns/s5000:http/TCP';
    const p = big.services.get(id)!;
    const times: number[] = [];
    let bytes = 0;
    for (let i = 0; i < 21; i++) {
      const eps = i % 2 === 0 ? p.clusterEndpoints.slice(0, 2) : [...p.clusterEndpoints.slice(0, 2), ep(`10.200.0.${i}`)];
      const next: ProxyState = { node: big.node, services: new Map(big.services) };
      next.services.set(id, { ...p, clusterEndpoints: eps, externalEndpoints: eps });
      t0 = performance.now();
      const r2 = await a.sync({ state: next, changed: new Set([id]) });
      times.push(performance.now() - t0);
      assert.equal(r2.full, false);
      bytes = Math.max(bytes, r2.bytes);
    }
    // The periodic full resync replaces the populated table.
    t0 = performance.now();
    assert.equal((await a.sync({ state: big, changed: 'all' })).full, true);
    const resyncMs = performance.now() - t0;
    const sorted = [...times].sort((x, y) => x - y);
    console.log(`# nft apply 10k services × 3 endpoints: ${chains} chains; full ${fullMs.toFixed(0)} ms (${(r.bytes / 1e6).toFixed(1)} MB), full resync over it ${resyncMs.toFixed(0)} ms; one-endpoint partial sync over ${times.length} runs: median ${median(times).toFixed(1)} ms, p90 ${sorted[Math.floor(sorted.length * 0.9)]!.toFixed(1)} ms, max ${sorted[sorted.length - 1]!.toFixed(1)} ms (≤ ${bytes} bytes)`);
    assert.ok(bytes < 2000);
    // Generous bounds (a loaded machine); the logged numbers are the measurement.
    assert.ok(fullMs < 30_000 && resyncMs < 30_000 && median(times) < 1_000, `full ${fullMs} ms, resync ${resyncMs} ms, partial median ${median(times)} ms`);
    assert.match(execFileSync('nft', ['list', 'chain', 'ip', 'kbig', chainName('service', id)], { encoding: 'utf8' }), /numgen random mod 3 0 meta l4proto tcp dnat to /);
  } finally {
    await a.cleanup();
  }
});

/** Connects and reads the reply; 'refused' on RST/ICMP unreachable, 'timeout' when packets are dropped. */
function probe(host: string, port: number, timeoutMs = 400): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect({ host, port });
    let data = '';
    const t = setTimeout(() => { s.destroy(); resolve('timeout'); }, timeoutMs);
    s.on('data', (d) => { data += String(d); });
    s.on('end', () => { clearTimeout(t); resolve(data); });
    s.on('error', (e: NodeJS.ErrnoException) => { clearTimeout(t); resolve(e.code === 'ECONNREFUSED' ? 'refused' : String(e.code)); });
  });
}

test('real traffic: DNAT to a pod, reject without endpoints, drop for Local policy and unused service IPs', { skip }, async () => {
  const ns = `${process.env.SANDBOX_NETNS}-pod`;
  const sh = (...args: string[]): void => { execFileSync(args[0]!, args.slice(1), { stdio: 'pipe' }); };
  sh('ip', 'netns', 'add', ns);
  sh('ip', 'link', 'add', 'kl-veth', 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns);
  sh('ip', 'addr', 'add', '10.244.0.1/24', 'dev', 'kl-veth');
  sh('ip', 'link', 'set', 'kl-veth', 'up');
  sh('ip', 'route', 'add', '10.96.0.0/16', 'dev', 'kl-veth');
  sh('ip', 'netns', 'exec', ns, 'ip', 'addr', 'add', '10.244.0.5/24', 'dev', 'eth0');
  sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'eth0', 'up');
  sh('ip', 'netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up');
  sh('ip', 'netns', 'exec', ns, 'ip', 'route', 'add', 'default', 'via', '10.244.0.1');
  // Two tiny servers in the pod: each answers with its name and the client address it saw.
  const server = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', `
    const net = require('node:net');
    for (const [port, name] of [[8080, 'A'], [8081, 'B']]) net.createServer((s) => s.end(name + ' ' + s.remoteAddress)).listen(port, '0.0.0.0');
    setInterval(() => {}, 1000);`], { stdio: 'ignore' });
  const a = new NftablesApplier({ table: 'ktraffic' });
  try {
    for (let i = 0; i < 50 && (await probe('10.244.0.5', 8081)).startsWith('B') === false; i++) await new Promise((r) => setTimeout(r, 100));
    const pod = (port: number): ReturnType<typeof ep> => ep('10.244.0.5', { port, isLocal: true, nodeName: 'n1' });
    const remote = ep('10.244.1.9');
    const st = (webEps: ReturnType<typeof ep>[]): ProxyState => state([
      plan(svc('web', { clusterIPs: ['10.96.0.10'] }), webEps),
      plan(svc('empty', { clusterIPs: ['10.96.0.15'] }), []),
      // internalTrafficPolicy Local, endpoints only on another node: drop, not reject.
      plan(svc('itp', { clusterIPs: ['10.96.0.18'], internalTrafficPolicy: 'Local' }), [remote], { clusterEndpoints: [], localEndpoints: [] }),
    ]);
    await a.sync({ state: st([pod(8080)]), changed: 'all' });
    assert.equal(await probe('10.96.0.10', 80), 'A 10.244.0.1', 'ClusterIP reaches the pod, node traffic masqueraded');
    assert.equal(await probe('10.96.0.10', 81), 'refused', 'a cluster IP on an unknown port is rejected');
    const t0 = performance.now();
    assert.equal(await probe('10.96.0.15', 80), 'refused', 'no endpoints: rejected');
    assert.ok(performance.now() - t0 < 100, 'rejected at once');
    assert.equal(await probe('10.96.0.18', 80), 'timeout', 'Local policy without a local endpoint: dropped');
    assert.equal(await probe('10.96.0.99', 80), 'timeout', 'unused service IP: dropped');
    // Partial sync: the endpoint moves to the other port.
    const r = await a.sync({ state: st([pod(8081)]), changed: new Set(['default/web:http/TCP']) });
    assert.equal(r.full, false);
    assert.equal(await probe('10.96.0.10', 80), 'B 10.244.0.1');
    // Two endpoints: both answer within a few tries (cascade load balancing).
    await a.sync({ state: st([pod(8080), pod(8081)]), changed: new Set(['default/web:http/TCP']) });
    const seen = new Set<string>();
    for (let i = 0; i < 40 && seen.size < 2; i++) seen.add((await probe('10.96.0.10', 80)).split(' ')[0]!);
    assert.deepEqual([...seen].sort(), ['A', 'B']);
    // Hairpin: the pod reaches itself through its Service. Without masquerading it would see its
    // own address as the client and answer itself directly, and the connection would fail.
    writeFileSync('/proc/sys/net/ipv4/ip_forward', '1'); // this sandbox namespace only
    const fromPod = (): string => execFileSync('ip', ['netns', 'exec', ns, process.execPath, '-e', `
      const s = require('node:net').connect({ host: '10.96.0.10', port: 80 });
      let d = ''; s.on('data', (x) => { d += x; }); s.on('end', () => { console.log(d); process.exit(0); });
      s.on('error', (e) => { console.log(e.code); process.exit(0); });
      setTimeout(() => { console.log('timeout'); process.exit(0); }, 1500);`], { encoding: 'utf8' }).trim();
    await a.sync({ state: st([pod(8080)]), changed: new Set(['default/web:http/TCP']) });
    assert.equal(fromPod(), 'A 10.244.0.1', 'hairpin connection masqueraded to the node side of the veth');
    // The set element is what does it: without it, the same connection fails.
    sh('nft', 'delete', 'element', 'ip', 'ktraffic', 'hairpin', '{ 10.244.0.5 . 10.244.0.5 }');
    assert.doesNotMatch(fromPod(), /^A /, 'without the hairpin element the pod cannot reach itself');
    assert.equal((await a.sync({ state: st([pod(8080)]), changed: 'all' })).full, true);
    assert.equal(fromPod(), 'A 10.244.0.1');
  } finally {
    server.kill();
    await a.cleanup();
    try { sh('ip', 'link', 'del', 'kl-veth'); } catch { /* gone with the namespace */ }
  }
});
