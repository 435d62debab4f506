import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend } from '../storage/memory.js';
import { Registry } from './registry/index.js';
import { kindPlugins } from './wiring.js';
import { internalContext } from './registry/strategy.js';
import { desiredKubernetesEndpoints, LeaseEndpointReconciler, MASTER_LEASE_PREFIX, sortServers } from './endpointreconciler.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

test('desiredKubernetesEndpoints: one subset and one slice per port, addresses sorted', () => {
  const cases: { name: string; servers: { address: string; port: number }[]; subsets: Obj[]; slices: [string, string[], number[]][] }[] = [
    { name: 'none', servers: [], subsets: [], slices: [['kubernetes', [], []]] },
    {
      name: 'kube style: several IPs, one port',
      servers: [{ address: '10.0.0.12', port: 6443 }, { address: '10.0.0.2', port: 6443 }],
      subsets: [{ addresses: [{ ip: '10.0.0.2' }, { ip: '10.0.0.12' }], ports: [{ name: 'https', port: 6443, protocol: 'TCP' }] }],
      slices: [['kubernetes', ['10.0.0.2', '10.0.0.12'], [6443]]],
    },
    {
      name: 'kubelite style: one IP, several ports (and a duplicate)',
      servers: [{ address: '127.0.0.1', port: 40002 }, { address: '127.0.0.1', port: 40001 }, { address: '127.0.0.1', port: 40002 }],
      subsets: [
        { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: 40001, protocol: 'TCP' }] },
        { addresses: [{ ip: '127.0.0.1' }], ports: [{ name: 'https', port: 40002, protocol: 'TCP' }] },
      ],
      slices: [['kubernetes', ['127.0.0.1'], [40001]], ['kubernetes-40002', ['127.0.0.1'], [40002]]],
    },
  ];
  for (const c of cases) {
    const got = desiredKubernetesEndpoints(c.servers);
    assert.deepEqual(got.subsets, c.subsets, c.name);
    assert.deepEqual(
      got.slices.map((s) => [s.metadata.name, (s.endpoints as Obj[]).map((e) => e.addresses[0]), (s.ports as Obj[]).map((p) => p.port)]),
      c.slices,
      c.name,
    );
  }
  assert.deepEqual(sortServers([{ address: '10.0.0.9', port: 1 }, { address: '10.0.0.10', port: 1 }]).map((s) => s.address), ['10.0.0.9', '10.0.0.10']);
});

test('reconcilers of two servers: both listed; a graceful stop removes one; an expired lease drops out', async () => {
  const backend = new MemoryBackend();
  const registry = new Registry({ backend, plugins: kindPlugins() });
  await registry.must('', 'namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'default' } }, internalContext('test'));
  let now = Date.parse('2024-05-01T00:00:00Z');
  const mk = (identity: string, port: number): LeaseEndpointReconciler =>
    new LeaseEndpointReconciler(registry, { identity, address: '127.0.0.1', port, now: () => now, intervalMs: 3_600_000, warn: () => undefined });
  const ports = async (): Promise<number[]> => {
    const ep = await registry.must('', 'endpoints').get('default', 'kubernetes');
    return ((ep.subsets as Obj[] | undefined) ?? []).flatMap((s) => s.ports.map((p: Obj) => p.port));
  };
  const slices = async (): Promise<string[]> => (await registry.must('discovery.k8s.io', 'endpointslices').list('default')).items.map((s) => s.metadata.name!).sort();
  const a = mk('a', 40001);
  const b = mk('b', 40002);
  const c = mk('c', 40003);
  await a.start();
  assert.deepEqual(await ports(), [40001]);
  await b.start();
  assert.deepEqual(await ports(), [40001, 40002]);
  assert.deepEqual(await slices(), ['kubernetes', 'kubernetes-40002']);
  const ep = await registry.must('', 'endpoints').get('default', 'kubernetes');
  assert.equal(ep.metadata.labels?.['endpointslice.kubernetes.io/skip-mirror'], 'true');
  const rv = ep.metadata.resourceVersion;
  await a.reconcile();
  assert.equal((await registry.must('', 'endpoints').get('default', 'kubernetes')).metadata.resourceVersion, rv, 'no write when nothing changed');

  await a.stop();
  assert.deepEqual(await ports(), [40002]);
  assert.deepEqual(await slices(), ['kubernetes']);
  assert.deepEqual((await backend.list(MASTER_LEASE_PREFIX)).items.map((kv) => kv.key), [MASTER_LEASE_PREFIX + 'b']);

  // c joins, then b crashes (no stop): c drops it once b's lease is 15 s old
  await c.start();
  assert.deepEqual(await ports(), [40002, 40003]);
  now += 14_000;
  await c.reconcile();
  assert.deepEqual(await ports(), [40002, 40003], 'still live');
  now += 2_000;
  await c.sync();
  assert.deepEqual(await ports(), [40003]);
  await c.stop();
  assert.deepEqual(await ports(), [], 'the last server leaves no endpoints');
  assert.deepEqual(await slices(), ['kubernetes']);
});
