/**
 * The etcd backend against its own ceiling: closed-loop ConfigMap creates through the API at 1,
 * 16 and 64 concurrent clients on etcd, sqlite and memory, and in the same run the raw etcd
 * write rate at the same concurrencies with the same `etcd3` npm client our backend uses — a
 * plain put, and the compare-and-swap create transaction our backend actually sends. The raw
 * put rate is the limit for us; the target is that the API on etcd reaches at least 50% of it
 * at 16 clients.
 *
 * etcd is a single member on loopback with its data dir in the temp dir (the same filesystem as
 * the sqlite store), started by test/etcd/etcdtest.ts. Server, etcd and load generator share the
 * machine, so on a small machine the API-on-etcd cells have three busy processes where the raw
 * cells have two; the CPU columns say where the time went.
 *
 * Standalone: `node --import tsx bench/etcd.ts` rebuilds dist/, runs, prints the tables and
 * writes bench/results/etcd.md with the machine described.
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, loadavg } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { CompareResult, CompareTarget, Etcd3 } from 'etcd3';
import { etcdAvailable, startEtcd } from '../test/etcd/etcdtest.js';
import { Client, configMap, ensureNamespace } from './lib/client.js';
import { describeMachine, machineMarkdown } from './lib/machine.js';
import { ensureBuilt, procCpuMs, ROOT, startServer, type ServerStore } from './lib/server.js';
import { int, ms, summarize, table } from './lib/stats.js';
import { isMain, type Bench, type BenchResult } from './lib/result.js';

const CONCURRENCY = [1, 16, 64] as const;
const CELL_MS = 3000;
const WARMUP_CREATES = 300;
/** The target: API creates on etcd at 16 clients ≥ this share of the raw etcd put rate. */
const TARGET_SHARE = 0.5;

interface Cell {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  n: number;
  /** CPU ms per operation of the kubelite server process (API cells only). */
  serverCpu?: number;
  /** CPU ms per operation of etcd (etcd cells only). */
  etcdCpu?: number;
  /** CPU ms per operation of this process: the load generator (and, raw, the etcd client). */
  clientCpu: number;
}

/** `concurrency` sequential loops of `op` for CELL_MS, with CPU accounting around them. */
async function cell(concurrency: number, op: (w: number, i: number) => Promise<boolean>, pids: { server?: number; etcd?: number }): Promise<Cell> {
  const lat: number[] = [];
  let errors = 0;
  const cpu0 = { server: pids.server ? procCpuMs(pids.server) : 0, etcd: pids.etcd ? procCpuMs(pids.etcd) : 0, self: process.cpuUsage() };
  const start = performance.now();
  const end = start + CELL_MS;
  await Promise.all(Array.from({ length: concurrency }, async (_, w) => {
    for (let i = 0; performance.now() < end; i++) {
      const t0 = performance.now();
      const ok = await op(w, i);
      lat.push(performance.now() - t0);
      if (!ok) errors++;
    }
  }));
  const elapsed = performance.now() - start;
  const s = summarize(lat);
  const self = process.cpuUsage(cpu0.self);
  const per = (v: number): number => v / Math.max(1, s.n);
  return {
    rps: (s.n / elapsed) * 1000,
    p50: s.p50,
    p99: s.p99,
    errors,
    n: s.n,
    serverCpu: pids.server ? per(procCpuMs(pids.server) - cpu0.server) : undefined,
    etcdCpu: pids.etcd ? per(procCpuMs(pids.etcd) - cpu0.etcd) : undefined,
    clientCpu: per((self.user + self.system) / 1000),
  };
}

/** The pid of the etcd serving clients on `endpoint` (etcdtest does not expose it). */
function etcdPid(endpoint: string): number | undefined {
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    try {
      const cmd = readFileSync(`/proc/${d}/cmdline`, 'utf8').split('\0');
      if (cmd[0]?.endsWith('etcd') && cmd.includes(`http://${endpoint}`)) return Number(d);
    } catch {
      // exited meanwhile
    }
  }
  return undefined;
}

/** API creates on one store, after a warm-up; also returns one stored object (the raw value). */
async function apiCells(store: ServerStore, opts: { storeUrl?: string; etcd?: number; log: (s: string) => void }): Promise<{ cells: Map<number, Cell>; sample: string }> {
  const server = await startServer(store, { storeUrl: opts.storeUrl });
  const cells = new Map<number, Cell>();
  let sample = '';
  try {
    const warm = new Client(server);
    await ensureNamespace(warm, 'bench-warm');
    for (let i = 0; i < WARMUP_CREATES; i++) await warm.json('POST', '/api/v1/namespaces/bench-warm/configmaps', configMap('bench-warm', `w-${i}`));
    sample = JSON.stringify(await warm.json('GET', '/api/v1/namespaces/bench-warm/configmaps/w-0'));
    warm.close();
    for (const c of CONCURRENCY) {
      const ns = `bench-etcd-${c}`;
      const client = new Client(server);
      await ensureNamespace(client, ns);
      opts.log(`etcd bench: api/${store} create x${c}`);
      cells.set(c, await cell(c, async (w, i) => {
        const r = await client.request('POST', `/api/v1/namespaces/${ns}/configmaps`, configMap(ns, `cm-${w}-${i}`));
        return r.status === 201;
      }, { server: server.pid, etcd: opts.etcd }));
      client.close();
    }
  } finally {
    await server.stop();
  }
  return { cells, sample };
}

