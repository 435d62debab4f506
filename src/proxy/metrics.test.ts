import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../api/types.js';
import {
  NETWORK_PROGRAMMING_BUCKETS, ProxyMetrics, SYNC_BUCKETS, TRIGGER_TIME_ANNOTATION, noLocalEndpointCounts, triggerTimeOf,
} from './metrics.js';
import type { ProxyEndpoint, ProxyState, ServicePlan, ServicePortInfo } from './types.js';

const slice = (annotations?: Record<string, string>): KObject => ({
  apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice', metadata: { namespace: 'ns', name: 's', ...(annotations ? { annotations } : {}) },
});

test('triggerTimeOf reads the last-change-trigger-time annotation', () => {
  const cases: { name: string; ann?: Record<string, string>; notBefore?: string; want?: string }[] = [
    { name: 'absent', ann: undefined, want: undefined },
    { name: 'other annotations only', ann: { a: 'b' }, want: undefined },
    { name: 'empty', ann: { [TRIGGER_TIME_ANNOTATION]: '' }, want: undefined },
    { name: 'garbage', ann: { [TRIGGER_TIME_ANNOTATION]: 'yesterday-ish' }, want: undefined },
    { name: 'RFC 3339', ann: { [TRIGGER_TIME_ANNOTATION]: '2024-01-01T00:00:05Z' }, want: '2024-01-01T00:00:05.000Z' },
    { name: 'fractional seconds', ann: { [TRIGGER_TIME_ANNOTATION]: '2024-01-01T00:00:05.25Z' }, want: '2024-01-01T00:00:05.250Z' },
    { name: 'before tracker start', ann: { [TRIGGER_TIME_ANNOTATION]: '2024-01-01T00:00:05Z' }, notBefore: '2024-01-01T00:00:06Z', want: undefined },
    { name: 'after tracker start', ann: { [TRIGGER_TIME_ANNOTATION]: '2024-01-01T00:00:05Z' }, notBefore: '2024-01-01T00:00:04Z', want: '2024-01-01T00:00:05.000Z' },
  ];
  for (const c of cases) {
    const got = triggerTimeOf(slice(c.ann), c.notBefore ? { notBefore: new Date(c.notBefore) } : {});
    assert.equal(got?.toISOString(), c.want, c.name);
  }
});

test('bucket layouts are kube-proxy\'s', () => {
  assert.equal(SYNC_BUCKETS.length, 15);
  assert.equal(SYNC_BUCKETS[0], 0.001);
  assert.equal(SYNC_BUCKETS[14], 16.384);
  assert.equal(NETWORK_PROGRAMMING_BUCKETS.length, 1 + 2 + 59 + 12 + 7);
  assert.deepEqual(NETWORK_PROGRAMMING_BUCKETS.slice(0, 5), [0, 0.25, 0.5, 1, 2]);
  assert.deepEqual(NETWORK_PROGRAMMING_BUCKETS.slice(-3), [240, 270, 300]);
  assert.ok(NETWORK_PROGRAMMING_BUCKETS.includes(59) && NETWORK_PROGRAMMING_BUCKETS.includes(115) && !NETWORK_PROGRAMMING_BUCKETS.includes(116));
});

const info = (id: string, extra: Partial<ServicePortInfo> = {}): ServicePortInfo => ({
  id, namespace: 'ns', name: id, portName: '', protocol: 'TCP', clusterIPs: ['10.96.0.1'], port: 80, externalIPs: [],
  loadBalancerIPs: [], loadBalancerSourceRanges: [], externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster', ...extra,
});
const ep = (ip: string): ProxyEndpoint => ({ ip, port: 8080, ready: true, serving: true, terminating: false, isLocal: false });
const plan = (id: string, p: Partial<ServicePlan>): ServicePlan => ({
  svc: info(id), clusterEndpoints: [], externalEndpoints: [], localEndpoints: [], rejectCluster: false, rejectExternal: false, ...p,
});

test('noLocalEndpointCounts counts ports dropped (not rejected) for lack of a local endpoint', () => {
  const services = new Map<string, ServicePlan>([
    ['ok', plan('ok', { clusterEndpoints: [ep('10.0.0.1')], externalEndpoints: [ep('10.0.0.1')] })],
    ['none', plan('none', { rejectCluster: true, rejectExternal: true })],
    ['itp-local', plan('itp-local', { externalEndpoints: [ep('10.0.0.1')] })],
    ['etp-local', plan('etp-local', { clusterEndpoints: [ep('10.0.0.1')] })],
    ['both-local', plan('both-local', {})],
  ]);
  const state: ProxyState = { node: { name: 'n', addresses: [], serviceCIDRs: [], podCIDRs: [] }, services };
  assert.deepEqual(noLocalEndpointCounts(state), { internal: 2, external: 2 });
});

