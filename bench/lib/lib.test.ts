import { test } from 'node:test';
import assert from 'node:assert/strict';
import { percentile, summarize, ratio, table, ms } from './stats.js';
import { replaceSection } from './readme.js';

test('percentile: nearest rank', () => {
  const cases: { xs: number[]; p: number; want: number }[] = [
    { xs: [1], p: 50, want: 1 },
    { xs: [1, 2], p: 50, want: 1 },
    { xs: [1, 2, 3, 4], p: 50, want: 2 },
    { xs: Array.from({ length: 100 }, (_, i) => i + 1), p: 99, want: 99 },
    { xs: Array.from({ length: 1000 }, (_, i) => i + 1), p: 99, want: 990 },
    { xs: [5, 6, 7], p: 100, want: 7 },
    { xs: [5, 6, 7], p: 0, want: 5 },
  ];
  for (const c of cases) assert.equal(percentile(c.xs, c.p), c.want, `p${c.p} of ${c.xs.length}`);
  assert.ok(Number.isNaN(percentile([], 50)));
});

test('summarize sorts numerically and does not mutate', () => {
  const xs = [10, 9, 100, 1, 2];
  const s = summarize(xs);
  assert.deepEqual(xs, [10, 9, 100, 1, 2]);
  assert.equal(s.n, 5);
  assert.equal(s.p50, 9);
  assert.equal(s.max, 100);
  assert.equal(s.p99, 100);
  assert.equal(s.mean, 24.4);
});

test('formatting', () => {
  const cases: [string, string][] = [
    [ms(0.123), '0.12'],
    [ms(4.26), '4.3'],
    [ms(42.6), '43'],
    [ms(NaN), 'n/a'],
    [ratio(3, 2), '1.50x'],
    [ratio(3, 0), 'n/a'],
  ];
  for (const [got, want] of cases) assert.equal(got, want);
  assert.equal(table(['a', 'b'], [['1', '2']]), '| a | b |\n| --- | --- |\n| 1 | 2 |');
  assert.throws(() => table(['a', 'b'], [['1']]));
});

test('replaceSection', () => {
  const sec = '## Benchmarks\n\nnew\n';
  const cases: { name: string; doc: string; want: string }[] = [
    { name: 'empty doc', doc: '', want: sec },
    { name: 'absent: appended', doc: '# T\n\nintro\n', want: '# T\n\nintro\n\n' + sec },
    {
      name: 'middle section replaced, neighbours kept',
      doc: '# T\n\n## Use\n\nu\n\n## Benchmarks\n\nold\n### sub\nold2\n\n## License\n\nL\n',
      want: '# T\n\n## Use\n\nu\n\n## Benchmarks\n\nnew\n\n## License\n\nL\n',
    },
    { name: 'last section replaced', doc: '# T\n\n## Benchmarks\n\nold\n', want: '# T\n\n## Benchmarks\n\nnew\n' },
    { name: 'first line', doc: '## Benchmarks\nold\n## Next\nx\n', want: '## Benchmarks\n\nnew\n\n## Next\nx\n' },
    {
      name: 'heading inside a code fence is not a boundary',
      doc: '## Benchmarks\nold\n```\n## not a heading\n```\n## Next\n',
      want: '## Benchmarks\n\nnew\n\n## Next\n',
    },
  ];
  for (const c of cases) assert.equal(replaceSection(c.doc, '## Benchmarks', sec), c.want, c.name);
});
