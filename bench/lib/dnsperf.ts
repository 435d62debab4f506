/**
 * dnsperf and unbound plumbing for bench/dns.ts: run dnsperf against a server and parse its
 * report (with the server's CPU time sampled around the run), and an unbound (one thread)
 * configured as the same-run reference.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { procCpuMs } from './server.js';
import { sleep } from './result.js';
import { summarize } from './stats.js';

export function sh(argv: string[], timeoutMs = 30_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

export async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 200): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

export interface Perf {
  qps: number;
  sent: number;
  completed: number;
  lost: number;
  rcodes: string;
  runS: number;
  avgMs: number;
  maxMs: number;
  stddevMs: number;
  /** Server CPU seconds during the run, and cores = that / run time. */
  serverCpuS: number;
  cores: number;
  perCore: number;
  dnsperfCores: number;
  /** From `-v` runs only. */
  p50?: number;
  p99?: number;
  p999?: number;
}

export interface Target {
  label: string;
  host: string;
  port: number;
  pid: number;
}

/**
 * One dnsperf run. With `verbose`, every query's latency line is parsed for percentiles. The
 * server's CPU is read before and after; dnsperf's own is sampled while it runs (the last sample
 * before it exits, so it slightly undercounts).
 */
export async function dnsperf(t: Target, file: string, o: { seconds: number; clients: number; outstanding: number; qps?: number; verbose?: boolean; passes?: number }): Promise<Perf> {
  const argv = ['-s', t.host, '-p', String(t.port), '-d', file, '-c', String(o.clients), '-q', String(o.outstanding), '-t', '2'];
  if (o.passes) argv.push('-n', String(o.passes));
  else argv.push('-l', String(o.seconds));
  if (o.qps) argv.push('-Q', String(o.qps));
  if (o.verbose) argv.push('-v');
  const cpu0 = procCpuMs(t.pid);
  const child: ChildProcess = spawn('dnsperf', argv, { stdio: ['ignore', 'pipe', 'pipe'] });
  let perfCpu = 0;
  const sampler = setInterval(() => {
    try {
      perfCpu = procCpuMs(child.pid!);
    } catch {
      // exited
    }
  }, 100);
  const lat: number[] = [];
  let summary = '';
  let rest = '';
  child.stdout!.setEncoding('utf8');
  child.stdout!.on('data', (d: string) => {
    rest += d;
    let i: number;
    while ((i = rest.indexOf('\n')) >= 0) {
      const line = rest.slice(0, i);
      rest = rest.slice(i + 1);
      if (line.startsWith('> ')) {
        const v = Number(line.slice(line.lastIndexOf(' ') + 1));
        if (Number.isFinite(v)) lat.push(v * 1000);
      } else summary += `${line}\n`;
    }
  });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  clearInterval(sampler);
  const cpu1 = procCpuMs(t.pid);
  summary += rest;
  if (code !== 0) throw new Error(`dnsperf ${argv.join(' ')} exited ${code}: ${stderr.slice(-500)}${summary.slice(-500)}`);
  const num = (re: RegExp): number => Number(re.exec(summary)?.[1] ?? NaN);
  const runS = num(/Run time \(s\):\s+([\d.]+)/);
  const qps = num(/Queries per second:\s+([\d.]+)/);
  const serverCpuS = (cpu1 - cpu0) / 1000;
  const cores = serverCpuS / runS;
  const s = lat.length ? summarize(lat) : undefined;
  const sorted = lat.length ? Float64Array.from(lat).sort() : undefined;
  return {
    qps,
    sent: num(/Queries sent:\s+(\d+)/),
    completed: num(/Queries completed:\s+(\d+)/),
    lost: num(/Queries lost:\s+(\d+)/),
    rcodes: /Response codes:\s+(.+)/.exec(summary)?.[1]?.trim() ?? '',
    runS,
    avgMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    maxMs: num(/Average Latency \(s\):.*max ([\d.]+)\)/) * 1000,
    stddevMs: num(/Latency StdDev \(s\):\s+([\d.]+)/) * 1000,
    serverCpuS,
    cores,
    perCore: qps / cores,
    dnsperfCores: perfCpu / 1000 / runS,
    ...(s && sorted ? { p50: s.p50, p99: s.p99, p999: sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.999) - 1)] } : {}),
  };
}

// ---------------------------------------------------------------- unbound

/** unbound.conf: one thread, `domain` a static local zone holding `records` (name → addresses), example.test. forwarded. */
export function unboundConfig(dir: string, o: { port: number; upstreamPort: number; domain: string; records: [string, string[]][] }): string {
  const { port, upstreamPort } = o;
  const lines = [
    'server:', '  num-threads: 1', '  interface: 127.0.0.1', `  port: ${port}`, '  do-daemonize: no', '  chroot: ""', '  username: ""',
    `  directory: "${dir}"`, '  pidfile: ""', '  use-syslog: no', '  logfile: ""', '  verbosity: 0', '  do-ip6: no',
    '  module-config: "iterator"', '  do-not-query-localhost: no', '  access-control: 127.0.0.0/8 allow',
    // Same caching policy as ours (CoreDNS `cache 30`): TTLs capped at 30 s.
    '  cache-max-ttl: 30', '  prefetch: no', `  local-zone: "${o.domain}." static`,
    // unbound serves RFC 6761's test. itself (NXDOMAIN) unless told not to.
    '  local-zone: "test." nodefault',
  ];
  for (const [name, addrs] of o.records) for (const a of addrs) lines.push(`  local-data: "${name} 30 IN A ${a}"`);
  lines.push('remote-control:', '  control-enable: no', 'forward-zone:', '  name: "example.test."', `  forward-addr: 127.0.0.1@${upstreamPort}`, '');
  return lines.join('\n');
}

/** Starts unbound in the foreground and waits until `answers()` says it serves. */
export async function startUnbound(conf: string, answers: () => Promise<boolean>): Promise<{ child: ChildProcess; stop(): Promise<void> }> {
  const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 3000);
      await exited;
      clearTimeout(t);
    }
  };
  try {
    await until('unbound to answer', async () => {
      if (child.exitCode !== null) throw new Error(`unbound exited ${child.exitCode}: ${err}`);
      return (await answers()) ? true : undefined;
    }, 15_000, 200);
  } catch (e) {
    await stop();
    throw e;
  }
  return { child, stop };
}

// ---------------------------------------------------------------- zone memory (child process)

