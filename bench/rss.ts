/**
 * Server memory with 10,000 objects: the server runs as a child process and its resident set
 * (VmRSS from /proc/<pid>/status) is read idle after start, after creating 10,000 small
 * ConfigMaps, and after a settle period. The server runs without --expose-gc, so numbers
 * include whatever garbage V8 has not yet collected — as an operator would see them.
 */
import { Client, ensureNamespace, fill } from './lib/client.js';
import { ensureBuilt, startServer, STORES, type StoreKind } from './lib/server.js';
import { int, mib, ratio, table } from './lib/stats.js';
import { isMain, runStandalone, sleep, type Bench, type BenchResult } from './lib/result.js';

const OBJECTS = 10_000;
const NAMESPACES = 10;
const SETTLE_MS = 3000;

interface RssResult {
  idle: number;
  loaded: number;
  settled: number;
  peak: number;
  fillMs: number;
  listedBytes: number;
}

async function benchStore(store: StoreKind, log: (s: string) => void): Promise<RssResult> {
  const server = await startServer(store);
  try {
    await sleep(500);
    const idle = server.memory().rss;
    const client = new Client(server);
    log(`rss/${store}: creating ${OBJECTS} ConfigMaps in ${NAMESPACES} namespaces`);
    const t0 = performance.now();
    for (let n = 0; n < NAMESPACES; n++) {
      const ns = `bench-rss-${n}`;
      await ensureNamespace(client, ns);
      await fill(client, ns, { count: OBJECTS / NAMESPACES, prefix: 'cm', concurrency: 16 });
    }
    const fillMs = performance.now() - t0;
    const loaded = server.memory().rss;
    // Sanity: the objects are really there; also reports their serialized size.
    const list = await client.request('GET', '/api/v1/configmaps');
    const count = (JSON.parse(list.body) as { items: unknown[] }).items.length;
    if (count !== OBJECTS) throw new Error(`expected ${OBJECTS} ConfigMaps, listed ${count}`);
    client.close();
    await sleep(SETTLE_MS);
    const m = server.memory();
    return { idle, loaded, settled: m.rss, peak: m.hwm, fillMs, listedBytes: Buffer.byteLength(list.body) };
  } finally {
    await server.stop();
  }
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  ensureBuilt({ log });
  const res = new Map<StoreKind, RssResult>();
  for (const store of STORES) res.set(store, await benchStore(store, log));
  const metrics: Record<string, number> = {};
  const rows: string[][] = [];
  for (const store of STORES) {
    const r = res.get(store)!;
    metrics[`${store}.rss.idle`] = r.idle;
    metrics[`${store}.rss.settled`] = r.settled;
    metrics[`${store}.rss.peak`] = r.peak;
    rows.push([
      store,
      mib(r.idle),
      mib(r.loaded),
      mib(r.settled),
      mib(r.peak),
      int((r.settled - r.idle) / OBJECTS),
      int((OBJECTS / r.fillMs) * 1000),
    ]);
  }
  const s = res.get('sqlite')!;
  const m = res.get('memory')!;
  rows.push(['sqlite/memory', ratio(s.idle, m.idle), ratio(s.loaded, m.loaded), ratio(s.settled, m.settled), ratio(s.peak, m.peak), ratio(s.settled - s.idle, m.settled - m.idle), '']);
  const perObj = s.listedBytes / OBJECTS;
  const markdown = [
    table(['store', 'RSS idle MiB', `RSS after ${int(OBJECTS)} creates MiB`, `RSS ${SETTLE_MS / 1000} s later MiB`, 'peak RSS (VmHWM) MiB', 'bytes per object (settled − idle)', 'fill rate creates/s'], rows),
    '',
    `Server as a child process (\`node bin/kubelite.js up\`), RSS from /proc/<pid>/status. ${int(OBJECTS)} small ConfigMaps (one 64-byte data value; ~${int(perObj)} bytes each as JSON in a list) ` +
      `in ${NAMESPACES} namespaces, created by 16 concurrent clients. The memory store keeps every object and its history in the heap; ` +
      'both stores also hold the watch cache\'s window of recent decoded events.',
  ].join('\n');
  return { title: `Server RSS with ${int(OBJECTS)} objects`, markdown, metrics };
};

if (isMain(import.meta.url)) runStandalone(run);
