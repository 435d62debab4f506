/**
 * Resource accounting for scheduling (kube's `resource.PodRequests` and the NodeResourcesFit
 * filter): what a pod asks of a node, what a node offers, and whether one more pod fits.
 *
 * A pod's request is the larger of (a) its app containers plus restartable ("sidecar") init
 * containers, all running together, and (b) the peak of the init phase, where each regular
 * init container runs alone next to the sidecars started before it; pod overhead is added on
 * top. Requests missing on a container fall back to its limits (API defaulting normally does
 * that already). Amounts are millicores for cpu and whole units for the rest.
 */
import type { KObject } from '../../api/types.js';
import { resourceAmount } from './quantity.js';

export type ResourceList = Map<string, number>;

/** A candidate node with the pods already counted against it (bound, non-terminated, assumed). */
export interface NodeState {
  node: KObject;
  pods: KObject[];
}

/** kube's defaults for scoring pods that request nothing (so they do not all pile on one node). */
export const DEFAULT_MILLI_CPU_REQUEST = 100;
export const DEFAULT_MEMORY_REQUEST = 200 * 1024 * 1024;

interface ContainerLike {
  name?: string;
  restartPolicy?: string;
  resources?: { requests?: Record<string, string | number>; limits?: Record<string, string | number> };
  ports?: { hostPort?: number; containerPort?: number; protocol?: string; hostIP?: string }[];
}

export interface PodSpecLike {
  nodeName?: string;
  nodeSelector?: Record<string, string>;
  containers?: ContainerLike[];
  initContainers?: ContainerLike[];
  overhead?: Record<string, string | number>;
  tolerations?: Toleration[];
  affinity?: { nodeAffinity?: NodeAffinity };
  priority?: number;
  preemptionPolicy?: string;
  schedulerName?: string;
  schedulingGates?: { name: string }[];
}

export interface Toleration {
  key?: string;
  operator?: string;
  value?: string;
  effect?: string;
  tolerationSeconds?: number;
}

export interface NodeSelectorRequirement {
  key: string;
  operator: string;
  values?: string[];
}

export interface NodeSelectorTerm {
  matchExpressions?: NodeSelectorRequirement[];
  matchFields?: NodeSelectorRequirement[];
}

export interface NodeAffinity {
  requiredDuringSchedulingIgnoredDuringExecution?: { nodeSelectorTerms?: NodeSelectorTerm[] } | null;
  preferredDuringSchedulingIgnoredDuringExecution?: { weight: number; preference: NodeSelectorTerm }[];
}

export function podSpec(pod: KObject): PodSpecLike {
  return (pod.spec ?? {}) as PodSpecLike;
}

function containerRequests(c: ContainerLike, nonZero: boolean): ResourceList {
  const out: ResourceList = new Map();
  const req = c.resources?.requests ?? {};
  const lim = c.resources?.limits ?? {};
  for (const [k, v] of Object.entries(lim)) out.set(k, resourceAmount(k, v));
  for (const [k, v] of Object.entries(req)) out.set(k, resourceAmount(k, v));
  if (nonZero) {
    if (!out.has('cpu')) out.set('cpu', DEFAULT_MILLI_CPU_REQUEST);
    if (!out.has('memory')) out.set('memory', DEFAULT_MEMORY_REQUEST);
  }
  return out;
}

function addInto(into: ResourceList, add: ResourceList): void {
  for (const [k, v] of add) into.set(k, (into.get(k) ?? 0) + v);
}

function maxInto(into: ResourceList, other: ResourceList): void {
  for (const [k, v] of other) if (v > (into.get(k) ?? 0)) into.set(k, v);
}

/**
 * The effective request of a pod. `nonZero` applies the scoring defaults (100m cpu, 200Mi
 * memory) to containers that request none, as kube's NonZeroRequested does.
 */
export function podRequests(pod: KObject, opts: { nonZero?: boolean } = {}): ResourceList {
  const spec = podSpec(pod);
  const nonZero = opts.nonZero ?? false;
  const reqs: ResourceList = new Map();
  for (const c of spec.containers ?? []) addInto(reqs, containerRequests(c, nonZero));
  const sidecars: ResourceList = new Map();
  const initPeak: ResourceList = new Map();
  for (const c of spec.initContainers ?? []) {
    const own = containerRequests(c, nonZero);
    if (c.restartPolicy === 'Always') {
      addInto(reqs, own);
      addInto(sidecars, own);
      maxInto(initPeak, sidecars);
    } else {
      const during = new Map(sidecars);
      addInto(during, own);
      maxInto(initPeak, during);
    }
  }
  maxInto(reqs, initPeak);
  if (spec.overhead) {
    const oh: ResourceList = new Map();
    for (const [k, v] of Object.entries(spec.overhead)) oh.set(k, resourceAmount(k, v));
    addInto(reqs, oh);
  }
  return reqs;
}

/** Node status.allocatable (falling back to capacity) in scheduler units. */
export function nodeAllocatable(node: KObject): ResourceList {
  const st = (node.status ?? {}) as { allocatable?: Record<string, string>; capacity?: Record<string, string> };
  const src = st.allocatable ?? st.capacity ?? {};
  const out: ResourceList = new Map();
  for (const [k, v] of Object.entries(src)) out.set(k, resourceAmount(k, v));
  return out;
}

/** Sum of the requests of the pods on a node. */
export function sumRequests(pods: KObject[], opts: { nonZero?: boolean } = {}): ResourceList {
  const total: ResourceList = new Map();
  for (const p of pods) addInto(total, podRequests(p, opts));
  return total;
}

const ORDER = ['cpu', 'memory', 'ephemeral-storage'];

/**
 * NodeResourcesFit: the reasons (kube's wording, one per short resource) the pod does not fit
 * next to the node's pods; empty when it fits. A resource the pod does not request never blocks it,
 * even on an overcommitted node.
 */
export function insufficientResources(pod: KObject, state: NodeState): string[] {
  const existing = state.pods;
  const alloc = nodeAllocatable(state.node);
  const reasons: string[] = [];
  if (existing.length + 1 > (alloc.get('pods') ?? 0)) reasons.push('Too many pods');
  const want = podRequests(pod);
  const used = sumRequests(existing);
  const names = [...ORDER.filter((n) => want.has(n)), ...[...want.keys()].filter((n) => !ORDER.includes(n) && n !== 'pods').sort()];
  for (const name of names) {
    const w = want.get(name) ?? 0;
    if (w <= 0) continue;
    if (w > (alloc.get(name) ?? 0) - (used.get(name) ?? 0)) reasons.push(`Insufficient ${name}`);
  }
  return reasons;
}

/**
 * NodeResourcesFit scoring, LeastAllocated strategy: the mean over cpu and memory of the share
 * left free after placing the pod, 0..100 (kube's integer arithmetic).
 */
export function leastAllocatedScore(pod: KObject, state: NodeState): number {
  const alloc = nodeAllocatable(state.node);
  const used = sumRequests(state.pods, { nonZero: true });
  const want = podRequests(pod, { nonZero: true });
  let total = 0;
  for (const name of ['cpu', 'memory']) {
    const cap = alloc.get(name) ?? 0;
    const req = (used.get(name) ?? 0) + (want.get(name) ?? 0);
    total += cap === 0 || req > cap ? 0 : Math.floor(((cap - req) * 100) / cap);
  }
  return Math.floor(total / 2);
}
