/**
 * Renders a ProxyState as an `nft -f` script (family ip) in the shape of kube-proxy's nftables
 * mode: one table, deleted and rebuilt in one transaction; a `service-ips` verdict map
 * dispatching to per-service-port chains; numgen load balancing to per-endpoint DNAT chains;
 * masquerade by mark. The script is the static skeleton (hooks, base chains, maps, the
 * service-CIDR drop rules) followed by each service port's fragment (fragment.ts) in sorted id
 * order. One statement per line (`add table|chain|rule|map|set|element ...`): the packet tracer
 * parses this text. Pure and linear in the size of the state.
 */
import type { ProxyNode, ProxyState } from '../types.js';
import { chainName, elementKey, MASQ_MARK, serviceFragment, type LbMode, type ServiceFragment } from './fragment.js';

export { chainName };
export type { LbMode };

export interface RenderOptions {
  table?: string;
  /** Endpoint selection form (fragment.ts LbMode); default 'vmap'. */
  lb?: LbMode;
}

export const DEFAULT_TABLE = 'kubelite';

/** The table-wide part: everything that does not belong to one service port. */
export function renderSkeleton(node: ProxyNode, out: string[], opts: RenderOptions = {}): void {
  const t = opts.table ?? DEFAULT_TABLE;
  const add = (s: string): void => { out.push(s); };
  add(`add table ip ${t}`);
  add(`delete table ip ${t}`);
  add(`add table ip ${t}`);
  add(`add chain ip ${t} nat-prerouting { type nat hook prerouting priority dstnat ; }`);
  add(`add chain ip ${t} nat-output { type nat hook output priority -100 ; }`);
  add(`add chain ip ${t} nat-postrouting { type nat hook postrouting priority srcnat ; }`);
  // Filter hooks as kube-proxy places them: the firewall before DNAT (prerouting dstnat-10), the
  // no-endpoint checks on the original destination (priority -110), and the cluster-IP catch-all
  // only after DNAT (forward, and output at dstnat+10) so it sees just unanswered cluster IPs.
  add(`add chain ip ${t} filter-prerouting { type filter hook prerouting priority -110 ; }`);
  add(`add chain ip ${t} filter-forward { type filter hook forward priority -110 ; }`);
  add(`add chain ip ${t} filter-input { type filter hook input priority -110 ; }`);
  add(`add chain ip ${t} filter-output { type filter hook output priority -110 ; }`);
  add(`add chain ip ${t} filter-output-post-dnat { type filter hook output priority -90 ; }`);
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
  add(`add rule ip ${t} mark-for-masquerade meta mark set meta mark or ${MASQ_MARK}`);
  add(`add rule ip ${t} masquerading meta mark & ${MASQ_MARK} == 0 return`);
  add(`add rule ip ${t} masquerading meta mark set meta mark xor ${MASQ_MARK}`);
  add(`add rule ip ${t} masquerading masquerade fully-random`);
  add(`add rule ip ${t} services ip daddr . meta l4proto . th dport vmap @service-ips`);
  add(`add rule ip ${t} services fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @service-nodeports`);
  add(`add rule ip ${t} filter-prerouting ct state new jump firewall-check`);
  add(`add rule ip ${t} filter-forward ct state new jump service-endpoints-check`);
  add(`add rule ip ${t} filter-forward ct state new jump cluster-ips-check`);
  add(`add rule ip ${t} filter-input ct state new jump service-endpoints-check`);
  add(`add rule ip ${t} filter-output ct state new jump service-endpoints-check`);
  add(`add rule ip ${t} filter-output ct state new jump firewall-check`);
  add(`add rule ip ${t} filter-output-post-dnat ct state new jump cluster-ips-check`);
  add(`add rule ip ${t} service-endpoints-check ip daddr . meta l4proto . th dport vmap @no-endpoint-services`);
  add(`add rule ip ${t} service-endpoints-check fib daddr type local ip daddr != 127.0.0.0/8 meta l4proto . th dport vmap @no-endpoint-nodeports`);
  add(`add rule ip ${t} firewall-check ip daddr . meta l4proto . th dport vmap @firewall-ips`);
  add(`add rule ip ${t} cluster-ips-check ip daddr @cluster-ips reject`);
  for (const cidr of node.serviceCIDRs) add(`add rule ip ${t} cluster-ips-check ip daddr ${cidr} drop`);
}

/**
 * Appends one fragment: sets and chain declarations first (so every goto/@set target exists
 * when a rule or element names it), then rules, then elements. `seen` holds, per set, the
 * element keys already written: a key appears once per set (the first fragment in id order
 * wins), as a map cannot hold two values for one key. The partial-sync builder uses the same rule.
 */
export function appendFragment(f: ServiceFragment, out: string[], opts: { table: string; seen: Map<string, Set<string>> }): void {
  const t = opts.table;
  for (const [name, decl] of f.sets) out.push(`add set ip ${t} ${name} ${decl}`);
  for (const name of f.chains.keys()) out.push(`add chain ip ${t} ${name}`);
  for (const [name, rules] of f.chains) {
    const prefix = `add rule ip ${t} ${name} `;
    for (const r of rules) out.push(prefix + r);
  }
  for (const [set, elems] of f.elements) {
    let seen = opts.seen.get(set);
    if (!seen) opts.seen.set(set, (seen = new Set()));
    const prefix = `add element ip ${t} ${set} { `;
    for (const e of elems) {
      const k = elementKey(e);
      if (seen.has(k)) continue;
      seen.add(k);
      out.push(prefix + e + ' }');
    }
  }
}

/** The full replacement script for a node and its fragments (iterated in the given order: pass them sorted by id). */
export function renderFullScript(node: ProxyNode, fragments: Iterable<ServiceFragment>, opts: RenderOptions = {}): string {
  const table = opts.table ?? DEFAULT_TABLE;
  const out: string[] = [];
  renderSkeleton(node, out, { table });
  const seen = new Map<string, Set<string>>();
  for (const f of fragments) appendFragment(f, out, { table, seen });
  return out.join('\n') + '\n';
}

/** Fragments of every service port of a state, keyed by id, in sorted id order. */
export function stateFragments(state: ProxyState, opts: { lb?: LbMode } = {}): Map<string, ServiceFragment> {
  const out = new Map<string, ServiceFragment>();
  for (const id of [...state.services.keys()].sort()) out.set(id, serviceFragment(state.services.get(id)!, state.node, opts));
  return out;
}

/** Returns the complete script; loading it replaces the whole table. */
export function renderRuleset(state: ProxyState, opts: RenderOptions = {}): string {
  return renderFullScript(state.node, stateFragments(state, opts).values(), opts);
}
