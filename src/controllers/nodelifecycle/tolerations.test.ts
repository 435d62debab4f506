import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { evictionTime, matchingTolerations, minTolerationMs, tolerates, withDefaultTolerations, type Taint, type Toleration } from './tolerations.js';

const UNREACH: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute' };
const NOTREADY: Taint = { key: 'node.kubernetes.io/not-ready', effect: 'NoExecute' };
const CUSTOM: Taint = { key: 'dedicated', value: 'gpu', effect: 'NoExecute' };
const NOSCHED: Taint = { key: 'node.kubernetes.io/unreachable', effect: 'NoSchedule' };

describe('tolerates', () => {
  const cases: [string, Toleration, Taint, boolean][] = [
    ['Exists on the key', { key: UNREACH.key, operator: 'Exists' }, UNREACH, true],
    ['empty key + Exists tolerates everything', { operator: 'Exists' }, CUSTOM, true],
    ['effect must match when set', { key: UNREACH.key, operator: 'Exists', effect: 'NoSchedule' }, UNREACH, false],
    ['Equal (default) compares values', { key: 'dedicated', value: 'gpu' }, CUSTOM, true],
    ['Equal with another value', { key: 'dedicated', value: 'cpu', operator: 'Equal' }, CUSTOM, false],
    ['other key', { key: 'x', operator: 'Exists' }, CUSTOM, false],
    ['unknown operator', { key: 'dedicated', operator: 'Gt', value: 'gpu' }, CUSTOM, false],
  ];
  for (const [name, tol, taint, want] of cases) it(name, () => assert.equal(tolerates(tol, taint), want));
});

describe('withDefaultTolerations', () => {
  const cases: [string, Toleration[], number][] = [
    ['none → both defaults added', [], 2],
    ['an unreachable toleration keeps only not-ready added', [{ key: UNREACH.key, operator: 'Exists', effect: 'NoExecute' }], 2],
    ['tolerate-everything adds nothing', [{ operator: 'Exists' }], 1],
    ['NoSchedule toleration does not count', [{ key: UNREACH.key, operator: 'Exists', effect: 'NoSchedule' }], 3],
  ];
  for (const [name, tols, len] of cases) {
    it(name, () => {
      const out = withDefaultTolerations(tols, 300);
      assert.equal(out.length, len);
      for (const t of out.slice(tols.length)) assert.equal(t.tolerationSeconds, 300);
    });
  }
});

describe('minTolerationMs / matchingTolerations', () => {
  it('table', () => {
    assert.equal(minTolerationMs([]), 0);
    assert.equal(minTolerationMs([{ tolerationSeconds: 10 }, { tolerationSeconds: 5 }]), 5000);
    assert.equal(minTolerationMs([{ tolerationSeconds: 10 }, {}]), 10000);
    assert.equal(minTolerationMs([{}]), -1);
    assert.equal(minTolerationMs([{ tolerationSeconds: -3 }, { tolerationSeconds: 5 }]), 0);
    assert.equal(matchingTolerations([CUSTOM], [{ key: 'x', operator: 'Exists' }]), undefined);
    assert.deepEqual(matchingTolerations([UNREACH, CUSTOM], [{ operator: 'Exists', tolerationSeconds: 1 }]), [{ operator: 'Exists', tolerationSeconds: 1 }, { operator: 'Exists', tolerationSeconds: 1 }]);
  });
});

describe('evictionTime (fake time: since = 1000)', () => {
  const since = 1000;
  const cases: [string, Toleration[], Taint[], number | null][] = [
    ['no taints → never', [], [], null],
    ['NoSchedule only → never', [], [NOSCHED], null],
    ['unreachable, no tolerations → default 300 s', [], [UNREACH], since + 300_000],
    ['not-ready, no tolerations → default 300 s', [], [NOTREADY], since + 300_000],
    ['untolerated custom taint → at once', [], [CUSTOM], since],
    ['custom taint tolerated forever + unreachable default', [{ key: 'dedicated', operator: 'Exists' }], [CUSTOM, UNREACH], since + 300_000],
    ['own toleration for unreachable wins over the default', [{ key: UNREACH.key, operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 30 }], [UNREACH], since + 30_000],
    ['tolerating unreachable forever → never', [{ key: UNREACH.key, operator: 'Exists', effect: 'NoExecute' }], [UNREACH], null],
    ['tolerationSeconds 0 → at once', [{ key: UNREACH.key, operator: 'Exists', tolerationSeconds: 0, effect: 'NoExecute' }], [UNREACH], since],
    ['minimum over taints', [{ key: 'dedicated', operator: 'Exists', tolerationSeconds: 10 }], [CUSTOM, UNREACH], since + 10_000],
  ];
  for (const [name, tols, taints, want] of cases) {
    it(name, () => assert.equal(evictionTime(tols, taints, { sinceMs: since, defaultTolerationSeconds: 300 }), want));
  }
});
