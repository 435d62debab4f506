import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, type ResourceInfo } from '../resources.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from '../defaults/index.js';
import { validateCreate, validateUpdate } from './index.js';
import { VOLUME_CLAIM_TEMPLATES_UNSUPPORTED } from './apps.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const STS = findResource('apps', 'v1', 'statefulsets') as ResourceInfo;

const sts = (spec: Obj = {}): Obj => ({
  apiVersion: 'apps/v1',
  kind: 'StatefulSet',
  metadata: { name: 'web', namespace: 'default' },
  spec: {
    serviceName: 'web',
    replicas: 2,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'c', image: 'nginx:1.25' }] } },
    ...spec,
  },
});
const claim = { metadata: { name: 'data' }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } };
const stored = (o: Obj): Obj => {
  const obj = structuredClone(o);
  applyDefaults(STS, obj);
  prepareForCreate(STS, obj);
  return obj;
};
const forbidden = { reason: 'FieldValueForbidden', field: 'spec.volumeClaimTemplates', message: `Forbidden: ${VOLUME_CLAIM_TEMPLATES_UNSUPPORTED}` };
const vctCauses = (causes: { field?: string }[]): unknown[] => causes.filter((c) => c.field === 'spec.volumeClaimTemplates');

test('statefulset volumeClaimTemplates are refused on create (kubelite has no persistent volumes)', () => {
  const cases: { name: string; spec: Obj; want: unknown[] }[] = [
    { name: 'absent', spec: {}, want: [] },
    { name: 'empty list', spec: { volumeClaimTemplates: [] }, want: [] },
    { name: 'one claim', spec: { volumeClaimTemplates: [claim] }, want: [forbidden] },
    { name: 'two claims: one cause', spec: { volumeClaimTemplates: [claim, { ...claim, metadata: { name: 'logs' } }] }, want: [forbidden] },
  ];
  for (const c of cases) {
    const causes = validateCreate(STS, stored(sts(c.spec)));
    assert.deepEqual(vctCauses(causes), c.want, c.name);
    if (!c.want.length) assert.deepEqual(causes, [], `${c.name}: otherwise valid`);
  }
  assert.match(VOLUME_CLAIM_TEMPLATES_UNSUPPORTED, /persistent volumes are not supported by kubelite yet/);
});

test('statefulset volumeClaimTemplates are refused on update', () => {
  const old = stored(sts());
  const next = structuredClone(old);
  next.spec.volumeClaimTemplates = [claim];
  applyDefaults(STS, next);
  prepareForUpdate(STS, next, old);
  assert.deepEqual(vctCauses(validateUpdate(STS, next, old)), [forbidden]);
  const same = structuredClone(old);
  same.spec.replicas = 5;
  prepareForUpdate(STS, same, old);
  assert.deepEqual(validateUpdate(STS, same, old), []);
});
