import { after, afterEach, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync, existsSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CriLineSplitter,
  ProcessRuntime,
  containerMatches,
  exitCodeOf,
  formatCriLogLine,
  formatRfc3339Nano,
  parseProcStat,
  sandboxStatePath,
} from './process.js';
import { NotFoundError, type ContainerExitEvent, type ContainerStatus } from './cri.js';

const CRI_LINE = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,9})?Z) (stdout|stderr) (P|F) (.*)$/;

describe('CRI log helpers', () => {
  const cases: Array<[number, string]> = [
    [Date.UTC(2026, 10, 26, 15, 40, 0, 0), '2026-11-26T15:40:00Z'],
    [Date.UTC(2026, 10, 26, 15, 40, 0, 120), '2026-11-26T15:40:00.12Z'],
    [Date.UTC(2026, 10, 26, 15, 40, 0, 5), '2026-11-26T15:40:00.005Z'],
  ];
  for (const [ms, want] of cases) {
    it(`formats ${want}`, () => assert.equal(formatRfc3339Nano(ms), want));
  }

  it('formats a record', () => {
    assert.equal(
      formatCriLogLine(Date.UTC(2026, 0, 1), 'stderr', 'F', 'boom').toString(),
      '2026-01-01T00:00:00Z stderr F boom\n',
    );
  });

  const splits: Array<{ name: string; max: number; chunks: string[]; want: string[] }> = [
    { name: 'full lines', max: 100, chunks: ['a\nb\n'], want: ['F:a', 'F:b'] },
    { name: 'line across chunks', max: 100, chunks: ['ab', 'c\nd'], want: ['F:abc', 'F:d'] },
    { name: 'crlf stripped', max: 100, chunks: ['x\r\n'], want: ['F:x'] },
    { name: 'empty line', max: 100, chunks: ['\n'], want: ['F:'] },
    { name: 'long line split into partials', max: 3, chunks: ['abcdefgh\n'], want: ['P:abc', 'P:def', 'F:gh'] },
    { name: 'exact max then newline', max: 3, chunks: ['abc\n'], want: ['F:abc'] },
    { name: 'unterminated tail flushed at end', max: 100, chunks: ['tail'], want: ['F:tail'] },
  ];
  for (const c of splits) {
    it(`splits: ${c.name}`, () => {
      const s = new CriLineSplitter(c.max);
      const got = [...c.chunks.flatMap((ch) => s.push(Buffer.from(ch))), ...s.end()].map(
        (r) => `${r.tag}:${r.content.toString()}`,
      );
      assert.deepEqual(got, c.want);
    });
  }

  const codes: Array<[number | null, NodeJS.Signals | null, number]> = [
    [0, null, 0],
    [3, null, 3],
    [null, 'SIGTERM', 143],
    [null, 'SIGKILL', 137],
  ];
  for (const [code, sig, want] of codes) {
    it(`exit code of ${code}/${sig} is ${want}`, () => assert.equal(exitCodeOf(code, sig), want));
  }

  it('containerMatches filters', () => {
    const s = { id: 'c1', sandboxId: 's1', state: 'running', labels: { app: 'a', tier: 'x' } } as unknown as ContainerStatus;
    const table: Array<[Parameters<typeof containerMatches>[1], boolean]> = [
      [undefined, true],
      [{}, true],
      [{ id: 'c1' }, true],
      [{ id: 'c2' }, false],
      [{ sandboxId: 's2' }, false],
      [{ state: 'exited' }, false],
      [{ state: 'running', labelSelector: { app: 'a' } }, true],
      [{ labelSelector: { app: 'b' } }, false],
      [{ labelSelector: { missing: 'x' } }, false],
    ];
    for (const [f, want] of table) assert.equal(containerMatches(s, f), want, JSON.stringify(f));
  });
});

