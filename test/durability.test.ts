/**
 * Acceptance 3 (second half): `kill -9` of the server during a stream of creates loses no
 * create that was acknowledged with 201.
 */
import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request, Agent } from 'node:https';

const ROOT = new URL('..', import.meta.url).pathname;

function startServer(dir: string): Promise<{ child: ChildProcess; port: number }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'up', '--disable-agent', '--data-dir', dir, '--listen', '127.0.0.1:0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
      cwd: ROOT,
    });
    let out = '';
    const t = setTimeout(() => reject(new Error(`server did not start: ${out}`)), 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      const m = /API server at https:\/\/127\.0\.0\.1:(\d+)/.exec(out);
      if (m && /kubelite ready/.test(out)) {
        clearTimeout(t);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => reject(new Error(`server exited ${code}: ${out}`)));
  });
}

function call(port: number, dir: string, method: string, path: string, body?: unknown, agent?: Agent): Promise<{ status: number; body: string }> {
  const token = readFileSync(join(dir, 'pki', 'admin.token'), 'utf8').trim();
  const ca = readFileSync(join(dir, 'pki', 'ca.crt'), 'utf8');
  return new Promise((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, ca, agent, headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' } },
      (res) => {
        let b = '';
        res.on('data', (d) => (b += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: b }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    if (body !== undefined) req.write(JSON.stringify(body));
    req.end();
  });
}

describe('durability', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-kill9-'));
  const children: ChildProcess[] = [];
  after(() => {
    for (const c of children) c.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('every create acknowledged with 201 survives kill -9', async () => {
    const first = await startServer(dir);
    children.push(first.child);
    const acked: string[] = [];
    let stop = false;
    const agent = new Agent({ keepAlive: true, maxSockets: 8 });
    const writer = async (w: number): Promise<void> => {
      for (let i = 0; !stop; i++) {
        const name = `cm-${w}-${i}`;
        try {
          const r = await call(first.port, dir, 'POST', '/api/v1/namespaces/default/configmaps', { metadata: { name }, data: { i: String(i) } }, agent);
          if (r.status === 201) acked.push(name);
        } catch {
          return; // the server is gone
        }
      }
    };
    const writers = Promise.all([0, 1, 2, 3, 4, 5, 6, 7].map(writer));
    while (acked.length < 300) await new Promise((r) => setTimeout(r, 5));
    first.child.kill('SIGKILL');
    stop = true;
    await writers;
    agent.destroy();
    await new Promise((r) => first.child.once('exit', r).once('close', r));

    const second = await startServer(dir);
    children.push(second.child);
    const list = await call(second.port, dir, 'GET', '/api/v1/namespaces/default/configmaps');
    assert.equal(list.status, 200);
    const items = JSON.parse(list.body).items as { metadata: { name: string; uid?: string }; data?: { i?: string } }[];
    const names = new Set(items.map((i) => i.metadata.name));
    const lost = acked.filter((n) => !names.has(n));
    assert.ok(acked.length >= 300);
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged creates lost`);
    // No partial objects: every stored object (acknowledged or not) is whole.
    const partial = items.filter((o) => !o.metadata.uid || o.data?.i !== o.metadata.name.split('-')[2]);
    assert.deepEqual(partial.map((o) => o.metadata.name), [], 'every object is complete');
    second.child.kill('SIGTERM');
    await new Promise((r) => second.child.once('exit', r));
  });
});
