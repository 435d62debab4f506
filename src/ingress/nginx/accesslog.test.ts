import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAccessLine } from './accesslog.js';
import type { RouteInfo } from './locations.js';

const info: RouteInfo = { namespace: 'ns', name: 'web', path: '/api', host: 'a.test', service: 'main', upstreamName: 'ns-main-80', canaryService: 'can', canaryUpstreamName: 'ns-can-80' };
const routeOf = (id: string): RouteInfo | undefined => (id === '3.0' ? info : undefined);

function line(over: Record<string, string>): string {
  return JSON.stringify({
    ra: '10.0.0.9', msec: '1700000000.500', m: 'GET', t: '/api/x?y=1', proto: 'HTTP/1.1', s: '200', bs: '12', ref: '', ua: 'curl/8',
    rl: '80', rt: '0.250', up: 'ns-main-80', alt: 'ns-can-80', uaddr: '10.1.0.1:8080', ulen: '12', utime: '0.200', ustatus: '200', id: 'rid', route: '3.0',
    ...over,
  });
}

test('parseAccessLine: fields, multi-upstream values, canary attribution, garbage', () => {
  const r = parseAccessLine(line({}), routeOf)!;
  assert.equal(r.startMs, 1700000000250);
  assert.equal(r.httpVersion, '1.1');
  assert.deepEqual(r.upstreamAddrs, ['10.1.0.1:8080']);
  assert.equal(r.upstreamResponseTimeSec, 0.2);
  assert.deepEqual(r.ingress, { namespace: 'ns', name: 'web', path: '/api', host: 'a.test', service: 'main' });

  const retried = parseAccessLine(line({ uaddr: '10.1.0.1:8080, 10.1.0.2:8080', utime: '0.100, 0.050', ustatus: '502, 200', ulen: '0, 12' }), routeOf)!;
  assert.deepEqual(retried.upstreamAddrs, ['10.1.0.1:8080', '10.1.0.2:8080']);
  assert.equal(retried.upstreamStatus, 200);
  assert.equal(retried.upstreamResponseLength, 12);
  assert.ok(Math.abs(retried.upstreamResponseTimeSec! - 0.15) < 1e-9);

  assert.equal(parseAccessLine(line({ up: 'ns-can-80' }), routeOf)!.ingress?.service, 'can');

  const fallback = parseAccessLine(line({ route: '', up: '-', uaddr: '-', utime: '-', ustatus: '-', ulen: '-' }), routeOf)!;
  assert.equal(fallback.ingress, undefined);
  assert.equal(fallback.upstreamName, '');
  assert.deepEqual(fallback.upstreamAddrs, []);
  assert.equal(fallback.upstreamStatus, undefined);

  assert.equal(parseAccessLine('not json', routeOf), undefined);
  assert.equal(parseAccessLine('{"x":1}', routeOf), undefined);
});
