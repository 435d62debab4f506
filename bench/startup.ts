/**
 * Start-to-ready: spawns the built CLI (`node bin/kubelite.js up`) and measures wall time from
 * spawn to (a) the `kubelite ready` line on stdout and (b) the first 200 from GET /readyz.
 * Runs on a fresh data dir (PKI generated, sqlite created) and on an existing one (second
 * start). Target: ready in under 1 s.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cliArgs, ensureBuilt, type StoreKind } from './lib/server.js';
import { ms, summarize, table } from './lib/stats.js';
import { isMain, runStandalone, sleep, type Bench, type BenchResult } from './lib/result.js';

const RUNS = 10;

/** A port that was free a moment ago (the CLI needs it up front so /readyz can be polled). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

function readyzOnce(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    // The CA may not exist before this start (fresh dir), so the poll does not verify it:
    // it only asks whether the server answers.
    const req = request({ host: '127.0.0.1', port, path: '/readyz', method: 'GET', rejectUnauthorized: false, agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode === 200));
    });
    req.on('error', () => resolve(false));
    req.setTimeout(1000, () => req.destroy());
    req.end();
  });
}

interface StartTiming {
  readyLine: number;
  readyz: number;
  /** The CLI's own figure for `up()` (store, PKI, listen, bootstrap), from its first line. */
  upMs: number;
}

/** One start: spawn, time both signals, then SIGTERM and wait for a clean exit. */
async function startOnce(store: StoreKind, dataDir: string): Promise<StartTiming> {
  const port = await freePort();
  const t0 = performance.now();
  const child = spawn(process.execPath, cliArgs(store, dataDir, `127.0.0.1:${port}`), { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  let out = '';
  let err = '';
  let dead = false;
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  child.once('exit', () => (dead = true));
  const readyLine = new Promise<number>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('kubelite ready')) resolve(performance.now() - t0);
    });
    child.once('exit', (code) => reject(new Error(`kubelite exited ${code} before ready: ${err}`)));
  });
  readyLine.catch(() => undefined);
  let readyz = NaN;
  const deadline = t0 + 15_000;
  while (!dead && performance.now() < deadline) {
    if (await readyzOnce(port)) {
      readyz = performance.now() - t0;
      break;
    }
    await sleep(2);
  }
  const line = await readyLine;
  child.kill('SIGTERM');
  await exited;
  if (!Number.isFinite(readyz)) throw new Error(`/readyz never answered 200 (stderr: ${err})`);
  const upMs = Number(/store ready, (\d+) ms/.exec(out)?.[1] ?? NaN);
  return { readyLine: line, readyz, upMs };
}

/** Spawn-to-exit of `node -e 0`: the floor any Node CLI pays before its own code runs. */
async function nodeBaseline(): Promise<number> {
  const t0 = performance.now();
  const child = spawn(process.execPath, ['-e', '0'], { stdio: 'ignore' });
  await new Promise((r) => child.once('exit', r));
  return performance.now() - t0;
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  ensureBuilt({ log });
  const cases: { label: string; key: string; store: StoreKind; fresh: boolean }[] = [
    { label: 'sqlite, fresh data dir', key: 'sqlite.fresh', store: 'sqlite', fresh: true },
    { label: 'sqlite, existing data dir', key: 'sqlite.existing', store: 'sqlite', fresh: false },
    { label: 'memory, existing data dir (PKI reused)', key: 'memory.existing', store: 'memory', fresh: false },
  ];
  const rows: string[][] = [];
  const metrics: Record<string, number> = {};
  const base: number[] = [];
  for (let i = 0; i < RUNS; i++) base.push(await nodeBaseline());
  const b = summarize(base);
  for (const c of cases) {
    log(`startup: ${c.label} x${RUNS}`);
    const lines: number[] = [];
    const readyz: number[] = [];
    const ups: number[] = [];
    const shared = mkdtempSync(join(tmpdir(), 'kubelite-bench-start-'));
    try {
      if (!c.fresh) await startOnce(c.store, shared); // initialize, not measured
      for (let i = 0; i < RUNS; i++) {
        const dir = c.fresh ? mkdtempSync(join(tmpdir(), 'kubelite-bench-start-')) : shared;
        try {
          const t = await startOnce(c.store, dir);
          lines.push(t.readyLine);
          readyz.push(t.readyz);
          ups.push(t.upMs);
        } finally {
          if (c.fresh) rmSync(dir, { recursive: true, force: true });
        }
      }
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
    const l = summarize(lines);
    const z = summarize(readyz);
    const u = summarize(ups);
    metrics[`${c.key}.readyLine.p50`] = l.p50;
    metrics[`${c.key}.readyLine.max`] = l.max;
    metrics[`${c.key}.readyz.p50`] = z.p50;
    metrics[`${c.key}.readyz.max`] = z.max;
    rows.push([c.label, String(RUNS), ms(l.p50), ms(l.max), ms(z.p50), ms(z.max), ms(u.p50), l.max < 1000 ? 'yes' : 'NO']);
  }
  metrics['node.baseline.p50'] = b.p50;
  const markdown = [
    table(['case', 'runs', '`ready` line p50 ms', '`ready` line max ms', 'first /readyz 200 p50 ms', 'first /readyz 200 max ms', 'of which `up()` p50 ms', '< 1 s'], rows),
    '',
    `Wall time from spawn of \`node bin/kubelite.js up\` (compiled dist/). /readyz is polled from spawn every ~2 ms` +
      ` over a new TLS connection each time, so its figure includes one handshake. \`up()\` is the CLI's own timing of` +
      ` store open + PKI + listen + bootstrap (printed as "store ready, N ms"); the rest of the time is Node start-up and` +
      ` module loading. For scale: spawning \`node -e 0\` takes p50 ${ms(b.p50)} ms, max ${ms(b.max)} ms on this machine.`,
  ].join('\n');
  return { title: 'Start to ready', markdown, metrics };
};

if (isMain(import.meta.url)) runStandalone(run);
