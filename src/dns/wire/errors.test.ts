import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RRType } from '../types.js';
import { decodeMessage, decodeQuery, DnsFormatError, encodeMessage } from './index.js';
import { hex, msg, rr } from './testutil.js';

/** Header for id 0xabcd, opcode QUERY, RD, with the given counts. */
function header(qd: number, an: number, ns: number, ar: number): string {
  const c = (n: number): string => n.toString(16).padStart(4, '0');
  return `abcd 0100 ${c(qd)} ${c(an)} ${c(ns)} ${c(ar)}`;
}
const QUESTION = '01 61 00 0001 0001'; // a. A IN
const OPT = '00 0029 1000 00000000 0000';

interface Case {
  what: string;
  bytes: string;
  /** The first question is readable, so the error must carry it. */
  withQuestion: boolean;
}

const cases: Case[] = [
  { what: 'short header', bytes: 'abcd 0100 0001 0000 0000', withQuestion: false },
  { what: 'question count past the buffer', bytes: `${header(2, 0, 0, 0)} ${QUESTION}`, withQuestion: true },
  { what: 'question fixed part truncated', bytes: `${header(1, 0, 0, 0)} 01 61 00 0001`, withQuestion: false },
  { what: 'answer count past the buffer', bytes: `${header(1, 1, 0, 0)} ${QUESTION}`, withQuestion: true },
  { what: 'additional count past the buffer', bytes: `${header(1, 0, 0, 1)} ${QUESTION}`, withQuestion: true },
  { what: 'label longer than 63 (0x40 label type)', bytes: `${header(1, 0, 0, 0)} 40 ${'61'.repeat(64)} 00 0001 0001`, withQuestion: false },
  { what: 'name longer than 255 octets', bytes: `${header(1, 0, 0, 0)} ${`3f ${'61'.repeat(63)}`.repeat(4)} 00 0001 0001`, withQuestion: false },
  { what: 'pointer loop', bytes: `${header(1, 0, 0, 0)} c00c 0001 0001`, withQuestion: false },
  { what: 'two-pointer loop', bytes: `${header(1, 1, 0, 0)} 01 61 c0 12 0001 0001 c00c 0001 0001 0000001e 0004 01020304`, withQuestion: false },
  { what: 'forward pointer', bytes: `${header(1, 0, 0, 0)} c0 0e 01 61 00 0001 0001`, withQuestion: false },
  { what: 'pointer out of range', bytes: `${header(1, 0, 0, 0)} c0 ff 0001 0001`, withQuestion: false },
  { what: 'RDLENGTH past the buffer', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 0001 0000001e 0004 0102`, withQuestion: true },
  { what: 'A RDATA shorter than 4', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 0001 0000001e 0003 010203`, withQuestion: true },
  { what: 'A RDATA longer than 4', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 0001 0000001e 0005 0102030405`, withQuestion: true },
  { what: 'A RDATA empty', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 0001 0000001e 0000`, withQuestion: true },
  { what: 'AAAA RDATA of 4', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 001c 0001 0000001e 0004 01020304`, withQuestion: true },
  { what: 'CNAME name past RDLENGTH', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0005 0001 0000001e 0002 01 62 00`, withQuestion: true },
  { what: 'CNAME RDLENGTH longer than name', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0005 0001 0000001e 0004 01 62 00 ff`, withQuestion: true },
  { what: 'MX too short', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 000f 0001 0000001e 0002 000a`, withQuestion: true },
  { what: 'SRV too short', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0021 0001 0000001e 0006 0000 0000 0050`, withQuestion: true },
  { what: 'SOA missing serial fields', bytes: `${header(1, 0, 1, 0)} ${QUESTION} c00c 0006 0001 0000001e 0008 c00c c00c 00000001`, withQuestion: true },
  { what: 'TXT string past RDLENGTH', bytes: `${header(1, 1, 0, 0)} ${QUESTION} c00c 0010 0001 0000001e 0003 05 6869`, withQuestion: true },
  { what: 'two OPT records', bytes: `${header(1, 0, 0, 2)} ${QUESTION} ${OPT} ${OPT}`, withQuestion: true },
  { what: 'OPT in the answer section', bytes: `${header(1, 1, 0, 0)} ${QUESTION} ${OPT}`, withQuestion: true },
  { what: 'OPT in the authority section', bytes: `${header(1, 0, 1, 0)} ${QUESTION} ${OPT}`, withQuestion: true },
  { what: 'OPT with a non-root name', bytes: `${header(1, 0, 0, 1)} ${QUESTION} c00c 0029 1000 00000000 0000`, withQuestion: true },
  { what: 'OPT option past RDLENGTH', bytes: `${header(1, 0, 0, 1)} ${QUESTION} 00 0029 1000 00000000 0006 000a 0008 0102`, withQuestion: true },
  { what: 'OPT option header truncated', bytes: `${header(1, 0, 0, 1)} ${QUESTION} 00 0029 1000 00000000 0002 000a`, withQuestion: true },
];

describe('DnsFormatError', () => {
  for (const c of cases) {
    it(c.what, () => {
      const bytes = hex(c.bytes);
      for (const decode of [decodeMessage, decodeQuery]) {
        assert.throws(() => decode(bytes), (err: unknown) => {
          assert.ok(err instanceof DnsFormatError, `got ${String(err)}`);
          if (bytes.length >= 12) {
            assert.equal(err.id, 0xabcd);
            assert.equal(err.opcode, 0);
            assert.equal(err.rd, true);
          } else {
            assert.equal(err.id, undefined);
          }
          assert.deepEqual(err.question, c.withQuestion ? { name: 'a.', type: RRType.A, class: 1 } : undefined);
          return true;
        });
      }
    });
  }

  it('the valid counterparts of the cases decode', () => {
    const ok = [
      `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 0001 0000001e 0004 01020304`,
      `${header(1, 0, 0, 1)} ${QUESTION} ${OPT}`,
      `${header(1, 1, 0, 0)} ${QUESTION} c00c 0005 0001 0000001e 0003 01 62 00`,
      `${header(1, 0, 1, 0)} ${QUESTION} c00c 0006 0001 0000001e 0018 c00c c00c 00000001 00000002 00000003 00000004 00000005`,
      // RFC 2136 style deletion: empty RDATA with class ANY is accepted as raw.
      `${header(1, 1, 0, 0)} ${QUESTION} c00c 0001 00ff 00000000 0000`,
      // An empty TXT RDATA decodes to no strings.
      `${header(1, 1, 0, 0)} ${QUESTION} c00c 0010 0001 0000001e 0000`,
    ];
    for (const b of ok) assert.doesNotThrow(() => decodeMessage(hex(b)), b);
  });

  it('carries the header when a message without questions fails', () => {
    const m = encodeMessage(msg({ id: 7, opcode: 4, rd: false, answers: [rr('a.', 1, { kind: 'A', address: '1.2.3.4' })] }));
    const cut = m.subarray(0, m.length - 1);
    assert.throws(() => decodeMessage(cut), (err: unknown) => err instanceof DnsFormatError && err.id === 7 && err.opcode === 4 && err.rd === false && err.question === undefined);
  });
});
