/**
 * Pure helpers of the Deployment controller (kube's pkg/controller/deployment/util): typed
 * views of Deployments and ReplicaSets, the annotations the controller keeps on them, the
 * maxSurge/maxUnavailable arithmetic, the pod-template hash, and which ReplicaSet is "new".
 *
 * Contract: nothing here does I/O or reads the clock; functions that change an object say so
 * and change only the object passed in (callers pass private copies, never informer objects).
 */
import type { KObject } from '../../api/types.js';
import type { LabelSelectorObject } from '../../apiserver/selectors/labels.js';
import type { PodTemplateSpec } from '../owners.js';

export const POD_TEMPLATE_HASH = 'pod-template-hash';
export const REVISION = 'deployment.kubernetes.io/revision';
export const REVISION_HISTORY = 'deployment.kubernetes.io/revision-history';
export const DESIRED_REPLICAS = 'deployment.kubernetes.io/desired-replicas';
export const MAX_REPLICAS = 'deployment.kubernetes.io/max-replicas';
export const LAST_APPLIED = 'kubectl.kubernetes.io/last-applied-configuration';
export const DEPRECATED_ROLLBACK_TO = 'deprecated.deployment.rollback.to';
/** Longest revision-history annotation kept (kube's maxRevHistoryLengthInChars). */
export const MAX_REV_HISTORY_CHARS = 2000;
const MAX_INT32 = 2147483647;

/** Annotations never copied from a Deployment to its ReplicaSets (kube's annotationsToSkip). */
const SKIP_COPY = new Set([LAST_APPLIED, REVISION, REVISION_HISTORY, DESIRED_REPLICAS, MAX_REPLICAS, DEPRECATED_ROLLBACK_TO]);

export type IntOrString = number | string;

export interface DeploymentSpec {
  replicas?: number;
  selector?: LabelSelectorObject | null;
  template?: PodTemplateSpec;
  strategy?: { type?: string; rollingUpdate?: { maxSurge?: IntOrString | null; maxUnavailable?: IntOrString | null } | null };
  minReadySeconds?: number;
  revisionHistoryLimit?: number;
  paused?: boolean;
  progressDeadlineSeconds?: number;
}

export interface Condition {
  type: string;
  status: string;
  lastUpdateTime?: string;
  lastTransitionTime?: string;
  reason?: string;
  message?: string;
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  collisionCount?: number;
  conditions?: Condition[];
}

export interface Deployment extends KObject {
  spec: DeploymentSpec;
  status?: DeploymentStatus;
}

export interface ReplicaSetSpec {
  replicas?: number;
  minReadySeconds?: number;
  selector?: LabelSelectorObject | null;
  template?: PodTemplateSpec;
}

export interface ReplicaSetStatus {
  replicas?: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: Condition[];
}

export interface ReplicaSet extends KObject {
  spec: ReplicaSetSpec;
  status?: ReplicaSetStatus;
}

/** spec.replicas (defaulted to 1 by the API, as kube). */
export function specReplicas(o: Deployment | ReplicaSet | undefined): number {
  return o?.spec?.replicas ?? 1;
}

// ---------------------------------------------------------------------------------------------
// maxSurge / maxUnavailable

/**
 * intstr.GetScaledValueFromIntOrPercent: an int as is, "N%" of `total` rounded up or down.
 * Throws on a string that is not a percentage (validation rejects those first).
 */
