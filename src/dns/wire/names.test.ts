import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Compressor, isSubdomain, lowerName, nameCursor, nameEquals, readName, splitLabels, writeName } from './names.js';
import { DnsFormatError } from './errors.js';

describe('name helpers', () => {
  it('lowerName lowercases ASCII only and keeps lowercase input identical', () => {
    const cases: Array<[string, string]> = [
      ['Example.COM.', 'example.com.'],
      ['already.lower.', 'already.lower.'],
      ['.', '.'],
      ['A\\065B.', 'a\\065b.'],
      ['\\\\X.', '\\\\x.'],
      // Non-ASCII (never in decoded names) is left alone: only A-Z fold, unlike toLowerCase.
      ['\u00c4B\u0130.', '\u00c4b\u0130.'],
      ['\u00c4\u0130.', '\u00c4\u0130.'],
    ];
    for (const [input, want] of cases) assert.equal(lowerName(input), want, input);
  });

  it('nameEquals is case-insensitive and exact otherwise', () => {
    const cases: Array<[string, string, boolean]> = [
      ['WWW.Example.com.', 'www.example.COM.', true],
      ['a.', 'b.', false],
      ['a.', 'a', false],
      ['.', '.', true],
      ['@.', '`.', false], // 0x40 vs 0x60 differ by 32 but are not letters
      ['[.', '{.', false],
    ];
    for (const [a, b, want] of cases) assert.equal(nameEquals(a, b), want, `${a} vs ${b}`);
  });

  it('isSubdomain works label-wise', () => {
    const cases: Array<[string, string, boolean]> = [
      ['web.default.svc.cluster.local.', 'cluster.local.', true],
      ['cluster.local.', 'cluster.local.', true],
      ['Web.Cluster.Local.', 'cluster.local.', true],
      ['notcluster.local.', 'cluster.local.', false],
      ['local.', 'cluster.local.', false],
      ['a\\.cluster.local.', 'cluster.local.', false], // labels: `a\.cluster`, `local`
      ['x.a\\.cluster.local.', 'a\\.cluster.local.', true],
      ['a\\.cluster.local.', 'a.cluster.local.', false], // escaped dot is not a separator
      ['x.a\\\\.cluster.local.', 'cluster.local.', true],
      ['anything.', '.', true],
      ['web.cluster.local', 'cluster.local', true],
    ];
    for (const [n, z, want] of cases) assert.equal(isSubdomain(n, z), want, `${n} in ${z}`);
  });

  it('splitLabels keeps escapes and drops the root', () => {
    const cases: Array<[string, string[]]> = [
      ['.', []],
      ['a.b.c.', ['a', 'b', 'c']],
      ['a\\.b.c.', ['a\\.b', 'c']],
      ['a\\\\.c.', ['a\\\\', 'c']],
      ['x\\046y.', ['x\\046y']],
      ['no.dot', ['no', 'dot']],
    ];
    for (const [n, want] of cases) assert.deepEqual(splitLabels(n), want, n);
  });
});

describe('wire names', () => {
  it('round-trips escaped labels through the wire', () => {
    const cases: Array<[string, number[]]> = [
      ['.', [0]],
      ['a.', [1, 0x61, 0]],
      ['a\\.b.', [3, 0x61, 0x2e, 0x62, 0]],
      ['\\\\.', [1, 0x5c, 0]],
      ['\\000\\032\\127\\255.', [4, 0, 32, 127, 255, 0]],
      ['Ab.', [2, 0x41, 0x62, 0]],
    ];
    for (const [name, wire] of cases) {
      const buf = new Uint8Array(64);
      const end = writeName(buf, 0, name, null);
      assert.deepEqual([...buf.subarray(0, end)], wire, name);
      assert.equal(readName(buf, 0), name);
      assert.equal(nameCursor.end, end);
    }
  });

  it('parses non-canonical escapes (\\065 is A) and a missing trailing dot', () => {
    const buf = new Uint8Array(64);
    const end = writeName(buf, 0, '\\065\\b.c', null);
    assert.deepEqual([...buf.subarray(0, end)], [2, 0x41, 0x62, 1, 0x63, 0]);
    assert.equal(readName(buf, 0), 'Ab.c.');
  });

  it('rejects names the wire cannot carry when writing', () => {
    const bad = ['a..b.', '..', `${'x'.repeat(64)}.`, `${'abcdefg.'.repeat(32)}`, 'a\\', 'a\\25.', 'a\\256.', 'caf\u00e9\u20ac.'];
    for (const name of bad) assert.throws(() => writeName(new Uint8Array(600), 0, name, null), RangeError, name);
    // 63-octet label and a 255-octet name are fine.
    const long = `${'a'.repeat(63)}.${'b'.repeat(63)}.${'c'.repeat(63)}.${'d'.repeat(61)}.`;
    assert.equal(writeName(new Uint8Array(600), 0, long, null), 255);
  });

  it('compresses repeated suffixes with pointers', () => {
    const buf = new Uint8Array(128);
    const comp = new Compressor();
    let pos = writeName(buf, 12, 'www.example.com.', comp);
    assert.equal(pos, 12 + 17);
    const second = pos;
    pos = writeName(buf, pos, 'mail.example.com.', comp);
    assert.equal(pos, second + 5 + 2);
    assert.deepEqual([...buf.subarray(pos - 2, pos)], [0xc0, 16]);
    const third = pos;
    pos = writeName(buf, pos, 'www.example.com.', comp);
    assert.equal(pos, third + 2);
    assert.equal(readName(buf, second), 'mail.example.com.');
    assert.equal(nameCursor.end, third);
    assert.equal(readName(buf, third), 'www.example.com.');
  });

  it('rejects pointer loops, forward pointers and overlong names when reading', () => {
    const cases: Array<[string, number[]]> = [
      ['self pointer', [0xc0, 0]],
      ['forward pointer', [0xc0, 2, 1, 0x61, 0]],
      ['loop through label', [1, 0x61, 0xc0, 0]],
      ['pointer out of range', [0xff, 0xff]],
      ['truncated pointer', [0xc0]],
      ['truncated label', [5, 0x61]],
      ['missing root', [1, 0x61]],
      ['reserved label type', [0x40, 0]],
      ['too long', [...Array(4).fill([63, ...Array(63).fill(0x61)]).flat(), 0]],
    ];
    for (const [what, bytes] of cases) {
      assert.throws(() => readName(new Uint8Array(bytes), 0), DnsFormatError, what);
    }
  });
});
