import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RRType } from '../types.js';
import type { Edns, Message, ResourceRecord } from '../types.js';
import { decodeMessage, encodeMessage } from './index.js';
import { msg, rr } from './testutil.js';

const NAME = 'web.default.svc.cluster.local.';
const EDNS: Edns = { udpSize: 1232, version: 0, dnssecOk: false, extendedRcode: 0, options: [{ code: 10, data: new Uint8Array(8) }] };

function aRecords(n: number): ResourceRecord[] {
  return Array.from({ length: n }, (_, i) => rr(NAME, RRType.A, { kind: 'A', address: `10.0.${i >> 8}.${i & 0xff}` }));
}

function glue(n: number): ResourceRecord[] {
  return Array.from({ length: n }, (_, i) => rr(`host-${i}.example.org.`, RRType.AAAA, { kind: 'AAAA', address: `fd00::${i + 1}` }));
}

function response(over: Partial<Message>): Message {
  return msg({ qr: true, aa: true, questions: [{ name: NAME, type: RRType.A, class: 1 }], ...over });
}

interface Case {
  what: string;
  m: Message;
  maxSize: number;
  tc: boolean;
  /** Expected kept counts (answers, authority, additional). */
  kept: [number, number, number];
}

const soa = rr('cluster.local.', RRType.SOA, { kind: 'SOA', mname: 'ns.dns.cluster.local.', rname: 'hostmaster.cluster.local.', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 });

// Sizes: header 12 + question 35 = 47; each compressed A answer 16; the OPT record 23; the SOA 54;
// the first glue AAAA 46, later ones 35 (`host-N` label plus a pointer to `example.org.`).
const cases: Case[] = [
  { what: 'fits: nothing dropped', m: response({ answers: aRecords(10) }), maxSize: 512, tc: false, kept: [10, 0, 0] },
  { what: 'exact fit at the limit', m: response({ answers: aRecords(29) }), maxSize: 47 + 29 * 16, tc: false, kept: [29, 0, 0] },
  { what: 'answers dropped without EDNS', m: response({ answers: aRecords(100) }), maxSize: 512, tc: true, kept: [29, 0, 0] },
  { what: 'answers dropped with OPT kept', m: response({ answers: aRecords(100), edns: EDNS }), maxSize: 512, tc: true, kept: [27, 0, 0] },
  { what: 'bigger EDNS limit keeps more', m: response({ answers: aRecords(100), edns: EDNS }), maxSize: 1232, tc: true, kept: [72, 0, 0] },
  { what: 'only additional glue dropped: no TC', m: response({ answers: aRecords(20), additional: glue(20) }), maxSize: 512, tc: false, kept: [20, 0, 3] },
  { what: 'authority dropped sets TC', m: response({ answers: aRecords(28), authority: [soa] }), maxSize: 512, tc: true, kept: [28, 0, 0] },
  { what: 'authority kept, glue dropped', m: response({ answers: aRecords(5), authority: [soa], additional: glue(30) }), maxSize: 512, tc: false, kept: [5, 1, 9] },
  { what: 'question and OPT kept even when nothing else fits', m: response({ answers: aRecords(3), edns: EDNS }), maxSize: 60, tc: true, kept: [0, 0, 0] },
  { what: 'TC already set stays set', m: response({ tc: true, answers: aRecords(1) }), maxSize: 512, tc: true, kept: [1, 0, 0] },
];

describe('truncation to maxSize', () => {
  for (const c of cases) {
    it(c.what, () => {
      const wire = encodeMessage(c.m, { maxSize: c.maxSize });
      const back = decodeMessage(wire);
      assert.equal(back.tc, c.tc, 'TC bit');
      assert.deepEqual([back.answers.length, back.authority.length, back.additional.length], c.kept);
      assert.deepEqual(back.questions, c.m.questions);
      assert.deepEqual(back.edns, c.m.edns);
      assert.deepEqual(back.answers, c.m.answers.slice(0, c.kept[0]));
      assert.deepEqual(back.authority, c.m.authority.slice(0, c.kept[1]));
      assert.deepEqual(back.additional, c.m.additional.slice(0, c.kept[2]));
      const minimum = 47 + (c.m.edns ? 23 : 0);
      assert.ok(wire.length <= Math.max(c.maxSize, minimum), `${wire.length} > ${c.maxSize}`);
      if (c.kept[0] < c.m.answers.length) {
        // Maximal: one more answer would not have fitted.
        assert.ok(wire.length + 16 > c.maxSize);
      }
    });
  }

  it('without maxSize a large message is encoded whole (TCP)', () => {
    const m = response({ answers: aRecords(1000), edns: EDNS });
    const back = decodeMessage(encodeMessage(m));
    assert.equal(back.tc, false);
    assert.equal(back.answers.length, 1000);
  });

  it('maxSize above 65535 is capped at the protocol limit', () => {
    const m = response({ answers: aRecords(5000) });
    const wire = encodeMessage(m, { maxSize: 100000 });
    assert.ok(wire.length <= 65535);
    assert.equal(decodeMessage(wire).tc, true);
  });
});
