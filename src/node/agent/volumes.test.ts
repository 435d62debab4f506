import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { promises as fsp } from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import * as net from 'node:net';
import type { KObject } from '../../api/types.js';
import { MountError, PodVolumes, referencedObjects, type ObjectLookup } from './volumes.js';

const dirs: string[] = [];
after(async () => {
  for (const d of dirs) await fsp.rm(d, { recursive: true, force: true });
});

async function tmp(): Promise<string> {
  const d = await fsp.mkdtemp(path.join(os.tmpdir(), 'kl-vol-'));
  dirs.push(d);
  return d;
}

function pod(volumes: unknown[], extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'ns', uid: 'u1', labels: { app: 'web' } },
    spec: { containers: [{ name: 'c', image: 'busybox' }], volumes, ...extra },
  };
}

/** A mutable lookup over plain maps (the agent uses informer caches). */
function store(): ObjectLookup & { cms: Map<string, KObject>; secrets: Map<string, KObject> } {
  const cms = new Map<string, KObject>();
  const secrets = new Map<string, KObject>();
  return {
    cms,
    secrets,
    configMap: (ns, n) => cms.get(`${ns}/${n}`),
    secret: (ns, n) => secrets.get(`${ns}/${n}`),
  };
}

const cm = (name: string, data: Record<string, string>): KObject => ({ metadata: { name, namespace: 'ns' }, data });
const b64 = (s: string): string => Buffer.from(s).toString('base64');

test('setUp materialises each volume kind at the kubelet path with its content', async () => {
  const dir = await tmp();
  const s = store();
  s.cms.set('ns/cfg', cm('cfg', { 'app.conf': 'x=1', other: 'o' }));
  s.secrets.set('ns/sec', { metadata: { name: 'sec', namespace: 'ns' }, data: { password: b64('hunter2') } });
  const vols = new PodVolumes({ podDir: dir, lookup: s });
  const p = pod([
    { name: 'scratch', emptyDir: {} },
    { name: 'mem', emptyDir: { medium: 'Memory' } },
    { name: 'config', configMap: { name: 'cfg', items: [{ key: 'app.conf', path: 'conf/app.conf' }] } },
    { name: 'creds', secret: { secretName: 'sec', defaultMode: 0o400 } },
    { name: 'info', downwardAPI: { items: [{ path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } }] } },
    { name: 'all', projected: { sources: [{ configMap: { name: 'cfg' } }, { secret: { name: 'sec' } }] } },
  ]);
  const r = await vols.setUp(p);
  assert.equal(r.changed, true);
  const cases: [string, string, string | undefined][] = [
    // volume, expected dir (relative to podDir), file to read → content
    ['scratch', 'volumes/kubernetes.io~empty-dir/scratch', undefined],
    ['mem', 'volumes/kubernetes.io~empty-dir/mem', undefined],
    ['config', 'volumes/kubernetes.io~configmap/config', 'conf/app.conf=x=1'],
    ['creds', 'volumes/kubernetes.io~secret/creds', 'password=hunter2'],
    ['info', 'volumes/kubernetes.io~downward-api/info', 'labels=app="web"'],
    ['all', 'volumes/kubernetes.io~projected/all', 'other=o'],
  ];
  for (const [name, rel, file] of cases) {
    assert.equal(r.paths.get(name), path.join(dir, rel), name);
    const st = await fsp.stat(path.join(dir, rel));
    assert.ok(st.isDirectory(), name);
    if (file !== undefined) {
      const [f, content] = file.split(/=(.*)/s) as [string, string];
      assert.equal(await fsp.readFile(path.join(dir, rel, f), 'utf8'), content, name);
    }
  }
  assert.equal((await fsp.stat(path.join(dir, 'volumes/kubernetes.io~empty-dir/scratch'))).mode & 0o777, 0o777);
  assert.equal((await fsp.stat(path.join(dir, 'volumes/kubernetes.io~secret/creds/password'))).mode & 0o777, 0o400);
  // Only the requested item of the configMap volume.
  await assert.rejects(fsp.stat(path.join(dir, 'volumes/kubernetes.io~configmap/config/other')));
  // Idempotent: nothing rewritten the second time, files in emptyDir survive.
  await fsp.writeFile(path.join(dir, 'volumes/kubernetes.io~empty-dir/scratch/keep'), 'k');
  const again = await vols.setUp(p);
  assert.equal(again.changed, false);
  assert.equal(await fsp.readFile(path.join(dir, 'volumes/kubernetes.io~empty-dir/scratch/keep'), 'utf8'), 'k');
});

