/**
 * Pure request policies of the built-in ingress proxy, following ingress-nginx: canary choice
 * (balancer.lua's order: header, then cookie, then weight), rewrite-target (nginx `rewrite ...
 * break`: the whole URI is replaced, the query string kept), the ssl-redirect Location, hop-by-hop
 * header removal, the X-Forwarded-* set, per-client-IP token buckets (limit-rps) and in-flight
 * counters (limit-connections), and endpoint round-robin. No sockets here, so every rule is
 * table-tested without a network.
 */
import type { Backend, Canary, Upstream } from '../types.js';

/** Headers that describe one hop and must not be forwarded (RFC 9110 7.6.1, plus legacy ones). */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'proxy-connection',
  'proxy-authenticate',
  'proxy-authorization',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
  'http2-settings',
]);

export type HeaderMap = Record<string, string | string[] | undefined>;

/**
 * Copies `headers` without hop-by-hop headers, without the ones the Connection header lists,
 * and without HTTP/2 pseudo-headers (`:path`...), which HTTP/1 upstreams must not see.
 */
export function stripHopByHop(headers: HeaderMap): Record<string, string | string[]> {
  const listed = new Set<string>();
  const conn = headers['connection'];
  for (const v of Array.isArray(conn) ? conn : conn ? [conn] : []) {
    for (const t of v.split(',')) if (t.trim()) listed.add(t.trim().toLowerCase());
  }
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) {
    if (v === undefined || k.startsWith(':')) continue;
    const lk = k.toLowerCase();
    if (HOP_BY_HOP.has(lk) || listed.has(lk)) continue;
    out[lk] = v;
  }
  return out;
}

export interface ClientInfo {
  remoteAddress: string;
  scheme: 'http' | 'https';
  /** The host as the client sent it (Host or :authority), port included. */
  host: string;
  /** The port the client connected to. */
  port: number;
  requestId: string;
}

/**
 * The upstream request headers: the client's headers minus hop-by-hop, plus ingress-nginx's
 * proxy_set_header set. X-Forwarded-For appends the peer to what the client sent (the brief's
 * choice; ingress-nginx only trusts it with use-forwarded-headers), Host stays as sent.
 */
export function forwardedHeaders(headers: HeaderMap, client: ClientInfo): Record<string, string | string[]> {
  const out = stripHopByHop(headers);
  const prior = out['x-forwarded-for'];
  const priorText = Array.isArray(prior) ? prior.join(', ') : prior;
  out['x-forwarded-for'] = priorText ? `${priorText}, ${client.remoteAddress}` : client.remoteAddress;
  out['x-real-ip'] = client.remoteAddress;
  out['x-forwarded-proto'] = client.scheme;
  out['x-forwarded-scheme'] = client.scheme;
  out['x-scheme'] = client.scheme;
  out['x-forwarded-host'] = client.host;
  out['x-forwarded-port'] = String(client.port);
  out['x-request-id'] = client.requestId;
  out['host'] = client.host;
  return out;
}

/** Lowercase host without port (`[::1]:80` → `::1`); what routing and certificates key on. */
export function hostName(host: string): string {
  const h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h;
  }
  const colon = h.indexOf(':');
  const name = colon >= 0 ? h.slice(0, colon) : h;
  return name.endsWith('.') ? name.slice(0, -1) : name;
}

/** Splits a request target into path and query (`?` kept with the query). */
export function splitTarget(target: string): { path: string; query: string } {
  const q = target.indexOf('?');
  return q < 0 ? { path: target, query: '' } : { path: target.slice(0, q), query: target.slice(q) };
}

/**
 * rewrite-target: `$n` is replaced by capture n (captures[0] is the whole match, captures[n] is
 * group n, as RegExpExecArray); a missing capture becomes ''. Like nginx's `rewrite ... break`,
 * the replacement is the whole new path and the original query string is appended (with `&`
 * when the replacement already has one).
 */
export function rewritePath(rewriteTarget: string, opts: { captures: string[]; query: string }): string {
  let replaced = rewriteTarget.replace(/\$(\d+)|\$\{(\d+)\}/g, (_m, a: string | undefined, b: string | undefined) => {
    const n = Number(a ?? b);
    return opts.captures[n] ?? '';
  });
  if (!replaced.startsWith('/')) replaced = `/${replaced}`;
  if (!opts.query) return replaced;
  return replaced.includes('?') ? `${replaced}&${opts.query.slice(1)}` : `${replaced}${opts.query}`;
}

/** The ssl-redirect Location: same host (without port) and request target, on the public HTTPS port. */
export function redirectLocation(host: string, target: string, httpsPort: number): string {
  const name = hostName(host);
  const h = name.includes(':') ? `[${name}]` : name;
  return `https://${h}${httpsPort === 443 ? '' : `:${httpsPort}`}${target}`;
}

