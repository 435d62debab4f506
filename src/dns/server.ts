/**
 * The DNS transports: UDP and TCP on one address and port, as every DNS server must (RFC 7766:
 * TCP is not optional; clients retry over it after a truncated UDP answer). Both hand packets
 * to a DnsHandler and write back what it returns.
 *
 * TCP: 2-byte length framing, several queries per connection answered as they complete
 * (pipelining, possibly out of order as RFC 7766 allows), an idle timeout, a cap on
 * connections, and a connection that sends a frame it cannot parse is answered (FORMERR) or, when
 * not even an ID can be read, closed. Nothing a client sends can throw out of here.
 */
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from 'node:dgram';
import { createServer, isIPv6, type Server, type Socket } from 'node:net';
import type { DnsHandler, QueryContext } from './handler.js';

export interface DnsServerOptions {
  host: string;
  /** 0 picks a free port (the same one for UDP and TCP). */
  port: number;
  /** Close TCP connections idle for this long (default 10 s, RFC 7766 suggests seconds). */
  tcpIdleMs?: number;
  /** Most concurrent TCP connections (default 1,000); further ones are closed at once. */
  maxTcpConnections?: number;
  log?: (line: string) => void;
}

export interface DnsAddress {
  host: string;
  port: number;
}

export class DnsServer {
  private udp?: UdpSocket;
  private tcp?: Server;
  private readonly conns = new Set<Socket>();
  private bound?: DnsAddress;

  constructor(
    private readonly handler: DnsHandler,
    private readonly opts: DnsServerOptions,
  ) {}

  get address(): DnsAddress {
    if (!this.bound) throw new Error('DNS server not listening');
    return this.bound;
  }

  /**
   * Binds UDP then TCP on the same port. With port 0 the UDP socket picks the port and TCP takes
   * the same number; if that one is taken for TCP, another is tried (a few times).
   */
  async listen(): Promise<DnsAddress> {
    const family = isIPv6(this.opts.host) ? 6 : 4;
    for (let attempt = 0; ; attempt++) {
      const udp = await this.bindUdp(family);
      const port = udp.address().port;
      try {
        this.tcp = await this.bindTcp(port, family);
        this.udp = udp;
        this.bound = { host: this.opts.host, port };
        return this.bound;
      } catch (err) {
        udp.close();
        if (this.opts.port !== 0 || attempt >= 5 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      }
    }
  }

  private bindUdp(family: 4 | 6): Promise<UdpSocket> {
    return new Promise((resolve, reject) => {
      const s = createSocket({ type: family === 6 ? 'udp6' : 'udp4', recvBufferSize: 4 << 20 });
      const ctx: QueryContext = { proto: 'udp', family };
      s.once('error', reject);
      s.on('message', (msg: Buffer, rinfo: RemoteInfo) => this.onUdp(s, msg, rinfo, ctx));
      s.bind(this.opts.port, this.opts.host, () => {
        s.off('error', reject);
        s.on('error', (err) => this.opts.log?.(`dns: udp socket error: ${err.message}`));
        resolve(s);
      });
    });
  }

  private onUdp(s: UdpSocket, msg: Buffer, rinfo: RemoteInfo, ctx: QueryContext): void {
    const send = (out: Buffer | null): void => {
      if (out) s.send(out, rinfo.port, rinfo.address);
    };
    try {
      const r = this.handler.handle(msg, ctx);
      if (r instanceof Promise) r.then(send, () => undefined);
      else send(r);
    } catch (err) {
      this.opts.log?.(`dns: dropped a udp packet: ${(err as Error).message}`);
    }
  }

  private bindTcp(port: number, family: 4 | 6): Promise<Server> {
    return new Promise((resolve, reject) => {
      const srv = createServer({ noDelay: true }, (sock) => this.onTcp(sock, { proto: 'tcp', family }));
      srv.maxConnections = this.opts.maxTcpConnections ?? 1000;
      srv.once('error', reject);
      srv.listen({ port, host: this.opts.host, exclusive: true }, () => {
        srv.off('error', reject);
        srv.on('error', (err) => this.opts.log?.(`dns: tcp server error: ${err.message}`));
        resolve(srv);
      });
    });
  }

  private onTcp(sock: Socket, ctx: QueryContext): void {
    this.conns.add(sock);
    sock.setTimeout(this.opts.tcpIdleMs ?? 10_000, () => sock.destroy());
    sock.on('error', () => undefined);
    sock.on('close', () => this.conns.delete(sock));
    let pending: Buffer = Buffer.alloc(0);
    const reply = (out: Buffer | null): void => {
      if (!out) {
        // Not even an ID: nothing sensible to answer on this stream.
        sock.destroy();
        return;
      }
      if (sock.destroyed) return;
      const frame = Buffer.allocUnsafe(2 + out.length);
      frame.writeUInt16BE(out.length, 0);
      out.copy(frame, 2);
      sock.write(frame);
    };
    sock.on('data', (chunk: Buffer) => {
      pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
      while (pending.length >= 2) {
        const len = pending.readUInt16BE(0);
        if (pending.length < 2 + len) break;
        const msg = pending.subarray(2, 2 + len);
        pending = pending.subarray(2 + len);
        try {
          const r = this.handler.handle(msg, ctx);
          if (r instanceof Promise) r.then(reply, () => sock.destroy());
          else reply(r);
        } catch {
          sock.destroy();
          return;
        }
      }
    });
  }

  async close(): Promise<void> {
    const udp = this.udp;
    const tcp = this.tcp;
    this.udp = undefined;
    this.tcp = undefined;
    for (const c of this.conns) c.destroy();
    await Promise.all([
      udp ? new Promise<void>((r) => udp.close(() => r())) : undefined,
      tcp ? new Promise<void>((r) => tcp.close(() => r())) : undefined,
    ]);
  }
}
