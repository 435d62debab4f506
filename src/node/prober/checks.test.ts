import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensurePki } from '../../apiserver/auth/certs.js';
import { probeURL, resolvePort, runCheck, tcpCheck, type ExecFn, type ProbeHandler } from './checks.js';

let server: http.Server;
let port = 0;
let tlsServer: https.Server;
let tlsPort = 0;
let tcpServer: net.Server;
let tcpPort = 0;
let closedPort = 0;
let pkiDir = '';
const seen: http.IncomingHttpHeaders[] = [];
const hanging: http.ServerResponse[] = [];

function listen(s: net.Server): Promise<number> {
  return new Promise((resolve) => s.listen(0, '127.0.0.1', () => resolve((s.address() as net.AddressInfo).port)));
}

const handler: http.RequestListener = (req, res) => {
  seen.push(req.headers);
  const p = req.url ?? '/';
  if (p === '/ok') return void res.end('all good');
  if (p === '/fail') return void res.writeHead(500).end('broken');
  if (p === '/notfound') return void res.writeHead(404).end();
  if (p === '/redirect') return void res.writeHead(302, { location: '/ok' }).end();
  if (p === '/redirect-fail') return void res.writeHead(301, { location: '/fail' }).end();
  if (p === '/redirect-other') return void res.writeHead(302, { location: `http://localhost:${port}/fail` }).end('moved');
  if (p === '/loop') return void res.writeHead(302, { location: '/loop' }).end();
  if (p === '/slow') return void hanging.push(res);
  res.writeHead(200).end();
};

before(async () => {
  server = http.createServer(handler);
  port = await listen(server);
  pkiDir = mkdtempSync(join(tmpdir(), 'prober-'));
  const pki = await ensurePki(pkiDir, { hosts: [] });
  tlsServer = https.createServer({ cert: pki.serverCertPem, key: pki.serverKeyPem }, handler);
  tlsPort = await listen(tlsServer);
  tcpServer = net.createServer((s) => s.destroy());
  tcpPort = await listen(tcpServer);
  const tmp = net.createServer();
  closedPort = await listen(tmp);
  await new Promise((r) => tmp.close(r));
});

after(async () => {
  for (const r of hanging) r.destroy();
  for (const s of [server, tlsServer]) {
    s.closeAllConnections();
    await new Promise((r) => s.close(r));
  }
  await new Promise((r) => tcpServer.close(r));
  rmSync(pkiDir, { recursive: true, force: true });
});

interface HttpCase {
  name: string;
  probe: () => ProbeHandler;
  timeoutMs?: number;
  result: 'success' | 'failure' | 'unknown';
  message: RegExp;
}

