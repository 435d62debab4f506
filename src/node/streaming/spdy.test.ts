import assert from 'node:assert/strict';
import http from 'node:http';
import net from 'node:net';
import { test } from 'node:test';
import zlib from 'node:zlib';
import {
  FrameReader,
  HeaderDeflater,
  HeaderInflater,
  SPDY3_DICTIONARY,
  adler32,
  decodeFrame,
  encodeFrame,
  headerBlockOffset,
  parseHeaders,
  serializeHeaders,
  type Frame,
} from './spdy-frames.js';
import { SpdySession, SpdyStream, upgradeSpdy } from './spdy.js';

const hex = (s: string): Buffer => Buffer.from(s.replace(/\s+/g, ''), 'hex');

test('frame encoding matches known byte vectors', () => {
  const d = new HeaderDeflater();
  const cases: [string, Frame, string][] = [
    ['PING id 1', { type: 'ping', id: 1 }, '80030006 00000004 00000001'],
    ['RST_STREAM 3 CANCEL', { type: 'rst_stream', streamId: 3, status: 5 }, '80030003 00000008 00000003 00000005'],
    ['WINDOW_UPDATE session +65536', { type: 'window_update', streamId: 0, delta: 65536 }, '80030009 00000008 00000000 00010000'],
    ['GOAWAY last 7 ok', { type: 'goaway', lastGoodStreamId: 7, status: 0 }, '80030007 00000008 00000007 00000000'],
    [
      'SETTINGS initial window',
      { type: 'settings', clear: false, settings: [{ id: 7, flags: 0, value: 65536 }] },
      '80030004 0000000c 00000001 00000007 00010000',
    ],
    ['DATA stream 1 FIN', { type: 'data', streamId: 1, fin: true, data: Buffer.from('hi') }, '00000001 01000002 6869'],
    ['DATA empty', { type: 'data', streamId: 0x7fffffff, fin: false, data: Buffer.alloc(0) }, '7fffffff 00000000'],
  ];
  for (const [name, frame, bytes] of cases) assert.deepEqual(encodeFrame(frame, d).toString('hex'), hex(bytes).toString('hex'), name);
});

test('SPDY/3 dictionary is the 1423-byte protocol constant', () => {
  assert.equal(SPDY3_DICTIONARY.length, 1423);
  assert.equal(adler32(SPDY3_DICTIONARY), 0xe3c6a7c2);
  assert.equal(adler32(Buffer.from('Wikipedia')), 0x11e60398); // the textbook example
});

test('header blocks serialize and parse (multi-values joined with NUL)', () => {
  const h = { streamtype: 'data', port: '8080', 'x-multi': 'a\0b' };
  const b = serializeHeaders(h);
  assert.equal(b.readUInt32BE(0), 3);
  assert.deepEqual(parseHeaders(b), h);
  assert.throws(() => parseHeaders(b.subarray(0, b.length - 1)), /truncated/);
});

test('inflater decodes a zlib stream made by an independent compressor across blocks (shared context)', async () => {
  // Two sync-flushed blocks from one zlib stream with the SPDY dictionary (made with CPython's zlib, as Go's framer does).
  const b1 = hex('78f9e3c6a7c202253a48f95b044eea16061606409ab308125f99a074cc68004e892545a989b9d0c2863515141500000000ffff');
  const b2 = hex('225333a8a44a04000000ffff');
  const inf = new HeaderInflater();
  assert.deepEqual(await inf.decode(b1), { port: '8080', requestid: '0', streamtype: 'error' });
  assert.deepEqual(await inf.decode(b2), { port: '8080', requestid: '0', streamtype: 'data' });
  inf.close();
  // The second block alone is meaningless: it back-references the first.
  const fresh = new HeaderInflater();
  await assert.rejects(fresh.decode(b2), /decompression failed/);
  fresh.close();
});

