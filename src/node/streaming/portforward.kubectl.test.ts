/**
 * End to end with the real kubectl: `kubectl port-forward` against a kubelite API server whose node
 * handler serves port-forward with servePortForward, both through kubectl 1.32's WebSocket tunnel
 * (the default) and the plain SPDY upgrade (KUBECTL_PORT_FORWARD_WEBSOCKETS=false).
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import net from 'node:net';
import { test } from 'node:test';
import { NO_KUBECTL, startCluster } from '../../../test/harness.js';
import { dialTcp, servePortForward, type PortForwardConnection } from './portforward.js';

async function echoServer(): Promise<{ port: number; close: () => void }> {
  const srv = net.createServer({ allowHalfOpen: true }, (s) => {
    s.on('data', (d) => s.write(d));
    s.on('end', () => s.end('<eof>'));
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  return { port: (srv.address() as net.AddressInfo).port, close: () => srv.close() };
}

async function roundTrip(port: number, payload: string): Promise<string> {
  const s = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true });
  const chunks: Buffer[] = [];
  s.on('data', (c: Buffer) => chunks.push(c));
  s.end(payload);
  await new Promise<void>((resolve, reject) => {
    s.on('end', resolve);
    s.on('error', reject);
  });
  s.destroy();
  return Buffer.concat(chunks).toString();
}

const modes = [
  ['websocket tunnel', {}, 'websocket-tunnel'],
  ['SPDY fallback', { KUBECTL_PORT_FORWARD_WEBSOCKETS: 'false' }, 'spdy'],
] as const;

for (const [name, env, transport] of modes) {
  test(`kubectl port-forward (${name}) reaches the target and reports dial errors`, { skip: NO_KUBECTL, timeout: 60_000 }, async () => {
    const c = await startCluster({ store: 'memory', controllers: false });
    const echo = await echoServer();
    const conns: PortForwardConnection[] = [];
    const unregister = c.server.nodes.register('node-a', {
      logs: async () => {
        throw new Error('not used');
      },
      upgrade: async (sub, _pod, _q, conn) => {
        assert.equal(sub, 'portforward');
        const pf = servePortForward(conn.req, conn.socket, conn.head, { dial: dialTcp('127.0.0.1'), podName: 'sandbox-x' });
        if (pf) conns.push(pf);
      },
    });
    let child: ReturnType<typeof spawn> | undefined;
    try {
      const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: { nodeName: 'node-a', containers: [{ name: 'c', image: 'x' }] } };
      const created = await c.http('POST', '/api/v1/namespaces/default/pods', { body: JSON.stringify(pod) });
      assert.equal(created.status, 201, created.body);
      const obj = created.json<{ status?: Record<string, unknown> }>();
      obj.status = { ...obj.status, phase: 'Running' };
      const st = await c.http('PUT', '/api/v1/namespaces/default/pods/p/status', { body: JSON.stringify(obj) });
      assert.equal(st.status, 200, st.body);

      child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'port-forward', 'pod/p', `:${echo.port}`, ':1'], {
        env: { ...process.env, ...env },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      child.stderr!.on('data', (d) => (err += d));
      const local = await new Promise<number[]>((resolve, reject) => {
        child!.stdout!.on('data', (d) => {
          out += d;
          const ports = [...out.matchAll(/Forwarding from 127\.0\.0\.1:(\d+) ->/g)].map((m) => Number(m[1]));
          if (ports.length === 2) resolve(ports);
        });
        child!.once('exit', (code) => reject(new Error(`kubectl exited ${code}: ${out}${err}`)));
      });
      assert.equal(await roundTrip(local[0]!, 'hello'), 'hello<eof>');
      const big = 'abcdefghij'.repeat(300_000); // 3 MB each way, far beyond any SPDY window
      assert.equal(await roundTrip(local[0]!, big), big + '<eof>');
      assert.equal(conns.length, 1, 'one upgraded connection for the whole session');
      assert.equal(conns[0]!.transport, transport);
      // Port 1 refuses: kubectl prints the error stream's message.
      await roundTrip(local[1]!, 'x').catch(() => '');
      const deadline = Date.now() + 10_000;
      while (!/error forwarding port 1 to pod sandbox-x, uid : dial tcp 127\.0\.0\.1:1: connect: connection refused/.test(err) && Date.now() < deadline) {
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.match(err, /an error occurred forwarding \d+ -> 1: error forwarding port 1 to pod sandbox-x, uid : dial tcp 127\.0\.0\.1:1: connect: connection refused/);
      // Ctrl-C ends kubectl; the server side of the session goes away with it.
      child.kill('SIGINT');
      await conns[0]!.done;
    } finally {
      child?.kill('SIGKILL');
      unregister();
      echo.close();
      await c.close();
    }
  });
}
