/**
 * Request → route matching over a computed `RoutingTable`, with the Kubernetes Ingress rules:
 *
 * - Host: exact name first, then a wildcard `*.<rest>` covering exactly one label, then the
 *   rules without host (''). Case-insensitive; the port and a trailing dot are ignored. A host
 *   entry with no routes (a host only listed under `tls`) does not stop the search, so
 *   "TLS for foo.com + rules without host" serves those rules; otherwise, as with nginx server
 *   selection, the chosen host's routes are the only candidates.
 * - Path: `Exact` is string equality (case-sensitive); `Prefix` is element-wise on `/`-separated
 *   elements, trailing slashes ignored on both sides (`/foo` matches `/foo`, `/foo/`, `/foo/bar`,
 *   not `/foobar`); `ImplementationSpecific` is treated as `Prefix`, except on routes whose
 *   Ingress sets use-regex or rewrite-target: then the path is a regular expression anchored at
 *   the start of the request path and matched case-insensitively (ingress-nginx's `~* ^<path>`),
 *   whose captures feed rewrite-target.
 * - Precedence: routes are pre-sorted by `compareRoutes` (longest path first, Exact before Prefix
 *   at equal length, then the older Ingress), and the first matching route wins.
 * - Nothing matched: the table's defaultBackend; none either → undefined (the data plane's 404).
 */
import type { Backend, HostRoutes, PathType, Route, RoutingTable } from '../types.js';

export interface RouteMatch {
  /**
   * The host entry the route came from; for a default-backend answer, the most specific host entry
   * that exists for the request's host (its `tls` still applies), or undefined.
   */
  host: HostRoutes | undefined;
  /** The matched route; undefined when the default backend answers. */
  route?: Route;
  backend: Backend;
  /**
   * For regex routes, the match as `RegExp.exec` returns it: `[whole, $1, $2, ...]`, unmatched
   * groups as ''. Empty for non-regex routes. `rewritePath(target, captures)` applies them.
   */
  captures: string[];
}

/** Lowercased host without port or trailing dot (`Foo.COM:8080` → `foo.com`, `[::1]:80` → `::1`). */
export function normalizeHost(host: string): string {
  let h = host.trim().toLowerCase();
  if (h.startsWith('[')) {
    const end = h.indexOf(']');
    return end > 0 ? h.slice(1, end) : h.slice(1);
  }
  const colon = h.indexOf(':');
  // More than one colon: a bare IPv6 address, no port.
  if (colon >= 0 && h.indexOf(':', colon + 1) < 0) h = h.slice(0, colon);
  if (h.endsWith('.')) h = h.slice(0, -1);
  return h;
}

/** The wildcard key that covers `host` (one label replaced by `*`), or undefined for a single label. */
export function wildcardFor(host: string): string | undefined {
  const dot = host.indexOf('.');
  return dot > 0 && dot < host.length - 1 ? `*${host.slice(dot)}` : undefined;
}

/** Whether a host rule (exact, `*.x.y` wildcard, or '' = any) covers a request host (both normalized). */
export function hostCovers(rule: string, host: string): boolean {
  if (rule === '') return true;
  if (rule.startsWith('*.')) return wildcardFor(host) === rule;
  return rule === host;
}

/** `Prefix` path without trailing slashes ('' for `/`): the element-wise comparison key. */
export function prefixKey(path: string): string {
  let end = path.length;
  while (end > 0 && path.charCodeAt(end - 1) === 47 /* '/' */) end--;
  return path.slice(0, end);
}

/** Element-wise prefix match (the Kubernetes documentation's table). */
export function prefixMatches(rulePath: string, requestPath: string): boolean {
  const key = prefixKey(rulePath);
  if (key === '') return requestPath.startsWith('/') || requestPath === '';
  if (!requestPath.startsWith(key)) return false;
  return requestPath.length === key.length || requestPath.charCodeAt(key.length) === 47;
}

