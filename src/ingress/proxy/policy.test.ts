/** Table tests of the pure proxy policies and the access-log format. */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import {
  cookieValue,
  forwardedHeaders,
  hostName,
  InFlight,
  redirectLocation,
  rewritePath,
  RoundRobin,
  stripHopByHop,
  TokenBuckets,
  upstreamName,
  useCanary,
} from './policy.js';
import { accessLogLine, ProxyMetrics, timeLocal, type RequestRecord } from './observe.js';
import { Registry } from '../../util/prometheus.js';
import type { Canary } from '../types.js';

const CANARY: Canary = { backend: { kind: 'service', namespace: 'ns', service: 'c', port: 80, endpoints: [] }, weight: 0, weightTotal: 100 };

describe('policy', () => {
  it('useCanary follows header, then cookie, then weight', () => {
    const cases: { name: string; canary: Partial<Canary>; headers: Record<string, string>; random?: number; want: boolean }[] = [
      { name: 'header always', canary: { header: 'X-C' }, headers: { 'x-c': 'always' }, want: true },
      { name: 'header never beats weight', canary: { header: 'X-C', weight: 100 }, headers: { 'x-c': 'never' }, want: false },
      { name: 'header other falls to weight', canary: { header: 'X-C', weight: 100 }, headers: { 'x-c': 'x' }, want: true },
      { name: 'header value equal', canary: { header: 'X-C', headerValue: 'v1' }, headers: { 'x-c': 'v1' }, want: true },
      { name: 'header value differs, always ignored', canary: { header: 'X-C', headerValue: 'v1' }, headers: { 'x-c': 'always' }, want: false },
      { name: 'header value differs, falls to cookie', canary: { header: 'X-C', headerValue: 'v1', cookie: 'k' }, headers: { 'x-c': 'v2', cookie: 'k=always' }, want: true },
      { name: 'cookie never beats weight', canary: { cookie: 'k', weight: 100 }, headers: { cookie: 'a=b; k=never' }, want: false },
      { name: 'weight below', canary: { weight: 20 }, headers: {}, random: 0.19, want: true },
      { name: 'weight at', canary: { weight: 20 }, headers: {}, random: 0.2, want: false },
      { name: 'weight total 1000', canary: { weight: 20, weightTotal: 1000 }, headers: {}, random: 0.019, want: true },
      { name: 'weight total 1000 above', canary: { weight: 20, weightTotal: 1000 }, headers: {}, random: 0.021, want: false },
      { name: 'weight 0', canary: {}, headers: {}, random: 0, want: false },
    ];
    for (const c of cases) {
      const got = useCanary({ ...CANARY, ...c.canary }, { headers: c.headers, random: () => c.random ?? 0.5 });
      assert.equal(got, c.want, c.name);
    }
  });

  it('rewritePath replaces captures and keeps the query', () => {
    const cases: [string, string[], string, string][] = [
      ['/$2', ['/something/new', '/', 'new'], '', '/new'],
      ['/v2/$1/x', ['/a/b', 'b'], '?q=1', '/v2/b/x?q=1'],
      ['/$1', [], '', '/'],
      ['/a?x=1', [], '?y=2', '/a?x=1&y=2'],
      ['${1}s', ['x', 'item'], '', '/items'],
    ];
    for (const [target, captures, query, want] of cases) assert.equal(rewritePath(target, { captures, query }), want, target);
  });

  it('redirectLocation drops the Host port and adds a non-443 https port', () => {
    assert.equal(redirectLocation('a.test:8080', '/p?q', 443), 'https://a.test/p?q');
    assert.equal(redirectLocation('A.test', '/', 8443), 'https://a.test:8443/');
    assert.equal(redirectLocation('[::1]:80', '/', 443), 'https://[::1]/');
  });

  it('strips hop-by-hop, Connection-listed and pseudo headers; sets forwarding headers', () => {
    assert.deepEqual(
      stripHopByHop({ ':path': '/', connection: 'close, X-Secret', 'x-secret': '1', te: 'trailers', 'transfer-encoding': 'chunked', upgrade: 'h2c', accept: '*/*' }),
      { accept: '*/*' },
    );
    const h = forwardedHeaders({ host: 'x', 'x-forwarded-for': ['1.1.1.1', '2.2.2.2'] }, { remoteAddress: '3.3.3.3', scheme: 'https', host: 'x:1', port: 443, requestId: 'id' });
    assert.equal(h['x-forwarded-for'], '1.1.1.1, 2.2.2.2, 3.3.3.3');
    assert.equal(h['host'], 'x:1');
    assert.equal(h['x-forwarded-proto'], 'https');
    assert.equal(h['x-forwarded-port'], '443');
    assert.equal(h['x-request-id'], 'id');
  });

  it('hostName, cookieValue and upstreamName', () => {
    assert.equal(hostName('Foo.Example.COM.:80'), 'foo.example.com');
    assert.equal(hostName('[fe80::1]:443'), 'fe80::1');
    assert.equal(cookieValue(['a=1', 'b=2; c=3'], 'c'), '3');
    assert.equal(cookieValue(undefined, 'c'), undefined);
    assert.equal(upstreamName(CANARY.backend), 'ns-c-80');
  });

  it('RoundRobin rotates and lists the rest for the retry', () => {
    const rr = new RoundRobin();
    const eps = [1, 2, 3].map((p) => ({ address: '10.0.0.1', port: p }));
    const firsts = [0, 1, 2, 3].map(() => rr.order('x', eps).map((e) => e.port));
    assert.deepEqual(firsts, [[1, 2, 3], [2, 3, 1], [3, 1, 2], [1, 2, 3]]);
    assert.deepEqual(rr.order('y', []), []);
  });

  it('TokenBuckets allow a burst of 5x rps, then refill at rps', () => {
    let now = 0;
    const tb = new TokenBuckets({ now: () => now });
    const first = Array.from({ length: 12 }, () => tb.take('k', 2));
    assert.equal(first.filter(Boolean).length, 10);
    assert.equal(tb.take('other', 2), true, 'buckets are per key');
    now += 500;
    assert.equal(tb.take('k', 2), true);
    assert.equal(tb.take('k', 2), false);
  });

  it('InFlight counts per key up to the limit', () => {
    const f = new InFlight();
    assert.equal(f.acquire('k', 2), true);
    assert.equal(f.acquire('k', 2), true);
    assert.equal(f.acquire('k', 2), false);
    f.release('k');
    assert.equal(f.acquire('k', 2), true);
  });
});

