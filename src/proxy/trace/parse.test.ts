import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NftParseError, parseRuleset, tokenize } from './parse.js';
import { addrMatches } from './ip.js';

const testdata = join(fileURLToPath(new URL('.', import.meta.url)), '..', 'nftables', 'testdata');

test('every golden nftables script parses', () => {
  const files = readdirSync(testdata).filter((f) => f.endsWith('.nft'));
  assert.ok(files.length >= 5);
  for (const f of files) {
    const rs = parseRuleset(readFileSync(join(testdata, f), 'utf8'));
    const t = rs.tables.get('ip kubelite');
    assert.ok(t, f);
    assert.equal(t.chains.get('nat-prerouting')?.base?.priority, -100, f);
    assert.equal(t.chains.get('nat-postrouting')?.base?.priority, 100, f);
    assert.equal(t.sets.get('service-ips')?.keyType.length, 3, f);
  }
});

test('tokenize keeps addresses and splits punctuation', () => {
  assert.deepEqual(tokenize('ip saddr != { 10.0.0.0/8, 1.2.3.4 } comment "a b"'), ['ip', 'saddr', '!=', '{', '10.0.0.0/8', ',', '1.2.3.4', '}', 'comment', '"a b"']);
  assert.deepEqual(tokenize('flags dynamic,timeout ;'), ['flags', 'dynamic', ',', 'timeout', ';']);
});

const HEAD = 'add table ip t\nadd chain ip t c\n';
const bad: Array<[string, string, RegExp]> = [
  ['unknown statement', 'replace rule ip t c drop', /unknown statement/],
  ['unknown rule keyword', 'add rule ip t c iifname "eth0" drop', /unknown rule keyword "iifname"/],
  ['unknown selector', 'add rule ip t c ip protocol tcp drop', /unknown selector "ip protocol"/],
  ['missing chain', 'add rule ip t nope drop', /no chain nope/],
  ['missing table', 'add chain ip other c', /no table ip other/],
  ['bad family', 'add table bridge b', /unsupported family/],
  ['bad priority', 'add chain ip t b { type nat hook prerouting priority weird ; }', /unknown priority name/],
  ['element arity', 'add map ip t m { type ipv4_addr . inet_service : verdict ; }\nadd element ip t m { 1.2.3.4 : drop }', /element arity/],
  ['set element with value', 'add set ip t s { type ipv4_addr ; }\nadd element ip t s { 1.2.3.4 : drop }', /set element with value/],
  ['trailing junk', 'add set ip t s { type ipv4_addr ; } junk', /unexpected "junk"/],
  ['dnat to a non-address', 'add rule ip t c dnat to foo', /unsupported dnat target/],
];
for (const [name, line, re] of bad) {
  test(`parse refuses: ${name}`, () => {
    assert.throws(() => parseRuleset(HEAD + line), (e: unknown) => e instanceof NftParseError && re.test(e.message) && e.lineNo >= 3);
  });
}

test('statements apply in order: delete table, flush chain, delete element, flush map', () => {
  const rs = parseRuleset(
    [
      'add table ip t',
      'add chain ip t old',
      'delete table ip t',
      'add table ip t',
      'add chain ip t base { type filter hook forward priority dstnat - 10 ; policy drop ; }',
      'add chain ip t c',
      'add rule ip t c counter accept',
      'flush chain ip t c',
      'add rule ip t c ip daddr 10.0.0.1 drop comment "x"',
      'add map ip t m { type inet_proto . inet_service : verdict ; }',
      'add element ip t m { tcp . 80 : goto c, udp . 53 : drop }',
      'delete element ip t m { tcp . 80 }',
      'add set ip t s { type ipv4_addr ; flags dynamic,timeout ; timeout 3h ; }',
    ].join('\n'),
  );
  const t = rs.tables.get('ip t')!;
  assert.equal(t.chains.has('old'), false);
  assert.deepEqual(t.chains.get('base')!.base, { type: 'filter', hook: 'forward', priority: -110, policy: 'drop' });
  assert.deepEqual(t.chains.get('c')!.rules.map((r) => r.text), ['ip daddr 10.0.0.1 drop comment "x"']);
  assert.deepEqual(t.sets.get('m')!.elements, [{ key: ['udp', '53'], verdict: { kind: 'drop' } }]);
  assert.equal(t.sets.get('s')!.timeoutSeconds, 10800);
  assert.deepEqual(t.sets.get('s')!.flags, ['dynamic', 'timeout']);
});

