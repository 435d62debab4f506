import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { RRType } from '../types.js';
import type { Edns, Message, Question, RecordData, ResourceRecord } from '../types.js';
import { decodeMessage, DnsFormatError, encodeMessage } from './index.js';
import { formatIPv6 } from './ip.js';

/** Presentation of one label's octets, written independently of the codec's own escaping. */
function present(label: number[]): string {
  return label.map((c) => {
    if (c === 0x2e || c === 0x5c) return `\\${String.fromCharCode(c)}`;
    if (c < 0x21 || c > 0x7e) return `\\${String(c).padStart(3, '0')}`;
    return String.fromCharCode(c);
  }).join('');
}

// Mostly letters so suffixes repeat, with some arbitrary octets to exercise escapes.
const labelByte = fc.oneof({ weight: 4, arbitrary: fc.constantFrom(0x61, 0x62, 0x41, 0x2d) }, { weight: 1, arbitrary: fc.integer({ min: 0, max: 255 }) });
const labelArb = fc.array(labelByte, { minLength: 1, maxLength: 12 });
const nameArb: fc.Arbitrary<string> = fc.array(labelArb, { maxLength: 6 }).map((labels) => (labels.length === 0 ? '.' : `${labels.map(present).join('.')}.`));
const u16 = fc.integer({ min: 0, max: 0xffff });
const u32 = fc.integer({ min: 0, max: 0xffffffff });
const latin1 = fc.array(fc.integer({ min: 0, max: 255 }), { maxLength: 40 }).map((cs) => String.fromCharCode(...cs));

function dataArb(names: fc.Arbitrary<string>): fc.Arbitrary<[number, RecordData]> {
  return fc.oneof(
    fc.uint8Array({ minLength: 4, maxLength: 4 }).map((b): [number, RecordData] => [RRType.A, { kind: 'A', address: b.join('.') }]),
    fc.uint8Array({ minLength: 16, maxLength: 16 }).map((b): [number, RecordData] => [RRType.AAAA, { kind: 'AAAA', address: formatIPv6(b, 0) }]),
    names.map((target): [number, RecordData] => [RRType.NS, { kind: 'NS', target }]),
    names.map((target): [number, RecordData] => [RRType.CNAME, { kind: 'CNAME', target }]),
    names.map((target): [number, RecordData] => [RRType.PTR, { kind: 'PTR', target }]),
    fc.tuple(u16, names).map(([preference, exchange]): [number, RecordData] => [RRType.MX, { kind: 'MX', preference, exchange }]),
    fc.tuple(u16, u16, u16, names).map(([priority, weight, port, target]): [number, RecordData] => [RRType.SRV, { kind: 'SRV', priority, weight, port, target }]),
    fc.array(latin1, { maxLength: 4 }).map((texts): [number, RecordData] => [RRType.TXT, { kind: 'TXT', texts }]),
    fc.tuple(names, names, u32, u32, u32, u32, u32).map(([mname, rname, serial, refresh, retry, expire, minimum]): [number, RecordData] =>
      [RRType.SOA, { kind: 'SOA', mname, rname, serial, refresh, retry, expire, minimum }]),
    fc.tuple(fc.constantFrom(13, 99, 257, 65280, 65535), fc.uint8Array({ maxLength: 30 })).map(([type, bytes]): [number, RecordData] => [type, { kind: 'raw', bytes }]),
  );
}

function recordArb(names: fc.Arbitrary<string>): fc.Arbitrary<ResourceRecord> {
  return fc.tuple(names, fc.constantFrom(1, 3, 4), fc.integer({ min: 0, max: 0x7fffffff }), dataArb(names))
    .map(([name, cls, ttl, [type, data]]) => ({ name, type, class: cls, ttl, data }));
}

const ednsArb: fc.Arbitrary<Omit<Edns, 'extendedRcode'>> = fc.record({
  udpSize: u16,
  version: fc.integer({ min: 0, max: 255 }),
  dnssecOk: fc.boolean(),
  options: fc.array(fc.tuple(u16, fc.uint8Array({ maxLength: 20 })).map(([code, data]) => ({ code, data })), { maxLength: 3 }),
});

