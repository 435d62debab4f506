import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../test/harness.js';
import { ENDPOINTSLICES, LocalClient, SERVICES } from '../client/client.js';
import { InformerFactory } from '../client/shared-informer.js';
import { Proxier, TRIGGER_TIME_ANNOTATION, type ProxyBackend } from './proxier.js';
import type { ProxyState } from './types.js';
import type { KObject } from '../api/types.js';

class FakeBackend implements ProxyBackend {
  readonly mode = 'nftables' as const;
  calls: Array<{ ids: string[]; changed: string[] | 'all' }> = [];
  last: ProxyState | undefined;
  failNext = 0;
  async sync(input: { state: ProxyState; changed: Set<string> | 'all' }): Promise<{ full: boolean }> {
    if (this.failNext > 0) {
      this.failNext--;
      throw new Error('nft: boom');
    }
    this.last = input.state;
    this.calls.push({ ids: [...input.state.services.keys()].sort(), changed: input.changed === 'all' ? 'all' : [...input.changed].sort() });
    return { full: input.changed === 'all' };
  }
  async cleanup(): Promise<void> {}
}

const node = { name: 'n1', addresses: ['10.244.0.1'], serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/24'] };

function slice(name: string, svc: string, ips: string[], annotations?: Record<string, string>): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { 'kubernetes.io/service-name': svc }, ...(annotations ? { annotations } : {}) },
    addressType: 'IPv4',
    ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
  };
}

describe('Proxier: informers → change trackers → rate-bounded partial syncs', () => {
  let c: TestCluster;
  let client: LocalClient;
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    client = new LocalClient(c.server.registry, { manager: 'test' });
  });
  after(async () => c?.stop());

  it('syncs fully first, then only changed service ports; a failed apply makes the next sync full', async () => {
    const backend = new FakeBackend();
    const programmed: number[] = [];
    const informers = new InformerFactory({ registry: c.server.registry, cache: c.server.cache });
    const p = new Proxier(informers, { node, backend, minSyncMs: 10, retryMs: 20, observer: { networkProgrammed: (s) => programmed.push(s) } });
    try {
      await p.start();
      assert.equal(backend.calls[0]?.changed, 'all', 'the first sync is full');
      assert.ok(backend.calls[0]!.ids.includes('default/kubernetes:https/TCP'), 'the kubernetes service is programmed');

      /**
       * The first sync after call index `from` that changed something: on a loaded machine a
       * sync with nothing marked can slip in between a change and the sync that carries it.
       */
      const nextChange = async (from: number): Promise<{ changed: string[] | 'all' }> => {
        for (;;) {
          const call = backend.calls.slice(from).find((x) => x.changed === 'all' || x.changed.length > 0);
          if (call) return call;
          await p.waitForSync();
        }
      };
      let from = backend.calls.length;
      await client.create(SERVICES, 'default', { apiVersion: 'v1', kind: 'Service', metadata: { name: 'web' }, spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] } });
      assert.deepEqual((await nextChange(from)).changed, ['default/web:http/TCP']);

      // The proxy ignores trigger times from before it started (as kube-proxy does).
      await new Promise((r) => setTimeout(r, 80));
      from = backend.calls.length;
      const trigger = new Date(Date.now() - 50).toISOString();
      await client.create(ENDPOINTSLICES, 'default', slice('web-1', 'web', ['10.244.0.5'], { [TRIGGER_TIME_ANNOTATION]: trigger }));
      assert.deepEqual((await nextChange(from)).changed, ['default/web:http/TCP'], 'a slice change marks its service only');
      assert.equal(programmed.length, 1);
      assert.ok(programmed[0]! >= 0.04 && programmed[0]! < 5, `network programming latency from the trigger time: ${programmed[0]}`);

      let synced = p.waitForSync();
      await client.mutate(ENDPOINTSLICES, 'default', 'web-1', (o) => ({ ...o, endpoints: [...(o.endpoints as unknown[]), { addresses: ['10.244.0.6'], conditions: { ready: true } }] }));
      await synced;
      assert.deepEqual(backend.last!.services.get('default/web:http/TCP')!.clusterEndpoints.map((e) => e.ip), ['10.244.0.5', '10.244.0.6'], 'an update is applied with the new object');

      const before = backend.calls.length;
      await client.mutate(ENDPOINTSLICES, 'default', 'web-1', (o) => ({ ...o, metadata: { ...o.metadata, labels: { ...o.metadata.labels, unrelated: 'x' } } }));
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(backend.calls.length, before, 'a no-op (label) change causes no sync');

      backend.failNext = 1;
      synced = p.waitForSync();
      await client.delete(SERVICES, 'default', 'web');
      await synced;
      assert.equal(backend.calls.at(-1)!.changed, 'all', 'after a failure the retry is a full sync');
      assert.ok(!backend.calls.at(-1)!.ids.includes('default/web:http/TCP'), 'and the deleted service is gone');
    } finally {
      await p.stop();
      informers.close();
    }
  });
});
