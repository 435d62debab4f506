import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { LABEL_MANAGED_BY, LABEL_SERVICE_NAME, MIRRORING_CONTROLLER_NAME, mirrorEndpoints, planMirroredSlices, shouldMirror } from './mirror.js';

function endpoints(subsets: unknown[], meta: Partial<KObject['metadata']> = {}): KObject {
  return { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'ext', namespace: 'ns', uid: 'ep-uid', ...meta }, subsets };
}

const ips = (n: number, base = 0): { ip: string }[] => Array.from({ length: n }, (_, i) => ({ ip: `10.0.${(base + i) >> 8}.${(base + i) & 255}` }));
const summary = (r: ReturnType<typeof mirrorEndpoints>): unknown =>
  r.slices.map((s) => ({
    type: s.addressType,
    ports: (s.ports as { port: number }[]).map((p) => p.port),
    ready: (s.endpoints as { addresses: string[]; conditions: { ready: boolean } }[]).filter((e) => e.conditions.ready).map((e) => e.addresses[0]),
    notReady: (s.endpoints as { addresses: string[]; conditions: { ready: boolean } }[]).filter((e) => !e.conditions.ready).map((e) => e.addresses[0]),
  }));

const cases: { name: string; ep: KObject; max?: number; want: unknown; invalid?: number; skipped?: number }[] = [
  {
    name: 'addresses ready, notReadyAddresses not ready, ports copied',
    ep: endpoints([{ addresses: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }], notReadyAddresses: [{ ip: '10.0.0.3' }], ports: [{ name: 'http', port: 80, protocol: 'TCP' }] }]),
    want: [{ type: 'IPv4', ports: [80], ready: ['10.0.0.1', '10.0.0.2'], notReady: ['10.0.0.3'] }],
  },
  {
    name: 'IPv4 and IPv6 addresses split by address type; invalid IPs skipped',
    ep: endpoints([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }, { ip: 'not-an-ip' }], ports: [{ port: 53, protocol: 'UDP' }] }]),
    want: [
      { type: 'IPv4', ports: [53], ready: ['10.0.0.1'], notReady: [] },
      { type: 'IPv6', ports: [53], ready: ['fd00::1'], notReady: [] },
    ],
    invalid: 1,
    skipped: 1,
  },
  {
    name: 'subsets with the same ports share a slice; different ports get their own',
    ep: endpoints([
      { addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.2' }], ports: [{ port: 80, protocol: 'TCP' }] },
      { addresses: [{ ip: '10.0.0.3' }], ports: [{ port: 81, protocol: 'TCP' }] },
    ]),
    want: [
      { type: 'IPv4', ports: [80], ready: ['10.0.0.1', '10.0.0.2'], notReady: [] },
      { type: 'IPv4', ports: [81], ready: ['10.0.0.3'], notReady: [] },
    ],
  },
  {
    name: 'at most max addresses per subset, ready first',
    ep: endpoints([{ addresses: ips(3), notReadyAddresses: ips(3, 10), ports: [{ port: 80 }] }]),
    max: 4,
    want: [{ type: 'IPv4', ports: [80], ready: ['10.0.0.0', '10.0.0.1', '10.0.0.2'], notReady: ['10.0.0.10'] }],
    skipped: 2,
  },
  { name: 'no subsets, no slices', ep: endpoints([]), want: [] },
];

for (const c of cases) {
  test(`mirrorEndpoints: ${c.name}`, () => {
    const r = mirrorEndpoints(c.ep, { maxEndpointsPerSubset: c.max });
    assert.deepEqual(summary(r), c.want);
    assert.equal(r.invalid, c.invalid ?? 0);
    assert.equal(r.skipped, c.skipped ?? 0);
  });
}

test('mirrorEndpoints: 1000 addresses per subset by default (kube mirroring-max-endpoints-per-subset)', () => {
  const r = mirrorEndpoints(endpoints([{ addresses: ips(1200), ports: [{ port: 80, protocol: 'TCP' }] }]));
  assert.equal(r.slices.length, 1);
  assert.equal((r.slices[0].endpoints as unknown[]).length, 1000);
  assert.equal(r.skipped, 200);
});

