/**
 * The v1 PodStatus a node writes, computed as the kubelet does (kube 1.32:
 * kubelet_pods.go generateAPIPodStatus/getPhase/convertToAPIContainerStatuses, status/generate.go,
 * and the status manager's lastTransitionTime rule). Pure: the caller passes the pod, what the
 * runtime observed, and `now`; the result is the whole `status` to write.
 *
 * Contracts:
 * - containerStatuses/initContainerStatuses follow spec order; containers with no observation get
 *   the kubelet default (waiting ContainerCreating, or PodInitializing when the pod has init
 *   containers) and keep restartCount/lastState from the existing status.
 * - Conditions: non-kubelet conditions from the existing status come first (e.g. DisruptionTarget),
 *   then PodReadyToStartContainers, Initialized, Ready, ContainersReady, PodScheduled.
 *   lastTransitionTime is kept when a condition's status did not change, else it is `now`.
 * - A terminal phase (Succeeded/Failed) in the existing status is sticky.
 */
import { rfc3339 } from '../../apiserver/registry/store.js';

export type ObservedState =
  | { waiting: { reason?: string; message?: string } }
  | { running: { startedAt: string } }
  | { terminated: TerminatedState };

export interface TerminatedState {
  exitCode: number;
  reason?: string;
  signal?: number;
  message?: string;
  startedAt?: string;
  finishedAt?: string;
}

/** What the runtime reports for one container. */
export interface ObservedContainer {
  name: string;
  image?: string;
  imageID?: string;
  /** Runtime id; written as `kubelite://<id>`. */
  id?: string;
  state: ObservedState;
  lastTerminationState?: { terminated: TerminatedState & { id?: string } };
  restartCount: number;
  /** Readiness probe result (forced false unless running). */
  ready: boolean;
  /** Startup probe result / started flag (forced false unless running). */
  started: boolean;
}

export interface ObservedPod {
  containers: ObservedContainer[];
  initContainers?: ObservedContainer[];
  podIPs?: string[];
  hostIPs?: string[];
  /** When the node first acknowledged the pod (kept if the status already has one). */
  startTime?: string;
  /** Whether the sandbox (network namespace) is ready: PodReadyToStartContainers. Default true. */
  sandboxReady?: boolean;
  /** The pod is being torn down for good (deleted/evicted); containers will not restart. */
  terminal?: boolean;
}

export interface PodCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  lastProbeTime: null;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface ContainerStatus {
  name: string;
  state: Record<string, unknown>;
  lastState: Record<string, unknown>;
  ready: boolean;
  restartCount: number;
  image: string;
  imageID: string;
  containerID?: string;
  started: boolean;
}

export interface PodStatus {
  phase: string;
  conditions: PodCondition[];
  message?: string;
  reason?: string;
  hostIP?: string;
  hostIPs?: { ip: string }[];
  podIP?: string;
  podIPs?: { ip: string }[];
  startTime?: string;
  initContainerStatuses?: ContainerStatus[];
  containerStatuses: ContainerStatus[];
  qosClass?: string;
  [k: string]: unknown;
}

interface SpecContainer {
  name: string;
  image?: string;
  restartPolicy?: string;
}

interface PodLike {
  spec?: Record<string, unknown>;
  status?: Record<string, unknown>;
}

const KUBELET_CONDITIONS = new Set(['PodScheduled', 'Ready', 'Initialized', 'ContainersReady', 'PodReadyToStartContainers']);

export const CONTAINER_ID_SCHEME = 'kubelite://';

function specOf(pod: PodLike): { containers: SpecContainer[]; initContainers: SpecContainer[]; restartPolicy: string; readinessGates: string[] } {
  const spec = (pod.spec ?? {}) as {
    containers?: SpecContainer[];
    initContainers?: SpecContainer[];
    restartPolicy?: string;
    readinessGates?: { conditionType: string }[];
  };
  return {
    containers: spec.containers ?? [],
    initContainers: spec.initContainers ?? [],
    restartPolicy: spec.restartPolicy ?? 'Always',
    readinessGates: (spec.readinessGates ?? []).map((g) => g.conditionType),
  };
}

