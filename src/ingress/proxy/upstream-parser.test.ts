/**
 * The upstream HTTP/1.1 client's wire formats: the response parser fed whole, byte by byte and
 * in small pieces, the response headers handed to the client, and the serialized request head.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ParseError, ResponseParser, type ResponseHead } from './upstream-parser.js';
import { clientHeaders, serializeHead, type UpstreamRequest } from './upstream.js';
import { stripHopByHop } from './policy.js';

interface Parsed {
  heads: ResponseHead[];
  body: string;
  complete: boolean;
  used: number;
  keepAlive: boolean;
  trailers?: Record<string, string>;
  error?: string;
}

/** Feeds `wire` in pieces of `step` bytes (0: whole); `eof` tells the parser the connection closed. */
function parse(wire: string, o: { step?: number; head?: boolean; eof?: boolean; maxHeadBytes?: number } = {}): Parsed {
  const out: Parsed = { heads: [], body: '', complete: false, used: 0, keepAlive: true };
  const p = new ResponseParser({ onHead: (h) => out.heads.push(h), onBody: (c) => (out.body += c.toString('latin1')) }, { maxHeadBytes: o.maxHeadBytes });
  p.reset(o.head ?? false);
  const buf = Buffer.from(wire, 'latin1');
  const step = o.step || buf.length;
  try {
    for (let i = 0; i < buf.length && !p.complete; i += step) {
      const piece = buf.subarray(i, Math.min(i + step, buf.length));
      out.used = i + p.execute(piece);
    }
    if (o.eof && !p.complete) p.finish();
  } catch (e) {
    assert.ok(e instanceof ParseError, String(e));
    out.error = e.message;
  }
  out.complete = p.complete;
  out.keepAlive = p.keepAlive;
  out.trailers = p.trailers;
  return out;
}

const R = (s: string): string => s.replace(/\n/g, '\r\n');

