/**
 * One service port's share of the nftables ruleset: its own chains (service, external, local,
 * firewall), its ClientIP affinity sets, and the elements it adds to the shared maps/sets of the
 * skeleton (render.ts). Full syncs concatenate fragments; partial syncs (partial.ts) diff an old
 * fragment against a new one, so everything a fragment owns is named after its service-port id
 * and never collides with another fragment's chains or sets.
 *
 * No chain per endpoint (unlike kube-proxy): nft 1.0.6 reads the whole ruleset into its cache on
 * every `nft -f`, and that cost grows with the number of chains — at 10,000 services × 3
 * endpoints the per-endpoint chains made a one-element partial sync cost 240–500 ms. Instead a
 * service chain DNATs directly from a cascade of rules, and hairpin traffic (a pod reaching itself
 * through its Service) is masqueraded in nat-postrouting from the shared `hairpin` set
 * (`endpoint . endpoint` elements, reference-counted like every shared element).
 *
 * Pure: same plan and node in, same fragment out. Depends on the node only through podCIDRs
 * (externalTrafficPolicy Local's short-circuit rules); a node change forces a full sync anyway,
 * as the skeleton depends on it too.
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

/** The skeleton set of `endpoint . endpoint` pairs whose (DNATed) connections are masqueraded. */
export const HAIRPIN_SET = 'hairpin';

/**
 * How a service chain picks an endpoint. Only one form remains, 'cascade': `numgen random mod
 * (N-i) 0 ... dnat to ep_i` rules, the last one a plain DNAT (iptables' statistic scheme; uniform
 * overall). kube-proxy's `numgen random mod N vmap { i : goto ep_i }` needs a chain per endpoint
 * and an anonymous set per service, and on this kernel loading n anonymous sets costs O(n²)
 * system time (a full load of 10,000 services took 241 s). The option is kept for callers that
 * name the form explicitly.
 */
export type LbMode = 'cascade';

export interface FragmentOptions { lb?: LbMode }

/** The per-endpoint ClientIP affinity set of a service port. */
function affinitySet(id: string, ep: ProxyEndpoint): string {
  return chainName('affinity', `${id}__${ep.ip}/${ep.port}`);
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
  private readonly hairpins = new Set<string>();

  constructor(private readonly plan: ServicePlan) {
    this.id = plan.svc.id;
    this.p = plan.svc.protocol.toLowerCase();
  }

  elem(set: string, body: string): void {
    const list = this.f.elements.get(set);
    if (list) list.push(body);
    else this.f.elements.set(set, [body]);
  }

  /**
   * The statements that send a packet to ep: DNAT (the protocol match gives the port mapping
   * its transport context), preceded by the affinity set update when ClientIP affinity is on
   * (on every new connection, so a hit also refreshes the timeout, as kube-proxy's endpoint
   * chains do). Also records ep's hairpin element.
   */
  private toEndpoint(ep: ProxyEndpoint): string {
    const pair = `${ep.ip} . ${ep.ip}`;
    if (!this.hairpins.has(pair)) {
      this.hairpins.add(pair);
      this.elem(HAIRPIN_SET, pair);
    }
    const aff = this.plan.svc.sessionAffinity;
    let update = '';
    if (aff) {
      const set = affinitySet(this.id, ep);
      this.f.sets.set(set, `{ type ipv4_addr ; flags dynamic,timeout ; timeout ${aff.timeoutSeconds}s ; }`);
      update = `update @${set} { ip saddr } `;
    }
    return `meta l4proto ${this.p} ${update}dnat to ${ep.ip}:${ep.port}`;
  }

  /**
   * A load-balancing chain over eps: affinity lookups first, then the numgen cascade, each rule
   * DNATing itself. (Cluster-IP traffic from outside the pod network is marked for masquerade by
   * one skeleton rule, not per service: see render.ts.)
   */
  balance(name: string, eps: ProxyEndpoint[]): string {
    if (this.f.chains.has(name)) return name;
    const targets = eps.map((ep) => this.toEndpoint(ep));
    const rules: string[] = [];
    if (this.plan.svc.sessionAffinity) eps.forEach((ep, i) => rules.push(`ip saddr @${affinitySet(this.id, ep)} ${targets[i]}`));
    const n = targets.length;
    for (let i = 0; i < n - 1; i++) rules.push(`numgen random mod ${n - i} 0 ${targets[i]}`);
    rules.push(targets[n - 1]!);
    this.f.chains.set(name, rules);
    return name;
  }
}

/** Builds the fragment of one service port; an unprogrammable plan (no cluster IP) yields an empty fragment. */
export function serviceFragment(plan: ServicePlan, node: ProxyNode, _opts: FragmentOptions = {}): ServiceFragment {
  const b = new FragmentBuilder(plan);
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
