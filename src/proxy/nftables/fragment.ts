/**
 * One service port's share of the nftables ruleset: its own chains (service, external, local,
 * firewall and per-endpoint DNAT chains), its ClientIP affinity sets, and the elements it adds to
 * the shared maps/sets of the skeleton (render.ts). Full syncs concatenate fragments; partial syncs
 * (partial.ts) diff an old fragment against a new one, so everything a fragment owns is named
 * after its service-port id and never collides with another fragment's chains or sets.
 *
 * Pure: same plan and node in, same fragment out. Depends on the node only through podCIDRs
 * (masquerade and short-circuit rules), which is why a node change forces a full sync.
 */
import * as crypto from 'node:crypto';
import type { ProxyEndpoint, ProxyNode, ServicePlan } from '../types.js';

export interface ServiceFragment {
  /** Chain name → rule bodies (the text after `add rule ip <table> <chain> `), in order. */
  chains: Map<string, string[]>;
  /** Affinity set name → declaration (`{ type ipv4_addr ; ... }`). */
  sets: Map<string, string>;
  /** Skeleton set/map name → element bodies (`key` or `key : verdict`, the text inside `{ }`). */
  elements: Map<string, string[]>;
}

/** One-shot hashing (crypto.hash, Node >= 20.12) is ~3x cheaper than createHash: names dominate render time. */
const sha256b64 = typeof crypto.hash === 'function'
  ? (s: string): string => crypto.hash('sha256', s, 'base64url')
  : (s: string): string => crypto.createHash('sha256').update(s).digest('base64url');

/** Per-id part of chain names, memoised (bounded) since partial syncs rename the same ids again and again. */
const nameCache = new Map<string, string>();
const NAME_CACHE_MAX = 200_000;

/** kube-proxy style chain name: short hash + readable (truncated) suffix, unique per id. */
export function chainName(prefix: string, id: string): string {
  let tail = nameCache.get(id);
  if (tail === undefined) {
    const hash = sha256b64(id).slice(0, 8).toUpperCase().replace(/[-_]/g, 'X');
    tail = `${hash}-${id.replace(/[^A-Za-z0-9/_.-]/g, '-')}`;
    if (nameCache.size >= NAME_CACHE_MAX) nameCache.clear();
    nameCache.set(id, tail);
  }
  const name = `${prefix}-${tail}`;
  return name.length > 200 ? name.slice(0, 200) : name; // no slice otherwise: it would flatten the string
}

/** The key part of an element body (`a . b . c : verdict` → `a . b . c`); sets have no value. */
export function elementKey(element: string): string {
  const i = element.indexOf(' : ');
  return i < 0 ? element : element.slice(0, i);
}

export const MASQ_MARK = '0x4000';

/**
 * How a service chain picks an endpoint. 'vmap': one `numgen random mod N vmap { i : goto ep }`
 * rule (kube-proxy's form). 'cascade': `numgen random mod (N-i) 0 goto ep_i` rules, the last one a
 * plain goto (iptables' statistic scheme; uniform overall). Both are equivalent, but each
 * anonymous vmap is a kernel set, and on this kernel loading n anonymous sets costs O(n²) system
 * time (measured: 4,000 → 3.4 s, 8,000 → 22 s; probably the `__map%d` name allocation scanning
 * every set of the table). A full load of 10,000 services took 241 s with 'vmap' and 5–8 s with
 * 'cascade' (then nft's own parsing dominates). The applier loads 'cascade'. Rules also avoid
 * anonymous sets elsewhere (plain `!=` matches instead of `{ ... }`).
 */
export type LbMode = 'vmap' | 'cascade';

export interface FragmentOptions { lb?: LbMode }

function endpointChain(id: string, ep: ProxyEndpoint): string {
  return chainName('endpoint', `${id}__${ep.ip}/${ep.port}`);
}

function affinitySet(id: string, ep: ProxyEndpoint): string {
  return `affinity-${endpointChain(id, ep).slice('endpoint-'.length)}`;
}

/** Verdict for traffic without a usable endpoint: reject only when none exists anywhere (kube-proxy), else drop. */
function noEndpointVerdict(reject: boolean): string {
  return reject ? 'goto reject-chain' : 'drop';
}

/**
 * Builds one fragment. A class rather than closures: the render of 10k services calls this
 * 10k times, and per-call closures (and the name wrappers the TS loader adds to them) showed
 * up in profiles.
 */
class FragmentBuilder {
  readonly f: ServiceFragment = { chains: new Map(), sets: new Map(), elements: new Map() };
  private readonly id: string;
  private readonly p: string;
  private readonly vips: string[];
  private readonly notFromPods: string;

  private readonly lb: LbMode;

  constructor(private readonly plan: ServicePlan, node: ProxyNode, opts: FragmentOptions) {
    const s = plan.svc;
    this.id = s.id;
    this.p = s.protocol.toLowerCase();
    this.lb = opts.lb ?? 'vmap';
    // Plain matches, no anonymous sets (see LbMode): "not from a pod" is one `!=` per pod CIDR.
    this.vips = s.clusterIPs.map((ip) => `ip daddr ${ip} meta l4proto ${this.p} th dport ${s.port}`);
    this.notFromPods = (node.podCIDRs.length ? node.podCIDRs : ['0.0.0.0/0']).map((c) => `ip saddr != ${c}`).join(' ');
  }

  elem(set: string, body: string): void {
    const list = this.f.elements.get(set);
    if (list) list.push(body);
    else this.f.elements.set(set, [body]);
  }

