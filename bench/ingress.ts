/**
 * Ingress data planes (issue 8): wrk through (a) kubelite's built-in ingress proxy, (b) kubelite's
 * nginx data plane (`--ingress-backend nginx`) and (c) a hand-written minimal nginx reverse proxy
 * to the same backend pods, over keep-alive and new connections (`Connection: close`), HTTP and
 * HTTPS.
 *
 * One kubelite cluster runs at a time (the data plane is chosen at `kubelite up`), so the run is
 * a sequence of phases — builtin, nginx, builtin, nginx — each a fresh cluster with three backend
 * pods, a Service and an Ingress (host bench.test, path / Prefix). In every phase the
 * hand-written nginx is started over that phase's pod IPs and each wrk run of the kubelite data
 * plane is immediately followed by the same run against the hand-written nginx, so every
 * kubelite number has a baseline measured seconds apart on the same pods; the ratios reported are
 * medians of those per-pair ratios.
 *
 * Backends are pods running HAProxy as a trivial HTTP server (`http-request return`), as in
 * bench/proxy.ts, so the backend is not the bottleneck. Needs root, wrk, nginx, haproxy, openssl
 * and `../shared/tools/netns-sandbox`; outside the sandbox `run()` re-runs this file inside it.
 * Standalone (`node --import tsx bench/ingress.ts`) it also writes bench/results/ingress.md.
 */
import { execFile, spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Client, ensureNamespace } from './lib/client.js';
import { ensureBuilt, ROOT, startServer, type ServerProcess } from './lib/server.js';
import { int, ms, summarize, table } from './lib/stats.js';
import { isMain, sleep, type Bench, type BenchResult } from './lib/result.js';
import { runWritingResults } from './lib/standalone.js';
import { parseWrk, type Wrk } from './lib/wrk.js';

const TITLE = 'Ingress data planes (built-in proxy, nginx backend, hand-written nginx)';
const SANDBOX = resolve(ROOT, '..', 'shared', 'tools', 'netns-sandbox');
const WRK_S = Number(process.env.BENCH_INGRESS_WRK_S ?? 5);
const CONNS = Number(process.env.BENCH_INGRESS_CONNS ?? 50);
/** Phases, in order; each is one cluster start. */
const PHASES = (process.env.BENCH_INGRESS_PHASES ?? 'builtin,nginx,builtin,nginx').split(',') as Plane[];
const NS = 'bench-ingress';
const HOST = 'bench.test';
/** The hand-written nginx's ports on the node address (the data planes take 80/443). */
const HAND_HTTP = 18080;
const HAND_HTTPS = 18443;

type Json = Record<string, any>;
type Plane = 'builtin' | 'nginx';
interface Variant { key: string; https: boolean; close: boolean }
const VARIANTS: Variant[] = [
  { key: 'HTTP, keep-alive', https: false, close: false },
  { key: 'HTTP, new connection per request', https: false, close: true },
  { key: 'HTTPS, keep-alive', https: true, close: false },
  { key: 'HTTPS, new connection per request', https: true, close: true },
];

