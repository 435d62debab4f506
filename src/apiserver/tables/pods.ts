/**
 * The pod printer: kube's STATUS derivation (init containers, sidecars, waiting/terminated
 * reasons, Terminating/Unknown on deletion, SchedulingGated), READY counting and the
 * `N (Xm ago)` RESTARTS cell. Works on core/v1 JSON objects.
 */
import { type Obj, type Printer, age, col, humanDuration, int, nameCol, ageCol, parseTime, str } from './common.js';

function isRestartableInit(c: Obj | undefined): boolean {
  return c?.restartPolicy === 'Always';
}

function hasCondition(pod: Obj, type: string): boolean {
  return ((pod.status?.conditions as Obj[] | undefined) ?? []).some((c) => c?.type === type && c?.status === 'True');
}

interface PodSummary {
  ready: string;
  reason: string;
  restarts: string;
}

/** printPod's status/ready/restarts logic. */
export function podSummary(pod: Obj, now: Date): PodSummary {
  const spec = pod.spec ?? {};
  const status = pod.status ?? {};
  const containers: Obj[] = spec.containers ?? [];
  const initSpecs: Obj[] = spec.initContainers ?? [];
  let restarts = 0;
  let sidecarRestarts = 0;
  let totalContainers = containers.length;
  let readyContainers = 0;
  let lastRestart: number | undefined;
  let lastSidecarRestart: number | undefined;
  const later = (a: number | undefined, b: number | undefined): number | undefined => (b !== undefined && (a === undefined || a < b) ? b : a);

  const phase = str(status.phase);
  let reason = status.reason ? str(status.reason) : phase;
  for (const c of (status.conditions as Obj[] | undefined) ?? []) {
    if (c?.type === 'PodScheduled' && c?.reason === 'SchedulingGated') reason = 'SchedulingGated';
  }

  const initByName = new Map<string, Obj>();
  for (const c of initSpecs) {
    initByName.set(str(c.name), c);
    if (isRestartableInit(c)) totalContainers++;
  }

  let initializing = false;
  const initStatuses: Obj[] = status.initContainerStatuses ?? [];
  for (let i = 0; i < initStatuses.length; i++) {
    const cs = initStatuses[i];
    const state = cs.state ?? {};
    const lastTerm = parseTime(cs.lastState?.terminated?.finishedAt);
    restarts += int(cs.restartCount);
    lastRestart = later(lastRestart, lastTerm);
    const sidecar = isRestartableInit(initByName.get(str(cs.name)));
    if (sidecar) {
      sidecarRestarts += int(cs.restartCount);
      lastSidecarRestart = later(lastSidecarRestart, lastTerm);
    }
    if (state.terminated && int(state.terminated.exitCode) === 0) continue;
    if (sidecar && cs.started === true) {
      if (cs.ready) readyContainers++;
      continue;
    }
    if (state.terminated) {
      const t = state.terminated;
      if (!t.reason) reason = int(t.signal) !== 0 ? `Init:Signal:${int(t.signal)}` : `Init:ExitCode:${int(t.exitCode)}`;
      else reason = `Init:${str(t.reason)}`;
    } else if (state.waiting?.reason && state.waiting.reason !== 'PodInitializing') {
      reason = `Init:${str(state.waiting.reason)}`;
    } else {
      reason = `Init:${i}/${initSpecs.length}`;
    }
    initializing = true;
    break;
  }

  if (!initializing || hasCondition(pod, 'Initialized')) {
    restarts = sidecarRestarts;
    lastRestart = lastSidecarRestart;
    let hasRunning = false;
    const statuses: Obj[] = status.containerStatuses ?? [];
    for (let i = statuses.length - 1; i >= 0; i--) {
      const cs = statuses[i];
      const state = cs.state ?? {};
      restarts += int(cs.restartCount);
      lastRestart = later(lastRestart, parseTime(cs.lastState?.terminated?.finishedAt));
      if (state.waiting && state.waiting.reason) {
        reason = str(state.waiting.reason);
      } else if (state.terminated && state.terminated.reason) {
        reason = str(state.terminated.reason);
      } else if (state.terminated) {
        reason = int(state.terminated.signal) !== 0 ? `Signal:${int(state.terminated.signal)}` : `ExitCode:${int(state.terminated.exitCode)}`;
      } else if (cs.ready && state.running) {
        hasRunning = true;
        readyContainers++;
      }
    }
    if (reason === 'Completed' && hasRunning) reason = hasCondition(pod, 'Ready') ? 'Running' : 'NotReady';
  }

  const deleting = pod.metadata?.deletionTimestamp != null;
  if (deleting && status.reason === 'NodeLost') reason = 'Unknown';
  else if (deleting && phase !== 'Failed' && phase !== 'Succeeded') reason = 'Terminating';

  let restartsStr = String(restarts);
  if (restarts !== 0 && lastRestart !== undefined) restartsStr = `${restarts} (${humanDuration(now.getTime() - lastRestart)} ago)`;
  return { ready: `${readyContainers}/${totalContainers}`, reason, restarts: restartsStr };
}

function readinessGates(pod: Obj): string {
  const gates: Obj[] = pod.spec?.readinessGates ?? [];
  if (gates.length === 0) return '<none>';
  const conds: Obj[] = pod.status?.conditions ?? [];
  let trueCount = 0;
  for (const g of gates) {
    const c = conds.find((x) => x?.type === g?.conditionType);
    if (c?.status === 'True') trueCount++;
  }
  return `${trueCount}/${gates.length}`;
}

export const podPrinter: Printer = {
  columns: [
    nameCol(),
    col('Ready', 'string', 'Containers ready out of the total that must be ready for the pod to serve traffic.'),
    col('Status', 'string', "Summary of the pod's phase and its containers' states."),
    col('Restarts', 'string', 'Container restarts in this pod, and how long ago the most recent one was.'),
    ageCol(),
    col('IP', 'string', "The pod's primary IP address.", { priority: 1 }),
    col('Node', 'string', 'The node the pod is bound to.', { priority: 1 }),
    col('Nominated Node', 'string', 'The node the scheduler nominated while preempting for this pod.', { priority: 1 }),
    col('Readiness Gates', 'string', 'Readiness gates whose condition is True, out of those declared.', { priority: 1 }),
  ],
  row(pod, now) {
    const s = podSummary(pod, now);
    const status = pod.status ?? {};
    const ip = str(status.podIPs?.[0]?.ip ?? status.podIP) || '<none>';
    return [
      str(pod.metadata?.name),
      s.ready,
      s.reason,
      s.restarts,
      age(pod, now),
      ip,
      str(pod.spec?.nodeName) || '<none>',
      str(status.nominatedNodeName) || '<none>',
      readinessGates(pod),
    ];
  },
  conditions(pod) {
    const phase = pod.status?.phase;
    if (phase === 'Succeeded') return [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }];
    if (phase === 'Failed') return [{ type: 'Completed', status: 'True', reason: 'Failed', message: 'The pod failed.' }];
    return undefined;
  },
};
