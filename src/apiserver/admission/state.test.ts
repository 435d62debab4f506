/**
 * NamespaceState's cached per-kind arrays and the lookups derived from them (selector buckets,
 * pod templates: patched, not rebuilt, when a namespace+kind changes) must never answer from a
 * stale cache: every change is seen by the next write's findings, and the written object
 * overrides its stored version.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { KObject } from '../../api/types.js';
import { hpasTargeting, selectorsMatching, templatesSelectedBy } from '../../lint/checks/cross/lookup.js';
import type { CheckContext, Finding, KObject as LintObject } from '../../lint/types.js';
import { LintAdmission } from './lint.js';
import { NamespaceState } from './state.js';

function deployment(name: string, app: string, port = 'http', extra: { readiness?: boolean } = {}): KObject {
  const container: Record<string, unknown> = { name: 'web', image: 'nginx:1.27', ports: [{ name: port, containerPort: 80 }] };
  if (extra.readiness) container['readinessProbe'] = { httpGet: { path: '/', port: 80 } };
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: 'default' },
    spec: { replicas: 1, selector: { matchLabels: { app } }, template: { metadata: { labels: { app } }, spec: { containers: [container] } } },
  } as KObject;
}

function service(name: string, app: string, targetPort = 'http'): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: 'default' },
    spec: { type: 'ClusterIP', selector: { app }, ports: [{ port: 80, targetPort, protocol: 'TCP' }] },
  } as KObject;
}

function policy(kind: 'NetworkPolicy' | 'PodDisruptionBudget', name: string, app: string | undefined): KObject {
  const selector = app === undefined ? {} : { matchLabels: { app } };
  const spec = kind === 'NetworkPolicy' ? { podSelector: selector } : { selector, minAvailable: 1 };
  return { apiVersion: kind === 'NetworkPolicy' ? 'networking.k8s.io/v1' : 'policy/v1', kind, metadata: { name, namespace: 'default' }, spec } as KObject;
}

function hpa(name: string, target: string): KObject {
  return {
    apiVersion: 'autoscaling/v2',
    kind: 'HorizontalPodAutoscaler',
    metadata: { name, namespace: 'default' },
    spec: { scaleTargetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: target }, minReplicas: 2, maxReplicas: 4 },
  } as KObject;
}

function linterOn(state: NamespaceState): LintAdmission {
  const l = new LintAdmission({ mode: 'warn', log: () => undefined });
  (l as unknown as { state: NamespaceState }).state = state;
  return l;
}

const nameOf = (o: LintObject): string => String((o['metadata'] as { name?: unknown }).name);
const ids = (fs: readonly Finding[]): string[] => fs.map((f) => f.check).sort();

test('changes to the namespace are seen by the next write (lookups cached before each change)', () => {
  const state = new NamespaceState();
  const lint = linterOn(state);
  const write = service('web', 'web', 'http');
  const steps: { what: string; change: () => void; has: string[]; hasNot: string[] }[] = [
    { what: 'empty namespace', change: () => undefined, has: ['service-selector-no-match'], hasNot: ['service-target-port'] },
    { what: 'deployment added', change: () => state.put(deployment('web', 'web', 'http')), has: [], hasNot: ['service-selector-no-match', 'service-target-port'] },
    { what: 'deployment changed (port renamed)', change: () => state.put(deployment('web', 'web', 'metrics')), has: ['service-target-port'], hasNot: ['service-selector-no-match'] },
    { what: 'deployment changed back, another added', change: () => (state.put(deployment('web', 'web', 'http')), state.put(deployment('web2', 'web', 'http'))), has: [], hasNot: ['service-target-port'] },
    { what: 'the other one changed (port renamed)', change: () => state.put(deployment('web2', 'web', 'metrics')), has: ['service-target-port'], hasNot: [] },
    { what: 'the other one deleted', change: () => state.remove(deployment('web2', 'web')), has: [], hasNot: ['service-target-port', 'service-selector-no-match'] },
    { what: 'first deployment relabeled away', change: () => state.put(deployment('web', 'other', 'metrics')), has: ['service-selector-no-match'], hasNot: ['service-target-port'] },
    { what: 'deleted and re-added', change: () => (state.remove(deployment('web', 'x')), state.put(deployment('web', 'web', 'http'))), has: [], hasNot: ['service-selector-no-match', 'service-target-port'] },
  ];
  for (const s of steps) {
    s.change();
    // Twice: the second answer comes from the caches the first one built.
    for (const round of [1, 2]) {
      const got = ids(lint.findings(write));
      for (const id of s.has) assert.ok(got.includes(id), `${s.what} (${round}): want ${id} in ${got.join()}`);
      for (const id of s.hasNot) assert.ok(!got.includes(id), `${s.what} (${round}): ${id} not expected in ${got.join()}`);
    }
  }
});

test('selector and HPA lookups of a workload write follow Service / NetworkPolicy / PDB / HPA changes', () => {
  const state = new NamespaceState();
  const lint = linterOn(state);
  const write = deployment('web', 'web', 'http');
  const ctx = (): CheckContext => ({ index: state.indexWith(write), mode: 'admission' });
  const names = (os: readonly LintObject[]): string[] => os.map(nameOf);
  assert.ok(ids(lint.findings(write)).includes('replicas'));
  assert.ok(!ids(lint.findings(write)).includes('readiness-probe-targeted'));
  state.put(service('web', 'web'));
  state.put(policy('NetworkPolicy', 'np', 'web'));
  state.put(policy('PodDisruptionBudget', 'pdb', 'web'));
  state.put(hpa('h', 'web'));
  assert.ok(ids(lint.findings(write)).includes('readiness-probe-targeted'), 'a Service now selects it');
  assert.ok(!ids(lint.findings(write)).includes('replicas'), 'an HPA now scales it');
  assert.deepEqual(names(selectorsMatching(ctx(), 'NetworkPolicy', 'default', { app: 'web' })), ['np']);
  state.put(policy('NetworkPolicy', 'all', undefined));
  state.put(policy('NetworkPolicy', 'np', 'other'));
  assert.deepEqual(names(selectorsMatching(ctx(), 'NetworkPolicy', 'default', { app: 'web' })), ['all']);
  state.put(policy('PodDisruptionBudget', 'pdb2', 'web'));
  assert.deepEqual(names(selectorsMatching(ctx(), 'PodDisruptionBudget', 'default', { app: 'web' })), ['pdb', 'pdb2']);
  state.remove(policy('PodDisruptionBudget', 'pdb', 'web'));
  assert.deepEqual(names(selectorsMatching(ctx(), 'PodDisruptionBudget', 'default', { app: 'web' })), ['pdb2']);
  state.put(hpa('h', 'api'));
  assert.deepEqual(hpasTargeting(write, ctx()), []);
  assert.ok(ids(lint.findings(write)).includes('replicas'), 'the HPA now scales another workload');
  state.remove(service('web', 'web'));
  assert.ok(!ids(lint.findings(write)).includes('readiness-probe-targeted'), 'the Service is gone');
});

test('the written object overrides its stored version (same kind and name), in every lookup', () => {
  const state = new NamespaceState();
  const lint = linterOn(state);
  state.put(deployment('web', 'web', 'http'));
  state.put(service('web', 'nothing', 'http'));
  state.put(policy('NetworkPolicy', 'np', 'web'));
  state.put(hpa('h', 'api'));
  const ctxOf = (w: KObject): CheckContext => ({ index: state.indexWith(w), mode: 'admission' });
  // Warm every cache with writes of other objects first.
  lint.findings(service('other', 'web'));
  lint.findings(deployment('other', 'web'));
  // Service: the stored one selects nothing; the written one selects the Deployment.
  const svc = service('web', 'web', 'metrics');
  assert.deepEqual(ids(lint.findings(svc)).filter((id) => id.startsWith('service-')), ['service-target-port']);
  assert.deepEqual(selectorsMatching(ctxOf(svc), 'Service', 'default', { app: 'web' }), [svc]);
  // Deployment: the written template replaces the stored one (no duplicate, new labels).
  const dep = deployment('web', 'moved', 'http');
  assert.deepEqual(templatesSelectedBy(ctxOf(dep), 'default', { matchLabels: { app: 'web' } }), []);
  assert.deepEqual(templatesSelectedBy(ctxOf(dep), 'default', { matchLabels: { app: 'moved' } })?.map((t) => t.owner), [dep]);
  assert.equal(templatesSelectedBy(ctxOf(dep), 'default', {})?.length, 1);
  // NetworkPolicy: the written one replaces the stored one among the selectors.
  const np = policy('NetworkPolicy', 'np', 'moved');
  assert.deepEqual(selectorsMatching(ctxOf(np), 'NetworkPolicy', 'default', { app: 'web' }), []);
  assert.deepEqual(selectorsMatching(ctxOf(np), 'NetworkPolicy', 'default', { app: 'moved' }), [np]);
  // HPA: the written one now targets web (the stored one targets api).
  const h = hpa('h', 'web');
  assert.deepEqual(hpasTargeting(deployment('web', 'web'), ctxOf(h)), [h]);
  assert.deepEqual(hpasTargeting(deployment('api', 'web'), ctxOf(h)), []);
  // The state itself is unchanged by the writes.
  assert.deepEqual(state.objects('default').map((o) => `${o.kind}/${o.metadata.name}`), ['Deployment/web', 'Service/web', 'NetworkPolicy/np', 'HorizontalPodAutoscaler/h']);
});

test('an update keeps the object in its place; a delete and re-create moves it last (as a fresh state orders them)', () => {
  const state = new NamespaceState();
  const write = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'default' } } as KObject;
  const ctx = (): CheckContext => ({ index: state.indexWith(write), mode: 'admission' });
  const order = (): string[] => (templatesSelectedBy(ctx(), 'default', {}) ?? []).map((t) => `${nameOf(t.owner)}=${t.labels['app']}`);
  const svcs = (): string[] => selectorsMatching(ctx(), 'Service', 'default', { app: 'a' }).map(nameOf);
  for (const n of ['x', 'y', 'z']) {
    state.put(deployment(n, 'a'));
    state.put(service(n, 'a'));
  }
  assert.deepEqual(order(), ['x=a', 'y=a', 'z=a']);
  assert.deepEqual(svcs(), ['x', 'y', 'z']);
  state.put(deployment('x', 'b'));
  state.put(service('x', 'a', 'metrics'));
  assert.deepEqual(order(), ['x=b', 'y=a', 'z=a']);
  assert.deepEqual(svcs(), ['x', 'y', 'z']);
  state.remove(deployment('y', 'a'));
  state.put(deployment('y', 'c'));
  state.remove(service('x', 'a'));
  state.put(service('x', 'a'));
  assert.deepEqual(order(), ['x=b', 'z=a', 'y=c']);
  assert.deepEqual(svcs(), ['y', 'z', 'x']);
});

/** A random history of changes, each followed by a write: the incremental state answers as one built from scratch. */
test('property: after any history of puts and removes, findings and lookups equal those of a freshly built state', () => {
  const app = fc.constantFrom('a', 'b', 'c');
  const name = fc.constantFrom('x', 'y', 'z');
  const obj = fc.oneof(
    fc.tuple(name, app, fc.constantFrom('http', 'metrics'), fc.boolean()).map(([n, a, p, r]) => deployment(n, a, p, { readiness: r })),
    fc.tuple(name, app, fc.constantFrom('http', 'metrics')).map(([n, a, p]) => service(n, a, p)),
    fc.tuple(name, fc.option(app, { nil: undefined })).map(([n, a]) => policy('NetworkPolicy', n, a)),
    fc.tuple(name, fc.option(app, { nil: undefined })).map(([n, a]) => policy('PodDisruptionBudget', n, a)),
    fc.tuple(name, name).map(([n, t]) => hpa(n, t)),
  );
  const step = fc.record({ op: fc.constantFrom('put', 'put', 'remove'), obj, write: obj });
  fc.assert(
    fc.property(fc.array(step, { maxLength: 30 }), (steps) => {
      const state = new NamespaceState();
      const lint = linterOn(state);
      for (const s of steps) {
        if (s.op === 'put') state.put(s.obj);
        else state.remove(s.obj);
        const fresh = new NamespaceState();
        for (const o of state.objects('default')) fresh.put(o);
        const want = linterOn(fresh).findings(s.write);
        assert.deepEqual(lint.findings(s.write), want);
        const got = { index: state.indexWith(s.write), mode: 'admission' as const };
        const ref = { index: fresh.indexWith(s.write), mode: 'admission' as const };
        for (const a of ['a', 'b', 'c']) {
          for (const kind of ['Service', 'NetworkPolicy', 'PodDisruptionBudget'] as const) {
            assert.deepEqual(selectorsMatching(got, kind, 'default', { app: a }), selectorsMatching(ref, kind, 'default', { app: a }));
          }
          assert.deepEqual(templatesSelectedBy(got, 'default', { matchLabels: { app: a } }), templatesSelectedBy(ref, 'default', { matchLabels: { app: a } }));
        }
        assert.deepEqual(templatesSelectedBy(got, 'default', {}), templatesSelectedBy(ref, 'default', {}));
        for (const n of ['x', 'y', 'z']) assert.deepEqual(hpasTargeting(deployment(n, 'a'), got), hpasTargeting(deployment(n, 'a'), ref));
      }
    }),
    { numRuns: 300 },
  );
});
