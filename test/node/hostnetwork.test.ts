/**
 * The node agent without root (`--pod-network host`): pods share the host network, each with its
 * own 127.244.0.x address, and the built-in servers bind that address so replicas listening on
 * the same port don't collide. Runs anywhere (no namespaces, no cgroups).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { get } from 'node:http';
import { startCluster, until, NO_KUBECTL, type TestCluster } from '../harness.js';

const SEED = new URL('../../../shared/examples/seed-app.yaml', import.meta.url).pathname;

function fetchText(url: string): Promise<string> {
  return new Promise((resolve, reject) => {
    get(url, (res) => {
      let b = '';
      res.on('data', (d) => (b += d));
      res.on('end', () => resolve(b));
    }).on('error', reject);
  });
}

describe('node agent without root: pods on loopback addresses', { skip: NO_KUBECTL }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'memory', node: { podNetwork: 'host', nodeName: 'local', leaseRenewMs: 1000 } });
  });
  after(async () => {
    await c.kubectl(['delete', 'deployment', '--all', '--wait=true']);
    await c.kubectl(['delete', 'pods', '--all', '--wait=true', '--timeout=60s']);
    await c.close();
  });

  it('the seed sample runs 3 ready replicas on distinct 127.244.0.x addresses, each serving on 8080', async () => {
    readFileSync(SEED);
    const m = await c.kubectl(['apply', '-f', '-'], { input: readFileSync(SEED, 'utf8').replace(/my-image:v1\.0\.0/g, 'kubelite/demo-web:1') });
    assert.equal(m.code, 0, m.stderr);
    const pods = await until('3 ready pods', async () => {
      const r = await c.kubectl(['get', 'pods', '-l', 'app=my-app', '-o', 'json']);
      const items = (JSON.parse(r.stdout) as { items: { metadata: { name: string }; status: Record<string, any> }[] }).items;
      const ready = items.filter((p) => (p.status.conditions ?? []).some((x: { type: string; status: string }) => x.type === 'Ready' && x.status === 'True'));
      return ready.length === 3 ? ready : undefined;
    }, 60_000);
    const ips = pods.map((p) => p.status.podIP as string);
    assert.equal(new Set(ips).size, 3);
    for (const p of pods) {
      assert.match(p.status.podIP, /^127\.244\.0\.\d+$/);
      assert.equal(p.status.hostIP, '127.0.0.1');
      assert.match(await fetchText(`http://${p.status.podIP}:8080/`), new RegExp(p.metadata.name));
    }
    const nodes = await c.kubectl(['get', 'nodes', '-o', 'wide', '--no-headers']);
    assert.match(nodes.stdout, /^local\s+Ready\s+control-plane/);
    const logs = await c.kubectl(['logs', pods[0]!.metadata.name]);
    assert.equal(logs.stdout, 'listening on 8080\n');
  });
});
