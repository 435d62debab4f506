import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { SliceTracker, TriggerTimeTracker, formatTime } from './tracker.js';
import { PodLabelIndex, ServiceSelectorIndex } from './indexes.js';

const slice = (uid: string, rv: number): KObject => ({ metadata: { name: uid, uid, resourceVersion: String(rv) } });

describe('SliceTracker', () => {
  it('judges informer state against our writes', () => {
    const t = new SliceTracker();
    assert.equal(t.stale('ns/a', [slice('s1', 1)]), false, 'untracked service is never stale');
    t.update('ns/a', slice('s1', 5));
    const cases: [string, KObject[], boolean][] = [
      ['informer has our version', [slice('s1', 5)], false],
      ['informer has a newer (foreign) version', [slice('s1', 7)], false],
      ['informer has an older version', [slice('s1', 4)], true],
      ['informer misses a slice we created', [], true],
    ];
    for (const [name, slices, want] of cases) assert.equal(t.stale('ns/a', slices), want, name);
    assert.equal(t.shouldSync('ns/a', slice('s1', 5)), false, 'echo of our write');
    assert.equal(t.shouldSync('ns/a', slice('s1', 6)), true, 'foreign write');
    t.expectDeletion('ns/a', slice('s1', 5));
    assert.equal(t.stale('ns/a', [slice('s1', 5)]), true, 'deleted slice still listed');
    assert.equal(t.stale('ns/a', []), false);
    assert.equal(t.handleDeletion('ns/a', slice('s1', 5)), true, 'our own deletion');
    t.update('ns/a', slice('s2', 9));
    assert.equal(t.handleDeletion('ns/a', slice('s2', 9)), false, 'foreign deletion needs a sync');
    assert.equal(t.stale('ns/a', []), false);
  });
});

describe('TriggerTimeTracker', () => {
  const svc: KObject = { metadata: { name: 's', creationTimestamp: '2024-01-01T00:00:00Z' } };
  const pod = (name: string, t: string): KObject => ({ metadata: { name }, status: { conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] } });
  it('first sync: Service creation; later: earliest changed pod transition; nothing new: none', () => {
    const tr = new TriggerTimeTracker();
    assert.equal(tr.compute('k', svc, [pod('a', '2024-01-01T00:00:05Z')]), '2024-01-01T00:00:00Z');
    assert.equal(tr.compute('k', svc, [pod('a', '2024-01-01T00:00:05Z')]), undefined);
    assert.equal(tr.compute('k', svc, [pod('a', '2024-01-01T00:00:09Z'), pod('b', '2024-01-01T00:00:07Z')]), '2024-01-01T00:00:07Z');
    assert.equal(formatTime(Date.parse('2024-01-01T00:00:00.120Z')), '2024-01-01T00:00:00.12Z');
  });
});

describe('label indexes', () => {
  it('PodLabelIndex returns the smallest candidate bucket and follows label changes', () => {
    const idx = new PodLabelIndex();
    for (let i = 0; i < 10; i++) idx.set(`ns/p${i}`, 'ns', { tier: 'web', app: i < 2 ? 'a' : 'b' });
    assert.deepEqual([...idx.candidates('ns', { tier: 'web', app: 'a' })!].sort(), ['ns/p0', 'ns/p1']);
    assert.equal(idx.candidates('other', { app: 'a' })!.size, 0);
    assert.equal(idx.candidates('ns', {}), undefined);
    idx.set('ns/p0', 'ns', { tier: 'web', app: 'b' });
    idx.delete('ns/p1');
    assert.equal(idx.candidates('ns', { tier: 'web', app: 'a' })!.size, 0);
  });

  it('ServiceSelectorIndex finds Services whose whole selector matches', () => {
    const idx = new ServiceSelectorIndex();
    idx.set('ns/a', 'ns', { app: 'x' });
    idx.set('ns/ab', 'ns', { app: 'x', tier: 'web' });
    idx.set('ns/all', 'ns', {});
    idx.set('ns/none', 'ns', null);
    idx.set('other/a', 'other', { app: 'x' });
    const cases: [Record<string, string>, string[]][] = [
      [{ app: 'x' }, ['ns/a', 'ns/all']],
      [{ app: 'x', tier: 'web', z: '1' }, ['ns/a', 'ns/ab', 'ns/all']],
      [{ tier: 'web' }, ['ns/all']],
    ];
    for (const [labels, want] of cases) assert.deepEqual([...idx.matching('ns', labels)].sort(), want, JSON.stringify(labels));
    idx.set('ns/a', 'ns', { app: 'y' });
    idx.delete('ns/all');
    assert.deepEqual([...idx.matching('ns', { app: 'x' })], []);
  });
});
