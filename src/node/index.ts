/**
 * The node as `kubelite up` runs it: picks the pod network (a netns per pod as root on Linux,
 * shared loopback otherwise), the process runtime, registers the Node and starts the agent, and
 * plugs the agent into the API server for logs/exec/attach/port-forward.
 *
 * Pods outlive the agent: stopping the node (or killing kubelite) leaves containers running, as
 * a kubelet restart does; a restarted agent adopts them. Delete the pods to stop them.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';
import type { NodeConnections } from '../apiserver/nodeconnections.js';
import { LocalClient } from '../client/client.js';
import { NodeAgent, type PodNetwork } from './agent/agent.js';
import { ProcessRuntime } from './runtime/process.js';
import { mountCgroupsIfMissing } from './runtime/cgroups.js';
import { catalogPath, emptyCatalog, loadCatalog, watchCatalog, type ImageCatalog } from './runtime/images.js';
import { LoopbackPodNetwork, NetnsPodNetwork } from './network/manager.js';
import { NodeRegistrar, machineInfo } from './nodestatus.js';
import { AgentStreaming } from './streaming/handler.js';

export type PodNetworkMode = 'auto' | 'netns' | 'host';

export interface NodeOptions {
  dataDir: string;
  /** Node name (default: this machine's hostname, lower-cased and made DNS-safe). */
  nodeName?: string;
  /** `netns`: a network namespace per pod (root, Linux); `host`: loopback addresses; `auto` (default) picks. */
  podNetwork?: PodNetworkMode;
  podCIDR?: string;
  /** Prefix of pod netns names (default `kl`); sandboxed tests use `$SANDBOX_NETNS-p`. */
  netnsPrefix?: string;
  bridge?: string;
  clusterDNS?: string[];
  clusterDomain?: string;
  maxPods?: number;
  quiet?: boolean;
  /** Lease renewal interval (tests shorten it). */
  leaseRenewMs?: number;
}

export interface RunningNode {
  name: string;
  agent: NodeAgent;
  runtime: ProcessRuntime;
  mode: 'netns' | 'host';
  /** The node's address (the bridge gateway in netns mode, 127.0.0.1 in host mode). */
  internalIP: string;
  podCIDR: string;
  /** The node bridge (netns mode). */
  bridge?: string;
  stop(): Promise<void>;
}

/** What needs root, for the warning printed when pods share the host network. */
export const ROOT_FEATURES =
  'pod network namespaces with pod IPs from the podCIDR, per-pod hostnames, volumes at their mountPaths, ' +
  'and memory/CPU limits (OOMKilled) need root on Linux';

/** A DNS-1123 subdomain from the machine's hostname. */
export function defaultNodeName(): string {
  const n = hostname().toLowerCase().replace(/[^a-z0-9.-]/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '');
  return n.slice(0, 253) || 'kubelite';
}

function canUseNetns(): boolean {
  if (process.platform !== 'linux' || process.getuid?.() !== 0) return false;
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' });
    execFileSync('nsenter', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function readResolvConf(): string {
  try {
    return readFileSync('/etc/resolv.conf', 'utf8');
  } catch {
    return '';
  }
}

export async function startNode(
  deps: { registry: Registry; cache: WatchCache; nodes: NodeConnections },
  opts: NodeOptions,
): Promise<RunningNode> {
  const name = opts.nodeName ?? defaultNodeName();
  const root = join(opts.dataDir, 'node');
  mkdirSync(root, { recursive: true, mode: 0o700 });
  const warn = (msg: string): void => {
    if (!opts.quiet) process.stderr.write(`kubelite: warning: ${msg}\n`);
  };
  const wanted = opts.podNetwork ?? 'auto';
  let mode: 'netns' | 'host' = wanted === 'host' ? 'host' : canUseNetns() ? 'netns' : 'host';
  if (wanted === 'netns' && mode !== 'netns') throw new Error(`--pod-network netns needs root on Linux with iproute2 and util-linux (nsenter)`);
  const podCIDR = opts.podCIDR ?? '10.244.0.0/24';
  let network: PodNetwork;
  let internalIP = '127.0.0.1';
  if (mode === 'netns') {
    const net = new NetnsPodNetwork({
      node: { bridge: opts.bridge ?? 'kubelite0', podCIDR, hostName: name },
      netnsPrefix: opts.netnsPrefix ?? 'kl',
      stateDir: join(root, 'network'),
    });
    try {
      await net.init();
      network = net;
      internalIP = net.gateway();
    } catch (err) {
      if (wanted === 'netns') throw err;
      warn(`pod network setup failed (${(err as Error).message}); pods share the host network instead`);
      mode = 'host';
      network = new LoopbackPodNetwork({ stateDir: join(root, 'network-host') });
    }
  } else {
    network = new LoopbackPodNetwork({ stateDir: join(root, 'network-host') });
  }
  if (mode === 'host') {
    warn(`pods share the host network with 127.244.0.x addresses (${ROOT_FEATURES}); programs binding 0.0.0.0 share one port space`);
  }

  if (mode === 'netns') {
    // `ip netns exec` (how sandboxed runs start us) mounts a fresh /sys without the cgroup
    // hierarchies; without them containers would run with no limits. A no-op where they show.
    try {
      mountCgroupsIfMissing((argv) => execFileSync(argv[0]!, argv.slice(1), { stdio: 'ignore' }));
    } catch (err) {
      warn(`cgroups unavailable (${(err as Error).message}): memory and CPU limits will not be enforced`);
    }
  }
  const runtime = new ProcessRuntime({ rootDir: join(root, 'runtime'), isolation: mode === 'netns' });
  const file = catalogPath(opts.dataDir);
  let catalog: ImageCatalog = emptyCatalog();
  try {
    catalog = loadCatalog(file);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') warn((err as Error).message);
  }
  const watcher = watchCatalog(file, (c) => (catalog = c), { onError: (e) => warn(`${e.message} (keeping the previous image catalog)`) });

  const machine = machineInfo();
  const maxPods = opts.maxPods ?? 110;
  const registrar = new NodeRegistrar(new LocalClient(deps.registry, { manager: 'kubelet' }), {
    name,
    podCIDR,
    machine,
    internalIP,
    maxPods,
    runtimeVersion: 'kubelite://0.1.0',
    leaseRenewMs: opts.leaseRenewMs,
  });
  await registrar.start();
  const agent = new NodeAgent(
    { registry: deps.registry, cache: deps.cache },
    {
      nodeName: name,
      runtime,
      network,
      rootDir: root,
      catalog: () => catalog,
      hostIP: internalIP,
      clusterDNS: opts.clusterDNS ?? ['10.96.0.10'],
      clusterDomain: opts.clusterDomain ?? 'cluster.local',
      nodeResolvConf: readResolvConf(),
      nodeAllocatable: { cpu: String(machine.cpus), memory: String(machine.memoryBytes), pods: String(maxPods) },
    },
  );
  await agent.start();
  const unregister = deps.nodes.register(name, new AgentStreaming(agent, runtime));
  return {
    name,
    agent,
    runtime,
    mode,
    internalIP,
    podCIDR,
    ...(mode === 'netns' ? { bridge: opts.bridge ?? 'kubelite0' } : {}),
    async stop(): Promise<void> {
      unregister();
      watcher.close();
      registrar.stop();
      await agent.stop();
      // Containers keep running; the next agent's runtime adopts them.
      runtime.close();
    },
  };
}
