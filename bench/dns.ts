/**
 * Cluster DNS (issue 7): `dnsperf` against the DNS server `kubelite up` runs on its node, with
 * unbound (one thread) answering the same names in the same run as the reference.
 *
 * 1. Cluster names: A queries for 1,000 Services (`s-<i>.bench-dns.svc.cluster.local`; every
 *    tenth headless with a hand-made EndpointSlice of 3 ready addresses, the rest selectorless
 *    ClusterIP Services). unbound serves the same names as `local-data` in a static local zone.
 * 2. Cached external names: 100 names `ext-<i>.example.test` (TTL 300) from a fake upstream
 *    (test/dns/upstream.ts) in this process; both servers forward `example.test` to it, and one
 *    pass warms the cache right before each external run. Our cache caps TTLs at 30 s, so a run longer than
 *    that refetches; the upstream's question count during each run is reported.
 * 3. Memory: kubelite's RSS (API server, caches, informers and DNS together) idle, with 1,000
 *    and with 10,000 Services; plus the zone's own heap cost measured in a child process
 *    (`--expose-gc`) that builds a `ClusterZone` from 10,000 generated Services.
 *
 * CPU: the server's CPU time (/proc/<pid>/stat) before and after each dnsperf run gives the cores
 * it used, so queries/s per core = queries/s ÷ cores used. dnsperf runs on the same machine and
 * shares its CPUs; its own CPU time is sampled too. Latency percentiles come from separate
 * fixed-rate runs with `-v` (per-query lines), since printing every query slows dnsperf down.
 *
 * Standalone (`node --import tsx bench/dns.ts`) it writes bench/results/dns.md. Env knobs:
 * BENCH_DNS_SECONDS (15), BENCH_DNS_SERVICES (1000), BENCH_DNS_SERVICES_MEM (10000),
 * BENCH_DNS_OUTSTANDING (200), BENCH_DNS_LATENCY_QPS (5000).
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { Client, ensureNamespace } from './lib/client.js';
import { ensureBuilt, procCpuMs, ROOT, startServer, type ServerProcess } from './lib/server.js';
import { int, mib, ms, ratio, summarize, table } from './lib/stats.js';
import { isMain, sleep, type Bench, type BenchResult } from './lib/result.js';
import { runWritingResults } from './lib/standalone.js';
import { dnsperf, sh, startUnbound, unboundConfig, until, type Perf, type Target } from './lib/dnsperf.js';

const TITLE = 'Cluster DNS (dnsperf; unbound as reference)';
const env = process.env;
const SECONDS = Number(env.BENCH_DNS_SECONDS ?? 15);
const SERVICES = Number(env.BENCH_DNS_SERVICES ?? 1000);
const SERVICES_MEM = Number(env.BENCH_DNS_SERVICES_MEM ?? 10_000);
const OUTSTANDING = Number(env.BENCH_DNS_OUTSTANDING ?? 200);
const LATENCY_QPS = Number(env.BENCH_DNS_LATENCY_QPS ?? 5000);
const LATENCY_S = 5;
const CLIENTS = 20;
const EXTERNAL = 100;
const HEADLESS_EVERY = 10;
const NS = 'bench-dns';
const DOMAIN = 'cluster.local';
const TARGET_PER_CORE = 17_000;
const PERF = { clients: CLIENTS, outstanding: OUTSTANDING };

type Json = Record<string, any>;

// ---------------------------------------------------------------- small helpers

async function pool(from: number, to: number, concurrency: number, fn: (i: number) => Promise<void>): Promise<void> {
  let next = from;
  await Promise.all(Array.from({ length: concurrency }, async () => {
    while (next < to) await fn(next++);
  }));
}

function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

/** A JSON API call retried once on the keep-alive race (server closes idle sockets after 5 s). */
async function api<T = Json>(c: Client, method: string, path: string, body?: Json): Promise<T> {
  try {
    return await c.json<T>(method, path, body);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code !== 'ECONNRESET' && !/socket hang up/.test(e.message)) throw err;
    const r = await c.request(method, path, body);
    if (method === 'POST' && r.status === 409) return c.json<T>('GET', `${path}/${(body as Json).metadata.name}`);
    if (r.status < 200 || r.status > 299) throw new Error(`${method} ${path}: HTTP ${r.status}: ${r.body.slice(0, 300)}`);
    return JSON.parse(r.body) as T;
  }
}

