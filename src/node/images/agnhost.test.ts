import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import * as https from 'node:https';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  parseFlags, parseArgs, udpReply, formatHostPort, goTimeString, dial, parseGoDuration, goDurationString, porterPlan,
  splitHostPort, classifyTcpError, checkPort, parseUdpAddresses, goJson, LOCALHOST_CERT, LOCALHOST_KEY,
} from './agnhost.js';

const SCRIPT = fileURLToPath(new URL('./agnhost.ts', import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
});

interface Proc {
  child: ChildProcess;
  /** Resolves with the first stdout match of `re` (group 1). */
  waitFor(re: RegExp): Promise<string>;
  exited: Promise<number | null>;
  stderr(): string;
}

function run(args: string[], env: Record<string, string> = {}): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    env: { ...process.env, AGNHOST_BIND_ADDRESS: '127.0.0.1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const waitFor = (re: RegExp): Promise<string> =>
    new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re} in: ${out}`)), 30_000);
      const check = (): void => {
        const m = re.exec(out);
        if (m !== null) {
          clearTimeout(timer);
          resolve(m[1] ?? m[0]);
        } else waiters.push(check);
      };
      check();
    });
  const exited = new Promise<number | null>((r) => child.on('close', (code) => r(code)));
  return { child, waitFor, exited, stderr: () => err };
}

async function startNetexec(): Promise<{ p: Proc; http: number; udp: number }> {
  const p = run(['netexec', '--http-port=0', '--udp-port', '0', '--sctp-port=-1']);
  const httpPort = Number(await p.waitFor(/Started HTTP server on port (\d+)/));
  const udpPort = Number(await p.waitFor(/Started UDP server on port 127\.0\.0\.1 (\d+)/));
  return { p, http: httpPort, udp: udpPort };
}

async function get(port: number, path: string): Promise<{ status: number; body: string }> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`);
  return { status: res.status, body: await res.text() };
}

function udpAsk(port: number, msg: string): Promise<string> {
  const s = dgram.createSocket('udp4');
  return new Promise<string>((resolve, reject) => {
    const t = setTimeout(() => reject(new Error('udp timeout')), 5000);
    s.on('message', (m) => {
      clearTimeout(t);
      resolve(m.toString());
    });
    s.send(msg, port, '127.0.0.1');
  }).finally(() => s.close());
}

test('parseFlags: defaults, forms, unknown flags', () => {
  const cases: Array<{ sub: string; args: string[]; want?: Record<string, string>; err?: RegExp }> = [
    { sub: 'netexec', args: [], want: { 'http-port': '8080', 'udp-port': '8081', 'sctp-port': '-1' } },
    { sub: 'netexec', args: ['--http-port=1', '--udp-port', '2'], want: { 'http-port': '1', 'udp-port': '2' } },
    { sub: 'serve-hostname', args: ['--udp', '--http=false'], want: { udp: 'true', http: 'false', port: '9376' } },
    { sub: 'netexec', args: ['--bogus=1'], err: /unknown flag: --bogus/ },
    { sub: 'netexec', args: ['--http-port'], err: /flag needs an argument/ },
    { sub: 'nope', args: [], err: /unknown command "nope"/ },
  ];
  for (const c of cases) {
    if (c.err !== undefined) {
      assert.throws(() => parseFlags(c.sub, c.args), c.err);
      continue;
    }
    const f = parseFlags(c.sub, c.args);
    for (const [k, v] of Object.entries(c.want ?? {})) assert.equal(f.get(k), v, `${c.sub} ${c.args.join(' ')} ${k}`);
  }
});

