import { test } from 'node:test';
import assert from 'node:assert/strict';
import { StatusError } from './errors.js';
import {
  AllocationError,
  allocateForService,
  allocationsOf,
  ClusterIPAllocator,
  commitRelease,
  createServiceAllocators,
  isRangeFull,
  NodePortAllocator,
  rebuildAllocators,
  requestedAllocations,
  releaseForService,
  rollbackAllocations,
} from './allocators.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const zero = (): number => 0;
const svc = (spec: Obj, name = 's'): Obj => ({ metadata: { name, namespace: 'default' }, spec: { sessionAffinity: 'None', ...spec } });
const thrown = (fn: () => unknown): StatusError => {
  try {
    fn();
  } catch (e) {
    assert.ok(e instanceof StatusError, String(e));
    return e;
  }
  assert.fail('expected a StatusError');
};

test('ClusterIPAllocator: range, reserved addresses, errors', () => {
  const a = new ClusterIPAllocator({ random: zero });
  assert.equal(a.kubernetesIP, '10.96.0.1');
  assert.equal(a.dnsIP, '10.96.0.10');
  // dynamic picks start above the static band (first 256 addresses)
  assert.equal(a.allocateNext(), '10.96.1.1');
  a.allocate('10.96.0.1');
  a.allocate('10.96.0.10');
  assert.throws(() => a.allocate('10.96.0.10'), (e: unknown) => e instanceof AllocationError && e.message === 'provided IP is already allocated');
  assert.throws(
    () => a.allocate('1.2.3.4'),
    (e: unknown) => e instanceof AllocationError && e.message === 'the provided IP (1.2.3.4) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
  );
  assert.throws(() => a.allocate('10.96.0.0'), AllocationError); // network address
  assert.throws(() => a.allocate('10.111.255.255'), AllocationError); // broadcast
  a.allocate('10.111.255.254');
  assert.equal(a.release('10.96.0.10'), true);
  assert.equal(a.isAllocated('10.96.0.10'), false);
});

test('ClusterIPAllocator: small range fills up, skipping the reserved addresses dynamically', () => {
  const a = new ClusterIPAllocator({ cidr: '10.0.0.0/28', random: zero });
  const got = new Set<string>();
  for (let i = 0; i < 12; i++) got.add(a.allocateNext());
  assert.equal(got.size, 12);
  assert.ok(!got.has('10.0.0.1') && !got.has('10.0.0.10'));
  assert.throws(() => a.allocateNext(), /range is full/);
  a.allocate('10.0.0.1');
});

test('NodePortAllocator: range and messages', () => {
  const p = new NodePortAllocator({ random: zero });
  assert.equal(p.range, '30000-32767');
  assert.equal(p.allocateNext(), 30086); // static band is the first 86 ports
  p.allocate(30080);
  assert.throws(() => p.allocate(30080), { message: 'provided port is already allocated' });
  assert.throws(() => p.allocate(80), { message: 'provided port is not in the valid range. The range of valid ports is 30000-32767' });
  p.reset([31000]);
  assert.equal(p.isAllocated(30080), false);
  assert.equal(p.isAllocated(31000), true);
});

