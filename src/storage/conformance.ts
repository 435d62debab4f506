/**
 * The one conformance suite every storage backend must pass. It checks each guarantee stated in
 * types.ts through the Backend interface only, so a new backend (e.g. etcd) is done when
 * `runConformance('etcd', open)` is green. `open` must return a fresh, empty store each call.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  CompactedError, ConflictError, FutureRevisionError, KeyExistsError, NotFoundError, StoreError,
} from './errors.js';
import type { Backend, KeyValue, WatchEvent } from './types.js';

/** A running watch that records what it receives. */
interface Recorder {
  events: WatchEvent[];
  errors: Error[];
  stop: () => void;
  /** Resolves once at least `n` events arrived (rejects after `ms`). */
  waitFor(n: number, ms?: number): Promise<void>;
  /** Resolves once an error arrived (rejects after `ms`). */
  waitForError(ms?: number): Promise<Error>;
}

function record(b: Backend, prefix: string, fromRevision: number): Recorder {
  const r: Recorder = {
    events: [],
    errors: [],
    stop: () => {},
    waitFor: (n, ms = 5000) => until(() => r.events.length >= n, ms, () => `${r.events.length}/${n} events`),
    waitForError: async (ms = 5000) => {
      await until(() => r.errors.length > 0, ms, () => 'an error');
      return r.errors[0] as Error;
    },
  };
  r.stop = b.watch(prefix, { fromRevision, onEvent: (ev) => r.events.push(ev), onError: (e) => r.errors.push(e) });
  return r;
}

