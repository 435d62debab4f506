import { test } from 'node:test';
import assert from 'node:assert/strict';
import {
  capManagers,
  computeFieldSet,
  decodeManagedFields,
  defaultManager,
  encodeManagedFields,
  setManagedFields,
  updateManagedFields,
  type ManagedFieldsEntry,
  type UpdateOptions,
} from './managedfields.js';
import { FieldSet } from './fieldpath.js';
import { CONFIGMAP, DEFS, DEPLOYMENT, liveDeployment } from './testfixtures.js';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-02T00:00:00Z';
const o = (manager: string, now = T1, extra: Partial<UpdateOptions> = {}): UpdateOptions => ({ manager, apiVersion: 'apps/v1', now, ...extra });

test('defaultManager mirrors kube: prefix before "/", printable only, at most 128 bytes', () => {
  const cases: [string, string][] = [
    ['kubectl-client-side-apply/v1.32.0 (linux/amd64) kubernetes/abc', 'kubectl-client-side-apply'],
    ['kubectl-edit/v1.32.0 (linux/amd64) kubernetes/abc', 'kubectl-edit'],
    ['kubectl/v1.32.0 (darwin/arm64) kubernetes/abc', 'kubectl'],
    ['node-fetch', 'node-fetch'],
    ['bad\u0007agent/1', 'badagent'],
    ['x'.repeat(200), 'x'.repeat(128)],
    ['é'.repeat(100), 'é'.repeat(64)],
    ['', ''],
  ];
  for (const [ua, want] of cases) assert.equal(defaultManager(ua), want, ua);
});

