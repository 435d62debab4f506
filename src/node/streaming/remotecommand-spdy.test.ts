import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import http from 'node:http';
import net from 'node:net';
import { PassThrough } from 'node:stream';
import { test } from 'node:test';
import { NO_KUBECTL, startCluster } from '../../../test/harness.js';
import type { ExecSession } from '../runtime/cri.js';
import type { RemoteCommandOptions, RemoteCommandResult } from './remotecommand.js';
import { expectedStreams, serveRemoteCommandSpdy } from './remotecommand-spdy.js';
import { SpdySession, type SpdyStream } from './spdy.js';

/** A real process as an ExecSession (what the runtime hands out, minus namespaces). */
function spawnExec(o: RemoteCommandOptions): ExecSession {
  const p = spawn(o.cmd[0]!, o.cmd.slice(1), { stdio: 'pipe' });
  return {
    stdin: p.stdin,
    stdout: p.stdout,
    stderr: p.stderr,
    resize: () => undefined,
    exited: new Promise((resolve) => p.on('close', (code) => resolve(code ?? -1))),
    kill: () => p.kill('SIGKILL'),
  };
}

async function execServer(start: (o: RemoteCommandOptions) => Promise<ExecSession>): Promise<{ port: number; results: Promise<RemoteCommandResult>[]; close: () => void }> {
  const results: Promise<RemoteCommandResult>[] = [];
  const server = http.createServer();
  server.on('upgrade', (req, socket, head) => results.push(serveRemoteCommandSpdy(req, socket, head, { start, streamCreationTimeoutMs: 300 })));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return {
    port: (server.address() as net.AddressInfo).port,
    results,
    close: () => {
      server.closeAllConnections();
      server.close();
    },
  };
}

async function connect(port: number, query: string, protocols: string[]): Promise<{ status: number; head: string; session?: SpdySession; body: string }> {
  const socket = net.connect(port, '127.0.0.1');
  socket.write(
    `POST /exec?${query} HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: SPDY/3.1\r\n` +
      protocols.map((p) => `X-Stream-Protocol-Version: ${p}\r\n`).join('') +
      '\r\n',
  );
  let acc: Buffer = Buffer.alloc(0);
  const k = await new Promise<number>((resolve) => {
    const on = (d: Buffer): void => {
      acc = Buffer.concat([acc, d]);
      const i = acc.indexOf('\r\n\r\n');
      if (i < 0) return;
      socket.off('data', on);
      socket.pause();
      resolve(i);
    };
    socket.on('data', on);
  });
  const head = acc.subarray(0, k).toString();
  const status = Number(head.split(' ')[1]);
  if (status !== 101) {
    socket.destroy();
    return { status, head, body: acc.subarray(k + 4).toString() };
  }
  const session = new SpdySession(socket, { role: 'client', head: acc.subarray(k + 4) });
  socket.resume();
  return { status, head, session, body: '' };
}

function readAll(s: NodeJS.ReadableStream): Promise<string> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    s.on('data', (c: Buffer) => chunks.push(c));
    s.on('end', () => resolve(Buffer.concat(chunks).toString()));
    s.on('close', () => resolve(Buffer.concat(chunks).toString()));
  });
}

test('expected streams per options and protocol (as kube counts them)', () => {
  const cases: [Parameters<typeof expectedStreams>[0], string, string[]][] = [
    [{ stdin: false, stdout: true, stderr: true, tty: false }, 'v4.channel.k8s.io', ['error', 'stdout', 'stderr']],
    [{ stdin: true, stdout: true, stderr: true, tty: true }, 'v4.channel.k8s.io', ['error', 'stdin', 'stdout', 'resize']],
    [{ stdin: true, stdout: true, stderr: false, tty: true }, 'v2.channel.k8s.io', ['error', 'stdin', 'stdout']],
    [{ stdin: true, stdout: false, stderr: false, tty: false }, 'channel.k8s.io', ['error', 'stdin']],
  ];
  for (const [o, p, want] of cases) assert.deepEqual(expectedStreams(o, p), want, `${p} ${JSON.stringify(o)}`);
});

test('exec over SPDY (v4): stdin/stdout/stderr streams, status JSON with the exit code', async () => {
  const srv = await execServer(async (o) => spawnExec(o));
  try {
    const q = 'command=sh&command=-c&command=' + encodeURIComponent('cat; echo err >&2; exit 3') + '&stdin=true&stdout=true&stderr=true';
    const c = await connect(srv.port, q, ['v4.channel.k8s.io', 'channel.k8s.io']);
    assert.equal(c.status, 101);
    assert.match(c.head, /X-Stream-Protocol-Version: v4\.channel\.k8s\.io/);
    const s = c.session!;
    const error = s.openStream({ streamtype: 'error' });
    const stdin = s.openStream({ streamtype: 'stdin' });
    const stdout = s.openStream({ streamtype: 'stdout' });
    const stderr = s.openStream({ streamtype: 'stderr' });
    stdout.end();
    stderr.end();
    error.end();
    stdin.end('typed\n');
    const [out, err, status] = await Promise.all([readAll(stdout), readAll(stderr), readAll(error)]);
    assert.equal(out, 'typed\n');
    assert.equal(err, 'err\n');
    assert.deepEqual(JSON.parse(status), {
      metadata: {},
      status: 'Failure',
      message: 'command terminated with non-zero exit code: error executing command [sh -c cat; echo err >&2; exit 3], exit code 3',
      reason: 'NonZeroExitCode',
      details: { causes: [{ reason: 'ExitCode', message: '3' }] },
    });
    const r = await srv.results[0]!;
    assert.equal(r.exitCode, 3);
    s.destroy();
  } finally {
    srv.close();
  }
});

