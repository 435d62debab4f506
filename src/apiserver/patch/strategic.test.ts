import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyStrategicPatch } from './strategic.js';
import { DEFS, DEPLOYMENT, SERVICE, liveDeployment } from './testfixtures.js';

const smp = (doc: Record<string, any>, patch: unknown, def = DEPLOYMENT): any => applyStrategicPatch(DEFS, def, doc, JSON.stringify(patch));
const containers = (d: any): any[] => d.spec.template.spec.containers;
const tpl = (spec: unknown): unknown => ({ spec: { template: { spec } } });

const cases: [string, unknown, (out: any) => void][] = [
  ['scalar replace and null delete', { spec: { replicas: 5 }, metadata: { labels: { app: null, tier: 'fe' } } }, (o) => {
    assert.equal(o.spec.replicas, 5);
    assert.deepEqual(o.metadata.labels, { tier: 'fe' });
  }],
  ['merge container by name', tpl({ containers: [{ name: 'nginx', image: 'nginx:2' }] }), (o) => {
    assert.deepEqual(containers(o).map((c) => [c.name, c.image]), [['nginx', 'nginx:2'], ['sidecar', 'busybox']]);
    assert.equal(containers(o)[0].env.length, 2, 'unmentioned fields kept');
  }],
  ['new container without $setElementOrder goes first (upstream order)', tpl({ containers: [{ name: 'new', image: 'x' }] }), (o) => {
    assert.deepEqual(containers(o).map((c) => c.name), ['new', 'nginx', 'sidecar']);
  }],
  ['$patch: delete removes a list item', tpl({ containers: [{ name: 'sidecar', $patch: 'delete' }] }), (o) => {
    assert.deepEqual(containers(o).map((c) => c.name), ['nginx']);
  }],
  ['$patch: replace replaces the whole list', tpl({ containers: [{ name: 'only', image: 'i' }, { $patch: 'replace' }] }), (o) => {
    assert.deepEqual(containers(o), [{ name: 'only', image: 'i' }]);
  }],
  ['$patch: replace on a map', { spec: { strategy: { $patch: 'replace', type: 'Recreate' } } }, (o) => {
    assert.deepEqual(o.spec.strategy, { type: 'Recreate' });
  }],
  ['$patch: delete on a map leaves it empty', { spec: { template: { metadata: { $patch: 'delete' } } } }, (o) => {
    assert.deepEqual(o.spec.template.metadata, {});
  }],
  ['list-map merged by primary merge key (ports by containerPort)', tpl({ containers: [{ name: 'nginx', ports: [{ containerPort: 80, name: 'http' }, { containerPort: 443 }] }] }), (o) => {
    assert.deepEqual(containers(o)[0].ports, [{ containerPort: 80, protocol: 'TCP', name: 'http' }, { containerPort: 443 }]);
  }],
  ['$setElementOrder orders merged items', tpl({
    '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'nginx' }, { name: 'third' }],
    containers: [{ name: 'third', image: 't' }],
  }), (o) => {
    assert.deepEqual(containers(o).map((c) => c.name), ['sidecar', 'nginx', 'third']);
  }],
  ['$retainKeys clears fields not listed', { spec: { strategy: { $retainKeys: ['type'], type: 'Recreate' } } }, (o) => {
    assert.deepEqual(o.spec.strategy, { type: 'Recreate' });
  }],
  ['new subtree keeps no directives', { spec: { template: { spec: { volumes: [{ name: 'v', emptyDir: {} }, { name: 'gone', $patch: 'delete' }], '$setElementOrder/volumes': [{ name: 'v' }] } } } }, (o) => {
    assert.deepEqual(o.spec.template.spec.volumes, [{ name: 'v', emptyDir: {} }]);
  }],
  ['atomic selector struct merges keys like any map (SMP ignores map-type)', { spec: { selector: { matchLabels: { x: 'y' } } } }, (o) => {
    assert.deepEqual(o.spec.selector.matchLabels, { app: 'web', x: 'y' });
  }],
  ['non-merge list (args) replaces', tpl({ containers: [{ name: 'sidecar', args: ['a'] }] }), (o) => {
    assert.deepEqual(containers(o)[1].args, ['a']);
  }],
];

for (const [name, patch, check] of cases) {
  test(`strategic: ${name}`, () => {
    const live = liveDeployment();
    const out = smp(live, patch);
    check(out);
    assert.deepEqual(live, liveDeployment(), 'input must not be mutated');
  });
}

test('strategic: primitive merge list is a set, with $deleteFromPrimitiveList', () => {
  const live = { metadata: { name: 'x', finalizers: ['a', 'b', 'c'] } };
  assert.deepEqual(smp(live, { metadata: { finalizers: ['d', 'a'] } }).metadata.finalizers, ['d', 'a', 'b', 'c']);
  assert.deepEqual(smp(live, { metadata: { '$deleteFromPrimitiveList/finalizers': ['b'] } }).metadata.finalizers, ['a', 'c']);
  assert.deepEqual(
    smp(live, { metadata: { '$setElementOrder/finalizers': ['c', 'a', 'e'], '$deleteFromPrimitiveList/finalizers': ['b'], finalizers: ['e'] } }).metadata.finalizers,
    ['c', 'a', 'e'],
  );
});