test('allocateForService: per-type rules', () => {
  const cases: { name: string; spec: Obj; check: (s: Obj) => void }[] = [
    {
      name: 'ClusterIP gets an IP and single-stack families, no node ports',
      spec: { type: 'ClusterIP', selector: { a: 'b' }, ports: [{ port: 80, protocol: 'TCP' }] },
      check: (s) => {
        assert.equal(s.clusterIP, '10.96.1.1');
        assert.deepEqual(s.clusterIPs, ['10.96.1.1']);
        assert.deepEqual(s.ipFamilies, ['IPv4']);
        assert.equal(s.ipFamilyPolicy, 'SingleStack');
        assert.equal(s.ports[0].nodePort, undefined);
      },
    },
    {
      name: 'NodePort gets IP and node ports; TCP+UDP on one port share the node port',
      spec: { type: 'NodePort', ports: [{ name: 'a', port: 53, protocol: 'TCP' }, { name: 'b', port: 53, protocol: 'UDP' }, { name: 'c', port: 80, protocol: 'TCP', nodePort: 30080 }] },
      check: (s) => {
        assert.equal(s.ports[0].nodePort, 30086);
        assert.equal(s.ports[1].nodePort, 30086);
        assert.equal(s.ports[2].nodePort, 30080);
      },
    },
    {
      name: 'headless with selector: no IP',
      spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'], selector: { a: 'b' } },
      check: (s) => {
        assert.deepEqual(s.clusterIPs, ['None']);
        assert.deepEqual(s.ipFamilies, ['IPv4']);
        assert.equal(s.ipFamilyPolicy, 'SingleStack');
      },
    },
    {
      name: 'headless without selector: RequireDualStack families',
      spec: { type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] },
      check: (s) => {
        assert.deepEqual(s.ipFamilies, ['IPv4', 'IPv6']);
        assert.equal(s.ipFamilyPolicy, 'RequireDualStack');
      },
    },
    {
      name: 'ExternalName gets nothing',
      spec: { type: 'ExternalName', externalName: 'x.example.com' },
      check: (s) => {
        assert.equal(s.clusterIP, undefined);
        assert.equal(s.ipFamilies, undefined);
      },
    },
    {
      name: 'LoadBalancer with Local policy gets a health check node port',
      spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: true, externalTrafficPolicy: 'Local', ports: [{ port: 80, protocol: 'TCP' }] },
      check: (s) => {
        assert.equal(typeof s.ports[0].nodePort, 'number');
        assert.equal(typeof s.healthCheckNodePort, 'number');
        assert.notEqual(s.healthCheckNodePort, s.ports[0].nodePort);
      },
    },
    {
      name: 'LoadBalancer without node ports',
      spec: { type: 'LoadBalancer', allocateLoadBalancerNodePorts: false, externalTrafficPolicy: 'Cluster', ports: [{ port: 80, protocol: 'TCP' }] },
      check: (s) => assert.equal(s.ports[0].nodePort, undefined),
    },
  ];
  for (const c of cases) {
    const a = createServiceAllocators({ random: zero });
    const s = svc(c.spec);
    allocateForService(s, undefined, a);
    c.check(s.spec);
  }
});

test('allocateForService: kube 422 texts for requested values', () => {
  const a = createServiceAllocators({ random: zero });
  const out = thrown(() => allocateForService(svc({ type: 'ClusterIP', clusterIP: '1.2.3.4', clusterIPs: ['1.2.3.4'], ports: [] }, 'x'), undefined, a));
  assert.equal(out.code, 422);
  assert.equal(
    out.message,
    'Service "x" is invalid: spec.clusterIPs: Invalid value: []string{"1.2.3.4"}: failed to allocate IP 1.2.3.4: the provided IP (1.2.3.4) is not in the valid range. The range of valid IPs is 10.96.0.0/12',
  );
  allocateForService(svc({ type: 'ClusterIP', clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'] }), undefined, a);
  const dup = thrown(() => allocateForService(svc({ type: 'ClusterIP', clusterIP: '10.96.0.50', clusterIPs: ['10.96.0.50'] }, 'y'), undefined, a));
  assert.equal(dup.details?.causes?.[0]?.message, 'Invalid value: []string{"10.96.0.50"}: failed to allocate IP 10.96.0.50: provided IP is already allocated');

  allocateForService(svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] }), undefined, a);
  const before = a.ips.used();
  const np = thrown(() => allocateForService(svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 30080 }] }, 'z'), undefined, a));
  assert.deepEqual(np.details?.causes, [{ reason: 'FieldValueInvalid', field: 'spec.ports[0].nodePort', message: 'Invalid value: 30080: provided port is already allocated' }]);
  assert.equal(a.ips.used(), before, 'the IP taken before the node-port failure is given back');
  const range = thrown(() => allocateForService(svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', nodePort: 80 }] }, 'z'), undefined, a));
  assert.equal(range.details?.causes?.[0]?.message, 'Invalid value: 80: provided port is not in the valid range. The range of valid ports is 30000-32767');
  const bad = thrown(() => allocateForService(svc({ type: 'ClusterIP', clusterIP: 'abc', clusterIPs: ['abc'] }, 'w'), undefined, a));
  assert.equal(bad.details?.causes?.[0]?.field, 'spec.clusterIPs[0]');
});

