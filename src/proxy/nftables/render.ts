/**
 * Renders a ProxyState as an `nft -f` script (family ip) in the shape of kube-proxy's nftables
 * mode: one table, flushed and rebuilt atomically; a `service-ips` verdict map dispatching to
 * per-service-port chains; numgen load balancing to per-endpoint DNAT chains; masquerade by mark.
 * Pure: same state in, same text out (services iterated in sorted id order).
 */
import { createHash } from 'node:crypto';
import type { ProxyEndpoint, ProxyState, ServicePlan } from '../types.js';

export interface RenderOptions { table?: string }

const MARK = '0x4000';

/** kube-proxy style chain name: short hash + readable (truncated) suffix, unique per id. */
export function chainName(prefix: string, id: string): string {
  const hash = createHash('sha256').update(id).digest('base64url').slice(0, 8).toUpperCase().replace(/[-_]/g, 'X');
  const readable = id.replace(/[^A-Za-z0-9/_.-]/g, '-').replace(/:/g, '/');
  return `${prefix}-${hash}-${readable}`.slice(0, 200);
}

function proto(p: string): string { return p.toLowerCase(); }

function endpointChain(plan: ServicePlan, ep: ProxyEndpoint): string {
  return chainName('endpoint', `${plan.svc.id}__${ep.ip}/${ep.port}`);
}

