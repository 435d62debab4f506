/**
 * The TLS side of the proxy: SNI certificate choice, HTTP/2 over ALPN, certificate swaps by
 * update() without dropping an open keep-alive connection, and HTTPS / GRPC (h2c) upstreams.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import http2 from 'node:http2';
import tls from 'node:tls';
import { X509Certificate } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { IngressProxy } from './index.js';
import { deadPort, echoBackend, route, selfSigned, svc, table, type EchoBackend, type Seen } from './testkit.js';
import type { RoutingTable, TlsCertificate } from '../types.js';

/** The CN of the certificate the proxy presents for `servername` (undefined: no SNI). */
function servedCN(port: number, servername?: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const s = tls.connect({ host: '127.0.0.1', port, servername, rejectUnauthorized: false, ALPNProtocols: ['http/1.1'] }, () => {
      const cert = s.getPeerX509Certificate();
      s.destroy();
      resolve(/CN=([^\n,]+)/.exec(cert?.subject ?? '')?.[1] ?? '');
    });
    s.on('error', reject);
  });
}

function httpsGet(port: number, host: string, path: string, agent: https.Agent | false): Promise<{ status: number; body: string; reused: boolean; cn: string }> {
  return new Promise((resolve, reject) => {
    const req = https.request({ host: '127.0.0.1', port, path, servername: host, headers: { host }, agent, rejectUnauthorized: false }, (res) => {
      const cert = (res.socket as tls.TLSSocket).getPeerX509Certificate();
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c: string) => (body += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body, reused: req.reusedSocket, cn: /CN=([^\n,]+)/.exec(cert?.subject ?? '')?.[1] ?? '' }));
    });
    req.on('error', reject);
    req.end();
  });
}

