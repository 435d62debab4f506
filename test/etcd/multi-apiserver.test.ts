/**
 * Two `kubelite up` API servers on ONE etcd: Service ClusterIPs and NodePorts stay unique across
 * them (claims in the store), a full range answers kube's "range is full" on both, a value freed
 * through one is reusable through the other, and `default/kubernetes` lists both servers until
 * one stops gracefully.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { up, type RunningCluster } from '../../src/cli/up.js';
import { LocalClient, SERVICES, ENDPOINTS, ENDPOINTSLICES } from '../../src/client/client.js';
import { StatusError } from '../../src/apiserver/errors.js';
import { openBackend } from '../../src/storage/registry.js';
import type { KObject } from '../../src/api/types.js';
import { etcdSkipReason, startEtcd, type EtcdCluster } from './etcdtest.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

const CIDR = '10.97.0.0/27'; // hosts .1-.30: .1 is default/kubernetes, .10 only on request → 28 dynamic
const DYNAMIC = 28;

describe('two API servers on one etcd', { skip: etcdSkipReason }, () => {
  let etcd: EtcdCluster;
  let store: string;
  const dirs: string[] = [];
  const live = new Set<RunningCluster>();
  let a: RunningCluster;
  let b: RunningCluster;

  const client = (c: RunningCluster): LocalClient => new LocalClient(c.server.registry, { manager: 'test' });
  const nodePortService = (name: string, spec: Obj = {}): KObject =>
    ({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { type: 'NodePort', selector: { app: name }, ports: [{ port: 80 }], ...spec } }) as KObject;
  const failure = async (p: Promise<unknown>): Promise<StatusError> => {
    try {
      await p;
    } catch (err) {
      assert.ok(err instanceof StatusError, String(err));
      return err;
    }
    assert.fail('expected the request to fail');
  };
  const endpointPorts = async (c: RunningCluster): Promise<number[]> => {
    const ep = (await client(c).get(ENDPOINTS, 'default', 'kubernetes')) as Obj;
    return (ep.subsets ?? []).flatMap((s: Obj) => s.ports.map((p: Obj) => p.port));
  };
  const portOf = (c: RunningCluster): number => Number(new URL(c.url).port);

  before(async () => {
    etcd = await startEtcd();
    store = `etcd://${etcd.endpoints.join(',')}`;
    for (let i = 0; i < 2; i++) dirs.push(mkdtempSync(join(tmpdir(), `kubelite-multi-${i}-`)));
    const start = async (dir: string): Promise<RunningCluster> => {
      const c = await up({ dataDir: dir, listen: '127.0.0.1:0', store, serviceCIDR: CIDR, nodePortRange: '30000-30099', quiet: true, controllers: false });
      live.add(c);
      return c;
    };
    [a, b] = await Promise.all(dirs.map(start));
  });
  after(async () => {
    for (const c of live) await c.stop().catch(() => undefined);
    await etcd?.stop();
    for (const d of dirs) rmSync(d, { recursive: true, force: true });
  });

  it('allocates unique ClusterIPs and NodePorts from both servers until the range is full, then reuses a freed one across servers', async () => {
    const made = await Promise.all(
      Array.from({ length: DYNAMIC }, (_, i) => client(i % 2 ? b : a).create(SERVICES, 'default', nodePortService(`svc-${i}`)) as Promise<Obj>),
    );
    const ips = made.map((s) => s.spec.clusterIP as string);
    const ports = made.map((s) => s.spec.ports[0].nodePort as number);
    assert.equal(new Set(ips).size, DYNAMIC, `unique ClusterIPs: ${ips.sort().join(' ')}`);
    assert.equal(new Set(ports).size, DYNAMIC, 'unique NodePorts');
    assert.ok(!ips.includes('10.97.0.1') && !ips.includes('10.97.0.10'));

    for (const c of [a, b]) {
      const err = await failure(client(c).create(SERVICES, 'default', nodePortService('one-too-many')));
      assert.equal(err.code, 500);
      assert.equal(err.message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
    }
    // a requested value that the other server allocated: kube's 422
    await client(a).create(SERVICES, 'default', nodePortService('dns', { type: 'ClusterIP', clusterIP: '10.97.0.10', clusterIPs: ['10.97.0.10'] }));
    const dup = await failure(client(b).create(SERVICES, 'default', nodePortService('dup', { clusterIP: '10.97.0.10', clusterIPs: ['10.97.0.10'] })));
    assert.equal(dup.code, 422);
    assert.match(dup.message, /failed to allocate IP 10\.97\.0\.10: provided IP is already allocated/);

    // delete a Service created through b, through a; b hands its IP out again
    await client(a).delete(SERVICES, 'default', 'svc-1');
    const portDup = await failure(client(b).create(SERVICES, 'default', nodePortService('dup-port', { ports: [{ port: 80, nodePort: ports[0] }] })));
    assert.equal(portDup.code, 422);
    assert.match(portDup.message, new RegExp(`spec\\.ports\\[0\\]\\.nodePort: Invalid value: ${ports[0]}: provided port is already allocated`));
    const again = (await client(b).create(SERVICES, 'default', nodePortService('again', { ports: [{ port: 80, nodePort: ports[1] }] }))) as Obj;
    assert.equal(again.spec.clusterIP, made[1].spec.clusterIP, 'the freed ClusterIP');
    assert.equal(again.spec.ports[0].nodePort, ports[1], 'the freed NodePort, requested');
    const full = await failure(client(a).create(SERVICES, 'default', nodePortService('still-full')));
    assert.equal(full.code, 500);

    // the store holds exactly one claim per allocated value
    const backend = await openBackend(store);
    try {
      const claimed = (await backend.list('/registry/serviceipallocations/')).items.map((kv) => kv.key.split('/').pop()).sort();
      const services = (await client(a).list(SERVICES, 'default')) as Obj[];
      assert.deepEqual(claimed, services.map((s) => s.spec.clusterIP as string).filter((ip) => ip !== 'None').sort());
    } finally {
      await backend.close();
    }
  });

  it('requesting the same ClusterIP through both servers at once: exactly one wins', async () => {
    const ip = ((await client(b).get(SERVICES, 'default', 'svc-2')) as Obj).spec.clusterIP as string;
    await client(a).delete(SERVICES, 'default', 'svc-2');
    const results = await Promise.allSettled([a, b].map((c, i) => client(c).create(SERVICES, 'default', nodePortService(`race-${i}`, { type: 'ClusterIP', clusterIP: ip, clusterIPs: [ip] }))));
    const won = results.filter((r) => r.status === 'fulfilled');
    assert.equal(won.length, 1, JSON.stringify(results.map((r) => (r.status === 'rejected' ? (r.reason as Error).message : 'ok'))));
    const lost = results.find((r) => r.status === 'rejected') as PromiseRejectedResult;
    assert.match((lost.reason as Error).message, /provided IP is already allocated/);
  });

  it('default/kubernetes lists both servers; after one stops gracefully only the other', async () => {
    const both = [portOf(a), portOf(b)].sort((x, y) => x - y);
    assert.deepEqual(await endpointPorts(a), both);
    const slices = (await client(b).list(ENDPOINTSLICES, 'default')) as Obj[];
    assert.deepEqual(slices.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes').flatMap((s) => s.ports.map((p: Obj) => p.port)).sort(), both);
    live.delete(a);
    await a.stop();
    assert.deepEqual(await endpointPorts(b), [portOf(b)]);
    const after = (await client(b).list(ENDPOINTSLICES, 'default')) as Obj[];
    assert.deepEqual(after.filter((s) => s.metadata.labels?.['kubernetes.io/service-name'] === 'kubernetes').map((s) => [s.metadata.name, s.endpoints.length]), [['kubernetes', 1]]);
  });
});
