import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, readdirSync, statSync, rmSync, existsSync, lstatSync } from 'node:fs';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { writeAtomic } from './atomic.js';
import type { VolumeFile } from './contents.js';

function f(p: string, content: string, mode = 0o644): VolumeFile {
  return { path: p, content: Buffer.from(content), mode };
}

function snapshot(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of readdirSync(dir)) {
    if (e.startsWith('..')) continue;
    const walk = (rel: string): void => {
      const p = path.join(dir, rel);
      if (statSync(p).isDirectory()) for (const c of readdirSync(p)) walk(`${rel}/${c}`);
      else out[rel] = readFileSync(p, 'utf8');
    };
    walk(e);
  }
  return out;
}

function payloadDirs(dir: string): string[] {
  return readdirSync(dir).filter((e) => e.startsWith('..') && e !== '..data');
}

test('writeAtomic: layout, updates, removal, idempotence, modes', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'kl-atomic-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const dir = path.join(root, 'vol');

  // initial write
  assert.equal(await writeAtomic(dir, [f('a', 'one'), f('conf/b', 'two', 0o600)]), true);
  assert.deepEqual(snapshot(dir), { a: 'one', 'conf/b': 'two' });
  assert.equal(readlinkSync(path.join(dir, 'a')), '..data/a');
  assert.equal(readlinkSync(path.join(dir, 'conf')), '..data/conf');
  const ts1 = readlinkSync(path.join(dir, '..data'));
  assert.match(ts1, /^\.\.\d{4}_\d\d_\d\d_\d\d_\d\d_\d\d\./);
  assert.deepEqual(payloadDirs(dir), [ts1]);
  assert.equal(statSync(path.join(dir, 'conf/b')).mode & 0o777, 0o600);
  assert.equal(statSync(path.join(dir, 'a')).mode & 0o777, 0o644);

  // unchanged → no change, same payload dir
  assert.equal(await writeAtomic(dir, [f('a', 'one'), f('conf/b', 'two', 0o600)]), false);
  assert.equal(readlinkSync(path.join(dir, '..data')), ts1);

  // mode change alone is a change
  assert.equal(await writeAtomic(dir, [f('a', 'one', 0o400), f('conf/b', 'two', 0o600)]), true);
  assert.equal(statSync(path.join(dir, 'a')).mode & 0o777, 0o400);
  const ts2 = readlinkSync(path.join(dir, '..data'));
  assert.notEqual(ts2, ts1);
  assert.deepEqual(payloadDirs(dir), [ts2], 'old payload dir removed');

  // content changed, key added, key removed
  assert.equal(await writeAtomic(dir, [f('a', 'uno'), f('c', 'three')]), true);
  assert.deepEqual(snapshot(dir), { a: 'uno', c: 'three' });
  assert.equal(existsSync(path.join(dir, 'conf')), false);
  assert.equal(lstatSync(path.join(dir, 'c')).isSymbolicLink(), true);
  assert.equal(payloadDirs(dir).length, 1);
  assert.equal(existsSync(path.join(dir, '..data_tmp')), false);

  // empty payload leaves only the ..data machinery
  assert.equal(await writeAtomic(dir, []), true);
  assert.deepEqual(snapshot(dir), {});
  assert.equal(await writeAtomic(dir, []), false);
});

test('writeAtomic: a user-visible link that went missing is restored', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'kl-atomic-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await writeAtomic(root, [f('k', 'v')]);
  rmSync(path.join(root, 'k'));
  assert.equal(await writeAtomic(root, [f('k', 'v')]), true);
  assert.equal(readFileSync(path.join(root, 'k'), 'utf8'), 'v');
});

test('writeAtomic: rejects escaping paths', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'kl-atomic-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const p of ['../x', '/etc/passwd', 'a/../../b', '..data']) {
    await assert.rejects(writeAtomic(root, [f(p, 'x')]), /invalid volume file path/);
  }
});

test('writeAtomic: readers never see a mix of old and new payloads', async (t) => {
  const root = mkdtempSync(path.join(tmpdir(), 'kl-atomic-'));
  t.after(() => rmSync(root, { recursive: true, force: true }));
  await writeAtomic(root, [f('x', '0'), f('y', '0')]);
  let stop = false;
  const seen: [string, string][] = [];
  const reader = (async (): Promise<void> => {
    while (!stop) {
      // read both files through one resolution of ..data, as a consistent reader would
      const data = path.join(root, readlinkSync(path.join(root, '..data')));
      try {
        const x = readFileSync(path.join(data, 'x'), 'utf8');
        const y = readFileSync(path.join(data, 'y'), 'utf8');
        seen.push([x, y]);
      } catch {
        // the old payload dir was removed between readlink and read: fine, retry
      }
      await new Promise((r) => setImmediate(r));
    }
  })();
  for (let i = 1; i <= 20; i++) await writeAtomic(root, [f('x', String(i)), f('y', String(i))]);
  stop = true;
  await reader;
  assert.ok(seen.length > 0, 'reader ran');
  for (const [x, y] of seen) assert.equal(x, y, 'x and y come from the same payload');
});
