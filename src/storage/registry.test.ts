import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { after, describe, it } from 'node:test';
import { openMemoryBackend } from './memory.js';
import { knownSchemes, openBackend, registerBackend, sqlitePathFromUrl } from './registry.js';

const dir = mkdtempSync(join(tmpdir(), 'kubelite registry-')); // the space is deliberate
after(() => rmSync(dir, { recursive: true, force: true }));

describe('openBackend', () => {
  const sqliteCases: Array<{ name: string; url: () => string; file: () => string }> = [
    { name: 'absolute path', url: () => `sqlite://${join(dir, 'abs', 'state.db')}`, file: () => join(dir, 'abs', 'state.db') },
    { name: 'relative path', url: () => `sqlite://${relative(process.cwd(), join(dir, 'rel', 's.db'))}`, file: () => join(dir, 'rel', 's.db') },
    { name: 'percent sign kept verbatim', url: () => `sqlite://${join(dir, 'p%41', 's.db')}`, file: () => join(dir, 'p%41', 's.db') },
  ];
  for (const c of sqliteCases) {
    it(`opens sqlite with an ${c.name}`, async () => {
      const b = await openBackend(c.url());
      try {
        assert.equal(await b.create('/registry/x', 'v'), 1);
      } finally {
        await b.close();
      }
      assert.ok(existsSync(c.file()), `${c.file()} exists`);
    });
  }

  it('opens independent memory stores', async () => {
    const a = await openBackend('memory://');
    const b = await openBackend('MEMORY://');
    await a.create('/k', 'v');
    assert.equal(await b.get('/k'), null);
    await a.close();
    await b.close();
  });

  const bad: Array<[string, RegExp]> = [
    ['etcdx://localhost:2379', /unknown storage scheme "etcdx:\/\/".*known schemes: .*memory:\/\/.*sqlite:\/\//],
    ['/var/lib/state.db', /invalid storage URL.*known schemes/],
    ['sqlite://', /needs a file path/],
  ];
  for (const [url, msg] of bad) {
    it(`rejects ${JSON.stringify(url)} with a clear error`, async () => {
      await assert.rejects(openBackend(url), msg);
    });
  }

  it('lets new schemes plug in', async () => {
    let seen: URL | undefined;
    registerBackend('fake', async (u) => { seen = u; return openMemoryBackend(); });
    assert.ok(knownSchemes().includes('fake'));
    const b = await openBackend('fake://host:1234/path?x=1');
    assert.equal(seen?.host, 'host:1234');
    assert.equal(seen?.searchParams.get('x'), '1');
    await b.close();
  });

  it('extracts sqlite paths verbatim, even from URLs WHATWG cannot parse', async () => {
    assert.equal(sqlitePathFromUrl(new URL('sqlite:///a/b.db')), '/a/b.db');
    const b = await openBackend('sqlite://:memory:'); // `new URL` throws on this one
    assert.equal(await b.create('/k', 'v'), 1);
    await b.close();
  });
});
