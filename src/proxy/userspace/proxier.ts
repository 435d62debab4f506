/**
 * The userspace proxy mode: the fallback when kube-proxy cannot program the kernel (no root).
 * Each service address becomes a real listening socket in this process that forwards to the
 * plan's endpoints. Without root the service IP itself can't be bound, so the caller decides
 * where each listener really binds (`listenAddress`, and `listenPort` for privileged ports).
 *
 * `desiredListeners` (pure) turns a ProxyState into the listener table; `sync` diffs it against
 * the live listeners: opens missing ones, closes stale ones, and only re-points the balancers
 * of the rest, so an endpoint update never drops an established connection.
 */
import type { Clock } from '../../client/workqueue.js';
import { realClock } from '../../client/workqueue.js';
import type { ProxyEndpoint, ProxyState, Protocol, ServicePortInfo } from '../types.js';
import { Balancer } from './balancer.js';
import { TcpListener } from './tcp.js';
import { UdpListener } from './udp.js';

export interface UserspaceProxierOptions {
  /** Where to bind for a service-facing address `ip` (cluster IP, external IP or LB IP). */
  listenAddress: (svc: ServicePortInfo, ip: string) => string;
  /** Which port to bind; default the service port / NodePort itself. 0 = any free port. */
  listenPort?: (svc: ServicePortInfo, ip: string, port: number) => number;
  /** The node address NodePorts bind on as is (it is ours, so bindable); without it no NodePort listeners are opened. */
  nodeAddress?: string;
  clock?: Clock;
  /** Passed to the TCP listeners (tests shorten it). */
  dialTimeoutsMs?: readonly number[];
  udpIdleTimeoutMs?: number;
  failureHoldMs?: number;
  log?: (msg: string) => void;
}

/** One row of the listener table. */
export interface ListenerSpec {
  /** `<protocol>/<service-facing ip>:<port>`, or `<protocol>/nodeport:<nodePort>`. */
  id: string;
  svcId: string;
  protocol: Protocol;
  /** The service-facing address (what clients in a real cluster would dial). */
  ip: string;
  port: number;
  bindHost: string;
  bindPort: number;
  /** Cluster traffic (cluster IPs) or external traffic (externalIPs, LB IPs, NodePorts). */
  traffic: 'cluster' | 'external';
  endpoints: string[];
  reject: boolean;
  affinity?: { timeoutSeconds: number };
}

export function endpointKey(ep: ProxyEndpoint): string {
  return ep.ip.includes(':') ? `[${ep.ip}]:${ep.port}` : `${ep.ip}:${ep.port}`;
}

/**
 * The listener table for a state. SCTP is skipped (Node has no SCTP sockets, and kube-proxy's
 * userspace mode did not support it either). When two services claim the same id (a
 * misconfiguration the API server normally prevents) the first in sorted id order wins.
 */
export function desiredListeners(
  state: ProxyState,
  opts: Pick<UserspaceProxierOptions, 'listenAddress' | 'listenPort' | 'nodeAddress'>,
): Map<string, ListenerSpec> {
  const out = new Map<string, ListenerSpec>();
  const ids = [...state.services.keys()].sort();
  for (const svcId of ids) {
    const plan = state.services.get(svcId)!;
    const svc = plan.svc;
    if (svc.protocol === 'SCTP' || svc.clusterIPs.length === 0) continue;
    const add = (ip: string, port: number, traffic: 'cluster' | 'external', nodePort: boolean): void => {
      const id = `${svc.protocol}/${nodePort ? 'nodeport' : ip}:${port}`;
      if (out.has(id)) return;
      const eps = traffic === 'cluster' ? plan.clusterEndpoints : plan.externalEndpoints;
      const endpoints = eps.map(endpointKey);
      out.set(id, {
        id,
        svcId,
        protocol: svc.protocol,
        ip,
        port,
        bindHost: nodePort ? ip : opts.listenAddress(svc, ip),
        bindPort: nodePort || !opts.listenPort ? port : opts.listenPort(svc, ip, port),
        traffic,
        endpoints,
        reject: (traffic === 'cluster' ? plan.rejectCluster : plan.rejectExternal) || endpoints.length === 0,
        ...(svc.sessionAffinity ? { affinity: { timeoutSeconds: svc.sessionAffinity.timeoutSeconds } } : {}),
      });
    };
    for (const ip of svc.clusterIPs) add(ip, svc.port, 'cluster', false);
    for (const ip of svc.externalIPs) add(ip, svc.port, 'external', false);
    for (const ip of svc.loadBalancerIPs) add(ip, svc.port, 'external', false);
    if (svc.nodePort && opts.nodeAddress) add(opts.nodeAddress, svc.nodePort, 'external', true);
  }
  return out;
}

