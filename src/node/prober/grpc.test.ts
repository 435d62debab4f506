import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http2 from 'node:http2';
import * as net from 'node:net';
import {
  decodeHealthCheckResponse,
  encodeHealthCheckRequest,
  goDuration,
  grpcFrame,
  grpcHealthCheck,
  HEALTH_CHECK_PATH,
  joinHostPort,
  servingStatusName,
} from './grpc.js';
import { runCheck } from './checks.js';

/**
 * A hand-written health server on loopback. The requested service name picks the behaviour, so one
 * server covers the whole table; the request is decoded here independently of the client's encoder.
 */
let h2: http2.Http2Server;
let h2Port = 0;
/** Accepts TCP but never speaks HTTP/2: the client never becomes ready. */
let mute: net.Server;
let mutePort = 0;
let closedPort = 0;
const seen: http2.IncomingHttpHeaders[] = [];
const mutedSockets: net.Socket[] = [];

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

/** Parses a HealthCheckRequest frame the way a real server would (test-side decoder). */
function requestedService(body: Buffer): string {
  assert.equal(body[0], 0, 'uncompressed frame');
  const len = body.readUInt32BE(1);
  assert.equal(body.length, 5 + len, 'one whole frame');
  const msg = body.subarray(5);
  if (msg.length === 0) return '';
  assert.equal(msg[0], 0x0a, 'field 1, wire type 2');
  const n = msg[1]!; // names in this test are < 128 bytes: one-byte varint
  return msg.subarray(2, 2 + n).toString('utf8');
}

function responseFrame(status: number): Buffer {
  const msg = status === 0 ? Buffer.alloc(0) : Buffer.from([0x08, status]);
  return grpcFrame(msg);
}

function replyStatus(stream: http2.ServerHttp2Stream, status: number): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
  stream.end(responseFrame(status));
}

function replyError(stream: http2.ServerHttp2Stream, code: number, message: string): void {
  stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
  stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': String(code), 'grpc-message': message }));
  stream.end();
}

function handle(stream: http2.ServerHttp2Stream, headers: http2.IncomingHttpHeaders): void {
  seen.push(headers);
  const chunks: Buffer[] = [];
  stream.on('data', (c: Buffer) => chunks.push(c));
  stream.on('error', () => {});
  stream.on('end', () => {
    if (headers[':path'] !== HEALTH_CHECK_PATH) {
      // Trailers-only Unimplemented, as grpc servers answer unknown methods.
      stream.respond(
        { ':status': 200, 'content-type': 'application/grpc', 'grpc-status': '12', 'grpc-message': 'unknown method' },
        { endStream: true },
      );
      return;
    }
    const service = requestedService(Buffer.concat(chunks));
    switch (service) {
      case '':
      case 'ok':
        return replyStatus(stream, 1);
      case 'down':
        return replyStatus(stream, 2);
      case 'mystery':
        return replyStatus(stream, 3);
      case 'weird':
        return replyStatus(stream, 9);
      case 'empty':
        return replyStatus(stream, 0);
      case 'split': {
        // The frame arrives in three DATA chunks.
        const f = responseFrame(1);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        stream.write(f.subarray(0, 2));
        stream.write(f.subarray(2, 6));
        return void stream.end(f.subarray(6));
      }
      case 'missing':
        return replyError(stream, 5, 'unknown service');
      case 'encoded':
        return replyError(stream, 14, 'back%20soon%21');
      case 'unimplemented':
        return void stream.respond(
          {
            ':status': 200,
            'content-type': 'application/grpc',
            'grpc-status': '12',
            'grpc-message': 'unknown service grpc.health.v1.Health',
          },
          { endStream: true },
        );
      case 'server-deadline':
        return replyError(stream, 4, 'too slow');
      case 'http404':
        return void stream.respond({ ':status': 404, 'content-type': 'text/plain' }, { endStream: true });
      case 'html':
        stream.respond({ ':status': 200, 'content-type': 'text/html' });
        return void stream.end('<html></html>');
      case 'no-trailers':
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        return void stream.end(responseFrame(1));
      case 'compressed': {
        const f = responseFrame(1);
        f[0] = 1;
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        return void stream.end(f);
      }
      case 'garbage':
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' }, { waitForTrailers: true });
        stream.on('wantTrailers', () => stream.sendTrailers({ 'grpc-status': '0' }));
        return void stream.end(grpcFrame(Buffer.from([0x08])));
      case 'huge': {
        // Announces a 5 MiB message; the client must give up at the header, not buffer it.
        const head = Buffer.alloc(5);
        head.writeUInt32BE(5 * 1024 * 1024, 1);
        stream.respond({ ':status': 200, 'content-type': 'application/grpc' });
        return void stream.write(head);
      }
      case 'refused':
        return void stream.close(http2.constants.NGHTTP2_REFUSED_STREAM);
      case 'hang':
        return; // never answers
      default:
        return replyError(stream, 5, 'unknown service');
    }
  });
}

