import { describe, it, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { BackupWriter } from './backup-format.js';
import { restore } from './restore.js';
import { RESOURCES } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { openMemoryBackend } from '../storage/memory.js';
import { registerBackend } from '../storage/registry.js';
import type { Backend } from '../storage/types.js';

/** A memory backend whose create of `failKey` fails; the same instance for every open. */
async function flaky(failKey: string): Promise<{ backend: Backend; scheme: string }> {
  const inner = await openMemoryBackend();
  const backend: Backend = Object.assign(Object.create(inner) as Backend, {
    create: (key: string, value: string): Promise<number> => (key !== failKey ? inner.create(key, value) : Promise.reject(new Error('disk full'))),
    close: async (): Promise<void> => {},
  });
  const scheme = `flaky${Math.random().toString(36).slice(2, 8)}`;
  registerBackend(scheme, async () => backend);
  return { backend, scheme };
}

describe('restore rollback', () => {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-restore-'));
  after(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'b.gz');

  it('reports how far it got and leaves an empty store empty; with --force puts the old contents back', async () => {
    let text = '';
    const w = new BackupWriter((l) => void (text += l));
    await w.header({ revision: 1, createdAt: 'now' });
    const nsRes = RESOURCES.find((r) => r.plural === 'namespaces')!;
    for (let i = 0; i < 10; i++) await w.object(nsRes, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: `ns-${i}` } } as KObject);
    await w.trailer();
    writeFileSync(file, gzipSync(text));

    const failKey = '/registry/namespaces/ns-4';
    const empty = await flaky(failKey);
    await assert.rejects(restore(file, { store: `${empty.scheme}://`, concurrency: 3 }), /restore failed after writing 5 of 10 objects \(\/registry\/namespaces\/ns-4: disk full\); rolled back: the store is empty again/);
    assert.equal(await empty.backend.count('/registry/'), 0);

    const full = await flaky(failKey);
    await full.backend.create('/registry/namespaces/old', '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"old"}}');
    await assert.rejects(restore(file, { store: `${full.scheme}://`, concurrency: 1 }), /not empty \(1 objects\)/);
    await assert.rejects(restore(file, { store: `${full.scheme}://`, force: true, concurrency: 1 }), /after writing 4 of 10 objects.*rolled back: the store holds its previous contents again/);
    const left = await full.backend.list('/registry/');
    assert.deepEqual(left.items.map((kv) => kv.key), ['/registry/namespaces/old']);
  });
});
