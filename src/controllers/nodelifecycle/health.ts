/**
 * Node health decisions of kube's node lifecycle controller as pure functions: tracking when
 * a node's heartbeat was last *observed* to change (by this controller's clock, so skew between
 * kubelet and controller clocks doesn't matter), turning conditions Unknown once the grace
 * period passes, the taints a node should carry for its conditions, and zone disruption states.
 */
import { NO_EXECUTE, NO_SCHEDULE, TAINT_NOT_READY, TAINT_UNREACHABLE, type Taint } from './tolerations.js';

export interface NodeCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
  lastHeartbeatTime?: string;
  lastTransitionTime?: string;
}

/** What the controller remembers about a node between monitor passes (kube's nodeHealthData). */
export interface NodeHealth {
  /** Local time (ms) the heartbeat (Ready lastHeartbeatTime or Lease renewTime) was last seen to change. */
  probeMs: number;
  /** Local time (ms) the Ready condition was last seen to transition. */
  readyTransitionMs: number;
  /** The Ready condition's lastHeartbeatTime / lastTransitionTime as last seen (undefined: no Ready condition). */
  readyHeartbeat?: string;
  readyTransition?: string;
  hasReady: boolean;
  /** The Lease's spec.renewTime as last seen. */
  leaseRenew?: string;
}

export interface HealthObservation {
  ready?: NodeCondition;
  /** spec.renewTime of the node's Lease in kube-node-lease, if it has one. */
  leaseRenewTime?: string;
}

/**
 * Folds one observation into the remembered health: the probe time moves to `nowMs` when this
 * is the first observation, when a Ready condition appears or disappears, when its heartbeat
 * differs from the one last seen, or when the Lease's renewTime differs from the one last seen.
 */
export function observeHealth(prev: NodeHealth | undefined, obs: HealthObservation & { nowMs: number }): NodeHealth {
  const { ready, nowMs } = obs;
  let next: NodeHealth;
  if (!prev) {
    next = { probeMs: nowMs, readyTransitionMs: nowMs, hasReady: !!ready };
  } else if (prev.hasReady !== !!ready) {
    next = { probeMs: nowMs, readyTransitionMs: nowMs, hasReady: !!ready, leaseRenew: prev.leaseRenew };
  } else if (ready && prev.readyHeartbeat !== ready.lastHeartbeatTime) {
    const transitioned = prev.readyTransition !== ready.lastTransitionTime;
    next = { probeMs: nowMs, readyTransitionMs: transitioned ? nowMs : prev.readyTransitionMs, hasReady: true, leaseRenew: prev.leaseRenew };
  } else {
    next = { ...prev };
  }
  next.readyHeartbeat = ready?.lastHeartbeatTime;
  next.readyTransition = ready?.lastTransitionTime;
  if (obs.leaseRenewTime !== undefined && obs.leaseRenewTime !== prev?.leaseRenew) {
    next.leaseRenew = obs.leaseRenewTime;
    next.probeMs = nowMs;
  }
  return next;
}

/** Whether the node's heartbeat is overdue: nothing observed for longer than the grace period. */
export function isOverdue(health: NodeHealth, opts: { nowMs: number; graceMs: number }): boolean {
  return opts.nowMs > health.probeMs + opts.graceMs;
}

/** The conditions the controller owns once a node stops reporting. */
export const MONITORED_CONDITIONS = ['Ready', 'MemoryPressure', 'DiskPressure', 'PIDPressure'] as const;

/**
 * The node's conditions after its kubelet went silent: each monitored condition turns Unknown
 * (reason NodeStatusUnknown, heartbeat kept, transition now), a missing one is added as Unknown
 * with reason NodeStatusNeverUpdated; undefined if nothing changes (already all Unknown).
 */
export function unknownConditions(conditions: readonly NodeCondition[], opts: { now: string; created: string }): NodeCondition[] | undefined {
  const out = conditions.map((c) => ({ ...c }));
  let changed = false;
  for (const type of MONITORED_CONDITIONS) {
    const c = out.find((x) => x.type === type);
    if (!c) {
      out.push({ type, status: 'Unknown', reason: 'NodeStatusNeverUpdated', message: 'Kubelet never posted node status.', lastHeartbeatTime: opts.created, lastTransitionTime: opts.now });
      changed = true;
    } else if (c.status !== 'Unknown') {
      c.status = 'Unknown';
      c.reason = 'NodeStatusUnknown';
      c.message = 'Kubelet stopped posting node status.';
      c.lastTransitionTime = opts.now;
      changed = true;
    }
  }
  return changed ? out : undefined;
}

export interface TaintChange {
  add: Taint[];
  remove: Taint[];
}

const sameTaint = (a: Taint, b: Taint): boolean => a.key === b.key && a.effect === b.effect;

/** NoSchedule taint key for each (condition type, status) kube taints on (doNoScheduleTaintingPass). */
const CONDITION_TAINTS: Record<string, Record<string, string>> = {
  Ready: { False: TAINT_NOT_READY, Unknown: TAINT_UNREACHABLE },
  MemoryPressure: { True: 'node.kubernetes.io/memory-pressure' },
  DiskPressure: { True: 'node.kubernetes.io/disk-pressure' },
  NetworkUnavailable: { True: 'node.kubernetes.io/network-unavailable' },
  PIDPressure: { True: 'node.kubernetes.io/pid-pressure' },
};
const UNSCHEDULABLE_TAINT = 'node.kubernetes.io/unschedulable';
const NO_SCHEDULE_KEYS = new Set([...Object.values(CONDITION_TAINTS).flatMap((m) => Object.values(m)), UNSCHEDULABLE_TAINT]);