const httpCases: HttpCase[] = [
  { name: '200 is success; body is the message', probe: () => ({ httpGet: { path: '/ok', port } }), result: 'success', message: /^all good$/ },
  { name: '500 is failure with kube message', probe: () => ({ httpGet: { path: '/fail', port } }), result: 'failure', message: /^HTTP probe failed with statuscode: 500$/ },
  { name: '404 is failure', probe: () => ({ httpGet: { path: '/notfound', port } }), result: 'failure', message: /statuscode: 404$/ },
  { name: 'path without leading slash', probe: () => ({ httpGet: { path: 'ok', port } }), result: 'success', message: /all good/ },
  { name: 'same-host redirect is followed', probe: () => ({ httpGet: { path: '/redirect', port } }), result: 'success', message: /^all good$/ },
  { name: 'same-host redirect to a 500 fails', probe: () => ({ httpGet: { path: '/redirect-fail', port } }), result: 'failure', message: /statuscode: 500/ },
  {
    name: 'redirect to another host is not followed; 3xx counts as success',
    probe: () => ({ httpGet: { path: '/redirect-other', port } }),
    result: 'success',
    message: /^Probe terminated redirects, Response body: moved$/,
  },
  { name: 'redirect loop stops after 10', probe: () => ({ httpGet: { path: '/loop', port } }), result: 'failure', message: /stopped after 10 redirects/ },
  {
    name: 'no answer within timeout fails',
    probe: () => ({ httpGet: { path: '/slow', port } }),
    timeoutMs: 200,
    result: 'failure',
    message: /context deadline exceeded \(Client\.Timeout exceeded while awaiting headers\)/,
  },
  {
    name: 'connection refused fails',
    probe: () => ({ httpGet: { path: '/', port: closedPort } }),
    result: 'failure',
    message: /dial tcp 127\.0\.0\.1:\d+: connect: connection refused/,
  },
  {
    name: 'named port resolves from the container ports',
    probe: () => ({ httpGet: { path: '/ok', port: 'web' } }),
    result: 'success',
    message: /all good/,
  },
  { name: 'unknown named port cannot run: unknown', probe: () => ({ httpGet: { path: '/ok', port: 'nope' } }), result: 'unknown', message: /couldn't find port: nope/ },
  {
    name: 'HTTPS without certificate verification',
    probe: () => ({ httpGet: { path: '/ok', port: tlsPort, scheme: 'HTTPS' } }),
    result: 'success',
    message: /all good/,
  },
  { name: 'tcpSocket open', probe: () => ({ tcpSocket: { port: tcpPort } }), result: 'success', message: /^$/ },
  {
    name: 'tcpSocket closed',
    probe: () => ({ tcpSocket: { port: closedPort } }),
    result: 'failure',
    message: /^dial tcp 127\.0\.0\.1:\d+: connect: connection refused$/,
  },
  {
    name: 'grpc to a closed port times out connecting',
    probe: () => ({ grpc: { port: closedPort } }),
    timeoutMs: 300,
    result: 'failure',
    message: /^timeout: failed to connect service "127\.0\.0\.1:\d+" within 300ms: context deadline exceeded$/,
  },
  { name: 'exec without a runtime is unknown', probe: () => ({ exec: { command: ['true'] } }), result: 'unknown', message: /exec/ },
  { name: 'no handler', probe: () => ({}), result: 'unknown', message: /missing probe handler/ },
];

for (const c of httpCases) {
  test(`runCheck: ${c.name}`, async () => {
    const o = await runCheck(c.probe(), c.timeoutMs ?? 2000, { podIP: '127.0.0.1', ports: [{ name: 'web', containerPort: port }] });
    assert.equal(o.result, c.result, o.message);
    assert.match(o.message, c.message);
  });
}

test('httpGet sends kube-probe User-Agent, Accept, custom headers and Host', async () => {
  seen.length = 0;
  const o = await runCheck(
    {
      httpGet: {
        path: '/ok',
        port,
        httpHeaders: [
          { name: 'X-Custom', value: 'v' },
          { name: 'Host', value: 'example.test' },
          { name: 'accept', value: 'application/json' },
        ],
      },
    },
    2000,
    { podIP: '127.0.0.1' },
  );
  assert.equal(o.result, 'success');
  assert.equal(seen.length, 1);
  assert.equal(seen[0]['user-agent'], 'kube-probe/1.32');
  assert.equal(seen[0]['x-custom'], 'v');
  assert.equal(seen[0].host, 'example.test');
  assert.equal(seen[0].accept, 'application/json');
});

test('httpGet host field overrides the pod IP', async () => {
  const o = await runCheck({ httpGet: { path: '/ok', port, host: '127.0.0.1' } }, 2000, { podIP: '192.0.2.1' });
  assert.equal(o.result, 'success');
});

test('tcpCheck times out against an unroutable address', async () => {
  // 192.0.2.0/24 (TEST-NET-1) is never routed; either a timeout or an immediate unreachable error is a failure.
  const o = await tcpCheck('192.0.2.1', 9, 100);
  assert.equal(o.result, 'failure');
  assert.match(o.message, /^dial tcp 192\.0\.2\.1:9: /);
});

interface ExecCase {
  name: string;
  exec: ExecFn;
  result: 'success' | 'failure' | 'unknown';
  message: RegExp;
}

const execCases: ExecCase[] = [
  { name: 'exit 0 is success', exec: async () => ({ exitCode: 0, output: 'fine' }), result: 'success', message: /^fine$/ },
  { name: 'non-zero exit with output', exec: async () => ({ exitCode: 1, output: 'bad thing' }), result: 'failure', message: /^bad thing$/ },
  { name: 'non-zero exit without output', exec: async () => ({ exitCode: 7 }), result: 'failure', message: /exited with 7/ },
  { name: 'timeout from the runtime', exec: async () => Promise.reject(new Error('timed out after 1s')), result: 'failure', message: /command timed out/ },
  { name: 'runtime error is unknown', exec: async () => Promise.reject(new Error('no such container')), result: 'unknown', message: /no such container/ },
];

for (const c of execCases) {
  test(`execCheck: ${c.name}`, async () => {
    const calls: [string[], number][] = [];
    const exec: ExecFn = (cmd, ms) => {
      calls.push([cmd, ms]);
      return c.exec(cmd, ms);
    };
    const o = await runCheck({ exec: { command: ['cat', '/tmp/healthy'] } }, 3000, { podIP: '127.0.0.1', exec });
    assert.deepEqual(calls, [[['cat', '/tmp/healthy'], 3000]]);
    assert.equal(o.result, c.result);
    assert.match(o.message, c.message);
  });
}

test('resolvePort table', () => {
  const ports = [{ name: 'http', containerPort: 8080 }];
  assert.equal(resolvePort(80, ports), 80);
  assert.equal(resolvePort('81', ports), 81);
  assert.equal(resolvePort('http', ports), 8080);
  assert.throws(() => resolvePort('grpc', ports), /couldn't find port: grpc/);
  assert.throws(() => resolvePort(0, ports), /invalid port/);
  assert.throws(() => resolvePort(70000, ports), /invalid port/);
});

test('probeURL formats scheme, IPv6 host and path', () => {
  assert.equal(probeURL({ host: '10.0.0.1', port: 8080, path: 'healthz' }).href, 'http://10.0.0.1:8080/healthz');
  assert.equal(probeURL({ host: 'fd00::1', port: 8443, scheme: 'HTTPS', path: '/a?b=c' }).href, 'https://[fd00::1]:8443/a?b=c');
});