  /** The DNAT chain of one endpoint (with the affinity set update when ClientIP affinity is on). */
  endpoint(ep: ProxyEndpoint): string {
    const c = endpointChain(this.id, ep);
    if (this.f.chains.has(c)) return c;
    const aff = this.plan.svc.sessionAffinity;
    const rules = [`ip saddr ${ep.ip} jump mark-for-masquerade`];
    if (aff) {
      const set = affinitySet(this.id, ep);
      this.f.sets.set(set, `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${aff.timeoutSeconds}s ; }`);
      rules.push(`update @${set} { ip saddr }`);
    }
    rules.push(`meta l4proto ${this.p} dnat to ${ep.ip}:${ep.port}`);
    this.f.chains.set(c, rules);
    return c;
  }

  /** A load-balancing chain over eps (numgen), with affinity lookups first. */
  balance(name: string, eps: ProxyEndpoint[]): string {
    if (this.f.chains.has(name)) return name;
    const targets = eps.map((ep) => this.endpoint(ep));
    // Cluster-IP traffic from outside the pod network (e.g. the node itself) is masqueraded.
    const rules = this.vips.map((v) => `${v} ${this.notFromPods} jump mark-for-masquerade`);
    if (this.plan.svc.sessionAffinity) eps.forEach((ep, i) => rules.push(`ip saddr @${affinitySet(this.id, ep)} goto ${targets[i]}`));
    const n = targets.length;
    if (this.lb === 'vmap') {
      let vmap = '';
      for (let i = 0; i < n; i++) vmap += `${i ? ', ' : ''}${i} : goto ${targets[i]}`;
      rules.push(`numgen random mod ${n} vmap { ${vmap} }`);
    } else {
      for (let i = 0; i < n - 1; i++) rules.push(`numgen random mod ${n - i} 0 goto ${targets[i]}`);
      rules.push(`goto ${targets[n - 1]}`);
    }
    this.f.chains.set(name, rules);
    return name;
  }
}

/** Builds the fragment of one service port; an unprogrammable plan (no cluster IP) yields an empty fragment. */
export function serviceFragment(plan: ServicePlan, node: ProxyNode, opts: FragmentOptions = {}): ServiceFragment {
  const b = new FragmentBuilder(plan, node, opts);
  const f = b.f;
  const s = plan.svc;
  if (s.clusterIPs.length === 0) return f;
  const p = s.protocol.toLowerCase();
  const id = s.id;

  for (const ip of s.clusterIPs) b.elem('cluster-ips', ip);

  // Cluster (internal) traffic.
  const svcChain = chainName('service', id);
  if (plan.clusterEndpoints.length > 0) {
    b.balance(svcChain, plan.clusterEndpoints);
    for (const ip of s.clusterIPs) b.elem('service-ips', `${ip} . ${p} . ${s.port} : goto ${svcChain}`);
  } else {
    const v = noEndpointVerdict(plan.rejectCluster);
    for (const ip of s.clusterIPs) b.elem('no-endpoint-services', `${ip} . ${p} . ${s.port} : ${v}`);
  }

  // External traffic (NodePort, externalIPs, LB IPs).
  const extIPs = [...s.externalIPs, ...s.loadBalancerIPs];
  if (s.nodePort === undefined && extIPs.length === 0) return f;
  const hasEndpoints = plan.clusterEndpoints.length > 0 || plan.externalEndpoints.length > 0;
  if (hasEndpoints) {
    const extChain = chainName('external', id);
    const rules: string[] = [];
    f.chains.set(extChain, rules);
    if (s.externalTrafficPolicy === 'Cluster') {
      if (plan.externalEndpoints.length > 0) {
        const same = sameEndpoints(plan.externalEndpoints, plan.clusterEndpoints);
        const target = same ? svcChain : b.balance(chainName('cluster', id), plan.externalEndpoints);
        rules.push('jump mark-for-masquerade', `goto ${target}`);
      }
    } else {
      // Local: pod- and node-originated traffic may still use any cluster endpoint (kube's short-circuit).
      if (plan.clusterEndpoints.length > 0) {
        for (const cidr of node.podCIDRs) rules.push(`ip saddr ${cidr} goto ${svcChain}`);
        rules.push('fib saddr type local jump mark-for-masquerade', `fib saddr type local goto ${svcChain}`);
      }
      // With no local endpoint the chain falls through; the filter hook's no-endpoint maps drop the packet.
      if (plan.externalEndpoints.length > 0) rules.push(`goto ${b.balance(chainName('local', id), plan.externalEndpoints)}`);
    }
    for (const ip of extIPs) b.elem('service-ips', `${ip} . ${p} . ${s.port} : goto ${extChain}`);
    if (s.nodePort !== undefined) b.elem('service-nodeports', `${p} . ${s.nodePort} : goto ${extChain}`);
  }
  if (plan.externalEndpoints.length === 0) {
    const v = noEndpointVerdict(plan.rejectExternal);
    for (const ip of extIPs) b.elem('no-endpoint-services', `${ip} . ${p} . ${s.port} : ${v}`);
    if (s.nodePort !== undefined) b.elem('no-endpoint-nodeports', `${p} . ${s.nodePort} : ${v}`);
  }
  if (s.loadBalancerSourceRanges.length > 0 && s.loadBalancerIPs.length > 0) {
    const fw = chainName('firewall', id);
    f.chains.set(fw, [`${s.loadBalancerSourceRanges.map((r) => `ip saddr != ${r}`).join(' ')} drop`]);
    for (const ip of s.loadBalancerIPs) b.elem('firewall-ips', `${ip} . ${p} . ${s.port} : goto ${fw}`);
  }
  return f;
}

function sameEndpoints(a: ProxyEndpoint[], b: ProxyEndpoint[]): boolean {
  return a.length === b.length && a.every((e, i) => e.ip === b[i]!.ip && e.port === b[i]!.port);
}