test('udpReply / formatHostPort / goTimeString', () => {
  const table: Array<[string, string | undefined]> = [
    ['hostname', 'h1'],
    ['  HOSTNAME\n', 'h1'],
    ['echo Hello', 'hello'], // agnhost lower-cases the whole datagram
    ['clientip', '1.2.3.4:5'],
    ['what', undefined],
  ];
  for (const [msg, want] of table) assert.equal(udpReply(msg, '1.2.3.4:5', 'h1'), want, msg);
  assert.equal(formatHostPort('::ffff:127.0.0.1', 80), '127.0.0.1:80');
  assert.equal(formatHostPort('::1', 80), '[::1]:80');
  assert.equal(goTimeString(new Date(Date.UTC(2024, 0, 2, 3, 4, 5, 6))), '2024-01-02 03:04:05.006000000 +0000 UTC');
});

test('dial: parameter validation matches agnhost', async () => {
  const cases: Array<[string, number, RegExp]> = [
    ['host=127.0.0.1&port=1', 400, /^request parameter not specified/],
    ['request=x&host=127.0.0.1&port=1&tries=a', 400, /^tries parameter is invalid/],
    ['request=x&host=127.0.0.1&port=1&protocol=ftp', 400, /^unsupported protocol\. ftp/],
    ['request=x&host=127.0.0.1&port=abc', 400, /^host and\/or port param are invalid/],
  ];
  for (const [qs, status, re] of cases) {
    const r = await dial(new URLSearchParams(qs));
    assert.equal(r.status, status, qs);
    assert.match(r.body, re, qs);
  }
});

test('netexec HTTP endpoints, UDP server and /dial between two instances', async () => {
  const a = await startNetexec();
  const b = await startNetexec();
  const host = hostname();

  const root = await get(a.http, '/');
  assert.match(root.body, /^NOW: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC m=\+\d+\.\d{9}$/);
  assert.deepEqual(await get(a.http, '/hostname'), { status: 200, body: host });
  assert.deepEqual(await get(a.http, '/hostName'), { status: 200, body: host });
  assert.match((await get(a.http, '/clientip')).body, /^127\.0\.0\.1:\d+$/);
  assert.deepEqual(await get(a.http, '/echo?msg=hi%20there'), { status: 200, body: 'hi there' });
  assert.deepEqual(await get(a.http, '/echo?msg=x&code=503'), { status: 503, body: 'x' });
  assert.equal((await get(a.http, '/healthz')).status, 200);

  const sh = await get(a.http, '/shell?cmd=' + encodeURIComponent('echo out; echo err >&2'));
  assert.deepEqual(JSON.parse(sh.body), { output: 'out\nerr\n' });
  const shFail = await get(a.http, '/shell?cmd=' + encodeURIComponent('exit 3'));
  assert.deepEqual(JSON.parse(shFail.body), { error: 'exit status 3' });

  // UDP server directly
  assert.equal(await udpAsk(a.udp, 'hostname'), host);
  assert.equal(await udpAsk(a.udp, 'echo abc'), 'abc');
  assert.match(await udpAsk(a.udp, 'clientip'), /^127\.0\.0\.1:\d+$/);

  // /dial from a → b over HTTP: echo proves it really reached b's server.
  const dh = await get(a.http, `/dial?request=${encodeURIComponent('echo?msg=fromb')}&protocol=http&host=127.0.0.1&port=${b.http}&tries=2`);
  assert.equal(dh.status, 200);
  assert.deepEqual(JSON.parse(dh.body), { responses: ['fromb', 'fromb'] });
  const dhHost = await get(a.http, `/dial?request=hostname&host=127.0.0.1&port=${b.http}`);
  assert.deepEqual(JSON.parse(dhHost.body), { responses: [host] });

  // /dial over UDP
  const du = await get(a.http, `/dial?request=hostname&protocol=udp&host=127.0.0.1&port=${b.udp}&tries=3`);
  assert.deepEqual(JSON.parse(du.body), { responses: [host, host, host] });
  const duEcho = await get(a.http, `/dial?request=${encodeURIComponent('echo viaudp')}&protocol=udp&host=127.0.0.1&port=${b.udp}`);
  assert.deepEqual(JSON.parse(duEcho.body), { responses: ['viaudp'] });

  // /dial to a closed port reports errors only.
  await b.p.child.kill('SIGKILL');
  await b.p.exited;
  const dErr = await get(a.http, `/dial?request=hostname&protocol=http&host=127.0.0.1&port=${b.http}`);
  const parsed = JSON.parse(dErr.body) as { responses?: string[]; errors?: string[] };
  assert.equal(parsed.responses, undefined);
  assert.equal(parsed.errors?.length, 1);
  assert.match(parsed.errors![0]!, /connection refused/);

  // /exit?code=7 replies, then the process exits with 7.
  const ex = await get(a.http, '/exit?code=7');
  assert.equal(ex.status, 200);
  assert.equal(await a.p.exited, 7);
});

