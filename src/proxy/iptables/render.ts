/**
 * `iptables-restore` rendering of a ProxyState in the shape of kube-proxy's iptables mode
 * (pkg/proxy/iptables/proxier.go syncProxyRules): same chains, same rule order, same comments,
 * so `iptables-save` on our node reads like one run by kube-proxy.
 *
 * nat: KUBE-SERVICES (cluster IPs, externalIPs, LB IPs, and last the jump to KUBE-NODEPORTS for
 * local destinations), KUBE-NODEPORTS, KUBE-SVC-* (Cluster-policy endpoints, `statistic`
 * probabilities, ClientIP affinity via `recent`), KUBE-SVL-* (Local-policy endpoints),
 * KUBE-EXT-* (external traffic: masquerade under Cluster policy; short-circuit of pod and node
 * traffic under Local policy), KUBE-FW-* (loadBalancerSourceRanges), KUBE-SEP-* (hairpin
 * masquerade + DNAT), KUBE-MARK-MASQ, KUBE-POSTROUTING.
 * filter: REJECT for services without endpoints, DROP where only a Local policy leaves none on
 * this node, health-check node ports, the LB firewall, KUBE-FORWARD.
 *
 * Like kube's iptables mode (unlike nftables mode) traffic to unused service-CIDR addresses is
 * not dropped. Pure: same state in, same text out (service ports in sorted id order).
 */
import { externallyAccessible } from '../compute.js';
import type { ProxyEndpoint, ProxyState, ServicePlan } from '../types.js';
import {
  FILTER_CHAINS, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_MARK_MASQ, KUBE_NODEPORTS, KUBE_POSTROUTING,
  KUBE_PROXY_FIREWALL, KUBE_SERVICES, MASQ_MARK, NAT_CHAINS, extChain, fwChain, sepChain, servicePortName, svcChain, svlChain,
} from './chains.js';

export { chainHash, svcChain, svlChain, extChain, fwChain, sepChain } from './chains.js';

/** kube switches to "large cluster mode" (no per-endpoint comments) above this many endpoints. */
export const LARGE_CLUSTER_ENDPOINTS = 1000;

export interface IptablesRenderOptions {
  /**
   * Partial sync: write the per-service chains (SVC/SVL/EXT/FW/SEP) only for these service-port
   * ids; the others keep their kernel contents (their chain lines are left out, so
   * `--noflush` does not flush them). Top-level chains are always rewritten. Default: all.
   */
  chainsFor?: ReadonlySet<string>;
  /** Force kube's large-cluster mode on or off (default: more than 1000 endpoints). */
  largeCluster?: boolean;
}

/** The rendering in kube's four buffers, plus the set of per-service chains the state uses. */
export interface IptablesRendering {
  filterChains: string[];
  filterRules: string[];
  natChains: string[];
  natRules: string[];
  /** Every KUBE-SVC/SVL/EXT/FW/SEP chain in use, written or skipped: anything else of ours is stale. */
  activeChains: Set<string>;
}

const chainLine = (c: string): string => `:${c} - [0:0]`;
const q = (s: string): string => `"${s}"`;

/** kube formats 1/n with 10 decimals. */
function probability(n: number): string {
  return (1 / n).toFixed(10);
}

function ipv4ToInt(ip: string): number {
  return ip.split('.').reduce((a, o) => (a * 256 + Number(o)) >>> 0, 0);
}

/** Whether IPv4 `ip` lies in `cidr` (a bare address counts as /32). */
export function cidrContains(cidr: string, ip: string): boolean {
  const [base, lenStr] = cidr.split('/');
  const len = lenStr === undefined ? 32 : Number(lenStr);
  if (!base || !/^\d+\.\d+\.\d+\.\d+$/.test(ip) || !(len >= 0 && len <= 32)) return false;
  const mask = len === 0 ? 0 : (0xffffffff << (32 - len)) >>> 0;
  return ((ipv4ToInt(base) & mask) >>> 0) === ((ipv4ToInt(ip) & mask) >>> 0);
}

/**
 * kube's endpoint sets for one plan. The cluster set is what KUBE-SVC balances over, the local
 * set what KUBE-SVL does. Our model carries the endpoints per traffic kind; when both policies
 * are Local the cluster-wide set is not in the plan, so the local set stands in for it.
 */
