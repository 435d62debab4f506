import { test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  CONTENT_TYPE, DEFAULT_BUCKETS, Registry, escapeHelp, escapeLabelValue, exponentialBuckets, formatValue, linearBuckets,
  metricsHandler,
} from './prometheus.js';

test('formatValue matches Go FormatFloat(v, g, -1, 64)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [1, '1'],
    [-3, '-3'],
    [2.5, '2.5'],
    [0.005, '0.005'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [0.000015, '1.5e-05'],
    [100000, '100000'],
    [123456, '123456'],
    [1000000, '1e+06'],
    [1234567, '1.234567e+06'],
    [1700000000.123, '1.700000000123e+09'],
    [1.5e300, '1.5e+300'],
    [16.384, '16.384'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ];
  for (const [v, want] of cases) assert.equal(formatValue(v), want, `formatValue(${v})`);
});

test('escaping of label values and help text', () => {
  assert.equal(escapeLabelValue('a"b\\c\nd'), 'a\\"b\\\\c\\nd');
  assert.equal(escapeHelp('say "hi"\\\n'), 'say "hi"\\\\\\n');
});

test('bucket helpers compute like Go (repeated multiply / add)', () => {
  assert.deepEqual(exponentialBuckets(0.001, 2, 4), [0.001, 0.002, 0.004, 0.008]);
  assert.equal(exponentialBuckets(0.001, 2, 15).at(-1)!.toString(), '16.384');
  assert.deepEqual(linearBuckets(0.25, 0.25, 2), [0.25, 0.5]);
  assert.deepEqual(linearBuckets(60, 5, 3), [60, 65, 70]);
  assert.throws(() => exponentialBuckets(0, 2, 3));
  assert.throws(() => linearBuckets(1, 0, 3));
  assert.equal(DEFAULT_BUCKETS.length, 11);
});

test('renders counters, gauges and histograms in exposition format 0.0.4', () => {
  const r = new Registry();
  const c = r.counter({ name: 'zz_requests_total', help: 'Requests "served"\nby code', labelNames: ['method', 'code'] });
  const g = r.gauge({ name: 'aa_temperature', help: 'Plain gauge' });
  const h = r.histogram({ name: 'mm_latency_seconds', help: 'Latency', buckets: [0.1, 1] });
  const empty = r.counter({ name: 'bb_unused_total', help: 'never touched', labelNames: ['x'] });
  c.inc(1, { method: 'GET', code: '200' });
  c.inc(2, { code: '500', method: 'GET' });
  c.inc(1, { method: 'DELETE', code: '200' });
  g.set(1.5);
  h.observe(0.05);
  h.observe(0.1);
  h.observe(0.5);
  h.observe(7);
  void empty;
  const want = [
    '# HELP aa_temperature Plain gauge',
    '# TYPE aa_temperature gauge',
    'aa_temperature 1.5',
    '# HELP mm_latency_seconds Latency',
    '# TYPE mm_latency_seconds histogram',
    'mm_latency_seconds_bucket{le="0.1"} 2',
    'mm_latency_seconds_bucket{le="1"} 3',
    'mm_latency_seconds_bucket{le="+Inf"} 4',
    'mm_latency_seconds_sum 7.65',
    'mm_latency_seconds_count 4',
    '# HELP zz_requests_total Requests "served"\\nby code',
    '# TYPE zz_requests_total counter',
    'zz_requests_total{code="200",method="DELETE"} 1',
    'zz_requests_total{code="200",method="GET"} 1',
    'zz_requests_total{code="500",method="GET"} 2',
    '',
  ].join('\n');
  assert.equal(r.render(), want);
});