describe('ResponseParser', () => {
  const cases: {
    name: string;
    wire: string;
    head?: boolean;
    eof?: boolean;
    status?: number;
    body?: string;
    keepAlive?: boolean;
    trailers?: Record<string, string>;
    rest?: number;
    error?: RegExp;
  }[] = [
    { name: 'content-length', wire: R('HTTP/1.1 200 OK\nContent-Length: 5\nX-A: 1\n\nhello'), status: 200, body: 'hello', keepAlive: true },
    { name: 'content-length 0', wire: R('HTTP/1.1 200 OK\nContent-Length: 0\n\n'), status: 200, body: '', keepAlive: true },
    {
      name: 'chunked with extensions and trailers',
      wire: R('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n5;name=v\nhello\n6 ; x="y"\n world\n0;end\nX-Sum: 42\nX-Sum: 43\n\n'),
      status: 200,
      body: 'hello world',
      trailers: { 'x-sum': '42, 43' },
      keepAlive: true,
    },
    { name: 'chunked, upper-case hex', wire: R('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nA\n0123456789\n0\n\n'), body: '0123456789' },
    { name: 'close-delimited', wire: R('HTTP/1.1 200 OK\nContent-Type: text/plain\n\nuntil the end'), eof: true, body: 'until the end', keepAlive: false },
    { name: 'close-delimited without EOF is incomplete', wire: R('HTTP/1.1 200 OK\n\npartial') },
    { name: 'HEAD has no body', wire: R('HTTP/1.1 200 OK\nContent-Length: 100\n\n'), head: true, status: 200, body: '', keepAlive: true },
    { name: '204 has no body', wire: R('HTTP/1.1 204 No Content\n\n'), status: 204, body: '', keepAlive: true },
    { name: '304 has no body', wire: R('HTTP/1.1 304 Not Modified\nContent-Length: 10\n\n'), status: 304, body: '' },
    { name: '100-continue then 200', wire: R('HTTP/1.1 100 Continue\n\nHTTP/1.1 103 Early Hints\nLink: </a>\n\nHTTP/1.1 201 Created\nContent-Length: 2\n\nok'), status: 201, body: 'ok' },
    { name: 'connection: close', wire: R('HTTP/1.1 200 OK\nConnection: close\nContent-Length: 2\n\nok'), body: 'ok', keepAlive: false },
    { name: 'HTTP/1.0 without keep-alive', wire: R('HTTP/1.0 200 OK\nContent-Length: 2\n\nok'), body: 'ok', keepAlive: false },
    { name: 'HTTP/1.0 keep-alive', wire: R('HTTP/1.0 200 OK\nConnection: Keep-Alive\nContent-Length: 2\n\nok'), body: 'ok', keepAlive: true },
    { name: 'chunked wins over content-length, not reused', wire: R('HTTP/1.1 200 OK\nContent-Length: 3\nTransfer-Encoding: chunked\n\n2\nok\n0\n\n'), body: 'ok', keepAlive: false },
    { name: 'repeated equal content-length', wire: R('HTTP/1.1 200 OK\nContent-Length: 2\nContent-Length: 2\n\nok'), body: 'ok' },
    { name: 'bytes after the response are left over', wire: R('HTTP/1.1 200 OK\nContent-Length: 2\n\nokEXTRA'), body: 'ok', rest: 5 },
    { name: 'no reason phrase', wire: R('HTTP/1.1 404\nContent-Length: 0\n\n'), status: 404, body: '' },
    { name: 'garbage status line', wire: R('HTTP/1.1 2xx OK\n\n'), error: /bad status line/ },
    { name: 'not HTTP', wire: R('SSH-2.0-OpenSSH\n\n'), error: /bad status line/ },
    { name: 'bare LF', wire: 'HTTP/1.1 200 OK\nContent-Length: 0\n\n', error: /CRLF/ },
    { name: 'header without colon', wire: R('HTTP/1.1 200 OK\nBroken\n\n'), error: /bad header line/ },
    { name: 'space before colon', wire: R('HTTP/1.1 200 OK\nX-A : 1\n\n'), error: /whitespace/ },
    { name: 'conflicting content-length', wire: R('HTTP/1.1 200 OK\nContent-Length: 2\nContent-Length: 3\n\nok'), error: /conflicting/ },
    { name: 'bad content-length', wire: R('HTTP/1.1 200 OK\nContent-Length: -1\n\n'), error: /bad content-length/ },
    { name: 'bad chunk size', wire: R('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\nzz\n'), error: /bad chunk size/ },
    { name: 'missing CRLF after chunk', wire: R('HTTP/1.1 200 OK\nTransfer-Encoding: chunked\n\n2\nokX\n'), error: /missing CRLF/ },
    { name: '101 is refused', wire: R('HTTP/1.1 101 Switching Protocols\n\n'), error: /101/ },
    { name: 'oversized head', wire: R(`HTTP/1.1 200 OK\nX-Big: ${'x'.repeat(70_000)}\n\n`), error: /too large/ },
  ];
  for (const c of cases) {
    for (const step of [0, 1, 7]) {
      it(`${c.name} (${step === 0 ? 'whole' : `${step}-byte pieces`})`, () => {
        const r = parse(c.wire, { step, head: c.head, eof: c.eof });
        if (c.error) {
          assert.match(r.error ?? '(no error)', c.error);
          return;
        }
        assert.equal(r.error, undefined);
        if (c.body === undefined) return assert.equal(r.complete, false);
        assert.equal(r.complete, true);
        assert.equal(r.body, c.body);
        if (c.status) assert.equal(r.heads.at(-1)!.status, c.status);
        assert.equal(r.heads.length, 1, 'interim responses are skipped');
        if (c.keepAlive !== undefined) assert.equal(r.keepAlive, c.keepAlive);
        assert.deepEqual(r.trailers, c.trailers);
        if (c.rest !== undefined && step === 0) assert.equal(Buffer.byteLength(c.wire, 'latin1') - r.used, c.rest);
      });
    }
  }

  it('keeps raw order, case and duplicates; clientHeaders matches stripHopByHop', () => {
    const r = parse(R('HTTP/1.1 200 OK\nSet-Cookie: a=1\nX-Drop: 1\nConnection: keep-alive, X-Drop\nset-cookie: b=2\nKeep-Alive: timeout=5\nX-Fold: a\n  b\nContent-Length: 0\n\n'));
    const h = r.heads[0]!;
    assert.deepEqual(h.rawNames, ['Set-Cookie', 'X-Drop', 'Connection', 'set-cookie', 'Keep-Alive', 'X-Fold', 'Content-Length']);
    assert.deepEqual(h.values, ['a=1', '1', 'keep-alive, X-Drop', 'b=2', 'timeout=5', 'a b', '0']);
    const headers = clientHeaders(h);
    assert.deepEqual({ ...headers }, { 'set-cookie': ['a=1', 'b=2'], 'x-fold': 'a b', 'content-length': '0' });
    const node: Record<string, string | string[]> = {};
    h.names.forEach((n, i) => (node[n] = n === 'set-cookie' ? [...((node[n] as string[]) ?? []), h.values[i]!] : h.values[i]!));
    assert.deepEqual({ ...headers }, stripHopByHop(node));
  });

  it('serializes the head once, with chunked framing when asked, and refuses CR/LF/NUL', () => {
    const base: UpstreamRequest = { method: 'POST', target: '/a?b', headers: { host: 'x.test', 'x-m': ['1', '2'] }, framing: 'chunked', connectTimeoutMs: 1, sendTimeoutMs: 1, readTimeoutMs: 1 };
    assert.equal(serializeHead(base), 'POST /a?b HTTP/1.1\r\nhost: x.test\r\nx-m: 1\r\nx-m: 2\r\ntransfer-encoding: chunked\r\n\r\n');
    assert.equal(serializeHead({ ...base, method: 'GET', framing: 'none' }), 'GET /a?b HTTP/1.1\r\nhost: x.test\r\nx-m: 1\r\nx-m: 2\r\n\r\n');
    for (const bad of ['a\r\nx: y', 'a\nb', 'a\0b']) assert.throws(() => serializeHead({ ...base, headers: { 'x-bad': bad } }), /invalid header/);
    assert.throws(() => serializeHead({ ...base, headers: { 'x-bad': ['ok', 'a\rb'] } }), /invalid header/);
    assert.throws(() => serializeHead({ ...base, target: '/a b' }), /invalid request target/);
  });
});

