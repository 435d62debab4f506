/**
 * Describes the machine a benchmark ran on, so numbers in the results file can be judged: CPU
 * count and model, memory, Node version, load average (other work on the box skews results)
 * and the fsync latency of the temp filesystem (it bounds sqlite's durable write rate).
 */
import { closeSync, fdatasyncSync, mkdtempSync, openSync, readFileSync, rmSync, writeSync } from 'node:fs';
import { availableParallelism, loadavg, release, tmpdir, totalmem } from 'node:os';
import { join } from 'node:path';
import { percentile } from './stats.js';

export interface Machine {
  nproc: number;
  cpuModel: string;
  memoryGiB: number;
  node: string;
  kernel: string;
  date: string;
  loadavg: number[];
  fsync: { p50: number; p99: number };
}

/** Times `n` 4 KiB write+fdatasync pairs on a file in the temp dir (where the benchmarks keep their data dirs). */
export function fsyncProbe(n = 200): { p50: number; p99: number } {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-fsync-'));
  const fd = openSync(join(dir, 'probe'), 'w');
  const buf = Buffer.alloc(4096, 1);
  const t: number[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const s = performance.now();
      writeSync(fd, buf);
      fdatasyncSync(fd);
      t.push(performance.now() - s);
    }
  } finally {
    closeSync(fd);
    rmSync(dir, { recursive: true, force: true });
  }
  t.sort((a, b) => a - b);
  return { p50: percentile(t, 50), p99: percentile(t, 99) };
}

export function describeMachine(): Machine {
  let cpuModel = 'unknown';
  try {
    cpuModel = /^model name\s*:\s*(.+)$/m.exec(readFileSync('/proc/cpuinfo', 'utf8'))?.[1]?.trim() ?? cpuModel;
  } catch {
    // not Linux: leave unknown
  }
  return {
    nproc: availableParallelism(),
    cpuModel,
    memoryGiB: totalmem() / 1024 ** 3,
    node: process.version,
    kernel: release(),
    date: new Date().toISOString(),
    loadavg: loadavg(),
    fsync: fsyncProbe(),
  };
}

/** One markdown line per fact. */
export function machineMarkdown(m: Machine, loadAfter?: number[]): string {
  const la = (l: number[]): string => l.map((v) => v.toFixed(2)).join(' / ');
  const lines = [
    `- CPUs (nproc): ${m.nproc} × ${m.cpuModel}`,
    `- Memory: ${m.memoryGiB.toFixed(1)} GiB`,
    `- Node ${m.node}, Linux ${m.kernel}`,
    `- Date: ${m.date}`,
    `- fdatasync of a 4 KiB write in ${tmpdir()}: p50 ${m.fsync.p50.toFixed(2)} ms, p99 ${m.fsync.p99.toFixed(2)} ms`,
    `- Load average (1/5/15 min) at start: ${la(m.loadavg)}${loadAfter ? `; at end: ${la(loadAfter)}` : ''}`,
  ];
  return lines.join('\n');
}
