/**
 * `renderNginxConfig`: a RoutingTable → one nginx.conf (plus the certificate files it names),
 * as a PURE function so the whole configuration is golden-tested and `nginx -t`-checked.
 *
 * Server selection mirrors routes/match.ts: one server per host key — exact names, and `*.x`
 * wildcards as a regex server_name covering exactly one label (nginx checks exact names before
 * regex names, as matchRoute tries the exact host before the wildcard) — plus the
 * `default_server` carrying the rules without host. A host entry without routes (a host only
 * listed under `tls`) serves the routes matchRoute would fall through to (its wildcard's, else
 * the host-less ones) with its own certificate. Each server ends with the `location /` fallback:
 * the table's default backend or ingress-nginx's "default backend - 404".
 *
 * Headers, body size, timeouts, WebSocket and keepalive settings live at `http` level and are
 * inherited (locations never set `proxy_set_header`, which would drop the inherited ones).
 */
import { DEFAULT_ROUTE_OPTIONS } from '../routes/annotations.js';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { isIP } from 'node:net';
import { wildcardFor } from '../routes/match.js';
import type { HostRoutes, Route, RouteOptions, RoutingTable } from '../types.js';
import { DOLLAR_VAR, hostPort, quote, serverName, validHost } from './escape.js';
import { block, certFileBase, renderFallback, renderRouteLocation, RenderState, type RouteInfo } from './locations.js';
import { METRICS_LOG_FORMAT, UPSTREAMINFO_FORMAT } from './accesslog.js';

/** The control endpoint (unix socket under `dir`) that answers `GET /generation`. */
export const CONTROL_SOCKET = 'control.sock';

export interface NginxRenderOptions {
  /** Absolute working directory (nginx `-p` prefix): certificates, temp files, control socket. */
  dir: string;
  httpHost: string;
  httpPort: number;
  httpsPort: number;
  /** Port written into ssl-redirect Locations (default httpsPort; 443 is left out). */
  publicHttpsPort?: number;
  defaultCert: { certPem: string; keyPem: string };
  /** Served on the control socket, so a reload is known to have taken effect. */
  generation: number;
  /** `user` directive (e.g. 'root' when running as root); omitted when undefined. */
  user?: string;
  /** worker_processes (default 'auto'). */
  workerProcesses?: number | 'auto';
  /** access_log target ('off', a path relative to dir, or '/dev/stdout'); default 'logs/access.log'. */
  accessLog?: string;
  /** Log format: ingress-nginx's 'upstreaminfo' (default) or 'metrics' (its fields plus metrics ones; accesslog.ts). */
  accessLogFormat?: 'upstreaminfo' | 'metrics';
  /**
   * Extra access_log parameters, e.g. 'buffer=64k flush=500ms' (a file target written in batches
   * instead of one write per request).
   */
  accessLogParams?: string;
  /** error_log target (default 'stderr'). */
  errorLog?: string;
}

export interface RenderedNginxConfig {
  config: string;
  /** Files to write under dir (certificates and keys), by relative name; write them mode 0600. */
  files: Map<string, string>;
  /** Routes, hosts or settings left out because they cannot be represented safely. */
  warnings: string[];
  /** By index (the JSON log's `route` is `<generation>.<index>`): the Ingress each location serves. */
  routes: RouteInfo[];
}

/** ingress-nginx's defaults, for the fallback location. */
const DEFAULT_OPTIONS: Readonly<RouteOptions> = DEFAULT_ROUTE_OPTIONS;