test('mirrorEndpoints: metadata — labels, annotations, owner, generateName, endpoint fields', () => {
  const ep = endpoints(
    [{ addresses: [{ ip: '10.0.0.1', hostname: 'h', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u' } }], ports: [{ name: 'a', port: 1, protocol: 'TCP', appProtocol: 'http' }] }],
    { labels: { team: 'x' }, annotations: { note: 'y', 'endpoints.kubernetes.io/last-change-trigger-time': 't', 'kubectl.kubernetes.io/last-applied-configuration': '{}' } },
  );
  const [s] = mirrorEndpoints(ep).slices;
  assert.deepEqual(s.metadata, {
    generateName: 'ext-',
    namespace: 'ns',
    labels: { team: 'x', [LABEL_SERVICE_NAME]: 'ext', [LABEL_MANAGED_BY]: MIRRORING_CONTROLLER_NAME },
    annotations: { note: 'y' },
    ownerReferences: [{ apiVersion: 'v1', kind: 'Endpoints', name: 'ext', uid: 'ep-uid', controller: true, blockOwnerDeletion: true }],
  });
  assert.deepEqual(s.endpoints, [{ addresses: ['10.0.0.1'], conditions: { ready: true }, hostname: 'h', nodeName: 'n1', targetRef: { kind: 'Pod', name: 'p', namespace: 'ns', uid: 'u' } }]);
  assert.deepEqual(s.ports, [{ name: 'a', port: 1, protocol: 'TCP', appProtocol: 'http' }]);
});

test('shouldMirror: skip-mirror label and leader-election annotation', () => {
  assert.equal(shouldMirror(endpoints([])), true);
  assert.equal(shouldMirror(endpoints([], { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } })), false);
  assert.equal(shouldMirror(endpoints([], { labels: { 'endpointslice.kubernetes.io/skip-mirror': 'false' } })), true);
  assert.equal(shouldMirror(endpoints([], { annotations: { 'control-plane.alpha.kubernetes.io/leader': '{}' } })), false);
  assert.equal(shouldMirror(undefined), false);
});

/** Pretends the desired slices were stored (names, server-side defaulting of port names). */
function store(slices: KObject[], prefix = 's'): KObject[] {
  return slices.map((s, i) => ({ ...s, metadata: { ...s.metadata, name: `${prefix}${i}`, resourceVersion: String(10 + i), uid: `${prefix}${i}-uid` } }));
}

test('planMirroredSlices: create, no-op, update, delete extras, recycle', () => {
  const v1 = endpoints([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, protocol: 'TCP' }] }]);
  const d1 = mirrorEndpoints(v1).slices;
  assert.deepEqual(planMirroredSlices(d1, []), { create: d1, update: [], delete: [] });
  const existing = store(d1);
  assert.deepEqual(planMirroredSlices(d1, existing), { create: [], update: [], delete: [] }, 'unchanged → nothing');
  // Address added → update in place, keeping the name and resourceVersion.
  const d2 = mirrorEndpoints(endpoints([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80, protocol: 'TCP' }] }])).slices;
  const p2 = planMirroredSlices(d2, existing);
  assert.equal(p2.update.length, 1);
  assert.equal(p2.update[0].metadata.name, 's0');
  assert.equal(p2.update[0].metadata.resourceVersion, '10');
  assert.equal((p2.update[0].endpoints as unknown[]).length, 2);
  // Duplicate slices for one key: keep the first, delete the rest.
  const dup = [...existing, ...store(d1, 't')];
  assert.deepEqual(planMirroredSlices(d1, dup).delete.map((s) => s.metadata.name), ['t0']);
  // Ports changed: the old slice is recycled into the new key instead of delete + create.
  const d3 = mirrorEndpoints(endpoints([{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 8080, protocol: 'TCP' }] }])).slices;
  const p3 = planMirroredSlices(d3, existing);
  assert.deepEqual([p3.create.length, p3.delete.length, p3.update.length], [0, 0, 1]);
  assert.equal(p3.update[0].metadata.name, 's0');
  assert.deepEqual((p3.update[0].ports as { port: number }[]).map((p) => p.port), [8080]);
  // Nothing desired: everything deleted.
  assert.deepEqual(planMirroredSlices([], existing).delete.map((s) => s.metadata.name), ['s0']);
  // A label change on the Endpoints is carried to the slice.
  const relabeled = mirrorEndpoints({ ...v1, metadata: { ...v1.metadata, labels: { a: 'b' } } }).slices;
  assert.equal(planMirroredSlices(relabeled, existing).update.length, 1);
});
