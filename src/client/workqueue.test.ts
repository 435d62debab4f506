import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from './fakeclock.js';
import { WorkQueue, runWorkers } from './workqueue.js';


describe('WorkQueue', () => {
  it('deduplicates keys that are queued but not yet processed', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    q.add('a');
    q.add('b');
    assert.equal(q.len(), 2);
    assert.equal(await q.get(), 'a');
    assert.equal(await q.get(), 'b');
  });

  it('holds a key re-added during processing until done', async () => {
    const q = new WorkQueue(new FakeClock());
    q.add('a');
    const k = await q.get();
    q.add('a');
    assert.equal(q.len(), 0, 'not handed out twice concurrently');
    q.done(k!);
    assert.equal(q.len(), 1);
  });

  it('backs off exponentially on fake time and forgets on success', () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { baseDelayMs: 10 });
    const delays: number[] = [];
    for (let i = 0; i < 4; i++) {
      q.addRateLimited('k');
      let waited = 0;
      while (q.len() === 0) {
        clock.advance(1);
        waited++;
      }
      delays.push(waited);
      q.get();
      q.done('k');
    }
    assert.deepEqual(delays, [10, 20, 40, 80]);
    q.forget('k');
    assert.equal(q.numRequeues('k'), 0);
  });

  it('runWorkers retries failing syncs through the queue', async () => {
    const clock = new FakeClock();
    const q = new WorkQueue(clock, { baseDelayMs: 1 });
    let calls = 0;
    const done = runWorkers(q, async () => {
      calls++;
      if (calls < 3) throw new Error('transient');
    });
    q.add('x');
    for (let i = 0; i < 20 && calls < 3; i++) {
      await new Promise((r) => setImmediate(r));
      clock.advance(10);
    }
    assert.equal(calls, 3);
    q.shutDown();
    await done;
  });
});
