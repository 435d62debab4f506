/**
 * The upstream HTTP/1.1 client's pool and exchanges against hand-written raw TCP servers on
 * 127.0.0.1 (so the framing on the wire is exactly what each case says), plus the
 * stale-connection retry through IngressProxy. The wire formats: upstream-parser.test.ts.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import http2 from 'node:http2';
import { spawn, type ChildProcess } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import type { ResponseHead } from './upstream-parser.js';
import {
  ConnectFailure,
  StaleConnection,
  UpstreamPool,
  UpstreamTimeout,
  type UpstreamExchange,
  type UpstreamRequest,
} from './upstream.js';
import { IngressProxy } from './index.js';
import { deadPort, get, route, selfSigned, svc, table } from './testkit.js';

/** A request as the raw server saw it. */
interface Seen {
  head: string;
  body: Buffer;
  conn: number;
}

/**
 * A raw TCP server: parses each request (Content-Length or chunked bodies) and calls `respond`
 * with the socket. Counts connections.
 */
async function rawServer(respond: (s: net.Socket, req: Seen, nth: number) => void): Promise<{ port: number; conns: number; seen: Seen[]; sockets: Set<net.Socket>; close(): Promise<void> }> {
  const st = { port: 0, conns: 0, seen: [] as Seen[], sockets: new Set<net.Socket>(), close: async (): Promise<void> => {} };
  const server = net.createServer((s) => {
    const conn = ++st.conns;
    st.sockets.add(s);
    s.on('close', () => st.sockets.delete(s));
    s.on('error', () => {});
    let buf = Buffer.alloc(0);
    let nth = 0;
    const pump = (): void => {
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        let rest = buf.subarray(end + 4);
        let body: Buffer;
        const cl = /\r\ncontent-length: *(\d+)/i.exec(head);
        if (cl) {
          const n = Number(cl[1]);
          if (rest.length < n) return;
          body = rest.subarray(0, n);
          rest = rest.subarray(n);
        } else if (/\r\ntransfer-encoding: *chunked/i.test(head)) {
          const parts: Buffer[] = [];
          let i = 0;
          for (;;) {
            const nl = rest.indexOf('\r\n', i);
            if (nl < 0) return;
            const size = parseInt(rest.subarray(i, nl).toString('latin1'), 16);
            if (size === 0) {
              if (rest.length < nl + 4) return;
              rest = rest.subarray(nl + 4);
              break;
            }
            if (rest.length < nl + 2 + size + 2) return;
            parts.push(rest.subarray(nl + 2, nl + 2 + size));
            i = nl + 2 + size + 2;
          }
          body = Buffer.concat(parts);
        } else body = Buffer.alloc(0);
        buf = rest;
        const req = { head, body, conn };
        st.seen.push(req);
        respond(s, req, ++nth);
      }
    };
    s.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      pump();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  st.port = (server.address() as AddressInfo).port;
  st.close = () =>
    new Promise<void>((r) => {
      for (const s of st.sockets) s.destroy();
      server.close(() => r());
    });
  return st;
}

interface Outcome {
  status?: number;
  head?: ResponseHead;
  body: Buffer;
  trailers?: Record<string, string>;
  error?: Error;
  reused: boolean;
}

/** Runs one exchange; `body` chunks are written with back-pressure once connected. */
function exchange(
  pool: UpstreamPool,
  port: number,
  req: Partial<UpstreamRequest> = {},
  o: { body?: Buffer[]; onData?: (ex: UpstreamExchange, chunk: Buffer) => void; sawBackPressure?: { up: boolean } } = {},
): Promise<Outcome> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const out: Outcome = { body: Buffer.alloc(0), reused: false };
    const full: UpstreamRequest = { method: 'GET', target: '/', headers: { host: 'up.test' }, framing: 'none', connectTimeoutMs: 1_000, sendTimeoutMs: 2_000, readTimeoutMs: 2_000, ...req };
    const ex: UpstreamExchange = pool.exchange('127.0.0.1', port, full, {
      onConnect: () => {
        out.reused = ex.reused;
        const body = [...(o.body ?? [])];
        const next = (): void => {
          while (body.length > 0) {
            if (!ex.write(body.shift()!)) {
              if (o.sawBackPressure) o.sawBackPressure.up = true;
              ex.once('drain', next);
              return;
            }
          }
          ex.end();
        };
        next();
      },
      onResponse: (h) => {
        out.head = h;
        out.status = h.status;
      },
      onData: (c) => {
        chunks.push(Buffer.from(c));
        o.onData?.(ex, c);
      },
      onEnd: (t) => {
        out.trailers = t;
        out.body = Buffer.concat(chunks);
        resolve(out);
      },
      onError: (e) => {
        out.error = e;
        out.body = Buffer.concat(chunks);
        resolve(out);
      },
    });
    ex.start();
  });
}

