/**
 * UDP half of the userspace proxy. UDP has no connections, so the proxy keeps a session per
 * client address (ip:port): a socket "connected" to the endpoint chosen for that client when
 * its first datagram arrived. Backend replies go back to the client *from the listener's own
 * socket*, so the client sees the address it sent to. A session ends after `idleTimeoutMs`
 * without traffic in either direction (kube-proxy's --udp-timeout, default 250 ms), or when
 * its endpoint leaves the plan.
 */
import dgram from 'node:dgram';
import net from 'node:net';
import type { Clock } from '../../client/workqueue.js';
import type { Balancer } from './balancer.js';
import { splitHostPort } from './tcp.js';

export const DEFAULT_UDP_IDLE_TIMEOUT_MS = 250;

export interface UdpListenerOptions {
  balancer: Balancer;
  clock: Clock;
  idleTimeoutMs?: number;
  log?: (msg: string) => void;
}

interface Session {
  endpoint: string;
  socket: dgram.Socket;
  timer: unknown;
  /** Datagrams that arrived before the session socket finished connecting. */
  pending: Buffer[] | undefined;
}

export class UdpListener {
  private socket: dgram.Socket | undefined;
  private readonly sessions = new Map<string, Session>();
  private readonly opts: UdpListenerOptions;
  private rejecting = false;

  constructor(opts: UdpListenerOptions) {
    this.opts = opts;
  }

  listen(host: string, port: number): Promise<number> {
    const sock = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    this.socket = sock;
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      sock.once('error', onError);
      sock.bind({ address: host, port, exclusive: true }, () => {
        sock.removeListener('error', onError);
        sock.on('error', (err) => this.opts.log?.(`udp listener: ${err.message}`));
        sock.on('message', (msg, rinfo) => this.onMessage(msg, rinfo));
        resolve(sock.address().port);
      });
    });
  }

  /** With no endpoints datagrams are dropped (userspace cannot send ICMP unreachable). */
  setRejecting(rejecting: boolean): void {
    this.rejecting = rejecting;
  }

  sessionCount(): number {
    return this.sessions.size;
  }

  /** End sessions whose endpoint is no longer in `endpoints` (called after a plan update). */
  pruneSessions(endpoints: ReadonlySet<string>): void {
    for (const [client, s] of this.sessions) if (!endpoints.has(s.endpoint)) this.endSession(client, s);
  }

  async close(): Promise<void> {
    for (const [client, s] of this.sessions) this.endSession(client, s);
    const sock = this.socket;
    this.socket = undefined;
    if (sock) await new Promise<void>((resolve) => sock.close(() => resolve()));
  }

  private onMessage(msg: Buffer, rinfo: dgram.RemoteInfo): void {
    const key = `${rinfo.address}:${rinfo.port}`;
    let session = this.sessions.get(key);
    if (!session) {
      if (this.rejecting) return;
      const endpoint = this.opts.balancer.pick(rinfo.address);
      if (endpoint === undefined) return;
      session = this.openSession(key, rinfo, endpoint);
    }
    this.touch(key, session);
    if (session.pending) session.pending.push(msg);
    else session.socket.send(msg);
  }

  private openSession(key: string, rinfo: dgram.RemoteInfo, endpoint: string): Session {
    const { host, port } = splitHostPort(endpoint);
    const socket = dgram.createSocket({ type: net.isIPv6(host) ? 'udp6' : 'udp4' });
    const session: Session = { endpoint, socket, timer: undefined, pending: [] };
    this.sessions.set(key, session);
    // A connected socket only accepts datagrams from the endpoint, and connect is async:
    // hold what the client sends meanwhile.
    socket.connect(port, host, () => {
      const queued = session.pending ?? [];
      session.pending = undefined;
      for (const m of queued) socket.send(m);
    });
    socket.on('message', (reply) => {
      if (this.sessions.get(key) !== session) return;
      this.touch(key, session);
      this.socket?.send(reply, rinfo.port, rinfo.address);
    });
    socket.on('error', (err) => {
      // ECONNREFUSED from an ICMP port unreachable: this endpoint is down.
      this.opts.balancer.markFailed(endpoint);
      this.opts.log?.(`udp ${endpoint}: ${err.message}`);
      this.endSession(key, session);
    });
    return session;
  }

  private touch(key: string, session: Session): void {
    const { clock } = this.opts;
    if (session.timer !== undefined) clock.clearTimeout(session.timer);
    session.timer = clock.setTimeout(
      () => this.endSession(key, session),
      this.opts.idleTimeoutMs ?? DEFAULT_UDP_IDLE_TIMEOUT_MS,
    );
  }

  private endSession(key: string, session: Session): void {
    if (this.sessions.get(key) === session) this.sessions.delete(key);
    if (session.timer !== undefined) this.opts.clock.clearTimeout(session.timer);
    session.timer = undefined;
    try {
      session.socket.close();
    } catch {
      /* already closed */
    }
  }
}
