import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Rcode, RRType } from '../types.js';
import type { Message, RecordData } from '../types.js';
import { decodeMessage, decodeQuery, encodeMessage } from './index.js';
import { hex, msg, rr } from './testutil.js';

const Q = { name: 'web.default.svc.cluster.local.', type: RRType.A, class: 1 };

function roundTrip(m: Message): Message {
  const wire = encodeMessage(m);
  const back = decodeMessage(wire);
  assert.deepEqual(decodeQuery(wire), back);
  return back;
}

describe('per-type round trips', () => {
  const cases: Array<[string, number, RecordData, RecordData?]> = [
    ['A', RRType.A, { kind: 'A', address: '10.96.0.10' }],
    ['AAAA full', RRType.AAAA, { kind: 'AAAA', address: '2001:db8:1:2:3:4:5:6' }],
    ['AAAA ::', RRType.AAAA, { kind: 'AAAA', address: '::' }, { kind: 'AAAA', address: '::' }],
    ['AAAA long form', RRType.AAAA, { kind: 'AAAA', address: '2001:0DB8:0000:0000:0000:0000:0000:0001' }, { kind: 'AAAA', address: '2001:db8::1' }],
    ['AAAA mapped', RRType.AAAA, { kind: 'AAAA', address: '::FFFF:10.1.2.3' }, { kind: 'AAAA', address: '::ffff:10.1.2.3' }],
    ['NS', RRType.NS, { kind: 'NS', target: 'ns.dns.cluster.local.' }],
    ['CNAME', RRType.CNAME, { kind: 'CNAME', target: 'Example.COM.' }],
    ['PTR', RRType.PTR, { kind: 'PTR', target: 'web.default.svc.cluster.local.' }],
    ['MX', RRType.MX, { kind: 'MX', preference: 10, exchange: 'mail.svc.cluster.local.' }],
    ['SRV', RRType.SRV, { kind: 'SRV', priority: 0, weight: 100, port: 8080, target: 'web-0.web.default.svc.cluster.local.' }],
    ['TXT several', RRType.TXT, { kind: 'TXT', texts: ['1.1.0', 'hello world', '', 'x'.repeat(255)] }],
    ['TXT empty string', RRType.TXT, { kind: 'TXT', texts: [''] }],
    ['TXT binary octets', RRType.TXT, { kind: 'TXT', texts: ['\u0000\u00ff"\\'] }],
    ['SOA', RRType.SOA, { kind: 'SOA', mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 4294967295, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 }],
    ['raw unknown type', 65280, { kind: 'raw', bytes: new Uint8Array([1, 2, 3, 0xc0, 0x0c]) }],
    ['raw empty', 65281, { kind: 'raw', bytes: new Uint8Array(0) }],
  ];
  for (const [what, type, data, want] of cases) {
    it(what, () => {
      const m = msg({ qr: true, aa: true, questions: [{ ...Q, type }], answers: [rr(Q.name, type, data)] });
      const back = roundTrip(m);
      assert.deepEqual(back.answers[0].data, want ?? data);
      assert.deepEqual({ ...back, answers: [] }, { ...m, answers: [] });
    });
  }

  it('TXT with non-latin1 text is sent as UTF-8 octets', () => {
    const m = msg({ answers: [rr('t.', RRType.TXT, { kind: 'TXT', texts: ['\u20ac'] })] });
    const back = roundTrip(m);
    assert.deepEqual(back.answers[0].data, { kind: 'TXT', texts: ['\u00e2\u0082\u00ac'] });
  });

  it('OPT with options, DO bit and version', () => {
    const m = msg({
      questions: [Q],
      edns: { udpSize: 1232, version: 0, dnssecOk: true, extendedRcode: 0, options: [
        { code: 10, data: new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]) },
        { code: 8, data: new Uint8Array([0, 1, 24, 0, 10, 1, 2]) },
        { code: 12, data: new Uint8Array(0) },
      ] },
    });
    const wire = encodeMessage(m);
    assert.equal(wire.readUInt16BE(10), 1, 'ARCOUNT counts the OPT record');
    assert.deepEqual(roundTrip(m), m);
  });

  it('extended RCODE BADVERS is split between header and OPT', () => {
    const m = msg({ qr: true, rcode: Rcode.BADVERS, questions: [Q], edns: { udpSize: 4096, version: 0, dnssecOk: false, extendedRcode: 1, options: [] } });
    const wire = encodeMessage(m);
    assert.equal(wire[3] & 0xf, 0, 'header holds the low 4 bits');
    // OPT is the last 11 octets: name(1) type(2) class(2) then the extended RCODE octet.
    assert.equal(wire[wire.length - 11 + 5], 1);
    assert.equal(wire[wire.length - 11 + 6], 0);
    assert.deepEqual(roundTrip(m), m);
  });

  it('keeps every header flag and all sections', () => {
    const m = msg({
      id: 0xffff, qr: true, opcode: 2, aa: true, tc: true, rd: false, ra: true, ad: true, cd: true, rcode: Rcode.NXDOMAIN,
      questions: [Q, { name: '.', type: RRType.NS, class: 255 }],
      answers: [rr(Q.name, RRType.A, { kind: 'A', address: '1.2.3.4' }, 0)],
      authority: [rr('cluster.local.', RRType.SOA, { kind: 'SOA', mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 1, refresh: 2, retry: 3, expire: 4, minimum: 5 }, 2147483647)],
      additional: [rr('x.', RRType.AAAA, { kind: 'AAAA', address: 'fd00::1' })],
    });
    assert.deepEqual(roundTrip(m), m);
  });

  it('treats a TTL with the top bit set as zero (RFC 2181)', () => {
    const m = msg({ answers: [rr('a.', RRType.A, { kind: 'A', address: '1.1.1.1' })] });
    const wire = encodeMessage(m);
    assert.equal(decodeMessage(wire).answers[0].ttl, 30);
    wire.writeUInt32BE(0x80000001, 12 + 3 + 4); // after the header, the owner `a.` (3 octets), type and class
    assert.equal(decodeMessage(wire).answers[0].ttl, 0);
  });

  it('rejects content the wire cannot carry when encoding', () => {
    const bad: Array<[string, RecordData]> = [
      ['bad A', { kind: 'A', address: '1.2.3' }],
      ['bad AAAA', { kind: 'AAAA', address: '1::2::3' }],
      ['long TXT', { kind: 'TXT', texts: ['x'.repeat(256)] }],
      ['bad CNAME', { kind: 'CNAME', target: 'a..b.' }],
    ];
    for (const [what, data] of bad) assert.throws(() => encodeMessage(msg({ answers: [rr('a.', 1, data)] })), RangeError, what);
    const huge = msg({ answers: Array.from({ length: 300 }, () => rr('a.', 65280, { kind: 'raw', bytes: new Uint8Array(250) })) });
    assert.throws(() => encodeMessage(huge), RangeError);
  });
});

