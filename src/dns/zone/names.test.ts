import { test } from 'node:test';
import assert from 'node:assert/strict';
import { dashedIP, inZone, ipFromPodLabel, ipFromReverse, parseIP, splitLabels } from './names.js';

test('parseIP reads addresses as Go net.ParseIP does, canonical text out', () => {
  const table: Array<[string, string | undefined, (4 | 6)?]> = [
    ['10.0.0.1', '10.0.0.1', 4],
    ['0.0.0.0', '0.0.0.0', 4],
    ['255.255.255.255', '255.255.255.255', 4],
    ['256.0.0.1', undefined],
    ['01.2.3.4', undefined],
    ['1.2.3', undefined],
    ['1.2.3.4.5', undefined],
    ['1..3.4', undefined],
    ['', undefined],
    ['fd00::1', 'fd00::1', 6],
    ['FD00:0:0:0:0:0:0:1', 'fd00::1', 6],
    ['::', '::', 6],
    ['::1', '::1', 6],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1', 6],
    ['2001:0db8:0000:0000:0000:0000:0002:0001', '2001:db8::2:1', 6],
    ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0', 6],
    ['::ffff:10.1.2.3', '10.1.2.3', 4],
    ['::ffff:a01:203', '10.1.2.3', 4],
    ['::10.1.2.3', '::a01:203', 6],
    ['::1:0', '::1:0', 6],
    ['1::', '1::', 6],
    ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4', 6],
    ['::ffff:0:0', '0.0.0.0', 4],
    ['::fffe:a01:203', '::fffe:a01:203', 6],
    ['1:2:3:4:5:6:7:8:9', undefined],
    ['1::2::3', undefined],
    ['12345::1', undefined],
    ['fd00:', undefined],
    [':fd00::1', undefined],
    ['g::1', undefined],
  ];
  for (const [input, text, family] of table) {
    const got = parseIP(input);
    assert.deepEqual(got, text === undefined ? undefined : { text, family }, input);
  }
});

test('ipFromReverse: full reverse names only', () => {
  const v6 = 'b.a.9.8.7.6.5.0.4.0.0.0.3.0.0.0.2.0.0.0.1.0.0.0.0.0.0.0.1.2.3.4.ip6.arpa.';
  const table: Array<[string, string | undefined]> = [
    ['4.3.2.1.in-addr.arpa.', '1.2.3.4'],
    ['3.2.1.in-addr.arpa.', undefined],
    ['5.4.3.2.1.in-addr.arpa.', undefined],
    ['04.3.2.1.in-addr.arpa.', undefined],
    ['x.3.2.1.in-addr.arpa.', undefined],
    [v6, '4321:0:1:2:3:4:567:89ab'],
    ['1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.ip6.arpa.', '::1'],
    // Go's text: an IPv4-mapped address reads as IPv4, an IPv4-compatible one stays all-hex.
    [`3.0.2.0.1.0.a.0.f.f.f.f.${'0.'.repeat(20)}ip6.arpa.`, '10.1.2.3'],
    [`3.0.2.0.1.0.a.0.${'0.'.repeat(24)}ip6.arpa.`, '::a01:203'],
    ['4.3.2.::ffff:1.in-addr.arpa.', '1.2.3.4'],
    ['4.3..2.1.in-addr.arpa.', undefined],
    ['1.0.ip6.arpa.', undefined],
    [v6.replace('b.a', 'ba.'), undefined],
    [v6.replace('b.a', 'g.a'), undefined],
    ['example.com.', undefined],
  ];
  for (const [name, ip] of table) assert.equal(ipFromReverse(name), ip, name);
});

test('pod labels and endpoint dashes', () => {
  const pods: Array<[string, string | undefined]> = [
    ['10-244-0-5', '10.244.0.5'],
    ['fd00--5', 'fd00::5'],
    ['fd00-0-0-0-0-0-0-5', 'fd00::5'],
    ['--a01-203', '::a01:203'],
    ['--ffff-a01-203', '10.1.2.3'],
    ['FD00--A', 'fd00::a'],
    ['10-244-0', undefined],
    ['1-2-3-4-5', undefined],
    ['my-pod', undefined],
    ['a-b-c-d', undefined],
  ];
  for (const [label, ip] of pods) assert.equal(ipFromPodLabel(label)?.text, ip, label);
  assert.equal(dashedIP('10.1.2.3'), '10-1-2-3');
  assert.equal(dashedIP('fd00::1'), 'fd00--1');
});

test('inZone respects label boundaries and escapes; splitLabels keeps escapes', () => {
  const table: Array<[string, boolean]> = [
    ['cluster.local.', true],
    ['a.cluster.local.', true],
    ['acluster.local.', false],
    ['a\\.cluster.local.', false],
    ['a\\\\.cluster.local.', true],
    ['local.', false],
  ];
  for (const [name, want] of table) assert.equal(inZone(name, 'cluster.local.'), want, name);
  assert.deepEqual(splitLabels('a.b.c'), ['a', 'b', 'c']);
  assert.deepEqual(splitLabels('a\\.b.c'), ['a\\.b', 'c']);
  assert.deepEqual(splitLabels('a\\\\.c'), ['a\\\\', 'c']);
  assert.deepEqual(splitLabels(''), []);
});
