/**
 * Golden listener tables for the shared proxy fixtures: the userspace rendering of the same
 * CASES the nftables and iptables renderers are checked against (one table of states, three
 * renderings). The listener binds to the service-facing address itself and NodePorts to the
 * node's first address, as in root mode. Regenerate with UPDATE_GOLDEN=1.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { desiredListeners } from './proxier.js';
import { CASES } from '../nftables/fixtures.js';
import type { ProxyState } from '../types.js';

const dir = join(fileURLToPath(new URL('.', import.meta.url)), 'testdata');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

function render(st: ProxyState): string {
  const nodeAddress = st.node.addresses[0];
  const table = desiredListeners(st, { listenAddress: (_svc, ip) => ip, ...(nodeAddress ? { nodeAddress } : {}) });
  return JSON.stringify([...table.values()], null, 2) + '\n';
}

for (const [name, st] of Object.entries(CASES)) {
  test(`userspace golden ${name}`, () => {
    mkdirSync(dir, { recursive: true });
    const file = join(dir, `${name}.json`);
    const out = render(st);
    if (UPDATE || !existsSync(file)) writeFileSync(file, out);
    assert.equal(out, readFileSync(file, 'utf8'), `${name}.json differs (UPDATE_GOLDEN=1 regenerates)`);
  });
}

/** Cross-checks that keep the goldens honest: what every mode must agree on. */
test('listener tables agree with the plans', () => {
  for (const [name, st] of Object.entries(CASES)) {
    const table = desiredListeners(st, { listenAddress: (_svc, ip) => ip, nodeAddress: st.node.addresses[0]! });
    for (const plan of st.services.values()) {
      const s = plan.svc;
      for (const ip of s.clusterIPs) {
        const l = table.get(`${s.protocol}/${ip}:${s.port}`);
        assert.ok(l, `${name}: no listener for ${ip}:${s.port}`);
        assert.equal(l.reject, plan.clusterEndpoints.length === 0, `${name}: cluster reject/drop`);
        assert.deepEqual(l.endpoints, plan.clusterEndpoints.map((e) => `${e.ip}:${e.port}`));
      }
      if (s.nodePort !== undefined) {
        const l = table.get(`${s.protocol}/nodeport:${s.nodePort}`);
        assert.ok(l, `${name}: no NodePort listener`);
        assert.equal(l.bindHost, st.node.addresses[0]);
        assert.deepEqual(l.endpoints, plan.externalEndpoints.map((e) => `${e.ip}:${e.port}`));
      }
      for (const ip of [...s.externalIPs, ...s.loadBalancerIPs]) assert.equal(table.get(`${s.protocol}/${ip}:${s.port}`)?.traffic, 'external');
    }
  }
});
