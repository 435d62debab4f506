/**
 * kubectl's typed `create` commands send protobuf bodies (application/vnd.kubernetes.protobuf).
 * Each object made that way must come out exactly as the same object sent as JSON does.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, NO_KUBECTL, type TestCluster } from './harness.js';

/** kubectl create arguments, the resource to read back, and what the stored object must show. */
const CASES: { args: string[]; get: string; check: (o: Record<string, any>) => void }[] = [
  {
    args: ['namespace', 'foo'],
    get: 'namespace/foo',
    check: (o) => assert.deepEqual(o.spec, { finalizers: ['kubernetes'] }),
  },
  {
    args: ['configmap', 'c1', '--from-literal=a=b'],
    get: 'configmap/c1',
    check: (o) => assert.deepEqual(o.data, { a: 'b' }),
  },
  {
    args: ['secret', 'generic', 's1', '--from-literal=a=b'],
    get: 'secret/s1',
    check: (o) => {
      assert.deepEqual(o.data, { a: 'Yg==' });
      assert.equal(o.type, 'Opaque');
    },
  },
  {
    args: ['deployment', 'd1', '--image=nginx:1.25', '--replicas=2'],
    get: 'deployment/d1',
    check: (o) => {
      assert.equal(o.spec.replicas, 2);
      assert.deepEqual(o.spec.selector, { matchLabels: { app: 'd1' } });
      assert.equal(o.spec.template.spec.containers[0].image, 'nginx:1.25');
      assert.equal(o.spec.template.spec.containers[0].imagePullPolicy, 'IfNotPresent', 'zero strings dropped, so defaulting applies');
    },
  },
  {
    args: ['deployment', 'd0', '--image=nginx:1.25', '--replicas=0'],
    get: 'deployment/d0',
    check: (o) => assert.equal(o.spec.replicas, 0, 'a present zero pointer stays zero (not defaulted to 1)'),
  },
  {
    args: ['service', 'clusterip', 's2', '--tcp=80:8080'],
    get: 'service/s2',
    check: (o) => assert.deepEqual(o.spec.ports, [{ name: '80-8080', port: 80, protocol: 'TCP', targetPort: 8080 }]),
  },
  {
    args: ['serviceaccount', 'sa1'],
    get: 'serviceaccount/sa1',
    check: (o) => assert.equal(o.metadata.name, 'sa1'),
  },
  {
    args: ['ingress', 'i1', '--rule=foo.com/bar=svc1:8080'],
    get: 'ingress/i1',
    check: (o) =>
      assert.deepEqual(o.spec.rules, [
        { host: 'foo.com', http: { paths: [{ backend: { service: { name: 'svc1', port: { number: 8080 } } }, path: '/bar', pathType: 'Exact' }] } },
      ]),
  },
  {
    args: ['poddisruptionbudget', 'p1', '--selector=app=x', '--min-available=1'],
    get: 'poddisruptionbudget/p1',
    check: (o) => {
      assert.equal(o.spec.minAvailable, 1);
      assert.deepEqual(o.spec.selector, { matchLabels: { app: 'x' } });
    },
  },
];

/** Drops what legitimately differs between two creations of the same object. */
function normalise(o: Record<string, any>): Record<string, any> {
  const c = structuredClone(o);
  for (const k of ['uid', 'resourceVersion', 'creationTimestamp', 'namespace', 'managedFields']) delete c.metadata[k];
  if (c.kind === 'Namespace') {
    delete c.metadata.name;
    delete c.metadata.labels;
  }
  if (c.spec?.clusterIP) {
    delete c.spec.clusterIP;
    delete c.spec.clusterIPs;
  }
  return c;
}

describe('kubectl create with protobuf bodies', { skip: NO_KUBECTL }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    const ns = await c.kubectl(['create', 'namespace', 'viajson']);
    assert.equal(ns.code, 0, ns.stderr);
  });
  after(async () => {
    await c?.close();
  });

  it('kubectl really sends protobuf for typed create', async () => {
    const r = await c.kubectl(['create', 'configmap', 'probe', '--from-literal=x=y', '-v=8']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stderr, /Content-Type: application\/vnd\.kubernetes\.protobuf/);
  });

  for (const tc of CASES) {
    it(`create ${tc.args.slice(0, -1).join(' ')}: stored as the JSON path stores it`, async () => {
      const created = await c.kubectl(['create', ...tc.args]);
      assert.equal(created.code, 0, created.stderr);
      const got = await c.kubectl(['get', tc.get, '-o', 'json']);
      assert.equal(got.code, 0, got.stderr);
      const viaProto = JSON.parse(got.stdout) as Record<string, any>;
      tc.check(viaProto);

      // The same object through the JSON path (kubectl create -f uses JSON), in another namespace.
      const isNs = tc.args[0] === 'namespace';
      const manifest = await c.kubectl(['create', ...tc.args.map((a) => (isNs && a === 'foo' ? 'foo-json' : a)), '--dry-run=client', '-o', 'json']);
      assert.equal(manifest.code, 0, manifest.stderr);
      const viaJsonCreate = await c.kubectl(['create', '-n', 'viajson', '-f', '-', '-o', 'json'], { input: manifest.stdout });
      assert.equal(viaJsonCreate.code, 0, viaJsonCreate.stderr);
      const viaJson = JSON.parse(viaJsonCreate.stdout) as Record<string, any>;
      assert.deepEqual(normalise(viaProto), normalise(viaJson));

      const yaml = await c.kubectl(['get', tc.get, '-o', 'yaml']);
      assert.equal(yaml.code, 0, yaml.stderr);
      assert.match(yaml.stdout, new RegExp(`kind: ${viaProto.kind}`));
    });
  }

  it('garbage protobuf is a 400 naming the decoder', async () => {
    const r = await c.http('POST', '/api/v1/namespaces/default/configmaps', {
      body: Buffer.from([0x6b, 0x38, 0x73, 0x00, 0x0a, 0x10]),
      headers: { 'content-type': 'application/vnd.kubernetes.protobuf' },
    });
    assert.equal(r.status, 400);
    assert.match(r.json<{ message: string }>().message, /^failed to decode protobuf: /);
  });
});
