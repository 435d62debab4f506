import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openBackend } from '../storage/registry.js';
import type { Backend, WatchOptions } from '../storage/types.js';
import { Registry } from '../apiserver/registry/index.js';
import { kindPlugins } from '../apiserver/wiring.js';
import { WatchCache } from '../apiserver/watchcache.js';
import { internalContext } from '../apiserver/registry/strategy.js';
import type { KObject } from '../api/types.js';
import { InformerFactory, keyOf, splitKey } from './shared-informer.js';
import type { Clock } from './workqueue.js';

/** A backend whose watches can be broken on demand (events dropped, then an error). */
function breakable(inner: Backend): { backend: Backend; drop(on: boolean): void; fail(): void } {
  let dropping = false;
  const errs: ((e: Error) => void)[] = [];
  const backend = Object.create(inner) as Backend;
  backend.watch = (prefix: string, opts: WatchOptions) => {
    if (opts.onError) errs.push(opts.onError);
    return inner.watch(prefix, { ...opts, onEvent: (ev) => { if (!dropping) opts.onEvent(ev); } });
  };
  return { backend, drop: (on) => (dropping = on), fail: () => errs.shift()?.(new Error('mvcc: required revision has been compacted')) };
}

async function setup(backend?: Backend): Promise<{ reg: Registry; cache: WatchCache; backend: Backend }> {
  const b = backend ?? (await openBackend('memory://'));
  const reg = new Registry({ backend: b, plugins: kindPlugins() });
  const cache = new WatchCache(b, { prefix: '/registry/' });
  await cache.start();
  const ctx = internalContext('test');
  for (const ns of ['a', 'b']) await reg.must('', 'namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }, ctx);
  return { reg, cache, backend: b };
}

const cm = (ns: string, name: string, data: Record<string, string> = {}, labels: Record<string, string> = {}): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, labels }, data });
const until = async (fn: () => boolean): Promise<void> => {
  for (let i = 0; i < 300 && !fn(); i++) await new Promise((r) => setTimeout(r, 5));
  assert.ok(fn(), 'condition not reached');
};

describe('SharedInformer', () => {
  it('keys', () => {
    for (const [obj, key] of [[cm('a', 'x'), 'a/x'], [{ metadata: { name: 'n' } } as KObject, 'n']] as const) {
      assert.equal(keyOf(obj), key);
      assert.deepEqual(splitKey(key), { namespace: obj.metadata.namespace ?? '', name: obj.metadata.name });
    }
  });

  it('lists, follows in order, indexes, and replays adds to late handlers', async () => {
    const { reg, cache } = await setup();
    const store = reg.must('', 'configmaps');
    const ctx = internalContext('test');
    await store.create('a', cm('a', 'one', {}, { app: 'x' }), ctx);
    const f = new InformerFactory({ registry: reg, cache });
    const inf = f.for('', 'configmaps');
    assert.equal(f.for('', 'configmaps'), inf, 'shared per resource');
    inf.addIndexer('app', (o) => (o.metadata.labels?.app ? [o.metadata.labels.app] : []));
    const log: string[] = [];
    inf.addHandlers({
      onAdd: (o) => log.push(`add ${keyOf(o)}`),
      onUpdate: (o) => log.push(`update ${keyOf(o)} ${JSON.stringify(o.data)}`),
      onDelete: (o) => log.push(`delete ${keyOf(o)}`),
    });
    await f.start();
    await store.create('b', cm('b', 'two', {}, { app: 'x' }), ctx);
    await store.guaranteedUpdate('a', 'one', (o) => ({ ...o!, data: { k: 'v' }, metadata: { ...o!.metadata, labels: { app: 'y' }, resourceVersion: undefined } }), ctx);
    await store.delete('b', 'two', {}, ctx);
    await until(() => log.length === 4);
    assert.deepEqual(log, ['add a/one', 'add b/two', 'update a/one {"k":"v"}', 'delete b/two']);
    assert.deepEqual(inf.byIndex('app', 'y').map(keyOf), ['a/one']);
    assert.deepEqual(inf.byIndex('app', 'x'), []);
    assert.deepEqual(inf.list('a').map(keyOf), ['a/one']);
    assert.equal((inf.getBy("a", "one")?.data as Record<string, string>).k, "v");
    const late: string[] = [];
    inf.addHandlers({ onAdd: (o) => late.push(keyOf(o)) });
    assert.deepEqual(late, ['a/one']);
    f.close();
    cache.close();
  });

  it('resync re-delivers every object as an update on the injected clock', async () => {
    const { reg, cache } = await setup();
    await reg.must('', 'configmaps').create('a', cm('a', 'one'), internalContext('t'));
    const timers: (() => void)[] = [];
    const clock: Clock = { now: () => 0, setTimeout: (fn) => timers.push(fn), clearTimeout: () => undefined };
    const f = new InformerFactory({ registry: reg, cache, clock }, { resyncMs: 1000 });
    const inf = f.for('', 'configmaps');
    const resyncs: string[] = [];
    inf.addHandlers({ onUpdate: (o, old) => { if (o === old) resyncs.push(keyOf(o)); } });
    await f.start();
    assert.equal(timers.length, 1);
    timers.shift()!();
    assert.deepEqual(resyncs, ['a/one']);
    assert.equal(timers.length, 1, 're-armed');
    f.close();
    cache.close();
  });

  it('relists when the watch cache resets (in-process 410) and reports what it missed', async () => {
    const mem = await openBackend('memory://');
    const br = breakable(mem);
    const { reg, cache } = await setup(br.backend);
    const store = reg.must('', 'configmaps');
    const ctx = internalContext('t');
    await store.create('a', cm('a', 'keep'), ctx);
    await store.create('a', cm('a', 'gone'), ctx);
    const f = new InformerFactory({ registry: reg, cache });
    const inf = f.for('', 'configmaps');
    const log: string[] = [];
    inf.addHandlers({ onAdd: (o) => log.push(`add ${keyOf(o)}`), onUpdate: (o) => log.push(`update ${keyOf(o)}`), onDelete: (o) => log.push(`delete ${keyOf(o)}`) });
    await f.start();
    log.length = 0;
    br.drop(true);
    await store.guaranteedUpdate('a', 'keep', (o) => ({ ...o!, data: { x: '1' }, metadata: { ...o!.metadata, resourceVersion: undefined } }), ctx);
    await store.delete('a', 'gone', {}, ctx);
    await store.create('a', cm('a', 'new'), ctx);
    await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(log, [], 'events were lost while the watch was broken');
    br.drop(false);
    br.fail();
    await until(() => log.length === 3);
    assert.deepEqual(log.sort(), ['add a/new', 'delete a/gone', 'update a/keep']);
    await store.create('a', cm('a', 'after'), ctx);
    await until(() => log.length === 4);
    assert.equal(log[3], 'add a/after', 'follows the restarted cache');
    f.close();
    cache.close();
  });
});