describe('ProcessRuntime', () => {
  let dir: string;
  let rt: ProcessRuntime;
  let sandboxId: string;
  const meta = { name: 'p', namespace: 'default', uid: 'u1' };

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-proc-rt-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));
  afterEach(async () => {
    await rt?.shutdown();
  });

  async function setup(): Promise<void> {
    rt = new ProcessRuntime({ rootDir: join(dir, `root-${Math.random().toString(36).slice(2)}`) });
    sandboxId = await rt.runPodSandbox({ metadata: meta, labels: { pod: 'p' } });
  }

  async function run(name: string, script: string, extra: { env?: Record<string, string>; workingDir?: string } = {}): Promise<string> {
    const id = await rt.createContainer(sandboxId, {
      name,
      command: ['/bin/sh', '-c', script],
      env: extra.env ?? {},
      workingDir: extra.workingDir,
      logPath: join(dir, `${name}-${Math.random().toString(36).slice(2)}.log`),
      labels: { container: name },
    });
    await rt.startContainer(id);
    return id;
  }

  async function waitFor(pred: () => Promise<boolean>, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!(await pred())) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('writes stdout/stderr in CRI format and stops by SIGTERM', async () => {
    await setup();
    const id = await run('c', 'echo hi; echo err >&2; exec sleep 30');
    const st = await rt.containerStatus(id);
    assert.equal(st.state, 'running');
    assert.ok(st.pid && st.startedAt);
    const logPath = st.logPath;
    await waitFor(async () => readFileSync(logPath, 'utf8').split('\n').length >= 3);
    const t0 = Date.now();
    await rt.stopContainer(id, 1);
    assert.ok(Date.now() - t0 < 900, 'stopped by SIGTERM before the grace period ran out');
    const lines = readFileSync(logPath, 'utf8').trimEnd().split('\n');
    const parsed = lines.map((l) => CRI_LINE.exec(l));
    assert.ok(parsed.every(Boolean), lines.join('|'));
    assert.deepEqual(parsed.map((m) => `${m![3]} ${m![4]} ${m![5]}`).sort(), ['stderr F err', 'stdout F hi']);
    const end = await rt.containerStatus(id);
    assert.equal(end.state, 'exited');
    assert.equal(end.signal, 'SIGTERM');
    assert.equal(end.exitCode, 143);
    assert.equal(end.reason, 'Error');
    assert.ok(end.finishedAt! >= end.startedAt!);
  });

  it('kills the whole process group on stop (shell child without exec)', async () => {
    await setup();
    const id = await run('grp', 'sleep 30; echo never');
    const pid = (await rt.containerStatus(id)).pid!;
    const alive = (): boolean => {
      try {
        process.kill(-pid, 0);
        return true;
      } catch {
        return false;
      }
    };
    assert.equal(alive(), true);
    await rt.stopContainer(id, 1);
    // The orphaned `sleep` may take a moment to be reaped by init; it must go away without help.
    await waitFor(async () => !alive(), 3000);
  });

  it('SIGKILLs a process that ignores SIGTERM after the timeout', async () => {
    await setup();
    const id = await run('stubborn', 'trap "" TERM; echo ready; sleep 30');
    const logPath = (await rt.containerStatus(id)).logPath;
    // The log file appears when the container first writes; on a busy machine that can be after the first poll.
    await waitFor(async () => existsSync(logPath) && readFileSync(logPath, 'utf8').includes('ready'));
    const t0 = Date.now();
    await rt.stopContainer(id, 1);
    const took = Date.now() - t0;
    assert.ok(took >= 950, `waited the grace period (${took}ms)`);
    assert.ok(took < 4000, `but not much longer (${took}ms)`);
    const st = await rt.containerStatus(id);
    assert.equal(st.signal, 'SIGKILL');
    assert.equal(st.exitCode, 137);
  });

  it('propagates exit codes, reasons and fires onContainerExit', async () => {
    await setup();
    const events: ContainerExitEvent[] = [];
    const off = rt.onContainerExit((e) => events.push(e));
    const table: Array<[string, number, string]> = [
      ['exit 0', 0, 'Completed'],
      ['exit 7', 7, 'Error'],
    ];
    for (const [script, code, reason] of table) {
      const id = await run(`x${code}`, script);
      await waitFor(async () => events.some((e) => e.containerId === id));
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'exited');
      assert.equal(st.exitCode, code);
      assert.equal(st.reason, reason);
      assert.equal(events.find((e) => e.containerId === id)!.status.exitCode, code);
    }
    off();
    assert.equal(events.length, 2);
  });

  it('uses the injected clock for log timestamps and status times', async () => {
    const fixed = Date.UTC(2030, 0, 2, 3, 4, 5, 600);
    rt = new ProcessRuntime({
      rootDir: join(dir, 'clock-root'),
      clock: { now: () => fixed, setTimeout: (fn, ms) => setTimeout(fn, ms), clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout) },
    });
    sandboxId = await rt.runPodSandbox({ metadata: meta });
    const id = await run('clk', 'echo tick');
    await waitFor(async () => (await rt.containerStatus(id)).state === 'exited' && readFileSync((await rt.containerStatus(id)).logPath, 'utf8') !== '');
    const st = await rt.containerStatus(id);
    assert.equal(st.startedAt, fixed);
    assert.equal(st.finishedAt, fixed);
    assert.equal(readFileSync(st.logPath, 'utf8'), '2030-01-02T03:04:05.6Z stdout F tick\n');
  });

  it('reports a StartError for a missing binary', async () => {
    await setup();
    const id = await rt.createContainer(sandboxId, { name: 'nope', command: ['/no/such/bin'], env: {}, logPath: join(dir, 'nope.log') });
    await assert.rejects(rt.startContainer(id), /ENOENT/);
    const st = await rt.containerStatus(id);
    assert.equal(st.state, 'exited');
    assert.equal(st.reason, 'StartError');
  });

  it('with isolation, a missing mount source is a StartError before anything is spawned', async () => {
    rt = new ProcessRuntime({ rootDir: join(dir, 'iso-root'), isolation: true, cgroups: null });
    sandboxId = await rt.runPodSandbox({ metadata: meta });
    const id = await rt.createContainer(sandboxId, {
      name: 'm',
      command: ['true'],
      env: {},
      logPath: join(dir, 'm.log'),
      mounts: [{ containerPath: '/etc/x', hostPath: join(dir, 'no-such-source') }],
    });
    await assert.rejects(rt.startContainer(id), /does not exist/);
    const st = await rt.containerStatus(id);
    assert.equal(st.reason, 'StartError');
    assert.match(st.message ?? '', /no-such-source/);
  });

  it('execSync runs with the container env and cwd, and times out', async () => {
    await setup();
    const id = await run('ex', 'exec sleep 30', { env: { FOO: 'bar' }, workingDir: dir });
    const r = await rt.execSync(id, ['/bin/sh', '-c', 'echo "$FOO"; pwd; echo e >&2; exit 3'], 5000);
    assert.equal(r.stdout.toString(), `bar\n${dir}\n`);
    assert.equal(r.stderr.toString(), 'e\n');
    assert.equal(r.exitCode, 3);
    assert.equal(r.timedOut, false);
    const t0 = Date.now();
    const slow = await rt.execSync(id, ['/bin/sh', '-c', 'sleep 30'], 200);
    assert.ok(Date.now() - t0 < 3000);
    assert.equal(slow.timedOut, true);
    assert.equal(slow.exitCode, 137);
    await rt.stopContainer(id, 0);
    await assert.rejects(rt.execSync(id, ['true'], 1000), /not running/);
  });

  it('listContainers filters by sandbox, state and labels', async () => {
    await setup();
    const a = await run('a', 'exec sleep 30');
    const b = await run('b', 'exit 0');
    await waitFor(async () => (await rt.containerStatus(b)).state === 'exited');
    const ids = async (f: Parameters<ProcessRuntime['listContainers']>[0]): Promise<string[]> =>
      (await rt.listContainers(f)).map((s) => s.id).sort();
    assert.deepEqual(await ids({ sandboxId }), [a, b].sort());
    assert.deepEqual(await ids({ state: 'running' }), [a]);
    assert.deepEqual(await ids({ state: 'exited' }), [b]);
    assert.deepEqual(await ids({ labelSelector: { container: 'b' } }), [b]);
    assert.deepEqual(await ids({ sandboxId: 'other' }), []);
  });

  it('writes a state file and removes the sandbox with its containers', async () => {
    await setup();
    const id = await run('s', 'exec sleep 30');
    const pid = (await rt.containerStatus(id)).pid;
    const file = sandboxStatePath((rt as unknown as { opts: { rootDir: string } }).opts.rootDir, sandboxId);
    const state = JSON.parse(readFileSync(file, 'utf8')) as { sandbox: { id: string }; containers: Array<{ status: ContainerStatus }> };
    assert.equal(state.sandbox.id, sandboxId);
    assert.equal(state.containers[0]!.status.pid, pid);
    assert.equal(state.containers[0]!.status.state, 'running');
    await rt.stopPodSandbox(sandboxId);
    assert.equal((await rt.podSandboxStatus(sandboxId)).state, 'notready');
    assert.equal((await rt.containerStatus(id)).state, 'exited');
    await rt.removePodSandbox(sandboxId);
    assert.equal(existsSync(file), false);
    await assert.rejects(rt.containerStatus(id), NotFoundError);
    await assert.rejects(rt.podSandboxStatus(sandboxId), NotFoundError);
    // stop/remove are idempotent
    await rt.stopContainer(id, 1);
    await rt.removeContainer(id);
    await rt.removePodSandbox(sandboxId);
  });
});

