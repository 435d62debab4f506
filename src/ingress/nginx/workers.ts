/**
 * Which nginx worker processes still accept connections, read from /proc (Linux).
 *
 * Why: on SIGHUP the nginx master starts new workers, sleeps ~100 ms, and only then asks the old
 * ones to shut down; each old worker closes its listening sockets when it handles that request.
 * Until then old workers keep accepting new connections and answer them with the OLD
 * configuration (seen end to end as a host just added answering 404 right after it had answered
 * 200, or a canary test getting the previous routing). A reload has taken effect for new
 * connections only once every worker of the previous generation has retired. nginx retitles a
 * retiring worker "worker process is shutting down" right before it closes its listening sockets
 * (same event-loop turn, no I/O in between).
 */
import { readdirSync, readFileSync } from 'node:fs';

/** The child processes of `pid` (nginx's workers, cache manager, retiring workers). */
export function childPids(pid: number): number[] {
  const out = new Set<number>();
  try {
    for (const task of readdirSync(`/proc/${pid}/task`)) {
      for (const c of readFileSync(`/proc/${pid}/task/${task}/children`, 'utf8').trim().split(/\s+/)) if (c) out.add(Number(c));
    }
    return [...out];
  } catch {
    // No /proc/<pid>/task/*/children (CONFIG_PROC_CHILDREN off): scan every process's parent.
  }
  for (const d of safeReaddir('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const st = statFields(Number(d));
    if (st && st.ppid === pid) out.add(Number(d));
  }
  return [...out];
}

/** Whether `pid` no longer accepts connections: gone, a zombie, or retitled as shutting down. */
export function retired(pid: number): boolean {
  const st = statFields(pid);
  if (!st || st.state === 'Z' || st.state === 'X') return true;
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('shutting down');
  } catch {
    return true;
  }
}

function statFields(pid: number): { state: string; ppid: number } | undefined {
  try {
    const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // `pid (comm) state ppid ...`: comm may contain spaces and parentheses; split after the last ')'.
    const rest = text.slice(text.lastIndexOf(')') + 2).split(' ');
    return { state: rest[0] ?? '', ppid: Number(rest[1]) };
  } catch {
    return undefined;
  }
}

function safeReaddir(dir: string): string[] {
  try {
    return readdirSync(dir);
  } catch {
    return [];
  }
}
