import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import net from 'node:net';
import { Duplex } from 'node:stream';
import { test } from 'node:test';
import { describeDialError, dialTcp, parseChannelPorts, servePortForward, type PortForwardConnection, type PortForwardOptions } from './portforward.js';
import { SpdySession, type SpdyStream } from './spdy.js';
import { decodeFrames, encodeClientFrame } from './wsclient.js';

/** TCP echo server: echoes, and half-closes after the client's FIN (so half-close is observable). */
async function echoServer(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('<eof>'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

async function unusedPort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return port;
}

async function pfServer(opts: PortForwardOptions): Promise<{ port: number; conns: PortForwardConnection[]; close: () => void }> {
  const conns: PortForwardConnection[] = [];
  const server = http.createServer((_req, res) => res.writeHead(400).end());
  server.on('upgrade', (req, socket, head) => {
    const c = servePortForward(req, socket, head, opts);
    if (c) conns.push(c);
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    conns,
    close: () => {
      for (const c of conns) c.close();
      server.closeAllConnections();
      server.close();
    },
  };
}

async function readHead(socket: net.Socket): Promise<{ head: string; rest: Buffer }> {
  let acc: Buffer = Buffer.alloc(0);
  return new Promise((resolve, reject) => {
    const on = (d: Buffer): void => {
      acc = Buffer.concat([acc, d]);
      const k = acc.indexOf('\r\n\r\n');
      if (k < 0) return;
      socket.off('data', on);
      socket.pause();
      resolve({ head: acc.subarray(0, k).toString(), rest: acc.subarray(k + 4) });
    };
    socket.on('data', on);
    socket.once('error', reject);
  });
}

/** kubectl's SPDY fallback: POST with Upgrade: SPDY/3.1 and X-Stream-Protocol-Version. */
async function spdyClient(port: number): Promise<{ session: SpdySession; head: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(
    'POST /api/v1/namespaces/default/pods/p/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n' +
      'X-Stream-Protocol-Version: portforward.k8s.io\r\nContent-Length: 0\r\n\r\n',
  );
  const { head, rest } = await readHead(socket);
  assert.match(head, /^HTTP\/1\.1 101/);
  const session = new SpdySession(socket, { role: 'client', head: rest });
  socket.resume();
  return { session, head };
}

/** kubectl 1.31+'s tunnel: a WebSocket (subprotocol SPDY/3.1+portforward.k8s.io) whose binary messages carry SPDY. */
async function tunnelClient(port: number): Promise<{ session: SpdySession; head: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(
    'GET /api/v1/namespaces/default/pods/p/portforward HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n' +
      `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\n` +
      'Sec-WebSocket-Protocol: SPDY/3.1+portforward.k8s.io\r\n\r\n',
  );
  const { head, rest } = await readHead(socket);
  assert.match(head, /^HTTP\/1\.1 101/);
  let buf: Buffer = Buffer.alloc(0);
  const stream = new Duplex({
    write(chunk: Buffer, _e, cb): void {
      socket.write(encodeClientFrame(2, chunk), () => cb());
    },
    final(cb): void {
      socket.end(encodeClientFrame(8, Buffer.from([0x03, 0xe8])));
      cb();
    },
    read(): void {},
    destroy(err, cb): void {
      socket.destroy();
      cb(err);
    },
  });
  const onData = (d: Buffer): void => {
    buf = Buffer.concat([buf, d]);
    const { frames, rest: r } = decodeFrames(buf);
    buf = r;
    for (const f of frames) {
      assert.equal(f.masked, false);
      if (f.opcode === 2 || f.opcode === 0) stream.push(f.payload);
      else if (f.opcode === 8) stream.push(null);
    }
  };
  socket.on('data', onData);
  socket.on('close', () => stream.destroy());
  onData(rest);
  socket.resume();
  return { session: new SpdySession(stream, { role: 'client' }), head };
}

function readAll(s: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('error', reject);
  });
}