describe('IngressProxy over TLS', () => {
  let a: EchoBackend;
  let proxy: IngressProxy;
  let httpsPort = 0;
  let certA: TlsCertificate, certA2: TlsCertificate, certWild: TlsCertificate;

  before(async () => {
    a = await echoBackend('a');
    proxy = new IngressProxy({ httpHost: '127.0.0.1', httpPort: 0, httpsPort: 0, defaultCert: await selfSigned(['default.invalid']) });
    ({ httpsPort } = await proxy.listen());
    certA = { secret: 'default/a', ...(await selfSigned(['a.test'])) };
    certA2 = { secret: 'default/a', ...(await selfSigned(['a.test', 'renewed.a.test'])) };
    certWild = { secret: 'default/wild', ...(await selfSigned(['*.w.test'])) };
  });
  after(async () => {
    await proxy.close();
    await a.close();
  });

  const tableWith = (tlsA: TlsCertificate): RoutingTable =>
    table(
      { 'a.test': [route('/', svc('a', [a.upstream]))], '*.w.test': [route('/', svc('a', [a.upstream]))] },
      { tls: { 'a.test': tlsA, '*.w.test': certWild } },
    );

  it('picks the certificate by SNI: exact, then wildcard, else the default', async () => {
    await proxy.update(tableWith(certA));
    const cases: [string | undefined, string][] = [
      ['a.test', 'a.test'],
      ['A.Test', 'a.test'],
      ['x.w.test', '*.w.test'],
      ['y.x.w.test', 'default.invalid'],
      ['w.test', 'default.invalid'],
      ['other.test', 'default.invalid'],
      [undefined, 'default.invalid'],
    ];
    for (const [sni, cn] of cases) assert.equal(await servedCN(httpsPort, sni), cn, String(sni));
  });

  it('serves HTTPS requests with X-Forwarded-Proto https', async () => {
    await proxy.update(tableWith(certA));
    const r = await httpsGet(httpsPort, 'a.test', '/x', false);
    assert.equal(r.status, 200);
    const seen = JSON.parse(r.body) as Seen;
    assert.equal(seen.headers['x-forwarded-proto'], 'https');
    assert.equal(seen.headers['x-forwarded-port'], String(httpsPort));
  });

  it('speaks HTTP/2 when ALPN offers h2', async () => {
    await proxy.update(tableWith(certA));
    const session = http2.connect(`https://a.test:${httpsPort}`, { host: '127.0.0.1', servername: 'a.test', rejectUnauthorized: false } as http2.SecureClientSessionOptions);
    try {
      const got = await new Promise<{ status: number; body: string; proto: string }>((resolve, reject) => {
        const s = session.request({ ':path': '/h2?z=1', ':method': 'GET' });
        let status = 0;
        let body = '';
        s.on('response', (h) => (status = Number(h[':status'])));
        s.setEncoding('utf8');
        s.on('data', (c: string) => (body += c));
        s.on('end', () => resolve({ status, body, proto: (session.socket as tls.TLSSocket).alpnProtocol || '' }));
        s.on('error', reject);
      });
      assert.equal(got.proto, 'h2');
      assert.equal(got.status, 200);
      const seen = JSON.parse(got.body) as Seen;
      assert.equal(seen.url, '/h2?z=1');
      assert.equal(seen.headers['host'], `a.test:${httpsPort}`);
      assert.equal(seen.headers['x-forwarded-proto'], 'https');
    } finally {
      session.close();
    }
  });

  it('swaps certificates on update() while an open keep-alive connection keeps working', async () => {
    await proxy.update(tableWith(certA));
    const agent = new https.Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const first = await httpsGet(httpsPort, 'a.test', '/1', agent);
      assert.equal(first.status, 200);
      const serial1 = new X509Certificate(certA.certPem).serialNumber;
      await proxy.update(tableWith(certA2));
      const second = await httpsGet(httpsPort, 'a.test', '/2', agent);
      assert.equal(second.status, 200);
      assert.equal(second.reused, true, 'the keep-alive connection survived the update');
      const fresh = await new Promise<string>((resolve, reject) => {
        const s = tls.connect({ host: '127.0.0.1', port: httpsPort, servername: 'a.test', rejectUnauthorized: false }, () => {
          resolve(s.getPeerX509Certificate()?.serialNumber ?? '');
          s.destroy();
        });
        s.on('error', reject);
      });
      assert.equal(fresh, new X509Certificate(certA2.certPem).serialNumber);
      assert.notEqual(fresh, serial1);
    } finally {
      agent.destroy();
    }
  });

  it('forwards to HTTPS backends without verifying them, to GRPC backends over h2c (retrying a dead endpoint), 502 over h2', async () => {
    const backendCert = await selfSigned(['backend.internal']);
    const secure = https.createServer({ cert: backendCert.certPem, key: backendCert.keyPem }, (req, res) => {
      res.end(`tls-backend ${req.url} ${(req.socket as tls.TLSSocket).encrypted ? 'encrypted' : 'plain'}`);
    });
    await new Promise<void>((r) => secure.listen(0, '127.0.0.1', () => r()));
    const h2c = http2.createServer();
    h2c.on('stream', (stream, headers) => {
      stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
      stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0', 'grpc-message': 'ok' }));
      const chunks: Buffer[] = [];
      stream.on('data', (c: Buffer) => chunks.push(c));
      stream.on('end', () => stream.end(`grpc ${headers[':path']} te=${headers['te']} got=${Buffer.concat(chunks).length}`));
    });
    await new Promise<void>((r) => h2c.listen(0, '127.0.0.1', () => r()));
    try {
      const sPort = (secure.address() as AddressInfo).port;
      const gPort = (h2c.address() as AddressInfo).port;
      const dead = await deadPort();
      await proxy.update(
        table({
          'a.test': [
            route('/tls', svc('tls', [{ address: '127.0.0.1', port: sPort }]), { options: { backendProtocol: 'HTTPS' } }),
            route('/pkg.Svc', svc('grpc', [{ address: '127.0.0.1', port: dead }, { address: '127.0.0.1', port: gPort }]), { options: { backendProtocol: 'GRPC' } }),
            route('/dead', svc('dead', [{ address: '127.0.0.1', port: dead }])),
          ],
        }, { tls: { 'a.test': certA } }),
      );
      const r = await httpsGet(httpsPort, 'a.test', '/tls/x', false);
      assert.equal(r.body, 'tls-backend /tls/x encrypted');
      const session = http2.connect(`https://127.0.0.1:${httpsPort}`, { servername: 'a.test', rejectUnauthorized: false });
      try {
        const got = await new Promise<{ status: number; body: string; trailers: http2.IncomingHttpHeaders }>((resolve, reject) => {
          const s = session.request({ ':path': '/pkg.Svc/Method', ':method': 'POST', ':authority': 'a.test', 'content-type': 'application/grpc', te: 'trailers' });
          let status = 0;
          let body = '';
          let trailers: http2.IncomingHttpHeaders = {};
          s.on('response', (h) => (status = Number(h[':status'])));
          s.on('trailers', (t) => (trailers = t));
          s.setEncoding('utf8');
          s.on('data', (c: string) => (body += c));
          s.on('end', () => resolve({ status, body, trailers }));
          s.on('error', reject);
          s.end(Buffer.alloc(5));
        });
        assert.equal(got.status, 200);
        assert.equal(got.body, 'grpc /pkg.Svc/Method te=trailers got=5');
        assert.equal(got.trailers['grpc-status'], '0');
        const deadStatus = await new Promise<number>((resolve, reject) => {
          const s = session.request({ ':path': '/dead', ':authority': 'a.test' });
          s.on('response', (h) => resolve(Number(h[':status'])));
          s.on('error', reject);
          s.resume();
        });
        assert.equal(deadStatus, 502);
      } finally {
        session.close();
      }
    } finally {
      secure.closeAllConnections();
      secure.close();
      h2c.close();
    }
  });
});
