import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { identityMatches, inOrdinalRange, newStatefulPod, parentAndOrdinal, POD_INDEX_LABEL, POD_NAME_LABEL, resolveMaxUnavailable, REVISION_LABEL, setSpec } from './pods.js';
import {
  canonicalJSON,
  decideUpdateRevision,
  fnv32,
  hashRevision,
  newRevision,
  revisionName,
  revisionsToTruncate,
  safeEncode,
  sortRevisions,
  templateOf,
} from './revisions.js';

const set = (spec: Record<string, unknown> = {}): KObject => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'ns1', uid: 'u1' },
  spec: { replicas: 2, serviceName: 'nginx', template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } }, ...spec },
});

test('parentAndOrdinal', () => {
  const cases: [string, string, number][] = [
    ['web-0', 'web', 0],
    ['web-12', 'web', 12],
    ['my-web-3', 'my-web', 3],
    ['web-', '', -1],
    ['web', '', -1],
    ['web-1a', '', -1],
    ['web-2147483647', 'web', 2147483647],
    ['web-2147483648', 'web', -1],
    ['-4', '', 4],
  ];
  for (const [name, parent, ordinal] of cases) assert.deepEqual(parentAndOrdinal(name), { parent, ordinal }, name);
});

test('inOrdinalRange and setSpec defaults', () => {
  const cases: [number, number, number, boolean][] = [
    [0, 0, 3, true],
    [2, 0, 3, true],
    [3, 0, 3, false],
    [4, 5, 2, false],
    [5, 5, 2, true],
    [6, 5, 2, true],
    [7, 5, 2, false],
    [0, 0, 0, false],
  ];
  for (const [ord, start, replicas, want] of cases) assert.equal(inOrdinalRange(ord, { start, replicas }), want, `${ord} in [${start}, +${replicas})`);
  const s = setSpec({ metadata: {}, spec: {} });
  assert.deepEqual(
    [s.replicas, s.start, s.podManagementPolicy, s.updateType, s.partition, s.revisionHistoryLimit, s.minReadySeconds],
    [1, 0, 'OrderedReady', 'RollingUpdate', undefined, 10, 0],
  );
});

