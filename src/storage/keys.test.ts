import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { compareKeys, prefixEnd } from './keys.js';

describe('prefixEnd', () => {
  const cases: Array<[string, string | null]> = [
    ['/a/b/', '/a/b0'],
    ['/a/b', '/a/c'],
    ['', null],
    ['a\u{10FFFF}', 'b'],
    ['\u{10FFFF}\u{10FFFF}', null],
    ['x\ud7ff', 'x\ue000'],
    ['x😀', 'x😁'],
  ];
  for (const [prefix, want] of cases) {
    it(`${JSON.stringify(prefix)} → ${JSON.stringify(want)}`, () => {
      assert.equal(prefixEnd(prefix), want);
    });
  }
});

describe('compareKeys', () => {
  const cases: Array<[string, string, number]> = [
    ['/a', '/b', -1], ['/a/b', '/a/b', 0], ['/a/b/', '/a/b0', -1], ['/a/bc', '/a/b/', 1],
    // Code-point order, not UTF-16 order: U+FF61 < U+1F600 although its UTF-16 unit is larger.
    ['\uff61', '😀', -1], ['😀', '\uff61', 1],
  ];
  for (const [a, b, want] of cases) {
    it(`${JSON.stringify(a)} vs ${JSON.stringify(b)}`, () => {
      assert.equal(Math.sign(compareKeys(a, b)), want);
    });
  }
});
