/**
 * Our kube-proxy as `kubelite up` runs it on its node: picks the mode, prepares the node
 * (routes so that node-originated traffic to service and LoadBalancer addresses reaches the
 * nat hooks), starts the control loop (Proxier) with the mode's backend, and the health and
 * metrics servers kube-proxy has (healthz :10256, metrics :10249).
 *
 * Modes: nftables (default as root with pod network namespaces), iptables, userspace (the
 * fallback without root: listeners, no kernel changes). IPVS is refused with the reason.
 */
import { execFile } from 'node:child_process';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { InformerFactory } from '../client/shared-informer.js';
import { realClock, type Clock } from '../client/workqueue.js';
import { Proxier, type AfterSync, type ProxyBackend, type ProxyObserver } from './proxier.js';
import type { ProxyNode } from './types.js';
import { resolveMode, type ProxyMode } from './modes.js';
import { splitHostPort } from './userspace/tcp.js';
import { ProxyMetrics, noLocalEndpointCounts } from './metrics.js';
import { ProxyHealthServer, ServiceHealthServer, healthCheckTargets } from './healthcheck.js';
import { ConntrackCleaner } from './conntrack.js';
import { metricsHandler } from '../util/prometheus.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export { PROXY_MODES, resolveMode, type ProxyMode } from './modes.js';

export interface ProxyOptions {
  mode?: ProxyMode;
  minSyncMs?: number;
  maxSyncMs?: number;
  /** kube-proxy's --healthz-bind-address (default 0.0.0.0:10256); '' disables. */
  healthzBindAddress?: string;
  /** kube-proxy's --metrics-bind-address (default 127.0.0.1:10249); '' disables. */
  metricsBindAddress?: string;
}

export interface ProxyNodeInfo {
  name: string;
  addresses: string[];
  podCIDR: string;
  serviceCIDR: string;
  /** Pods have their own network namespaces on a bridge (root): kernel modes are possible. */
  isolated: boolean;
  /** The node bridge: service and LB addresses are routed to it so node-originated traffic hits the nat hooks. */
  bridge?: string;
  /** Extra CIDRs to route to the bridge (the LoadBalancer pool). */
  routedCIDRs?: string[];
}

export interface RunningProxy {
  mode: 'nftables' | 'iptables' | 'userspace';
  proxier: Proxier;
  backend: ProxyBackend;
  metrics: ProxyMetrics;
  /** Where /healthz and /metrics ended up (undefined: disabled or the port was taken). */
  healthzPort?: number;
  metricsPort?: number;
  stop(opts?: { cleanup?: boolean }): Promise<void>;
}

/** A `HOST:PORT` bind address (an empty host binds every address, as kube-proxy's flags allow). */
function bindAddress(s: string): { host: string; port: number } {
  const { host, port } = splitHostPort(s);
  if (!s.includes(':') || !Number.isInteger(port) || port < 0 || port > 65535) throw new Error(`bad bind address ${JSON.stringify(s)} (want HOST:PORT)`);
  return { host: host || '0.0.0.0', port };
}

function sh(argv: string[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(argv[0]!, argv.slice(1), (err, _out, stderr) => (err ? reject(new Error(`${argv.join(' ')}: ${stderr.trim() || err.message}`)) : resolve()));
  });
}

async function makeBackend(mode: 'nftables' | 'iptables' | 'userspace', node: ProxyNodeInfo, log: (l: string) => void): Promise<ProxyBackend> {
  if (mode === 'nftables') {
    const { NftablesApplier } = await import('./nftables/applier.js');
    const a = new NftablesApplier({});
    return { mode, sync: (i) => a.sync(i), cleanup: () => a.cleanup() };
  }
  if (mode === 'iptables') {
    const { IptablesApplier } = await import('./iptables/applier.js');
    const a = new IptablesApplier({});
    return { mode, sync: (i) => a.sync(i), cleanup: () => a.cleanup() };
  }
  const { UserspaceBackend } = await import('./userspace/backend.js');
  return new UserspaceBackend({ redirect: node.isolated, nodeAddress: node.addresses[0], log });
}