test('newStatefulPod: identity, revision label, hostname/subdomain, owner', () => {
  const pod = newStatefulPod(set(), { template: { metadata: { labels: { app: 'web' } }, spec: { containers: [] } }, ordinal: 1, revision: 'web-abc' });
  assert.equal(pod.metadata.name, 'web-1');
  assert.equal(pod.metadata.namespace, 'ns1');
  assert.deepEqual(pod.metadata.labels, { app: 'web', [POD_NAME_LABEL]: 'web-1', [POD_INDEX_LABEL]: '1', [REVISION_LABEL]: 'web-abc' });
  assert.equal((pod.spec as { hostname: string }).hostname, 'web-1');
  assert.equal((pod.spec as { subdomain: string }).subdomain, 'nginx');
  assert.deepEqual(pod.metadata.ownerReferences, [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u1', controller: true, blockOwnerDeletion: true }]);
  assert.equal(identityMatches(set(), pod), true);
  assert.equal(identityMatches(set(), { ...pod, metadata: { ...pod.metadata, labels: {} } }), false);
  assert.equal(identityMatches(set(), { ...pod, metadata: { ...pod.metadata, namespace: 'other' } }), false);
  const headless = newStatefulPod(set({ serviceName: '' }), { template: {}, ordinal: 0, revision: 'r' });
  assert.equal((headless.spec as { subdomain?: string }).subdomain, undefined);
});

test('resolveMaxUnavailable', () => {
  const cases: [number | string | undefined, number, number][] = [
    [undefined, 5, 1],
    [2, 5, 2],
    ['50%', 5, 2],
    ['10%', 5, 1],
    ['100%', 4, 4],
  ];
  for (const [v, n, want] of cases) assert.equal(resolveMaxUnavailable(v, n), want, String(v));
});

test('revision hashing and naming', () => {
  assert.equal(fnv32(''), 0x811c9dc5);
  assert.equal(fnv32('a'), 0x050c5d7e); // FNV-1 (not 1a) test vector
  assert.equal(safeEncode('0123456789'), '456789bcdf'); // byte % 27 into kube's alphabet
  assert.equal(canonicalJSON({ b: 1, a: [{ d: 1, c: 2 }] }), '{"a":[{"c":2,"d":1}],"b":1}');
  const a = newRevision(set(), { revision: 1, collisionCount: 0 });
  const b = newRevision({ ...set(), spec: { ...(set().spec as object), replicas: 9 } }, { revision: 2, collisionCount: 0 });
  assert.equal(a.metadata.name, b.metadata.name, 'replicas are not part of a revision');
  assert.notEqual(hashRevision(a.data, 0), hashRevision(a.data, 1), 'collision count changes the hash');
  assert.match(a.metadata.name!, /^web-[bcdfghjklmnpqrstvwxz2456789]+$/);
  assert.deepEqual(templateOf(a), (set().spec as { template: unknown }).template);
  assert.deepEqual((a.data as { spec: { template: { $patch: string } } }).spec.template.$patch, 'replace');
  assert.equal(revisionName('x'.repeat(300), 'h').length, 225);
});

test('decideUpdateRevision: existing, rollback renumber, create', () => {
  const v1 = set();
  const v2 = set({ template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:2' }] } } });
  const r1 = newRevision(v1, { revision: 1, collisionCount: 0 });
  const r2 = newRevision(v2, { revision: 2, collisionCount: 0 });
  assert.equal(decideUpdateRevision(v1, [], 0).kind, 'create');
  assert.deepEqual(decideUpdateRevision(v1, [r1], 0), { kind: 'existing', revision: r1 });
  const created = decideUpdateRevision(v2, [r1], 0);
  assert.equal(created.kind, 'create');
  assert.equal(created.revision.revision, 2);
  assert.deepEqual(decideUpdateRevision(v1, sortRevisions([r2, r1]), 0), { kind: 'renumber', revision: r1, to: 3 });
});

test('revisionsToTruncate keeps live revisions and the newest history', () => {
  const revs = [1, 2, 3, 4, 5].map((n) => ({ metadata: { name: `r${n}` }, revision: n }) as KObject);
  const names = (l: KObject[]): string[] => l.map((r) => r.metadata.name!);
  assert.deepEqual(names(revisionsToTruncate(revs, { live: new Set(['r5']), limit: 2 })), ['r1', 'r2']);
  assert.deepEqual(names(revisionsToTruncate(revs, { live: new Set(['r5', 'r1']), limit: 2 })), ['r2']);
  assert.deepEqual(names(revisionsToTruncate(revs, { live: new Set(['r5']), limit: 10 })), []);
  assert.deepEqual(names(revisionsToTruncate(revs, { live: new Set(['r5']), limit: 0 })), ['r1', 'r2', 'r3', 'r4']);
});

test('MemoryRevisionHistory: AlreadyExists on a name clash, renumber, forget by owner', async () => {
  const { MemoryRevisionHistory } = await import('./history.js');
  const { isAlreadyExists } = await import('../../client/client.js');
  const h = new MemoryRevisionHistory(() => Date.parse('2024-01-01T00:00:00Z'));
  const r1 = newRevision(set(), { revision: 1, collisionCount: 0 });
  const stored = await h.create(r1);
  assert.ok(stored.metadata.uid);
  await assert.rejects(h.create(r1), (err) => isAlreadyExists(err));
  assert.equal((await h.setRevision(stored, 7)).revision, 7);
  assert.equal(h.list('ns1').length, 1);
  assert.equal(h.list('other').length, 0);
  h.forgetOwner('u1');
  assert.equal(h.list('ns1').length, 0);
});
