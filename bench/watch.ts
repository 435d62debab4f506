/**
 * Watch fan-out latency: 100 concurrent watch streams on one namespace while a writer patches
 * ConfigMaps at 50/s for 10 s, each patch carrying its send time. Latency per (event, watcher)
 * is arrival time minus send time, so it covers the write itself, the store's watch, the watch
 * cache fan-out, encoding and the network. Target: p99 under 50 ms.
 */
import { Client, configMap, ensureNamespace } from './lib/client.js';
import { ensureBuilt, startServer, STORES, type StoreKind } from './lib/server.js';
import { int, ms, ratio, summarize, table, type Summary } from './lib/stats.js';
import { isMain, runStandalone, sleep, type Bench, type BenchResult } from './lib/result.js';

const WATCHERS = 100;
const RATE = 50;
const DURATION_MS = 10_000;
const OBJECTS = 10;
const NS = 'bench-watch';
const TARGET_P99_MS = 50;

interface WatchResult {
  delivery: Summary;
  write: Summary;
  updates: number;
  expected: number;
  received: number;
  /** Server CPU use while writing, as % of one core. */
  serverCpu: number;
}

async function benchStore(store: StoreKind, log: (s: string) => void): Promise<WatchResult> {
  const server = await startServer(store);
  const writer = new Client(server);
  const watchClient = new Client(server);
  const streams: { close(): void }[] = [];
  try {
    await ensureNamespace(writer, NS);
    for (let i = 0; i < OBJECTS; i++) await writer.json('POST', `/api/v1/namespaces/${NS}/configmaps`, configMap(NS, `w-${i}`, { seq: '-1', ts: '0' }));
    const list = await writer.json<{ metadata: { resourceVersion: string } }>('GET', `/api/v1/namespaces/${NS}/configmaps`);
    const rv = list.metadata.resourceVersion;
    const delivery: number[] = [];
    let received = 0;
    const onLine = (line: string, at: number): void => {
      const ev = JSON.parse(line) as { type: string; object: { data?: Record<string, string> } };
      if (ev.type !== 'MODIFIED') return;
      const ts = Number(ev.object.data?.ts);
      if (!(ts > 0)) return;
      received++;
      delivery.push(at - ts);
    };
    log(`watch/${store}: opening ${WATCHERS} watches from rv ${rv}`);
    // Open in small batches: a burst of 100 TLS handshakes at once only measures the handshakes.
    for (let i = 0; i < WATCHERS; i += 10) {
      const batch = await Promise.all(
        Array.from({ length: Math.min(10, WATCHERS - i) }, () =>
          watchClient.stream(`/api/v1/namespaces/${NS}/configmaps?watch=true&resourceVersion=${rv}&allowWatchBookmarks=false`, onLine),
        ),
      );
      streams.push(...batch);
    }
    await sleep(200);
    log(`watch/${store}: ${RATE} patches/s for ${DURATION_MS} ms`);
    const total = Math.round((RATE * DURATION_MS) / 1000);
    const writeLat: number[] = [];
    const pending: Promise<void>[] = [];
    const cpu0 = server.cpuMs();
    const t0 = performance.now();
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 0) await sleep(wait);
      const sent = performance.now();
      const body = { data: { seq: String(i), ts: String(sent) } };
      pending.push(
        writer.json('PATCH', `/api/v1/namespaces/${NS}/configmaps/w-${i % OBJECTS}`, body, 'application/merge-patch+json').then(() => {
          writeLat.push(performance.now() - sent);
        }),
      );
    }
    await Promise.all(pending);
    const serverCpu = ((server.cpuMs() - cpu0) / (performance.now() - t0)) * 100;
    // Let the last events drain (bounded).
    const expected = total * WATCHERS;
    const drainUntil = performance.now() + 5000;
    while (received < expected && performance.now() < drainUntil) await sleep(20);
    return { delivery: summarize(delivery), write: summarize(writeLat), updates: total, expected, received, serverCpu };
  } finally {
    for (const s of streams) s.close();
    writer.close();
    watchClient.close();
    await server.stop();
  }
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  ensureBuilt({ log });
  const res = new Map<StoreKind, WatchResult>();
  for (const store of STORES) res.set(store, await benchStore(store, log));
  const metrics: Record<string, number> = {};
  const rows: string[][] = [];
  for (const store of STORES) {
    const r = res.get(store)!;
    metrics[`${store}.delivery.p50`] = r.delivery.p50;
    metrics[`${store}.delivery.p99`] = r.delivery.p99;
    metrics[`${store}.delivery.max`] = r.delivery.max;
    metrics[`${store}.missing`] = r.expected - r.received;
    rows.push([
      store,
      int(r.updates),
      `${int(r.received)} / ${int(r.expected)}`,
      ms(r.delivery.p50),
      ms(r.delivery.p99),
      ms(r.delivery.max),
      `${ms(r.write.p50)} / ${ms(r.write.p99)}`,
      `${r.serverCpu.toFixed(0)}%`,
      r.delivery.p99 < TARGET_P99_MS && r.received === r.expected ? 'yes' : 'NO',
    ]);
  }
  const s = res.get('sqlite')!.delivery;
  const m = res.get('memory')!.delivery;
  rows.push(['sqlite/memory', '', '', ratio(s.p50, m.p50), ratio(s.p99, m.p99), ratio(s.max, m.max), '', '', '']);
  const markdown = [
    table(['store', 'updates', 'events received / expected', 'delivery p50 ms', 'delivery p99 ms', 'delivery max ms', 'write (PATCH) p50 / p99 ms', 'server CPU', `p99 < ${TARGET_P99_MS} ms`], rows),
    '',
    `${WATCHERS} watch streams (\`?watch=true&resourceVersion=<list rv>\`, one keep-alive connection each) on one namespace of ${OBJECTS} ConfigMaps; ` +
      `a writer sends ${RATE} merge-patches/s for ${DURATION_MS / 1000} s round-robin over the ConfigMaps, each carrying its send time. ` +
      'Delivery latency is per event per watcher (send of the PATCH → arrival of the MODIFIED event at that watcher), so it includes the write.',
  ].join('\n');
  return { title: 'Watch delivery to 100 watchers', markdown, metrics };
};

if (isMain(import.meta.url)) runStandalone(run);
