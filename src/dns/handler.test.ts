import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { DnsHandler, type Resolver, type ZoneAnswerer } from './handler.js';
import { decodeMessage, encodeMessage } from './wire/index.js';
import { Opcode, Rcode, RRClass, RRType, type Answer, type Message, type Question, type ResourceRecord } from './types.js';
import { DnsMetrics } from './metrics.js';

const a = (name: string, address: string): ResourceRecord => ({ name, type: RRType.A, class: 1, ttl: 30, data: { kind: 'A', address } });

/** A zone owning `cluster.local.`: `big` has 100 addresses, `web` one, the rest NXDOMAIN. */
const zone: ZoneAnswerer = {
  answer(q: Question): Answer | undefined {
    const n = q.name.toLowerCase();
    if (!n.endsWith('cluster.local.')) return undefined;
    if (n === 'web.default.svc.cluster.local.') return { rcode: 0, aa: true, answers: [a(q.name, '10.96.0.20')], authority: [], additional: [] };
    if (n === 'three.default.svc.cluster.local.') return { rcode: 0, aa: true, answers: ['1', '2', '3'].map((x) => a(q.name, `10.244.0.${x}`)), authority: [], additional: [] };
    if (n === 'big.default.svc.cluster.local.') {
      return { rcode: 0, aa: true, answers: Array.from({ length: 100 }, (_, i) => a(q.name, `10.244.1.${i}`)), authority: [], additional: [] };
    }
    return { rcode: Rcode.NXDOMAIN, aa: true, answers: [], authority: [], additional: [] };
  },
};

function query(name: string, o: Partial<Message> & { type?: number; qclass?: number } = {}): Message {
  return {
    id: 4242, qr: false, opcode: Opcode.QUERY, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0,
    questions: [{ name, type: o.type ?? RRType.A, class: o.qclass ?? RRClass.IN }], answers: [], authority: [], additional: [],
    ...o,
  };
}

async function ask(h: DnsHandler, m: Message | Uint8Array, proto: 'udp' | 'tcp' = 'udp'): Promise<{ res?: Message; size: number }> {
  const out = await h.handle(m instanceof Uint8Array ? m : encodeMessage(m), { proto, family: 4 });
  return out ? { res: decodeMessage(out), size: out.length } : { size: 0 };
}

const upstream: Resolver = {
  async resolve(req: Message): Promise<Message> {
    const q = req.questions[0]!;
    if (q.name === 'fail.example.') throw new Error('all upstreams failed');
    return { ...req, id: 999, qr: true, ra: true, answers: [a(q.name, '192.0.2.7')] };
  },
};

