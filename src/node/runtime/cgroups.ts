/**
 * Per-container cgroups for the isolated process runtime.
 *
 * Layout: `<agent's own cgroup>/kubelite/<sandboxId>/<containerId>` in each hierarchy we use, so
 * the agent never needs a system-wide slice and everything it creates sits under its own cgroup.
 * v1 (separate memory and cpu hierarchies) is used when the memory controller is mounted as v1;
 * otherwise v2 (one unified hierarchy) when its `cgroup.controllers` offers memory.
 *
 * The decisions (which dirs, which file gets which value, how to read the OOM counter) are pure
 * functions with table tests; the small apply/remove/read functions below them touch /sys.
 * v2 caveat: enabling controllers in `cgroup.subtree_control` of the agent's own cgroup fails if
 * that cgroup itself holds processes ("no internal processes"); we try and report limits as
 * best-effort then (this machine is v1, where that rule does not exist).
 */
import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ContainerResources } from './cri.js';

export type CgroupBase =
  | { version: 1; memory?: string; cpu?: string }
  | { version: 2; dir: string };

interface MountRow {
  mountPoint: string;
  root: string;
  fstype: string;
  superOptions: string[];
}

function parseMountinfo(text: string): MountRow[] {
  const rows: MountRow[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const [pre, post] = line.split(' - ');
    if (!pre || !post) continue;
    const f = pre.split(' ');
    const g = post.split(' ');
    rows.push({ root: unescapeMount(f[3] ?? ''), mountPoint: unescapeMount(f[4] ?? ''), fstype: g[0] ?? '', superOptions: (g[2] ?? '').split(',') });
  }
  return rows;
}

