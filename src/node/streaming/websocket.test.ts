import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { acceptKey, acceptWebSocket, negotiateProtocol, webSocketStream, type WebSocketConn } from './websocket.js';
import { TestWsClient } from './wsclient.js';

const execFileP = promisify(execFile);

/** Test server: every upgrade is accepted with the protocols given in ?p=a,b; behaviour by path. */
let server: http.Server;
let port: number;
const conns: WebSocketConn[] = [];

function serverFor(handler: (conn: WebSocketConn, path: string) => void): void {
  server.removeAllListeners('upgrade');
  server.on('upgrade', (req, socket, head) => {
    const url = new URL(req.url ?? '/', 'http://x');
    const protocols = (url.searchParams.get('p') ?? 'echo').split(',');
    const conn = acceptWebSocket(req, socket, head, { protocols, maxMessageSize: 1 << 20 });
    if (!conn) return;
    conns.push(conn);
    handler(conn, url.pathname);
  });
}

/** Echo server: messages come back with the same type; "close" closes with 4000. */
function echo(conn: WebSocketConn): void {
  conn.on('message', (data: Buffer, isBinary: boolean) => {
    if (!isBinary && data.toString() === 'close') conn.close(4000, 'bye');
    else conn.send(data, { binary: isBinary });
  });
}

before(async () => {
  server = http.createServer((_req, res) => res.end('plain'));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  for (const c of conns) c.terminate();
  await new Promise<void>((r) => server.close(() => r()));
});

describe('negotiateProtocol', () => {
  const cases: Array<[string, string[], string[], string | undefined]> = [
    ['server preference wins', ['v4.channel.k8s.io', 'v5.channel.k8s.io'], ['v5.channel.k8s.io', 'v4.channel.k8s.io'], 'v5.channel.k8s.io'],
    ['first common', ['a', 'b'], ['c', 'b'], 'b'],
    ['none common', ['a'], ['b'], undefined],
    ['none offered, empty allowed', [], ['x', ''], ''],
    ['none offered, empty not allowed', [], ['x'], undefined],
    ['empty is never matched from an offer', ['a'], [''], undefined],
  ];
  for (const [name, offered, allowed, want] of cases) it(name, () => assert.equal(negotiateProtocol(offered, allowed), want));
});