/** `dig +short` answers (sorted), or undefined when dig failed or timed out. */
async function dig(host: string, port: number, name: string, type = 'A'): Promise<string[] | undefined> {
  const r = await sh(['dig', `@${host}`, '-p', String(port), '+short', '+time=1', '+tries=1', name, type], 5000);
  if (r.code !== 0) return undefined;
  return r.stdout.split('\n').map((l) => l.trim()).filter(Boolean).sort();
}

// ---------------------------------------------------------------- the names

const svcName = (i: number): string => `s-${i}`;
const isHeadless = (i: number): boolean => i % HEADLESS_EVERY === HEADLESS_EVERY - 1;
const fqdn = (i: number): string => `${svcName(i)}.${NS}.svc.${DOMAIN}.`;
/** The k-th (0..2) endpoint address of headless Service i: 10.200.0.0/16 and up, never reused. */
function endpointIP(i: number, k: number): string {
  const n = i * 3 + k + 1;
  return `10.${200 + (n >> 16)}.${(n >> 8) & 255}.${n & 255}`;
}

function serviceBody(i: number): Json {
  const ports = [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }];
  return { apiVersion: 'v1', kind: 'Service', metadata: { name: svcName(i) }, spec: isHeadless(i) ? { clusterIP: 'None', ports } : { ports } };
}

function sliceBody(i: number): Json {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: `${svcName(i)}-bench`,
      namespace: NS,
      labels: { 'kubernetes.io/service-name': svcName(i), 'endpointslice.kubernetes.io/managed-by': 'bench.kubelite.dev' },
    },
    addressType: 'IPv4',
    endpoints: [0, 1, 2].map((k) => ({ addresses: [endpointIP(i, k)], conditions: { ready: true } })),
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
  };
}

/** The A records each name should answer with (sorted), from the API's view of the Services. */
async function expectedAnswers(c: Client, n: number): Promise<Map<number, string[]>> {
  const list = await api<Json>(c, 'GET', `/api/v1/namespaces/${NS}/services`);
  const out = new Map<number, string[]>();
  for (const s of list.items as Json[]) {
    const i = Number(/^s-(\d+)$/.exec(s.metadata.name as string)?.[1]);
    if (!(i < n)) continue;
    out.set(i, isHeadless(i) ? [0, 1, 2].map((k) => endpointIP(i, k)).sort() : [s.spec.clusterIP as string]);
  }
  if (out.size !== n) throw new Error(`expected ${n} bench Services, listed ${out.size}`);
  return out;
}

async function createServices(c: Client, from: number, to: number, log: (s: string) => void): Promise<number> {
  const t0 = performance.now();
  await pool(from, to, 32, async (i) => {
    await api(c, 'POST', `/api/v1/namespaces/${NS}/services`, serviceBody(i));
    if (isHeadless(i)) await api(c, 'POST', `/apis/discovery.k8s.io/v1/namespaces/${NS}/endpointslices`, sliceBody(i));
  });
  const took = performance.now() - t0;
  log(`dns bench: created Services ${from}..${to - 1} in ${(took / 1000).toFixed(1)} s`);
  return took;
}

// ---------------------------------------------------------------- dnsperf

function genService(i: number, ns: string): Json {
  const headless = isHeadless(i);
  const ip = `10.${96 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  return {
    apiVersion: 'v1', kind: 'Service',
    metadata: { name: svcName(i), namespace: ns, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`, resourceVersion: String(1000 + i), creationTimestamp: '2026-01-01T00:00:00Z' },
    spec: {
      type: 'ClusterIP', clusterIP: headless ? 'None' : ip, clusterIPs: [headless ? 'None' : ip],
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }],
      sessionAffinity: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
}

