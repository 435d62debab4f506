import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import type { Check } from '../../lint/types.js';
import { ADMISSION_CHECKS, denyError, dottedPath, LintAdmission, warningTexts } from './lint.js';
import { NamespaceState } from './state.js';

function deployment(name: string, image: string, extra: Record<string, unknown> = {}): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default', ...extra },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image, ports: [{ name: 'http', containerPort: 80 }] }] } },
    },
  } as KObject;
}

function service(name: string, targetPort: string | number, app: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', selector: { app }, ports: [{ port: 80, targetPort, protocol: 'TCP' }] },
  } as KObject;
}

/** A linter whose state is filled by hand (no server). */
function withState(objs: KObject[], mode: 'warn' | 'deny' = 'warn', checks?: readonly Check[]): LintAdmission {
  const l = new LintAdmission({ mode, checks, log: () => undefined });
  const state = new NamespaceState();
  for (const o of objs) state.put(o);
  (l as unknown as { state: NamespaceState }).state = state;
  return l;
}

test('dottedPath: kube field paths', () => {
  const cases: [(string | number)[], string][] = [
    [[], ''],
    [['spec', 'template', 'spec', 'containers', 0, 'image'], 'spec.template.spec.containers[0].image'],
    [['metadata', 'annotations', 'kubelite.io/lint-ignore'], 'metadata.annotations[kubelite.io/lint-ignore]'],
    [['spec', 'ports', 1, 'targetPort'], 'spec.ports[1].targetPort'],
  ];
  for (const [path, want] of cases) assert.equal(dottedPath(path), want);
});

test('findings: nginx:latest without probes gives warnings "<id>: <message>", errors first, no info', () => {
  const l = withState([]);
  const f = l.findings(deployment('web', 'nginx:latest'));
  const ids = f.map((x) => x.check);
  assert.ok(ids.includes('image-tag'), ids.join());
  assert.ok(ids.includes('readiness-probe'), ids.join());
  assert.ok(!ids.includes('liveness-probe'), 'info findings are not returned');
  assert.ok(f.every((x) => x.severity !== 'info'));
  for (let i = 1; i < f.length; i++) assert.ok(!(f[i - 1].severity === 'warning' && f[i].severity === 'error'), 'errors come first');
  const texts = warningTexts(f);
  assert.match(texts[ids.indexOf('image-tag')], /^image-tag: .*nginx:latest/);
});

test('findings: skipped for objects with a controller owner, kinds no check covers, and mode off', () => {
  const l = withState([]);
  const owned = deployment('web', 'nginx:latest', { ownerReferences: [{ apiVersion: 'x/v1', kind: 'X', name: 'o', uid: 'u', controller: true }] });
  assert.deepEqual(l.findings(owned), []);
  assert.deepEqual(l.findings({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'x' } } as KObject), []);
  const off = new LintAdmission({ mode: 'off' });
  const w = { warnings: [] as string[] };
  off.admit(deployment('web', 'nginx:latest'), w);
  assert.deepEqual(w.warnings, []);
});

test('cross-object: a named targetPort no selected container declares is reported from the stored state', () => {
  const stored = [deployment('web', 'nginx:1.27')];
  const bad = withState(stored).findings(service('web', 'metrics', 'web'));
  assert.ok(bad.some((f) => f.check === 'service-target-port' && f.message.includes('metrics')), JSON.stringify(bad));
  const good = withState(stored).findings(service('web', 'http', 'web'));
  assert.ok(!good.some((f) => f.check === 'service-target-port'), JSON.stringify(good));
  // Without the Deployment in the state the same Service selects nothing.
  assert.ok(withState([]).findings(service('web', 'http', 'web')).some((f) => f.check === 'service-selector-no-match'));
});