/** Renders the whole configuration; see the file comment. Never throws on table content. */
export function renderNginxConfig(table: RoutingTable, opts: NginxRenderOptions): RenderedNginxConfig {
  const state = new RenderState();
  const files = new Map<string, string>();
  const certFiles = (pair: { certPem: string; keyPem: string }): string[] => {
    const base = certFileBase(pair.certPem, pair.keyPem);
    files.set(`${base}.crt`, pair.certPem);
    files.set(`${base}.key`, pair.keyPem);
    return [`ssl_certificate ${quote(`${base}.crt`)};`, `ssl_certificate_key ${quote(`${base}.key`)};`];
  };
  const publicHttpsPort = opts.publicHttpsPort ?? opts.httpsPort;

  const serverBlock = (key: string | undefined, isDefault: boolean): string | undefined => {
    const entry = key === undefined ? undefined : table.hosts.get(key);
    const lines: string[] = [
      `listen ${hostPort(opts.httpHost, opts.httpPort)}${isDefault ? ' default_server' : ''};`,
      `listen ${hostPort(opts.httpHost, opts.httpsPort)} ssl http2${isDefault ? ' default_server' : ''};`,
      `server_name ${isDefault ? '_' : serverName(key!)};`,
    ];
    const tls = key ? (entry?.tls ?? (key.startsWith('*.') ? undefined : table.hosts.get(wildcardFor(key) ?? '')?.tls)) : undefined;
    if (tls) {
      const problem = certProblem(tls.certPem, tls.keyPem);
      if (problem) state.warnings.push(`host ${key}: certificate from secret ${tls.secret} is unusable (${problem}); the default certificate is served`);
      else lines.push(...certFiles(tls));
    }
    lines.push('set $proxy_upstream_name "-";', 'set $proxy_alternative_upstream_name "";', 'set $kl_route "";');
    for (const { route, owner } of effectiveRoutes(table, key ?? '')) {
      const loc = renderRouteLocation(route, { state, owner, publicHttpsPort, generation: opts.generation });
      if (loc) lines.push('', loc);
    }
    lines.push('', renderFallback(table.defaultBackend, state, DEFAULT_OPTIONS));
    return block(`server { # ${key === undefined || key === '' ? '(default)' : key}`, lines);
  };

  const servers: string[] = [serverBlock(table.hosts.has('') ? '' : undefined, true)!];
  for (const key of [...table.hosts.keys()].filter((k) => k !== '').sort()) {
    if (!validHost(key)) {
      state.warnings.push(`host ${JSON.stringify(key)} is not a valid host name; its rules are left out of the nginx configuration`);
      continue;
    }
    servers.push(serverBlock(key, false)!);
  }
  servers.push(controlServer(opts));

  const defaultCertLines = certFiles(opts.defaultCert);
  const http: string[] = [
    ...httpSettings(opts),
    ...defaultCertLines,
    '',
    ...[...state.zones.values()].map((z) => z.decl),
    ...[...state.upstreams.values()].map((u) =>
      block(`upstream ${u.name} { # ${u.comment}`, [...u.servers.map((s) => `server ${s} max_fails=0;`), 'keepalive 32;', 'keepalive_timeout 60s;']),
    ),
    ...state.canaryDecls,
    '',
    servers.join('\n\n'),
  ];
  const main = [
    '# Generated by kubelite (src/ingress/nginx); do not edit.',
    ...(opts.user ? [`user ${quote(opts.user)};`] : []),
    `worker_processes ${opts.workerProcesses ?? 'auto'};`,
    'pid nginx.pid;',
    `error_log ${quote(opts.errorLog ?? 'stderr')} warn;`,
    'worker_shutdown_timeout 30s;',
    '',
    block('events {', ['worker_connections 16384;']),
    '',
    block('http {', http),
    '',
  ];
  return { config: main.join('\n'), files, warnings: state.warnings, routes: state.routes };
}

/**
 * The routes a server for `key` serves, with the host entry each came from: its own, else (as
 * matchRoute falls through empty entries) its wildcard's, else the host-less ones.
 */
function effectiveRoutes(table: RoutingTable, key: string): { route: Route; owner: HostRoutes }[] {
  const chain: (HostRoutes | undefined)[] = [table.hosts.get(key)];
  if (key !== '' && !key.startsWith('*.')) chain.push(table.hosts.get(wildcardFor(key) ?? ''));
  if (key !== '') chain.push(table.hosts.get(''));
  for (const entry of chain) {
    if (entry && entry.routes.length > 0) return entry.routes.map((route) => ({ route, owner: entry }));
  }
  return [];
}

