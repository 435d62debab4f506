import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { FakeClock } from '../client/fakeclock.js';
import { BoundedRunner } from './runner.js';

const tick = (): Promise<void> => new Promise((r) => setImmediate(r));

function setup(opts: { burst?: number; fail?: boolean } = {}): { clock: FakeClock; runs: number[]; runner: BoundedRunner } {
  const clock = new FakeClock(1_000_000);
  const runs: number[] = [];
  const runner = new BoundedRunner(
    async () => {
      runs.push(clock.now());
      if (opts.fail) throw new Error('boom');
    },
    { minIntervalMs: 1000, maxIntervalMs: 60_000, burst: opts.burst ?? 2, clock },
  );
  runner.start();
  return { clock, runs, runner };
}

describe('BoundedRunner', () => {
  it('runs a lone request at once', async () => {
    const { clock, runs, runner } = setup();
    runner.run();
    await tick();
    assert.deepEqual(runs, [clock.now()]);
    await runner.stop();
  });

  it('allows a burst, then at most one run per min interval', async () => {
    const { clock, runs, runner } = setup({ burst: 2 });
    const t0 = clock.now();
    for (let i = 0; i < 5; i++) {
      runner.run();
      await tick();
    }
    assert.deepEqual(runs, [t0, t0], 'the burst of 2 runs back to back; the rest wait');
    clock.advance(999);
    await tick();
    assert.equal(runs.length, 2);
    clock.advance(1);
    await tick();
    assert.deepEqual(runs, [t0, t0, t0 + 1000], 'the three waiting requests coalesce into one run');
    clock.advance(5000);
    await tick();
    assert.equal(runs.length, 3, 'no run without a request before the max interval');
    await runner.stop();
  });

  it('a request during a run causes exactly one more run', async () => {
    const clock = new FakeClock(0);
    let release: () => void = () => undefined;
    let n = 0;
    const runner = new BoundedRunner(
      () => {
        n++;
        return n === 1 ? new Promise<void>((r) => (release = r)) : Promise.resolve();
      },
      { minIntervalMs: 10, maxIntervalMs: 60_000, burst: 5, clock },
    );
    runner.run();
    runner.run();
    runner.run();
    assert.equal(n, 1, 'never concurrent');
    release();
    await tick();
    await tick();
    assert.equal(n, 2);
    await runner.stop();
  });

  it('syncs every max interval without requests, and retries after a failure when asked', async () => {
    const { clock, runs, runner } = setup({ fail: true });
    clock.advance(60_000);
    await tick();
    assert.equal(runs.length, 1, 'periodic resync');
    runner.retryAfter(500);
    clock.advance(500);
    await tick();
    assert.equal(runs.length, 2, 'retry fired');
    await runner.stop();
    clock.advance(120_000);
    await tick();
    assert.equal(runs.length, 2, 'nothing after stop');
  });
});
