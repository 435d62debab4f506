/**
 * Added latency of admission lint (issue 9: target < 1 ms per create). A namespace holds a few
 * hundred realistic objects (bench/lib/lintcorpus.ts: workloads with their Services, ConfigMaps,
 * Secrets, PDBs, HPAs, Ingresses, NetworkPolicies); then:
 *
 * 1. in-process: `LintAdmission.findings` of a small Deployment against that state (the whole
 *    added work of a create: index of the namespace + every admission check); then with the
 *    namespace changing between writes (Deployment/Service pairs, each stored after its write:
 *    the per-kind caches must be patched, not rebuilt, for this to stay flat as it grows);
 * 2. end to end: HTTPS creates of small Deployments (one client, keep-alive, memory store, no
 *    controllers), alternating rounds with `--lint-admission=off` and `warn`; the difference of
 *    the medians is the added latency as a client sees it.
 *
 * Run: node --import tsx bench/lint-admission.ts [OBJECTS=300] [CREATES=400]
 * (tsx's transpiled closures cost noticeably more than tsc's output: for the real number, run the
 * compiled bench/lint-admission.js of a `tsc --outDir` build.)
 */
import { Agent, request } from 'node:https';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { up } from '../src/cli/up.js';
import { internalContext } from '../src/apiserver/registry/strategy.js';
import { STATE_KINDS } from '../src/apiserver/admission/state.js';
import { LintAdmission } from '../src/apiserver/admission/lint.js';
import type { KObject } from '../src/api/types.js';
import { generateCorpus } from './lib/lintcorpus.js';

const OBJECTS = Number(process.argv[2] ?? 300);
const CREATES = Number(process.argv[3] ?? 400);
const NS = 'bench';

function smallDeployment(name: string): KObject {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name, namespace: NS },
    spec: {
      replicas: 1,
      selector: { matchLabels: { app: name } },
      template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'web', image: 'nginx:latest', ports: [{ name: 'http', containerPort: 80 }] }] } },
    },
  } as KObject;
}

