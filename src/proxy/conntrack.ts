/**
 * Stale UDP conntrack entries. UDP has no connection teardown, so a conntrack entry keeps
 * steering a client's packets along its old NAT decision for as long as the client keeps
 * sending: to an endpoint that has gone away, or — for a Service that had no endpoints and
 * now has some — past the new DNAT rules (the entry was made before they existed) into the
 * void. kube-proxy therefore deletes such entries after each sync (pkg/proxy/conntrack); TCP
 * needs nothing, its connections fail and reconnect through the new rules.
 *
 * `staleConntrackFilters(prev, next)` decides, purely, which `conntrack -D` filters to run
 * between two ProxyStates (the change-based rules kube-proxy used before its full-table
 * reconciler):
 *   - UDP service ports whose endpoint (ip:port) was in use before and is not any more: flows
 *     to the old service IPs (cluster, external, LB) and port that were DNATed to that endpoint,
 *     and flows to the old NodePort DNATed to it;
 *   - UDP service ports that went from no usable endpoint to some (including new ones): every
 *     flow to the service IP:port and to the NodePort.
 * `ConntrackCleaner` runs them.
 */
import { execFile } from 'node:child_process';
import type { ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

/** One `conntrack` argv (without the program name), e.g. `-D -p udp --orig-dst 10.96.0.10 --orig-port-dst 53`. */
export type ConntrackFilter = string[];

/** Endpoints the proxy was actually sending traffic to for a plan, by `ip:port`. */
function endpointsInUse(plan: ServicePlan | undefined): Map<string, ProxyEndpoint> {
  const out = new Map<string, ProxyEndpoint>();
  if (!plan) return out;
  for (const e of [...plan.clusterEndpoints, ...plan.externalEndpoints]) out.set(`${e.ip}:${e.port}`, e);
  return out;
}

/** The addresses a service port is reached on (NodePorts aside). */
function frontendIPs(svc: ServicePortInfo): string[] {
  return [...new Set([...svc.clusterIPs, ...svc.externalIPs, ...svc.loadBalancerIPs])];
}

/**
 * The `conntrack -D` filters to run after moving the rules from `prev` (undefined before the
 * first sync: treated as empty, so every UDP service with endpoints is "newly active", as in
 * kube-proxy) to `next`. Deduplicated, stale-endpoint filters first, in service-id order.
 */
export function staleConntrackFilters(prev: ProxyState | undefined, next: ProxyState): ConntrackFilter[] {
  const out = new Map<string, ConntrackFilter>();
  const add = (f: ConntrackFilter): void => {
    out.set(f.join(' '), f);
  };
  const prevPlans = prev ? [...prev.services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)) : [];
  for (const [id, before] of prevPlans) {
    if (before.svc.protocol !== 'UDP') continue;
    const now = endpointsInUse(next.services.get(id));
    const staleIPs = new Set<string>();
    for (const [key, e] of endpointsInUse(before)) if (!now.has(key)) staleIPs.add(e.ip);
    for (const ip of [...staleIPs].sort()) {
      for (const vip of frontendIPs(before.svc)) {
        add(['-D', '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', String(before.svc.port), '--dst-nat', ip]);
      }
      if (before.svc.nodePort !== undefined) add(['-D', '-p', 'udp', '--orig-port-dst', String(before.svc.nodePort), '--dst-nat', ip]);
    }
  }
  const nextPlans = [...next.services.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  for (const [id, after] of nextPlans) {
    if (after.svc.protocol !== 'UDP') continue;
    if (endpointsInUse(after).size === 0 || endpointsInUse(prev?.services.get(id)).size > 0) continue;
    for (const vip of frontendIPs(after.svc)) add(['-D', '-p', 'udp', '--orig-dst', vip, '--orig-port-dst', String(after.svc.port)]);
    if (after.svc.nodePort !== undefined) add(['-D', '-p', 'udp', '--orig-port-dst', String(after.svc.nodePort)]);
  }
  return [...out.values()];
}

export interface ExecResult {
  code: number;
  stderr: string;
}

export type ConntrackExec = (argv: string[]) => Promise<ExecResult>;

/** Runs `conntrack ARGV`, never rejecting: a missing binary is code 127. */
export const execConntrack: ConntrackExec = (argv) =>
  new Promise((resolve) => {
    execFile('conntrack', argv, { timeout: 10_000 }, (err, _stdout, stderr) => {
      if (!err) return resolve({ code: 0, stderr: String(stderr) });
      const e = err as NodeJS.ErrnoException & { code?: number | string };
      const code = typeof e.code === 'number' ? e.code : e.code === 'ENOENT' ? 127 : 1;
      resolve({ code, stderr: String(stderr) || e.message });
    });
  });

/**
 * Parses conntrack's "N flow entries have been deleted." summary. Exit code 1 with 0 deleted
 * is conntrack's way of saying "nothing matched": success for us. Returns undefined on a real failure.
 */
export function deletedCount(r: ExecResult): number | undefined {
  const m = /(\d+) flow entries have been deleted/.exec(r.stderr);
  if (r.code === 0) return m ? Number(m[1]) : 0;
  if (r.code === 1 && m && m[1] === '0') return 0;
  return undefined;
}

export interface ConntrackCleanerOptions {
  exec?: ConntrackExec;
  /** A filter failed; the others still run. Default: a warning on stderr. */
  onError?: (argv: string[], message: string) => void;
}

/** Applies staleConntrackFilters with the conntrack tool. */
export class ConntrackCleaner {
  private readonly exec: ConntrackExec;
  private readonly onError: NonNullable<ConntrackCleanerOptions['onError']>;

  constructor(opts: ConntrackCleanerOptions = {}) {
    this.exec = opts.exec ?? execConntrack;
    this.onError = opts.onError ?? ((argv, msg) => console.warn(`conntrack ${argv.join(' ')}: ${msg}`));
  }

  /** Deletes the stale UDP entries between two states; resolves with the number of entries deleted. */
  clear(prev: ProxyState | undefined, next: ProxyState): Promise<number> {
    return this.run(staleConntrackFilters(prev, next));
  }

  /** Runs each filter in turn (a failure is reported and does not stop the rest). */
  async run(filters: readonly ConntrackFilter[]): Promise<number> {
    let total = 0;
    for (const argv of filters) {
      const r = await this.exec(argv);
      const n = deletedCount(r);
      if (n === undefined) this.onError(argv, `exit code ${r.code}: ${r.stderr.trim()}`);
      else total += n;
    }
    return total;
  }
}
