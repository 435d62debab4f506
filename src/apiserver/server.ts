/**
 * The API server: HTTPS with bearer-token authentication in front of discovery, OpenAPI,
 * health endpoints and the REST handlers. It owns no state beyond the watch cache; everything
 * durable is in the storage backend.
 */
import { createServer as createHttpsServer, type Server as HttpsServer } from 'node:https';
import { createServer as createHttpServer, STATUS_CODES, type IncomingMessage, type ServerResponse, type Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { NodeConnections } from './nodeconnections.js';
import { nodeHandler } from './http/pods.js';
import { timingSafeEqual } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Backend } from '../storage/types.js';
import { errors, StatusError } from './errors.js';
import { Registry } from './registry/index.js';
import type { KindPlugins } from './registry/strategy.js';
import { WatchCache } from './watchcache.js';
import { RecentObjects } from './registry/recent.js';
import { LocalInformer } from '../client/informer.js';
import { ROOT } from './registry/keys.js';
import { parseApiPath } from './http/request.js';
import { send, sendError } from './http/respond.js';
import { handleResource, type HandlerDeps } from './http/handlers.js';
import type { HttpPlugins } from './http/plugins.js';
import {
  aggregatedDiscovery,
  apiGroup,
  apiGroupList,
  apiResourceList,
  apiVersions,
  versionInfo,
  wantsAggregated,
} from './discovery.js';
import { openapiV2, openapiV3Document, openapiV3Root } from '../api/openapi.js';
import { LintAdmission, type LintAdmissionMode } from './admission/lint.js';

export interface ApiServerOptions {
  backend: Backend;
  kindPlugins: KindPlugins;
  httpPlugins: HttpPlugins;
  /** Extra strategies (services with allocators). */
  strategies?: ConstructorParameters<typeof Registry>[0]['strategies'];
  host: string;
  port: number;
  tls?: { cert: string; key: string };
  /** Bearer tokens accepted (admin). Empty disables authentication (tests only). */
  tokens: string[];
  now?: () => Date;
  bookmarkIntervalMs?: number;
  /** Admission lint of user writes (`--lint-admission`; default 'off' here, 'warn' in the CLI). */
  lintAdmission?: LintAdmissionMode;
}

const PUBLIC_PATHS = new Set(['/healthz', '/livez', '/readyz', '/version', '/version/']);

export class ApiServer {
  readonly registry: Registry;
  readonly cache: WatchCache;
  private server?: Server | HttpsServer;
  private deps: HandlerDeps;
  private readonly tokenBufs: Buffer[];
  private ready = false;
  private readonly sockets = new Set<import('node:net').Socket>();
  private namespaces?: LocalInformer;
  /** Node agents serving pod log/exec/attach/portforward (see nodeconnections.ts). */
  readonly nodes = new NodeConnections();
  /** Admission lint (see admission/lint.ts); `lint.setMode()` changes the mode while serving. */
  readonly lint: LintAdmission;

  constructor(private readonly opts: ApiServerOptions) {
    const now = opts.now ?? (() => new Date());
    const recent = new RecentObjects();
    this.registry = new Registry({ backend: opts.backend, plugins: opts.kindPlugins, strategies: opts.strategies, now, recent });
    this.cache = new WatchCache(opts.backend, { prefix: ROOT, recent });
    this.lint = new LintAdmission({ mode: opts.lintAdmission ?? 'off' });
    this.deps = { registry: this.registry, cache: this.cache, plugins: opts.httpPlugins, now, bookmarkIntervalMs: opts.bookmarkIntervalMs, nodes: this.nodes, lint: this.lint };
    this.tokenBufs = opts.tokens.map((t) => Buffer.from(t));
  }

  /** Starts the watch cache and listens. Resolves with the bound address. */
  async listen(): Promise<AddressInfo> {
    await this.cache.start();
    const nsStore = this.registry.must('', 'namespaces');
    this.namespaces = new LocalInformer([nsStore], this.cache, {});
    await this.namespaces.start();
    this.registry.useNamespaceCache((name) => this.namespaces?.get(nsStore.key(undefined, name)));
    await this.lint.start({ registry: this.registry, cache: this.cache });
    const handler = (req: IncomingMessage, res: ServerResponse): void => {
      this.handle(req, res).catch((err) => sendError(res, err));
    };
    this.server = this.opts.tls
      ? createHttpsServer({ cert: this.opts.tls.cert, key: this.opts.tls.key, minVersion: 'TLSv1.2' }, handler)
      : createHttpServer(handler);
    this.server.keepAliveTimeout = 120_000;
    this.server.headersTimeout = 125_000;
    this.server.requestTimeout = 0;
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('upgrade', (req: IncomingMessage, socket: Duplex, head: Buffer) => {
      this.handleUpgrade(req, socket, head).catch((err) => rejectUpgrade(socket, err));
    });
    this.server.on('clientError', (_err, socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    });
    await new Promise<void>((resolve, reject) => {
      this.server!.once('error', reject);
      this.server!.listen(this.opts.port, this.opts.host, () => resolve());
    });
    this.ready = true;
    return this.server.address() as AddressInfo;
  }

  /** Compacts the store's history to revision and makes the watch cache forget it too. */
  async compact(revision: number): Promise<void> {
    await this.opts.backend.compact(revision);
    this.cache.compacted(revision);
  }

  async close(): Promise<void> {
    this.ready = false;
    this.namespaces?.close();
    this.lint.close();
    this.cache.close();
    if (this.server) {
      const closed = new Promise<void>((resolve) => this.server!.close(() => resolve()));
      for (const s of this.sockets) s.destroy();
      await closed;
    }
  }