export async function startProxy(
  deps: { registry: Registry; cache: WatchCache },
  opts: ProxyOptions & { node: ProxyNodeInfo; clock?: Clock; log?: (line: string) => void; observer?: ProxyObserver; afterSync?: AfterSync[] },
): Promise<RunningProxy> {
  const log = opts.log ?? ((l: string): void => void process.stderr.write(`kubelite: ${l}\n`));
  const mode = resolveMode(opts.mode ?? 'auto', opts.node);
  if (mode instanceof Error) throw mode;
  const n = opts.node;
  if (n.isolated && n.bridge) {
    // Without a route, a connect() from the node to a service address fails before any hook
    // sees the packet (no default route in a bare namespace); through the bridge it stays local.
    for (const cidr of [n.serviceCIDR, ...(n.routedCIDRs ?? [])]) {
      await sh(['ip', 'route', 'replace', cidr, 'dev', n.bridge]).catch((err: Error) => log(`proxy: ${err.message}`));
    }
  }
  const backend = await makeBackend(mode, n, log);
  const node: ProxyNode = { name: n.name, addresses: n.addresses, serviceCIDRs: [n.serviceCIDR], podCIDRs: [n.podCIDR] };
  const clock = opts.clock ?? realClock;
  const metrics = new ProxyMetrics({ mode });
  const health = new ProxyHealthServer({ metrics, clock });
  const svcHealth = new ServiceHealthServer({
    proxyHealthy: () => health.isHealthy(),
    onError: (e) => log(`proxy: health check node port ${e.port} of ${e.service}: ${e.message}`),
  });
  const afterSync: AfterSync[] = [
    async (_prev, state) => {
      const t = healthCheckTargets(state);
      await svcHealth.syncServices(t.services);
      svcHealth.syncEndpoints(t.endpoints);
    },
  ];
  if (mode !== 'userspace') {
    // Kernel modes only: a UDP flow's conntrack entry pins it to the endpoint it was DNATed to.
    const conntrack = new ConntrackCleaner({ onError: (argv, msg) => log(`proxy: conntrack ${argv.join(' ')}: ${msg}`) });
    afterSync.push((prev, state) => conntrack.clear(prev, state).then(() => undefined));
  }
  const observer: ProxyObserver = {
    syncDone: ({ full, seconds, state }) => {
      metrics.observeSync({ full, seconds });
      metrics.syncSucceeded(new Date(clock.now()));
      metrics.noLocalEndpoints(noLocalEndpointCounts(state));
      health.updated();
    },
    syncFailed: () => metrics.syncFailed(),
    serviceChanges: (k) => metrics.serviceChanges(k),
    endpointChanges: (k) => metrics.endpointChanges(k),
    networkProgrammed: (sec) => metrics.observeNetworkProgramming(sec),
    queued: (at) => {
      metrics.syncQueued(new Date(at));
      health.queuedUpdate();
    },
    ...opts.observer,
  };
  const informers = new InformerFactory({ registry: deps.registry, cache: deps.cache, clock: opts.clock ?? realClock });
  const proxier = new Proxier(informers, {
    node,
    backend,
    clock: opts.clock,
    minSyncMs: opts.minSyncMs,
    maxSyncMs: opts.maxSyncMs,
    observer,
    afterSync: [...afterSync, ...(opts.afterSync ?? [])],
    log,
  });
  try {
    await proxier.start();
  } catch (err) {
    informers.close();
    await backend.cleanup().catch(() => undefined);
    throw err;
  }
  // Like kube-proxy, a taken health or metrics port is reported, not fatal.
  let healthzPort: number | undefined;
  const hz = opts.healthzBindAddress ?? '0.0.0.0:10256';
  if (hz) {
    const { host, port } = bindAddress(hz);
    healthzPort = await health.listen({ host, port }).catch((err: Error) => void log(`proxy: healthz on ${hz}: ${err.message}`));
  }
  let metricsServer: Server | undefined;
  let metricsPort: number | undefined;
  const mb = opts.metricsBindAddress ?? '127.0.0.1:10249';
  if (mb) {
    const { host, port } = bindAddress(mb);
    const handler = metricsHandler(metrics.registry);
    const server = createServer((req, res) => {
      if ((req.url ?? '').split('?')[0] === '/metrics') return handler(req, res);
      res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('404 page not found\n');
    });
    metricsPort = await new Promise<number | undefined>((resolve) => {
      server.once('error', (err) => {
        log(`proxy: metrics on ${mb}: ${err.message}`);
        resolve(undefined);
      });
      server.listen(port, host, () => resolve((server.address() as AddressInfo).port));
    });
    if (metricsPort !== undefined) metricsServer = server;
  }
  return {
    mode,
    proxier,
    backend,
    metrics,
    ...(healthzPort !== undefined ? { healthzPort } : {}),
    ...(metricsPort !== undefined ? { metricsPort } : {}),
    async stop(o = {}): Promise<void> {
      await proxier.stop(o);
      informers.close();
      await health.close();
      await svcHealth.close();
      if (metricsServer) await new Promise<void>((r) => metricsServer!.close(() => r()));
    },
  };
}