test('deflater output is standard zlib with the dictionary id (readable by Node zlib)', () => {
  const d = new HeaderDeflater();
  const first = d.block({ a: '1' });
  const second = d.block({ streamtype: 'error', port: '80' });
  assert.equal(first[0], 0x78);
  assert.equal((first[0]! * 256 + first[1]!) % 31, 0);
  assert.ok(first[1]! & 0x20, 'FDICT set');
  assert.equal(first.readUInt32BE(2), 0xe3c6a7c2);
  // Each block ends with a sync-flush marker (Go's flate reader needs it to release the block).
  assert.equal(second.subarray(-5).toString('hex'), '000000ffff');
  assert.equal(first.subarray(-5).toString('hex'), '000000ffff');
  const out = zlib.inflateSync(Buffer.concat([first, second]), { dictionary: SPDY3_DICTIONARY, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const a = serializeHeaders({ a: '1' });
  assert.deepEqual(parseHeaders(out.subarray(0, a.length)), { a: '1' });
  assert.deepEqual(parseHeaders(out.subarray(a.length)), { streamtype: 'error', port: '80' });
});

test('every frame type round-trips through encode → FrameReader → decode', async () => {
  const d = new HeaderDeflater();
  const inf = new HeaderInflater();
  const frames: Frame[] = [
    { type: 'syn_stream', streamId: 5, associatedId: 0, priority: 3, fin: false, unidirectional: true, headers: { streamtype: 'data', port: '80' } },
    { type: 'syn_reply', streamId: 5, fin: true, headers: {} },
    { type: 'headers', streamId: 5, fin: false, headers: { 'x-y': 'z' } },
    { type: 'data', streamId: 5, fin: true, data: Buffer.from('payload') },
    { type: 'rst_stream', streamId: 9, status: 3 },
    { type: 'settings', clear: true, settings: [{ id: 4, flags: 1, value: 100 }, { id: 7, flags: 0, value: 1 << 20 }] },
    { type: 'ping', id: 0xfffffffe },
    { type: 'goaway', lastGoodStreamId: 11, status: 2 },
    { type: 'window_update', streamId: 3, delta: 0x7fffffff },
  ];
  const wire = Buffer.concat(frames.map((f) => encodeFrame(f, d)));
  const reader = new FrameReader();
  // Feed one byte at a time: frames must be reassembled across chunk boundaries.
  const raws = [...wire].flatMap((b) => reader.push(Buffer.from([b])));
  assert.equal(raws.length, frames.length);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i]!;
    const off = headerBlockOffset(raw);
    const headers = off === undefined ? {} : await inf.decode(raw.payload.subarray(off));
    assert.deepEqual(decodeFrame(raw, headers), frames[i], `frame ${i}`);
  }
  inf.close();
});

test('decoding rejects a wrong version and short frames', () => {
  assert.throws(() => decodeFrame({ control: true, version: 2, type: 6, streamId: 0, flags: 0, payload: Buffer.alloc(4) }), /version/);
  assert.throws(() => decodeFrame({ control: true, version: 3, type: 3, streamId: 0, flags: 0, payload: Buffer.alloc(4) }), /too short/);
  assert.deepEqual(decodeFrame({ control: true, version: 3, type: 10, streamId: 0, flags: 0, payload: Buffer.alloc(0) }).type, 'unknown');
});

// ---------------------------------------------------------------------------------------------

async function sessionPair(opts: { clientFlow?: 'auto' | 'never'; serverFlow?: 'auto' | 'never' } = {}): Promise<{
  client: SpdySession;
  server: SpdySession;
  close: () => void;
}> {
  const srv = net.createServer({ allowHalfOpen: true });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const accepted = new Promise<net.Socket>((r) => srv.once('connection', r));
  const c = net.connect({ port: (srv.address() as net.AddressInfo).port, host: '127.0.0.1', allowHalfOpen: true });
  const s = await accepted;
  const client = new SpdySession(c, { role: 'client', flowControl: opts.clientFlow });
  const server = new SpdySession(s, { role: 'server', flowControl: opts.serverFlow });
  return {
    client,
    server,
    close: () => {
      client.destroy();
      server.destroy();
      srv.close();
    },
  };
}

