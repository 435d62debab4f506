/**
 * Pod startup (issue 5): `kubelite up --pod-network netns` runs pods as real processes, each in
 * its own network namespace. We create 100 pods (built-in image `kubelite/demo-web:1`, one
 * container, no probes) and time each from the moment its POST is sent to the moment a pods
 * watch shows Ready=True — (a) paced, one every 100 ms (open loop, 10 pods/s) and (b) all 100
 * at once as fast as the API takes them. Then, with 100 pods running, the server process's
 * (API server + agent: one process) CPU and RSS over 20 s idle, and the container processes'
 * RSS. Finally the time to delete 100 pods until the API no longer has them. Target: p99 < 1 s.
 *
 * It needs root and a throwaway network namespace: outside one, `run()` re-runs this file under
 * `<repo>/../shared/tools/netns-sandbox` (which deletes every pod namespace afterwards) and reads
 * the BenchResult it prints as JSON; without root or the sandbox tool it reports a skip.
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { Client, ensureNamespace } from './lib/client.js';
import { ensureBuilt, procStatus, ROOT, startServer, type ServerProcess } from './lib/server.js';
import { mib, ms, percentile, summarize, table } from './lib/stats.js';
import { isMain, runStandalone, sleep, type Bench, type BenchResult } from './lib/result.js';

// Overridable for profiling runs only (e.g. BENCH_PODS=10 BENCH_PODS_RATE=1 for the unloaded floor).
const PODS = Number(process.env.BENCH_PODS ?? 100);
const RATE = Number(process.env.BENCH_PODS_RATE ?? 10);
const IDLE_MS = 20_000;
const TARGET_P99_MS = 1000;
// BENCH_PODS_IMAGE=busybox:1 (runs `sleep 3600`, ~no start-up CPU) separates the agent's cost from the container's.
const IMAGE = process.env.BENCH_PODS_IMAGE ?? 'kubelite/demo-web:1';
const TITLE = 'Pod startup (node agent, netns pods)';
const SANDBOX = resolve(ROOT, '..', 'shared', 'tools', 'netns-sandbox');

interface PodEvent {
  type: string;
  object: {
    metadata: { name: string };
    spec?: { nodeName?: string };
    status?: {
      podIP?: string;
      conditions?: { type: string; status: string }[];
      containerStatuses?: { state?: { running?: unknown } }[];
    };
  };
}

/** When the watch first showed each step of one pod's start, relative to its POST being sent. */
interface PodTimes {
  sent: number;
  created?: number;
  bound?: number;
  podIP?: number;
  running?: number;
  ready?: number;
  deleted?: number;
}

/** Follows one namespace's pods through a watch and records, per pod, when each step appeared. */
class PodTracker {
  readonly pods = new Map<string, PodTimes>();
  private stream?: { close(): void };

  constructor(private readonly client: Client, private readonly ns: string) {}

