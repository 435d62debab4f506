import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chainHash, renderIptables } from './render.js';
import type { ProxyState, ServicePlan, ProxyEndpoint } from '../types.js';

const ep = (ip: string): ProxyEndpoint => ({ ip, port: 80, ready: true, serving: true, terminating: false, isLocal: false });
function plan(eps: ProxyEndpoint[]): ServicePlan {
  return { svc: { id: 'ns1/svc1:p80/TCP', namespace: 'ns1', name: 'svc1', portName: 'p80', protocol: 'TCP', clusterIPs: ['172.30.0.41'], port: 80, externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster' },
    clusterEndpoints: eps, externalEndpoints: eps, localEndpoints: [], rejectCluster: eps.length === 0, rejectExternal: eps.length === 0 };
}
const st = (p: ServicePlan): ProxyState => ({ node: { name: 'n', addresses: [], serviceCIDRs: [], podCIDRs: [] }, services: new Map([[p.svc.id, p]]) });

test('chain names match kube proxier_test.go', () => {
  // kube: ns1/svc1:p80 tcp -> KUBE-SVC-XPGD46QRK7WJZT7O ; endpoint 10.180.0.1:80 -> KUBE-SEP-SXIVWICOYRO3J4NJ
  assert.equal('KUBE-SVC-' + chainHash('ns1/svc1:p80tcp'), 'KUBE-SVC-XPGD46QRK7WJZT7O');
  assert.equal('KUBE-SEP-' + chainHash('ns1/svc1:p80tcp10.180.0.1:80'), 'KUBE-SEP-SXIVWICOYRO3J4NJ');
});

const cases = [
  { name: 'one endpoint', eps: [ep('10.180.0.1')], has: ['-j KUBE-SVC-XPGD46QRK7WJZT7O', '-j KUBE-SEP-SXIVWICOYRO3J4NJ', '--to-destination 10.180.0.1:80'], not: ['statistic'] },
  { name: 'three endpoints', eps: [ep('10.0.0.1'), ep('10.0.0.2'), ep('10.0.0.3')], has: ['--probability 0.3333333333', '--probability 0.5000000000'], not: [] },
  { name: 'no endpoints', eps: [], has: [], not: ['KUBE-SVC-'], filter: ['has no endpoints', '-j REJECT'] },
];
for (const c of cases) {
  test(c.name, () => {
    const r = renderIptables(st(plan(c.eps)));
    for (const h of c.has) assert.ok(r.nat.includes(h), h);
    for (const h of c.not) assert.ok(!r.nat.includes(h), h);
    for (const h of c.filter ?? []) assert.ok(r.filter.includes(h), h);
    assert.ok(r.nat.startsWith('*nat') && r.nat.trimEnd().endsWith('COMMIT'));
  });
}