/** Messages whose names come from a small pool (plus prefixes of it) so compression kicks in. */
const messageArb: fc.Arbitrary<Message> = fc.array(nameArb, { minLength: 1, maxLength: 4 }).chain((pool) => {
  const names = fc.oneof(fc.constantFrom(...pool), fc.tuple(labelArb, fc.constantFrom(...pool)).map(([l, n]) => (n === '.' ? `${present(l)}.` : `${present(l)}.${n}`)))
    .filter((n) => n.length < 200);
  const question: fc.Arbitrary<Question> = fc.tuple(names, u16, u16).map(([name, type, cls]) => ({ name, type, class: cls }));
  return fc.record({
    id: u16, qr: fc.boolean(), opcode: fc.integer({ min: 0, max: 15 }), aa: fc.boolean(), tc: fc.boolean(), rd: fc.boolean(),
    ra: fc.boolean(), ad: fc.boolean(), cd: fc.boolean(), rcode: fc.integer({ min: 0, max: 4095 }),
    questions: fc.array(question, { maxLength: 2 }),
    answers: fc.array(recordArb(names), { maxLength: 5 }),
    authority: fc.array(recordArb(names), { maxLength: 3 }),
    additional: fc.array(recordArb(names), { maxLength: 3 }),
    edns: fc.option(ednsArb, { nil: undefined }),
  }).map(({ edns, ...m }): Message => {
    if (edns === undefined) return { ...m, rcode: m.rcode & 0xf };
    return { ...m, edns: { ...edns, extendedRcode: m.rcode >> 4 } };
  });
});

/** decodeMessage must return a Message or throw DnsFormatError; a decoded message must re-encode. */
function decodeOrFormErr(bytes: Uint8Array): void {
  let m: Message;
  try {
    m = decodeMessage(bytes);
  } catch (err) {
    if (!(err instanceof DnsFormatError)) throw new Error(`decode threw ${String(err)}`);
    return;
  }
  const again = encodeMessage(m);
  assert.deepEqual(decodeMessage(again), m);
}

const mutation = fc.oneof(
  fc.record({ op: fc.constant('flip' as const), at: fc.nat(), bits: fc.integer({ min: 1, max: 255 }) }),
  fc.record({ op: fc.constant('insert' as const), at: fc.nat(), bits: fc.integer({ min: 0, max: 255 }) }),
  fc.record({ op: fc.constant('delete' as const), at: fc.nat(), bits: fc.constant(0) }),
  fc.record({ op: fc.constant('truncate' as const), at: fc.nat(), bits: fc.constant(0) }),
);

function mutate(wire: Uint8Array, muts: Array<{ op: 'flip' | 'insert' | 'delete' | 'truncate'; at: number; bits: number }>): Uint8Array {
  let b = [...wire];
  for (const m of muts) {
    const at = b.length === 0 ? 0 : m.at % b.length;
    if (m.op === 'flip' && b.length > 0) b[at] ^= m.bits;
    else if (m.op === 'insert') b.splice(at, 0, m.bits);
    else if (m.op === 'delete') b.splice(at, 1);
    else if (m.op === 'truncate') b = b.slice(0, at);
  }
  return new Uint8Array(b);
}

describe('codec properties', () => {
  it('decode(encode(m)) deep-equals m', { timeout: 120_000 }, () => {
    fc.assert(fc.property(messageArb, (m) => {
      assert.deepEqual(decodeMessage(encodeMessage(m)), m);
    }), { numRuns: 1500 });
  });

  it('random bytes give a Message or DnsFormatError', { timeout: 120_000 }, () => {
    fc.assert(fc.property(fc.uint8Array({ maxLength: 300 }), decodeOrFormErr), { numRuns: 5000 });
    // Headers with small counts get further into the body.
    const smallCounts = fc.tuple(fc.uint8Array({ minLength: 4, maxLength: 4 }), fc.array(fc.integer({ min: 0, max: 3 }), { minLength: 4, maxLength: 4 }), fc.uint8Array({ maxLength: 200 }))
      .map(([h, counts, body]) => new Uint8Array([...h, ...counts.flatMap((c) => [0, c]), ...body]));
    fc.assert(fc.property(smallCounts, decodeOrFormErr), { numRuns: 5000 });
  });

  it('mutated valid messages give a Message or DnsFormatError', { timeout: 120_000 }, () => {
    fc.assert(fc.property(messageArb, fc.array(mutation, { minLength: 1, maxLength: 4 }), (m, muts) => {
      decodeOrFormErr(mutate(encodeMessage(m), muts));
    }), { numRuns: 3000 });
  });

  it('truncation never exceeds the limit and keeps questions and OPT', { timeout: 120_000 }, () => {
    fc.assert(fc.property(messageArb, fc.integer({ min: 512, max: 1500 }), (m, maxSize) => {
      const full = encodeMessage(m);
      const wire = encodeMessage(m, { maxSize });
      const back = decodeMessage(wire);
      const fixedPart = encodeMessage({ ...m, answers: [], authority: [], additional: [] }).length;
      assert.ok(wire.length <= Math.max(maxSize, fixedPart));
      assert.deepEqual(back.questions, m.questions);
      assert.deepEqual(back.edns, m.edns);
      if (full.length <= maxSize) assert.deepEqual(back, m);
      const droppedAnswers = back.answers.length < m.answers.length || back.authority.length < m.authority.length;
      assert.equal(back.tc, m.tc || droppedAnswers);
    }), { numRuns: 1000 });
  });
});