  private authenticated(req: IncomingMessage): boolean {
    if (this.tokenBufs.length === 0) return true;
    const h = req.headers.authorization;
    if (!h || !/^bearer /i.test(h)) return false;
    const got = Buffer.from(h.slice(7).trim());
    return this.tokenBufs.some((t) => t.length === got.length && timingSafeEqual(t, got));
  }

  /**
   * Upgraded connections: only pod exec/attach/portforward (WebSocket or SPDY), authenticated
   * like any request, then handed to the agent of the pod's node with the raw socket.
   */
  private async handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    if (!this.authenticated(req)) throw errors.unauthorized();
    const url = new URL(req.url ?? '/', 'https://kubelite');
    const api = parseApiPath(url.pathname);
    if (api.type !== 'resource') throw errors.pathNotFound();
    const { path } = api;
    const sub = path.subresource;
    if (path.group !== '' || path.plural !== 'pods' || !path.namespace || !path.name || (sub !== 'exec' && sub !== 'attach' && sub !== 'portforward')) {
      throw errors.badRequest('upgrade is only supported for pod exec, attach and portforward');
    }
    const pod = await this.registry.must('', 'pods').get(path.namespace, path.name);
    const handler = nodeHandler(this.nodes, pod, path.name, sub);
    await handler.upgrade(sub, pod, url.searchParams, { req, socket, head });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    let url: URL;
    try {
      url = new URL(req.url ?? '/', 'https://kubelite');
    } catch {
      // Authentication comes before routing: an unauthenticated client learns nothing about paths.
      if (!this.authenticated(req)) {
        req.resume();
        send(res, 401, errors.unauthorized().toStatus());
        return;
      }
      throw errors.badRequest('malformed request URL');
    }
    const pathname = url.pathname.length > 1 ? url.pathname.replace(/\/+$/, '') : url.pathname;
    const isPublic = PUBLIC_PATHS.has(pathname) || pathname.startsWith('/healthz/') || pathname.startsWith('/livez/') || pathname.startsWith('/readyz/');
    if (!isPublic && !this.authenticated(req)) {
      req.resume();
      send(res, 401, errors.unauthorized().toStatus());
      return;
    }
    if (pathname === '/healthz' || pathname === '/livez' || pathname === '/readyz' || /^\/(healthz|livez|readyz)\//.test(pathname)) {
      const ok = this.ready;
      const body = ok ? 'ok' : 'not ready';
      res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
      res.end(body);
      return;
    }
    if (pathname === '/version') {
      send(res, 200, versionInfo());
      return;
    }
    if (pathname === '/openapi/v2') {
      send(res, 200, openapiV2());
      return;
    }
    if (pathname === '/openapi/v3') {
      send(res, 200, openapiV3Root());
      return;
    }
    if (pathname.startsWith('/openapi/v3/')) {
      const doc = openapiV3Document(pathname.slice('/openapi/v3/'.length));
      if (!doc) throw errors.pathNotFound();
      // The exact bytes the root index's hash was computed over.
      res.writeHead(200, {
        'Content-Type': 'application/json',
        'Content-Length': String(Buffer.byteLength(doc.json)),
        'Cache-Control': url.searchParams.has('hash') ? 'public, immutable' : 'no-cache, private',
        Etag: `"${doc.hash}"`,
      });
      res.end(doc.json);
      return;
    }
    const api = parseApiPath(pathname);
    const method = req.method ?? 'GET';
    switch (api.type) {
      case 'root': {
        if (method !== 'GET') throw errors.methodNotAllowed();
        const agg = wantsAggregated(req.headers.accept);
        if (agg) {
          send(res, 200, aggregatedDiscovery(api.which, `apidiscovery.k8s.io/${agg}`), {
            contentType: `application/json;g=apidiscovery.k8s.io;v=${agg};as=APIGroupDiscoveryList`,
          });
          return;
        }
        const addr = this.server?.address() as AddressInfo | undefined;
        send(res, 200, api.which === 'api' ? apiVersions(`${this.opts.host}:${addr?.port ?? this.opts.port}`) : apiGroupList());
        return;
      }
      case 'group': {
        const g = apiGroup(api.group);
        if (!g) throw errors.pathNotFound();
        send(res, 200, g);
        return;
      }
      case 'groupVersion': {
        const l = apiResourceList(api.group, api.version);
        if (!l) throw errors.pathNotFound();
        send(res, 200, l);
        return;
      }
      case 'resource':
        await handleResource(req, res, api.path, url.searchParams, this.deps);
        return;
      default:
        if (pathname === '/') {
          send(res, 200, { paths: ['/api', '/api/v1', '/apis', '/healthz', '/livez', '/openapi/v2', '/openapi/v3', '/readyz', '/version'] });
          return;
        }
        throw errors.pathNotFound();
    }
  }
}

/** Answers a failed upgrade with the error as a metav1.Status over plain HTTP/1.1, then closes. */
function rejectUpgrade(socket: Duplex, err: unknown): void {
  const se = err instanceof StatusError ? err : errors.internal(err instanceof Error ? err.message : String(err));
  if (!(err instanceof StatusError)) console.error('kubelite: internal error:', err instanceof Error ? err.stack : err);
  if (!socket.writable) return;
  const body = JSON.stringify(se.toStatus());
  socket.end(
    `HTTP/1.1 ${se.code} ${STATUS_CODES[se.code] ?? 'Error'}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export { StatusError };
