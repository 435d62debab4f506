/**
 * Issue 9, acceptance 3: admission lint through the real kubectl. Warnings on apply, a 422
 * Status with `--lint-admission=deny`, nothing with `off`, never for the controllers' own writes,
 * and the cross-object Service targetPort check against the stored Deployment.
 *
 * One cluster; the mode is switched with `server.lint.setMode` (the `--lint-admission` flag sets
 * the same thing at start-up).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startCluster, NO_KUBECTL, until, type TestCluster } from '../harness.js';

const MAIN = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url));

function badDeployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      containers:
      - name: web
        image: nginx:latest
`;
}

/** Clean for every admission check (probes, resources, security context, 2 replicas, anti-affinity). */
function cleanDeployment(name: string): string {
  return `apiVersion: apps/v1
kind: Deployment
metadata:
  name: ${name}
spec:
  replicas: 2
  selector:
    matchLabels: {app: ${name}}
  template:
    metadata:
      labels: {app: ${name}}
    spec:
      affinity:
        podAntiAffinity:
          preferredDuringSchedulingIgnoredDuringExecution:
          - weight: 100
            podAffinityTerm:
              topologyKey: kubernetes.io/hostname
              labelSelector:
                matchLabels: {app: ${name}}
      securityContext: {runAsNonRoot: true, runAsUser: 10001}
      containers:
      - name: web
        image: registry.example/web:1.4.2
        ports:
        - {name: http, containerPort: 8080}
        readinessProbe:
          httpGet: {path: /ready, port: http}
        livenessProbe:
          httpGet: {path: /healthz, port: http}
        resources:
          requests: {cpu: 100m, memory: 64Mi}
          limits: {cpu: 500m, memory: 128Mi}
        securityContext:
          allowPrivilegeEscalation: false
          readOnlyRootFilesystem: true
          capabilities: {drop: [ALL]}
`;
}

function service(name: string, app: string, targetPort: string): string {
  return `apiVersion: v1
kind: Service
metadata:
  name: ${name}
spec:
  selector: {app: ${app}}
  ports:
  - {port: 80, targetPort: ${targetPort}}
`;
}

function warningLines(stderr: string): string[] {
  return stderr.split('\n').filter((l) => l.startsWith('Warning: '));
}

