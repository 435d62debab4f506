/**
 * Issue 5 acceptance, end to end: `kubelite up` as root with a network namespace per pod, the
 * real kubectl, real processes. Runs only inside netns-sandbox (npm test runs *.sandbox.test.ts
 * there as root): the node bridge, pod namespaces, veths and nft rules live in the sandbox's
 * network namespace and are removed with it.
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NO_KUBECTL, until } from '../harness.js';
import { runCli, startCliCluster, type CliCluster } from './cli-cluster.js';

const SANDBOX = process.env.SANDBOX_NETNS;
const SKIP = !SANDBOX ? 'needs root in a throwaway network namespace: npm test runs this file inside ../shared/tools/netns-sandbox' : NO_KUBECTL;
const SEED = new URL('../../../shared/examples/seed-app.yaml', import.meta.url).pathname;

type Pod = { metadata: { name: string; uid: string; labels?: Record<string, string> }; status: Record<string, any>; spec: Record<string, any> };

describe('node agent: pods as real processes in their own network namespaces (issue 5)', { skip: SKIP }, () => {
  let dir: string;
  let k: CliCluster;
  const pods = async (selector: string): Promise<Pod[]> => {
    const r = await k.kubectl(['get', 'pods', '-l', selector, '-o', 'json']);
    assert.equal(r.code, 0, r.stderr);
    return (JSON.parse(r.stdout) as { items: Pod[] }).items;
  };
  const pod = async (name: string): Promise<Pod | undefined> => {
    const r = await k.kubectl(['get', 'pod', name, '-o', 'json']);
    return r.code === 0 ? (JSON.parse(r.stdout) as Pod) : undefined;
  };
  const isReady = (p: Pod): boolean => (p.status.conditions ?? []).some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True');
  const apply = async (yaml: string): Promise<void> => {
    const r = await k.kubectl(['apply', '-f', '-'], { input: yaml });
    assert.equal(r.code, 0, r.stderr);
  };

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'kubelite-agent-'));
    const m = await runCli(['image', '--data-dir', dir, 'map', 'my-image:v1.0.0', '--builtin', 'kubelite/demo-web']);
    assert.equal(m.code, 0, m.out);
    k = await startCliCluster(dir, ['--pod-network', 'netns']);
  });
  after(async () => {
    if (k) {
      await k.kubectl(['delete', 'pods,deployments,configmaps,secrets', '--all', '--wait=true', '--timeout=60s']).catch(() => undefined);
      await k.stop();
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('1. the seed sample: 3 Running, Ready pods with distinct pod IPs that reach each other on 8080', async () => {
    const r = await k.kubectl(['apply', '-f', SEED]);
    assert.equal(r.code, 0, r.stderr);
    const ready = await until('3 ready my-app pods', async () => {
      const ps = await pods('app=my-app');
      return ps.length === 3 && ps.every((p) => p.status.phase === 'Running' && isReady(p)) ? ps : undefined;
    }, 60_000);
    const ips = ready.map((p) => p.status.podIP as string);
    assert.equal(new Set(ips).size, 3, `distinct IPs: ${ips}`);
    for (const ip of ips) assert.match(ip, /^10\.244\.0\.\d+$/);
    const from = ready[0]!.metadata.name;
    for (const target of ready.slice(1)) {
      const out = await k.kubectl(['exec', from, '--', 'curl', '-s', '--max-time', '5', `http://${target.status.podIP}:8080/`]);
      assert.equal(out.code, 0, out.stderr);
      assert.match(out.stdout, new RegExp(target.metadata.name), 'the other pod answers and says which pod it is');
    }
    const eps = await k.kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=my-service', '-o', 'jsonpath={.items[*].endpoints[*].addresses[0]}']);
    assert.deepEqual(eps.stdout.trim().split(/\s+/).sort(), [...ips].sort());
  });

  it('2. a killed container restarts with back-off; liveness failure restarts; readiness gates the EndpointSlice', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: probed, labels: {app: probed}}
spec:
  containers:
  - name: web
    image: kubelite/demo-web:1
    livenessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1, failureThreshold: 2}
    readinessProbe: {httpGet: {path: /readiness, port: 8080}, periodSeconds: 1, failureThreshold: 1}
---
apiVersion: v1
kind: Service
metadata: {name: probed}
spec: {selector: {app: probed}, ports: [{port: 80, targetPort: 8080}]}
`);
    const p0 = await until('probed ready', async () => {
      const p = await pod('probed');
      return p && isReady(p) ? p : undefined;
    }, 30_000);
    const ip = p0.status.podIP as string;
    const sliceAddrs = async (): Promise<string> =>
      (await k.kubectl(['get', 'endpointslices', '-l', 'kubernetes.io/service-name=probed', '-o', 'jsonpath={range .items[*].endpoints[*]}{.addresses[0]}={.conditions.ready} {end}'])).stdout.trim();
    await until('pod in the slice, ready', async () => ((await sliceAddrs()) === `${ip}=true` ? true : undefined), 20_000);

    // Readiness: the app reports not ready → the pod leaves the ready endpoints, and comes back.
    let r = await k.kubectl(['exec', 'probed', '--', 'curl', '-s', '-X', 'POST', 'http://127.0.0.1:8080/fail-readiness']);
    assert.equal(r.code, 0, r.stderr);
    await until('pod not ready in the slice', async () => ((await sliceAddrs()) === `${ip}=false` ? true : undefined), 20_000);
    r = await k.kubectl(['exec', 'probed', '--', 'curl', '-s', '-X', 'POST', 'http://127.0.0.1:8080/fail-readiness']);
    await until('pod ready again in the slice', async () => ((await sliceAddrs()) === `${ip}=true` ? true : undefined), 20_000);

    // Kill the container's process: it restarts (restartCount 1), same pod IP.
    // The container's process, found from the host: the demo server in the pod's network namespace.
    const netns = `${SANDBOX}-p-${p0.metadata.uid.replace(/-/g, '').slice(0, 8)}`;
    const pids = execFileSync('ip', ['netns', 'pids', netns], { encoding: 'utf8' }).trim().split(/\s+/);
    const pid = pids.find((x) => readFileSync(`/proc/${x}/cmdline`, 'utf8').includes('demo-web'));
    assert.ok(pid, `the demo server runs in ${netns}`);
    process.kill(Number(pid), 'SIGKILL');
    const p1 = await until('restartCount 1', async () => {
      const p = await pod('probed');
      return p && p.status.containerStatuses?.[0]?.restartCount === 1 && isReady(p) ? p : undefined;
    }, 30_000);
    assert.equal(p1.status.containerStatuses[0].lastState.terminated.exitCode, 137);
    assert.equal(p1.status.podIP, ip);
    const prev = await k.kubectl(['logs', 'probed', '--previous']);
    assert.equal(prev.code, 0, prev.stderr);
    assert.match(prev.stdout, /^listening on 8080\n/, 'logs of the killed instance');

    // Liveness: /healthz fails → Killing + restart (restartCount 2) after a back-off.
    r = await k.kubectl(['exec', 'probed', '--', 'curl', '-s', '-X', 'POST', 'http://127.0.0.1:8080/fail-liveness']);
    assert.equal(r.code, 0, r.stderr);
    const p2 = await until('restartCount 2', async () => {
      const p = await pod('probed');
      return p && p.status.containerStatuses?.[0]?.restartCount === 2 ? p : undefined;
    }, 60_000);
    assert.ok(p2);
    const ev = await k.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=probed', '-o', 'jsonpath={range .items[*]}{.reason}:{.message}{"\\n"}{end}']);
    assert.match(ev.stdout, /Unhealthy:Liveness probe failed/);
    assert.match(ev.stdout, /Killing:Container web failed liveness probe, will be restarted/);
    assert.match(ev.stdout, /BackOff:Back-off restarting failed container web/);
  });

  it('3. kubectl logs -f, exec, port-forward and cp', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: tools}
spec:
  containers:
  - name: sh
    image: busybox:1.36
    command: [sh, -c, 'i=0; while true; do echo "tick $i"; i=$((i+1)); sleep 0.2; done']
  - name: web
    image: kubelite/demo-web:1
`);
    await until('tools ready', async () => {
      const p = await pod('tools');
      return p && isReady(p) ? true : undefined;
    }, 30_000);
    // logs -f: lines keep coming.
    const follow = spawn('kubectl', ['--kubeconfig', k.kubeconfig, 'logs', '-f', 'tools', '-c', 'sh'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let followed = '';
    follow.stdout.on('data', (d) => (followed += d));
    await until('two ticks followed', () => (/tick 1\n[\s\S]*tick 3\n/.test(followed) ? true : undefined), 15_000);
    follow.kill();
    const tail = await k.kubectl(['logs', 'tools', '-c', 'sh', '--tail=1']);
    assert.match(tail.stdout, /^tick \d+\n$/);

    // exec -it: kubectl drops -t without a terminal and says so; the hostname is the pod's.
    const ex = await k.kubectl(['exec', '-it', 'tools', '-c', 'sh', '--', 'sh', '-c', 'echo $HOSTNAME; hostname']);
    assert.equal(ex.code, 0, ex.stderr);
    assert.deepEqual(ex.stdout.trim().split(/\r?\n/), ['tools', 'tools']);
    const fail = await k.kubectl(['exec', 'tools', '-c', 'sh', '--', 'sh', '-c', 'exit 3']);
    assert.equal(fail.code, 3, 'the exit code comes through');

    // port-forward then curl.
    const pf = spawn('kubectl', ['--kubeconfig', k.kubeconfig, 'port-forward', 'pod/tools', '18080:8080'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let pfOut = '';
    pf.stdout.on('data', (d) => (pfOut += d));
    pf.stderr.on('data', (d) => (pfOut += d));
    try {
      await until('port-forward listening', () => (/Forwarding from 127\.0\.0\.1:18080/.test(pfOut) ? true : undefined), 15_000);
      for (let i = 0; i < 3; i++) {
        const body = execFileSync('curl', ['-s', '--max-time', '5', 'http://127.0.0.1:18080/'], { encoding: 'utf8' });
        assert.match(body, /tools/);
      }
    } finally {
      pf.kill();
    }

    // cp both ways.
    const local = join(dir, 'cp-in.txt');
    writeFileSync(local, 'copied in\n');
    let cp = await k.kubectl(['cp', local, 'tools:/tmp/kubelite-cp-test.txt', '-c', 'sh']);
    assert.equal(cp.code, 0, cp.stderr);
    const cat = await k.kubectl(['exec', 'tools', '-c', 'sh', '--', 'cat', '/tmp/kubelite-cp-test.txt']);
    assert.equal(cat.stdout, 'copied in\n');
    cp = await k.kubectl(['cp', 'tools:/tmp/kubelite-cp-test.txt', join(dir, 'cp-out.txt'), '-c', 'sh']);
    assert.equal(cp.code, 0, cp.stderr);
    assert.equal(readFileSync(join(dir, 'cp-out.txt'), 'utf8'), 'copied in\n');
    await k.kubectl(['exec', 'tools', '-c', 'sh', '--', 'rm', '-f', '/tmp/kubelite-cp-test.txt']);
  });

  it('4. configMap and secret volumes as files, a secretKeyRef env var, configMap updates reach the file', async () => {
    await apply(`apiVersion: v1
kind: ConfigMap
metadata: {name: cfg}
data: {app.conf: "level=1\\n", mode: fast}
---
apiVersion: v1
kind: Secret
metadata: {name: creds}
stringData: {password: s3cret, user: admin}
---
apiVersion: v1
kind: Pod
metadata: {name: vols}
spec:
  containers:
  - name: sh
    image: busybox:1.36
    command: [sh, -c, 'sleep 3600']
    env:
    - name: DB_PASSWORD
      valueFrom: {secretKeyRef: {name: creds, key: password}}
    volumeMounts:
    - {name: cfg, mountPath: /etc/config}
    - {name: creds, mountPath: /var/run/creds, readOnly: true}
  volumes:
  - {name: cfg, configMap: {name: cfg}}
  - {name: creds, secret: {secretName: creds}}
`);
    await until('vols running', async () => {
      const p = await pod('vols');
      return p && isReady(p) ? true : undefined;
    }, 30_000);
    const sh = async (cmd: string): Promise<string> => {
      const r = await k.kubectl(['exec', 'vols', '--', 'sh', '-c', cmd]);
      assert.equal(r.code, 0, `${cmd}: ${r.stderr}`);
      return r.stdout;
    };
    assert.equal(await sh('ls /etc/config'), 'app.conf\nmode\n');
    assert.equal(await sh('cat /etc/config/app.conf'), 'level=1\n');
    assert.equal(await sh('cat /var/run/creds/password; echo; cat /var/run/creds/user'), 's3cret\nadmin');
    assert.equal(await sh('echo $DB_PASSWORD'), 's3cret\n');
    assert.ok(!existsSync('/etc/config/app.conf'), 'the mount is the container\'s own, not on the host');
    const r = await k.kubectl(['patch', 'configmap', 'cfg', '-p', '{"data":{"app.conf":"level=2\\n"}}']);
    assert.equal(r.code, 0, r.stderr);
    await until('file updated', async () => ((await sh('cat /etc/config/app.conf')) === 'level=2\n' ? true : undefined), 60_000);
  });

  it('5. over its memory limit a pod ends OOMKilled; an unmapped image shows ImagePullBackOff', async () => {
    await apply(`apiVersion: v1
kind: Pod
metadata: {name: hog}
spec:
  restartPolicy: Never
  containers:
  - name: hog
    image: busybox:1.36
    command: [sh, -c, 'x=$(head -c 200000000 /dev/zero | tr "\\\\0" a); echo done']
    resources: {limits: {memory: 32Mi}}
---
apiVersion: v1
kind: Pod
metadata: {name: nope}
spec:
  containers:
  - {name: c, image: "not-mapped/anything:v9"}
`);
    const hog = await until('hog terminated', async () => {
      const p = await pod('hog');
      return p?.status.containerStatuses?.[0]?.state?.terminated ? p : undefined;
    }, 60_000);
    assert.equal(hog.status.containerStatuses[0].state.terminated.reason, 'OOMKilled');
    assert.equal(hog.status.containerStatuses[0].state.terminated.exitCode, 137);
    assert.equal(hog.status.phase, 'Failed');
    const nope = await until('ImagePullBackOff', async () => {
      const p = await pod('nope');
      return p?.status.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
    }, 60_000);
    assert.match(nope.status.containerStatuses[0].state.waiting.message, /kubelite image map not-mapped\/anything:v9/);
    const ev = await k.kubectl(['get', 'events', '--field-selector', 'involvedObject.name=nope', '-o', 'jsonpath={.items[*].reason}']);
    assert.match(ev.stdout, /Failed/);
    await k.kubectl(['delete', 'pod', 'hog', 'nope', '--wait=true']);
  });

  it('6. a killed and restarted agent keeps pods serving; deleting the pods leaves nothing behind', async () => {
    const before = await pods('app=my-app');
    assert.equal(before.length, 3);
    await k.kill9();
    // Pods keep serving while the agent is gone.
    for (const p of before) {
      const body = execFileSync('curl', ['-s', '--max-time', '5', `http://${p.status.podIP}:8080/`], { encoding: 'utf8' });
      assert.match(body, new RegExp(p.metadata.name));
    }
    k = await startCliCluster(dir, ['--pod-network', 'netns']);
    // Same pods, same IPs, no restarts, still Ready.
    await new Promise((r) => setTimeout(r, 3000));
    const again = await pods('app=my-app');
    assert.deepEqual(again.map((p) => [p.metadata.uid, p.status.podIP]).sort(), before.map((p) => [p.metadata.uid, p.status.podIP]).sort());
    for (const p of again) {
      assert.ok(isReady(p), `${p.metadata.name} still ready`);
      assert.equal(p.status.containerStatuses[0].restartCount, 0, `${p.metadata.name} was not restarted`);
    }
    const logs = await k.kubectl(['logs', before[0]!.metadata.name]);
    assert.match(logs.stdout, /listening on 8080/, 'logs of an adopted container');

    // Every process in a pod namespace now: all must be gone once the pods are deleted.
    const podNetns = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0]!).filter((n) => n.startsWith(`${SANDBOX}-p`));
    const containerPids = podNetns.flatMap((n) => execFileSync('ip', ['netns', 'pids', n], { encoding: 'utf8' }).trim().split(/\s+/).filter(Boolean));
    assert.ok(containerPids.length >= 3, `container processes found: ${containerPids}`);
    const r = await k.kubectl(['delete', 'deployment,service', '--all', '--wait=true']);
    assert.equal(r.code, 0, r.stderr);
    const del = await k.kubectl(['delete', 'pods', '--all', '--wait=true', '--timeout=90s'], { timeoutMs: 100_000 });
    assert.equal(del.code, 0, del.stderr);
    await until('no pods', async () => ((await k.kubectl(['get', 'pods', '-o', 'name'])).stdout.trim() === '' ? true : undefined), 60_000);
    // Nothing leaks: pod namespaces, veths, processes.
    await until('no pod netns left', () => {
      const list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' });
      return list.split('\n').filter((l) => l.startsWith(`${SANDBOX}-p`)).length === 0 ? true : undefined;
    }, 20_000);
    const links = execFileSync('ip', ['-o', 'link', 'show'], { encoding: 'utf8' });
    assert.doesNotMatch(links, /veth[0-9a-f]{8}/, 'no veths left');
    // A process killed after its parent (the first agent) died is reaped by init: a zombie
    // until then, which counts as gone.
    const alive = (): string[] =>
      containerPids.filter((pid) => {
        try {
          return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'));
        } catch {
          return false;
        }
      });
    await until('container processes gone', () => (alive().length === 0 ? true : undefined), 10_000).catch(() => undefined);
    assert.deepEqual(alive(), [], 'no container processes left');
  });
});
