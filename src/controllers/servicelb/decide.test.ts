import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { IPPool } from './pool.js';
import { LB_IPS_ANNOTATION, LB_IPS_ANNOTATION_NEW, decide, isManaged, rebuild, requestedIP, statusMatches, desiredStatus, type Decision } from './decide.js';

interface SvcOpts {
  name?: string;
  type?: string;
  cls?: string;
  lbIP?: string;
  ann?: string;
  annNew?: string;
  status?: string[];
  created?: string;
}
function svc(o: SvcOpts = {}): KObject {
  const annotations: Record<string, string> = {};
  if (o.ann !== undefined) annotations[LB_IPS_ANNOTATION] = o.ann;
  if (o.annNew !== undefined) annotations[LB_IPS_ANNOTATION_NEW] = o.annNew;
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: o.name ?? 's', namespace: 'default', uid: `uid-${o.name ?? 's'}`, annotations, creationTimestamp: o.created ?? '2024-01-01T00:00:00Z' },
    spec: { type: o.type ?? 'LoadBalancer', loadBalancerClass: o.cls, loadBalancerIP: o.lbIP },
    status: { loadBalancer: o.status ? { ingress: o.status.map((ip) => ({ ip, ipMode: 'VIP' })) } : {} },
  };
}

describe('isManaged / requestedIP', () => {
  it('isManaged', () => {
    const table: [SvcOpts, boolean][] = [
      [{}, true],
      [{ type: 'ClusterIP' }, false],
      [{ type: 'NodePort' }, false],
      [{ cls: 'example.com/lb' }, false],
    ];
    for (const [o, want] of table) assert.equal(isManaged(svc(o)), want, JSON.stringify(o));
  });

  it('requestedIP', () => {
    const table: [SvcOpts, unknown][] = [
      [{}, {}],
      [{ lbIP: '10.250.0.9' }, { ip: '10.250.0.9' }],
      [{ ann: '10.250.0.9' }, { ip: '10.250.0.9' }],
      [{ ann: ' 10.250.0.9 ' }, { ip: '10.250.0.9' }],
      [{ ann: '10.250.0.9', lbIP: '10.250.0.9' }, { ip: '10.250.0.9' }],
      [{ ann: '' }, {}],
      [{ annNew: '10.250.0.7' }, { ip: '10.250.0.7' }],
      [{ annNew: '10.250.0.7', ann: '10.250.0.7' }, { ip: '10.250.0.7' }],
    ];
    for (const [o, want] of table) assert.deepEqual(requestedIP(svc(o)), want, JSON.stringify(o));
    const errors: [SvcOpts, RegExp][] = [
      [{ ann: '10.250.0.9', lbIP: '10.250.0.8' }, /ask for different addresses/],
      [{ ann: '10.250.0.9', annNew: '10.250.0.8' }, /annotations metallb.io\/loadBalancerIPs and metallb.universe.tf\/loadBalancerIPs ask for different addresses/],
      [{ annNew: '10.250.0.9', lbIP: '10.250.0.8' }, /ask for different addresses/],
      [{ ann: 'fd00::1' }, /IPv6 address fd00::1, but the pool is IPv4 only/],
      [{ ann: '10.250.0.9,fd00::1' }, /IPv6/],
      [{ ann: '10.250.0.9,10.250.0.8' }, /asks for 2 IPv4 addresses/],
      [{ ann: 'nope' }, /"nope" is not a valid IPv4 address/],
      [{ lbIP: 'fd00::1' }, /spec.loadBalancerIP fd00::1 is IPv6/],
      [{ lbIP: '1.2.3' }, /not a valid IPv4 address/],
    ];
    for (const [o, re] of errors) assert.match(requestedIP(svc(o)).error ?? '', re, JSON.stringify(o));
  });

  it('statusMatches', () => {
    assert.ok(statusMatches(svc(), desiredStatus(undefined)));
    assert.ok(statusMatches(svc({ status: ['10.250.0.1'] }), desiredStatus('10.250.0.1')));
    assert.ok(!statusMatches(svc({ status: ['10.250.0.1'] }), desiredStatus('10.250.0.2')));
    assert.ok(!statusMatches(svc({ status: ['10.250.0.1', '10.250.0.2'] }), desiredStatus('10.250.0.1')));
    assert.ok(!statusMatches(svc({ status: ['10.250.0.1'] }), desiredStatus(undefined)));
  });
});

