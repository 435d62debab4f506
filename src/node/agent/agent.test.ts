import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { startCluster, type TestCluster } from '../../../test/harness.js';
import { LocalClient, PODS, NODES, EVENTS, isNotFound, type ResourceRef } from '../../client/client.js';
import { ProcessRuntime } from '../runtime/process.js';
import { realClock } from '../../client/workqueue.js';

const CONFIGMAPS: ResourceRef = { group: '', plural: 'configmaps' };
import { FakeClock } from '../../client/fakeclock.js';
import type { KObject } from '../../api/types.js';
import { emptyCatalog, normalizeImageRef, type ImageCatalog } from '../runtime/images.js';
import { NodeAgent, ContainerLookupError, chooseContainer } from './agent.js';
import { FakePodNetwork, FakeRuntime } from './fakes.js';

type CStatus = { name: string; restartCount: number; ready: boolean; started: boolean; state: Record<string, Record<string, unknown>>; lastState: Record<string, Record<string, unknown>> };
type PStatus = { phase?: string; podIP?: string; hostIP?: string; startTime?: string; conditions?: { type: string; status: string }[]; containerStatuses?: CStatus[] };

describe('NodeAgent with a fake runtime', () => {
  let c: TestCluster;
  let client: LocalClient;
  let clock: FakeClock;
  let runtime: FakeRuntime;
  let network: FakePodNetwork;
  let agent: NodeAgent;
  let rootDir: string;
  let catalog: ImageCatalog = emptyCatalog();
  /** Per pod name: whether its exec probes / commands succeed. */
  const healthy = new Map<string, boolean>();

  const newAgent = (): NodeAgent =>
    new NodeAgent(
      { registry: c.server.registry, cache: c.server.cache },
      {
        nodeName: 'n1',
        runtime,
        network,
        rootDir,
        catalog: () => catalog,
        hostIP: '10.0.0.1',
        clusterDNS: ['10.96.0.10'],
        clusterDomain: 'cluster.local',
        nodeResolvConf: 'nameserver 1.1.1.1\n',
        clock,
        workers: 4,
      },
    );

  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    client = new LocalClient(c.server.registry, { manager: 'test' });
    await client.create(NODES, undefined, { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: {} });
    clock = new FakeClock(Date.now());
    runtime = new FakeRuntime(clock);
    runtime.execHandler = (id) => {
      const pod = runtime.configOf(id).labels?.['io.kubernetes.pod.name'] ?? '';
      const ok = healthy.get(pod) ?? true;
      return { stdout: Buffer.from(ok ? '' : 'unhealthy'), stderr: Buffer.alloc(0), exitCode: ok ? 0 : 1, timedOut: false };
    };
    network = new FakePodNetwork();
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-test-'));
    agent = newAgent();
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    await c.close();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  async function runPod(name: string, spec: Record<string, unknown>, containers?: Record<string, unknown>[]): Promise<KObject> {
    const pod = await client.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name },
      spec: { containers: containers ?? [{ name: 'c', image: 'busybox', command: ['sleep', '3600'] }], ...spec },
    });
    await client.bind('default', name, 'n1');
    return pod;
  }

  const status = async (name: string): Promise<PStatus> => ((await client.get(PODS, 'default', name)).status ?? {}) as PStatus;
  const cond = (s: PStatus, type: string): string | undefined => s.conditions?.find((x) => x.type === type)?.status;
  const cs = (s: PStatus, name = 'c'): CStatus | undefined => s.containerStatuses?.find((x) => x.name === name);

  /** Polls (real time) until fn holds; with `advanceMs`, moves fake time on between polls. */
  async function waitFor<T>(fn: () => Promise<T | undefined | false>, opts: { advanceMs?: number; what?: string } = {}): Promise<T> {
    let last: unknown;
    for (let i = 0; i < 1000; i++) {
      const v = await fn().catch((e: unknown) => ((last = e), undefined));
      if (v) return v;
      if (opts.advanceMs) clock.advance(opts.advanceMs);
      await new Promise((r) => setTimeout(r, 10));
    }
    throw new Error(`timed out waiting for ${opts.what ?? 'condition'}${last ? `: ${String(last)}` : ''}`);
  }

  async function events(pod: string): Promise<{ reason: string; message: string; type: string }[]> {
    await agent.flushEvents();
    const all = await client.list(EVENTS, 'default');
    return all
      .filter((e) => (e.involvedObject as { name: string }).name === pod)
      .map((e) => ({ reason: e.reason as string, message: e.message as string, type: e.type as string }));
  }

  it('runs a bound pod to Running and Ready with the network pod IP', async () => {
    const pod = await runPod('web', {});
    const s = await waitFor(async () => {
      const s = await status('web');
      return s.phase === 'Running' && cond(s, 'Ready') === 'True' ? s : undefined;
    }, { what: 'web Ready' });
    assert.equal(s.podIP, network.ips.get(pod.metadata.uid!));
    assert.equal(s.hostIP, '10.0.0.1');
    assert.ok(s.startTime, 's.startTime');
    assert.equal(cond(s, 'Initialized'), 'True');
    assert.equal(cond(s, 'PodReadyToStartContainers'), 'True');
    const c0 = cs(s)!;
    assert.equal(c0.restartCount, 0);
    assert.ok(c0.state.running, 'c0.state.running');
    assert.equal(c0.started, true);
    const [ctr] = runtime.containersOf('web', 'c');
    assert.equal(ctr!.state, 'running');
    assert.deepEqual(runtime.configOf(ctr!.id).command.slice(-2), ['sleep', '3600']);
    const reasons = (await events('web')).map((e) => `${e.reason}: ${e.message}`);
    assert.ok(reasons.includes('Pulled: Container image "busybox" already present on machine'), reasons.join('\n'));
    assert.ok(reasons.includes('Created: Created container: c'), 'reasons.includes("Created: Created container: c")');
    assert.ok(reasons.includes('Started: Started container c'), 'reasons.includes("Started: Started container c")');
    const loc = await agent.findContainer('default', 'web');
    assert.equal(loc?.containerId, ctr!.id);
    assert.equal(loc?.podIP, s.podIP);
    assert.equal(loc?.previousLogPath, undefined);
  });

  it('restarts an exited container, then backs off with CrashLoopBackOff on fake time', async () => {
    const pod = await runPod('crash', {});
    await waitFor(async () => cs(await status('crash'))?.state.running, { what: 'running' });
    runtime.exit(runtime.containersOf('crash', 'c')[0]!.id, 1);
    const s1 = await waitFor(async () => {
      const s = await status('crash');
      return cs(s)?.restartCount === 1 && cs(s)?.state.running ? s : undefined;
    }, { what: 'first restart (no back-off)' });
    assert.equal(cs(s1)!.lastState.terminated!.exitCode, 1);
    assert.equal(cs(s1)!.lastState.terminated!.reason, 'Error');
    runtime.exit(runtime.containersOf('crash', 'c').at(-1)!.id, 2);
    const s2 = await waitFor(async () => {
      const s = await status('crash');
      return cs(s)?.state.waiting?.reason === 'CrashLoopBackOff' ? s : undefined;
    }, { what: 'CrashLoopBackOff' });
    assert.equal(cs(s2)!.state.waiting!.message, `back-off 10s restarting failed container=c pod=crash_default(${pod.metadata.uid})`);
    assert.equal(cs(s2)!.restartCount, 1);
    assert.equal(cs(s2)!.lastState.terminated!.exitCode, 2);
    assert.equal(cond(s2, 'Ready'), 'False');
    // No restart before the back-off elapses on the fake clock.
    await new Promise((r) => setTimeout(r, 100));
    assert.equal(runtime.containersOf('crash', 'c').filter((x) => x.state === 'running').length, 0);
    clock.advance(10_000);
    const s3 = await waitFor(async () => {
      const s = await status('crash');
      return cs(s)?.restartCount === 2 && cs(s)?.state.running ? s : undefined;
    }, { what: 'restart after back-off' });
    assert.equal(cond(s3, 'Ready'), 'True');
    // Only the latest two instances are kept.
    assert.equal(runtime.containersOf('crash', 'c').length, 2);
    const loc = await agent.findContainer('default', 'crash', 'c');
    assert.ok(loc?.previousLogPath, 'loc?.previousLogPath');
    const evs = await events('crash');
    assert.ok(evs.some((e) => e.reason === 'BackOff' && e.type === 'Warning' && e.message === `Back-off restarting failed container c in pod crash_default(${pod.metadata.uid})`), 'evs.some((e) => e.reason === "BackOff" && e.type === "Warnin');
  });

  it('readiness probe drives the Ready condition both ways', async () => {
    healthy.set('ready', false);
    await runPod('ready', {}, [{ name: 'c', image: 'busybox', command: ['sleep', '1'], readinessProbe: { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold: 1 } }]);
    await waitFor(async () => cs(await status('ready'))?.state.running, { what: 'running' });
    await new Promise((r) => setTimeout(r, 50));
    let s = await status('ready');
    assert.equal(cond(s, 'Ready'), 'False');
    assert.equal(cs(s)!.ready, false);
    healthy.set('ready', true);
    await waitFor(async () => cond(await status('ready'), 'Ready') === 'True', { advanceMs: 1000, what: 'Ready' });
    healthy.set('ready', false);
    s = await waitFor(async () => {
      const st = await status('ready');
      return cond(st, 'Ready') === 'False' ? st : undefined;
    }, { advanceMs: 1000, what: 'not Ready' });
    assert.equal(cs(s)!.restartCount, 0);
    assert.ok((await events('ready')).some((e) => e.reason === 'Unhealthy' && e.message === 'Readiness probe failed: unhealthy'), '(await events("ready")).some((e) => e.reason === "Unhealthy"');
  });

  it('liveness failure kills (Killing event) and restarts the container', async () => {
    await runPod('live', {}, [{ name: 'c', image: 'busybox', command: ['sleep', '1'], livenessProbe: { exec: { command: ['check'] }, periodSeconds: 1, failureThreshold: 2 } }]);
    await waitFor(async () => cs(await status('live'))?.state.running, { what: 'running' });
    const first = runtime.containersOf('live', 'c')[0]!.id;
    healthy.set('live', false);
    await waitFor(async () => runtime.containersOf('live', 'c').length === 2, { advanceMs: 1000, what: 'liveness restart' });
    healthy.set('live', true);
    const s = await waitFor(async () => {
      const st = await status('live');
      return cs(st)?.restartCount === 1 && cs(st)?.state.running ? st : undefined;
    }, { what: 'restarted status' }).catch(async (e) => { console.error(JSON.stringify((await status('live')), null, 1)); throw e; });
    assert.equal(cs(s)!.lastState.terminated!.exitCode, 143);
    assert.ok(runtime.stopCalls.some((x) => x.containerId === first), 'runtime.stopCalls.some((x) => x.containerId === first)');
    const evs = await events('live');
    assert.ok(evs.some((e) => e.reason === 'Killing' && e.message === 'Container c failed liveness probe, will be restarted'), JSON.stringify(evs));
    assert.ok(evs.some((e) => e.reason === 'Unhealthy' && e.message === 'Liveness probe failed: unhealthy'), 'evs.some((e) => e.reason === "Unhealthy" && e.message === "L');
  });

  it('unmapped image: ErrImagePull, then ImagePullBackOff, then runs once mapped', async () => {
    const image = 'registry.example/missing:1';
    await runPod('img', {}, [{ name: 'c', image }]);
    const s = await waitFor(async () => {
      const st = await status('img');
      const r = cs(st)?.state.waiting?.reason;
      return r === 'ErrImagePull' || r === 'ImagePullBackOff' ? st : undefined;
    }, { what: 'image error' });
    assert.match(String(cs(s)!.state.waiting!.message), /kubelite image map registry\.example\/missing:1 --builtin/);
    const s2 = await waitFor(async () => {
      const st = await status('img');
      return cs(st)?.state.waiting?.reason === 'ImagePullBackOff' ? st : undefined;
    }, { what: 'ImagePullBackOff' });
    assert.match(String(cs(s2)!.state.waiting!.message), /^Back-off pulling image "registry\.example\/missing:1"/);
    assert.equal(s2.phase, 'Pending');
    const evs = await events('img');
    assert.ok(evs.some((e) => e.reason === 'Failed' && e.message === 'Error: ErrImagePull'), 'evs.some((e) => e.reason === "Failed" && e.message === "Erro');
    assert.ok(evs.some((e) => e.reason === 'BackOff' && e.message === `Back-off pulling image "${image}"`), 'evs.some((e) => e.reason === "BackOff" && e.message === `Bac');
    assert.equal(runtime.containersOf('img').length, 0);
    catalog = { mappings: new Map([[normalizeImageRef(image).canonical, { builtin: 'shell' as const }]]) };
    await waitFor(async () => cs(await status('img'))?.state.running, { advanceMs: 5000, what: 'running after mapping' });
  });

  it('missing configMap key reference: CreateContainerConfigError', async () => {
    await runPod('cfg', {}, [{ name: 'c', image: 'busybox', env: [{ name: 'X', valueFrom: { configMapKeyRef: { name: 'nope', key: 'k' } } }] }]);
    const s = await waitFor(async () => {
      const st = await status('cfg');
      return cs(st)?.state.waiting?.reason === 'CreateContainerConfigError' ? st : undefined;
    }, { what: 'CreateContainerConfigError' });
    assert.match(String(cs(s)!.state.waiting!.message), /nope/);
  });

  it('restartPolicy Never: a finished pod reaches Succeeded and releases its network', async () => {
    const pod = await runPod('job', { restartPolicy: 'Never' });
    await waitFor(async () => cs(await status('job'))?.state.running, { what: 'running' });
    runtime.exit(runtime.containersOf('job', 'c')[0]!.id, 0, 'Completed');
    const s = await waitFor(async () => {
      const st = await status('job');
      return st.phase === 'Succeeded' ? st : undefined;
    }, { what: 'Succeeded' });
    assert.equal(cs(s)!.state.terminated!.reason, 'Completed');
    await waitFor(async () => !network.ips.has(pod.metadata.uid!), { what: 'network released' });
    assert.equal(runtime.containersOf('job').length, 1);
  });

  it('graceful delete: preStop, SIGTERM with the grace period, teardown, then the pod is removed', async () => {
    const pod = await runPod('bye', { terminationGracePeriodSeconds: 7 }, [
      { name: 'c', image: 'busybox', command: ['sleep', '1'], lifecycle: { preStop: { exec: { command: ['/bin/sh', '-c', 'echo bye'] } } } },
    ]);
    await waitFor(async () => cs(await status('bye'))?.state.running, { what: 'running' });
    const id = runtime.containersOf('bye', 'c')[0]!.id;
    await client.delete(PODS, 'default', 'bye');
    await waitFor(async () => {
      try {
        await client.get(PODS, 'default', 'bye');
        return false;
      } catch (e) {
        return isNotFound(e);
      }
    }, { what: 'pod removed' });
    assert.ok(runtime.execCalls.some((x) => x.containerId === id && x.cmd.join(' ') === '/bin/sh -c echo bye'), 'runtime.execCalls.some((x) => x.containerId === id && x.cmd.');
    assert.ok(runtime.stopCalls.some((x) => x.containerId === id && x.timeoutSeconds === 7), 'runtime.stopCalls.some((x) => x.containerId === id && x.time');
    assert.ok(network.tornDown.includes(pod.metadata.uid!), 'network.tornDown.includes(pod.metadata.uid!)');
    await waitFor(async () => runtime.containersOf('bye').length === 0 && !fs.existsSync(path.join(rootDir, 'pods', pod.metadata.uid!)), { what: 'sandbox and pod dir removed' });
    assert.ok((await events('bye')).some((e) => e.reason === 'Killing' && e.message === 'Stopping container c'), '(await events("bye")).some((e) => e.reason === "Killing" && ');
  });

  it('a missing configMap volume gives FailedMount; creating it starts the pod; updates refresh the file', async () => {
    const pod = await runPod('vol', { volumes: [{ name: 'cfg', configMap: { name: 'vol-cm' } }] }, [
      { name: 'c', image: 'busybox', command: ['sleep', '1'], volumeMounts: [{ name: 'cfg', mountPath: '/etc/cfg' }] },
    ]);
    await waitFor(async () => (await events('vol')).some((e) => e.reason === 'FailedMount' && /vol-cm/.test(e.message)), { what: 'FailedMount' });
    assert.equal((await status('vol')).phase, 'Pending');
    assert.equal(runtime.containersOf('vol').length, 0);
    await client.create(CONFIGMAPS, 'default', { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'vol-cm' }, data: { key: 'one' } });
    await waitFor(async () => cs(await status('vol'))?.state.running, { what: 'running after configMap exists' });
    const ctr = runtime.containersOf('vol', 'c')[0]!;
    const mount = runtime.configOf(ctr.id).mounts?.find((m) => m.containerPath === '/etc/cfg');
    assert.ok(mount, 'volume mounted at /etc/cfg');
    assert.ok(mount.hostPath.startsWith(path.join(rootDir, 'pods', pod.metadata.uid!)), mount.hostPath);
    assert.equal(fs.readFileSync(path.join(mount.hostPath, 'key'), 'utf8'), 'one');
    await client.mutate(CONFIGMAPS, 'default', 'vol-cm', (cm) => ({ ...cm, data: { key: 'two' } }));
    await waitFor(async () => fs.readFileSync(path.join(mount.hostPath, 'key'), 'utf8') === 'two', { what: 'file refreshed' });
  });

  it('after a restart the agent adopts running pods without restarting them and cleans up orphans', async () => {
    const orphan = await runPod('orphan', {});
    await waitFor(async () => cs(await status('orphan'))?.state.running, { what: 'orphan running' });
    const before = runtime.containersOf('web', 'c').map((x) => x.id);
    await agent.stop();
    // While the agent is down: its pod is force-deleted, and a stray network remains.
    await client.delete(PODS, 'default', 'orphan', { gracePeriodSeconds: 0 });
    await network.setUp({ uid: 'stray-uid', namespace: 'x', name: 'y' });
    agent = newAgent();
    await agent.start();
    await waitFor(async () => runtime.containersOf('orphan').length === 0, { what: 'orphan removed' });
    assert.ok(!network.ips.has(orphan.metadata.uid!), '!network.ips.has(orphan.metadata.uid!)');
    assert.ok(!network.ips.has('stray-uid'), '!network.ips.has("stray-uid")');
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(runtime.containersOf('web', 'c').map((x) => x.id), before);
    assert.equal(runtime.containersOf('web', 'c')[0]!.state, 'running');
    const s = await status('web');
    assert.equal(cond(s, 'Ready'), 'True');
    assert.equal(cs(s)!.restartCount, 0);
    // Adopted pods still restart on exit.
    runtime.exit(before[0]!, 1);
    await waitFor(async () => cs(await status('web'))?.restartCount === 1, { what: 'adopted pod restarts' });
  });
});

