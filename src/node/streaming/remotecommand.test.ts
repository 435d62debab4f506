import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import type { ExecSession } from '../runtime/cri.js';
import {
  ChannelCodec,
  exitStatus,
  parseRemoteCommandQuery,
  serveRemoteCommand,
  splitJsonObjects,
  startErrorStatus,
  type RemoteCommandOptions,
  type RemoteCommandResult,
} from './remotecommand.js';
import { spawnExecSession, startExecTestServer } from './testserver.js';
import { TestWsClient, type RawFrame } from './wsclient.js';

describe('parseRemoteCommandQuery', () => {
  const cases: Array<[string, string, 'exec' | 'attach', unknown]> = [
    ['kubectl exec', 'command=sh&command=-c&command=echo+hi&container=main&stderr=true&stdout=true', 'exec', { cmd: ['sh', '-c', 'echo hi'], stdin: false, stdout: true, stderr: true, tty: false, container: 'main' }],
    ['apiserver proxy style "1"', 'command=ls&stdin=1&stdout=1&tty=1', 'exec', { cmd: ['ls'], stdin: true, stdout: true, stderr: false, tty: true }],
    ['tty drops stderr', 'command=ls&stdout=true&stderr=true&tty=true', 'exec', { cmd: ['ls'], stdin: false, stdout: true, stderr: false, tty: true }],
    ['no streams', 'command=ls', 'exec', { error: 'you must specify at least 1 of stdin, stdout, stderr' }],
    ['exec needs a command', 'stdout=true', 'exec', { error: 'you must specify at least one command for the container' }],
    ['attach needs none', 'stdout=true&stdin=true', 'attach', { cmd: [], stdin: true, stdout: true, stderr: false, tty: false }],
    ['false spellings', 'command=x&stdout=false&stderr=0&stdin=yes', 'exec', { error: 'you must specify at least 1 of stdin, stdout, stderr' }],
  ];
  for (const [name, q, kind, want] of cases) it(name, () => assert.deepEqual(parseRemoteCommandQuery(new URLSearchParams(q), kind), want));
});

