import { it } from 'node:test';
import assert from 'node:assert/strict';
import { startControllers, type Controller } from './index.js';
import type { Registry } from '../apiserver/registry/index.js';
import type { WatchCache } from '../apiserver/watchcache.js';

it('retries a controller whose start fails until it starts, and stops it', async () => {
  let attempts = 0;
  let stopped = 0;
  const flaky = (): Controller => ({
    start: async () => {
      attempts++;
      if (attempts < 3) throw new Error('store unavailable');
    },
    stop: async () => {
      stopped++;
    },
  });
  const errors: string[] = [];
  const orig = console.error;
  console.error = (...a: unknown[]) => void errors.push(a.join(' '));
  try {
    const c = startControllers({ registry: {} as Registry, cache: {} as WatchCache }, { retryMs: 5, factories: [flaky] });
    const end = Date.now() + 2000;
    while (attempts < 3 && Date.now() < end) await new Promise((r) => setTimeout(r, 5));
    assert.equal(attempts, 3);
    await new Promise((r) => setTimeout(r, 10));
    const before = stopped;
    await c.stop();
    assert.equal(stopped - before, 1, 'the started controller is stopped');
    assert.equal(errors.length, 2);
    assert.match(errors[0], /retrying in 5 ms/);
  } finally {
    console.error = orig;
  }
});
