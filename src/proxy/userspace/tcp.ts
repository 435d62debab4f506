/**
 * TCP half of the userspace proxy: accept on the (mapped) service address, dial an endpoint
 * chosen by the listener's Balancer, then copy bytes both ways until both sides are done.
 *
 * Dial retries follow kube-proxy's old userspace mode (pkg/proxy/userspace, v1.22): up to four
 * attempts with per-attempt dial timeouts of 250 ms, 500 ms, 1 s and 2 s, each attempt on the
 * next endpoint, the client's affinity reset after the first failure. A listener whose plan
 * has no endpoints resets new connections at once, the closest userspace can get to the
 * kernel modes' "reject" (clients see a reset immediately instead of hanging).
 */
import net from 'node:net';
import type { Clock } from '../../client/workqueue.js';
import type { Balancer } from './balancer.js';

/** Per-attempt dial timeouts, one entry per attempt (kube-proxy EndpointDialTimeouts). */
export const DIAL_TIMEOUTS_MS: readonly number[] = [250, 500, 1000, 2000];

export interface TcpListenerOptions {
  balancer: Balancer;
  clock: Clock;
  dialTimeoutsMs?: readonly number[];
  /** Called on dial failures etc.; the proxy keeps running regardless. */
  log?: (msg: string) => void;
}

/** Split "ip:port" / "[v6]:port" endpoint keys. */
export function splitHostPort(endpoint: string): { host: string; port: number } {
  const i = endpoint.lastIndexOf(':');
  let host = endpoint.slice(0, i);
  if (host.startsWith('[') && host.endsWith(']')) host = host.slice(1, -1);
  return { host, port: Number(endpoint.slice(i + 1)) };
}

/** Dial with a timeout from the injected clock; rejects on refusal/timeout. */
function dial(endpoint: string, timeoutMs: number, clock: Clock): Promise<net.Socket> {
  const { host, port } = splitHostPort(endpoint);
  return new Promise((resolve, reject) => {
    const sock = net.connect({ host, port, allowHalfOpen: true });
    const timer = clock.setTimeout(() => {
      sock.destroy();
      reject(new Error(`dial ${endpoint}: timeout after ${timeoutMs}ms`));
    }, timeoutMs);
    sock.once('connect', () => {
      clock.clearTimeout(timer);
      sock.removeAllListeners('error');
      resolve(sock);
    });
    sock.once('error', (err) => {
      clock.clearTimeout(timer);
      reject(err);
    });
  });
}

/** Abort a socket with a TCP RST where Node supports it, else a plain destroy. */
export function resetSocket(sock: net.Socket): void {
  const s = sock as net.Socket & { resetAndDestroy?: () => void };
  if (typeof s.resetAndDestroy === 'function' && !sock.destroyed) {
    try {
      s.resetAndDestroy();
      return;
    } catch {
      /* not connected any more: fall through */
    }
  }
  sock.destroy();
}

export class TcpListener {
  private readonly server: net.Server;
  private readonly conns = new Set<net.Socket>();
  private readonly opts: TcpListenerOptions;
  private rejecting = false;

  constructor(opts: TcpListenerOptions) {
    this.opts = opts;
    this.server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (c) => this.onConnection(c));
  }

  /** Bind; resolves with the bound port (useful when 0 was asked for). */
  listen(host: string, port: number): Promise<number> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen({ host, port, exclusive: true }, () => {
        this.server.removeListener('error', onError);
        this.server.on('error', (err) => this.opts.log?.(`tcp listener: ${err.message}`));
        resolve((this.server.address() as net.AddressInfo).port);
      });
    });
  }

  /** When true (the plan says reject, or it has no endpoints), new connections are reset. */
  setRejecting(rejecting: boolean): void {
    this.rejecting = rejecting;
  }

  activeConnections(): number {
    return this.conns.size;
  }

  /**
   * Stop accepting. Established proxied connections keep running unless `drop` is set
   * (kube-proxy did the same: removing a service did not cut live connections).
   */
  close(opts: { drop?: boolean } = {}): Promise<void> {
    if (opts.drop) for (const c of this.conns) c.destroy();
    return new Promise((resolve) => {
      if (!this.server.listening) return resolve();
      // The callback waits for every connection to end; the listening socket itself is
      // closed synchronously, which is all callers need.
      this.server.close();
      resolve();
    });
  }

  private onConnection(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.rejecting || this.opts.balancer.size() === 0) {
      resetSocket(client);
      return;
    }
    this.conns.add(client);
    client.once('close', () => this.conns.delete(client));
    void this.connectBackend(client);
  }

  private async connectBackend(client: net.Socket): Promise<void> {
    const { balancer, clock, log } = this.opts;
    const timeouts = this.opts.dialTimeoutsMs ?? DIAL_TIMEOUTS_MS;
    const clientIP = client.remoteAddress ?? '';
    const tried = new Set<string>();
    let resetAffinity = false;
    for (const timeoutMs of timeouts) {
      if (client.destroyed) return;
      const endpoint = balancer.pick(clientIP, { resetAffinity, exclude: tried });
      if (endpoint === undefined) break;
      tried.add(endpoint);
      try {
        const backend = await dial(endpoint, timeoutMs, clock);
        balancer.markOk(endpoint);
        this.splice(client, backend);
        return;
      } catch (err) {
        balancer.markFailed(endpoint);
        resetAffinity = true;
        log?.(`dial ${endpoint} failed: ${(err as Error).message}`);
      }
    }
    resetSocket(client);
  }

  /** Copy both ways; a FIN in one direction is passed on as a FIN (half-close). */
  private splice(client: net.Socket, backend: net.Socket): void {
    this.conns.add(backend);
    backend.once('close', () => this.conns.delete(backend));
    if (client.destroyed) {
      backend.destroy();
      return;
    }
    const abort = (): void => {
      if (!client.destroyed) resetSocket(client);
      if (!backend.destroyed) resetSocket(backend);
    };
    client.on('error', abort);
    backend.on('error', abort);
    // 'close' without both ends having finished means one side died: take the other down.
    client.once('close', () => {
      if (!backend.destroyed && !backend.writableEnded) backend.destroy();
    });
    backend.once('close', () => {
      if (!client.destroyed && !client.writableEnded) client.destroy();
    });
    client.pipe(backend);
    backend.pipe(client);
    client.resume();
    // With allowHalfOpen, each socket closes once it has both ended reading and finished writing.
  }
}