function readAll(s: NodeJS.ReadableStream): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks)));
    s.on('error', reject);
  });
}

test('session: streams open, are auto-replied, carry data both ways with half-close', async () => {
  const { client, server, close } = await sessionPair();
  try {
    server.on('stream', (s: SpdyStream) => {
      assert.equal(s.id % 2, 1, 'client streams are odd');
      // echo, upper-cased, then FIN after the client's FIN
      s.on('data', (c: Buffer) => s.write(c.toString().toUpperCase()));
      s.on('end', () => s.end('!'));
    });
    const st = client.openStream({ streamtype: 'data', port: '80' });
    const reply = new Promise((r) => st.once('reply', r));
    st.write('hello ');
    st.end('world');
    assert.deepEqual(await reply, {});
    assert.equal((await readAll(st)).toString(), 'HELLO WORLD!');
    await new Promise((r) => setImmediate(r));
    assert.equal(client.streamCount, 0);
    assert.equal(server.streamCount, 0);
    assert.equal(client.openStream({}).id, 3);
  } finally {
    close();
  }
});

test('session: ping round trip and echo of the peer ping', async () => {
  const { client, server, close } = await sessionPair();
  try {
    assert.ok((await client.ping()) >= 0);
    assert.ok((await server.ping()) >= 0);
  } finally {
    close();
  }
});

test('session: RST_STREAM from the peer destroys the stream and reports the status', async () => {
  const { client, server, close } = await sessionPair();
  try {
    server.on('stream', (s: SpdyStream) => s.reset(3));
    const st = client.openStream({ streamtype: 'bogus' });
    const closed = new Promise((r) => st.once('close', r));
    const status = await new Promise((r) => st.once('reset', r));
    assert.equal(status, 3);
    await closed;
    assert.equal(st.replied, false, 'a reset stream is never replied');
  } finally {
    close();
  }
});

test('session: flow control holds the sender at the window until the reader consumes', async () => {
  const { client, server, close } = await sessionPair();
  try {
    await client.ping(); // the server's SETTINGS (announcing flow control) has arrived
    const got = new Promise<SpdyStream>((r) => server.once('stream', r));
    const st = client.openStream({});
    const big = Buffer.alloc(400_000, 7);
    for (let i = 0; i < big.length; i++) big[i] = i % 251;
    const writeDone = new Promise<void>((r) => st.end(big, () => r()));
    const peer = await got;
    peer.pause();
    await new Promise((r) => setTimeout(r, 150));
    // Nothing consumed: the receiver holds at most one window (64 KiB) plus nothing more.
    assert.ok(peer.readableLength <= 65536, `buffered ${peer.readableLength}`);
    assert.ok(peer.readableLength > 0);
    peer.resume();
    const data = await readAll(peer);
    await writeDone;
    assert.equal(Buffer.compare(data, big), 0);
  } finally {
    close();
  }
});

test("session: 'auto' enforces windows only once the peer announced one; 'never' does not", async () => {
  const { client, server, close } = await sessionPair({ serverFlow: 'never' });
  try {
    assert.equal(server.enforcing, false);
    await client.ping(); // SETTINGS from each side has arrived by now
    assert.equal(client.enforcing, true, 'our own peer announced its window');
  } finally {
    close();
  }
});

test('session: transport close tears down all streams and emits close', async () => {
  const { client, server, close } = await sessionPair();
  try {
    const st = client.openStream({});
    const closed = new Promise((r) => st.once('close', r));
    const sessClosed = new Promise((r) => server.once('close', r));
    await new Promise((r) => server.once('stream', r));
    client.destroy();
    await closed;
    await sessClosed;
    assert.equal(server.streamCount, 0);
  } finally {
    close();
  }
});

