/**
 * Issue 3, acceptance 4 and 5: `kubelite backup` while the cluster serves and writes continue
 * gives a snapshot consistent at one revision; restoring it into an empty store of another
 * kind (a new sqlite data dir; etcd when available) brings back every object identically and a
 * client-node informer started afterwards lists them all; damaged files and non-empty or busy
 * targets are refused with a clear message and change nothing.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type TestCluster } from './harness.js';
import { backup } from '../src/cli/backup.js';
import { storedResources, type BackupRecord } from '../src/cli/backup-format.js';
import { openBackend } from '../src/storage/registry.js';
import type { KObject } from '../src/api/types.js';
import type { RunningCluster } from '../src/cli/up.js';
import { clusterHttp, listAll, startEtcdBackend, startOn, type Objects } from './backup-helpers.js';

const ROOT = new URL('..', import.meta.url).pathname;

function cli(args: string[]): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...(args[0] === 'up' ? ['up', '--disable-agent', ...args.slice(1)] : args)], { stdio: ['ignore', 'pipe', 'pipe'], cwd: ROOT });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (out += d));
    child.on('exit', (code) => resolve({ code, out }));
  });
}

/** Every key/value under /registry/ of a stopped store, plus its revision. */
async function dumpStore(url: string): Promise<{ revision: number; kvs: [string, string][] }> {
  const b = await openBackend(url);
  try {
    const page = await b.list('/registry/');
    return { revision: await b.currentRevision(), kvs: page.items.map((kv) => [kv.key, kv.value]) };
  } finally {
    await b.close();
  }
}

function recordsOf(file: string): { header: Record<string, unknown>; records: BackupRecord[] } {
  const lines = gunzipSync(readFileSync(file)).toString('utf8').trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>);
  return { header: lines[0]!, records: lines.slice(1, -1) as unknown as BackupRecord[] };
}

function idOf(r: { group: string; plural: string; namespace?: string; name: string }): string {
  return `${r.group}/${r.plural}/${r.namespace ?? ''}/${r.name}`;
}

/** Objects the API server rewrites on every start (they point at the current listen port). */
const REWRITTEN_ON_START = new Set(['/endpoints/default/kubernetes', 'discovery.k8s.io/endpointslices/default/kubernetes']);

function assertSameObjects(actual: Objects, expected: Objects, what: string): void {
  assert.deepEqual([...actual.keys()].sort(), [...expected.keys()].sort(), `${what}: the same objects`);
  for (const [id, obj] of expected) {
    if (REWRITTEN_ON_START.has(id)) continue;
    assert.deepEqual(actual.get(id), obj, `${what}: ${id} is identical`);
  }
}

const SECRET_VALUE = 'c3VwZXItc2VjcmV0LXZhbHVlLTQy'; // base64("super-secret-value-42")

