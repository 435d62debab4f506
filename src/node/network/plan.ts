/**
 * Pure planning for the pod network: an IP allocator over the node's podCIDR and the ordered
 * command lists that build/tear down the node bridge and each pod's netns + veth. Nothing here
 * touches the system; `apply.ts` runs the plans. Keeping the decisions pure lets golden tests pin
 * the exact commands without root.
 */

/** One step of a plan: a process to run (argv) or a file to write (sysctls under /proc/sys). */
export type NetCommand =
  | { kind: 'exec'; argv: string[]; okIfExists?: boolean; /** Written to the process's stdin (`ip -batch -`). */ input?: string }
  | { kind: 'write'; path: string; content: string };

export interface NodeNetConfig {
  /** Bridge device name, e.g. `kubelite0` (≤15 chars). */
  bridge: string;
  /** This node's pod range, e.g. `10.244.0.0/24`. */
  podCIDR: string;
  /** Whole cluster pod range; traffic to it is not masqueraded. Defaults to podCIDR. */
  clusterCIDR?: string;
  hostName: string;
}

export interface PodNetSpec {
  uid: string;
  /** Address allocated for the pod (from {@link IpAllocator}). */
  ip: string;
  /** Netns name prefix (`kl` in production, `$SANDBOX_NETNS-p` in sandbox tests). */
  netnsPrefix: string;
}

export interface Cidr { network: number; prefix: number; size: number }

export const NAT_TABLE = 'kubelite-nat';

export function ipToInt(ip: string): number {
  const parts = ip.split('.');
  if (parts.length !== 4) throw new Error(`invalid IPv4 address ${JSON.stringify(ip)}`);
  let n = 0;
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p) || Number(p) > 255) throw new Error(`invalid IPv4 address ${JSON.stringify(ip)}`);
    n = n * 256 + Number(p);
  }
  return n;
}

export function intToIp(n: number): string {
  return [24, 16, 8, 0].map((s) => Math.floor(n / 2 ** s) % 256).join('.');
}

/** Parses an IPv4 CIDR; the address must be the network address (as kube requires for podCIDR). */
export function parseCidr(cidr: string): Cidr {
  const m = /^([\d.]+)\/(\d{1,2})$/.exec(cidr);
  if (!m) throw new Error(`invalid CIDR ${JSON.stringify(cidr)}`);
  const prefix = Number(m[2]);
  if (prefix > 30) throw new Error(`CIDR ${cidr} too small for pods (need prefix ≤ 30)`);
  const size = 2 ** (32 - prefix);
  const addr = ipToInt(m[1]!);
  if (addr % size !== 0) throw new Error(`CIDR ${cidr} is not a network address`);
  return { network: addr, prefix, size };
}

export function cidrContains(c: Cidr, ip: string): boolean {
  const n = ipToInt(ip);
  return n >= c.network && n < c.network + c.size;
}

/**
 * Hands out pod addresses from a podCIDR. The first host address is the bridge gateway; pods get
 * .2 upwards (lowest free first, so results are deterministic); the network and broadcast
 * addresses are never handed out. Keys are pod UIDs; allocating twice for a key returns the same IP.
 */
export class IpAllocator {
  readonly cidr: Cidr;
  private readonly byKey = new Map<string, number>();
  private readonly used = new Set<number>();

  constructor(podCIDR: string) {
    this.cidr = parseCidr(podCIDR);
  }

  /** The bridge's address (first host address). */
  gateway(): string {
    return intToIp(this.cidr.network + 1);
  }

  allocate(key: string): string {
    const have = this.byKey.get(key);
    if (have !== undefined) return intToIp(have);
    const { network, size } = this.cidr;
    for (let n = network + 2; n < network + size - 1; n++) {
      if (!this.used.has(n)) {
        this.used.add(n);
        this.byKey.set(key, n);
        return intToIp(n);
      }
    }
    throw new Error(`no free pod addresses left in ${intToIp(network)}/${this.cidr.prefix}`);
  }

  /** Records an address already in use (e.g. found on restart); fails on conflicts or out-of-range. */
  reserve(key: string, ip: string): void {
    const n = ipToInt(ip);
    const { network, size } = this.cidr;
    if (n < network + 2 || n >= network + size - 1) throw new Error(`${ip} is not a pod address in the podCIDR`);
    const have = this.byKey.get(key);
    if (have === n) return;
    if (have !== undefined) throw new Error(`${key} already holds ${intToIp(have)}`);
    if (this.used.has(n)) throw new Error(`${ip} is already allocated`);
    this.used.add(n);
    this.byKey.set(key, n);
  }

  /** Frees the key's address; returns it, or undefined if the key held none. */
  release(key: string): string | undefined {
    const n = this.byKey.get(key);
    if (n === undefined) return undefined;
    this.byKey.delete(key);
    this.used.delete(n);
    return intToIp(n);
  }

  get(key: string): string | undefined {
    const n = this.byKey.get(key);
    return n === undefined ? undefined : intToIp(n);
  }
}

