/**
 * Partial sync: the model of what the kernel holds (the fragments last applied, with element
 * ownership) and the builder of a minimal `nft -f` transaction from it to a new set of
 * fragments for some service-port ids. Like kube-proxy's nftables proxier for chains (add +
 * flush + rules, stale chains deleted), plus element-level diffs of the shared maps and sets.
 *
 * Ordering contract of the script (nft applies it as one transaction, statement by statement):
 *   1. delete elements whose programmed value goes away or changes (they may point at stale chains);
 *   2. declare new sets and chains;
 *   3. flush changed and stale chains (drops their references to stale chains and sets);
 *   4. re-create sets whose declaration changed (their users were flushed in 3);
 *   5. write the rules of new and changed chains;
 *   6. delete stale chains, then stale sets — nothing refers to them any more;
 *   7. add elements whose programmed value is new or changed.
 *
 * Element ownership: a `set\0key` may be contributed by several fragments (a Service's cluster
 * IP in `cluster-ips` for each of its ports). The programmed value is the one of the smallest
 * owning id — the same as the full render's "first fragment in sorted order wins" — so a full
 * and a partial sync of the same state always agree.
 */
import { elementKey, type ServiceFragment } from './fragment.js';

type Owners = Map<string, string>; // owner id → element body

function programmed(owners: Owners | undefined): string | undefined {
  if (!owners || owners.size === 0) return undefined;
  let best: string | undefined;
  for (const id of owners.keys()) if (best === undefined || id < best) best = id;
  return owners.get(best!);
}

function sameRules(a: string[], b: string[]): boolean {
  return a.length === b.length && a.every((r, i) => r === b[i]);
}

export interface PartialPlan {
  /** The nft script ('' when nothing changes). */
  script: string;
  /** Records the update as applied (call only after the script loaded successfully). */
  commit(): void;
}

/** What the kernel's table holds, as fragments by service-port id. */
export class AppliedRuleset {
  private readonly frags = new Map<string, ServiceFragment>();
  private readonly owners = new Map<string, Owners>();

  constructor(fragments: Map<string, ServiceFragment> = new Map()) {
    for (const [id, f] of fragments) this.put(id, f);
  }

  get size(): number { return this.frags.size; }

  fragment(id: string): ServiceFragment | undefined { return this.frags.get(id); }

  private put(id: string, f: ServiceFragment | null): void {
    const old = this.frags.get(id);
    if (old) {
      for (const [set, elems] of old.elements) {
        for (const e of elems) {
          const k = `${set}\0${elementKey(e)}`;
          const o = this.owners.get(k);
          o?.delete(id);
          if (o && o.size === 0) this.owners.delete(k);
        }
      }
      this.frags.delete(id);
    }
    if (!f) return;
    this.frags.set(id, f);
    for (const [set, elems] of f.elements) {
      for (const e of elems) {
        const k = `${set}\0${elementKey(e)}`;
        let o = this.owners.get(k);
        if (!o) this.owners.set(k, (o = new Map()));
        if (!o.has(id)) o.set(id, e);
      }
    }
  }

  /**
   * Builds the transaction that turns the applied fragments of `updates`' ids into the given
   * ones (null = the service port is gone). Does not change this object until commit().
   */
  diff(updates: Map<string, ServiceFragment | null>, opts: { table: string }): PartialPlan {
    const t = opts.table;
    const delElems: string[] = [];
    const addElems: string[] = [];
    const declare: string[] = [];
    const flush: string[] = [];
    const redeclare: string[] = [];
    const rules: string[] = [];
    const delChains: string[] = [];
    const delSets: string[] = [];

    // Elements: recompute the programmed value of every key an updated fragment touches.
    const touched = new Map<string, Owners | undefined>(); // key → owners after the update
    const touch = (f: ServiceFragment | null | undefined): void => {
      if (!f) return;
      for (const [set, elems] of f.elements) {
        for (const e of elems) {
          const k = `${set}\0${elementKey(e)}`;
          if (!touched.has(k)) touched.set(k, this.owners.has(k) ? new Map(this.owners.get(k)) : undefined);
        }
      }
    };
    for (const [id, f] of updates) { touch(this.frags.get(id)); touch(f); }
    for (const [k, o] of touched) {
      const after = o ?? new Map<string, string>();
      for (const id of updates.keys()) after.delete(id);
      touched.set(k, after);
    }
    for (const [id, f] of updates) {
      if (!f) continue;
      for (const [set, elems] of f.elements) {
        for (const e of elems) {
          const o = touched.get(`${set}\0${elementKey(e)}`)!;
          if (!o.has(id)) o.set(id, e);
        }
      }
    }
    for (const [k, after] of touched) {
      const before = programmed(this.owners.get(k));
      const now = programmed(after);
      if (before === now) continue;
      const set = k.slice(0, k.indexOf('\0'));
      if (before !== undefined) delElems.push(`delete element ip ${t} ${set} { ${elementKey(before)} }`);
      if (now !== undefined) addElems.push(`add element ip ${t} ${set} { ${now} }`);
    }

    // Chains and sets, per updated fragment.
    for (const [id, f] of updates) {
      const old = this.frags.get(id);
      const oldChains = old?.chains ?? new Map<string, string[]>();
      const newChains = f?.chains ?? new Map<string, string[]>();
      const oldSets = old?.sets ?? new Map<string, string>();
      const newSets = f?.sets ?? new Map<string, string>();
      const changedSets = [...newSets].filter(([n, d]) => oldSets.has(n) && oldSets.get(n) !== d).map(([n]) => n);
      for (const [n, d] of newSets) if (!oldSets.has(n)) declare.push(`add set ip ${t} ${n} ${d}`);
      for (const [name, rs] of newChains) {
        const prev = oldChains.get(name);
        if (prev === undefined) declare.push(`add chain ip ${t} ${name}`);
        else if (changedSets.length === 0 && sameRules(prev, rs)) continue;
        else flush.push(`flush chain ip ${t} ${name}`);
        for (const r of rs) rules.push(`add rule ip ${t} ${name} ${r}`);
      }
      for (const name of oldChains.keys()) {
        if (newChains.has(name)) continue;
        flush.push(`flush chain ip ${t} ${name}`);
        delChains.push(`delete chain ip ${t} ${name}`);
      }
      for (const n of changedSets) redeclare.push(`delete set ip ${t} ${n}`, `add set ip ${t} ${n} ${newSets.get(n)!}`);
      for (const n of oldSets.keys()) if (!newSets.has(n)) delSets.push(`delete set ip ${t} ${n}`);
    }

    const lines = [...delElems, ...declare, ...flush, ...redeclare, ...rules, ...delChains, ...delSets, ...addElems];
    return {
      script: lines.length ? lines.join('\n') + '\n' : '',
      commit: (): void => { for (const [id, f] of updates) this.put(id, f); },
    };
  }
}
