import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CompactedError, UnavailableError } from './errors.js';
import type { WatchEvent } from './types.js';
import { WatchHub } from './watchhub.js';

const ev = (revision: number, key = '/k'): WatchEvent => ({
  type: 'PUT', revision, kv: { key, value: String(revision), createRevision: 1, modRevision: revision },
});
const tick = (): Promise<void> => new Promise((resolve) => setTimeout(resolve, 5));

describe('WatchHub', () => {
  it('delivers replay then live events, dropping anything at or below the watermark', async () => {
    const hub = new WatchHub();
    const got: number[] = [];
    hub.add('/', { fromRevision: 1, onEvent: (e) => got.push(e.revision) }, () => [ev(2), ev(3)]);
    hub.publish([ev(3), ev(4), ev(1)]);
    hub.publish([ev(5, '/other'), ev(6, 'x/not-under-prefix')]);
    assert.deepEqual(got, [], 'delivery is asynchronous');
    await tick();
    assert.deepEqual(got, [2, 3, 4, 5]);
  });

  it('reports a replay failure once and delivers nothing', async () => {
    const hub = new WatchHub();
    const errors: Error[] = [];
    const got: WatchEvent[] = [];
    const stop = hub.add('/', { fromRevision: 0, onEvent: (e) => got.push(e), onError: (e) => errors.push(e) }, () => {
      throw new CompactedError(0, 5);
    });
    hub.publish([ev(6)]);
    await tick();
    assert.equal(errors.length, 1);
    assert.ok(errors[0] instanceof CompactedError);
    assert.deepEqual(got, []);
    assert.equal(hub.size, 0);
    stop();
  });

  it('ends a watch whose consumer throws, reporting the error', async () => {
    const hub = new WatchHub();
    const got: number[] = [];
    const errors: Error[] = [];
    hub.add('/', {
      fromRevision: 0,
      onEvent: (e) => { got.push(e.revision); if (e.revision === 2) throw new Error('boom'); },
      onError: (e) => errors.push(e),
    }, () => [ev(1), ev(2), ev(3)]);
    await tick();
    hub.publish([ev(4)]);
    await tick();
    assert.deepEqual(got, [1, 2]);
    assert.deepEqual(errors.map((e) => e.message), ['boom']);
    assert.equal(hub.size, 0);
  });

  it('ends every watch on closeAll', async () => {
    const hub = new WatchHub();
    const errors: Error[] = [];
    for (let i = 0; i < 3; i++) hub.add('/', { fromRevision: 0, onEvent: () => {}, onError: (e) => errors.push(e) }, () => []);
    hub.closeAll(new UnavailableError('store closed'));
    hub.publish([ev(1)]);
    await tick();
    assert.equal(errors.length, 3);
    assert.equal(hub.size, 0);
  });
});
