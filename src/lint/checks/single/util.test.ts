import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { intOrPercent, isMutableImage, parseImage, scaled, selectorMatches } from './util.js';

describe('single-check helpers', () => {
  it('parseImage separates tag, digest and registry port', () => {
    const table: [string, ReturnType<typeof parseImage>][] = [
      ['nginx', {}],
      ['nginx:1.27', { tag: '1.27' }],
      ['registry:5000/team/app', {}],
      ['registry:5000/team/app:v2', { tag: 'v2' }],
      ['app@sha256:abc', { digest: 'sha256:abc' }],
      ['app:1.0@sha256:abc', { tag: '1.0', digest: 'sha256:abc' }],
    ];
    for (const [image, want] of table) assert.deepEqual(parseImage(image), want, image);
  });

  it('isMutableImage: no tag or latest, unless pinned by digest', () => {
    assert.equal(isMutableImage('nginx'), true);
    assert.equal(isMutableImage('nginx:latest'), true);
    assert.equal(isMutableImage('nginx:latest@sha256:abc'), false);
    assert.equal(isMutableImage('nginx:1.27'), false);
  });

  it('intOrPercent and scaled follow intstr', () => {
    assert.deepEqual(intOrPercent(3), { kind: 'int', value: 3 });
    assert.deepEqual(intOrPercent('25%'), { kind: 'percent', value: 25 });
    assert.equal(intOrPercent('25'), 'invalid');
    assert.equal(intOrPercent(1.5), 'invalid');
    assert.equal(intOrPercent(undefined), undefined);
    assert.equal(scaled({ kind: 'percent', value: 25 }, 3, false), 0);
    assert.equal(scaled({ kind: 'percent', value: 25 }, 3, true), 1);
    assert.equal(scaled({ kind: 'int', value: 2 }, 3, false), 2);
  });

  it('selectorMatches handles expressions, missing and invalid selectors', () => {
    const labels = { app: 'web', tier: 'front' };
    assert.equal(selectorMatches({ matchLabels: { app: 'web' } }, labels), true);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'NotIn', values: ['front'] }] }, labels), false);
    assert.equal(selectorMatches(undefined, labels), false);
    assert.equal(selectorMatches({ matchExpressions: [{ key: 'tier', operator: 'Near', values: [] }] }, labels), 'invalid');
    assert.equal(selectorMatches('app=web', labels), 'invalid');
  });
});