test('a missing source fails with the FailedMount text unless optional', async () => {
  const dir = await tmp();
  const s = store();
  s.cms.set('ns/cfg', cm('cfg', { a: '1' }));
  const cases: { name: string; vol: Record<string, unknown>; error?: string }[] = [
    { name: 'missing configMap', vol: { name: 'v', configMap: { name: 'nope' } }, error: 'MountVolume.SetUp failed for volume "v" : configmap "nope" not found' },
    { name: 'missing secret', vol: { name: 'v', secret: { secretName: 'nope' } }, error: 'MountVolume.SetUp failed for volume "v" : secret "nope" not found' },
    { name: 'missing key', vol: { name: 'v', configMap: { name: 'cfg', items: [{ key: 'zz', path: 'z' }] } }, error: 'MountVolume.SetUp failed for volume "v" : configmap references non-existent config key: zz' },
    { name: 'unsupported kind', vol: { name: 'v', persistentVolumeClaim: { claimName: 'c' } }, error: 'MountVolume.SetUp failed for volume "v" : volume type persistentVolumeClaim is not supported by kubelite' },
    { name: 'optional missing configMap', vol: { name: 'v', configMap: { name: 'nope', optional: true } } },
    { name: 'optional missing secret', vol: { name: 'v', secret: { secretName: 'nope', optional: true } } },
  ];
  for (const c of cases) {
    const vols = new PodVolumes({ podDir: path.join(dir, c.name.replace(/ /g, '-')), lookup: s });
    if (c.error !== undefined) {
      await assert.rejects(vols.setUp(pod([c.vol])), (e: unknown) => {
        assert.ok(e instanceof MountError, c.name);
        assert.equal(e.message, c.error, c.name);
        assert.equal(e.volume, 'v');
        return true;
      });
    } else {
      const r = await vols.setUp(pod([c.vol]));
      const p = r.paths.get('v')!;
      assert.ok(p, c.name);
      const visible = (await fsp.readdir(p)).filter((e) => !e.startsWith('..'));
      assert.deepEqual(visible, [], c.name);
    }
  }
});

test('refresh after a configMap change: reported as changed, new content through ..data', async () => {
  const dir = await tmp();
  const s = store();
  s.cms.set('ns/cfg', cm('cfg', { key: 'v1', gone: 'g' }));
  const vols = new PodVolumes({ podDir: dir, lookup: s });
  const p = pod([{ name: 'c', configMap: { name: 'cfg' } }]);
  const r1 = await vols.setUp(p);
  const vdir = r1.paths.get('c')!;
  const target1 = await fsp.readlink(path.join(vdir, '..data'));
  assert.equal(await fsp.readlink(path.join(vdir, 'key')), '..data/key');
  assert.equal(await fsp.readFile(path.join(vdir, 'key'), 'utf8'), 'v1');

  assert.equal((await vols.setUp(p)).changed, false);

  s.cms.set('ns/cfg', cm('cfg', { key: 'v2' }));
  const r2 = await vols.setUp(p);
  assert.equal(r2.changed, true);
  assert.equal(await fsp.readFile(path.join(vdir, 'key'), 'utf8'), 'v2');
  assert.notEqual(await fsp.readlink(path.join(vdir, '..data')), target1);
  await assert.rejects(fsp.stat(path.join(vdir, 'gone')), 'a removed key disappears');

  // The configMap disappearing later is a mount error again (non-optional).
  s.cms.delete('ns/cfg');
  await assert.rejects(vols.setUp(p), /configmap "cfg" not found/);
});

