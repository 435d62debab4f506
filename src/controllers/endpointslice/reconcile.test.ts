import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { computeSlices, type ComputeOptions, type SliceChanges } from './reconcile.js';
import { ANNOTATION_TRIGGER_TIME, type Endpoint } from './endpoints.js';

// ------------------------------------------------------------------ fixtures

interface SvcOpts {
  ports?: Record<string, unknown>[];
  selector?: Record<string, string> | null;
  labels?: Record<string, string>;
  publishNotReady?: boolean;
  clusterIP?: string;
  ipFamilies?: string[];
  type?: string;
  deleting?: boolean;
}

function svc(o: SvcOpts = {}): KObject {
  const spec: Record<string, unknown> = {
    selector: o.selector === undefined ? { app: 'web' } : o.selector,
    clusterIP: o.clusterIP ?? '10.96.0.10',
    ipFamilies: o.ipFamilies ?? ['IPv4'],
    ports: o.ports ?? [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 }],
  };
  if (o.publishNotReady) spec.publishNotReadyAddresses = true;
  if (o.type) spec.type = o.type;
  const metadata: KObject['metadata'] = { name: 'web', namespace: 'ns', uid: 'svc-uid', labels: o.labels ?? { team: 'a' }, creationTimestamp: '2024-01-01T00:00:00Z' };
  if (o.deleting) metadata.deletionTimestamp = '2024-01-02T00:00:00Z';
  return { apiVersion: 'v1', kind: 'Service', metadata, spec };
}

interface PodOpts {
  ip?: string | string[] | null;
  ready?: boolean;
  node?: string;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  deleting?: boolean;
  phase?: string;
  hostname?: string;
  subdomain?: string;
}

function pod(name: string, o: PodOpts = {}): KObject {
  const n = Number(name.replace(/\D/g, '')) || 1;
  const ips = o.ip === null ? [] : Array.isArray(o.ip) ? o.ip : [o.ip ?? `10.0.${n >> 8}.${n & 255}`];
  const spec: Record<string, unknown> = { nodeName: o.node ?? 'node-1', containers: [{ name: 'c', ports: o.ports ?? [] }] };
  if (o.hostname) spec.hostname = o.hostname;
  if (o.subdomain) spec.subdomain = o.subdomain;
  const metadata: KObject['metadata'] = { name, namespace: 'ns', uid: `uid-${name}`, labels: { app: 'web' }, resourceVersion: '1' };
  if (o.deleting) metadata.deletionTimestamp = '2024-01-02T00:00:00Z';
  const status: Record<string, unknown> = {
    phase: o.phase ?? 'Running',
    conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True', lastTransitionTime: '2024-01-01T00:00:05Z' }],
  };
  if (ips.length) {
    status.podIP = ips[0];
    status.podIPs = ips.map((ip) => ({ ip }));
  }
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec, status };
}

const pods = (n: number, o: PodOpts = {}): KObject[] => Array.from({ length: n }, (_, i) => pod(`p${i + 1}`, o));

/** Applies changes the way the API would: names and versions for creates, bumps for updates. */
let seq = 0;
function applied(existing: KObject[], ch: SliceChanges): KObject[] {
  const gone = new Set([...ch.delete, ...ch.update].map((s) => s.metadata.name));
  const out = existing.filter((s) => !gone.has(s.metadata.name));
  for (const s of ch.update) out.push({ ...s, metadata: { ...s.metadata, resourceVersion: String(++seq) } });
  for (const s of ch.create) {
    seq++;
    out.push({ ...s, metadata: { ...s.metadata, name: `${s.metadata.generateName}s${seq}`, uid: `slice-${seq}`, resourceVersion: String(seq) } });
  }
  return out;
}

const eps = (s: KObject): Endpoint[] => s.endpoints as Endpoint[];
const names = (s: KObject): string[] => eps(s).map((e) => e.targetRef?.name ?? '').sort();
const counts = (ch: SliceChanges): [number, number, number] => [ch.create.length, ch.update.length, ch.delete.length];

function converge(service: KObject, ps: KObject[], opts: ComputeOptions = {}): KObject[] {
  const first = computeSlices(service, ps, [], opts);
  const slices = applied([], first);
  assert.deepEqual(counts(computeSlices(service, ps, slices, opts)), [0, 0, 0], 'a second pass must be a no-op');
  return slices;
}

