/**
 * etcd-specific behaviour of the etcd:// backend: URL parsing, the exact key and revision layout
 * in etcd, the compaction mapping, and watches that survive a restarted member and a killed
 * leader with no gap and no duplicate.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Etcd3 } from 'etcd3';
import { ensurePki } from '../../src/apiserver/auth/certs.js';
import { EtcdBackend, openEtcdBackend, parseEtcdUrl } from '../../src/storage/etcd.js';
import { CompactedError, UnavailableError } from '../../src/storage/errors.js';
import { knownSchemes, openBackend } from '../../src/storage/registry.js';
import type { Backend } from '../../src/storage/types.js';
import { etcdSkipReason, startEtcd, startEtcdCluster, type EtcdCluster } from './etcdtest.js';
import { assertSameEvents, createThroughOutage, history, record, sleep, until } from './helpers.js';

describe('parseEtcdUrl', () => {
  const ok: Array<[string, ReturnType<typeof parseEtcdUrl>]> = [
    ['etcd://127.0.0.1:2379', { endpoints: ['127.0.0.1:2379'] }],
    ['etcd://127.0.0.1:2379/', { endpoints: ['127.0.0.1:2379'] }],
    ['etcd://a:1,b:2,[::1]:3', { endpoints: ['a:1', 'b:2', '[::1]:3'] }],
    ['etcd://h:2379?prefix=/kubelite', { endpoints: ['h:2379'], prefix: '/kubelite' }],
    ['ETCD://h:2379?prefix=', { endpoints: ['h:2379'] }],
  ];
  for (const [url, want] of ok) it(`parses ${url}`, () => assert.deepEqual(parseEtcdUrl(url), want));

  const bad: Array<[string, RegExp]> = [
    ['etcd://', /names no endpoint/],
    ['etcd://h', /must be HOST:PORT/],
    ['etcd://h:x', /must be HOST:PORT/],
    ['etcd://h:1?bogus=1', /unknown etcd storage URL parameter "bogus"/],
    ['etcd://h:1?cert=/nonexistent-cert', /ENOENT/],
    ['sqlite://x', /invalid etcd storage URL/],
  ];
  for (const [url, re] of bad) it(`rejects ${url}`, () => assert.throws(() => parseEtcdUrl(url), re));

  it('is registered as the etcd:// scheme', () => assert.ok(knownSchemes().includes('etcd')));
});

describe('etcd backend (1 member)', { skip: etcdSkipReason }, () => {
  let etcd: EtcdCluster;
  let raw: Etcd3;
  const opened: Backend[] = [];
  const open = async (prefix?: string): Promise<EtcdBackend> => {
    const b = await openEtcdBackend({ endpoints: etcd.endpoints, prefix });
    opened.push(b);
    return b;
  };
  before(async () => {
    etcd = await startEtcd();
    raw = new Etcd3({ hosts: etcd.endpoints.map((e) => `http://${e}`) });
  });
  after(async () => {
    raw?.close();
    for (const b of opened) await b.close();
    await etcd?.stop();
  });

  it('stores our keys verbatim (behind the optional prefix) with etcd revisions', async () => {
    const plain = await open();
    const r1 = await plain.create('/registry/pods/default/a', '{"a":1}');
    const got = await raw.get('/registry/pods/default/a').exec();
    assert.equal(got.kvs[0]?.value.toString(), '{"a":1}');
    assert.equal(Number(got.kvs[0]?.mod_revision), r1, 'revision is etcd mod_revision');
    assert.equal(Number(got.header.revision), r1, 'store revision is etcd header revision');
    assert.equal(await plain.currentRevision(), r1);

    const pre = await open('/kubelite');
    const r2 = await pre.create('/registry/pods/default/a', 'p');
    assert.equal(r2, r1 + 1, 'one global revision counter');
    assert.equal((await raw.get('/kubelite/registry/pods/default/a').string()), 'p');
    assert.deepEqual(await pre.get('/registry/pods/default/a'), { key: '/registry/pods/default/a', value: 'p', createRevision: r2, modRevision: r2 });
    assert.deepEqual((await pre.list('/registry/')).items.map((i) => i.key), ['/registry/pods/default/a'], 'prefix stripped, other keys invisible');
    assert.equal((await plain.get('/registry/pods/default/a'))?.value, '{"a":1}', 'unprefixed store unaffected');
  });

  it('opens through the registry URL', async () => {
    const b = await openBackend(`etcd://${etcd.endpoints[0]}?prefix=/via-url`);
    opened.push(b);
    const r = await b.create('/registry/x', 'v');
    assert.equal(await raw.get('/via-url/registry/x').string(), 'v');
    assert.equal((await b.get('/registry/x'))?.modRevision, r);
  });

  it('maps compact(R) to etcd compaction at R+1 and learns the compaction point from etcd', async () => {
    const b = await open('/compact');
    const r1 = await b.create('/k', '1');
    const r2 = await b.update('/k', '2', r1);
    const r3 = await b.update('/k', '3', r2);
    await b.compact(r2);
    assert.equal(await b.compactRevision(), r2);
    await assert.rejects(b.get('/k', { revision: r2 }), CompactedError);
    assert.equal((await b.get('/k', { revision: r3 }))?.value, '3');
    // etcd itself: R is gone, R+1 is its compaction point and still readable there.
    await assert.rejects(raw.get('/compact/k').revision(r2).exec(), /compacted/);
    assert.equal(await raw.get('/compact/k').revision(r3).string(), '3');

    // A second client knows nothing yet; a failed read and a canceled watch teach it.
    const other = await open('/compact');
    assert.equal(await other.compactRevision(), 0);
    await assert.rejects(other.get('/k', { revision: r1 }), CompactedError);
    assert.equal(await other.compactRevision(), r1, 'learned from ErrCompacted: at least the failed revision');
    const w = record(other, '/', r1); // allowed by what it knows; etcd needs r2 and has compacted it
    await until(() => w.errors.length > 0, 5000, () => 'compaction error');
    assert.ok(w.errors[0] instanceof CompactedError);
    assert.equal(w.events.length, 0);
    assert.equal(await other.compactRevision(), r2, 'learned from the watch cancel: compact_revision - 1');
  });

  it('ends watches with UnavailableError on close and rejects later calls', async () => {
    const b = await open('/close');
    const w = record(b, '/', await b.currentRevision());
    await b.create('/a', 'v');
    await until(() => w.events.length === 1, 5000, () => 'one event');
    await b.close();
    await until(() => w.errors.length > 0, 2000, () => 'close error');
    assert.ok(w.errors[0] instanceof UnavailableError);
    await assert.rejects(b.get('/a'), UnavailableError);
    await assert.rejects(b.create('/b', 'v'), UnavailableError);
  });

  it('fails with UnavailableError when etcd cannot be reached', async () => {
    await assert.rejects(openEtcdBackend({ endpoints: ['127.0.0.1:1'], requestTimeoutMs: 2000 }), UnavailableError);
  });

  it('resumes a watch across a restart of the only member, with no gap or duplicate', async () => {
    const b = await open('/restart');
    const start = await b.currentRevision();
    // One watch live from the start, one that is still replaying history when etcd dies.
    const live = record(b, '/', start);
    const acked: number[] = [];
    let i = 0;
    const write = async (n: number): Promise<void> => {
      for (const end = i + n; i < end; i++) acked.push(await createThroughOutage(b, `/k${String(i).padStart(4, '0')}`, `v${i}`));
    };
    await write(30);
    const replaying = record(b, '/', start);
    const killed = (async () => {
      await sleep(5);
      await etcd.kill(0, 'SIGKILL');
      await assert.rejects(b.get('/k0000'), UnavailableError, 'calls fail fast while etcd is down');
      await sleep(300);
      await etcd.restart(0);
    })();
    await Promise.all([write(60), killed]);
    await write(30);
    const end = acked.at(-1) as number;
    const truth = await history(b, '/', start, end);
    assert.equal(truth.length, 120);
    for (const [label, w] of [['live', live], ['replaying', replaying]] as const) {
      await until(() => (w.events.at(-1)?.revision ?? 0) >= end || w.errors.length > 0, 10_000, () => `${label} to reach ${end}`);
      await sleep(50);
      assertSameEvents(w, truth, label);
      w.stop();
    }
    for (const r of acked) assert.ok(truth.some((e) => e.revision === r), `acknowledged write ${r} is in the history`);
  });
});

describe('etcd backend over TLS', { skip: etcdSkipReason }, () => {
  it('connects over https when the URL names a CA', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'kubelite-etcd-tls-'));
    let etcd: EtcdCluster | undefined;
    let b: Backend | undefined;
    try {
      const pki = await ensurePki(dir, { hosts: ['127.0.0.1'] });
      const [caFile, certFile, keyFile] = [join(dir, 'ca.pem'), join(dir, 'srv.pem'), join(dir, 'srv.key')];
      writeFileSync(caFile, pki.caCertPem);
      writeFileSync(certFile, pki.serverCertPem);
      writeFileSync(keyFile, pki.serverKeyPem);
      etcd = await startEtcd({ tls: { certFile, keyFile, caFile } });
      b = await openBackend(`etcd://${etcd.endpoints[0]}?ca=${encodeURIComponent(caFile)}`);
      const r = await b.create('/registry/tls', 'v');
      assert.equal((await b.get('/registry/tls'))?.modRevision, r);
      // Plain http against the TLS port cannot work: proves the URL really switched to https.
      await assert.rejects(openEtcdBackend({ endpoints: etcd.endpoints, requestTimeoutMs: 2000 }), UnavailableError);
    } finally {
      await b?.close();
      await etcd?.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('etcd backend (3-member cluster)', { skip: etcdSkipReason }, () => {
  let etcd: EtcdCluster;
  const opened: Backend[] = [];
  const open = async (endpoints: string[], prefix: string): Promise<EtcdBackend> => {
    const b = await openEtcdBackend({ endpoints, prefix });
    opened.push(b);
    return b;
  };
  before(async () => {
    etcd = await startEtcdCluster(3);
  });
  after(async () => {
    for (const b of opened) await b.close();
    await etcd?.stop();
  });

  it('keeps watches going with no gap or duplicate when the leader is killed with SIGKILL', async () => {
    const leader = await etcd.leaderIndex();
    const prefix = '/leader-kill';
    const writer = await open(etcd.endpoints, prefix);
    const start = await writer.currentRevision();
    // Watches through clients that may sit on any member (they fail over), and one that talks
    // only to the leader (its stream certainly dies; it resumes once that member is back).
    const anywhere = await Promise.all([0, 1, 2].map(async () => record(await open(etcd.endpoints, prefix), '/', start)));
    const onLeader = record(await open([etcd.endpoints[leader] as string], prefix), '/', start);
    const acked: number[] = [];
    let i = 0;
    const write = async (n: number): Promise<void> => {
      for (const end = i + n; i < end; i++) acked.push(await createThroughOutage(writer, `/k${String(i).padStart(4, '0')}`, `v${i}`));
    };
    await write(40);
    const chaos = (async () => {
      await etcd.kill(leader, 'SIGKILL');
      await until(async () => (await etcd.leaderIndex().catch(() => -1)) >= 0, 10_000, () => 'a new leader');
      assert.notEqual(await etcd.leaderIndex(), leader);
    })();
    await Promise.all([write(60), chaos]);
    await write(20); // with the old leader still down
    await etcd.restart(leader);
    await write(20);
    const end = acked.at(-1) as number;
    const truth = await history(writer, '/', start, end);
    assert.equal(truth.length, 140);
    for (const [label, w] of [...anywhere.map((w, j) => [`watch ${j}`, w] as const), ['leader-only watch', onLeader] as const]) {
      await until(() => (w.events.at(-1)?.revision ?? 0) >= end || w.errors.length > 0, 15_000, () => `${label} to reach ${end} (at ${w.events.at(-1)?.revision})`);
      await sleep(50);
      assertSameEvents(w, truth, label);
      w.stop();
    }
  });

  it('ends a watch with CompactedError when history it missed was compacted while it was cut off', async () => {
    const leader = await etcd.leaderIndex();
    const follower = [0, 1, 2].find((j) => j !== leader) as number;
    const prefix = '/compact-resume';
    const writer = await open(etcd.endpoints.filter((_, j) => j !== follower), prefix);
    const cutOff = await open([etcd.endpoints[follower] as string], prefix);
    const start = await writer.currentRevision();
    const w = record(cutOff, '/', start);
    await writer.create('/a', '1');
    await until(() => w.events.length === 1, 5000, () => 'first event');
    await etcd.kill(follower, 'SIGKILL');
    await writer.create('/b', '2');
    await writer.create('/c', '3');
    const now = await writer.currentRevision();
    await writer.compact(now);
    await etcd.restart(follower);
    await until(() => w.errors.length > 0, 10_000, () => 'a compaction error after resuming');
    assert.ok(w.errors[0] instanceof CompactedError, String(w.errors[0]));
    assert.equal(w.events.length, 1, 'nothing delivered past the gap');
    assert.ok((await cutOff.compactRevision()) >= now - 1, 'the resumed client learned the compaction');
  });
});