// ---------------------------------------------------------------------------------------------

async function rawRequest(port: number, head: string): Promise<{ status: number; headers: string; body: string; rest: Buffer; socket: net.Socket }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(head);
  let acc: Buffer = Buffer.alloc(0);
  const i = await new Promise<number>((resolve) => {
    const on = (d: Buffer): void => {
      acc = Buffer.concat([acc, d]);
      const k = acc.indexOf('\r\n\r\n');
      if (k >= 0) {
        socket.off('data', on);
        socket.pause();
        resolve(k);
      }
    };
    socket.on('data', on);
  });
  const headers = acc.subarray(0, i).toString();
  const status = Number(headers.split(' ')[1]);
  let body = '';
  if (status !== 101) {
    socket.resume();
    const rest: Buffer[] = [acc.subarray(i + 4)];
    socket.on('data', (d: Buffer) => rest.push(d));
    await new Promise((r) => socket.once('close', r));
    body = Buffer.concat(rest).toString();
  }
  return { status, headers, body, rest: acc.subarray(i + 4), socket };
}

test('upgradeSpdy: 101 with negotiated protocol; 403 and 400 failures as kube writes them', async () => {
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => {
    const s = upgradeSpdy(req, socket, head, { protocols: ['portforward.k8s.io'] });
    s?.on('stream', (st: SpdyStream) => st.end('from-server'));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const port = (server.address() as net.AddressInfo).port;
  try {
    const ok = await rawRequest(
      port,
      'POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v9.bogus\r\nX-Stream-Protocol-Version: portforward.k8s.io\r\n\r\n',
    );
    assert.equal(ok.status, 101);
    assert.match(ok.headers, /\r\nUpgrade: SPDY\/3\.1/);
    assert.match(ok.headers, /\r\nX-Stream-Protocol-Version: portforward\.k8s\.io/);
    const client = new SpdySession(ok.socket, { role: 'client', head: ok.rest });
    ok.socket.resume();
    const st = client.openStream({ streamtype: 'data' });
    st.end();
    assert.equal((await readAll(st)).toString(), 'from-server');
    client.destroy();

    const bad = await rawRequest(port, 'POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\nX-Stream-Protocol-Version: v9.bogus\r\n\r\n');
    assert.equal(bad.status, 403);
    assert.match(bad.headers, /X-Accepted-Stream-Protocol-Versions: portforward\.k8s\.io/);
    assert.equal(bad.body, 'unable to upgrade: unable to negotiate protocol: client supports [v9.bogus], server accepts [portforward.k8s.io]\n');

    const none = await rawRequest(port, 'POST /x HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocketish\r\n\r\n');
    assert.equal(none.status, 400);
    assert.match(none.body, /^unable to upgrade: missing upgrade headers in request: http\.Header\{/);
  } finally {
    server.close();
  }
});

test('session: bytes of finished streams are credited to the session window (no slow leak)', async () => {
  const { client, server, close } = await sessionPair();
  try {
    await client.ping();
    server.on('stream', (s: SpdyStream) => {
      s.resume();
      s.on('end', () => s.end());
    });
    // 30 streams × 10 KiB = 300 KiB, far beyond one 64 KiB session window: only possible if each
    // stream's consumed bytes are acknowledged at the session level even below the ack threshold.
    for (let i = 0; i < 30; i++) {
      const st = client.openStream({});
      st.end(Buffer.alloc(10_000, i));
      await readAll(st);
    }
  } finally {
    close();
  }
});

test('session: frames received just before the transport ends are still delivered (reply, data, FIN, GOAWAY)', async () => {
  const { client, server, close } = await sessionPair();
  try {
    server.on('stream', (s: SpdyStream) => {
      s.end('last words');
      setImmediate(() => server.close());
    });
    const st = client.openStream({});
    st.end();
    assert.equal((await readAll(st)).toString(), 'last words');
  } finally {
    close();
  }
});
