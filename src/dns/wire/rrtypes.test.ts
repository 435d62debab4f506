import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rrTypeFromName, rrTypeName } from './rrtypes.js';

describe('RR type names', () => {
  it('names known and unknown types and parses them back', () => {
    const cases: Array<[number, string]> = [
      [1, 'A'], [28, 'AAAA'], [33, 'SRV'], [12, 'PTR'], [5, 'CNAME'], [6, 'SOA'], [16, 'TXT'], [41, 'OPT'],
      [255, 'ANY'], [252, 'AXFR'], [65, 'HTTPS'], [123, 'TYPE123'], [0, 'TYPE0'], [65535, 'TYPE65535'],
    ];
    for (const [n, s] of cases) {
      assert.equal(rrTypeName(n), s);
      assert.equal(rrTypeFromName(s), n);
      assert.equal(rrTypeFromName(s.toLowerCase()), n);
    }
    assert.equal(rrTypeFromName('TYPE1'), 1);
  });

  it('rejects unknown mnemonics', () => {
    for (const s of ['', 'BOGUS', 'TYPE', 'TYPE65536', 'TYPE01', 'TYPE-1', 'TYPE1x']) assert.equal(rrTypeFromName(s), undefined, s);
  });
});
