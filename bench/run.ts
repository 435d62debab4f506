/**
 * `npm run bench`: builds dist/, runs every API-server benchmark in sequence (each starts and
 * stops its own servers), and writes bench/results/apiserver.md with the machine described.
 *
 * Flags:
 *   --no-build        use the existing dist/ (built if missing) instead of rebuilding
 *   --only a,b        run a subset: startup, throughput, fixedrate, watch, rss, etcd, controllers, pods, proxy, dns, ingress, lint
 *   --readme          also replace the "## Benchmarks" section of README.md with the summary
 *   --out FILE        results file (default bench/results/apiserver.md)
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { ensureBuilt, ROOT } from './lib/server.js';
import { describeMachine, machineMarkdown, type Machine } from './lib/machine.js';
import { replaceSection } from './lib/readme.js';
import { int, mib, ms, ratio, table } from './lib/stats.js';
import type { Bench, BenchResult } from './lib/result.js';
import { run as startup } from './startup.js';
import { run as throughput } from './throughput.js';
import { run as fixedrate } from './fixedrate.js';
import { run as watch } from './watch.js';
import { run as rss } from './rss.js';
import { run as etcd } from './etcd.js';
import { run as controllers } from './controllers.js';
import { run as pods } from './pods.js';
import { run as proxy } from './proxy.js';
import { run as dns } from './dns.js';
import { run as ingress } from './ingress.js';
import { run as lint } from './lint.js';

const BENCHES: Record<string, Bench> = { startup, throughput, fixedrate, watch, rss, etcd, controllers, pods, proxy, dns, ingress, lint };

type Results = Partial<Record<keyof typeof BENCHES, BenchResult>>;

/** The README summary: headline numbers with targets and sqlite/memory ratios. */
export function summaryMarkdown(r: Results, machine: Machine, resultsPath: string): string {
  const rows: string[][] = [];
  const met = (ok: boolean): string => (ok ? 'met' : '**missed**');
  if (r.startup) {
    const m = r.startup.metrics;
    rows.push([
      'Start to ready, fresh data dir (p50 / max)',
      '< 1 s',
      `${ms(m['sqlite.fresh.readyLine.p50'])} / ${ms(m['sqlite.fresh.readyLine.max'])} ms`,
      '—',
      '—',
      met(m['sqlite.fresh.readyLine.max'] < 1000),
    ]);
    rows.push([
      'Start to ready, existing data dir (p50 / max)',
      '< 1 s',
      `${ms(m['sqlite.existing.readyLine.p50'])} / ${ms(m['sqlite.existing.readyLine.max'])} ms`,
      `${ms(m['memory.existing.readyLine.p50'])} / ${ms(m['memory.existing.readyLine.max'])} ms`,
      ratio(m['sqlite.existing.readyLine.p50'], m['memory.existing.readyLine.p50']),
      met(m['sqlite.existing.readyLine.max'] < 1000 && m['memory.existing.readyLine.max'] < 1000),
    ]);
  }
  if (r.fixedrate) {
    const m = r.fixedrate.metrics;
    rows.push([
      'Create latency at 500/s open loop (p50 / p99 / max)',
      'p99 < 10 ms',
      `${ms(m['sqlite.create.p50'])} / ${ms(m['sqlite.create.p99'])} / ${ms(m['sqlite.create.max'])} ms`,
      `${ms(m['memory.create.p50'])} / ${ms(m['memory.create.p99'])} / ${ms(m['memory.create.max'])} ms`,
      `p99 ${ratio(m['sqlite.create.p99'], m['memory.create.p99'])}`,
      `sqlite ${met(m['sqlite.create.p99'] < 10)}, memory ${met(m['memory.create.p99'] < 10)}`,
    ]);
  }
  if (r.watch) {
    const m = r.watch.metrics;
    const ok = (s: string): boolean => m[`${s}.delivery.p99`] < 50 && m[`${s}.missing`] === 0;
    rows.push([
      'Watch delivery, 100 watchers, 50 writes/s (p50 / p99 / max)',
      'p99 < 50 ms',
      `${ms(m['sqlite.delivery.p50'])} / ${ms(m['sqlite.delivery.p99'])} / ${ms(m['sqlite.delivery.max'])} ms`,
      `${ms(m['memory.delivery.p50'])} / ${ms(m['memory.delivery.p99'])} / ${ms(m['memory.delivery.max'])} ms`,
      `p99 ${ratio(m['sqlite.delivery.p99'], m['memory.delivery.p99'])}`,
      `sqlite ${met(ok('sqlite'))}, memory ${met(ok('memory'))}`,
    ]);
  }
  if (r.throughput) {
    const m = r.throughput.metrics;
    for (const [op, label] of [
      ['create', 'Creates/s'],
      ['get', 'Gets/s'],
      ['list', 'Lists/s of 1000 objects'],
    ] as const) {
      for (const c of [1, 16, 64]) {
        rows.push([
          `${label}, ${c} client${c > 1 ? 's' : ''} (req/s, p99)`,
          '—',
          `${int(m[`sqlite.${op}.${c}.rps`])}/s, p99 ${ms(m[`sqlite.${op}.${c}.p99`])} ms`,
          `${int(m[`memory.${op}.${c}.rps`])}/s, p99 ${ms(m[`memory.${op}.${c}.p99`])} ms`,
          `${ratio(m[`sqlite.${op}.${c}.rps`], m[`memory.${op}.${c}.rps`])} req/s`,
          '—',
        ]);
      }
    }
  }
  if (r.etcd && r.etcd.metrics['etcd.share.16'] !== undefined) {
    const m = r.etcd.metrics;
    rows.push([
      'Creates/s on etcd:// (single member), 16 clients, vs raw etcd put',
      '≥ 50% of raw put',
      `etcd:// ${int(m['etcd.create.16.rps'])}/s = ${(m['etcd.share.16'] * 100).toFixed(0)}% of raw put ${int(m['raw.put.16.rps'])}/s`,
      '—',
      '—',
      met(m['etcd.share.16'] >= 0.5),
    ]);
  }
  if (r.controllers) {
    const m = r.controllers.metrics;
    for (const [key, label] of [['one', '1 Service x 1,000 pods'], ['many', '1,000 Services x 10 pods']] as const) {
      rows.push([
        `Pod Ready → EndpointSlice, ${label}, 1,000 flips/s (p50 / p99)`,
        'p99 < 100 ms',
        `${ms(m[`sqlite.${key}.p50`])} / ${ms(m[`sqlite.${key}.p99`])} ms`,
        `${ms(m[`memory.${key}.p50`])} / ${ms(m[`memory.${key}.p99`])} ms`,
        `p99 ${ratio(m[`sqlite.${key}.p99`], m[`memory.${key}.p99`])}`,
        `sqlite ${met(m[`sqlite.${key}.p99`] < 100)}, memory ${met(m[`memory.${key}.p99`] < 100)}`,
      ]);
    }
    rows.push([
      'Deployment 0 → 1,000 ready pods (fake nodes)',
      '< 10 s',
      `${ms(m['sqlite.scale.ms'])} ms`,
      `${ms(m['memory.scale.ms'])} ms`,
      ratio(m['sqlite.scale.ms'], m['memory.scale.ms']),
      `sqlite ${met(m['sqlite.scale.ms'] < 10_000)}, memory ${met(m['memory.scale.ms'] < 10_000)}`,
    ]);
  }
  if (r.pods && r.pods.metrics['seq.ready.p99'] !== undefined) {
    // Real processes in per-pod network namespaces (root + netns-sandbox), sqlite only.
    const m = r.pods.metrics;
    for (const [key, label] of [['seq', '100 pods, one every 100 ms'], ['burst', '100 pods at once']] as const) {
      rows.push([
        `Pod create → Ready (node agent, netns), ${label} (p50 / p99)`,
        'p99 < 1 s',
        `${ms(m[`${key}.ready.p50`])} / ${ms(m[`${key}.ready.p99`])} ms`,
        '—',
        '—',
        met(m[`${key}.ready.p99`] < 1000),
      ]);
    }
    rows.push([
      'Server (API + agent) with 100 running pods: idle CPU, RSS; container RSS per pod',
      '—',
      `${m['idle.cpu.pct'].toFixed(1)}% CPU, ${mib(m['server.rss'])} MiB; ${mib(m['containers.rss.perPod'])} MiB/pod`,
      '—',
      '—',
      '—',
    ]);
  }
  if (r.rss) {
    const m = r.rss.metrics;
    rows.push([
      'Server RSS idle → with 10,000 ConfigMaps',
      '—',
      `${mib(m['sqlite.rss.idle'])} → ${mib(m['sqlite.rss.settled'])} MiB`,
      `${mib(m['memory.rss.idle'])} → ${mib(m['memory.rss.settled'])} MiB`,
      ratio(m['sqlite.rss.settled'], m['memory.rss.settled']),
      '—',
    ]);
  }
  if (r.dns && r.dns.metrics['kubelite.cluster.perCore'] !== undefined) {
    const m = r.dns.metrics;
    rows.push([
      'Cluster DNS (dnsperf), 1,000 Services, cluster names: q/s per core used (q/s; unbound 1 thread)',
      '≥ 17,000 q/s per core',
      `${int(m['kubelite.cluster.perCore'])}/core (${int(m['kubelite.cluster.qps'])} q/s on ${m['kubelite.cluster.cores'].toFixed(2)} cores); unbound ${int(m['unbound.cluster.perCore'])}/core`,
      '—', '—', met(m['kubelite.cluster.perCore'] >= 17_000),
    ]);
    rows.push([
      'Cluster DNS, cached external names: q/s per core used (q/s; unbound 1 thread)', '—',
      `${int(m['kubelite.external.perCore'])}/core (${int(m['kubelite.external.qps'])} q/s); unbound ${int(m['unbound.external.perCore'])}/core`,
      '—', '—', '—',
    ]);
    rows.push([
      'Cluster DNS memory: server RSS with 1,000 → 10,000 Services; zone heap per Service', '—',
      `${mib(m['rss.1k'])} → ${mib(m['rss.10k'])} MiB; ${int(m['zone.bytesPerService'])} B/Service`,
      '—', '—', '—',
    ]);
  }
  if (r.lint) {
    const m = r.lint.metrics;
    rows.push([
      '`kubelite lint` objects/s, 50,000 generated objects, end to end (CPU time; wall)',
      '≥ 10,000/s',
      `${int(m['e2e.objectsPerSec.cpu'])}/s (wall ${int(m['e2e.objectsPerSec.wall'])}/s); lint only ${int(m['lint.objectsPerSec.cpu'])}/s; peak RSS ${mib(m['e2e.maxRss'])} MiB`,
      '—', '—', met(m['e2e.objectsPerSec.cpu'] >= 10_000),
    ]);
  }
  const busy = machine.loadavg[0] > machine.nproc * 0.5;
  const busyNote = busy
    ? `**Caution: the machine was busy with other work during this run (1-minute load average ${machine.loadavg[0].toFixed(2)} on ${machine.nproc} CPUs at start), ` +
      'so these numbers are pessimistic and noisy. Rerun on an idle machine before comparing.**'
    : '';
  return [
    '## Benchmarks',
    '',
    `Measured with \`npm run bench\` (${relative(ROOT, resultsPath)} has every table and the method; docs/bench.md explains each benchmark). ` +
      `Machine: ${machine.nproc} × ${machine.cpuModel}, ${machine.memoryGiB.toFixed(0)} GiB RAM, Node ${machine.node}, ` +
      `fdatasync p50 ${machine.fsync.p50.toFixed(2)} ms / p99 ${machine.fsync.p99.toFixed(2)} ms, load average ${machine.loadavg[0].toFixed(2)} at start, ${machine.date.slice(0, 10)}. ` +
      'Server and load generator share the machine; all traffic is HTTPS over loopback.',
    ...(busyNote ? ['', busyNote] : []),
    '',
    table(['benchmark', 'target', 'sqlite (default)', 'memory://', 'sqlite/memory', 'met?'], rows),
    '',
  ].join('\n');
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      'no-build': { type: 'boolean', default: false },
      only: { type: 'string' },
      readme: { type: 'boolean', default: false },
      out: { type: 'string', default: join(ROOT, 'bench', 'results', 'apiserver.md') },
    },
    strict: true,
  });
  const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  const names = values.only ? values.only.split(',').map((s) => s.trim()) : Object.keys(BENCHES);
  for (const n of names) if (!BENCHES[n]) throw new Error(`unknown benchmark ${JSON.stringify(n)}; known: ${Object.keys(BENCHES).join(', ')}`);
  ensureBuilt({ force: !values['no-build'], log });
  log('probing the machine (fsync) ...');
  const machine = describeMachine();
  const started = performance.now();
  const results: Results = {};
  for (const n of names) {
    const t0 = performance.now();
    log(`=== ${n}`);
    const r = await BENCHES[n]({ log });
    results[n] = r;
    process.stdout.write(`## ${r.title}\n\n${r.markdown}\n\n`);
    log(`${n} took ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const loadAfter = loadavg();
  const out = values.out!;
  const summary = summaryMarkdown(results, machine, out);
  const doc = [
    '# kubelite API server benchmarks',
    '',
    'Generated by `npm run bench` (bench/run.ts). Numbers are from one run on the machine below; see docs/bench.md for method.',
    '',
    '## Machine',
    '',
    machineMarkdown(machine, loadAfter),
    `- Total benchmark time: ${((performance.now() - started) / 1000).toFixed(0)} s`,
    '',
    '## Summary',
    '',
    summary.slice(summary.indexOf('\n\n', summary.indexOf('\n\n') + 2) + 2),
    ...names.flatMap((n) => [`## ${results[n]!.title}`, '', results[n]!.markdown, '']),
  ].join('\n');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, doc);
  log(`wrote ${relative(ROOT, out)}`);
  if (values.readme) {
    const readmePath = join(ROOT, 'README.md');
    const before = existsSync(readmePath) ? readFileSync(readmePath, 'utf8') : '';
    writeFileSync(readmePath, replaceSection(before, '## Benchmarks', summary));
    log('updated the "## Benchmarks" section of README.md');
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    process.stderr.write(`${(err as Error).stack ?? err}\n`);
    process.exit(1);
  },
);