function sh(argv: string[], timeoutMs = 120_000): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((res) => {
    execFile(argv[0]!, argv.slice(1), { timeout: timeoutMs, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      const code = err ? (typeof (err as { code?: unknown }).code === 'number' ? (err as { code: number }).code : 1) : 0;
      res({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs: number, everyMs = 250): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn().catch(() => undefined);
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await sleep(everyMs);
  }
}

/** HAProxy as a trivial HTTP server: the fastest backend we have on the machine. */
function backendConfig(): string {
  return [
    'global', '  nbthread 1', '  maxconn 4000',
    'defaults', '  mode http', '  timeout connect 5s', '  timeout client 30s', '  timeout server 30s',
    'frontend web', '  bind :8080', '  http-request return status 200 content-type text/plain string ok', '',
  ].join('\n');
}

/**
 * The hand-written baseline: one server, one upstream of the pod addresses with keepalive, the
 * worker count and keepalive settings our nginx data plane renders (worker_processes auto,
 * upstream keepalive 32, keepalive_requests 1000), no access log.
 */
function handNginxConfig(dir: string, o: { host: string; pods: string[]; cert: string; key: string }): string {
  const temp = ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map((t) => `  ${t}_temp_path ${dir}/tmp/${t};`);
  return [
    'worker_processes auto;', `pid ${dir}/nginx.pid;`, `error_log ${dir}/error.log warn;`,
    'events { worker_connections 16384; }',
    'http {', ...temp, '  access_log off;', '  keepalive_timeout 75s;', '  keepalive_requests 1000;', '  tcp_nodelay on;',
    '  upstream pods {', ...o.pods.map((p) => `    server ${p}:8080;`), '    keepalive 32;', '  }',
    '  server {', `    listen ${o.host}:${HAND_HTTP};`, `    listen ${o.host}:${HAND_HTTPS} ssl;`,
    `    ssl_certificate ${o.cert};`, `    ssl_certificate_key ${o.key};`,
    // The protocols our data plane (and ingress-nginx) offers: Debian's nginx 1.22 defaults to
    // TLSv1-1.2 only, and a TLS 1.3 handshake costs wrk and nginx several times a 1.2 one.
    '    ssl_protocols TLSv1.2 TLSv1.3;',
    '    location / {', '      proxy_pass http://pods;', '      proxy_http_version 1.1;', '      proxy_set_header Connection "";', '      proxy_set_header Host $host;', '    }',
    '  }', '}', '',
  ].join('\n');
}

/** SIGKILLs, by pid, any process still running with `marker` in its command line (our pods' HAProxies). */
function killStrays(marker: string): void {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      if (Number(pid) !== process.pid && readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) process.kill(Number(pid), 'SIGKILL');
    } catch {
      // exited meanwhile
    }
  }
}

async function wrk(url: string, close: boolean): Promise<Wrk> {
  const argv = ['wrk', '-t2', `-c${CONNS}`, `-d${WRK_S}s`, '--latency', '-H', `Host: ${HOST}`, ...(close ? ['-H', 'Connection: close'] : []), url];
  const r = await sh(argv, 120_000);
  if (r.code !== 0) throw new Error(`${argv.join(' ')}: ${r.stderr}${r.stdout}`);
  return parseWrk(r.stdout);
}

/** One request with curl (-k: the default/self-signed certificates); true on a 200 "ok". */
async function answers(url: string): Promise<true | undefined> {
  const r = await sh(['curl', '-sk', '--max-time', '2', '-H', `Host: ${HOST}`, url], 5000);
  return r.code === 0 && r.stdout.trim() === 'ok' ? true : undefined;
}

interface Cluster {
  server: ServerProcess;
  client: Client;
  podIPs: string[];
  /** The data plane's own endpoint (the ingress-kubelite EndpointSlice): address and ports. */
  addr: string;
  http: number;
  https: number;
  stop(): Promise<void>;
}

async function startCluster(plane: Plane, cfgPath: string, log: (s: string) => void): Promise<Cluster> {
  const server = await startServer('sqlite', { extraArgs: ['--pod-network', 'netns', '--lb-pool', '10.250.0.0/24', '--ingress-backend', plane] });
  const client = new Client(server, { maxSockets: 16 });
  const stop = async (): Promise<void> => {
    // Delete the pods first: stopping `kubelite up` leaves running containers behind.
    await client.request('DELETE', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dbench-web`).catch(() => undefined);
    await until('backend pods gone', async () => {
      const r = await client.request('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dbench-web`);
      return ((JSON.parse(r.body) as Json).items as Json[] | undefined)?.length === 0 ? true : undefined;
    }, 30_000).catch(() => undefined);
    client.close();
    await server.stop();
  };
  try {
    await until('a Ready node', async () => {
      const l = await client.json<Json>('GET', '/api/v1/nodes');
      return (l.items as Json[]).some((n) => (n.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True')) ? true : undefined;
    }, 30_000);
    await ensureNamespace(client, NS);
    for (let i = 0; i < 3; i++) {
      await client.json('POST', `/api/v1/namespaces/${NS}/pods`, {
        apiVersion: 'v1', kind: 'Pod',
        metadata: { name: `web-${i}`, labels: { app: 'bench-web' } },
        spec: {
          terminationGracePeriodSeconds: 1,
          containers: [{ name: 'web', image: 'busybox:1', command: ['haproxy', '-db', '-f', cfgPath], readinessProbe: { tcpSocket: { port: 8080 }, periodSeconds: 1 } }],
        },
      });
    }
    await client.json('POST', `/api/v1/namespaces/${NS}/services`, {
      apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'bench-web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    await client.json('POST', `/apis/networking.k8s.io/v1/namespaces/${NS}/ingresses`, {
      apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', metadata: { name: 'bench' },
      spec: { rules: [{ host: HOST, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { number: 80 } } } }] } }] },
    });
    const podIPs = await until('3 ready backend pods', async () => {
      const items = (await client.json<Json>('GET', `/api/v1/namespaces/${NS}/pods?labelSelector=app%3Dbench-web`)).items as Json[];
      const ready = items.filter((p) => (p.status?.conditions ?? []).some((c: Json) => c.type === 'Ready' && c.status === 'True'));
      return ready.length === 3 ? ready.map((p) => p.status.podIP as string).sort() : undefined;
    }, 60_000);
    const ep = await until('the ingress-kubelite EndpointSlice', async () => {
      const l = await client.json<Json>('GET', '/apis/discovery.k8s.io/v1/namespaces/kube-system/endpointslices?labelSelector=kubernetes.io%2Fservice-name%3Dingress-kubelite');
      const s = (l.items as Json[])[0];
      const addr = s?.endpoints?.[0]?.addresses?.[0] as string | undefined;
      const port = (n: string): number | undefined => (s?.ports as Json[] | undefined)?.find((p) => p.name === n)?.port as number | undefined;
      return addr && port('http') && port('https') ? { addr, http: port('http')!, https: port('https')! } : undefined;
    }, 30_000);
    await until(`the ${plane} data plane to route ${HOST} (HTTP)`, () => answers(`http://${ep.addr}:${ep.http}/`), 30_000);
    await until(`the ${plane} data plane to route ${HOST} (HTTPS)`, () => answers(`https://${ep.addr}:${ep.https}/`), 30_000);
    log(`ingress bench: ${plane} cluster up; pods ${podIPs.join(', ')}; data plane at ${ep.addr}:${ep.http}/${ep.https}`);
    return { server, client, podIPs, ...ep, stop };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** One row's runs: every kubelite run and the hand-written run right after it. */
