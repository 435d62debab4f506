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

export { PROXY_MODES, resolveMode, type ProxyMode } from './modes.js';

export interface ProxyOptions {
  mode?: ProxyMode;
  minSyncMs?: number;
  maxSyncMs?: number;
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
  stop(opts?: { cleanup?: boolean }): Promise<void>;
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
  const informers = new InformerFactory({ registry: deps.registry, cache: deps.cache, clock: opts.clock ?? realClock });
  const proxier = new Proxier(informers, {
    node,
    backend,
    clock: opts.clock,
    minSyncMs: opts.minSyncMs,
    maxSyncMs: opts.maxSyncMs,
    observer: opts.observer,
    afterSync: opts.afterSync,
    log,
  });
  try {
    await proxier.start();
  } catch (err) {
    informers.close();
    await backend.cleanup().catch(() => undefined);
    throw err;
  }
  return {
    mode,
    proxier,
    backend,
    async stop(o = {}): Promise<void> {
      await proxier.stop(o);
      informers.close();
    },
  };
}