/** Raw etcd writes with the etcd3 client: plain put, and our backend's CAS create transaction. */
async function rawCells(endpoint: string, value: string, opts: { etcd?: number; log: (s: string) => void }): Promise<Record<'put' | 'txn' | 'rangeTxn', Map<number, Cell>>> {
  const client = new Etcd3({ hosts: [`http://${endpoint}`] });
  const put = new Map<number, Cell>();
  const txn = new Map<number, Cell>();
  const rangeTxn = new Map<number, Cell>();
  const v = Buffer.from(value, 'utf8');
  const createTxn = async (key: Buffer): Promise<boolean> => {
    const r = await client.kv.txn({
      compare: [{ key, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
      success: [{ request_put: { key, value: v } }],
      failure: [],
    });
    return r.succeeded;
  };
  const nsKey = Buffer.from('/bench/ns');
  await client.put(nsKey).value(v).exec();
  try {
    for (let i = 0; i < WARMUP_CREATES; i++) await client.put(`/bench/warm/${i}`).value(v).exec();
    for (const c of CONCURRENCY) {
      opts.log(`etcd bench: raw put x${c}`);
      put.set(c, await cell(c, async (w, i) => {
        await client.put(`/bench/put/${c}/${w}/${i}`).value(v).exec();
        return true;
      }, { etcd: opts.etcd }));
      opts.log(`etcd bench: raw create txn x${c}`);
      txn.set(c, await cell(c, (w, i) => createTxn(Buffer.from(`/bench/txn/${c}/${w}/${i}`)), { etcd: opts.etcd }));
      // What one API create asks of etcd: a linearizable read of the namespace, then the txn.
      opts.log(`etcd bench: raw range + create txn x${c}`);
      rangeTxn.set(c, await cell(c, async (w, i) => {
        const ns = await client.kv.range({ key: nsKey, serializable: false });
        return ns.kvs.length === 1 && (await createTxn(Buffer.from(`/bench/rtxn/${c}/${w}/${i}`)));
      }, { etcd: opts.etcd }));
    }
  } finally {
    client.close();
  }
  return { put, txn, rangeTxn };
}

const cpu = (v: number | undefined): string => (v === undefined ? '—' : v.toFixed(2));

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  const title = 'etcd backend: API creates vs raw etcd writes';
  if (!etcdAvailable) return { title, markdown: 'Skipped: no `etcd` binary on PATH.', metrics: {} };
  ensureBuilt({ log });
  const etcd = await startEtcd();
  try {
    const endpoint = etcd.endpoints[0] as string;
    const etcdPidNum = etcdPid(endpoint);
    const onEtcd = await apiCells('etcd', { storeUrl: `etcd://${endpoint}`, etcd: etcdPidNum, log });
    const raw = await rawCells(endpoint, onEtcd.sample, { etcd: etcdPidNum, log });
    const onSqlite = await apiCells('sqlite', { log });
    const onMemory = await apiCells('memory', { log });

    const metrics: Record<string, number> = {};
    const rows: string[][] = [];
    const add = (label: string, key: string, cells: Map<number, Cell>): void => {
      for (const c of CONCURRENCY) {
        const x = cells.get(c)!;
        metrics[`${key}.${c}.rps`] = x.rps;
        metrics[`${key}.${c}.p50`] = x.p50;
        metrics[`${key}.${c}.p99`] = x.p99;
        const putRps = raw.put.get(c)!.rps;
        rows.push([
          label,
          String(c),
          int(x.rps),
          `${ms(x.p50)} / ${ms(x.p99)}`,
          `${((x.rps / putRps) * 100).toFixed(0)}%`,
          cpu(x.serverCpu),
          cpu(x.etcdCpu),
          cpu(x.clientCpu),
          String(x.errors),
        ]);
      }
    };
    add('raw etcd put (etcd3 client)', 'raw.put', raw.put);
    add('raw etcd create txn (etcd3 client)', 'raw.txn', raw.txn);
    add('raw etcd range + create txn (the 2 RPCs of one API create)', 'raw.rangeTxn', raw.rangeTxn);
    add('API create on etcd://', 'etcd.create', onEtcd.cells);
    add('API create on sqlite (default)', 'sqlite.create', onSqlite.cells);
    add('API create on memory://', 'memory.create', onMemory.cells);
    const share = metrics['etcd.create.16.rps']! / metrics['raw.put.16.rps']!;
    metrics['etcd.share.16'] = share;
    // Where the time goes: with everything on one machine, CPU per operation bounds the rate.
    const cpuOf = (x: Cell): number => (x.serverCpu ?? 0) + (x.etcdCpu ?? 0) + x.clientCpu;
    const api16 = onEtcd.cells.get(16)!;
    const put16 = raw.put.get(16)!;
    const nproc = availableParallelism();
    const ceiling = (x: Cell): string => int((nproc * 1000) / cpuOf(x));
    const markdown = [
      table(['what', 'clients', 'ops/s', 'p50 / p99 ms', 'share of raw put ops/s', 'server CPU ms/op', 'etcd CPU ms/op', 'load-gen CPU ms/op', 'errors'], rows),
      '',
      `**Target: the API on etcd reaches at least ${TARGET_SHARE * 100}% of the raw etcd put rate at 16 clients: ` +
        `${int(metrics['etcd.create.16.rps']!)}/s vs ${int(metrics['raw.put.16.rps']!)}/s = ${(share * 100).toFixed(0)}% — ${share >= TARGET_SHARE ? 'met' : '**missed**'}.**`,
      '',
      `CPU per operation at 16 clients, all processes: API create on etcd ${cpu(cpuOf(api16))} ms (server ${cpu(api16.serverCpu)}, etcd ${cpu(api16.etcdCpu)}, load generator ${cpu(api16.clientCpu)}), ` +
        `raw put ${cpu(cpuOf(put16))} ms (etcd ${cpu(put16.etcdCpu)}, client ${cpu(put16.clientCpu)}); on ${nproc} CPUs that caps the rates at about ${ceiling(api16)}/s and ${ceiling(put16)}/s. ` +
        `The API on sqlite uses ${cpu(onSqlite.cells.get(16)!.serverCpu)} ms of server CPU per create, the difference is what a create costs the server on etcd: two gRPC calls (a linearizable read of the namespace, then the create transaction) and one watch event (docs/bench.md has a CPU profile).`,
      '',
      `Single-member etcd (${etcdVersion()}) on loopback, data dir in the temp dir, started by test/etcd/etcdtest.ts. ` +
        `Closed loop, ${CELL_MS / 1000} s per cell after ${WARMUP_CREATES} warm-up writes. API cells: each client a loop of POSTs of a small ConfigMap ` +
        'on its own keep-alive HTTPS connection to the built CLI (`kubelite up --store etcd://...`, sqlite and memory as in the throughput benchmark). ' +
        `Raw cells: the same \`etcd3\` npm client the backend uses, one client (one HTTP/2 channel) shared by all loops, value = one stored ConfigMap as JSON (${onEtcd.sample.length} bytes); ` +
        '"create txn" is the compare-and-swap transaction (`create_revision == 0` then put) our backend sends for a create. ' +
        'CPU columns are CPU time per operation from /proc (server, etcd) and process.cpuUsage (load generator, which for raw cells includes the etcd client). ' +
        'Server, etcd and load generator share the machine.',
    ].join('\n');
    return { title, markdown, metrics };
  } finally {
    await etcd.stop();
  }
};

/** `etcd 3.4.23`, for the results text. */
function etcdVersion(): string {
  const m = /etcd Version: (\S+)/.exec(spawnSync('etcd', ['--version'], { encoding: 'utf8' }).stdout ?? '');
  return m ? `etcd ${m[1]}` : 'etcd';
}

async function main(): Promise<void> {
  const log = (s: string): void => void process.stderr.write(`[bench] ${s}\n`);
  ensureBuilt({ force: true, log });
  const machine = describeMachine();
  const t0 = performance.now();
  const r = await run({ log });
  const out = join(ROOT, 'bench', 'results', 'etcd.md');
  const doc = [
    '# kubelite etcd backend benchmark',
    '',
    'Generated by `node --import tsx bench/etcd.ts` (also part of `npm run bench`). One run on the machine below; see docs/bench.md for method.',
    '',
    '## Machine',
    '',
    machineMarkdown(machine, loadavg()),
    `- Benchmark time: ${((performance.now() - t0) / 1000).toFixed(0)} s`,
    '',
    `## ${r.title}`,
    '',
    r.markdown,
    '',
  ].join('\n');
  mkdirSync(dirname(out), { recursive: true });
  writeFileSync(out, doc);
  process.stdout.write(`## ${r.title}\n\n${r.markdown}\n`);
  log(`wrote ${relative(ROOT, out)}`);
}

if (isMain(import.meta.url)) {
  main().then(
    () => process.exit(0),
    (err) => {
      process.stderr.write(`${(err as Error).stack ?? err}\n`);
      process.exit(1);
    },
  );
}