test('state: the index of a write answers as buildIndex over the stored objects with the write applied', () => {
  const state = new NamespaceState();
  const old = deployment('web', 'nginx:1');
  const other = deployment('api', 'nginx:1');
  state.put(old);
  state.put(other);
  state.put(service('web', 80, 'web'));
  const next = deployment('web', 'nginx:2');
  const index = state.indexWith(next);
  assert.equal(index.all().length, 3);
  assert.deepEqual(index.byKind('Deployment', 'default'), [other, next]);
  assert.equal(index.get('Deployment', 'default', 'web'), next);
  assert.equal(index.get('Service', 'default', 'web')?.['kind'], 'Service');
  assert.equal(index.get('Service', 'other', 'web'), undefined);
  assert.deepEqual(index.byKind('Service', 'other'), []);
  assert.deepEqual(index.podTemplatesSelectedBy({ app: 'web' }, 'default').map((t) => t.owner), [next]);
  assert.equal(index.podTemplatesSelectedBy({}, 'default').length, 2);
  state.remove(next);
  assert.equal(state.objects('default').length, 2);
});

test('state: pods with a controller owner are not held; secrets are held without values', () => {
  const state = new NamespaceState();
  const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'p', namespace: 'default' }, spec: {} } as KObject;
  state.put(pod);
  assert.equal(state.objects('default').length, 1);
  state.put({ ...pod, metadata: { ...pod.metadata, ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'r', uid: 'u', controller: true }] } } as KObject);
  assert.equal(state.objects('default').length, 0, 'adopted pod dropped');
  state.put({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'default' }, data: { password: 'aHVudGVyMg==' } } as KObject);
  assert.deepEqual((state.objects('default')[0] as Record<string, unknown>)['data'], { password: '' });
});

test('deny: 422 Invalid with one FieldValueInvalid cause per finding', () => {
  const l = withState([], 'deny');
  const obj = deployment('web', 'nginx:latest');
  const f = l.findings(obj);
  assert.throws(() => l.admit(obj, { warnings: [] }), (err: unknown) => {
    const st = (err as { toStatus(): Record<string, unknown> }).toStatus() as {
      code: number;
      reason: string;
      message: string;
      details: { kind: string; group: string; name: string; causes: { reason: string; field?: string; message: string }[] };
    };
    assert.equal(st.code, 422);
    assert.equal(st.reason, 'Invalid');
    assert.match(st.message, /^Deployment\.apps "web" is invalid: \[/);
    assert.equal(st.details.causes.length, f.length);
    const tag = st.details.causes.find((c) => c.message.startsWith('image-tag: '));
    assert.equal(tag?.field, 'spec.template.spec.containers[0].image');
    assert.ok(st.details.causes.every((c) => c.reason === 'FieldValueInvalid'));
    return true;
  });
  // A clean object passes.
  const clean = denyError(obj, []);
  assert.equal(clean.code, 422);
});

test('a check that throws never fails the write: logged once, other findings kept', () => {
  const logs: string[] = [];
  const boom: Check = { ...ADMISSION_CHECKS.find((c) => c.id === 'image-tag')!, id: 'boom', run: () => { throw new Error('kaput'); } };
  const checks = [boom, ADMISSION_CHECKS.find((c) => c.id === 'image-tag')!];
  const l = new LintAdmission({ mode: 'deny', checks, log: (m) => logs.push(m) });
  const w = { warnings: [] as string[] };
  l.admit(deployment('web', 'nginx:1.27'), w);
  l.admit(deployment('web2', 'nginx:1.27'), w);
  assert.deepEqual(w.warnings, []);
  assert.equal(logs.length, 1);
  assert.match(logs[0], /boom.*kaput/);
});

test('defaulted replicas: no hpa-target-sets-replicas, and no replicas warning when an HPA scales the workload', () => {
  const hpa = {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name: 'web', namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 5 },
  } as KObject;
  // As stored: the API server defaulted spec.replicas to 1.
  const ids = withState([hpa]).findings(deployment('web', 'nginx:1.27')).map((f) => f.check);
  assert.ok(!ids.includes('hpa-target-sets-replicas'), ids.join());
  assert.ok(!ids.includes('replicas'), ids.join());
  // Without the HPA, one replica is still reported.
  assert.ok(withState([]).findings(deployment('web', 'nginx:1.27')).some((f) => f.check === 'replicas'));
});
