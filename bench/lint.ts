/**
 * `kubelite lint` throughput (issue 9): objects linted per second on a generated corpus of
 * 50,000 objects (bench/lib/lintcorpus.ts: ~100 namespaces, one multi-document YAML file each,
 * Deployments/StatefulSets/Jobs with their Services, ConfigMaps, Secrets, PDBs, HPAs, Ingresses
 * and NetworkPolicies; about a third of the apps carry a typical mistake). Single process.
 *
 * Two measurements, each in a fresh child process (so peak RSS is that run's own) and repeated
 * BENCH_LINT_ROUNDS times (default 3; the median round is reported, all rounds are listed):
 * 1. End to end: `lintCommand([DIR])` in-process, exactly what `kubelite lint DIR` does after
 *    argument parsing (walk the directory, read, parse, lint, format human output), minus Node
 *    start-up and module loading.
 * 2. Phases: load (read + parse + guards), buildIndex, single-object checks, cross-object checks
 *    (each `lintObjects` with that scope only, on the same index), the full `lintObjects` on the
 *    loaded objects (sources attached, as the CLI does), the full `lintObjects` on in-memory
 *    objects without sources (what the API server's admission path sees), and each formatter.
 *
 * Wall time and CPU time (process.cpuUsage: user + system) are both reported: the machine may be
 * shared, and CPU time is what the code costs; objects/s is given for both.
 *
 * Standalone: `node --import tsx bench/lint.ts` writes bench/results/lint.md. Env knobs:
 * BENCH_LINT_OBJECTS (50000), BENCH_LINT_NAMESPACES (100), BENCH_LINT_ROUNDS (3), BENCH_LINT_SOURCE=1 (run the
 * TypeScript sources through tsx instead of the compiled dist/).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { runWritingResults } from './lib/standalone.js';
import { ensureBuilt, ROOT } from './lib/server.js';
import { int, mib, table } from './lib/stats.js';
import { isMain, type Bench, type BenchResult } from './lib/result.js';
import { generateCorpus, toYamlFile } from './lib/lintcorpus.js';
import { ALL_CHECKS } from '../src/lint/checks/index.js';

const TITLE = '`kubelite lint` throughput (50,000 generated objects, single process)';
const env = process.env;
const OBJECTS = Number(env.BENCH_LINT_OBJECTS ?? 50_000);
const NAMESPACES = Number(env.BENCH_LINT_NAMESPACES ?? 100);
const ROUNDS = Number(env.BENCH_LINT_ROUNDS ?? 3);
const TARGET = 10_000;
const SELF = fileURLToPath(import.meta.url);

interface Timing {
  wallMs: number;
  cpuMs: number;
}

interface ChildReport {
  objects: number;
  findings: number;
  bytes: number;
  phases: Record<string, Timing>;
  maxRssBytes: number;
}

function timed<T>(phases: Record<string, Timing>, name: string, fn: () => T): T {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  phases[name] = { wallMs, cpuMs: (c.user + c.system) / 1000 };
  return r;
}

async function timedAsync<T>(phases: Record<string, Timing>, name: string, fn: () => Promise<T>): Promise<T> {
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await fn();
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  phases[name] = { wallMs, cpuMs: (c.user + c.system) / 1000 };
  return r;
}

/**
 * The modules under test, compiled (dist/, as bin/kubelite.js runs them) unless BENCH_LINT_SOURCE=1:
 * tsx's transform wraps every function expression in a naming helper, which costs the checks'
 * closures measurably.
 */
async function mod<T>(rel: string, src: () => Promise<T>): Promise<T> {
  if (env.BENCH_LINT_SOURCE === '1') return src();
  return (await import(pathToFileURL(join(ROOT, 'dist', `${rel}.js`)).href)) as T;
}