test('exec over SPDY: a start failure goes on the error stream (v2: text only); a bad query gets 400', async () => {
  const srv = await execServer(async () => {
    throw new Error('container "c" is not running');
  });
  try {
    const c = await connect(srv.port, 'command=true&stdout=true', ['v2.channel.k8s.io']);
    const s = c.session!;
    const error = s.openStream({ streamtype: 'error' });
    const stdout = s.openStream({ streamtype: 'stdout' });
    error.end();
    stdout.end();
    assert.equal(await readAll(error), 'Internal error occurred: error executing command in container: container "c" is not running');
    s.destroy();
    const bad = await connect(srv.port, 'command=true', ['v4.channel.k8s.io']);
    assert.equal(bad.status, 400);
    assert.match(bad.body, /you must specify at least 1 of stdin, stdout, stderr/);
  } finally {
    srv.close();
  }
});

test('exec over SPDY: tty resize reaches the session; missing streams time out', async () => {
  const sizes: unknown[] = [];
  const srv = await execServer(async () => {
    const stdout = new PassThrough();
    let done!: (n: number) => void;
    const exited = new Promise<number>((r) => (done = r));
    return {
      stdin: new PassThrough(),
      stdout,
      resize: (sz) => {
        sizes.push(sz);
        if (sizes.length === 2) {
          stdout.end('bye');
          done(0);
        }
      },
      exited,
      kill: () => done(-1),
    };
  });
  try {
    const c = await connect(srv.port, 'command=sh&stdin=true&stdout=true&tty=true', ['v4.channel.k8s.io']);
    const s = c.session!;
    const error = s.openStream({ streamtype: 'error' });
    s.openStream({ streamtype: 'stdin' });
    const stdout = s.openStream({ streamtype: 'stdout' });
    const resize: SpdyStream = s.openStream({ streamtype: 'resize' });
    resize.write('{"Width":80,"Height":24}{"Width":100,');
    resize.write('"Height":30}');
    assert.equal(await readAll(stdout), 'bye');
    assert.deepEqual(JSON.parse(await readAll(error)), { metadata: {}, status: 'Success' });
    assert.deepEqual(sizes, [
      { width: 80, height: 24 },
      { width: 100, height: 30 },
    ]);
    s.destroy();

    const late = await connect(srv.port, 'command=sh&stdout=true', ['v4.channel.k8s.io']);
    const e2 = late.session!.openStream({ streamtype: 'error' });
    assert.equal(await readAll(e2), 'timed out waiting for client to create streams');
    late.session!.destroy();
  } finally {
    srv.close();
  }
});

test('real kubectl exec over SPDY (KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false)', { skip: NO_KUBECTL, timeout: 60_000 }, async () => {
  const c = await startCluster({ store: 'memory', controllers: false });
  const unregister = c.server.nodes.register('node-a', {
    logs: async () => {
      throw new Error('not used');
    },
    upgrade: async (_sub, _pod, _q, conn) => {
      void serveRemoteCommandSpdy(conn.req, conn.socket, conn.head, { start: async (o) => spawnExec(o) });
    },
  });
  try {
    const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'x' }] } };
    const created = await c.http('POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify(pod) });
    assert.equal(created.status, 201, created.body);
    const obj = created.json<{ status?: Record<string, unknown> }>();
    obj.status = { ...obj.status, phase: 'Running' };
    assert.equal((await c.http('PUT', '/api/v1/namespaces/default/pods/p/status', { body: JSON.stringify(obj) })).status, 200);
    const run = (args: string[], input: string): Promise<{ code: number | null; out: string; err: string }> =>
      new Promise((resolve) => {
        const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, ...args], { env: { ...process.env, KUBECTL_REMOTE_COMMAND_WEBSOCKETS: 'false' } });
        let out = '';
        let err = '';
        child.stdout.on('data', (d) => (out += d));
        child.stderr.on('data', (d) => (err += d));
        child.on('close', (code) => resolve({ code, out, err }));
        child.stdin.end(input);
      });
    const r = await run(['exec', '-i', 'p', '--', 'sh', '-c', 'read x; echo got $x; echo oops >&2; exit 4'], 'hello\n');
    assert.equal(r.out, 'got hello\n');
    assert.match(r.err, /oops/);
    assert.equal(r.code, 4, r.err);
  } finally {
    unregister();
    await c.close();
  }
});
