import { test } from 'node:test';
import assert from 'node:assert/strict';
import { headerSafe, KUBE_WARNING_LIMITS, limitWarnings } from './warnings.js';

test('kube limits: 4096 runes in total, 256 per warning once truncating', () => {
  assert.deepEqual(KUBE_WARNING_LIMITS, { totalRunes: 4096, itemRunes: 256 });
});

// The cases of kube's own recorder test (filters/warning_test.go), with its small limits.
const small = { totalRunes: 25, itemRunes: 5 };

const cases: { name: string; in: string[]; want: string[]; limits?: typeof small }[] = [
  { name: 'nothing', in: [], want: [] },
  { name: 'empty texts are dropped', in: ['', 'a', ''], want: ['a'] },
  { name: 'exact repeats are kept once, first position', in: ['x', 'y', 'x', 'y', 'z'], want: ['x', 'y', 'z'] },
  { name: 'under the budget nothing is cut', in: ['aaaaaaaaaa', 'bb', 'ccc', 'Iñtërnâtiô'], want: ['aaaaaaaaaa', 'bb', 'ccc', 'Iñtërnâtiô'].map(headerSafe), limits: small },
  {
    name: 'passing the budget truncates all (runes, not bytes), later ones dropped once over',
    in: ['aaaaaaaaaa', 'aaaaaaaaaa', 'bb', 'ccc', 'Iñtërnâtiô', 'e', 'ffffffffff', 'ffffffffff', 'gggggggggg', 'h'],
    want: ['aaaaa', 'bb', 'ccc', 'Iñtër', 'e', 'fffff', 'ggggg'].map(headerSafe),
    limits: small,
  },
  { name: 'control characters become spaces', in: ['a\nb\tc\u007f'], want: ['a b c '] },
];

for (const c of cases) {
  test(`limitWarnings: ${c.name}`, () => {
    assert.deepEqual(limitWarnings(c.in, c.limits), c.want);
  });
}

test('limitWarnings with kube limits: 20 long findings keep the total within 4096 runes', () => {
  const texts = Array.from({ length: 40 }, (_, i) => `check-${i}: ${'x'.repeat(300)}`);
  const out = limitWarnings(texts);
  const total = out.reduce((n, t) => n + [...t].length, 0);
  assert.ok(out.every((t) => t.length <= 256));
  // 16 truncated warnings reach 4096 exactly; the rest are dropped.
  assert.equal(out.length, 16);
  assert.equal(total, 4096);
  assert.ok(out[0].startsWith('check-0: '));
});

test('headerSafe: ASCII unchanged; other text carries its UTF-8 bytes as latin1 (a valid Node header value)', () => {
  assert.equal(headerSafe('plain "text"'), 'plain "text"');
  const s = headerSafe('port → 8080 ñ');
  assert.equal(Buffer.from(s, 'latin1').toString('utf8'), 'port → 8080 ñ');
  assert.ok([...s].every((ch) => ch.charCodeAt(0) <= 0xff));
});