describe('acceptWebSocket handshake', () => {
  it('computes the RFC sample accept key', () => {
    assert.equal(acceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  });

  it('answers 101 with accept key and chosen protocol', async () => {
    serverFor(echo);
    const c = await TestWsClient.connect(port, '/?p=v5.channel.k8s.io,v4.channel.k8s.io', { protocols: ['v4.channel.k8s.io', 'v5.channel.k8s.io'] });
    assert.equal(c.handshake.status, 101);
    assert.equal(c.handshake.headers['sec-websocket-protocol'], 'v5.channel.k8s.io');
    assert.equal(c.handshake.headers.upgrade.toLowerCase(), 'websocket');
    assert.ok(c.handshake.headers['sec-websocket-accept']);
    c.destroy();
  });

  const rejects: Array<[string, string, Record<string, string>, string[] | undefined, number]> = [
    ['no common protocol → 403', '/?p=v5.channel.k8s.io', {}, ['foo'], 403],
    ['wrong version → 426', '/', { 'Sec-WebSocket-Version': '8' }, undefined, 426],
    ['bad key → 400', '/', { 'Sec-WebSocket-Key': 'short' }, undefined, 400],
  ];
  for (const [name, path, headers, protocols, status] of rejects) {
    it(name, async () => {
      serverFor(echo);
      const c = await TestWsClient.connect(port, path, { headers, protocols });
      assert.equal(c.handshake.status, status);
      if (status === 403) assert.match(c.handshake.body, /requested protocol\(s\) are not supported/);
    });
  }
});

describe('frames', () => {
  it('echoes text and binary, small/16-bit/64-bit lengths', async () => {
    serverFor(echo);
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    for (const size of [0, 5, 125, 126, 65535, 65536, 200_000]) {
      const payload = Buffer.alloc(size, size % 251);
      c.sendBinary(payload);
      const f = await c.nextFrame();
      assert.equal(f?.opcode, 2);
      assert.equal(f?.masked, false);
      assert.equal(f?.payload.length, size);
      assert.ok(f?.payload.equals(payload));
    }
    c.send(1, 'héllo');
    const t = await c.nextFrame();
    assert.equal(t?.opcode, 1);
    assert.equal(t?.payload.toString(), 'héllo');
    c.destroy();
  });

  it('reassembles fragments with interleaved ping', async () => {
    serverFor(echo);
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.send(2, 'ab', { fin: false });
    c.send(9, 'pp');
    c.send(0, 'cd', { fin: false });
    c.send(0, 'ef');
    const pong = await c.nextFrame();
    assert.equal(pong?.opcode, 10);
    assert.equal(pong?.payload.toString(), 'pp');
    const m = await c.nextFrame();
    assert.equal(m?.opcode, 2);
    assert.equal(m?.payload.toString(), 'abcdef');
    c.destroy();
  });

  it('parses frames split across TCP writes byte by byte', async () => {
    serverFor(echo);
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    const { encodeClientFrame } = await import('./wsclient.js');
    const raw = encodeClientFrame(2, Buffer.alloc(300, 7));
    for (const b of raw) {
      c.writeRaw(Buffer.from([b]));
      await new Promise((r) => setImmediate(r));
    }
    const m = await c.nextFrame();
    assert.equal(m?.payload.length, 300);
    c.destroy();
  });

  const protocolErrors: Array<[string, (c: TestWsClient) => void, number]> = [
    ['unmasked frame', (c) => c.send(2, 'x', { masked: false }), 1002],
    ['reserved bit', (c) => c.send(2, 'x', { rsv: 4 }), 1002],
    ['unknown opcode', (c) => c.send(3, 'x'), 1002],
    ['continuation without start', (c) => c.send(0, 'x'), 1002],
    ['fragmented ping', (c) => c.send(9, 'x', { fin: false }), 1002],
    ['new message inside fragmented one', (c) => (c.send(2, 'a', { fin: false }), c.send(2, 'b')), 1002],
    ['invalid utf-8 text', (c) => c.send(1, Buffer.from([0xff, 0xfe])), 1007],
    ['message over max size', (c) => c.send(2, Buffer.alloc((1 << 20) + 1)), 1009],
  ];
  for (const [name, act, code] of protocolErrors) {
    it(`closes with ${code} on ${name}`, async () => {
      serverFor(echo);
      const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
      act(c);
      const frames = await c.allFrames();
      const close = frames.find((f) => f.opcode === 8);
      assert.ok(close, 'close frame expected');
      assert.equal(close.payload.readUInt16BE(0), code);
      assert.ok(!frames.some((f) => f.opcode === 2 || f.opcode === 1), 'no data echoed');
    });
  }

  it('close handshake initiated by client: echoes the code, ends TCP, emits close', async () => {
    let closed: [number | undefined, string | undefined] | undefined;
    serverFor((conn) => {
      echo(conn);
      conn.on('close', (code?: number, reason?: string) => (closed = [code, reason]));
    });
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.sendClose(1000, 'done');
    const frames = await c.allFrames();
    assert.equal(frames.length, 1);
    assert.equal(frames[0].opcode, 8);
    assert.equal(frames[0].payload.readUInt16BE(0), 1000);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(closed, [1000, 'done']);
  });

  it('close initiated by server: sends code and reason, waits for the answer', async () => {
    serverFor(echo);
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.answerClose = false;
    c.send(1, 'close');
    const f = await c.nextFrame();
    assert.equal(f?.opcode, 8);
    assert.equal(f?.payload.readUInt16BE(0), 4000);
    assert.equal(f?.payload.subarray(2).toString(), 'bye');
    assert.equal(c.ended, false, 'server waits for our close frame');
    c.sendClose(4000);
    await c.closed();
  });

  it('abrupt TCP close emits close 1006', async () => {
    const got = new Promise<number | undefined>((resolve) => serverFor((conn) => conn.on('close', (code?: number) => resolve(code))));
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.destroy();
    assert.equal(await got, 1006);
  });
});

describe('backpressure and webSocketStream', () => {
  it('send returns false when the client does not read, then drain fires', async () => {
    let result: { sawFalse: boolean; drained: boolean } | undefined;
    const done = new Promise<void>((resolve) =>
      serverFor((conn) => {
        let sawFalse = false;
        // More than loopback's kernel buffers can hold, so the user-space queue stays non-empty while paused.
        const chunk = Buffer.alloc(256 * 1024);
        for (let i = 0; i < 128; i++) sawFalse = !conn.send(chunk) || sawFalse;
        conn.once('drain', () => {
          result = { sawFalse, drained: true };
          resolve();
        });
      }),
    );
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.socket.pause();
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(result, undefined, 'no drain while the client is paused');
    c.socket.resume();
    await done;
    assert.deepEqual(result, { sawFalse: true, drained: true });
    c.destroy();
  });

  it('pause holds back messages already received in the same TCP read until resume', async () => {
    const got: string[] = [];
    let serverConn: WebSocketConn | undefined;
    serverFor((conn) => {
      serverConn = conn;
      conn.on('message', (d: Buffer) => {
        got.push(d.toString());
        if (got.length === 1) conn.pause();
      });
    });
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    const { encodeClientFrame } = await import('./wsclient.js');
    c.writeRaw(Buffer.concat(['a', 'b', 'c'].map((x) => encodeClientFrame(2, Buffer.from(x)))));
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(got, ['a']);
    serverConn?.resume();
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(got, ['a', 'b', 'c']);
    c.destroy();
  });

  it('webSocketStream pipes binary messages both ways and ends on close', async () => {
    const received: Buffer[] = [];
    const ended = new Promise<void>((resolve) =>
      serverFor((conn) => {
        const s = webSocketStream(conn);
        s.on('data', (d: Buffer) => {
          received.push(d);
          s.write(Buffer.concat([Buffer.from('>'), d]));
        });
        s.on('end', resolve);
      }),
    );
    const c = await TestWsClient.connect(port, '/', { protocols: ['echo'] });
    c.sendBinary(Buffer.from('one'));
    c.send(1, 'ignored text');
    c.sendBinary(Buffer.from('two'));
    assert.equal((await c.nextFrame())?.payload.toString(), '>one');
    assert.equal((await c.nextFrame())?.payload.toString(), '>two');
    c.sendClose();
    await ended;
    assert.deepEqual(received.map(String), ['one', 'two']);
  });
});

describe('interop with Node\'s own WebSocket client (undici, --experimental-websocket)', () => {
  it('negotiates a protocol and echoes text and binary', async () => {
    serverFor(echo);
    const script = `
      const ws = new WebSocket('ws://127.0.0.1:${port}/?p=v5.channel.k8s.io,v4.channel.k8s.io', ['v4.channel.k8s.io','v5.channel.k8s.io']);
      ws.binaryType = 'arraybuffer';
      const got = [];
      ws.onopen = () => { ws.send('hi'); ws.send(new Uint8Array(70000).fill(3)); };
      ws.onmessage = (e) => {
        got.push(typeof e.data === 'string' ? e.data : e.data.byteLength);
        if (got.length === 2) ws.send('close');
      };
      ws.onclose = (e) => { console.log(JSON.stringify({ protocol: ws.protocol, got, code: e.code, reason: e.reason })); };
      ws.onerror = (e) => { console.log(JSON.stringify({ error: String(e.message) })); };
    `;
    const { stdout } = await execFileP(process.execPath, ['--experimental-websocket', '--no-warnings', '-e', script], { timeout: 10000 });
    assert.deepEqual(JSON.parse(stdout.trim()), { protocol: 'v5.channel.k8s.io', got: ['hi', 70000], code: 4000, reason: 'bye' });
  });
});
