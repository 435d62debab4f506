/**
 * Hostile and unusual clients: malformed requests (400), huge headers (431), slowloris
 * (closed after the header timeout while others are served), aborted clients and upstreams
 * dying mid-response; and WebSocket upgrades tunnelled both ways.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import tls from 'node:tls';
import { createHash } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { IngressProxy } from './index.js';
import { echoBackend, get, rawRequest, route, selfSigned, svc, table, type EchoBackend } from './testkit.js';

const WS_KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const WS_ACCEPT = createHash('sha1').update(`${WS_KEY}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');

/** Opens a WebSocket through `socket`: resolves with the handshake response head and the socket. */
function wsHandshake(socket: net.Socket, host: string, path: string): Promise<{ head: string; rest: Buffer }> {
  return new Promise((resolve, reject) => {
    let buf = Buffer.alloc(0);
    const onData = (c: Buffer): void => {
      buf = Buffer.concat([buf, c]);
      const end = buf.indexOf('\r\n\r\n');
      if (end >= 0) {
        socket.off('data', onData);
        resolve({ head: buf.subarray(0, end).toString('latin1'), rest: buf.subarray(end + 4) });
      }
    };
    socket.on('data', onData);
    socket.on('error', reject);
    socket.on('close', () => resolve({ head: buf.toString('latin1'), rest: Buffer.alloc(0) }));
    socket.write(
      `GET ${path} HTTP/1.1\r\nHost: ${host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${WS_KEY}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
    );
  });
}

function readBytes(socket: net.Socket, n: number, already: Buffer): Promise<Buffer> {
  return new Promise((resolve) => {
    let buf = already;
    if (buf.length >= n) return resolve(buf);
    socket.on('data', (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      if (buf.length >= n) resolve(buf);
    });
  });
}

describe('IngressProxy robustness', () => {
  let a: EchoBackend;
  let proxy: IngressProxy;
  let port = 0;
  let httpsPort = 0;
  let dying: http.Server;

  before(async () => {
    a = await echoBackend('a');
    dying = http.createServer((_req, res) => {
      res.writeHead(200, { 'content-length': '1000' });
      res.write('partial');
      setTimeout(() => res.socket?.destroy(), 20);
    });
    await new Promise<void>((r) => dying.listen(0, '127.0.0.1', () => r()));
    const cert = { secret: 'default/a', ...(await selfSigned(['a.test'])) };
    proxy = new IngressProxy({
      httpHost: '127.0.0.1',
      httpPort: 0,
      httpsPort: 0,
      defaultCert: await selfSigned(['default.invalid']),
      headersTimeoutMs: 600,
      requestTimeoutMs: 2_000,
      timeoutCheckIntervalMs: 100,
    });
    ({ httpPort: port, httpsPort } = await proxy.listen());
    await proxy.update(
      table(
        {
          'a.test': [
            route('/dying', svc('dying', [{ address: '127.0.0.1', port: (dying.address() as AddressInfo).port }])),
            route('/', svc('a', [a.upstream])),
          ],
          'empty.test': [route('/', svc('e', []))],
          'force.test': [route('/', svc('a', [a.upstream]), { options: { forceSslRedirect: true } })],
        },
        { tls: { 'a.test': cert } },
      ),
    );
  });
  after(async () => {
    await proxy.close();

    await a.close();

    dying.closeAllConnections();
    dying.close();
  });

  it('answers malformed requests with 400 and oversized heads with 431, then keeps serving', async () => {
    const cases: [string, RegExp][] = [
      ['GARBAGE\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET / HTTP/1.1\r\nHost: a.test\r\nBad Header Line\r\n\r\n', /^HTTP\/1\.1 400 /],
      ['GET / HTTP/1.1\r\nHost: a.test\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /^HTTP\/1\.1 400 /],
      [`GET / HTTP/1.1\r\nHost: a.test\r\nX-Big: ${'x'.repeat(40_000)}\r\n\r\n`, /^HTTP\/1\.1 431 /],
    ];
    for (const [req, want] of cases) assert.match(await rawRequest(port, req), want, req.slice(0, 40));
    assert.equal((await get(port, 'a.test', '/')).status, 200);
  });

  for (const secure of [false, true]) it(`closes a slowloris connection after the header timeout while serving others (${secure ? 'TLS' : 'plain'})`, async () => {
    const slow = secure
      ? tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] })
      : net.connect(port, '127.0.0.1');
    const closed = new Promise<{ ms: number; data: string }>((resolve) => {
      const t0 = Date.now();
      let data = '';
      slow.on('data', (c: Buffer) => (data += c.toString('latin1')));
      slow.on('close', () => resolve({ ms: Date.now() - t0, data }));
      slow.on('error', () => {});
    });
    slow.write('GET / HTTP/1.1\r\nHost: a.test\r\n');
    const drip = setInterval(() => slow.writable && slow.write('X-Drip: 1\r\n'), 100);
    try {
      for (let i = 0; i < 3; i++) {
        const t0 = Date.now();
        assert.equal((await get(port, 'a.test', '/')).status, 200);
        assert.ok(Date.now() - t0 < 500, 'other clients are served promptly');
      }
      const { ms, data } = await closed;
      assert.ok(ms < 3_000, `closed after ${ms} ms`);
      assert.match(data, /^(HTTP\/1\.1 408 |$)/);
    } finally {
      clearInterval(drip);
      slow.destroy();
    }
  });

  it('survives clients that abort and upstreams that die mid-response', async () => {
    await new Promise<void>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/slow', headers: { host: 'a.test' }, agent: false });
      req.on('error', () => resolve());
      req.end();
      setTimeout(() => {
        req.destroy();
        resolve();
      }, 100);
    });
    const died = await new Promise<string>((resolve) => {
      const req = http.request({ host: '127.0.0.1', port, path: '/dying', headers: { host: 'a.test' }, agent: false }, (res) => {
        res.on('data', () => {});
        res.on('error', () => resolve('aborted'));
        res.on('end', () => resolve('complete'));
        res.on('close', () => resolve(res.complete ? 'complete' : 'aborted'));
      });
      req.on('error', () => resolve('aborted'));
      req.end();
    });
    assert.equal(died, 'aborted');
    assert.equal((await get(port, 'a.test', '/')).status, 200);
  });

  it('tunnels WebSocket upgrades both ways (plain and TLS)', async () => {
    const open = async (secure: boolean): Promise<net.Socket> =>
      secure
        ? await new Promise<net.Socket>((resolve) => {
            const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'a.test', rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => resolve(s));
          })
        : net.connect(port, '127.0.0.1');
    for (const secure of [false, true]) {
      const s = await open(secure);
      try {
        const { head, rest } = await wsHandshake(s, 'a.test', '/chat');
        assert.match(head, /^HTTP\/1\.1 101 /, `secure=${secure}`);
        assert.match(head, new RegExp(`Sec-WebSocket-Accept: ${WS_ACCEPT.replace(/[+/]/g, '\\$&')}`));
        assert.match(head, /X-Backend: a/);
        const payload = Buffer.from([0x81, 0x85, 1, 2, 3, 4, 0x69, 0x67, 0x6f, 0x68, 0x6e]);
        s.write(payload);
        const echoed = await readBytes(s, payload.length, rest);
        assert.deepEqual(echoed, payload);
      } finally {
        s.destroy();
      }
    }
    const s = net.connect(port, '127.0.0.1');
    try {
      assert.match((await wsHandshake(s, 'nothing.test', '/')).head, /^HTTP\/1\.1 404 /);
    } finally {
      s.destroy();
    }
    const s2 = net.connect(port, '127.0.0.1');
    try {
      assert.match((await wsHandshake(s2, 'empty.test', '/')).head, /^HTTP\/1\.1 503 /);
    } finally {
      s2.destroy();
    }
    const s3 = net.connect(port, '127.0.0.1');
    try {
      const { head } = await wsHandshake(s3, 'force.test', '/ws?x=1');
      assert.match(head, /^HTTP\/1\.1 308 /);
      assert.match(head, new RegExp(`\r\nlocation: https://force\\.test:${httpsPort}/ws\\?x=1\r\n`));
    } finally {
      s3.destroy();
    }
  });
});
