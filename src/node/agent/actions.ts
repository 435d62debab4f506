/**
 * What one pod sync must do, decided from the pod spec and what the runtime reports — the
 * kubelet's computePodActions (pkg/kubelet/kuberuntime/kuberuntime_manager.go, kube 1.32), pure
 * so it is table-tested. The applier (podworker.ts) turns the result into runtime calls; crash-loop
 * and image back-off are applied there (they need a clock), exactly where the kubelet's SyncPod
 * applies them.
 *
 * Contracts:
 * - `killPod` means: stop every container and the sandbox (the pod finished, or is going away);
 *   nothing else is started in the same sync.
 * - `createSandbox` implies starting from the first init container (or all containers).
 * - Containers are identified by spec name; runtime instances of one name are ordered by attempt,
 *   the latest one decides.
 * - Sidecars (init containers with restartPolicy Always) are not supported yet and are treated
 *   like ordinary init containers.
 */
import type { ContainerStatus as RuntimeContainer } from '../runtime/cri.js';
import type { ObservedContainer, TerminatedState } from '../status/podstatus.js';

export interface SpecContainerLike {
  name: string;
  image?: string;
}

export interface ActionsInput {
  spec: { containers: SpecContainerLike[]; initContainers?: SpecContainerLike[]; restartPolicy?: string };
  /** The pod's current sandbox, if any. */
  sandbox?: { id: string; ready: boolean };
  /** Every runtime container instance of this pod (any state). */
  containers: RuntimeContainer[];
  /** Ids of running containers whose liveness (or startup) probe has failed. */
  unhealthy?: ReadonlyMap<string, 'liveness' | 'startup'>;
  /** The pod is deleted, vanished or otherwise must stop for good. */
  terminating?: boolean;
}

export interface KillContainer {
  id: string;
  name: string;
  /** Event message for Killing (the kubelet's wording). */
  message: string;
  /** The probe that failed (its terminationGracePeriodSeconds, if set, overrides the pod's). */
  probe: 'liveness' | 'startup';
}

export interface PodActions {
  killPod: boolean;
  createSandbox: boolean;
  /** Next init container to start (or restart). */
  startInit?: string;
  /** Regular containers to (re)start, in spec order; back-off is checked by the applier. */
  start: string[];
  /** Running containers to kill first (liveness failure); they are also in `start` when they restart. */
  kill: KillContainer[];
}

/** The latest instance of each container name (highest attempt, then newest). */
export function latestByName(containers: RuntimeContainer[]): Map<string, RuntimeContainer> {
  const out = new Map<string, RuntimeContainer>();
  for (const c of containers) {
    const prev = out.get(c.metadata.name);
    if (!prev || newer(c, prev)) out.set(c.metadata.name, c);
  }
  return out;
}

function newer(a: RuntimeContainer, b: RuntimeContainer): boolean {
  const aa = a.metadata.attempt ?? 0;
  const ba = b.metadata.attempt ?? 0;
  return aa !== ba ? aa > ba : a.createdAt > b.createdAt;
}

/** Instances of one container name, newest first. */
export function instancesOf(containers: RuntimeContainer[], name: string): RuntimeContainer[] {
  return containers.filter((c) => c.metadata.name === name).sort((a, b) => (newer(a, b) ? -1 : newer(b, a) ? 1 : 0));
}

const succeeded = (c: RuntimeContainer | undefined): boolean => c?.state === 'exited' && c.exitCode === 0;

/** Whether an exited container must be restarted under the pod's restartPolicy. */
export function shouldRestart(restartPolicy: string, c: RuntimeContainer | undefined): boolean {
  if (!c) return true;
  if (c.state !== 'exited') return false;
  if (restartPolicy === 'Never') return false;
  if (restartPolicy === 'OnFailure') return c.exitCode !== 0;
  return true;
}

