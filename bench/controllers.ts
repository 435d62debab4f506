/**
 * Controller benchmarks (issue 4), run in one process with `kubelite up`'s own controllers and
 * fake nodes (test/fakenode.ts) that write the pod status a kubelet would:
 *
 * 1. Endpoint latency: pods flip to Ready at a fixed rate (1,000 status writes/s) and we time
 *    from the moment the Ready status write is issued to the moment an EndpointSlice informer
 *    shows that pod's endpoint ready — for 1 Service x 1,000 pods and 1,000 Services x 10 pods.
 *    Target: p99 < 100 ms.
 * 2. Scale-up: a Deployment scaled 0 → 1,000 replicas, timed until status.readyReplicas and
 *    availableReplicas are 1,000 (ReplicaSet creates, scheduler binds, fake nodes run, status
 *    flows back). Target: < 10 s.
 *
 * Both on the default sqlite store and on memory:// for the store's share.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { RunningCluster } from '../src/cli/up.js';
import type { KObject } from '../src/api/types.js';
import { ensureBuilt, ROOT, STORES, type StoreKind } from './lib/server.js';
import { int, ms, summarize, table, type Summary } from './lib/stats.js';
import { isMain, runStandalone, sleep, type Bench, type BenchResult } from './lib/result.js';

/**
 * The compiled kubelite (dist/), typed as its sources: the numbers are for what `npm start`
 * runs, not for tsx's on-the-fly transpiled code.
 */
async function runtime(): Promise<{
  up: typeof import('../src/cli/up.js').up;
  client: typeof import('../src/client/client.js');
  informers: typeof import('../src/client/shared-informer.js');
  FakeNode: typeof import('../src/node/fake.js').FakeNode;
}> {
  ensureBuilt();
  const dist = (p: string): string => pathToFileURL(join(ROOT, 'dist', p)).href;
  return {
    up: ((await import(dist('cli/up.js'))) as typeof import('../src/cli/up.js')).up,
    client: (await import(dist('client/client.js'))) as typeof import('../src/client/client.js'),
    informers: (await import(dist('client/shared-informer.js'))) as typeof import('../src/client/shared-informer.js'),
    FakeNode: ((await import(dist('node/fake.js'))) as typeof import('../src/node/fake.js')).FakeNode,
  };
}

const RATE = 1000;
const TARGET_P99_MS = 100;
const TARGET_SCALE_MS = 10_000;

async function cluster(store: StoreKind): Promise<{ c: RunningCluster; dir: string }> {
  const { up } = await runtime();
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-ctl-'));
  const c = await up({
    dataDir: dir,
    listen: '127.0.0.1:0',
    store: store === 'memory' ? 'memory://' : undefined,
    serviceCIDR: '10.96.0.0/12',
    quiet: true,
  });
  return { c, dir };
}

/** CPU profile of a phase (KUBELITE_BENCH_PROFILE=file.cpuprofile), for finding where the time goes. */
async function startProfile(): Promise<(file: string) => Promise<void>> {
  const { Session } = await import('node:inspector');
  const { writeFileSync } = await import('node:fs');
  const session = new Session();
  session.connect();
  const post = (method: string, params?: object): Promise<unknown> =>
    new Promise((resolve, reject) => session.post(method, params, (err, res) => (err ? reject(err) : resolve(res))));
  await post('Profiler.enable');
  await post('Profiler.start');
  return async (file: string): Promise<void> => {
    const { profile } = (await post('Profiler.stop')) as { profile: unknown };
    writeFileSync(file, JSON.stringify(profile));
    session.disconnect();
  };
}

async function waitFor(what: string, fn: () => boolean, timeoutMs = 120_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!fn()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(20);
  }
}

type FakeNode = InstanceType<typeof import('../src/node/fake.js').FakeNode>;

async function nodes(c: RunningCluster, n: number, opts: { pods: number; autoReady: boolean }): Promise<FakeNode[]> {
  const { FakeNode } = await runtime();
  const out: FakeNode[] = [];
  for (let i = 0; i < n; i++) {
    const node = new FakeNode({ registry: c.server.registry, cache: c.server.cache }, { name: `bench-node-${i}`, index: i, cpu: '256', memory: '1Ti', pods: String(opts.pods), autoReady: opts.autoReady, workers: 16 });
    await node.start();
    out.push(node);
  }
  return out;
}

interface LatencyResult {
  latency: Summary;
  flips: number;
  seen: number;
  rate: number;
}

