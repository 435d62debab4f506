/**
 * Process-level helpers of the process runtime: exit codes, process groups, /proc liveness checks
 * (pid AND start time, so a reused pid is never mistaken for our container) and exec sessions.
 */
import type { ChildProcess } from 'node:child_process';
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { constants as osConstants } from 'node:os';
import { PassThrough, type Readable } from 'node:stream';
import type { ExecSession } from './cri.js';

/** Exit code as a container runtime reports it: the code, or 128 + signal number for a signal death. */
export function exitCodeOf(code: number | null, signal: NodeJS.Signals | null): number {
  if (code !== null) return code;
  const n = signal ? (osConstants.signals as Record<string, number>)[signal] : undefined;
  return 128 + (n ?? 0);
}


/** Pure: field 22 (starttime, clock ticks since boot) of a /proc/<pid>/stat line, plus the state letter. */
export function parseProcStat(text: string): { state: string; startTime: string } | undefined {
  const close = text.lastIndexOf(')');
  if (close < 0) return undefined;
  const f = text.slice(close + 2).split(' '); // f[0] is field 3 (state)
  const startTime = f[19];
  return f[0] && startTime ? { state: f[0], startTime } : undefined;
}

export function procStat(pid: number): { state: string; startTime: string } | undefined {
  try {
    return parseProcStat(readFileSync(`/proc/${pid}/stat`, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Alive = /proc/<pid> exists, is not a zombie, and started when we recorded (no pid reuse). */
export function isAlive(pid: number, startTime: string | undefined): boolean {
  const st = procStat(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return false;
  return startTime === undefined || st.startTime === startTime;
}

export function killGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // ESRCH: group already gone.
  }
}

/**
 * Wraps a spawned exec process as an ExecSession. With a tty, stdout and stderr (the `script`
 * wrapper's own diagnostics) are merged into one stream, and resize is best-effort (see resizePty).
 */
export function sessionFromChild(child: ChildProcess, io: { tty: boolean; stdin: boolean }): ExecSession {
  const pid = child.pid!;
  let stdout: Readable = child.stdout!;
  if (io.tty) {
    const merged = new PassThrough();
    let open = 2;
    for (const s of [child.stdout!, child.stderr!]) {
      s.pipe(merged, { end: false });
      s.once('end', () => --open === 0 && merged.end());
    }
    stdout = merged;
  }
  const exited = new Promise<number>((resolve) => {
    child.once('close', (code, signal) => {
      killGroup(pid, 'SIGKILL');
      resolve(exitCodeOf(code, signal));
    });
  });
  return {
    stdin: io.stdin ? child.stdin! : undefined,
    stdout,
    stderr: io.tty ? undefined : child.stderr!,
    resize: (size) => {
      if (io.tty) void resizePty(pid, size);
    },
    exited,
    kill: () => killGroup(pid, 'SIGKILL'),
  };
}

/** Best-effort pty resize: finds the process on the pty `script` created and runs stty on its fd 0. */
async function resizePty(scriptPid: number, size: { width: number; height: number }): Promise<void> {
  for (let i = 0; i < 20; i++) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${scriptPid}/task/${scriptPid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      return; // gone
    }
    if (kids.length && existsSync(`/proc/${kids[0]}/fd/0`)) {
      const p = spawn('stty', ['-F', `/proc/${kids[0]}/fd/0`, 'rows', String(size.height), 'cols', String(size.width)], { stdio: 'ignore' });
      p.on('error', () => undefined);
      return;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
}

