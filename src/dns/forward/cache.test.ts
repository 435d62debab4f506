import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Registry } from '../../util/prometheus.js';
import { Rcode, RRClass, RRType, type Message, type Question, type ResourceRecord } from '../types.js';
import { DnsCache, cacheLifetime, type CacheKind, type DnsCacheMetrics } from './cache.js';
import { cacheMetrics } from './metrics.js';

const Q: Question = { name: 'www.example.com.', type: RRType.A, class: RRClass.IN };

function a(name: string, ttl: number, address = '192.0.2.1'): ResourceRecord {
  return { name, type: RRType.A, class: RRClass.IN, ttl, data: { kind: 'A', address } };
}

function soa(ttl: number, minimum: number): ResourceRecord {
  return {
    name: 'example.com.', type: RRType.SOA, class: RRClass.IN, ttl,
    data: { kind: 'SOA', mname: 'ns.example.com.', rname: 'host.example.com.', serial: 1, refresh: 7200, retry: 1800, expire: 86400, minimum },
  };
}

function ns(ttl: number): ResourceRecord {
  return { name: 'example.com.', type: RRType.NS, class: RRClass.IN, ttl, data: { kind: 'NS', target: 'ns.example.com.' } };
}

function response(p: Partial<Message> = {}): Message {
  return {
    id: 1, qr: true, opcode: 0, aa: false, tc: false, rd: true, ra: true, ad: false, cd: false, rcode: Rcode.NOERROR,
    questions: [{ ...Q }], answers: [], authority: [], additional: [], ...p,
  };
}

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

const LIMITS = { maxTtl: 30, maxNegativeTtl: 30, servfailTtl: 5, minTtl: 0 };

test('cacheLifetime follows RFC 2308 and cache 30', () => {
  const cases: { name: string; res: Message; want: { kind: CacheKind; ttl: number } | undefined }[] = [
    { name: 'success: min over answers', res: response({ answers: [a(Q.name, 20), a(Q.name, 12, '192.0.2.2')] }), want: { kind: 'success', ttl: 12 } },
    { name: 'success: authority counts', res: response({ answers: [a(Q.name, 20)], authority: [ns(7)] }), want: { kind: 'success', ttl: 7 } },
    { name: 'success: capped by maxTtl', res: response({ answers: [a(Q.name, 3600)] }), want: { kind: 'success', ttl: 30 } },
    { name: 'success: ttl 0 not cached', res: response({ answers: [a(Q.name, 0)] }), want: undefined },
    { name: 'nxdomain: SOA minimum', res: response({ rcode: Rcode.NXDOMAIN, authority: [soa(900, 10)] }), want: { kind: 'denial', ttl: 10 } },
    { name: 'nxdomain: SOA ttl below minimum', res: response({ rcode: Rcode.NXDOMAIN, authority: [soa(8, 600)] }), want: { kind: 'denial', ttl: 8 } },
    { name: 'nxdomain: capped by maxNegativeTtl', res: response({ rcode: Rcode.NXDOMAIN, authority: [soa(3600, 3600)] }), want: { kind: 'denial', ttl: 30 } },
    { name: 'nodata: SOA minimum', res: response({ authority: [soa(900, 15)] }), want: { kind: 'denial', ttl: 15 } },
    { name: 'nxdomain without SOA', res: response({ rcode: Rcode.NXDOMAIN }), want: undefined },
    { name: 'nodata without SOA (referral)', res: response({ authority: [ns(300)] }), want: undefined },
    { name: 'servfail', res: response({ rcode: Rcode.SERVFAIL }), want: { kind: 'denial', ttl: 5 } },
    { name: 'refused', res: response({ rcode: Rcode.REFUSED }), want: undefined },
    { name: 'formerr', res: response({ rcode: Rcode.FORMERR }), want: undefined },
    { name: 'truncated', res: response({ tc: true, answers: [a(Q.name, 20)] }), want: undefined },
  ];
  for (const c of cases) assert.deepEqual(cacheLifetime(c.res, LIMITS), c.want, c.name);
  assert.deepEqual(cacheLifetime(response({ answers: [a(Q.name, 1)] }), { ...LIMITS, minTtl: 5 }), { kind: 'success', ttl: 5 }, 'minTtl floor');
});

