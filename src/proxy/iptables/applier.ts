/**
 * Writes a ProxyState into the kernel the way kube-proxy's iptables mode does:
 *
 *  1. on a full sync, make sure our chains are hooked into the built-in ones (PREROUTING,
 *     OUTPUT, POSTROUTING, INPUT, FORWARD): `iptables -N` then `-C`, and `-I` only when the
 *     check fails — these jumps live in chains we do not own, so they are never re-sent;
 *  2. list the nat table's chains (`iptables-save -t nat`) to find per-service chains of ours
 *     that the state no longer uses;
 *  3. one `iptables-restore --noflush` transaction: every top-level chain rewritten, the
 *     per-service chains of changed services rewritten (all of them on a full sync), stale
 *     chains flushed and deleted.
 *
 * A failed sync throws and makes the next one full (the partial state is unknown), as kube's
 * needFullSync does. Calls are serialized.
 */
import { spawn } from 'node:child_process';
import type { ProxyState } from '../types.js';
import { FILTER_CHAINS, JUMP_RULES, NAT_CHAINS, chainsInSave, isServiceChain } from './chains.js';
import { renderIptablesParts, restoreInput } from './render.js';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr?: string;
}

export interface IptablesApplierOptions {
  /** Feeds `input` to `iptables-restore --noflush --counters`; rejects on failure. */
  restore?: (input: string) => Promise<void>;
  /** Runs one command (`iptables ...`, `iptables-save ...`) and reports its exit code and output. */
  exec?: (argv: string[]) => Promise<ExecResult>;
  /** Passed to the renderer: force kube's large-cluster mode on or off. */
  largeCluster?: boolean;
}

export interface SyncInput {
  state: ProxyState;
  /** Service-port ids whose plans changed or disappeared since the last sync, or 'all'. */
  changed: Set<string> | 'all';
}

/** Runs a command without a shell; never rejects for a non-zero exit (only if it cannot start). */
export function execCommand(argv: string[], opts: { input?: string } = {}): Promise<ExecResult> {
  return new Promise((resolve, reject) => {
    const [cmd, ...args] = argv;
    if (!cmd) { reject(new Error('empty command')); return; }
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? 1, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() }));
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

/** The real `iptables-restore` (waits for the xtables lock like kube: -w 5). */
export async function realRestore(input: string): Promise<void> {
  const r = await execCommand(['iptables-restore', '-w', '5', '--noflush', '--counters'], { input });
  if (r.code !== 0) throw new Error(`iptables-restore failed (exit ${r.code}): ${(r.stderr ?? '').trim()}`);
}

export class IptablesApplier {
  private readonly restore: (input: string) => Promise<void>;
  private readonly exec: (argv: string[]) => Promise<ExecResult>;
  private readonly largeCluster: boolean | undefined;
  private needFull = true;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: IptablesApplierOptions = {}) {
    this.restore = opts.restore ?? realRestore;
    this.exec = opts.exec ?? ((argv) => execCommand(argv));
    this.largeCluster = opts.largeCluster;
  }

  /** Program `input.state`. Resolves with whether this was a full sync; rejects (and forces the next sync full) on failure. */
  sync(input: SyncInput): Promise<{ full: boolean }> {
    const run = this.chain.then(() => this.doSync(input));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Remove our jumps and every chain of ours from nat and filter (kube's CleanupLeftovers). */
  cleanup(): Promise<void> {
    const run = this.chain.then(() => this.doCleanup());
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doSync(input: SyncInput): Promise<{ full: boolean }> {
    const full = this.needFull || input.changed === 'all';
    this.needFull = true; // until this sync has succeeded
    if (full) await this.ensureJumps();
    const r = renderIptablesParts(input.state, {
      ...(full || input.changed === 'all' ? {} : { chainsFor: input.changed }),
      ...(this.largeCluster !== undefined ? { largeCluster: this.largeCluster } : {}),
    });
    // Stale chains: ours, present in the kernel, unused by the state. If listing fails we
    // still sync (stale chains are unreferenced, so harmless) and retry the cleanup next time.
    let stale: string[] = [];
    const saved = await this.exec(['iptables-save', '-t', 'nat']);
    if (saved.code === 0) stale = chainsInSave(saved.stdout).filter((c) => isServiceChain(c) && !r.activeChains.has(c));
    await this.restore(restoreInput(r, { staleChains: stale }));
    this.needFull = false;
    return { full };
  }

  private async run(argv: string[]): Promise<ExecResult> {
    return this.exec(['iptables', '-w', '5', ...argv]);
  }

  private async ensureJumps(): Promise<void> {
    const made = new Set<string>();
    for (const j of JUMP_RULES) {
      const key = `${j.table}/${j.to}`;
      if (!made.has(key)) {
        // Exit 1 means "already exists" (kube's EnsureChain treats it the same way).
        const n = await this.run(['-t', j.table, '-N', j.to]);
        if (n.code !== 0 && n.code !== 1) throw new Error(`iptables -t ${j.table} -N ${j.to}: exit ${n.code} ${(n.stderr ?? '').trim()}`);
        made.add(key);
      }
      const c = await this.run(['-t', j.table, '-C', j.from, ...j.args]);
      if (c.code === 0) continue;
      const i = await this.run(['-t', j.table, '-I', j.from, ...j.args]);
      if (i.code !== 0) throw new Error(`iptables -t ${j.table} -I ${j.from} -j ${j.to}: exit ${i.code} ${(i.stderr ?? '').trim()}`);
    }
  }

  private async doCleanup(): Promise<void> {
    this.needFull = true;
    const errors: string[] = [];
    for (const j of JUMP_RULES) {
      // Delete every copy (a crashed run may have left duplicates); stop when none is left.
      for (let k = 0; k < 10; k++) {
        const d = await this.run(['-t', j.table, '-D', j.from, ...j.args]);
        if (d.code !== 0) break;
      }
    }
    const lines: string[] = [];
    for (const [table, top] of [['filter', FILTER_CHAINS], ['nat', NAT_CHAINS]] as const) {
      const saved = await this.exec(['iptables-save', '-t', table]);
      if (saved.code !== 0) { errors.push(`iptables-save -t ${table}: exit ${saved.code}`); continue; }
      const ours = chainsInSave(saved.stdout).filter((c) => (top as readonly string[]).includes(c) || (table === 'nat' && isServiceChain(c)));
      if (ours.length === 0) continue;
      lines.push(`*${table}`, ...ours.map((c) => `:${c} - [0:0]`), ...ours.map((c) => `-X ${c}`), 'COMMIT');
    }
    if (lines.length > 0) await this.restore(lines.join('\n') + '\n');
    if (errors.length > 0) throw new Error(`iptables cleanup incomplete: ${errors.join('; ')}`);
  }
}