async function seed(c: TestCluster): Promise<void> {
  const post = async (path: string, body: Record<string, unknown>): Promise<KObject> => {
    const r = await c.http('POST', path, { body: JSON.stringify(body) });
    assert.equal(r.status, 201, `POST ${path}: ${r.body}`);
    return r.json<KObject>();
  };
  for (const name of ['shop', 'churn']) {
    await post('/api/v1/namespaces', { metadata: { name, labels: { team: name }, annotations: { 'example.com/owner': 'ops' } } });
  }
  const labels = { app: 'web', tier: 'front' };
  const template = { metadata: { labels }, spec: { containers: [{ name: 'web', image: 'nginx:1.27', ports: [{ containerPort: 80 }] }] } };
  const deploy = await post('/apis/apps/v1/namespaces/shop/deployments', {
    metadata: { name: 'web', labels, annotations: { 'deployment.kubernetes.io/revision': '1' } },
    spec: { replicas: 2, selector: { matchLabels: labels }, template },
  });
  const ownerOf = (o: KObject, kind: string, apiVersion: string): Record<string, unknown> => ({ apiVersion, kind, name: o.metadata.name, uid: o.metadata.uid, controller: true, blockOwnerDeletion: true });
  const rs = await post('/apis/apps/v1/namespaces/shop/replicasets', {
    metadata: { name: 'web-5d8f', labels, ownerReferences: [ownerOf(deploy, 'Deployment', 'apps/v1')] },
    spec: { replicas: 2, selector: { matchLabels: labels }, template },
  });
  await post('/api/v1/namespaces/shop/pods', { metadata: { name: 'web-5d8f-x1', labels, ownerReferences: [ownerOf(rs, 'ReplicaSet', 'apps/v1')] }, spec: template.spec });
  await post('/api/v1/namespaces/shop/services', { metadata: { name: 'web', labels }, spec: { clusterIP: '10.96.200.7', selector: labels, ports: [{ port: 80, targetPort: 8080 }] } });
  await post('/api/v1/namespaces/shop/services', { metadata: { name: 'np' }, spec: { type: 'NodePort', selector: labels, ports: [{ port: 81 }] } });
  await post('/api/v1/namespaces/shop/configmaps', { metadata: { name: 'cfg', labels: { k: 'v' } }, data: { 'app.properties': 'a=1\nb=2\n' } });
  await post('/api/v1/namespaces/shop/secrets', { metadata: { name: 'creds' }, type: 'Opaque', data: { password: SECRET_VALUE } });
  await post('/apis/autoscaling/v2/namespaces/shop/horizontalpodautoscalers', {
    metadata: { name: 'web' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 5, metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 70 } } }] },
  });
  // Served through the autoscaling/v1 alias: stored (and backed up) once, as v2.
  await post('/apis/autoscaling/v1/namespaces/shop/horizontalpodautoscalers', {
    metadata: { name: 'v1-hpa' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 },
  });
  await post('/apis/coordination.k8s.io/v1/namespaces/kube-node-lease/leases', { metadata: { name: 'node-1' }, spec: { holderIdentity: 'node-1', leaseDurationSeconds: 40 } });
  await post('/api/v1/nodes', { metadata: { name: 'node-1', labels: { 'kubernetes.io/hostname': 'node-1' } } });
}

/** One logged write; deletes answer with a Status, which carries no revision, so their rv is NaN. */
interface Op { name: string; rv: number; op: 'put' | 'delete'; v?: string }

/** Two writers churning ConfigMaps in namespace "churn" until stopped; every write logged with its revision. */
function churn(c: TestCluster): { ops: Op[]; stop: () => Promise<void> } {
  const ops: Op[] = [];
  let stopping = false;
  const stream = async (w: number): Promise<void> => {
    for (let i = 0; !stopping; i++) {
      const name = `churn-${w}-${i}`;
      const path = '/api/v1/namespaces/churn/configmaps';
      let r = await c.http('POST', path, { body: JSON.stringify({ metadata: { name }, data: { v: '0' } }) });
      assert.equal(r.status, 201, r.body);
      ops.push({ name, op: 'put', v: '0', rv: Number(r.json<KObject>().metadata.resourceVersion) });
      for (let u = 1; u <= 2; u++) {
        r = await c.http('PUT', `${path}/${name}`, { body: JSON.stringify({ metadata: { name }, data: { v: String(u) } }) });
        assert.equal(r.status, 200, r.body);
        ops.push({ name, op: 'put', v: String(u), rv: Number(r.json<KObject>().metadata.resourceVersion) });
      }
      if (i % 2 === 0) {
        r = await c.http('DELETE', `${path}/${name}`);
        assert.equal(r.status, 200, r.body);
        ops.push({ name, op: 'delete', rv: Number(r.json<KObject>().metadata.resourceVersion) });
      }
    }
  };
  const done = Promise.all([0, 1].map(stream));
  return { ops, stop: async () => { stopping = true; await done; } };
}

/** Starts an informer on `path` and resolves with its cache once it has listed. */
async function informerList<T extends k8s.KubernetesObject>(kubeconfig: string, path: string, list: (kc: k8s.KubeConfig) => Promise<k8s.KubernetesListObject<T>>): Promise<T[]> {
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(kubeconfig);
  const informer = k8s.makeInformer(kc, path, () => list(kc));
  const errors: unknown[] = [];
  informer.on('error', (e) => errors.push(e));
  await informer.start();
  const items = [...informer.list()];
  const errorsWhileRunning = [...errors];
  await informer.stop();
  assert.deepEqual(errorsWhileRunning, []);
  return items;
}

