/**
 * Acceptance 4: property-based fuzzing of the API server. At least 10,000 random and mutated
 * requests (bad JSON, wrong kinds, huge names, invalid selectors and patches, wrong content
 * types, oversized bodies, bad credentials) go to one live cluster; no response is a 5xx, every
 * failure is a proper metav1.Status, the server stays up, and objects the fuzzer may not touch
 * come back byte-for-byte unchanged.
 *
 * Reproduce a failure with the seed fast-check prints: FUZZ_SEED=<seed> [FUZZ_PATH=<path>].
 * Under CI (CI set) the seed is fixed; elsewhere every run explores new inputs.
 * FUZZ_REQUESTS changes the request count (default 10,400); FUZZ_NO_SHRINK=1 skips shrinking;
 * FUZZ_LOG=<file> appends every request before it is sent (to find what crashed the process).
 */
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import fc from 'fast-check';
import { RESOURCES, apiVersionOf } from '../src/api/resources.js';
import { startCluster, type TestCluster } from './harness.js';
import { FUZZ_NAMESPACES, POOL_NAMES, materialize, requestArb, validObject, type Materialized } from './fuzz-requests.js';

const BATCH = 8;
const TOTAL = Number(process.env.FUZZ_REQUESTS ?? 10_400);
const REQUEST_TIMEOUT_MS = 30_000;

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

