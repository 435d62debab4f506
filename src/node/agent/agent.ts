/**
 * The node agent (our kubelet): watches the pods bound to this node and drives each one's
 * sandbox, containers, probes and status through a RuntimeService, one PodWorker per pod uid.
 *
 * Shape (as the kubelet's pod workers): informers feed a deduplicating WorkQueue keyed by pod
 * uid; a sync computes actions from the spec plus what the runtime reports and applies them.
 * ConfigMap/Secret changes re-enqueue the pods that reference them (volumes refresh on sync);
 * probe results and container exits re-enqueue the pod.
 *
 * Restart contract: stop() leaves containers running, like a kubelet exiting. start() lists the
 * runtime's sandboxes (identified by the io.kubernetes.pod.uid label), adopts those whose pod
 * still exists here (no restart), removes the rest and tears down network state no pod owns.
 */
import type { KObject } from '../../api/types.js';
import type { Registry } from '../../apiserver/registry/index.js';
import type { WatchCache } from '../../apiserver/watchcache.js';
import { LocalClient } from '../../client/client.js';
import { LocalEventRecorder } from '../../client/events.js';
import { InformerFactory, type SharedInformer } from '../../client/shared-informer.js';
import { WorkQueue, realClock, runWorkers, type Clock } from '../../client/workqueue.js';
import type { RuntimeService } from '../runtime/cri.js';
import type { ImageCatalog } from '../runtime/images.js';
import { Backoff } from '../status/backoff.js';
import { instancesOf } from './actions.js';
import { LABEL_POD_UID } from './containerconfig.js';
import { PodWorker, type AgentEnv } from './podworker.js';
import { referencedObjects, type ObjectLookup } from './volumes.js';

export interface PodNetwork {
  /** Idempotent per uid: sets up (or finds) the pod's network; netnsPath undefined when pods share the host network (no root). */
  setUp(pod: { uid: string; namespace: string; name: string }): Promise<{ ip: string; netnsPath?: string }>;
  tearDown(uid: string): Promise<void>;
  /** uids that have network state now (after a restart: to clean up what no pod owns). */
  list(): Promise<string[]>;
}

export interface NodeAgentOptions {
  nodeName: string;
  runtime: RuntimeService;
  network: PodNetwork;
  /** Pods under rootDir/pods/<uid>, logs under rootDir/logs/<ns>_<name>_<uid>. */
  rootDir: string;
  catalog: () => ImageCatalog;
  hostIP: string;
  clusterDNS: string[];
  clusterDomain: string;
  nodeResolvConf: string;
  nodeAllocatable?: Record<string, string>;
  clock?: Clock;
  workers?: number;
}

/** What streaming (logs, exec, port-forward) needs to reach a container. */
export interface ContainerLocation {
  containerId: string;
  sandboxId: string;
  logPath: string;
  previousLogPath?: string;
  podIP: string;
}

/**
 * A container could not be chosen or is not running, with the status code and message the
 * API server answers (400 for a missing/invalid container name, 400 "waiting to start").
 */
export class ContainerLookupError extends Error {
  constructor(
    message: string,
    readonly code: 400 | 404,
  ) {
    super(message);
    this.name = 'ContainerLookupError';
  }
}

const DEFAULT_CONTAINER_ANNOTATION = 'kubectl.kubernetes.io/default-container';
const UID_INDEX = 'uid';
const CM_INDEX = 'configmaps';
const SECRET_INDEX = 'secrets';

export class NodeAgent {
  readonly nodeName: string;
  private readonly client: LocalClient;
  private readonly recorder: LocalEventRecorder;
  private readonly informers: InformerFactory;
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly workers = new Map<string, PodWorker>();
  private readonly env: AgentEnv;
  private pods!: SharedInformer;
  private services!: SharedInformer;
  private configMaps!: SharedInformer;
  private secrets!: SharedInformer;
  private running?: Promise<void>;
  private unsubscribeExit?: () => void;