test('hostPath type checks', async () => {
  const dir = await tmp();
  await fsp.mkdir(path.join(dir, 'adir'));
  await fsp.writeFile(path.join(dir, 'afile'), 'x');
  const sock = path.join(dir, 's.sock');
  const server = net.createServer();
  await new Promise<void>((res) => server.listen(sock, res));
  try {
    const cases: { type?: string; p: string; error?: string; after?: 'dir' | 'file' | 'absent' }[] = [
      { p: 'nothing-here', after: 'absent' },
      { type: '', p: 'afile', after: 'file' },
      { type: 'DirectoryOrCreate', p: 'new/deep/dir', after: 'dir' },
      { type: 'DirectoryOrCreate', p: 'adir', after: 'dir' },
      { type: 'DirectoryOrCreate', p: 'afile', error: 'is not a directory' },
      { type: 'Directory', p: 'adir', after: 'dir' },
      { type: 'Directory', p: 'missing', error: 'is not a directory' },
      { type: 'Directory', p: 'afile', error: 'is not a directory' },
      { type: 'FileOrCreate', p: 'newfile', after: 'file' },
      { type: 'FileOrCreate', p: 'afile', after: 'file' },
      { type: 'FileOrCreate', p: 'adir', error: 'is not a file' },
      { type: 'FileOrCreate', p: 'noparent/f', error: 'no such file or directory' },
      { type: 'File', p: 'afile', after: 'file' },
      { type: 'File', p: 'adir', error: 'is not a file' },
      { type: 'Socket', p: 's.sock' },
      { type: 'Socket', p: 'afile', error: 'is not a socket file' },
      { type: 'CharDevice', p: '/dev/null' },
      { type: 'CharDevice', p: 'afile', error: 'is not a character device' },
      { type: 'BlockDevice', p: 'afile', error: 'is not a block device' },
    ];
    for (const c of cases) {
      const full = path.isAbsolute(c.p) ? c.p : path.join(dir, c.p);
      const vols = new PodVolumes({ podDir: path.join(dir, 'pod'), lookup: store() });
      const p = pod([{ name: 'h', hostPath: { path: full, ...(c.type !== undefined ? { type: c.type } : {}) } }]);
      const label = `${c.type ?? '(none)'} ${c.p}`;
      if (c.error !== undefined) {
        await assert.rejects(vols.setUp(p), (e: unknown) => {
          assert.ok(e instanceof MountError, label);
          assert.ok(e.message.startsWith('MountVolume.SetUp failed for volume "h" : '), label);
          assert.ok(e.message.includes(c.error!), `${label}: ${e.message}`);
          return true;
        });
        continue;
      }
      const r = await vols.setUp(p);
      assert.equal(r.paths.get('h'), full, label);
      if (c.after === 'dir') assert.ok((await fsp.stat(full)).isDirectory(), label);
      if (c.after === 'file') assert.ok((await fsp.stat(full)).isFile(), label);
      if (c.after === 'absent') await assert.rejects(fsp.stat(full), label);
    }
    assert.equal((await fsp.stat(path.join(dir, 'newfile'))).mode & 0o777, 0o644);
    assert.equal((await fsp.stat(path.join(dir, 'new/deep/dir'))).mode & 0o777, 0o755);
    const exact = new PodVolumes({ podDir: path.join(dir, 'pod'), lookup: store() });
    await assert.rejects(exact.setUp(pod([{ name: 'h', hostPath: { path: path.join(dir, 'afile'), type: 'Directory' } }])), {
      message: `MountVolume.SetUp failed for volume "h" : hostPath type check failed: ${path.join(dir, 'afile')} is not a directory`,
    });
  } finally {
    server.close();
  }
});

test('tearDown removes podDir/volumes but never the hostPath content', async () => {
  const dir = await tmp();
  const host = path.join(dir, 'host');
  await fsp.mkdir(host);
  await fsp.writeFile(path.join(host, 'precious'), 'p');
  const s = store();
  s.cms.set('ns/cfg', cm('cfg', { a: '1' }));
  const podDir = path.join(dir, 'pod');
  const vols = new PodVolumes({ podDir, lookup: s });
  await vols.setUp(pod([{ name: 'h', hostPath: { path: host } }, { name: 'c', configMap: { name: 'cfg' } }, { name: 'e', emptyDir: {} }]));
  // A link to the host dir inside a volume must not be followed either.
  await fsp.symlink(host, path.join(podDir, 'volumes/kubernetes.io~empty-dir/e/link'));
  await vols.tearDown();
  await assert.rejects(fsp.stat(path.join(podDir, 'volumes')));
  assert.equal(await fsp.readFile(path.join(host, 'precious'), 'utf8'), 'p');
  await vols.tearDown(); // idempotent
});

test('referencedObjects lists configMaps and secrets from volumes, projections, env and envFrom', () => {
  const cases: { name: string; pod: KObject; want: { configMaps: string[]; secrets: string[] } }[] = [
    { name: 'nothing', pod: pod([]), want: { configMaps: [], secrets: [] } },
    {
      name: 'everything',
      pod: pod(
        [
          { name: 'a', configMap: { name: 'vol-cm' } },
          { name: 'b', secret: { secretName: 'vol-secret' } },
          { name: 'c', projected: { sources: [{ configMap: { name: 'proj-cm' } }, { secret: { name: 'proj-secret' } }, { downwardAPI: { items: [] } }] } },
          { name: 'd', emptyDir: {} },
        ],
        {
          initContainers: [{ name: 'i', envFrom: [{ configMapRef: { name: 'init-cm' } }] }],
          containers: [
            {
              name: 'c',
              env: [
                { name: 'A', valueFrom: { configMapKeyRef: { name: 'env-cm', key: 'k' } } },
                { name: 'B', valueFrom: { secretKeyRef: { name: 'env-secret', key: 'k' } } },
                { name: 'C', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
                { name: 'D', value: 'x' },
              ],
              envFrom: [{ secretRef: { name: 'from-secret' } }, { configMapRef: { name: 'vol-cm' } }],
            },
          ],
        },
      ),
      want: { configMaps: ['env-cm', 'init-cm', 'proj-cm', 'vol-cm'], secrets: ['env-secret', 'from-secret', 'proj-secret', 'vol-secret'] },
    },
  ];
  for (const c of cases) assert.deepEqual(referencedObjects(c.pod), c.want, c.name);
});