export function scaledValue(v: IntOrString | null | undefined, total: number, roundUp: boolean): number {
  if (v === undefined || v === null) return 0;
  if (typeof v === 'number') return v;
  const m = /^(-?\d+)%$/.exec(v);
  if (!m) throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}: must be an integer or percentage`);
  const raw = (Number(m[1]) * total) / 100;
  return roundUp ? Math.ceil(raw) : Math.floor(raw);
}

export function isRollingUpdate(d: Deployment): boolean {
  return (d.spec.strategy?.type ?? 'RollingUpdate') === 'RollingUpdate';
}

/**
 * kube's ResolveFenceposts: surge rounds up, unavailable rounds down; if both resolve to 0 (a
 * small percentage of few replicas) unavailable becomes 1 so the rollout can move at all.
 */
export function resolveFenceposts(maxSurge: IntOrString | null | undefined, maxUnavailable: IntOrString | null | undefined, desired: number): { surge: number; unavailable: number } {
  const surge = scaledValue(maxSurge ?? 0, desired, true);
  let unavailable = scaledValue(maxUnavailable ?? 0, desired, false);
  if (surge === 0 && unavailable === 0) unavailable = 1;
  return { surge, unavailable };
}

/** Pods that may exist above spec.replicas during a rollout (0 for Recreate). */
export function maxSurge(d: Deployment): number {
  if (!isRollingUpdate(d)) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  return resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, specReplicas(d)).surge;
}

/** Pods that may be unavailable during a rollout, capped at spec.replicas (0 for Recreate). */
export function maxUnavailable(d: Deployment): number {
  const replicas = specReplicas(d);
  if (!isRollingUpdate(d) || replicas === 0) return 0;
  const ru = d.spec.strategy?.rollingUpdate;
  const { unavailable } = resolveFenceposts(ru?.maxSurge, ru?.maxUnavailable, replicas);
  return Math.min(unavailable, replicas);
}

// ---------------------------------------------------------------------------------------------
// Pod-template hash

/** JSON with object keys sorted, so equal templates hash equally whatever their key order. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => (x === undefined ? 'null' : canonicalJSON(x))).join(',')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).filter((k) => (v as Record<string, unknown>)[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON((v as Record<string, unknown>)[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** 32-bit FNV-1a over bytes. */
export function fnv32a(bytes: Uint8Array, seed = 0x811c9dc5): number {
  let h = seed >>> 0;
  for (const b of bytes) {
    h ^= b;
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** k8s.io/apimachinery rand.SafeEncodeString: each character mapped into a vowel-free alphabet. */
export function safeEncode(s: string): string {
  let out = '';
  for (const ch of s) out += SAFE_ALPHABET[ch.codePointAt(0)! % SAFE_ALPHABET.length];
  return out;
}

/**
 * The pod-template-hash of a template (kube's controller.ComputeHash): fnv32a of the template
 * (here its canonical JSON; kube hashes Go's printed struct, so values differ from kube's but are
 * just as stable), then the collision count as 8 little-endian bytes when set; the decimal
 * sum, safe-encoded.
 */
export function computeHash(template: PodTemplateSpec | undefined, collisionCount?: number): string {
  const enc = new TextEncoder();
  let h = fnv32a(enc.encode(canonicalJSON(template ?? {})));
  if (collisionCount !== undefined && collisionCount !== null) {
    const b = new Uint8Array(8);
    new DataView(b.buffer).setUint32(0, collisionCount >>> 0, true);
    h = fnv32a(b, h);
  }
  return safeEncode(String(h));
}

/** Drops null/undefined values and empty maps/lists, so nil and empty compare equal as in kube's semantic equality. */
function normalize(v: unknown): unknown {
  if (Array.isArray(v)) {
    const out = v.map(normalize);
    return out.length ? out : undefined;
  }
  if (v !== null && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) {
      const n = normalize(x);
      if (n !== undefined) out[k] = n;
    }
    return Object.keys(out).length ? out : undefined;
  }
  return v === null ? undefined : v;
}

/** Semantic deep equality of JSON values (nil == empty). */
export function semanticEqual(a: unknown, b: unknown): boolean {
  return canonicalJSON(normalize(a) ?? null) === canonicalJSON(normalize(b) ?? null);
}

/** kube's EqualIgnoreHash: templates equal once the pod-template-hash label is dropped from both. */
export function equalIgnoreHash(a: PodTemplateSpec | undefined, b: PodTemplateSpec | undefined): boolean {
  const strip = (t: PodTemplateSpec | undefined): unknown => {
    if (!t) return t;
    const labels = { ...(t.metadata?.labels ?? {}) };
    delete labels[POD_TEMPLATE_HASH];
    return { ...t, metadata: { ...(t.metadata ?? {}), labels } };
  };
  return semanticEqual(strip(a), strip(b));
}

// ---------------------------------------------------------------------------------------------
// Ordering and selection of ReplicaSets

function created(o: KObject): number {
  const t = o.metadata.creationTimestamp ? Date.parse(o.metadata.creationTimestamp) : NaN;
  return Number.isFinite(t) ? t : 0;
}

/** controller.ReplicaSetsByCreationTimestamp: oldest first, ties by name. */
export function byCreation(a: KObject, b: KObject): number {
  const d = created(a) - created(b);
  if (d !== 0) return d;
  const an = a.metadata.name ?? '';
  const bn = b.metadata.name ?? '';
  return an < bn ? -1 : an > bn ? 1 : 0;
}

/** ReplicaSetsBySizeNewer: larger first; equal sizes newer first (who scales up first). */
export function bySizeNewer(a: ReplicaSet, b: ReplicaSet): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreation(b, a);
}

/** ReplicaSetsBySizeOlder: larger first; equal sizes older first (who scales down first). */
export function bySizeOlder(a: ReplicaSet, b: ReplicaSet): number {
  const d = specReplicas(b) - specReplicas(a);
  return d !== 0 ? d : byCreation(a, b);
}

/** The revision annotation as a number (0 when missing, NaN when unparsable). */
export function revisionOf(o: KObject | undefined): number {
  const v = o?.metadata.annotations?.[REVISION];
  if (v === undefined) return 0;
  return /^\d+$/.test(v) ? Number(v) : NaN;
}

/** ReplicaSetsByRevision: lowest revision first, ties by creation. */
export function byRevision(a: ReplicaSet, b: ReplicaSet): number {
  const ra = revisionOf(a);
  const rb = revisionOf(b);
  if (ra === rb || Number.isNaN(ra) || Number.isNaN(rb)) return byCreation(a, b);
  return ra - rb;
}

/** Highest parsable revision among the ReplicaSets (0 when none). */
export function maxRevision(rss: ReplicaSet[]): number {
  let max = 0;
  for (const rs of rss) {
    const r = revisionOf(rs);
    if (Number.isFinite(r) && r > max) max = r;
  }
  return max;
}

/** The oldest ReplicaSet whose template equals the Deployment's, ignoring the hash label. */
export function findNewReplicaSet(d: Deployment, rsList: ReplicaSet[]): ReplicaSet | undefined {
  return [...rsList].sort(byCreation).find((rs) => equalIgnoreHash(rs.spec.template, d.spec.template));
}

/** Every ReplicaSet but the new one. */
export function findOldReplicaSets(d: Deployment, rsList: ReplicaSet[]): ReplicaSet[] {
  const newRS = findNewReplicaSet(d, rsList);
  return rsList.filter((rs) => rs !== newRS && (!newRS || rs.metadata.uid !== newRS.metadata.uid));
}

/** FilterActiveReplicaSets: those with spec.replicas > 0. */
export function activeReplicaSets(rss: (ReplicaSet | undefined)[]): ReplicaSet[] {
  return rss.filter((rs): rs is ReplicaSet => !!rs && specReplicas(rs) > 0);
}

/** The one active ReplicaSet, or the newest one if none is active; undefined if several are. */
export function findActiveOrLatest(newRS: ReplicaSet | undefined, oldRSs: ReplicaSet[]): ReplicaSet | undefined {
  if (!newRS && !oldRSs.length) return undefined;
  const newestFirst = [...oldRSs].sort((a, b) => byCreation(b, a));
  const active = activeReplicaSets([...newestFirst, newRS]);
  if (active.length === 0) return newRS ?? newestFirst[0];
  if (active.length === 1) return active[0];
  return undefined;
}

export function sumSpecReplicas(rss: (ReplicaSet | undefined)[]): number {
  return rss.reduce((n, rs) => n + (rs ? specReplicas(rs) : 0), 0);
}

export function sumStatus(rss: (ReplicaSet | undefined)[], field: 'replicas' | 'readyReplicas' | 'availableReplicas'): number {
  return rss.reduce((n, rs) => n + (rs?.status?.[field] ?? 0), 0);
}

/** The new ReplicaSet runs every desired replica, all available, for the current scale. */
export function isSaturated(d: Deployment, rs: ReplicaSet | undefined): boolean {
  if (!rs) return false;
  const desired = rs.metadata.annotations?.[DESIRED_REPLICAS];
  if (desired === undefined || !/^-?\d+$/.test(desired)) return false;
  const want = specReplicas(d);
  return specReplicas(rs) === want && Number(desired) === want && (rs.status?.availableReplicas ?? 0) === want;
}

export function hasProgressDeadline(d: Deployment): boolean {
  const p = d.spec.progressDeadlineSeconds;
  return typeof p === 'number' && p !== MAX_INT32;
}

export function hasRevisionHistoryLimit(d: Deployment): boolean {
  const l = d.spec.revisionHistoryLimit;
  return typeof l === 'number' && l !== MAX_INT32;
}

// ---------------------------------------------------------------------------------------------
// Annotations (these mutate the object passed in and report whether anything changed)

/** Sets desired-replicas and max-replicas; true if either changed. */
export function setReplicasAnnotations(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  if (ann[DESIRED_REPLICAS] !== String(desired)) {
    ann[DESIRED_REPLICAS] = String(desired);
    changed = true;
  }
  if (ann[MAX_REPLICAS] !== String(max)) {
    ann[MAX_REPLICAS] = String(max);
    changed = true;
  }
  return changed;
}

/** Whether the replicas annotations differ from what the Deployment now implies. */
export function replicasAnnotationsNeedUpdate(rs: ReplicaSet, desired: number, max: number): boolean {
  const ann = rs.metadata.annotations ?? {};
  return ann[DESIRED_REPLICAS] !== String(desired) || ann[MAX_REPLICAS] !== String(max);
}

/** Copies the Deployment's annotations (but the skipped ones) onto the ReplicaSet. */
export function copyDeploymentAnnotations(d: Deployment, rs: ReplicaSet): boolean {
  const ann = (rs.metadata.annotations ??= {});
  let changed = false;
  for (const [k, v] of Object.entries(d.metadata.annotations ?? {})) {
    if (SKIP_COPY.has(k) || ann[k] === v) continue;
    ann[k] = v;
    changed = true;
  }
  return changed;
}

/**
 * kube's SetNewReplicaSetAnnotations: copies the Deployment's annotations, raises the revision
 * to `newRevision` when lower (recording the previous one in revision-history, as a rollback
 * to an old ReplicaSet does), and for a ReplicaSet about to be created (`exists` false) sets the
 * replicas annotations. True if anything changed.
 */
export function setNewReplicaSetAnnotations(d: Deployment, rs: ReplicaSet, newRevision: number, exists: boolean): boolean {
  let changed = copyDeploymentAnnotations(d, rs);
  const ann = (rs.metadata.annotations ??= {});
  const oldRevision = ann[REVISION];
  let oldInt = 0;
  if (oldRevision !== undefined && oldRevision !== '') {
    if (!/^\d+$/.test(oldRevision)) return false;
    oldInt = Number(oldRevision);
  }
  if (oldInt < newRevision) {
    ann[REVISION] = String(newRevision);
    changed = true;
    if (oldRevision !== undefined) {
      const history = ann[REVISION_HISTORY] ?? '';
      if (!history) ann[REVISION_HISTORY] = oldRevision;
      else {
        let parts = history.split(',');
        let total = history.length + oldRevision.length + 1;
        let start = 0;
        while (total > MAX_REV_HISTORY_CHARS && start < parts.length) {
          total -= parts[start].length + 1;
          start++;
        }
        if (total <= MAX_REV_HISTORY_CHARS) {
          parts = [...parts.slice(start), oldRevision];
          ann[REVISION_HISTORY] = parts.join(',');
        }
      }
    }
  }
  if (!exists && setReplicasAnnotations(rs, specReplicas(d), specReplicas(d) + maxSurge(d))) changed = true;
  return changed;
}

/** Puts the revision annotation on the Deployment; true if it changed. */
export function setDeploymentRevision(d: Deployment, revision: string): boolean {
  const ann = (d.metadata.annotations ??= {});
  if (ann[REVISION] === revision) return false;
  ann[REVISION] = revision;
  return true;
}

/** The new ReplicaSet's labels, selector and template for a Deployment and hash. */
export function newReplicaSetShape(d: Deployment, hash: string): { labels: Record<string, string>; selector: LabelSelectorObject; template: PodTemplateSpec } {
  const template: PodTemplateSpec = structuredClone(d.spec.template ?? {});
  const labels = { ...(template.metadata?.labels ?? {}), [POD_TEMPLATE_HASH]: hash };
  template.metadata = { ...(template.metadata ?? {}), labels };
  const sel = d.spec.selector ?? {};
  const selector: LabelSelectorObject = { matchLabels: { ...(sel.matchLabels ?? {}), [POD_TEMPLATE_HASH]: hash } };
  if (sel.matchExpressions?.length) selector.matchExpressions = structuredClone(sel.matchExpressions);
  return { labels: { ...labels }, selector, template };
}
