import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { prepareServiceForUpdate } from './service.js';

const lb = (ports: Array<Record<string, unknown>>, allocate?: boolean): Record<string, unknown> => ({
  spec: { type: 'LoadBalancer', clusterIP: '10.96.0.9', clusterIPs: ['10.96.0.9'], ports, ...(allocate === undefined ? {} : { allocateLoadBalancerNodePorts: allocate }) },
});

describe('Service update: node ports of a LoadBalancer when allocateLoadBalancerNodePorts changes', () => {
  const cases: Array<{ name: string; old: Record<string, unknown>; next: Record<string, unknown>; want: Array<number | undefined> }> = [
    { name: 'true → false keeps the allocated ports the update omits (as kube-apiserver)', old: lb([{ port: 80, nodePort: 30080 }], true), next: lb([{ port: 80 }], false), want: [30080] },
    { name: 'true → false keeps ports the update names', old: lb([{ port: 80, nodePort: 30080 }], true), next: lb([{ port: 80, nodePort: 30080 }], false), want: [30080] },
    { name: 'false → false with none stays without', old: lb([{ port: 80 }], false), next: lb([{ port: 80 }], false), want: [undefined] },
    { name: 'LoadBalancer → ClusterIP drops them', old: lb([{ port: 80, nodePort: 30080 }], true), next: { spec: { type: 'ClusterIP', clusterIP: '10.96.0.9', ports: [{ port: 80, nodePort: 30080 }] } }, want: [undefined] },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const next = JSON.parse(JSON.stringify(c.next)) as { spec: { ports: Array<{ nodePort?: number }> } };
      prepareServiceForUpdate(next, c.old);
      assert.deepEqual(next.spec.ports.map((p) => p.nodePort), c.want);
    });
  }
});