test('TTLs decrease with time spent in the cache and the entry expires', () => {
  const c = clock();
  const cache = new DnsCache({ clock: c.now });
  assert.equal(cache.set(Q, response({ answers: [a(Q.name, 20), a(Q.name, 25, '192.0.2.2')] })), true);
  const first = cache.get(Q)!;
  assert.deepEqual(first.answers.map((r) => r.ttl), [20, 20]);
  c.advance(1_500);
  assert.deepEqual(cache.get(Q)!.answers.map((r) => r.ttl), [19, 19]);
  c.advance(17_600); // 19.1 s in
  assert.deepEqual(cache.get(Q)!.answers.map((r) => r.ttl), [1, 1]);
  c.advance(900); // exactly 20 s
  assert.equal(cache.get(Q), undefined);
  assert.equal(cache.size, 0, 'expired entry removed');
});

test('maxTtl caps what clients see', () => {
  const c = clock();
  const cache = new DnsCache({ clock: c.now, maxTtl: 30 });
  cache.set(Q, response({ answers: [a(Q.name, 86400)] }));
  assert.equal(cache.get(Q)!.answers[0]!.ttl, 30);
  c.advance(29_999);
  assert.equal(cache.get(Q)!.answers[0]!.ttl, 1);
  c.advance(1);
  assert.equal(cache.get(Q), undefined);
});

test('negative caching lives for the SOA minimum', () => {
  const c = clock();
  const cache = new DnsCache({ clock: c.now });
  const nx = { ...Q, name: 'nope.example.com.' };
  assert.equal(cache.set(nx, response({ questions: [{ ...nx }], rcode: Rcode.NXDOMAIN, authority: [soa(900, 10)] })), true);
  const hit = cache.get(nx)!;
  assert.equal(hit.rcode, Rcode.NXDOMAIN);
  assert.equal(hit.authority[0]!.ttl, 10);
  assert.equal(hit.authority[0]!.data.kind, 'SOA');
  c.advance(9_999);
  assert.equal(cache.get(nx)!.authority[0]!.ttl, 1);
  c.advance(1);
  assert.equal(cache.get(nx), undefined);
});

test('SERVFAIL is cached for 5 s', () => {
  const c = clock();
  const cache = new DnsCache({ clock: c.now });
  assert.equal(cache.set(Q, response({ rcode: Rcode.SERVFAIL })), true);
  c.advance(4_999);
  assert.equal(cache.get(Q)!.rcode, Rcode.SERVFAIL);
  c.advance(1);
  assert.equal(cache.get(Q), undefined);
});

test('uncacheable responses are not stored', () => {
  const cache = new DnsCache();
  const cases: { name: string; res: Message }[] = [
    { name: 'NXDOMAIN without SOA', res: response({ rcode: Rcode.NXDOMAIN }) },
    { name: 'truncated', res: response({ tc: true, answers: [a(Q.name, 20)] }) },
    { name: 'other question name', res: response({ questions: [{ ...Q, name: 'evil.example.com.' }], answers: [a(Q.name, 20)] }) },
    { name: 'other question type', res: response({ questions: [{ ...Q, type: RRType.AAAA }], answers: [a(Q.name, 20)] }) },
    { name: 'other question class', res: response({ questions: [{ ...Q, class: RRClass.CH }], answers: [a(Q.name, 20)] }) },
    { name: 'no question', res: response({ questions: [], answers: [a(Q.name, 20)] }) },
    { name: 'not a response', res: response({ qr: false, answers: [a(Q.name, 20)] }) },
  ];
  for (const c of cases) {
    assert.equal(cache.set(Q, c.res), false, c.name);
    assert.equal(cache.get(Q), undefined, c.name);
  }
  assert.equal(cache.size, 0);
});

