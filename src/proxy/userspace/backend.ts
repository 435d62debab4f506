/**
 * The userspace mode as a proxy backend. As root, every service address gets a listener on an
 * ephemeral port of the node address and a small nft table DNATs `service IP:port` there (kube-proxy's
 * userspace mode used REDIRECT; a DNAT to one fixed local address is what makes UDP work: the
 * listener's replies then leave from exactly the address conntrack expects, so they are
 * un-NATed back to the service address); NodePorts listen on their own port on every address. Without root nothing can be redirected, so each service address is served on a
 * loopback mirror of itself (10.96.0.5:80 → 127.96.0.5:80; the whole 127/8 is local) and
 * NodePorts on the node address — documented, and visible in `listeners()`.
 */
import type { ProxyBackend } from '../proxier.js';
import { runNft } from '../nftables/applier.js';
import type { ProxyState, ServicePortInfo } from '../types.js';
import { UserspaceProxier, type UserspaceProxierOptions } from './proxier.js';

export interface UserspaceBackendOptions {
  /** Redirect service addresses with nftables (root). */
  redirect: boolean;
  /** Runs an `nft -f` script (default: the real nft). */
  runNft?: (script: string) => Promise<void>;
  table?: string;
  /** The node address: listeners bind it with redirects; NodePorts bind it without (default 127.0.0.1). */
  nodeAddress?: string;
  proxier?: Partial<UserspaceProxierOptions>;
  log?: (line: string) => void;
}

export interface RedirectRule {
  protocol: 'TCP' | 'UDP' | 'SCTP';
  ip: string;
  port: number;
  toPort: number;
  /** The listener's address (the node's). */
  toAddress: string;
  /**
   * No endpoints: refuse in the kernel instead (a listener could only accept and then reset,
   * which clients see as a reset after connecting, not as "connection refused").
   */
  reject?: boolean;
}

/** The loopback mirror of a service address, for runs without root: a.b.c.d → 127.b.c.d. */
export function loopbackMirror(ip: string): string {
  const parts = ip.split('.');
  return parts.length === 4 ? `127.${parts[1]}.${parts[2]}.${parts[3]}` : '::1';
}

/** The redirect table: pure, one rule per service address, plus the drop of unused service-CIDR addresses. */
export function renderRedirects(rules: RedirectRule[], opts: { table: string; serviceCIDRs: string[] }): string {
  const t = opts.table;
  const L = [
    `add table ip ${t}`,
    `delete table ip ${t}`,
    `add table ip ${t}`,
    `add chain ip ${t} nat-prerouting { type nat hook prerouting priority dstnat ; }`,
    `add chain ip ${t} nat-output { type nat hook output priority -100 ; }`,
    `add chain ip ${t} filter-forward { type filter hook forward priority -10 ; }`,
    // After the nat output hook (-100): a redirected packet no longer has a service address.
    `add chain ip ${t} filter-output { type filter hook output priority -10 ; }`,
    `add chain ip ${t} services`,
    `add rule ip ${t} nat-prerouting jump services`,
    `add rule ip ${t} nat-output jump services`,
  ];
  const sorted = [...rules].sort((a, b) => a.ip.localeCompare(b.ip) || a.port - b.port || a.protocol.localeCompare(b.protocol));
  for (const r of sorted) {
    const p = r.protocol.toLowerCase();
    if (r.reject) {
      const how = p === 'tcp' ? 'reject with tcp reset' : 'reject';
      for (const c of ['filter-forward', 'filter-output']) L.push(`add rule ip ${t} ${c} ip daddr ${r.ip} ${p} dport ${r.port} ${how}`);
      continue;
    }
    L.push(`add rule ip ${t} services ip daddr ${r.ip} ${p} dport ${r.port} dnat to ${r.toAddress}:${r.toPort}`);
  }
  for (const c of opts.serviceCIDRs) {
    L.push(`add rule ip ${t} filter-forward ip daddr ${c} drop`);
    L.push(`add rule ip ${t} filter-output ip daddr ${c} drop`);
  }
  return L.join('\n') + '\n';
}

export class UserspaceBackend implements ProxyBackend {
  readonly mode = 'userspace' as const;
  readonly proxier: UserspaceProxier;
  private readonly table: string;
  private readonly run: (script: string) => Promise<void>;
  private readonly reported = new Set<string>();

  constructor(private readonly opts: UserspaceBackendOptions) {
    this.table = opts.table ?? 'kubelite-userspace';
    this.run = opts.runNft ?? ((script: string) => runNft(script));
    const node = opts.nodeAddress ?? '127.0.0.1';
    const listenAddress = (_svc: ServicePortInfo, ip: string): string => (opts.redirect ? node : loopbackMirror(ip));
    this.proxier = new UserspaceProxier({
      listenAddress,
      ...(opts.redirect ? { listenPort: () => 0 } : {}),
      nodeAddress: opts.redirect ? '0.0.0.0' : node,
      ...(opts.log ? { log: opts.log } : {}),
      ...opts.proxier,
    });
  }

  async sync(input: { state: ProxyState; changed: Set<string> | 'all' }): Promise<{ full: boolean }> {
    let bindError: Error | undefined;
    // Bind errors leave the other listeners live; report them after the redirects are in place.
    await this.proxier.sync(input.state).catch((err: Error) => (bindError = err));
    if (this.opts.redirect) {
      const rules: RedirectRule[] = [];
      for (const l of this.proxier.listeners()) {
        const m = /^(TCP|UDP|SCTP)\/([^:]+):(\d+)$/.exec(l.id);
        if (!m || m[2] === 'nodeport') continue;
        rules.push({ protocol: m[1] as RedirectRule['protocol'], ip: m[2]!, port: Number(m[3]), toAddress: l.address, toPort: l.port, reject: l.reject });
      }
      await this.run(renderRedirects(rules, { table: this.table, serviceCIDRs: input.state.node.serviceCIDRs }));
    }
    if (bindError) {
      // With redirects a missing listener is a hole in the rules: fail so the loop retries. Without
      // them (no root, a shared host network) another program may simply own that address: say so once.
      if (this.opts.redirect) throw bindError;
      const msg = bindError.message;
      if (!this.reported.has(msg)) {
        this.reported.add(msg);
        this.opts.log?.(`proxy: userspace: ${msg}`);
      }
    }
    return { full: true };
  }

  async cleanup(): Promise<void> {
    await this.proxier.close();
    if (this.opts.redirect) await this.run(`add table ip ${this.table}\ndelete table ip ${this.table}\n`);
  }
}