test('ProxyMetrics records and renders kube-proxy\'s series', () => {
  const m = new ProxyMetrics({ mode: 'nftables' });
  m.observeSync({ full: true, seconds: 0.003 });
  m.observeSync({ full: false, seconds: 0.0005 });
  m.observeSync({ full: false, seconds: 20 });
  m.syncSucceeded(new Date(1_700_000_000_500));
  m.syncQueued(new Date(1_700_000_001_000));
  m.syncFailed();
  m.observeTriggerTimes([new Date(1000), new Date(1600)], new Date(2000));
  m.observeNetworkProgramming(-5);
  m.endpointChanges(3);
  m.endpointChanges(0);
  m.endpointChangesPending(2);
  m.serviceChanges(1);
  m.serviceChangesPending(0);
  m.noLocalEndpoints({ internal: 1, external: 0 });
  m.healthz(200);
  m.healthz(200);
  m.livez(503);
  const out = m.render();
  const want = [
    'kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family="IPv4",le="0.001"} 1',
    'kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family="IPv4",le="0.004"} 2',
    'kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family="IPv4",le="16.384"} 2',
    'kubeproxy_sync_proxy_rules_duration_seconds_bucket{ip_family="IPv4",le="+Inf"} 3',
    'kubeproxy_sync_proxy_rules_duration_seconds_count{ip_family="IPv4"} 3',
    'kubeproxy_sync_full_proxy_rules_duration_seconds_count{ip_family="IPv4"} 1',
    'kubeproxy_sync_partial_proxy_rules_duration_seconds_count{ip_family="IPv4"} 2',
    'kubeproxy_sync_proxy_rules_last_timestamp_seconds{ip_family="IPv4"} 1.7000000005e+09',
    'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds{ip_family="IPv4"} 1.700000001e+09',
    'kubeproxy_sync_proxy_rules_nftables_sync_failures_total{ip_family="IPv4"} 1',
    'kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0"} 1',
    'kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.25"} 1',
    'kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="0.5"} 2',
    'kubeproxy_network_programming_duration_seconds_bucket{ip_family="IPv4",le="1"} 3',
    'kubeproxy_network_programming_duration_seconds_sum{ip_family="IPv4"} 1.4',
    'kubeproxy_sync_proxy_rules_endpoint_changes_total 3',
    'kubeproxy_sync_proxy_rules_endpoint_changes_pending 2',
    'kubeproxy_sync_proxy_rules_service_changes_total 1',
    'kubeproxy_sync_proxy_rules_service_changes_pending 0',
    'kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="external"} 0',
    'kubeproxy_sync_proxy_rules_no_local_endpoints_total{ip_family="IPv4",traffic_policy="internal"} 1',
    'kubeproxy_proxy_healthz_total{code="200"} 2',
    'kubeproxy_proxy_livez_total{code="503"} 1',
    '# TYPE kubeproxy_sync_proxy_rules_duration_seconds histogram',
    '# TYPE kubeproxy_sync_proxy_rules_endpoint_changes_total counter',
    '# TYPE kubeproxy_sync_proxy_rules_no_local_endpoints_total gauge',
  ];
  const lines = new Set(out.split('\n'));
  for (const l of want) assert.ok(lines.has(l), `missing line: ${l}`);
  assert.ok(!out.includes('iptables_restore_failures'), 'nftables mode has no iptables counter');
});

test('failure counter follows the mode; ip_family is configurable', () => {
  const ipt = new ProxyMetrics({ mode: 'iptables', ipFamily: 'IPv6' });
  ipt.syncFailed();
  assert.match(ipt.render(), /^kubeproxy_sync_proxy_rules_iptables_restore_failures_total\{ip_family="IPv6"\} 1$/m);
  const us = new ProxyMetrics({ mode: 'userspace' });
  us.syncFailed();
  assert.doesNotMatch(us.render(), /failures_total/);
  // Before any sync, the labelled families are absent and the plain ones read 0.
  assert.doesNotMatch(us.render(), /duration_seconds/);
  assert.match(us.render(), /^kubeproxy_sync_proxy_rules_service_changes_total 0$/m);
});
