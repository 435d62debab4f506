/**
 * Service ClusterIP/NodePort allocation that stays unique across several API servers sharing
 * one store. kube's rules (which values, which errors) live in allocators.ts and run against a
 * per-process cache; this layer makes every newly taken value a claim in the store
 * (allocation-store.ts) before the Service is written:
 *
 * 1. values the user asks for by number that the cache counts as taken are checked against the
 *    store (another server may have freed them);
 * 2. `allocateForService` plans against the cache;
 * 3. every new value is claimed with an atomic create. A value another server holds stays
 *    marked in the cache and planning starts again from the request as sent: a picked value is
 *    replaced by another, a requested one now fails with kube's "provided IP is already
 *    allocated" 422;
 * 4. when the cache says the range is full it is reloaded from the claims once before the
 *    request gets kube's "range is full" 500.
 *
 * Claims are released after the write that stops using them (Reservation.commit, delete), and
 * `repair` (on start and periodically, as kube's repair controllers) removes claims no Service
 * holds and claims the values of Services that have none.
 */
import type { KObject } from '../api/types.js';
import type { Backend } from '../storage/types.js';
import { fromStoreError } from './errors.js';
import {
  allocateForService,
  allocationsOf,
  commitRelease,
  isAllocatedLocally,
  isRangeFull,
  markAllocated,
  releaseForService,
  requestedAllocations,
  rollbackAllocations,
  unmarkAllocated,
  type Allocation,
  type AllocationResult,
  type ServiceAllocators,
} from './allocators.js';
import { AllocationClaims, claimKey, sameAllocation, sameOwner, type Claim, type ClaimOwner } from './allocation-store.js';
import type { Reservation } from './registry/strategy.js';

export interface ServiceAllocationOptions {
  /** Orphaned claims younger than this are left alone by the repair: a write may still be in flight (default 60 s). */
  orphanGraceMs?: number;
  now?: () => number;
  /** Where repair findings and failed releases go (default console.warn). */
  warn?: (msg: string) => void;
}

export interface RepairReport {
  /** Claims taken for Services that held a value without one. */
  created: Allocation[];
  /** Orphaned claims deleted. */
  removed: Allocation[];
  /** Human-readable findings: values held by more than one Service, claims held for another. */
  problems: string[];
}

export function ownerOf(svc: KObject): ClaimOwner {
  return { namespace: svc.metadata?.namespace ?? '', name: svc.metadata?.name ?? '', uid: svc.metadata?.uid ?? '' };
}

const describe = (x: Allocation): string => (x.kind === 'clusterIP' ? `ClusterIP ${x.value}` : `NodePort ${x.value}`);
const who = (o: ClaimOwner): string => `${o.namespace}/${o.name}`;

export class ServiceAllocation {
  private claims?: AllocationClaims;
  private readonly now: () => number;
  private readonly warn: (msg: string) => void;
  private readonly grace: number;

  constructor(
    readonly allocs: ServiceAllocators,
    opts: ServiceAllocationOptions = {},
  ) {
    this.now = opts.now ?? Date.now;
    this.warn = opts.warn ?? ((m) => console.warn(`kubelite: ${m}`));
    this.grace = opts.orphanGraceMs ?? 60_000;
  }

  /** From now on values are claimed in `backend` (until then: the local cache alone, as a single server). */
  attach(backend: Backend): void {
    this.claims = new AllocationClaims(backend, { now: this.now });
  }

  /**
   * Allocates for a Service write (kube's BeginCreate/BeginUpdate). Mutates `obj.spec`. A dry
   * run checks the claims but takes none.
   */
  async reserve(obj: KObject, old: KObject | undefined, opts: { dryRun?: boolean } = {}): Promise<Reservation> {
    const claims = this.claims;
    const allocs = this.allocs;
    if (!claims) {
      const r = allocateForService(obj, old, allocs);
      return { rollback: () => rollbackAllocations(r, allocs), commit: () => commitRelease(r, allocs) };
    }
    const owner = ownerOf(obj);
    const storeErr = (err: unknown): Error => fromStoreError(err, { resource: 'services', group: '', name: owner.name });
    const original: unknown = structuredClone(obj.spec);
    try {
      for (const x of requestedAllocations(obj, old)) {
        if (isAllocatedLocally(x, allocs) && !(await claims.get(x))) unmarkAllocated([x], allocs);
      }
    } catch (err) {
      throw storeErr(err);
    }
    let resynced = false;
    for (;;) {
      let result: AllocationResult;
      try {
        result = allocateForService(obj, old, allocs);
      } catch (err) {
        if (!isRangeFull(err) || resynced) throw err;
        resynced = true;
        await this.resync().catch((e: unknown) => {
          throw storeErr(e);
        });
        obj.spec = structuredClone(original) as KObject['spec'];
        continue;
      }
      const outcomes = await Promise.allSettled(
        result.allocated.map(async (x) => (opts.dryRun ? !(await claims.get(x)) : claims.claim(x, owner))),
      );
      const won: Allocation[] = [];
      const lost: Allocation[] = [];
      let failure: unknown;
      outcomes.forEach((o, i) => {
        if (o.status === 'rejected') failure ??= o.reason;
        else (o.value ? won : lost).push(result.allocated[i]);
      });
      if (!lost.length && failure === undefined) {
        return {
          rollback: async () => {
            rollbackAllocations(result, allocs);
            if (!opts.dryRun) await this.releaseClaims(won, owner);
          },
          commit: async () => {
            commitRelease(result, allocs);
            await this.releaseClaims(result.toRelease, owner);
          },
        };
      }
      // Give back what this round took; values held elsewhere stay marked in the cache.
      if (!opts.dryRun) await this.releaseClaims(won, owner);
      unmarkAllocated(result.allocated.filter((x) => !lost.some((l) => sameAllocation(l, x))), allocs);
      if (failure !== undefined) throw storeErr(failure);
      obj.spec = structuredClone(original) as KObject['spec'];
    }
  }

