/**
 * Element-level (partial) syncs, checked by tracing: the full script of state A followed by the
 * partial script A→B must route every packet exactly as B's plans say — the same oracle the full
 * render passes. Catches diffs that leave stale elements, chains or affinity sets behind.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { computeProxyState } from '../compute.js';
import { renderRuleset, stateFragments } from '../nftables/render.js';
import { AppliedRuleset } from '../nftables/partial.js';
import type { ServiceFragment } from '../nftables/fragment.js';
import type { KObject } from '../../api/types.js';
import { parseRuleset } from './parse.js';
import { tracePacket } from './trace.js';
import { checkPlans, NODE, NODE_IP, service, SERVICES, slice, SLICES, worldState } from './cases.js';

/** B: web loses an endpoint and gains one, empty gets one, ext is deleted, a new service appears, sticky loses affinity. */
function changedWorld(): { services: KObject[]; slices: KObject[] } {
  const services = SERVICES.filter((s) => s.metadata.name !== 'ext' && s.metadata.name !== 'sticky');
  services.push(service('sticky', { clusterIP: '10.96.0.14' }), service('fresh', { clusterIP: '10.96.0.40', type: 'NodePort', ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, nodePort: 30090 }] }));
  const slices = SLICES.filter((s) => !['web-1', 'empty-1', 'ext-1'].includes(s.metadata.name ?? ''));
  slices.push(
    slice('web-1', 'web', [{ ip: '10.244.1.3', node: 'n2' }, { ip: '10.244.1.99', node: 'n2' }, { ip: '10.244.0.4', node: 'n1' }]),
    slice('empty-1', 'empty', [{ ip: '10.244.1.50', node: 'n2' }]),
    slice('fresh-1', 'fresh', [{ ip: '10.244.1.60', node: 'n2' }]),
  );
  return { services, slices };
}

test('full script A + partial script A→B traces exactly like B', () => {
  const a = worldState();
  const b = computeProxyState({ ...changedWorld(), node: NODE });
  const fa = stateFragments(a);
  const fb = stateFragments(b);
  const updates = new Map<string, ServiceFragment | null>();
  for (const id of new Set([...fa.keys(), ...fb.keys()])) updates.set(id, fb.get(id) ?? null);
  const partial = new AppliedRuleset(fa).diff(updates, { table: 'kubelite' }).script;
  assert.notEqual(partial, '');
  const rs = parseRuleset(renderRuleset(a) + partial);
  const n = checkPlans('A+partial', rs, b);
  assert.ok(n > 20, `${n} traces`);

  const local = NODE.addresses;
  // Spot checks with the reasons visible: the removed externalIP is no longer a service address.
  assert.equal(tracePacket(rs, { src: '203.0.113.9', dst: '192.0.2.7', dport: 80, protocol: 'TCP', origin: 'external' }, { localAddresses: local }).verdict.kind, 'accept');
  assert.equal(tracePacket(rs, { src: '203.0.113.9', dst: NODE_IP, dport: 30090, protocol: 'TCP', origin: 'external' }, { localAddresses: local }).verdict.endpoint, '10.244.1.60:8080');
  // sticky lost ClientIP affinity: no affinity set is updated any more.
  const sticky = tracePacket(rs, { src: '10.244.0.9', dst: '10.96.0.14', dport: 80, protocol: 'TCP', origin: 'pod' }, { localAddresses: local });
  assert.equal(sticky.verdict.kind, 'dnat');
  assert.equal(sticky.affinity.size, 0);
});
