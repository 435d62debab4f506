import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseQuantity, quantityMilli, quantityValue, resourceAmount } from './quantity.js';

describe('quantity parsing', () => {
  const milli: [string, number][] = [
    ['500m', 500],
    ['2', 2000],
    ['0.1', 100],
    ['1.5', 1500],
    ['.5', 500],
    ['250000u', 250],
    ['1n', 1], // rounds up
    ['1k', 1_000_000],
    ['1e3', 1_000_000],
    ['0', 0],
  ];
  for (const [text, want] of milli) it(`cpu ${text} = ${want}m`, () => assert.equal(quantityMilli(text), want));

  const value: [string, number][] = [
    ['128974848', 128974848],
    ['129e6', 129_000_000],
    ['129M', 129_000_000],
    ['123Mi', 123 * 1024 * 1024],
    ['1Ki', 1024],
    ['1Gi', 1024 ** 3],
    ['2G', 2e9],
    ['1K', 0], // not a suffix: invalid → 0
    ['1k', 1000],
    ['1.5Gi', 1.5 * 1024 ** 3],
    ['100m', 1], // Value() rounds up
    ['110', 110],
    ['bogus', 0],
    ['', 0],
  ];
  for (const [text, want] of value) it(`value ${JSON.stringify(text)} = ${want}`, () => assert.equal(quantityValue(text), want));

  it('rejects malformed text', () => {
    for (const t of ['1Qi', 'abc', '1..2', '--1', 'Mi']) assert.equal(parseQuantity(t), undefined, t);
  });
  it('resourceAmount uses millicores only for cpu', () => {
    assert.equal(resourceAmount('cpu', '1'), 1000);
    assert.equal(resourceAmount('memory', '1Ki'), 1024);
    assert.equal(resourceAmount('pods', '110'), 110);
  });
});
