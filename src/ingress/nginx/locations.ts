/**
 * Route → nginx `location` rendering, with the upstreams, canary variables and limit zones the
 * locations refer to collected in a `RenderState` (emitted at `http` level by render.ts).
 *
 * Matching parity with the built-in proxy (routes/match.ts): every route becomes a *regex*
 * location, emitted in the table's order (longest first, Exact before Prefix), and nginx tries
 * regex locations in order of appearance, first match wins — exactly `matchRoute`'s loop. The
 * only prefix location is the `location /` fallback (default backend or 404), which nginx uses
 * only when no regex matched. `location = /x` / `location /x/` would hand the precedence to
 * nginx's own rules (exact first, then longest literal prefix, then regexes), which differ from
 * the Ingress order for regex routes, so they are not used.
 *
 * - Exact `/foo`          → `location ~ "^/foo$"` (case-sensitive)
 * - Prefix `/foo`, `/foo/`→ `location ~ "^/foo(/|$)"` (element-wise: not `/foobar`); `/` → `~ "^/"`
 * - ImplementationSpecific + use-regex → `location ~* "^(?:<path>)"` and rewrite-target as
 *   `rewrite "(?i)^(?:<path>)" "<target>" break;` (captures numbered as in the built-in proxy).
 */
import { createHash } from 'node:crypto';
import { isIP } from 'node:net';
import { errorBody, upstreamName } from '../proxy/policy.js';
import { compilePathRegex, isRegexRoute, prefixKey } from '../routes/match.js';
import type { Backend, Canary, HostRoutes, Route, RouteOptions } from '../types.js';
import { cookieRegex, exactKey, hasControl, headerVariable, hostPort, quote, regexLiteral, rewriteReplacement, text, validCookieName } from './escape.js';

/** ingress-nginx's limit-burst-multiplier default (the built-in proxy's token bucket size too). */
const BURST_MULTIPLIER = 5;

/** What answers a request: an upstream group, or a fixed response nginx writes itself. */
export type Action =
  | { kind: 'proxy'; upstream: string; name: string }
  | { kind: 'static'; status: number; body: string; name: string };

/** Everything the http block must declare for the locations rendered so far. */
export class RenderState {
  /** Per route id (`$kl_route`): which Ingress and services a logged request belongs to. */
  readonly routes: RouteInfo[] = [];
  readonly upstreams = new Map<string, { name: string; comment: string; servers: string[] }>();
  /** http-level declarations for canaries (split_clients, map). */
  readonly canaryDecls: string[] = [];
  readonly zones = new Map<string, { name: string; decl: string }>();
  readonly warnings: string[] = [];
  private canaries = 0;

  /** The action serving a backend: its upstream (deduplicated by endpoints) or a 404/503 answer. */
  action(backend: Backend): Action {
    const name = upstreamName(backend);
    if (backend.kind === 'unsupported') return { kind: 'static', status: 404, body: errorBody(404, backend.message), name };
    const servers: string[] = [];
    for (const ep of backend.endpoints) {
      if (isIP(ep.address) && Number.isInteger(ep.port) && ep.port > 0 && ep.port < 65536) servers.push(hostPort(ep.address, ep.port));
      else this.warnings.push(`upstream ${name}: endpoint ${JSON.stringify(ep)} is not an IP address and port; left out`);
    }
    if (servers.length === 0) return { kind: 'static', status: 503, body: errorBody(503, backend.problem ?? `no endpoints for ${name}`), name };
    const key = `${name}|${servers.join(',')}`;
    let up = this.upstreams.get(key);
    if (!up) {
      up = { name: `kl_u${this.upstreams.size + 1}`, comment: name, servers };
      this.upstreams.set(key, up);
    }
    return { kind: 'proxy', upstream: up.name, name };
  }

  /** A zone per Ingress and limit (the built-in proxy keys its buckets by Ingress and client IP). */
  zone(kind: 'rps' | 'conn', route: Route, value: number): string {
    const key = `${kind}|${route.source.uid}|${value}`;
    let z = this.zones.get(key);
    if (!z) {
      const name = `kl_${kind}_${this.zones.size + 1}`;
      const src = `${route.source.namespace}/${route.source.name}`.replace(/[^A-Za-z0-9._/-]/g, '_');
      const decl =
        kind === 'rps'
          ? `limit_req_zone $binary_remote_addr zone=${name}:1m rate=${value}r/s; # ${src}`
          : `limit_conn_zone $binary_remote_addr zone=${name}:1m; # ${src}`;
      z = { name, decl };
      this.zones.set(key, z);
    }
    return z.name;
  }