/** Returns the complete script; loading it replaces the whole table. */
export function renderRuleset(state: ProxyState, opts: RenderOptions = {}): string {
  const t = opts.table ?? 'kubelite';
  const L: string[] = [];
  const add = (s: string): void => { L.push(s); };
  add(`add table ip ${t}`);
  add(`delete table ip ${t}`);
  add(`add table ip ${t}`);
  add(`add chain ip ${t} nat-prerouting { type nat hook prerouting priority dstnat ; }`);
  add(`add chain ip ${t} nat-output { type nat hook output priority -100 ; }`);
  add(`add chain ip ${t} nat-postrouting { type nat hook postrouting priority srcnat ; }`);
  add(`add chain ip ${t} filter-forward { type filter hook forward priority -110 ; }`);
  add(`add chain ip ${t} filter-input { type filter hook input priority -110 ; }`);
  add(`add chain ip ${t} filter-output { type filter hook output priority -110 ; }`);
  add(`add chain ip ${t} services`);
  add(`add chain ip ${t} service-endpoints-check`);
  add(`add chain ip ${t} firewall-check`);
  add(`add chain ip ${t} cluster-ips-check`);
  add(`add chain ip ${t} mark-for-masquerade`);
  add(`add chain ip ${t} masquerading`);
  add(`add map ip ${t} service-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`);
  add(`add map ip ${t} service-nodeports { type inet_proto . inet_service : verdict ; }`);
  add(`add map ip ${t} no-endpoint-services { type ipv4_addr . inet_proto . inet_service : verdict ; }`);
  add(`add map ip ${t} firewall-ips { type ipv4_addr . inet_proto . inet_service : verdict ; }`);
  add(`add map ip ${t} no-endpoint-nodeports { type inet_proto . inet_service : verdict ; }`);
  add(`add set ip ${t} cluster-ips { type ipv4_addr ; }`);
  add(`add chain ip ${t} reject-chain`);
  add(`add rule ip ${t} reject-chain reject`);
  add(`add rule ip ${t} nat-prerouting jump services`);
  add(`add rule ip ${t} nat-output jump services`);
  add(`add rule ip ${t} nat-postrouting jump masquerading`);
  add(`add rule ip ${t} mark-for-masquerade meta mark set meta mark or ${MARK}`);
  add(`add rule ip ${t} masquerading meta mark & ${MARK} == 0 return`);
  add(`add rule ip ${t} masquerading meta mark set meta mark xor ${MARK}`);
  add(`add rule ip ${t} masquerading masquerade fully-random`);
  add(`add rule ip ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`);
  add(`add rule ip ${t} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`);
  for (const c of ['filter-forward', 'filter-output']) {
    add(`add rule ip ${t} ${c} ct state new jump service-endpoints-check`);
    add(`add rule ip ${t} ${c} ct state new jump cluster-ips-check`);
  }
  add(`add rule ip ${t} filter-input ct state new jump firewall-check`);
  add(`add rule ip ${t} filter-forward ct state new jump firewall-check`);
  add(`add rule ip ${t} filter-input ct state new jump service-endpoints-check`);
  add(`add rule ip ${t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`);
  add(`add rule ip ${t} service-endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports`);
  add(`add rule ip ${t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`);
  add(`add rule ip ${t} cluster-ips-check ip daddr @cluster-ips reject`);
  for (const cidr of state.node.serviceCIDRs) add(`add rule ip ${t} cluster-ips-check ip daddr ${cidr} drop`);

  const ids = [...state.services.keys()].sort();
  for (const id of ids) {
    const plan = state.services.get(id)!;
    const s = plan.svc;
    if (s.clusterIPs.length === 0) continue;
    const p = proto(s.protocol);
    const svcChain = chainName('service', s.id);
    const extChain = chainName('external', s.id);
    const fwChain = chainName('firewall', s.id);
    const affinity = (ep: ProxyEndpoint): string => `affinity-${endpointChain(plan, ep).slice('endpoint-'.length)}`;
    for (const ip of s.clusterIPs) add(`add element ip ${t} cluster-ips { ${ip} }`);

    // Cluster traffic.
    if (plan.rejectCluster || plan.clusterEndpoints.length === 0) {
      for (const ip of s.clusterIPs) add(`add element ip ${t} no-endpoint-services { ${ip} . ${p} . ${s.port} : goto reject-chain }`);
    } else {
      renderServiceChain(svcChain, plan.clusterEndpoints);
      for (const ip of s.clusterIPs) add(`add element ip ${t} service-ips { ${ip} . ${p} . ${s.port} : goto ${svcChain} }`);
    }

    // External traffic (NodePort, externalIPs, LB IPs).
    const extIPs = [...s.externalIPs, ...s.loadBalancerIPs];
    if (s.nodePort === undefined && extIPs.length === 0) continue;
    if (plan.rejectExternal || plan.externalEndpoints.length === 0) {
      for (const ip of extIPs) add(`add element ip ${t} no-endpoint-services { ${ip} . ${p} . ${s.port} : goto reject-chain }`);
      if (s.nodePort !== undefined) {
        add(`add element ip ${t} no-endpoint-nodeports { ${p} . ${s.nodePort} : goto reject-chain }`);
      }
      continue;
    }
    add(`add chain ip ${t} ${extChain}`);
    if (s.externalTrafficPolicy === 'Cluster') {
      add(`add rule ip ${t} ${extChain} jump mark-for-masquerade`);
      add(`add rule ip ${t} ${extChain} goto ${svcChain}`);
    } else {
      // Local: pod-originated and node-originated traffic may still use any cluster endpoint.
      for (const cidr of state.node.podCIDRs) add(`add rule ip ${t} ${extChain} ip saddr ${cidr} goto ${svcChain}`);
      add(`add rule ip ${t} ${extChain} fib saddr type local jump mark-for-masquerade`);
      add(`add rule ip ${t} ${extChain} fib saddr type local goto ${svcChain}`);
      const localChain = chainName('local', s.id);
      renderServiceChain(localChain, plan.externalEndpoints);
      add(`add rule ip ${t} ${extChain} goto ${localChain}`);
    }
    if (plan.clusterEndpoints.length === 0) renderServiceChain(svcChain, plan.externalEndpoints);
    for (const ip of extIPs) add(`add element ip ${t} service-ips { ${ip} . ${p} . ${s.port} : goto ${extChain} }`);
    if (s.nodePort !== undefined) add(`add element ip ${t} service-nodeports { ${p} . ${s.nodePort} : goto ${extChain} }`);
    if (s.loadBalancerSourceRanges.length > 0 && s.loadBalancerIPs.length > 0) {
      add(`add chain ip ${t} ${fwChain}`);
      add(`add rule ip ${t} ${fwChain} ip saddr != { ${s.loadBalancerSourceRanges.join(', ')} } drop`);
      for (const ip of s.loadBalancerIPs) add(`add element ip ${t} firewall-ips { ${ip} . ${p} . ${s.port} : goto ${fwChain} }`);
    }

    function renderServiceChain(name: string, eps: ProxyEndpoint[]): void {
      if (L.includes(`add chain ip ${t} ${name}`)) return;
      for (const ep of eps) renderEndpoint(ep);
      add(`add chain ip ${t} ${name}`);
      add(`add rule ip ${t} ${name} ip daddr . meta l4proto . th dport { ${s.clusterIPs.map((ip) => `${ip} . ${p} . ${s.port}`).join(', ')} } ip saddr != { ${state.node.podCIDRs.length ? state.node.podCIDRs.join(', ') : '0.0.0.0/0'} } jump mark-for-masquerade`);
      if (s.sessionAffinity) {
        for (const ep of eps) add(`add rule ip ${t} ${name} ip saddr @${affinity(ep)} goto ${endpointChain(plan, ep)}`);
      }
      const alts = eps.map((ep, i) => `${i} : goto ${endpointChain(plan, ep)}`).join(', ');
      add(`add rule ip ${t} ${name} numgen random mod ${eps.length} vmap { ${alts} }`);
    }
    function renderEndpoint(ep: ProxyEndpoint): void {
      const c = endpointChain(plan, ep);
      if (L.includes(`add chain ip ${t} ${c}`)) return;
      if (s.sessionAffinity) add(`add set ip ${t} ${affinity(ep)} { type ipv4_addr ; flags dynamic,timeout ; timeout ${s.sessionAffinity.timeoutSeconds}s ; }`);
      add(`add chain ip ${t} ${c}`);
      add(`add rule ip ${t} ${c} ip saddr ${ep.ip} jump mark-for-masquerade`);
      if (s.sessionAffinity) add(`add rule ip ${t} ${c} update @${affinity(ep)} { ip saddr }`);
      add(`add rule ip ${t} ${c} meta l4proto ${p} dnat to ${ep.ip}:${ep.port}`);
    }
  }
  return L.join('\n') + '\n';
}