function genSlice(i: number, ns: string): Json {
  const s = sliceBody(i);
  s.metadata.namespace = ns;
  s.metadata.uid = `00000000-0000-4000-9000-${String(i).padStart(12, '0')}`;
  s.metadata.resourceVersion = String(50_000 + i);
  return s;
}

interface ZoneMemory {
  services: number;
  headless: number;
  /** Heap the zone adds while the objects are also held (as the informer caches hold them). */
  onTopOfObjects: number;
  /** Heap of the zone alone after the input objects are dropped. */
  alone: number;
  /** Heap of the generated objects themselves (for scale). */
  objects: number;
  buildMs: number;
}

/** Runs in a child started with --expose-gc; prints one JSON line. */
async function zoneMemoryChild(n: number): Promise<void> {
  const gc = (globalThis as { gc?: () => void }).gc;
  if (!gc) throw new Error('run with --expose-gc');
  const dist = join(ROOT, 'dist', 'dns', 'zone', 'index.js');
  const mod = (await import(existsSync(dist) ? pathToFileURL(dist).href : pathToFileURL(join(ROOT, 'src', 'dns', 'zone', 'index.ts')).href)) as {
    ClusterZone: new (o: { domain: string; ttl: number; dnsServiceIPs: string[] }) => {
      upsertNamespace(name: string): void;
      upsertService(svc: Json): void;
      upsertEndpointSlice(slice: Json): void;
    };
  };
  const heap = (): number => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };
  const namespaces = Array.from({ length: 10 }, (_, k) => `bench-ns-${k}`);
  const h0 = heap();
  let objs: Json[] | undefined = [];
  for (let i = 0; i < n; i++) {
    const ns = namespaces[i % namespaces.length]!;
    objs.push(genService(i, ns));
    if (isHeadless(i)) objs.push(genSlice(i, ns));
  }
  const h1 = heap();
  const t0 = performance.now();
  let zone: unknown = new mod.ClusterZone({ domain: DOMAIN, ttl: 30, dnsServiceIPs: ['10.96.0.10'] });
  const z = zone as InstanceType<typeof mod.ClusterZone>;
  for (const ns of namespaces) z.upsertNamespace(ns);
  for (const o of objs) (o.kind === 'Service' ? z.upsertService(o) : z.upsertEndpointSlice(o));
  const buildMs = performance.now() - t0;
  const h2 = heap();
  objs = undefined;
  const h3 = heap();
  // Use the zone after the last measurement: V8 may collect a local it can see is dead.
  if (!(z as unknown as { serial: number }).serial) throw new Error('zone has no serial');
  const res: ZoneMemory = {
    services: n,
    headless: Math.floor(n / HEADLESS_EVERY),
    onTopOfObjects: h2 - h1,
    alone: h3 - h0,
    objects: h1 - h0,
    buildMs,
  };
  process.stdout.write(`${JSON.stringify(res)}\n`);
  zone = z;
}

async function zoneMemory(n: number): Promise<ZoneMemory | string> {
  const r = await sh([process.execPath, '--expose-gc', '--import', 'tsx', join(ROOT, 'bench', 'dns.ts'), '--zone-memory', String(n)], 120_000);
  if (r.code !== 0) return `zone memory child failed: ${(r.stderr || r.stdout).trim().split('\n').slice(-3).join(' ')}`;
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ZoneMemory;
}

// ---------------------------------------------------------------- the run

/**
 * Where kubelite's DNS listens: the `dns` port of the kube-dns EndpointSlice. If the slice is
 * missing (publishing it failed), falls back to the UDP socket the process has bound that also
 * has a listening TCP socket on the same address and port (the DNS server's pair), via /proc.
 */
