import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startDemoWeb } from './demo-web.js';

const SCRIPT = fileURLToPath(new URL('./demo-web.ts', import.meta.url));

async function call(port: number, method: string, path: string): Promise<[number, string]> {
  const res = await fetch(`http://127.0.0.1:${port}${path}`, { method });
  return [res.status, await res.text()];
}

/** Spawns the server as a real process with PORT=0 and reads the port it prints. */
function spawnServer(env: Record<string, string>): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SCRIPT], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => reject(new Error(`no "listening on" line; got ${buf}`)), 15000);
    child.stdout!.on('data', (d: Buffer) => {
      buf += d.toString();
      const m = /listening on (\d+)/.exec(buf);
      if (m) {
        clearTimeout(timer);
        resolve({ child, port: Number(m[1]) });
      }
    });
    child.once('exit', (code) => reject(new Error(`exited early with ${code}`)));
  });
}

test('process: endpoints, toggles and SIGTERM exit 0', async () => {
  const { child, port } = await spawnServer({ HOSTNAME: 'web-abc', POD_IP: '10.244.0.7' });
  try {
    const table: Array<[string, string, number, string | RegExp]> = [
      ['GET', '/', 200, 'Hello from web-abc (10.244.0.7)\n'],
      ['GET', '/hostname', 200, 'web-abc'],
      ['GET', '/healthz', 200, 'ok'],
      ['GET', '/readiness', 200, 'ready'],
      ['POST', '/fail-readiness', 200, /failing=true/],
      ['GET', '/readiness', 503, /failing/],
      ['GET', '/healthz', 200, 'ok'],
      ['POST', '/fail-liveness', 200, /failing=true/],
      ['GET', '/healthz', 500, /failing/],
      ['POST', '/fail-readiness', 200, /failing=false/],
      ['GET', '/readiness', 200, 'ready'],
      ['POST', '/fail-liveness', 200, /failing=false/],
      ['GET', '/healthz', 200, 'ok'],
      ['GET', '/nope', 404, /not found/],
    ];
    for (const [method, path, code, body] of table) {
      const [gotCode, gotBody] = await call(port, method, path);
      assert.equal(gotCode, code, `${method} ${path}`);
      if (typeof body === 'string') assert.equal(gotBody, body, `${method} ${path}`);
      else assert.match(gotBody, body, `${method} ${path}`);
    }
  } finally {
    const exited = new Promise<[number | null, string | null]>((r) => child.once('exit', (c, s) => r([c, s])));
    child.kill('SIGTERM');
    assert.deepEqual(await exited, [0, null]);
  }
});

test('in-process: READY_AFTER_MS delays readiness; / without POD_IP', async () => {
  const web = await startDemoWeb({ port: 0, host: '127.0.0.1', env: { HOSTNAME: 'h1', READY_AFTER_MS: '300' } });
  try {
    assert.deepEqual(await call(web.port, 'GET', '/readiness'), [503, 'not ready yet\n']);
    assert.deepEqual(await call(web.port, 'GET', '/healthz'), [200, 'ok']);
    assert.deepEqual(await call(web.port, 'GET', '/'), [200, 'Hello from h1\n']);
    await new Promise((r) => setTimeout(r, 350));
    assert.deepEqual(await call(web.port, 'GET', '/readiness'), [200, 'ready']);
  } finally {
    await web.close();
  }
});