describe('decide', () => {
  /** Each case: a pool, what other owners already hold, the Service (or undefined), the decision. */
  const cases: { name: string; pool?: string; held?: Record<string, string>; key?: string; svc: SvcOpts | undefined; want: Decision; after?: Record<string, string | undefined> }[] = [
    { name: 'new Service gets the lowest free address', svc: {}, want: { kind: 'assign', ip: '10.250.0.1' } },
    { name: 'skips held addresses', held: { 'default/x': '10.250.0.1' }, svc: {}, want: { kind: 'assign', ip: '10.250.0.2' } },
    { name: 'keeps its current address', held: { 'default/s': '10.250.0.3' }, svc: { status: ['10.250.0.3'] }, want: { kind: 'assign', ip: '10.250.0.3' } },
    { name: 'adopts a free in-pool address shown in status', svc: { status: ['10.250.0.5'] }, want: { kind: 'assign', ip: '10.250.0.5' } },
    { name: 'does not adopt an address held by another', held: { 'default/x': '10.250.0.5' }, svc: { status: ['10.250.0.5'] }, want: { kind: 'assign', ip: '10.250.0.1' } },
    { name: 'does not adopt an address outside the pool', svc: { status: ['192.168.0.1'] }, want: { kind: 'assign', ip: '10.250.0.1' } },
    { name: 'requested free address (loadBalancerIP)', svc: { lbIP: '10.250.0.6' }, want: { kind: 'assign', ip: '10.250.0.6' } },
    { name: 'requested free address (annotation)', svc: { ann: '10.250.0.6' }, want: { kind: 'assign', ip: '10.250.0.6' } },
    {
      name: 'request moves a Service off its current address',
      held: { 'default/s': '10.250.0.1' },
      svc: { ann: '10.250.0.6', status: ['10.250.0.1'] },
      want: { kind: 'assign', ip: '10.250.0.6', released: '10.250.0.1' },
      after: { '10.250.0.1': undefined, '10.250.0.6': 'default/s' },
    },
    {
      name: 'requested address in use: pending, retried on release',
      held: { 'default/x': '10.250.0.6' },
      svc: { lbIP: '10.250.0.6' },
      want: { kind: 'pending', reason: 'requested-in-use', message: 'Failed to allocate requested IP 10.250.0.6: it is already assigned to default/x', released: undefined, retryOnRelease: true },
    },
    {
      name: 'requested address outside the pool: pending, and its old address released',
      held: { 'default/s': '10.250.0.1' },
      svc: { lbIP: '10.1.2.3', status: ['10.250.0.1'] },
      want: { kind: 'pending', reason: 'requested-not-in-pool', message: 'Failed to allocate requested IP 10.1.2.3: it is not in pool 10.250.0.0/29', released: '10.250.0.1', retryOnRelease: false },
    },
    {
      name: 'invalid request: pending, not retried on release',
      svc: { ann: 'fd00::1' },
      want: { kind: 'pending', reason: 'invalid-request', message: `Failed to allocate an IP: annotation ${LB_IPS_ANNOTATION} asks for IPv6 address fd00::1, but the pool is IPv4 only`, released: undefined, retryOnRelease: false },
    },
    {
      name: 'exhausted pool: pending naming the pool',
      pool: '10.250.0.1-10.250.0.2',
      held: { 'default/x': '10.250.0.1', 'default/y': '10.250.0.2' },
      svc: {},
      want: { kind: 'pending', reason: 'exhausted', message: 'Failed to allocate an IP: pool 10.250.0.1-10.250.0.2 is exhausted (all 2 addresses are in use)', retryOnRelease: true },
    },
    { name: 'deleted Service releases', held: { 'default/s': '10.250.0.2' }, svc: undefined, want: { kind: 'release', released: '10.250.0.2', clearStatus: false, why: 'the Service was deleted' } },
    { name: 'deleted Service holding nothing', svc: undefined, want: { kind: 'ignore' } },
    {
      name: 'type change releases and clears status',
      held: { 'default/s': '10.250.0.2' },
      svc: { type: 'ClusterIP', status: ['10.250.0.2'] },
      want: { kind: 'release', released: '10.250.0.2', clearStatus: true, why: 'the Service is no longer of type LoadBalancer' },
    },
    {
      name: 'non-LB Service with our address left in status (after a restart) gets it cleared',
      svc: { type: 'NodePort', status: ['10.250.0.2'] },
      want: { kind: 'release', released: undefined, clearStatus: true, why: 'the Service is no longer of type LoadBalancer' },
    },
    { name: 'non-LB Service with a foreign status is left alone', svc: { type: 'NodePort', status: ['1.2.3.4'] }, want: { kind: 'ignore' } },
    { name: 'other class: ignored', svc: { cls: 'example.com/lb', status: ['10.250.0.2'] }, want: { kind: 'ignore' } },
    {
      name: 'other class: releases what we held, keeps its status',
      held: { 'default/s': '10.250.0.2' },
      svc: { cls: 'example.com/lb', status: ['10.250.0.2'] },
      want: { kind: 'release', released: '10.250.0.2', clearStatus: false, why: 'spec.loadBalancerClass "example.com/lb" hands it to another load-balancer implementation' },
    },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const pool = new IPPool(c.pool ?? '10.250.0.0/29');
      for (const [owner, ip] of Object.entries(c.held ?? {})) assert.deepEqual(pool.claim(ip, owner), { ok: true });
      const key = c.key ?? 'default/s';
      assert.deepEqual(decide(pool, key, c.svc && svc(c.svc)), c.want);
      const d = c.want;
      if (d.kind === 'assign') assert.equal(pool.ownerOf(d.ip), key);
      if (d.kind === 'pending' || d.kind === 'release') assert.equal(pool.addressOf(key), undefined);
      for (const [ip, owner] of Object.entries(c.after ?? {})) assert.equal(pool.ownerOf(ip), owner, ip);
    });
  }
});

