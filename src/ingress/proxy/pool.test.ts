/**
 * ProxyWorkerPool with real worker processes (node:cluster) on loopback: shared listeners,
 * ordered updates, metrics and access logs from the workers, a killed worker replaced with the
 * latest table, bind errors surfaced with their code, and no process left after close().
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import net from 'node:net';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ProxyWorkerPool } from './pool.js';
import { Registry } from '../../util/prometheus.js';
import { echoBackend, get, route, selfSigned, svc, table, type EchoBackend } from './testkit.js';

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

async function until<T>(what: string, fn: () => T | undefined | Promise<T | undefined>, ms = 20_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('ProxyWorkerPool (worker processes)', () => {
  let a: EchoBackend, b: EchoBackend;
  let pool: ProxyWorkerPool;
  let port = 0;
  let httpsPort = 0;
  const metrics = new Registry();
  const lines: string[] = [];
  let cert: { certPem: string; keyPem: string };

  before(async () => {
    [a, b] = await Promise.all([echoBackend('a'), echoBackend('b')]);
    cert = await selfSigned(['default.invalid']);
    pool = new ProxyWorkerPool({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: cert, workers: 2, metrics, accessLog: (l) => lines.push(l), log: () => {} });
    ({ httpPort: port, httpsPort } = await pool.listen());
  });
  after(async () => {
    await pool.close();
    await Promise.all([a.close(), b.close()]);
  });

  it('both workers listen on the same ports and serve the table from the moment update() resolves', async () => {
    assert.equal(pool.liveWorkers, 2);
    assert.ok(port > 0 && httpsPort > 0 && port !== httpsPort);
    assert.equal((await get(port, 'x.test', '/')).status, 404, 'empty table: default backend 404');
    await pool.update(table({ 'x.test': [route('/', svc('a', [a.upstream]))] }));
    for (let i = 0; i < 20; i++) assert.equal((await get(port, 'x.test', '/')).json().backend, 'a');
    await pool.update(table({ 'x.test': [route('/', svc('b', [b.upstream]))] }));
    // Every worker acknowledged: no request may see the old table any more (new connections spread over both).
    for (let i = 0; i < 20; i++) assert.equal((await get(port, 'x.test', '/')).json().backend, 'b');
  });

  it('HTTPS on the shared TLS listener', async () => {
    const body = await new Promise<string>((resolve, reject) => {
      const req = https.request({ host: '127.0.0.1', port: httpsPort, path: '/', headers: { host: 'x.test' }, rejectUnauthorized: false, agent: false }, (res) => {
        let s = '';
        res.on('data', (c: Buffer) => (s += c));
        res.on('end', () => resolve(s));
      });
      req.on('error', reject);
      req.end();
    });
    assert.equal(JSON.parse(body).backend, 'b');
  });

  it('metrics and access-log lines reach the primary', async () => {
    const before = lines.length;
    for (let i = 0; i < 5; i++) await get(port, 'x.test', '/counted');
    await until('5 access-log lines', () => (lines.slice(before).filter((l) => l.includes('"GET /counted HTTP/1.1" 200')).length === 5 ? true : undefined));
    // 20 + 20 (first test) + 1 (HTTPS) + 5 requests served by an Ingress, over both workers.
    const total = (t: string): number =>
      [...t.matchAll(/^nginx_ingress_controller_requests\{[^}]*ingress="web"[^}]*status="200"\} (\d+)$/gm)].reduce((n, m) => n + Number(m[1]), 0);
    const text = await until('46 requests counted', () => {
      const t = metrics.render();
      return total(t) === 46 ? t : undefined;
    });
    assert.match(text, /nginx_ingress_controller_request_duration_seconds_count\{[^}]*ingress="web"[^}]*\} \d+/);
    assert.match(text, /nginx_ingress_controller_response_duration_seconds_bucket\{[^}]*le="\+Inf"[^}]*\} \d+/);
  });

  it('a killed worker is replaced, and the new one serves the latest table', async () => {
    const [victim] = pool.pids;
    process.kill(victim!, 'SIGKILL');
    await until('the replacement', () => (pool.liveWorkers === 2 && !pool.pids.includes(victim!) ? true : undefined));
    await until('the replacement listening', async () => ((await get(port, 'x.test', '/')).status === 200 ? true : undefined));
    for (let i = 0; i < 20; i++) assert.equal((await get(port, 'x.test', '/')).json().backend, 'b');
  });

  it('close() stops every worker process', async () => {
    const p = new ProxyWorkerPool({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: cert, workers: 2, log: () => {} });
    await p.listen();
    const pids = p.pids;
    assert.equal(pids.length, 2);
    await p.close();
    await until('workers gone', () => (pids.every((pid) => !alive(pid)) ? true : undefined), 5_000);
  });
});

describe('ProxyWorkerPool errors and files', () => {
  it('a port already taken rejects listen() with EADDRINUSE and leaves no worker', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', () => r()));
    const taken = (blocker.address() as net.AddressInfo).port;
    const p = new ProxyWorkerPool({ httpHost: '127.0.0.1', httpPort: taken, httpsPort: 0, defaultCert: await selfSigned(['d.invalid']), workers: 2, log: () => {} });
    try {
      await assert.rejects(p.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
      assert.equal(p.liveWorkers, 0);
    } finally {
      await p.close();
      blocker.close();
    }
  });

  it('workers append whole lines to the access-log file themselves', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelite-pool-'));
    const a = await echoBackend('a');
    const file = join(dir, 'access.log');
    const p = new ProxyWorkerPool({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: await selfSigned(['d.invalid']), workers: 2, accessLogPath: file, log: () => {} });
    try {
      const { httpPort } = await p.listen();
      await p.update(table({ 'f.test': [route('/', svc('a', [a.upstream]))] }));
      await Promise.all(Array.from({ length: 40 }, (_, i) => get(httpPort, 'f.test', `/line-${i}`)));
      await p.close();
      assert.ok(existsSync(file));
      const got = readFileSync(file, 'utf8').trimEnd().split('\n');
      assert.equal(got.length, 40);
      for (const l of got) assert.match(l, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/line-\d+ HTTP\/1\.1" 200 \d+ .* [0-9a-f]{32}$/);
    } finally {
      await p.close();
      await a.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses a worker count below 1', () => {
    assert.throws(() => new ProxyWorkerPool({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: { certPem: '', keyPem: '' }, workers: 0 }), /positive integer/);
  });
});