/** What a cluster started on a restored store must show: the same objects, informers see them, allocations kept. */
async function checkRestoredCluster(c: RunningCluster, expected: Objects, what: string): Promise<void> {
  const http = clusterHttp(c);
  assertSameObjects(await listAll(http), expected, what);
  const cms = await informerList(c.kubeconfig, '/api/v1/configmaps', (kc) => kc.makeApiClient(k8s.CoreV1Api).listConfigMapForAllNamespaces());
  const wantCms = [...expected.values()].filter((o) => o.kind === 'ConfigMap');
  assert.deepEqual(cms.map((o) => `${o.metadata!.namespace}/${o.metadata!.name}/${o.metadata!.uid}`).sort(), wantCms.map((o) => `${o.metadata.namespace}/${o.metadata.name}/${o.metadata.uid}`).sort(), `${what}: the informer lists every ConfigMap`);
  const deps = await informerList(c.kubeconfig, '/apis/apps/v1/deployments', (kc) => kc.makeApiClient(k8s.AppsV1Api).listDeploymentForAllNamespaces());
  assert.deepEqual(deps.map((d) => d.metadata!.name), ['web']);
  // The ClusterIP allocator was rebuilt from the restored Services: their IPs are taken.
  const r = await http('POST', '/api/v1/namespaces/shop/services', { metadata: { name: 'steal' }, spec: { clusterIP: '10.96.200.7', ports: [{ port: 80 }] } });
  assert.equal(r.status, 422, `${what}: a restored clusterIP must stay allocated: ${r.body}`);
  assert.match(r.body, /already allocated/);
}