describe('access log', () => {
  it('formats like ingress-nginx log-format-upstream', () => {
    const rec: RequestRecord = {
      remoteAddr: '10.0.0.1',
      startMs: Date.UTC(2024, 1, 3, 4, 5, 6),
      method: 'GET',
      target: '/a "b"',
      httpVersion: '2.0',
      status: 200,
      bodyBytesSent: 12,
      referer: '',
      userAgent: 'curl/8',
      requestLength: 80,
      requestTimeSec: 0.0123,
      upstreamName: 'ns-svc-80',
      alternativeUpstreamName: '',
      upstreamAddrs: ['10.1.0.5:8080', '10.1.0.6:8080'],
      upstreamResponseLength: 12,
      upstreamResponseTimeSec: 0.01,
      upstreamStatus: 200,
      requestId: 'abc',
    };
    assert.equal(timeLocal(rec.startMs), '03/Feb/2024:04:05:06 +0000');
    assert.equal(
      accessLogLine(rec),
      '10.0.0.1 - - [03/Feb/2024:04:05:06 +0000] "GET /a \\x22b\\x22 HTTP/2.0" 200 12 "-" "curl/8" 80 0.012 [ns-svc-80] [] 10.1.0.5:8080, 10.1.0.6:8080 12 0.010 200 abc',
    );
    assert.equal(accessLogLine({ ...rec, upstreamAddrs: [], upstreamResponseLength: undefined, upstreamResponseTimeSec: undefined, upstreamStatus: undefined, upstreamName: '' }).endsWith('[] [] - - - - abc'), true);
  });
});