function smallService(name: string): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: { type: 'ClusterIP', selector: { app: name }, ports: [{ port: 80, targetPort: 'http', protocol: 'TCP' }] },
  } as KObject;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'kubelite-bench-lintadm-'));
  const cluster = await up({ dataDir: dir, listen: '127.0.0.1:0', store: 'memory://', serviceCIDR: '10.96.0.0/12', controllers: false, quiet: true, lintAdmission: 'warn' });
  try {
    const { registry } = cluster.server;
    const ctx = internalContext('bench');
    await registry.must('', 'namespaces').create(undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } as KObject, ctx);
    const corpus = generateCorpus({ objects: OBJECTS * 2, namespaces: 1 })[0]!;
    let stored = 0;
    for (const raw of corpus) {
      if (stored >= OBJECTS) break;
      const kind = String(raw['kind']);
      if (!STATE_KINDS.has(kind)) continue;
      const store = registry.all().find((s) => s.res.kind === kind);
      if (!store) continue;
      const obj = JSON.parse(JSON.stringify(raw)) as KObject;
      obj.metadata.namespace = NS;
      try {
        await store.create(NS, obj, ctx);
        stored++;
      } catch {
        // a corpus object this server refuses (e.g. an invalid mistake on purpose): skip it
      }
    }
    const lint = cluster.server.lint;
    const state = (lint as unknown as { state: { objects(ns: string): readonly KObject[] } }).state;
    for (let i = 0; i < 200 && state.objects(NS).length < stored; i++) await new Promise((r) => setTimeout(r, 10));
    console.log(`namespace ${NS}: ${stored} objects stored, ${state.objects(NS).length} held by admission state`);

    // 1. in-process
    const probe = smallDeployment('probe');
    for (let i = 0; i < 300; i++) lint.findings(probe);
    const inproc: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      lint.findings(probe);
      inproc.push(performance.now() - t);
    }
    const findings = lint.findings(probe).length;
    console.log(`in-process findings() of a small Deployment (${findings} findings): p50 ${quantile(inproc, 0.5).toFixed(3)} ms, p90 ${quantile(inproc, 0.9).toFixed(3)} ms, p99 ${quantile(inproc, 0.99).toFixed(3)} ms`);
    const alone = new LintAdmission({ mode: 'warn' });
    const aloneT: number[] = [];
    for (let i = 0; i < 2000; i++) {
      const t = performance.now();
      alone.findings(probe);
      aloneT.push(performance.now() - t);
    }
    console.log(`  (same object, empty namespace: p50 ${quantile(aloneT, 0.5).toFixed(3)} ms)`);
    // The namespace changing between writes (as under `kubectl apply` of many apps): a Deployment
    // and its Service, each put into the state after its write, so every write follows a change of
    // a kind its lookups read (Deployment templates for the Service, Services for the Deployment).
    const churn: number[] = [];
    const put = (o: KObject): void => (lint as unknown as { state: { put(o: KObject): void } }).state.put(o);
    for (let i = 0; i < 1200; i++) {
      const d = smallDeployment(`churn-${i}`);
      const s = smallService(`churn-${i}`);
      for (const o of [d, s]) {
        const t = performance.now();
        lint.findings(o);
        if (i >= 200) churn.push(performance.now() - t);
        put(o);
      }
    }
    console.log(`  (namespace changing between writes, ${churn.length} Deployment/Service writes, each then stored: p50 ${quantile(churn, 0.5).toFixed(3)} ms, p90 ${quantile(churn, 0.9).toFixed(3)} ms)`);
    for (let i = 0; i < 1200; i++) for (const o of [smallDeployment(`churn-${i}`), smallService(`churn-${i}`)]) (lint as unknown as { state: { remove(o: KObject): void } }).state.remove(o);

    // 2. end to end
    const url = new URL(cluster.url);
    const agent = new Agent({ keepAlive: true, maxSockets: 1, ca: cluster.caCertPem });
    let n = 0;
    const create = (): Promise<number> =>
      new Promise((resolve, reject) => {
        const body = JSON.stringify(smallDeployment(`d-${n++}`));
        const t = performance.now();
        const req = request({ host: url.hostname, port: url.port, path: `/apis/apps/v1/namespaces/${NS}/deployments`, method: 'POST', agent, headers: { authorization: `Bearer ${cluster.token}`, 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) } }, (res) => {
          res.resume();
          res.on('end', () => (res.statusCode === 201 ? resolve(performance.now() - t) : reject(new Error(`create: ${res.statusCode}`))));
        });
        req.on('error', reject);
        req.end(body);
      });
    for (let i = 0; i < 50; i++) await create();
    // Time spent inside admission lint during the HTTP creates (to tell lint from the rest).
    const inner: number[] = [];
    const findings0 = lint.findings.bind(lint);
    lint.findings = (o) => {
      const t = performance.now();
      try {
        return findings0(o);
      } finally {
        inner.push(performance.now() - t);
      }
    };
    const times: Record<'off' | 'warn', number[]> = { off: [], warn: [] };
    const rounds = 8;
    for (let r = 0; r < rounds; r++) {
      for (const mode of r % 2 ? (['warn', 'off'] as const) : (['off', 'warn'] as const)) {
        await lint.setMode(mode);
        for (let i = 0; i < CREATES / rounds / 2; i++) times[mode].push(await create());
      }
    }
    const off = quantile(times.off, 0.5);
    const warn = quantile(times.warn, 0.5);
    console.log(`HTTPS create of a small Deployment, median over ${times.off.length} each: off ${off.toFixed(3)} ms, warn ${warn.toFixed(3)} ms, added ${(warn - off).toFixed(3)} ms (p90 off ${quantile(times.off, 0.9).toFixed(3)}, warn ${quantile(times.warn, 0.9).toFixed(3)})`);
    console.log(`  inside findings() during the warn creates: p50 ${quantile(inner, 0.5).toFixed(3)} ms, p90 ${quantile(inner, 0.9).toFixed(3)} ms (${inner.length} calls)`);
    agent.destroy();
  } finally {
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