test('strategic: untyped field falls back to JSON merge (maps merge, lists replace)', () => {
  const live = { apiVersion: 'v1', kind: 'Service', spec: { extra: { a: { x: 1 }, l: [1, 2] } } };
  const out = smp(live, { spec: { extra: { a: { y: 2 }, l: [3] } } }, SERVICE);
  assert.deepEqual(out.spec.extra, { a: { x: 1, y: 2 }, l: [3] });
});

test('strategic: service ports merge by port', () => {
  const live = { spec: { ports: [{ port: 80, protocol: 'TCP', targetPort: '8080' }] } };
  const out = smp(live, { spec: { ports: [{ port: 80, targetPort: '9090' }, { port: 443, protocol: 'TCP' }] } }, SERVICE);
  assert.deepEqual(out.spec.ports, [
    { port: 80, protocol: 'TCP', targetPort: '9090' },
    { port: 443, protocol: 'TCP' },
  ]);
});

test('strategic: kubectl 3-way re-apply (changed image, removed env var, $setElementOrder)', () => {
  // What kubectl 1.32 sends after editing the manifest: image bumped, env B dropped.
  const patch = {
    metadata: { annotations: { 'kubectl.kubernetes.io/last-applied-configuration': '{"new":"config"}\n' } },
    spec: {
      template: {
        spec: {
          '$setElementOrder/containers': [{ name: 'nginx' }, { name: 'sidecar' }],
          containers: [
            {
              '$setElementOrder/env': [{ name: 'A' }],
              env: [{ $patch: 'delete', name: 'B' }],
              image: 'nginx:1.2',
              name: 'nginx',
            },
          ],
        },
      },
    },
  };
  const out = smp(liveDeployment(), patch);
  assert.deepEqual(containers(out), [
    { name: 'nginx', image: 'nginx:1.2', env: [{ name: 'A', value: '1' }], ports: [{ containerPort: 80, protocol: 'TCP' }] },
    { name: 'sidecar', image: 'busybox' },
  ]);
  assert.equal(out.metadata.annotations['kubectl.kubernetes.io/last-applied-configuration'], '{"new":"config"}\n');
  assert.equal(out.spec.replicas, 2);
});

test('strategic: kubectl re-apply that removes a container and reorders', () => {
  const patch = tpl({
    '$setElementOrder/containers': [{ name: 'sidecar' }, { name: 'web2' }],
    containers: [{ name: 'web2', image: 'w' }, { name: 'nginx', $patch: 'delete' }],
  });
  assert.deepEqual(containers(smp(liveDeployment(), patch)).map((c) => c.name), ['sidecar', 'web2']);
});

const errorCases: [string, string | unknown, number, string | RegExp, string[]?][] = [
  ['missing merge key', tpl({ containers: [{ image: 'x' }] }), 500, 'map: map[image:x] does not contain declared merge key: name'],
  ['$retainKeys not a list', { spec: { strategy: { $retainKeys: 'type' } } }, 400, 'invalid patch format of retainKeys'],
  ['field outside $retainKeys', { spec: { strategy: { $retainKeys: ['type'], rollingUpdate: {} } } }, 400, 'invalid patch format of retainKeys'],
  ['bad $deleteFromPrimitiveList key', { metadata: { $deleteFromPrimitiveListfinalizers: ['a'] } }, 400, 'invalid patch format of primitive list'],
  ['bad $setElementOrder key', { metadata: { $setElementOrderX: [] } }, 400, 'invalid patch format of setElementOrder list'],
  ['$setElementOrder not matching the patch list', tpl({ '$setElementOrder/containers': [{ name: 'nginx' }], containers: [{ name: 'zzz' }] }), 500, /doesn't match \$setElementOrder list/],
  ['unknown $patch on a map', { spec: { $patch: 'frob' } }, 500, 'unknown patch type: frob in map: map[$patch:frob]'],
  ['$patch: merge on a list item', tpl({ containers: [{ name: 'x', $patch: 'merge' }] }), 500, 'merging lists cannot yet be specified in the patch'],
  ['mixed element types', { metadata: { finalizers: [1] } }, 500, /list element types are not identical/],
  ['list of lists', { metadata: { finalizers: [['a']] } }, 422, 'the server rejected our request due to an error in our request', []],
  ['patch is a list', '[1]', 400, 'json: cannot unmarshal array into Go value of type map[string]interface {}'],
  ['patch is not JSON', '{x', 400, "invalid character 'x' looking for beginning of value"],
];

for (const [name, patch, code, message, finalizers] of errorCases) {
  test(`strategic error: ${name}`, () => {
    const live = liveDeployment();
    live.metadata.finalizers = finalizers ?? ['a'];
    const body = typeof patch === 'string' ? patch : JSON.stringify(patch);
    assert.throws(
      () => applyStrategicPatch(DEFS, DEPLOYMENT, live, body),
      (e: unknown) => {
        assert.ok(e instanceof StatusError, String(e));
        assert.equal(e.code, code);
        if (typeof message === 'string') assert.equal(e.message, message);
        else assert.match(e.message, message);
        return true;
      },
    );
  });
}

test('strategic: null patch is a no-op', () => {
  assert.deepEqual(applyStrategicPatch(DEFS, DEPLOYMENT, liveDeployment(), 'null'), liveDeployment());
});
