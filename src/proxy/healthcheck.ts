/**
 * kube-proxy's two kinds of health endpoints (pkg/proxy/healthcheck):
 *
 * - ProxyHealthServer: the proxy's own `/healthz` and `/livez` (`--healthz-bind-address`,
 *   default 0.0.0.0:10256). Healthy unless an update was queued and not applied within the
 *   health timeout (kube: twice the sync period); `/healthz` also fails while the node is being
 *   deleted or is tainted ToBeDeletedByClusterAutoscaler, so load balancers drain it first.
 * - ServiceHealthServer: one HTTP listener per LoadBalancer Service with
 *   externalTrafficPolicy Local on its `healthCheckNodePort`, answering 200 while this node has
 *   a local ready endpoint (and the proxy is healthy), 503 otherwise: cloud load balancers use it
 *   to send traffic only to nodes that can serve it without a second hop.
 *
 * Bodies, status codes and headers match kube-proxy byte for byte (times are rendered as Go's
 * time.Time String() in UTC, without the monotonic-clock suffix a live Go process would add).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { KObject } from '../api/types.js';
import type { ProxyState } from './types.js';

export type IPFamily = 'IPv4' | 'IPv6';

/** kube-proxy's default healthz port. */
export const DEFAULT_HEALTHZ_PORT = 10256;
/** kube-proxy's health timeout is 2 × the sync period (default 30 s). */
export const DEFAULT_HEALTH_TIMEOUT_MS = 60_000;
/** The taint the cluster autoscaler puts on nodes it is about to delete. */
export const TO_BE_DELETED_TAINT = 'ToBeDeletedByClusterAutoscaler';

const JSON_HEADERS = { 'Content-Type': 'application/json', 'X-Content-Type-Options': 'nosniff' } as const;