async function until(cond: () => boolean, ms: number, what: () => string): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what()}`);
    await sleep(2);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Asserts `p` rejects with an instance of `cls` (and returns the error). */
async function rejectsWith<E extends StoreError>(p: Promise<unknown>, cls: new (...args: never[]) => E): Promise<E> {
  let caught: unknown;
  await assert.rejects(p, (e: unknown) => {
    caught = e;
    return true;
  });
  assert.ok(caught instanceof cls, `expected ${cls.name}, got ${String(caught)}`);
  return caught as E;
}

const summary = (evs: WatchEvent[]): string[] => evs.map((e) => `${e.revision}:${e.type}:${e.kv.key}=${e.kv.value}`);
const keys = (items: KeyValue[]): string[] => items.map((i) => i.key);

export function runConformance(name: string, open: () => Promise<Backend>): void {
  /** Runs `fn` against a fresh store, always closing it. */
  const withStore = (fn: (b: Backend) => Promise<void>) => async (): Promise<void> => {
    const b = await open();
    try {
      await fn(b);
    } finally {
      await b.close();
    }
  };

  describe(`storage conformance: ${name}`, () => {
    describe('revisions and writes', () => {
      it('starts empty at revision 0', withStore(async (b) => {
        assert.equal(await b.currentRevision(), 0);
        assert.equal(await b.compactRevision(), 0);
        const l = await b.list('/');
        assert.deepEqual(l, { items: [], revision: 0, more: false, remaining: 0 });
        assert.equal(await b.count('/'), 0);
        assert.equal(await b.get('/registry/pods/default/x'), null);
      }));

      it('bumps the revision by exactly one per write and tracks create/mod revisions', withStore(async (b) => {
        const k = '/registry/services/default/my-svc';
        assert.equal(await b.create(k, '{"v":1}'), 1);
        assert.equal(await b.create('/registry/services/default/other', '{}'), 2);
        assert.equal(await b.update(k, '{"v":2}', 1), 3);
        assert.deepEqual(await b.get(k), { key: k, value: '{"v":2}', createRevision: 1, modRevision: 3 });
        const del = await b.delete(k, 3);
        assert.deepEqual(del, { revision: 4, prev: { key: k, value: '{"v":2}', createRevision: 1, modRevision: 3 } });
        assert.equal(await b.get(k), null);
        assert.equal(await b.create(k, '{"v":3}'), 5, 're-create after delete');
        assert.deepEqual(await b.get(k), { key: k, value: '{"v":3}', createRevision: 5, modRevision: 5 });
        assert.equal((await b.delete(k)).revision, 6, 'unconditional delete');
        assert.equal(await b.currentRevision(), 6);
      }));

      it('stores values verbatim', withStore(async (b) => {
        const values = ['', '{}', '{"a":"ünïcødé ☃ 😀"}', JSON.stringify({ big: 'x'.repeat(200_000) }), 'line1\nline2\u0000end'];
        for (const [i, v] of values.entries()) await b.create(`/registry/v/${i}`, v);
        for (const [i, v] of values.entries()) assert.equal((await b.get(`/registry/v/${i}`))?.value, v);
      }));

      const failures: Array<{ name: string; setup: (b: Backend) => Promise<void>; op: (b: Backend) => Promise<unknown>; err: new (...a: never[]) => StoreError }> = [
        { name: 'create on existing key', setup: async (b) => { await b.create('/k', 'a'); }, op: (b) => b.create('/k', 'b'), err: KeyExistsError },
        { name: 'update with stale revision', setup: async (b) => { await b.create('/k', 'a'); await b.update('/k', 'b', 1); }, op: (b) => b.update('/k', 'c', 1), err: ConflictError },
        { name: 'update with future revision', setup: async (b) => { await b.create('/k', 'a'); }, op: (b) => b.update('/k', 'c', 7), err: ConflictError },
        { name: 'update of missing key', setup: async () => {}, op: (b) => b.update('/k', 'a', 1), err: NotFoundError },
        { name: 'update of deleted key', setup: async (b) => { await b.create('/k', 'a'); await b.delete('/k'); }, op: (b) => b.update('/k', 'b', 1), err: NotFoundError },
        { name: 'delete of missing key', setup: async () => {}, op: (b) => b.delete('/k'), err: NotFoundError },
        { name: 'delete with stale revision', setup: async (b) => { await b.create('/k', 'a'); await b.update('/k', 'b', 1); }, op: (b) => b.delete('/k', 1), err: ConflictError },
        { name: 'get at a future revision', setup: async (b) => { await b.create('/k', 'a'); }, op: (b) => b.get('/k', { revision: 5 }), err: FutureRevisionError },
        { name: 'list at a future revision', setup: async (b) => { await b.create('/k', 'a'); }, op: (b) => b.list('/', { revision: 2 }), err: FutureRevisionError },
      ];
      for (const f of failures) {
        it(`rejects ${f.name} (${f.err.name}) without changing state`, withStore(async (b) => {
          await f.setup(b);
          const rev = await b.currentRevision();
          const before = await b.list('/');
          await rejectsWith(f.op(b), f.err);
          assert.equal(await b.currentRevision(), rev, 'revision unchanged');
          assert.deepEqual(await b.list('/'), before, 'data unchanged');
        }));
      }

      it('reports the actual revision in ConflictError', withStore(async (b) => {
        await b.create('/k', 'a');
        await b.update('/k', 'b', 1);
        const e = await rejectsWith(b.update('/k', 'c', 1), ConflictError);
        assert.equal(e.actualRevision, 2);
        assert.equal(e.code, 'Conflict');
      }));

      it('gives many concurrent writes distinct consecutive revisions', withStore(async (b) => {
        const n = 200;
        const revs = await Promise.all(Array.from({ length: n }, (_, i) => b.create(`/registry/c/${i}`, `${i}`)));
        assert.deepEqual([...revs].sort((x, y) => x - y), Array.from({ length: n }, (_, i) => i + 1));
        for (const [i, r] of revs.entries()) assert.equal((await b.get(`/registry/c/${i}`))?.modRevision, r);
        // Concurrent conditional updates on one key: exactly one wins.
        const results = await Promise.allSettled(Array.from({ length: 10 }, (_, i) => b.update('/registry/c/0', `u${i}`, revs[0] as number)));
        assert.equal(results.filter((r) => r.status === 'fulfilled').length, 1);
        for (const r of results) if (r.status === 'rejected') assert.ok(r.reason instanceof ConflictError);
      }));
    });

    describe('reads', () => {
      it('gets a key at old revisions', withStore(async (b) => {
        await b.create('/k', 'v1'); // 1
        await b.create('/other', 'o'); // 2
        await b.update('/k', 'v2', 1); // 3
        await b.delete('/k'); // 4
        const cases: Array<[number, string | null]> = [[1, 'v1'], [2, 'v1'], [3, 'v2'], [4, null], [0, null]];
        for (const [rev, want] of cases) assert.equal((await b.get('/k', { revision: rev }))?.value ?? null, want, `at ${rev}`);
        assert.equal(await b.get('/other', { revision: 1 }), null, 'before its creation');
        assert.deepEqual(await b.get('/k', { revision: 3 }), { key: '/k', value: 'v2', createRevision: 1, modRevision: 3 });
      }));

      it('lists by prefix in key order, isolating sibling prefixes', withStore(async (b) => {
        const all = ['/a/b', '/a/b/x', '/a/b/y/z', '/a/bc/x', '/a/b0', '/a/c/1', '/b/x', '/a/b/a'];
        for (const k of all) await b.create(k, k);
        const cases: Array<[string, string[]]> = [
          ['/a/b/', ['/a/b/a', '/a/b/x', '/a/b/y/z']],
          ['/a/b', ['/a/b', '/a/b/a', '/a/b/x', '/a/b/y/z', '/a/b0', '/a/bc/x']],
          ['/a/', ['/a/b', '/a/b/a', '/a/b/x', '/a/b/y/z', '/a/b0', '/a/bc/x', '/a/c/1']],
          ['/a/c/1', ['/a/c/1']],
          ['/z/', []],
          ['', [...all].sort()],
        ];
        for (const [prefix, want] of cases) {
          const l = await b.list(prefix);
          assert.deepEqual(keys(l.items), want, `prefix ${JSON.stringify(prefix)}`);
          assert.equal(l.revision, all.length);
          assert.equal(l.more, false);
          assert.equal(await b.count(prefix), want.length, `count ${JSON.stringify(prefix)}`);
          for (const item of l.items) assert.equal(item.value, item.key);
        }
      }));

      it('lists at an old revision', withStore(async (b) => {
        await b.create('/r/a', 'a1'); // 1
        await b.create('/r/b', 'b1'); // 2
        await b.update('/r/a', 'a2', 1); // 3
        await b.delete('/r/b'); // 4
        await b.create('/r/c', 'c1'); // 5
        await b.create('/r/b', 'b2'); // 6
        const cases: Array<[number, string[]]> = [
          [1, ['/r/a=a1']], [2, ['/r/a=a1', '/r/b=b1']], [3, ['/r/a=a2', '/r/b=b1']],
          [4, ['/r/a=a2']], [5, ['/r/a=a2', '/r/c=c1']], [6, ['/r/a=a2', '/r/b=b2', '/r/c=c1']],
        ];
        for (const [rev, want] of cases) {
          const l = await b.list('/r/', { revision: rev });
          assert.deepEqual(l.items.map((i) => `${i.key}=${i.value}`), want, `at ${rev}`);
          assert.equal(l.revision, rev);
        }
        const at3 = await b.list('/r/', { revision: 3 });
        assert.deepEqual(at3.items[0], { key: '/r/a', value: 'a2', createRevision: 1, modRevision: 3 });
      }));

      it('pages with limit and startAfter, reporting more and remaining', withStore(async (b) => {
        const all = Array.from({ length: 10 }, (_, i) => `/p/k${String(i).padStart(2, '0')}`);
        for (const k of all) await b.create(k, 'v');
        await b.create('/q/outside', 'v');
        const cases: Array<{ limit: number; after?: string; want: string[]; more: boolean; remaining: number }> = [
          { limit: 3, want: all.slice(0, 3), more: true, remaining: 7 },
          { limit: 3, after: all[2], want: all.slice(3, 6), more: true, remaining: 4 },
          { limit: 4, after: all[5], want: all.slice(6, 10), more: false, remaining: 0 },
          { limit: 5, after: all[5], want: all.slice(6, 10), more: false, remaining: 0 },
          { limit: 10, want: all, more: false, remaining: 0 },
          { limit: 0, after: '/p/k04x', want: all.slice(5), more: false, remaining: 0 },
          { limit: 2, after: '/p/k09', want: [], more: false, remaining: 0 },
        ];
        for (const c of cases) {
          const l = await b.list('/p/', { limit: c.limit, startAfter: c.after });
          const label = `limit ${c.limit} after ${c.after}`;
          assert.deepEqual(keys(l.items), c.want, label);
          assert.equal(l.more, c.more, label);
          if (c.more) assert.equal(l.remaining, c.remaining, label);
        }
        // Walking pages at a fixed revision yields a consistent snapshot even while writes go on.
        const rev = await b.currentRevision();
        const seen: string[] = [];
        let after: string | undefined;
        for (let i = 0; ; i++) {
          const l = await b.list('/p/', { limit: 3, startAfter: after, revision: rev });
          seen.push(...keys(l.items));
          await b.create(`/p/zz${i}`, 'late'); // would sort into a later page
          if (i < 3) await b.delete(all[9 - i] as string); // not yet listed
          if (!l.more) break;
          after = l.items[l.items.length - 1]?.key;
        }
        assert.deepEqual(seen, all);
      }));

      it('counts live keys under a prefix', withStore(async (b) => {
        for (let i = 0; i < 5; i++) await b.create(`/n/${i}`, 'v');
        await b.create('/nn/0', 'v');
        await b.delete('/n/1');
        await b.update('/n/2', 'w', 3);
        assert.equal(await b.count('/n/'), 4);
        assert.equal(await b.count('/n'), 5);
        assert.equal(await b.count('/x/'), 0);
      }));
    });

    describe('watch', () => {
      it('replays history after fromRevision, then continues live, in order, once each', withStore(async (b) => {
        await b.create('/w/a', 'a1'); // 1
        await b.create('/w/b', 'b1'); // 2
        await b.update('/w/a', 'a2', 1); // 3
        const w = record(b, '/w/', 1);
        await b.delete('/w/b', 2); // 4
        await b.create('/w/c', 'c1'); // 5
        await w.waitFor(4);
        await sleep(20);
        assert.deepEqual(summary(w.events), ['2:PUT:/w/b=b1', '3:PUT:/w/a=a2', '4:DELETE:/w/b=b1', '5:PUT:/w/c=c1']);
        const [, upd, del, crt] = w.events as [WatchEvent, WatchEvent, WatchEvent, WatchEvent];
        assert.deepEqual(upd.kv, { key: '/w/a', value: 'a2', createRevision: 1, modRevision: 3 });
        assert.deepEqual(upd.prevKv, { key: '/w/a', value: 'a1', createRevision: 1, modRevision: 1 });
        assert.deepEqual(del.prevKv, { key: '/w/b', value: 'b1', createRevision: 2, modRevision: 2 });
        assert.equal(del.kv.value, 'b1', 'DELETE kv carries the deleted value');
        assert.equal(crt.prevKv, undefined, 'create has no prevKv');
        assert.deepEqual(w.errors, []);
        w.stop();
      }));

      it('filters by prefix', withStore(async (b) => {
        const w = record(b, '/registry/pods/', 0);
        for (const k of ['/registry/pods/a', '/registry/podsx/a', '/registry/services/a', '/registry/pods/ns/b', '/registry/pod']) await b.create(k, 'v');
        await w.waitFor(2);
        await sleep(20);
        assert.deepEqual(w.events.map((e) => e.kv.key), ['/registry/pods/a', '/registry/pods/ns/b']);
        w.stop();
      }));

      it('from a revision at or above the current one delivers only later events', withStore(async (b) => {
        await b.create('/f/a', '1');
        const now = record(b, '/f/', 1);
        const future = record(b, '/f/', 3);
        await b.create('/f/b', '2'); // 2
        await b.create('/f/c', '3'); // 3
        await b.create('/f/d', '4'); // 4
        await now.waitFor(3);
        await future.waitFor(1);
        await sleep(20);
        assert.deepEqual(now.events.map((e) => e.revision), [2, 3, 4]);
        assert.deepEqual(future.events.map((e) => e.revision), [4]);
        now.stop();
        future.stop();
      }));

      it('stitches replay and live events with no gap or duplicate while writes race', withStore(async (b) => {
        const total = 150;
        const writer = (async () => {
          for (let i = 0; i < total; i++) {
            const k = `/race/${i % 7}`;
            const cur = await b.get(k);
            if (cur === null) await b.create(k, `${i}`);
            else if (i % 5 === 0) await b.delete(k, cur.modRevision);
            else await b.update(k, `${i}`, cur.modRevision);
            if (i % 3 === 0) await sleep(0);
          }
        })();
        const watchers: Array<{ from: number; r: Recorder }> = [];
        for (let j = 0; j < 12; j++) {
          await sleep(1);
          const cur = await b.currentRevision();
          const from = Math.max(0, cur - (j % 4) * 5);
          watchers.push({ from, r: record(b, '/race/', from) });
        }
        await writer;
        const final = await b.currentRevision();
        assert.equal(final, total);
        for (const { from, r } of watchers) {
          await r.waitFor(final - from);
          await sleep(10);
          const revs = r.events.map((e) => e.revision);
          assert.deepEqual(revs, Array.from({ length: final - from }, (_, i) => from + 1 + i), `watch from ${from}`);
          r.stop();
        }
      }));

      it('sees all concurrent writes in revision order', withStore(async (b) => {
        const w = record(b, '/cc/', 0);
        const revs = await Promise.all(Array.from({ length: 300 }, (_, i) => b.create(`/cc/${i}`, `${i}`)));
        await w.waitFor(300);
        assert.deepEqual(w.events.map((e) => e.revision), [...revs].sort((x, y) => x - y));
        for (const e of w.events) assert.equal(e.revision, e.kv.modRevision);
        w.stop();
      }));

      it('stops delivering after stop()', withStore(async (b) => {
        const w = record(b, '/s/', 0);
        await b.create('/s/1', 'v');
        await w.waitFor(1);
        w.stop();
        await b.create('/s/2', 'v');
        await b.update('/s/1', 'w', 1);
        await sleep(30);
        assert.equal(w.events.length, 1);
        // Stopping before the first (replayed) event was delivered suppresses it too.
        const w2 = record(b, '/s/', 0);
        w2.stop();
        await sleep(20);
        assert.equal(w2.events.length, 0);
        assert.deepEqual(w2.errors, []);
      }));
    });

    describe('compaction', () => {
      /** Builds: rev1 create a, rev2 create b, rev3 update a, rev4 delete b, rev5 create c, rev6 update a. */
      const seed = async (b: Backend): Promise<void> => {
        await b.create('/c/a', 'a1');
        await b.create('/c/b', 'b1');
        await b.update('/c/a', 'a2', 1);
        await b.delete('/c/b');
        await b.create('/c/c', 'c1');
        await b.update('/c/a', 'a3', 3);
      };

      it('rejects reads and watches at or below the compacted revision', withStore(async (b) => {
        await seed(b);
        await b.compact(4);
        assert.equal(await b.compactRevision(), 4);
        assert.equal(await b.currentRevision(), 6);
        const e = await rejectsWith(b.get('/c/a', { revision: 3 }), CompactedError);
        assert.equal(e.code, 'Compacted');
        await rejectsWith(b.get('/c/a', { revision: 4 }), CompactedError);
        await rejectsWith(b.list('/c/', { revision: 2 }), CompactedError);
        const w = record(b, '/c/', 3);
        assert.ok((await w.waitForError()) instanceof CompactedError);
        await sleep(10);
        assert.deepEqual(w.events, [], 'no events after a compaction error');
        assert.equal(w.errors.length, 1);
      }));

      it('keeps every revision above the compacted one readable and watchable', withStore(async (b) => {
        await seed(b);
        await b.compact(4);
        const at5 = await b.list('/c/', { revision: 5 });
        assert.deepEqual(at5.items.map((i) => `${i.key}=${i.value}@${i.modRevision}`), ['/c/a=a2@3', '/c/c=c1@5']);
        assert.equal((await b.get('/c/a', { revision: 5 }))?.value, 'a2');
        assert.equal(await b.get('/c/b', { revision: 5 }), null);
        const w = record(b, '/c/', 4);
        await w.waitFor(2);
        await b.delete('/c/a'); // 7
        await w.waitFor(3);
        assert.deepEqual(summary(w.events), ['5:PUT:/c/c=c1', '6:PUT:/c/a=a3', '7:DELETE:/c/a=a3']);
        assert.deepEqual(w.events[1]?.prevKv, { key: '/c/a', value: 'a2', createRevision: 1, modRevision: 3 });
        w.stop();
        // Compacting everything keeps the latest state and the revision counter.
        await b.compact(7);
        assert.equal(await b.currentRevision(), 7);
        assert.deepEqual((await b.list('/c/')).items.map((i) => i.key), ['/c/c']);
        assert.equal(await b.create('/c/d', 'd'), 8);
        assert.equal(await b.count('/c/'), 2);
      }));

      it('rejects compaction beyond the current revision and ignores repeats', withStore(async (b) => {
        await seed(b);
        await rejectsWith(b.compact(7), FutureRevisionError);
        await b.compact(3);
        await b.compact(2);
        assert.equal(await b.compactRevision(), 3);
      }));
    });

    it('rejects use after close', async () => {
      const b = await open();
      await b.create('/x', 'v');
      await b.close();
      await assert.rejects(b.get('/x'));
      await assert.rejects(b.create('/y', 'v'));
      await b.close(); // idempotent
    });
  });
}