describe('ProcessRuntime survives its agent', () => {
  let dir: string;
  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-proc-agent-'));
  });
  after(() => rmSync(dir, { recursive: true, force: true }));

  const ticks = (logPath: string): number[] =>
    readFileSync(logPath, 'utf8')
      .split('\n')
      .filter((l) => / stdout F tick /.test(l))
      .map((l) => Number(l.split(' ').pop()));

  async function waitFor(pred: () => boolean, ms = 5000): Promise<void> {
    const end = Date.now() + ms;
    while (!pred()) {
      if (Date.now() > end) throw new Error('timed out waiting');
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it('a container keeps running and logging after the agent is SIGKILLed; a new runtime adopts it', async () => {
    const rootDir = join(dir, 'root');
    const logPath = join(dir, 'tick.log');
    const agent = join(dir, 'agent.mts');
    const modUrl = new URL('./process.ts', import.meta.url).href;
    writeFileSync(
      agent,
      `import { ProcessRuntime } from ${JSON.stringify(modUrl)};
const rt = new ProcessRuntime({ rootDir: ${JSON.stringify(rootDir)} });
const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'u' } });
const id = await rt.createContainer(sb, { name: 't', command: ['/bin/sh', '-c', 'i=0; while :; do i=$((i+1)); echo "tick $i"; sleep 0.03; done'], env: {}, logPath: ${JSON.stringify(logPath)} });
await rt.startContainer(id);
const st = await rt.containerStatus(id);
process.stdout.write(JSON.stringify({ id, pid: st.pid }) + '\\n');
setInterval(() => {}, 1000);
`,
    );
    const child = spawn(process.execPath, ['--import', 'tsx', agent], { cwd: process.cwd(), stdio: ['ignore', 'pipe', 'inherit'] });
    const line = await new Promise<string>((resolve, reject) => {
      let buf = '';
      child.stdout!.on('data', (b: Buffer) => {
        buf += b.toString();
        if (buf.includes('\n')) resolve(buf.split('\n')[0]!);
      });
      child.once('exit', () => reject(new Error('agent exited early')));
    });
    const { id, pid } = JSON.parse(line) as { id: string; pid: number };
    await waitFor(() => existsSync(logPath) && ticks(logPath).length >= 3);
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const frozen = ticks(logPath).length;
    await new Promise((r) => setTimeout(r, 400));
    assert.doesNotThrow(() => process.kill(pid, 0), 'container still alive after the agent died');
    const rt = new ProcessRuntime({ rootDir });
    try {
      const st = await rt.containerStatus(id);
      assert.equal(st.state, 'running');
      assert.equal(st.pid, pid);
      await waitFor(() => ticks(logPath).length > frozen + 10);
      const got = ticks(logPath);
      assert.deepEqual(got, got.map((_, i) => i + 1), 'no lines lost or duplicated while no agent ran');
      await rt.stopContainer(id, 1);
      const end = await rt.containerStatus(id);
      assert.equal(end.state, 'exited');
      assert.equal(end.exitCode, 255);
      assert.match(end.message ?? '', /unknown/);
    } finally {
      await rt.shutdown();
      try {
        process.kill(-pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  });

  it('tails new output into the CRI log promptly', async () => {
    const rt = new ProcessRuntime({ rootDir: join(dir, 'prompt') });
    try {
      const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'u' } });
      const logPath = join(dir, 'prompt.log');
      const id = await rt.createContainer(sb, { name: 'q', command: ['/bin/sh', '-c', 'sleep 0.3; echo "tick 1"; exec sleep 30'], env: {}, logPath });
      await rt.startContainer(id);
      const raw = join(dir, 'prompt', sb, `${id}.stdout`);
      await waitFor(() => existsSync(raw) && readFileSync(raw, 'utf8').includes('tick 1'));
      const t0 = Date.now();
      await waitFor(() => existsSync(logPath) && ticks(logPath).length === 1, 2000);
      assert.ok(Date.now() - t0 < 200, `took ${Date.now() - t0} ms`);
    } finally {
      await rt.shutdown();
    }
  });
});

