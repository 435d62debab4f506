import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Backoff, checkRestart, crashLoopMessage, goDuration, containerKey, backOffEventMessage } from './backoff.js';

const pod = { name: 'web', namespace: 'default', uid: 'u-1' };

describe('goDuration', () => {
  const cases: [number, string][] = [
    [0, '0s'], [10_000, '10s'], [20_000, '20s'], [80_000, '1m20s'], [160_000, '2m40s'], [300_000, '5m0s'],
    [1_500, '1.5s'], [250, '250ms'], [3_600_000, '1h0m0s'], [3_723_000, '1h2m3s'],
  ];
  for (const [ms, want] of cases) it(`${ms}ms → ${want}`, () => assert.equal(goDuration(ms), want));
});

describe('Backoff', () => {
  it('doubles from 10s to a 300s cap', () => {
    let now = 0;
    const b = new Backoff({ clock: () => now });
    const seen: number[] = [];
    for (let i = 0; i < 8; i++) {
      seen.push(b.next('k', now));
      now += 1000;
    }
    assert.deepEqual(seen, [10_000, 20_000, 40_000, 80_000, 160_000, 300_000, 300_000, 300_000]);
  });

  it('is in back-off until the delay has passed since the event', () => {
    let now = 1_000_000;
    const b = new Backoff({ clock: () => now });
    assert.equal(b.isInBackOffSince('k', now), false, 'unknown key');
    const exit = now;
    b.next('k', exit);
    const table: [number, boolean][] = [[0, true], [9_999, true], [10_000, false], [15_000, false]];
    for (const [dt, want] of table) {
      now = exit + dt;
      assert.equal(b.isInBackOffSince('k', exit), want, `+${dt}`);
    }
    now = exit + 4_000;
    assert.equal(b.remaining('k', exit), 6_000);
  });

  it('resets after an event more than 2×max past the last update (ran 10 min)', () => {
    let now = 0;
    const b = new Backoff({ clock: () => now });
    b.next('k', 0);
    b.next('k', 0);
    b.next('k', 0);
    assert.equal(b.get('k'), 40_000);
    // Exactly 600 s later is not expired yet (strictly greater than).
    now = 600_000;
    assert.equal(b.next('k', 600_000), 80_000);
    // The container then runs for more than 10 min.
    now = 600_000 + 600_001;
    assert.equal(b.isInBackOffSince('k', now), false);
    assert.equal(b.next('k', now), 10_000);
  });

  it('gc drops stale entries only', () => {
    let now = 0;
    const b = new Backoff({ clock: () => now });
    b.next('old', 0);
    now = 500_000;
    b.next('new', now);
    now = 600_001;
    b.gc();
    assert.equal(b.get('old'), 0);
    assert.equal(b.get('new'), 10_000);
    assert.equal(b.size, 1);
  });
});

describe('checkRestart / messages', () => {
  it('restarts first, then reports CrashLoopBackOff with the kubelet message', () => {
    let now = 0;
    const b = new Backoff({ clock: () => now });
    const c = { name: 'app' };
    const first = checkRestart(b, { pod, container: c, finishedAtMs: 0 });
    assert.deepEqual(first, { inBackOff: false, delayMs: 10_000 });
    now = 1_000; // the container crashed again at 1s
    const second = checkRestart(b, { pod, container: c, finishedAtMs: 1_000 });
    assert.equal(second.inBackOff, true);
    assert.equal(second.message, 'back-off 10s restarting failed container=app pod=web_default(u-1)');
    now = 11_000;
    const third = checkRestart(b, { pod, container: c, finishedAtMs: 1_000 });
    assert.deepEqual(third, { inBackOff: false, delayMs: 20_000 });
    now = 12_000;
    assert.match(checkRestart(b, { pod, container: c, finishedAtMs: 12_000 }).message ?? '', /^back-off 20s /);
  });

  it('keys per pod uid and container', () => {
    assert.equal(containerKey(pod, { name: 'app', hash: 'h' }), 'web_default_u-1_app_h');
    assert.notEqual(containerKey(pod, { name: 'a' }), containerKey({ ...pod, uid: 'u-2' }, { name: 'a' }));
  });

  it('formats messages', () => {
    assert.equal(crashLoopMessage(300_000, { pod, container: 'x' }), 'back-off 5m0s restarting failed container=x pod=web_default(u-1)');
    assert.equal(backOffEventMessage({ pod, container: 'x' }), 'Back-off restarting failed container x in pod web_default(u-1)');
  });
});