test('netexec --udp-port=-1: no UDP server, /healthz is 412; /dial udp to closed port errors', async () => {
  const p = run(['netexec', '--http-port=0', '--udp-port=-1']);
  const port = Number(await p.waitFor(/Started HTTP server on port (\d+)/));
  assert.equal((await get(port, '/healthz')).status, 412);
  const closed = dgram.createSocket('udp4');
  await new Promise<void>((r) => closed.bind(0, '127.0.0.1', () => r()));
  const deadPort = closed.address().port;
  closed.close();
  const d = await get(port, `/dial?request=hostname&protocol=udp&host=127.0.0.1&port=${deadPort}&tries=1`);
  const body = JSON.parse(d.body) as { responses?: string[]; errors?: string[] };
  assert.equal(body.responses, undefined);
  assert.match(body.errors?.[0] ?? '', /^reading from udp connection failed\. err:/);
  p.child.kill('SIGKILL');
});

test('netexec /shutdown exits 0; bad flag exits 1', async () => {
  const a = await startNetexec();
  assert.equal((await get(a.http, '/shutdown')).status, 200);
  assert.equal(await a.p.exited, 0);
  const bad = run(['netexec', '--no-such-flag']);
  assert.equal(await bad.exited, 1);
});

test('serve-hostname over HTTP and UDP; HTTP+UDP together is refused', async () => {
  const h = run(['serve-hostname', '--port=0']);
  const hp = Number(await h.waitFor(/Serving on port (\d+)\./));
  assert.deepEqual(await get(hp, '/anything'), { status: 200, body: hostname() });
  h.child.kill('SIGKILL');

  const u = run(['serve-hostname', '--udp', '--http=false', '--port=0']);
  const up = Number(await u.waitFor(/Serving on port (\d+)\./));
  assert.equal(await udpAsk(up, 'x'), hostname());
  u.child.kill('SIGKILL');

  const t = run(['serve-hostname', '--tcp', '--http=false', '--port=0']);
  const tp = Number(await t.waitFor(/Serving on port (\d+)\./));
  const got = await new Promise<string>((resolve, reject) => {
    let buf = '';
    const c = net.connect(tp, '127.0.0.1');
    c.on('data', (d: Buffer) => (buf += d.toString()));
    c.on('end', () => resolve(buf));
    c.on('error', reject);
  });
  assert.equal(got, hostname());
  // SIGTERM does not stop serving (agnhost waits 60s for pod deletion).
  t.child.kill('SIGTERM');
  await t.waitFor(/(Awaiting pod deletion)/);
  assert.equal(t.child.exitCode, null);
  t.child.kill('SIGKILL');

  const both = run(['serve-hostname', '--udp']);
  assert.equal(await both.exited, 1);
});

test('pause exits 0 on SIGTERM and on SIGINT', async () => {
  for (const sig of ['SIGTERM', 'SIGINT'] as const) {
    const p = run(['pause']);
    await p.waitFor(/Paused/);
    p.child.kill(sig);
    assert.equal(await p.exited, 0, sig);
  }
});

