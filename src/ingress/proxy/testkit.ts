/**
 * Test fixtures for the proxy tests: self-signed certificates, echo backends on 127.0.0.1 that
 * report who answered and what they received, routing-table builders and small clients.
 * Not used by production code.
 */
import http from 'node:http';
import net from 'node:net';
import { createHash, webcrypto, randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Backend, Canary, HostRoutes, Route, RouteOptions, RoutingTable, TlsCertificate, Upstream } from '../types.js';

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;

/** A self-signed certificate for `names` (CN = first name), PEM. */
export async function selfSigned(names: string[]): Promise<{ certPem: string; keyPem: string }> {
  const x509 = await import('@peculiar/x509');
  x509.cryptoProvider.set(webcrypto as unknown as Crypto);
  const keys = (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as unknown as CryptoKeyPair;
  const now = new Date(Date.now() - 60_000);
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: randomBytes(8).toString('hex').replace(/^[89a-f]/, '1'),
    name: `CN=${names[0]}`,
    notBefore: now,
    notAfter: new Date(now.getTime() + 86400_000),
    signingAlgorithm: ALG,
    keys,
    extensions: [new x509.SubjectAlternativeNameExtension(names.map((n) => ({ type: 'dns' as const, value: n })))],
  });
  const der = Buffer.from(await webcrypto.subtle.exportKey('pkcs8', keys.privateKey as webcrypto.CryptoKey));
  const keyPem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END PRIVATE KEY-----\n`;
  return { certPem: cert.toString('pem'), keyPem };
}

export interface Seen {
  backend: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
  bodyBytes: number;
}

export interface EchoBackend {
  name: string;
  upstream: Upstream;
  server: http.Server;
  hits: number;
  close(): Promise<void>;
}

/**
 * An HTTP server answering 200 with JSON `Seen`. `/slow` never answers (read timeouts); upgrade
 * requests get a 101 and then every byte echoed back.
 */
export async function echoBackend(name: string): Promise<EchoBackend> {
  const b: EchoBackend = {
    name,
    upstream: { address: '127.0.0.1', port: 0 },
    server: http.createServer(),
    hits: 0,
    close: () => new Promise<void>((r) => {
      b.server.closeAllConnections();
      b.server.close(() => r());
    }),
  };
  b.server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    b.hits++;
    let bodyBytes = 0;
    req.on('data', (c: Buffer) => (bodyBytes += c.length));
    req.on('end', () => {
      if (req.url?.startsWith('/slow')) return;
      const seen: Seen = { backend: name, method: req.method ?? '', url: req.url ?? '', headers: req.headers, bodyBytes };
      res.writeHead(200, { 'content-type': 'application/json', connection: 'keep-alive', 'x-backend': name });
      res.end(JSON.stringify(seen));
    });
  });
  b.server.on('upgrade', (req: http.IncomingMessage, socket: net.Socket, head: Buffer) => {
    const key = String(req.headers['sec-websocket-key'] ?? '');
    const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\nX-Backend: ${name}\r\n\r\n`);
    if (head.length) socket.write(head);
    socket.on('data', (d) => socket.write(d));
    socket.on('end', () => socket.end());
    socket.on('error', () => socket.destroy());
  });
  await new Promise<void>((r) => b.server.listen(0, '127.0.0.1', () => r()));
  b.upstream.port = (b.server.address() as AddressInfo).port;
  return b;
}

/** A port nothing listens on (bound then released). */
export async function deadPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', () => r()));
  const port = (s.address() as AddressInfo).port;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

export function svc(service: string, endpoints: Upstream[], namespace = 'default'): Backend {
  return { kind: 'service', namespace, service, port: 80, endpoints };
}

export const OPTIONS: RouteOptions = {
  useRegex: false,
  sslRedirect: false,
  forceSslRedirect: false,
  backendProtocol: 'HTTP',
  connectTimeoutMs: 1_000,
  readTimeoutMs: 5_000,
  sendTimeoutMs: 5_000,
  bodySizeLimit: 1024 * 1024,
  limitRps: 0,
  limitConnections: 0,
};

export function route(
  path: string,
  backend: Backend,
  o: { pathType?: Route['pathType']; options?: Partial<RouteOptions>; canary?: Canary; ingress?: string } = {},
): Route {
  return {
    source: { namespace: 'default', name: o.ingress ?? 'web', uid: 'u1', creationTimestamp: '2024-01-01T00:00:00Z' },
    path,
    pathType: o.pathType ?? 'Prefix',
    backend,
    options: { ...OPTIONS, ...o.options },
    ...(o.canary ? { canary: o.canary } : {}),
  };
}

/** A table from `{host: routes}` (routes listed in match order) plus optional TLS per host. */
export function table(hosts: Record<string, Route[]>, o: { tls?: Record<string, TlsCertificate>; defaultBackend?: Backend } = {}): RoutingTable {
  const map = new Map<string, HostRoutes>();
  for (const [host, routes] of Object.entries(hosts)) map.set(host, { host, routes, ...(o.tls?.[host] ? { tls: o.tls[host] } : {}) });
  for (const [host, cert] of Object.entries(o.tls ?? {})) if (!map.has(host)) map.set(host, { host, routes: [], tls: cert });
  return { hosts: map, conflicts: [], warnings: [], ...(o.defaultBackend ? { defaultBackend: o.defaultBackend } : {}) };
}

export interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  json(): Seen;
}

/** One HTTP/1.1 request to the proxy (no keep-alive unless an agent is given). */
export function get(
  port: number,
  host: string,
  path: string,
  o: { headers?: Record<string, string>; method?: string; body?: string | Buffer; agent?: http.Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      { host: '127.0.0.1', port, path, method: o.method ?? 'GET', headers: { host, ...o.headers }, agent: o.agent ?? false },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const body = Buffer.concat(chunks).toString();
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body, json: () => JSON.parse(body) as Seen });
        });
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

/** Sends raw bytes on a new connection and collects everything until the server closes (or `waitMs`). */
export function rawRequest(port: number, data: string | Buffer, waitMs = 3_000): Promise<string> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    const done = (): void => {
      clearTimeout(t);
      s.destroy();
      resolve(Buffer.concat(chunks).toString('latin1'));
    };
    const t = setTimeout(done, waitMs);
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('close', done);
    s.on('error', done);
    s.write(data);
  });
}