test('create by an updater owns everything it set, with "." where kube puts it', () => {
  const mf = updateManagedFields(DEFS, DEPLOYMENT, undefined, liveDeployment(), o('kubectl-client-side-apply', T0));
  assert.equal(mf.length, 1);
  const e = mf[0]!;
  assert.deepEqual([e.manager, e.operation, e.apiVersion, e.time, e.fieldsType], ['kubectl-client-side-apply', 'Update', 'apps/v1', T0, 'FieldsV1']);
  const v1 = e.fieldsV1 as any;
  assert.deepEqual(v1['f:metadata'], { 'f:labels': { '.': {}, 'f:app': {} } }, 'name/namespace/uid/resourceVersion are untracked');
  assert.equal('.' in v1['f:spec'], false, 'spec exists on the zero object');
  assert.equal('.' in v1['f:spec']['f:template']['f:spec']['f:containers'], false, 'containers is not omitempty');
  assert.deepEqual(v1['f:spec']['f:strategy']['f:rollingUpdate'], { '.': {}, 'f:maxSurge': {}, 'f:maxUnavailable': {} });
  assert.deepEqual(v1['f:spec']['f:selector'], {});
  assert.equal('f:status' in v1, false, 'status is reset on the main resource');
  assert.deepEqual(Object.keys(e), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
});

test('an update takes the fields it changes from other managers', () => {
  const live = liveDeployment();
  setManagedFields(live, updateManagedFields(DEFS, DEPLOYMENT, undefined, live, o('creator', T0)));
  const next = structuredClone(live);
  next.spec.replicas = 9;
  delete next.spec.template.spec.containers[0].env;
  const mf = updateManagedFields(DEFS, DEPLOYMENT, live, next, o('kubectl-edit'));
  const byName = new Map(mf.map((e) => [e.manager, e]));
  assert.deepEqual(byName.get('kubectl-edit')!.fieldsV1, { 'f:spec': { 'f:replicas': {} } });
  const creator = byName.get('creator')!.fieldsV1 as any;
  assert.equal('f:replicas' in creator['f:spec'], false);
  assert.equal('f:env' in creator['f:spec']['f:template']['f:spec']['f:containers']['k:{"name":"nginx"}'], false, 'removed fields leave every set');
  assert.equal(byName.get('creator')!.time, T0, 'other managers keep their time');
  assert.deepEqual(mf.map((e) => e.manager), ['creator', 'kubectl-edit'], 'sorted by time');
});

test('an update that changes nothing leaves managedFields as they were', () => {
  const live = liveDeployment();
  const mf0 = updateManagedFields(DEFS, DEPLOYMENT, undefined, live, o('creator', T0));
  setManagedFields(live, mf0);
  assert.deepEqual(updateManagedFields(DEFS, DEPLOYMENT, live, structuredClone(live), o('someone')), mf0);
});

test('a repeated update by the same manager unions its fields and bumps the time', () => {
  const live = liveDeployment();
  setManagedFields(live, updateManagedFields(DEFS, DEPLOYMENT, undefined, live, o('creator', T0)));
  const a = structuredClone(live);
  a.spec.replicas = 3;
  setManagedFields(a, updateManagedFields(DEFS, DEPLOYMENT, live, a, o('ed', T0)));
  const b = structuredClone(a);
  b.spec.paused = true;
  const mf = updateManagedFields(DEFS, DEPLOYMENT, a, b, o('ed', T1));
  const ed = mf.find((e) => e.manager === 'ed')!;
  assert.deepEqual(ed.fieldsV1, { 'f:spec': { 'f:paused': {}, 'f:replicas': {} } });
  assert.equal(ed.time, T1);
});

test('an existing object without managedFields stays untracked; [{}] resets tracking', () => {
  const live = liveDeployment();
  const next = structuredClone(live);
  next.spec.replicas = 4;
  assert.deepEqual(updateManagedFields(DEFS, DEPLOYMENT, live, next, o('x')), []);
  setManagedFields(live, updateManagedFields(DEFS, DEPLOYMENT, undefined, live, o('creator', T0)));
  const reset = structuredClone(live);
  reset.metadata.managedFields = [{}];
  assert.deepEqual(updateManagedFields(DEFS, DEPLOYMENT, live, reset, o('x')), []);
});

test('status subresource updates own status only and are tagged', () => {
  const live = liveDeployment();
  setManagedFields(live, updateManagedFields(DEFS, DEPLOYMENT, undefined, live, o('creator', T0)));
  const next = structuredClone(live);
  next.status = { replicas: 2, readyReplicas: 2 };
  next.spec.replicas = 100; // reset by the status strategy; never owned
  const mf = updateManagedFields(DEFS, DEPLOYMENT, live, next, o('controller', T1, { subresource: 'status' }));
  const e = mf.find((x) => x.manager === 'controller')!;
  assert.equal(e.subresource, 'status');
  assert.deepEqual(e.fieldsV1, { 'f:status': { 'f:readyReplicas': {} } });
});

test('a ConfigMap data map added on create gets "."', () => {
  const cm = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c' }, data: { k: 'v' } };
  const mf = updateManagedFields(DEFS, CONFIGMAP, undefined, cm, { manager: 'kubectl-create', apiVersion: 'v1', now: T0 });
  assert.deepEqual(mf[0]!.fieldsV1, { 'f:data': { '.': {}, 'f:k': {} } });
});

test('more than 10 updaters fold the oldest into ancient-changes', () => {
  const entries: ManagedFieldsEntry[] = Array.from({ length: 12 }, (_, i) => ({
    manager: `m${String(i).padStart(2, '0')}`,
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: new Date(Date.UTC(2024, 0, 1, i)).toISOString().replace('.000', ''),
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:spec': { [`f:f${i}`]: {} } },
  }));
  const managed = decodeManagedFields(entries);
  capManagers(managed);
  const out = encodeManagedFields(managed);
  assert.equal(out.length, 10);
  const ancient = out.find((e) => e.manager === 'ancient-changes')!;
  assert.deepEqual(ancient.fieldsV1, { 'f:spec': { 'f:f0': {}, 'f:f1': {}, 'f:f2': {} } });
  assert.equal(ancient.time, entries[2]!.time);
});

test('decode/encode round trip and identity (Apply entries ignore apiVersion)', () => {
  const entries: ManagedFieldsEntry[] = [
    { manager: 'b', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:replicas': {} } } },
    { manager: 'a', operation: 'Apply', apiVersion: 'apps/v1', time: T1, fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:paused': {} } } },
    { manager: 'c', operation: 'Update', apiVersion: 'apps/v1', time: T0, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:replicas': {} } }, subresource: 'status' },
  ];
  const m = decodeManagedFields(entries);
  assert.deepEqual([...m.keys()], [
    '{"manager":"b","operation":"Update","apiVersion":"apps/v1"}',
    '{"manager":"a","operation":"Apply"}',
    '{"manager":"c","operation":"Update","apiVersion":"apps/v1","subresource":"status"}',
  ]);
  assert.deepEqual(encodeManagedFields(m), [entries[1], entries[0], entries[2]]);
  assert.throws(() => decodeManagedFields([{ manager: 'x', operation: 'Apply', fieldsType: 'FieldsV2', fieldsV1: {} }]));
});

test('computeFieldSet lists leaves, atomic values and list items', () => {
  const s = computeFieldSet(DEFS, DEPLOYMENT, { spec: { replicas: 1, selector: { matchLabels: { a: 'b' } }, template: { spec: { containers: [{ name: 'c' }] } } } });
  const want = FieldSet.fromFieldsV1({
    'f:spec': { 'f:replicas': {}, 'f:selector': {}, 'f:template': { 'f:spec': { 'f:containers': { 'k:{"name":"c"}': { '.': {}, 'f:name': {} } } } } },
  });
  assert.deepEqual(s.toFieldsV1(), want.toFieldsV1());
});

test('computeFieldSet: map entries are members even when their value is a map', () => {
  const s = computeFieldSet(DEFS, 'test.core.Service', { spec: { extra: { a: { x: 1 } }, selector: { k: 'v' } } });
  assert.deepEqual(s.toFieldsV1(), { 'f:spec': { 'f:extra': { 'f:a': { '.': {}, 'f:x': {} } }, 'f:selector': { 'f:k': {} } } });
});
