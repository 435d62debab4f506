/**
 * Cluster-wide claims on Service ClusterIPs and NodePorts, kept as one store key per value
 * (a simplified form of kube's KEP-1880 IPAddress objects). The in-memory allocators are only a
 * per-process cache; these keys are what makes a value unique across every API server sharing
 * the store: a claim is taken with the backend's atomic `create`, so of two servers picking
 * the same value exactly one wins.
 *
 * Keys: `/registry/serviceipallocations/<ip>` and `/registry/servicenodeportallocations/<port>`.
 * Values are object-shaped (apiVersion/kind/metadata) because the watch cache decodes every key
 * under `/registry/`; they are not served through the API and not part of backups (the repair
 * on start rebuilds them from the Services).
 */
import type { Backend, KeyValue } from '../storage/types.js';
import { KeyExistsError, NotFoundError, ConflictError } from '../storage/errors.js';
import type { Allocation } from './allocators.js';

export const IP_CLAIM_PREFIX = '/registry/serviceipallocations/';
export const PORT_CLAIM_PREFIX = '/registry/servicenodeportallocations/';

/** The Service a claim belongs to (the uid tells a re-created Service of the same name apart). */
export interface ClaimOwner {
  namespace: string;
  name: string;
  uid: string;
}

export interface Claim {
  allocation: Allocation;
  owner: ClaimOwner;
  /** When the claim was taken (ms since the epoch); the repair leaves young orphans alone. */
  createdAt: number;
  key: string;
  modRevision: number;
}

export function claimKey(a: Allocation): string {
  return a.kind === 'clusterIP' ? IP_CLAIM_PREFIX + a.value : PORT_CLAIM_PREFIX + String(a.value);
}

export const sameAllocation = (a: Allocation, b: Allocation): boolean => a.kind === b.kind && a.value === b.value;
export const sameOwner = (a: ClaimOwner, b: ClaimOwner): boolean => a.namespace === b.namespace && a.name === b.name && a.uid === b.uid;

function encodeClaim(a: Allocation, owner: ClaimOwner, now: number): string {
  return JSON.stringify({
    apiVersion: 'kubelite.internal/v1',
    kind: a.kind === 'clusterIP' ? 'ServiceIPAllocation' : 'ServiceNodePortAllocation',
    metadata: { name: String(a.value), creationTimestamp: new Date(now).toISOString() },
    spec: { parentRef: { group: '', resource: 'services', namespace: owner.namespace, name: owner.name, uid: owner.uid } },
  });
}

function decodeClaim(kv: KeyValue): Claim | undefined {
  try {
    const o = JSON.parse(kv.value) as { metadata?: { name?: string; creationTimestamp?: string }; spec?: { parentRef?: Partial<ClaimOwner> } };
    const ref = o.spec?.parentRef ?? {};
    const name = kv.key.startsWith(IP_CLAIM_PREFIX) ? kv.key.slice(IP_CLAIM_PREFIX.length) : kv.key.slice(PORT_CLAIM_PREFIX.length);
    const allocation: Allocation = kv.key.startsWith(IP_CLAIM_PREFIX) ? { kind: 'clusterIP', value: name } : { kind: 'nodePort', value: Number(name) };
    if (allocation.kind === 'nodePort' && !Number.isInteger(allocation.value)) return undefined;
    return {
      allocation,
      owner: { namespace: String(ref.namespace ?? ''), name: String(ref.name ?? ''), uid: String(ref.uid ?? '') },
      createdAt: Date.parse(o.metadata?.creationTimestamp ?? '') || 0,
      key: kv.key,
      modRevision: kv.modRevision,
    };
  } catch {
    return undefined;
  }
}

/** Reads and writes claims on one backend. Every method may throw the backend's StoreErrors. */
export class AllocationClaims {
  private readonly now: () => number;
  constructor(
    readonly backend: Backend,
    opts: { now?: () => number } = {},
  ) {
    this.now = opts.now ?? Date.now;
  }

  /** Takes the claim; false when it is already held (by anyone, including `owner`). */
  async claim(a: Allocation, owner: ClaimOwner): Promise<boolean> {
    try {
      await this.backend.create(claimKey(a), encodeClaim(a, owner, this.now()));
      return true;
    } catch (err) {
      if (err instanceof KeyExistsError) return false;
      throw err;
    }
  }

  async get(a: Allocation): Promise<Claim | undefined> {
    const kv = await this.backend.get(claimKey(a));
    return kv ? decodeClaim(kv) : undefined;
  }

  /**
   * Drops the claim if `owner` holds it (any holder when owner is omitted); a claim another
   * Service has taken meanwhile is left alone. Returns whether a key was deleted.
   */
  async release(a: Allocation, owner?: ClaimOwner): Promise<boolean> {
    const kv = await this.backend.get(claimKey(a));
    if (!kv) return false;
    const c = decodeClaim(kv);
    if (owner && c && !sameOwner(c.owner, owner)) return false;
    try {
      await this.backend.delete(kv.key, kv.modRevision);
      return true;
    } catch (err) {
      if (err instanceof NotFoundError || err instanceof ConflictError) return false;
      throw err;
    }
  }

  /** Every claim of one kind (all of them when kind is omitted). */
  async list(kind?: Allocation['kind']): Promise<Claim[]> {
    const prefixes = kind === 'clusterIP' ? [IP_CLAIM_PREFIX] : kind === 'nodePort' ? [PORT_CLAIM_PREFIX] : [IP_CLAIM_PREFIX, PORT_CLAIM_PREFIX];
    const out: Claim[] = [];
    for (const prefix of prefixes) {
      let startAfter: string | undefined;
      for (;;) {
        const page = await this.backend.list(prefix, { limit: 1000, startAfter });
        for (const kv of page.items) {
          const c = decodeClaim(kv);
          if (c) out.push(c);
        }
        if (!page.more || page.items.length === 0) break;
        startAfter = page.items[page.items.length - 1].key;
      }
    }
    return out;
  }
}