/** Reads one cookie value from Cookie header(s). */
export function cookieValue(header: string | string[] | undefined, name: string): string | undefined {
  for (const line of Array.isArray(header) ? header : header ? [header] : []) {
    for (const part of line.split(';')) {
      const eq = part.indexOf('=');
      if (eq < 0) continue;
      if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
    }
  }
  return undefined;
}

/**
 * Whether a request goes to the canary, in ingress-nginx's order: the header (value equality
 * when canary-by-header-value is set, else "always"/"never"), then the cookie ("always"/"never"),
 * then weight (random < weight / weightTotal). Anything undecided stays on the main backend.
 */
export function useCanary(canary: Canary, req: { headers: HeaderMap; random: () => number }): boolean {
  if (canary.header) {
    const raw = req.headers[canary.header.toLowerCase()];
    const value = Array.isArray(raw) ? raw[0] : raw;
    if (value !== undefined) {
      if (canary.headerValue) {
        if (value === canary.headerValue) return true;
      } else if (value === 'always') return true;
      else if (value === 'never') return false;
    }
  }
  if (canary.cookie) {
    const value = cookieValue(req.headers['cookie'], canary.cookie);
    if (value === 'always') return true;
    if (value === 'never') return false;
  }
  const total = canary.weightTotal > 0 ? canary.weightTotal : 100;
  return canary.weight > 0 && req.random() * total < canary.weight;
}

/** `ns-svc-port`, ingress-nginx's upstream name (used in logs and round-robin state). */
export function upstreamName(backend: Backend): string {
  return backend.kind === 'service' ? `${backend.namespace}-${backend.service}-${backend.port}` : `${backend.namespace}-unsupported`;
}

/** Round-robin cursor per upstream name; survives table updates so balance is not reset. */
export class RoundRobin {
  private readonly next = new Map<string, number>();

  /** Endpoints in try order: the next one in turn first, then the rest (for one retry). */
  order(name: string, endpoints: readonly Upstream[]): Upstream[] {
    if (endpoints.length === 0) return [];
    const i = (this.next.get(name) ?? 0) % endpoints.length;
    this.next.set(name, (i + 1) % endpoints.length);
    return [...endpoints.slice(i), ...endpoints.slice(0, i)];
  }
}

/**
 * limit-rps: one token bucket per key (ingress and client IP) refilled at `rps`, holding up to
 * rps * burstMultiplier tokens (ingress-nginx's limit-burst-multiplier, default 5, with nodelay).
 */
export class TokenBuckets {
  private readonly buckets = new Map<string, { tokens: number; at: number }>();

  constructor(private readonly opts: { now: () => number; burstMultiplier?: number }) {}

  /** Takes one token; false when the bucket is empty (the caller answers 503). */
  take(key: string, rps: number): boolean {
    const now = this.opts.now();
    const cap = Math.max(1, rps * (this.opts.burstMultiplier ?? 5));
    let b = this.buckets.get(key);
    if (!b) {
      if (this.buckets.size > 10_000) this.prune(now, rps);
      b = { tokens: cap, at: now };
      this.buckets.set(key, b);
    }
    b.tokens = Math.min(cap, b.tokens + ((now - b.at) / 1000) * rps);
    b.at = now;
    if (b.tokens < 1) return false;
    b.tokens -= 1;
    return true;
  }

  /** Drops buckets idle long enough to be full again (they carry no state). */
  private prune(now: number, rps: number): void {
    const idle = (1000 * (this.opts.burstMultiplier ?? 5)) / Math.max(rps, 0.001);
    for (const [k, b] of this.buckets) if (now - b.at > idle) this.buckets.delete(k);
  }
}

/** limit-connections: in-flight requests per key; `acquire` false when at the limit. */
export class InFlight {
  private readonly counts = new Map<string, number>();

  acquire(key: string, limit: number): boolean {
    const n = this.counts.get(key) ?? 0;
    if (n >= limit) return false;
    this.counts.set(key, n + 1);
    return true;
  }

  release(key: string): void {
    const n = (this.counts.get(key) ?? 1) - 1;
    if (n <= 0) this.counts.delete(key);
    else this.counts.set(key, n);
  }
}

/** Bodies for answers the proxy writes itself, nginx-style so clients and tests recognise them. */
export function errorBody(status: number, detail?: string): string {
  const reason: Record<number, string> = {
    400: 'Bad Request',
    404: 'Not Found',
    413: 'Request Entity Too Large',
    431: 'Request Header Fields Too Large',
    502: 'Bad Gateway',
    503: 'Service Temporarily Unavailable',
    504: 'Gateway Time-out',
  };
  const title = `${status} ${reason[status] ?? 'Error'}`;
  const extra = detail ? `<p>${escapeHtml(detail)}</p>\r\n` : '';
  return `<html>\r\n<head><title>${title}</title></head>\r\n<body>\r\n<center><h1>${title}</h1></center>\r\n${extra}<hr><center>kubelite-ingress</center>\r\n</body>\r\n</html>\r\n`;
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}