describe('statuses (as kubelet writes them)', () => {
  it('success', () => assert.equal(JSON.stringify(exitStatus(0, ['true'])), '{"metadata":{},"status":"Success"}'));
  it('non-zero exit', () =>
    assert.deepEqual(exitStatus(3, ['sh', '-c', 'exit 3']), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    }));
  it('start error is an InternalError', () =>
    assert.deepEqual(startErrorStatus(new Error('exec: "foo": executable file not found in $PATH')), {
      metadata: {},
      status: 'Failure',
      message: 'Internal error occurred: error executing command in container: exec: "foo": executable file not found in $PATH',
      reason: 'InternalError',
      details: { causes: [{ message: 'error executing command in container: exec: "foo": executable file not found in $PATH' }] },
      code: 500,
    }));
  it('a StatusError-like error is passed through without kind/apiVersion', () => {
    const err = { toStatus: () => ({ kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', reason: 'BadRequest', message: 'container not running', code: 400 }) };
    assert.deepEqual(startErrorStatus(err), { metadata: {}, status: 'Failure', reason: 'BadRequest', message: 'container not running', code: 400 });
  });
});

describe('splitJsonObjects', () => {
  const cases: Array<[string, string[], string]> = [
    ['{"Width":80,"Height":24}', ['{"Width":80,"Height":24}'], ''],
    ['{"Width":80,"Height":24}{"Width":1,"Height":2}\n', ['{"Width":80,"Height":24}', '{"Width":1,"Height":2}'], '\n'],
    ['{"Width":80,"He', [], '{"Width":80,"He'],
    ['{"a":"}{"}{"b":1', ['{"a":"}{"}'], '{"b":1'],
  ];
  for (const [input, objects, rest] of cases) it(JSON.stringify(input), () => assert.deepEqual(splitJsonObjects(input), { objects, rest }));
});

describe('ChannelCodec', () => {
  it('decodes binary and base64 messages', () => {
    assert.deepEqual(new ChannelCodec('v5.channel.k8s.io').decode(Buffer.from([0, 104, 105]), true), { channel: 0, data: Buffer.from('hi') });
    assert.deepEqual(new ChannelCodec('base64.channel.k8s.io').decode(Buffer.from('0aGk='), false), { channel: 0, data: Buffer.from('hi') });
    assert.equal(new ChannelCodec('v4.channel.k8s.io').decode(Buffer.alloc(0), true), undefined);
  });
  it('status payloads by protocol', () => {
    const fail = exitStatus(2, ['x']);
    assert.equal(new ChannelCodec('v4.channel.k8s.io').statusPayload(exitStatus(0, []))?.toString(), '{"metadata":{},"status":"Success"}');
    assert.equal(new ChannelCodec('channel.k8s.io').statusPayload(exitStatus(0, [])), undefined);
    assert.equal(new ChannelCodec('channel.k8s.io').statusPayload(fail)?.toString(), fail.message);
  });
});

// ---- over a real loopback connection -------------------------------------------------------------

type Start = (o: RemoteCommandOptions) => Promise<ExecSession>;
let server: http.Server;
let port: number;
let startFn: Start = (o) => spawnExecSession(o);
let results: Array<Promise<RemoteCommandResult>> = [];

before(async () => {
  server = http.createServer((_q, r) => r.end());
  server.on('upgrade', (req, socket, head) => {
    results.push(serveRemoteCommand(req, socket, head, { start: (o) => startFn(o), kind: req.url?.startsWith('/attach') ? 'attach' : 'exec' }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  port = (server.address() as AddressInfo).port;
});
after(async () => {
  server.closeAllConnections();
  await new Promise<void>((r) => server.close(() => r()));
});

function execPath(cmd: string[], flags: string): string {
  return '/exec?' + cmd.map((c) => 'command=' + encodeURIComponent(c)).join('&') + '&' + flags;
}

/** Channel contents of a finished v4/v5 session (binary protocol). */
function byChannel(frames: RawFrame[]): { out: Record<number, string>; order: number[]; closeCode?: number } {
  const out: Record<number, string> = {};
  const order: number[] = [];
  let closeCode: number | undefined;
  for (const f of frames) {
    if (f.opcode === 8) closeCode = f.payload.readUInt16BE(0);
    if (f.opcode !== 2) continue;
    order.push(f.payload[0]);
    out[f.payload[0]] = (out[f.payload[0]] ?? '') + f.payload.subarray(1).toString();
  }
  return { out, order, closeCode };
}

describe('serveRemoteCommand over WebSocket', () => {
  it('v5: stdout, stderr, non-zero exit status, normal close', async () => {
    startFn = (o) => spawnExecSession(o);
    const c = await TestWsClient.connect(port, execPath(['sh', '-c', 'echo out; echo err >&2; exit 3'], 'stdout=true&stderr=true'), { protocols: ['v5.channel.k8s.io'] });
    assert.equal(c.handshake.headers['sec-websocket-protocol'], 'v5.channel.k8s.io');
    const first = await c.nextFrame();
    assert.deepEqual([...(first?.payload ?? [])], [1], 'empty stdout message first');
    const frames = await c.allFrames();
    const { out, order, closeCode } = byChannel(frames);
    assert.equal(out[1], 'out\n');
    assert.equal(out[2], 'err\n');
    assert.deepEqual(JSON.parse(out[3]), exitStatus(3, ['sh', '-c', 'echo out; echo err >&2; exit 3']));
    assert.equal(order.at(-1), 3, 'status is the last message');
    assert.equal(closeCode, 1000);
    const r = await results.at(-1);
    assert.equal(r?.exitCode, 3);
  });

  it('v5: stdin is streamed and the close signal [255,0] ends it', async () => {
    let killed = false;
    startFn = async (o) => {
      const s = await spawnExecSession(o);
      return { ...s, kill: () => ((killed = true), s.kill()) };
    };
    const c = await TestWsClient.connect(port, execPath(['cat'], 'stdin=true&stdout=true'), { protocols: ['v5.channel.k8s.io'] });
    c.sendBinary(Buffer.from([0, ...Buffer.from('hello ')]));
    c.sendBinary(Buffer.from([0, ...Buffer.from('world')]));
    c.sendBinary(Buffer.from([255, 0]));
    const { out, closeCode } = byChannel(await c.allFrames());
    assert.equal(out[1], 'hello world');
    assert.equal(out[3], '{"metadata":{},"status":"Success"}');
    assert.equal(closeCode, 1000);
    assert.equal((await results.at(-1))?.disconnected, false);
    await new Promise((r) => setTimeout(r, 50)); // let the server see the TCP close
    assert.equal(killed, false, 'a finished session is not killed by the closing handshake');
  });

  it('resize messages reach the session (tty), split and concatenated', async () => {
    const resizes: Array<{ width: number; height: number }> = [];
    startFn = async (o) => {
      const s = await spawnExecSession(o);
      return { ...s, resize: (size) => void resizes.push(size) };
    };
    const c = await TestWsClient.connect(port, execPath(['cat'], 'stdin=true&stdout=true&tty=true'), { protocols: ['v5.channel.k8s.io'] });
    c.sendBinary(Buffer.from([4, ...Buffer.from('{"Width":80,"Height":24}{"Width":100,')]));
    c.sendBinary(Buffer.from([4, ...Buffer.from('"Height":40}')]));
    c.sendBinary(Buffer.from([255, 0]));
    await c.allFrames();
    assert.deepEqual(resizes, [{ width: 80, height: 24 }, { width: 100, height: 40 }]);
  });

  it('a start failure is an InternalError on the error channel', async () => {
    startFn = (o) => spawnExecSession(o);
    const c = await TestWsClient.connect(port, execPath(['/no/such/binary'], 'stdout=true'), { protocols: ['v5.channel.k8s.io'] });
    const { out, closeCode } = byChannel(await c.allFrames());
    const st = JSON.parse(out[3]);
    assert.equal(st.reason, 'InternalError');
    assert.match(st.message, /^Internal error occurred: error executing command in container: .*ENOENT/);
    assert.equal(closeCode, 1000);
  });

  it('client disconnect kills the session', async () => {
    let killed = false;
    startFn = async (o) => {
      const s = await spawnExecSession(o);
      return { ...s, kill: () => ((killed = true), s.kill()) };
    };
    const c = await TestWsClient.connect(port, execPath(['sleep', '30'], 'stdout=true'), { protocols: ['v5.channel.k8s.io'] });
    await c.nextFrame();
    c.destroy();
    const r = await results.at(-1);
    assert.equal(killed, true);
    assert.equal(r?.disconnected, true);
  });

  it('v4 writes Success JSON; channel.k8s.io writes only failures as text; base64 encodes', async () => {
    startFn = (o) => spawnExecSession(o);
    const v4 = byChannel(await (await TestWsClient.connect(port, execPath(['true'], 'stdout=true'), { protocols: ['v4.channel.k8s.io'] })).allFrames());
    assert.equal(v4.out[3], '{"metadata":{},"status":"Success"}');
    const v1ok = byChannel(await (await TestWsClient.connect(port, execPath(['true'], 'stdout=true'), { protocols: ['channel.k8s.io'] })).allFrames());
    assert.equal(v1ok.out[3], undefined);
    const v1fail = byChannel(await (await TestWsClient.connect(port, execPath(['sh', '-c', 'exit 4'], 'stdout=true'))).allFrames());
    assert.match(v1fail.out[3], /exit code 4$/);
    const b64 = await TestWsClient.connect(port, execPath(['echo', 'hi'], 'stdout=true'), { protocols: ['base64.channel.k8s.io'] });
    const texts = (await b64.allFrames()).filter((f) => f.opcode === 1).map((f) => f.payload.toString());
    assert.deepEqual(texts, ['1', '1' + Buffer.from('hi\n').toString('base64')]);
  });

  it('refuses a request without streams with 400 before upgrading', async () => {
    const c = await TestWsClient.connect(port, execPath(['ls'], ''), { protocols: ['v5.channel.k8s.io'] });
    assert.equal(c.handshake.status, 400);
    assert.equal(c.handshake.body, 'you must specify at least 1 of stdin, stdout, stderr\n');
  });

  it('output backpressure: a reader that stops pauses the process output', async () => {
    const total = 96 << 20;
    let produced = 0;
    const stdout = new Readable({
      read(): void {
        if (produced >= total) return void this.push(null);
        produced += 64 * 1024;
        this.push(Buffer.alloc(64 * 1024, 120));
      },
    });
    startFn = async () => ({ stdout, resize: () => undefined, exited: new Promise<number>((r) => stdout.on('end', () => r(0))), kill: () => stdout.destroy() });
    const c = await TestWsClient.connect(port, execPath(['gen'], 'stdout=true'), { protocols: ['v5.channel.k8s.io'] });
    c.socket.pause();
    await new Promise((r) => setTimeout(r, 300));
    assert.ok(produced < 48 << 20, `production bounded while the client is paused (produced ${produced})`);
    c.socket.resume();
    let received = 0;
    for (;;) {
      const f = await c.nextFrame();
      if (!f) break;
      if (f.opcode === 2 && f.payload[0] === 1) received += f.payload.length - 1;
      if (f.opcode === 8) c.sendClose();
    }
    assert.equal(received, total);
  });

  it('stdin backpressure: a process that does not read stops the socket being read', async () => {
    let accepted = 0;
    let release: (() => void) | undefined;
    const stdin = new Writable({
      highWaterMark: 1024,
      write(chunk: Buffer, _e, cb): void {
        accepted += chunk.length;
        release = cb; // never completes until released
      },
    });
    const stdout = new PassThrough();
    startFn = async () => ({ stdin, stdout, resize: () => undefined, exited: new Promise<number>((r) => stdout.on('end', () => r(0))), kill: () => stdout.end() });
    const c = await TestWsClient.connect(port, execPath(['sink'], 'stdin=true&stdout=true'), { protocols: ['v5.channel.k8s.io'] });
    const chunk = Buffer.alloc(1 << 20, 0);
    for (let i = 0; i < 64; i++) c.sendBinary(chunk);
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(accepted, chunk.length - 1, 'only the first write reached the process');
    assert.ok(c.socket.writableLength > 0, 'the client could not send everything: the server stopped reading');
    release?.();
    stdout.end();
    c.destroy();
    await results.at(-1);
  });
});

// ---- the real kubectl ----------------------------------------------------------------------------

const hasKubectl = spawnSync('kubectl', ['version', '--client'], { stdio: 'ignore' }).status === 0;

describe('real kubectl exec against the test server', { skip: hasKubectl ? undefined : 'kubectl not installed' }, () => {
  const home = mkdtempSync(join(tmpdir(), 'kubectl-home-'));
  after(() => rmSync(home, { recursive: true, force: true }));
  const run = (args: string[], input?: string): Promise<{ code: number; stdout: string; stderr: string }> =>
    new Promise((resolve) => {
      const p = execFile('kubectl', args, { env: { ...process.env, HOME: home, KUBECONFIG: '/dev/null' }, timeout: 20000 }, (err, stdout, stderr) =>
        resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr }),
      );
      if (input !== undefined) p.stdin?.end(input);
    });

  it('exit codes, stdout/stderr, stdin, command not found, tty with resize', async () => {
    const resizes: Array<{ width: number; height: number }> = [];
    const srv = await startExecTestServer({
      start: async (o) => {
        const s = await spawnExecSession(o);
        return { ...s, resize: (size) => void resizes.push(size) };
      },
    });
    try {
      const base = ['--server', srv.url, '--cache-dir', join(home, 'cache'), 'exec'];
      const r1 = await run([...base, 'p', '--', 'sh', '-c', 'echo out; echo err >&2; exit 3']);
      assert.deepEqual([r1.code, r1.stdout, r1.stderr], [3, 'out\n', 'err\ncommand terminated with exit code 3\n']);
      assert.deepEqual(srv.requests[0], { cmd: ['sh', '-c', 'echo out; echo err >&2; exit 3'], stdin: false, stdout: true, stderr: true, tty: false, container: 'main' });

      const r2 = await run([...base, '-i', 'p', '--', 'sh', '-c', 'tr a-z A-Z'], 'hello\n');
      assert.deepEqual([r2.code, r2.stdout], [0, 'HELLO\n']);

      const r3 = await run([...base, 'p', '--', '/no/such/cmd']);
      assert.equal(r3.code, 1);
      assert.match(r3.stderr, /^error: Internal error occurred: error executing command in container: /);

      const hasScript = spawnSync('script', ['--version'], { stdio: 'ignore' }).status === 0;
      if (hasScript) {
        const quote = (a: string): string => `'${a.replace(/'/g, `'\\''`)}'`;
        const inner = `stty cols 111 rows 33; kubectl ${[...base, '-it', 'p', '--', 'sh', '-c', 'echo tty-ok'].map(quote).join(' ')}`;
        const r4 = await new Promise<string>((resolve) =>
          execFile('script', ['-qec', inner, '/dev/null'], { env: { ...process.env, HOME: home, KUBECONFIG: '/dev/null' }, timeout: 20000 }, (_e, out) => resolve(out)),
        );
        assert.match(r4, /tty-ok/);
        assert.equal(srv.requests.at(-1)?.tty, true);
        assert.deepEqual(resizes[0], { width: 111, height: 33 });
      }
    } finally {
      await srv.close();
    }
  });
});