describe('rebuild', () => {
  it('oldest Service wins a contested address; foreign, mismatched and unmanaged statuses are not claimed', () => {
    const pool = new IPPool('10.250.0.0/29');
    const services = [
      svc({ name: 'aa-new', status: ['10.250.0.2'], created: '2024-01-02T00:00:00Z' }),
      svc({ name: 'zz-old', status: ['10.250.0.2'], created: '2024-01-01T00:00:00Z' }),
      svc({ name: 'outside', status: ['192.168.0.1'] }),
      svc({ name: 'moved', status: ['10.250.0.3'], lbIP: '10.250.0.4' }),
      svc({ name: 'classy', status: ['10.250.0.5'], cls: 'example.com/lb' }),
      svc({ name: 'plain', status: ['10.250.0.6'] }),
    ];
    const conflicts = rebuild(pool, services);
    assert.deepEqual(conflicts, [{ ip: '10.250.0.2', winner: 'default/zz-old', loser: 'default/aa-new' }]);
    assert.equal(pool.ownerOf('10.250.0.2'), 'default/zz-old');
    assert.equal(pool.ownerOf('10.250.0.6'), 'default/plain');
    for (const ip of ['10.250.0.1', '10.250.0.3', '10.250.0.4', '10.250.0.5']) assert.equal(pool.ownerOf(ip), undefined, ip);
    assert.equal(pool.used(), 2);
    // The loser is then re-assigned by its sync.
    assert.deepEqual(decide(pool, 'default/aa-new', services[0]), { kind: 'assign', ip: '10.250.0.1' });
  });
});
