import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { volumeFiles, type VolumeContext } from './contents.js';
import { formatMap, goQuote } from '../downward.js';

const pod: KObject = {
  metadata: { name: 'web-1', namespace: 'ns1', uid: 'u-1', labels: { b: '2', a: 'x"y' }, annotations: { note: 'hi' } },
  spec: {
    containers: [
      { name: 'app', resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } } },
      { name: 'side', resources: {} },
    ],
  },
};
const objects: Record<string, KObject> = {
  'cm/ns1/cfg': { metadata: { name: 'cfg', namespace: 'ns1' }, data: { 'a.txt': 'alpha', b: 'beta' }, binaryData: { bin: Buffer.from([0, 1, 2]).toString('base64') } },
  'secret/ns1/sec': { metadata: { name: 'sec', namespace: 'ns1' }, data: { password: Buffer.from('s3cr3t').toString('base64') } },
};
const ctx: VolumeContext = {
  pod,
  configMaps: (ns, n) => objects[`cm/${ns}/${n}`],
  secrets: (ns, n) => objects[`secret/${ns}/${n}`],
  nodeAllocatable: { cpu: '4', memory: '8Gi' },
};

type Row = { name: string; volume: Record<string, unknown>; files?: [string, string, number][]; error?: string; notes?: number };
const rows: Row[] = [
  { name: 'emptyDir has no files', volume: { name: 'v', emptyDir: {} }, files: [] },
  {
    name: 'configMap data + binaryData, default mode',
    volume: { configMap: { name: 'cfg' } },
    files: [['a.txt', 'alpha', 0o644], ['b', 'beta', 0o644], ['bin', '\x00\x01\x02', 0o644]],
  },
  { name: 'configMap defaultMode', volume: { configMap: { name: 'cfg', defaultMode: 0o400, items: [{ key: 'b', path: 'x/b' }] } }, files: [['x/b', 'beta', 0o400]] },
  {
    name: 'configMap items with per-item mode',
    volume: { configMap: { name: 'cfg', items: [{ key: 'a.txt', path: 'conf/a', mode: 0o600 }, { key: 'b', path: 'b2' }] } },
    files: [['b2', 'beta', 0o644], ['conf/a', 'alpha', 0o600]],
  },
  { name: 'missing configMap', volume: { configMap: { name: 'nope' } }, error: 'configmap "nope" not found' },
  { name: 'missing optional configMap', volume: { configMap: { name: 'nope', optional: true } }, files: [] },
  { name: 'missing key', volume: { configMap: { name: 'cfg', items: [{ key: 'k', path: 'k' }] } }, error: 'configmap references non-existent config key: k' },
  { name: 'missing key, optional', volume: { configMap: { name: 'cfg', optional: true, items: [{ key: 'k', path: 'k' }, { key: 'b', path: 'b' }] } }, files: [['b', 'beta', 0o644]] },
  { name: 'secret decoded', volume: { secret: { secretName: 'sec' } }, files: [['password', 's3cr3t', 0o644]] },
  { name: 'missing secret', volume: { secret: { secretName: 'gone' } }, error: 'secret "gone" not found' },
  { name: 'secret missing key', volume: { secret: { secretName: 'sec', items: [{ key: 'user', path: 'u' }] } }, error: 'secret references non-existent secret key: user' },
  { name: 'path with ..', volume: { configMap: { name: 'cfg', items: [{ key: 'b', path: 'a/../../etc' }] } }, error: `invalid path "a/../../etc": must not contain '..'` },
  { name: 'absolute path', volume: { configMap: { name: 'cfg', items: [{ key: 'b', path: '/etc/x' }] } }, error: 'invalid path "/etc/x": must be a relative path' },
  { name: 'path starting with ..', volume: { configMap: { name: 'cfg', items: [{ key: 'b', path: '..data' }] } }, error: `invalid path "..data": must not start with '..'` },
  {
    name: 'downwardAPI metadata',
    volume: {
      downwardAPI: {
        items: [
          { path: 'name', fieldRef: { fieldPath: 'metadata.name' } },
          { path: 'ns', fieldRef: { fieldPath: 'metadata.namespace' } },
          { path: 'uid', fieldRef: { fieldPath: 'metadata.uid' }, mode: 0o600 },
          { path: 'labels', fieldRef: { fieldPath: 'metadata.labels' } },
          { path: 'annotations', fieldRef: { fieldPath: 'metadata.annotations' } },
          { path: 'one', fieldRef: { fieldPath: "metadata.labels['b']" } },
        ],
      },
    },
    files: [
      ['annotations', 'note="hi"', 0o644],
      ['labels', 'a="x\\"y"\nb="2"', 0o644],
      ['name', 'web-1', 0o644],
      ['ns', 'ns1', 0o644],
      ['one', '2', 0o644],
      ['uid', 'u-1', 0o600],
    ],
  },
  {
    name: 'downwardAPI resourceFieldRef',
    volume: {
      downwardAPI: {
        items: [
          { path: 'cpu_limit', resourceFieldRef: { containerName: 'app', resource: 'limits.cpu', divisor: '1m' } },
          { path: 'cpu_req', resourceFieldRef: { containerName: 'app', resource: 'requests.cpu' } },
          { path: 'mem_limit', resourceFieldRef: { containerName: 'app', resource: 'limits.memory', divisor: '1Mi' } },
          { path: 'side_mem', resourceFieldRef: { containerName: 'side', resource: 'limits.memory' } },
        ],
      },
    },
    files: [['cpu_limit', '500', 0o644], ['cpu_req', '1', 0o644], ['mem_limit', '128', 0o644], ['side_mem', String(8 * 2 ** 30), 0o644]],
  },
  { name: 'unsupported fieldPath', volume: { downwardAPI: { items: [{ path: 'n', fieldRef: { fieldPath: 'spec.nodeName' } }] } }, error: 'unsupported fieldPath: spec.nodeName' },
  {
    name: 'projected combines sources with projected defaultMode; token skipped',
    volume: {
      projected: {
        defaultMode: 0o440,
        sources: [
          { configMap: { name: 'cfg', items: [{ key: 'b', path: 'b' }] } },
          { secret: { name: 'sec', items: [{ key: 'password', path: 'pw', mode: 0o400 }] } },
          { downwardAPI: { items: [{ path: 'name', fieldRef: { fieldPath: 'metadata.name' } }] } },
          { serviceAccountToken: { path: 'token' } },
        ],
      },
    },
    files: [['b', 'beta', 0o440], ['name', 'web-1', 0o440], ['pw', 's3cr3t', 0o400]],
    notes: 1,
  },
  { name: 'projected missing secret', volume: { projected: { sources: [{ secret: { name: 'gone' } }] } }, error: 'secret "gone" not found' },
];

for (const r of rows) {
  test(`volumeFiles: ${r.name}`, () => {
    const got = volumeFiles(r.volume, ctx);
    assert.equal(got.error, r.error);
    if (r.error !== undefined) {
      assert.deepEqual(got.files, []);
      return;
    }
    assert.deepEqual(
      got.files.map((f) => [f.path, f.content.toString('latin1'), f.mode]),
      r.files,
    );
    assert.equal(got.notes?.length ?? 0, r.notes ?? 0);
  });
}

test('formatMap sorts and quotes like Go %q', () => {
  assert.equal(formatMap({}), '');
  assert.equal(formatMap({ z: '1', a: 'tab\there', m: 'ü' }), 'a="tab\\there"\nm="ü"\nz="1"');
  assert.equal(goQuote('a\\b\x01'), '"a\\\\b\\x01"');
});
