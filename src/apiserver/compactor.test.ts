import { it } from 'node:test';
import assert from 'node:assert/strict';
import { openMemoryBackend } from '../storage/memory.js';
import { startCompactor } from './compactor.js';

it('compacts to the revision seen one interval earlier', async () => {
  const b = await openMemoryBackend();
  await b.create('/k/a', '1');
  const c = startCompactor(b, { intervalMs: 40 });
  await new Promise((r) => setTimeout(r, 10));
  const seen = await b.currentRevision();
  await b.create('/k/b', '2');
  await new Promise((r) => setTimeout(r, 60));
  assert.equal(await b.compactRevision(), seen, 'compacted to the first tick');
  assert.ok((await b.currentRevision()) > (await b.compactRevision()), 'the latest revision is kept');
  c.stop();
  await b.close();
});