/** Go's time.Time String() for a UTC instant: `2006-01-02 15:04:05.999999999 +0000 UTC`; ms <= 0 is Go's zero time. */
export function goTimeString(ms: number): string {
  if (!(ms > 0)) return '0001-01-01 00:00:00 +0000 UTC';
  const iso = new Date(ms).toISOString(); // 2024-01-02T03:04:05.678Z
  const frac = iso.slice(20, 23).replace(/0+$/, '');
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}${frac ? `.${frac}` : ''} +0000 UTC`;
}

export interface HealthResponse {
  status: number;
  body: string;
}

export interface ProxyHealthOptions {
  /** Default DEFAULT_HEALTH_TIMEOUT_MS. */
  healthTimeoutMs?: number;
  /** Injected time source (ms since epoch); default Date.now. */
  clock?: { now(): number };
  /** Told the status code of every /healthz and /livez answer (ProxyMetrics fits). */
  metrics?: { healthz(code: number): void; livez(code: number): void };
}

/** The proxy's own health state and its `/healthz` + `/livez` HTTP server. */
export class ProxyHealthServer {
  private readonly timeoutMs: number;
  private readonly clock: { now(): number };
  private readonly metrics?: ProxyHealthOptions['metrics'];
  private readonly lastUpdated = new Map<IPFamily, number>();
  private readonly oldestPending = new Map<IPFamily, number>();
  private eligible = true;
  private server?: http.Server;

  constructor(opts: ProxyHealthOptions = {}) {
    this.timeoutMs = opts.healthTimeoutMs ?? DEFAULT_HEALTH_TIMEOUT_MS;
    this.clock = opts.clock ?? { now: () => Date.now() };
    this.metrics = opts.metrics;
  }

  /** The proxier for `family` applied everything queued so far. */
  updated(family: IPFamily = 'IPv4'): void {
    this.oldestPending.delete(family);
    this.lastUpdated.set(family, this.clock.now());
  }

  /** A change arrived that `family`'s proxier has not applied yet (only the oldest pending time counts). */
  queuedUpdate(family: IPFamily = 'IPv4'): void {
    if (!this.oldestPending.has(family)) this.oldestPending.set(family, this.clock.now());
  }

  /** Node eligibility: not being deleted and not tainted for deletion by the autoscaler. */
  syncNode(node: KObject): void {
    const taints = ((node.spec as { taints?: { key?: string }[] } | undefined)?.taints ?? []);
    this.eligible = !node.metadata.deletionTimestamp && !taints.some((t) => t.key === TO_BE_DELETED_TAINT);
  }

  nodeEligible(): boolean {
    return this.eligible;
  }

  /** The proxier's health alone (what service health checks consult), ignoring node eligibility. */
  isHealthy(): boolean {
    return this.health().healthy;
  }

  /**
   * A family that has never finished a sync counts as healthy (starting up); otherwise a
   * family is unhealthy once its oldest unapplied change is older than the timeout. Returns the
   * newest lastUpdated, or the failing family's.
   */
  private health(): { healthy: boolean; lastUpdated: number } {
    const now = this.clock.now();
    let last = 0;
    for (const [family, updated] of this.lastUpdated) {
      if (updated > last) last = updated;
      const pending = this.oldestPending.get(family);
      if (pending === undefined || now - pending < this.timeoutMs) continue;
      return { healthy: false, lastUpdated: updated };
    }
    return { healthy: true, lastUpdated: last };
  }

  healthz(): HealthResponse {
    const eligible = this.eligible;
    const h = this.health();
    const now = this.clock.now();
    const healthy = h.healthy && eligible;
    const status = healthy ? 200 : 503;
    this.metrics?.healthz(status);
    // kube reports "now" as lastUpdated while healthy (the old meaning: "the loop is running").
    const last = healthy ? now : h.lastUpdated;
    return {
      status,
      body: `{"lastUpdated": ${JSON.stringify(goTimeString(last))},"currentTime": ${JSON.stringify(goTimeString(now))}, "nodeEligible": ${eligible}}`,
    };
  }

  livez(): HealthResponse {
    const h = this.health();
    const now = this.clock.now();
    const status = h.healthy ? 200 : 503;
    this.metrics?.livez(status);
    const last = h.healthy ? now : h.lastUpdated;
    return { status, body: `{"lastUpdated": ${JSON.stringify(goTimeString(last))},"currentTime": ${JSON.stringify(goTimeString(now))}}` };
  }

  /** The HTTP handler: exactly /healthz and /livez (any method, query ignored); 404 like Go's ServeMux otherwise. */
  handler(): http.RequestListener {
    return (req, res) => {
      const path = (req.url ?? '/').split('?')[0];
      const r = path === '/healthz' ? this.healthz() : path === '/livez' ? this.livez() : undefined;
      if (!r) {
        res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8', 'X-Content-Type-Options': 'nosniff' });
        res.end('404 page not found\n');
        return;
      }
      res.writeHead(r.status, JSON_HEADERS);
      res.end(r.body);
    };
  }

  /** Starts serving; resolves with the bound port (pass port 0 for an ephemeral one). */
  async listen(opts: { host?: string; port?: number } = {}): Promise<number> {
    if (this.server) throw new Error('proxy health server already listening');
    const server = http.createServer(this.handler());
    await listenOn(server, opts.port ?? DEFAULT_HEALTHZ_PORT, opts.host ?? '0.0.0.0');
    this.server = server;
    return (server.address() as AddressInfo).port;
  }

  async close(): Promise<void> {
    const s = this.server;
    this.server = undefined;
    if (s) await closeServer(s);
  }
}

function listenOn(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: Error): void => reject(err);
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
}

function closeServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

/** The JSON kube-proxy answers on a service health check port (Go's dedented template, tabs included). */
export function serviceHealthBody(key: string, localEndpoints: number, proxyHealthy: boolean): string {
  const slash = key.indexOf('/');
  const namespace = key.slice(0, slash);
  const name = key.slice(slash + 1);
  return [
    '{',
    '\t"service": {',
    `\t\t"namespace": ${JSON.stringify(namespace)},`,
    `\t\t"name": ${JSON.stringify(name)}`,
    '\t},',
    `\t"localEndpoints": ${localEndpoints},`,
    `\t"serviceProxyHealthy": ${proxyHealthy}`,
    '}',
  ].join('\n');
}

/**
 * What the service health server should serve for a ProxyState: services (`ns/name`) with a
 * healthCheckNodePort, and per service the number of distinct local ready endpoint IPs (kube's
 * LocalReadyEndpoints: a pod serving several ports counts once).
 */
export function healthCheckTargets(state: ProxyState): { services: Map<string, { port: number }>; endpoints: Map<string, number> } {
  const services = new Map<string, { port: number }>();
  const ips = new Map<string, Set<string>>();
  for (const plan of state.services.values()) {
    const key = `${plan.svc.namespace}/${plan.svc.name}`;
    if (plan.svc.healthCheckNodePort !== undefined) services.set(key, { port: plan.svc.healthCheckNodePort });
    for (const e of plan.localEndpoints) {
      if (!e.ready) continue;
      let set = ips.get(key);
      if (!set) ips.set(key, (set = new Set()));
      set.add(e.ip);
    }
  }
  const endpoints = new Map<string, number>();
  for (const [key, set] of ips) endpoints.set(key, set.size);
  return { services, endpoints };
}

export interface ServiceHealthOptions {
  /** Node addresses to bind each health check port on (kube: the node-port addresses); default ['0.0.0.0']. */
  addresses?: readonly string[];
  /** The proxier's health (ProxyHealthServer.isHealthy); default always healthy. */
  proxyHealthy?: () => boolean;
  /** A port could not be opened (kube records a FailedToStartServiceHealthcheck event); the next sync retries. */
  onError?: (e: { service: string; port: number; message: string }) => void;
}

interface Instance {
  port: number;
  servers: http.Server[];
}

/** Opens and closes per-service health check listeners as services come and go. */
export class ServiceHealthServer {
  private readonly addresses: readonly string[];
  private readonly proxyHealthy: () => boolean;
  private readonly onError: NonNullable<ServiceHealthOptions['onError']>;
  private readonly services = new Map<string, Instance>();
  /** Latest local endpoint counts; kept apart from the listeners so syncEndpoints need not wait for syncServices. */
  private counts = new Map<string, number>();
  /** Syncs are serialized: listeners open asynchronously and two syncs must not race on one port. */
  private chain: Promise<void> = Promise.resolve();

  constructor(opts: ServiceHealthOptions = {}) {
    this.addresses = opts.addresses?.length ? [...opts.addresses] : ['0.0.0.0'];
    this.proxyHealthy = opts.proxyHealthy ?? (() => true);
    this.onError = opts.onError ?? ((e) => console.warn(`service health check ${e.service} on port ${e.port}: ${e.message}`));
  }

  /**
   * Makes exactly these services (`ns/name` → health check port) served: others are closed, a
   * changed port is reopened, unchanged ones are left alone. A port that
   * fails to open is reported and left out, so the next sync tries again.
   */
  syncServices(desired: ReadonlyMap<string, { port: number }>): Promise<void> {
    return this.serialized(async () => {
      for (const [key, inst] of [...this.services]) {
        if (desired.get(key)?.port !== inst.port) {
          this.services.delete(key);
          await Promise.all(inst.servers.map(closeServer));
        }
      }
      for (const [key, { port }] of desired) {
        if (this.services.has(key)) continue;
        const inst: Instance = { port, servers: [] };
        try {
          for (const host of this.addresses) {
            const server = http.createServer(this.handlerFor(key));
            await listenOn(server, port, host);
            inst.servers.push(server);
          }
          this.services.set(key, inst);
        } catch (err) {
          await Promise.all(inst.servers.map(closeServer));
          this.onError({ service: key, port, message: (err as Error).message });
        }
      }
    });
  }

  /** Replaces the local endpoint counts (`ns/name` → count); a served service missing from the map reports 0. */
  syncEndpoints(counts: ReadonlyMap<string, number>): void {
    this.counts = new Map(counts);
  }

  /** `ns/name` → port of the services currently served. */
  serving(): Map<string, number> {
    return new Map([...this.services].map(([k, i]) => [k, i.port]));
  }

  /** Closes every listener. */
  close(): Promise<void> {
    return this.syncServices(new Map());
  }

  private handlerFor(key: string): http.RequestListener {
    return (_req, res) => {
      const inst = this.services.get(key);
      if (!inst) {
        // kube answers a request racing a close with an empty 200; so do we.
        res.end();
        return;
      }
      const count = this.counts.get(key) ?? 0;
      const healthy = this.proxyHealthy();
      res.writeHead(count !== 0 && healthy ? 200 : 503, JSON_HEADERS);
      res.end(serviceHealthBody(key, count, healthy));
    };
  }

  private serialized(fn: () => Promise<void>): Promise<void> {
    const run = this.chain.then(fn);
    this.chain = run.catch(() => undefined);
    return run;
  }
}