describe('DnsHandler', () => {
  const h = new DnsHandler({ zone, resolver: upstream }, { loadBalance: false });

  const cases: { name: string; req: Message; rcode: number; answers?: string[]; aa?: boolean }[] = [
    { name: 'cluster name', req: query('web.default.svc.cluster.local.'), rcode: 0, answers: ['10.96.0.20'], aa: true },
    { name: 'NXDOMAIN from the zone', req: query('nope.default.svc.cluster.local.'), rcode: Rcode.NXDOMAIN, answers: [], aa: true },
    { name: 'forwarded, with the client id', req: query('www.example.'), rcode: 0, answers: ['192.0.2.7'], aa: false },
    { name: 'upstream failure → SERVFAIL', req: query('fail.example.'), rcode: Rcode.SERVFAIL },
    { name: 'two questions → FORMERR', req: { ...query('a.example.'), questions: [{ name: 'a.example.', type: 1, class: 1 }, { name: 'b.example.', type: 1, class: 1 }] }, rcode: Rcode.FORMERR },
    { name: 'no question → FORMERR', req: { ...query('a.example.'), questions: [] }, rcode: Rcode.FORMERR },
    { name: 'NOTIFY → NOTIMP', req: query('web.default.svc.cluster.local.', { opcode: Opcode.NOTIFY }), rcode: Rcode.NOTIMP },
    { name: 'UPDATE → NOTIMP', req: query('cluster.local.', { opcode: Opcode.UPDATE, type: RRType.SOA }), rcode: Rcode.NOTIMP },
    { name: 'AXFR → NOTIMP', req: query('cluster.local.', { type: RRType.AXFR }), rcode: Rcode.NOTIMP },
    { name: 'CHAOS class → NOTIMP', req: query('version.bind.', { type: RRType.TXT, qclass: RRClass.CH }), rcode: Rcode.NOTIMP },
    { name: 'OPT as a question type → FORMERR', req: query('web.default.svc.cluster.local.', { type: RRType.OPT }), rcode: Rcode.FORMERR },
    { name: 'EDNS version 1 → BADVERS', req: query('web.default.svc.cluster.local.', { edns: { udpSize: 1232, version: 1, dnssecOk: false, extendedRcode: 0, options: [] } }), rcode: Rcode.BADVERS },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { res } = await ask(h, c.req);
      assert.ok(res, 'answered');
      assert.equal(res.id, 4242);
      assert.equal(res.qr, true);
      assert.equal(res.rcode, c.rcode);
      assert.equal(res.rd, true, 'RD echoed');
      assert.equal(res.ra, true);
      if (c.answers) assert.deepEqual(res.answers.map((r) => (r.data.kind === 'A' ? r.data.address : '?')), c.answers);
      if (c.aa !== undefined) assert.equal(res.aa, c.aa);
      if (c.rcode === Rcode.BADVERS) assert.ok(res.edns, 'BADVERS carries an OPT');
    });
  }

  it('echoes the question as asked (case kept)', async () => {
    const { res } = await ask(h, query('WEB.Default.svc.cluster.local.'));
    assert.equal(res!.questions[0]!.name, 'WEB.Default.svc.cluster.local.');
  });

  it('drops responses and packets too short for an ID, answers FORMERR to a broken question with its ID', async () => {
    assert.equal((await ask(h, { ...query('web.default.svc.cluster.local.'), qr: true })).res, undefined);
    assert.equal((await ask(h, new Uint8Array([1, 2, 3]))).res, undefined);
    // Header says one question, then a label length running past the end.
    const broken = new Uint8Array([0x12, 0x34, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0, 40, 0x61]);
    const { res } = await ask(h, broken);
    assert.equal(res!.id, 0x1234);
    assert.equal(res!.rcode, Rcode.FORMERR);
  });

  it('truncates over UDP to 512 bytes without EDNS (TC=1), to the EDNS size with it, and sends everything over TCP', async () => {
    const plain = await ask(h, query('big.default.svc.cluster.local.'));
    assert.ok(plain.size <= 512);
    assert.equal(plain.res!.tc, true);
    assert.ok(plain.res!.answers.length < 100);
    const edns = await ask(h, query('big.default.svc.cluster.local.', { edns: { udpSize: 4096, version: 0, dnssecOk: false, extendedRcode: 0, options: [] } }));
    assert.ok(edns.size <= 1232 && edns.size > 512, `EDNS answers are capped at our 1232 (got ${edns.size})`);
    assert.equal(edns.res!.tc, true);
    assert.ok(edns.res!.edns, 'OPT kept in the truncated answer');
    const tcp = await ask(h, query('big.default.svc.cluster.local.'), 'tcp');
    assert.equal(tcp.res!.tc, false);
    assert.equal(tcp.res!.answers.length, 100);
  });

  it('rotates multi-address answers per query (loadbalance)', async () => {
    const lb = new DnsHandler({ zone, resolver: upstream });
    const firsts = new Set<string>();
    for (let i = 0; i < 3; i++) {
      const { res } = await ask(lb, query('three.default.svc.cluster.local.'));
      const r = res!.answers[0]!;
      firsts.add(r.data.kind === 'A' ? r.data.address : '?');
      assert.equal(res!.answers.length, 3);
    }
    assert.equal(firsts.size, 3);
  });

  it('without a resolver, names outside the zone are REFUSED', async () => {
    const { res } = await ask(new DnsHandler({ zone }), query('www.example.'));
    assert.equal(res!.rcode, Rcode.REFUSED);
  });

  it('counts requests and responses under CoreDNS names', async () => {
    const metrics = new DnsMetrics({ server: 'dns://:53' });
    const m = new DnsHandler({ zone, resolver: upstream }, { metrics });
    await ask(m, query('web.default.svc.cluster.local.'));
    await ask(m, query('www.example.', { type: RRType.AAAA }), 'tcp');
    const text = metrics.registry.render();
    /** The value of the one series of `name` that has all these labels. */
    const value = (name: string, labels: Record<string, string>): number | undefined => {
      for (const line of text.split('\n')) {
        if (!line.startsWith(`${name}{`)) continue;
        if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.slice(line.lastIndexOf(' ') + 1));
      }
      return undefined;
    };
    assert.equal(value('coredns_dns_requests_total', { server: 'dns://:53', zone: '.', view: '', proto: 'udp', family: '1', type: 'A' }), 1);
    assert.equal(value('coredns_dns_requests_total', { proto: 'tcp', type: 'AAAA' }), 1);
    assert.equal(value('coredns_dns_responses_total', { rcode: 'NOERROR', plugin: 'kubernetes' }), 1);
    assert.equal(value('coredns_dns_responses_total', { rcode: 'NOERROR', plugin: 'forward' }), 1);
    assert.equal(value('coredns_dns_request_duration_seconds_count', { type: 'A' }), 1);
  });
});