function unescapeMount(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Joins a hierarchy's mount with a cgroup path, honouring a mount whose root is not `/`. */
function underMount(m: MountRow, cgPath: string): string {
  let rel = cgPath;
  if (m.root !== '/' && (rel === m.root || rel.startsWith(m.root + '/'))) rel = rel.slice(m.root.length);
  const out = join(m.mountPoint, rel);
  return out.length > 1 ? out.replace(/\/+$/, '') : out;
}

/**
 * Pure: the agent's own cgroup directories from /proc/self/cgroup and /proc/self/mountinfo.
 * `v2HasMemory` says whether the unified hierarchy offers the memory controller.
 */
export function detectCgroupBase(procSelfCgroup: string, mountinfo: string, v2HasMemory: boolean): CgroupBase | undefined {
  const mounts = parseMountinfo(mountinfo);
  const paths = new Map<string, string>();
  let unified: string | undefined;
  for (const line of procSelfCgroup.split('\n')) {
    const m = /^(\d+):([^:]*):(.*)$/.exec(line.trim());
    if (!m) continue;
    if (m[2] === '') unified = m[3];
    for (const c of m[2]!.split(',')) if (c) paths.set(c, m[3]!);
  }
  const v1 = (controller: string): string | undefined => {
    const p = paths.get(controller);
    const mnt = mounts.find((r) => r.fstype === 'cgroup' && r.superOptions.includes(controller));
    return p !== undefined && mnt ? underMount(mnt, p) : undefined;
  };
  const memory = v1('memory');
  if (memory) return { version: 1, memory, cpu: v1('cpu') };
  const m2 = mounts.find((r) => r.fstype === 'cgroup2');
  if (unified !== undefined && m2 && v2HasMemory) return { version: 2, dir: underMount(m2, unified) };
  return undefined;
}

/** Reads the live system and detects the base (undefined: no usable cgroups). */
export function detectSystemCgroups(): CgroupBase | undefined {
  try {
    const cg = readFileSync('/proc/self/cgroup', 'utf8');
    const mi = readFileSync('/proc/self/mountinfo', 'utf8');
    const base0 = detectCgroupBase(cg, mi, false);
    if (base0) return base0;
    const probe = detectCgroupBase(cg, mi, true);
    if (probe?.version === 2) {
      const ctrls = readFileSync(join(probe.dir, 'cgroup.controllers'), 'utf8').split(/\s+/);
      return ctrls.includes('memory') ? probe : undefined;
    }
  } catch {
    // Not Linux or no /proc: no cgroups.
  }
  return undefined;
}

/** Pure: the directories (one per hierarchy) for a sandbox, or a container when `containerId` is given. */
export function cgroupDirs(base: CgroupBase, sandboxId: string, containerId?: string): string[] {
  const tail = containerId ? ['kubelite', sandboxId, containerId] : ['kubelite', sandboxId];
  if (base.version === 2) return [join(base.dir, ...tail)];
  return [base.memory, base.cpu].filter((d): d is string => !!d).map((d) => join(d, ...tail));
}

export interface CgroupWrite {
  /** Which hierarchy's dir ('memory'/'cpu' for v1; 'unified' for v2). */
  hierarchy: 'memory' | 'cpu' | 'unified';
  file: string;
  value: string;
  /** Optional writes (e.g. memsw, which needs swap accounting) may fail without failing the start. */
  optional?: boolean;
}

/** The kubelet's MilliCPUToShares: 1024 shares per CPU, at least 2. */
export function milliCpuToShares(milli: number): number {
  return Math.max(2, Math.floor((milli * 1024) / 1000));
}

/** The kubelet's shares → cgroup v2 cpu.weight conversion (1..10000). */
export function sharesToWeight(shares: number): number {
  return 1 + Math.floor(((shares - 2) * 9999) / 262142);
}

export const CFS_PERIOD_US = 100_000;

/** Pure: the files to write for the given resources, in order. */
export function cgroupWrites(version: 1 | 2, r: ContainerResources | undefined): CgroupWrite[] {
  const out: CgroupWrite[] = [];
  if (!r) return out;
  const quota = r.cpuLimitMillis !== undefined ? Math.max(1000, Math.floor((r.cpuLimitMillis * CFS_PERIOD_US) / 1000)) : undefined;
  const shares = r.cpuRequestMillis !== undefined ? milliCpuToShares(r.cpuRequestMillis) : undefined;
  if (version === 1) {
    if (r.memoryLimitBytes !== undefined) {
      out.push({ hierarchy: 'memory', file: 'memory.limit_in_bytes', value: String(r.memoryLimitBytes) });
      // Without swap the OOM killer fires at the limit instead of the process swapping.
      out.push({ hierarchy: 'memory', file: 'memory.memsw.limit_in_bytes', value: String(r.memoryLimitBytes), optional: true });
      out.push({ hierarchy: 'memory', file: 'memory.swappiness', value: '0', optional: true });
    }
    if (quota !== undefined) {
      out.push({ hierarchy: 'cpu', file: 'cpu.cfs_period_us', value: String(CFS_PERIOD_US) });
      out.push({ hierarchy: 'cpu', file: 'cpu.cfs_quota_us', value: String(quota) });
    }
    if (shares !== undefined) out.push({ hierarchy: 'cpu', file: 'cpu.shares', value: String(shares) });
  } else {
    if (r.memoryLimitBytes !== undefined) {
      out.push({ hierarchy: 'unified', file: 'memory.max', value: String(r.memoryLimitBytes) });
      out.push({ hierarchy: 'unified', file: 'memory.swap.max', value: '0', optional: true });
    }
    if (quota !== undefined) out.push({ hierarchy: 'unified', file: 'cpu.max', value: `${quota} ${CFS_PERIOD_US}` });
    if (shares !== undefined) out.push({ hierarchy: 'unified', file: 'cpu.weight', value: String(sharesToWeight(shares)) });
  }
  return out;
}

/** Pure: the `oom_kill N` counter from memory.oom_control (v1) or memory.events (v2); 0 if absent. */
export function parseOomKills(text: string): number {
  const m = /^oom_kill (\d+)$/m.exec(text);
  return m ? Number(m[1]) : 0;
}

function hierarchyDir(base: CgroupBase, dirs: string[], h: CgroupWrite['hierarchy']): string | undefined {
  if (base.version === 2) return dirs[0];
  const root = h === 'memory' ? base.memory : base.cpu;
  return root ? dirs.find((d) => d.startsWith(root + '/')) : undefined;
}

/**
 * Creates a container's cgroup dirs and writes its limits. Throws if a required write fails (the
 * container must not run unlimited when a limit was asked for).
 */
export function createContainerCgroup(base: CgroupBase, dirs: string[], r: ContainerResources | undefined): void {
  if (base.version === 2) {
    // Enable memory+cpu down the path: own → kubelite → sandbox (best effort, see the file comment).
    const rel = dirs[0]!.slice(base.dir.length).split('/').filter(Boolean);
    let cur = base.dir;
    for (const seg of rel) {
      try {
        writeFileSync(join(cur, 'cgroup.subtree_control'), '+memory +cpu');
      } catch {
        // see file comment
      }
      cur = join(cur, seg);
      mkdirSync(cur, { recursive: true });
    }
  }
  for (const d of dirs) mkdirSync(d, { recursive: true });
  for (const w of cgroupWrites(base.version, r)) {
    const d = hierarchyDir(base, dirs, w.hierarchy);
    if (!d) continue;
    try {
      writeFileSync(join(d, w.file), w.value);
    } catch (err) {
      if (!w.optional) throw new Error(`cgroup: writing ${w.value} to ${join(d, w.file)}: ${(err as Error).message}`);
    }
  }
}

/** The container's OOM-kill count so far (0 when unreadable). */
export function readOomKills(base: CgroupBase, dirs: string[]): number {
  const d = base.version === 2 ? dirs[0] : hierarchyDir(base, dirs, 'memory');
  if (!d) return 0;
  try {
    return parseOomKills(readFileSync(join(d, base.version === 2 ? 'memory.events' : 'memory.oom_control'), 'utf8'));
  } catch {
    return 0;
  }
}

/**
 * SIGKILLs every process in the given cgroups: when a container's main process exits, the rest of
 * the container goes with it (as when a pid namespace's init dies), even processes that left its
 * process group.
 */
export function killCgroupProcs(dirs: string[]): void {
  for (const d of dirs) {
    let pids: string[] = [];
    try {
      pids = readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean);
    } catch {
      continue;
    }
    for (const pid of pids) {
      try {
        process.kill(Number(pid), 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
}

/**
 * Removes cgroup dirs (deepest first), SIGKILLing any process still inside; ignores missing dirs.
 * A v1/v2 cgroup can only be removed once empty, so leftovers are killed and the rmdir retried briefly.
 */
export async function removeCgroupDirs(dirs: string[]): Promise<void> {
  const sorted = [...dirs].sort((a, b) => b.length - a.length);
  for (const d of sorted) {
    for (let i = 0; i < 50 && existsSync(d); i++) {
      try {
        for (const pid of readFileSync(join(d, 'cgroup.procs'), 'utf8').split('\n').filter(Boolean)) {
          try {
            process.kill(Number(pid), 'SIGKILL');
          } catch {
            // already gone
          }
        }
        rmdirSync(d);
      } catch {
        await new Promise((r) => setTimeout(r, 20));
      }
    }
  }
}

/**
 * Mounts the v1 memory and cpu hierarchies at /sys/fs/cgroup/{memory,cpu} when /proc/self/cgroup
 * lists them but this mount namespace does not show them (e.g. inside `ip netns exec`, which
 * mounts a fresh /sys). Returns what it mounted. Only call it in a private mount namespace.
 */
export function mountCgroupsIfMissing(run: (argv: string[]) => void): string[] {
  const mountinfo = readFileSync('/proc/self/mountinfo', 'utf8');
  const cg = readFileSync('/proc/self/cgroup', 'utf8');
  if (detectCgroupBase(cg, mountinfo, false)) return [];
  const wanted = ['memory', 'cpu'].filter((c) => new RegExp(`^\\d+:([^:]*,)?${c}(,[^:]*)?:`, 'm').test(cg));
  if (!wanted.length) return [];
  const done: string[] = [];
  if (!/ \/sys\/fs\/cgroup /.test(mountinfo)) {
    run(['mount', '-t', 'tmpfs', '-o', 'mode=755', 'cgroup_root', '/sys/fs/cgroup']);
    done.push('/sys/fs/cgroup');
  }
  for (const c of wanted) {
    const dir = `/sys/fs/cgroup/${c}`;
    mkdirSync(dir, { recursive: true });
    run(['mount', '-t', 'cgroup', '-o', c, 'cgroup', dir]);
    done.push(dir);
  }
  return done;
}
