import { openSqliteBackend } from '../src/storage/sqlite.js';
import { mkdtempSync } from 'node:fs';
import { summarize } from './lib/stats.js';
for (const sync of ['full', 'normal'] as const) {
  const dir = mkdtempSync('/tmp/kubelite-diag-');
  const b = await openSqliteBackend(`${dir}/s.db`, { synchronous: sync });
  const lat: number[] = [];
  const t0 = performance.now();
  for (let i = 0; i < 3000; i++) { const s = performance.now(); await b.create(`/registry/configmaps/x/k${i}`, JSON.stringify({ a: 'x'.repeat(300) })); lat.push(performance.now() - s); }
  const el = performance.now() - t0;
  const s = summarize(lat);
  console.log(sync, `${(3000 / el * 1000).toFixed(0)} creates/s, p50 ${s.p50.toFixed(3)} p99 ${s.p99.toFixed(3)} max ${s.max.toFixed(2)} ms`);
  await b.close();
}