test('parseArgs: positionals, cobra errors, new subcommands', () => {
  const cases: Array<{ sub: string; argv: string[]; args?: string[]; flags?: Record<string, string>; err?: RegExp }> = [
    { sub: 'connect', argv: ['127.0.0.1:80', '--timeout=1s'], args: ['127.0.0.1:80'], flags: { timeout: '1s', protocol: 'tcp', 'udp-data': 'hostname' } },
    { sub: 'connect', argv: ['--protocol', 'udp', 'h:1'], args: ['h:1'], flags: { protocol: 'udp', timeout: '0s' } },
    { sub: 'connect', argv: ['--', '-x:1'], args: ['-x:1'] },
    { sub: 'connect', argv: [], err: /^Error: accepts 1 arg\(s\), received 0$/ },
    { sub: 'connect', argv: ['a:1', 'b:2'], err: /^Error: accepts 1 arg\(s\), received 2$/ },
    { sub: 'netexec', argv: ['extra'], err: /^Error: unknown command "extra" for "agnhost netexec"$/ },
    { sub: 'porter', argv: ['--json-response'], args: [], flags: { 'json-response': 'true' } },
    { sub: 'porter', argv: [], flags: { 'json-response': 'false' } },
  ];
  for (const c of cases) {
    const name = `${c.sub} ${c.argv.join(' ')}`;
    if (c.err !== undefined) {
      assert.throws(() => parseArgs(c.sub, c.argv), c.err, name);
      continue;
    }
    const got = parseArgs(c.sub, c.argv);
    if (c.args !== undefined) assert.deepEqual(got.args, c.args, name);
    for (const [k, v] of Object.entries(c.flags ?? {})) assert.equal(got.flags.get(k), v, `${name} ${k}`);
  }
});

test('Go durations: parse and print', () => {
  const parse: Array<[string, number | undefined]> = [
    ['0', 0], ['1s', 1000], ['250ms', 250], ['1.5s', 1500], ['1m30s', 90_000], ['2h', 7_200_000], ['-1s', -1000],
    ['1000us', 1], ['', undefined], ['5', undefined], ['1x', undefined], ['s', undefined], ['1s2', undefined],
  ];
  for (const [text, want] of parse) assert.equal(parseGoDuration(text), want, JSON.stringify(text));
  const print: Array<[number, string]> = [[0, '0s'], [250, '250ms'], [1000, '1s'], [1500, '1.5s'], [10_000, '10s'], [60_000, '1m0s'], [90_000, '1m30s'], [7_200_000, '2h0m0s']];
  for (const [ms, want] of print) assert.equal(goDurationString(ms), want, String(ms));
});

test('porterPlan picks SERVE_* variables by prefix', () => {
  const plan = porterPlan({
    SERVE_PORT_9001: 'a', SERVE_TCP_PORT_9002: 'b', SERVE_UDP_PORT_9003: 'c', SERVE_TLS_PORT_9004: 'd=e', SERVE_SCTP_PORT_9005: 'f',
    SERVE_PORT_: 'empty-port', HOME: '/root', XSERVE_PORT_1: 'no', UNSET: undefined,
  });
  assert.deepEqual(plan, [
    { kind: 'tcp', key: 'SERVE_PORT_9001', port: '9001', value: 'a' },
    { kind: 'tcp', key: 'SERVE_TCP_PORT_9002', port: '9002', value: 'b' },
    { kind: 'udp', key: 'SERVE_UDP_PORT_9003', port: '9003', value: 'c' },
    { kind: 'tls', key: 'SERVE_TLS_PORT_9004', port: '9004', value: 'd=e' },
    { kind: 'sctp', key: 'SERVE_SCTP_PORT_9005', port: '9005', value: 'f' },
    { kind: 'tcp', key: 'SERVE_PORT_', port: '', value: 'empty-port' },
  ]);
});

