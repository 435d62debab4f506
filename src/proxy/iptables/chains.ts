/**
 * Names, constants and the base jump rules of kube-proxy's iptables mode, kept apart from the
 * renderer because the applier, cleanup and tests need them without rendering anything.
 *
 * Chain names follow kube exactly (prefix + first 16 chars of base32(sha256(servicePortName +
 * lowercase protocol [+ endpoint]))), so a human or a tool that knows kube-proxy's names
 * recognises ours, and `iptables-save` output reads the same.
 */
import { createHash } from 'node:crypto';
import type { ProxyEndpoint, ServicePlan } from '../types.js';

/** The masquerade mark bit (kube's default --iptables-masquerade-bit 14). */
export const MASQ_MARK = '0x4000';

export const KUBE_SERVICES = 'KUBE-SERVICES';
export const KUBE_EXTERNAL_SERVICES = 'KUBE-EXTERNAL-SERVICES';
export const KUBE_NODEPORTS = 'KUBE-NODEPORTS';
export const KUBE_POSTROUTING = 'KUBE-POSTROUTING';
export const KUBE_MARK_MASQ = 'KUBE-MARK-MASQ';
export const KUBE_FORWARD = 'KUBE-FORWARD';
export const KUBE_PROXY_FIREWALL = 'KUBE-PROXY-FIREWALL';

/** Top-level chains we own in each table (always declared, hence flushed, on every sync). */
export const FILTER_CHAINS = [KUBE_SERVICES, KUBE_EXTERNAL_SERVICES, KUBE_FORWARD, KUBE_NODEPORTS, KUBE_PROXY_FIREWALL] as const;
export const NAT_CHAINS = [KUBE_SERVICES, KUBE_NODEPORTS, KUBE_POSTROUTING, KUBE_MARK_MASQ] as const;

/** Per-service chain prefixes: any chain starting with one of these is ours and may be deleted when unused. */
export const SERVICE_CHAIN_PREFIXES = ['KUBE-SVC-', 'KUBE-SVL-', 'KUBE-SEP-', 'KUBE-FW-', 'KUBE-EXT-'] as const;

export function isServiceChain(name: string): boolean {
  return SERVICE_CHAIN_PREFIXES.some((p) => name.startsWith(p));
}

const B32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

function base32(buf: Buffer): string {
  let bits = 0;
  let value = 0;
  let out = '';
  for (const b of buf) {
    value = ((value << 8) | b) & 0xffff;
    bits += 8;
    while (bits >= 5) {
      out += B32[(value >>> (bits - 5)) & 31];
      bits -= 5;
    }
  }
  if (bits > 0) out += B32[(value << (5 - bits)) & 31];
  return out;
}

/** kube's portProtoHash (16 chars): exact, so names match a real kube-proxy's. */
export function chainHash(s: string): string {
  return base32(createHash('sha256').update(s).digest()).slice(0, 16);
}

/** kube's ServicePortName.String(): `ns/name` or `ns/name:port`. */
export function servicePortName(p: ServicePlan): string {
  return `${p.svc.namespace}/${p.svc.name}${p.svc.portName ? ':' + p.svc.portName : ''}`;
}

const key = (p: ServicePlan): string => servicePortName(p) + p.svc.protocol.toLowerCase();
export function svcChain(p: ServicePlan): string { return 'KUBE-SVC-' + chainHash(key(p)); }
export function svlChain(p: ServicePlan): string { return 'KUBE-SVL-' + chainHash(key(p)); }
export function extChain(p: ServicePlan): string { return 'KUBE-EXT-' + chainHash(key(p)); }
export function fwChain(p: ServicePlan): string { return 'KUBE-FW-' + chainHash(key(p)); }
export function sepChain(p: ServicePlan, ep: ProxyEndpoint): string {
  return 'KUBE-SEP-' + chainHash(key(p) + `${ep.ip}:${ep.port}`);
}

/** A rule in a built-in chain that hooks one of our chains in (kube's iptablesJumpChains). */
export interface JumpRule {
  table: 'filter' | 'nat';
  /** The built-in chain holding the jump (INPUT, PREROUTING, ...). */
  from: string;
  /** Our chain it jumps to. */
  to: string;
  /** The rule's match arguments and target, as argv (no shell quoting). */
  args: string[];
}

function jump(table: JumpRule['table'], to: string, from: string, opts: { comment: string; newOnly?: boolean }): JumpRule {
  const args = [...(opts.newOnly ? ['-m', 'conntrack', '--ctstate', 'NEW'] : []), '-m', 'comment', '--comment', opts.comment, '-j', to];
  return { table, from, to, args };
}

/**
 * The jumps from built-in chains, in kube's order. They are not part of the restore input:
 * `iptables-restore --noflush` can only append to a built-in chain, so re-sending them would
 * duplicate them on every sync. Each is checked with `-C` and inserted with `-I` if missing.
 */
export const JUMP_RULES: readonly JumpRule[] = [
  jump('filter', KUBE_EXTERNAL_SERVICES, 'INPUT', { comment: 'kubernetes externally-visible service portals', newOnly: true }),
  jump('filter', KUBE_EXTERNAL_SERVICES, 'FORWARD', { comment: 'kubernetes externally-visible service portals', newOnly: true }),
  jump('filter', KUBE_NODEPORTS, 'INPUT', { comment: 'kubernetes health check service ports' }),
  jump('filter', KUBE_SERVICES, 'FORWARD', { comment: 'kubernetes service portals', newOnly: true }),
  jump('filter', KUBE_SERVICES, 'OUTPUT', { comment: 'kubernetes service portals', newOnly: true }),
  jump('filter', KUBE_FORWARD, 'FORWARD', { comment: 'kubernetes forwarding rules' }),
  jump('filter', KUBE_PROXY_FIREWALL, 'INPUT', { comment: 'kubernetes load balancer firewall', newOnly: true }),
  jump('filter', KUBE_PROXY_FIREWALL, 'OUTPUT', { comment: 'kubernetes load balancer firewall', newOnly: true }),
  jump('filter', KUBE_PROXY_FIREWALL, 'FORWARD', { comment: 'kubernetes load balancer firewall', newOnly: true }),
  jump('nat', KUBE_SERVICES, 'OUTPUT', { comment: 'kubernetes service portals' }),
  jump('nat', KUBE_SERVICES, 'PREROUTING', { comment: 'kubernetes service portals' }),
  jump('nat', KUBE_POSTROUTING, 'POSTROUTING', { comment: 'kubernetes postrouting rules' }),
];

/** Shell-like rendering of the jump rules (`-t nat -I PREROUTING ...`), for docs, goldens and the tracer. */
export function renderJumps(): string {
  const q = (a: string): string => (/[\s"]/.test(a) ? `"${a}"` : a);
  return JUMP_RULES.map((j) => `-t ${j.table} -I ${j.from} ${j.args.map(q).join(' ')}`).join('\n') + '\n';
}

/** The chain names declared in `iptables-save` output for one table (`:NAME POLICY [p:b]` lines). */
export function chainsInSave(save: string): string[] {
  const out: string[] = [];
  for (const line of save.split('\n')) {
    const m = /^:(\S+)\s/.exec(line);
    if (m) out.push(m[1]!);
  }
  return out;
}
