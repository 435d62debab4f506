/**
 * The per-request decision shared by plain requests and `Upgrade` requests: route, ssl-redirect,
 * canary, unsupported/empty backends, rate and connection limits, body size, rewrite. It returns
 * either an answer the proxy writes itself or where to forward, and fills the log record's
 * routing fields on the way — so both paths apply the same ingress-nginx rules in the same order.
 */
import type { RouteMatch } from '../routes/index.js';
import type { Backend, RouteOptions, RoutingTable, Upstream } from '../types.js';
import type { RequestRecord } from './observe.js';
import { DEFAULT_ROUTE_OPTIONS } from '../routes/annotations.js';
import { redirectLocation, rewritePath, splitTarget, upstreamName, useCanary, type HeaderMap, type InFlight, type TokenBuckets } from './policy.js';

/** Options of a route when the default backend answers (ingress-nginx's defaults). */
export const DEFAULT_OPTIONS: Readonly<RouteOptions> = DEFAULT_ROUTE_OPTIONS;

export interface DecideDeps {
  table: RoutingTable;
  match: (table: RoutingTable, host: string, path: string) => RouteMatch | undefined;
  random: () => number;
  buckets: TokenBuckets;
  inflight: InFlight;
  /** The port ssl-redirect Locations name. */
  httpsPort: number;
}

export interface DecideRequest {
  host: string;
  target: string;
  headers: HeaderMap;
  scheme: 'http' | 'https';
  remote: string;
}

export type Decision =
  | { kind: 'answer'; status: number; detail?: string; headers?: Record<string, string>; release?: () => void }
  | {
      kind: 'forward';
      backend: Extract<Backend, { kind: 'service' }>;
      endpoints: Upstream[];
      options: RouteOptions;
      /** The upstream request target (rewritten when rewrite-target applies). */
      target: string;
      /** Frees the limit-connections slot; call once the request is over. */
      release?: () => void;
    };

/** Decides what to do with a request; updates `rec`'s upstream/ingress fields. */
export function decide(d: DecideDeps, r: DecideRequest, rec: RequestRecord): Decision {
  const m = d.match(d.table, r.host, r.target);
  if (!m) return { kind: 'answer', status: 404, detail: 'default backend - 404' };
  const route = m.route;
  const opts = route?.options ?? DEFAULT_OPTIONS;
  let backend: Backend = m.backend;
  if (route) {
    rec.ingress = { namespace: route.source.namespace, name: route.source.name, service: '', path: route.path, host: m.host?.host ?? '' };
  }
  if (r.scheme === 'http' && route && (opts.forceSslRedirect || (opts.sslRedirect && m.host?.tls))) {
    return { kind: 'answer', status: 308, headers: { location: redirectLocation(r.host, r.target, d.httpsPort) } };
  }
  if (route?.canary) {
    rec.alternativeUpstreamName = upstreamName(route.canary.backend);
    if (useCanary(route.canary, { headers: r.headers, random: d.random })) backend = route.canary.backend;
  }
  rec.upstreamName = upstreamName(backend);
  if (backend.kind === 'unsupported') return { kind: 'answer', status: 404, detail: backend.message };
  if (rec.ingress) rec.ingress.service = backend.service;
  let release: (() => void) | undefined;
  if (route) {
    const key = `${route.source.namespace}/${route.source.name}|${r.remote}`;
    if (opts.limitConnections > 0) {
      if (!d.inflight.acquire(key, opts.limitConnections)) return { kind: 'answer', status: 503, detail: 'too many connections' };
      release = () => d.inflight.release(key);
    }
    if (opts.limitRps > 0 && !d.buckets.take(key, opts.limitRps)) return { kind: 'answer', status: 503, detail: 'too many requests', release };
  }
  const length = Number(r.headers['content-length'] ?? 0);
  if (opts.bodySizeLimit > 0 && length > opts.bodySizeLimit) return { kind: 'answer', status: 413, release };
  if (backend.endpoints.length === 0) return { kind: 'answer', status: 503, detail: backend.problem ?? `no endpoints for ${rec.upstreamName}`, release };
  const target = route && opts.rewriteTarget !== undefined ? rewritePath(opts.rewriteTarget, { captures: m.captures, query: splitTarget(r.target).query }) : r.target;
  return { kind: 'forward', backend, endpoints: backend.endpoints, options: opts, target, release };
}