describe('ProxyMetrics', () => {
  it('reuses families already on the registry and skips requests without an Ingress', () => {
    const reg = new Registry();
    const m1 = new ProxyMetrics(reg);
    const m2 = new ProxyMetrics(reg);
    assert.equal(m1.requests, m2.requests);
    const base = { remoteAddr: '', startMs: 0, method: 'GET', target: '/', httpVersion: '1.1', bodyBytesSent: 0, referer: '', userAgent: '', requestLength: 0, requestTimeSec: 0.2, upstreamName: '', alternativeUpstreamName: '', upstreamAddrs: [], requestId: '' };
    m1.observe({ ...base, status: 404 });
    assert.equal(reg.render(), '');
    m2.observe({ ...base, status: 200, upstreamResponseTimeSec: 0.1, ingress: { namespace: 'ns', name: 'ing', service: 's', path: '/', host: 'h' } });
    const l = { host: 'h', ingress: 'ing', method: 'GET', namespace: 'ns', path: '/', service: 's', status: '200' };
    assert.equal(m1.requests.get(l), 1);
    assert.equal(m1.requestDuration.snapshot(l).count, 1);
    assert.equal(m1.responseDuration.snapshot(l).sum, 0.1);
  });
});

describe('decide', () => {
  it('applies the rules in ingress-nginx order', async () => {
    const { decide } = await import('./decide.js');
    const { matchRoute } = await import('../routes/index.js');
    const { route, svc, table } = await import('./testkit.js');
    const up = [{ address: '10.0.0.1', port: 80 }];
    const t = table(
      {
        'r.test': [route('/', svc('a', up), { options: { forceSslRedirect: true, limitRps: 1 } })],
        'u.test': [route('/', { kind: 'unsupported', namespace: 'd', message: 'nope' })],
        'e.test': [route('/', svc('e', []), { options: { bodySizeLimit: 10 } })],
        'w.test': [route('/x(/|$)(.*)', svc('a', up), { pathType: 'ImplementationSpecific', options: { useRegex: true, rewriteTarget: '/$2' } })],
      },
      { defaultBackend: svc('def', up) },
    );
    const deps = { table: t, match: matchRoute, random: () => 0.5, buckets: new TokenBuckets({ now: () => 0 }), inflight: new InFlight(), httpsPort: 443 };
    const cases: { host: string; target: string; scheme?: 'http' | 'https'; headers?: Record<string, string>; want: string }[] = [
      { host: 'r.test', target: '/a', want: '308 https://r.test/a' },
      { host: 'u.test', target: '/', want: '404 nope' },
      { host: 'e.test', target: '/', headers: { 'content-length': '11' }, want: '413' },
      { host: 'e.test', target: '/', want: '503' },
      { host: 'w.test', target: '/x/y/z?q', want: 'forward /y/z?q' },
      { host: 'zzz.test', target: '/p', want: 'forward /p' },
    ];
    for (const c of cases) {
      const rec = { remoteAddr: '1.1.1.1', startMs: 0, method: 'GET', target: c.target, httpVersion: '1.1', status: 0, bodyBytesSent: 0, referer: '', userAgent: '', requestLength: 0, requestTimeSec: 0, upstreamName: '', alternativeUpstreamName: '', upstreamAddrs: [], requestId: '' };
      const d = decide(deps, { host: c.host, target: c.target, headers: c.headers ?? {}, scheme: c.scheme ?? 'http', remote: '1.1.1.1' }, rec);
      const got = d.kind === 'forward' ? `forward ${d.target}` : [d.status, d.headers?.location ?? (d.status === 404 ? d.detail : undefined)].filter((x) => x !== undefined).join(' ');
      assert.equal(got, c.want, `${c.host}${c.target}`);
    }
  });
});