/** A sidecar: an init container with restartPolicy Always. */
export function isRestartableInit(c: SpecContainer): boolean {
  return c.restartPolicy === 'Always';
}

/** Computes the full status to write for pod given what was observed at `now`. */
export function computePodStatus(pod: PodLike, observed: ObservedPod, opts: { now: Date }): PodStatus {
  const spec = specOf(pod);
  const old = (pod.status ?? {}) as Partial<PodStatus>;
  const hasInit = spec.initContainers.length > 0;
  const initStatuses = toContainerStatuses(spec.initContainers, observed.initContainers ?? [], {
    old: old.initContainerStatuses ?? [],
    hasInit,
  });
  const containerStatuses = toContainerStatuses(spec.containers, observed.containers, {
    old: old.containerStatuses ?? [],
    hasInit,
  });
  const all = [...initStatuses, ...containerStatuses];

  let phase = getPhase(pod, { statuses: all, terminal: observed.terminal ?? false });
  if (phase !== 'Failed' && phase !== 'Succeeded' && (old.phase === 'Failed' || old.phase === 'Succeeded')) phase = old.phase;

  const oldConds = (old.conditions ?? []) as PodCondition[];
  const conds: PodCondition[] = oldConds.filter((c) => !KUBELET_CONDITIONS.has(c.type)).map((c) => ({ ...c }));
  conds.push(cond('PodReadyToStartContainers', observed.sandboxReady === false ? 'False' : 'True'));
  conds.push(podInitializedCondition(spec.initContainers, { statuses: all, phase }));
  conds.push(podReadyCondition(pod, { statuses: all, phase, conditions: conds }));
  conds.push(containersReadyCondition(pod, { statuses: all, phase }));
  conds.push(cond('PodScheduled', 'True'));
  const stamp = rfc3339(opts.now);
  for (const c of conds) {
    if (!KUBELET_CONDITIONS.has(c.type)) continue;
    const prev = oldConds.find((o) => o.type === c.type);
    c.lastTransitionTime = prev && prev.status === c.status && prev.lastTransitionTime ? prev.lastTransitionTime : stamp;
  }

  const status: PodStatus = { phase, conditions: conds, containerStatuses };
  if (phase === old.phase) {
    if (old.message) status.message = old.message;
    if (old.reason) status.reason = old.reason;
  }
  const hostIPs = observed.hostIPs ?? (old.hostIPs ?? []).map((h) => h.ip);
  if (hostIPs.length > 0) {
    status.hostIP = hostIPs[0];
    status.hostIPs = hostIPs.map((ip) => ({ ip }));
  }
  const podIPs = observed.podIPs ?? (old.podIPs ?? []).map((p) => p.ip);
  if (podIPs.length > 0) {
    status.podIP = podIPs[0];
    status.podIPs = podIPs.map((ip) => ({ ip }));
  }
  const startTime = old.startTime ?? observed.startTime;
  if (startTime) status.startTime = startTime;
  if (hasInit) status.initContainerStatuses = initStatuses;
  if (old.qosClass) status.qosClass = old.qosClass;
  return status;
}

function cond(type: string, status: PodCondition['status'], extra: { reason?: string; message?: string } = {}): PodCondition {
  const c: PodCondition = { type, status, lastProbeTime: null };
  if (extra.reason) c.reason = extra.reason;
  if (extra.message) c.message = extra.message;
  return c;
}

function apiState(s: ObservedState, id: string | undefined): Record<string, unknown> {
  if ('waiting' in s) return { waiting: { ...s.waiting } };
  if ('running' in s) return { running: { startedAt: s.running.startedAt } };
  return { terminated: terminated(s.terminated, id) };
}

function terminated(t: TerminatedState, id: string | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = { exitCode: t.exitCode };
  if (t.signal !== undefined) out.signal = t.signal;
  if (t.reason) out.reason = t.reason;
  if (t.message) out.message = t.message;
  out.startedAt = t.startedAt ?? null;
  out.finishedAt = t.finishedAt ?? null;
  if (id) out.containerID = CONTAINER_ID_SCHEME + id;
  return out;
}