describe('chooseContainer', () => {
  const pod = (containers: string[], annotations?: Record<string, string>, inits: string[] = []): KObject => ({
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', annotations },
    spec: { containers: containers.map((name) => ({ name })), initContainers: inits.map((name) => ({ name })) },
  });
  const cases: { name: string; pod: KObject; container?: string; want: string | RegExp }[] = [
    { name: 'only container', pod: pod(['a']), want: 'a' },
    { name: 'explicit', pod: pod(['a', 'b']), container: 'b', want: 'b' },
    { name: 'explicit init', pod: pod(['a'], undefined, ['i']), container: 'i', want: 'i' },
    { name: 'annotation', pod: pod(['a', 'b'], { 'kubectl.kubernetes.io/default-container': 'b' }), want: 'b' },
    { name: 'ambiguous', pod: pod(['a', 'b']), want: /^a container name must be specified for pod p, choose one of: \[a b\]$/ },
    { name: 'ambiguous with inits', pod: pod(['a', 'b'], undefined, ['i']), want: /choose one of: \[a b\] or one of the init containers: \[i\]$/ },
    { name: 'invalid', pod: pod(['a']), container: 'z', want: /^container z is not valid for pod p$/ },
  ];
  for (const c of cases) {
    it(c.name, () => {
      if (typeof c.want === 'string') assert.equal(chooseContainer(c.pod, c.container), c.want);
      else assert.throws(() => chooseContainer(c.pod, c.container), (e: unknown) => e instanceof ContainerLookupError && (c.want as RegExp).test(e.message));
    });
  }
});

