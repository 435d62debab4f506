import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster } from '../harness.js';
import { LocalClient, LEASES, NODES } from '../../src/client/client.js';
import { NodeRegistrar, machineInfo } from '../../src/node/nodestatus.js';
import { FakeClock } from '../../src/client/fakeclock.js';

describe('node registration (agent)', () => {
  let c: TestCluster;
  let reg: NodeRegistrar;
  const clock = new FakeClock();
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const client = new LocalClient(c.server.registry, { manager: 'kubelet' });
    reg = new NodeRegistrar(client, { name: 'box', podCIDR: '10.244.0.0/24', machine: machineInfo(), internalIP: '10.244.0.1', maxPods: 110, runtimeVersion: 'kubelite://0.1.0', clock });
    await reg.start();
  });
  after(async () => {
    reg.stop();
    await c.close();
  });

  it('kubectl get nodes -o wide shows the machine truthfully', { skip: NO_KUBECTL }, async () => {
    const r = await c.kubectl(['get', 'nodes', '-o', 'wide', '--no-headers']);
    assert.equal(r.code, 0, r.stderr);
    const cols = r.stdout.trim().split(/\s{2,}/);
    const m = machineInfo();
    assert.equal(cols[0], 'box');
    assert.equal(cols[1], 'Ready');
    assert.equal(cols[2], 'control-plane');
    assert.equal(cols[5], '10.244.0.1');
    assert.equal(cols[7], m.osImage);
    assert.equal(cols[8], m.kernelVersion);
    assert.equal(cols[9], 'kubelite://0.1.0');
  });

  it('renews its lease on the clock and reports NotReady at once', async () => {
    const client = new LocalClient(c.server.registry, { manager: 'test' });
    const before = (await client.get(LEASES, 'kube-node-lease', 'box')).spec as { renewTime: string };
    clock.advance(10_000);
    await new Promise((r) => setTimeout(r, 50));
    const after = (await client.get(LEASES, 'kube-node-lease', 'box')).spec as { renewTime: string };
    assert.notEqual(after.renewTime, before.renewTime);
    await reg.setNotReady('pod network failed');
    const node = await client.get(NODES, undefined, 'box');
    const ready = ((node.status as { conditions: { type: string; status: string; message: string }[] }).conditions).find((x) => x.type === 'Ready')!;
    assert.deepEqual([ready.status, ready.message], ['False', 'pod network failed']);
  });
});
