import { test } from 'node:test';
import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import net from 'node:net';
import { once } from 'node:events';
import { decodeMessage, encodeMessage } from '../wire/index.js';
import { Registry } from '../../util/prometheus.js';
import { Rcode, RRClass, RRType, type Message, type Question, type ResourceRecord } from '../types.js';
import { DnsCache } from './cache.js';
import { Forwarder, parseUpstream, upstreamsFromResolvConf } from './forwarder.js';
import { ForwardingResolver } from './resolver.js';
import { forwardMetrics } from './metrics.js';

const Q: Question = { name: 'www.example.com.', type: RRType.A, class: RRClass.IN };

function query(q: Question = Q, p: Partial<Message> = {}): Message {
  return {
    id: 4242, qr: false, opcode: 0, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0,
    questions: [{ ...q }], answers: [], authority: [], additional: [], ...p,
  };
}

function a(name: string, address: string, ttl = 60): ResourceRecord {
  return { name, type: RRType.A, class: RRClass.IN, ttl, data: { kind: 'A', address } };
}

/** A reply to `req` with the given answers and flags. */
function reply(req: Message, p: Partial<Message> = {}): Message {
  return { ...req, qr: true, ra: true, rcode: Rcode.NOERROR, answers: [], authority: [], additional: [], edns: undefined, ...p };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

type UdpHandler = (req: Message, send: (m: Message) => void, ctx: { rinfo: dgram.RemoteInfo; udp: dgram.Socket }) => void | Promise<void>;

/** A loopback upstream: UDP (and TCP on the same port) with scripted behaviour; records what it received. */
class FakeUpstream {
  readonly udp = dgram.createSocket('udp4');
  tcp?: net.Server;
  readonly udpQueries: Message[] = [];
  readonly tcpQueries: Message[] = [];
  port = 0;

  constructor(
    private readonly onUdp: UdpHandler | null,
    private readonly onTcp?: (req: Message) => Message,
  ) {}

  get addr(): string {
    return `127.0.0.1:${this.port}`;
  }

  async start(): Promise<this> {
    this.udp.on('message', (buf, rinfo) => {
      const req = decodeMessage(buf);
      this.udpQueries.push(req);
      const send = (m: Message): void => void this.udp.send(encodeMessage(m), rinfo.port, rinfo.address);
      void this.onUdp?.(req, send, { rinfo, udp: this.udp });
    });
    this.udp.bind(0, '127.0.0.1');
    await once(this.udp, 'listening');
    this.port = this.udp.address().port;
    if (this.onTcp) {
      const handle = this.onTcp;
      this.tcp = net.createServer((s) => {
        let buf = Buffer.alloc(0);
        s.on('data', (d: Buffer) => {
          buf = Buffer.concat([buf, d]);
          if (buf.length < 2 || buf.length < 2 + buf.readUInt16BE(0)) return;
          const req = decodeMessage(buf.subarray(2, 2 + buf.readUInt16BE(0)));
          this.tcpQueries.push(req);
          const out = encodeMessage(handle(req));
          const framed = Buffer.alloc(out.length + 2);
          framed.writeUInt16BE(out.length, 0);
          out.copy(framed, 2);
          s.end(framed);
        });
        s.on('error', () => undefined);
      });
      this.tcp.listen(this.port, '127.0.0.1');
      await once(this.tcp, 'listening');
    }
    return this;
  }

  async stop(): Promise<void> {
    this.udp.close();
    if (this.tcp) await new Promise<void>((r) => this.tcp!.close(() => r()));
  }
}

async function withUpstreams(ups: FakeUpstream[], fn: () => Promise<void>): Promise<void> {
  for (const u of ups) await u.start();
  try {
    await fn();
  } finally {
    for (const u of ups) await u.stop();
  }
}

function addresses(m: Message): string[] {
  return m.answers.map((r) => (r.data.kind === 'A' ? r.data.address : '?'));
}

test('forwards the question with RD as asked and an EDNS0 OPT of 1232, fresh IDs per query', async () => {
  const up = new FakeUpstream((req, send) => send(reply(req, { answers: [a(req.questions[0]!.name, '192.0.2.1')] })));
  await withUpstreams([up], async () => {
    const f = new Forwarder({ upstreams: [up.addr] });
    try {
      const res = await f.query(query());
      assert.deepEqual(addresses(res), ['192.0.2.1']);
      assert.equal(res.qr, true);
      const sent = up.udpQueries[0]!;
      assert.deepEqual(sent.questions, [Q]);
      assert.equal(sent.rd, true);
      assert.equal(sent.edns?.udpSize, 1232);
      await f.query(query(Q, { rd: false, edns: { udpSize: 4096, version: 0, dnssecOk: true, extendedRcode: 0, options: [] } }));
      assert.equal(up.udpQueries[1]!.rd, false);
      assert.equal(up.udpQueries[1]!.edns?.dnssecOk, true);
      assert.equal(up.udpQueries[1]!.edns?.udpSize, 1232);
      for (let i = 0; i < 30; i++) await f.query(query());
      const ids = new Set(up.udpQueries.map((q) => q.id));
      assert.ok(ids.size >= 25, `IDs look random (${ids.size} distinct of ${up.udpQueries.length})`);
      assert.ok(!ids.has(4242), 'the client ID is never reused upstream');
      const ports = new Set<number>();
      // Several source ports are in use (the socket pool).
      const up2 = new FakeUpstream((req, send, ctx) => {
        ports.add(ctx.rinfo.port);
        send(reply(req, { answers: [a(Q.name, '192.0.2.1')] }));
      });
      await up2.start();
      const g = new Forwarder({ upstreams: [up2.addr], socketsPerUpstream: 4, queriesPerSocket: 3 });
      await Promise.all(Array.from({ length: 12 }, () => g.query(query())));
      g.close();
      await up2.stop();
      assert.ok(ports.size >= 4, `source ports spread: ${ports.size}`);
    } finally {
      f.close();
    }
  });
});

test('a truncated UDP answer is retried over TCP on the same upstream', async () => {
  const many = Array.from({ length: 40 }, (_, i) => a(Q.name, `192.0.2.${i + 1}`));
  const up = new FakeUpstream(
    (req, send) => send(reply(req, { tc: true })),
    (req) => reply(req, { answers: many }),
  );
  await withUpstreams([up], async () => {
    const f = new Forwarder({ upstreams: [up.addr] });
    try {
      const res = await f.query(query());
      assert.equal(res.tc, false);
      assert.equal(res.answers.length, 40);
      assert.equal(up.udpQueries.length, 1);
      assert.equal(up.tcpQueries.length, 1);
      assert.deepEqual(up.tcpQueries[0]!.questions, [Q]);
    } finally {
      f.close();
    }
  });
});

test('a silent first upstream is skipped within the timeout', async () => {
  const silent = new FakeUpstream(null);
  const good = new FakeUpstream((req, send) => send(reply(req, { answers: [a(Q.name, '192.0.2.7')] })));
  await withUpstreams([silent, good], async () => {
    const f = new Forwarder({ upstreams: [silent.addr, good.addr], timeoutMs: 250, policy: 'sequential' });
    try {
      const t0 = Date.now();
      const res = await f.query(query());
      const took = Date.now() - t0;
      assert.deepEqual(addresses(res), ['192.0.2.7']);
      assert.equal(silent.udpQueries.length, 1);
      assert.ok(took >= 240 && took < 1500, `took ${took} ms`);
    } finally {
      f.close();
    }
  });
});

test('SERVFAIL and REFUSED move on to the next upstream; all SERVFAIL returns the SERVFAIL', async () => {
  const failing = new FakeUpstream((req, send) => send(reply(req, { rcode: Rcode.SERVFAIL })));
  const refusing = new FakeUpstream((req, send) => send(reply(req, { rcode: Rcode.REFUSED })));
  const good = new FakeUpstream((req, send) => send(reply(req, { answers: [a(Q.name, '192.0.2.8')] })));
  await withUpstreams([failing, refusing, good], async () => {
    const f = new Forwarder({ upstreams: [failing.addr, refusing.addr, good.addr], policy: 'sequential' });
    const g = new Forwarder({ upstreams: [failing.addr], maxAttempts: 2 });
    try {
      assert.deepEqual(addresses(await f.query(query())), ['192.0.2.8']);
      assert.equal(failing.udpQueries.length, 1);
      assert.equal(refusing.udpQueries.length, 1);
      assert.equal((await g.query(query())).rcode, Rcode.SERVFAIL);
      assert.equal(failing.udpQueries.length, 3);
    } finally {
      f.close();
      g.close();
    }
  });
});

test('all upstreams dead: rejects (timeouts, and ICMP port unreachable without waiting)', async () => {
  const s1 = new FakeUpstream(null);
  const s2 = new FakeUpstream(null);
  await withUpstreams([s1, s2], async () => {
    const f = new Forwarder({ upstreams: [s1.addr, s2.addr], timeoutMs: 150 });
    try {
      const t0 = Date.now();
      await assert.rejects(f.query(query()), /no upstream answered www\.example\.com\./);
      assert.ok(Date.now() - t0 >= 290);
      assert.equal(s1.udpQueries.length + s2.udpQueries.length, 2);
    } finally {
      f.close();
    }
  });
  // A port nobody listens on: the kernel's ICMP reply fails the attempt at once.
  const probe = dgram.createSocket('udp4');
  probe.bind(0, '127.0.0.1');
  await once(probe, 'listening');
  const closedPort = probe.address().port;
  probe.close();
  const f = new Forwarder({ upstreams: [`127.0.0.1:${closedPort}`], timeoutMs: 5000 });
  try {
    const t0 = Date.now();
    await assert.rejects(f.query(query()), /no upstream answered/);
    assert.ok(Date.now() - t0 < 2000, `ICMP error seen (${Date.now() - t0} ms)`);
  } finally {
    f.close();
  }
});

test('poisoning: forged replies are dropped; only the true answer is returned and cached', async () => {
  const forged = '6.6.6.6';
  const spoofer = dgram.createSocket('udp4');
  spoofer.bind(0, '127.0.0.1');
  await once(spoofer, 'listening');
  // In order: wrong ID, other name, other type, QR=0, right reply from another port, a
  // truncated packet with the right ID, and only then the true answer.
  const up = new FakeUpstream(async (req, send, { rinfo, udp }) => {
    const q = req.questions[0]!;
    const bad = (p: Partial<Message>): Message => reply(req, { answers: [a(q.name, forged)], ...p });
    send(bad({ id: (req.id + 1) & 0xffff }));
    await sleep(15);
    send(bad({ questions: [{ ...q, name: 'evil.example.com.' }], answers: [a('evil.example.com.', forged)] }));
    await sleep(15);
    send(bad({ questions: [{ ...q, type: RRType.AAAA }] }));
    await sleep(15);
    send(bad({ qr: false }));
    await sleep(15);
    spoofer.send(encodeMessage(bad({})), rinfo.port, rinfo.address);
    await sleep(15);
    udp.send(Buffer.from([(req.id >> 8) & 0xff, req.id & 0xff, 0x81, 0x80, 0, 1]), rinfo.port, rinfo.address); // truncated garbage
    await sleep(15);
    send(reply(req, { answers: [a(q.name, '192.0.2.53', 60)] }));
  });
  await withUpstreams([up], async () => {
    const f = new Forwarder({ upstreams: [up.addr], timeoutMs: 2000 });
    try {
      const res = await f.query(query());
      assert.deepEqual(addresses(res), ['192.0.2.53']);
      assert.deepEqual(res.questions, [Q]);

      const cache = new DnsCache();
      const r = new ForwardingResolver({ forwarder: f, cache });
      const other: Question = { name: 'api.example.org.', type: RRType.A, class: RRClass.IN };
      const got = await r.resolve(query(other));
      assert.deepEqual(addresses(got), ['192.0.2.53']);
      assert.equal(cache.size, 1, 'only the true answer is cached');
      assert.deepEqual(addresses(cache.get(other)!), ['192.0.2.53']);
      assert.equal(cache.get({ ...other, name: 'evil.example.com.' }), undefined);
      assert.equal(cache.get({ ...other, type: RRType.AAAA }), undefined);
    } finally {
      f.close();
      spoofer.close();
    }
  });
});

test('poisoning: forged replies alone never resolve the query', async () => {
  const up = new FakeUpstream((req, send) => {
    send(reply(req, { id: (req.id ^ 0x5555) & 0xffff, answers: [a(Q.name, '6.6.6.6')] }));
    send(reply(req, { questions: [{ ...Q, name: 'www.example.net.' }], answers: [a(Q.name, '6.6.6.6')] }));
  });
  await withUpstreams([up], async () => {
    const f = new Forwarder({ upstreams: [up.addr], timeoutMs: 200, maxAttempts: 1 });
    try {
      await assert.rejects(f.query(query()), /timeout/);
    } finally {
      f.close();
    }
  });
});

test('coalescing: concurrent identical misses share one upstream query, then the cache answers', async () => {
  const up = new FakeUpstream(async (req, send) => {
    await sleep(80);
    send(reply(req, { answers: [a(req.questions[0]!.name, '192.0.2.99', 60)] }));
  });
  await withUpstreams([up], async () => {
    const f = new Forwarder({ upstreams: [up.addr] });
    const r = new ForwardingResolver({ forwarder: f, cache: new DnsCache() });
    try {
      const names = Array.from({ length: 20 }, (_, i) => (i % 2 ? 'WWW.example.COM.' : 'www.example.com.'));
      const results = await Promise.all(names.map((n) => r.resolve(query({ ...Q, name: n }))));
      assert.equal(up.udpQueries.length, 1);
      results.forEach((res, i) => {
        assert.deepEqual(addresses(res), ['192.0.2.99']);
        assert.equal(res.questions[0]!.name, names[i], 'caller case echoed');
      });
      assert.notEqual(results[0]!.answers, results[1]!.answers, 'each caller gets its own arrays');
      assert.equal(r.pending, 0);
      const cached = await r.resolve(query());
      assert.deepEqual(addresses(cached), ['192.0.2.99']);
      assert.equal(up.udpQueries.length, 1, 'served from the cache');
      await r.resolve(query({ ...Q, type: RRType.AAAA }));
      assert.equal(up.udpQueries.length, 2, 'a different type is a different key');
    } finally {
      f.close();
    }
  });
});

test('coalesced failures reject every waiter and are not remembered', async () => {
  let calls = 0;
  const r = new ForwardingResolver({
    forwarder: { query: async () => { calls++; await sleep(20); throw new Error('boom'); } },
    cache: new DnsCache(),
  });
  const all = await Promise.allSettled([r.resolve(query()), r.resolve(query())]);
  assert.deepEqual(all.map((s) => s.status), ['rejected', 'rejected']);
  assert.equal(calls, 1);
  await assert.rejects(r.resolve(query()), /boom/);
  assert.equal(calls, 2);
});

test('abort signal rejects a waiting query', async () => {
  const silent = new FakeUpstream(null);
  await withUpstreams([silent], async () => {
    const f = new Forwarder({ upstreams: [silent.addr], timeoutMs: 5000 });
    try {
      const ac = new AbortController();
      const p = f.query(query(), { signal: ac.signal });
      setTimeout(() => ac.abort(new Error('client went away')), 50);
      await assert.rejects(p, /client went away/);
    } finally {
      f.close();
    }
  });
});

test('forward metrics use CoreDNS names', async () => {
  const up = new FakeUpstream((req, send) => send(reply(req, { rcode: Rcode.NXDOMAIN })));
  await withUpstreams([up], async () => {
    const reg = new Registry();
    const f = new Forwarder({ upstreams: [up.addr], metrics: forwardMetrics(reg) });
    try {
      await f.query(query());
      const text = reg.render();
      assert.match(text, new RegExp(`^coredns_forward_requests_total\\{to="${up.addr}"\\} 1$`, 'm'));
      assert.match(text, new RegExp(`^coredns_forward_responses_total\\{rcode="NXDOMAIN",to="${up.addr}"\\} 1$`, 'm'));
      assert.match(text, /^coredns_forward_request_duration_seconds_count\{rcode="NXDOMAIN",to="127\.0\.0\.1:\d+"\} 1$/m);
    } finally {
      f.close();
    }
  });
});

test('round_robin policy spreads queries over upstreams', async () => {
  const u1 = new FakeUpstream((req, send) => send(reply(req, { answers: [a(Q.name, '192.0.2.1')] })));
  const u2 = new FakeUpstream((req, send) => send(reply(req, { answers: [a(Q.name, '192.0.2.2')] })));
  await withUpstreams([u1, u2], async () => {
    const f = new Forwarder({ upstreams: [u1.addr, u2.addr], policy: 'round_robin' });
    try {
      for (let i = 0; i < 6; i++) await f.query(query());
      assert.equal(u1.udpQueries.length, 3);
      assert.equal(u2.udpQueries.length, 3);
    } finally {
      f.close();
    }
  });
});

test('parseUpstream and upstreamsFromResolvConf', () => {
  const cases: { in: string; want: { host: string; port: number; label: string } | 'error' }[] = [
    { in: '8.8.8.8', want: { host: '8.8.8.8', port: 53, label: '8.8.8.8:53' } },
    { in: '127.0.0.1:5353', want: { host: '127.0.0.1', port: 5353, label: '127.0.0.1:5353' } },
    { in: '[2001:db8::1]:5300', want: { host: '2001:db8::1', port: 5300, label: '[2001:db8::1]:5300' } },
    { in: '2001:DB8:0::1', want: { host: '2001:db8::1', port: 53, label: '[2001:db8::1]:53' } },
    { in: 'dns.google', want: 'error' },
    { in: '1.2.3.4:0', want: 'error' },
    { in: '1.2.3.4:70000', want: 'error' },
    { in: '[::1', want: 'error' },
  ];
  for (const c of cases) {
    if (c.want === 'error') assert.throws(() => parseUpstream(c.in), /invalid upstream/, c.in);
    else {
      const u = parseUpstream(c.in);
      assert.deepEqual({ host: u.host, port: u.port, label: u.label }, c.want, c.in);
    }
  }
  const conf = [
    '# generated',
    'search default.svc.cluster.local svc.cluster.local',
    'nameserver 10.96.0.10',
    'nameserver 192.168.1.1',
    'nameserver   2001:db8::53',
    '; comment',
    'nameserver 127.0.0.53',
    'nameserver 192.168.1.1',
    'nameserver bogus',
    'options ndots:5',
  ].join('\n');
  assert.deepEqual(upstreamsFromResolvConf(conf), ['10.96.0.10:53', '192.168.1.1:53', '[2001:db8::53]:53', '127.0.0.53:53']);
  assert.deepEqual(upstreamsFromResolvConf(conf, { exclude: ['10.96.0.10', '127.0.0.53'] }), ['192.168.1.1:53', '[2001:db8::53]:53']);
  assert.deepEqual(upstreamsFromResolvConf(conf, { exclude: ['2001:db8:0::53', '192.168.1.1:5353', 'not-an-ip'] }), ['10.96.0.10:53', '192.168.1.1:53', '127.0.0.53:53']);
  assert.deepEqual(upstreamsFromResolvConf(conf, { exclude: ['192.168.1.1:53'] }), ['10.96.0.10:53', '[2001:db8::53]:53', '127.0.0.53:53']);
});