  constructor(
    deps: { registry: Registry; cache: WatchCache },
    private readonly opts: NodeAgentOptions,
  ) {
    this.nodeName = opts.nodeName;
    this.clock = opts.clock ?? realClock;
    this.client = new LocalClient(deps.registry, { manager: 'kubelet', now: () => new Date(this.clock.now()) });
    this.recorder = new LocalEventRecorder(this.client, { component: 'kubelet', host: opts.nodeName, now: () => new Date(this.clock.now()) });
    this.informers = new InformerFactory(deps);
    this.queue = new WorkQueue(this.clock);
    const lookup: ObjectLookup = {
      configMap: (ns, name) => this.configMaps.getBy(ns, name),
      secret: (ns, name) => this.secrets.getBy(ns, name),
    };
    this.env = {
      nodeName: opts.nodeName,
      hostIP: opts.hostIP,
      runtime: opts.runtime,
      network: opts.network,
      client: this.client,
      recorder: this.recorder,
      clock: this.clock,
      crashBackoff: new Backoff({ clock: () => this.clock.now() }),
      imageBackoff: new Backoff({ clock: () => this.clock.now() }),
      rootDir: opts.rootDir,
      catalog: opts.catalog,
      lookup,
      services: (ns) => [
        ...this.services.list(ns),
        ...(ns === 'default' ? [] : this.services.list('default').filter((s) => s.metadata.name === 'kubernetes')),
      ],
      clusterDNS: opts.clusterDNS,
      clusterDomain: opts.clusterDomain,
      nodeResolvConf: opts.nodeResolvConf,
      nodeAllocatable: opts.nodeAllocatable,
      enqueue: (uid, afterMs) => (afterMs ? this.queue.addAfter(uid, afterMs) : this.queue.add(uid)),
    };
  }

  async start(): Promise<void> {
    this.pods = this.informers.for('', 'pods');
    this.services = this.informers.for('', 'services');
    this.configMaps = this.informers.for('', 'configmaps');
    this.secrets = this.informers.for('', 'secrets');
    const mine = (p: KObject): boolean => (p.spec as { nodeName?: string } | undefined)?.nodeName === this.nodeName;
    this.pods.addIndexer(UID_INDEX, (p) => (mine(p) && p.metadata.uid ? [p.metadata.uid] : []));
    const refs = (kind: 'configMaps' | 'secrets') => (p: KObject): string[] =>
      mine(p) ? referencedObjects(p)[kind].map((n) => `${p.metadata.namespace}/${n}`) : [];
    this.pods.addIndexer(CM_INDEX, refs('configMaps'));
    this.pods.addIndexer(SECRET_INDEX, refs('secrets'));
    const enqueuePod = (p: KObject): void => {
      if (p.metadata.uid && (mine(p) || this.workers.has(p.metadata.uid))) this.queue.add(p.metadata.uid);
    };
    this.pods.addHandlers({ onAdd: enqueuePod, onUpdate: enqueuePod, onDelete: enqueuePod });
    const enqueueReferencing = (index: string) => (o: KObject): void => {
      for (const p of this.pods.byIndex(index, `${o.metadata.namespace}/${o.metadata.name}`)) if (p.metadata.uid) this.queue.add(p.metadata.uid);
    };
    this.configMaps.addHandlers({ onAdd: enqueueReferencing(CM_INDEX), onUpdate: enqueueReferencing(CM_INDEX), onDelete: enqueueReferencing(CM_INDEX) });
    this.secrets.addHandlers({ onAdd: enqueueReferencing(SECRET_INDEX), onUpdate: enqueueReferencing(SECRET_INDEX), onDelete: enqueueReferencing(SECRET_INDEX) });
    this.unsubscribeExit = this.opts.runtime.onContainerExit((ev) => {
      const uid = ev.status.labels[LABEL_POD_UID];
      if (!uid) return;
      this.workers.get(uid)?.containerExited(ev.containerId);
      this.queue.add(uid);
    });
    await this.informers.start();
    await this.reconcileRuntime();
    this.running = runWorkers(this.queue, (uid) => this.sync(uid), {
      workers: this.opts.workers ?? 8,
      onError: (uid, err) => {
        if (process.env.KUBELITE_AGENT_DEBUG) console.error(`sync ${uid}:`, err);
      },
    });
  }

  /** Stops syncing and probing; containers, sandboxes and networks stay as they are. */
  async stop(): Promise<void> {
    this.unsubscribeExit?.();
    this.queue.shutDown();
    this.informers.close();
    await this.running;
    for (const w of this.workers.values()) w.stopProbers();
    await this.recorder.flush();
  }

  /** Awaits the events written so far (tests). */
  flushEvents(): Promise<void> {
    return this.recorder.flush();
  }

  private podByUid(uid: string): KObject | undefined {
    return this.pods.byIndex(UID_INDEX, uid)[0];
  }