/** 32-bit FNV-1a, hex: a stable short id for device names. */
export function shortHash(s: string): string {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** `<prefix>-<first 8 hex of the uid>`. */
export function netnsName(prefix: string, uid: string): string {
  return `${prefix}-${uid.replace(/-/g, '').slice(0, 8).toLowerCase()}`;
}

/** Host end of the pod's veth: `veth` + 8 hex = 12 chars (IFNAMSIZ allows 15). */
export function hostVethName(uid: string): string {
  return `veth${shortHash(uid)}`;
}

function ip(...argv: string[]): NetCommand {
  return { kind: 'exec', argv: ['ip', ...argv] };
}

/**
 * Node-level setup: bridge with the gateway address, forwarding, and the masquerade table.
 * Idempotent: `okIfExists` steps tolerate "File exists", nft `add table/chain` are idempotent and
 * the chain is flushed before its single rule is added.
 */
export function planBridge(node: NodeNetConfig): NetCommand[] {
  const c = parseCidr(node.podCIDR);
  const cluster = node.clusterCIDR ?? node.podCIDR;
  parseCidr(cluster);
  const gw = intToIp(c.network + 1);
  return [
    { kind: 'exec', argv: ['ip', 'link', 'add', 'name', node.bridge, 'type', 'bridge'], okIfExists: true },
    // `replace` is idempotent where `add` fails with "Address already assigned".
    ip('addr', 'replace', `${gw}/${c.prefix}`, 'dev', node.bridge),
    ip('link', 'set', node.bridge, 'up'),
    { kind: 'write', path: '/proc/sys/net/ipv4/ip_forward', content: '1' },
    // The node routes service traffic back out of the bridge it came from: ICMP redirects for
    // that would be useless to pods and eat the per-host ICMP rate limit that the proxy's
    // "connection refused" (port unreachable) for services without endpoints needs. The kernel
    // sends redirects when either `all` or the device allows it, so both are switched off.
    { kind: 'write', path: '/proc/sys/net/ipv4/conf/all/send_redirects', content: '0' },
    { kind: 'write', path: `/proc/sys/net/ipv4/conf/${node.bridge}/send_redirects`, content: '0' },
    { kind: 'exec', argv: ['nft', 'add', 'table', 'ip', NAT_TABLE] },
    { kind: 'exec', argv: ['nft', 'add', 'chain', 'ip', NAT_TABLE, 'postrouting', '{ type nat hook postrouting priority srcnat ; policy accept ; }'] },
    { kind: 'exec', argv: ['nft', 'flush', 'chain', 'ip', NAT_TABLE, 'postrouting'] },
    { kind: 'exec', argv: ['nft', 'add', 'rule', 'ip', NAT_TABLE, 'postrouting', 'ip', 'saddr', node.podCIDR, 'ip', 'daddr', '!=', cluster, 'masquerade'] },
  ];
}

/** Removes what {@link planBridge} made (run with teardown semantics: missing things are fine). */
export function planBridgeTeardown(node: NodeNetConfig): NetCommand[] {
  return [
    { kind: 'exec', argv: ['nft', 'delete', 'table', 'ip', NAT_TABLE] },
    ip('link', 'del', node.bridge),
  ];
}

/**
 * Per-pod setup: netns, veth into the bridge (hairpin on), eth0 with address and default route.
 * Two `ip -batch` processes (host side, then inside the pod's namespace) instead of one process
 * per step: starting a child process blocks the agent's event loop for several milliseconds, and
 * that — not the kernel work — dominated pod start-up.
 */
export function planPodSetup(node: NodeNetConfig, pod: PodNetSpec): NetCommand[] {
  const c = parseCidr(node.podCIDR);
  if (!cidrContains(c, pod.ip)) throw new Error(`pod IP ${pod.ip} is outside podCIDR ${node.podCIDR}`);
  const gw = intToIp(c.network + 1);
  const ns = netnsName(pod.netnsPrefix, pod.uid);
  const host = hostVethName(pod.uid);
  return [
    {
      kind: 'exec',
      argv: ['ip', '-batch', '-'],
      input: [
        `netns add ${ns}`,
        // The peer is created inside the namespace, already named eth0.
        `link add ${host} type veth peer name eth0 netns ${ns}`,
        `link set ${host} master ${node.bridge}`,
        `link set dev ${host} type bridge_slave hairpin on`,
        `link set ${host} up`,
        // The IP may have belonged to a pod deleted moments ago: a neighbour entry still holding
        // that pod's MAC would send the node's probes and proxied traffic nowhere until it expires.
        `neigh flush to ${pod.ip} dev ${node.bridge}`,
      ].join('\n') + '\n',
    },
    {
      kind: 'exec',
      argv: ['ip', '-n', ns, '-batch', '-'],
      input: ['link set lo up', `addr add ${pod.ip}/${c.prefix} dev eth0`, 'link set eth0 up', `route add default via ${gw} dev eth0`].join('\n') + '\n',
    },
  ];
}

/**
 * Per-pod teardown: the host veth (its peer goes with it) and the netns, in one process that
 * carries on past errors (`-force`): each may already be gone.
 */
export function planPodTeardown(pod: Omit<PodNetSpec, 'ip'>): NetCommand[] {
  return [{ kind: 'exec', argv: ['ip', '-force', '-batch', '-'], input: `link del ${hostVethName(pod.uid)}\nnetns del ${netnsName(pod.netnsPrefix, pod.uid)}\n` }];
}
