import { test } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AccessLogSink, parseLogLine } from './accesslog.js';
import { LogTail } from './logtail.js';
import type { RouteInfo } from './locations.js';
import { ProxyMetrics } from '../proxy/observe.js';
import { Registry } from '../../util/prometheus.js';

const info: RouteInfo = { namespace: 'ns', name: 'web', path: '/api', host: 'a.test', service: 'main', upstreamName: 'ns-main-80', canaryService: 'can', canaryUpstreamName: 'ns-can-80' };
const routeOf = (id: string): RouteInfo | undefined => (id === '3.0' ? info : undefined);
const UI = '10.0.0.9 - - [27/Nov/2026:00:10:00 +0000] "GET /api/x HTTP/1.1" 200 2 "-" "curl/8" 80 0.250 [ns-main-80] [ns-can-80] 10.1.0.1:8080 2 0.200 200 rid';
const line = (f: Partial<Record<'route' | 'm' | 's' | 'rt' | 'ut' | 'up', string>>): string =>
  [f.route ?? '3.0', f.m ?? 'GET', f.s ?? '200', f.rt ?? '0.250', f.ut ?? '0.200', f.up ?? 'ns-main-80', UI].join('\t');

test('parseLogLine: fields, multi-upstream times, garbage', () => {
  const cases: [name: string, text: string, want: Partial<ReturnType<typeof parseLogLine>> | undefined][] = [
    ['plain', line({}), { route: '3.0', method: 'GET', status: '200', requestTimeSec: 0.25, upstreamTimeSec: 0.2, upstreamName: 'ns-main-80', line: UI }],
    ['retried upstreams', line({ ut: '0.100, 0.050 : 0.025' }), { upstreamTimeSec: 0.175 }],
    ['no upstream', line({ ut: '-', route: '', up: '-' }), { route: '', upstreamTimeSec: undefined, upstreamName: '-' }],
    ['tab inside the upstreaminfo part stays in the line', `${line({}).slice(0, -3)}\t x`, { line: `${UI.slice(0, -3)}\t x` }],
    ['not ours', 'nginx: [warn] something', undefined],
    ['too few fields', 'a\tb\tc', undefined],
  ];
  for (const [name, text, want] of cases) {
    const got = parseLogLine(text);
    if (want === undefined) {
      assert.equal(got, undefined, name);
      continue;
    }
    assert.ok(got, name);
    for (const [k, v] of Object.entries(want)) {
      const g: unknown = got[k as keyof typeof got];
      if (typeof v === 'number') assert.ok(Math.abs((g as number) - v) < 1e-9, `${name}: ${k} ${String(g)}`);
      else assert.equal(g, v, `${name}: ${k}`);
    }
  }
});

test('AccessLogSink: upstreaminfo lines passed on, per-Ingress metrics with canary attribution', () => {
  const registry = new Registry();
  const lines: string[] = [];
  const sink = new AccessLogSink(routeOf, { metrics: new ProxyMetrics(registry), accessLog: (l) => lines.push(l) });
  sink.add(line({}));
  sink.add(line({}));
  sink.add(line({ up: 'ns-can-80', s: '503' }));
  sink.add(line({ route: '' })); // the default server: logged, not counted
  sink.add(line({ route: '9.9' })); // an unknown generation: logged, not counted
  sink.add('garbage');
  assert.deepEqual(lines, [UI, UI, UI, UI, UI]);
  const text = registry.render();
  assert.match(text, /nginx_ingress_controller_requests\{host="a.test",ingress="web",method="GET",namespace="ns",path="\/api",service="main",status="200"\} 2/);
  assert.match(text, /nginx_ingress_controller_requests\{[^}]*service="can",status="503"\} 1/);
  assert.match(text, /nginx_ingress_controller_response_duration_seconds_count\{[^}]*service="main",status="200"\} 2/);
  assert.equal(text.match(/^nginx_ingress_controller_requests\{/gm)?.length, 2);
});

test('LogTail: complete lines in order, a partial line waits, rotation reopens and drains the old file', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'logtail-'));
  const path = join(dir, 'a.log');
  const got: string[] = [];
  let reopened = 0;
  const tail = new LogTail(path, (ls) => got.push(...ls), { maxBytes: 20, graceMs: 50, intervalMs: 10_000, reopen: () => reopened++ });
  try {
    tail.poll(); // no file yet
    writeFileSync(path, 'one\ntwo\nthr');
    tail.poll();
    assert.deepEqual(got, ['one', 'two']);
    appendFileSync(path, 'ee\nfour-four-four\n'); // past maxBytes: rotated after this read
    tail.poll();
    assert.deepEqual(got, ['one', 'two', 'three', 'four-four-four']);
    assert.equal(reopened, 1);
    assert.ok(existsSync(`${path}.1`) && !existsSync(path));
    appendFileSync(`${path}.1`, 'late\n'); // a worker flushing into the renamed file
    writeFileSync(path, 'new\n'); // the reopened file
    tail.poll();
    await new Promise((r) => setTimeout(r, 60));
    tail.poll();
    assert.deepEqual(got.slice(4), ['late', 'new']);
    assert.ok(!existsSync(`${path}.1`), 'the rotated file is removed after the grace period');
    appendFileSync(path, 'last'); // no newline: delivered by close()
  } finally {
    tail.close();
    rmSync(dir, { recursive: true, force: true });
  }
  assert.equal(got.at(-1), 'last');
});
