/**
 * `kubelite up` as a user runs it: the ready line, HTTPS with the generated kubeconfig, a
 * second `up` on the same data dir refused, clean shutdown on SIGTERM and SIGINT.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = new URL('..', import.meta.url).pathname;

function run(args: string[]): { child: ChildProcess; out: () => string; exited: Promise<number | null> } {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...(args[0] === 'up' ? ['up', '--pod-network', 'host', ...args.slice(1)] : args)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
  let out = '';
  child.stdout!.on('data', (d) => (out += d));
  child.stderr!.on('data', (d) => (out += d));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  return { child, out: () => out, exited };
}

async function waitFor(get: () => string, re: RegExp, ms = 20_000): Promise<RegExpExecArray> {
  const end = Date.now() + ms;
  for (;;) {
    const m = re.exec(get());
    if (m) return m;
    if (Date.now() > end) throw new Error(`timed out waiting for ${re}: ${get()}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

describe('kubelite up', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-cli-'));
  const started: ChildProcess[] = [];
  after(() => {
    for (const c of started) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('prints the ready line, serves HTTPS with the kubeconfig, refuses a second up, and stops on SIGTERM', async () => {
    const a = run(['up', '--data-dir', dir, '--listen', '127.0.0.1:0']);
    started.push(a.child);
    const m = await waitFor(a.out, /kubelite ready: export KUBECONFIG=(\S+)\n/);
    assert.equal(m[1], join(dir, 'kubeconfig'));
    assert.equal(statSync(m[1]).mode & 0o777, 0o600, 'kubeconfig is private');
    assert.equal(statSync(join(dir, 'pki', 'ca.key')).mode & 0o777, 0o600);
    const kc = readFileSync(m[1], 'utf8');
    assert.match(kc, /server: https:\/\/127\.0\.0\.1:\d+/);
    assert.match(kc, /certificate-authority-data: /);
    assert.ok(!a.out().includes(readFileSync(join(dir, 'pki', 'admin.token'), 'utf8').trim()), 'the token is never printed');

    const b = run(['up', '--data-dir', dir, '--listen', '127.0.0.1:0']);
    started.push(b.child);
    assert.equal(await b.exited, 1);
    assert.match(b.out(), /data directory .* is in use by another kubelite \(pid \d+\)/);

    a.child.kill('SIGTERM');
    assert.equal(await a.exited, 0);
    assert.match(a.out(), /SIGTERM received, shutting down/);
    assert.ok(!existsSync(join(dir, 'kubelite.lock')), 'lock released');
  });

  it('starts again on the same data dir after SIGINT, keeping its CA', async () => {
    const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
    const c = run(['up', '--data-dir', dir, '--listen', '127.0.0.1:0']);
    started.push(c.child);
    await waitFor(c.out, /kubelite ready/);
    assert.equal(readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8'), ca);
    c.child.kill('SIGINT');
    assert.equal(await c.exited, 0);
  });

  it('rejects bad flags with a clear message', async () => {
    const d = run(['up', '--data-dir', join(dir, 'bad'), '--listen', 'nonsense']);
    started.push(d.child);
    assert.equal(await d.exited, 1);
    assert.match(d.out(), /--listen must be HOST:PORT/);
    const e = run(['up', '--bogus']);
    assert.equal(await e.exited, 2);
    assert.match(e.out(), /Unknown option '--bogus'/);
  });
});
