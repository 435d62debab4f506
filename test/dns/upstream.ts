/**
 * A small authoritative DNS server for tests: the "upstream" our cluster DNS forwards to, on a
 * loopback address of the test's own (UDP and TCP on one port). It serves a fixed table of
 * names (A and TXT), answers NXDOMAIN with an SOA for other names in its zone, REFUSED outside
 * it, and counts the questions it got, so tests can see what was forwarded and what was cached.
 */
import { createSocket, type Socket as UdpSocket } from 'node:dgram';
import { createServer, type Server } from 'node:net';
import { decodeMessage, encodeMessage } from '../../src/dns/wire/index.js';
import { RRType, Rcode, type Message, type ResourceRecord } from '../../src/dns/types.js';

export interface FakeUpstream {
  host: string;
  port: number;
  /** Questions received, as `name/TYPE` lowercased (e.g. `foo.example.test./A`). */
  seen: string[];
  /** Replace or add a record set (A records by address). */
  setA(name: string, addresses: string[], ttl?: number): void;
  close(): Promise<void>;
}

export async function startFakeUpstream(o: { host?: string; zone?: string } = {}): Promise<FakeUpstream> {
  const host = o.host ?? '127.0.0.1';
  const zone = (o.zone ?? 'example.test.').toLowerCase();
  const table = new Map<string, ResourceRecord[]>();
  const seen: string[] = [];
  const soa: ResourceRecord = {
    name: zone, type: RRType.SOA, class: 1, ttl: 60,
    data: { kind: 'SOA', mname: `ns.${zone}`, rname: `hostmaster.${zone}`, serial: 1, refresh: 3600, retry: 600, expire: 86400, minimum: 20 },
  };
  const answer = (buf: Buffer): Buffer | undefined => {
    let req: Message;
    try {
      req = decodeMessage(buf);
    } catch {
      return undefined;
    }
    const q = req.questions[0];
    const res: Message = { ...req, qr: true, aa: true, ra: false, answers: [], authority: [], additional: [], edns: req.edns ? { ...req.edns, options: [] } : undefined };
    if (!q) return encodeMessage({ ...res, rcode: Rcode.FORMERR });
    const name = q.name.toLowerCase();
    seen.push(`${name}/${q.type === RRType.A ? 'A' : q.type === RRType.AAAA ? 'AAAA' : q.type === RRType.TXT ? 'TXT' : String(q.type)}`);
    if (!(name === zone || name.endsWith(`.${zone}`))) return encodeMessage({ ...res, aa: false, rcode: Rcode.REFUSED });
    const rrs = table.get(name);
    if (!rrs) return encodeMessage({ ...res, rcode: Rcode.NXDOMAIN, authority: [soa] });
    const match = rrs.filter((r) => r.type === q.type).map((r) => ({ ...r, name: q.name }));
    return encodeMessage({ ...res, rcode: Rcode.NOERROR, answers: match, authority: match.length ? [] : [soa] });
  };
  const udp: UdpSocket = createSocket('udp4');
  udp.on('message', (msg, r) => {
    const out = answer(msg);
    if (out) udp.send(out, r.port, r.address);
  });
  await new Promise<void>((res) => udp.bind(0, host, () => res()));
  const port = udp.address().port;
  const tcp: Server = createServer((sock) => {
    let pending = Buffer.alloc(0);
    sock.on('error', () => undefined);
    sock.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        const len = pending.readUInt16BE(0);
        const out = answer(pending.subarray(2, 2 + len));
        pending = pending.subarray(2 + len);
        if (out) {
          const head = Buffer.alloc(2);
          head.writeUInt16BE(out.length);
          sock.write(Buffer.concat([head, out]));
        }
      }
    });
  });
  await new Promise<void>((res, rej) => {
    tcp.once('error', rej);
    tcp.listen(port, host, () => res());
  });
  const setA = (name: string, addresses: string[], ttl = 60): void => {
    const n = name.toLowerCase().endsWith('.') ? name.toLowerCase() : `${name.toLowerCase()}.`;
    const others = (table.get(n) ?? []).filter((r) => r.type !== RRType.A);
    table.set(n, [...others, ...addresses.map((address) => ({ name: n, type: RRType.A, class: 1, ttl, data: { kind: 'A' as const, address } }))]);
  };
  return {
    host,
    port,
    seen,
    setA,
    async close(): Promise<void> {
      await Promise.all([new Promise<void>((r) => udp.close(() => r())), new Promise<void>((r) => tcp.close(() => r()))]);
    },
  };
}
