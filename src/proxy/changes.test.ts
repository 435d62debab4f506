import { test } from 'node:test';
import assert from 'node:assert/strict';
import { clone, type KObject } from '../api/types.js';
import { EndpointSliceChangeTracker, ProxyStateCache, ServiceChangeTracker } from './changes.js';
import { computeProxyState, planServiceObject } from './compute.js';

function svc(name: string, spec: Record<string, unknown>): KObject {
  return {
    apiVersion: 'v1', kind: 'Service', metadata: { namespace: 'default', name, resourceVersion: '1' },
    spec: { clusterIP: '10.96.0.10', ports: [{ name: 'http', port: 80, protocol: 'TCP' }], ...spec },
  };
}

function slice(name: string, service: string, opts: { endpoints: unknown[] }): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1', kind: 'EndpointSlice',
    metadata: { namespace: 'default', name, labels: { 'kubernetes.io/service-name': service } },
    addressType: 'IPv4', ports: [{ name: 'http', port: 8080, protocol: 'TCP' }], endpoints: opts.endpoints,
  };
}

const node = { name: 'n1', addresses: ['192.168.1.10'], serviceCIDRs: ['10.96.0.0/12'], podCIDRs: ['10.244.0.0/16'] };
const ep = (ip: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ addresses: [ip], ...extra });

function edit(o: KObject, fn: (c: KObject) => void): KObject {
  const c = clone(o);
  fn(c);
  return c;
}

test('ServiceChangeTracker: which updates mark the service', () => {
  const base = svc('web', { type: 'LoadBalancer', ports: [{ name: 'http', port: 80, nodePort: 30080 }] });
  const rows: { name: string; prev?: KObject; cur?: KObject; marks: boolean }[] = [
    { name: 'add', cur: base, marks: true },
    { name: 'delete', prev: base, marks: true },
    { name: 'resourceVersion only', prev: base, cur: edit(base, (c) => { c.metadata.resourceVersion = '2'; }), marks: false },
    { name: 'managedFields only', prev: base, cur: edit(base, (c) => { c.metadata.managedFields = [{ manager: 'x' }]; }), marks: false },
    { name: 'status conditions only', prev: base, cur: edit(base, (c) => { c.status = { conditions: [{ type: 'X' }] }; }), marks: false },
    { name: 'LB ingress IP', prev: base, cur: edit(base, (c) => { c.status = { loadBalancer: { ingress: [{ ip: '5.5.5.5' }] } }; }), marks: true },
    { name: 'port change', prev: base, cur: edit(base, (c) => { (c.spec as { ports: unknown[] }).ports = [{ name: 'http', port: 81 }]; }), marks: true },
    { name: 'add headless', cur: svc('h', { clusterIP: 'None' }), marks: false },
    { name: 'to ExternalName', prev: base, cur: svc('web', { type: 'ExternalName', clusterIP: '' }), marks: true },
  ];
  for (const r of rows) {
    const t = new ServiceChangeTracker();
    assert.equal(t.update(r.prev, r.cur), r.marks, r.name);
    assert.deepEqual([...t.flush()], r.marks ? [`default/${(r.cur ?? r.prev)!.metadata.name}`] : [], r.name);
    assert.equal(t.pending().size, 0, `${r.name}: flush clears`);
  }
});

test('EndpointSliceChangeTracker: marks owning services, ignores metadata churn', () => {
  const s = slice('web-1', 'web', { endpoints: [ep('10.244.0.5')] });
  const rows: { name: string; prev?: KObject; cur?: KObject; pending: string[] }[] = [
    { name: 'add', cur: s, pending: ['default/web'] },
    { name: 'delete', prev: s, pending: ['default/web'] },
    { name: 'rv only', prev: s, cur: edit(s, (c) => { c.metadata.resourceVersion = '9'; }), pending: [] },
    { name: 'condition change', prev: s, cur: edit(s, (c) => { (c.endpoints as Record<string, unknown>[])[0]!.conditions = { ready: false }; }), pending: ['default/web'] },
    { name: 'relabelled', prev: s, cur: edit(s, (c) => { c.metadata.labels!['kubernetes.io/service-name'] = 'api'; }), pending: ['default/web', 'default/api'] },
    { name: 'unlabelled', cur: edit(s, (c) => { c.metadata.labels = {}; }), pending: [] },
  ];
  for (const r of rows) {
    const t = new EndpointSliceChangeTracker();
    t.update(r.prev, r.cur);
    assert.deepEqual([...t.flush()].sort(), r.pending.sort(), r.name);
  }
});