test('keys are case-insensitive and echo the asker\'s case; type, class and DO separate entries', () => {
  const cache = new DnsCache();
  cache.set({ ...Q, name: 'WWW.Example.COM.' }, response({ questions: [{ ...Q, name: 'WWW.Example.COM.' }], answers: [a(Q.name, 20)] }));
  const hit = cache.get({ ...Q, name: 'www.EXAMPLE.com.' })!;
  assert.ok(hit);
  assert.equal(hit.questions[0]!.name, 'www.EXAMPLE.com.');
  assert.equal(cache.get({ ...Q, type: RRType.AAAA }), undefined);
  assert.equal(cache.get({ ...Q, class: RRClass.CH }), undefined);
  assert.equal(cache.get(Q, { dnssecOk: true }), undefined);
});

test('a returned copy does not change the cache', () => {
  const cache = new DnsCache();
  cache.set(Q, response({ answers: [a(Q.name, 20)] }));
  const got = cache.get(Q)!;
  got.answers[0]!.ttl = 9999;
  got.answers.push(a(Q.name, 1));
  got.rcode = Rcode.REFUSED;
  const again = cache.get(Q)!;
  assert.equal(again.answers.length, 1);
  assert.equal(again.answers[0]!.ttl, 20);
  assert.equal(again.rcode, Rcode.NOERROR);
});

test('capacity evicts the least recently used entry', () => {
  const cache = new DnsCache({ capacity: 3 });
  const q = (i: number): Question => ({ name: `h${i}.example.com.`, type: RRType.A, class: RRClass.IN });
  const store = (i: number): boolean => cache.set(q(i), response({ questions: [q(i)], answers: [a(q(i).name, 20)] }));
  store(1);
  store(2);
  store(3);
  assert.ok(cache.get(q(1)), 'touch h1 so h2 is the oldest');
  store(4);
  assert.equal(cache.size, 3);
  assert.equal(cache.get(q(2)), undefined, 'h2 evicted');
  for (const i of [1, 3, 4]) assert.ok(cache.get(q(i)), `h${i} kept`);
  const big = new DnsCache({ capacity: 100 });
  for (let i = 0; i < 1000; i++) big.set(q(i), response({ questions: [q(i)], answers: [a(q(i).name, 20)] }));
  assert.equal(big.size, 100, 'bounded');
});

test('metrics hook counts hits, misses and entries', () => {
  const events: string[] = [];
  const m: DnsCacheMetrics = { hit: (k) => events.push(`hit:${k}`), miss: () => events.push('miss'), entries: (k, n) => events.push(`entries:${k}=${n}`) };
  const c = clock();
  const cache = new DnsCache({ clock: c.now, metrics: m });
  cache.get(Q);
  cache.set(Q, response({ answers: [a(Q.name, 2)] }));
  cache.get(Q);
  const nx = { ...Q, name: 'nx.example.com.' };
  cache.set(nx, response({ questions: [nx], rcode: Rcode.NXDOMAIN, authority: [soa(60, 60)] }));
  cache.get(nx);
  c.advance(2_000);
  cache.get(Q);
  assert.deepEqual(events, ['miss', 'entries:success=1', 'hit:success', 'entries:denial=1', 'hit:denial', 'entries:success=0', 'miss']);
});

test('cacheMetrics renders CoreDNS families', () => {
  const reg = new Registry();
  const cache = new DnsCache({ metrics: cacheMetrics(reg, { server: 'dns://:53' }) });
  cache.get(Q);
  cache.set(Q, response({ answers: [a(Q.name, 20)] }));
  cache.get(Q);
  const text = reg.render();
  assert.match(text, /^coredns_cache_entries\{server="dns:\/\/:53",type="success",view="",zones="\."\} 1$/m);
  assert.match(text, /^coredns_cache_entries\{server="dns:\/\/:53",type="denial",view="",zones="\."\} 0$/m);
  assert.match(text, /^coredns_cache_hits_total\{server="dns:\/\/:53",type="success",view="",zones="\."\} 1$/m);
  assert.match(text, /^coredns_cache_misses_total\{server="dns:\/\/:53",view="",zones="\."\} 1$/m);
});