/** convertToAPIContainerStatuses: spec order, defaults for unobserved containers. */
function toContainerStatuses(
  spec: SpecContainer[],
  observed: ObservedContainer[],
  opts: { old: ContainerStatus[]; hasInit: boolean },
): ContainerStatus[] {
  return spec.map((c) => {
    const o = observed.find((x) => x.name === c.name);
    const prev = opts.old.find((x) => x.name === c.name);
    if (!o) {
      return {
        name: c.name,
        state: { waiting: { reason: opts.hasInit ? 'PodInitializing' : 'ContainerCreating' } },
        lastState: prev?.lastState ?? {},
        ready: false,
        restartCount: prev?.restartCount ?? 0,
        image: c.image ?? '',
        imageID: '',
        started: false,
      };
    }
    const running = 'running' in o.state;
    const last = o.lastTerminationState ? { terminated: terminated(o.lastTerminationState.terminated, o.lastTerminationState.terminated.id) } : {};
    const st: ContainerStatus = {
      name: c.name,
      state: apiState(o.state, o.id),
      lastState: last,
      ready: running && o.ready,
      restartCount: o.restartCount,
      image: o.image ?? c.image ?? '',
      imageID: o.imageID ?? '',
      started: running && o.started,
    };
    if (o.id) st.containerID = CONTAINER_ID_SCHEME + o.id;
    // Key order as the kubelet serialises it: containerID before started.
    const { started, ...rest } = st;
    return { ...rest, started };
  });
}

type StateKind = 'waiting' | 'running' | 'terminated' | 'none';
function kind(s: ContainerStatus | undefined): StateKind {
  if (!s) return 'none';
  if (s.state.running) return 'running';
  if (s.state.terminated) return 'terminated';
  if (s.state.waiting) return 'waiting';
  return 'none';
}
const exitCode = (s: ContainerStatus): number => (s.state.terminated as { exitCode: number }).exitCode;
const lastTerminated = (s: ContainerStatus): { exitCode: number } | undefined =>
  s.lastState.terminated as { exitCode: number } | undefined;
/** Every spec container has a status here (unobserved ones carry the default waiting state), as in the kubelet. */
const find = (statuses: ContainerStatus[], name: string): ContainerStatus | undefined => statuses.find((s) => s.name === name);

/** getPhase (kube 1.32) over API container statuses (init + regular). */
export function getPhase(pod: PodLike, opts: { statuses: ContainerStatus[]; terminal?: boolean }): string {
  const spec = specOf(pod);
  let pendingRegularInit = 0;
  let pendingRestartableInit = 0;
  let failedInit = 0;
  for (const c of spec.initContainers) {
    if (isRestartableInit(c)) continue;
    const s = find(opts.statuses, c.name);
    switch (kind(s)) {
      case 'terminated':
        if (exitCode(s!) !== 0) failedInit++;
        break;
      case 'waiting': {
        const lt = lastTerminated(s!);
        if (lt) {
          if (lt.exitCode !== 0) failedInit++;
        } else pendingRegularInit++;
        break;
      }
      default:
        pendingRegularInit++;
    }
  }
  let unknown = 0;
  let running = 0;
  let waiting = 0;
  let stopped = 0;
  let succeeded = 0;
  for (const c of spec.initContainers) {
    if (!isRestartableInit(c)) continue;
    const s = find(opts.statuses, c.name);
    switch (kind(s)) {
      case 'running':
        if (!s!.started) pendingRestartableInit++;
        running++;
        break;
      case 'terminated':
        break;
      case 'waiting':
        if (!lastTerminated(s!)) {
          pendingRestartableInit++;
          waiting++;
        }
        break;
      default:
        pendingRestartableInit++;
        unknown++;
    }
  }
  let podHasInitialized = false;
  for (const c of spec.containers) {
    const s = find(opts.statuses, c.name);
    switch (kind(s)) {
      case 'running':
        running++;
        podHasInitialized = true;
        break;
      case 'terminated':
        stopped++;
        if (exitCode(s!) === 0) succeeded++;
        podHasInitialized = true;
        break;
      case 'waiting':
        if (lastTerminated(s!)) {
          stopped++;
          podHasInitialized = true;
        } else waiting++;
        break;
      default:
        unknown++;
    }
  }
  if (failedInit > 0 && spec.restartPolicy === 'Never') return 'Failed';
  if (pendingRegularInit > 0 || (pendingRestartableInit > 0 && !podHasInitialized) || waiting > 0) return 'Pending';
  if (running > 0 && unknown === 0) return 'Running';
  if (running === 0 && stopped > 0 && unknown === 0) {
    if (opts.terminal) return stopped === succeeded ? 'Succeeded' : 'Failed';
    if (spec.restartPolicy === 'Always') return 'Running';
    if (stopped === succeeded) return 'Succeeded';
    if (spec.restartPolicy === 'Never') return 'Failed';
    return 'Running';
  }
  return 'Pending';
}