async function kubeDnsAddress(c: Client, pid: number, log: (s: string) => void): Promise<{ host: string; port: number; how: string }> {
  const fromSlice = await until('the kube-dns EndpointSlice', async () => {
    const l = await api<Json>(c, 'GET', '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dkube-dns');
    for (const s of l.items as Json[]) {
      const port = ((s.ports ?? []) as Json[]).find((p) => p.name === 'dns')?.port as number | undefined;
      const host = (s.endpoints as Json[] | undefined)?.[0]?.addresses?.[0] as string | undefined;
      if (port && host) return { host, port, how: 'kube-dns EndpointSlice' };
    }
    return undefined;
  }, 8000, 250).catch(() => undefined);
  if (fromSlice) return fromSlice;
  log('dns bench: WARNING: no kube-system/kube-dns EndpointSlice; finding the DNS sockets in /proc instead');
  const inodes = new Set<string>();
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]!);
    } catch {
      // closed meanwhile
    }
  }
  const sockets = (file: string, state?: string): string[] => readFileSync(file, 'utf8').split('\n').slice(1).map((l) => l.trim().split(/\s+/))
    .filter((f) => f.length > 9 && inodes.has(f[9]!) && (!state || f[3] === state)).map((f) => f[1]!);
  const tcp = new Set(sockets(`/proc/${pid}/net/tcp`, '0A'));
  const local = sockets(`/proc/${pid}/net/udp`).find((a) => tcp.has(a));
  if (!local) throw new Error('cannot find the DNS server: no kube-dns EndpointSlice and no UDP+TCP socket pair in /proc');
  const [hex, portHex] = local.split(':') as [string, string];
  const host = [3, 2, 1, 0].map((k) => parseInt(hex.slice(k * 2, k * 2 + 2), 16)).join('.');
  return { host, port: parseInt(portHex, 16), how: '/proc sockets (kube-dns EndpointSlice missing)' };
}

/** Waits until the last name answers, then checks a sample of names against what the API holds. */
async function waitZone(dns: { host: string; port: number }, answers: Map<number, string[]>, last: number, log: (s: string) => void): Promise<{ checked: number; ok: number; waitMs: number }> {
  const t0 = performance.now();
  await until(`${fqdn(last)} to answer`, async () => ((await dig(dns.host, dns.port, fqdn(last)))?.length ? true : undefined), 60_000, 100);
  const waitMs = performance.now() - t0;
  const sample = [0, last, ...Array.from({ length: 18 }, () => Math.floor(Math.random() * (last + 1)))];
  let ok = 0;
  for (const i of sample) {
    const got = await dig(dns.host, dns.port, fqdn(i));
    if (got && got.join(',') === answers.get(i)!.join(',')) ok++;
    else log(`dns bench: WRONG answer for ${fqdn(i)}: got ${JSON.stringify(got)}, want ${JSON.stringify(answers.get(i))}`);
  }
  return { checked: sample.length, ok, waitMs };
}

/** Everything `run` measured, for the report. */
interface Measured {
  dns: { host: string; port: number; how: string };
  /** Keyed `<server>.<cluster|external>`. */
  results: Record<string, Perf>;
  refetch: Record<string, number>;
  lat: Record<string, Perf>;
  big: Perf;
  idleCores: number;
  idleRss: number;
  rss1k: number;
  rssMem: { rss: number; hwm: number };
  create1k: number;
  createMem: number;
  check1k: { checked: number; ok: number; waitMs: number };
  checkMem: { checked: number; ok: number; waitMs: number };
  zm: ZoneMemory | string;
}