test('address helpers: splitHostPort, checkPort, classifyTcpError, parseUdpAddresses, goJson', () => {
  const split: Array<[string, unknown]> = [
    ['1.2.3.4:80', { host: '1.2.3.4', port: '80' }],
    ['[::1]:80', { host: '::1', port: '80' }],
    ['svc.ns:http', { host: 'svc.ns', port: 'http' }],
    [':80', { host: '', port: '80' }],
    ['nohost', { error: 'address nohost: missing port in address' }],
    ['::1:80', { error: 'address ::1:80: too many colons in address' }],
    ['[::1]', { error: 'address [::1]: missing port in address' }],
  ];
  for (const [dest, want] of split) assert.deepEqual(splitHostPort(dest), want, dest);
  assert.equal(checkPort('80', 'tcp'), undefined);
  assert.equal(checkPort('', 'tcp'), undefined);
  assert.equal(checkPort('99999', 'tcp'), 'address 99999: invalid port');
  assert.equal(checkPort('http', 'udp'), 'address udp/http: unknown port');
  const classify: Array<[string | undefined, string]> = [
    ['ECONNREFUSED', 'REFUSED\n'],
    ['ETIMEDOUT', 'TIMEOUT\n'],
    ['EHOSTUNREACH', 'OTHER: dial tcp 10.0.0.1:80: connect: no route to host\n'],
    ['ENETUNREACH', 'OTHER: dial tcp 10.0.0.1:80: connect: network is unreachable\n'],
  ];
  for (const [code, want] of classify) assert.equal(classifyTcpError(code, '10.0.0.1:80'), want, code);
  assert.deepEqual(parseUdpAddresses(''), []);
  assert.deepEqual(parseUdpAddresses('10.0.0.2,::1,10.0.0.2'), ['10.0.0.2', '::1']);
  assert.throws(() => parseUdpAddresses('10.0.0.1,nope'), /^Error: parseAddress: invalid address nope$/);
  assert.equal(goJson({ responses: ['<a&b>'] }), '{"responses":["\\u003ca\\u0026b\\u003e"]}');
  assert.equal(goTimeString(new Date(Date.UTC(2024, 0, 2)), { monotonicSeconds: 1.5 }), '2024-01-02 00:00:00.000000000 +0000 UTC m=+1.500000000');
});

test('dial: sctp fails per try, localhost resolves once, empty port is port 0', async () => {
  const sctp = await dial(new URLSearchParams('request=hostname&protocol=sctp&host=127.0.0.1&port=1&tries=2'));
  assert.equal(sctp.status, 200);
  assert.deepEqual(JSON.parse(sctp.body), { errors: ['sctp dial failed. err:socket: protocol not supported', 'sctp dial failed. err:socket: protocol not supported'] });
  const srv = net.createServer((c) => c.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok'));
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  const r = await dial(new URLSearchParams(`request=x&host=localhost&port=${port}`));
  srv.close();
  assert.deepEqual(JSON.parse(r.body), { responses: ['ok'] });
  const bad = await dial(new URLSearchParams('request=x&host=127.0.0.1&port=70000&protocol=udp'));
  assert.deepEqual(bad, { status: 400, body: 'host and/or port param are invalid. address 70000: invalid port\n' });
});

function certFiles(): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'agnhost-test-'));
  writeFileSync(join(dir, 'tls.crt'), LOCALHOST_CERT);
  writeFileSync(join(dir, 'tls.key'), LOCALHOST_KEY);
  return { cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') };
}

/** GET over TLS verifying the server against our embedded localhost certificate. */
function tlsGet(port: number, path = '/'): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port, path, ca: LOCALHOST_CERT, servername: 'localhost', agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