before(async () => {
  h2 = http2.createServer();
  h2.on('stream', handle);
  h2Port = await listen(h2);
  mute = net.createServer((s) => {
    mutedSockets.push(s);
    s.on('error', () => {});
  });
  mutePort = await listen(mute);
  const tmp = net.createServer();
  closedPort = await listen(tmp);
  await new Promise<void>((r) => tmp.close(() => r()));
});

after(async () => {
  for (const s of mutedSockets) s.destroy();
  await new Promise<void>((r) => mute.close(() => r()));
  await new Promise<void>((r) => h2.close(() => r()));
});

interface Case {
  name: string;
  service?: string;
  port?: () => number;
  timeoutMs?: number;
  result: 'success' | 'failure';
  message: string | RegExp;
}

const cases: Case[] = [
  { name: 'overall SERVING', service: '', result: 'success', message: 'service healthy' },
  { name: 'named service SERVING', service: 'ok', result: 'success', message: 'service healthy' },
  { name: 'NOT_SERVING', service: 'down', result: 'failure', message: 'service unhealthy (responded with "NOT_SERVING")' },
  {
    name: 'SERVICE_UNKNOWN',
    service: 'mystery',
    result: 'failure',
    message: 'service unhealthy (responded with "SERVICE_UNKNOWN")',
  },
  { name: 'status absent is UNKNOWN', service: 'empty', result: 'failure', message: 'service unhealthy (responded with "UNKNOWN")' },
  { name: 'unknown enum prints its number', service: 'weird', result: 'failure', message: 'service unhealthy (responded with "9")' },
  { name: 'frame split over DATA chunks', service: 'split', result: 'success', message: 'service healthy' },
  {
    name: 'NotFound status error',
    service: 'missing',
    result: 'failure',
    message: 'error: health rpc probe failed: rpc error: code = NotFound desc = unknown service',
  },
  {
    name: 'grpc-message is percent-decoded',
    service: 'encoded',
    result: 'failure',
    message: 'error: health rpc probe failed: rpc error: code = Unavailable desc = back soon!',
  },
  {
    name: 'Unimplemented (trailers-only)',
    service: 'unimplemented',
    result: 'failure',
    message:
      'error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unknown service grpc.health.v1.Health',
  },
  {
    name: 'server-sent DeadlineExceeded reads as a timeout',
    service: 'server-deadline',
    result: 'failure',
    message: 'timeout: health rpc did not complete within 1s',
  },
  {
    name: 'HTTP 404 maps to Unimplemented',
    service: 'http404',
    result: 'failure',
    message:
      'error: this server does not implement the grpc health protocol (grpc.health.v1.Health): unexpected HTTP status code received from server: 404 (Not Found); transport: received unexpected content-type "text/plain"',
  },
  {
    name: 'non-gRPC content-type',
    service: 'html',
    result: 'failure',
    message: 'error: health rpc probe failed: rpc error: code = Unknown desc = transport: received unexpected content-type "text/html"',
  },
  {
    name: 'stream ended without trailers',
    service: 'no-trailers',
    result: 'failure',
    message: 'error: health rpc probe failed: rpc error: code = Internal desc = server closed the stream without sending trailers',
  },
  {
    name: 'compressed flag without encoding',
    service: 'compressed',
    result: 'failure',
    message: /code = Internal desc = grpc: compressed flag set with identity or empty encoding$/,
  },
  {
    name: 'malformed protobuf',
    service: 'garbage',
    result: 'failure',
    message: /code = Internal desc = grpc: failed to unmarshal the received message: proto: bad varint$/,
  },
  {
    name: 'message over the 4 MiB limit',
    service: 'huge',
    result: 'failure',
    message:
      'error: health rpc probe failed: rpc error: code = ResourceExhausted desc = grpc: received message larger than max (5242880 vs. 4194304)',
  },
  {
    name: 'RST_STREAM REFUSED_STREAM',
    service: 'refused',
    result: 'failure',
    message:
      'error: health rpc probe failed: rpc error: code = Unavailable desc = stream terminated by RST_STREAM with error code: REFUSED_STREAM',
  },
  {
    name: 'server never answers the RPC',
    service: 'hang',
    timeoutMs: 300,
    result: 'failure',
    message: 'timeout: health rpc did not complete within 300ms',
  },
  {
    name: 'server never speaks HTTP/2',
    port: () => mutePort,
    timeoutMs: 300,
    result: 'failure',
    message: /^timeout: failed to connect service "127\.0\.0\.1:\d+" within 300ms: context deadline exceeded$/,
  },
  {
    // grpc-go's blocking dial keeps retrying a refused connection until the deadline, so the
    // kubelet reports a connect timeout rather than "connection refused".
    name: 'closed port',
    port: () => closedPort,
    timeoutMs: 300,
    result: 'failure',
    message: /^timeout: failed to connect service "127\.0\.0\.1:\d+" within 300ms: context deadline exceeded$/,
  },
];

