/**
 * Test fixture: a RoutingTable exercising every feature the nginx renderer handles (Exact /
 * Prefix / regex + rewrite routes, wildcard and TLS hosts, a TLS-only host, canaries by header,
 * header value, cookie and weight, limits, timeouts, body size, HTTPS/GRPC backends, empty and
 * unsupported backends, a default backend) plus hostile values that must be escaped or dropped.
 */
import { DEFAULT_ROUTE_OPTIONS } from '../routes/annotations.js';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { Backend, Canary, HostRoutes, PathType, Route, RouteOptions, RoutingTable, TlsCertificate } from '../types.js';

const here = fileURLToPath(new URL('./testdata/', import.meta.url));

export function testdataCert(name: 'default' | 'foo' | 'wild'): { certPem: string; keyPem: string } {
  return { certPem: readFileSync(`${here}${name}.crt`, 'utf8'), keyPem: readFileSync(`${here}${name}.key`, 'utf8') };
}

export const BASE_OPTIONS: RouteOptions = { ...DEFAULT_ROUTE_OPTIONS };

export function svc(service: string, endpoints: [string, number][], opts: { ns?: string; port?: number | string; problem?: string } = {}): Backend {
  return {
    kind: 'service',
    namespace: opts.ns ?? 'default',
    service,
    port: opts.port ?? 80,
    endpoints: endpoints.map(([address, port]) => ({ address, port })),
    ...(opts.problem ? { problem: opts.problem } : {}),
  };
}

let created = 0;

export function route(
  path: string,
  pathType: PathType,
  backend: Backend,
  opts: { ingress?: string; options?: Partial<RouteOptions>; canary?: Canary } = {},
): Route {
  const name = opts.ingress ?? 'web';
  return {
    source: { namespace: 'default', name, uid: `uid-${name}`, creationTimestamp: `2024-01-01T00:00:${String(created++ % 60).padStart(2, '0')}Z` },
    path,
    pathType,
    backend,
    options: { ...BASE_OPTIONS, ...opts.options },
    ...(opts.canary ? { canary: opts.canary } : {}),
  };
}

export function hostRoutes(host: string, routes: Route[], tls?: TlsCertificate): HostRoutes {
  return { host, routes, ...(tls ? { tls } : {}) };
}

export function table(hosts: HostRoutes[], defaultBackend?: Backend): RoutingTable {
  return { hosts: new Map(hosts.map((h) => [h.host, h])), ...(defaultBackend ? { defaultBackend } : {}), conflicts: [], warnings: [] };
}

/** The golden fixture: every feature once, plus values that must be escaped or rejected. */
export function fullFixture(): RoutingTable {
  created = 0;
  const a = svc('app', [['10.0.0.1', 8080], ['10.0.0.2', 8080]]);
  const b = svc('api', [['10.0.1.1', 9090]], { port: 'http' });
  const canarySvc = svc('app-canary', [['10.0.2.1', 8080]]);
  const empty = svc('gone', [], { problem: 'service default/gone not found' });
  const unsupported: Backend = { kind: 'unsupported', namespace: 'default', message: 'resource backend example.com/Bucket "$pics" is not supported' };
  const foo = testdataCert('foo');
  const wild = testdataCert('wild');
  return table(
    [
      hostRoutes('', [
        route('/exact', 'Exact', a),
        route('/', 'Prefix', b),
      ]),
      hostRoutes(
        'foo.example.com',
        [
          route('/foo/bar', 'Exact', a, { options: { sslRedirect: true } }),
          route('/foo/', 'Prefix', b, { options: { sslRedirect: true, limitRps: 5, limitConnections: 3 } }),
          route('/api(/|$)(.*)', 'ImplementationSpecific', b, { ingress: 'rewrite', options: { useRegex: true, rewriteTarget: '/v1/$2?from=$1&cost=$$5' } }),
          route('/weights', 'Prefix', a, { ingress: 'main', canary: { backend: canarySvc, weight: 20, weightTotal: 100 } }),
          route('/byheader', 'Prefix', a, { ingress: 'main', canary: { backend: canarySvc, header: 'X-Canary', cookie: 'canary_cookie', weight: 0, weightTotal: 100 } }),
          route('/byvalue', 'Prefix', a, { ingress: 'main', canary: { backend: empty, header: 'X-Canary', headerValue: 'yes please', weight: 1, weightTotal: 3 } }),
          route('/slow', 'Prefix', a, { options: { connectTimeoutMs: 1500, readTimeoutMs: 120_000, sendTimeoutMs: 30_000, bodySizeLimit: 0 } }),
          route('/secure', 'Prefix', svc('tlsapp', [['10.0.3.1', 8443]]), { options: { backendProtocol: 'HTTPS' } }),
          route('/grpc', 'Prefix', svc('grpcapp', [['fd00::5', 50051]]), { options: { backendProtocol: 'GRPC' } }),
          route('/gone', 'Prefix', empty),
          route('/bucket', 'Prefix', unsupported),
          // Hostile paths: quoted and escaped, never breaking the configuration.
          route('/a;b{c}"d\\e$f', 'Prefix', a, { ingress: 'hostile' }),
          route('/x.y*z', 'Exact', a, { ingress: 'hostile' }),
          // Rejected: control characters, an invalid regex, a rewrite nginx would turn into a redirect.
          route('/bad\nreturn 200;', 'Exact', a, { ingress: 'hostile' }),
          route('/broken(', 'ImplementationSpecific', a, { ingress: 'hostile', options: { useRegex: true } }),
          route('/redir', 'ImplementationSpecific', a, { ingress: 'hostile', options: { useRegex: true, rewriteTarget: 'http://evil/' } }),
        ],
        { secret: 'default/foo-tls', ...foo },
      ),
      hostRoutes('*.wild.example.com', [route('/', 'Prefix', a, { ingress: 'wild', options: { forceSslRedirect: true, backendProtocol: 'GRPCS' } })], { secret: 'default/wild-tls', ...wild }),
      // TLS only: serves the wildcard's routes with the wildcard's certificate.
      hostRoutes('tls-only.wild.example.com', []),
      hostRoutes('bad host;', [route('/', 'Prefix', a, { ingress: 'hostile' })]),
      hostRoutes('canary.example.com', [
        route('/', 'Prefix', empty, { ingress: 'main', canary: { backend: canarySvc, cookie: 'bad cookie', header: 'Bad Header', weight: 50, weightTotal: 100 } }),
        route('/all', 'Prefix', a, { ingress: 'main', canary: { backend: unsupported, weight: 100, weightTotal: 100 } }),
      ]),
    ],
    svc('fallback', [['10.0.9.9', 80]], { ns: 'kube-system' }),
  );
}
