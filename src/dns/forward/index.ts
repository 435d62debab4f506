/**
 * Forwarding and caching for names outside the cluster zone (CoreDNS's `forward . /etc/resolv.conf`
 * and `cache 30`): the response cache, the upstream forwarder, the resolver that glues them with
 * request coalescing, and their metrics under CoreDNS's names.
 */
export { DnsCache, cacheKey, cacheLifetime, sameQuestion } from './cache.js';
export type { CacheKind, DnsCacheMetrics, DnsCacheOptions } from './cache.js';
export { Forwarder, parseUpstream, upstreamsFromResolvConf } from './forwarder.js';
export type { ForwarderOptions, Upstream } from './forwarder.js';
export { ForwardingResolver } from './resolver.js';
export type { Upstreams } from './resolver.js';
export { cacheMetrics, forwardMetrics } from './metrics.js';
export type { CacheMetricsOptions, ForwardMetrics } from './metrics.js';
