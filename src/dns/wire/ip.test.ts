import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import fc from 'fast-check';
import { formatIPv6, hexVal, ipFromReverse, parseIPv4, parseIPv6, reverseName } from './ip.js';

describe('IP text', () => {
  it('parses and rejects IPv4', () => {
    const ok = ['0.0.0.0', '10.96.0.10', '255.255.255.255'];
    const bad = ['256.1.1.1', '1.2.3', '1.2.3.4.5', '01.2.3.4', '1..2.3', '', 'a.b.c.d', '1.2.3.4 '];
    for (const s of ok) assert.ok(parseIPv4(s, new Uint8Array(4), 0), s);
    for (const s of bad) assert.ok(!parseIPv4(s, new Uint8Array(4), 0), s);
  });

  it('formats IPv6 canonically (like Node / libuv inet_ntop)', () => {
    const cases: Array<[string, string]> = [
      ['::', '::'],
      ['::1', '::1'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['1:0:0:2:0:0:3:4', '1::2:0:0:3:4'],
      ['1:0:2:3:4:5:6:7', '1:0:2:3:4:5:6:7'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1'],
      ['::ffff:a00:1', '::ffff:10.0.0.1'],
      ['fd00:10:96::a', 'fd00:10:96::a'],
      ['2001:db8::', '2001:db8::'],
      ['0001:0002:0003:0004:0005:0006:0007:0008', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, want] of cases) {
      const b = new Uint8Array(16);
      assert.ok(parseIPv6(input, b, 0), input);
      assert.equal(formatIPv6(b, 0), want, input);
    }
  });

  it('formats all-hex (Go net.IP.String style) with embeddedIPv4: false', () => {
    const cases: Array<[string, string, string]> = [
      ['::10.1.2.3', '::10.1.2.3', '::a01:203'],
      ['::1:0', '::0.1.0.0', '::1:0'],
      ['::ffff:10.0.0.1', '::ffff:10.0.0.1', '::ffff:a00:1'],
      ['::1', '::1', '::1'],
      ['2001:db8::1', '2001:db8::1', '2001:db8::1'],
      ['::', '::', '::'],
    ];
    for (const [input, dotted, hex] of cases) {
      const b = new Uint8Array(16);
      assert.ok(parseIPv6(input, b, 0), input);
      assert.equal(formatIPv6(b, 0, { embeddedIPv4: true }), dotted, input);
      assert.equal(formatIPv6(b, 0, { embeddedIPv4: false }), hex, input);
    }
  });

  it('reads hex digits', () => {
    const cases: Array<[string, number]> = [['0', 0], ['9', 9], ['a', 10], ['f', 15], ['A', 10], ['F', 15], ['g', -1], ['G', -1], [':', -1], ['/', -1], ['@', -1], ['`', -1]];
    for (const [c, v] of cases) assert.equal(hexVal(c.charCodeAt(0)), v, c);
  });

  it('rejects malformed IPv6', () => {
    const bad = [':', ':::', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', '1:2:3:4:5:6:7', 'g::', '1:', ':1', '1:2:3:4:5:6:7:1.2.3.4', '::1.2.3'];
    for (const s of bad) assert.ok(!parseIPv6(s, new Uint8Array(16), 0), s);
  });

  it('agrees with Node on every address (property)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 16, maxLength: 16 }), fc.integer({ min: 0, max: 0xffff }), (bytes, mask) => {
        // Zero some groups so runs of zeros are common.
        for (let k = 0; k < 8; k++) if (mask & (1 << k)) bytes[2 * k] = bytes[2 * k + 1] = 0;
        const text = formatIPv6(bytes, 0);
        const node = new net.SocketAddress({ address: text, family: 'ipv6' }).address;
        assert.equal(text, node);
        const back = new Uint8Array(16);
        assert.ok(parseIPv6(text, back, 0));
        assert.deepEqual(back, bytes);
      }),
      { numRuns: 2000 },
    );
  });
});

describe('reverse names', () => {
  it('maps addresses to reverse names and back', () => {
    const cases: Array<[string, string, string]> = [
      ['10.96.0.10', '10.0.96.10.in-addr.arpa.', '10.96.0.10'],
      ['0.0.0.0', '0.0.0.0.in-addr.arpa.', '0.0.0.0'],
      ['2001:db8::1', `1.${'0.'.repeat(23)}8.b.d.0.1.0.0.2.ip6.arpa.`, '2001:db8::1'],
      ['FD00::A', `a.${'0.'.repeat(29)}d.f.ip6.arpa.`, 'fd00::a'],
    ];
    for (const [ip, name, back] of cases) {
      assert.equal(reverseName(ip), name, ip);
      assert.equal(ipFromReverse(name), back, name);
      assert.equal(ipFromReverse(name.toUpperCase()), back, `${name} upper`);
    }
  });

  it('returns undefined for invalid input', () => {
    for (const ip of ['', 'x', '1.2.3', '1::2::3']) assert.equal(reverseName(ip), undefined, ip);
    const names = [
      '0.96.10.in-addr.arpa.',
      '96.10.in-addr.arpa.',
      'in-addr.arpa.',
      '1.10.0.96.10.in-addr.arpa.',
      '256.0.96.10.in-addr.arpa.',
      '01.0.96.10.in-addr.arpa.',
      'a.0.96.10.in-addr.arpa.',
      '1.0.0.127.example.com.',
      `${'0.'.repeat(31)}ip6.arpa.`,
      `${'0.'.repeat(31)}g.ip6.arpa.`,
      `${'0.'.repeat(30)}00.ip6.arpa.`,
      'ip6.arpa.',
    ];
    for (const n of names) assert.equal(ipFromReverse(n), undefined, n);
  });
});
