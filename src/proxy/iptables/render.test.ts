import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { chainHash, cidrContains, renderIptables, renderIptablesParts, restoreInput } from './render.js';
import { renderJumps } from './chains.js';
import { CASES, ep, plan, state, svc } from '../nftables/fixtures.js';
import { IPTABLES_CASES, allCases } from './cases.js';
import type { ProxyState } from '../types.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function usable(): boolean {
  try {
    execFileSync('unshare', ['-rn', 'iptables-restore', '--test'], { input: '*nat\nCOMMIT\n', stdio: ['pipe', 'ignore', 'ignore'] });
    return true;
  } catch {
    return false;
  }
}
const restoreOk = usable();

function golden(file: string, out: string): void {
  mkdirSync(dir, { recursive: true });
  const path = join(dir, file);
  if (UPDATE || !existsSync(path)) writeFileSync(path, out);
  assert.equal(out, readFileSync(path, 'utf8'), `${file} differs (UPDATE_GOLDEN=1 regenerates)`);
}

for (const [name, st] of allCases()) {
  test(`golden ${name}`, () => golden(`${name}.txt`, renderIptables(st).restore));
  test(`iptables-restore --test accepts ${name}`, (t) => {
    if (!restoreOk) return t.skip('unshare -rn iptables-restore unavailable');
    const r = spawnSync('unshare', ['-rn', 'iptables-restore', '--test', '--noflush'], { input: renderIptables(st).restore, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
  });
  test(`every jump target of ${name} is declared`, () => {
    const text = renderIptables(st).restore;
    for (const table of text.split('COMMIT')) {
      const declared = new Set([...table.matchAll(/^:(\S+)/gm)].map((m) => m[1]));
      for (const m of table.matchAll(/ -j (KUBE-\S+)/g)) assert.ok(declared.has(m[1]), `${name}: -j ${m[1]} undeclared`);
    }
  });
}

test('golden jumps', () => golden('jumps.txt', renderJumps()));

test('chain names match kube proxier_test.go', () => {
  assert.equal('KUBE-SVC-' + chainHash('ns1/svc1:p80tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal('KUBE-SEP-' + chainHash('ns1/svc1:p80tcp10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

const has = (st: ProxyState, re: RegExp): boolean => re.test(renderIptables(st).restore);

test('features, table-driven', () => {
  const rows: Array<{ name: string; st: ProxyState; yes: RegExp[]; no?: RegExp[] }> = [
    {
      name: 'clusterip: probabilities, off-cluster masquerade, nodeports last',
      st: CASES.clusterip!,
      yes: [
        /-A KUBE-SVC-\S+ -m comment --comment "default\/web:http -> 10\.244\.1\.2:8080" -m statistic --mode random --probability 0\.3333333333 -j KUBE-SEP-/,
        /--probability 0\.5000000000 -j KUBE-SEP-/,
        /-A KUBE-SVC-\S+ .* -d 10\.96\.0\.10 --dport 80 ! -s 10\.244\.0\.0\/16 -j KUBE-MARK-MASQ/,
        /-A KUBE-SEP-\S+ -m comment --comment default\/web:http -s 10\.244\.1\.2 -j KUBE-MARK-MASQ/,
        /-m tcp -p tcp -j DNAT --to-destination 10\.244\.1\.4:8080/,
        /-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL ! -d 127\.0\.0\.0\/8 -j KUBE-NODEPORTS\nCOMMIT/,
      ],
      no: [/KUBE-EXT-/, /REJECT/],
    },
    { name: 'nodeport goes through KUBE-EXT with masquerade', st: CASES.nodeport!, yes: [/-A KUBE-NODEPORTS -m comment --comment default\/np:http -m tcp -p tcp --dport 30080 -j KUBE-EXT-/, /-A KUBE-EXT-\S+ -m comment --comment "masquerade traffic for default\/np:http external destinations" -j KUBE-MARK-MASQ/, /-A KUBE-EXT-(\S+) -j KUBE-SVC-\1/] },
    { name: 'externalIP', st: CASES.externalips!, yes: [/"default\/ext:http external IP" -m tcp -p tcp -d 192\.0\.2\.7 --dport 80 -j KUBE-EXT-/] },
    { name: 'lb with source ranges', st: CASES.lb!, yes: [/"default\/lb:http loadbalancer IP" -m tcp -p tcp -d 203\.0\.113\.5 --dport 80 -j KUBE-FW-/, /-A KUBE-FW-\S+ -m comment --comment "default\/lb:http loadbalancer IP" -s 198\.51\.100\.0\/24 -j KUBE-EXT-/, /-A KUBE-PROXY-FIREWALL .* -d 203\.0\.113\.5 --dport 80 -j DROP/], no: [/-s 203\.0\.113\.5/] },
    { name: 'lb allowing the node', st: IPTABLES_CASES['ipt-lb-fromnode']!, yes: [/-A KUBE-FW-\S+ .* -s 203\.0\.113\.10 -j KUBE-EXT-/] },
    { name: 'affinity', st: CASES.affinity!, yes: [/-m recent --name (KUBE-SEP-\S+) --rcheck --seconds 10800 --reap -j \1/, /-m recent --name KUBE-SEP-\S+ --set -m tcp -p tcp -j DNAT/] },
    { name: 'no endpoints: REJECT in filter', st: CASES.noendpoints!, yes: [/-A KUBE-SERVICES -m comment --comment "default\/empty:http has no endpoints" -m tcp -p tcp -d 10\.96\.0\.15 --dport 80 -j REJECT/, /-A KUBE-EXTERNAL-SERVICES .* -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30082 -j REJECT/], no: [/KUBE-SVC-/, /KUBE-EXT-/, /-A KUBE-NODEPORTS/] },
    { name: 'etp Local: short-circuit then KUBE-SVL', st: CASES.etplocal!, yes: [/"pod traffic for default\/loc:http external destinations" -s 10\.244\.0\.0\/16 -j KUBE-SVC-/, /--src-type LOCAL -j KUBE-MARK-MASQ/, /"route LOCAL traffic .*" -m addrtype --src-type LOCAL -j KUBE-SVC-/, /-A KUBE-EXT-(\S+) -j KUBE-SVL-\1/, /-A KUBE-SVL-\S+ -m comment --comment "default\/loc:http -> 10\.244\.0\.5:8080" -j KUBE-SEP-/] },
    { name: 'etp Local, none local: DROP external, keep short-circuit, health check open', st: IPTABLES_CASES['ipt-etplocal-none']!, yes: [/"default\/etl:http has no local endpoints" -m addrtype --dst-type LOCAL -m tcp -p tcp --dport 30090 -j DROP/, /"default\/etl:http has no local endpoints" -m tcp -p tcp -d 203\.0\.113\.9 --dport 80 -j DROP/, /-A KUBE-NODEPORTS -m comment --comment "default\/etl:http health check node port" -m tcp -p tcp --dport 32000 -j ACCEPT/, /-A KUBE-EXT-\S+ .* -j KUBE-SVC-/], no: [/KUBE-SVL-/, /-j REJECT/] },
    { name: 'itp Local, none local: DROP cluster IP', st: IPTABLES_CASES['ipt-itplocal-none']!, yes: [/-A KUBE-SERVICES -m comment --comment "default\/itl:http has no local endpoints" -m tcp -p tcp -d 10\.96\.0\.20 --dport 80 -j DROP/], no: [/KUBE-SVC-/, /KUBE-SVL-/, /KUBE-SEP-/] },
    { name: 'itp Local with a local endpoint: KUBE-SVL', st: IPTABLES_CASES['ipt-itplocal-local']!, yes: [/"default\/itl2:http cluster IP" -m tcp -p tcp -d 10\.96\.0\.21 --dport 80 -j KUBE-SVL-/], no: [/KUBE-SVC-/, /10\.244\.1\.2/] },
    { name: 'udp and unnamed ports', st: IPTABLES_CASES['ipt-multiport']!, yes: [/"default\/dns:dns cluster IP" -m udp -p udp -d 10\.96\.0\.24 --dport 53/, /--seconds 60 --reap/, /"default\/gone has no endpoints" -m tcp -p tcp -d 192\.0\.2\.8 --dport 80 -j REJECT/] },
    { name: 'no pod CIDR: no masquerade rule', st: IPTABLES_CASES['ipt-no-podcidr']!, yes: [/KUBE-SVC-/], no: [/! -s /] },
  ];
  for (const r of rows) {
    for (const re of r.yes) assert.ok(has(r.st, re), `${r.name}: missing ${re}`);
    for (const re of r.no ?? []) assert.ok(!has(r.st, re), `${r.name}: unexpected ${re}`);
  }
});

test('partial render skips unchanged service chains but keeps them active', () => {
  const st = state([plan(svc('a', { id: 'default/a:http/TCP', clusterIPs: ['10.96.0.30'] }), [ep('10.244.1.2')]), plan(svc('b', { id: 'default/b:http/TCP', clusterIPs: ['10.96.0.31'] }), [ep('10.244.1.3')])]);
  const full = renderIptablesParts(st);
  const part = renderIptablesParts(st, { chainsFor: new Set(['default/a:http/TCP']) });
  assert.deepEqual([...part.activeChains].sort(), [...full.activeChains].sort());
  const text = restoreInput(part);
  assert.match(text, /-d 10\.96\.0\.31 --dport 80 -j KUBE-SVC-/, 'KUBE-SERVICES still lists b');
  assert.ok(!text.includes('10.244.1.3'), 'b endpoint chain not rewritten');
  assert.ok(text.includes('10.244.1.2'));
});

test('stale chains are flushed and deleted after the rules', () => {
  const text = restoreInput(renderIptablesParts(CASES.clusterip!), { staleChains: ['KUBE-SVC-OLD', 'KUBE-SEP-OLD'] });
  const nat = text.slice(text.indexOf('*nat'));
  assert.ok(nat.indexOf(':KUBE-SEP-OLD - [0:0]') < nat.indexOf('-A KUBE-SERVICES'));
  assert.match(nat, /-X KUBE-SEP-OLD\n-X KUBE-SVC-OLD\nCOMMIT\n$/);
});

test('large cluster mode drops per-endpoint comments', () => {
  const r = renderIptables(CASES.clusterip!, { largeCluster: true }).restore;
  assert.match(r, /-A KUBE-SVC-\S+ -m statistic --mode random --probability 0\.3333333333 -j KUBE-SEP-/);
  assert.match(r, /-A KUBE-SEP-\S+ -s 10\.244\.1\.2 -j KUBE-MARK-MASQ/);
});

test('cidrContains', () => {
  const rows: Array<[string, string, boolean]> = [
    ['192.168.1.0/24', '192.168.1.10', true], ['192.168.1.0/24', '192.168.2.1', false], ['0.0.0.0/0', '8.8.8.8', true],
    ['10.0.0.1', '10.0.0.1', true], ['10.0.0.1/32', '10.0.0.2', false], ['10.0.0.0/8', 'fe80::1', false],
  ];
  for (const [c, ip, want] of rows) assert.equal(cidrContains(c, ip), want, `${c} ∋ ${ip}`);
});