interface PolicySets {
  itpLocal: boolean;
  etpLocal: boolean;
  external: boolean;
  clusterSet: ProxyEndpoint[];
  localSet: ProxyEndpoint[];
  usesCluster: boolean;
  usesLocal: boolean;
  reachable: ProxyEndpoint[];
}

function policySets(p: ServicePlan): PolicySets {
  const s = p.svc;
  const external = externallyAccessible(s);
  const itpLocal = s.internalTrafficPolicy === 'Local';
  const etpLocal = external && s.externalTrafficPolicy === 'Local';
  const localSet = itpLocal ? p.clusterEndpoints : etpLocal ? p.externalEndpoints : p.localEndpoints;
  const clusterSet = !itpLocal ? p.clusterEndpoints : external && !etpLocal ? p.externalEndpoints : localSet;
  const usesCluster = clusterSet.length > 0 && (!itpLocal || external);
  const usesLocal = localSet.length > 0 && (itpLocal || etpLocal);
  const seen = new Set<string>();
  const reachable: ProxyEndpoint[] = [];
  for (const ep of [...(usesCluster ? clusterSet : []), ...(usesLocal ? localSet : [])]) {
    const k = `${ep.ip}:${ep.port}`;
    if (!seen.has(k)) { seen.add(k); reachable.push(ep); }
  }
  return { itpLocal, etpLocal, external, clusterSet, localSet, usesCluster, usesLocal, reachable };
}

