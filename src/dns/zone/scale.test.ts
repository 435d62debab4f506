import { test } from 'node:test';
import assert from 'node:assert/strict';
import { RRClass, RRType } from '../types.js';
import { ClusterZone } from './index.js';
import { service, slice } from './testutil.js';

/**
 * 10,000 Services (half headless with three endpoints each): loading, updating and answering
 * stay cheap. Bounds are ~10x what a laptop does so a busy CI machine passes, yet a full-zone
 * rebuild per change or a scan per query would blow them.
 */
test('10,000 services: incremental updates and fast answers', () => {
  const zone = new ClusterZone();
  zone.upsertNamespace('ns');
  const add = (i: number, port: number): void => {
    const headless = i % 2 === 0;
    zone.upsertService(service('ns', `svc-${i}`, { clusterIP: headless ? 'None' : `10.96.${i >> 8}.${i & 255}`, ports: [{ name: 'http', port }] }));
    if (headless) {
      const eps = [0, 1, 2].map((k) => ({ ip: `10.${k + 1}.${i >> 8}.${i & 255}`, hostname: `h${k}` }));
      zone.upsertEndpointSlice(slice('ns', `svc-${i}-a`, `svc-${i}`, eps, [{ name: 'http', port: 8080, protocol: 'TCP' }]));
    }
  };
  let t = performance.now();
  for (let i = 0; i < 10_000; i++) add(i, 80);
  assert.ok(performance.now() - t < 10_000, 'load');

  // Updates on the full zone: each touches only its own entries.
  t = performance.now();
  for (let i = 0; i < 2_000; i++) add(i, 81);
  assert.ok(performance.now() - t < 4_000, 'updates');
  assert.equal((zone.answer({ name: '_http._tcp.svc-1.ns.svc.cluster.local.', type: RRType.SRV, class: RRClass.IN })!.answers[0]!.data as { port: number }).port, 81);

  const qs = Array.from({ length: 1_000 }, (_, i) => ({ name: `svc-${i * 10}.ns.svc.cluster.local.`, type: RRType.A, class: RRClass.IN }));
  let records = 0;
  t = performance.now();
  for (let r = 0; r < 100; r++) for (const q of qs) records += zone.answer(q)!.answers.length;
  const elapsed = performance.now() - t;
  assert.equal(records, 100 * 1_000 * 3); // every tenth Service is headless with 3 endpoints
  assert.ok(elapsed < 5_000, `100k answers took ${elapsed.toFixed(0)} ms`);

  // PTR by index, not by scan.
  const ptr = zone.answer({ name: '6.38.2.10.in-addr.arpa.', type: RRType.PTR, class: RRClass.IN });
  assert.deepEqual(ptr?.answers.map((a) => a.data), [{ kind: 'PTR', target: 'h1.svc-9734.ns.svc.cluster.local.' }]);
});