test('allocateForService: updates keep, release on type change, rollback and rebuild', () => {
  const a = createServiceAllocators({ random: zero });
  const s1 = svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] });
  allocateForService(s1, undefined, a);
  const ip = s1.spec.clusterIP;
  const np = s1.spec.ports[0].nodePort;
  // unchanged update: nothing new, nothing released
  const same = JSON.parse(JSON.stringify(s1));
  const r0 = allocateForService(same, s1, a);
  assert.deepEqual(r0, { allocated: [], toRelease: [] });
  // NodePort -> ClusterIP (node port already dropped by prepareForUpdate)
  const toCip = JSON.parse(JSON.stringify(s1));
  toCip.spec.type = 'ClusterIP';
  delete toCip.spec.ports[0].nodePort;
  const r1 = allocateForService(toCip, s1, a);
  assert.deepEqual(r1.toRelease, [{ kind: 'nodePort', value: np }]);
  assert.equal(a.ports.isAllocated(np), true, 'released only on commit');
  commitRelease(r1, a);
  assert.equal(a.ports.isAllocated(np), false);
  // ClusterIP -> ExternalName releases the IP
  const toExt = JSON.parse(JSON.stringify(toCip));
  toExt.spec = { type: 'ExternalName', externalName: 'a.example.com', sessionAffinity: 'None', ports: toExt.spec.ports };
  const r2 = allocateForService(toExt, toCip, a);
  assert.deepEqual(r2.toRelease, [{ kind: 'clusterIP', value: ip }]);
  commitRelease(r2, a);
  assert.equal(a.ips.isAllocated(ip), false);
  // ExternalName -> ClusterIP allocates again; a failed write rolls back
  const back = svc({ type: 'ClusterIP', ports: [{ port: 80, protocol: 'TCP' }] });
  const r3 = allocateForService(back, toExt, a);
  assert.equal(r3.allocated.length, 1);
  rollbackAllocations(r3, a);
  assert.equal(a.ips.used(), 0);
  // delete and rebuild
  const s2 = svc({ type: 'NodePort', ports: [{ port: 80, protocol: 'TCP' }] });
  allocateForService(s2, undefined, a);
  const fresh = createServiceAllocators({ random: zero });
  rebuildAllocators([s2, svc({ type: 'ExternalName', externalName: 'x.y' })], fresh);
  assert.equal(fresh.ips.isAllocated(s2.spec.clusterIP), true);
  assert.equal(fresh.ports.isAllocated(s2.spec.ports[0].nodePort), true);
  assert.equal(releaseForService(s2, fresh).length, 2);
  assert.equal(fresh.ips.used() + fresh.ports.used(), 0);
});

test('allocationsOf / requestedAllocations / isRangeFull', () => {
  const np = svc({ type: 'NodePort', clusterIP: '10.96.0.5', clusterIPs: ['10.96.0.5'], ports: [{ port: 80, nodePort: 30001 }, { port: 81, nodePort: 30001 }] });
  const lb = svc({ type: 'LoadBalancer', externalTrafficPolicy: 'Local', clusterIP: '10.96.0.6', ports: [{ port: 80, nodePort: 30002 }], healthCheckNodePort: 30003 });
  const cases: { name: string; got: unknown; want: unknown }[] = [
    { name: 'NodePort holds', got: allocationsOf(np), want: [{ kind: 'clusterIP', value: '10.96.0.5' }, { kind: 'nodePort', value: 30001 }] },
    { name: 'LB holds hc port', got: allocationsOf(lb), want: [{ kind: 'clusterIP', value: '10.96.0.6' }, { kind: 'nodePort', value: 30002 }, { kind: 'nodePort', value: 30003 }] },
    { name: 'headless holds nothing', got: allocationsOf(svc({ clusterIP: 'None' })), want: [] },
    { name: 'create requests all', got: requestedAllocations(np, undefined), want: [{ kind: 'clusterIP', value: '10.96.0.5' }, { kind: 'nodePort', value: 30001 }] },
    { name: 'update requests only new values', got: requestedAllocations(lb, svc({ type: 'LoadBalancer', clusterIP: '10.96.0.6', ports: [{ port: 80, nodePort: 30002 }] })), want: [{ kind: 'nodePort', value: 30003 }] },
    { name: 'ClusterIP type requests no node ports', got: requestedAllocations(svc({ ports: [{ port: 80, nodePort: 30009 }] }), undefined), want: [] },
  ];
  for (const c of cases) assert.deepEqual(c.got, c.want, c.name);
  const a = createServiceAllocators({ cidr: '10.0.0.0/30' });
  allocateForService(svc({}), undefined, a); // the only dynamic host (.2; .1 is skipped)
  const full = thrown(() => allocateForService(svc({}), undefined, a));
  assert.equal(isRangeFull(full), true);
  assert.equal(isRangeFull(thrown(() => allocateForService(svc({ clusterIP: '10.0.0.2', clusterIPs: ['10.0.0.2'] }), undefined, a))), false);
});