/** One HTTPS request over a shared keep-alive agent; rejects on a transport error or a hang. */
function send(c: TestCluster, agent: Agent, m: Materialized): Promise<Reply> {
  const url = new URL(c.url);
  return new Promise((resolve, reject) => {
    const headers: Record<string, string> = { ...m.headers };
    // Node frames GET/DELETE/OPTIONS bodies only when told how; unframed bytes would be a malformed stream.
    if (m.body !== undefined) headers[m.chunked ? 'transfer-encoding' : 'content-length'] = m.chunked ? 'chunked' : String(m.body.length);
    const req = request({ host: url.hostname, port: url.port, path: m.path, method: m.method, headers, agent }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.setTimeout(REQUEST_TIMEOUT_MS, () => req.destroy(new Error(`no answer within ${REQUEST_TIMEOUT_MS} ms`)));
    req.on('error', reject);
    if (m.body !== undefined) req.end(m.body);
    else req.end();
  });
}

/** Why a reply breaks the server's contract, or undefined when it keeps it. */
function violation(m: Materialized, r: Reply): string | undefined {
  if (m.expect !== undefined && r.status !== m.expect) return `expected ${m.expect}, got ${r.status}`;
  if (m.authenticated && r.status === 401) return 'valid credentials were refused';
  if (!m.authenticated && !m.public && r.status !== 401) return `missing/invalid credentials were not refused (got ${r.status})`;
  const text = r.body.toString('utf8');
  if (r.status >= 200 && r.status < 300) {
    const ct = String(r.headers['content-type'] ?? '');
    const streaming = String(r.headers['transfer-encoding'] ?? '') === 'chunked';
    if (m.method !== 'HEAD' && !streaming && ct.startsWith('application/json')) {
      try {
        JSON.parse(text);
      } catch {
        return 'a 2xx JSON body does not parse';
      }
    }
    return undefined;
  }
  if (m.method === 'HEAD') return r.status >= 500 ? `status ${r.status}` : undefined;
  let s: Record<string, unknown>;
  try {
    s = JSON.parse(text) as Record<string, unknown>;
  } catch {
    return `status ${r.status} without a JSON Status body`;
  }
  const problems: string[] = [];
  if (s.kind !== 'Status') problems.push('kind is not Status');
  if (s.apiVersion !== 'v1') problems.push('apiVersion is not v1');
  if (s.status !== 'Failure') problems.push('status is not Failure');
  if (s.code !== r.status) problems.push(`code ${String(s.code)} != HTTP ${r.status}`);
  if (typeof s.reason !== 'string' || !s.reason) problems.push('no reason');
  if (typeof s.message !== 'string') problems.push('no message');
  if (r.status >= 500) problems.push(`server error ${r.status}`);
  return problems.length ? problems.join('; ') : undefined;
}

function describeRequest(m: Materialized, r?: Reply): string {
  const body = m.body === undefined ? '(none)' : m.body.length > 400 ? `${m.body.subarray(0, 400).toString('utf8')}… (${m.body.length} bytes)` : m.body.toString('utf8');
  const lines = [`${m.method} ${m.path}`, `headers: ${JSON.stringify({ ...m.headers, authorization: m.headers.authorization ? '<set>' : undefined })}`, `body: ${body}`];
  if (r) lines.push(`→ ${r.status} ${r.body.subarray(0, 600).toString('utf8')}`);
  return lines.join('\n  ');
}

interface Sentinel {
  path: string;
  object: Record<string, unknown>;
}

describe('API server fuzzing', () => {
  let c: TestCluster;
  let agent: Agent;
  const sentinels: Sentinel[] = [];

  const json = async (method: string, path: string, body?: unknown): Promise<{ status: number; obj: Record<string, unknown> }> => {
    const r = await c.http(method, path, body === undefined ? {} : { body: JSON.stringify(body) });
    return { status: r.status, obj: r.json() };
  };

  before(async () => {
    c = await startCluster({ store: 'sqlite', controllers: false });
    agent = new Agent({ keepAlive: true, maxSockets: BATCH, ca: c.caCertPem });
    for (const name of [...FUZZ_NAMESPACES, 'sentinels', 'sentinels-2']) {
      const r = await json('POST', '/api/v1/namespaces', { metadata: { name } });
      assert.ok(r.status === 201 || r.status === 409, `namespace ${name}: ${r.status}`);
    }
    // Sentinels: objects the fuzzer may read but never write.
    const made: string[] = [];
    const create = async (base: string, plural: string, obj: Record<string, unknown>): Promise<void> => {
      const r = await json('POST', `${base}/${plural}`, obj);
      assert.equal(r.status, 201, `sentinel ${plural}: ${JSON.stringify(r.obj)}`);
      made.push(`${base}/${plural}/${(obj.metadata as { name: string }).name}`);
    };
    for (const ns of ['sentinels', 'sentinels-2']) {
      const core = `/api/v1/namespaces/${ns}`;
      await create(core, 'configmaps', { metadata: { name: 'sentinel-cm-1', labels: { app: 'fuzz' } }, data: { k: 'v', 'a.b': 'é😀' } });
      await create(core, 'configmaps', { metadata: { name: 'sentinel-cm-2' }, binaryData: { bin: 'aGVsbG8=' } });
      await create(core, 'secrets', { metadata: { name: 'sentinel-secret' }, type: 'Opaque', data: { password: 'aHVudGVyMg==' } });
      await create(core, 'services', { metadata: { name: 'sentinel-svc', labels: { app: 'fuzz' } }, spec: { selector: { app: 'fuzz' }, ports: [{ port: 80, targetPort: 8080 }] } });
      await create(`/apis/apps/v1/namespaces/${ns}`, 'deployments', {
        metadata: { name: 'sentinel-deploy', labels: { app: 'fuzz' } },
        spec: { replicas: 2, selector: { matchLabels: { app: 'fuzz' } }, template: { metadata: { labels: { app: 'fuzz' } }, spec: { containers: [{ name: 'c', image: 'nginx:1' }] } } },
      });
    }
    made.push('/api/v1/namespaces/sentinels', '/api/v1/namespaces/sentinels-2');
    // Targets for PUT/PATCH/DELETE: a few pool objects of every kind in the fuzz namespaces.
    for (const res of RESOURCES) {
      if (res.plural === 'bindings' || res.plural === 'namespaces' || res.storageOf) continue;
      const prefix = `/${res.group ? `apis/${res.group}` : 'api'}/${res.version}`;
      for (const ns of res.namespaced ? FUZZ_NAMESPACES.slice(0, 2) : [undefined]) {
        for (const name of POOL_NAMES.slice(0, 2)) {
          const obj = validObject(res, name);
          delete (obj.metadata as Record<string, unknown>).annotations;
          await c.http('POST', `${prefix}${ns ? `/namespaces/${ns}` : ''}/${res.plural}`, { body: JSON.stringify(obj) });
        }
      }
    }
    // Let any controller settle, then record the sentinels as they are.
    await new Promise((r) => setTimeout(r, 500));
    for (const path of made) {
      const r = await json('GET', path);
      assert.equal(r.status, 200, path);
      sentinels.push({ path, object: r.obj });
    }
  });

  after(async () => {
    agent?.destroy();
    await c?.close();
  });

  it('answers what the fuzzer once broke with a 4xx Status', async () => {
    const cm = JSON.stringify({ metadata: { name: 'regress' } });
    const cases: { method: string; path: string; body?: string; headers?: Record<string, string>; code: number }[] = [
      // Writes through the all-namespaces path would store objects outside a namespace or empty them all.
      { method: 'POST', path: '/api/v1/configmaps', body: cm, code: 405 },
      { method: 'DELETE', path: '/api/v1/configmaps', code: 405 },
      { method: 'DELETE', path: '/api/v1/namespaces', code: 405 },
      // A non-GET on a legacy watch path used to open a watch that never ended.
      { method: 'DELETE', path: '/api/v1/watch/namespaces/fuzz/configmaps/obj-1', code: 405 },
      { method: 'POST', path: '/api/v1/watch/namespaces/fuzz/configmaps', body: cm, code: 405 },
      { method: 'GET', path: '/api/v1/namespaces/%ZZ/configmaps', code: 400 },
      { method: 'GET', path: '//', headers: { authorization: 'Bearer wrong' }, code: 401 },
      { method: 'GET', path: '/api/v1/namespaces/fuzz/configmaps?limit=99999999999999999999', code: 400 },
      { method: 'POST', path: '/api/v1/namespaces/fuzz/configmaps', body: 'a: &x [*x]', headers: { 'content-type': 'application/yaml' }, code: 400 },
      { method: 'POST', path: '/api/v1/namespaces/fuzz/configmaps', body: '- '.repeat(8000) + 'x', headers: { 'content-type': 'application/yaml' }, code: 400 },
      { method: 'PUT', path: '/api/v1/namespaces/fuzz/configmaps/obj-1', body: '{"a":'.repeat(5000) + '1' + '}'.repeat(5000), code: 400 },
      {
        method: 'PATCH',
        path: '/api/v1/namespaces/fuzz/configmaps/obj-1',
        body: `[{"op":"add","path":"/metadata/labels","value":${'{"a":'.repeat(5000)}1${'}'.repeat(5000)}}]`,
        headers: { 'content-type': 'application/json-patch+json' },
        code: 400,
      },
    ];
    for (const k of cases) {
      const headers = { authorization: `Bearer ${c.token}`, ...k.headers };
      const authenticated = headers.authorization === `Bearer ${c.token}`;
      const m: Materialized = { method: k.method, path: k.path, headers, body: k.body === undefined ? undefined : Buffer.from(k.body), chunked: false, authenticated, public: false, expect: k.code };
      if (k.body !== undefined && !m.headers['content-type']) m.headers['content-type'] = 'application/json';
      const r = await send(c, agent, m);
      assert.equal(violation(m, r), undefined, describeRequest(m, r));
    }
  });

  it(`answers ${TOTAL} random and mutated requests without a 5xx, always with a Status on failure`, async () => {
    const counts = new Map<number, number>();
    let sent = 0;
    // Random locally (new inputs every run); fixed under CI so a landing is reproducible.
    const seed = process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : process.env.CI ? 20261126 : undefined;
    const started = Date.now();
    await fc.assert(
      fc.asyncProperty(fc.array(requestArb, { minLength: BATCH, maxLength: BATCH }), async (specs) => {
        await Promise.all(
          specs.map(async (spec) => {
            const m = materialize(spec, c.token);
            if (process.env.FUZZ_LOG) appendFileSync(process.env.FUZZ_LOG, describeRequest(m) + '\n');
            let r: Reply;
            try {
              r = await send(c, agent, m);
            } catch (err) {
              throw new Error(`transport failure: ${(err as Error).message}\n  ${describeRequest(m)}`);
            }
            sent++;
            counts.set(r.status, (counts.get(r.status) ?? 0) + 1);
            const why = violation(m, r);
            if (why) throw new Error(`${why}\n  ${describeRequest(m, r)}`);
          }),
        );
      }),
      { numRuns: Math.ceil(TOTAL / BATCH), seed, path: process.env.FUZZ_PATH, endOnFailure: !!process.env.FUZZ_NO_SHRINK, includeErrorInReport: true },
    );
    const summary = [...counts.entries()].sort((a, b) => a[0] - b[0]).map(([s, n]) => `${s}×${n}`).join(' ');
    console.log(`fuzz: ${sent} requests in ${((Date.now() - started) / 1000).toFixed(1)}s; statuses ${summary}`);
    assert.ok(sent >= Math.min(TOTAL, 10_000), `sent ${sent} requests`);
  });

  it('is still healthy and serving afterwards', async () => {
    const fresh = await c.http('GET', '/healthz', { token: null });
    assert.equal(fresh.status, 200);
    assert.equal(fresh.body, 'ok');
    const v = await c.http('GET', '/version');
    assert.equal(v.status, 200);
  });

  it('left every sentinel object untouched', async () => {
    for (const s of sentinels) {
      const r = await json('GET', s.path);
      assert.equal(r.status, 200, `${s.path} is gone`);
      assert.deepEqual(r.obj, s.object, `${s.path} changed`);
    }
  });

  it('can still list, table-print and watch every stored kind', async () => {
    for (const res of RESOURCES) {
      if (res.plural === 'bindings') continue; // create-only
      const path = `/${res.group ? `apis/${res.group}` : 'api'}/${res.version}/${res.plural}`;
      const list = await c.http('GET', path);
      assert.equal(list.status, 200, `${path}: ${list.body.slice(0, 300)}`);
      const parsed = list.json<{ kind: string; apiVersion: string; items: unknown[] }>();
      assert.equal(parsed.kind, `${res.kind}List`);
      assert.equal(parsed.apiVersion, apiVersionOf(res));
      const table = await c.http('GET', path, { headers: { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' } });
      assert.equal(table.status, 200, `${path} as Table: ${table.body.slice(0, 300)}`);
      assert.equal(table.json<{ rows: unknown[] }>().rows.length, parsed.items.length, `${path}: table rows`);
      const watch = await c.http('GET', `${path}?watch=true&timeoutSeconds=0`);
      assert.equal(watch.status, 200, `${path} watch`);
      const events = watch.body.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { type: string });
      assert.equal(events.filter((e) => e.type === 'ADDED').length, parsed.items.length, `${path}: watch replays every object`);
    }
  });
});