describe('admission lint with the real kubectl', { skip: NO_KUBECTL }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'memory' });
    await c.server.lint.setMode('warn');
  });
  after(async () => {
    await c?.close();
  });

  it('warn: kubectl apply of nginx:latest without probes prints the findings as warnings', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: badDeployment('bad-warn') });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/bad-warn created/);
    const w = warningLines(r.stderr);
    assert.ok(w.some((l) => /^Warning: image-tag: container web: image nginx:latest/.test(l)), r.stderr);
    assert.ok(w.some((l) => l.startsWith('Warning: readiness-probe: ')), r.stderr);
    assert.ok(w.some((l) => l.startsWith('Warning: container-resources: ')), r.stderr);
    assert.equal(new Set(w).size, w.length, 'no duplicates');
  });

  it('warn: the same findings on update (kubectl apply again) and on server-side dry run', async () => {
    const again = await c.kubectl(['apply', '-f', '-'], { input: badDeployment('bad-warn').replace('nginx:latest', 'nginx') });
    assert.equal(again.code, 0, again.stderr);
    assert.ok(warningLines(again.stderr).some((l) => /^Warning: image-tag: .*nginx/.test(l)), again.stderr);
    const dry = await c.kubectl(['apply', '--dry-run=server', '-f', '-'], { input: badDeployment('bad-dry') });
    assert.equal(dry.code, 0, dry.stderr);
    assert.ok(warningLines(dry.stderr).some((l) => l.startsWith('Warning: image-tag: ')), dry.stderr);
    const get = await c.kubectl(['get', 'deploy', 'bad-dry']);
    assert.notEqual(get.code, 0, 'dry run stored nothing');
    const ssa = await c.kubectl(['apply', '--server-side', '-f', '-'], { input: badDeployment('bad-ssa') });
    assert.equal(ssa.code, 0, ssa.stderr);
    assert.ok(warningLines(ssa.stderr).some((l) => l.startsWith('Warning: image-tag: ')), ssa.stderr);
  });

  it('warn: a clean Deployment prints no warnings', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: cleanDeployment('clean') });
    assert.equal(r.code, 0, r.stderr);
    assert.equal(r.stderr.trim(), '');
  });

  it('warn: a Service whose named targetPort no container of the stored Deployment declares is warned about', async () => {
    // 'clean' (previous test) declares only the port named http.
    await until('the informer to see deploy/clean', () => c.server.lint.findings({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'probe', namespace: 'default' }, spec: { selector: { app: 'clean' }, ports: [{ port: 80, targetPort: 'http' }] } }).length === 0);
    const bad = await c.kubectl(['apply', '-f', '-'], { input: service('clean-metrics', 'clean', 'metrics') });
    assert.equal(bad.code, 0, bad.stderr);
    assert.ok(warningLines(bad.stderr).some((l) => l.startsWith('Warning: service-target-port: ') && l.includes('metrics')), bad.stderr);
    const good = await c.kubectl(['apply', '-f', '-'], { input: service('clean-http', 'clean', 'http') });
    assert.equal(good.code, 0, good.stderr);
    assert.equal(good.stderr.trim(), '');
  });

  it('warn: Warning headers are kube-formatted (299 - "<id>: <message>")', async () => {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'Pod', metadata: { name: 'bare' }, spec: { containers: [{ name: 'c', image: 'busybox' }] } });
    const r = await c.http('POST', '/api/v1/namespaces/default/pods?dryRun=All', { body });
    assert.equal(r.status, 201, r.body);
    const headers = ([] as string[]).concat(r.headers['warning'] ?? []).flatMap((h) => h.split(/,(?= ?299 )/)).map((h) => h.trim());
    assert.ok(headers.length > 0);
    for (const h of headers) assert.match(h, /^299 - "[a-z-]+: .+"$/);
    assert.ok(headers.some((h) => h.startsWith('299 - "image-tag: ')), headers.join('\n'));
  });

  it('deny: kubectl apply fails with a 422 Status listing the findings, and nothing is stored', async () => {
    await c.server.lint.setMode('deny');
    try {
      const r = await c.kubectl(['apply', '-f', '-'], { input: badDeployment('bad-deny') });
      assert.notEqual(r.code, 0);
      assert.match(r.stderr, /The Deployment "bad-deny" is invalid/);
      assert.match(r.stderr, /spec\.template\.spec\.containers\[0\]\.image: .*image-tag: /);
      assert.match(r.stderr, /readiness-probe: /);
      const get = await c.kubectl(['get', 'deploy', 'bad-deny']);
      assert.notEqual(get.code, 0);
      assert.match(get.stderr, /NotFound|not found/);

      const raw = await c.http('POST', '/apis/apps/v1/namespaces/default/deployments', {
        body: JSON.stringify({ apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'bad-raw' }, spec: { selector: { matchLabels: { a: 'b' } }, template: { metadata: { labels: { a: 'b' } }, spec: { containers: [{ name: 'web', image: 'nginx:latest' }] } } } }),
      });
      assert.equal(raw.status, 422);
      const st = raw.json<{ kind: string; reason: string; code: number; details: { causes: { reason: string; field?: string; message: string }[] } }>();
      assert.equal(st.kind, 'Status');
      assert.equal(st.reason, 'Invalid');
      const tag = st.details.causes.find((x) => x.message.startsWith('image-tag: '));
      assert.deepEqual(tag && { reason: tag.reason, field: tag.field }, { reason: 'FieldValueInvalid', field: 'spec.template.spec.containers[0].image' });
    } finally {
      await c.server.lint.setMode('warn');
    }
  });

  it('deny: a clean Deployment is admitted and the controllers still create its ReplicaSet and Pods', async () => {
    await c.server.lint.setMode('deny');
    try {
      const r = await c.kubectl(['apply', '-f', '-'], { input: cleanDeployment('clean-deny') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
      await until('2 pods of clean-deny', async () => {
        const p = await c.kubectl(['get', 'pods', '-l', 'app=clean-deny', '-o', 'name']);
        return p.stdout.trim().split('\n').filter(Boolean).length === 2;
      }, 20_000);
      const rs = await c.kubectl(['get', 'rs', '-l', 'app=clean-deny', '-o', 'name']);
      assert.match(rs.stdout, /replicaset.apps\/clean-deny-/);
    } finally {
      await c.server.lint.setMode('warn');
    }
  });

  it('deny: a bad Deployment created before deny still scales and gets its pods (subresource and controller writes are never linted)', async () => {
    const created = await c.kubectl(['apply', '-f', '-'], { input: badDeployment('bad-scale') });
    assert.equal(created.code, 0, created.stderr);
    const pods = async (): Promise<number> => (await c.kubectl(['get', 'pods', '-l', 'app=bad-scale', '-o', 'name'])).stdout.trim().split('\n').filter(Boolean).length;
    await until('1 pod of bad-scale', async () => (await pods()) === 1, 20_000);
    await c.server.lint.setMode('deny');
    try {
      const scaled = await c.kubectl(['scale', 'deploy/bad-scale', '--replicas=2']);
      assert.equal(scaled.code, 0, scaled.stderr);
      await until('2 pods of bad-scale', async () => (await pods()) === 2, 20_000);
    } finally {
      await c.server.lint.setMode('warn');
    }
  });

  it('off: nothing is printed or refused', async () => {
    await c.server.lint.setMode('off');
    try {
      const r = await c.kubectl(['apply', '-f', '-'], { input: badDeployment('bad-off') });
      assert.equal(r.code, 0, r.stderr);
      assert.equal(r.stderr.trim(), '');
    } finally {
      await c.server.lint.setMode('warn');
    }
  });
});

describe('kubelite up --lint-admission', () => {
  it('refuses a value other than warn, deny or off (exit 2, before starting anything)', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', MAIN, 'up', '--lint-admission', 'loud'], { encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--lint-admission must be warn, deny or off \(got "loud"\)/);
  });
});