  /** One pod sync (public for tests). */
  async sync(uid: string): Promise<void> {
    const pod = this.podByUid(uid);
    let worker = this.workers.get(uid);
    if (!worker) {
      if (!pod) return;
      worker = new PodWorker(this.env, { uid, namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' });
      this.workers.set(uid, worker);
    }
    if ((await worker.sync(pod)) === 'forget') this.workers.delete(uid);
  }

  /** Adopt the runtime's sandboxes whose pods are still ours; remove the rest; free orphaned networks. */
  private async reconcileRuntime(): Promise<void> {
    const { runtime, network } = this.opts;
    const owned = new Set<string>();
    for (const s of await runtime.listPodSandboxes()) {
      const uid = s.labels[LABEL_POD_UID];
      const pod = uid ? this.podByUid(uid) : undefined;
      if (!uid || !pod) {
        await runtime.removePodSandbox(s.id);
        continue;
      }
      owned.add(uid);
      let worker = this.workers.get(uid);
      if (!worker) {
        worker = new PodWorker(this.env, { uid, namespace: pod.metadata.namespace ?? '', name: pod.metadata.name ?? '' });
        this.workers.set(uid, worker);
      }
      await worker.adopt(s, pod);
      this.queue.add(uid);
    }
    for (const uid of await network.list()) if (!owned.has(uid) && !this.podByUid(uid)) await network.tearDown(uid);
  }

  /**
   * Where a pod's container runs, for logs/exec/port-forward. `container` defaults as kubectl
   * does: the only container, else the default-container annotation. Undefined when the pod is not
   * on this node; ContainerLookupError when the name is ambiguous/invalid or nothing ran yet.
   */
  async findContainer(ns: string, podName: string, container?: string): Promise<ContainerLocation | undefined> {
    const pod = this.pods?.getBy(ns, podName);
    if (!pod || (pod.spec as { nodeName?: string }).nodeName !== this.nodeName || !pod.metadata.uid) return undefined;
    const name = chooseContainer(pod, container);
    const uid = pod.metadata.uid;
    const all = await this.opts.runtime.listContainers({ labelSelector: { [LABEL_POD_UID]: uid } });
    const [latest, prev] = instancesOf(all, name);
    if (!latest) {
      const waiting = waitingReason(pod, name) ?? 'ContainerCreating';
      throw new ContainerLookupError(`container "${name}" in pod "${podName}" is waiting to start: ${waiting}`, 400);
    }
    const worker = this.workers.get(uid);
    const podIP = worker?.podIP ?? ((pod.status as { podIP?: string } | undefined)?.podIP ?? '');
    const loc: ContainerLocation = { containerId: latest.id, sandboxId: latest.sandboxId, logPath: latest.logPath, podIP };
    if (prev) loc.previousLogPath = prev.logPath;
    return loc;
  }
}

/** kubectl/apiserver default-container rules, with the apiserver's messages. */
export function chooseContainer(pod: KObject, container: string | undefined): string {
  const spec = pod.spec as { containers?: { name: string }[]; initContainers?: { name: string }[]; ephemeralContainers?: { name: string }[] };
  const names = (spec.containers ?? []).map((c) => c.name);
  const inits = (spec.initContainers ?? []).map((c) => c.name);
  const eph = (spec.ephemeralContainers ?? []).map((c) => c.name);
  const podName = pod.metadata.name ?? '';
  if (container) {
    if (names.includes(container) || inits.includes(container) || eph.includes(container)) return container;
    throw new ContainerLookupError(`container ${container} is not valid for pod ${podName}`, 400);
  }
  const annotated = pod.metadata.annotations?.[DEFAULT_CONTAINER_ANNOTATION];
  if (annotated && names.includes(annotated)) return annotated;
  if (names.length === 1) return names[0]!;
  let msg = `a container name must be specified for pod ${podName}, choose one of: [${names.join(' ')}]`;
  if (inits.length > 0) msg += ` or one of the init containers: [${inits.join(' ')}]`;
  throw new ContainerLookupError(msg, 400);
}

function waitingReason(pod: KObject, name: string): string | undefined {
  const st = pod.status as { containerStatuses?: { name: string; state?: { waiting?: { reason?: string } } }[]; initContainerStatuses?: { name: string; state?: { waiting?: { reason?: string } } }[] } | undefined;
  const s = [...(st?.containerStatuses ?? []), ...(st?.initContainerStatuses ?? [])].find((x) => x.name === name);
  return s?.state?.waiting?.reason;
}