/** computePodActions. */
export function computePodActions(input: ActionsInput): PodActions {
  const policy = input.spec.restartPolicy ?? 'Always';
  const inits = input.spec.initContainers ?? [];
  const latest = latestByName(input.containers);
  const none: PodActions = { killPod: false, createSandbox: false, start: [], kill: [] };

  if (input.terminating) return { ...none, killPod: true };

  const sandboxOk = input.sandbox?.ready === true;
  if (!sandboxOk) {
    // A pod that must not restart and already ran its containers is finished, not recreated.
    if (policy === 'Never' && input.containers.length > 0) return { ...none, killPod: input.sandbox !== undefined };
    const toStart = input.spec.containers.filter((c) => !(policy === 'OnFailure' && succeeded(latest.get(c.name))));
    if (toStart.length === 0) return { ...none, killPod: input.sandbox !== undefined };
    if (inits.length > 0) return { ...none, createSandbox: true, startInit: inits[0]!.name };
    return { ...none, createSandbox: true, start: toStart.map((c) => c.name) };
  }

  // Init containers run one at a time, in order, each to successful completion.
  for (const init of inits) {
    const c = latest.get(init.name);
    if (succeeded(c)) continue;
    if (!c) return { ...none, startInit: init.name };
    // Still created or running: wait for it.
    if (c.state !== 'exited') return none;
    if (policy === 'Never') return { ...none, killPod: true };
    return { ...none, startInit: init.name };
  }

  const actions: PodActions = { ...none, start: [], kill: [] };
  let keep = 0;
  for (const spec of input.spec.containers) {
    const c = latest.get(spec.name);
    if (!c || c.state === 'exited') {
      if (shouldRestart(policy, c)) actions.start.push(spec.name);
      continue;
    }
    const failed = input.unhealthy?.get(c.id);
    if (c.state === 'running' && failed) {
      actions.kill.push({ id: c.id, name: spec.name, message: `Container ${spec.name} failed ${failed} probe`, probe: failed });
      if (policy !== 'Never') actions.start.push(spec.name);
      continue;
    }
    keep++;
  }
  if (keep === 0 && actions.start.length === 0) return { ...none, killPod: true };
  return actions;
}

/** A container's waiting reason set by the applier (back-off, image or config errors). */
export interface WaitingOverride {
  reason: string;
  message?: string;
}

export interface ProbeView {
  /** Readiness result; undefined when the container has no readiness probe (ready once running). */
  ready?: boolean;
  /** Started (startup probe passed, or none). */
  started: boolean;
}

const iso = (ms: number | undefined): string | undefined => (ms === undefined ? undefined : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

function terminatedOf(c: RuntimeContainer): TerminatedState & { id: string } {
  const t: TerminatedState & { id: string } = { exitCode: c.exitCode ?? 0, id: c.id };
  if (c.reason) t.reason = c.reason;
  if (c.message) t.message = c.message;
  t.startedAt = iso(c.startedAt);
  t.finishedAt = iso(c.finishedAt);
  return t;
}

/**
 * What the runtime shows for each spec container, in the shape computePodStatus takes (the
 * kubelet's convertToAPIContainerStatuses input): the latest instance gives state and
 * restartCount (its attempt), the one before it lastState; a waiting override (CrashLoopBackOff,
 * ErrImagePull, ...) wins over a non-running latest instance.
 */
export function observeContainers(
  specs: SpecContainerLike[],
  args: {
    containers: RuntimeContainer[];
    waiting: ReadonlyMap<string, WaitingOverride>;
    probes: (containerId: string) => ProbeView | undefined;
  },
): ObservedContainer[] {
  const out: ObservedContainer[] = [];
  for (const spec of specs) {
    const [latest, prev] = instancesOf(args.containers, spec.name);
    const override = args.waiting.get(spec.name);
    if (!latest) {
      if (override) out.push({ name: spec.name, image: spec.image, state: { waiting: { ...override } }, restartCount: 0, ready: false, started: false });
      continue;
    }
    const o: ObservedContainer = {
      name: spec.name,
      image: spec.image,
      id: latest.id,
      state: { waiting: { reason: 'ContainerCreating' } },
      restartCount: latest.metadata.attempt ?? 0,
      ready: false,
      started: false,
    };
    let last = prev?.state === 'exited' ? prev : undefined;
    if (latest.state === 'running') {
      o.state = { running: { startedAt: iso(latest.startedAt) ?? '' } };
      const p = args.probes(latest.id) ?? { started: true };
      o.started = p.started;
      o.ready = p.started && (p.ready ?? true);
    } else if (override) {
      o.state = { waiting: { ...override } };
      if (latest.state === 'exited') last = latest;
    } else if (latest.state === 'exited') {
      o.state = { terminated: terminatedOf(latest) };
    }
    if (last) o.lastTerminationState = { terminated: terminatedOf(last) };
    out.push(o);
  }
  return out;
}
