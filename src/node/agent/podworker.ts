/**
 * One pod's lifecycle on this node (the kubelet's per-pod syncPod / syncTerminatingPod /
 * syncTerminatedPod): observe the runtime, compute actions (actions.ts), apply them through the
 * RuntimeService, then write the pod status when it changed. The agent runs at most one sync per
 * pod at a time (the work queue is keyed by pod uid), so this class needs no locking.
 *
 * Retries: a failed step throws and the queue retries with back-off; timed waits (crash-loop and
 * image back-off) re-enqueue with `enqueue(uid, ms)` — never a sleep inside sync.
 */
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { KObject } from '../../api/types.js';
import { jsonEqual } from '../../api/types.js';
import { rfc3339 } from '../../apiserver/registry/store.js';
import { PODS, isConflict, isNotFound, type LocalClient } from '../../client/client.js';
import type { EventRecorder } from '../../client/events.js';
import type { Clock } from '../../client/workqueue.js';
import { runCheck, type ProbeSpec, type ContainerPort } from '../prober/checks.js';
import { ContainerProber, type ProbeKind } from '../prober/worker.js';
import type { ContainerStatus as RuntimeContainer, PodSandboxStatus, RuntimeService } from '../runtime/cri.js';
import type { ImageCatalog } from '../runtime/images.js';
import { Backoff, backOffEventMessage, checkRestart, containerKey } from '../status/backoff.js';
import { computePodStatus } from '../status/podstatus.js';
import { computePodActions, instancesOf, observeContainers, type WaitingOverride } from './actions.js';
import type { PodNetwork } from './agent.js';
import { buildContainerConfig, LABEL_CONTAINER_NAME, LABEL_POD_NAME, LABEL_POD_NAMESPACE, LABEL_POD_UID } from './containerconfig.js';
import { writePodFiles, type PodFiles } from './podfiles.js';
import { MountError, PodVolumes, type ObjectLookup } from './volumes.js';

/** Everything a pod worker needs from the agent. */
export interface AgentEnv {
  nodeName: string;
  hostIP: string;
  runtime: RuntimeService;
  network: PodNetwork;
  client: LocalClient;
  recorder: EventRecorder;
  clock: Clock;
  crashBackoff: Backoff;
  imageBackoff: Backoff;
  rootDir: string;
  catalog: () => ImageCatalog;
  lookup: ObjectLookup;
  services: (ns: string) => KObject[];
  clusterDNS: string[];
  clusterDomain: string;
  nodeResolvConf: string;
  nodeAllocatable?: Record<string, string>;
  /** Re-queue this pod now, or after `afterMs`. */
  enqueue: (uid: string, afterMs?: number) => void;
}

export interface PodRefs {
  uid: string;
  namespace: string;
  name: string;
}

type PodLike = { spec?: Record<string, unknown>; status?: Record<string, unknown> };
type Spec = {
  containers: SpecContainer[];
  initContainers?: SpecContainer[];
  restartPolicy?: string;
  terminationGracePeriodSeconds?: number;
  hostname?: string;
};
type SpecContainer = Record<string, unknown> & {
  name: string;
  image?: string;
  ports?: ContainerPort[];
  livenessProbe?: ProbeSpec;
  readinessProbe?: ProbeSpec;
  startupProbe?: ProbeSpec;
  lifecycle?: { preStop?: ProbeSpec & { sleep?: { seconds: number } } };
};

/** Kubelet's minimumGracePeriodInSeconds: SIGTERM always gets at least this long. */
const MIN_GRACE_SECONDS = 2;
/** How soon a CreateContainerConfigError is retried without any other trigger. */
const CONFIG_RETRY_MS = 10_000;

export const podDirOf = (rootDir: string, uid: string): string => path.join(rootDir, 'pods', uid);
export const podLogDirOf = (rootDir: string, p: PodRefs): string => path.join(rootDir, 'logs', `${p.namespace}_${p.name}_${p.uid}`);

const titleCase = (k: ProbeKind): string => k[0]!.toUpperCase() + k.slice(1);