/**
 * The NoSchedule taints the node's conditions (and spec.unschedulable) call for, against the
 * ones it has: only taints with the controller's own keys are ever removed.
 */
export function noScheduleTaintChange(node: { conditions: readonly NodeCondition[]; unschedulable?: boolean; taints: readonly Taint[] }): TaintChange {
  const want: Taint[] = [];
  for (const c of node.conditions) {
    const key = CONDITION_TAINTS[c.type]?.[c.status];
    if (key) want.push({ key, effect: NO_SCHEDULE });
  }
  if (node.unschedulable) want.push({ key: UNSCHEDULABLE_TAINT, effect: NO_SCHEDULE });
  const add = want.filter((w) => !node.taints.some((t) => sameTaint(t, w)));
  const remove = node.taints.filter((t) => t.effect === NO_SCHEDULE && NO_SCHEDULE_KEYS.has(t.key) && !want.some((w) => sameTaint(t, w)));
  return { add, remove };
}

/**
 * How NoExecute tainting runs for a node's zone: 'on' adds taints, 'hold' (a small zone in
 * partial disruption) adds none but may still swap or remove them, 'off' (every zone fully
 * disrupted: probably the controller's own network, not the nodes) removes them all.
 */
export type EvictionMode = 'on' | 'hold' | 'off';

/**
 * The NoExecute taints for the node's (current) Ready status (processTaintBaseEviction): Ready
 * False → not-ready, Unknown → unreachable, True → neither.
 */
export function noExecuteTaintChange(readyStatus: string, opts: { taints: readonly Taint[]; mode: EvictionMode }): TaintChange {
  const { taints, mode } = opts;
  const has = (key: string): boolean => taints.some((t) => t.key === key && t.effect === NO_EXECUTE);
  const taint = (key: string): Taint => ({ key, effect: NO_EXECUTE });
  const removeAll = (): TaintChange => ({ add: [], remove: [TAINT_NOT_READY, TAINT_UNREACHABLE].filter(has).map(taint) });
  if (readyStatus === 'True' || mode === 'off') return removeAll();
  const want = readyStatus === 'False' ? TAINT_NOT_READY : TAINT_UNREACHABLE;
  const other = want === TAINT_NOT_READY ? TAINT_UNREACHABLE : TAINT_NOT_READY;
  if (has(want)) return { add: [], remove: has(other) ? [taint(other)] : [] };
  // Swapping one node-controller taint for the other is always allowed; a new one only in 'on'.
  if (has(other) || mode === 'on') return { add: [taint(want)], remove: has(other) ? [taint(other)] : [] };
  return { add: [], remove: [] };
}

/**
 * Applies a change to a taint list: removes `remove`, appends each `add` taint not already
 * there with timeAdded = now (as kube's SwapNodeControllerTaint); undefined if nothing changes.
 */
export function applyTaintChange(taints: readonly Taint[], change: TaintChange, opts: { now: string }): Taint[] | undefined {
  const { now } = opts;
  const kept = taints.filter((t) => !change.remove.some((r) => sameTaint(t, r)));
  const added = change.add.filter((a) => !kept.some((t) => sameTaint(t, a))).map((t) => ({ ...t, timeAdded: now }));
  if (kept.length === taints.length && added.length === 0) return undefined;
  return [...kept, ...added];
}

export type ZoneState = 'Normal' | 'PartialDisruption' | 'FullDisruption';

/** kube's ComputeZoneState: no ready node → full; more than 2 not ready and ≥ threshold of them → partial. */
export function zoneState(ready: number, notReady: number, opts: { unhealthyThreshold?: number } = {}): ZoneState {
  const unhealthyThreshold = opts.unhealthyThreshold ?? 0.55;
  if (ready === 0 && notReady > 0) return 'FullDisruption';
  if (notReady > 2 && notReady / (ready + notReady) >= unhealthyThreshold) return 'PartialDisruption';
  return 'Normal';
}

/** kube's zone key: region and zone labels (either may be empty). */
export function zoneKey(labels: Record<string, string> | undefined): string {
  const l = labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  return region === '' && zone === '' ? '' : `${region}:\u0000:${zone}`;
}

/**
 * The NoExecute mode per zone (handleDisruption / setLimiterInZone, without the rate limiter):
 * all zones fully disrupted → 'off' everywhere; a partially disrupted zone of at most
 * `largeClusterThreshold` nodes → 'hold'; otherwise 'on'.
 */
export function evictionModes(zones: ReadonlyMap<string, { ready: number; notReady: number }>, largeClusterThreshold = 50): Map<string, EvictionMode> {
  const states = new Map([...zones].map(([k, v]) => [k, zoneState(v.ready, v.notReady)] as const));
  const allFull = states.size > 0 && [...states.values()].every((s) => s === 'FullDisruption');
  const out = new Map<string, EvictionMode>();
  for (const [k, s] of states) {
    const size = zones.get(k)!.ready + zones.get(k)!.notReady;
    out.set(k, allFull ? 'off' : s === 'PartialDisruption' && size <= largeClusterThreshold ? 'hold' : 'on');
  }
  return out;
}
