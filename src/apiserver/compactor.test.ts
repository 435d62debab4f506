import { it } from 'node:test';
import assert from 'node:assert/strict';
import { openMemoryBackend } from '../storage/memory.js';
import { startCompactor } from './compactor.js';

it('compacts to the revision seen one interval earlier', async () => {
  const b = await openMemoryBackend();
  await b.create('/k/a', '1');
  const seen = await b.currentRevision();
  let ticks = 0;
  // A fake timer: ticks happen only when the test calls tick().
  const c = startCompactor(b, { every: () => () => void ticks++ });
  await c.tick(); // first tick already ran at start; this one sees no newer previous yet
  assert.equal(await b.compactRevision(), seen, 'compacted to what the first tick saw');
  await b.create('/k/b', '2');
  const latest = await b.currentRevision();
  await c.tick();
  assert.equal(await b.compactRevision(), seen, 'nothing new since the previous tick');
  await c.tick();
  assert.equal(await b.compactRevision(), latest, 'now up to the previous tick');
  c.stop();
  assert.equal(ticks, 1, 'stop cancels the injected timer');
  await b.close();
});
