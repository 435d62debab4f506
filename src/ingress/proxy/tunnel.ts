/**
 * `Upgrade` requests (WebSocket): like nginx with `proxy_set_header Upgrade/Connection`, the
 * request is replayed to the upstream on a fresh connection (TCP, or TLS for HTTPS backends),
 * and from then on bytes are piped both ways untouched — the upstream's 101 (or refusal) goes
 * back to the client as it is. A failed connect tries the next endpoint once, then 502/504.
 */
import net from 'node:net';
import tls from 'node:tls';
import type { Duplex } from 'node:stream';
import type { Upstream } from '../types.js';

export interface TunnelRequest {
  endpoints: Upstream[];
  secure: boolean;
  method: string;
  target: string;
  /** Upstream headers (X-Forwarded-* set, hop-by-hop removed); Upgrade/Connection are re-added. */
  headers: Record<string, string | string[]>;
  upgrade: string;
  /** Bytes the client sent after the request head. */
  head: Buffer;
  connectTimeoutMs: number;
}

export interface TunnelResult {
  /** The upstream's status line code, or the proxy's own 502/504. */
  status: number;
  upstreamAddrs: string[];
  bytesSent: number;
}

/** Writes a minimal HTTP/1.1 answer on a raw socket and closes it. */
export function rawAnswer(socket: Duplex, status: number, reason: string, body: string, headers: Record<string, string> = {}): number {
  if (socket.writable) {
    const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v.replace(/[\r\n]/g, '')}\r\n`).join('');
    socket.end(
      `HTTP/1.1 ${status} ${reason}\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\n${extra}Connection: close\r\n\r\n${body}`,
    );
  }
  setTimeout(() => socket.destroy(), 1000).unref();
  return Buffer.byteLength(body);
}

function requestHead(r: TunnelRequest): string {
  const lines = [`${r.method} ${r.target} HTTP/1.1`];
  for (const [k, v] of Object.entries(r.headers)) {
    for (const one of Array.isArray(v) ? v : [v]) lines.push(`${k}: ${one.replace(/[\r\n]/g, '')}`);
  }
  lines.push(`upgrade: ${r.upgrade}`, 'connection: upgrade');
  return `${lines.join('\r\n')}\r\n\r\n`;
}

/** Connects to the upstream and pipes; resolves once both sides are closed. */
export function tunnel(client: Duplex, r: TunnelRequest, answer: (status: number) => number): Promise<TunnelResult> {
  return new Promise((resolve) => {
    const result: TunnelResult = { status: 0, upstreamAddrs: [], bytesSent: 0 };
    let done = false;
    const finish = (): void => {
      if (!done) {
        done = true;
        resolve(result);
      }
    };
    client.on('error', () => client.destroy());
    const attempt = (i: number): void => {
      const ep = r.endpoints[i]!;
      result.upstreamAddrs.push(`${ep.address}:${ep.port}`);
      const opts = { host: ep.address, port: ep.port };
      const up = r.secure ? tls.connect({ ...opts, rejectUnauthorized: false }) : net.connect(opts);
      let connected = false;
      let abandoned = false;
      const giveUp = (timeout: boolean): void => {
        if (abandoned) return;
        abandoned = true;
        up.destroy();
        if (i + 1 < Math.min(2, r.endpoints.length)) return attempt(i + 1);
        result.status = timeout ? 504 : 502;
        result.bytesSent = answer(result.status);
        finish();
      };
      const timer = setTimeout(() => giveUp(true), r.connectTimeoutMs);
      up.once(r.secure ? 'secureConnect' : 'connect', () => {
        if (abandoned) return;
        connected = true;
        clearTimeout(timer);
        up.write(requestHead(r));
        if (r.head.length) up.write(r.head);
        let first = true;
        up.on('data', (chunk: Buffer) => {
          if (first) {
            first = false;
            const m = /^HTTP\/1\.[01] (\d{3})/.exec(chunk.subarray(0, 16).toString('latin1'));
            result.status = m ? Number(m[1]) : 502;
          }
          result.bytesSent += chunk.length;
        });
        // Either side's EOF ends the tunnel (as nginx finalizes an upgraded request): pass the
        // FIN on, and close both once it is flushed, so no half-open pair lingers.
        const closeBoth = (): void => {
          client.destroy();
          up.destroy();
        };
        up.pipe(client, { end: false });
        client.pipe(up, { end: false });
        up.once('end', () => client.end(closeBoth));
        client.once('end', () => up.end(closeBoth));
      });
      up.on('error', () => {
        if (!connected) {
          clearTimeout(timer);
          giveUp(false);
        } else client.destroy();
      });
      up.on('close', () => {
        if (connected) {
          client.destroy();
          finish();
        }
      });
      client.on('close', () => {
        if (connected) up.destroy();
      });
    };
    attempt(0);
  });
}
