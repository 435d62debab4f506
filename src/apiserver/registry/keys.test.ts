import { it } from 'node:test';
import assert from 'node:assert/strict';
import { RESOURCES } from '../../api/resources.js';
import { listPrefix, objectKey, storageOf } from './keys.js';

it('uses kube-apiserver key layout', () => {
  const key = (group: string, plural: string, ns: string | undefined, name: string): string => {
    const res = RESOURCES.find((r) => r.group === group && r.plural === plural)!;
    return objectKey(storageOf(res), ns, name);
  };
  const table: [string, string, string | undefined, string, string][] = [
    ['', 'pods', 'default', 'p', '/registry/pods/default/p'],
    ['', 'services', 'default', 's', '/registry/services/specs/default/s'],
    ['', 'endpoints', 'default', 's', '/registry/services/endpoints/default/s'],
    ['', 'nodes', undefined, 'n1', '/registry/minions/n1'],
    ['', 'namespaces', undefined, 'default', '/registry/namespaces/default'],
    ['apps', 'deployments', 'ns', 'd', '/registry/deployments/ns/d'],
    ['networking.k8s.io', 'ingresses', 'ns', 'i', '/registry/ingress/ns/i'],
    ['events.k8s.io', 'events', 'ns', 'e', '/registry/events/ns/e'],
  ];
  for (const [g, p, ns, n, want] of table) assert.equal(key(g, p, ns, n), want, `${p}.${g}`);
});

it('gives every storage location a distinct prefix', () => {
  const seen = new Map<string, string>();
  for (const r of RESOURCES) {
    const loc = storageOf(r);
    const id = `${loc.group}/${loc.plural}`;
    const prefix = listPrefix(loc);
    for (const [other, otherPrefix] of seen) {
      if (other === id) continue;
      assert.ok(!prefix.startsWith(otherPrefix) && !otherPrefix.startsWith(prefix), `${id} and ${other} overlap`);
    }
    seen.set(id, prefix);
  }
});
