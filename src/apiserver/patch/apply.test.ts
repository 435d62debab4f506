import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from '../errors.js';
import { applyPatch, applyPatchBody, LAST_APPLIED_ANNOTATION, type ApplyOptions } from './apply.js';
import { updateManagedFields, setManagedFields, type ManagedFieldsEntry } from './managedfields.js';
import { DEFS, DEPLOYMENT, SERVICE, liveDeployment } from './testfixtures.js';

const T0 = '2024-01-01T00:00:00Z';
const T1 = '2024-01-01T01:00:00Z';
const opts = (o: Partial<ApplyOptions> = {}): ApplyOptions => ({ manager: 'mgr', apiVersion: 'apps/v1', now: T1, ...o });

function config(spec: Record<string, unknown> = {}, labels: Record<string, string> = { app: 'web' }): any {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: 'web', namespace: 'default', labels },
    spec: {
      replicas: 3,
      selector: { matchLabels: { app: 'web' } },
      template: { metadata: { labels: { app: 'web' } }, spec: { containers: [{ name: 'nginx', image: 'nginx:1.0', ports: [{ containerPort: 80 }] }] } },
      ...spec,
    },
  };
}

/** A stored Deployment created by client-side apply (an Update manager owns everything). */
function csaLive(): any {
  const live = liveDeployment();
  const mf = updateManagedFields(DEFS, DEPLOYMENT, undefined, live, { manager: 'kubectl-client-side-apply', apiVersion: 'apps/v1', now: T0 });
  return setManagedFields(live, mf);
}

const entry = (obj: any, manager: string): ManagedFieldsEntry | undefined => obj.metadata.managedFields?.find((e: ManagedFieldsEntry) => e.manager === manager);

test('apply creates: object is the config, one Apply entry with kube FieldsV1', () => {
  const r = applyPatch(DEFS, DEPLOYMENT, undefined, config(), opts({ now: T0 }));
  assert.equal(r.object.kind, 'Deployment');
  assert.deepEqual((r.object as any).spec.template.spec.containers, [{ name: 'nginx', image: 'nginx:1.0', ports: [{ containerPort: 80 }] }]);
  assert.deepEqual(r.managedFields, [
    {
      manager: 'mgr',
      operation: 'Apply',
      apiVersion: 'apps/v1',
      time: T0,
      fieldsType: 'FieldsV1',
      fieldsV1: {
        'f:metadata': { 'f:labels': { 'f:app': {} } },
        'f:spec': {
          'f:replicas': {},
          'f:selector': {},
          'f:template': {
            'f:metadata': { 'f:labels': { 'f:app': {} } },
            'f:spec': {
              'f:containers': {
                'k:{"name":"nginx"}': {
                  '.': {},
                  'f:image': {},
                  'f:name': {},
                  'f:ports': { 'k:{"containerPort":80,"protocol":"TCP"}': { '.': {}, 'f:containerPort': {} } },
                },
              },
            },
          },
        },
      },
    },
  ]);
  assert.deepEqual((r.object as any).metadata.managedFields, r.managedFields);
});

test('apply accepts YAML bodies', () => {
  const yaml = 'apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: 1\n';
  const r = applyPatchBody(DEFS, DEPLOYMENT, undefined, yaml, opts());
  assert.equal((r.object as any).spec.replicas, 1);
});

test('re-apply: changed field updated, time moves; identical re-apply is a no-op keeping time', () => {
  const first = applyPatch(DEFS, DEPLOYMENT, undefined, config(), opts({ now: T0 })).object;
  const second = applyPatch(DEFS, DEPLOYMENT, first, config({ replicas: 5 }), opts({ now: T1 }));
  assert.equal((second.object as any).spec.replicas, 5);
  assert.equal(second.managedFields[0]!.time, T1);
  const third = applyPatch(DEFS, DEPLOYMENT, second.object, config({ replicas: 5 }), opts({ now: '2025-01-01T00:00:00Z' }));
  assert.equal(third.noop, true);
  assert.equal(third.managedFields[0]!.time, T1);
});

test('apply prunes fields it applied before and no longer applies', () => {
  const first = applyPatch(DEFS, DEPLOYMENT, undefined, config({}, { app: 'web', tier: 'fe' }), opts()).object;
  const r = applyPatch(DEFS, DEPLOYMENT, first, config({}, { app: 'web' }), opts());
  assert.deepEqual((r.object as any).metadata.labels, { app: 'web' });
  // A container dropped from the config is removed too.
  const two = config();
  two.spec.template.spec.containers.push({ name: 'side', image: 'b' });
  const withTwo = applyPatch(DEFS, DEPLOYMENT, undefined, two, opts()).object;
  const back = applyPatch(DEFS, DEPLOYMENT, withTwo, config(), opts());
  assert.deepEqual((back.object as any).spec.template.spec.containers.map((c: any) => c.name), ['nginx']);
});

