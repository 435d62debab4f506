/**
 * The sqlite backend's asynchronous WAL fsync (wal-sync.ts + sqlite.ts), driven through an
 * injected fsync that the test completes (or fails) by hand.
 */
import assert from 'node:assert/strict';
import { fdatasync, fstatSync, mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { FutureRevisionError, KeyExistsError, UnavailableError } from './errors.js';
import { openSqliteBackend } from './sqlite.js';
import type { Backend } from './types.js';

const dir = mkdtempSync(join(tmpdir(), 'kubelite-walsync-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `db${n++}`, 'state.db');

/** An fsync that completes only when the test says so. */
class FakeSync {
  readonly calls: { fd: number; done: (err: Error | null) => void }[] = [];
  readonly fn = (fd: number, done: (err: Error | null) => void): void => {
    this.calls.push({ fd, done });
  };
  finish(i: number, err: Error | null = null): void {
    (this.calls[i] as { done: (err: Error | null) => void }).done(err);
  }
}

interface Tracked<T> {
  state: 'pending' | 'resolved' | 'rejected';
  value?: T;
  error?: unknown;
}

function track<T>(p: Promise<T>, log?: string[], label?: (v: T) => string): Tracked<T> {
  const t: Tracked<T> = { state: 'pending' };
  p.then(
    (v) => {
      t.state = 'resolved';
      t.value = v;
      if (log && label) log.push(label(v));
    },
    (e: unknown) => {
      t.state = 'rejected';
      t.error = e;
      if (log) log.push(`x:${(e as Error).name}`);
    },
  );
  return t;
}

/** Lets the event loop run `k` full turns (group commits flush on setImmediate). */
async function turns(k = 3): Promise<void> {
  for (let i = 0; i < k; i++) await new Promise((r) => setImmediate(r));
}

async function withFake(fn: (b: Backend, f: FakeSync, path: string) => Promise<void>): Promise<void> {
  const f = new FakeSync();
  const path = freshPath();
  const b = await openSqliteBackend(path, { syncWal: f.fn });
  try {
    await fn(b, f, path);
  } finally {
    for (let i = 0; i < f.calls.length; i++) f.finish(i); // late completions are ignored
    await b.close();
  }
}

describe('sqlite WAL fsync off the event loop', () => {
  it('resolves a write, publishes its event and exposes its revision only after its fsync', async () => {
    await withFake(async (b, f) => {
      const events: number[] = [];
      b.watch('/k/', { fromRevision: 0, onEvent: (e) => events.push(e.revision) });
      const w = track(b.create('/k/a', 'v'));
      await turns();
      assert.equal(f.calls.length, 1, 'one fsync started after the commit');
      assert.equal(w.state, 'pending');
      assert.deepEqual(events, []);
      assert.equal(await b.currentRevision(), 0, 'currentRevision is the durable revision');
      await assert.rejects(b.get('/k/a', { revision: 1 }), (e: unknown) => e instanceof FutureRevisionError);
      assert.equal(await b.count('/other/'), 0, 'reads elsewhere do not wait');
      const got = track(b.get('/k/a'));
      const listed = track(b.list('/k/'));
      const late: number[] = [];
      b.watch('/k/', { fromRevision: 0, onEvent: (e) => late.push(e.revision) });
      await turns();
      assert.equal(got.state, 'pending', 'a read of an undurable key waits for its fsync');
      assert.equal(listed.state, 'pending');
      assert.deepEqual(late, [], 'watch replay stops at the durable revision');

      f.finish(0);
      await turns();
      assert.deepEqual(w, { state: 'resolved', value: 1 });
      assert.deepEqual(events, [1]);
      assert.deepEqual(late, [1]);
      assert.equal(got.value?.value, 'v');
      assert.equal(listed.value?.items.length, 1);
      assert.equal(listed.value?.revision, 1);
      assert.equal(await b.currentRevision(), 1);
    });
  });

  it('coalesces writes arriving during an fsync into the next one', async () => {
    await withFake(async (b, f) => {
      const a = track(b.create('/k/a', 'v'));
      await turns();
      const c1 = track(b.create('/k/b', 'v'));
      await turns();
      const c2 = track(b.create('/k/c', 'v'));
      await turns();
      assert.equal(f.calls.length, 1, 'no second fsync while one is in flight');
      f.finish(0);
      await turns();
      assert.equal(a.state, 'resolved');
      assert.equal(c1.state, 'pending', 'arrived after the first fsync started: not covered by it');
      assert.equal(c2.state, 'pending');
      assert.equal(f.calls.length, 2, 'one fsync for both later writes');
      f.finish(1);
      await turns();
      assert.deepEqual([c1.value, c2.value], [2, 3]);
      assert.equal(f.calls.length, 2);
    });
  });

  it('fails the covered writes and every later write when an fsync fails', async () => {
    await withFake(async (b, f) => {
      const events: number[] = [];
      b.watch('/k/', { fromRevision: 0, onEvent: (e) => events.push(e.revision) });
      const a = track(b.create('/k/a', 'v'));
      await turns();
      const c = track(b.create('/k/b', 'v'));
      await turns();
      f.finish(0, Object.assign(new Error('EIO: i/o error, fdatasync'), { code: 'EIO' }));
      await turns();
      assert.equal(a.state, 'rejected');
      assert.ok(a.error instanceof UnavailableError);
      assert.ok(c.error instanceof UnavailableError, 'a group waiting for the next fsync fails too');
      await assert.rejects(b.create('/k/d', 'v'), (e: unknown) => e instanceof UnavailableError && /fsync/.test(e.message));
      await assert.rejects(b.update('/k/a', 'v2', 1), (e: unknown) => e instanceof UnavailableError);
      assert.equal(f.calls.length, 1, 'nothing more is written or synced');
      assert.deepEqual(events, []);
      assert.equal(await b.currentRevision(), 0);
      assert.equal(await b.get('/k/a'), null, 'reads stay at the last durable revision');
      assert.equal((await b.list('/k/')).items.length, 0);
      assert.equal(await b.count('/k/'), 0);
    });
  });

  it('settles writes and publishes events in revision order across groups and fsyncs', async () => {
    await withFake(async (b, f) => {
      const log: string[] = [];
      b.watch('/k/', { fromRevision: 0, onEvent: (e) => log.push(`e${e.revision}`) });
      const rev = (v: number): string => `r${v}`;
      track(b.create('/k/a', 'v1'), log, rev); // group 1: rev 1
      const dup = track(b.create('/k/a', 'again'), log, rev); // group 1: KeyExists
      await turns();
      track(b.update('/k/a', 'v2', 1), log, rev); // group 2: rev 2
      track(b.create('/k/b', 'v'), log, rev); // group 2: rev 3
      await turns();
      track(b.delete('/k/b'), log, (v) => `r${v.revision}`); // group 3: rev 4
      await turns();
      assert.equal(log.length, 0);
      f.finish(0);
      await turns();
      assert.deepEqual(log, ['e1', 'r1', 'x:StoreError(KeyExists)']);
      assert.ok(dup.error instanceof KeyExistsError);
      f.finish(1);
      await turns();
      const evs = log.filter((s) => s.startsWith('e'));
      const res = log.filter((s) => s.startsWith('r'));
      assert.deepEqual(evs, ['e1', 'e2', 'e3', 'e4']);
      assert.deepEqual(res, ['r1', 'r2', 'r3', 'r4']);
      for (const r of res) assert.ok(log.indexOf(`e${r.slice(1)}`) < log.indexOf(r), `${r} resolved after its event`);
    });
  });

  it('close() waits for the in-flight fsync and delivers the outcome', async () => {
    const f = new FakeSync();
    const b = await openSqliteBackend(freshPath(), { syncWal: f.fn });
    const w = track(b.create('/k/a', 'v'));
    await turns();
    const closed = track(b.close());
    await assert.rejects(b.create('/k/b', 'v'), (e: unknown) => e instanceof UnavailableError);
    await turns();
    assert.equal(closed.state, 'pending');
    assert.equal(w.state, 'pending');
    f.finish(0);
    await turns();
    assert.deepEqual(w, { state: 'resolved', value: 1 });
    assert.equal(closed.state, 'resolved');
  });

  it('syncs the same WAL inode across auto-checkpoints with the real fdatasync', async () => {
    const path = freshPath();
    const fds = new Set<number>();
    let syncs = 0;
    const b = await openSqliteBackend(path, {
      syncWal: (fd, done) => {
        fds.add(fd);
        syncs++;
        fdatasync(fd, done);
      },
    });
    try {
      const big = 'x'.repeat(4000);
      let rev = 0;
      // ~2,500 pages: SQLite checkpoints and restarts the WAL (default every 1,000 pages).
      for (let g = 0; g < 25; g++) {
        const revs = await Promise.all(Array.from({ length: 100 }, (_, i) => b.create(`/k/${g}-${i}`, big)));
        rev = Math.max(rev, ...revs);
      }
      assert.equal(rev, 2500);
      assert.equal(fds.size, 1);
      const fd = [...fds][0] as number;
      assert.equal(fstatSync(fd).ino, statSync(`${path}-wal`).ino, 'the -wal file was never replaced');
      assert.equal(fstatSync(fd).nlink, 1);
      assert.ok(fstatSync(fd).size < 2500 * 4000, 'the WAL was restarted by a checkpoint');
      assert.ok(syncs >= 25 && syncs < 2500, `groups share fsyncs (${syncs})`);
    } finally {
      await b.close();
    }
  });

  it("does no fsync of its own with synchronous: 'normal'", async () => {
    const f = new FakeSync();
    const b = await openSqliteBackend(freshPath(), { synchronous: 'normal', syncWal: f.fn });
    try {
      assert.equal(await b.create('/k/a', 'v'), 1);
      assert.equal(await b.currentRevision(), 1);
      assert.equal(f.calls.length, 0);
    } finally {
      await b.close();
    }
  });
});