  async start(): Promise<void> {
    const list = await this.client.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${this.ns}/pods`);
    this.stream = await this.client.stream(
      `/api/v1/namespaces/${this.ns}/pods?watch=true&resourceVersion=${list.metadata.resourceVersion}&allowWatchBookmarks=false`,
      (line, at) => this.onEvent(JSON.parse(line) as PodEvent, at),
    );
  }

  /** Marks `name` as sent now; call right before issuing its POST. */
  sent(name: string): void {
    this.pods.set(name, { sent: performance.now() });
  }

  private onEvent(ev: PodEvent, at: number): void {
    const t = this.pods.get(ev.object.metadata.name);
    if (!t) return;
    if (ev.type === 'DELETED') {
      t.deleted ??= at;
      return;
    }
    const st = ev.object.status;
    t.created ??= at;
    if (ev.object.spec?.nodeName) t.bound ??= at;
    if (st?.podIP) t.podIP ??= at;
    if (st?.containerStatuses?.length && st.containerStatuses.every((c) => c.state?.running)) t.running ??= at;
    if (st?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) t.ready ??= at;
  }

  count(step: keyof PodTimes): number {
    let n = 0;
    for (const t of this.pods.values()) if (t[step] !== undefined) n++;
    return n;
  }

  /** Per-pod durations from `from` to `to` (only pods that reached both). */
  durations(from: keyof PodTimes, to: keyof PodTimes): number[] {
    const out: number[] = [];
    for (const t of this.pods.values()) if (t[from] !== undefined && t[to] !== undefined) out.push(t[to]! - t[from]!);
    return out;
  }

  close(): void {
    this.stream?.close();
  }
}

function podBody(name: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: { app: 'bench-pods' } },
    spec: {
      terminationGracePeriodSeconds: 5,
      containers: [
        {
          name: 'web',
          image: IMAGE,
          ...(IMAGE.includes('demo-web') ? {} : { command: ['sleep', '3600'] }),
          resources: { requests: { cpu: '5m', memory: '16Mi' } },
        },
      ],
    },
  };
}

async function waitFor(what: string, fn: () => boolean, timeoutMs: number): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(10);
  }
}

async function waitNodeReady(client: Client): Promise<void> {
  const end = Date.now() + 30_000;
  for (;;) {
    const list = await client.json<{ items: { status?: { conditions?: { type: string; status: string }[] } }[] }>('GET', '/api/v1/nodes');
    if (list.items.some((n) => n.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True'))) return;
    if (Date.now() > end) throw new Error('no Ready node within 30 s');
    await sleep(100);
  }
}

interface Phase {
  tracker: PodTracker;
  /** Wall time from the first POST to the last pod Ready. */
  wallMs: number;
  /** Server-process CPU used from the first POST to the last Ready, ms. */
  cpuMs: number;
  /** Whole machine (all CPUs) busy share over the same span, %. */
  machineBusy: number;
}

/** Creates PODS pods in `ns`, paced at RATE/s when `paced`, else all at once; waits for all Ready. */
async function createPods(client: Client, server: ServerProcess, ns: string, paced: boolean): Promise<Phase> {
  await ensureNamespace(client, ns);
  const tracker = new PodTracker(client, ns);
  await tracker.start();
  const cpu0 = server.cpuMs();
  const m0 = machineCpu();
  const t0 = performance.now();
  const posts: Promise<unknown>[] = [];
  for (let i = 0; i < PODS; i++) {
    if (paced) {
      const wait = t0 + (i * 1000) / RATE - performance.now();
      if (wait > 0) await sleep(wait);
    }
    const name = `p-${i}`;
    tracker.sent(name);
    posts.push(client.json('POST', `/api/v1/namespaces/${ns}/pods`, podBody(name)));
  }
  await Promise.all(posts);
  await waitFor(`${PODS} pods Ready in ${ns}`, () => tracker.count('ready') >= PODS, 120_000);
  const last = Math.max(...[...tracker.pods.values()].map((t) => t.ready!));
  return { tracker, wallMs: last - t0, cpuMs: server.cpuMs() - cpu0, machineBusy: busyPct(m0, machineCpu()) };
}

/** Deletes every tracked pod at once; returns ms from the first DELETE to the last DELETED event. */
async function deletePods(client: Client, tracker: PodTracker, ns: string): Promise<number> {
  const t0 = performance.now();
  await Promise.all([...tracker.pods.keys()].map((name) => client.json('DELETE', `/api/v1/namespaces/${ns}/pods/${name}`)));
  await waitFor(`${PODS} pods gone from ${ns}`, () => tracker.count('deleted') >= PODS, 120_000);
  return Math.max(...[...tracker.pods.values()].map((t) => t.deleted!)) - t0;
}

/** Pod network namespaces of this run (the CLI names them `$SANDBOX_NETNS-p*`). */
function podNamespaces(): string[] {
  const prefix = `${process.env.SANDBOX_NETNS}-p`;
  const r = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  return r.stdout
    .split('\n')
    .map((l) => l.split(' ')[0])
    .filter((n) => n.startsWith(prefix));
}

/** Processes inside the pod namespaces and their summed RSS (bytes), grouped by command name. */
function containerProcesses(): { namespaces: number; procs: number; rss: number; byComm: Map<string, { n: number; rss: number }> } {
  const nss = podNamespaces();
  const byComm = new Map<string, { n: number; rss: number }>();
  let procs = 0;
  let rss = 0;
  for (const ns of nss) {
    const r = spawnSync('ip', ['netns', 'pids', ns], { encoding: 'utf8' });
    for (const pid of r.stdout.split(/\s+/).filter(Boolean).map(Number)) {
      try {
        const m = procStatus(pid).rss;
        const comm = readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
        if (!Number.isFinite(m)) continue; // kernel thread or exited
        procs++;
        rss += m;
        const c = byComm.get(comm) ?? { n: 0, rss: 0 };
        c.n++;
        c.rss += m;
        byComm.set(comm, c);
      } catch {
        // exited between listing and reading
      }
    }
  }
  return { namespaces: nss.length, procs, rss, byComm };
}

/** Whole-machine CPU counters from /proc/stat (jiffies): busy and total, all CPUs. */
function machineCpu(): { busy: number; total: number } {
  const f = readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - f[3]! - (f[4] ?? 0), total };
}

/** Share of all CPUs busy between two machineCpu() readings, in %. */
function busyPct(a: { busy: number; total: number }, b: { busy: number; total: number }): number {
  return ((b.busy - a.busy) / (b.total - a.total)) * 100;
}

const STEPS: [keyof PodTimes, keyof PodTimes, string][] = [
  ['sent', 'created', 'POST sent → pod in watch'],
  ['created', 'bound', '→ bound to the node (scheduler)'],
  ['bound', 'podIP', '→ podIP in status (agent: netns + network)'],
  ['podIP', 'running', '→ container running in status'],
  ['running', 'ready', '→ Ready=True'],
  ['sent', 'ready', '**create → Ready (total)**'],
];

/** Median create → Ready of each consecutive tenth of the pods, in creation order: shows a backlog building. */
function byTenth(t: PodTracker): string {
  const all = [...t.pods.values()].map((p) => (p.ready === undefined ? NaN : p.ready - p.sent));
  const size = Math.max(1, Math.ceil(all.length / 10));
  const out: string[] = [];
  for (let i = 0; i < all.length; i += size) out.push(ms(summarize(all.slice(i, i + size).filter(Number.isFinite)).p50));
  return out.join(', ');
}

function phaseRows(label: string, p: Phase): string[][] {
  return STEPS.map(([from, to, step]) => {
    const d = p.tracker.durations(from, to);
    const s = summarize(d);
    return [label, step, String(s.n), ms(s.p50), ms(percentile([...d].sort((a, b) => a - b), 90)), ms(s.p99), ms(s.max)];
  });
}

/** The benchmark proper; must run as root inside netns-sandbox. */
async function inside(log: (s: string) => void): Promise<BenchResult> {
  ensureBuilt({ log });
  // BENCH_PODS_CPU_PROF=dir writes a CPU profile of the server process there (on exit).
  const prof = process.env.BENCH_PODS_CPU_PROF;
  const server = await startServer('sqlite', { extraArgs: ['--pod-network', 'netns'], nodeArgs: prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [] });
  const client = new Client(server);
  const metrics: Record<string, number> = {};
  const trackers: PodTracker[] = [];
  try {
    await waitNodeReady(client);
    const idle0 = server.memory().rss;
    log(`pods: (a) ${PODS} pods at ${RATE}/s`);
    const seq = await createPods(client, server, 'bench-pods-seq', true);
    trackers.push(seq.tracker);
    log(`pods: (a) all Ready; deleting`);
    const seqDelete = await deletePods(client, seq.tracker, 'bench-pods-seq');
    await waitFor('pod namespaces of (a) removed', () => podNamespaces().length === 0, 60_000).catch(() => log('pods: warning: pod namespaces left after (a)'));
    await sleep(1000);
    log(`pods: (b) ${PODS} pods at once`);
    const burst = await createPods(client, server, 'bench-pods-burst', false);
    trackers.push(burst.tracker);
    log(`pods: (b) all Ready; ${IDLE_MS / 1000} s idle sample`);
    await sleep(2000);
    const cpu0 = server.cpuMs();
    const t0 = performance.now();
    await sleep(IDLE_MS);
    const idleCpu = ((server.cpuMs() - cpu0) / (performance.now() - t0)) * 100;
    const mem = server.memory();
    const ctr = containerProcesses();
    log(`pods: deleting ${PODS} pods`);
    const burstDelete = await deletePods(client, burst.tracker, 'bench-pods-burst');
    let nsLeft = NaN;
    const gone0 = performance.now();
    await waitFor('pod namespaces of (b) removed', () => podNamespaces().length === 0, 60_000).catch(() => undefined);
    const nsGoneMs = performance.now() - gone0 + burstDelete;
    nsLeft = podNamespaces().length;

    for (const [key, p] of [['seq', seq], ['burst', burst]] as const) {
      const d = p.tracker.durations('sent', 'ready').sort((a, b) => a - b);
      const s = summarize(d);
      metrics[`${key}.ready.p50`] = s.p50;
      metrics[`${key}.ready.p90`] = percentile(d, 90);
      metrics[`${key}.ready.p99`] = s.p99;
      metrics[`${key}.ready.max`] = s.max;
      metrics[`${key}.wall.ms`] = p.wallMs;
      metrics[`${key}.cpu.ms`] = p.cpuMs;
      metrics[`${key}.machineBusy.pct`] = p.machineBusy;
    }
    metrics['seq.delete.ms'] = seqDelete;
    metrics['burst.delete.ms'] = burstDelete;
    metrics['idle.cpu.pct'] = idleCpu;
    metrics['server.rss.before'] = idle0;
    metrics['server.rss'] = mem.rss;
    metrics['server.hwm'] = mem.hwm;
    metrics['containers.rss'] = ctr.rss;
    metrics['containers.rss.perPod'] = ctr.rss / PODS;
    metrics['containers.procs'] = ctr.procs;

    const stepRows = [...phaseRows(`(a) ${RATE}/s`, seq), ...phaseRows('(b) all at once', burst)];
    const comms = [...ctr.byComm].map(([c, v]) => `${v.n} × \`${c}\` ${mib(v.rss)} MiB`).join(', ');
    const markdown = [
      table(
        ['case', 'create → Ready p50 ms', 'p90 ms', 'p99 ms', 'max ms', 'first POST → last Ready', 'server CPU during', 'machine CPUs busy during', `delete ${PODS} → gone`, `p99 < ${TARGET_P99_MS / 1000} s`],
        [
          [`(a) ${PODS} pods, one every ${1000 / RATE} ms`, ms(metrics['seq.ready.p50']), ms(metrics['seq.ready.p90']), ms(metrics['seq.ready.p99']), ms(metrics['seq.ready.max']), `${ms(seq.wallMs)} ms`, `${ms(seq.cpuMs)} ms (${ms(seq.cpuMs / PODS)} ms/pod)`, `${seq.machineBusy.toFixed(0)}%`, `${ms(seqDelete)} ms`, metrics['seq.ready.p99'] < TARGET_P99_MS ? 'yes' : 'NO'],
          [`(b) ${PODS} pods at once`, ms(metrics['burst.ready.p50']), ms(metrics['burst.ready.p90']), ms(metrics['burst.ready.p99']), ms(metrics['burst.ready.max']), `${ms(burst.wallMs)} ms`, `${ms(burst.cpuMs)} ms (${ms(burst.cpuMs / PODS)} ms/pod)`, `${burst.machineBusy.toFixed(0)}%`, `${ms(burstDelete)} ms`, metrics['burst.ready.p99'] < TARGET_P99_MS ? 'yes' : 'NO'],
        ],
      ),
      '',
      table(
        [`with ${PODS} pods running`, 'value'],
        [
          ['server (API server + agent) CPU, 20 s idle', `${idleCpu.toFixed(1)}% of one core`],
          [`server RSS before pods → with ${PODS} pods (peak)`, `${mib(idle0)} → ${mib(mem.rss)} MiB (${mib(mem.hwm)} MiB)`],
          ['container processes (in pod netns)', `${ctr.procs} in ${ctr.namespaces} namespaces: ${comms || 'none'}`],
          ['container RSS total / per pod', `${mib(ctr.rss)} MiB / ${mib(ctr.rss / PODS)} MiB`],
          ['pod netns left after delete', `${nsLeft} (all gone ${ms(nsGoneMs)} ms after the first DELETE)`],
        ],
      ),
      '',
      `Median create → Ready per tenth of the pods in creation order (ms): (a) ${byTenth(seq.tracker)}; (b) ${byTenth(burst.tracker)}.`,
      '',
      'Where the time goes, per pod (each step timed as the pods watch first showed it, so a step that lands in the same status write as the previous one shows ~0):',
      '',
      table(['case', 'step', 'pods', 'p50 ms', 'p90 ms', 'p99 ms', 'max ms'], stepRows),
      '',
      `\`kubelite up --pod-network netns\` on sqlite (compiled dist/), run as root inside netns-sandbox; one node (this machine),` +
        ` scheduler and agent in the server process. Pods: image \`${IMAGE}\`${IMAGE.includes('demo-web') ? ' (a Node.js web server)' : ' running `sleep 3600`'}, one container, no probes,` +
        ` requests 5m CPU / 16Mi. Latency is from sending the pod's POST to the pods watch (same client) showing Ready=True.` +
        ` (a) opens one POST every ${1000 / RATE} ms regardless of replies; (b) sends all ${PODS} POSTs at once. Between (a) and (b)` +
        ` the pods are deleted. Server CPU and RSS are of the kubelite process (/proc); container RSS sums VmRSS of every process in` +
        ` the pods' network namespaces. Deletion: ${PODS} DELETEs at once (grace period 5 s; demo-web exits on SIGTERM) until the` +
        ` watch shows every pod DELETED.`,
    ].join('\n');
    return { title: TITLE, markdown, metrics };
  } finally {
    for (const t of trackers) t.close();
    client.close();
    await server.stop();
  }
}

function skipped(why: string): BenchResult {
  return { title: TITLE, markdown: `Skipped: ${why}.`, metrics: {} };
}

/** Re-runs this file inside netns-sandbox and returns the BenchResult it prints as JSON. */
async function inSandbox(log: (s: string) => void): Promise<BenchResult> {
  ensureBuilt({ log });
  const child = spawn(SANDBOX, [process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'pods.ts'), '--json'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(line);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`pods benchmark in netns-sandbox exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as BenchResult;
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  if (process.env.SANDBOX_NETNS) return inside(log);
  if (process.getuid?.() !== 0) return skipped('needs root (pods run in their own network namespaces)');
  if (!existsSync(SANDBOX)) return skipped(`needs ${SANDBOX} to run in a throwaway network namespace`);
  return inSandbox(log);
};

if (isMain(import.meta.url)) {
  if (process.argv.includes('--json')) {
    const log = (s: string): void => void process.stderr.write(`${s}\n`);
    run({ log }).then(
      (r) => {
        process.stdout.write(`${JSON.stringify(r)}\n`);
        process.exit(0);
      },
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  } else {
    runStandalone(run);
  }
}