/** Renders the four buffers; see restoreInput() for the text `iptables-restore` reads. */
export function renderIptablesParts(state: ProxyState, opts: IptablesRenderOptions = {}): IptablesRendering {
  const plans = [...state.services.keys()].sort().map((k) => state.services.get(k)!);
  const sets = new Map(plans.map((p) => [p.svc.id, policySets(p)]));
  const total = [...sets.values()].reduce((n, s) => n + s.reachable.length, 0);
  const large = opts.largeCluster ?? total > LARGE_CLUSTER_ENDPOINTS;
  const podCIDR = state.node.podCIDRs[0];
  const nodeIP = state.node.addresses[0];

  const filterChains = FILTER_CHAINS.map(chainLine);
  const filterRules: string[] = [];
  const natChains = NAT_CHAINS.map(chainLine);
  const natRules: string[] = [];
  const activeChains = new Set<string>();

  natRules.push(`-A ${KUBE_POSTROUTING} -m mark ! --mark ${MASQ_MARK}/${MASQ_MARK} -j RETURN`);
  natRules.push(`-A ${KUBE_POSTROUTING} -j MARK --xor-mark ${MASQ_MARK}`);
  natRules.push(`-A ${KUBE_POSTROUTING} -m comment --comment ${q('kubernetes service traffic requiring SNAT')} -j MASQUERADE --random-fully`);
  natRules.push(`-A ${KUBE_MARK_MASQ} -j MARK --or-mark ${MASQ_MARK}`);

  for (const p of plans) {
    const s = p.svc;
    if (s.clusterIPs.length === 0) continue;
    const ps = sets.get(s.id)!;
    const name = servicePortName(p);
    const proto = s.protocol.toLowerCase();
    const m = `-m ${proto} -p ${proto}`;
    const svc = svcChain(p), svl = svlChain(p), ext = extChain(p), fw = fwChain(p);

    // kube's hasEndpoints: usable endpoints exist somewhere (else REJECT everything).
    const hasEndpoints = !(p.rejectCluster && p.rejectExternal);
    // Only point at a policy chain that is really written (a hand-built plan may be inconsistent).
    const hasInternal = p.clusterEndpoints.length > 0 && (ps.itpLocal ? ps.usesLocal : ps.usesCluster);
    const hasExternal = p.externalEndpoints.length > 0 && (ps.etpLocal ? ps.usesLocal : ps.usesCluster);
    const internalChain = ps.itpLocal ? svl : svc;
    const externalPolicyChain = ps.etpLocal ? svl : svc;
    const usesExt = hasEndpoints && ps.external;
    const usesFW = hasEndpoints && s.loadBalancerIPs.length > 0 && s.loadBalancerSourceRanges.length > 0;
    const lbTarget = usesFW ? fw : ext;
    const intFilter = p.rejectCluster
      ? { target: 'REJECT', comment: q(`${name} has no endpoints`) }
      : { target: 'DROP', comment: q(`${name} has no local endpoints`) };
    const extFilter = p.rejectExternal
      ? { target: 'REJECT', comment: q(`${name} has no endpoints`) }
      : { target: 'DROP', comment: q(`${name} has no local endpoints`) };

    for (const ip of s.clusterIPs) {
      if (hasInternal) natRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${name} cluster IP`)} ${m} -d ${ip} --dport ${s.port} -j ${internalChain}`);
      else filterRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${intFilter.comment} ${m} -d ${ip} --dport ${s.port} -j ${intFilter.target}`);
    }
    for (const ip of s.externalIPs) {
      if (hasEndpoints) natRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${name} external IP`)} ${m} -d ${ip} --dport ${s.port} -j ${ext}`);
      if (!hasExternal) filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${extFilter.comment} ${m} -d ${ip} --dport ${s.port} -j ${extFilter.target}`);
    }
    for (const ip of s.loadBalancerIPs) {
      if (hasEndpoints) natRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${q(`${name} loadbalancer IP`)} ${m} -d ${ip} --dport ${s.port} -j ${lbTarget}`);
      if (usesFW) filterRules.push(`-A ${KUBE_PROXY_FIREWALL} -m comment --comment ${q(`${name} traffic not accepted by ${fw}`)} ${m} -d ${ip} --dport ${s.port} -j DROP`);
    }
    if (!hasExternal) {
      for (const ip of s.loadBalancerIPs) filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${extFilter.comment} ${m} -d ${ip} --dport ${s.port} -j ${extFilter.target}`);
    }
    if (s.nodePort !== undefined) {
      if (hasEndpoints) natRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${name} ${m} --dport ${s.nodePort} -j ${ext}`);
      if (!hasExternal) filterRules.push(`-A ${KUBE_EXTERNAL_SERVICES} -m comment --comment ${extFilter.comment} -m addrtype --dst-type LOCAL ${m} --dport ${s.nodePort} -j ${extFilter.target}`);
    }
    if (s.healthCheckNodePort !== undefined) {
      filterRules.push(`-A ${KUBE_NODEPORTS} -m comment --comment ${q(`${name} health check node port`)} -m tcp -p tcp --dport ${s.healthCheckNodePort} -j ACCEPT`);
    }

    // Per-service chains: in a partial sync, unchanged services' chains are computed but not written.
    const write = !opts.chainsFor || opts.chainsFor.has(s.id);
    const chains: string[] = write ? natChains : [];
    const rules: string[] = write ? natRules : [];
    const declare = (c: string): void => { chains.push(chainLine(c)); activeChains.add(c); };

    if (hasInternal && podCIDR) {
      // Off-cluster sources reaching a cluster IP (via a route to this node) are masqueraded.
      for (const ip of s.clusterIPs) rules.push(`-A ${internalChain} -m comment --comment ${q(`${name} cluster IP`)} ${m} -d ${ip} --dport ${s.port} ! -s ${podCIDR} -j ${KUBE_MARK_MASQ}`);
    }
    if (usesExt) {
      declare(ext);
      if (!ps.etpLocal) {
        rules.push(`-A ${ext} -m comment --comment ${q(`masquerade traffic for ${name} external destinations`)} -j ${KUBE_MARK_MASQ}`);
      } else {
        // Pods and the node itself are not subject to the Local policy (as if via an outside LB).
        if (podCIDR && ps.usesCluster) rules.push(`-A ${ext} -m comment --comment ${q(`pod traffic for ${name} external destinations`)} -s ${podCIDR} -j ${svc}`);
        rules.push(`-A ${ext} -m comment --comment ${q(`masquerade LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${KUBE_MARK_MASQ}`);
        if (ps.usesCluster) rules.push(`-A ${ext} -m comment --comment ${q(`route LOCAL traffic for ${name} external destinations`)} -m addrtype --src-type LOCAL -j ${svc}`);
      }
      if (hasExternal) rules.push(`-A ${ext} -j ${externalPolicyChain}`);
    }
    if (usesFW) {
      declare(fw);
      const head = `-A ${fw} -m comment --comment ${q(`${name} loadbalancer IP`)}`;
      let allowFromNode = false;
      for (const cidr of s.loadBalancerSourceRanges) {
        rules.push(`${head} -s ${cidr} -j ${ext}`);
        if (nodeIP && cidrContains(cidr, nodeIP)) allowFromNode = true;
      }
      if (allowFromNode) for (const ip of s.loadBalancerIPs) rules.push(`${head} -s ${ip} -j ${ext}`);
      rules.push(`-A ${fw} -m comment --comment ${q(`other traffic to ${name} will be dropped by ${KUBE_PROXY_FIREWALL}`)}`);
    }
    const comment = (text: string): string => (large ? '' : ` -m comment --comment ${text}`);
    const balance = (chain: string, eps: ProxyEndpoint[]): void => {
      declare(chain);
      if (s.sessionAffinity) {
        for (const ep of eps) {
          const sep = sepChain(p, ep);
          rules.push(`-A ${chain}${comment(q(`${name} -> ${ep.ip}:${ep.port}`))} -m recent --name ${sep} --rcheck --seconds ${s.sessionAffinity.timeoutSeconds} --reap -j ${sep}`);
        }
      }
      eps.forEach((ep, i) => {
        const st = i < eps.length - 1 ? ` -m statistic --mode random --probability ${probability(eps.length - i)}` : '';
        rules.push(`-A ${chain}${comment(q(`${name} -> ${ep.ip}:${ep.port}`))}${st} -j ${sepChain(p, ep)}`);
      });
    };
    if (ps.usesCluster) balance(svc, ps.clusterSet);
    if (ps.usesLocal) balance(svl, ps.localSet);
    for (const ep of ps.reachable) {
      const sep = sepChain(p, ep);
      declare(sep);
      rules.push(`-A ${sep}${comment(name)} -s ${ep.ip} -j ${KUBE_MARK_MASQ}`);
      const recent = s.sessionAffinity ? ` -m recent --name ${sep} --set` : '';
      rules.push(`-A ${sep}${comment(name)}${recent} ${m} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    }
  }

  // Must stay the last rule of KUBE-SERVICES. Loopback is excluded: we do not set route_localnet
  // (kube's behaviour with --iptables-localhost-nodeports=false).
  natRules.push(`-A ${KUBE_SERVICES} -m comment --comment ${q('kubernetes service nodeports; NOTE: this must be the last rule in this chain')} -m addrtype --dst-type LOCAL ! -d 127.0.0.0/8 -j ${KUBE_NODEPORTS}`);

  filterRules.push(`-A ${KUBE_FORWARD} -m conntrack --ctstate INVALID -j DROP`);
  filterRules.push(`-A ${KUBE_FORWARD} -m comment --comment ${q('kubernetes forwarding rules')} -m mark --mark ${MASQ_MARK}/${MASQ_MARK} -j ACCEPT`);
  filterRules.push(`-A ${KUBE_FORWARD} -m comment --comment ${q('kubernetes forwarding conntrack rule')} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`);

  return { filterChains, filterRules, natChains, natRules, activeChains };
}

/**
 * The `iptables-restore --noflush` input (filter, then nat, as kube writes it). `staleChains`
 * (ours, no longer used) are flushed by a chain line and deleted with `-X` in the same
 * transaction, after the rules that referenced them are gone.
 */
export function restoreInput(r: IptablesRendering, opts: { staleChains?: Iterable<string> } = {}): string {
  const stale = [...(opts.staleChains ?? [])].sort();
  return [
    '*filter', ...r.filterChains, ...r.filterRules, 'COMMIT',
    '*nat', ...r.natChains, ...stale.map(chainLine), ...r.natRules, ...stale.map((c) => `-X ${c}`), 'COMMIT', '',
  ].join('\n');
}

/** Convenience: the per-table texts and the whole restore input (no stale chains). */
export function renderIptables(state: ProxyState, opts: IptablesRenderOptions = {}): { filter: string; nat: string; restore: string; activeChains: Set<string> } {
  const r = renderIptablesParts(state, opts);
  return {
    filter: ['*filter', ...r.filterChains, ...r.filterRules, 'COMMIT', ''].join('\n'),
    nat: ['*nat', ...r.natChains, ...r.natRules, 'COMMIT', ''].join('\n'),
    restore: restoreInput(r),
    activeChains: r.activeChains,
  };
}