test('apply keeps a dropped field that another manager also owns', () => {
  const first = applyPatch(DEFS, DEPLOYMENT, undefined, config({}, { app: 'web', tier: 'fe' }), opts()).object;
  const other = applyPatch(DEFS, DEPLOYMENT, first, { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { tier: 'fe' } } }, opts({ manager: 'other' })).object;
  const r = applyPatch(DEFS, DEPLOYMENT, other, config({}, { app: 'web' }), opts());
  assert.deepEqual((r.object as any).metadata.labels, { app: 'web', tier: 'fe' });
  assert.deepEqual(entry(r.object, 'other')!.fieldsV1, { 'f:metadata': { 'f:labels': { 'f:tier': {} } } });
});

test('apply does not remove unowned fields (e.g. defaults, status)', () => {
  const first = applyPatch(DEFS, DEPLOYMENT, undefined, config(), opts()).object as any;
  first.spec.progressDeadlineSeconds = 600;
  first.status = { replicas: 3 };
  const r = applyPatch(DEFS, DEPLOYMENT, first, config({ replicas: 4 }), opts()).object as any;
  assert.equal(r.spec.progressDeadlineSeconds, 600);
  assert.deepEqual(r.status, { replicas: 3 });
});

test('conflict with a client-side-apply manager is 409 in kube format; force takes ownership', () => {
  const live = csaLive();
  const cfg = config({ replicas: 7 });
  cfg.spec.template.spec.containers[0].image = 'nginx:1.0';
  assert.throws(
    () => applyPatch(DEFS, DEPLOYMENT, live, cfg, opts({ manager: 'kubectl' })),
    (e: unknown) => {
      assert.ok(e instanceof StatusError);
      assert.equal(e.code, 409);
      assert.equal(e.reason, 'Conflict');
      assert.equal(e.message, 'Apply failed with 1 conflict: conflict with "kubectl-client-side-apply" using apps/v1: .spec.replicas');
      assert.deepEqual(e.details, {
        causes: [{ reason: 'FieldManagerConflict', message: 'conflict with "kubectl-client-side-apply" using apps/v1', field: '.spec.replicas' }],
      });
      return true;
    },
  );
  const forced = applyPatch(DEFS, DEPLOYMENT, live, cfg, opts({ manager: 'kubectl', force: true }));
  assert.equal((forced.object as any).spec.replicas, 7);
  const csa = entry(forced.object, 'kubectl-client-side-apply')!;
  assert.equal('f:replicas' in (csa.fieldsV1['f:spec'] as object), false, 'loser drops the field');
  assert.equal(forced.managedFields[0]!.operation, 'Apply', 'Apply entries sort first');
});

test('applying the same value as another manager is not a conflict (shared ownership)', () => {
  const live = csaLive();
  const r = applyPatch(DEFS, DEPLOYMENT, live, config({ replicas: 2 }), opts({ manager: 'kubectl' }));
  const csa = entry(r.object, 'kubectl-client-side-apply')!;
  assert.ok('f:replicas' in (csa.fieldsV1['f:spec'] as object));
  assert.ok('f:replicas' in (entry(r.object, 'kubectl')!.fieldsV1['f:spec'] as object));
});

test('several conflicts are grouped per manager', () => {
  const live = csaLive();
  const cfg = config({ replicas: 9 });
  cfg.spec.template.spec.containers[0].image = 'nginx:9';
  assert.throws(
    () => applyPatch(DEFS, DEPLOYMENT, live, cfg, opts()),
    (e: unknown) =>
      e instanceof StatusError &&
      e.message ===
        'Apply failed with 2 conflicts: conflicts with "kubectl-client-side-apply" using apps/v1:\n- .spec.replicas\n- .spec.template.spec.containers[name="nginx"].image' &&
      e.details?.causes?.length === 2,
  );
});

test('list-map items merge by key and keep live order; key defaults (protocol TCP) apply', () => {
  const svc = (ports: unknown[]): any => ({ apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports } });
  const live = applyPatch(DEFS, SERVICE, undefined, svc([{ port: 80, targetPort: '8080' }]), opts({ apiVersion: 'v1', manager: 'a' })).object;
  const r = applyPatch(DEFS, SERVICE, live, svc([{ port: 443 }]), opts({ apiVersion: 'v1', manager: 'b' }));
  assert.deepEqual((r.object as any).spec.ports, [{ port: 80, targetPort: '8080' }, { port: 443 }]);
  assert.ok('k:{"port":443,"protocol":"TCP"}' in (entry(r.object, 'b')!.fieldsV1 as any)['f:spec']['f:ports']);
});