test('addresses, CIDRs and ranges', () => {
  const cases: Array<[string, string, boolean]> = [
    ['10.96.0.10', '10.96.0.0/12', true],
    ['10.112.0.1', '10.96.0.0/12', false],
    ['1.2.3.4', '0.0.0.0/0', true],
    ['1.2.3.4', '1.2.3.4', true],
    ['1.2.3.5', '1.2.3.4', false],
    ['1.2.3.5', '1.2.3.1-1.2.3.9', true],
    ['255.255.255.255', '255.255.255.0/24', true],
  ];
  for (const [ip, pat, want] of cases) assert.equal(addrMatches(ip, pat), want, `${ip} ${pat}`);
  assert.throws(() => addrMatches('1.2.3.4', 'nonsense'));
});

test('kube-proxy spellings: short mark form, priority arithmetic, inline vmaps and anonymous sets', () => {
  const rs = parseRuleset(
    [
      'add table ip kp { comment "rules for kube-proxy" ; }',
      'add chain ip kp filter-output-post-dnat { type filter hook output priority dstnat+10 ; }',
      'add chain ip kp m',
      'add rule ip kp m mark set mark or 0x4000',
      'add rule ip kp m mark and 0x4000 == 0 return',
      'add rule ip kp m ip daddr { 10.96.0.0/12, 10.97.0.0/16 } drop comment "Drop traffic to unallocated ClusterIPs"',
      'add rule ip kp m meta l4proto . th dport vmap { tcp . 80 : goto m, udp . 53 : accept }',
      'add rule ip kp m tcp dport 80 counter packets 0 bytes 0 accept',
      'add rule ip kp m ip saddr != @cluster-ips reject with icmp type host-unreachable',
    ].join('\n'),
  );
  const t = rs.tables.get('ip kp')!;
  assert.equal(t.chains.get('filter-output-post-dnat')!.base!.priority, -90);
  const kinds = t.chains.get('m')!.rules.map((r) => r.exprs.map((e) => e.kind).join(','));
  assert.deepEqual(kinds, ['mark-set', 'mark-match,verdict', 'match,verdict,comment', 'vmap', 'match,match,counter,verdict', 'match,verdict']);
  const last = t.chains.get('m')!.rules[5]!.exprs[1]!;
  assert.deepEqual(last, { kind: 'verdict', verdict: { kind: 'reject', with: 'icmp type host-unreachable' } });
});

test('element statements: many elements per statement, replace by key, delete, and 30,000 elements in linear time', () => {
  const n = 30_000;
  const els = Array.from({ length: n }, (_, i) => `10.${i >> 16}.${(i >> 8) & 255}.${i & 255} . 10.${i >> 16}.${(i >> 8) & 255}.${i & 255}`);
  const lines = ['add table ip t', 'add set ip t h { type ipv4_addr . ipv4_addr ; }', 'add map ip t m { type inet_service : verdict ; }'];
  for (let i = 0; i < n; i += 1000) lines.push(`add element ip t h { ${els.slice(i, i + 1000).join(', ')} }`);
  lines.push('add element ip t m { 80 : drop, 81 : accept }', 'add element ip t m { 80 : accept }', 'delete element ip t h { 10.0.0.5 . 10.0.0.5, 10.0.0.7 . 10.0.0.7 }');
  const t0 = performance.now();
  const t = parseRuleset(lines.join('\n')).tables.get('ip t')!;
  assert.ok(performance.now() - t0 < 2000, 'linear');
  assert.equal(t.sets.get('h')!.elements.length, n - 2);
  assert.ok(!t.sets.get('h')!.elements.some((e) => e.key[0] === '10.0.0.5'));
  assert.deepEqual(t.sets.get('m')!.elements.map((e) => [e.key[0], e.verdict?.kind]), [['80', 'accept'], ['81', 'accept']]);
  assert.throws(() => parseRuleset(`${lines.slice(0, 2).join('\n')}\ndelete element ip t h { 1.1.1.1 . 1.1.1.1 }`), /no element 1\.1\.1\.1 \. 1\.1\.1\.1 in h/);
});
