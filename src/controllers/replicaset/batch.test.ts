import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { slowStartBatch } from './batch.js';

describe('slowStartBatch', () => {
  const cases: { name: string; count: number; failAt?: number; batches: number[]; successes: number; error: boolean }[] = [
    { name: 'zero does nothing', count: 0, batches: [], successes: 0, error: false },
    { name: 'one', count: 1, batches: [1], successes: 1, error: false },
    { name: 'doubling, last batch trimmed', count: 10, batches: [1, 2, 4, 3], successes: 10, error: false },
    { name: 'exact powers', count: 15, batches: [1, 2, 4, 8], successes: 15, error: false },
    { name: 'first call fails: stop at once', count: 100, failAt: 1, batches: [1], successes: 0, error: true },
    { name: 'failure in third batch stops after it', count: 100, failAt: 5, batches: [1, 2, 4], successes: 6, error: true },
  ];
  for (const tc of cases) {
    it(tc.name, async () => {
      const batches: number[] = [];
      let inFlight = 0;
      let calls = 0;
      const res = await slowStartBatch(tc.count, 1, async () => {
        const n = ++calls;
        if (inFlight === 0) batches.push(0);
        inFlight++;
        batches[batches.length - 1]++;
        await new Promise((r) => setImmediate(r));
        inFlight--;
        if (n === tc.failAt) throw new Error('boom');
      });
      assert.deepEqual(batches, tc.batches);
      assert.equal(res.successes, tc.successes);
      assert.equal(res.error?.message, tc.error ? 'boom' : undefined);
    });
  }
});