function report(m: Measured): BenchResult {
  const { dns, results, refetch, lat, big, idleCores, idleRss, rss1k, rssMem, create1k, createMem, check1k, checkMem, zm } = m;
  const metrics: Record<string, number> = {};
  for (const [k, p] of Object.entries(results)) {
    metrics[`${k}.qps`] = p.qps;
    metrics[`${k}.cores`] = p.cores;
    metrics[`${k}.perCore`] = p.perCore;
    metrics[`${k}.avgMs`] = p.avgMs;
  }
  for (const [k, p] of Object.entries(lat)) {
    metrics[`${k}.p50`] = p.p50!;
    metrics[`${k}.p99`] = p.p99!;
  }
  metrics['kubelite.cluster10k.qps'] = big.qps;
  metrics['kubelite.cluster10k.perCore'] = big.perCore;
  metrics['rss.idle'] = idleRss;
  metrics['rss.1k'] = rss1k;
  metrics['rss.10k'] = rssMem.rss;
  if (typeof zm !== 'string') {
    metrics['zone.bytesPerService'] = zm.onTopOfObjects / zm.services;
    metrics['zone.aloneBytesPerService'] = zm.alone / zm.services;
  }

  const o = (k: string): Perf => results[k]!;
  const row = (label: string, k: string): string[] => {
    const p = o(k);
    return [label, int(p.qps), `${ms(p.avgMs)} ± ${ms(p.stddevMs)} ms`, `${p.cores.toFixed(2)}`, `**${int(p.perCore)}**`, p.dnsperfCores.toFixed(2), `${p.lost} of ${int(p.sent)}`, p.rcodes];
  };
  const md: string[] = [];
  const oc = o('kubelite.cluster');
  md.push(
    `Cluster names: **${int(oc.perCore)} queries/s per core** (${int(oc.qps)} q/s on ${oc.cores.toFixed(2)} cores of the kubelite process) with ${int(SERVICES)} Services; target ≥ ${int(TARGET_PER_CORE)}: ${oc.perCore >= TARGET_PER_CORE ? 'met' : '**missed**'}. ` +
      `unbound (1 thread) in the same run: ${int(o('unbound.cluster').perCore)} q/s per core; ours/unbound per core ${ratio(oc.perCore, o('unbound.cluster').perCore)}, absolute ${ratio(oc.qps, o('unbound.cluster').qps)}.`,
    '',
    `### Throughput: dnsperf -c ${CLIENTS} -q ${OUTSTANDING} -l ${SECONDS}, no rate limit`,
    '',
    table(
      ['server / names', 'queries/s', 'latency avg ± sd', 'server cores used', 'queries/s per core', 'dnsperf cores', 'lost', 'response codes'],
      [
        row(`kubelite, ${int(SERVICES)} cluster names`, 'kubelite.cluster'),
        row(`unbound, same names (local-data)`, 'unbound.cluster'),
        row(`kubelite, ${EXTERNAL} cached external names`, 'kubelite.external'),
        row(`unbound, same names (forward-zone)`, 'unbound.external'),
        [`kubelite, ${int(SERVICES_MEM)} cluster names (${Math.min(SECONDS, 10)} s)`, int(big.qps), `${ms(big.avgMs)} ± ${ms(big.stddevMs)} ms`, big.cores.toFixed(2), `**${int(big.perCore)}**`, big.dnsperfCores.toFixed(2), `${big.lost} of ${int(big.sent)}`, big.rcodes],
      ],
    ),
    '',
    table(
      ['ours / unbound', 'queries/s', 'queries/s per core'],
      [
        ['cluster names', ratio(oc.qps, o('unbound.cluster').qps), ratio(oc.perCore, o('unbound.cluster').perCore)],
        ['cached external names', ratio(o('kubelite.external').qps, o('unbound.external').qps), ratio(o('kubelite.external').perCore, o('unbound.external').perCore)],
      ],
    ),
    '',
    `Upstream questions during the external runs (cache refills): kubelite ${refetch['kubelite.external']}, unbound ${refetch['unbound.external']}. ` +
      `kubelite's idle CPU (API server, node agent, controllers) before the runs: ${idleCores.toFixed(3)} cores, included in its numbers.`,
    '',
    `### Latency at a fixed ${int(LATENCY_QPS)} queries/s (dnsperf -Q ${LATENCY_QPS} -v, ${LATENCY_S} s, per-query times)`,
    '',
    table(
      ['server / names', 'p50', 'p99', 'p99.9', 'max', 'server cores used', 'lost'],
      Object.entries(lat).map(([k, p]) => [k.replace('.', ', '), `${ms(p.p50!)} ms`, `${ms(p.p99!)} ms`, `${ms(p.p999!)} ms`, `${ms(p.maxMs)} ms`, p.cores.toFixed(2), String(p.lost)]),
    ),
    '',
    '### Memory',
    '',
    table(
      ['kubelite process (API server + caches + informers + DNS)', 'RSS'],
      [
        ['idle, after start', `${mib(idleRss)} MiB`],
        [`${int(SERVICES)} Services, after the dnsperf runs`, `${mib(rss1k)} MiB`],
        [`${int(SERVICES_MEM)} Services, 3 s after the zone caught up (peak ${mib(rssMem.hwm)} MiB)`, `${mib(rssMem.rss)} MiB`],
      ],
    ),
    '',
    `Creating Services through the API (32 concurrent clients; headless ones also POST their slice): ${int(SERVICES)} in ${(create1k / 1000).toFixed(1)} s, then ${int(SERVICES_MEM - SERVICES)} more in ${(createMem / 1000).toFixed(1)} s. ` +
      `The zone answered the last name ${ms(check1k.waitMs)} ms / ${ms(checkMem.waitMs)} ms after its create was acknowledged; sampled answers correct: ${check1k.ok}/${check1k.checked} and ${checkMem.ok}/${checkMem.checked}.`,
    '',
  );
  if (typeof zm === 'string') md.push(`Zone heap: not measured (${zm}).`, '');
  else {
    md.push(
      `The zone's own heap (child process with --expose-gc, \`ClusterZone\` fed ${int(zm.services)} generated Services in 10 namespaces, ${int(zm.headless)} of them headless with a 3-endpoint slice; heapUsed after two gc() calls): ` +
        `**${int(zm.onTopOfObjects / zm.services)} bytes per Service** on top of the API objects (which the informer caches hold anyway); ` +
        `${int(zm.alone / zm.services)} bytes per Service once the input objects are dropped (the zone alone, including anything it keeps of them). ` +
        `For scale, the generated objects themselves take ${int(zm.objects / zm.services)} bytes per Service. Building the zone took ${ms(zm.buildMs)} ms.`,
      '',
    );
  }
  md.push(
    '### Method',
    '',
    `- kubelite: \`kubelite up --pod-network host --disable-proxy --dns-upstream 127.0.0.1:<fake upstream>\` (sqlite store, compiled dist/), one Node.js process running the API server, controllers, node agent and DNS on one event loop. DNS at ${dns.host}:${dns.port}, found from the ${dns.how}.`,
    `- Services: \`s-<i>\` in namespace ${NS}, selectorless, one TCP port; every ${HEADLESS_EVERY}th headless with a hand-made EndpointSlice of 3 ready IPv4 endpoints (3 A records per answer). Queries: the A record of every Service's FQDN, in order, cycling.`,
    `- External names: ${EXTERNAL} A names from the fake upstream (test/dns/upstream.ts, in the benchmark process, TTL 300); one pass over them right before every external run warms the server's cache; both servers cap cached TTLs at 30 s, so a run up to 30 s long should refetch nothing (the refetch count above says what happened).`,
    `- unbound ${unboundVersion()}: one thread, \`module-config: iterator\`, \`cache-max-ttl: 30\`, the same ${int(SERVICES)} names as \`local-data\` in a static \`${DOMAIN}.\` local zone, and a \`forward-zone\` for example.test to the same upstream; on 127.0.0.1.`,
    `- dnsperf ${dnsperfVersion()} over UDP: \`-c ${CLIENTS} -q ${OUTSTANDING} -t 2\`, ${SECONDS} s per run, one run per server and kind, kubelite and unbound alternating. dnsperf shares the machine's CPUs with the server (its own CPU use is in the table). Latency avg/sd are dnsperf's; percentiles come from separate ${LATENCY_S} s runs at ${int(LATENCY_QPS)} q/s with \`-v\`.`,
    `- Cores used = the server process's CPU time (utime + stime from /proc/<pid>/stat) during the run ÷ dnsperf's run time; queries/s per core = queries/s ÷ cores used. For kubelite this includes everything else the process does meanwhile (idle cost above). The issue's reference: CoreDNS 1.2.5 measured 33,669 q/s on 2 vCPUs (≈ 16,800 per vCPU).`,
    `- RSS is VmRSS of the kubelite process (no forced GC), so it includes the API server's watch cache, the informers' copies and garbage not yet collected.`,
  );
  return { title: TITLE, markdown: md.join('\n'), metrics };
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  for (const tool of ['dnsperf', 'dig', 'unbound']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) {
      return { title: TITLE, markdown: `Skipped: needs \`${tool}\` installed (Debian: dnsperf, bind9-dnsutils, unbound).`, metrics: {} };
    }
  }
  ensureBuilt({ log });
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-dns-'));
  const { startFakeUpstream } = await import('../test/dns/upstream.js');
  const upstream = await startFakeUpstream();
  for (let i = 0; i < EXTERNAL; i++) upstream.setA(`ext-${i}.example.test`, [`192.0.2.${(i % 250) + 1}`], 300);
  const clusterFile = join(dir, 'cluster.txt');
  const clusterMemFile = join(dir, 'cluster-10k.txt');
  const externalFile = join(dir, 'external.txt');
  writeFileSync(clusterFile, Array.from({ length: SERVICES }, (_, i) => `${fqdn(i)} A\n`).join(''));
  writeFileSync(clusterMemFile, Array.from({ length: SERVICES_MEM }, (_, i) => `${fqdn(i)} A\n`).join(''));
  writeFileSync(externalFile, Array.from({ length: EXTERNAL }, (_, i) => `ext-${i}.example.test. A\n`).join(''));
  let server: ServerProcess | undefined;
  let unbound: { child: ChildProcess; stop(): Promise<void> } | undefined;
  let client: Client | undefined;
  try {
    server = await startServer('sqlite', { extraArgs: ['--disable-proxy', '--dns-upstream', `127.0.0.1:${upstream.port}`] });
    client = new Client(server, { maxSockets: 64 });
    const dns = await kubeDnsAddress(client, server.pid, log);
    log(`dns bench: kubelite pid ${server.pid}, DNS at ${dns.host}:${dns.port} (from the ${dns.how}); fake upstream 127.0.0.1:${upstream.port}`);
    await sleep(1000);
    const idleRss = server.memory().rss;
    await ensureNamespace(client, NS);
    const create1k = await createServices(client, 0, SERVICES, log);
    const answers = await expectedAnswers(client, SERVICES);
    const check1k = await waitZone(dns, answers, SERVICES - 1, log);
    log(`dns bench: zone caught up ${ms(check1k.waitMs)} ms after the last create; ${check1k.ok}/${check1k.checked} sampled names correct`);

    const ubPort = await freePort();
    const ubConf = join(dir, 'unbound.conf');
    writeFileSync(ubConf, unboundConfig(dir, { port: ubPort, upstreamPort: upstream.port, domain: DOMAIN, records: [...answers].map(([i, addrs]) => [fqdn(i), addrs]) }));
    unbound = await startUnbound(ubConf, async () => (await dig('127.0.0.1', ubPort, `${DOMAIN}.`, 'SOA')) !== undefined);
    const ours: Target = { label: 'kubelite', host: dns.host, port: dns.port, pid: server.pid };
    const ub: Target = { label: 'unbound', host: '127.0.0.1', port: ubPort, pid: unbound.child.pid! };

    // Idle CPU of kubelite (API server, node agent, controllers) over 3 s, for scale.
    const idle0 = procCpuMs(server.pid);
    await sleep(3000);
    const idleCores = (procCpuMs(server.pid) - idle0) / 3000;

    // Each external run is preceded by one pass over its names, so it starts on a warm cache
    // (entries live 30 s: warming once up front would leave them expired by the later runs).
    const warm = (t: Target, file: string): Promise<unknown> => (file === externalFile ? dnsperf(t, file, { ...PERF, seconds: 0, passes: 1 }) : Promise.resolve());

    const results: Record<string, Perf> = {};
    const refetch: Record<string, number> = {};
    for (const [kind, file] of [['cluster', clusterFile], ['external', externalFile]] as const) {
      for (const t of [ours, ub]) {
        await warm(t, file);
        const before = upstream.seen.length;
        const p = await dnsperf(t, file, { ...PERF, seconds: SECONDS });
        refetch[`${t.label}.${kind}`] = upstream.seen.length - before;
        results[`${t.label}.${kind}`] = p;
        log(`dns bench: ${t.label} ${kind}: ${int(p.qps)} q/s, avg ${ms(p.avgMs)} ms, server ${p.cores.toFixed(2)} cores → ${int(p.perCore)} q/s/core; dnsperf ${p.dnsperfCores.toFixed(2)} cores; lost ${p.lost}; ${p.rcodes}`);
      }
    }
    const lat: Record<string, Perf> = {};
    for (const [kind, file] of [['cluster', clusterFile], ['external', externalFile]] as const) {
      for (const t of [ours, ub]) {
        await warm(t, file);
        const p = await dnsperf(t, file, { ...PERF, seconds: LATENCY_S, qps: LATENCY_QPS, verbose: true });
        lat[`${t.label}.${kind}`] = p;
        log(`dns bench: ${t.label} ${kind} at ${LATENCY_QPS} q/s: p50 ${ms(p.p50!)} ms, p99 ${ms(p.p99!)} ms, p99.9 ${ms(p.p999!)} ms, max ${ms(p.maxMs)} ms`);
      }
    }
    await unbound.stop();
    unbound = undefined;
    await sleep(1000);
    const rss1k = server.memory().rss;

    const createMem = await createServices(client, SERVICES, SERVICES_MEM, log);
    const answersMem = await expectedAnswers(client, SERVICES_MEM);
    const checkMem = await waitZone(dns, answersMem, SERVICES_MEM - 1, log);
    await sleep(3000);
    const rssMem = server.memory();
    const big = await dnsperf(ours, clusterMemFile, { ...PERF, seconds: Math.min(SECONDS, 10) });
    log(`dns bench: kubelite cluster names with ${SERVICES_MEM} Services: ${int(big.qps)} q/s, ${int(big.perCore)} q/s/core`);
    client.close();
    client = undefined;
    await server.stop();
    server = undefined;

    const zm = await zoneMemory(SERVICES_MEM);
    if (typeof zm === 'string') log(`dns bench: ${zm}`);

    return report({ dns, results, refetch, lat, big, idleCores, idleRss, rss1k, rssMem, create1k, createMem, check1k, checkMem, zm });
  } finally {
    client?.close();
    await unbound?.stop();
    await server?.stop();
    await upstream.close();
    rmSync(dir, { recursive: true, force: true });
  }
};