test('ProxyStateCache: partial recompute, removed ids, slices before service', () => {
  const calls: string[] = [];
  const cache = new ProxyStateCache(node, {
    plan: (s, slices, n) => {
      calls.push(s.metadata.name!);
      return planServiceObject(s, slices, n);
    },
  });
  const web = svc('web', {});
  const dns = svc('dns', { clusterIP: '10.96.0.53', ports: [{ name: 'dns', port: 53, protocol: 'UDP' }, { name: 'dns-tcp', port: 53, protocol: 'TCP' }] });
  const webSlice = slice('web-1', 'web', { endpoints: [ep('10.244.0.5', { nodeName: 'n1' })] });

  // Slice first, then the services.
  cache.upsertSlice(webSlice);
  let r = cache.apply();
  assert.deepEqual(calls, []);
  assert.equal(r.state.services.size, 0);
  cache.upsertService(web);
  cache.upsertService(dns);
  r = cache.apply();
  assert.deepEqual(calls.sort(), ['dns', 'web']);
  assert.deepEqual([...r.changed].sort(), ['default/dns:dns-tcp/TCP', 'default/dns:dns/UDP', 'default/web:http/TCP']);
  assert.deepEqual(r.state.services.get('default/web:http/TCP')!.clusterEndpoints.map((e) => e.ip), ['10.244.0.5']);
  assert.deepEqual(r.state, computeProxyState({ services: [web, dns], slices: [webSlice], node }));

  // A no-op update touches nothing.
  calls.length = 0;
  cache.upsertService(edit(web, (c) => { c.metadata.resourceVersion = '5'; }));
  r = cache.apply();
  assert.deepEqual(calls, []);
  assert.equal(r.changed.size, 0);
  assert.equal(r.state.services.size, 3);

  // An endpoint change recomputes only web.
  calls.length = 0;
  const webSlice2 = edit(webSlice, (c) => { (c.endpoints as unknown[]).push(ep('10.244.1.9')); });
  cache.upsertSlice(webSlice2);
  r = cache.apply();
  assert.deepEqual(calls, ['web']);
  assert.deepEqual([...r.changed], ['default/web:http/TCP']);
  assert.equal(r.state.services.get('default/web:http/TCP')!.clusterEndpoints.length, 2);

  // Dropping one dns port: it is removed, the other unchanged.
  calls.length = 0;
  cache.upsertService(edit(dns, (c) => { (c.spec as { ports: unknown[] }).ports = [{ name: 'dns', port: 53, protocol: 'UDP' }]; }));
  r = cache.apply();
  assert.deepEqual(calls, ['dns']);
  assert.deepEqual([...r.changed], ['default/dns:dns-tcp/TCP']);
  assert.deepEqual([...r.removed], ['default/dns:dns-tcp/TCP']);
  assert.ok(!r.state.services.has('default/dns:dns-tcp/TCP'));

  // Deleting the slice leaves web with no endpoints; deleting the service removes it.
  cache.deleteSlice(webSlice2);
  r = cache.apply();
  assert.equal(r.state.services.get('default/web:http/TCP')!.rejectCluster, true);
  assert.deepEqual([...r.changed], ['default/web:http/TCP']);
  cache.deleteService(web);
  r = cache.apply();
  assert.deepEqual([...r.removed], ['default/web:http/TCP']);
  assert.deepEqual([...r.state.services.keys()], ['default/dns:dns/UDP']);

  // Service type change to ExternalName removes all its ports.
  cache.upsertService(svc('dns', { type: 'ExternalName', clusterIP: '', ports: [] }));
  r = cache.apply();
  assert.deepEqual([...r.removed], ['default/dns:dns/UDP']);
  assert.equal(r.state.services.size, 0);
});
