import fc from 'fast-check';
import { startCluster } from './harness.js';
import { materialize, requestArb } from './fuzz-requests.js';
const c = await startCluster({ store: 'memory' });
for (const ns of ['fuzz', 'fuzz-2']) await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: ns } }) });
const specs = fc.sample(requestArb, { numRuns: 800, seed: 1 });
const byMethod = new Map<string, Map<number, number>>();
for (const s of specs) {
  const m = materialize(s, c.token);
  const r = await c.http(m.method, m.path, { body: m.body, headers: m.body ? { ...m.headers, 'content-length': String(m.body.length) } : m.headers, token: null });
  const k = m.method + (s.path.t === 'resource' ? (s.path.name === null ? ' coll' : ' named') : ' raw');
  const mm = byMethod.get(k) ?? new Map(); byMethod.set(k, mm); mm.set(r.status, (mm.get(r.status) ?? 0) + 1);
  if (m.method === 'POST' && r.status !== 201 && r.status !== 401 && r.status !== 401 && process.env.V) console.log(r.status, m.path.slice(0, 80), r.body.slice(0, 160));
}
for (const [k, v] of byMethod) console.log(k, [...v.entries()].map(([a, b]) => `${a}×${b}`).join(' '));
await c.close();
