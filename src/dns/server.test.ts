/**
 * The server over real loopback sockets: UDP and TCP answers, TCP pipelining and framing, and
 * a fuzz run of random and mutated packets after which the server still answers correctly
 * (issue 7, acceptance 6). Also the real `dig` against it when installed.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { connect } from 'node:net';
import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { DnsHandler } from './handler.js';
import { DnsServer } from './server.js';
import { ClusterZone } from './zone/index.js';
import { decodeMessage, encodeMessage } from './wire/index.js';
import { Opcode, RRType, type Message } from './types.js';

const HAS_DIG = spawnSync('dig', ['-v'], { stdio: 'ignore' }).status === 0;

function query(name: string, id = 7, type: number = RRType.A): Message {
  return {
    id, qr: false, opcode: Opcode.QUERY, aa: false, tc: false, rd: true, ra: false, ad: false, cd: false, rcode: 0,
    questions: [{ name, type, class: 1 }], answers: [], authority: [], additional: [],
  };
}

function udpAsk(port: number, packet: Uint8Array, timeoutMs = 1000): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    const s = createSocket('udp4');
    const t = setTimeout(() => {
      s.close();
      resolve(undefined);
    }, timeoutMs);
    s.on('message', (m) => {
      clearTimeout(t);
      s.close();
      resolve(m);
    });
    s.send(packet, port, '127.0.0.1');
  });
}

/** Sends frames on one TCP connection and collects `want` framed answers (or what came before close/timeout). */
function tcpAsk(port: number, raw: Buffer, want: number, timeoutMs = 2000): Promise<Buffer[]> {
  return new Promise((resolve) => {
    const out: Buffer[] = [];
    let pending = Buffer.alloc(0);
    const sock = connect(port, '127.0.0.1');
    const done = (): void => {
      clearTimeout(t);
      sock.destroy();
      resolve(out);
    };
    const t = setTimeout(done, timeoutMs);
    sock.on('error', done);
    sock.on('close', done);
    sock.on('data', (d: Buffer) => {
      pending = Buffer.concat([pending, d]);
      while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
        out.push(pending.subarray(2, 2 + pending.readUInt16BE(0)));
        pending = pending.subarray(2 + pending.readUInt16BE(0));
      }
      if (out.length >= want) done();
    });
    sock.write(raw);
  });
}

const frame = (m: Uint8Array): Buffer => {
  const b = Buffer.alloc(2 + m.length);
  b.writeUInt16BE(m.length);
  Buffer.from(m).copy(b, 2);
  return b;
};

describe('DnsServer (UDP and TCP on loopback)', () => {
  let server: DnsServer;
  let port: number;
  const zone = new ClusterZone({ domain: 'cluster.local', dnsServiceIPs: ['10.96.0.10'] });

  before(async () => {
    zone.upsertNamespace('default');
    zone.upsertService({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'web', namespace: 'default' }, spec: { type: 'ClusterIP', clusterIP: '10.96.0.20', clusterIPs: ['10.96.0.20'], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } });
    server = new DnsServer(new DnsHandler({ zone }), { host: '127.0.0.1', port: 0 });
    port = (await server.listen()).port;
  });
  after(() => server.close());

  const checkAlive = async (): Promise<void> => {
    const res = decodeMessage((await udpAsk(port, encodeMessage(query('web.default.svc.cluster.local.', 99))))!);
    assert.equal(res.id, 99);
    assert.equal(res.answers[0]?.data.kind === 'A' && res.answers[0].data.address, '10.96.0.20');
  };

  it('answers over UDP and over TCP, several pipelined queries per connection', async () => {
    await checkAlive();
    const frames = Buffer.concat([1, 2, 3].map((id) => frame(encodeMessage(query('web.default.svc.cluster.local.', id)))));
    const got = (await tcpAsk(port, frames, 3)).map((b) => decodeMessage(b));
    assert.deepEqual(got.map((m) => m.id).sort(), [1, 2, 3]);
    assert.ok(got.every((m) => m.answers.length === 1));
  });

  it('a TCP frame split across writes is reassembled', async () => {
    const f = frame(encodeMessage(query('web.default.svc.cluster.local.', 5)));
    const res = await new Promise<Buffer[]>((resolve) => {
      const out: Buffer[] = [];
      const sock = connect(port, '127.0.0.1', () => {
        sock.write(f.subarray(0, 1));
        setTimeout(() => sock.write(f.subarray(1, 9)), 20);
        setTimeout(() => sock.write(f.subarray(9)), 40);
      });
      sock.on('data', (d: Buffer) => {
        out.push(d.subarray(2));
        sock.destroy();
        resolve(out);
      });
    });
    assert.equal(decodeMessage(res[0]!).id, 5);
  });

  it('fuzz: random and mutated packets over UDP and TCP never stop it from answering correctly', async () => {
    const valid = encodeMessage(query('web.default.svc.cluster.local.', 1234, RRType.SRV));
    let answered = 0;
    for (let i = 0; i < 600; i++) {
      let p: Uint8Array;
      const kind = i % 4;
      if (kind === 0) p = randomBytes(Math.floor(Math.random() * 600));
      else if (kind === 1) {
        p = Buffer.from(valid);
        for (let j = 0; j < 1 + (i % 5); j++) p[Math.floor(Math.random() * p.length)] = Math.floor(Math.random() * 256);
      } else if (kind === 2) p = Buffer.from(valid).subarray(0, Math.floor(Math.random() * valid.length));
      else {
        // A header claiming many records, then a compression pointer to itself.
        p = Buffer.concat([Buffer.from([i & 255, 1, 0, 0, 0, 1, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]), Buffer.from([0xc0, 12, 0, 1, 0, 1])]);
      }
      const r = await udpAsk(port, p, 50);
      if (r) {
        answered++;
        const m = decodeMessage(r);
        assert.equal(m.qr, true);
      }
    }
    assert.ok(answered > 0, 'some broken packets with a readable ID got an answer (FORMERR or a real one)');
    // TCP: garbage frames and a huge declared length the client never sends.
    await tcpAsk(port, Buffer.concat([frame(randomBytes(40)), frame(new Uint8Array(3)), Buffer.from([0xff, 0xff, 1, 2, 3])]), 5, 300);
    await checkAlive();
    const ok = (await tcpAsk(port, frame(encodeMessage(query('web.default.svc.cluster.local.', 77))), 1)).map((b) => decodeMessage(b));
    assert.equal(ok[0]?.id, 77);
  });

  it('the real dig gets answers over UDP and TCP', { skip: HAS_DIG ? false : 'dig is not installed' }, async () => {
    for (const proto of ['+notcp', '+tcp']) {
      const out = await new Promise<string>((resolve, reject) =>
        execFile('dig', [`@127.0.0.1`, '-p', String(port), proto, '+short', '+time=2', '+tries=1', 'web.default.svc.cluster.local'], (err, stdout) => (err ? reject(err) : resolve(stdout))),
      );
      assert.equal(out.trim(), '10.96.0.20', proto);
    }
  });
});
