import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createHash } from 'node:crypto';
import { BackupWriter, BackupFormatError, storedResources, verifyBackup } from './backup-format.js';
import { RESOURCES } from '../api/resources.js';
import type { KObject } from '../api/types.js';

const res = (plural: string, group = ''): (typeof RESOURCES)[number] => RESOURCES.find((r) => r.plural === plural && r.group === group)!;

/** Builds a backup file from records; `edit` may rewrite the lines, and the trailer is then re-hashed to match. */
async function build(objs: [string, KObject][], edit: (line: string) => string = (l) => l): Promise<Buffer> {
  const lines: string[] = [];
  const w = new BackupWriter((l) => void lines.push(l));
  await w.header({ revision: 7, createdAt: '2026-01-01T00:00:00Z' });
  for (const [plural, obj] of objs) await w.object(res(plural), obj);
  const body = lines.map(edit).join('');
  const sha256 = createHash('sha256').update(body).digest('hex');
  return gzipSync(`${body}${JSON.stringify({ end: true, count: objs.length, sha256 })}\n`);
}

const cm = (name: string, ns = 'default'): KObject => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name, namespace: ns, resourceVersion: '5', uid: 'u' }, data: { a: 'b' } } as KObject);
const nsObj = (name: string): KObject => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name, resourceVersion: '3' } } as KObject);

describe('backup format', () => {
  it('round-trips objects to storage keys and values without resourceVersion', async () => {
    const v = verifyBackup(await build([['namespaces', nsObj('a')], ['configmaps', cm('x', 'a')]]));
    assert.equal(v.header.revision, 7);
    assert.deepEqual(v.entries.map((e) => e.key), ['/registry/namespaces/a', '/registry/configmaps/a/x']);
    assert.deepEqual(JSON.parse(v.entries[1]!.value), { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'a', uid: 'u' }, data: { a: 'b' } });
  });

  // Records that are internally inconsistent but correctly hashed (a buggy or hand-made file).
  const cases: { name: string; objs: [string, KObject][]; edit: (l: string) => string; message: RegExp }[] = [
    { name: 'name differs from the object', objs: [['configmaps', cm('x')]], edit: (l) => l.replace('"name":"x","object"', '"name":"y","object"'), message: /metadata.name "x" does not match the record name "y"/ },
    { name: 'namespace differs', objs: [['configmaps', cm('x')]], edit: (l) => l.replace('"namespace":"default","name"', '"namespace":"other","name"'), message: /namespace "default" does not match the record namespace "other"/ },
    { name: 'unknown resource', objs: [['configmaps', cm('x')]], edit: (l) => l.replace('"plural":"configmaps"', '"plural":"widgets"'), message: /unknown resource widgets/ },
    { name: 'wrong kind for the resource', objs: [['configmaps', cm('x')]], edit: (l) => l.replace('"kind":"ConfigMap"', '"kind":"Secret"'), message: /expected apiVersion v1 kind ConfigMap/ },
    { name: 'no metadata', objs: [['configmaps', cm('x')]], edit: (l) => l.replace(/"metadata":\{[^}]*\}/, '"metadata":null'), message: /has no metadata/ },
    { name: 'duplicate object', objs: [['configmaps', cm('x')], ['configmaps', cm('x')]], edit: (l) => l, message: /duplicate object \/registry\/configmaps\/default\/x/ },
    { name: 'name with a slash', objs: [['namespaces', nsObj('a')]], edit: (l) => l.replace(/"name":"a"/g, '"name":"a/b"'), message: /contains "\/"/ },
    { name: 'alias resource', objs: [['configmaps', cm('x')]], edit: (l) => l.replace('"group":"","plural":"configmaps"', '"group":"events.k8s.io","plural":"events"'), message: /unknown resource events.events.k8s.io/ },
  ];
  for (const c of cases) {
    it(`rejects a record whose ${c.name}`, async () => {
      const file = await build(c.objs, c.edit);
      assert.throws(() => verifyBackup(file), (err: Error) => err instanceof BackupFormatError && c.message.test(err.message));
    });
  }

  it('rejects a count that does not match the records', async () => {
    let text = '';
    const w = new BackupWriter((l) => void (text += l.replace(/"count":1/, '"count":2')));
    await w.header({ revision: 1, createdAt: 'x' });
    await w.object(res('namespaces'), nsObj('a'));
    await w.trailer();
    assert.throws(() => verifyBackup(gzipSync(text)), /trailer counts 2 objects but the file holds 1/);
  });

  it('stores each location once', () => {
    const plurals = storedResources().map((r) => `${r.group}/${r.plural}`);
    assert.equal(plurals.filter((p) => p === 'autoscaling/horizontalpodautoscalers').length, 1);
    assert.equal(storedResources().find((r) => r.plural === 'horizontalpodautoscalers')!.version, 'v2');
  });
});