/** Go's fmt %s of a []string: `[a b]`. */
const goList = (names: string[]): string => `[${names.join(' ')}]`;

/** GeneratePodInitializedCondition. */
export function podInitializedCondition(
  initContainers: SpecContainer[],
  opts: { statuses: ContainerStatus[]; phase: string },
): PodCondition {
  if (initContainers.length === 0) return cond('Initialized', 'True');
  const unknown: string[] = [];
  const incomplete: string[] = [];
  for (const c of initContainers) {
    const s = find(opts.statuses, c.name);
    if (!s) {
      unknown.push(c.name);
      continue;
    }
    if (isRestartableInit(c)) {
      if (!s.started) incomplete.push(c.name);
    } else if (kind(s) !== 'terminated' || exitCode(s) !== 0) incomplete.push(c.name);
  }
  if (opts.phase === 'Succeeded' && unknown.length === 0) return cond('Initialized', 'True', { reason: 'PodCompleted' });
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (incomplete.length > 0) msgs.push(`containers with incomplete status: ${goList(incomplete)}`);
  if (msgs.length > 0) return cond('Initialized', 'False', { reason: 'ContainersNotInitialized', message: msgs.join(', ') });
  return cond('Initialized', 'True');
}

/** GenerateContainersReadyCondition (sidecars count as containers that must be ready). */
export function containersReadyCondition(pod: PodLike, opts: { statuses: ContainerStatus[]; phase: string }): PodCondition {
  const spec = specOf(pod);
  const unknown: string[] = [];
  const unready: string[] = [];
  const check = (c: SpecContainer): void => {
    const s = find(opts.statuses, c.name);
    if (!s) unknown.push(c.name);
    else if (!s.ready) unready.push(c.name);
  };
  spec.initContainers.filter(isRestartableInit).forEach(check);
  spec.containers.forEach(check);
  if (opts.phase === 'Succeeded' && unknown.length === 0) return cond('ContainersReady', 'False', { reason: 'PodCompleted' });
  const msgs: string[] = [];
  if (unknown.length > 0) msgs.push(`containers with unknown status: ${goList(unknown)}`);
  if (unready.length > 0) msgs.push(`containers with unready status: ${goList(unready)}`);
  if (msgs.length > 0) return cond('ContainersReady', 'False', { reason: 'ContainersNotReady', message: msgs.join(', ') });
  return cond('ContainersReady', 'True');
}

/** GeneratePodReadyCondition: ContainersReady, then readiness gates against `conditions`. */
export function podReadyCondition(
  pod: PodLike,
  opts: { statuses: ContainerStatus[]; phase: string; conditions: PodCondition[] },
): PodCondition {
  const cr = containersReadyCondition(pod, opts);
  if (cr.status !== 'True') return cond('Ready', cr.status, { reason: cr.reason, message: cr.message });
  const msgs: string[] = [];
  for (const gate of specOf(pod).readinessGates) {
    const c = opts.conditions.find((x) => x.type === gate);
    if (!c) msgs.push(`corresponding condition of pod readiness gate "${gate}" does not exist.`);
    else if (c.status !== 'True') msgs.push(`the status of pod readiness gate "${gate}" is not "True", but ${c.status}`);
  }
  if (msgs.length > 0) return cond('Ready', 'False', { reason: 'ReadinessGatesNotReady', message: msgs.join(', ') });
  return cond('Ready', 'True');
}
