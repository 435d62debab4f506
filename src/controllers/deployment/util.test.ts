import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  REVISION,
  REVISION_HISTORY,
  DESIRED_REPLICAS,
  MAX_REPLICAS,
  LAST_APPLIED,
  canonicalJSON,
  computeHash,
  equalIgnoreHash,
  findActiveOrLatest,
  findNewReplicaSet,
  findOldReplicaSets,
  fnv32a,
  isSaturated,
  maxRevision,
  maxSurge,
  maxUnavailable,
  newReplicaSetShape,
  resolveFenceposts,
  safeEncode,
  scaledValue,
  setNewReplicaSetAnnotations,
  bySizeNewer,
  bySizeOlder,
} from './util.js';
import { deploy, rs } from './fixtures.test-util.js';

test('scaledValue: ints as is, percentages rounded up or down', () => {
  const cases: [number | string, number, boolean, number][] = [
    [3, 10, true, 3],
    ['25%', 10, true, 3],
    ['25%', 10, false, 2],
    ['25%', 4, false, 1],
    ['10%', 1, true, 1],
    ['10%', 1, false, 0],
    ['100%', 7, false, 7],
    ['0%', 7, true, 0],
  ];
  for (const [v, total, up, want] of cases) assert.equal(scaledValue(v, total, up), want, `${v} of ${total} up=${up}`);
  assert.throws(() => scaledValue('25', 10, true));
});

test('resolveFenceposts / maxSurge / maxUnavailable', () => {
  const cases: { name: string; surge: number | string; unav: number | string; replicas: number; wantSurge: number; wantUnav: number }[] = [
    { name: 'defaults of 10', surge: '25%', unav: '25%', replicas: 10, wantSurge: 3, wantUnav: 2 },
    { name: 'defaults of 1', surge: '25%', unav: '25%', replicas: 1, wantSurge: 1, wantUnav: 0 },
    { name: 'both round to 0 → unavailable 1', surge: '0%', unav: '10%', replicas: 5, wantSurge: 0, wantUnav: 1 },
    { name: 'surge only', surge: 2, unav: 0, replicas: 10, wantSurge: 2, wantUnav: 0 },
    { name: 'unavailable capped at replicas', surge: 0, unav: 20, replicas: 3, wantSurge: 0, wantUnav: 3 },
    { name: 'zero replicas', surge: '25%', unav: '25%', replicas: 0, wantSurge: 0, wantUnav: 0 },
  ];
  for (const c of cases) {
    const d = deploy({ replicas: c.replicas, surge: c.surge, unavailable: c.unav });
    assert.equal(maxSurge(d), c.wantSurge, `${c.name}: surge`);
    assert.equal(maxUnavailable(d), c.wantUnav, `${c.name}: unavailable`);
  }
  assert.deepEqual(resolveFenceposts(0, 0, 10), { surge: 0, unavailable: 1 });
  const rec = deploy({ recreate: true });
  assert.equal(maxSurge(rec), 0);
  assert.equal(maxUnavailable(rec), 0);
});

test('hash: fnv32a, safe encoding, stability and collision count', () => {
  const enc = new TextEncoder();
  assert.equal(fnv32a(enc.encode('')), 0x811c9dc5);
  assert.equal(fnv32a(enc.encode('a')), 0xe40c292c);
  assert.equal(fnv32a(enc.encode('foobar')), 0xbf9cf968);
  assert.equal(safeEncode('0123456789'), '456789bcdf'); // '0' is 48, 48 % 27 = 21 → '4'
  const t1 = { metadata: { labels: { app: 'a', tier: 'web' } }, spec: { containers: [{ name: 'c', image: 'x:1' }] } };
  const t2 = { spec: { containers: [{ image: 'x:1', name: 'c' }] }, metadata: { labels: { tier: 'web', app: 'a' } } };
  const h = computeHash(t1);
  assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  assert.equal(computeHash(t2), h, 'key order does not matter');
  assert.notEqual(computeHash({ ...t1, spec: { containers: [{ name: 'c', image: 'x:2' }] } }), h);
  assert.notEqual(computeHash(t1, 0), h, 'a set collision count changes the hash');
  assert.notEqual(computeHash(t1, 1), computeHash(t1, 0));
  assert.equal(computeHash(t1, 1), computeHash(t2, 1));
  assert.equal(canonicalJSON({ b: 1, a: [{ d: 2, c: undefined }] }), '{"a":[{"d":2}],"b":1}');
});

test('equalIgnoreHash: the hash label and nil-vs-empty do not matter', () => {
  const a = { metadata: { labels: { app: 'a', 'pod-template-hash': 'xyz' } }, spec: { containers: [{ name: 'c', image: 'x' }] } };
  const b = { metadata: { labels: { app: 'a' }, creationTimestamp: null }, spec: { containers: [{ name: 'c', image: 'x', env: [] }] } };
  assert.ok(equalIgnoreHash(a as never, b as never));
  assert.ok(!equalIgnoreHash(a, { ...a, spec: { containers: [{ name: 'c', image: 'y' }] } }));
  assert.ok(!equalIgnoreHash(a, { ...a, metadata: { labels: { app: 'b' } } }));
});

