/**
 * A lean HTTPS client for load generation: one keep-alive agent per client pool, bearer token,
 * pinned CA. Timing is done by callers with performance.now() around `request`, so the number
 * is full round-trip latency as a client sees it (serialization, TLS record, server, parse).
 */
import { Agent, request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { ServerProcess } from './server.js';

export interface Response {
  status: number;
  body: string;
}

export class Client {
  readonly agent: Agent;
  private readonly auth: string;

  constructor(
    private readonly server: Pick<ServerProcess, 'host' | 'port' | 'token' | 'caCertPem'>,
    opts: { maxSockets?: number } = {},
  ) {
    this.agent = new Agent({ keepAlive: true, maxSockets: opts.maxSockets ?? Infinity, ca: server.caCertPem });
    this.auth = `Bearer ${server.token}`;
  }

  /** One request; resolves with status and body (never rejects on HTTP errors). */
  request(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<Response> {
    return new Promise((resolve, reject) => {
      const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
      const headers: Record<string, string> = { authorization: this.auth, accept: 'application/json' };
      if (payload !== undefined) {
        headers['content-type'] = contentType;
        headers['content-length'] = String(Buffer.byteLength(payload));
      }
      const req = httpsRequest(
        { host: this.server.host, port: this.server.port, method, path, headers, agent: this.agent },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(payload);
    });
  }

  /** Like `request` but throws unless the status is 2xx; returns the parsed JSON body. */
  async json<T = Record<string, unknown>>(method: string, path: string, body?: unknown, contentType?: string): Promise<T> {
    const r = await this.request(method, path, body, contentType);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }

  /**
   * Opens a streaming GET (a watch) and calls `onLine` for each newline-terminated JSON line,
   * with the time the chunk carrying it arrived. Resolves once response headers are in.
   */
  stream(path: string, onLine: (line: string, at: number) => void): Promise<{ close(): void }> {
    return new Promise((resolve, reject) => {
      const req = httpsRequest(
        {
          host: this.server.host,
          port: this.server.port,
          method: 'GET',
          path,
          headers: { authorization: this.auth, accept: 'application/json' },
          agent: this.agent,
        },
        (res: IncomingMessage) => {
          if (res.statusCode !== 200) {
            let b = '';
            res.on('data', (c) => (b += c));
            res.on('end', () => reject(new Error(`watch ${path}: HTTP ${res.statusCode}: ${b.slice(0, 300)}`)));
            return;
          }
          let buf = '';
          res.setEncoding('utf8');
          res.on('data', (chunk: string) => {
            const at = performance.now();
            buf += chunk;
            let i: number;
            while ((i = buf.indexOf('\n')) >= 0) {
              const line = buf.slice(0, i);
              buf = buf.slice(i + 1);
              if (line.trim()) onLine(line, at);
            }
          });
          res.on('error', () => undefined);
          resolve({ close: () => req.destroy() });
        },
      );
      req.on('error', (e) => reject(e));
      req.end();
    });
  }

  close(): void {
    this.agent.destroy();
  }
}

/** A small ConfigMap body; `name` must be a DNS subdomain. */
export function configMap(ns: string, name: string, data: Record<string, string> = { key: 'x'.repeat(64) }): Record<string, unknown> {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns }, data };
}

/** Creates a namespace, tolerating AlreadyExists. */
export async function ensureNamespace(client: Client, name: string): Promise<void> {
  const r = await client.request('POST', '/api/v1/namespaces', { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
}

/** Creates `count` ConfigMaps named `${prefix}-${i}` using `concurrency` sequential workers. */
export async function fill(client: Client, ns: string, opts: { count: number; prefix: string; concurrency?: number }): Promise<void> {
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < opts.count) {
      const i = next++;
      await client.json('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, `${opts.prefix}-${i}`));
    }
  };
  await Promise.all(Array.from({ length: opts.concurrency ?? 16 }, worker));
}