  /** After a Service is deleted: frees its values in the cache and drops its claims. */
  async release(obj: KObject): Promise<void> {
    releaseForService(obj, this.allocs);
    await this.releaseClaims(allocationsOf(obj), ownerOf(obj));
  }

  private async releaseClaims(list: Allocation[], owner: ClaimOwner): Promise<void> {
    const claims = this.claims;
    if (!claims || !list.length) return;
    await Promise.all(
      list.map((x) =>
        claims.release(x, owner).catch((err: unknown) => {
          this.warn(`could not release the claim on ${describe(x)} of Service ${who(owner)} (the repair will): ${(err as Error).message}`);
        }),
      ),
    );
  }

  /** Reloads the cache from the store's claims (the authoritative set). */
  async resync(): Promise<void> {
    if (!this.claims) return;
    const all = await this.claims.list();
    this.allocs.ips.reset(all.filter((c) => c.allocation.kind === 'clusterIP').map((c) => c.allocation.value as string));
    this.allocs.ports.reset(all.filter((c) => c.allocation.kind === 'nodePort').map((c) => c.allocation.value as number));
  }

  /**
   * kube's repair controllers, for the claims: every value a Service holds gets a claim (the
   * oldest Service wins a value held twice, which is reported), claims no Service holds are
   * deleted once older than the grace period, and the cache is rebuilt from what remains.
   */
  async repair(services: KObject[], opts: { relist?: () => Promise<KObject[]> } = {}): Promise<RepairReport> {
    const report: RepairReport = { created: [], removed: [], problems: [] };
    const claims = this.claims;
    if (!claims) {
      this.allocs.ips.reset([]);
      this.allocs.ports.reset([]);
      markAllocated(services.flatMap(allocationsOf), this.allocs);
      return report;
    }
    const existing = new Map<string, Claim>((await claims.list()).map((c) => [c.key, c]));
    const sorted = [...services].sort((a, b) => String(a.metadata.creationTimestamp ?? '').localeCompare(String(b.metadata.creationTimestamp ?? '')));
    const holders = new Map<string, { x: Allocation; owners: ClaimOwner[] }>();
    for (const svc of sorted) {
      for (const x of allocationsOf(svc)) {
        const h = holders.get(claimKey(x)) ?? { x, owners: [] };
        h.owners.push(ownerOf(svc));
        holders.set(claimKey(x), h);
      }
    }
    const young = (c: Claim): boolean => this.now() - c.createdAt < this.grace;
    for (const [key, { x, owners }] of holders) {
      if (owners.length > 1) report.problems.push(`${describe(x)} is allocated to more than one Service: ${owners.map(who).join(', ')}`);
      const c = existing.get(key);
      const first = owners[0];
      if (!c) {
        if (await claims.claim(x, first)) report.created.push(x);
        else report.problems.push(`${describe(x)} of Service ${who(first)} was claimed for another Service meanwhile`);
        continue;
      }
      if (owners.some((o) => sameOwner(o, c.owner))) continue;
      report.problems.push(`${describe(x)} is held by Service ${who(first)} but claimed for ${who(c.owner)} (uid ${c.owner.uid})`);
      if (!young(c) && (await claims.release(x, c.owner)) && (await claims.claim(x, first))) report.created.push(x);
    }
    if (report.created.length && opts.relist) {
      // A Service may have dropped a value (and released its claim) since the list: give back
      // what this repair claimed for values their Service no longer holds.
      const now = new Map<string, ClaimOwner[]>();
      for (const svc of await opts.relist()) for (const x of allocationsOf(svc)) now.set(claimKey(x), [...(now.get(claimKey(x)) ?? []), ownerOf(svc)]);
      for (const x of [...report.created]) {
        const c = await claims.get(x);
        if (c && !(now.get(claimKey(x)) ?? []).some((o) => sameOwner(o, c.owner)) && (await claims.release(x, c.owner))) {
          report.created.splice(report.created.indexOf(x), 1);
        }
      }
    }
    for (const [key, c] of existing) {
      if (holders.has(key) || young(c)) continue;
      if (await claims.release(c.allocation, c.owner)) report.removed.push(c.allocation);
    }
    for (const p of report.problems) this.warn(p);
    await this.resync();
    return report;
  }
}