interface LiveListener {
  spec: ListenerSpec;
  boundPort: number;
  balancer: Balancer;
  sock: TcpListener | UdpListener;
}

export class UserspaceProxier {
  private readonly opts: UserspaceProxierOptions;
  private readonly clock: Clock;
  private readonly live = new Map<string, LiveListener>();
  private chain: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(opts: UserspaceProxierOptions) {
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
  }

  /**
   * Make the live listeners match `state`. Calls are serialized. A listener that fails to
   * bind is left out (the next sync retries it); the others are still applied, and then the
   * call rejects with every bind error so the caller can requeue.
   */
  sync(state: ProxyState): Promise<void> {
    const run = this.chain.then(() => this.doSync(state));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Close every listener and drop every proxied connection. */
  close(): Promise<void> {
    this.closed = true;
    const run = this.chain.then(async () => {
      const all = [...this.live.values()];
      this.live.clear();
      await Promise.all(all.map((l) => closeListener(l, true)));
    });
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** The live listeners; `address`/`port` are where they are actually bound. */
  listeners(): Array<{ id: string; address: string; port: number; protocol: Protocol; reject: boolean }> {
    return [...this.live.values()]
      .map((l) => ({ id: l.spec.id, address: l.spec.bindHost, port: l.boundPort, protocol: l.spec.protocol, reject: l.spec.reject }))
      .sort((a, b) => a.id.localeCompare(b.id));
  }

  private async doSync(state: ProxyState): Promise<void> {
    if (this.closed) throw new Error('userspace proxier is closed');
    const desired = desiredListeners(state, this.opts);
    const closing: Array<Promise<void>> = [];
    for (const [id, l] of this.live) {
      const want = desired.get(id);
      if (!want || want.bindHost !== l.spec.bindHost || want.bindPort !== l.spec.bindPort) {
        this.live.delete(id);
        closing.push(closeListener(l, false));
      }
    }
    await Promise.all(closing);
    const errors: Error[] = [];
    for (const [id, spec] of desired) {
      const l = this.live.get(id);
      if (l) {
        apply(l, spec);
        continue;
      }
      try {
        this.live.set(id, await this.open(spec));
      } catch (err) {
        errors.push(new Error(`listener ${id} on ${spec.bindHost}:${spec.bindPort}: ${(err as Error).message}`));
      }
    }
    if (errors.length > 0) throw new AggregateError(errors, errors.map((e) => e.message).join('; '));
  }

  private async open(spec: ListenerSpec): Promise<LiveListener> {
    const balancer = new Balancer({
      clock: this.clock,
      ...(this.opts.failureHoldMs !== undefined ? { failureHoldMs: this.opts.failureHoldMs } : {}),
    });
    const log = this.opts.log;
    const sock =
      spec.protocol === 'TCP'
        ? new TcpListener({
            balancer,
            clock: this.clock,
            ...(this.opts.dialTimeoutsMs ? { dialTimeoutsMs: this.opts.dialTimeoutsMs } : {}),
            ...(log ? { log } : {}),
          })
        : new UdpListener({
            balancer,
            clock: this.clock,
            ...(this.opts.udpIdleTimeoutMs !== undefined ? { idleTimeoutMs: this.opts.udpIdleTimeoutMs } : {}),
            ...(log ? { log } : {}),
          });
    const boundPort = await sock.listen(spec.bindHost, spec.bindPort);
    const l: LiveListener = { spec, boundPort, balancer, sock };
    apply(l, spec);
    return l;
  }
}

/** Re-point a live listener at a (possibly) new plan without touching its connections. */
function apply(l: LiveListener, spec: ListenerSpec): void {
  l.spec = spec;
  l.balancer.setEndpoints(spec.endpoints, spec.affinity);
  l.sock.setRejecting(spec.reject);
  if (l.sock instanceof UdpListener) l.sock.pruneSessions(new Set(spec.endpoints));
}

function closeListener(l: LiveListener, drop: boolean): Promise<void> {
  return l.sock instanceof TcpListener ? l.sock.close({ drop }) : l.sock.close();
}