describe('compression', () => {
  it('shrinks a message with repeated names and decodes back', () => {
    const name = 'web.default.svc.cluster.local.';
    const answers = Array.from({ length: 10 }, (_, i) => rr(name, RRType.A, { kind: 'A', address: `10.0.0.${i}` }));
    const m = msg({ qr: true, questions: [{ name, type: RRType.A, class: 1 }], answers,
      authority: [rr('cluster.local.', RRType.NS, { kind: 'NS', target: 'ns.dns.cluster.local.' })] });
    const wire = encodeMessage(m);
    const nameLen = 31;
    const uncompressed = 12 + nameLen + 4 + 10 * (nameLen + 14) + (15 + 10 + 22);
    // Answers each cost 2 (pointer) + 14; the NS owner is a pointer and its target shares `cluster.local.`.
    assert.equal(wire.length, 12 + nameLen + 4 + 10 * 16 + (2 + 10 + 3 + 4 + 2));
    assert.ok(wire.length < uncompressed / 2);
    assert.deepEqual(decodeMessage(wire), m);
  });

  it('does not compress SRV targets but does compress other RDATA names', () => {
    const target = 'web-0.web.default.svc.cluster.local.';
    const m = msg({ answers: [
      rr('_http._tcp.web.default.svc.cluster.local.', RRType.SRV, { kind: 'SRV', priority: 0, weight: 0, port: 80, target }),
      rr(target, RRType.A, { kind: 'A', address: '10.0.0.1' }),
      rr('x.default.svc.cluster.local.', RRType.CNAME, { kind: 'CNAME', target }),
    ] });
    const wire = encodeMessage(m);
    // SRV target written in full: `web-0` label then `web` and the compressed rest would be shorter.
    const srvStart = 12 + 42 + 10 + 6;
    assert.equal(wire[srvStart], 5);
    assert.equal(wire.subarray(srvStart + 1, srvStart + 6).toString(), 'web-0');
    assert.equal(wire[srvStart + 6], 3);
    assert.equal(wire.subarray(srvStart + 7, srvStart + 10).toString(), 'web');
    assert.equal(wire[srvStart + 10], 7, 'the rest of the SRV target is labels, not a pointer');
    // The CNAME RDATA is a single pointer.
    assert.equal(wire.readUInt16BE(wire.length - 4), 2);
    assert.equal(wire[wire.length - 2] & 0xc0, 0xc0);
    assert.deepEqual(decodeMessage(wire), m);
  });

  it('accepts a compressed SRV target when decoding (as miekg/dns does)', () => {
    const wire = hex(`0001 8000 0001 0001 0000 0000 0161 00 0021 0001
      c00c 0021 0001 0000001e 0008 0000 0000 0050 c00c`);
    const m = decodeMessage(wire);
    assert.deepEqual(m.answers[0].data, { kind: 'SRV', priority: 0, weight: 0, port: 80, target: 'a.' });
  });
});

describe('golden: what `dig example.com A` (BIND 9.18) sends', () => {
  const bytes = hex(`f223 0120 0001 0000 0000 0001
    07 6578616d706c65 03 636f6d 00 0001 0001
    00 0029 04d0 00 00 0000 000c 000a 0008 53cd8b35cde92dcb`);
  const m = msg({
    id: 0xf223, rd: true, ad: true,
    questions: [{ name: 'example.com.', type: RRType.A, class: 1 }],
    edns: { udpSize: 1232, version: 0, dnssecOk: false, extendedRcode: 0, options: [{ code: 10, data: hex('53cd8b35cde92dcb') }] },
  });

  it('encodes to the exact bytes', () => {
    assert.deepEqual(new Uint8Array(encodeMessage(m)), bytes);
  });

  it('decodes to the message', () => {
    assert.deepEqual(decodeMessage(bytes), m);
    assert.deepEqual(decodeQuery(bytes), m);
  });

  it('ignores trailing bytes after the last record', () => {
    const padded = new Uint8Array([...bytes, 0xde, 0xad]);
    assert.deepEqual(decodeMessage(padded), m);
  });

  it('decodes from a Uint8Array view with an offset', () => {
    const big = new Uint8Array(bytes.length + 7);
    big.set(bytes, 7);
    assert.deepEqual(decodeMessage(big.subarray(7)), m);
  });
});
