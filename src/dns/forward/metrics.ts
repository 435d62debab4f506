/**
 * CoreDNS's cache and forward metric families (plugin/cache, plugin/forward) on our Prometheus
 * registry, so dashboards built for CoreDNS read our numbers unchanged. `server` is the
 * listener label CoreDNS uses (`dns://:53` style), `zones` the cache's zone (`.` in kubeadm's
 * Corefile), `view` empty (we have no views).
 */
import { exponentialBuckets, type Registry } from '../../util/prometheus.js';
import type { CacheKind, DnsCacheMetrics } from './cache.js';

export interface CacheMetricsOptions {
  server?: string;
  zones?: string;
}

/** Registers coredns_cache_{entries,hits_total,misses_total} and returns the cache's hook. */
export function cacheMetrics(registry: Registry, opts: CacheMetricsOptions = {}): DnsCacheMetrics {
  const server = opts.server ?? 'dns://:53';
  const zones = opts.zones ?? '.';
  const view = '';
  const entries = registry.gauge({ name: 'coredns_cache_entries', help: 'The number of elements in the cache.', labelNames: ['server', 'type', 'zones', 'view'] });
  const hits = registry.counter({ name: 'coredns_cache_hits_total', help: 'The count of cache hits.', labelNames: ['server', 'type', 'zones', 'view'] });
  const misses = registry.counter({ name: 'coredns_cache_misses_total', help: 'The count of cache misses. Deprecated, derive misses from cache hits/requests counters.', labelNames: ['server', 'zones', 'view'] });
  // Label sets are fixed per cache, so build them once instead of per query.
  const kindLabels: Record<CacheKind, { server: string; type: string; zones: string; view: string }> = {
    success: { server, type: 'success', zones, view },
    denial: { server, type: 'denial', zones, view },
  };
  const missLabels = { server, zones, view };
  entries.set(0, kindLabels.success);
  entries.set(0, kindLabels.denial);
  return {
    hit: (kind) => hits.inc(1, kindLabels[kind]),
    miss: () => misses.inc(1, missLabels),
    entries: (kind, n) => entries.set(n, kindLabels[kind]),
  };
}

/** Observers for upstream exchanges; `forwardMetrics(registry)` backs it with CoreDNS's families. */
export interface ForwardMetrics {
  /** A query was sent to `to` (`ip:port`). */
  request(to: string): void;
  /** `to` answered with `rcode` (a name such as NOERROR) after `seconds`. */
  response(to: string, rcode: string, seconds: number): void;
}

/** Registers coredns_forward_{requests_total,responses_total,request_duration_seconds}. */
export function forwardMetrics(registry: Registry): ForwardMetrics {
  const requests = registry.counter({ name: 'coredns_forward_requests_total', help: 'Counter of requests made per upstream.', labelNames: ['to'] });
  const responses = registry.counter({ name: 'coredns_forward_responses_total', help: 'Counter of responses received per upstream.', labelNames: ['to', 'rcode'] });
  const duration = registry.histogram({ name: 'coredns_forward_request_duration_seconds', help: 'Histogram of the time each request took.', labelNames: ['to', 'rcode'], buckets: exponentialBuckets(0.00025, 2, 16) });
  return {
    request: (to) => requests.inc(1, { to }),
    response: (to, rcode, seconds) => {
      responses.inc(1, { to, rcode });
      duration.observe(seconds, { to, rcode });
    },
  };
}
