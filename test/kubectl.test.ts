/**
 * Acceptance 1: the real kubectl against kubelite, on the seed sample, end to end.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { startCluster, NO_KUBECTL, type TestCluster } from './harness.js';

const SEED = new URL('../../shared/examples/seed-app.yaml', import.meta.url);
const seedYaml = (): string => readFileSync(SEED, 'utf8');

describe('kubectl against kubelite (seed sample)', { skip: NO_KUBECTL }, () => {
  let c: TestCluster;
  before(async () => {
    c = await startCluster({ store: 'sqlite' });
  });
  after(async () => {
    await c?.close();
  });

  it('applies the seed sample with default (strict) validation', async () => {
    const r = await c.kubectl(['apply', '-f', '-'], { input: seedYaml() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/my-app created/);
    assert.match(r.stdout, /service\/my-service created/);
    assert.equal(r.stderr.trim(), '', 'no warnings');
  });

  it('rejects an unknown field under strict validation, as a real cluster does', async () => {
    const bad = seedYaml().replace('  type: ClusterIP', '  type: ClusterIP\n  bogusField: 1').replace(/name: my-service/, 'name: other-service');
    const r = await c.kubectl(['apply', '-f', '-'], { input: bad });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /unknown field "spec.bogusField"/);
  });

  it('get deploy,svc -o wide shows the columns a cluster shows', async () => {
    // The deployment controller creates the pods; with no node they stay Pending (not ready).
    for (let i = 0; i < 100; i++) {
      const u = await c.kubectl(['get', 'deploy', 'my-app', '-o', 'jsonpath={.status.updatedReplicas}']);
      if (u.stdout === '3') break;
      await new Promise((res) => setTimeout(res, 50));
    }
    const r = await c.kubectl(['get', 'deploy,svc', '-o', 'wide']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /NAME\s+READY\s+UP-TO-DATE\s+AVAILABLE\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR/);
    assert.match(r.stdout, /deployment.apps\/my-app\s+0\/3\s+3\s+0\s+\S+\s+my-container\s+my-image:v1.0.0\s+app=my-app/);
    assert.match(r.stdout, /NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR/);
    assert.match(r.stdout, /service\/kubernetes\s+ClusterIP\s+10\.96\.0\.1\s+<none>\s+443\/TCP/);
    assert.match(r.stdout, /service\/my-service\s+ClusterIP\s+10\.\d+\.\d+\.\d+\s+<none>\s+80\/TCP\s+\S+\s+app=my-app/);
  });

  it('describe svc shows IP, ports and selector', async () => {
    const r = await c.kubectl(['describe', 'svc', 'my-service']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /Selector:\s+app=my-app/);
    assert.match(r.stdout, /Type:\s+ClusterIP/);
    assert.match(r.stdout, /IP:\s+10\.\d+\.\d+\.\d+/);
    assert.match(r.stdout, /Port:\s+<unset>\s+80\/TCP/);
    assert.match(r.stdout, /TargetPort:\s+8080\/TCP/);
    assert.match(r.stdout, /Session Affinity:\s+None/);
  });

  it('explain service.spec.ports lists the ServicePort fields', async () => {
    const r = await c.kubectl(['explain', 'service.spec.ports']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /FIELD:\s+ports <\[\]ServicePort>/);
    for (const f of ['appProtocol', 'name', 'nodePort', 'port', 'protocol', 'targetPort']) assert.match(r.stdout, new RegExp(`^  ${f}\\s`, 'm'));
  });

  it('get svc -w sees a later change', async () => {
    const child = spawn('kubectl', ['--kubeconfig', c.kubeconfig, 'get', 'svc', '-w'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d) => (out += d));
    try {
      const waitFor = async (re: RegExp, ms: number): Promise<void> => {
        const end = Date.now() + ms;
        while (!re.test(out) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
        assert.match(out, re);
      };
      await waitFor(/my-service/, 10_000);
      const before = out.length;
      const r = await c.kubectl(['create', 'service', 'clusterip', 'watched-svc', '--tcp=81:8081']);
      assert.equal(r.code, 0, r.stderr);
      await waitFor(/watched-svc\s+ClusterIP/, 10_000);
      assert.ok(out.length > before);
    } finally {
      child.kill();
    }
  });

  it('scale deploy my-app --replicas=5', async () => {
    const r = await c.kubectl(['scale', 'deploy', 'my-app', '--replicas=5']);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/my-app scaled/);
    const g = await c.kubectl(['get', 'deploy', 'my-app', '-o', 'jsonpath={.spec.replicas} {.metadata.generation}']);
    assert.equal(g.stdout, '5 2');
  });

  it('an edited re-apply is a 3-way strategic merge', async () => {
    const edited = seedYaml()
      .replace('replicas: 3', 'replicas: 4')
      .replace('image: my-image:v1.0.0', 'image: my-image:v1.0.1')
      .replace(/        readinessProbe:\n(          .*\n)+/, '');
    const r = await c.kubectl(['apply', '-f', '-'], { input: edited });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/my-app configured/);
    assert.match(r.stdout, /service\/my-service unchanged/);
    const g = await c.kubectl(['get', 'deploy', 'my-app', '-o', 'json']);
    const d = JSON.parse(g.stdout);
    const ct = d.spec.template.spec.containers[0];
    assert.equal(d.spec.replicas, 4);
    assert.equal(ct.image, 'my-image:v1.0.1');
    assert.equal(ct.readinessProbe, undefined, 'removed field is removed');
    assert.deepEqual(ct.resources, { requests: { memory: '64Mi', cpu: '250m' }, limits: { memory: '128Mi', cpu: '500m' } });
    assert.equal(ct.livenessProbe.httpGet.path, '/healthz');
    assert.equal(ct.livenessProbe.timeoutSeconds, 1, 'defaults kept');
  });

  it('apply --server-side takes ownership as field manager kubectl', async () => {
    const r = await c.kubectl(['apply', '--server-side', '--force-conflicts', '-f', '-'], { input: seedYaml() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps\/my-app serverside-applied/);
    const g = await c.kubectl(['get', 'deploy', 'my-app', '-o', 'json', '--show-managed-fields']);
    const d = JSON.parse(g.stdout);
    assert.equal(d.spec.replicas, 3);
    assert.equal(d.spec.template.spec.containers[0].image, 'my-image:v1.0.0');
    const mf = d.metadata.managedFields.find((m: { manager: string; operation: string }) => m.manager === 'kubectl' && m.operation === 'Apply');
    assert.ok(mf, JSON.stringify(d.metadata.managedFields));
    assert.ok(mf.fieldsV1['f:spec']['f:replicas'] !== undefined);
  });

  it('a conflicting server-side apply is refused without --force-conflicts', async () => {
    const other = seedYaml().split('---')[0].replace('replicas: 3', 'replicas: 7');
    const r = await c.kubectl(['apply', '--server-side', '--field-manager=other', '-f', '-'], { input: other });
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /conflict/i);
    assert.match(r.stderr, /\.spec\.replicas/);
  });

  it('delete -f removes both', async () => {
    const r = await c.kubectl(['delete', '-f', '-'], { input: seedYaml() });
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /deployment.apps "my-app" deleted/);
    assert.match(r.stdout, /service "my-service" deleted/);
    const g = await c.kubectl(['get', 'deploy', 'my-app']);
    assert.notEqual(g.code, 0);
    assert.match(g.stderr, /Error from server \(NotFound\): deployments.apps "my-app" not found/);
  });
});
