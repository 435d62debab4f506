/**
 * The built-in proxy over real loopback sockets: routing, the proxy's own statuses, forwarded
 * headers, rewrite, redirect, canary, limits, metrics and the access log.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import { IngressProxy } from './index.js';
import { Registry } from '../../util/prometheus.js';
import { deadPort, echoBackend, get, route, selfSigned, svc, table, type EchoBackend } from './testkit.js';
import type { Backend } from '../types.js';

describe('IngressProxy over HTTP', () => {
  let a: EchoBackend, b: EchoBackend, canary: EchoBackend;
  let proxy: IngressProxy;
  let port = 0;
  let httpsPort = 0;
  let dead = 0;
  const logs: string[] = [];
  const metrics = new Registry();
  let random: () => number = () => 0.5;
  let now = 1_700_000_000_000;

  before(async () => {
    [a, b, canary] = await Promise.all([echoBackend('a'), echoBackend('b'), echoBackend('canary')]);
    dead = await deadPort();
    proxy = new IngressProxy({
      httpHost: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      defaultCert: await selfSigned(['default.invalid']),
      accessLog: (l) => logs.push(l),
      metrics,
      random: () => random(),
      clock: { now: () => now },
    });
    ({ httpPort: port, httpsPort } = await proxy.listen());
  });
  after(async () => {
    await proxy.close();
    await Promise.all([a.close(), b.close(), canary.close()]);
  });

  const both: () => Backend = () => svc('ab', [a.upstream, b.upstream]);

  it('routes by host and path and answers its own statuses', async () => {
    await proxy.update(
      table({
        'a.test': [route('/b', svc('b', [b.upstream])), route('/', svc('a', [a.upstream]))],
        'none.test': [route('/', svc('empty', []))],
        'res.test': [route('/', { kind: 'unsupported', namespace: 'default', message: 'resource backends are not supported' })],
        'dead.test': [route('/', svc('dead', [{ address: '127.0.0.1', port: dead }]))],
        'slow.test': [route('/', svc('a', [a.upstream]), { options: { readTimeoutMs: 200 } })],
      }),
    );
    const cases: { host: string; path: string; status: number; backend?: string; body?: RegExp }[] = [
      { host: 'a.test', path: '/', status: 200, backend: 'a' },
      { host: 'A.TEST:8080', path: '/x', status: 200, backend: 'a' },
      { host: 'a.test', path: '/b/c', status: 200, backend: 'b' },
      { host: 'a.test', path: '/bc', status: 200, backend: 'a' },
      { host: 'other.test', path: '/', status: 404, body: /404/ },
      { host: 'none.test', path: '/', status: 503 },
      { host: 'res.test', path: '/', status: 404, body: /resource backends are not supported/ },
      { host: 'dead.test', path: '/', status: 502 },
      { host: 'slow.test', path: '/slow', status: 504 },
    ];
    for (const c of cases) {
      const r = await get(port, c.host, c.path);
      assert.equal(r.status, c.status, `${c.host}${c.path}`);
      if (c.backend) assert.equal(r.json().backend, c.backend, `${c.host}${c.path}`);
      if (c.body) assert.match(r.body, c.body);
    }
  });

  it('balances round-robin and retries the next endpoint once when a connect fails', async () => {
    await proxy.update(table({ 'rr.test': [route('/', both())], 'retry.test': [route('/', svc('r', [{ address: '127.0.0.1', port: dead }, a.upstream]))] }));
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push((await get(port, 'rr.test', '/')).json().backend);
    assert.deepEqual(seen.sort(), ['a', 'a', 'b', 'b']);
    for (let i = 0; i < 3; i++) {
      const r = await get(port, 'retry.test', '/');
      assert.equal(r.status, 200);
      assert.equal(r.json().backend, 'a');
    }
  });

  it('passes headers through and sets X-Forwarded-*, X-Real-IP and X-Request-ID; drops hop-by-hop', async () => {
    await proxy.update(table({ 'h.test': [route('/', svc('a', [a.upstream]))] }));
    const r = await get(port, 'h.test:81', '/p?q=1', {
      headers: { 'x-custom': 'yes', 'x-forwarded-for': '10.0.0.9', connection: 'keep-alive, x-drop', 'x-drop': 'no', 'keep-alive': 'timeout=5' },
    });
    const h = r.json().headers;
    assert.equal(r.json().url, '/p?q=1');
    assert.equal(h['host'], 'h.test:81');
    assert.equal(h['x-custom'], 'yes');
    assert.equal(h['x-forwarded-for'], '10.0.0.9, 127.0.0.1');
    assert.equal(h['x-real-ip'], '127.0.0.1');
    assert.equal(h['x-forwarded-proto'], 'http');
    assert.equal(h['x-forwarded-host'], 'h.test:81');
    assert.equal(h['x-forwarded-port'], String(port));
    assert.match(String(h['x-request-id']), /^[0-9a-f]{32}$/);
    assert.equal(h['x-drop'], undefined);
    assert.equal(h['keep-alive'], undefined);
    const r2 = await get(port, 'h.test', '/', { headers: { 'x-request-id': 'abc' } });
    assert.equal(r2.json().headers['x-request-id'], 'abc');
  });

  it('rewrites with regex captures, keeping the query string', async () => {
    await proxy.update(
      table({
        'rw.test': [
          route('/api(/|$)(.*)', svc('a', [a.upstream]), { pathType: 'ImplementationSpecific', options: { useRegex: true, rewriteTarget: '/v2/$2' } }),
          route('/static', svc('a', [a.upstream]), { options: { useRegex: true, rewriteTarget: '/' } }),
        ],
      }),
    );
    const cases = [
      ['/api/users/7?x=1', '/v2/users/7?x=1'],
      ['/api', '/v2/'],
      ['/static/logo.png', '/'],
    ];
    for (const [from, to] of cases) assert.equal((await get(port, 'rw.test', from!)).json().url, to, from);
  });

  it('redirects plain HTTP with 308 when ssl-redirect applies', async () => {
    const cert = { secret: 'default/tls', ...(await selfSigned(['tls.test'])) };
    await proxy.update(
      table(
        {
          'tls.test': [route('/', svc('a', [a.upstream]), { options: { sslRedirect: true } })],
          'force.test': [route('/', svc('a', [a.upstream]), { options: { forceSslRedirect: true } })],
          'notls.test': [route('/', svc('a', [a.upstream]), { options: { sslRedirect: true } })],
        },
        { tls: { 'tls.test': cert } },
      ),
    );
    const r = await get(port, 'tls.test', '/a/b?c=d');
    assert.equal(r.status, 308);
    assert.equal(r.headers.location, `https://tls.test:${httpsPort}/a/b?c=d`);
    const f = await get(port, 'force.test:80', '/');
    assert.equal(f.status, 308);
    assert.equal(f.headers.location, `https://force.test:${httpsPort}/`);
    assert.equal((await get(port, 'notls.test', '/')).status, 200);
  });

  it('sends canary traffic by header, cookie and weight', async () => {
    const main = svc('main', [a.upstream]);
    const cb = svc('canary', [canary.upstream]);
    await proxy.update(
      table({
        'hdr.test': [route('/', main, { canary: { backend: cb, header: 'X-Canary', weight: 0, weightTotal: 100 } })],
        'val.test': [route('/', main, { canary: { backend: cb, header: 'X-Canary', headerValue: 'blue', weight: 0, weightTotal: 100 } })],
        'ck.test': [route('/', main, { canary: { backend: cb, cookie: 'beta', weight: 100, weightTotal: 100 } })],
        'w.test': [route('/', main, { canary: { backend: cb, weight: 20, weightTotal: 100 } })],
      }),
    );
    const cases: [string, Record<string, string>, string][] = [
      ['hdr.test', { 'x-canary': 'always' }, 'canary'],
      ['hdr.test', { 'x-canary': 'never' }, 'a'],
      ['hdr.test', { 'x-canary': 'other' }, 'a'],
      ['hdr.test', {}, 'a'],
      ['val.test', { 'x-canary': 'blue' }, 'canary'],
      ['val.test', { 'x-canary': 'always' }, 'a'],
      ['ck.test', { cookie: 'a=1; beta=never' }, 'a'],
      ['ck.test', { cookie: 'beta=always' }, 'canary'],
      ['ck.test', {}, 'canary'],
    ];
    for (const [host, headers, want] of cases) assert.equal((await get(port, host, '/', { headers })).json().backend, want, `${host} ${JSON.stringify(headers)}`);
    const before = canary.hits;
    const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
    let n = 0;
    random = Math.random;
    try {
      await Promise.all(Array.from({ length: 8 }, async () => {
        while (n < 1000) {
          n++;
          await get(port, 'w.test', '/', { agent });
        }
      }));
    } finally {
      random = () => 0.5;
      agent.destroy();
    }
    const share = (canary.hits - before) / 1000;
    assert.ok(share >= 0.15 && share <= 0.25, `canary share ${share}`);
  });

  it('limits requests per second and connections per client IP with 503', async () => {
    await proxy.update(
      table({
        'rps.test': [route('/', svc('a', [a.upstream]), { options: { limitRps: 1 } })],
        'conn.test': [route('/', svc('a', [a.upstream]), { options: { limitConnections: 1, readTimeoutMs: 300 } })],
      }),
    );
    const statuses: number[] = [];
    for (let i = 0; i < 8; i++) statuses.push((await get(port, 'rps.test', '/')).status);
    assert.deepEqual(statuses, [200, 200, 200, 200, 200, 503, 503, 503]);
    now += 2_000;
    assert.equal((await get(port, 'rps.test', '/')).status, 200);
    assert.equal((await get(port, 'rps.test', '/')).status, 200);
    // One request held open by the backend (/slow) occupies the only connection slot.
    const held = get(port, 'conn.test', '/slow');
    await new Promise((r) => setTimeout(r, 100));
    assert.equal((await get(port, 'conn.test', '/')).status, 503);
    assert.equal((await held).status, 504);
    assert.equal((await get(port, 'conn.test', '/')).status, 200);
  });

  it('answers 413 when the body exceeds proxy-body-size (declared or streamed)', async () => {
    await proxy.update(table({ 'body.test': [route('/', svc('a', [a.upstream]), { options: { bodySizeLimit: 1000 } })] }));
    assert.equal((await get(port, 'body.test', '/', { method: 'POST', body: Buffer.alloc(1001) })).status, 413);
    const ok = await get(port, 'body.test', '/', { method: 'POST', body: Buffer.alloc(1000) });
    assert.equal(ok.status, 200);
    assert.equal(ok.json().bodyBytes, 1000);
    const streamed = await new Promise<number>((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port, method: 'POST', path: '/', headers: { host: 'body.test', 'transfer-encoding': 'chunked' } }, (res) => {
        res.resume();
        resolve(res.statusCode ?? 0);
      });
      req.on('error', reject);
      req.write(Buffer.alloc(600));
      setTimeout(() => req.end(Buffer.alloc(600)), 50);
    });
    assert.equal(streamed, 413);
  });

  it('logs one ingress-nginx style line per request and counts per-Ingress metrics', async () => {
    await proxy.update(table({ 'log.test': [route('/', svc('a', [a.upstream]), { ingress: 'logged' })] }));
    logs.length = 0;
    await get(port, 'log.test', '/hello?x=1', { headers: { 'user-agent': 'tester/1', referer: 'http://r/' } });
    assert.equal(logs.length, 1);
    assert.match(
      logs[0]!,
      new RegExp(
        `^127\\.0\\.0\\.1 - - \\[\\d{2}/\\w{3}/\\d{4}:\\d{2}:\\d{2}:\\d{2} \\+0000\\] "GET /hello\\?x=1 HTTP/1\\.1" 200 \\d+ "http://r/" "tester/1" \\d+ \\d+\\.\\d{3} \\[default-a-80\\] \\[\\] 127\\.0\\.0\\.1:${a.upstream.port} \\d+ \\d+\\.\\d{3} 200 [0-9a-f]{32}$`,
      ),
    );
    const text = metrics.render();
    assert.match(text, /nginx_ingress_controller_requests\{host="log\.test",ingress="logged",method="GET",namespace="default",path="\/",service="a",status="200"\} 1/);
    assert.match(text, /nginx_ingress_controller_request_duration_seconds_count\{host="log\.test",ingress="logged".*\} 1/);
    assert.match(text, /nginx_ingress_controller_response_duration_seconds_count\{host="log\.test",ingress="logged".*\} 1/);
  });
});
