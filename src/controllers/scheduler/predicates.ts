/**
 * The scheduler's filters (kube-scheduler's default Filter plugins, in their order): whether a
 * pod may run on a node, and if not, why — in kube-scheduler's exact wording, because users
 * read these strings in `kubectl describe pod` and tools grep for them.
 *
 * Order and first-failure semantics follow the framework: NodeUnschedulable, TaintToleration,
 * NodeAffinity (nodeSelector + required node affinity), NodePorts, NodeResourcesFit; a node is
 * reported with the reasons of the first filter that rejects it. Readiness has no filter of its
 * own in kube: the node lifecycle controller taints NotReady/Unknown nodes with
 * `node.kubernetes.io/not-ready` / `unreachable` (NoSchedule). We apply those taints implicitly
 * from the Ready condition, so a not-ready node is rejected with the same taint message unless
 * the pod tolerates it.
 */
import type { KObject } from '../../api/types.js';
import { insufficientResources, podSpec, type NodeSelectorRequirement, type NodeSelectorTerm, type NodeState, type Toleration } from './resources.js';

export interface Taint {
  key: string;
  value?: string;
  effect: string;
}

/** A filter rejection. Unresolvable ones cannot be fixed by preempting pods on the node. */
export interface FilterFailure {
  reasons: string[];
  unresolvable: boolean;
}

export const REASON_UNSCHEDULABLE = "node(s) were unschedulable";
export const REASON_AFFINITY = "node(s) didn't match Pod's node affinity/selector";
export const REASON_PORTS = "node(s) didn't have free ports for the requested pod ports";
export const TAINT_NOT_READY = 'node.kubernetes.io/not-ready';
export const TAINT_UNREACHABLE = 'node.kubernetes.io/unreachable';
export const TAINT_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';

export function untoleratedTaintReason(t: Taint): string {
  return `node(s) had untolerated taint {${t.key}: ${t.value ?? ''}}`;
}

interface NodeSpecLike {
  unschedulable?: boolean;
  taints?: Taint[];
}

function nodeSpec(node: KObject): NodeSpecLike {
  return (node.spec ?? {}) as NodeSpecLike;
}

/** Status of the node's Ready condition: 'True', 'False', 'Unknown' or undefined when absent. */
export function nodeReadyStatus(node: KObject): string | undefined {
  const conds = ((node.status ?? {}) as { conditions?: { type: string; status: string }[] }).conditions ?? [];
  return conds.find((c) => c.type === 'Ready')?.status;
}

/** The node's taints plus the implicit not-ready/unreachable taint derived from its Ready condition. */
export function effectiveTaints(node: KObject): Taint[] {
  const taints = [...(nodeSpec(node).taints ?? [])];
  const ready = nodeReadyStatus(node);
  if (ready !== 'True') {
    const key = ready === 'Unknown' ? TAINT_UNREACHABLE : TAINT_NOT_READY;
    if (!taints.some((t) => t.key === key && t.effect === 'NoSchedule')) taints.push({ key, effect: 'NoSchedule' });
  }
  return taints;
}

/** v1.Toleration.ToleratesTaint. */
export function toleratesTaint(tol: Toleration, taint: Taint): boolean {
  if (tol.effect && tol.effect !== taint.effect) return false;
  if (tol.key !== undefined && tol.key !== '' && tol.key !== taint.key) return false;
  const op = tol.operator || 'Equal';
  if (op === 'Exists') return true;
  if (op !== 'Equal') return false;
  return (tol.value ?? '') === (taint.value ?? '');
}

export function tolerated(tolerations: Toleration[] | undefined, taint: Taint): boolean {
  return (tolerations ?? []).some((t) => toleratesTaint(t, taint));
}

/** NodeUnschedulable: a cordoned node only takes pods tolerating the unschedulable taint. */
export function checkUnschedulable(pod: KObject, node: KObject): FilterFailure | undefined {
  if (!nodeSpec(node).unschedulable) return undefined;
  if (tolerated(podSpec(pod).tolerations, { key: TAINT_UNSCHEDULABLE, effect: 'NoSchedule' })) return undefined;
  return { reasons: [REASON_UNSCHEDULABLE], unresolvable: true };
}

/** TaintToleration: the first NoSchedule/NoExecute taint the pod does not tolerate. */
export function checkTaints(pod: KObject, node: KObject): FilterFailure | undefined {
  const tols = podSpec(pod).tolerations;
  for (const t of effectiveTaints(node)) {
    if (t.effect !== 'NoSchedule' && t.effect !== 'NoExecute') continue;
    if (!tolerated(tols, t)) return { reasons: [untoleratedTaintReason(t)], unresolvable: true };
  }
  return undefined;
}

