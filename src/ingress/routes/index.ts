/**
 * The routing computation and matcher (pure): `computeRoutingTable` turns the watched objects into
 * a `RoutingTable`; `matchRoute` answers "where does this request go" over a table. Both data
 * planes use these, so they route identically.
 *
 * Where we knowingly differ from ingress-nginx (each for the Kubernetes spec or for predictability):
 * - ImplementationSpecific without use-regex/rewrite-target is matched exactly like Prefix
 *   (element-wise: `/foo` does not match `/foobar`); ingress-nginx matches a plain string prefix.
 * - use-regex / rewrite-target make only that Ingress's ImplementationSpecific paths regexes
 *   (anchored at the start, case-insensitive); ingress-nginx turns every path of the host into a
 *   regex as soon as one Ingress on the host asks for it. Exact and Prefix paths keep their meaning.
 * - Regexes are JavaScript regexes (PCRE's `(?P<name>` accepted); an invalid one drops the path with
 *   an `InvalidPathRegex` warning (ingress-nginx's admission would reject the Ingress).
 * - ExternalName Services are not proxied: the backend has no endpoints and a `problem` (503).
 * - One cluster-wide defaultBackend (oldest Ingress that has one) instead of per-server defaults.
 * - A host entry without routes (only in `tls`, or a rule without `http`) is transparent for
 *   matching: requests fall through to the wildcard / no-host rules, then the default backend.
 * - canary-by-header-pattern and the other canary/annotation options not listed in types.ts are
 *   not read; only our `ingress.kubelite.io/` prefix is read (not `nginx.ingress.kubernetes.io/`).
 */
export { computeRoutingTable, type RoutingInputs, type ComputeOptions } from './compute.js';
export {
  matchRoute,
  rewritePath,
  normalizeHost,
  hostCovers,
  prefixMatches,
  isRegexRoute,
  compilePathRegex,
  compareRoutes,
  type RouteMatch,
} from './match.js';
export { parseIngressAnnotations, parseSize, DEFAULT_ROUTE_OPTIONS, type IngressAnnotations, type CanaryAnnotations } from './annotations.js';
export { servedIngresses, isServed, ourClasses, LEGACY_CLASS_ANNOTATION, DEFAULT_CLASS_ANNOTATION } from './classes.js';