test('netexec: TLS, --http-override, --udp-listen-addresses, /redirect, /shell signal, /exit validation and graceful exit', async () => {
  const f = certFiles();
  const p = run(['netexec', '--http-port=0', '--udp-port=0', `--tls-cert-file=${f.cert}`, `--tls-private-key-file=${f.key}`, '--udp-listen-addresses=127.0.0.1']);
  const port = Number(await p.waitFor(/Started HTTP server on port (\d+)/));
  const udp = Number(await p.waitFor(/Started UDP server on port 127\.0\.0\.1 (\d+)/));
  assert.deepEqual(await tlsGet(port, '/hostname'), { status: 200, body: hostname() });
  assert.equal(await udpAsk(udp, 'echo x'), 'x');
  const rd = await tlsGet(port, '/redirect?location=/echo%3Fmsg%3Dfoobar&code=307');
  assert.equal(rd.status, 307);
  assert.equal(rd.body, '<a href="/echo?msg=foobar">Temporary Redirect</a>.\n\n');
  const sig = await tlsGet(port, '/shell?cmd=' + encodeURIComponent('echo before; kill -9 $$'));
  assert.deepEqual(JSON.parse(sig.body), { output: 'before\n', error: 'signal: killed' });
  const cases: Array<[string, string]> = [
    ['/exit?timeout=soon', `argument 'timeout' must be a valid golang duration or empty, got "soon"\n`],
    ['/exit?wait=1', `argument 'wait' must be a valid golang duration or empty, got "1"\n`],
    ['/exit?code=x', `argument 'code' must be an integer [0-127] or empty, got "x"\n`],
  ];
  for (const [path, want] of cases) assert.deepEqual(await tlsGet(port, path), { status: 200, body: want }, path);
  assert.equal((await tlsGet(port, '/exit?code=4&wait=100ms&timeout=2s')).status, 200);
  await p.waitFor(/(Will begin shutdown in 100ms, allowing 2s for connections to close, then will exit with 4)/);
  await p.waitFor(/(Graceful shutdown completed with: <nil>)/);
  assert.equal(await p.exited, 4);

  const o = run(['netexec', '--http-port=0', '--udp-port=-1', '--http-override=/echo?msg=overridden']);
  const op = Number(await o.waitFor(/Started HTTP server on port (\d+)/));
  assert.deepEqual(await get(op, '/hostname'), { status: 200, body: 'overridden' });
  o.child.kill('SIGKILL');
});

test('porter serves HTTP, HTTPS (embedded and file certs), UDP and --json-response; SCTP only logs', async () => {
  const env = { SERVE_PORT_0: 'plain value', SERVE_TLS_PORT_0: 'tls value', SERVE_UDP_PORT_0: 'udp value', SERVE_SCTP_PORT_9999: 'nope' };
  const a = run(['porter'], env);
  const httpPort = Number(await a.waitFor(/Started HTTP server on port (\d+) \(SERVE_PORT_0\)/));
  const tlsPort = Number(await a.waitFor(/Started HTTPS server on port (\d+) \(SERVE_TLS_PORT_0\)/));
  const udpPort = Number(await a.waitFor(/Started UDP server on port (\d+) \(SERVE_UDP_PORT_0\)/));
  await a.waitFor(/(SCTP is not supported by this agnhost; not serving SERVE_SCTP_PORT_9999)/);
  assert.deepEqual(await get(httpPort, '/any/path'), { status: 200, body: 'plain value' });
  assert.deepEqual(await tlsGet(tlsPort), { status: 200, body: 'tls value' });
  assert.equal(await udpAsk(udpPort, 'anything'), 'udp value');
  a.child.kill('SIGKILL');

  const f = certFiles();
  const b = run(['porter', '--json-response'], { SERVE_TCP_PORT_0: 'v<1>', SERVE_TLS_PORT_0: 't', CERT_FILE: f.cert, KEY_FILE: f.key });
  const bp = Number(await b.waitFor(/Started HTTP server on port (\d+) \(SERVE_TCP_PORT_0\)/));
  const bt = Number(await b.waitFor(/Started HTTPS server on port (\d+) \(SERVE_TLS_PORT_0\)/));
  const res = await fetch(`http://127.0.0.1:${bp}/`, { method: 'POST', body: 'x' });
  assert.equal(res.headers.get('content-type'), 'application/json');
  assert.equal(await res.text(), '{"Method":"POST","Body":"v\\u003c1\\u003e"}');
  assert.deepEqual(await tlsGet(bt), { status: 200, body: '{"Method":"GET","Body":"t"}' });
  b.child.kill('SIGKILL');

  // A TCP/TLS listener that cannot start only logs; porter keeps running.
  const c = run(['porter'], { SERVE_TLS_PORT_0: 't', CERT_FILE: '/nonexistent/cert.pem', SERVE_PORT_abc: 'x' });
  await c.waitFor(/(tls server on port "0" with certFile="\/nonexistent\/cert\.pem", keyFile="\/localhost\.key" failed: .*ENOENT)/);
  await c.waitFor(/(server on port "abc" failed: listen tcp: address tcp\/abc: unknown port)/);
  assert.equal(c.child.exitCode, null);
  c.child.kill('SIGKILL');
});

