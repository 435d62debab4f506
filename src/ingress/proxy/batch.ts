/**
 * Per-request metrics folded into per-series deltas, so proxy worker processes (pool.ts) report
 * a handful of numbers per Ingress and interval instead of a message per request. A worker adds
 * every finished request to a `MetricsBatch` and ships `drain()`'s deltas; the primary adds them
 * into its `ProxyMetrics` with `applyDeltas`. The series and buckets are exactly those
 * `ProxyMetrics.observe` would have produced in-process.
 */
import { DEFAULT_BUCKETS } from '../../util/prometheus.js';
import type { ProxyMetrics, RequestRecord } from './observe.js';

/** One histogram series' change: non-cumulative bucket counts (last: +Inf), sum and count. */
export interface HistogramDelta {
  counts: number[];
  sum: number;
  count: number;
}

/** Everything one label set gained since the last drain. */
export interface SeriesDelta {
  labels: Record<string, string>;
  requests: number;
  requestDuration: HistogramDelta;
  /** Absent when no request of the series had an upstream response time. */
  responseDuration?: HistogramDelta;
}

const BUCKETS: readonly number[] = DEFAULT_BUCKETS;

function emptyHistogram(): HistogramDelta {
  return { counts: new Array<number>(BUCKETS.length + 1).fill(0), sum: 0, count: 0 };
}

function add(h: HistogramDelta, value: number): void {
  let i = 0;
  while (i < BUCKETS.length && !(value <= BUCKETS[i]!)) i++;
  h.counts[i]!++;
  h.sum += value;
  h.count++;
}

/** Accumulates request records until drained; cheap enough to call on every request. */
export class MetricsBatch {
  private series = new Map<string, SeriesDelta>();

  get size(): number {
    return this.series.size;
  }

  add(r: RequestRecord): void {
    const ing = r.ingress;
    if (!ing) return;
    const status = String(r.status);
    const key = `${ing.namespace}\0${ing.name}\0${ing.host}\0${ing.path}\0${ing.service}\0${r.method}\0${status}`;
    let s = this.series.get(key);
    if (!s) {
      s = {
        labels: { host: ing.host, ingress: ing.name, method: r.method, namespace: ing.namespace, path: ing.path, service: ing.service, status },
        requests: 0,
        requestDuration: emptyHistogram(),
      };
      this.series.set(key, s);
    }
    s.requests++;
    add(s.requestDuration, r.requestTimeSec);
    if (r.upstreamResponseTimeSec !== undefined) add((s.responseDuration ??= emptyHistogram()), r.upstreamResponseTimeSec);
  }

  /** The deltas gathered so far; the batch starts empty again. */
  drain(): SeriesDelta[] {
    const out = [...this.series.values()];
    this.series = new Map();
    return out;
  }
}

/** Adds a worker's deltas to the primary's metrics (the families ProxyMetrics registers). */
export function applyDeltas(metrics: ProxyMetrics, deltas: readonly SeriesDelta[]): void {
  for (const d of deltas) {
    metrics.requests.inc(d.requests, d.labels);
    metrics.requestDuration.merge(d.requestDuration, d.labels);
    if (d.responseDuration) metrics.responseDuration.merge(d.responseDuration, d.labels);
  }
}
