/**
 * The ingress model shared by the routing computation (`routes/`), the data planes (`proxy/`,
 * `nginx/`), the certificate issuer (`certs/`) and the controller: plain data, no behaviour.
 *
 * Compute, then apply: `routes/` turns IngressClasses, Ingresses, Services, EndpointSlices and
 * Secrets into one `RoutingTable` (pure); a data plane only ever sees tables (`update(table)`),
 * so both data planes serve exactly the same routing, and a golden test on the table covers both.
 */

/** Our controller name, in IngressClass `spec.controller`. */
export const INGRESS_CONTROLLER = 'kubelite.io/ingress-controller';
/** Annotation prefix of the ingress-nginx-style options we read (`<prefix>/rewrite-target`, ...). */
export const ANNOTATION_PREFIX = 'ingress.kubelite.io';

export type PathType = 'Exact' | 'Prefix' | 'ImplementationSpecific';

/** Where a matched request goes: a Service port's ready endpoints, or something we cannot serve. */
export type Backend =
  | {
      kind: 'service';
      namespace: string;
      service: string;
      /** The Ingress's port reference as written (number or name). */
      port: number | string;
      /** Ready endpoints for that port (empty: 503). */
      endpoints: Upstream[];
      /** Why there are no endpoints, for the 503 body and events (e.g. "service default/x not found"). */
      problem?: string;
    }
  | {
      /** A Resource backend (apiGroup/kind/name): not supported, answered 404 with this message. */
      kind: 'unsupported';
      namespace: string;
      message: string;
    };

export interface Upstream {
  address: string;
  port: number;
}

export type BackendProtocol = 'HTTP' | 'HTTPS' | 'GRPC' | 'GRPCS';

/** Per-route options from annotations (ingress-nginx semantics, our prefix). */
export interface RouteOptions {
  /** rewrite-target: the replacement, `$1`.. refer to captures of the path regex. */
  rewriteTarget?: string;
  /** use-regex (implied by rewrite-target): the path is a regex (ImplementationSpecific). */
  useRegex: boolean;
  /** ssl-redirect (default true when the host has TLS): plain HTTP → 308 to https. */
  sslRedirect: boolean;
  /** force-ssl-redirect: redirect even without TLS for the host. */
  forceSslRedirect: boolean;
  backendProtocol: BackendProtocol;
  connectTimeoutMs: number;
  readTimeoutMs: number;
  sendTimeoutMs: number;
  /** proxy-body-size in bytes (0: unlimited; default 1 MiB as ingress-nginx). */
  bodySizeLimit: number;
  /** limit-rps per client IP (0: off). */
  limitRps: number;
  /** limit-connections per client IP (0: off). */
  limitConnections: number;
}

export interface Canary {
  backend: Backend;
  /** canary-by-header: "always" routes to the canary, "never" never; other values fall through to weight. */
  header?: string;
  /** canary-by-header-value: the header must equal this to route to the canary. */
  headerValue?: string;
  /** canary-by-cookie: "always"/"never" like the header. */
  cookie?: string;
  /** canary-weight out of weightTotal (default 100). */
  weight: number;
  weightTotal: number;
}

/** Which Ingress a route came from (conflicts, events, per-Ingress metrics). */
export interface IngressRef {
  namespace: string;
  name: string;
  uid: string;
  /** RFC 3339; older wins conflicts. */
  creationTimestamp: string;
}

export interface Route {
  source: IngressRef;
  /** The rule's path ('/' when omitted). */
  path: string;
  pathType: PathType;
  backend: Backend;
  options: RouteOptions;
  canary?: Canary;
}

/** All routes for one host (exact name, `*.example.com` wildcard, or '' for rules without host). */
export interface HostRoutes {
  host: string;
  /** Sorted for matching: Exact before Prefix at equal length, longer paths first. */
  routes: Route[];
  /** The TLS certificate for this host, when an Ingress lists it under `tls`. */
  tls?: TlsCertificate;
}

export interface TlsCertificate {
  /** `namespace/name` of the kubernetes.io/tls Secret. */
  secret: string;
  certPem: string;
  keyPem: string;
}

export interface Conflict {
  host: string;
  path: string;
  pathType: PathType;
  /** The Ingress that keeps the path (oldest) and the one that lost it. */
  winner: IngressRef;
  loser: IngressRef;
}

export interface RoutingTable {
  /** Keyed by lowercase host ('' = rules without host). */
  hosts: Map<string, HostRoutes>;
  /** From the oldest served Ingress with `spec.defaultBackend`. */
  defaultBackend?: Backend;
  conflicts: Conflict[];
  /** Problems to report as events on Ingresses (missing TLS secret, bad annotation, ...). */
  warnings: { ingress: IngressRef; reason: string; message: string }[];
}
