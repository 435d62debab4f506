import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { hostname } from 'node:os';
import { fileURLToPath } from 'node:url';
import { parseFlags, udpReply, formatHostPort, goTimeString, dial } from './agnhost.js';

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
}

function run(args: string[]): Proc {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT, ...args], {
    env: { ...process.env, AGNHOST_BIND_ADDRESS: '127.0.0.1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  const waiters: Array<() => void> = [];
  child.stdout!.on('data', (d: Buffer) => {
    out += d.toString();
    for (const w of waiters.splice(0)) w();
  });
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
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
  return { child, waitFor, exited };
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
  assert.match(root.body, /^NOW: \d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{9} \+0000 UTC$/);
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