function firstLine(argv: string[], re: RegExp): string {
  const r = spawnSync(argv[0]!, argv.slice(1), { encoding: 'utf8' });
  return re.exec(`${r.stdout ?? ''}${r.stderr ?? ''}`)?.[1] ?? '?';
}
const unboundVersion = (): string => firstLine(['unbound', '-V'], /Version\s+(\S+)/);
const dnsperfVersion = (): string => firstLine(['dnsperf', '-h'], /Version\s+(\S+)/);

if (isMain(import.meta.url)) {
  const log = (s: string): void => void process.stderr.write(`${s}\n`);
  const zi = process.argv.indexOf('--zone-memory');
  if (zi >= 0) {
    zoneMemoryChild(Number(process.argv[zi + 1] ?? SERVICES_MEM)).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  } else {
    // Standalone: rebuild so the numbers are for the current source (--no-build skips that).
    ensureBuilt({ force: !process.argv.includes('--no-build'), log });
    runWritingResults(run, {
      name: 'dns',
      heading: 'kubelite cluster DNS benchmark',
      generatedBy: '`node --import tsx bench/dns.ts` (or `npm run bench -- --only dns`)',
      busyNote: 'dnsperf and the servers share those CPUs, so throughput numbers are noisy and pessimistic.',
    });
  }
}
