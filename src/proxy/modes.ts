/**
 * The proxy modes `--proxy-mode` accepts and how a request resolves on a node. Kept apart from
 * index.ts so the CLI can validate the flag without loading the proxy.
 */
import { existsSync } from 'node:fs';

export type ProxyMode = 'auto' | 'nftables' | 'iptables' | 'userspace' | 'ipvs';
export const PROXY_MODES: readonly ProxyMode[] = ['auto', 'nftables', 'iptables', 'userspace', 'ipvs'];

/** The mode a request resolves to on this node, or an Error saying why it can't run. */
export function resolveMode(mode: ProxyMode, node: { isolated: boolean }): 'nftables' | 'iptables' | 'userspace' | Error {
  if (mode === 'ipvs') {
    return new Error(
      existsSync('/proc/net/ip_vs')
        ? '--proxy-mode ipvs: kubelite does not implement the IPVS mode; use nftables (the default as root), iptables or userspace'
        : '--proxy-mode ipvs: IPVS needs the ip_vs kernel module, which this kernel does not provide (/proc/net/ip_vs is missing); use nftables (the default as root), iptables or userspace',
    );
  }
  if (mode === 'auto') return node.isolated ? 'nftables' : 'userspace';
  if ((mode === 'nftables' || mode === 'iptables') && !node.isolated) {
    return new Error(`--proxy-mode ${mode} programs the kernel and needs the netns pod network (root); pods share the host network here, use --proxy-mode userspace`);
  }
  return mode;
}
