/**
 * iptables-restore rendering of a ProxyState in kube-proxy iptables mode's shape (subset).
 * Chain names follow kube: prefix + first 16 chars of base32(sha256(servicePortName + protocol [+ endpoint])),
 * so names match a real kube-proxy's. Unlike nftables mode, iptables mode does not drop traffic
 * to unused service IPs; neither do we.
 */
import { createHash } from 'node:crypto';
import type { ProxyState, ServicePlan, ProxyEndpoint } from '../types.js';

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(buf: Buffer): string {
  let bits = 0, value = 0, out = '';
  for (const b of buf) {
    value = (value << 8) | b; bits += 8;
    while (bits >= 5) { out += B32[(value >>> (bits - 5)) & 31]; bits -= 5; }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** kube's portProtoHash: why exact — other tools (and humans) recognise these names. */
export function chainHash(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

function spn(p: ServicePlan): string {
  return `${p.svc.namespace}/${p.svc.name}${p.svc.portName ? ':' + p.svc.portName : ''}`;
}
export function svcChain(p: ServicePlan): string { return 'KUBE-SVC-' + chainHash(spn(p) + p.svc.protocol.toLowerCase()); }
export function extChain(p: ServicePlan): string { return 'KUBE-EXT-' + chainHash(spn(p) + p.svc.protocol.toLowerCase()); }
export function sepChain(p: ServicePlan, ep: ProxyEndpoint): string {
  return 'KUBE-SEP-' + chainHash(spn(p) + p.svc.protocol.toLowerCase() + `${ep.ip}:${ep.port}`);
}

/** kube formats probabilities with 10 decimals. */
function prob(n: number): string { return (1 / n).toFixed(10); }

export function renderIptables(state: ProxyState): { nat: string; filter: string } {
  const plans = [...state.services.keys()].sort().map((k) => state.services.get(k)!);
  const chains = ['KUBE-SERVICES', 'KUBE-NODEPORTS', 'KUBE-POSTROUTING', 'KUBE-MARK-MASQ'];
  const rules: string[] = [];
  const svcRules: string[] = [];
  const filt: string[] = [];
  rules.push('-A KUBE-POSTROUTING -m mark ! --mark 0x4000/0x4000 -j RETURN');
  rules.push('-A KUBE-POSTROUTING -j MARK --set-xmark 0x4000/0x0');
  rules.push('-A KUBE-POSTROUTING -m comment --comment "kubernetes service traffic requiring SNAT" -j MASQUERADE --random-fully');
  rules.push('-A KUBE-MARK-MASQ -j MARK --set-xmark 0x4000/0x4000');
  for (const p of plans) {
    const s = p.svc, proto = s.protocol.toLowerCase(), name = spn(p);
    const sc = svcChain(p);
    for (const ip of s.clusterIPs) {
      if (p.rejectCluster) {
        filt.push(`-A KUBE-SERVICES -m comment --comment "${name} has no endpoints" -m ${proto} -p ${proto} -d ${ip} --dport ${s.port} -j REJECT`);
      } else {
        svcRules.push(`-A KUBE-SERVICES -m comment --comment "${name} cluster IP" -m ${proto} -p ${proto} -d ${ip} --dport ${s.port} -j ${sc}`);
      }
    }
    if (p.rejectCluster) continue;
    chains.push(sc);
    const eps = p.clusterEndpoints;
    eps.forEach((ep, i) => {
      const sep = sepChain(p, ep);
      chains.push(sep);
      const last = i === eps.length - 1;
      const st = last ? '' : ` -m statistic --mode random --probability ${prob(eps.length - i)}`;
      rules.push(`-A ${sc} -m comment --comment "${name} -> ${ep.ip}:${ep.port}"${st} -j ${sep}`);
      rules.push(`-A ${sep} -m comment --comment ${name} -s ${ep.ip} -j KUBE-MARK-MASQ`);
      rules.push(`-A ${sep} -m comment --comment ${name} -m ${proto} -p ${proto} -j DNAT --to-destination ${ep.ip}:${ep.port}`);
    });
  }
  svcRules.push('-A KUBE-SERVICES -m comment --comment "kubernetes service nodeports; NOTE: this must be the last rule in this chain" -m addrtype --dst-type LOCAL -j KUBE-NODEPORTS');
  const nat = ['*nat', ...chains.map((c) => `:${c} - [0:0]`), ...svcRules, ...rules, 'COMMIT', ''].join('\n');
  const filter = ['*filter', ':KUBE-SERVICES - [0:0]', ':KUBE-EXTERNAL-SERVICES - [0:0]', ...filt, 'COMMIT', ''].join('\n');
  return { nat, filter };
}
