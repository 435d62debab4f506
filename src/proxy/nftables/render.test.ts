import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { renderRuleset, chainName } from './render.js';
import { bigState, CASES } from './fixtures.js';

/** Every element body of `set` in a script (element statements carry many). */
function elementsOf(script: string, set: string): string[] {
  const re = new RegExp(`^add element ip \\S+ ${set} \\{ (.*) \\}$`, 'gm');
  return [...script.matchAll(re)].flatMap((m) => m[1]!.split(', '));
}

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function nftUsable(): boolean {
  try { execFileSync('unshare', ['-rn', 'nft', 'list', 'ruleset'], { stdio: 'ignore' }); return true; } catch { return false; }
}
const nftOk = nftUsable();

for (const [name, st] of Object.entries(CASES)) {
  test(`golden ${name}`, () => {
    const out = renderRuleset(st, {});
    const file = join(dir, `${name}.nft`);
    if (UPDATE || !existsSync(file)) writeFileSync(file, out);
    assert.equal(out, readFileSync(file, 'utf8'));
  });
  test(`nft -c accepts ${name}`, (t) => {
    if (!nftOk) { t.skip('nft or unshare -rn unavailable'); return; }
    const f = join(mkdtempSync(join(tmpdir(), 'nftc-')), 'r.nft');
    writeFileSync(f, renderRuleset(st));
    const r = spawnSync('unshare', ['-rn', 'nft', '-c', '-f', f], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
}

test('cascade picks uniformly: rule i fires with 1/(n-i) of what reaches it, DNATing itself', () => {
  const out = renderRuleset(CASES.clusterip!);
  const rules = out.split('\n').filter((l) => /^add rule ip kubelite service-[A-Z0-9]{8}-/.test(l)).map((l) => l.replace(/^add rule ip kubelite \S+ /, ''));
  assert.deepEqual(rules, [
    'numgen random mod 3 0 meta l4proto tcp dnat to 10.244.1.2:8080',
    'numgen random mod 2 0 meta l4proto tcp dnat to 10.244.1.3:8080',
    'meta l4proto tcp dnat to 10.244.1.4:8080',
  ]);
  assert.doesNotMatch(out, /vmap \{/, 'no anonymous sets');
});

test('no chain per endpoint: one chain per service port (plus external/local/firewall where needed)', () => {
  const count = (name: string): number => renderRuleset(CASES[name]!).match(/^add chain ip kubelite (service|cluster|external|local|firewall|endpoint)-[A-Z0-9]{8}-/gm)?.length ?? 0;
  const rows: Array<[string, number]> = [
    ['clusterip', 1], ['nodeport', 2], ['lb', 3], ['externalips', 2], ['affinity', 1], ['noendpoints', 0],
    ['etplocal', 3], ['etplocal-nolocal', 2], ['itplocal-nolocal', 0], ['itplocal-nodeport', 2], ['twoports', 2],
  ];
  for (const [name, n] of rows) assert.equal(count(name), n, name);
  assert.doesNotMatch(renderRuleset(bigState(10)), /add chain ip kubelite endpoint-/);
});

test('hairpin: one set element per endpoint address, masqueraded in nat-postrouting after DNAT', () => {
  const out = renderRuleset(CASES.clusterip!);
  assert.match(out, /^add set ip kubelite hairpin \{ type ipv4_addr \. ipv4_addr ; \}$/m);
  assert.deepEqual(out.match(/^add element ip kubelite hairpin .*$/gm), ['add element ip kubelite hairpin { 10.244.1.2 . 10.244.1.2, 10.244.1.3 . 10.244.1.3, 10.244.1.4 . 10.244.1.4 }']);
  const post = out.match(/^add rule ip kubelite nat-postrouting .*$/gm);
  assert.deepEqual(post, [
    'add rule ip kubelite nat-postrouting ct status dnat ip saddr . ip daddr @hairpin jump mark-for-masquerade',
    'add rule ip kubelite nat-postrouting jump masquerading',
  ]);
  // Two ports on one pod: the address appears once.
  assert.deepEqual(elementsOf(renderRuleset(CASES.twoports!), 'hairpin'), ['10.244.1.2 . 10.244.1.2']);
});

test('sessionAffinity ClientIP: per-endpoint sets; a hit refreshes the timeout and DNATs', () => {
  const out = renderRuleset(CASES.affinity!);
  assert.equal(out.match(/^add set ip kubelite affinity-\S+ \{ type ipv4_addr ; flags dynamic,timeout ; timeout 10800s ; \}$/gm)?.length, 2);
  assert.match(out, /^add rule ip kubelite service-\S+ ip saddr @(affinity-\S+) meta l4proto tcp update @\1 \{ ip saddr \} dnat to 10\.244\.1\.2:8080$/m);
  assert.match(out, /^add rule ip kubelite service-\S+ numgen random mod 2 0 meta l4proto tcp update @affinity-\S+ \{ ip saddr \} dnat to 10\.244\.1\.2:8080$/m);
});

test('features appear in the rendered script', () => {
  const c = renderRuleset(CASES.clusterip!, { table: 't1' });
  assert.match(c, /^add table ip t1$/m);
  assert.match(c, /numgen random mod 3 0 meta l4proto tcp dnat to 10\.244\.1\.2:8080/);
  assert.match(c, /add element ip t1 service-ips \{ 10\.96\.0\.10 \. tcp \. 80 : goto service-/);
  assert.match(c, /dnat to 10\.244\.1\.2:8080/);
  assert.match(c, /add element ip t1 cluster-ips \{ 10\.96\.0\.10 \}/);
  assert.match(renderRuleset(CASES.noendpoints!, {}), /no-endpoint-services \{ 10\.96\.0\.15 \. tcp \. 80 : goto reject-chain \}/);
  assert.match(renderRuleset(CASES.affinity!, {}), /update @affinity-\S+ \{ ip saddr \}/);
  assert.match(renderRuleset(CASES.lb!, {}), /ip saddr != 198\.51\.100\.0\/24 drop/);
  // Cluster-IP traffic from outside the pod network is marked for masquerade by one rule, before dispatch.
  assert.match(c, /^add rule ip t1 services ip daddr @cluster-ips ip saddr != 10\.244\.0\.0\/16 jump mark-for-masquerade\nadd rule ip t1 services ip daddr \. meta l4proto \. th dport vmap @service-ips$/m);
  assert.doesNotMatch(c, /^add rule ip t1 service-\S+ .*mark-for-masquerade$/m);
  assert.match(renderRuleset(CASES.nodeport!, {}), /service-nodeports \{ tcp \. 30080 : goto external-/);
});

test('no endpoint: reject only when none exists anywhere, else drop (kube-proxy)', () => {
  const rows: Array<[string, RegExp[], RegExp[]]> = [
    ['noendpoints', [/no-endpoint-services \{ 10\.96\.0\.15 \. tcp \. 80 : goto reject-chain \}/, /no-endpoint-nodeports \{ tcp \. 30082 : goto reject-chain \}/], [/: drop \}/]],
    ['udp-noendpoints', [/no-endpoint-services \{ 10\.96\.0\.21 \. udp \. 53 : goto reject-chain \}/, /no-endpoint-nodeports \{ udp \. 30053 : goto reject-chain \}/], [/: drop \}/]],
    ['etplocal-nolocal', [
      /no-endpoint-services \{ 192\.0\.2\.8 \. tcp \. 80 : drop \}/, /no-endpoint-nodeports \{ tcp \. 30084 : drop \}/,
      // cluster traffic still balanced; pods and the node short-circuit to the cluster chain
      /service-ips \{ 10\.96\.0\.17 \. tcp \. 80 : goto service-/, /^add rule ip kubelite external-\S+ fib saddr type local goto service-/m,
      /service-nodeports \{ tcp \. 30084 : goto external-/,
    ], [/reject-chain \}/, /^add chain ip kubelite local-/m]],
    ['itplocal-nolocal', [/no-endpoint-services \{ 10\.96\.0\.18 \. tcp \. 80 : drop \}/], [/reject-chain \}/, /add element ip kubelite service-ips/, /^add chain ip kubelite service-[A-Z0-9]{8}-/m]],
    ['itplocal-nodeport', [/no-endpoint-services \{ 10\.96\.0\.19 \. tcp \. 80 : drop \}/, /^add rule ip kubelite external-\S+ goto cluster-/m, /numgen random mod 3/], [/reject-chain \}/]],
  ];
  for (const [name, has, hasNot] of rows) {
    const out = renderRuleset(CASES[name]!, {});
    for (const re of has) assert.match(out, re, name);
    for (const re of hasNot) assert.doesNotMatch(out, re, name);
  }
});

test('the reject chain rejects (ICMP port unreachable also for UDP)', () => {
  assert.match(renderRuleset(CASES['udp-noendpoints']!, {}), /^add rule ip kubelite reject-chain reject$/m);
  assert.match(renderRuleset(CASES.udp!, {}), /meta l4proto udp dnat to 10\.244\.1\.5:53/);
});

test('shared cluster IP appears once in cluster-ips', () => {
  const out = renderRuleset(CASES.twoports!, {});
  assert.deepEqual(elementsOf(out, 'cluster-ips'), ['10.96.0.22']);
  assert.equal(elementsOf(out, 'service-ips').filter((e) => /^10\.96\.0\.22 \. tcp \. 443 : goto service-/.test(e)).length, 1);
});

test('full render is linear: 10,000 services × 3 endpoints', () => {
  const big = bigState(10_000);
  const times: number[] = [];
  let out = '';
  for (let i = 0; i < 3; i++) {
    const t0 = performance.now();
    out = renderRuleset(big, {});
    times.push(performance.now() - t0);
  }
  const best = Math.min(...times);
  console.log(`# full render 10k services: ${times.map((t) => t.toFixed(0)).join(' / ')} ms (best ${best.toFixed(0)} ms, ${(out.length / 1e6).toFixed(1)} MB)`);
  assert.equal(elementsOf(out, 'service-ips').length, 10_000);
  assert.equal(elementsOf(out, 'hairpin').length, 30_000);
  assert.equal(out.match(/^add element ip kubelite service-ips /gm)?.length, 10, 'batches of 1,000 elements');
  assert.ok(best < 2000, `render took ${best} ms`);
  // (The old renderer's L.includes() lookups made this quadratic: tens of seconds at 10k.)
});

test('chain names are stable and distinct', () => {
  assert.equal(chainName('service', 'a/b:p/TCP'), chainName('service', 'a/b:p/TCP'));
  assert.notEqual(chainName('service', 'a/b:p/TCP'), chainName('service', 'a/b:p/UDP'));
});