test('findNewReplicaSet: the oldest with the same template; the rest are old', () => {
  const d = deploy({ image: 'v2' });
  const list = [rs('v1', { replicas: 3, at: 1 }), rs('v2b', { replicas: 0, at: 5, image: 'v2' }), rs('v2a', { replicas: 0, at: 3, image: 'v2' })];
  assert.equal(findNewReplicaSet(d, list)?.metadata.name, 'v2a');
  assert.deepEqual(findOldReplicaSets(d, list).map((x) => x.metadata.name), ['v1', 'v2b']);
  assert.equal(findNewReplicaSet(deploy({ image: 'v9' }), list), undefined);
});

test('findActiveOrLatest and isSaturated', () => {
  const n = rs('new', { replicas: 0, at: 9 });
  const o1 = rs('o1', { replicas: 0, at: 1 });
  const o2 = rs('o2', { replicas: 0, at: 2 });
  assert.equal(findActiveOrLatest(n, [o1, o2])?.metadata.name, 'new', 'none active: the new one');
  assert.equal(findActiveOrLatest(undefined, [o1, o2])?.metadata.name, 'o2', 'none active, no new: the newest old');
  assert.equal(findActiveOrLatest(n, [rs('o1', { replicas: 2 }), o2])?.metadata.name, 'o1');
  assert.equal(findActiveOrLatest(rs('new', { replicas: 1 }), [rs('o1', { replicas: 2 })]), undefined);
  const d = deploy({ replicas: 3 });
  assert.ok(isSaturated(d, rs('n', { replicas: 3, available: 3, annotations: { [DESIRED_REPLICAS]: '3' } })));
  assert.ok(!isSaturated(d, rs('n', { replicas: 3, available: 2, annotations: { [DESIRED_REPLICAS]: '3' } })));
  assert.ok(!isSaturated(d, rs('n', { replicas: 3, available: 3, annotations: { [DESIRED_REPLICAS]: '2' } })));
  assert.ok(!isSaturated(d, rs('n', { replicas: 3, available: 3 })));
});

test('sort orders: by size, newer or older first on ties', () => {
  const a = rs('a', { replicas: 2, at: 1 });
  const b = rs('b', { replicas: 2, at: 2 });
  const c = rs('c', { replicas: 5, at: 0 });
  assert.deepEqual([a, b, c].sort(bySizeNewer).map((x) => x.metadata.name), ['c', 'b', 'a']);
  assert.deepEqual([a, b, c].sort(bySizeOlder).map((x) => x.metadata.name), ['c', 'a', 'b']);
});

test('setNewReplicaSetAnnotations: copy, revision, revision-history, replicas annotations', () => {
  const d = deploy({ replicas: 4, surge: 1, annotations: { 'kubernetes.io/change-cause': 'v2', [LAST_APPLIED]: '{}', [REVISION]: '7', other: 'x' } });
  const fresh = rs('n', { replicas: 0 });
  assert.ok(setNewReplicaSetAnnotations(d, fresh, 3, false));
  assert.deepEqual(fresh.metadata.annotations, { 'kubernetes.io/change-cause': 'v2', other: 'x', [REVISION]: '3', [DESIRED_REPLICAS]: '4', [MAX_REPLICAS]: '5' });

  // An old ReplicaSet becoming new again (rollback): revision raised, old one kept in history.
  const back = rs('o', { replicas: 0, annotations: { [REVISION]: '1', 'kubernetes.io/change-cause': 'v1' } });
  assert.ok(setNewReplicaSetAnnotations(d, back, 3, true));
  assert.equal(back.metadata.annotations![REVISION], '3');
  assert.equal(back.metadata.annotations![REVISION_HISTORY], '1');
  assert.equal(back.metadata.annotations!['kubernetes.io/change-cause'], 'v2');
  assert.equal(back.metadata.annotations![DESIRED_REPLICAS], undefined, 'existing: replicas annotations left to scaling');
  back.metadata.annotations![REVISION] = '3';
  assert.ok(setNewReplicaSetAnnotations(d, back, 5, true));
  assert.equal(back.metadata.annotations![REVISION_HISTORY], '1,3');
  assert.ok(!setNewReplicaSetAnnotations(d, back, 5, true), 'idempotent');
  assert.ok(!setNewReplicaSetAnnotations(d, back, 2, true), 'never lowers the revision');
  assert.equal(back.metadata.annotations![REVISION], '5');
  assert.equal(maxRevision([back, fresh, rs('x', { replicas: 0, annotations: { [REVISION]: 'bad' } })]), 5);
});

test('newReplicaSetShape: hash label on labels, selector and template; the Deployment untouched', () => {
  const d = deploy();
  const s = newReplicaSetShape(d, 'abc');
  assert.deepEqual(s.labels, { app: 'web', 'pod-template-hash': 'abc' });
  assert.deepEqual(s.selector, { matchLabels: { app: 'web', 'pod-template-hash': 'abc' } });
  assert.deepEqual(s.template.metadata?.labels, { app: 'web', 'pod-template-hash': 'abc' });
  assert.deepEqual(d.spec.template?.metadata?.labels, { app: 'web' });
});
