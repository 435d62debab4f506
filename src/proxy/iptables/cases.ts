/**
 * Extra golden states for the iptables renderer, beyond the shared CASES in
 * ../nftables/fixtures.ts: the corners where kube's iptables mode has distinct rules
 * (Local policies without local endpoints → DROP, health-check node ports, LB source ranges
 * that include the node, UDP, several ports, a service without a pod CIDR to detect).
 */
import { planService } from '../compute.js';
import { CASES, ep, plan, state, svc } from '../nftables/fixtures.js';
import type { ProxyState } from '../types.js';

const remote = [ep('10.244.1.2', { nodeName: 'n2' }), ep('10.244.1.3', { nodeName: 'n2' })];
const local = ep('10.244.0.5', { isLocal: true, nodeName: 'n1' });

export const IPTABLES_CASES: Record<string, ProxyState> = {
  // internalTrafficPolicy Local, no endpoint on this node: cluster IP traffic dropped, not rejected.
  'ipt-itplocal-none': state([planService(svc('itl', { clusterIPs: ['10.96.0.20'], internalTrafficPolicy: 'Local' }), remote)]),
  // internalTrafficPolicy Local with a local endpoint: KUBE-SVL only.
  'ipt-itplocal-local': state([planService(svc('itl2', { clusterIPs: ['10.96.0.21'], internalTrafficPolicy: 'Local' }), [...remote, local])]),
  // LoadBalancer, externalTrafficPolicy Local, no local endpoint: external traffic dropped, pods and node short-circuited.
  'ipt-etplocal-none': state([
    planService(
      svc('etl', {
        clusterIPs: ['10.96.0.22'], nodePort: 30090, loadBalancerIPs: ['203.0.113.9'], healthCheckNodePort: 32000,
        externalTrafficPolicy: 'Local',
      }),
      remote,
    ),
  ]),
  // Source ranges including the node address: the LB IP itself is allowed as a source too.
  'ipt-lb-fromnode': state([
    plan(svc('lbn', { clusterIPs: ['10.96.0.23'], nodePort: 30091, loadBalancerIPs: ['203.0.113.10'], loadBalancerSourceRanges: ['192.168.1.0/24', '198.51.100.0/24'] }), remote),
  ]),
  // Two ports, one UDP; affinity with a custom timeout; an externalIP without endpoints (REJECT).
  'ipt-multiport': state([
    plan(svc('dns', { id: 'default/dns:dns/UDP', portName: 'dns', protocol: 'UDP', clusterIPs: ['10.96.0.24'], port: 53 }), [ep('10.244.1.7', { port: 5353 })]),
    plan(svc('dns', { id: 'default/dns:dns-tcp/TCP', portName: 'dns-tcp', clusterIPs: ['10.96.0.24'], port: 53, sessionAffinity: { timeoutSeconds: 60 } }), [ep('10.244.1.7', { port: 5353 }), ep('10.244.1.8', { port: 5353 })]),
    plan(svc('gone', { id: 'default/gone/TCP', portName: '', clusterIPs: ['10.96.0.25'], externalIPs: ['192.0.2.8'] }), []),
  ]),
  // No pod CIDR known: kube's local detector is off, so no off-cluster masquerade rule.
  'ipt-no-podcidr': {
    node: { name: 'n1', addresses: ['192.168.1.10'], serviceCIDRs: ['10.96.0.0/16'], podCIDRs: [] },
    services: state([plan(svc('plain', { clusterIPs: ['10.96.0.26'] }), remote)]).services,
  },
};

/** Every golden state: the shared CASES first, then ours; a name clash throws rather than shadowing. */
export function allCases(): Array<[string, ProxyState]> {
  const out: Array<[string, ProxyState]> = Object.entries(CASES);
  for (const [k, v] of Object.entries(IPTABLES_CASES)) {
    if (k in CASES) throw new Error(`iptables case ${k} collides with a shared case`);
    out.push([k, v]);
  }
  return out;
}