  /**
   * Declares the variables deciding one canary, in ingress-nginx's order (header, cookie,
   * weight); returns the variable ('1' → canary) or a constant when nothing varies.
   */
  canaryDecision(canary: Canary, where: string): string {
    const k = ++this.canaries;
    const total = canary.weightTotal > 0 ? canary.weightTotal : 100;
    let decision: string;
    if (canary.weight <= 0) decision = '0';
    else if (canary.weight >= total) decision = '1';
    else {
      const pct = Math.round((canary.weight / total) * 10_000) / 100;
      decision = pct <= 0 ? '0' : pct >= 100 ? '1' : `$kl_canary${k}_w`;
      if (decision.startsWith('$')) this.canaryDecls.push(`split_clients "\${request_id}" ${decision} {\n    ${pct}% 1;\n    * 0;\n}`);
    }
    if (canary.cookie !== undefined) {
      if (!validCookieName(canary.cookie)) this.warnings.push(`${where}: canary-by-cookie ${JSON.stringify(canary.cookie)} is not a cookie name; ignored`);
      else {
        const v = `$kl_canary${k}_c`;
        this.canaryDecls.push(
          `map $http_cookie ${v} {\n    ${quote(cookieRegex(canary.cookie, 'always'))} 1;\n    ${quote(cookieRegex(canary.cookie, 'never'))} 0;\n    default ${decision.startsWith('$') ? decision : `"${decision}"`};\n}`,
        );
        decision = v;
      }
    }
    if (canary.header !== undefined) {
      const hv = headerVariable(canary.header);
      if (!hv) this.warnings.push(`${where}: canary-by-header ${JSON.stringify(canary.header)} is not a header name; ignored`);
      else {
        const v = `$kl_canary${k}_h`;
        const keys = canary.headerValue
          ? `    ${quote(exactKey(canary.headerValue))} 1;\n`
          : `    ${quote(exactKey('always'))} 1;\n    ${quote(exactKey('never'))} 0;\n`;
        this.canaryDecls.push(`map ${hv} ${v} {\n${keys}    default ${decision.startsWith('$') ? decision : `"${decision}"`};\n}`);
        decision = v;
      }
    }
    return decision;
  }

  /** Declares `map <decision> <var> { "1" a; default b; }` and returns the variable. */
  choose(decision: string, canaryValue: string, mainValue: string): string {
    const v = `$kl_pick${this.canaryDecls.length + 1}`;
    this.canaryDecls.push(`map ${decision} ${v} {\n    "1" ${text(canaryValue)};\n    default ${text(mainValue)};\n}`);
    return v;
  }
}

/** What a `$kl_route` id stands for in the access log (per-Ingress metrics). */
export interface RouteInfo {
  namespace: string;
  name: string;
  path: string;
  host: string;
  /** The main backend's Service ('' for an unsupported backend) and upstream name. */
  service: string;
  upstreamName: string;
  canaryService?: string;
  canaryUpstreamName?: string;
}

const serviceOf = (b: Backend): string => (b.kind === 'service' ? b.service : '');

/** The location modifier and quoted regex for a route, or undefined (with a reason) if unsafe. */
export function locationMatch(route: Route): { head: string; rewriteRegex?: string } | { error: string } {
  if (hasControl(route.path)) return { error: 'the path contains control characters' };
  if (isRegexRoute(route)) {
    if (compilePathRegex(route.path) === null) return { error: 'the path is not a valid regular expression' };
    return { head: `location ~* ${quote(`^(?:${route.path})`)}`, rewriteRegex: quote(`(?i)^(?:${route.path})`) };
  }
  if (route.pathType === 'Exact') return { head: `location ~ ${quote(`^${regexLiteral(route.path)}$`)}` };
  const key = prefixKey(route.path);
  if (key === '') return { head: `location ~ ${quote('^/')}` };
  return { head: `location ~ ${quote(`^${regexLiteral(key)}(/|$)`)}` };
}

export interface LocationContext {
  state: RenderState;
  /** The host entry the route belongs to (its TLS decides ssl-redirect). */
  owner: HostRoutes;
  /** The HTTPS port written into redirects (443 left out). */
  publicHttpsPort: number;
  /** Configuration generation, prefixed to route ids (`<generation>.<index>`) in the access log. */
  generation: number;
}

