import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConntrackCleaner, deletedCount, staleConntrackFilters, type ExecResult } from './conntrack.js';
import type { Protocol, ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

const ep = (ip: string, port = 5353): ProxyEndpoint => ({ ip, port, ready: true, serving: true, terminating: false, isLocal: false });

function plan(name: string, eps: ProxyEndpoint[], extra: Partial<ServicePortInfo> & { external?: ProxyEndpoint[] } = {}): ServicePlan {
  const { external, ...svcExtra } = extra;
  const protocol: Protocol = svcExtra.protocol ?? 'UDP';
  const svc: ServicePortInfo = {
    id: `ns/${name}:dns/${protocol}`, namespace: 'ns', name, portName: 'dns', protocol, clusterIPs: ['10.96.0.10'], port: 53,
    externalIPs: [], loadBalancerIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster',
    ...svcExtra,
  };
  const ext = external ?? eps;
  return { svc, clusterEndpoints: eps, externalEndpoints: ext, localEndpoints: [], rejectCluster: eps.length + ext.length === 0, rejectExternal: eps.length + ext.length === 0 };
}

const state = (...plans: ServicePlan[]): ProxyState => ({
  node: { name: 'n', addresses: ['192.168.1.2'], serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'] },
  services: new Map(plans.map((p) => [p.svc.id, p])),
});

const del = (...rest: string[]): string[] => ['-D', '-p', 'udp', ...rest];

test('staleConntrackFilters: what kube-proxy clears between two states', () => {
  const cases: { name: string; prev: ProxyState | undefined; next: ProxyState; want: string[][] }[] = [
    { name: 'nothing changed', prev: state(plan('a', [ep('10.244.0.5')])), next: state(plan('a', [ep('10.244.0.5')])), want: [] },
    {
      name: 'endpoint removed: flows to the service IP:port DNATed to it',
      prev: state(plan('a', [ep('10.244.0.5'), ep('10.244.0.6')])),
      next: state(plan('a', [ep('10.244.0.6')])),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5')],
    },
    {
      name: 'endpoint removed with externalIPs, LB IPs and a NodePort',
      prev: state(plan('a', [ep('10.244.0.5'), ep('10.244.0.6')], { externalIPs: ['192.0.2.1'], loadBalancerIPs: ['192.0.2.9'], nodePort: 30053 })),
      next: state(plan('a', [ep('10.244.0.6')], { externalIPs: ['192.0.2.1'], loadBalancerIPs: ['192.0.2.9'], nodePort: 30053 })),
      want: [
        del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5'),
        del('--orig-dst', '192.0.2.1', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5'),
        del('--orig-dst', '192.0.2.9', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5'),
        del('--orig-port-dst', '30053', '--dst-nat', '10.244.0.5'),
      ],
    },
    {
      name: 'endpoint port changed (same pod, new targetPort): old flows go',
      prev: state(plan('a', [ep('10.244.0.5', 5353)])),
      next: state(plan('a', [ep('10.244.0.5', 5354)])),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5')],
    },
    {
      name: 'endpoint still used for external traffic only: kept',
      prev: state(plan('a', [ep('10.244.0.5')])),
      next: state(plan('a', [], { external: [ep('10.244.0.5')] })),
      want: [],
    },
    {
      name: 'last endpoint removed: no newly-active clearing, only the stale one',
      prev: state(plan('a', [ep('10.244.0.5')])),
      next: state(plan('a', [])),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5')],
    },
    {
      name: 'service deleted: its old frontends are cleared for its old endpoints',
      prev: state(plan('a', [ep('10.244.0.5')], { nodePort: 30053 })),
      next: state(),
      want: [
        del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5'),
        del('--orig-port-dst', '30053', '--dst-nat', '10.244.0.5'),
      ],
    },
    {
      name: 'no endpoints -> endpoints: every flow to the service IP:port and NodePort',
      prev: state(plan('a', [], { nodePort: 30053, loadBalancerIPs: ['192.0.2.9'] })),
      next: state(plan('a', [ep('10.244.0.5')], { nodePort: 30053, loadBalancerIPs: ['192.0.2.9'] })),
      want: [
        del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53'),
        del('--orig-dst', '192.0.2.9', '--orig-port-dst', '53'),
        del('--orig-port-dst', '30053'),
      ],
    },
    {
      name: 'new service with endpoints counts as newly active',
      prev: state(),
      next: state(plan('a', [ep('10.244.0.5')])),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53')],
    },
    {
      name: 'first sync (no previous state): all UDP services with endpoints',
      prev: undefined,
      next: state(plan('a', [ep('10.244.0.5')]), plan('b', [], { clusterIPs: ['10.96.0.11'] }), plan('c', [ep('10.244.0.7')], { clusterIPs: ['10.96.0.12'] })),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53'), del('--orig-dst', '10.96.0.12', '--orig-port-dst', '53')],
    },
    {
      name: 'TCP is never cleared',
      prev: state(plan('t', [ep('10.244.0.5')], { protocol: 'TCP' }), plan('u', [], { protocol: 'TCP', clusterIPs: ['10.96.0.11'] })),
      next: state(plan('t', [], { protocol: 'TCP' }), plan('u', [ep('10.244.0.6')], { protocol: 'TCP', clusterIPs: ['10.96.0.11'] })),
      want: [],
    },
    {
      name: 'one pod IP behind two removed endpoints: one filter per frontend',
      prev: state(plan('a', [ep('10.244.0.5', 1), ep('10.244.0.5', 2)])),
      next: state(plan('a', [ep('10.244.0.6')])),
      want: [del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5')],
    },
  ];
  for (const c of cases) assert.deepEqual(staleConntrackFilters(c.prev, c.next), c.want, c.name);
});

test('deletedCount: conntrack exit codes and summaries', () => {
  const cases: [ExecResult, number | undefined][] = [
    [{ code: 0, stderr: 'conntrack v1.4.7 (conntrack-tools): 3 flow entries have been deleted.\n' }, 3],
    [{ code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.\n' }, 0],
    [{ code: 0, stderr: '' }, 0],
    [{ code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation not permitted\n' }, undefined],
    [{ code: 2, stderr: 'conntrack v1.4.7 (conntrack-tools): unknown option' }, undefined],
    [{ code: 127, stderr: 'spawn conntrack ENOENT' }, undefined],
  ];
  for (const [r, want] of cases) assert.equal(deletedCount(r), want, JSON.stringify(r));
});

test('ConntrackCleaner runs every filter, sums deletions, reports failures without stopping', async () => {
  const calls: string[][] = [];
  const errors: string[] = [];
  const replies: ExecResult[] = [
    { code: 0, stderr: 'conntrack v1.4.7 (conntrack-tools): 2 flow entries have been deleted.' },
    { code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): Operation not permitted' },
    { code: 1, stderr: 'conntrack v1.4.7 (conntrack-tools): 0 flow entries have been deleted.' },
  ];
  const cleaner = new ConntrackCleaner({
    exec: async (argv) => {
      calls.push(argv);
      return replies[calls.length - 1] ?? { code: 0, stderr: '' };
    },
    onError: (argv, msg) => errors.push(`${argv.join(' ')} => ${msg}`),
  });
  const prev = state(plan('a', [ep('10.244.0.5'), ep('10.244.0.6')], { nodePort: 30053 }));
  const next = state(plan('a', [ep('10.244.0.6')], { nodePort: 30053 }), plan('b', [ep('10.244.0.9')], { clusterIPs: ['10.96.0.11'] }));
  const n = await cleaner.clear(prev, next);
  assert.equal(n, 2);
  assert.deepEqual(calls, [
    del('--orig-dst', '10.96.0.10', '--orig-port-dst', '53', '--dst-nat', '10.244.0.5'),
    del('--orig-port-dst', '30053', '--dst-nat', '10.244.0.5'),
    del('--orig-dst', '10.96.0.11', '--orig-port-dst', '53'),
  ]);
  assert.deepEqual(errors, ['-D -p udp --orig-port-dst 30053 --dst-nat 10.244.0.5 => exit code 1: conntrack v1.4.7 (conntrack-tools): Operation not permitted']);
  assert.equal(await cleaner.clear(next, next), 0);
  assert.equal(calls.length, 3, 'no-op transition runs nothing');
});
