/**
 * Writes ProxyStates into the kernel with `nft -f`. Remembers the fragments it last applied so
 * that a sync of a few changed service ports sends a small transaction (partial.ts) instead of
 * the whole table. Falls back to a full replacement script when it cannot trust its memory:
 * first sync, an explicit 'all', a change of the node (the skeleton and every fragment depend
 * on it), or any sync after a failed apply (the kernel may hold either version, so the failed
 * state is forgotten).
 *
 * Not reentrant: the caller (the proxier's sync loop) must await one sync() before the next.
 */
import { spawn } from 'node:child_process';
import type { ProxyState } from '../types.js';
import { serviceFragment, type LbMode, type ServiceFragment } from './fragment.js';
import { AppliedRuleset } from './partial.js';
import { DEFAULT_TABLE, renderFullScript, stateFragments } from './render.js';

export type NftRunner = (script: string) => Promise<void>;

export interface NftablesApplierOptions {
  /** Loads a script (default: `nft -f -`, rejecting with nft's stderr). */
  run?: NftRunner;
  table?: string;
  /** Endpoint selection form: 'cascade', the only one (see LbMode). */
  lb?: LbMode;
}

export interface SyncInput {
  state: ProxyState;
  /** Service-port ids added, changed or removed since the last sync, or 'all' for a full sync. */
  changed: Set<string> | 'all';
}

export interface SyncResult {
  full: boolean;
  /** Size of the script sent to nft (0 when nothing had to change). */
  bytes: number;
}

/** Pipes a script to `nft -f -`; rejects with nft's stderr on a non-zero exit. */
export function runNft(script: string, opts: { args?: string[] } = {}): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn('nft', [...(opts.args ?? []), '-f', '-'], { stdio: ['pipe', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (d: string) => { stderr += d; });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`nft -f - failed (exit ${code}): ${stderr.trim()}`));
    });
    child.stdin.on('error', () => { /* nft exited early; its stderr explains why */ });
    child.stdin.end(script);
  });
}

export class NftablesApplier {
  private readonly run: NftRunner;
  private readonly table: string;
  private readonly lb: LbMode;
  /** What the kernel holds; undefined = unknown (next sync is full). */
  private applied: AppliedRuleset | undefined;
  private nodeKey = '';

  constructor(opts: NftablesApplierOptions = {}) {
    this.run = opts.run ?? ((s: string) => runNft(s));
    this.table = opts.table ?? DEFAULT_TABLE;
    this.lb = opts.lb ?? 'cascade';
  }

  async sync(input: SyncInput): Promise<SyncResult> {
    const { state, changed } = input;
    const nodeKey = JSON.stringify(state.node);
    const applied = this.applied;
    if (!applied || changed === 'all' || nodeKey !== this.nodeKey) return this.fullSync(state, nodeKey);

    const updates = new Map<string, ServiceFragment | null>();
    for (const id of changed) {
      const plan = state.services.get(id);
      updates.set(id, plan ? serviceFragment(plan, state.node, { lb: this.lb }) : null);
    }
    const { script, commit } = applied.diff(updates, { table: this.table });
    if (script === '') {
      commit();
      return { full: false, bytes: 0 };
    }
    this.applied = undefined; // unknown until the load succeeds
    await this.run(script);
    commit();
    this.applied = applied;
    return { full: false, bytes: Buffer.byteLength(script) };
  }

  private async fullSync(state: ProxyState, nodeKey: string): Promise<SyncResult> {
    this.applied = undefined;
    const frags = stateFragments(state, { lb: this.lb });
    const script = renderFullScript(state.node, frags.values(), { table: this.table });
    await this.run(script);
    this.applied = new AppliedRuleset(frags);
    this.nodeKey = nodeKey;
    return { full: true, bytes: Buffer.byteLength(script) };
  }

  /** Removes the table (a missing table is fine); the next sync is full. */
  async cleanup(): Promise<void> {
    this.applied = undefined;
    try {
      await this.run(`delete table ip ${this.table}\n`);
    } catch (e) {
      if (!/No such file/i.test(String((e as Error).message ?? e))) throw e;
    }
  }
}
