/**
 * Integration: NginxDataPlane on real nginx (skipped with a message when nginx is absent), on
 * 127.0.0.1 free ports in front of two small node HTTP backends on loopback.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import https from 'node:https';
import tls from 'node:tls';
import net from 'node:net';
import { X509Certificate } from 'node:crypto';
import { compareRoutes } from '../routes/match.js';
import type { Backend, HostRoutes, RoutingTable } from '../types.js';
import { NginxDataPlane, nginxAvailable } from './dataplane.js';
import { childPids } from './workers.js';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { hostRoutes, route, svc, table } from './fixture.js';
import { selfSigned, type TestCert } from './testcerts.js';
import { Registry } from '../../util/prometheus.js';

const skip = nginxAvailable() ? false : 'nginx is not installed (apt-get install -y nginx-light)';
if (skip) console.log(`# skipping nginx data plane integration tests: ${skip}`);

interface Echo {
  name: string;
  method: string;
  url: string;
  headers: http.IncomingHttpHeaders;
}

let plane: NginxDataPlane;
let backA: http.Server;
let backB: http.Server;
let A: Backend;
let B: Backend;
let certs: { def: TestCert; secure: TestCert; secure2: TestCert };
let httpPort = 0;
let httpsPort = 0;
const accessLines: string[] = [];
const metrics = new Registry();

function echoServer(name: string): Promise<http.Server> {
  const srv = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => {
      const body = JSON.stringify({ name, method: req.method ?? '', url: req.url ?? '', headers: req.headers } satisfies Echo);
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(body);
    });
  });
  // WebSocket-style upgrade: 101, then echo every byte back.
  srv.on('upgrade', (req: http.IncomingMessage, socket: net.Socket) => {
    socket.write(`HTTP/1.1 101 Switching Protocols\r\nUpgrade: ${req.headers.upgrade}\r\nConnection: Upgrade\r\nX-Backend: ${name}\r\n\r\n`);
    socket.pipe(socket);
  });
  return new Promise((resolve) => srv.listen(0, '127.0.0.1', () => resolve(srv)));
}

const portOf = (s: http.Server): number => (s.address() as net.AddressInfo).port;

interface Reply {
  status: number;
  headers: http.IncomingHttpHeaders;
  body: string;
  cert?: X509Certificate;
}

function request(opts: { host: string; path: string; tls?: boolean; servername?: string; headers?: Record<string, string>; agent?: http.Agent }): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const mod = opts.tls ? https : http;
    const req = mod.request(
      {
        host: '127.0.0.1',
        port: opts.tls ? httpsPort : httpPort,
        path: opts.path,
        headers: { host: opts.host, ...opts.headers },
        agent: opts.agent ?? false,
        ...(opts.tls ? { servername: opts.servername ?? opts.host, rejectUnauthorized: false } : {}),
      },
      (res) => {
        const sock = res.socket as tls.TLSSocket;
        const peer = opts.tls ? sock.getPeerX509Certificate?.() : undefined;
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c: string) => (body += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body, ...(peer ? { cert: peer } : {}) }));
      },
    );
    req.setTimeout(5_000, () => req.destroy(new Error('timeout')));
    req.on('error', (err: NodeJS.ErrnoException) => {
      // An idle keep-alive connection closed by a worker that a reload retired (nginx closes
      // idle connections on graceful shutdown): retried once, as Node's docs, curl and browsers
      // do for a request that failed on a reused connection.
      if (req.reusedSocket && err.code === 'ECONNRESET') request({ ...opts, agent: undefined }).then(resolve, reject);
      else reject(err);
    });
    req.end();
  });
}

async function reach(o: Parameters<typeof request>[0]): Promise<string> {
  const r = await request(o);
  if (r.status !== 200) return String(r.status);
  return (JSON.parse(r.body) as Echo).name;
}

function sorted(h: HostRoutes): HostRoutes {
  return { ...h, routes: [...h.routes].sort(compareRoutes) };
}

function baseTable(secure: TestCert): RoutingTable {
  return table([
    sorted(
      hostRoutes('rows.test', [
        route('/exact', 'Exact', A),
        route('/foo', 'Prefix', B),
        route('/foo', 'Exact', A, { ingress: 'other' }),
        route('/aaa/bbb/', 'Prefix', A),
        route('/api(/|$)(.*)', 'ImplementationSpecific', B, { ingress: 'rw', options: { useRegex: true, rewriteTarget: '/v2/$2' } }),
        route('/we;ird{x}"$q', 'Prefix', A, { ingress: 'odd' }),
        route('/empty', 'Prefix', svc('gone', [], { problem: 'service default/gone not found' })),
        route('/bucket', 'Prefix', { kind: 'unsupported', namespace: 'default', message: 'resource backends are not supported' }),
        route('/canary', 'Prefix', A, { ingress: 'main', canary: { backend: B, header: 'X-Canary', weight: 0, weightTotal: 100 } }),
        route('/weighted', 'Prefix', A, { ingress: 'main', canary: { backend: B, weight: 20, weightTotal: 100 } }),
        route('/limited', 'Prefix', A, { ingress: 'limited', options: { limitRps: 1 } }),
        route('/small', 'Prefix', A, { ingress: 'small', options: { bodySizeLimit: 1024 } }),
      ]),
    ),
    sorted(hostRoutes('*.wild.test', [route('/', 'Prefix', B, { ingress: 'wild' })])),
    sorted(hostRoutes('secure.test', [route('/', 'Prefix', A, { ingress: 'sec', options: { sslRedirect: true } })], { secret: 'default/secure', ...secure })),
    sorted(hostRoutes('', [route('/hostless', 'Prefix', B, { ingress: 'any' })])),
  ]);
}

before(async () => {
  if (skip) return;
  [backA, backB] = await Promise.all([echoServer('A'), echoServer('B')]);
  A = svc('a', [['127.0.0.1', portOf(backA)]]);
  B = svc('b', [['127.0.0.1', portOf(backB)]]);
  certs = { def: await selfSigned(['ingress.default']), secure: await selfSigned(['secure.test']), secure2: await selfSigned(['secure.test']) };
  plane = new NginxDataPlane({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: certs.def, workerProcesses: 2, log: () => undefined, accessLog: (l) => accessLines.push(l), metrics });
  ({ httpPort, httpsPort } = await plane.listen());
  await plane.update(baseTable(certs.secure));
});

after(async () => {
  if (skip) return;
  await plane?.close();
  backA?.close();
  backB?.close();
});

test('path matching rows (Exact, Prefix element-wise, regex) and host selection', { skip }, async () => {
  const cases: [host: string, path: string, want: string][] = [
    ['rows.test', '/exact', 'A'],
    ['rows.test', '/exact/', '404'],
    ['rows.test', '/Exact', '404'],
    ['rows.test', '/foo', 'A'], // Exact beats Prefix at equal length
    ['rows.test', '/foo/', 'B'],
    ['rows.test', '/foo/bar', 'B'],
    ['rows.test', '/foobar', '404'],
    ['rows.test', '/aaa/bbb', 'A'],
    ['rows.test', '/aaa/bbb/', 'A'],
    ['rows.test', '/aaa/bbb/ccc', 'A'],
    ['rows.test', '/aaa/bbbxyz', '404'],
    ['rows.test', '/we;ird{x}"$q/z', 'A'],
    ['rows.test', '/we;ird{x}"$qz', '404'],
    ['rows.test:8080', '/foo/x', 'B'],
    ['ROWS.test', '/exact', 'A'],
    ['x.wild.test', '/anything', 'B'],
    ['a.b.wild.test', '/hostless', 'B'], // two labels: not the wildcard → host-less rules
    ['a.b.wild.test', '/anything', '404'],
    ['unknown.test', '/hostless/x', 'B'],
    ['unknown.test', '/', '404'],
  ];
  for (const [host, path, want] of cases) assert.equal(await reach({ host, path }), want, `${host}${path}`);
});

test('rewrite-target with captures keeps the query string', { skip }, async () => {
  const r = await request({ host: 'rows.test', path: '/API/items/7?x=1' });
  assert.equal(r.status, 200);
  assert.equal((JSON.parse(r.body) as Echo).url, '/v2/items/7?x=1');
});

test('503 without endpoints, 404 for unsupported backends and unmatched paths', { skip }, async () => {
  const empty = await request({ host: 'rows.test', path: '/empty' });
  assert.equal(empty.status, 503);
  assert.match(empty.body, /service default\/gone not found/);
  const bucket = await request({ host: 'rows.test', path: '/bucket/x' });
  assert.equal(bucket.status, 404);
  assert.match(bucket.body, /resource backends are not supported/);
  const none = await request({ host: 'rows.test', path: '/nothing' });
  assert.equal(none.status, 404);
  assert.match(none.body, /default backend - 404/);
});

test('forwarded headers', { skip }, async () => {
  const r = await request({ host: 'rows.test:9999', path: '/foo/h', headers: { 'x-forwarded-for': '203.0.113.9', 'x-request-id': 'abc123' } });
  const h = (JSON.parse(r.body) as Echo).headers;
  assert.equal(h['x-forwarded-for'], '203.0.113.9, 127.0.0.1');
  assert.equal(h['x-real-ip'], '127.0.0.1');
  assert.equal(h['x-forwarded-proto'], 'http');
  assert.equal(h['x-forwarded-host'], 'rows.test:9999');
  assert.equal(h['x-forwarded-port'], String(httpPort));
  assert.equal(h['x-request-id'], 'abc123');
  assert.equal(h['host'], 'rows.test:9999');
  const fresh = (JSON.parse((await request({ host: 'rows.test', path: '/foo/h' })).body) as Echo).headers;
  assert.match(String(fresh['x-request-id']), /^[0-9a-f]{32}$/);
});

test('canary by header', { skip }, async () => {
  assert.equal(await reach({ host: 'rows.test', path: '/canary' }), 'A');
  assert.equal(await reach({ host: 'rows.test', path: '/canary', headers: { 'x-canary': 'always' } }), 'B');
  assert.equal(await reach({ host: 'rows.test', path: '/canary', headers: { 'x-canary': 'never' } }), 'A');
});

test('ssl-redirect (308) on plain HTTP for a TLS host; HTTPS by SNI with the host certificate', { skip }, async () => {
  const r = await request({ host: 'secure.test', path: '/p?q=1' });
  assert.equal(r.status, 308);
  assert.equal(r.headers.location, `https://secure.test:${httpsPort}/p?q=1`);
  const s = await request({ host: 'secure.test', path: '/p', tls: true });
  assert.equal(s.status, 200);
  assert.equal((JSON.parse(s.body) as Echo).headers['x-forwarded-proto'], 'https');
  assert.equal(s.cert?.fingerprint256, new X509Certificate(certs.secure.certPem).fingerprint256);
  const other = await request({ host: 'rows.test', path: '/foo', tls: true });
  assert.equal(other.status, 200);
  assert.equal(other.cert?.fingerprint256, new X509Certificate(certs.def.certPem).fingerprint256);
});

test('HTTP/2 over TLS (ALPN h2)', { skip }, async () => {
  const { connect } = await import('node:http2');
  const session = connect(`https://127.0.0.1:${httpsPort}`, { servername: 'secure.test', rejectUnauthorized: false });
  try {
    const body = await new Promise<string>((resolve, reject) => {
      const req = session.request({ ':path': '/h2', ':authority': 'secure.test' });
      let data = '';
      req.setEncoding('utf8');
      req.on('data', (c: string) => (data += c));
      req.on('end', () => resolve(data));
      req.on('error', reject);
    });
    assert.equal((JSON.parse(body) as Echo).name, 'A');
  } finally {
    session.close();
  }
});

test('a rejected configuration keeps the running one', { skip }, async () => {
  // Valid for JavaScript, refused by PCRE (variable-length lookbehind): nginx -t fails.
  const bad = baseTable(certs.secure);
  bad.hosts.set('bad.test', hostRoutes('bad.test', [route('(?<=a+)b', 'ImplementationSpecific', A, { ingress: 'bad', options: { useRegex: true } })]));
  await assert.rejects(plane.update(bad), /nginx rejected the configuration/);
  assert.equal(await reach({ host: 'rows.test', path: '/exact' }), 'A');
  await plane.update(baseTable(certs.secure));
});

test('a reload swaps the certificate while requests keep succeeding', { skip }, async () => {
  const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const tlsAgent = new https.Agent({ keepAlive: true, maxSockets: 4 });
  let stop = false;
  let ok = 0;
  const failures: string[] = [];
  const loop = async (o: Parameters<typeof request>[0]): Promise<void> => {
    while (!stop) {
      try {
        const r = await request(o);
        if (r.status === 200) ok++;
        else failures.push(`status ${r.status}`);
      } catch (err) {
        failures.push(`${o.host}${o.path}: ${String(err)}`);
      }
    }
  };
  const loops = [
    loop({ host: 'secure.test', path: '/a', tls: true }),
    loop({ host: 'secure.test', path: '/b', tls: true, agent: tlsAgent }),
    loop({ host: 'rows.test', path: '/foo/c', agent: keepAlive }),
    loop({ host: 'rows.test', path: '/foo/d' }),
  ];
  try {
    await new Promise((r) => setTimeout(r, 200));
    await plane.update(baseTable(certs.secure2));
    const after1 = await request({ host: 'secure.test', path: '/', tls: true });
    assert.equal(after1.cert?.fingerprint256, new X509Certificate(certs.secure2.certPem).fingerprint256);
    await plane.update(baseTable(certs.secure));
    await new Promise((r) => setTimeout(r, 200));
  } finally {
    stop = true;
    await Promise.all(loops);
    keepAlive.destroy();
    tlsAgent.destroy();
  }
  assert.deepEqual(failures, []);
  assert.ok(ok > 20, `only ${ok} requests completed`);
});

test('access log lines (upstreaminfo) and per-Ingress metrics from nginx\'s log', { skip }, async () => {
  await request({ host: 'rows.test', path: '/aaa/bbb/metrics?x=1', headers: { 'x-request-id': 'log-me-1', 'user-agent': 'probe/1' } });
  const deadline = Date.now() + 3_000;
  while (!accessLines.some((l) => l.includes('log-me-1')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  const line = accessLines.find((l) => l.includes('log-me-1'));
  assert.ok(line, 'no access log line');
  assert.match(line, /^127\.0\.0\.1 - - \[[^\]]+\] "GET \/aaa\/bbb\/metrics\?x=1 HTTP\/1\.1" 200 \d+ "-" "probe\/1" \d+ \d+\.\d{3} \[default-a-80\] \[\] 127\.0\.0\.1:\d+ \d+ \d+\.\d{3} 200 log-me-1$/);
  const text = metrics.render();
  assert.match(text, /nginx_ingress_controller_requests\{[^}]*ingress="web"[^}]*path="\/aaa\/bbb\/"[^}]*service="a"[^}]*status="200"[^}]*\} \d+/);
});

test('a port already in use fails start() with EADDRINUSE', { skip }, async () => {
  const other = new NginxDataPlane({ httpHost: '127.0.0.1', httpPort, httpsPort: 0, defaultCert: certs.def, workerProcesses: 1, log: () => undefined, readyTimeoutMs: 5_000 });
  await assert.rejects(other.listen(), (err: NodeJS.ErrnoException) => err.code === 'EADDRINUSE');
  assert.equal(await reach({ host: 'rows.test', path: '/exact' }), 'A');
});

test('canary by weight 20: 15-25% of 1,000 requests reach the canary', { skip }, async () => {
  const agent = new http.Agent({ keepAlive: true, maxSockets: 10 });
  try {
    const names = await Promise.all(Array.from({ length: 1000 }, () => reach({ host: 'rows.test', path: '/weighted', agent })));
    const canary = names.filter((n) => n === 'B').length;
    assert.equal(names.filter((n) => n !== 'A' && n !== 'B').length, 0);
    assert.ok(canary >= 150 && canary <= 250, `${canary} of 1000 reached the canary`);
  } finally {
    agent.destroy();
  }
});

test('limit-rps answers 503 beyond the burst; the body size limit answers 413', { skip }, async () => {
  const statuses: number[] = [];
  for (let i = 0; i < 12; i++) statuses.push((await request({ host: 'rows.test', path: '/limited' })).status);
  assert.equal(statuses[0], 200);
  assert.ok(statuses.includes(503), statuses.join(','));
  const post = (size: number): Promise<number> =>
    new Promise((resolve, reject) => {
      const req = http.request({ host: '127.0.0.1', port: httpPort, path: '/small', method: 'POST', headers: { host: 'rows.test' }, agent: false }, (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      });
      req.on('error', reject);
      req.end(Buffer.alloc(size, 'x'));
    });
  assert.equal(await post(512), 200);
  assert.equal(await post(4096), 413);
});

test('WebSocket upgrade is tunnelled', { skip }, async () => {
  const echoed = await new Promise<string>((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port: httpPort, path: '/foo/ws', headers: { host: 'rows.test', connection: 'Upgrade', upgrade: 'websocket' }, agent: false });
    req.on('upgrade', (res, socket) => {
      assert.equal(res.statusCode, 101);
      assert.equal(res.headers['x-backend'], 'B');
      socket.once('data', (d: Buffer) => {
        resolve(d.toString());
        socket.destroy();
      });
      socket.write('ping through nginx');
    });
    req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
    req.on('error', reject);
    req.end();
  });
  assert.equal(echoed, 'ping through nginx');
});

test('an update with an unchanged table does not reload', { skip }, async () => {
  const before = plane.configGeneration;
  await plane.update(baseTable(certs.secure));
  assert.equal(plane.configGeneration, before);
  const changed = baseTable(certs.secure);
  changed.hosts.set('new.test', hostRoutes('new.test', [route('/', 'Prefix', B, { ingress: 'new' })]));
  await plane.update(changed);
  assert.equal(plane.configGeneration, before + 1);
  assert.equal(await reach({ host: 'new.test', path: '/x' }), 'B');
  await plane.update(baseTable(certs.secure));
  assert.equal(await reach({ host: 'new.test', path: '/x' }), '404');
});

test('reloads under a loop of new connections: none fails, and each request sent after update() resolved gets the new configuration', { skip }, async () => {
  // flip.test alternates between backends A and B, one reload each, while 20 clients open a new
  // connection per request all along (the e2e canary test's client). A request started after
  // update(i) resolved and answered before update(i + 1) began must see configuration i.
  // The running workers are paused (SIGSTOP) across each reload for 300 ms, as a loaded machine
  // deschedules them: they must not accept connections with the old configuration afterwards.
  const flip = (i: number): RoutingTable => {
    const t = baseTable(certs.secure);
    t.hosts.set('flip.test', hostRoutes('flip.test', [route('/', 'Prefix', i % 2 ? B : A, { ingress: 'flip' })]));
    return t;
  };
  const want = (i: number): string => (i % 2 ? 'B' : 'A');
  await plane.update(flip(0));
  let served = 0; // the last i update(flip(i)) resolved for
  let applying = 0; // the last i update(flip(i)) was called for
  let stop = false;
  let ok = 0;
  const failures = new Map<string, number>();
  const fail = (k: string): void => void failures.set(k, (failures.get(k) ?? 0) + 1);
  const loops = Array.from({ length: 20 }, async () => {
    while (!stop) {
      const expect = served;
      try {
        const r = await request({ host: 'flip.test', path: '/' });
        if (r.status !== 200) fail(`status ${r.status}`);
        else if ((JSON.parse(r.body) as Echo).name !== want(expect) && applying === expect) fail(`configuration before ${expect}`);
        else ok++;
      } catch (err) {
        fail((err as NodeJS.ErrnoException).code ?? String(err));
      }
    }
  });
  try {
    for (let i = 1; i <= 10; i++) {
      applying = i;
      const master = Number(readFileSync(join(plane.workDir, 'nginx.pid'), 'utf8'));
      const old = childPids(master);
      const signal = (sig: NodeJS.Signals): void =>
        old.forEach((pid) => {
          try {
            process.kill(pid, sig);
          } catch {
            // Exited meanwhile.
          }
        });
      signal('SIGSTOP');
      const resume = setTimeout(() => signal('SIGCONT'), 300);
      try {
        await plane.update(flip(i));
      } finally {
        clearTimeout(resume);
        signal('SIGCONT');
      }
      served = i;
      await new Promise((r) => setTimeout(r, 150));
    }
  } finally {
    stop = true;
    await Promise.all(loops);
  }
  await plane.update(baseTable(certs.secure));
  assert.deepEqual(Object.fromEntries(failures), {});
  assert.ok(ok > 100, `only ${ok} requests completed`);
});
