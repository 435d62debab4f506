import { test } from 'node:test';
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import type { KObject } from '../api/types.js';
import type { Backend } from '../storage/types.js';
import { MemoryBackend } from '../storage/memory.js';
import { StatusError } from './errors.js';
import { createServiceAllocators } from './allocators.js';
import { AllocationClaims, IP_CLAIM_PREFIX, PORT_CLAIM_PREFIX, claimKey } from './allocation-store.js';
import { ServiceAllocation } from './service-allocation.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One "API server": its own cache, claims in the shared backend. */
function server(backend: Backend, opts: { cidr?: string; ports?: [number, number]; now?: () => number; warnings?: string[] } = {}): ServiceAllocation {
  const a = new ServiceAllocation(createServiceAllocators({ cidr: opts.cidr ?? '10.0.0.0/27', nodePortRange: opts.ports ?? [30000, 30009] }), {
    now: opts.now,
    warn: (m) => opts.warnings?.push(m),
  });
  a.attach(backend);
  return a;
}

const svc = (name: string, spec: Obj = {}): KObject =>
  ({ metadata: { name, namespace: 'default', uid: randomUUID(), creationTimestamp: '2024-01-01T00:00:00Z' }, spec: { sessionAffinity: 'None', ports: [{ port: 80, protocol: 'TCP' }], ...spec } }) as KObject;

async function keys(b: Backend, prefix: string): Promise<string[]> {
  return (await b.list(prefix)).items.map((kv) => kv.key.slice(prefix.length));
}

async function rejects(p: Promise<unknown>): Promise<StatusError> {
  try {
    await p;
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e;
  }
  assert.fail('expected a StatusError');
}

test('two servers allocating concurrently never hand out the same ClusterIP or NodePort; then "range is full" on both', async () => {
  const b = new MemoryBackend();
  const servers = [server(b, { ports: [30000, 30039] }), server(b, { ports: [30000, 30039] })];
  // /27: hosts .1-.30; .1 and .10 are only given on request → 28 dynamic picks
  const made = await Promise.all(
    Array.from({ length: 28 }, async (_, i) => {
      const s = svc(`s${i}`, { type: 'NodePort' });
      const r = await servers[i % 2].reserve(s, undefined);
      await r.commit();
      return s.spec as Obj;
    }),
  );
  const ips = made.map((s) => s.clusterIP);
  const ports = made.map((s) => s.ports[0].nodePort);
  assert.equal(new Set(ips).size, 28, 'unique ClusterIPs');
  assert.equal(new Set(ports).size, 28, 'unique NodePorts');
  assert.deepEqual((await keys(b, IP_CLAIM_PREFIX)).sort(), [...ips].sort(), 'one claim per ClusterIP');
  for (const s of servers) {
    const err = await rejects(s.reserve(svc('one-more'), undefined));
    assert.equal(err.code, 500);
    assert.equal(err.message, 'Internal error occurred: failed to allocate a serviceIP: range is full');
  }
});

test('a requested value held through the other server is refused with kube\'s 422; released values are reusable there', async () => {
  const b = new MemoryBackend();
  const [a, c] = [server(b), server(b)];
  const first = svc('first', { clusterIP: '10.0.0.20', clusterIPs: ['10.0.0.20'], type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30005 }] });
  await (await a.reserve(first, undefined)).commit();
  const dupIP = await rejects(c.reserve(svc('dup', { clusterIP: '10.0.0.20', clusterIPs: ['10.0.0.20'] }), undefined));
  assert.equal(dupIP.code, 422);
  assert.match(dupIP.message, /spec\.clusterIPs: Invalid value: \[\]string\{"10\.0\.0\.20"\}: failed to allocate IP 10\.0\.0\.20: provided IP is already allocated/);
  const dupPort = await rejects(c.reserve(svc('dup2', { type: 'NodePort', ports: [{ port: 81, protocol: 'TCP', nodePort: 30005 }] }), undefined));
  assert.match(dupPort.message, /spec\.ports\[0\]\.nodePort: Invalid value: 30005: provided port is already allocated/);
  // the failed requests left no claims behind
  assert.deepEqual(await keys(b, PORT_CLAIM_PREFIX), ['30005']);
  assert.equal((await keys(b, IP_CLAIM_PREFIX)).length, 1);
  // delete on a, then c (whose cache still counts them as taken) gets them
  await a.release(first);
  assert.deepEqual(await keys(b, IP_CLAIM_PREFIX), []);
  const again = svc('again', { clusterIP: '10.0.0.20', clusterIPs: ['10.0.0.20'], type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30005 }] });
  await (await c.reserve(again, undefined)).commit();
  assert.deepEqual(await keys(b, PORT_CLAIM_PREFIX), ['30005']);
});

