/**
 * Our cluster DNS (CoreDNS with kubeadm's Corefile) as `kubelite up` runs it on its node: the
 * cluster zone fed by informers, the forwarding resolver with its cache for other names, the
 * UDP/TCP server, the metrics/health listener, and the `kube-system/kube-dns` Service whose
 * endpoints point at where the server really listens. Flow and choices: docs/dns.md.
 */
import { readFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import { InformerFactory } from '../client/shared-informer.js';
import { Registry as MetricsRegistry, listenMetricsServer } from '../util/prometheus.js';
import { ClusterZone } from './zone/index.js';
import { DnsCache, Forwarder, ForwardingResolver, cacheMetrics, upstreamsFromResolvConf } from './forward/index.js';
import { DnsHandler, type Resolver } from './handler.js';
import { DnsMetrics } from './metrics.js';
import { DnsServer, type DnsAddress } from './server.js';
import { syncZone } from './sync.js';
import { ensureKubeDns } from './kubedns.js';

export interface DnsOptions {
  /** The cluster zone (`--cluster-domain`, default cluster.local). */
  clusterDomain?: string;
  /** Where to listen for DNS (UDP and TCP); port 0 picks one. */
  host: string;
  port: number;
  /** The metrics/health listener's port on `host` (CoreDNS :9153; default 9153, 0 picks one, -1 disables). */
  metricsPort?: number;
  /** Upstream resolvers for other names; default: the nameservers in `resolvConf`. */
  upstreams?: string[];
  /** Default /etc/resolv.conf (CoreDNS's `forward . /etc/resolv.conf`). */
  resolvConf?: string;
  /** The kube-dns ClusterIP (10.96.0.10): glue for the zone's NS record, and never an upstream. */
  clusterIP: string;
  /** Write `kube-system/kube-dns` (default true). */
  publishService?: boolean;
  nodeName?: string;
  /** Record TTL (CoreDNS `ttl 30`) and cache cap (`cache 30`). */
  ttl?: number;
  log?: (line: string) => void;
}

export interface RunningDns {
  address: DnsAddress;
  metricsPort?: number;
  zone: ClusterZone;
  handler: DnsHandler;
  metrics: MetricsRegistry;
  stop(): Promise<void>;
}

function readUpstreams(opts: DnsOptions, ownAddress: string): string[] {
  if (opts.upstreams) return opts.upstreams;
  let text = '';
  try {
    text = readFileSync(opts.resolvConf ?? '/etc/resolv.conf', 'utf8');
  } catch {
    return [];
  }
  return upstreamsFromResolvConf(text, { exclude: [ownAddress, opts.clusterIP] });
}

export async function startDns(deps: { registry: Registry; cache: WatchCache }, opts: DnsOptions): Promise<RunningDns> {
  const log = opts.log ?? ((l: string) => console.error(l));
  const domain = opts.clusterDomain ?? 'cluster.local';
  const ttl = opts.ttl ?? 30;
  const zone = new ClusterZone({ domain, ttl, dnsServiceIPs: [opts.clusterIP] });
  const informers = new InformerFactory({ registry: deps.registry, cache: deps.cache });
  syncZone(informers, zone);
  const stops: (() => unknown)[] = [() => informers.close()];
  const stop = async (): Promise<void> => {
    for (const s of stops.splice(0).reverse()) await s();
  };
  try {
    await informers.start();
    const metrics = new MetricsRegistry();
    const upstreams = readUpstreams(opts, opts.host);
    let resolver: Resolver | undefined;
    if (upstreams.length) {
      const forwarder = new Forwarder({ upstreams });
      stops.push(() => forwarder.close());
      const cache = new DnsCache({ maxTtl: ttl, maxNegativeTtl: ttl, metrics: cacheMetrics(metrics) });
      resolver = new ForwardingResolver({ forwarder, cache });
    } else {
      log('dns: no upstream resolvers (none given, none in resolv.conf): names outside the cluster get REFUSED');
    }
    const dnsMetrics = new DnsMetrics({ registry: metrics, server: `dns://${opts.host}:${opts.port}` });
    const handler = new DnsHandler({ zone, resolver }, { metrics: dnsMetrics, log });
    const server = new DnsServer(handler, { host: opts.host, port: opts.port, log });
    const address = await server.listen();
    stops.push(() => server.close());
    let metricsPort: number | undefined;
    if ((opts.metricsPort ?? 9153) >= 0) {
      // CoreDNS's health plugin answers /health with "OK"; its ready plugin /ready.
      const http = await listenMetricsServer(opts.host, opts.metricsPort ?? 9153, { registries: [metrics], healthPaths: ['/health', '/ready'], healthBody: 'OK' });
      stops.push(() => new Promise<void>((r) => http.close(() => r())));
      metricsPort = (http.address() as AddressInfo).port;
    }
    if (opts.publishService !== false) {
      // Not fatal: the server answers anyone who finds it; pods just cannot reach it by 10.96.0.10
      // (e.g. a user Service already holds that address).
      await ensureKubeDns(deps.registry, { clusterIP: opts.clusterIP, address: address.host, dnsPort: address.port, metricsPort, nodeName: opts.nodeName })
        .catch((err: unknown) => log(`dns: could not publish kube-system/kube-dns: ${(err as Error).message}`));
    }
    return { address, metricsPort, zone, handler, metrics, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}