describe('NodeAgent with the process runtime', () => {
  let c: TestCluster;
  let client: LocalClient;
  let runtime: ProcessRuntime;
  let agent: NodeAgent;
  let rootDir: string;
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    client = new LocalClient(c.server.registry, { manager: 'test' });
    rootDir = fs.mkdtempSync(path.join(os.tmpdir(), 'agent-proc-'));
    runtime = new ProcessRuntime({ rootDir: path.join(rootDir, 'runtime'), clock: realClock });
    agent = new NodeAgent(
      { registry: c.server.registry, cache: c.server.cache },
      {
        nodeName: 'n1',
        runtime,
        network: new FakePodNetwork(),
        rootDir,
        catalog: () => emptyCatalog(),
        hostIP: '127.0.0.1',
        clusterDNS: ['10.96.0.10'],
        clusterDomain: 'cluster.local',
        nodeResolvConf: 'nameserver 1.1.1.1\n',
      },
    );
    await agent.start();
  });
  after(async () => {
    await agent.stop();
    runtime.close();
    await c.close();
    fs.rmSync(rootDir, { recursive: true, force: true });
  });

  it('runs a real process, writes its log, and a graceful delete stops it and removes the pod', async () => {
    await client.create(PODS, 'default', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'real' },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'c', image: 'busybox', command: ['/bin/sh', '-c', 'echo hello-from-pod; exec sleep 3600'] }] },
    });
    await client.bind('default', 'real', 'n1');
    const ready = async (): Promise<boolean> => {
      const st = (await client.get(PODS, 'default', 'real')).status as PStatus;
      return st.phase === 'Running' && st.conditions?.some((x) => x.type === 'Ready' && x.status === 'True') === true;
    };
    for (let i = 0; i < 500 && !(await ready()); i++) await new Promise((r) => setTimeout(r, 10));
    assert.equal(await ready(), true, 'pod Running and Ready');
    const loc = await agent.findContainer('default', 'real');
    assert.ok(loc, 'container found');
    let log = '';
    for (let i = 0; i < 300 && !log.includes('hello-from-pod'); i++) {
      log = fs.existsSync(loc.logPath) ? fs.readFileSync(loc.logPath, 'utf8') : '';
      await new Promise((r) => setTimeout(r, 10));
    }
    assert.match(log, /stdout F hello-from-pod/);
    const pid = (await runtime.containerStatus(loc.containerId)).pid!;
    await client.delete(PODS, 'default', 'real');
    let gone = false;
    for (let i = 0; i < 500 && !gone; i++) {
      gone = await client.get(PODS, 'default', 'real').then(() => false, (e: unknown) => isNotFound(e));
      if (!gone) await new Promise((r) => setTimeout(r, 10));
    }
    assert.equal(gone, true, 'pod deleted from the API');
    assert.throws(() => process.kill(pid, 0), 'process is gone');
  });
});