describe('parseProcStat', () => {
  const table: Array<[string, { state: string; startTime: string } | undefined]> = [
    ['1234 (sleep) S 1 1234 1234 0 -1 4194560 100 0 0 0 0 0 0 0 20 0 1 0 987654 2000000 100 18446744073709551615', { state: 'S', startTime: '987654' }],
    ['99 (a) b) c) Z 1 99 99 0 -1 0 0 0 0 0 0 0 0 0 20 0 1 0 42 0 0', { state: 'Z', startTime: '42' }],
    ['garbage', undefined],
  ];
  for (const [text, want] of table) it(text.slice(0, 20), () => assert.deepEqual(parseProcStat(text), want));
});

describe('ProcessRuntime.exec (no isolation)', () => {
  let dir: string;
  let rt: ProcessRuntime;
  let id: string;
  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-proc-exec-'));
    rt = new ProcessRuntime({ rootDir: join(dir, 'root') });
    const sb = await rt.runPodSandbox({ metadata: { name: 'p', namespace: 'd', uid: 'u' } });
    id = await rt.createContainer(sb, { name: 'e', command: ['/bin/sh', '-c', 'exec sleep 30'], env: { WHO: 'pod' }, workingDir: dir, logPath: join(dir, 'e.log') });
    await rt.startContainer(id);
  });
  after(async () => {
    await rt.shutdown();
    rmSync(dir, { recursive: true, force: true });
  });

  const collect = (s: NodeJS.ReadableStream | undefined): Promise<string> =>
    new Promise((resolve) => {
      if (!s) return resolve('');
      const parts: Buffer[] = [];
      s.on('data', (b: Buffer) => parts.push(b));
      s.on('end', () => resolve(Buffer.concat(parts).toString()));
    });

  it('streams stdin/stdout/stderr and the exit code, with the container env and cwd', async () => {
    const s = await rt.exec(id, { cmd: ['/bin/sh', '-c', 'read x; echo "$x $WHO $(pwd)"; echo oops >&2; [ -t 0 ] || echo notty; exit 4'], stdin: true });
    const out = collect(s.stdout);
    const err = collect(s.stderr);
    s.stdin!.end('hello\n');
    assert.equal(await s.exited, 4);
    assert.equal(await out, `hello pod ${dir}\nnotty\n`);
    assert.equal(await err, 'oops\n');
  });

  it('allocates a tty with script and merges the streams', async () => {
    const s = await rt.exec(id, { cmd: ['/bin/sh', '-c', '[ -t 0 ] && [ -t 1 ] && echo "tty $WHO"; echo e >&2'], tty: true, stdin: true });
    assert.equal(s.stderr, undefined);
    const out = collect(s.stdout);
    s.resize({ width: 120, height: 40 });
    assert.equal(await s.exited, 0);
    assert.match(await out, /tty pod\r?\n/);
    assert.match(await out, /e\r?\n/);
  });

  it('resize reaches the pty (best effort: stty on the pty)', async () => {
    const s = await rt.exec(id, { cmd: ['/bin/sh', '-c', 'sleep 1.5; stty size'], tty: true });
    const out = collect(s.stdout);
    s.resize({ width: 101, height: 33 });
    assert.equal(await s.exited, 0);
    assert.match(await out, /^33 101\r?\n/);
  });

  it('kill() ends a running exec', async () => {
    const s = await rt.exec(id, { cmd: ['/bin/sh', '-c', 'sleep 30'] });
    s.kill();
    assert.equal(await s.exited, 137);
  });

  it('rejects exec on a stopped container', async () => {
    const sb = (await rt.containerStatus(id)).sandboxId;
    const other = await rt.createContainer(sb, { name: 'x', command: ['true'], env: {}, logPath: join(dir, 'x.log') });
    await assert.rejects(rt.exec(other, { cmd: ['true'] }), /not running/);
  });
});
