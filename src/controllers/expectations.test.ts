import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ControllerExpectations, EXPECTATIONS_TIMEOUT_MS } from './expectations.js';

type Step =
  | { op: 'expectCreations'; n: number }
  | { op: 'expectDeletions'; what: number | string[] }
  | { op: 'raise'; add: number; del: number }
  | { op: 'created' }
  | { op: 'deleted'; obj?: string }
  | { op: 'advance'; ms: number }
  | { op: 'forget' };

const K = 'default/web';

const cases: { name: string; steps: Step[]; satisfied: boolean }[] = [
  { name: 'nothing expected', steps: [], satisfied: true },
  { name: 'creations pending', steps: [{ op: 'expectCreations', n: 3 }, { op: 'created' }, { op: 'created' }], satisfied: false },
  { name: 'all creations observed', steps: [{ op: 'expectCreations', n: 2 }, { op: 'created' }, { op: 'created' }], satisfied: true },
  { name: 'extra observations are harmless', steps: [{ op: 'expectCreations', n: 1 }, { op: 'created' }, { op: 'created' }], satisfied: true },
  { name: 'zero expected', steps: [{ op: 'expectCreations', n: 0 }], satisfied: true },
  { name: 'counted deletions pending', steps: [{ op: 'expectDeletions', what: 2 }, { op: 'deleted' }], satisfied: false },
  { name: 'counted deletions observed', steps: [{ op: 'expectDeletions', what: 2 }, { op: 'deleted' }, { op: 'deleted' }], satisfied: true },
  {
    name: 'tracked deletion observed twice counts once',
    steps: [{ op: 'expectDeletions', what: ['ns/a', 'ns/b'] }, { op: 'deleted', obj: 'ns/a' }, { op: 'deleted', obj: 'ns/a' }],
    satisfied: false,
  },
  {
    name: 'tracked deletion of an unexpected object does not count',
    steps: [{ op: 'expectDeletions', what: ['ns/a'] }, { op: 'deleted', obj: 'ns/z' }, { op: 'deleted' }],
    satisfied: false,
  },
  { name: 'tracked deletions all observed', steps: [{ op: 'expectDeletions', what: ['ns/a', 'ns/b'] }, { op: 'deleted', obj: 'ns/b' }, { op: 'deleted', obj: 'ns/a' }], satisfied: true },
  { name: 'not yet expired', steps: [{ op: 'expectCreations', n: 1 }, { op: 'advance', ms: EXPECTATIONS_TIMEOUT_MS }], satisfied: false },
  { name: 'expired after 5 minutes', steps: [{ op: 'expectCreations', n: 1 }, { op: 'advance', ms: EXPECTATIONS_TIMEOUT_MS + 1 }], satisfied: true },
  { name: 'new expectations replace old ones', steps: [{ op: 'expectCreations', n: 5 }, { op: 'expectDeletions', what: 1 }, { op: 'deleted' }], satisfied: true },
  { name: 'raise adds to pending', steps: [{ op: 'expectCreations', n: 1 }, { op: 'raise', add: 1, del: 0 }, { op: 'created' }], satisfied: false },
  { name: 'forgotten key is satisfied', steps: [{ op: 'expectCreations', n: 4 }, { op: 'forget' }], satisfied: true },
];

describe('ControllerExpectations', () => {
  for (const tc of cases) {
    it(tc.name, () => {
      let now = 1_000_000;
      const e = new ControllerExpectations({ now: () => now });
      for (const s of tc.steps) {
        switch (s.op) {
          case 'expectCreations':
            e.expectCreations(K, s.n);
            break;
          case 'expectDeletions':
            e.expectDeletions(K, s.what);
            break;
          case 'raise':
            e.raiseExpectations(K, s.add, s.del);
            break;
          case 'created':
            e.creationObserved(K);
            break;
          case 'deleted':
            e.deletionObserved(K, s.obj);
            break;
          case 'advance':
            now += s.ms;
            break;
          case 'forget':
            e.deleteExpectations(K);
            break;
        }
      }
      assert.equal(e.satisfied(K), tc.satisfied);
      assert.equal(e.satisfied('other/key'), true);
    });
  }

  it('reports the record', () => {
    const e = new ControllerExpectations({ now: () => 42 });
    e.expectCreations(K, 3);
    e.creationObserved(K);
    assert.deepEqual(e.get(K), { add: 2, del: 0, timestamp: 42 });
    assert.equal(e.get('x/y'), undefined);
  });
});
