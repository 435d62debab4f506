/**
 * StatefulSet revision history, pure parts (kube's controller/history + statefulset utils): a
 * revision is a ControllerRevision `<set>-<hash>` whose `data` is the patch that restores the
 * set's pod template (`{"spec":{"template":{"$patch":"replace", ...}}}`), numbered by `revision`.
 * The hash covers the data plus the collision count, so a name clash with different data is
 * resolved by bumping status.collisionCount and hashing again.
 */
import type { KObject } from '../../api/types.js';
import { clone } from '../../api/types.js';
import { controllerRef, type PodTemplateSpec } from '../owners.js';

/** The label on a ControllerRevision holding its hash. */
export const REVISION_HASH_LABEL = 'controller.kubernetes.io/hash';

type Loose = Record<string, unknown>;

/** JSON with object keys sorted at every level (Go's json.Marshal of maps), so equal data hashes equally. */
export function canonicalJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map((x) => canonicalJSON(x === undefined ? null : x)).join(',')}]`;
  if (v && typeof v === 'object') {
    const o = v as Loose;
    const keys = Object.keys(o).filter((k) => o[k] !== undefined).sort();
    return `{${keys.map((k) => `${JSON.stringify(k)}:${canonicalJSON(o[k])}`).join(',')}}`;
  }
  return JSON.stringify(v) ?? 'null';
}

/** FNV-1 32-bit (Go's hash/fnv New32) over the UTF-8 bytes of `s`. */
export function fnv32(s: string): number {
  let h = 0x811c9dc5;
  for (const b of Buffer.from(s, 'utf8')) {
    h = Math.imul(h, 0x01000193) >>> 0;
    h = (h ^ b) >>> 0;
  }
  return h >>> 0;
}

const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

/** apimachinery's rand.SafeEncodeString: maps each byte to a vowel-free alphanumeric. */
export function safeEncode(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length];
  return out;
}

/** The revision data for a pod template. */
export function revisionData(template: PodTemplateSpec): Loose {
  return { spec: { template: { ...clone(template ?? {}), $patch: 'replace' } } };
}

/** Hash of revision data and collision count, encoded as kube encodes it. */
export function hashRevision(data: unknown, collisionCount: number): string {
  return safeEncode(String(fnv32(canonicalJSON(data) + String(collisionCount))));
}

/** `<prefix>-<hash>`, the prefix cut to 223 characters so the name fits 253. */
export function revisionName(prefix: string, hash: string): string {
  return `${prefix.slice(0, 223)}-${hash}`;
}

/** A new ControllerRevision of `set`'s current template, numbered `revision`. */
export function newRevision(set: KObject, opts: { revision: number; collisionCount: number }): KObject {
  const template = clone(((set.spec as Loose | undefined)?.template ?? {}) as PodTemplateSpec);
  const data = revisionData(template);
  const hash = hashRevision(data, opts.collisionCount);
  const meta: KObject['metadata'] = {
    name: revisionName(set.metadata.name ?? '', hash),
    namespace: set.metadata.namespace,
    labels: { ...(template.metadata?.labels ?? {}), [REVISION_HASH_LABEL]: hash },
    ownerReferences: [controllerRef(set)],
  };
  if (set.metadata.annotations && Object.keys(set.metadata.annotations).length) meta.annotations = { ...set.metadata.annotations };
  return { apiVersion: 'apps/v1', kind: 'ControllerRevision', metadata: meta, data, revision: opts.revision };
}

export function revisionNumber(rev: KObject): number {
  return typeof rev.revision === 'number' ? rev.revision : 0;
}

/** The pod template a revision restores. */
export function templateOf(rev: KObject): PodTemplateSpec {
  const t = clone(((((rev.data as Loose | undefined)?.spec as Loose | undefined)?.template ?? {}) as Loose));
  delete t.$patch;
  return t as PodTemplateSpec;
}

/** Same data (the hash label is derived from it, so comparing data is enough). */
export function equalRevision(a: KObject, b: KObject): boolean {
  return canonicalJSON(a.data ?? null) === canonicalJSON(b.data ?? null);
}

/** By revision number, then creation time, then name (history.SortControllerRevisions). */
export function sortRevisions(revs: KObject[]): KObject[] {
  return [...revs].sort((a, b) => {
    const d = revisionNumber(a) - revisionNumber(b);
    if (d) return d;
    const ta = a.metadata.creationTimestamp ?? '';
    const tb = b.metadata.creationTimestamp ?? '';
    if (ta !== tb) return ta < tb ? -1 : 1;
    return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
  });
}

export function nextRevisionNumber(sorted: KObject[]): number {
  return sorted.length ? revisionNumber(sorted[sorted.length - 1]) + 1 : 1;
}

/**
 * What to do to get the update revision for the set's current template (kube's
 * getStatefulSetRevisions): reuse the newest revision if it already holds this template;
 * re-number an older equal revision (a rollback) to be the newest; or create `candidate`.
 */
export type UpdateRevisionDecision =
  | { kind: 'existing'; revision: KObject }
  | { kind: 'renumber'; revision: KObject; to: number }
  | { kind: 'create'; revision: KObject };

export function decideUpdateRevision(set: KObject, sorted: KObject[], collisionCount: number): UpdateRevisionDecision {
  const candidate = newRevision(set, { revision: nextRevisionNumber(sorted), collisionCount });
  const equal = sorted.filter((r) => equalRevision(r, candidate));
  if (equal.length && sorted.length && equalRevision(sorted[sorted.length - 1], equal[equal.length - 1])) {
    return { kind: 'existing', revision: sorted[sorted.length - 1] };
  }
  if (equal.length) return { kind: 'renumber', revision: equal[equal.length - 1], to: revisionNumber(candidate) };
  return { kind: 'create', revision: candidate };
}

/**
 * Revisions to delete to honour revisionHistoryLimit (kube's truncateHistory): revisions that
 * are neither current, update, nor the revision of a live pod are history; the oldest go first
 * until at most `limit` history revisions remain.
 */
export function revisionsToTruncate(sorted: KObject[], opts: { live: Set<string>; limit: number }): KObject[] {
  const history = sorted.filter((r) => !opts.live.has(r.metadata.name ?? ''));
  if (opts.limit < 0 || history.length <= opts.limit) return [];
  return history.slice(0, history.length - opts.limit);
}