/** One forwarded connection the way client-go does it: error stream (closed at once), then data stream. */
function forwardOnce(session: SpdySession, port: number, requestId: number, payload: string): { error: Promise<string>; data: Promise<string> } {
  const headers = { streamtype: 'error', port: String(port), requestid: String(requestId) };
  const errorStream = session.openStream(headers);
  errorStream.end();
  const dataStream = session.openStream({ ...headers, streamtype: 'data' });
  dataStream.end(payload);
  return { error: readAll(errorStream), data: readAll(dataStream) };
}

const transports = [
  ['plain SPDY upgrade', spdyClient],
  ['SPDY tunnelled in a WebSocket', tunnelClient],
] as const;

for (const [name, connect] of transports) {
  test(`${name}: forwards to the target with half-close both ways, concurrent pairs`, async () => {
    const echo = await echoServer();
    const pf = await pfServer({ dial: dialTcp('127.0.0.1') });
    const { session, head } = await connect(pf.port);
    try {
      if (connect === spdyClient) assert.match(head, /\r\nX-Stream-Protocol-Version: portforward\.k8s\.io/);
      else assert.match(head, /\r\nSec-WebSocket-Protocol: SPDY\/3\.1\+portforward\.k8s\.io/);
      const a = forwardOnce(session, echo.port, 0, 'hello');
      const b = forwardOnce(session, echo.port, 1, 'x'.repeat(200_000));
      assert.equal(await a.data, 'hello<eof>');
      assert.equal(await a.error, '');
      assert.equal(await b.data, 'x'.repeat(200_000) + '<eof>');
      assert.equal(await b.error, '');
      // The session outlives the forwarded connections (kubectl reuses it for the next local connection).
      const c = forwardOnce(session, echo.port, 2, 'again');
      assert.equal(await c.data, 'again<eof>');
      assert.equal(pf.conns[0]!.transport, connect === spdyClient ? 'spdy' : 'websocket-tunnel');
    } finally {
      session.destroy();
      await pf.conns[0]?.done;
      pf.close();
      echo.close();
    }
  });

  test(`${name}: a refused dial is reported on the error stream as the kubelet words it`, async () => {
    const dead = await unusedPort();
    const pf = await pfServer({ dial: dialTcp('127.0.0.1'), podName: 'sandbox-1' });
    const { session } = await connect(pf.port);
    try {
      const r = forwardOnce(session, dead, 0, 'hello');
      assert.equal(await r.error, `error forwarding port ${dead} to pod sandbox-1, uid : dial tcp 127.0.0.1:${dead}: connect: connection refused`);
      assert.equal(await r.data, '');
    } finally {
      session.destroy();
      pf.close();
    }
  });
}

test('streams without streamtype/port are reset; ports outside the allow-list get an error', async () => {
  const echo = await echoServer();
  const pf = await pfServer({ dial: dialTcp('127.0.0.1'), ports: [1] });
  const { session } = await spdyClient(pf.port);
  try {
    const bad = session.openStream({ port: '80' });
    assert.equal(await new Promise((r) => bad.once('reset', r)), 5);
    const r = forwardOnce(session, echo.port, 0, 'x');
    assert.match(await r.error, new RegExp(`^error forwarding port ${echo.port} to pod , uid : port ${echo.port} is not allowed$`));
  } finally {
    session.destroy();
    pf.close();
    echo.close();
  }
});

test('a client reset of the data stream tears down the target connection', async () => {
  let targetClosed!: () => void;
  const closed = new Promise<void>((r) => (targetClosed = r));
  const srv = net.createServer((s) => s.resume().on('close', targetClosed));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const tport = (srv.address() as net.AddressInfo).port;
  const pf = await pfServer({ dial: dialTcp('127.0.0.1') });
  const { session } = await spdyClient(pf.port);
  try {
    const headers = { streamtype: 'error', port: String(tport), requestid: '7' };
    session.openStream(headers).end();
    const data: SpdyStream = session.openStream({ ...headers, streamtype: 'data' });
    data.write('x');
    await new Promise((r) => setTimeout(r, 100));
    data.reset();
    await closed;
  } finally {
    session.destroy();
    pf.close();
    srv.close();
  }
});