/**
 * services x podsPer not-ready pods (bound round-robin to the nodes), then every pod flipped
 * to Ready at RATE/s; latency = issue of the status write → slice shows the endpoint ready.
 */
export async function endpointLatency(store: StoreKind, shape: { services: number; podsPer: number }, log: (s: string) => void): Promise<LatencyResult> {
  const { client: { LocalClient, PODS, SERVICES, NAMESPACES }, informers: { InformerFactory } } = await runtime();
  const { c, dir } = await cluster(store);
  const total = shape.services * shape.podsPer;
  const fake = await nodes(c, 4, { pods: Math.ceil(total / 4) + 10, autoReady: false });
  const client = new LocalClient(c.server.registry, { manager: 'bench' });
  const informers = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
  const ns = 'bench-eps';
  const flippedAt = new Map<string, number>();
  const latencies: number[] = [];
  const readySeen = new Set<string>();
  let notReadyListed = 0;
  const notReadySeen = new Set<string>();
  try {
    await client.create(NAMESPACES, undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } });
    const slices = informers.for('discovery.k8s.io', 'endpointslices');
    const onSlice = (s: KObject): void => {
      const now = performance.now();
      for (const ep of (s.endpoints ?? []) as { targetRef?: { name: string }; conditions?: { ready?: boolean } }[]) {
        const name = ep.targetRef?.name;
        if (!name) continue;
        if (!ep.conditions?.ready) {
          if (!notReadySeen.has(name)) {
            notReadySeen.add(name);
            notReadyListed++;
          }
          continue;
        }
        if (readySeen.has(name)) continue;
        const at = flippedAt.get(name);
        if (at === undefined) continue;
        readySeen.add(name);
        latencies.push(now - at);
      }
    };
    slices.addHandlers({ onAdd: onSlice, onUpdate: onSlice });
    await informers.start();
    log(`endpoints/${store}: ${shape.services} services x ${shape.podsPer} pods: creating`);
    for (let s = 0; s < shape.services; s++) {
      await client.create(SERVICES, ns, {
        apiVersion: 'v1',
        kind: 'Service',
        metadata: { name: `svc-${s}` },
        spec: { selector: { app: `a${s}` }, ports: [{ port: 80, targetPort: 8080 }] },
      });
    }
    const creates: Promise<unknown>[] = [];
    for (let i = 0; i < total; i++) {
      const s = i % shape.services;
      creates.push(
        client
          .create(PODS, ns, { apiVersion: 'v1', kind: 'Pod', metadata: { name: `p-${i}`, labels: { app: `a${s}` } }, spec: { nodeName: fake[i % fake.length].name, containers: [{ name: 'c', image: 'bench:1', ports: [{ containerPort: 8080 }] }] } }),
      );
      if (creates.length >= 64) await Promise.all(creates.splice(0));
    }
    await Promise.all(creates);
    await waitFor('every pod listed not-ready in a slice', () => notReadyListed >= total);
    await sleep(500);
    log(`endpoints/${store}: flipping ${total} pods to Ready at ${RATE}/s`);
    const profiler = process.env.KUBELITE_BENCH_PROFILE ? await startProfile() : undefined;
    const writes = new Map<string, number>();
    const unsubscribe = c.server.cache.subscribe({
      prefix: '/registry/',
      fromRevision: c.server.cache.latestRevision(),
      onEvent: (ev) => {
        const kind = ev.key.split('/')[2];
        writes.set(kind, (writes.get(kind) ?? 0) + 1);
      },
    });
    const t0 = performance.now();
    const flips: Promise<void>[] = [];
    const writeLatencies: number[] = [];
    for (let i = 0; i < total; i++) {
      const due = t0 + (i * 1000) / RATE;
      const wait = due - performance.now();
      if (wait > 1) await sleep(wait);
      const name = `p-${i}`;
      flippedAt.set(name, performance.now());
      const issued = performance.now();
      flips.push(fake[i % fake.length].setReady(ns, name, true).then(() => void writeLatencies.push(performance.now() - issued)));
    }
    await Promise.all(flips);
    const rate = total / ((performance.now() - t0) / 1000);
    await waitFor('every pod ready in a slice', () => readySeen.size >= total, 30_000).catch(() => undefined);
    await profiler?.(process.env.KUBELITE_BENCH_PROFILE!);
    unsubscribe?.();
    log(`endpoints/${store}: pod status write p50 ${ms(summarize(writeLatencies).p50)} ms, p99 ${ms(summarize(writeLatencies).p99)} ms`);
    log(`endpoints/${store}: writes during the flips: ${[...writes].map(([k, n]) => `${k} ${n}`).join(', ')}`);
    return { latency: summarize(latencies), flips: total, seen: readySeen.size, rate };
  } finally {
    informers.close();
    for (const n of fake) await n.stop();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

interface ScaleResult {
  ms: number;
  created: number;
}

export async function scaleUp(store: StoreKind, replicas: number, log: (s: string) => void): Promise<ScaleResult> {
  const { client: { LocalClient, PODS, DEPLOYMENTS }, informers: { InformerFactory } } = await runtime();
  const { c, dir } = await cluster(store);
  const fake = await nodes(c, 10, { pods: Math.ceil(replicas / 10) + 50, autoReady: true });
  const client = new LocalClient(c.server.registry, { manager: 'bench' });
  const informers = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
  try {
    const deploys = informers.for('apps', 'deployments');
    await informers.start();
    await client.create(DEPLOYMENTS, 'default', {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'scale' },
      spec: { replicas: 0, selector: { matchLabels: { app: 'scale' } }, template: { metadata: { labels: { app: 'scale' } }, spec: { containers: [{ name: 'c', image: 'bench:1' }] } } },
    });
    await sleep(300);
    log(`scale/${store}: 0 -> ${replicas}`);
    const t0 = performance.now();
    await client.mutate(DEPLOYMENTS, 'default', 'scale', (d) => {
      (d.spec as { replicas: number }).replicas = replicas;
      return d;
    });
    const status = (): { readyReplicas?: number; availableReplicas?: number } => (deploys.getBy('default', 'scale')?.status ?? {}) as { readyReplicas?: number; availableReplicas?: number };
    await waitFor(`${replicas} ready replicas`, () => status().readyReplicas === replicas && status().availableReplicas === replicas, 120_000);
    const elapsed = performance.now() - t0;
    const created = (await client.list(PODS, 'default')).length;
    return { ms: elapsed, created };
  } finally {
    informers.close();
    for (const n of fake) await n.stop();
    await c.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

export const run: Bench = async ({ log }): Promise<BenchResult> => {
  const metrics: Record<string, number> = {};
  const latRows: string[][] = [];
  const shapes = [
    { label: '1 Service x 1,000 pods', key: 'one', services: 1, podsPer: 1000 },
    { label: '1,000 Services x 10 pods', key: 'many', services: 1000, podsPer: 10 },
  ];
  for (const store of STORES) {
    for (const shape of shapes) {
      const r = await endpointLatency(store, shape, log);
      metrics[`${store}.${shape.key}.p50`] = r.latency.p50;
      metrics[`${store}.${shape.key}.p99`] = r.latency.p99;
      latRows.push([
        store,
        shape.label,
        `${int(r.seen)} / ${int(r.flips)}`,
        int(r.rate),
        ms(r.latency.p50),
        ms(r.latency.p99),
        ms(r.latency.max),
        r.latency.p99 < TARGET_P99_MS && r.seen === r.flips ? 'yes' : 'NO',
      ]);
    }
  }
  const scaleRows: string[][] = [];
  for (const store of STORES) {
    const r = await scaleUp(store, 1000, log);
    metrics[`${store}.scale.ms`] = r.ms;
    scaleRows.push([store, int(r.created), ms(r.ms), r.ms < TARGET_SCALE_MS ? 'yes' : 'NO']);
  }
  const markdown = [
    table(['store', 'shape', 'seen ready / flipped', 'flips/s achieved', 'p50 ms', 'p99 ms', 'max ms', `p99 < ${TARGET_P99_MS} ms`], latRows),
    '',
    'Pods start not ready on 4 fake nodes (all listed as not-ready endpoints first); then each pod\'s Ready status is written at 1,000/s. ' +
      'Latency is from issuing the pod status write to an EndpointSlice informer (in the same process) seeing the endpoint ready, so it includes the write.',
    '',
    table(['store', 'pods', 'Deployment 0 → 1,000 ready', `< ${TARGET_SCALE_MS / 1000} s`], scaleRows),
    '',
    'The Deployment is scaled from 0 to 1,000 on 10 fake nodes that mark pods Running and Ready as soon as they are bound; ' +
      'timed from the scale write until the Deployment reports 1,000 ready and available replicas.',
  ].join('\n');
  return { title: 'Controllers: endpoint latency and scale-up', markdown, metrics };
};

if (isMain(import.meta.url)) runStandalone(run);
