import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { runConformance } from './conformance.js';
import { UnavailableError } from './errors.js';
import { openSqliteBackend } from './sqlite.js';

const dir = mkdtempSync(join(tmpdir(), 'kubelite-sqlite-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshPath = (): string => join(dir, `db${n++}`, 'state.db');

runConformance('sqlite', () => openSqliteBackend(freshPath()));

describe('sqlite backend', () => {
  it('creates missing parent directories', async () => {
    const p = join(dir, 'deep', 'er', 'state.db');
    const b = await openSqliteBackend(p);
    await b.close();
    assert.ok(existsSync(p));
  });

  it('persists data, history and compaction across close/reopen', async () => {
    const p = freshPath();
    let b = await openSqliteBackend(p);
    await b.create('/registry/a', 'a1'); // 1
    await b.create('/registry/b', 'b1'); // 2
    await b.update('/registry/a', 'a2', 1); // 3
    await b.delete('/registry/b'); // 4
    await b.compact(2);
    await b.close();

    b = await openSqliteBackend(p);
    try {
      assert.equal(await b.currentRevision(), 4);
      assert.equal(await b.compactRevision(), 2);
      assert.deepEqual(await b.get('/registry/a'), { key: '/registry/a', value: 'a2', createRevision: 1, modRevision: 3 });
      assert.equal((await b.list('/registry/', { revision: 3 })).items.length, 2);
      assert.equal(await b.create('/registry/c', 'c1'), 5, 'revision continues, not reset');
    } finally {
      await b.close();
    }
  });

  it('keeps the revision when compaction removed the newest rows', async () => {
    const p = freshPath();
    let b = await openSqliteBackend(p);
    await b.create('/k', 'v'); // 1
    await b.delete('/k'); // 2: the newest row is a tombstone, dropped by compaction
    await b.compact(2);
    await b.close();
    b = await openSqliteBackend(p);
    try {
      assert.equal(await b.currentRevision(), 2);
      assert.equal(await b.create('/k', 'v'), 3);
    } finally {
      await b.close();
    }
  });

  it('refuses a second concurrent opener of the same file', async () => {
    const p = freshPath();
    const b = await openSqliteBackend(p);
    try {
      await assert.rejects(openSqliteBackend(p), (e: unknown) => e instanceof UnavailableError);
    } finally {
      await b.close();
    }
  });

  it('loses no acknowledged write when the writer is killed with SIGKILL', async () => {
    const p = freshPath();
    const script = fileURLToPath(new URL('./testdata/durable-writer.ts', import.meta.url));
    const child = spawn(process.execPath, ['--import', 'tsx', script, p], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString(); });
    const acked: number[] = [];
    const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
    await new Promise<void>((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`writer produced ${acked.length} acks; stderr: ${stderr}`)), 30_000);
      child.stdout.on('data', (d: Buffer) => {
        buf += d.toString();
        const lines = buf.split('\n');
        buf = lines.pop() ?? '';
        for (const l of lines) acked.push(Number(l));
        if (acked.length >= 300) {
          child.kill('SIGKILL');
          clearTimeout(timer);
          resolve();
        }
      });
      child.on('exit', () => { clearTimeout(timer); if (acked.length < 300) reject(new Error(`writer exited early: ${stderr}`)); });
    });
    await exited;
    assert.equal(child.signalCode, 'SIGKILL');

    const b = await openSqliteBackend(p);
    try {
      const max = acked[acked.length - 1] as number;
      assert.deepEqual(acked, Array.from({ length: acked.length }, (_, i) => i));
      for (const i of acked) {
        const kv = await b.get(`/registry/durable/${String(i).padStart(6, '0')}`);
        assert.ok(kv, `acknowledged key ${i} missing`);
        assert.equal(kv.modRevision, i + 1);
      }
      assert.ok((await b.currentRevision()) >= max + 1);
    } finally {
      await b.close();
    }
  });
});