export class PodWorker {
  readonly ref: PodRefs;
  sandboxId?: string;
  podIP?: string;
  private netnsPath?: string;
  private volumes?: PodVolumes;
  private volumePaths = new Map<string, string>();
  private files?: PodFiles;
  private readonly waiting = new Map<string, WaitingOverride>();
  private readonly probers = new Map<string, ContainerProber>();
  private readonly unhealthy = new Map<string, 'liveness' | 'startup'>();
  private readonly imageFailedAt = new Map<string, number>();
  /** The API object was deleted and everything released: the agent may forget this worker. */
  private killedForDeletion = false;
  /** The last API object seen (events need it; the informer may have dropped it). */
  private lastPod?: KObject;

  constructor(
    private readonly env: AgentEnv,
    ref: PodRefs,
  ) {
    this.ref = ref;
  }

  /** Takes over a sandbox found in the runtime at agent start: keep it and its containers running. */
  async adopt(sandbox: PodSandboxStatus, pod: KObject): Promise<void> {
    if (sandbox.state !== 'ready') return;
    this.sandboxId = sandbox.id;
    const net = await this.env.network.setUp(this.ref);
    this.podIP = net.ip;
    this.netnsPath = net.netnsPath;
    const spec = pod.spec as Spec;
    for (const c of await this.runtimeContainers()) {
      if (c.state !== 'running' || c.sandboxId !== sandbox.id) continue;
      const s = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === c.metadata.name);
      if (s) this.startProber(s, c.id, c.startedAt ?? this.env.clock.now());
    }
  }

  /** A container of this pod exited (runtime event): its probes stop, readiness drops. */
  containerExited(containerId: string): void {
    this.probers.get(containerId)?.containerStopped();
    this.probers.delete(containerId);
    this.unhealthy.delete(containerId);
  }

  /** Stops probing (agent shutdown); containers keep running. */
  stopProbers(): void {
    for (const p of this.probers.values()) p.stop();
    this.probers.clear();
  }

  /**
   * One sync. `pod` is the cached API object (undefined when it vanished or moved away).
   * Returns 'forget' once nothing of the pod is left on the node.
   */
  async sync(pod: KObject | undefined): Promise<'keep' | 'forget'> {
    if (!pod || pod.metadata.uid !== this.ref.uid) {
      await this.cleanUp({ graceSeconds: MIN_GRACE_SECONDS });
      return 'forget';
    }
    if (pod.metadata.deletionTimestamp) {
      await this.terminate(pod);
      return 'keep';
    }
    this.lastPod = pod;
    const spec = pod.spec as Spec;
    const containers = await this.runtimeContainers();
    let sandbox: { id: string; ready: boolean } | undefined;
    if (this.sandboxId) {
      const s = await this.env.runtime.podSandboxStatus(this.sandboxId).catch(() => undefined);
      sandbox = s ? { id: s.id, ready: s.state === 'ready' } : undefined;
      if (!s) this.sandboxId = undefined;
    }
    const apiPhase = (pod.status as { phase?: string } | undefined)?.phase;
    const finished = apiPhase === 'Succeeded' || apiPhase === 'Failed';
    const actions = finished
      ? { killPod: sandbox?.ready === true, createSandbox: false, start: [], kill: [] }
      : computePodActions({ spec, sandbox, containers, unhealthy: this.unhealthy });

    if (actions.killPod) {
      await this.killContainers(pod, { graceSeconds: this.graceOf(pod), running: containers });
      if (this.sandboxId) await this.env.runtime.stopPodSandbox(this.sandboxId);
      await this.env.network.tearDown(this.ref.uid);
    } else {
      let ready = sandbox?.ready === true;
      if (actions.createSandbox) ready = await this.createSandbox(pod);
      // Refresh configMap/secret content; a volume that cannot be set up blocks (re)starts, as in the kubelet.
      else if (ready) ready = await this.setUpVolumes(pod);
      if (ready) {
        for (const k of actions.kill) {
          this.env.recorder.event(pod, 'Normal', 'Killing', actions.start.includes(k.name) ? `${k.message}, will be restarted` : k.message);
          this.containerExited(k.id);
          const s = [...(spec.initContainers ?? []), ...spec.containers].find((x) => x.name === k.name);
          const probeGrace = (k.probe === 'liveness' ? s?.livenessProbe : s?.startupProbe)?.terminationGracePeriodSeconds;
          await this.env.runtime.stopContainer(k.id, probeGrace ?? this.graceOf(pod));
        }
        const killed = new Set(actions.kill.map((k) => k.id));
        const specs = [...(spec.initContainers ?? []), ...spec.containers];
        const names = actions.startInit ? [actions.startInit] : actions.start;
        for (const name of names) {
          const s = specs.find((x) => x.name === name);
          if (s) await this.startContainer(pod, s, { killedIds: killed });
        }
      }
    }
    await this.writeStatus(pod, {});
    return 'keep';
  }

  // ---- status ----

  private async writeStatus(pod: KObject, opts: { terminal?: boolean }): Promise<void> {
    const spec = pod.spec as Spec;
    const containers = await this.runtimeContainers();
    const probes = (id: string): { ready?: boolean; started: boolean } | undefined => {
      const p = this.probers.get(id);
      if (!p) return undefined;
      const r = p.result('readiness');
      return { started: p.started, ready: r === undefined ? undefined : r === 'success' };
    };
    const sandboxReady = this.sandboxId ? (await this.env.runtime.podSandboxStatus(this.sandboxId).catch(() => undefined))?.state === 'ready' : false;
    const observed = {
      containers: observeContainers(spec.containers, { containers, waiting: this.waiting, probes }),
      initContainers: observeContainers(spec.initContainers ?? [], { containers, waiting: this.waiting, probes }),
      hostIPs: [this.env.hostIP],
      podIPs: this.podIP ? [this.podIP] : undefined,
      startTime: rfc3339(new Date(this.env.clock.now())),
      sandboxReady,
      terminal: opts.terminal,
    };
    const now = new Date(this.env.clock.now());
    const next = computePodStatus(pod as PodLike, observed, { now });
    if (jsonEqual(next, pod.status)) return;
    try {
      await this.env.client.mutate(PODS, this.ref.namespace, this.ref.name, (live) => {
        if (live.metadata.uid !== this.ref.uid) return undefined;
        const status = computePodStatus(live as PodLike, observed, { now });
        if (jsonEqual(status, live.status)) return undefined;
        live.status = status;
        return live;
      }, { subresource: 'status' });
    } catch (err) {
      if (!isNotFound(err)) throw err;
    }
  }

  // ---- sandbox and volumes ----

  private async createSandbox(pod: KObject): Promise<boolean> {
    const net = await this.env.network.setUp(this.ref);
    this.podIP = net.ip;
    this.netnsPath = net.netnsPath;
    if (!(await this.setUpVolumes(pod))) return false;
    const podDir = podDirOf(this.env.rootDir, this.ref.uid);
    this.files = await writePodFiles(pod, {
      podDir,
      podIP: net.ip,
      clusterDNS: this.env.clusterDNS,
      clusterDomain: this.env.clusterDomain,
      nodeResolvConf: this.env.nodeResolvConf,
      nodeHostname: this.env.nodeName,
    });
    for (const w of this.files.warnings) this.env.recorder.event(pod, 'Warning', 'DNSConfigForming', w);
    const logDir = podLogDirOf(this.env.rootDir, this.ref);
    await fsp.mkdir(logDir, { recursive: true });
    const previous = await this.env.runtime.listPodSandboxes({ labelSelector: { [LABEL_POD_UID]: this.ref.uid } });
    this.sandboxId = await this.env.runtime.runPodSandbox({
      metadata: { name: this.ref.name, namespace: this.ref.namespace, uid: this.ref.uid, attempt: previous.length },
      hostname: this.files.hostname,
      logDirectory: logDir,
      netnsPath: net.netnsPath,
      labels: { [LABEL_POD_UID]: this.ref.uid, [LABEL_POD_NAME]: this.ref.name, [LABEL_POD_NAMESPACE]: this.ref.namespace },
    });
    return true;
  }

  /** Sets up (or refreshes) volumes; a MountError becomes a FailedMount event and a retry. */
  private async setUpVolumes(pod: KObject): Promise<boolean> {
    this.volumes ??= new PodVolumes({ podDir: podDirOf(this.env.rootDir, this.ref.uid), lookup: this.env.lookup, nodeAllocatable: this.env.nodeAllocatable });
    try {
      this.volumePaths = (await this.volumes.setUp(pod)).paths;
      return true;
    } catch (err) {
      if (!(err instanceof MountError)) throw err;
      this.env.recorder.event(pod, 'Warning', 'FailedMount', err.message);
      this.env.enqueue(this.ref.uid, CONFIG_RETRY_MS);
      return false;
    }
  }

  // ---- containers ----

  private async runtimeContainers(): Promise<RuntimeContainer[]> {
    return this.env.runtime.listContainers({ labelSelector: { [LABEL_POD_UID]: this.ref.uid } });
  }

  /**
   * Starts a container unless it is in crash-loop back-off. As the kubelet's doBackOff, the
   * back-off is judged by the newest instance that had already exited when this sync began — a
   * container just killed for failing its liveness probe restarts at once unless an earlier
   * crash is still inside its back-off window.
   */
  private async startContainer(pod: KObject, spec: SpecContainer, opts: { killedIds: ReadonlySet<string> }): Promise<void> {
    const { clock, recorder } = this.env;
    const instances = instancesOf(await this.runtimeContainers(), spec.name);
    const latest = instances.find((c) => c.state === 'exited' && !opts.killedIds.has(c.id));
    const podRef = this.ref;
    if (latest) {
      const d = checkRestart(this.env.crashBackoff, { pod: podRef, container: { name: spec.name }, finishedAtMs: latest.finishedAt ?? clock.now() });
      if (d.inBackOff) {
        this.waiting.set(spec.name, { reason: 'CrashLoopBackOff', message: d.message });
        recorder.event(pod, 'Warning', 'BackOff', backOffEventMessage({ pod: podRef, container: spec.name }));
        this.env.enqueue(this.ref.uid, Math.max(1, this.env.crashBackoff.remaining(containerKey(podRef, { name: spec.name }), latest.finishedAt ?? clock.now())));
        return;
      }
    }
    const image = spec.image ?? '';
    const imageKey = `${this.ref.uid}/${spec.name}/${image}`;
    const failedAt = this.imageFailedAt.get(imageKey);
    if (failedAt !== undefined && this.env.imageBackoff.isInBackOffSince(imageKey, failedAt)) {
      const prior = this.waiting.get(spec.name);
      const cause = prior?.reason === 'ErrImagePull' || prior?.reason === 'ImagePullBackOff' ? prior.message?.replace(/^Back-off pulling image "[^"]*": ErrImagePull: /, '') : undefined;
      this.waiting.set(spec.name, { reason: 'ImagePullBackOff', message: `Back-off pulling image "${image}"${cause ? `: ErrImagePull: ${cause}` : ''}` });
      recorder.event(pod, 'Normal', 'BackOff', `Back-off pulling image "${image}"`);
      recorder.event(pod, 'Warning', 'Failed', 'Error: ImagePullBackOff');
      this.env.enqueue(this.ref.uid, Math.max(1, this.env.imageBackoff.remaining(imageKey, failedAt)));
      return;
    }
    const newest = instances[0];
    const attempt = newest ? (newest.metadata.attempt ?? 0) + 1 : 0;
    const res = buildContainerConfig({
      pod,
      container: spec,
      attempt,
      catalog: this.env.catalog(),
      volumePaths: this.volumePaths,
      podFiles: this.files ?? { hostsPath: '', resolvConfPath: '' },
      podLogDir: podLogDirOf(this.env.rootDir, this.ref),
      services: this.env.services(this.ref.namespace),
      lookup: this.env.lookup,
      podIP: this.podIP ?? '',
      bindAddress: this.netnsPath === undefined && this.podIP ? this.podIP : undefined,
      hostIP: this.env.hostIP,
      nodeName: this.env.nodeName,
      nodeAllocatable: this.env.nodeAllocatable,
      hostname: this.files?.hostname,
    });
    if (!res.ok) {
      this.waiting.set(spec.name, { reason: res.reason, message: res.message });
      if (res.reason === 'ErrImagePull') {
        recorder.event(pod, 'Normal', 'Pulling', `Pulling image "${image}"`);
        recorder.event(pod, 'Warning', 'Failed', `Failed to pull image "${image}": ${res.message}`);
        recorder.event(pod, 'Warning', 'Failed', 'Error: ErrImagePull');
        const now = clock.now();
        this.imageFailedAt.set(imageKey, now);
        this.env.enqueue(this.ref.uid, this.env.imageBackoff.next(imageKey, now));
      } else if (res.reason === 'InvalidImageName') {
        recorder.event(pod, 'Warning', 'InspectFailed', `Failed to apply default image tag "${image}": ${res.message}`);
        recorder.event(pod, 'Warning', 'Failed', 'Error: InvalidImageName');
      } else {
        recorder.event(pod, 'Warning', 'Failed', `Error: ${res.message}`);
        this.env.enqueue(this.ref.uid, CONFIG_RETRY_MS);
      }
      return;
    }
    this.imageFailedAt.delete(imageKey);
    this.env.imageBackoff.reset(imageKey);
    if (!this.sandboxId) return;
    recorder.event(pod, 'Normal', 'Pulled', `Container image "${image}" already present on machine`);
    const labels = { ...(res.config.labels ?? {}), [LABEL_POD_UID]: this.ref.uid, [LABEL_POD_NAME]: this.ref.name, [LABEL_POD_NAMESPACE]: this.ref.namespace, [LABEL_CONTAINER_NAME]: spec.name };
    const id = await this.env.runtime.createContainer(this.sandboxId, { ...res.config, attempt, labels });
    recorder.event(pod, 'Normal', 'Created', `Created container: ${spec.name}`);
    try {
      await this.env.runtime.startContainer(id);
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      this.waiting.set(spec.name, { reason: 'RunContainerError', message: msg });
      recorder.event(pod, 'Warning', 'Failed', `Error: ${msg}`);
      return;
    }
    this.waiting.delete(spec.name);
    recorder.event(pod, 'Normal', 'Started', `Started container ${spec.name}`);
    this.startProber(spec, id, clock.now());
    // Keep the previous instance (for `logs --previous` and lastState); older ones go.
    for (const old of instances.slice(1)) await this.env.runtime.removeContainer(old.id);
  }

  private startProber(spec: SpecContainer, containerId: string, startedAt: number): void {
    if (!spec.livenessProbe && !spec.readinessProbe && !spec.startupProbe) return;
    const prober = new ContainerProber(
      { livenessProbe: spec.livenessProbe, readinessProbe: spec.readinessProbe, startupProbe: spec.startupProbe },
      {
        clock: this.env.clock,
        startedAt,
        check: (_kind, probe, timeoutMs) =>
          runCheck(probe, timeoutMs, {
            podIP: this.podIP ?? '127.0.0.1',
            ports: spec.ports,
            exec: async (cmd, t) => {
              const r = await this.env.runtime.execSync(containerId, cmd, t);
              if (r.timedOut) throw new Error(`command timed out after ${t / 1000}s`);
              return { exitCode: r.exitCode, output: Buffer.concat([r.stdout, r.stderr]).toString() };
            },
          }),
        onResult: (kind, result, outcome) => {
          if (!this.probers.has(containerId)) return;
          if (result === 'failure' && outcome) {
            const pod = this.lastPod ?? ({ apiVersion: 'v1', kind: 'Pod', metadata: { ...this.ref } } as KObject);
            this.env.recorder.event(pod, 'Warning', 'Unhealthy', `${titleCase(kind)} probe failed: ${outcome.message}`);
            if (kind === 'liveness' || kind === 'startup') this.unhealthy.set(containerId, kind);
          }
          this.env.enqueue(this.ref.uid);
        },
      },
    );
    this.probers.set(containerId, prober);
    prober.start();
  }

  // ---- termination ----

  private graceOf(pod: KObject): number {
    const g = pod.metadata.deletionGracePeriodSeconds ?? (pod.spec as Spec).terminationGracePeriodSeconds ?? 30;
    return g;
  }

  /** preStop hook, then SIGTERM with the remaining grace (at least 2 s), for every live container. */
  private async killContainers(pod: KObject | undefined, opts: { graceSeconds: number; running: RuntimeContainer[] }): Promise<void> {
    const spec = pod?.spec as Spec | undefined;
    const specs = spec ? [...(spec.initContainers ?? []), ...spec.containers] : [];
    await Promise.all(
      opts.running
        .filter((c) => c.state !== 'exited')
        .map(async (c) => {
          this.containerExited(c.id);
          const s = specs.find((x) => x.name === c.metadata.name);
          if (pod && c.state === 'running') this.env.recorder.event(pod, 'Normal', 'Killing', `Stopping container ${c.metadata.name}`);
          const began = this.env.clock.now();
          const preStop = s?.lifecycle?.preStop;
          if (pod && preStop && c.state === 'running' && opts.graceSeconds > 0) await this.runPreStop(pod, { containerId: c.id, hook: preStop, spec: s!, graceSeconds: opts.graceSeconds });
          const spent = Math.floor((this.env.clock.now() - began) / 1000);
          await this.env.runtime.stopContainer(c.id, Math.max(MIN_GRACE_SECONDS, opts.graceSeconds - spent));
        }),
    );
  }

  private async runPreStop(pod: KObject, a: { containerId: string; hook: ProbeSpec & { sleep?: { seconds: number } }; spec: SpecContainer; graceSeconds: number }): Promise<void> {
    const timeoutMs = a.graceSeconds * 1000;
    let failure: string | undefined;
    if (a.hook.exec) {
      const r = await this.env.runtime.execSync(a.containerId, a.hook.exec.command ?? [], timeoutMs).catch((e: Error) => e);
      if (r instanceof Error) failure = r.message;
      else if (r.exitCode !== 0) failure = `command '${(a.hook.exec.command ?? []).join(' ')}' exited with ${r.exitCode}: ${Buffer.concat([r.stdout, r.stderr]).toString()}`;
    } else if (a.hook.httpGet) {
      const o = await runCheck({ httpGet: a.hook.httpGet }, timeoutMs, { podIP: this.podIP ?? '127.0.0.1', ports: a.spec.ports });
      if (o.result !== 'success') failure = o.message;
    } else if (a.hook.sleep) {
      const ms = Math.min(a.hook.sleep.seconds * 1000, timeoutMs);
      await new Promise<void>((resolve) => this.env.clock.setTimeout(resolve, ms));
    }
    if (failure !== undefined) this.env.recorder.event(pod, 'Warning', 'FailedPreStopHook', `PreStopHook failed`);
  }

  /** Graceful deletion: kill, release network and volumes, report, then remove the API object. */
  private async terminate(pod: KObject): Promise<void> {
    if (!this.killedForDeletion) {
      const containers = await this.runtimeContainers();
      await this.killContainers(pod, { graceSeconds: this.graceOf(pod), running: containers });
      if (this.sandboxId) await this.env.runtime.stopPodSandbox(this.sandboxId);
      await this.env.network.tearDown(this.ref.uid);
      await this.volumes?.tearDown();
      this.waiting.clear();
      await this.writeStatus(pod, { terminal: true });
      this.killedForDeletion = true;
    }
    try {
      await this.env.client.delete(PODS, this.ref.namespace, this.ref.name, { gracePeriodSeconds: 0, preconditions: { uid: this.ref.uid } });
    } catch (err) {
      if (!isNotFound(err) && !isConflict(err)) throw err;
    }
  }

  /** The pod is gone from the API (or no longer ours): kill what is left and remove every trace. */
  private async cleanUp(opts: { graceSeconds: number }): Promise<void> {
    const containers = await this.runtimeContainers();
    await this.killContainers(undefined, { graceSeconds: opts.graceSeconds, running: containers });
    this.stopProbers();
    for (const s of await this.env.runtime.listPodSandboxes({ labelSelector: { [LABEL_POD_UID]: this.ref.uid } })) await this.env.runtime.removePodSandbox(s.id);
    this.sandboxId = undefined;
    await this.env.network.tearDown(this.ref.uid);
    const volumes = this.volumes ?? new PodVolumes({ podDir: podDirOf(this.env.rootDir, this.ref.uid), lookup: this.env.lookup });
    await volumes.tearDown();
    await fsp.rm(podDirOf(this.env.rootDir, this.ref.uid), { recursive: true, force: true });
    await fsp.rm(podLogDirOf(this.env.rootDir, this.ref), { recursive: true, force: true });
  }
}