test('a lone stream of a pair times out with the error written', async () => {
  const pf = await pfServer({ dial: dialTcp('127.0.0.1'), streamCreationTimeoutMs: 100 });
  const { session } = await spdyClient(pf.port);
  try {
    const e = session.openStream({ streamtype: 'error', port: '80', requestid: '3' });
    e.end();
    assert.match(await readAll(e), /request=3\) timeout waiting for streams$/);
  } finally {
    session.destroy();
    pf.close();
  }
});

test('a plain request without upgrade headers gets 400 from the SPDY upgrader', async () => {
  const pf = await pfServer({ dial: dialTcp('127.0.0.1') });
  try {
    const socket = net.connect(pf.port, '127.0.0.1');
    socket.write('POST /pf HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: h2c\r\n\r\n');
    const { head } = await readHead(socket);
    assert.match(head, /^HTTP\/1\.1 400/);
    socket.destroy();
  } finally {
    pf.close();
  }
});

test('channel protocol: ports parsed from the query as the kubelet does', () => {
  const cases: [string, number[] | RegExp][] = [
    ['/pf?port=80', [80]],
    ['/pf?port=80,443&port=8080', [80, 443, 8080]],
    ['/pf', /"port" is required/],
    ['/pf?port=abc', /unable to parse "abc" as a port/],
    ['/pf?port=0', /must be > 0/],
    ['/pf?port=70000', /unable to parse/],
  ];
  for (const [url, want] of cases) {
    const got = parseChannelPorts(url);
    if (Array.isArray(want)) assert.deepEqual(got, want, url);
    else assert.match(String(got), want, url);
  }
});

test('channel protocol (v4.channel.k8s.io): port prefixes, data both ways, errors on the error channel', async () => {
  const echo = await echoServer();
  const dead = await unusedPort();
  const pf = await pfServer({ dial: dialTcp('127.0.0.1') });
  const socket = net.connect(pf.port, '127.0.0.1');
  try {
    socket.write(
      `GET /pf?port=${echo.port}&port=${dead} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n` +
        `Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Protocol: v4.channel.k8s.io\r\n\r\n`,
    );
    const { head, rest } = await readHead(socket);
    assert.match(head, /\r\nSec-WebSocket-Protocol: v4\.channel\.k8s\.io/);
    let buf = rest;
    const msgs: Buffer[] = [];
    let wake: (() => void) | undefined;
    socket.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      const r = decodeFrames(buf);
      buf = r.rest;
      msgs.push(...r.frames.filter((f) => f.opcode === 2).map((f) => f.payload));
      wake?.();
    });
    socket.resume();
    const until = async (pred: () => boolean): Promise<void> => {
      while (!pred()) await new Promise<void>((r) => (wake = r));
    };
    const le = (p: number): string => Buffer.from([p & 0xff, p >> 8]).toString('hex');
    await until(() => msgs.length >= 4);
    assert.deepEqual(
      msgs.slice(0, 4).map((m) => m.toString('hex')),
      [`00${le(echo.port)}`, `01${le(echo.port)}`, `02${le(dead)}`, `03${le(dead)}`],
    );
    socket.write(encodeClientFrame(2, Buffer.from('\x00ping')));
    const text = (ch: number): string => Buffer.concat(msgs.slice(4).filter((m) => m[0] === ch).map((m) => m.subarray(1))).toString();
    await until(() => text(0) === 'ping' && text(3) !== '');
    assert.equal(text(3), `error forwarding port ${dead} to pod , uid : dial tcp 127.0.0.1:${dead}: connect: connection refused`);
  } finally {
    socket.destroy();
    pf.close();
    echo.close();
  }
});

test('describeDialError renders Node errors like Go net errors', () => {
  const e = Object.assign(new Error('connect ECONNREFUSED ::1:80'), { code: 'ECONNREFUSED', address: '::1', port: 80 });
  assert.equal(describeDialError(e), 'dial tcp [::1]:80: connect: connection refused');
  assert.equal(describeDialError(new Error('boom')), 'boom');
});
