import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import {
  computeEndpoints,
  desiredEndpoints,
  findPort,
  repackSubsets,
  truncateSubsets,
  HEADLESS_LABEL,
  OVER_CAPACITY_ANNOTATION,
  TRIGGER_TIME_ANNOTATION,
  type EndpointSubset,
} from './compute.js';

interface PodOpts {
  ip?: string;
  ready?: boolean;
  labels?: Record<string, string>;
  ports?: { name: string; containerPort: number; protocol?: string }[];
  hostname?: string;
  subdomain?: string;
  deleting?: boolean;
  phase?: string;
  node?: string;
}

function pod(name: string, o: PodOpts = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: 'ns', uid: `uid-${name}`, labels: o.labels ?? { app: 'web' }, ...(o.deleting ? { deletionTimestamp: '2024-01-01T00:00:00Z' } : {}) },
    spec: { nodeName: o.node ?? 'n1', hostname: o.hostname, subdomain: o.subdomain, containers: [{ name: 'c', ports: o.ports ?? [] }] },
    status: {
      phase: o.phase ?? 'Running',
      ...(o.ip === '' ? {} : { podIP: o.ip ?? '10.0.0.1', podIPs: [{ ip: o.ip ?? '10.0.0.1' }] }),
      conditions: [{ type: 'Ready', status: o.ready === false ? 'False' : 'True' }],
    },
  };
}

function svc(spec: Record<string, unknown> = {}, meta: Partial<KObject['metadata']> = {}): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'ns', uid: 'svc-uid', creationTimestamp: '2024-01-01T00:00:00Z', ...meta },
    spec: { selector: { app: 'web' }, clusterIP: '10.96.0.10', ipFamilies: ['IPv4'], ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }], ...spec },
  };
}

const ref = (name: string): Record<string, unknown> => ({ kind: 'Pod', namespace: 'ns', name, uid: `uid-${name}` });
const addr = (name: string, ip: string, extra: Record<string, unknown> = {}): Record<string, unknown> => ({ ip, nodeName: 'n1', targetRef: ref(name), ...extra });