/** Whether a route's path is a regular expression (ImplementationSpecific + use-regex/rewrite-target). */
export function isRegexRoute(route: Route): boolean {
  return route.pathType === 'ImplementationSpecific' && route.options.useRegex;
}

const regexCache = new Map<string, RegExp | null>();

/**
 * Compiles a regex route path the way ingress-nginx's `location ~* ^<path>` reads it: anchored at the
 * start, case-insensitive. PCRE's `(?P<name>` is accepted as `(?<name>`. Null when JS cannot compile it.
 */
export function compilePathRegex(path: string): RegExp | null {
  let re = regexCache.get(path);
  if (re === undefined) {
    try {
      re = new RegExp(`^(?:${path.replace(/\(\?P</g, '(?<')})`, 'i');
    } catch {
      re = null;
    }
    if (regexCache.size > 10_000) regexCache.clear();
    regexCache.set(path, re);
  }
  return re;
}

/** Length used for "longest path first": the element-wise key for Prefix-like paths, else the path. */
function precedenceLength(route: Route): number {
  if (route.pathType === 'Exact' || isRegexRoute(route)) return route.path.length;
  return prefixKey(route.path).length;
}

const TYPE_ORDER: Record<PathType, number> = { Exact: 0, Prefix: 1, ImplementationSpecific: 2 };

/** Order of `HostRoutes.routes`: longest first, Exact before Prefix at equal length, older Ingress first. */
export function compareRoutes(a: Route, b: Route): number {
  return (
    precedenceLength(b) - precedenceLength(a) ||
    TYPE_ORDER[a.pathType] - TYPE_ORDER[b.pathType] ||
    cmp(a.source.creationTimestamp, b.source.creationTimestamp) ||
    cmp(a.source.namespace, b.source.namespace) ||
    cmp(a.source.name, b.source.name) ||
    cmp(a.path, b.path)
  );
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Tests one route against a request path; returns the captures ([] for non-regex) or undefined. */
export function matchPath(route: Route, path: string): string[] | undefined {
  if (isRegexRoute(route)) {
    const m = compilePathRegex(route.path)?.exec(path);
    return m ? Array.from(m, (s) => s ?? '') : undefined;
  }
  if (route.pathType === 'Exact') return route.path === path ? [] : undefined;
  return prefixMatches(route.path, path) ? [] : undefined;
}

/**
 * Finds where a request goes. `path` is the request target's path (a query string, if any, is
 * ignored); `host` is the Host header or :authority (port allowed) — or the SNI name.
 */
export function matchRoute(table: RoutingTable, host: string, path: string): RouteMatch | undefined {
  const q = path.indexOf('?');
  const reqPath = q >= 0 ? path.slice(0, q) : path;
  const h = normalizeHost(host);
  const wildcard = wildcardFor(h);
  const candidates = [table.hosts.get(h), wildcard ? table.hosts.get(wildcard) : undefined, table.hosts.get('')];

  let first: HostRoutes | undefined;
  for (const entry of candidates) {
    if (!entry) continue;
    first ??= entry;
    if (entry.routes.length === 0) continue;
    for (const route of entry.routes) {
      const captures = matchPath(route, reqPath);
      if (captures) return { host: entry, route, backend: route.backend, captures };
    }
    // The chosen host's routes are the only candidates (nginx server selection); fall to the default.
    break;
  }
  if (table.defaultBackend) return { host: first, backend: table.defaultBackend, captures: [] };
  return undefined;
}

/**
 * The upstream request path for a rewrite-target: like nginx `rewrite <regex> <target> break`, the
 * whole path becomes the target with `$0`..`$9` replaced by the captures (missing ones as '').
 * The request's query string is the caller's to keep.
 */
export function rewritePath(target: string, captures: string[]): string {
  return target.replace(/\$(\d)/g, (_m, d: string) => captures[Number(d)] ?? '');
}