test('a full cache is reloaded from the claims before "range is full"', async () => {
  const b = new MemoryBackend();
  const [a, c] = [server(b, { cidr: '10.0.0.0/29' }), server(b, { cidr: '10.0.0.0/29' })];
  // /29: hosts .1-.6, .1 skipped dynamically → 5 picks
  const held: KObject[] = [];
  for (let i = 0; i < 5; i++) {
    const s = svc(`s${i}`);
    await (await (i < 4 ? a : c).reserve(s, undefined)).commit();
    held.push(s);
  }
  await rejects(c.reserve(svc('x'), undefined)); // c learns every value is taken
  await a.release(held[0]);
  const s = svc('reuse');
  await (await c.reserve(s, undefined)).commit();
  assert.equal((s.spec as Obj).clusterIP, (held[0].spec as Obj).clusterIP);
});

test('rollback and dry run leave no claims; update releases what the new spec drops after commit', async () => {
  const b = new MemoryBackend();
  const a = server(b);
  const s = svc('s', { type: 'NodePort' });
  const dry = await a.reserve(structuredClone(s), undefined, { dryRun: true });
  assert.deepEqual(await keys(b, ''), [], 'dry run claims nothing');
  await dry.rollback();
  const r = await a.reserve(s, undefined);
  assert.equal((await keys(b, PORT_CLAIM_PREFIX)).length, 1);
  await r.rollback();
  assert.deepEqual(await keys(b, ''), [], 'rolled back');
  await (await a.reserve(s, undefined)).commit();
  const next = structuredClone(s) as Obj;
  next.spec.type = 'ClusterIP';
  delete next.spec.ports[0].nodePort;
  const u = await a.reserve(next as KObject, s);
  assert.equal((await keys(b, PORT_CLAIM_PREFIX)).length, 1, 'kept until the write commits');
  await u.commit();
  assert.deepEqual(await keys(b, PORT_CLAIM_PREFIX), []);
  assert.deepEqual(await keys(b, IP_CLAIM_PREFIX), [(s.spec as Obj).clusterIP]);
});

test('repair: claims for Services without one, old orphans removed (young ones kept), duplicates reported', async () => {
  const b = new MemoryBackend();
  let now = 1_000_000;
  const warnings: string[] = [];
  const a = server(b, { now: () => now, warnings });
  const claims = new AllocationClaims(b, { now: () => now });
  const ghost = { namespace: 'default', name: 'ghost', uid: 'u-ghost' };
  await claims.claim({ kind: 'clusterIP', value: '10.0.0.30' }, ghost);
  now += 120_000;
  await claims.claim({ kind: 'nodePort', value: 30009 }, ghost); // young orphan
  const x = svc('x', { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'], type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30001 }] });
  const y = svc('y', { clusterIP: '10.0.0.5', clusterIPs: ['10.0.0.5'] });
  (y.metadata as Obj).creationTimestamp = '2024-02-01T00:00:00Z';
  const report = await a.repair([y, x]);
  assert.deepEqual(report.created.map(claimKey).sort(), [claimKey({ kind: 'clusterIP', value: '10.0.0.5' }), claimKey({ kind: 'nodePort', value: 30001 })].sort());
  assert.deepEqual(report.removed, [{ kind: 'clusterIP', value: '10.0.0.30' }]);
  assert.deepEqual(warnings, ['ClusterIP 10.0.0.5 is allocated to more than one Service: default/x, default/y']);
  assert.equal((await claims.get({ kind: 'clusterIP', value: '10.0.0.5' }))?.owner.name, 'x', 'the older Service keeps it');
  assert.deepEqual((await keys(b, PORT_CLAIM_PREFIX)).sort(), ['30001', '30009']);
  // the cache now matches the claims: the freed orphan is allocatable, the held ones are not
  assert.ok(a.allocs.ips.isAllocated('10.0.0.5') && !a.allocs.ips.isAllocated('10.0.0.30'));
  // a second repair changes nothing but the now-old orphan
  now += 120_000;
  const again = await a.repair([y, x]);
  assert.deepEqual(again.created, []);
  assert.deepEqual(again.removed, [{ kind: 'nodePort', value: 30009 }]);
});

test('without a store (not attached) it is the plain in-memory allocator', async () => {
  const a = new ServiceAllocation(createServiceAllocators({ cidr: '10.0.0.0/29' }));
  const s = svc('s');
  await (await a.reserve(s, undefined)).commit();
  assert.ok(a.allocs.ips.isAllocated((s.spec as Obj).clusterIP));
  await a.release(s);
  assert.equal(a.allocs.ips.used(), 0);
});

test('repair gives back a claim it took for a value its Service dropped meanwhile', async () => {
  const b = new MemoryBackend();
  const a = server(b);
  const s = svc('s', { clusterIP: '10.0.0.7', clusterIPs: ['10.0.0.7'] });
  const report = await a.repair([s], { relist: async () => [] });
  assert.deepEqual(report.created, []);
  assert.deepEqual(await keys(b, IP_CLAIM_PREFIX), []);
  const kept = await a.repair([s], { relist: async () => [s] });
  assert.deepEqual(kept.created, [{ kind: 'clusterIP', value: '10.0.0.7' }]);
  assert.deepEqual(await keys(b, IP_CLAIM_PREFIX), ['10.0.0.7']);
});