/**
 * A loopback port whose connects hang: a listener (python3, which unlike node does not accept on
 * its own) with a backlog of 0, its queue filled by one connection. Undefined without python3.
 */
async function blackhole(): Promise<{ port: number; close(): void } | undefined> {
  let py: ChildProcess;
  try {
    py = spawn('python3', ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(60)"]);
  } catch {
    return undefined;
  }
  const port = await new Promise<number>((r) => {
    py.on('error', () => r(0));
    py.stdout!.once('data', (d: Buffer) => r(Number(String(d).trim())));
  });
  if (!port) return undefined;
  const filler = net.connect(port, '127.0.0.1');
  filler.on('error', () => {});
  await new Promise((r) => filler.once('connect', r));
  return {
    port,
    close: () => {
      filler.destroy();
      py.kill();
    },
  };
}

const tick = (ms = 20): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('UpstreamPool over raw sockets', () => {
  const pools: UpstreamPool[] = [];
  const newPool = (o?: ConstructorParameters<typeof UpstreamPool>[0]): UpstreamPool => {
    const p = new UpstreamPool(o);
    pools.push(p);
    return p;
  };
  after(() => pools.forEach((p) => p.close()));

  it('reuses one keep-alive socket for sequential requests (LIFO), and not after connection: close or extra bytes', async () => {
    const srv = await rawServer((s, req) => {
      const path = req.head.split(' ')[1];
      if (path === '/close') s.write('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 2\r\n\r\nok');
      else if (path === '/extra') s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokJUNK');
      else if (path === '/chunked') s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3;x=1\r\nabc\r\n0\r\nX-T: 1\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    try {
      const pool = newPool();
      for (let i = 0; i < 3; i++) {
        const r = await exchange(pool, srv.port);
        assert.equal(r.status, 200);
        assert.equal(r.body.toString(), 'ok');
        assert.equal(r.reused, i > 0);
      }
      const ch = await exchange(pool, srv.port, { target: '/chunked' });
      assert.equal(ch.body.toString(), 'abc');
      assert.deepEqual(ch.trailers, { 'x-t': '1' });
      assert.equal(srv.conns, 1, 'one connection for four requests');
      assert.equal(pool.idleCount(`127.0.0.1:${srv.port}`), 1);
      assert.equal((await exchange(pool, srv.port, { target: '/close' })).body.toString(), 'ok');
      assert.equal(pool.idleCount(), 0, 'connection: close is not pooled');
      assert.equal((await exchange(pool, srv.port, { target: '/extra' })).body.toString(), 'ok');
      assert.equal(pool.idleCount(), 0, 'a socket with bytes after the response is not pooled');
      await exchange(pool, srv.port);
      assert.equal(srv.conns, 3, 'the connection: close one was the reused socket');
      // Bytes arriving while idle: dropped.
      for (const s of srv.sockets) s.write('HTTP/1.1 200 OK\r\n\r\n');
      await tick();
      assert.equal(pool.idleCount(), 0);
    } finally {
      await srv.close();
    }
  });

  it('drops idle sockets the upstream closes, after the idle timeout, and beyond the idle cap', async () => {
    const srv = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n'));
    try {
      const pool = newPool({ idleTimeoutMs: 100, maxIdlePerEndpoint: 1 });
      await Promise.all([exchange(pool, srv.port), exchange(pool, srv.port)]);
      assert.equal(srv.conns, 2);
      assert.equal(pool.idleCount(), 1, 'capped at one idle socket');
      for (const s of srv.sockets) s.end();
      await tick(50);
      assert.equal(pool.idleCount(), 0, 'closed by the upstream');
      await exchange(pool, srv.port);
      assert.equal(pool.idleCount(), 1);
      await tick(250);
      assert.equal(pool.idleCount(), 0, 'idle timeout');
      assert.equal(srv.sockets.size, 0);
    } finally {
      await srv.close();
    }
  });

  it('reports a reused socket that dies before any response byte as StaleConnection', async () => {
    const srv = await rawServer((s, _req, nth) => {
      if (nth === 1) s.write('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n');
      else s.destroy();
    });
    try {
      const pool = newPool();
      assert.equal((await exchange(pool, srv.port)).status, 200);
      const r = await exchange(pool, srv.port);
      assert.ok(r.error instanceof StaleConnection, String(r.error));
      // On a fresh connection the same failure is a plain error (no stale retry).
      const srv2 = await rawServer((s) => s.destroy());
      const r2 = await exchange(pool, srv2.port);
      await srv2.close();
      assert.ok(r2.error && !(r2.error instanceof StaleConnection) && !(r2.error instanceof ConnectFailure), String(r2.error));
    } finally {
      await srv.close();
    }
  });

  it('maps refused connects, read timeouts, bad responses and truncated bodies to errors', async () => {
    const pool = newPool();
    const refused = await exchange(pool, await deadPort());
    assert.ok(refused.error instanceof ConnectFailure && !refused.error.timeout, String(refused.error));
    const srv = await rawServer((s, req) => {
      const path = req.head.split(' ')[1];
      if (path === '/garbage') s.write('HTTP/1.1 OK\r\n\r\n');
      else if (path === '/short') {
        s.write('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\npart');
        s.end();
      } else if (path === '/big') s.write(`HTTP/1.1 200 OK\r\nX-Big: ${'x'.repeat(70_000)}\r\n\r\n`);
      else if (path === '/close-delimited') s.end('HTTP/1.1 200 OK\r\n\r\nall of it');
      // '/slow' never answers.
    });
    try {
      const slow = await exchange(pool, srv.port, { target: '/slow', readTimeoutMs: 100 });
      assert.ok(slow.error instanceof UpstreamTimeout, String(slow.error));
      assert.match(slow.error.message, /read timed out/);
      assert.match(String((await exchange(pool, srv.port, { target: '/garbage' })).error), /bad status line/);
      assert.match(String((await exchange(pool, srv.port, { target: '/big' })).error), /too large/);
      const short = await exchange(pool, srv.port, { target: '/short' });
      assert.ok(short.error, 'truncated body is an error');
      assert.equal(short.body.toString(), 'part');
      const cd = await exchange(pool, srv.port, { target: '/close-delimited' });
      assert.equal(cd.error, undefined);
      assert.equal(cd.body.toString(), 'all of it');
      assert.equal(pool.idleCount(), 0);
      const bad = await exchange(pool, srv.port, { headers: { 'x-a': 'a\r\nInjected: 1' } });
      assert.match(String(bad.error), /invalid header/);
    } finally {
      await srv.close();
    }
  });

  it('fails a hanging connect with ConnectFailure(timeout); the proxy tries the next endpoint, 504 when both hang', async (t) => {
    const hole = await blackhole();
    if (!hole) return t.skip('python3 not available');
    const good = await rawServer((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'));
    const proxy = new IngressProxy({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: await selfSigned(['default.invalid']) });
    try {
      const t0 = Date.now();
      const r = await exchange(newPool(), hole.port, { connectTimeoutMs: 150 });
      assert.ok(r.error instanceof ConnectFailure && r.error.timeout, String(r.error));
      assert.ok(Date.now() - t0 < 1_000);
      const { httpPort } = await proxy.listen();
      const hung = { address: '127.0.0.1', port: hole.port };
      const opts = { options: { connectTimeoutMs: 150 } };
      await proxy.update(
        table({
          'next.test': [route('/', svc('n', [hung, { address: '127.0.0.1', port: good.port }]), opts)],
          'both.test': [route('/', svc('b', [hung, hung]), opts)],
        }),
      );
      // Round-robin starts one of the two requests on the hanging endpoint.
      for (let i = 0; i < 2; i++) {
        const next = await get(httpPort, 'next.test', '/');
        assert.equal(next.status, 200);
        assert.equal(next.body, 'ok');
      }
      assert.equal((await get(httpPort, 'both.test', '/')).status, 504);
    } finally {
      hole.close();
      await proxy.close();
      await good.close();
    }
  });

  it('sends a HEAD without reading a body, and skips 100-continue', async () => {
    const srv = await rawServer((s, req) => {
      if (req.head.startsWith('HEAD')) s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n');
      else s.write('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok');
    });
    try {
      const pool = newPool();
      const h = await exchange(pool, srv.port, { method: 'HEAD' });
      assert.equal(h.status, 200);
      assert.equal(h.body.length, 0);
      const c = await exchange(pool, srv.port, { method: 'POST', headers: { host: 'x', 'content-length': '3', expect: '100-continue' }, framing: 'length' }, { body: [Buffer.from('abc')] });
      assert.equal(c.status, 200);
      assert.equal(c.body.toString(), 'ok');
      assert.equal(srv.seen[1]!.body.toString(), 'abc');
      assert.equal(srv.conns, 1, 'both on one connection');
    } finally {
      await srv.close();
    }
  });

  it('streams a chunked request body with exact framing', async () => {
    const srv = await rawServer((s, req) => s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\n\r\n${req.body.toString('latin1')}`));
    try {
      const pool = newPool();
      const r = await exchange(pool, srv.port, { method: 'POST', framing: 'chunked' }, { body: [Buffer.from('hello '), Buffer.alloc(0), Buffer.from('chunked world')] });
      assert.equal(r.body.toString(), 'hello chunked world');
      assert.match(srv.seen[0]!.head, /\r\ntransfer-encoding: chunked$/);
      assert.ok(!/content-length/i.test(srv.seen[0]!.head));
      assert.equal(pool.idleCount(), 1, 'reusable after a chunked request');
    } finally {
      await srv.close();
    }
  });

  it('applies back-pressure both ways with a 20 MB body', async () => {
    const SIZE = 20 * 1024 * 1024;
    let serverBlocked = false;
    const srv = await rawServer((s, req) => {
      assert.equal(req.body.length, SIZE);
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`);
      const piece = Buffer.alloc(64 * 1024, 7);
      let sent = 0;
      const more = (): void => {
        while (sent < SIZE) {
          sent += piece.length;
          if (!s.write(piece)) {
            serverBlocked = true;
            s.once('drain', more);
            return;
          }
        }
      };
      more();
    });
    try {
      const pool = newPool();
      const up = { up: false };
      let paused = 0;
      const body: Buffer[] = [];
      for (let i = 0; i < 20; i++) body.push(Buffer.alloc(1024 * 1024, i));
      const r = await exchange(pool, srv.port, { method: 'PUT', headers: { host: 'x', 'content-length': String(SIZE) }, framing: 'length', readTimeoutMs: 10_000, sendTimeoutMs: 10_000 }, {
        body,
        sawBackPressure: up,
        onData: (ex) => {
          // A slow client: stop reading the upstream now and then.
          if (paused++ % 20 === 0) {
            ex.pause();
            setTimeout(() => ex.resume(), 5);
          }
        },
      });
      assert.equal(r.error, undefined);
      assert.equal(r.body.length, SIZE);
      assert.ok(up.up, 'write() reported back-pressure upstream');
      assert.ok(serverBlocked, 'the upstream was held back by our paused reads');
      assert.equal(pool.idleCount(), 1);
    } finally {
      await srv.close();
    }
  });
});

describe('IngressProxy over the upstream pool', () => {
  it('retries a stale keep-alive connection and streams a chunked client body upstream', async () => {
    // Answers one GET per connection, then drops the connection on the next GET: every GET reuse is stale.
    const srv = await rawServer((s, req, nth) => {
      if (nth > 1 && req.head.startsWith('GET')) return void s.destroy();
      s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${req.body.length}\r\nSet-Cookie: a=1\r\nSet-Cookie: b=2\r\n\r\n${req.body.toString('latin1')}`);
    });
    const bad = await rawServer((s, req) => {
      if (req.head.startsWith('GET /header')) s.write('HTTP/1.1 200 OK\r\nX-Bad: a\x01b\r\nContent-Length: 0\r\n\r\n');
      else s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\nX-Bad: a\x01b\r\n\r\n');
    });
    const proxy = new IngressProxy({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: await selfSigned(['default.invalid']) });
    try {
      const { httpPort, httpsPort } = await proxy.listen();
      await proxy.update(table({ 'stale.test': [route('/', svc('s', [{ address: '127.0.0.1', port: srv.port }]))] }));
      for (let i = 0; i < 3; i++) {
        const r = await get(httpPort, 'stale.test', '/');
        assert.equal(r.status, 200, `request ${i}: ${r.body}`);
        assert.deepEqual(r.headers['set-cookie'], ['a=1', 'b=2']);
      }
      assert.equal(srv.conns, 3);
      const posted = await get(httpPort, 'stale.test', '/', { method: 'POST', headers: { 'transfer-encoding': 'chunked' }, body: 'streamed body' });
      assert.equal(posted.status, 200);
      assert.equal(posted.body, 'streamed body');
      assert.match(srv.seen.at(-1)!.head, /\r\ntransfer-encoding: chunked/);
      // An HTTP/2 client body without a length goes upstream chunked.
      const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { servername: 'stale.test', rejectUnauthorized: false } as http2.SecureClientSessionOptions);
      const h2body = await new Promise<string>((resolve, reject) => {
        const st = session.request({ ':method': 'POST', ':path': '/', ':authority': 'stale.test' });
        let got = '';
        st.on('data', (c: Buffer) => (got += c.toString()));
        st.on('end', () => resolve(got));
        st.on('error', reject);
        st.write('over ');
        setTimeout(() => st.end('h2'), 20);
      });
      session.close();
      assert.equal(h2body, 'over h2');
      assert.match(srv.seen.at(-1)!.head, /\r\ntransfer-encoding: chunked/);
      // Header or trailer values node refuses to write: 502 or a cut response, never a crash.
      await proxy.update(
        table({
          'badhdr.test': [route('/', svc('h', [{ address: '127.0.0.1', port: bad.port }]))],
          'stale.test': [route('/', svc('s', [{ address: '127.0.0.1', port: srv.port }]))],
        }),
      );
      assert.equal((await get(httpPort, 'badhdr.test', '/header')).status, 502);
      const cut = await get(httpPort, 'badhdr.test', '/trailer', { headers: { te: 'trailers' } }).then(
        (r) => r.body,
        () => 'cut',
      );
      assert.ok(cut === 'cut' || cut === 'ok', cut);
      assert.equal((await get(httpPort, 'stale.test', '/')).status, 200);
    } finally {
      await proxy.close();
      await srv.close();
      await bad.close();
    }
  });
});