interface Pairs { plane: Wrk[]; hand: Wrk[] }

const median = (xs: number[]): number => summarize(xs).p50;

/** The median-throughput run with errors summed over all runs and every run's req/s. */
function pick(ws: Wrk[]): Wrk {
  const sorted = [...ws].sort((a, b) => a.rps - b.rps);
  return { ...sorted[Math.floor((sorted.length - 1) / 2)]!, errors: ws.reduce((a, w) => a + w.errors, 0), all: ws.map((w) => w.rps) };
}

async function phase(plane: Plane, dir: string, log: (s: string) => void, out: Map<string, Pairs>): Promise<void> {
  const c = await startCluster(plane, join(dir, 'backend.cfg'), log);
  let hand: ChildProcess | undefined;
  try {
    const hdir = join(dir, `hand-${Date.now()}`);
    for (const t of ['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi']) mkdirSync(join(hdir, 'tmp', t), { recursive: true });
    writeFileSync(join(hdir, 'nginx.conf'), handNginxConfig(hdir, { host: c.addr, pods: c.podIPs, cert: join(dir, 'tls.crt'), key: join(dir, 'tls.key') }));
    hand = spawn('nginx', ['-p', hdir, '-c', join(hdir, 'nginx.conf'), '-g', 'daemon off;'], { stdio: 'ignore' });
    await until('the hand-written nginx', () => answers(`http://${c.addr}:${HAND_HTTP}/`), 10_000);
    for (const v of VARIANTS) {
      const scheme = v.https ? 'https' : 'http';
      const p = await wrk(`${scheme}://${c.addr}:${v.https ? c.https : c.http}/`, v.close);
      const h = await wrk(`${scheme}://${c.addr}:${v.https ? HAND_HTTPS : HAND_HTTP}/`, v.close);
      const load = loadavg()[0]!.toFixed(2);
      log(`ingress bench: ${plane} ${v.key}: ${int(p.rps)} req/s (p50 ${ms(p.p50)} p99 ${ms(p.p99)} ms, errors ${p.errors}) vs hand-written nginx ${int(h.rps)} req/s (p50 ${ms(h.p50)} p99 ${ms(h.p99)} ms, errors ${h.errors}); load ${load}`);
      const k = `${plane}|${v.key}`;
      const e = out.get(k) ?? { plane: [], hand: [] };
      e.plane.push(p);
      e.hand.push(h);
      out.set(k, e);
    }
  } finally {
    if (hand && hand.exitCode === null) {
      hand.kill('SIGTERM');
      await new Promise<void>((r) => {
        const t = setTimeout(() => { hand!.kill('SIGKILL'); r(); }, 5000);
        hand!.once('exit', () => { clearTimeout(t); r(); });
      });
    }
    await c.stop();
  }
}

