/**
 * `kubelite up`: opens the store, makes or loads the cluster PKI, starts the API server and
 * prints `kubelite ready: export KUBECONFIG=<path>` once it serves. SIGINT/SIGTERM stop it
 * cleanly (in-flight requests end, the store closes, the lock is released).
 */
import { createWriteStream, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { defaultIdentity } from '../client/leaderelection.js';
import { resolve, join } from 'node:path';
import { openBackend } from '../storage/registry.js';
import { ApiServer } from '../apiserver/server.js';
import { ensurePki, adminKubeconfig } from '../apiserver/auth/certs.js';
import { httpPlugins, kindPlugins, serviceStrategies } from '../apiserver/wiring.js';
import { bootstrap } from '../apiserver/bootstrap.js';
import { defaultComponents, startControllerManager, type ControllerManager, type LeaderElectionTimings } from '../controllers/index.js';
import { DEFAULT_LB_POOL, parsePool, poolCIDRs } from '../controllers/servicelb/pool.js';
import { acquireLock } from './lock.js';
import { startCompactor } from '../apiserver/compactor.js';
import { startNode, type NodeOptions, type RunningNode } from '../node/index.js';
import type { ProxyOptions, RunningProxy } from '../proxy/index.js';
import type { RunningDns } from '../dns/index.js';
import type { RunningIngress } from '../ingress/index.js';
import { nthAddress } from '../apiserver/bootstrap.js';
import type { LintAdmissionMode } from '../apiserver/admission/lint.js';

export interface UpOptions {
  dataDir: string;
  listen: string;
  store?: string;
  serviceCIDR: string;
  nodePortRange?: string;
  quiet?: boolean;
  /** How often watches with allowWatchBookmarks get a BOOKMARK (default 10 s; tests use less). */
  bookmarkIntervalMs?: number;
  /** Lease timings for the controller manager's leader elections (defaults 15 s / 10 s / 2 s). */
  leaderElection?: LeaderElectionTimings;
  /** false: run no controllers at all (default true). */
  controllers?: boolean;
  /** holderIdentity in the leader-election leases (default: kept in DATA_DIR/identity, see memberIdentity). */
  identity?: string;
  /** Run the node agent on this machine with these options (the CLI does unless --disable-agent); omitted: no node. */
  node?: Omit<NodeOptions, 'dataDir' | 'quiet'>;
  /** Run the service proxy on the node (needs `node`; the CLI does unless --disable-proxy). */
  proxy?: ProxyOptions;
  /** Addresses for LoadBalancer Services (`--lb-pool`; default 10.250.0.0/24); '' disables the controller. */
  lbPool?: string;
  /** Run cluster DNS on the node (needs `node`; the CLI does unless --disable-dns). */
  dns?: UpDnsOptions;
  /** Admission lint of user writes (`--lint-admission`; default 'off' here, the CLI passes 'warn'). */
  lintAdmission?: LintAdmissionMode;
  /** Run the ingress controller and its data plane on the node (needs `node`; the CLI does unless --disable-ingress). */
  ingress?: { dataPlane?: 'builtin' | 'nginx'; httpPort?: number; httpsPort?: number; /** Built-in proxy worker processes (default 0: in-process). */ workers?: number };
}

export interface UpDnsOptions {
  /** Upstream resolvers (`--dns-upstream`); default: the node's /etc/resolv.conf nameservers. */
  upstreams?: string[];
  /** DNS port on the node address (default 53; taken or not allowed: any free port, and kube-dns points there). */
  port?: number;
  /** Metrics port (default 9153, falls back like `port`). */
  metricsPort?: number;
}

export interface RunningCluster {
  server: ApiServer;
  kubeconfig: string;
  url: string;
  token: string;
  caCertPem: string;
  /** The controller manager (undefined with `controllers: false`). */
  controllers?: ControllerManager;
  /** The node agent (when `node` was given). */
  node?: RunningNode;
  /** The service proxy (when `proxy` was given with a node). */
  proxy?: RunningProxy;
  /** Cluster DNS (when `dns` was given with a node). */
  dns?: RunningDns;
  /** Ingress (when `ingress` was given with a node). */
  ingress?: RunningIngress;
  stop(): Promise<void>;
}

export { DEFAULT_LB_POOL } from '../controllers/servicelb/pool.js';

export function parseListen(listen: string): { host: string; port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(listen);
  if (!m) throw new Error(`--listen must be HOST:PORT (got ${JSON.stringify(listen)})`);
  const port = Number(m[3]);
  if (port < 0 || port > 65535) throw new Error(`--listen port out of range: ${port}`);
  return { host: m[1] ?? m[2], port };
}

/**
 * This data dir's leader-election identity (`<hostname>_<uuid>`, made once and kept in
 * DATA_DIR/identity). Stable across restarts so that a kubelite killed while leading gets its
 * leases back at once when restarted, instead of waiting a lease duration for its own old
 * record to expire; two control planes never share a data dir (it is locked), so identities
 * stay unique.
 */
export function memberIdentity(dataDir: string): string {
  const file = join(dataDir, 'identity');
  try {
    const id = readFileSync(file, 'utf8').trim();
    if (id) return id;
  } catch {
    /* first start */
  }
  const id = defaultIdentity();
  writeFileSync(file, `${id}\n`, { mode: 0o600 });
  return id;
}

export async function up(opts: UpOptions): Promise<RunningCluster> {
  const dataDir = resolve(opts.dataDir);
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const release = acquireLock(dataDir);
  // What has been started, newest first: stop() runs it, and so does a start that fails half-way
  // (a half-started server must not keep timers and store connections alive).
  const started: (() => unknown)[] = [];
  const shutdown = async (): Promise<void> => {
    for (const stop of started.splice(0)) {
      try {
        await stop();
      } catch (err) {
        console.error('kubelite: error while stopping:', (err as Error).message);
      }
    }
  };
  try {
    const { host, port } = parseListen(opts.listen);
    if (opts.lbPool) {
      try {
        parsePool(opts.lbPool);
      } catch (err) {
        throw new Error(`--lb-pool: ${(err as Error).message}`);
      }
    }
    const storeUrl = opts.store ?? `sqlite://${join(dataDir, 'state.db')}`;
    // In parallel: both touch the disk, and start-up time is a feature.
    const [b, k] = await Promise.allSettled([openBackend(storeUrl), ensurePki(dataDir, { hosts: [host] })]);
    if (b.status === 'fulfilled') started.unshift(() => b.value.close());
    if (b.status === 'rejected') throw b.reason;
    if (k.status === 'rejected') throw k.reason;
    const backend = b.value;
    const pki = k.value;
    const strategies = serviceStrategies({ serviceCIDR: opts.serviceCIDR, nodePortRange: opts.nodePortRange ?? '30000-32767' });
    const server = new ApiServer({
      backend,
      kindPlugins: kindPlugins(),
      httpPlugins: httpPlugins(),
      strategies: strategies.strategies,
      host,
      port,
      tls: { cert: pki.serverCertPem, key: pki.serverKeyPem },
      tokens: [pki.adminToken],
      bookmarkIntervalMs: opts.bookmarkIntervalMs,
      lintAdmission: opts.lintAdmission,
    });
    started.unshift(() => strategies.stop());
    await strategies.load(server.registry);
    started.unshift(() => server.close());
    const addr = await server.listen();
    const hostForUrl = host.includes(':') ? `[${host}]` : host === '0.0.0.0' ? '127.0.0.1' : host;
    const url = `https://${hostForUrl}:${addr.port}`;
    const identity = opts.identity ?? memberIdentity(dataDir);
    const endpoints = await bootstrap(server.registry, { serviceCIDR: opts.serviceCIDR, advertiseAddress: host === '0.0.0.0' ? '127.0.0.1' : host, port: addr.port, identity });
    started.unshift(() => endpoints.stop());
    const controllers = opts.controllers === false
      ? undefined
      : startControllerManager(
          { registry: server.registry, cache: server.cache },
          { leaderElection: opts.leaderElection, identity, quiet: opts.quiet, components: defaultComponents({ lbPool: opts.lbPool ?? DEFAULT_LB_POOL }) },
        );
    if (controllers) started.unshift(() => controllers.stop());
    const compactor = startCompactor(backend, { compact: (rev) => server.compact(rev), onError: (err) => console.error('kubelite: compaction failed:', (err as Error).message) });
    started.unshift(() => compactor.stop());
    let node: RunningNode | undefined;
    if (opts.node) {
      node = await startNode({ registry: server.registry, cache: server.cache, nodes: server.nodes }, { ...opts.node, dataDir, quiet: opts.quiet });
      const n = node;
      started.unshift(() => n.stop());
    }
    // The proxy, DNS and ingress only need the node and the API: started side by side (ingress forks its
    // proxy workers and makes a certificate, DNS binds its ports), each registering its stop once up.
    let proxy: RunningProxy | undefined;
    const startProxyPart = async (n: RunningNode, proxyOpts: NonNullable<UpOptions['proxy']>): Promise<void> => {
      const { startProxy } = await import('../proxy/index.js');
      const lbPool = opts.lbPool ?? DEFAULT_LB_POOL;
      proxy = await startProxy({ registry: server.registry, cache: server.cache }, {
        ...proxyOpts,
        node: {
          name: n.name,
          addresses: [n.internalIP],
          podCIDR: n.podCIDR,
          serviceCIDR: opts.serviceCIDR,
          isolated: n.mode === 'netns',
          bridge: n.bridge,
          routedCIDRs: lbPool ? poolCIDRs(lbPool) : [],
        },
        ...(opts.quiet ? { log: () => undefined } : {}),
      });
      const p = proxy;
      started.unshift(() => p.stop());
    };
    let dns: RunningDns | undefined;
    const startDnsPart = async (n: RunningNode, dnsOpts: NonNullable<UpOptions['dns']>): Promise<void> => {
      dns = await startNodeDns({ registry: server.registry, cache: server.cache }, {
        dns: dnsOpts,
        host: n.internalIP,
        nodeName: n.name,
        clusterIP: nthAddress(opts.serviceCIDR, 10),
        clusterDomain: opts.node?.clusterDomain,
        quiet: opts.quiet,
      });
      const d = dns;
      started.unshift(() => d.stop());
    };
    let ingress: RunningIngress | undefined;
    const startIngressPart = async (n: RunningNode, ingressOpts: NonNullable<UpOptions['ingress']>): Promise<void> => {
      const { startIngress } = await import('../ingress/index.js');
      // Access logs (ingress-nginx's format) go to a file, not to kubelite's own output.
      mkdirSync(join(dataDir, 'ingress'), { recursive: true, mode: 0o700 });
      const accessLog = createWriteStream(join(dataDir, 'ingress', 'access.log'), { flags: 'a', mode: 0o600 });
      started.unshift(() => new Promise<void>((r) => accessLog.end(() => r())));
      ingress = await startIngress({ registry: server.registry, cache: server.cache }, {
        host: n.internalIP,
        nodeName: n.name,
        dataPlane: ingressOpts.dataPlane ?? 'builtin',
        httpPort: ingressOpts.httpPort,
        httpsPort: ingressOpts.httpsPort,
        workDir: join(dataDir, 'ingress'),
        clusterCA: { certPem: pki.caCertPem, keyPem: readFileSync(join(dataDir, 'pki', 'ca.key'), 'utf8') },
        accessLog: (line: string): void => void accessLog.write(`${line}\n`),
        // Proxy workers append to the same file themselves (O_APPEND keeps lines whole).
        accessLogPath: join(dataDir, 'ingress', 'access.log'),
        proxyWorkers: ingressOpts.workers ?? 0,
        ...(opts.quiet ? { log: (): undefined => undefined } : {}),
      });
      const g = ingress;
      started.unshift(() => g.stop());
    };
    if (node) {
      const parts = await Promise.allSettled([
        opts.proxy ? startProxyPart(node, opts.proxy) : undefined,
        opts.dns ? startDnsPart(node, opts.dns) : undefined,
        opts.ingress ? startIngressPart(node, opts.ingress) : undefined,
      ]);
      const failed = parts.find((r): r is PromiseRejectedResult => r.status === 'rejected');
      if (failed) throw failed.reason;
    }
    const kubeconfig = join(dataDir, 'kubeconfig');
    writeFileSync(kubeconfig, adminKubeconfig({ server: url, caCertPem: pki.caCertPem, token: pki.adminToken }), { mode: 0o600 });
    let stopped = false;
    return {
      server,
      kubeconfig,
      url,
      token: pki.adminToken,
      caCertPem: pki.caCertPem,
      controllers,
      node,
      proxy,
      dns,
      ingress,
      async stop(): Promise<void> {
        if (stopped) return;
        stopped = true;
        await shutdown();
        release();
      },
    };
  } catch (err) {
    await shutdown();
    release();
    throw err;
  }
}

/**
 * Starts cluster DNS on the node's address: port 53 (and 9153 for metrics) when we may bind
 * them, else free ports. kube-dns's endpoints follow whatever was bound, so pods reach the
 * server through 10.96.0.10:53 either way.
 */
async function startNodeDns(
  deps: { registry: ApiServer['registry']; cache: ApiServer['cache'] },
  o: { dns: UpDnsOptions; host: string; nodeName: string; clusterIP: string; clusterDomain?: string; quiet?: boolean },
): Promise<RunningDns> {
  const { startDns } = await import('../dns/index.js');
  const base = {
    host: o.host,
    nodeName: o.nodeName,
    clusterIP: o.clusterIP,
    clusterDomain: o.clusterDomain,
    upstreams: o.dns.upstreams,
    ...(o.quiet ? { log: (): undefined => undefined } : {}),
  };
  const fallback = (err: unknown): boolean => ['EACCES', 'EADDRINUSE', 'EPERM'].includes((err as NodeJS.ErrnoException).code ?? '');
  try {
    return await startDns(deps, { ...base, port: o.dns.port ?? 53, metricsPort: o.dns.metricsPort ?? 9153 });
  } catch (err) {
    if (!fallback(err)) throw err;
  }
  return startDns(deps, { ...base, port: 0, metricsPort: 0 });
}