/** Why a PEM pair cannot be loaded (so one bad Secret never fails the whole reload). */
function certProblem(certPem: string, keyPem: string): string | undefined {
  try {
    const cert = new X509Certificate(certPem);
    const key = createPrivateKey(keyPem);
    if (!cert.checkPrivateKey(key)) return 'the key does not match the certificate';
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}

function httpSettings(opts: NginxRenderOptions): string[] {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `${t}_temp_path ${quote(`tmp/${t}`)};`);
  return [
    ...temp,
    'default_type text/html;',
    'server_tokens off;',
    'merge_slashes off;',
    'sendfile on;',
    'tcp_nodelay on;',
    'keepalive_timeout 75s;',
    'keepalive_requests 1000;',
    'client_header_timeout 60s;',
    'client_body_timeout 60s;',
    'large_client_header_buffers 4 8k;',
    'client_max_body_size 1m;',
    'server_names_hash_bucket_size 256;',
    'server_names_hash_max_size 4096;',
    'variables_hash_bucket_size 256;',
    'variables_hash_max_size 4096;',
    'map_hash_bucket_size 256;',
    'limit_req_status 503;',
    'limit_conn_status 503;',
    '',
    `log_format upstreaminfo ${quote(UPSTREAMINFO_FORMAT)};`,
    `log_format kl_metrics ${quote(METRICS_LOG_FORMAT)};`,
    opts.accessLog === 'off'
      ? 'access_log off;'
      : `access_log ${quote(opts.accessLog ?? 'logs/access.log')} ${opts.accessLogFormat === 'metrics' ? 'kl_metrics' : 'upstreaminfo'}${opts.accessLogParams ? ` ${opts.accessLogParams}` : ''};`,
    '',
    '# A literal "$" for interpolated strings (nginx has no escape for it).',
    block(`geo $${DOLLAR_VAR} {`, ['default "$";']),
    '# X-Request-ID: the client\'s, else a fresh one (as ingress-nginx).',
    block('map $http_x_request_id $req_id {', ['default $http_x_request_id;', '"" $request_id;']),
    block('map $http_host $best_http_host {', ['default $http_host;', '"" $host;']),
    '# WebSocket upgrade; an empty Connection keeps upstream keepalive working.',
    block('map $http_upgrade $connection_upgrade {', ['default upgrade;', '"" "";']),
    '',
    'proxy_http_version 1.1;',
    'proxy_redirect off;',
    'proxy_buffering off;',
    'proxy_request_buffering on;',
    'proxy_next_upstream error timeout;',
    'proxy_next_upstream_tries 3;',
    'proxy_ssl_server_name off;',
    ...forwardHeaders('proxy'),
    'proxy_set_header Upgrade $http_upgrade;',
    'proxy_set_header Connection $connection_upgrade;',
    ...forwardHeaders('grpc'),
    '',
    'ssl_protocols TLSv1.2 TLSv1.3;',
    'ssl_session_cache shared:SSL:10m;',
    'ssl_session_timeout 10m;',
    'ssl_prefer_server_ciphers on;',
  ];
}

/** The built-in proxy's forwarded set (X-Forwarded-For appends the peer, Host as sent). */
function forwardHeaders(p: 'proxy' | 'grpc'): string[] {
  return [
    `${p}_set_header Host $best_http_host;`,
    `${p}_set_header X-Request-ID $req_id;`,
    `${p}_set_header X-Real-IP $remote_addr;`,
    `${p}_set_header X-Forwarded-For $proxy_add_x_forwarded_for;`,
    `${p}_set_header X-Forwarded-Host $best_http_host;`,
    `${p}_set_header X-Forwarded-Port $server_port;`,
    `${p}_set_header X-Forwarded-Proto $scheme;`,
    `${p}_set_header X-Forwarded-Scheme $scheme;`,
    `${p}_set_header X-Scheme $scheme;`,
  ];
}

function controlServer(opts: NginxRenderOptions): string {
  return block('server { # control socket (reload detection)', [
    `listen ${quote(`unix:${opts.dir.replace(/\/+$/, '')}/${CONTROL_SOCKET}`)};`,
    'access_log off;',
    block('location = /generation {', [`return 200 "${opts.generation}";`]),
    block('location / {', ['return 404;']),
  ]);
}

/** Exposed for tests: whether a listen host is an IP literal nginx can bind. */
export function validListenHost(host: string): boolean {
  return host === '' || isIP(host) !== 0;
}