async function inside(log: (s: string) => void): Promise<BenchResult> {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-ingress-'));
  writeFileSync(join(dir, 'backend.cfg'), backendConfig());
  // ECDSA P-256, like the data planes' generated default certificate, so handshakes cost the same.
  const ssl = await sh(['openssl', 'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '2',
    '-subj', `/CN=${HOST}`, '-addext', `subjectAltName=DNS:${HOST}`, '-keyout', join(dir, 'tls.key'), '-out', join(dir, 'tls.crt')]);
  if (ssl.code !== 0) throw new Error(`openssl: ${ssl.stderr}`);
  const out = new Map<string, Pairs>();
  const failed = new Map<Plane, string>();
  const loads: number[] = [];
  try {
    for (const plane of PHASES) {
      if (failed.has(plane)) continue;
      try {
        await phase(plane, dir, log, out);
        loads.push(loadavg()[0]!);
      } catch (err) {
        const msg = (err as Error).message.split('\n').slice(0, 6).join(' ').slice(0, 600);
        log(`ingress bench: ${plane} phase failed: ${msg}`);
        failed.set(plane, msg);
      }
    }
  } finally {
    killStrays(dir);
    rmSync(dir, { recursive: true, force: true });
  }

  const metrics: Record<string, number> = {};
  const rows: string[][] = [];
  const ratioLines: string[] = [];
  const runs = (w: Wrk): string => (w.all ?? []).map((x) => int(x)).join(', ');
  const row = (name: string, w: Wrk, vs: string): string[] => [name, int(w.rps), runs(w), `${ms(w.p50)} ms`, `${ms(w.p99)} ms`, String(w.errors), vs];
  for (const v of VARIANTS) {
    const hands: Wrk[] = [];
    const planeRows: string[][] = [];
    const shares: Partial<Record<Plane, number>> = {};
    for (const plane of ['builtin', 'nginx'] as Plane[]) {
      const e = out.get(`${plane}|${v.key}`);
      const label = plane === 'builtin' ? 'kubelite built-in proxy' : 'kubelite nginx backend';
      if (!e) {
        planeRows.push([label, 'not measured', '', '', '', '', failed.get(plane) ?? 'phase not run']);
        continue;
      }
      hands.push(...e.hand);
      const share = median(e.plane.map((w, i) => w.rps / e.hand[i]!.rps));
      shares[plane] = share;
      metrics[`${plane}.${v.https ? 'https' : 'http'}.${v.close ? 'close' : 'ka'}.rps`] = pick(e.plane).rps;
      metrics[`${plane}.${v.https ? 'https' : 'http'}.${v.close ? 'close' : 'ka'}.share`] = share;
      planeRows.push(row(label, pick(e.plane), `${(share * 100).toFixed(1)}%`));
    }
    if (hands.length) planeRows.push(row('hand-written nginx', pick(hands), '100%'));
    rows.push(...planeRows.map((r) => [v.key, ...r]));
    const b = shares.builtin;
    const n = shares.nginx;
    ratioLines.push(`- ${v.key}: built-in / hand-written nginx ${b === undefined ? 'not measured' : `**${(b * 100).toFixed(1)}%** (target ≥ 50%: ${b >= 0.5 ? 'met' : '**missed**'})`}; ` +
      `nginx backend / hand-written nginx ${n === undefined ? 'not measured' : `**${(n * 100).toFixed(1)}%** (target ≥ 95%: ${n >= 0.95 ? 'met' : '**missed**'})`}` +
      (b !== undefined && n !== undefined ? `; built-in / nginx backend ${(100 * (b / n)).toFixed(1)}% (from the pair ratios)` : '') + '.');
  }
  const md = [
    `wrk -t2 -c${CONNS} -d${WRK_S}s --latency -H 'Host: ${HOST}' from the node, phases ${PHASES.join(' → ')} (each a fresh cluster); load average (1 min) after each phase: ${loads.map((l) => l.toFixed(2)).join(', ') || 'n/a'}.`, '',
    table(['workload', 'data plane', 'requests/s (median run)', 'every run', 'latency p50', 'latency p99', 'errors', 'vs. hand-written nginx (median of pair ratios)'], rows),
    '', '**Ratios** (each kubelite run divided by the hand-written nginx run made right after it, on the same pods; median over phases):', '', ...ratioLines, '',
    ...(failed.size ? ['**Not measured:**', '', ...[...failed].map(([p, m]) => `- ${p}: ${m}`), ''] : []),
    '### Method', '',
    '- `kubelite up --pod-network netns --lb-pool 10.250.0.0/24 --ingress-backend <builtin|nginx>` (sqlite, compiled dist/) as root inside netns-sandbox; wrk, curl and the hand-written nginx run in the node namespace (the sandbox). Everything shares the machine\'s CPUs, so absolute numbers are pessimistic and noisy.',
    '- Backends: three pods (`busybox:1` image mapped to the host, command `haproxy -db -f backend.cfg`, one thread, `http-request return status 200` with a 2-byte body), Service `web` (80 → 8080), Ingress `bench` (host bench.test, path `/` Prefix, default IngressClass).',
    '- Target address: the data plane\'s own endpoint from the `kube-system/ingress-kubelite` EndpointSlice (the node address, ports 80/443), not the LoadBalancer IP, so no kube-proxy DNAT is in the path; the hand-written nginx listens on the same address, ports 18080/18443.',
    '- Hand-written nginx (Debian\'s nginx): `worker_processes auto` (what our nginx data plane renders by default; 2 here), one server, `proxy_pass` to an upstream block of the three pod addresses with `keepalive 32`, `proxy_http_version 1.1`, `Connection ""`, `keepalive_requests 1000`, `access_log off`. Our nginx data plane additionally writes access logs, sets forwarding headers and metrics variables: that is the overhead the 5% target bounds.',
    '- HTTPS: wrk connects to the IP (its SNI is the IP literal), so the kubelite data planes serve their default certificate (a generated ECDSA P-256 self-signed one) and route by the Host header; the hand-written nginx serves an ECDSA P-256 self-signed certificate made with the openssl CLI, and both offer TLSv1.2 and TLSv1.3 (so both negotiate TLS 1.3), so the handshakes cost the same. wrk negotiates HTTP/1.1 (no ALPN h2).',
    `- Each phase runs, per workload, wrk against the kubelite data plane then against the hand-written nginx (${WRK_S} s each); "new connection per request" adds \`-H 'Connection: close'\` (for HTTPS a full TLS handshake per request). The median-throughput run is shown with its latencies; errors are summed over runs.`,
    '- With two phases per data plane, "median" is the lower of the two (nearest rank), for the shown run and for the pair ratios; every run\'s requests/s is listed. The kubelite data plane always runs first in each pair, right after its cluster started. The built-in proxy runs in `kubelite up`\'s default `--ingress-workers auto`: one worker process per CPU (2 here), like the nginx configurations\' `worker_processes auto`.',
  ];
  return { title: TITLE, markdown: md.join('\n'), metrics };
}

