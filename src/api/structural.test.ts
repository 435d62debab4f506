import { test } from 'node:test';
import assert from 'node:assert/strict';
import { base64Error, quantityError, timeError, validateStructure } from './structural.js';
import { parseJson } from './json.js';

const DEPLOYMENT = 'io.k8s.api.apps.v1.Deployment';
const SERVICE = 'io.k8s.api.core.v1.Service';
const SECRET = 'io.k8s.api.core.v1.Secret';
const POD = 'io.k8s.api.core.v1.Pod';

test('validateStructure: type errors are worded as kube decoder errors', () => {
  const cases: { def: string; body: unknown; error: string | undefined; field?: string }[] = [
    { def: DEPLOYMENT, body: { spec: { replicas: 3 } }, error: undefined },
    { def: DEPLOYMENT, body: { spec: { replicas: null } }, error: undefined },
    {
      def: DEPLOYMENT,
      body: { spec: { replicas: 'abc' } },
      error: 'json: cannot unmarshal string into Go struct field DeploymentSpec.spec.replicas of type int32',
      field: 'spec.replicas',
    },
    { def: DEPLOYMENT, body: { spec: { replicas: 1.5 } }, error: 'json: cannot unmarshal number 1.5 into Go struct field DeploymentSpec.spec.replicas of type int32' },
    { def: DEPLOYMENT, body: { spec: 'x' }, error: 'json: cannot unmarshal string into Go struct field Deployment.spec of type v1.DeploymentSpec' },
    { def: DEPLOYMENT, body: [], error: 'json: cannot unmarshal array into Go value of type v1.Deployment' },
    {
      def: DEPLOYMENT,
      body: { spec: { template: { spec: { containers: [{ name: 'a', image: 5 }] } } } },
      error: 'json: cannot unmarshal number into Go struct field Container.spec.template.spec.containers.image of type string',
      field: 'spec.template.spec.containers[0].image',
    },
    {
      def: DEPLOYMENT,
      body: { spec: { template: { spec: { containers: {} } } } },
      error: 'json: cannot unmarshal object into Go struct field PodSpec.spec.template.spec.containers of type []v1.Container',
    },
    { def: SERVICE, body: { metadata: { labels: { a: 1 } } }, error: 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.labels of type string' },
    { def: SERVICE, body: { metadata: { labels: [] } }, error: 'json: cannot unmarshal array into Go struct field ObjectMeta.metadata.labels of type map[string]string' },
    { def: SERVICE, body: { spec: { ports: [{ port: 80, targetPort: 'http' }, { port: 81, targetPort: 8081 }] } }, error: undefined },
    { def: SERVICE, body: { spec: { ports: [{ port: 80, targetPort: true }] } }, error: 'json: cannot unmarshal bool into Go struct field ServicePort.spec.ports.targetPort of type int32' },
    { def: SERVICE, body: { metadata: { creationTimestamp: 5 } }, error: 'json: cannot unmarshal number into Go struct field ObjectMeta.metadata.creationTimestamp of type string' },
    { def: SERVICE, body: { metadata: { creationTimestamp: '2024-05-01T10:00:00Z' } }, error: undefined },
    { def: SECRET, body: { data: { k: 'aGVsbG8=' } }, error: undefined },
    { def: SECRET, body: { data: { k: 'not base64!' } }, error: 'illegal base64 data at input byte 3' },
    { def: POD, body: { spec: { containers: [{ name: 'a', resources: { limits: { cpu: '500m', memory: 1024 } } }] } }, error: undefined },
    {
      def: POD,
      body: { spec: { containers: [{ name: 'a', resources: { limits: { cpu: 'lots' } } }] } },
      error: "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'",
    },
  ];
  for (const c of cases) {
    const r = validateStructure(c.def, c.body);
    assert.equal(r.decodeError, c.error, JSON.stringify(c.body));
    if (c.error) assert.equal(r.causes[0].reason, 'FieldValueTypeInvalid');
    if (c.field) assert.equal(r.causes[0].field, c.field);
  }
});

test('validateStructure: unknown and duplicate fields in strict-decoder form and document order', () => {
  const text = JSON.stringify({
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'd', labels: { app: 'x' } },
    spec: { foo: 1, template: { spec: { containers: [{ name: 'a', bar: true }] } } },
    Spec: {},
  }).replace('"labels":{"app":"x"}', '"labels":{"app":"x","app":"y"}').replace('"foo":1', '"paused":true,"paused":false,"foo":1,"foo":2');
  const parsed = parseJson(text);
  const r = validateStructure(DEPLOYMENT, parsed.value, { duplicates: parsed.duplicates });
  assert.deepEqual(r.unknownFields, ['spec.foo', 'spec.template.spec.containers[0].bar', 'Spec']);
  assert.deepEqual(r.strictErrors, [
    'duplicate field "metadata.labels.app"',
    'duplicate field "spec.paused"',
    'unknown field "spec.foo"',
    'unknown field "spec.template.spec.containers[0].bar"',
    'unknown field "Spec"',
  ]);
  assert.equal(r.decodeError, undefined);
});

test('validateStructure: RawExtension-like and unknown definitions are not looked into', () => {
  assert.deepEqual(validateStructure('io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent', { type: 'ADDED', object: { anything: [1] } }).unknownFields, []);
  assert.deepEqual(validateStructure('no.such.Definition', { a: 1 }).unknownFields, []);
});

test('value parsers: quantity, time, base64', () => {
  for (const [q, ok] of [['1', true], ['500m', true], ['1.5Gi', true], ['1e3', true], ['-2', true], ['', false], ['abc', false], ['1.2.3', false], ['5Qi', false], ['1Mb', false], ['1Mk', false]] as const) {
    assert.equal(quantityError(q) === undefined, ok, q);
  }
  assert.equal(quantityError('1Mk'), "unable to parse quantity's suffix");
  assert.match(quantityError('1Mb') ?? '', /^quantities must match/);
  for (const [t, ok] of [['2024-01-02T03:04:05Z', true], ['2024-01-02T03:04:05.123456+02:00', true], ['2024-13-02T03:04:05Z', false], ['yesterday', false], ['2024-01-02', false]] as const) {
    assert.equal(timeError(t) === undefined, ok, t);
  }
  assert.equal(timeError('yesterday'), 'parsing time "yesterday" as "2006-01-02T15:04:05Z07:00": cannot parse "yesterday" as "2006"');
  for (const [b, ok] of [['', true], ['aGVsbG8=', true], ['aGVsbA==', true], ['aGVs\nbG8=', true], ['aGVsbG8', false], ['a=b=', false], ['****', false]] as const) {
    assert.equal(base64Error(b) === undefined, ok, b);
  }
});