test('atomic values replace; granular maps merge', () => {
  const first = applyPatch(DEFS, DEPLOYMENT, undefined, config({ selector: { matchLabels: { app: 'web', x: '1' } } }), opts({ manager: 'a' })).object;
  const r = applyPatch(
    DEFS,
    DEPLOYMENT,
    first,
    { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'web', labels: { extra: 'y' } }, spec: { selector: { matchLabels: { app: 'web' } } } },
    opts({ manager: 'b', force: true }),
  ).object as any;
  assert.deepEqual(r.spec.selector, { matchLabels: { app: 'web' } });
  assert.deepEqual(r.metadata.labels, { app: 'web', extra: 'y' });
});

test('status in an apply to the main resource is not owned', () => {
  const cfg = config();
  cfg.status = { replicas: 1 };
  const r = applyPatch(DEFS, DEPLOYMENT, undefined, cfg, opts());
  assert.equal('f:status' in r.managedFields[0]!.fieldsV1, false);
});

test('kubectl server-side apply refreshes an existing last-applied annotation', () => {
  const live = liveDeployment();
  live.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: '{"old":true}\n' };
  const r = applyPatch(DEFS, DEPLOYMENT, live, config(), opts({ manager: 'kubectl', force: true })).object as any;
  const la = JSON.parse(r.metadata.annotations[LAST_APPLIED_ANNOTATION]);
  assert.equal(la.spec.replicas, 3);
  assert.equal(r.metadata.annotations[LAST_APPLIED_ANNOTATION].endsWith('\n'), true);
});

const rejects: [string, unknown, number, string][] = [
  ['wrong kind', { ...config(), kind: 'Service' }, 400, 'invalid object type: apps/v1, Kind=Service'],
  ['wrong version', { ...config(), apiVersion: 'v1' }, 400, 'invalid object type: /v1, Kind=Deployment'],
  ['empty config', {}, 400, 'invalid object type: /, Kind='],
  ['managedFields in config', { ...config(), metadata: { name: 'web', managedFields: [] } }, 400, 'metadata.managedFields must be nil'],
  [
    'unknown field',
    config({ foo: 1 }),
    500,
    'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): .spec.foo: field not declared in schema',
  ],
  [
    'duplicate and keyless list items',
    config({ template: { spec: { containers: [{ name: 'a' }, { name: 'a' }, { image: 'x' }] } } }),
    500,
    'failed to create typed patch object (default/web; apps/v1, Kind=Deployment): errors:\n' +
      '  .spec.template.spec.containers: duplicate entries for key [name="a"]\n' +
      '  .spec.template.spec.containers: element 2: associative list with keys has an element that omits key field "name" (and doesn\'t have default value)',
  ],
];

for (const [name, cfg, code, message] of rejects) {
  test(`apply rejects: ${name}`, () => {
    assert.throws(
      () => applyPatch(DEFS, DEPLOYMENT, undefined, cfg as any, opts()),
      (e: unknown) => {
        assert.ok(e instanceof StatusError, String(e));
        assert.equal(e.code, code);
        assert.equal(e.message, message);
        return true;
      },
    );
  });
}

test('apply body that is not a map is 400', () => {
  assert.throws(
    () => applyPatchBody(DEFS, DEPLOYMENT, undefined, '- a\n- b\n', opts()),
    (e: unknown) => e instanceof StatusError && e.code === 400 && e.message.startsWith('error decoding YAML:'),
  );
});

test('kubectl --server-side over client-side apply: conflicts matching last-applied are waived', () => {
  const live = csaLive();
  live.metadata.annotations = { [LAST_APPLIED_ANNOTATION]: JSON.stringify(config({ replicas: 2 })) };
  const changed = config({ replicas: 3 });
  // Live replicas (2) still equal last-applied's, so the conflict on .spec.replicas is excused.
  const r = applyPatch(DEFS, DEPLOYMENT, live, changed, opts({ manager: 'kubectl' }));
  assert.equal((r.object as any).spec.replicas, 3);
  // Another manager name gets the conflict.
  assert.throws(() => applyPatch(DEFS, DEPLOYMENT, live, changed, opts({ manager: 'other' })), (e: unknown) => e instanceof StatusError && e.code === 409);
  // A field whose live value drifted from last-applied is not excused.
  const drifted = structuredClone(live);
  drifted.spec.replicas = 5;
  assert.throws(
    () => applyPatch(DEFS, DEPLOYMENT, drifted, changed, opts({ manager: 'kubectl' })),
    (e: unknown) => e instanceof StatusError && e.code === 409 && /\.spec\.replicas/.test(e.message),
  );
});