const cases: { name: string; svc: KObject; pods: KObject[]; want: unknown }[] = [
  {
    name: 'ready and not-ready pods, sorted by IP',
    svc: svc(),
    pods: [pod('b', { ip: '10.0.0.2' }), pod('a', { ip: '10.0.0.10' }), pod('c', { ip: '10.0.0.3', ready: false })],
    want: [{ addresses: [addr('a', '10.0.0.10'), addr('b', '10.0.0.2')], notReadyAddresses: [addr('c', '10.0.0.3')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'publishNotReadyAddresses lists not-ready and terminating pods as ready',
    svc: svc({ publishNotReadyAddresses: true }),
    pods: [pod('a', { ip: '10.0.0.1', ready: false }), pod('b', { ip: '10.0.0.2', deleting: true })],
    want: [{ addresses: [addr('a', '10.0.0.1'), addr('b', '10.0.0.2')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'terminating, terminal and IP-less pods are excluded',
    svc: svc(),
    pods: [pod('a', { deleting: true }), pod('b', { phase: 'Succeeded' }), pod('c', { ip: '' }), pod('d', { ip: '10.0.0.4' })],
    want: [{ addresses: [addr('d', '10.0.0.4')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'multiport: both ports in one subset',
    svc: svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080 }, { name: 'dns', port: 53, protocol: 'UDP', targetPort: 5353 }] }),
    pods: [pod('a', { ip: '10.0.0.1' })],
    want: [{ addresses: [addr('a', '10.0.0.1')], ports: [{ name: 'dns', port: 5353, protocol: 'UDP' }, { name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'named targetPort resolved per pod (name and protocol): different ports → different subsets; pods without it skipped',
    svc: svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }] }),
    pods: [
      pod('a', { ip: '10.0.0.1', ports: [{ name: 'web', containerPort: 8080 }] }),
      pod('b', { ip: '10.0.0.2', ports: [{ name: 'web', containerPort: 9090 }] }),
      pod('c', { ip: '10.0.0.3', ports: [{ name: 'web', containerPort: 7070, protocol: 'UDP' }] }),
      pod('d', { ip: '10.0.0.4', ports: [{ name: 'web', containerPort: 8080 }] }),
    ],
    want: [
      { addresses: [addr('a', '10.0.0.1'), addr('d', '10.0.0.4')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
      { addresses: [addr('b', '10.0.0.2')], ports: [{ name: 'http', port: 9090, protocol: 'TCP' }] },
    ],
  },
  {
    name: 'hostname only when the pod subdomain is the service name',
    svc: svc(),
    pods: [pod('a', { ip: '10.0.0.1', hostname: 'h-a', subdomain: 'web' }), pod('b', { ip: '10.0.0.2', hostname: 'h-b', subdomain: 'other' })],
    want: [{ addresses: [addr('a', '10.0.0.1', { hostname: 'h-a' }), addr('b', '10.0.0.2')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'headless service without ports lists addresses without ports',
    svc: svc({ clusterIP: 'None', ports: [] }),
    pods: [pod('a', { ip: '10.0.0.1' })],
    want: [{ addresses: [addr('a', '10.0.0.1')] }],
  },
  {
    name: 'non-headless service without ports gets nothing',
    svc: svc({ ports: [] }),
    pods: [pod('a', { ip: '10.0.0.1' })],
    want: [],
  },
  {
    name: 'IPv6 service picks the pod IPv6 address',
    svc: svc({ ipFamilies: ['IPv6'] }),
    pods: [{ ...pod('a'), status: { phase: 'Running', podIP: '10.0.0.1', podIPs: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], conditions: [{ type: 'Ready', status: 'True' }] } }],
    want: [{ addresses: [addr('a', 'fd00::1')], ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
  },
  {
    name: 'appProtocol carried over',
    svc: svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 8080, appProtocol: 'http' }] }),
    pods: [pod('a')],
    want: [{ addresses: [addr('a', '10.0.0.1')], ports: [{ name: 'http', port: 8080, protocol: 'TCP', appProtocol: 'http' }] }],
  },
];

for (const c of cases) {
  test(`computeEndpoints: ${c.name}`, () => {
    assert.deepEqual(computeEndpoints(c.svc, c.pods), c.want);
  });
}

test('computeEndpoints: input order does not matter', () => {
  const pods = Array.from({ length: 20 }, (_, i) => pod(`p${i}`, { ip: `10.0.${i % 3}.${i}`, ready: i % 4 !== 0, ports: [{ name: 'web', containerPort: 8000 + (i % 2) }] }));
  const s = svc({ ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 'web' }, { name: 'm', port: 9, protocol: 'TCP', targetPort: 9 }] });
  assert.deepEqual(computeEndpoints(s, [...pods].reverse()), computeEndpoints(s, pods));
});

test('repackSubsets: not-ready wins over ready for the same address and port; duplicates merge', () => {
  const a = { ip: '10.0.0.1', targetRef: { kind: 'Pod', name: 'a', uid: 'ua' } };
  const p = { name: 'x', port: 1, protocol: 'TCP' };
  const got = repackSubsets([{ addresses: [a], ports: [p] }, { notReadyAddresses: [a], ports: [p] }, { addresses: [a], ports: [p] }]);
  assert.deepEqual(got, [{ notReadyAddresses: [a], ports: [p] }]);
});

test('findPort: numeric string, int, missing name', () => {
  const p = pod('a', { ports: [{ name: 'web', containerPort: 8080 }] });
  assert.equal(findPort(p, { port: 80, targetPort: 8081 }), 8081);
  assert.equal(findPort(p, { port: 80 }), 80);
  assert.equal(findPort(p, { port: 80, targetPort: 'web' }), 8080);
  assert.equal(findPort(p, { port: 80, targetPort: 'nope' }), undefined);
});

const many = (n: number, _ready: boolean, base = 0): EndpointSubset['addresses'] =>
  Array.from({ length: n }, (_, i) => ({ ip: `10.${(base + i) >> 16}.${((base + i) >> 8) & 255}.${(base + i) & 255}` }));

test('truncateSubsets: table', () => {
  const table: { name: string; subsets: EndpointSubset[]; max: number; want: [number, number][] | null }[] = [
    { name: 'under capacity untouched', subsets: [{ addresses: many(10, true) }], max: 10, want: null },
    { name: 'not-ready dropped first', subsets: [{ addresses: many(8, true), notReadyAddresses: many(5, false, 100) }], max: 10, want: [[8, 2]] },
    { name: 'ready over capacity: not-ready all dropped, ready shared proportionally', subsets: [{ addresses: many(30, true), notReadyAddresses: many(5, false, 100) }, { addresses: many(10, true, 200) }], max: 20, want: [[15, 0], [5, 0]] },
    { name: 'proportional not-ready split rounds up', subsets: [{ addresses: many(2, true), notReadyAddresses: many(9, false, 100) }, { notReadyAddresses: many(3, false, 200) }], max: 6, want: [[2, 3], [0, 1]] },
  ];
  for (const t of table) {
    const r = truncateSubsets(t.subsets, t.max);
    if (t.want === null) {
      assert.equal(r.truncated, false, t.name);
      assert.deepEqual(r.subsets, t.subsets, t.name);
      continue;
    }
    assert.equal(r.truncated, true, t.name);
    assert.deepEqual(r.subsets.map((s) => [s.addresses?.length ?? 0, s.notReadyAddresses?.length ?? 0]), t.want, t.name);
  }
});

test('desiredEndpoints: 1001 pods truncated to 1000 with annotation; stable; annotation removed when back under', () => {
  const s = svc();
  const pods = Array.from({ length: 1001 }, (_, i) => pod(`p${i}`, { ip: `10.1.${i >> 8}.${i & 255}`, ready: i !== 7 }));
  const first = desiredEndpoints(s, pods, undefined)!;
  const subsets = first.subsets as EndpointSubset[];
  assert.equal(subsets.reduce((n, x) => n + (x.addresses?.length ?? 0) + (x.notReadyAddresses?.length ?? 0), 0), 1000);
  assert.equal(subsets[0].notReadyAddresses, undefined, 'the one not-ready pod is dropped first');
  assert.equal(first.metadata.annotations?.[OVER_CAPACITY_ANNOTATION], 'truncated');
  // Written and read back: unchanged input → no write.
  const stored = { ...first, metadata: { ...first.metadata, resourceVersion: '5', uid: 'x' } };
  assert.equal(desiredEndpoints(s, pods, stored), undefined);
  const under = desiredEndpoints(s, pods.slice(0, 999), stored)!;
  assert.ok(under);
  assert.equal(under.metadata.annotations?.[OVER_CAPACITY_ANNOTATION], undefined);
  assert.equal(under.metadata.resourceVersion, '5');
});

test('desiredEndpoints: labels are the service labels plus headless marker; label change rewrites', () => {
  const headless = svc({ clusterIP: 'None' }, { labels: { team: 'a' } });
  const e = desiredEndpoints(headless, [pod('a')], undefined, { triggerTime: '2024-01-01T00:00:00Z' })!;
  assert.deepEqual(e.metadata.labels, { team: 'a', [HEADLESS_LABEL]: '' });
  assert.equal(e.metadata.annotations?.[TRIGGER_TIME_ANNOTATION], '2024-01-01T00:00:00Z');
  assert.equal(e.metadata.name, 'web');
  assert.equal(desiredEndpoints(headless, [pod('a')], e), undefined, 'same input, no write (trigger time alone does not count)');
  const normal = svc({}, { labels: { team: 'a' } });
  assert.deepEqual(desiredEndpoints(normal, [pod('a')], e)!.metadata.labels, { team: 'a' });
  const relabeled = svc({ clusterIP: 'None' }, { labels: { team: 'b' } });
  assert.deepEqual(desiredEndpoints(relabeled, [pod('a')], e)!.metadata.labels, { team: 'b', [HEADLESS_LABEL]: '' });
});

test('desiredEndpoints: readiness flip rewrites; resourceVersion-only pod change does not', () => {
  const s = svc();
  const e = desiredEndpoints(s, [pod('a')], undefined)!;
  const cur: KObject = { ...e, metadata: { ...e.metadata, resourceVersion: '1' } };
  const withRv = (cur.subsets as EndpointSubset[]).map((x) => ({ ...x, addresses: x.addresses!.map((a) => ({ ...a, targetRef: { ...a.targetRef!, resourceVersion: '77' } })) }));
  assert.equal(desiredEndpoints(s, [pod('a')], { ...cur, subsets: withRv }), undefined);
  const flipped = desiredEndpoints(s, [pod('a', { ready: false })], cur)!;
  assert.deepEqual((flipped.subsets as EndpointSubset[])[0].notReadyAddresses?.map((a) => a.ip), ['10.0.0.1']);
});
