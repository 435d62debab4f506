import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnDetached } from './spawner.js';

const dir = mkdtempSync(join(tmpdir(), 'kl-spawner-'));
after(() => rmSync(dir, { recursive: true, force: true }));

function files(name: string): { out: string; err: string; fds: [number, number]; close(): void } {
  const out = join(dir, `${name}.out`);
  const err = join(dir, `${name}.err`);
  const fds: [number, number] = [openSync(out, 'a'), openSync(err, 'a')];
  return { out, err, fds, close: () => fds.forEach((f) => closeSync(f)) };
}

test('spawnDetached: pid, output to the given fds, exit code and signal', async () => {
  const cases: { name: string; argv: string[]; code: number | null; signal: string | null; out: string }[] = [
    { name: 'ok', argv: ['/bin/sh', '-c', 'echo hi; echo oops >&2'], code: 0, signal: null, out: 'hi\n' },
    { name: 'exit3', argv: ['/bin/sh', '-c', 'exit 3'], code: 3, signal: null, out: '' },
    { name: 'killed', argv: ['/bin/sh', '-c', 'kill -9 $$'], code: null, signal: 'SIGKILL', out: '' },
  ];
  for (const c of cases) {
    const f = files(c.name);
    const s = await spawnDetached({ argv: c.argv, cwd: dir, env: { PATH: '/usr/bin:/bin' }, stdout: f.fds[0], stderr: f.fds[1] });
    f.close();
    assert.ok(s.pid > 0, c.name);
    const r = await s.exited;
    assert.deepEqual(r, { code: c.code, signal: c.signal }, c.name);
    assert.equal(readFileSync(f.out, 'utf8'), c.out, c.name);
    if (c.name === 'ok') assert.equal(readFileSync(f.err, 'utf8'), 'oops\n');
  }
});

test('spawnDetached: own process group, cwd and env as given; readiness on fd 3 is awaited', async () => {
  const f = files('ready');
  const t0 = Date.now();
  const s = await spawnDetached({
    argv: ['/bin/sh', '-c', 'sleep 0.3; echo ready >&3; exec 3>&-; echo "$(pwd) $FOO $(ps -o pgid= -p $$ | tr -d " ") $$"; sleep 5'],
    cwd: dir,
    env: { PATH: '/usr/bin:/bin', FOO: 'bar' },
    stdout: f.fds[0],
    stderr: f.fds[1],
    waitReady: true,
  });
  f.close();
  assert.ok(Date.now() - t0 >= 250, 'started only after the readiness report');
  for (let i = 0; i < 50 && !readFileSync(f.out, 'utf8'); i++) await new Promise((r) => setTimeout(r, 20));
  const [cwd, foo, pgid, pid] = readFileSync(f.out, 'utf8').trim().split(' ');
  assert.deepEqual([cwd, foo, pgid], [dir, 'bar', String(s.pid)]);
  assert.equal(pid, String(s.pid));
  process.kill(-s.pid, 'SIGTERM');
  assert.deepEqual(await s.exited, { code: null, signal: 'SIGTERM' });
});

test('spawnDetached: a missing program rejects with ENOENT', async () => {
  const f = files('missing');
  await assert.rejects(
    spawnDetached({ argv: ['/nonexistent/prog'], cwd: dir, env: {}, stdout: f.fds[0], stderr: f.fds[1] }),
    (e: Error & { code?: string }) => e.code === 'ENOENT',
  );
  f.close();
});
