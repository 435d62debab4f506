/**
 * Renders a ProxyState as an `nft -f` script (family ip) in the shape of kube-proxy's nftables
 * mode: one table, deleted and rebuilt in one transaction; a `service-ips` verdict map
 * dispatching to per-service-port chains; a numgen cascade in each service chain DNATing
 * straight to the endpoint (no chain per endpoint: see fragment.ts); masquerade by mark, with
 * hairpin connections found in the `hairpin` set in nat-postrouting. The script is the static
 * skeleton (hooks, base chains, maps, the service-CIDR drop rules), then each service port's sets,
 * chains and rules (fragment.ts) in sorted id order, then the elements of the shared maps/sets in
 * batches. One statement per line (`add table|chain|rule|map|set|element ...`; an element
 * statement may carry many elements): the packet tracer parses this text. Pure and linear in the
 * size of the state.
 */
import type { ProxyNode, ProxyState } from '../types.js';
import { chainName, elementKey, HAIRPIN_SET, MASQ_MARK, serviceFragment, type LbMode, type ServiceFragment } from './fragment.js';

export { chainName };
export type { LbMode };

export interface RenderOptions {
  table?: string;
  /** Endpoint selection form (fragment.ts LbMode): 'cascade', the only one. */
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
  add(`add set ip ${t} ${HAIRPIN_SET} { type ipv4_addr . ipv4_addr ; }`);
  add(`add chain ip ${t} reject-chain`);
  add(`add rule ip ${t} reject-chain reject`);
  add(`add rule ip ${t} nat-prerouting jump services`);
  add(`add rule ip ${t} nat-output jump services`);
  // Hairpin: a pod DNATed to itself must be masqueraded, or it would answer itself directly
  // (from its own address, which its socket to the service address does not expect).
  add(`add rule ip ${t} nat-postrouting ct status dnat ip saddr . ip daddr @${HAIRPIN_SET} jump mark-for-masquerade`);
  add(`add rule ip ${t} nat-postrouting jump masquerading`);
  add(`add rule ip ${t} mark-for-masquerade meta mark set meta mark or ${MASQ_MARK}`);
  add(`add rule ip ${t} masquerading meta mark & ${MASQ_MARK} == 0 return`);
  add(`add rule ip ${t} masquerading meta mark set meta mark xor ${MASQ_MARK}`);
  add(`add rule ip ${t} masquerading masquerade fully-random`);
  // Cluster-IP traffic from outside the pod network (e.g. the node itself) is masqueraded.
  // kube-proxy writes this per service port; one rule here is the same packet for packet (a
  // cluster IP on a port without a service is rejected or dropped before the mark matters) and
  // saves a rule per service (nft's load time is per rule). Plain `!=` per pod CIDR, no anonymous set.
  const notFromPods = (node.podCIDRs.length ? node.podCIDRs : ['0.0.0.0/0']).map((c) => `ip saddr != ${c}`).join(' ');
  add(`add rule ip ${t} services ip daddr @cluster-ips ${notFromPods} jump mark-for-masquerade`);
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
 * Appends one fragment's sets, chains and rules: sets and chain declarations first (so every
 * goto/@set target exists when a rule names it), then rules. Its elements go to `elements` (set
 * → bodies), written after all fragments by appendElements. `seen` holds, per set, the element
 * keys already taken: a key appears once per set (the first fragment in id order wins), as a map
 * cannot hold two values for one key. The partial-sync builder uses the same rule.
 */
export function appendFragment(f: ServiceFragment, out: string[], opts: { table: string; seen: Map<string, Set<string>>; elements: Map<string, string[]> }): void {
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
    let list = opts.elements.get(set);
    if (!list) opts.elements.set(set, (list = []));
    for (const e of elems) {
      const k = elementKey(e);
      if (seen.has(k)) continue;
      seen.add(k);
      list.push(e);
    }
  }
}

/**
 * Elements per `add element` statement in a full script. nft's cost per statement dwarfs its
 * cost per element: batching the 50,000 elements of 10,000 services cut a full load by ~20%.
 */
export const ELEMENTS_PER_STATEMENT = 1000;

/** Writes collected elements, ELEMENTS_PER_STATEMENT per `add element` line, sets in first-use order. */
export function appendElements(elements: Map<string, string[]>, out: string[], opts: { table: string }): void {
  for (const [set, list] of elements) {
    for (let i = 0; i < list.length; i += ELEMENTS_PER_STATEMENT) {
      out.push(`add element ip ${opts.table} ${set} { ${list.slice(i, i + ELEMENTS_PER_STATEMENT).join(', ')} }`);
    }
  }
}

/** The full replacement script for a node and its fragments (iterated in the given order: pass them sorted by id). */
export function renderFullScript(node: ProxyNode, fragments: Iterable<ServiceFragment>, opts: RenderOptions = {}): string {
  const table = opts.table ?? DEFAULT_TABLE;
  const out: string[] = [];
  renderSkeleton(node, out, { table });
  const seen = new Map<string, Set<string>>();
  const elements = new Map<string, string[]>();
  for (const f of fragments) appendFragment(f, out, { table, seen, elements });
  appendElements(elements, out, { table });
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