function parseInt64(s: string): bigint | undefined {
  return /^[+-]?\d+$/.test(s) ? BigInt(s) : undefined;
}

/** One NodeSelectorRequirement against a map of labels (or of fields). */
export function matchRequirement(req: NodeSelectorRequirement, labels: Record<string, string>): boolean {
  const has = Object.prototype.hasOwnProperty.call(labels, req.key);
  const v = has ? labels[req.key]! : undefined;
  const values = req.values ?? [];
  switch (req.operator) {
    case 'In':
      return v !== undefined && values.includes(v);
    case 'NotIn':
      return v === undefined || !values.includes(v);
    case 'Exists':
      return has;
    case 'DoesNotExist':
      return !has;
    case 'Gt':
    case 'Lt': {
      if (v === undefined || values.length !== 1) return false;
      const have = parseInt64(v);
      const want = parseInt64(values[0]!);
      if (have === undefined || want === undefined) return false;
      return req.operator === 'Gt' ? have > want : have < want;
    }
    default:
      return false;
  }
}

/** A term matches when all its requirements do; an empty term matches no node. */
export function matchTerm(term: NodeSelectorTerm, node: KObject): boolean {
  const exprs = term.matchExpressions ?? [];
  const fields = term.matchFields ?? [];
  if (!exprs.length && !fields.length) return false;
  const labels = node.metadata.labels ?? {};
  const nodeFields = { 'metadata.name': node.metadata.name ?? '' };
  return exprs.every((r) => matchRequirement(r, labels)) && fields.every((r) => r.key === 'metadata.name' && (r.operator === 'In' || r.operator === 'NotIn') && matchRequirement(r, nodeFields));
}

/** nodeSelector (all labels equal) and required node affinity (terms ORed). */
export function matchesNodeSelectorAndAffinity(pod: KObject, node: KObject): boolean {
  const spec = podSpec(pod);
  const labels = node.metadata.labels ?? {};
  for (const [k, v] of Object.entries(spec.nodeSelector ?? {})) if (labels[k] !== v) return false;
  const required = spec.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution;
  if (required) return (required.nodeSelectorTerms ?? []).some((t) => matchTerm(t, node));
  return true;
}

export function checkAffinity(pod: KObject, node: KObject): FilterFailure | undefined {
  return matchesNodeSelectorAndAffinity(pod, node) ? undefined : { reasons: [REASON_AFFINITY], unresolvable: true };
}

interface HostPort {
  ip: string;
  protocol: string;
  port: number;
}

function hostPorts(pod: KObject): HostPort[] {
  const out: HostPort[] = [];
  for (const c of podSpec(pod).containers ?? []) {
    for (const p of c.ports ?? []) {
      if (!p.hostPort || p.hostPort <= 0) continue;
      out.push({ ip: p.hostIP || '0.0.0.0', protocol: p.protocol || 'TCP', port: p.hostPort });
    }
  }
  return out;
}

/** NodePorts: a host port is taken when protocol and port match and either IP is 0.0.0.0 or equal. */
export function checkPorts(pod: KObject, existing: KObject[]): FilterFailure | undefined {
  const want = hostPorts(pod);
  if (!want.length) return undefined;
  const used = existing.flatMap(hostPorts);
  const clash = want.some((w) => used.some((u) => u.port === w.port && u.protocol === w.protocol && (u.ip === w.ip || u.ip === '0.0.0.0' || w.ip === '0.0.0.0')));
  return clash ? { reasons: [REASON_PORTS], unresolvable: false } : undefined;
}

export function checkResources(pod: KObject, state: NodeState): FilterFailure | undefined {
  const reasons = insufficientResources(pod, state);
  return reasons.length ? { reasons, unresolvable: false } : undefined;
}

/**
 * Runs the filters in kube's order; undefined when the pod fits. `state.pods` are the pods
 * already counted on the node (bound, non-terminated, plus ones this scheduler just assumed).
 */
export function filterNode(pod: KObject, state: NodeState): FilterFailure | undefined {
  const { node, pods } = state;
  return checkUnschedulable(pod, node) ?? checkTaints(pod, node) ?? checkAffinity(pod, node) ?? checkPorts(pod, pods) ?? checkResources(pod, state);
}