describe('kubelite backup and restore', () => {
  const tmp = mkdtempSync(join(tmpdir(), 'kubelite-backup-'));
  const file = join(tmp, 'backup.gz');
  let expected: Objects;
  let revision = 0;
  after(() => rmSync(tmp, { recursive: true, force: true }));

  before(async () => {
    const src = await startCluster({ store: 'sqlite' });
    try {
      await seed(src);
      const writer = churn(src);
      // Let the writers get going, then snapshot with tiny pages so many requests interleave with writes.
      while (writer.ops.length < 20) await new Promise((r) => setTimeout(r, 10));
      let result;
      try {
        result = await backup({ kubeconfig: src.kubeconfig, out: file, pageSize: 2 });
      } finally {
        await writer.stop();
      }
      revision = result.revision;
      assert.ok(writer.ops.some((o) => o.rv < revision) && writer.ops.some((o) => o.rv > revision), 'writes happened before and after R');
      assert.ok(writer.ops.some((o) => o.op === 'delete'), 'deletes happened too');
      // The truth at R, independent of the backup code path: the store itself, read at R...
      const churnAtR = new Map<string, string>();
      for (const name of new Set(writer.ops.map((o) => o.name))) {
        const kv = await src.server.registry.backend.get(`/registry/configmaps/churn/${name}`, { revision });
        if (kv) churnAtR.set(name, (JSON.parse(kv.value) as { data: { v: string } }).data.v);
      }
      assert.ok(churnAtR.size > 0);
      const { records } = recordsOf(file);
      const inFile = new Map(records.filter((r) => r.namespace === 'churn').map((r) => [r.name, (r.object as { data?: { v?: string } }).data?.v]));
      assert.deepEqual(new Map([...inFile].sort()), new Map([...churnAtR].sort()), 'churned ConfigMaps exactly as at R');
      // ...and the server's own read at R.
      expected = await listAll(clusterHttp(src), revision);
      assert.equal(result.count, expected.size);
    } finally {
      await src.close();
    }
  });

  it('writes a private file whose objects are exactly the store at one revision', () => {
    assert.equal(statSync(file).mode & 0o777, 0o600, 'the backup holds Secrets: mode 0600');
    const { header, records } = recordsOf(file);
    assert.equal(header.format, 'kubelite-backup/v1');
    assert.equal(header.revision, revision);
    const fromFile: Objects = new Map(records.map((r) => [idOf(r), r.object]));
    assertSameObjects(fromFile, expected, 'file');
    for (const id of REWRITTEN_ON_START) assert.deepEqual(fromFile.get(id), expected.get(id));
    assert.equal(records.filter((r) => r.plural === 'horizontalpodautoscalers').length, 2, 'HPAs once each, whatever version created them');
    assert.ok(records.every((r) => r.object.metadata.resourceVersion === undefined));
    const plurals = new Set(records.map((r) => r.plural));
    for (const p of ['namespaces', 'deployments', 'replicasets', 'pods', 'services', 'configmaps', 'secrets', 'leases', 'nodes']) assert.ok(plurals.has(p), p);
  });

  it('restores into an empty sqlite store of a new data dir; the cluster serves every object, identical', async () => {
    const dir = join(tmp, 'restored');
    const r = await cli(['restore', file, '--data-dir', dir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, new RegExp(`restored ${expected.size} objects from the backup of revision ${revision}`));
    assert.ok(!r.out.includes(SECRET_VALUE) && !r.out.includes('super-secret'), 'never prints secret data');
    const c = await startCluster({ dir });
    try {
      await checkRestoredCluster(c, expected, 'sqlite');
    } finally {
      await c.close();
    }
  });

  it('round-trips sqlite -> etcd -> sqlite (when etcd and the etcd backend are available)', async (t) => {
    const etcd = await startEtcdBackend();
    if (typeof etcd === 'string') {
      t.skip(etcd);
      return;
    }
    try {
      const r = await cli(['restore', file, '--store', etcd.url]);
      assert.equal(r.code, 0, r.out);
      const c = await startOn(join(tmp, 'on-etcd'), etcd.url);
      let again: string;
      try {
        await checkRestoredCluster(c, expected, 'etcd');
        again = join(tmp, 'from-etcd.gz');
        const b = await cli(['backup', '--kubeconfig', c.kubeconfig, '--out', again]);
        assert.equal(b.code, 0, b.out);
      } finally {
        await c.stop();
      }
      const back = join(tmp, 'back-on-sqlite');
      const r2 = await cli(['restore', again, '--data-dir', back]);
      assert.equal(r2.code, 0, r2.out);
      const c2 = await startCluster({ dir: back });
      try {
        assertSameObjects(await listAll(clusterHttp(c2)), expected, 'etcd -> sqlite');
      } finally {
        await c2.close();
      }
    } finally {
      await etcd.stop();
    }
  });

  describe('damaged files change nothing', () => {
    const good = (): Buffer => readFileSync(file);
    const text = (): string => gunzipSync(good()).toString('utf8');
    const lines = (): string[] => text().trimEnd().split('\n');
    const cases: { name: string; make: () => Buffer; message: RegExp }[] = [
      { name: 'truncated file', make: () => good().subarray(0, Math.floor(good().length / 2)), message: /backup is truncated or corrupt: cannot decompress/ },
      {
        name: 'one byte flipped in the compressed data',
        make: () => { const b = Buffer.from(good()); b[Math.floor(b.length / 2)]! ^= 0x01; return b; },
        message: /backup is truncated or corrupt|checksum mismatch/,
      },
      {
        name: 'one byte changed inside an object (re-compressed)',
        make: () => gzipSync(Buffer.from(text().replace('"replicas":2', '"replicas":3'))),
        message: /backup checksum mismatch: the file was modified or damaged/,
      },
      {
        name: 'wrong checksum',
        make: () => { const l = lines(); l[l.length - 1] = l[l.length - 1]!.replace(/"sha256":"[0-9a-f]/, (m) => m.slice(0, -1) + (m.endsWith('0') ? '1' : '0')); return gzipSync(`${l.join('\n')}\n`); },
        message: /backup checksum mismatch/,
      },
      { name: 'cut at a line boundary (no trailer)', make: () => gzipSync(`${lines().slice(0, 5).join('\n')}\n`), message: /backup is truncated: the trailer \(count and checksum\) is missing/ },
      { name: 'a text file', make: () => Buffer.from('apiVersion: v1\nkind: List\n'), message: /not a kubelite backup: the file is not gzip-compressed/ },
      { name: 'gzip of something else', make: () => gzipSync('{"kind":"List","items":[]}\n'), message: /not a kubelite backup: expected format kubelite-backup\/v1/ },
    ];

    it('into an empty target: exits 1 with a clear message, creates no store', async () => {
      await Promise.all(cases.map(async (c, i) => {
        const bad = join(tmp, `bad-${i}.gz`);
        writeFileSync(bad, c.make());
        const dir = join(tmp, `bad-target-${i}`);
        const r = await cli(['restore', bad, '--data-dir', dir]);
        assert.equal(r.code, 1, `${c.name}: ${r.out}`);
        assert.match(r.out, c.message, c.name);
        assert.ok(!existsSync(join(dir, 'state.db')), `${c.name}: no store created`);
      }));
    });

    it('into a non-empty target, even with --force: the store stays exactly as it was', async () => {
      const dir = join(tmp, 'full-target');
      assert.equal((await cli(['restore', file, '--data-dir', dir])).code, 0);
      const before = await dumpStore(`sqlite://${join(dir, 'state.db')}`);
      for (const i of [0, 2, 3]) {
        const r = await cli(['restore', join(tmp, `bad-${i}.gz`), '--data-dir', dir, '--force']);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, cases[i]!.message);
      }
      assert.deepEqual(await dumpStore(`sqlite://${join(dir, 'state.db')}`), before);
    });
  });

  describe('refusals', () => {
    it('refuses a non-empty store without --force, replaces it with --force', async () => {
      const dir = join(tmp, 'nonempty');
      const store = `sqlite://${join(dir, 'state.db')}`;
      const b = await openBackend(store);
      await b.create('/registry/configmaps/default/old', JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'old', namespace: 'default' } }));
      await b.close();
      const before = await dumpStore(store);
      const r = await cli(['restore', file, '--store', store]);
      assert.equal(r.code, 1, r.out);
      assert.match(r.out, /the store sqlite:\/\/.* is not empty \(1 objects\).*pass --force/);
      assert.deepEqual(await dumpStore(store), before, 'unchanged');
      const f = await cli(['restore', file, '--store', store, '--force']);
      assert.equal(f.code, 0, f.out);
      assert.match(f.out, /replaced 1 existing objects/);
      const after = await dumpStore(store);
      assert.equal(after.kvs.length, expected.size);
      assert.ok(!after.kvs.some(([k]) => k.endsWith('/default/old')));
    });

    it('refuses while a kubelite runs on the data dir: "stop kubelite first"', async () => {
      const dir = join(tmp, 'busy');
      const c = await startCluster({ dir });
      try {
        // Leases renew every 2 s while the CLI runs: compare everything else.
        const withoutLeases = (m: Objects): Objects => new Map([...m].filter(([k]) => !k.startsWith('coordination.k8s.io/leases/')));
        const before = withoutLeases(await listAll(clusterHttp(c)));
        const r = await cli(['restore', file, '--data-dir', dir, '--force']);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /kubelite is running on .*busy \(pid \d+\): stop kubelite first/);
        assert.deepEqual(withoutLeases(await listAll(clusterHttp(c))), before);
      } finally {
        await c.close();
      }
    });

    it('refuses a sqlite file another process holds open: "stop kubelite first"', async () => {
      const store = `sqlite://${join(tmp, 'held', 'other.db')}`;
      const held = await openBackend(store);
      try {
        const r = await cli(['restore', file, '--store', store]);
        assert.equal(r.code, 1, r.out);
        assert.match(r.out, /the store sqlite:\/\/.*other\.db is locked by another process .*: stop kubelite first/);
        assert.equal(await held.count('/registry/'), 0);
      } finally {
        await held.close();
      }
    });

    it('backup and restore reject bad usage', async () => {
      const [a, b, d] = await Promise.all([cli(['backup']), cli(['restore']), cli(['backup', '--out', join(tmp, 'x.gz'), '--kubeconfig', join(tmp, 'nope')])]);
      assert.equal(a.code, 2);
      assert.match(a.out, /--out FILE is required/);
      assert.equal(b.code, 2);
      assert.match(b.out, /expected exactly one backup FILE/);
      assert.equal(d.code, 1);
      assert.match(d.out, /cannot read kubeconfig/);
      assert.ok(!existsSync(join(tmp, 'x.gz')));
    });
  });

  it('covers every stored resource once', () => {
    const ids = storedResources().map((r) => `${r.group}/${r.plural}`);
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(!ids.includes('/bindings'));
    assert.ok(ids.includes('autoscaling/horizontalpodautoscalers') && ids.includes('/events') && !ids.includes('events.k8s.io/events'));
  });
});
