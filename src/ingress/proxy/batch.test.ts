/**
 * Worker metrics batching must be invisible: records folded into deltas and applied in the
 * primary render exactly what ProxyMetrics.observe renders for the same records in-process.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../util/prometheus.js';
import { applyDeltas, MetricsBatch } from './batch.js';
import { ProxyMetrics, type RequestRecord } from './observe.js';

function rec(o: Partial<RequestRecord> & { ingressName?: string | null }): RequestRecord {
  const { ingressName = 'web', ...rest } = o;
  return {
    remoteAddr: '10.0.0.1',
    startMs: 0,
    method: 'GET',
    target: '/',
    httpVersion: '1.1',
    status: 200,
    bodyBytesSent: 2,
    referer: '',
    userAgent: '',
    requestLength: 40,
    requestTimeSec: 0.003,
    upstreamName: 'default-web-80',
    alternativeUpstreamName: '',
    upstreamAddrs: ['10.244.0.2:8080'],
    upstreamResponseTimeSec: 0.002,
    upstreamStatus: 200,
    requestId: 'x',
    ...(ingressName === null ? {} : { ingress: { namespace: 'default', name: ingressName, service: 'web', path: '/', host: 'a.test' } }),
    ...rest,
  };
}

const CASES: { name: string; records: RequestRecord[] }[] = [
  { name: 'one request', records: [rec({})] },
  { name: 'statuses and methods split series', records: [rec({}), rec({ status: 404 }), rec({ method: 'POST' }), rec({ status: 404 })] },
  {
    name: 'every bucket, +Inf, and no upstream time',
    records: [0.001, 0.005, 0.0051, 0.3, 2.5, 11, 99].map((t) => rec({ requestTimeSec: t, upstreamResponseTimeSec: t > 10 ? undefined : t / 2 })),
  },
  { name: 'requests without an Ingress are not counted', records: [rec({ ingressName: null }), rec({ ingressName: 'other' })] },
  { name: 'only unrouted requests', records: [rec({ ingressName: null })] },
];

describe('MetricsBatch + applyDeltas', () => {
  for (const c of CASES) {
    it(c.name, () => {
      const direct = new ProxyMetrics(new Registry());
      for (const r of c.records) direct.observe(r);
      const viaBatch = new ProxyMetrics(new Registry());
      // Two batches, as two flushes (or two workers) would send.
      const half = Math.ceil(c.records.length / 2);
      for (const part of [c.records.slice(0, half), c.records.slice(half)]) {
        const batch = new MetricsBatch();
        for (const r of part) batch.add(r);
        const deltas = batch.drain();
        assert.equal(batch.size, 0, 'drain empties the batch');
        // Deltas cross a process boundary: they must survive structured cloning unchanged.
        applyDeltas(viaBatch, structuredClone(deltas));
      }
      assert.equal(viaBatch.registry.render(), direct.registry.render());
    });
  }

  it('merge refuses histograms with other buckets', () => {
    const m = new ProxyMetrics(new Registry());
    assert.throws(() => m.requestDuration.merge({ counts: [1, 2], sum: 1, count: 3 }, { host: 'h', ingress: 'i', method: 'GET', namespace: 'n', path: '/', service: 's', status: '200' }), /buckets/);
  });
});