test('labelled histogram: labels before le, series sorted by label values; escaping applied', () => {
  const r = new Registry();
  const h = r.histogram({ name: 'x_seconds', help: 'h', labelNames: ['family'], buckets: [1] });
  h.observe(2, { family: 'b"\\' });
  h.observe(0.5, { family: 'a' });
  assert.equal(
    r.render(),
    [
      '# HELP x_seconds h',
      '# TYPE x_seconds histogram',
      'x_seconds_bucket{family="a",le="1"} 1',
      'x_seconds_bucket{family="a",le="+Inf"} 1',
      'x_seconds_sum{family="a"} 0.5',
      'x_seconds_count{family="a"} 1',
      'x_seconds_bucket{family="b\\"\\\\",le="1"} 0',
      'x_seconds_bucket{family="b\\"\\\\",le="+Inf"} 1',
      'x_seconds_sum{family="b\\"\\\\"} 2',
      'x_seconds_count{family="b\\"\\\\"} 1',
      '',
    ].join('\n'),
  );
  assert.deepEqual(h.snapshot({ family: 'a' }), { cumulative: [1, 1], sum: 0.5, count: 1 });
});

test('an unlabelled metric renders 0 before any use; reset drops labelled series', () => {
  const r = new Registry();
  r.counter({ name: 'c_total', help: 'c' });
  const g = r.gauge({ name: 'g', help: 'g', labelNames: ['p'] });
  g.set(3, { p: 'x' });
  assert.match(r.render(), /^c_total 0$/m);
  assert.match(r.render(), /^g\{p="x"\} 3$/m);
  g.reset();
  assert.doesNotMatch(r.render(), /# HELP g /);
});

test('misuse is rejected', () => {
  const r = new Registry();
  const c = r.counter({ name: 'a_total', help: 'a', labelNames: ['x'] });
  const table: [string, () => unknown][] = [
    ['missing label', () => c.inc(1, {})],
    ['extra label', () => c.inc(1, { x: '1', y: '2' })],
    ['wrong label', () => c.inc(1, { y: '2' })],
    ['negative counter', () => c.inc(-1, { x: '1' })],
    ['duplicate name', () => r.gauge({ name: 'a_total', help: 'dup' })],
    ['histogram suffix clash', () => { r.histogram({ name: 'h', help: 'h' }); r.counter({ name: 'h_count', help: 'x' }); }],
    ['bad metric name', () => r.counter({ name: '1abc', help: 'x' })],
    ['bad label name', () => r.counter({ name: 'ok', help: 'x', labelNames: ['a-b'] })],
    ['reserved le', () => r.histogram({ name: 'h2', help: 'x', labelNames: ['le'] })],
    ['unsorted buckets', () => r.histogram({ name: 'h3', help: 'x', buckets: [1, 1] })],
  ];
  for (const [name, fn] of table) assert.throws(fn, Error, name);
});

test('metricsHandler serves the text format with its content type', async () => {
  const r = new Registry();
  r.gauge({ name: 'up', help: 'u' }).set(1);
  const srv = http.createServer(metricsHandler(r));
  await new Promise<void>((res) => srv.listen(0, '127.0.0.1', res));
  try {
    const port = (srv.address() as AddressInfo).port;
    const res = await fetch(`http://127.0.0.1:${port}/metrics`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), CONTENT_TYPE);
    assert.equal(await res.text(), '# HELP up u\n# TYPE up gauge\nup 1\n');
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
  } finally {
    await new Promise((res) => srv.close(res));
  }
});

test('children write to the same series as labelled calls, and check labels once', () => {
  const r = new Registry();
  const c = r.counter({ name: 'c_total', help: 'c', labelNames: ['a'] });
  const h = r.histogram({ name: 'h', help: 'h', labelNames: ['a'], buckets: [1, 2] });
  const cc = c.child({ a: 'x' });
  cc.inc();
  cc.inc(2);
  c.inc(1, { a: 'x' });
  assert.equal(c.get({ a: 'x' }), 4);
  assert.throws(() => cc.inc(-1), /must be >= 0/);
  assert.throws(() => c.child({ b: 'x' }), /do not match/);
  const hc = h.child({ a: 'y' });
  hc.observe(0.5);
  hc.observe(1.5);
  hc.observe(9);
  h.observe(1, { a: 'y' });
  assert.deepEqual(h.snapshot({ a: 'y' }), { cumulative: [2, 3, 4], sum: 12, count: 4 });
});