// ------------------------------------------------------------------ tests

describe('computeSlices: desired slices', () => {
  it('golden: one port, ready and not-ready pods', () => {
    const ch = computeSlices(svc(), [pod('p1', { node: 'n1' }), pod('p2', { ready: false, node: 'n2' })], [], { triggerTime: '2024-01-01T00:00:05Z' });
    assert.deepEqual(counts(ch), [1, 0, 0]);
    assert.deepEqual(ch.create[0], {
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: {
        generateName: 'web-',
        namespace: 'ns',
        labels: { team: 'a', 'kubernetes.io/service-name': 'web', 'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io' },
        ownerReferences: [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'svc-uid', controller: true, blockOwnerDeletion: true }],
        annotations: { [ANNOTATION_TRIGGER_TIME]: '2024-01-01T00:00:05Z' },
      },
      addressType: 'IPv4',
      endpoints: [
        { addresses: ['10.0.0.1'], conditions: { ready: true, serving: true, terminating: false }, targetRef: { kind: 'Pod', namespace: 'ns', name: 'p1', uid: 'uid-p1' }, nodeName: 'n1' },
        { addresses: ['10.0.0.2'], conditions: { ready: false, serving: false, terminating: false }, targetRef: { kind: 'Pod', namespace: 'ns', name: 'p2', uid: 'uid-p2' }, nodeName: 'n2' },
      ],
      ports: [{ name: 'http', protocol: 'TCP', port: 8080 }],
    });
  });

  it('no matching pods gives exactly one placeholder slice (no endpoints, no ports), kept on resync', () => {
    const ch = computeSlices(svc(), [], []);
    assert.deepEqual(counts(ch), [1, 0, 0]);
    assert.deepEqual(ch.create[0].endpoints, []);
    assert.deepEqual(ch.create[0].ports, []);
    const slices = applied([], ch);
    assert.deepEqual(counts(computeSlices(svc(), [], slices)), [0, 0, 0]);
  });

  it('the placeholder is reused (updated under its name) when pods appear, and comes back when they go', () => {
    const placeholder = applied([], computeSlices(svc(), [], []));
    const ch = computeSlices(svc(), pods(2), placeholder);
    assert.deepEqual(counts(ch), [0, 1, 0]);
    assert.equal(ch.update[0].metadata.name, placeholder[0].metadata.name);
    assert.equal(ch.update[0].metadata.resourceVersion, placeholder[0].metadata.resourceVersion);
    assert.deepEqual(names(ch.update[0]), ['p1', 'p2']);
    const back = computeSlices(svc(), [], applied(placeholder, ch));
    assert.deepEqual(counts(back), [0, 1, 0]);
    assert.deepEqual(back.update[0].endpoints, []);
    assert.deepEqual(back.update[0].ports, []);
  });

  it('multiport: one slice carrying every resolved port', () => {
    const s = svc({
      ports: [
        { name: 'http', protocol: 'TCP', port: 80, targetPort: 8080 },
        { name: 'dns', protocol: 'UDP', port: 53, targetPort: 5353, appProtocol: 'dns' },
      ],
    });
    const slices = converge(s, pods(3));
    assert.equal(slices.length, 1);
    assert.deepEqual(slices[0].ports, [
      { name: 'http', protocol: 'TCP', port: 8080 },
      { name: 'dns', protocol: 'UDP', port: 5353, appProtocol: 'dns' },
    ]);
    assert.deepEqual(names(slices[0]), ['p1', 'p2', 'p3']);
  });

  it('named targetPort resolving to different numbers per pod gives one slice per port set; a pod lacking it lands in a portless slice', () => {
    const s = svc({ ports: [{ name: 'http', protocol: 'TCP', port: 80, targetPort: 'web' }] });
    const ps = [
      pod('p1', { ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('p2', { ports: [{ name: 'web', containerPort: 8080, protocol: 'TCP' }] }),
      pod('p3', { ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('p4', { ports: [{ name: 'web', containerPort: 7070, protocol: 'UDP' }] }),
    ];
    const slices = converge(s, ps);
    const byPort = new Map(slices.map((sl) => [JSON.stringify(sl.ports), names(sl)]));
    assert.deepEqual(Object.fromEntries(byPort), {
      [JSON.stringify([{ name: 'http', protocol: 'TCP', port: 8080 }])]: ['p1', 'p2'],
      [JSON.stringify([{ name: 'http', protocol: 'TCP', port: 9090 }])]: ['p3'],
      '[]': ['p4'],
    });
  });

  it('more than maxEndpointsPerSlice endpoints are split into several slices', () => {
    const slices = converge(svc(), pods(250));
    assert.deepEqual(slices.map((s) => eps(s).length).sort((a, b) => b - a), [100, 100, 50]);
    const small = converge(svc(), pods(7), { maxEndpointsPerSlice: 3 });
    assert.deepEqual(small.map((s) => eps(s).length).sort(), [1, 3, 3]);
  });

  it('publishNotReadyAddresses marks not-ready pods ready (serving stays false)', () => {
    const [slice] = converge(svc({ publishNotReady: true }), [pod('p1', { ready: false })]);
    assert.deepEqual(eps(slice)[0].conditions, { ready: true, serving: false, terminating: false });
  });

  it('pod states: terminating kept with ready=false; terminal and IP-less pods skipped', () => {
    const ps = [pod('p1', { deleting: true }), pod('p2', { phase: 'Succeeded' }), pod('p3', { phase: 'Failed' }), pod('p4', { ip: null }), pod('p5', { ready: false, deleting: true })];
    const [slice] = converge(svc(), ps);
    assert.deepEqual(
      eps(slice).map((e) => [e.targetRef?.name, e.conditions]),
      [
        ['p1', { ready: false, serving: true, terminating: true }],
        ['p5', { ready: false, serving: false, terminating: true }],
      ],
    );
    const [pub] = converge(svc({ publishNotReady: true }), [pod('p1', { deleting: true })]);
    assert.deepEqual(eps(pub)[0].conditions, { ready: true, serving: true, terminating: true });
  });

  it('hostname only when the pod subdomain names the Service', () => {
    const [slice] = converge(svc(), [pod('p1', { hostname: 'h1', subdomain: 'web' }), pod('p2', { hostname: 'h2', subdomain: 'other' }), pod('p3', { subdomain: 'web' })]);
    assert.deepEqual(eps(slice).map((e) => e.hostname), ['h1', undefined, undefined]);
  });

  it('zone from the node; pods on unknown nodes are skipped and reported', () => {
    const nodes = new Map<string, KObject>([['n1', { metadata: { name: 'n1', labels: { 'topology.kubernetes.io/zone': 'z1' } } }], ['n2', { metadata: { name: 'n2' } }]]);
    const ch = computeSlices(svc(), [pod('p1', { node: 'n1' }), pod('p2', { node: 'n2' }), pod('p3', { node: 'gone' })], [], { nodes: (n) => nodes.get(n) });
    assert.deepEqual(ch.skippedPods, ['ns/p3']);
    assert.deepEqual(eps(ch.create[0]).map((e) => [e.targetRef?.name, e.zone]), [['p1', 'z1'], ['p2', undefined]]);
  });

  it('address families: IPv6 pods in IPv6 slices; dual-stack Services get one slice group per family', () => {
    const [v6] = converge(svc({ ipFamilies: ['IPv6'], clusterIP: 'fd00::10' }), [pod('p1', { ip: 'fd00::1' })]);
    assert.equal(v6.addressType, 'IPv6');
    assert.deepEqual(eps(v6)[0].addresses, ['fd00::1']);
    const dual = converge(svc({ ipFamilies: ['IPv4', 'IPv6'] }), [pod('p1', { ip: ['10.0.0.1', 'fd00::1'] })]);
    assert.deepEqual(dual.map((s) => [s.addressType, eps(s)[0].addresses]), [['IPv4', ['10.0.0.1']], ['IPv6', ['fd00::1']]]);
    // An IPv4-only pod leaves the IPv6 group with just a placeholder.
    const mixed = converge(svc({ ipFamilies: ['IPv4', 'IPv6'] }), [pod('p1')]);
    assert.deepEqual(mixed.map((s) => [s.addressType, eps(s).length]), [['IPv4', 1], ['IPv6', 0]]);
  });

  it('headless Service slices carry the headless label; reserved Service labels are not copied', () => {
    const [slice] = converge(svc({ clusterIP: 'None', labels: { team: 'a', 'kubernetes.io/service-name': 'evil' } }), pods(1));
    assert.deepEqual(slice.metadata.labels, {
      team: 'a',
      'service.kubernetes.io/headless': '',
      'kubernetes.io/service-name': 'web',
      'endpointslice.kubernetes.io/managed-by': 'endpointslice-controller.k8s.io',
    });
  });
});

describe('computeSlices: minimal churn', () => {
  it('a pod turning not-ready rewrites only its own slice', () => {
    const slices = converge(svc(), pods(250));
    const target = slices.find((s) => names(s).includes('p42'))!;
    const next = pods(250).map((p) => (p.metadata.name === 'p42' ? pod('p42', { ready: false }) : p));
    const ch = computeSlices(svc(), next, slices);
    assert.deepEqual(counts(ch), [0, 1, 0]);
    assert.equal(ch.update[0].metadata.name, target.metadata.name);
    assert.equal(eps(ch.update[0]).find((e) => e.targetRef?.name === 'p42')!.conditions.ready, false);
    // order within the slice is preserved
    assert.deepEqual(eps(ch.update[0]).map((e) => e.targetRef?.name), eps(target).map((e) => e.targetRef?.name));
  });

  it('a removed pod frees room that a new pod fills in the same write', () => {
    const slices = converge(svc(), pods(250));
    const next = [...pods(250).filter((p) => p.metadata.name !== 'p3'), pod('p999')];
    const ch = computeSlices(svc(), next, slices);
    assert.deepEqual(counts(ch), [0, 1, 0]);
    assert.ok(names(ch.update[0]).includes('p999') && !names(ch.update[0]).includes('p3'));
  });

  it('new pods fill new slices while 100+ remain, then the unchanged slice that ends closest to full', () => {
    const slices = converge(svc(), pods(250)); // 100, 100, 50
    const ch = computeSlices(svc(), pods(260), slices);
    assert.deepEqual(counts(ch), [0, 1, 0]);
    assert.equal(eps(ch.update[0]).length, 60);
    // 110 new: a full new slice first, the 10 left into the half-full one
    const big = computeSlices(svc(), pods(360), slices);
    assert.deepEqual(counts(big), [1, 1, 0]);
    assert.equal(eps(big.create[0]).length, 100);
    assert.equal(eps(big.update[0]).length, 60);
  });

  it('a slice whose endpoints all went away is deleted', () => {
    const slices = converge(svc(), pods(150)); // 100 + 50
    const ch = computeSlices(svc(), pods(100), slices);
    assert.deepEqual(counts(ch), [0, 0, 1]);
    assert.equal(eps(ch.delete[0]).length, 50);
  });

  it('Service label changes update every slice', () => {
    const slices = converge(svc(), pods(150));
    const ch = computeSlices(svc({ labels: { team: 'b' } }), pods(150), slices);
    assert.deepEqual(counts(ch), [0, 2, 0]);
    assert.ok(ch.update.every((s) => s.metadata.labels?.team === 'b'));
  });

  it('slices not owned by this Service (same name, old uid) are replaced', () => {
    const stale = applied([], computeSlices(svc(), pods(2), []));
    stale[0].metadata.ownerReferences = [{ apiVersion: 'v1', kind: 'Service', name: 'web', uid: 'old-uid', controller: true }];
    const ch = computeSlices(svc(), pods(2), stale);
    assert.deepEqual(counts(ch), [1, 0, 1]);
  });

  it('inputs are not mutated and outputs are independent copies', () => {
    const slices = converge(svc(), pods(3));
    const frozen = JSON.stringify(slices);
    const ch = computeSlices(svc(), [...pods(3), pod('p4')], slices, { triggerTime: '2024-01-01T00:00:09Z' });
    assert.equal(JSON.stringify(slices), frozen);
    assert.notEqual(ch.update[0].endpoints, slices[0].endpoints);
  });
});

describe('computeSlices: unmanaged Services', () => {
  const cases: [string, SvcOpts, [number, number, number]][] = [
    ['no selector: managed slices are deleted', { selector: null }, [0, 0, 1]],
    ['ExternalName: managed slices are deleted', { type: 'ExternalName' }, [0, 0, 1]],
    ['Service being deleted: nothing is created', { deleting: true }, [0, 0, 0]],
  ];
  for (const [name, o, want] of cases) {
    it(name, () => {
      const existing = o.deleting ? [] : applied([], computeSlices(svc(), pods(1), []));
      assert.deepEqual(counts(computeSlices(svc(o), pods(1), existing)), want);
    });
  }
});
