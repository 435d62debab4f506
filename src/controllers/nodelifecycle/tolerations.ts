/**
 * Taint/toleration rules and the taint-based eviction decision (kube's taint eviction
 * controller, pkg/controller/tainteviction), as pure functions of the pod's tolerations, the
 * node's taints and time, so they can be table-tested without a cluster.
 */

export interface Taint {
  key: string;
  value?: string;
  effect: string;
  timeAdded?: string;
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number | null;
}

export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const NO_EXECUTE = 'NoExecute';
export const NO_SCHEDULE = 'NoSchedule';

/**
 * Whether one toleration tolerates one taint (core/v1 Toleration.ToleratesTaint): an empty
 * effect matches every effect, an empty key (operator Exists) matches every key, Exists ignores
 * the value and Equal (the default operator) compares it.
 */
export function tolerates(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key && tol.key !== taint.key) return false;
  const op = tol.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op === 'Equal') return (tol.value ?? '') === (taint.value ?? '');
  return false;
}

/**
 * The tolerations kube's DefaultTolerationSeconds admission plugin adds to every pod: tolerate
 * the not-ready and unreachable NoExecute taints for `seconds`, unless the pod already has a
 * toleration for that key (or for every key) with effect NoExecute (or every effect). kubelite
 * has no such admission plugin, so the eviction decision applies it in memory instead.
 */
export function withDefaultTolerations(tolerations: readonly Toleration[], seconds: number): Toleration[] {
  const out = [...tolerations];
  for (const key of [TAINT_NOT_READY, TAINT_UNREACHABLE]) {
    const has = tolerations.some((t) => (!t.key || t.key === key) && (!t.effect || t.effect === NO_EXECUTE));
    if (!has) out.push({ key, operator: 'Exists', effect: NO_EXECUTE, tolerationSeconds: seconds });
  }
  return out;
}

/**
 * For every taint, the first toleration that tolerates it; undefined if some taint is not
 * tolerated at all (GetMatchingTolerations).
 */
export function matchingTolerations(taints: readonly Taint[], tolerations: readonly Toleration[]): Toleration[] | undefined {
  const used: Toleration[] = [];
  for (const taint of taints) {
    const t = tolerations.find((tol) => tolerates(tol, taint));
    if (!t) return undefined;
    used.push(t);
  }
  return used;
}

/**
 * The shortest time the used tolerations allow, in ms: 0 if there are none or any has
 * tolerationSeconds <= 0, -1 (forever) if none has tolerationSeconds.
 */
export function minTolerationMs(used: readonly Toleration[]): number {
  if (used.length === 0) return 0;
  let min = Infinity;
  for (const t of used) {
    if (t.tolerationSeconds === undefined || t.tolerationSeconds === null) continue;
    if (t.tolerationSeconds <= 0) return 0;
    min = Math.min(min, t.tolerationSeconds);
  }
  return min === Infinity ? -1 : min * 1000;
}

export interface EvictionInput {
  /** When this controller first found the pod due for eviction (its scheduled work's creation), or now. */
  sinceMs: number;
  /** Seconds for the default not-ready/unreachable tolerations (kube's 300). */
  defaultTolerationSeconds: number;
}

/**
 * When the pod must be deleted because of the node's NoExecute taints: null for never (no
 * NoExecute taint, or every one tolerated without a time limit), `sinceMs` if some taint is not
 * tolerated (evict at once), else `sinceMs` + the shortest tolerationSeconds among the
 * tolerations used. Like kube, time counts from when the controller first saw the pod due for
 * eviction, not from the taint's timeAdded.
 */
export function evictionTime(tolerations: readonly Toleration[], taints: readonly Taint[], input: EvictionInput): number | null {
  const noExecute = taints.filter((t) => t.effect === NO_EXECUTE);
  if (noExecute.length === 0) return null;
  const used = matchingTolerations(noExecute, withDefaultTolerations(tolerations, input.defaultTolerationSeconds));
  if (!used) return input.sinceMs;
  const min = minTolerationMs(used);
  if (min < 0) return null;
  return input.sinceMs + min;
}