for (const c of cases) {
  test(`grpcHealthCheck: ${c.name}`, async () => {
    const port = c.port ? c.port() : h2Port;
    const timeoutMs = c.timeoutMs ?? 1000;
    const start = Date.now();
    const o = await grpcHealthCheck({ host: '127.0.0.1', port, service: c.service }, timeoutMs);
    const took = Date.now() - start;
    assert.equal(o.result, c.result, o.message);
    if (typeof c.message === 'string') assert.equal(o.message, c.message);
    else assert.match(o.message, c.message);
    assert.ok(took < timeoutMs + 500, `took ${took}ms for a ${timeoutMs}ms timeout`);
    if (c.timeoutMs) assert.ok(took >= timeoutMs - 20, `gave up early after ${took}ms`);
  });
}

test('grpcHealthCheck sends the kubelet request headers and body', async () => {
  seen.length = 0;
  const o = await grpcHealthCheck({ host: '127.0.0.1', port: h2Port, service: 'ok' }, 2000);
  assert.equal(o.result, 'success');
  const h = seen.at(-1)!;
  assert.equal(h[':method'], 'POST');
  assert.equal(h[':path'], '/grpc.health.v1.Health/Check');
  assert.equal(h[':scheme'], 'http');
  assert.equal(h[':authority'], `127.0.0.1:${h2Port}`);
  assert.equal(h['content-type'], 'application/grpc');
  assert.equal(h.te, 'trailers');
  assert.equal(h['user-agent'], 'kube-probe/1.32');
  assert.match(String(h['grpc-timeout']), /^\d{1,8}m$/);
  assert.ok(Number(String(h['grpc-timeout']).slice(0, -1)) <= 2000);
});

test('runCheck routes grpc probes to the pod IP with port and service', async () => {
  const ok = await runCheck({ grpc: { port: h2Port } }, 1000, { podIP: '127.0.0.1' });
  assert.deepEqual(ok, { result: 'success', message: 'service healthy' });
  const down = await runCheck({ grpc: { port: h2Port, service: 'down' } }, 1000, { podIP: '127.0.0.1' });
  assert.deepEqual(down, { result: 'failure', message: 'service unhealthy (responded with "NOT_SERVING")' });
  const bad = await runCheck({ grpc: { port: 0 } }, 1000, { podIP: '127.0.0.1' });
  assert.equal(bad.result, 'unknown');
});

test('encodeHealthCheckRequest / grpcFrame byte layout', () => {
  const table: [string, string][] = [
    ['', ''],
    ['foo', '0a03666f6f'],
    ['x'.repeat(200), '0ac801' + '78'.repeat(200)],
  ];
  for (const [service, hex] of table) assert.equal(encodeHealthCheckRequest(service).toString('hex'), hex, service);
  assert.equal(grpcFrame(Buffer.alloc(0)).toString('hex'), '0000000000');
  assert.equal(grpcFrame(Buffer.from('0a03666f6f', 'hex')).toString('hex'), '00000000050a03666f6f');
});

test('decodeHealthCheckResponse table', () => {
  const table: [string, number | RegExp][] = [
    ['', 0],
    ['0801', 1],
    ['0802', 2],
    ['0803', 3],
    ['08010802', 2], // last value wins
    ['1203616263' + '0801', 1], // unknown length-delimited field skipped
    ['1d01020304' + '0801', 1], // unknown fixed32 skipped
    ['08ffffffffffffffffff01', -1], // negative enum (10-byte varint)
    ['08', /bad varint/],
    ['1205ab', /unexpected end/],
    ['0f', /wire type 7/],
  ];
  for (const [hex, want] of table) {
    const buf = Buffer.from(hex, 'hex');
    if (typeof want === 'number') assert.equal(decodeHealthCheckResponse(buf), want, hex);
    else assert.throws(() => decodeHealthCheckResponse(buf), want, hex);
  }
});

test('goDuration formats like Go time.Duration', () => {
  const table: [number, string][] = [
    [0, '0s'],
    [300, '300ms'],
    [1000, '1s'],
    [1500, '1.5s'],
    [30_000, '30s'],
    [60_000, '1m0s'],
    [90_000, '1m30s'],
    [3_600_000, '1h0m0s'],
  ];
  for (const [ms, s] of table) assert.equal(goDuration(ms), s, String(ms));
});

test('joinHostPort and servingStatusName', () => {
  assert.equal(joinHostPort('10.0.0.1', 80), '10.0.0.1:80');
  assert.equal(joinHostPort('fd00::1', 80), '[fd00::1]:80');
  assert.equal(servingStatusName(2), 'NOT_SERVING');
  assert.equal(servingStatusName(42), '42');
});