/** Renders one route's location block (indented for a server block), or undefined with a warning. */
export function renderRouteLocation(route: Route, ctx: LocationContext): string | undefined {
  const where = `ingress ${route.source.namespace}/${route.source.name} path ${JSON.stringify(route.path)} (${route.pathType})`;
  const m = locationMatch(route);
  if ('error' in m) {
    ctx.state.warnings.push(`${where}: ${m.error}; route left out of the nginx configuration`);
    return undefined;
  }
  const o = route.options;
  let rewrite: string | undefined;
  if (o.rewriteTarget !== undefined && m.rewriteRegex) {
    const repl = rewriteReplacement(o.rewriteTarget);
    if (repl === undefined) {
      ctx.state.warnings.push(`${where}: rewrite-target ${JSON.stringify(o.rewriteTarget)} cannot be expressed in nginx; route left out`);
      return undefined;
    }
    rewrite = `rewrite ${m.rewriteRegex} ${repl} break;`;
  }
  const body: string[] = [];
  const main = ctx.state.action(route.backend);
  const info: RouteInfo = {
    namespace: route.source.namespace,
    name: route.source.name,
    path: route.path,
    host: ctx.owner.host,
    service: serviceOf(route.backend),
    upstreamName: main.name,
    ...(route.canary ? { canaryService: serviceOf(route.canary.backend), canaryUpstreamName: upstreamName(route.canary.backend) } : {}),
  };
  ctx.state.routes.push(info);
  body.push(`set $kl_route "${ctx.generation}.${ctx.state.routes.length - 1}";`, `set $proxy_upstream_name ${text(main.name)};`);
  if (o.forceSslRedirect || (o.sslRedirect && ctx.owner.tls)) {
    const port = ctx.publicHttpsPort === 443 ? '' : `:${ctx.publicHttpsPort}`;
    body.push(`if ($scheme = "http") {\n    return 308 "https://$host${port}$request_uri";\n}`);
  }
  let final: Action = main;
  let proxyTarget: string | undefined;
  if (route.canary) {
    const canary = ctx.state.action(route.canary.backend);
    const decision = ctx.state.canaryDecision(route.canary, where);
    body.push(`set $proxy_alternative_upstream_name ${text(canary.name)};`);
    if (decision === '1') {
      final = canary;
      body.push(`set $proxy_upstream_name ${text(canary.name)};`);
    } else if (decision !== '0') {
      body.push(`set $proxy_upstream_name ${ctx.state.choose(decision, canary.name, main.name)};`);
      if (main.kind === 'proxy' && canary.kind === 'proxy') proxyTarget = ctx.state.choose(decision, canary.upstream, main.upstream);
      else if (canary.kind === 'static') body.push(`if (${decision} = "1") {\n    ${staticReturn(canary)}\n}`);
      else if (main.kind === 'static') {
        body.push(`if (${decision} != "1") {\n    ${staticReturn(main)}\n}`);
        final = canary;
      }
    }
  }
  if (rewrite) body.push(rewrite);
  body.push(...limits(route, ctx.state));
  body.push(...proxyDirectives(final, o, proxyTarget));
  return block(`${m.head} { # ${comment(where)}`, body);
}

/** The fallback `location /` of a server: the default backend, or ingress-nginx's 404. */
export function renderFallback(defaultBackend: Backend | undefined, state: RenderState, options: RouteOptions): string {
  if (!defaultBackend) return block('location / {', [`set $proxy_upstream_name "upstream-default-backend";`, staticReturn({ kind: 'static', status: 404, body: errorBody(404, 'default backend - 404'), name: '' })]);
  const a = state.action(defaultBackend);
  return block('location / {', [`set $proxy_upstream_name ${text(a.name)};`, ...proxyDirectives(a, options)]);
}

function staticReturn(a: Extract<Action, { kind: 'static' }>): string {
  return `return ${a.status} ${text(a.body)};`;
}

function limits(route: Route, state: RenderState): string[] {
  const out: string[] = [];
  const o = route.options;
  if (o.limitRps > 0) out.push(`limit_req zone=${state.zone('rps', route, o.limitRps)} burst=${Math.max(1, o.limitRps * BURST_MULTIPLIER)} nodelay;`);
  if (o.limitConnections > 0) out.push(`limit_conn ${state.zone('conn', route, o.limitConnections)} ${o.limitConnections};`);
  return out;
}

/** Body size, timeouts and the content handler for an action. */
function proxyDirectives(a: Action, o: RouteOptions, target?: string): string[] {
  const out = [`client_max_body_size ${o.bodySizeLimit};`];
  if (a.kind === 'static') return [...out, staticReturn(a)];
  const up = target ?? a.upstream;
  const grpc = o.backendProtocol === 'GRPC' || o.backendProtocol === 'GRPCS';
  const p = grpc ? 'grpc' : 'proxy';
  out.push(`${p}_connect_timeout ${o.connectTimeoutMs}ms;`, `${p}_read_timeout ${o.readTimeoutMs}ms;`, `${p}_send_timeout ${o.sendTimeoutMs}ms;`);
  switch (o.backendProtocol) {
    case 'HTTP':
      out.push(`proxy_pass http://${up};`);
      break;
    case 'HTTPS':
      out.push('proxy_ssl_verify off;', `proxy_pass https://${up};`);
      break;
    case 'GRPC':
      out.push(`grpc_pass grpc://${up};`);
      break;
    case 'GRPCS':
      out.push('grpc_ssl_verify off;', `grpc_pass grpcs://${up};`);
      break;
  }
  return out;
}

/** A block with its body indented by four spaces (nested blocks keep their own indentation). */
export function block(head: string, body: string[]): string {
  const inner = body.flatMap((b) => b.split('\n')).map((l) => (l ? `    ${l}` : l));
  return [head, ...inner, '}'].join('\n');
}

/** A comment cannot end a line early: newlines are already excluded, `#` inside is harmless. */
function comment(s: string): string {
  return s.replace(/[\x00-\x1f\x7f]/g, '?');
}

/** Stable file name for a certificate pair (content-addressed: a new Secret gets a new file). */
export function certFileBase(certPem: string, keyPem: string): string {
  return `tls/${createHash('sha256').update(certPem).update('\0').update(keyPem).digest('hex').slice(0, 20)}`;
}