/** Child: `kubelite lint DIR` in-process. */
async function childEndToEnd(dir: string): Promise<ChildReport> {
  const { lintCommand } = await mod('cli/lint', () => import('../src/cli/lint.js'));
  const phases: Record<string, Timing> = {};
  let bytes = 0;
  let errText = '';
  const code = await timedAsync(phases, 'total', () => lintCommand([dir], { stdout: (s) => void (bytes += s.length), stderr: (s) => void (errText += s) }));
  if (code === 2) throw new Error(`lint exited 2: ${errText.slice(0, 500)}`);
  const { loadPaths } = await mod('lint/load', () => import('../src/lint/load.js'));
  const objects = (await loadPaths([dir])).objects.length; // untimed: for the count only
  return { objects, findings: -1, bytes, phases, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

/** Child: each phase separately. */
async function childPhases(dir: string): Promise<ChildReport> {
  const { loadPaths } = await mod('lint/load', () => import('../src/lint/load.js'));
  const { buildIndex } = await mod('lint/index-objects', () => import('../src/lint/index-objects.js'));
  const { lintObjects } = await mod('lint/run', () => import('../src/lint/run.js'));
  const { ALL_CHECKS } = await mod('lint/checks/index', () => import('../src/lint/checks/index.js'));
  const { FORMATS } = await mod('lint/format/index', () => import('../src/lint/format/index.js'));
  const phases: Record<string, Timing> = {};
  const loaded = await timedAsync(phases, 'load', () => loadPaths([dir]));
  if (loaded.errors.length) throw new Error(`input errors: ${loaded.errors[0]!.format()}`);
  // The same objects as JSON Lists (one per file, as `kubectl get -o json` writes them).
  const fromJson = await timedAsync(phases, 'load.json', () => loadPaths([`${dir}-json`]));
  if (fromJson.errors.length || fromJson.objects.length !== loaded.objects.length) throw new Error(`JSON corpus: ${fromJson.errors[0]?.format() ?? `${fromJson.objects.length} objects`}`);
  fromJson.objects.length = 0;
  const objects = loaded.objects;
  const index = timed(phases, 'index', () => buildIndex(objects.map((o) => o.obj)));
  const single = ALL_CHECKS.filter((c) => c.scope === 'object');
  const cross = ALL_CHECKS.filter((c) => c.scope === 'cross');
  timed(phases, 'single', () => lintObjects(objects, { checks: single, index }));
  timed(phases, 'cross', () => lintObjects(objects, { checks: cross, index }));
  const findings = timed(phases, 'lint', () => lintObjects(objects));
  let bytes = 0;
  for (const f of ['human', 'json', 'sarif', 'junit'] as const) {
    const s = timed(phases, `format.${f}`, () => FORMATS[f]({ objects, findings, checks: ALL_CHECKS, failOn: 'warning', cwd: dir }));
    if (f === 'human') bytes = s.length;
  }
  const mem = generateCorpus({ objects: OBJECTS, namespaces: NAMESPACES }).flat().map((obj) => ({ obj }));
  timed(phases, 'lintMemory', () => lintObjects(mem));
  return { objects: objects.length, findings: findings.length, bytes, phases, maxRssBytes: process.resourceUsage().maxRSS * 1024 };
}

function runChild(mode: 'e2e' | 'phases', dir: string, nodeArgs: string[] = []): ChildReport {
  const r = spawnSync(process.execPath, [...nodeArgs, '--import', 'tsx', SELF, `--child=${mode}`, dir], { cwd: ROOT, encoding: 'utf8', maxBuffer: 64 << 20 });
  if (r.status !== 0) throw new Error(`child ${mode} failed (${r.status}): ${r.stderr.slice(-2000)}`);
  return JSON.parse(r.stdout.trim().split('\n').pop()!) as ChildReport;
}

const perSec = (n: number, msec: number): number => (n * 1000) / msec;
const per1k = (n: number, msec: number): string => (msec / (n / 1000)).toFixed(1);

export const run: Bench = async ({ log }) => {
  if (env.BENCH_LINT_SOURCE !== '1') ensureBuilt({ force: true, log });
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-lint-'));
  try {
    log(`generating ${int(OBJECTS)} objects in ${NAMESPACES} files under ${dir} ...`);
    const corpus = generateCorpus({ objects: OBJECTS, namespaces: NAMESPACES });
    let bytes = 0;
    mkdirSync(`${dir}-json`);
    let jsonBytes = 0;
    corpus.forEach((objs, i) => {
      const text = toYamlFile(objs);
      bytes += text.length;
      writeFileSync(join(dir, `ns-${String(i).padStart(3, '0')}.yaml`), text);
      const json = JSON.stringify({ apiVersion: 'v1', kind: 'List', items: objs }, null, 4);
      jsonBytes += json.length;
      writeFileSync(join(`${dir}-json`, `ns-${String(i).padStart(3, '0')}.json`), json);
    });
    const kinds: Record<string, number> = {};
    for (const o of corpus.flat()) kinds[o['kind'] as string] = (kinds[o['kind'] as string] ?? 0) + 1;
    const e2e: ChildReport[] = [];
    const ph: ChildReport[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      log(`round ${i + 1}/${ROUNDS}: end to end ...`);
      e2e.push(runChild('e2e', dir));
      log(`  ${int(perSec(e2e[i]!.objects, e2e[i]!.phases['total']!.wallMs))} objects/s wall, ${int(perSec(e2e[i]!.objects, e2e[i]!.phases['total']!.cpuMs))} objects/s CPU`);
      log(`round ${i + 1}/${ROUNDS}: phases ...`);
      ph.push(runChild('phases', dir));
    }
    // One core, nothing in parallel: V8 compiles and collects garbage on the main thread.
    const single: ChildReport[] = [];
    for (let i = 0; i < ROUNDS; i++) {
      log(`round ${i + 1}/${ROUNDS}: end to end with node --single-threaded ...`);
      single.push(runChild('e2e', dir, ['--single-threaded']));
    }
    const n = e2e[0]!.objects;
    const bestE2e = e2e.reduce((a, b) => (b.phases['total']!.cpuMs < a.phases['total']!.cpuMs ? b : a));
    const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
    const medianWallMs = median(e2e.map((r) => r.phases['total']!.wallMs));
    const medianCpuMs = median(e2e.map((r) => r.phases['total']!.cpuMs));
    const bestPh = ph.reduce((a, b) => (b.phases['lint']!.cpuMs < a.phases['lint']!.cpuMs ? b : a));
    const metrics: Record<string, number> = {
      'e2e.objectsPerSec.wall': perSec(n, medianWallMs),
      'e2e.objectsPerSec.cpu': perSec(n, medianCpuMs),
      'e2e.objectsPerSec.bestWall': perSec(n, Math.min(...e2e.map((r) => r.phases['total']!.wallMs))),
      'lint.objectsPerSec.cpu': perSec(n, bestPh.phases['lint']!.cpuMs),
      'lintMemory.objectsPerSec.cpu': perSec(n, bestPh.phases['lintMemory']!.cpuMs),
      'e2e.maxRss': bestE2e.maxRssBytes,
      'e2e.singleThreaded.objectsPerSec': perSec(n, median(single.map((r) => r.phases['total']!.wallMs))),
    };
    const rounds = e2e.map((r, i) => [
      String(i + 1),
      `${int(r.phases['total']!.wallMs)} ms`,
      `${int(r.phases['total']!.cpuMs)} ms`,
      int(perSec(n, r.phases['total']!.wallMs)),
      int(perSec(n, r.phases['total']!.cpuMs)),
      mib(r.maxRssBytes),
    ]);
    const phaseNames: [string, string][] = [
      ['load', 'load: read + parse YAML + guards'],
      ['load.json', `load the same objects as JSON Lists (${mib(jsonBytes)} MiB)`],
      ['index', 'buildIndex'],
      ['single', `single-object checks (${ALL_CHECKS.filter((c) => c.scope === 'object').length})`],
      ['cross', `cross-object checks (${ALL_CHECKS.filter((c) => c.scope === 'cross').length})`],
      ['lint', 'lintObjects, all checks (loaded objects, with sources)'],
      ['lintMemory', 'lintObjects, all checks (in-memory objects, no sources)'],
      ['format.human', 'format human'],
      ['format.json', 'format json'],
      ['format.sarif', 'format sarif'],
      ['format.junit', 'format junit'],
    ];
    const phaseRows = phaseNames.map(([k, label]) => {
      const t = bestPh.phases[k]!;
      return [label, `${int(t.wallMs)} ms`, `${int(t.cpuMs)} ms`, per1k(n, t.cpuMs), int(perSec(n, t.cpuMs))];
    });
    const ok = metrics['e2e.objectsPerSec.wall']! >= TARGET;
    const okCpu = metrics['e2e.objectsPerSec.cpu']! >= TARGET;
    const okSingle = metrics['e2e.singleThreaded.objectsPerSec']! >= TARGET;
    const markdown = [
      `Corpus: ${int(n)} objects in ${corpus.length} multi-document YAML files (${mib(bytes)} MiB): ` +
        Object.entries(kinds).sort((a, b) => b[1] - a[1]).map(([k, v]) => `${int(v)} ${k}`).join(', ') +
        `. Findings: ${int(bestPh.findings)} (human output ${mib(bestPh.bytes)} MiB).`,
      '',
      `End to end (\`lintCommand([DIR])\` = \`kubelite lint DIR\` minus process start-up, ${env.BENCH_LINT_SOURCE === '1' ? 'TypeScript sources through tsx' : 'the compiled dist/ that bin/kubelite.js runs'}), ${ROUNDS} rounds, each in a fresh process. Target: ≥ ${int(TARGET)} objects/s.`,
      '',
      table(['round', 'wall', 'CPU (user+sys)', 'objects/s (wall)', 'objects/s (CPU)', 'peak RSS MiB'], rounds),
      '',
      `Target ${ok ? 'met' : '**missed**'}: median round ${int(metrics['e2e.objectsPerSec.wall']!)} objects/s by wall time (how kubeconform's figure is measured; ` +
        `best round ${int(metrics['e2e.objectsPerSec.bestWall']!)}). By CPU time (user + system of the whole process, V8's parallel GC threads included) ` +
        `the median is ${int(metrics['e2e.objectsPerSec.cpu']!)} objects/s: ${okCpu ? 'also above' : '**below**'} the target; that counts the parallel threads' overhead too. ` +
        `On one core with nothing in parallel (\`node --single-threaded\`: compiler and garbage collector on the main thread, so wall = CPU), ` +
        `the median of ${ROUNDS} rounds is ${int(metrics['e2e.singleThreaded.objectsPerSec']!)} objects/s (${single.map((r) => int(perSec(n, r.phases['total']!.wallMs))).join(', ')}): ${okSingle ? 'above' : '**below**'} the target.`,
      '',
      `Per phase (best of ${ROUNDS} phase runs by lint CPU time; peak RSS of that process ${mib(bestPh.maxRssBytes)} MiB):`,
      '',
      table(['phase', 'wall', 'CPU', 'CPU ms per 1k objects', 'objects/s (CPU)'], phaseRows),
      '',
      'The single and cross rows are `lintObjects` restricted to that scope on a prebuilt index (they include the runner\'s ' +
        'sorting and locating of their own findings); the full lint row builds its own index.',
    ].join('\n');
    return { title: TITLE, markdown, metrics };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    rmSync(`${dir}-json`, { recursive: true, force: true });
  }
};

/** A child measurement (see runChild): one JSON line on stdout. */
async function child(mode: string, dir: string): Promise<void> {
  const report = mode === '--child=e2e' ? await childEndToEnd(dir) : await childPhases(dir);
  process.stdout.write(`${JSON.stringify(report)}\n`);
}

if (isMain(import.meta.url)) {
  const mode = process.argv.find((a) => a.startsWith('--child='));
  if (mode) {
    child(mode, process.argv[process.argv.length - 1]!).then(
      () => process.exit(0),
      (err) => {
        process.stderr.write(`${(err as Error).stack ?? err}\n`);
        process.exit(1);
      },
    );
  } else {
    runWritingResults(run, {
      name: 'lint',
      heading: 'kubelite lint benchmark',
      generatedBy: '`node --import tsx bench/lint.ts` (or `npm run bench -- --only lint`)',
      busyNote: 'other processes shared the 2 CPUs with the single-process lint runs, so these numbers are pessimistic and noisy.',
    });
  }
}
