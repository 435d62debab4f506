import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Balancer } from './balancer.js';

function fakeClock(): { now(): number; advance(ms: number): void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => void (t += ms) };
}

type Step =
  | { pick: string; want: string | undefined; reset?: boolean; exclude?: string[] }
  | { advance: number }
  | { fail: string }
  | { set: string[]; affinity?: number };

const cases: Array<{ name: string; endpoints: string[]; affinity?: number; steps: Step[] }> = [
  {
    name: 'round robin cycles in order',
    endpoints: ['a', 'b', 'c'],
    steps: [
      { pick: 'x', want: 'a' },
      { pick: 'x', want: 'b' },
      { pick: 'y', want: 'c' },
      { pick: 'y', want: 'a' },
    ],
  },
  { name: 'no endpoints gives undefined', endpoints: [], steps: [{ pick: 'x', want: undefined }] },
  {
    name: 'ClientIP affinity pins each client, refreshed on use, expires when idle',
    endpoints: ['a', 'b', 'c'],
    affinity: 10,
    steps: [
      { pick: 'x', want: 'a' },
      { pick: 'y', want: 'b' },
      { pick: 'x', want: 'a' },
      { advance: 9_000 },
      { pick: 'x', want: 'a' },
      { advance: 9_000 },
      { pick: 'x', want: 'a' }, // refreshed 9 s ago
      { pick: 'y', want: 'c' }, // y idle 18 s: expired, next in rotation
      { advance: 10_000 },
      { pick: 'x', want: 'a' }, // expired too: rotation continues at a
    ],
  },
  {
    name: 'recently failed endpoint is skipped until the hold passes',
    endpoints: ['a', 'b', 'c'],
    steps: [
      { fail: 'b' },
      { pick: 'x', want: 'a' },
      { pick: 'x', want: 'c' },
      { pick: 'x', want: 'a' },
      { advance: 10_000 },
      { pick: 'x', want: 'b' },
    ],
  },
  {
    name: 'all failed: still hands one out',
    endpoints: ['a', 'b'],
    steps: [{ fail: 'a' }, { fail: 'b' }, { pick: 'x', want: 'a' }, { pick: 'x', want: 'b' }],
  },
  {
    name: 'exclude avoids already-tried endpoints, then falls back',
    endpoints: ['a', 'b'],
    steps: [
      { pick: 'x', want: 'b', exclude: ['a'] },
      { pick: 'x', want: 'a', exclude: ['a', 'b'] },
    ],
  },
  {
    name: 'affinity to a failed endpoint is abandoned; reset forces a new choice',
    endpoints: ['a', 'b', 'c'],
    affinity: 100,
    steps: [
      { pick: 'x', want: 'a' },
      { fail: 'a' },
      { pick: 'x', want: 'b' },
      { pick: 'x', want: 'b' },
      { pick: 'x', want: 'c', reset: true },
      { pick: 'x', want: 'c' },
    ],
  },
  {
    name: 'update keeps affinity of surviving endpoints and drops others',
    endpoints: ['a', 'b'],
    affinity: 100,
    steps: [
      { pick: 'x', want: 'a' },
      { pick: 'y', want: 'b' },
      { set: ['a', 'c'], affinity: 100 },
      { pick: 'x', want: 'a' },
      { pick: 'y', want: 'a' }, // its b is gone; the set changed so rotation restarts at the first
    ],
  },
  {
    name: 'unchanged endpoint set keeps the rotation position',
    endpoints: ['a', 'b', 'c'],
    steps: [{ pick: 'x', want: 'a' }, { set: ['a', 'b', 'c'] }, { pick: 'x', want: 'b' }, { set: ['c', 'b'] }, { pick: 'x', want: 'c' }],
  },
  {
    name: 'turning affinity off forgets sticky clients',
    endpoints: ['a', 'b'],
    affinity: 100,
    steps: [{ pick: 'x', want: 'a' }, { set: ['a', 'b'] }, { pick: 'x', want: 'b' }, { pick: 'x', want: 'a' }],
  },
];

for (const c of cases) {
  test(`balancer: ${c.name}`, () => {
    const clock = fakeClock();
    const b = new Balancer({ clock });
    b.setEndpoints(c.endpoints, c.affinity !== undefined ? { timeoutSeconds: c.affinity } : undefined);
    c.steps.forEach((s, i) => {
      if ('advance' in s) clock.advance(s.advance);
      else if ('fail' in s) b.markFailed(s.fail);
      else if ('set' in s) b.setEndpoints(s.set, s.affinity !== undefined ? { timeoutSeconds: s.affinity } : undefined);
      else {
        const got = b.pick(s.pick, { ...(s.reset ? { resetAffinity: true } : {}), ...(s.exclude ? { exclude: new Set(s.exclude) } : {}) });
        assert.equal(got, s.want, `step ${i}`);
      }
    });
  });
}