test('connect: exit code and stderr prefix per outcome', async () => {
  const srv = net.createServer((s) => s.end());
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const open = (srv.address() as net.AddressInfo).port;
  const closedTcp = await new Promise<number>((r) => {
    const t = net.createServer().listen(0, '127.0.0.1', () => {
      const port = (t.address() as net.AddressInfo).port;
      t.close(() => r(port));
    });
  });
  const silent = dgram.createSocket('udp4'); // receives, never answers
  await new Promise<void>((r) => silent.bind(0, '127.0.0.1', () => r()));
  const silentPort = silent.address().port;
  const ne = await startNetexec();
  const cases: Array<{ args: string[]; code: number; stderr: RegExp }> = [
    { args: [`127.0.0.1:${open}`], code: 0, stderr: /^$/ },
    { args: [`localhost:${open}`, '--timeout=2s'], code: 0, stderr: /^$/ },
    { args: [`127.0.0.1:${closedTcp}`, '--timeout=2s'], code: 1, stderr: /^REFUSED\n$/ },
    { args: ['nohostport'], code: 1, stderr: /^UNKNOWN: address nohostport: missing port in address\n$/ },
    { args: ['127.0.0.1:99999'], code: 1, stderr: /^DNS: address 99999: invalid port\n$/ },
    { args: [`127.0.0.1:${ne.udp}`, '--protocol=udp', '--timeout=2s'], code: 0, stderr: /^$/ },
    { args: [`127.0.0.1:${silentPort}`, '--protocol=udp', '--timeout=300ms'], code: 1, stderr: /^TIMEOUT: read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: i\/o timeout\n$/ },
    { args: [`127.0.0.1:${closedTcp}`, '--protocol=udp', '--timeout=2s'], code: 1, stderr: /^REFUSED: read udp 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: read: connection refused\n$/ },
    { args: ['127.0.0.1:1', '--protocol=sctp'], code: 1, stderr: /^OTHER: socket: protocol not supported\n$/ },
    { args: ['127.0.0.1:1', '--protocol=icmp'], code: 1, stderr: /^Unsupported protocol\nicmp$/ },
    { args: [], code: 1, stderr: /^Error: accepts 1 arg\(s\), received 0\n$/ },
    { args: ['127.0.0.1:1', '--timeout=5'], code: 1, stderr: /^Error: invalid argument "5" for "--timeout" flag: time: invalid duration "5"\n$/ },
  ];
  await Promise.all(
    cases.map(async (c) => {
      const p = run(['connect', ...c.args]);
      const code = await p.exited;
      assert.equal(code, c.code, `${c.args.join(' ')}: ${p.stderr()}`);
      assert.match(p.stderr(), c.stderr, c.args.join(' '));
    }),
  );
  ne.p.child.kill('SIGKILL');
  srv.close();
  silent.close();
});
