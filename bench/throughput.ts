/**
 * Closed-loop throughput and latency for create, get and list of ConfigMaps at 1, 16 and 64
 * concurrent clients, sqlite and memory side by side. Each client is a loop of sequential
 * requests on its own keep-alive connection; a cell runs for a fixed time. `list` reads a
 * namespace holding 1000 ConfigMaps (one unpaged list per request).
 */
import { Client, configMap, ensureNamespace, fill } from './lib/client.js';
import { ensureBuilt, startServer, STORES, type StoreKind } from './lib/server.js';
import { int, ms, ratio, summarize, table } from './lib/stats.js';
import { isMain, runStandalone, type Bench, type BenchResult } from './lib/result.js';

const CONCURRENCY = [1, 16, 64] as const;
const OPS = ['create', 'get', 'list'] as const;
type Op = (typeof OPS)[number];
const CELL_MS = 3000;
const LIST_NS = 'bench-list';
const LIST_SIZE = 1000;

interface Cell {
  rps: number;
  p50: number;
  p99: number;
  errors: number;
  n: number;
}

/** Runs `concurrency` sequential loops of `op` for CELL_MS; latencies in ms. */
async function cell(client: Client, op: Op, concurrency: number, ns: string): Promise<Cell> {
  const lat: number[] = [];
  let errors = 0;
  const start = performance.now();
  const end = start + CELL_MS;
  const worker = async (w: number): Promise<void> => {
    let i = 0;
    while (performance.now() < end) {
      let method = 'GET';
      let path: string;
      let body: unknown;
      if (op === 'create') {
        method = 'POST';
        path = `/api/v1/namespaces/${ns}/configmaps`;
        body = configMap(ns, `cm-${concurrency}-${w}-${i}`);
      } else if (op === 'get') {
        path = `/api/v1/namespaces/${LIST_NS}/configmaps/item-${(w * 7919 + i * 104729) % LIST_SIZE}`;
      } else {
        path = `/api/v1/namespaces/${LIST_NS}/configmaps`;
      }
      i++;
      const t0 = performance.now();
      const r = await client.request(method, path, body);
      lat.push(performance.now() - t0);
      if (r.status < 200 || r.status > 299) errors++;
      if (op === 'list' && r.status === 200 && i === 1 && w === 0) {
        const items = (JSON.parse(r.body) as { items: unknown[] }).items.length;
        if (items !== LIST_SIZE) throw new Error(`list returned ${items} items, expected ${LIST_SIZE}`);
      }
    }
  };
  await Promise.all(Array.from({ length: concurrency }, (_, w) => worker(w)));
  const elapsed = performance.now() - start;
  const s = summarize(lat);
  return { rps: (s.n / elapsed) * 1000, p50: s.p50, p99: s.p99, errors, n: s.n };
}

async function benchStore(store: StoreKind, log: (s: string) => void): Promise<Map<string, Cell>> {
  const server = await startServer(store);
  const out = new Map<string, Cell>();
  try {
    const setup = new Client(server);
    await ensureNamespace(setup, LIST_NS);
    log(`throughput/${store}: filling ${LIST_SIZE} ConfigMaps`);
    await fill(setup, LIST_NS, { count: LIST_SIZE, prefix: 'item' });
    // Warm the server's JIT on all three paths before measuring.
    for (let i = 0; i < 200; i++) await setup.request('GET', `/api/v1/namespaces/${LIST_NS}/configmaps/item-${i}`);
    for (let i = 0; i < 10; i++) await setup.request('GET', `/api/v1/namespaces/${LIST_NS}/configmaps`);
    setup.close();
    for (const c of CONCURRENCY) {
      const ns = `bench-create-${c}`;
      const client = new Client(server);
      await ensureNamespace(client, ns);
      for (const op of OPS) {
        log(`throughput/${store}: ${op} x${c}`);
        out.set(`${op}.${c}`, await cell(client, op, c, ns));
      }
      client.close();
    }
  } finally {
    await server.stop();
  }
  return out;
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  ensureBuilt({ log });
  const results = new Map<StoreKind, Map<string, Cell>>();
  for (const store of STORES) results.set(store, await benchStore(store, log));
  const rows: string[][] = [];
  const metrics: Record<string, number> = {};
  for (const op of OPS) {
    for (const c of CONCURRENCY) {
      const s = results.get('sqlite')!.get(`${op}.${c}`)!;
      const m = results.get('memory')!.get(`${op}.${c}`)!;
      for (const [store, v] of [['sqlite', s], ['memory', m]] as const) {
        metrics[`${store}.${op}.${c}.rps`] = v.rps;
        metrics[`${store}.${op}.${c}.p50`] = v.p50;
        metrics[`${store}.${op}.${c}.p99`] = v.p99;
      }
      rows.push([
        op,
        String(c),
        int(s.rps),
        int(m.rps),
        ratio(s.rps, m.rps),
        `${ms(s.p50)} / ${ms(s.p99)}`,
        `${ms(m.p50)} / ${ms(m.p99)}`,
        ratio(s.p99, m.p99),
        s.errors + m.errors === 0 ? '0' : `${s.errors} / ${m.errors}`,
      ]);
    }
  }
  const markdown = [
    table(
      ['op', 'clients', 'sqlite req/s', 'memory req/s', 'req/s sqlite/memory', 'sqlite p50 / p99 ms', 'memory p50 / p99 ms', 'p99 sqlite/memory', 'errors'],
      rows,
    ),
    '',
    `Closed loop, ${CELL_MS / 1000} s per cell, each client on its own keep-alive HTTPS connection. ` +
      `create = POST of a small ConfigMap; get = GET of one of ${LIST_SIZE} ConfigMaps; list = unpaged GET of a namespace holding ${LIST_SIZE} ConfigMaps (~${LIST_SIZE} items per response). ` +
      'The load generator is one Node process on the same machine as the server, so at high concurrency both share the CPUs.',
  ].join('\n');
  return { title: 'Create / get / list throughput', markdown, metrics };
};

if (isMain(import.meta.url)) runStandalone(run);