function skipped(why: string): BenchResult {
  return { title: TITLE, markdown: `Skipped: ${why}.`, metrics: {} };
}

async function inSandbox(log: (s: string) => void): Promise<BenchResult> {
  // dist/ may predate src/ingress: rebuild when the ingress is missing from it.
  ensureBuilt({ log, force: !existsSync(join(ROOT, 'dist', 'ingress', 'index.js')) });
  const child = spawn(SANDBOX, [process.execPath, '--import', 'tsx', join(ROOT, 'bench', 'ingress.ts'), '--json'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) if (line.trim()) log(line);
  });
  const code = await new Promise<number | null>((r) => child.once('exit', (c) => r(c)));
  if (code !== 0) throw new Error(`ingress benchmark in netns-sandbox exited ${code}`);
  return JSON.parse(out.trim().split('\n').pop()!) as BenchResult;
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  if (process.env.SANDBOX_NETNS) return inside(log);
  if (process.getuid?.() !== 0) return skipped('needs root (pods in network namespaces)');
  if (!existsSync(SANDBOX)) return skipped(`needs ${SANDBOX} to run in a throwaway network namespace`);
  for (const tool of ['wrk', 'nginx', 'haproxy', 'openssl', 'curl']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0) return skipped(`needs \`${tool}\` installed`);
  }
  return inSandbox(log);
};

if (isMain(import.meta.url)) {
  runWritingResults(run, {
    name: 'ingress',
    heading: 'kubelite ingress benchmark',
    generatedBy: '`node --import tsx bench/ingress.ts`',
    busyNote: 'wrk, the backends, the data planes and kubelite share those CPUs, so throughput numbers are noisy.',
    json: true,
  });
}
