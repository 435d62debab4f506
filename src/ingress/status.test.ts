import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../api/types.js';
import { decideIngressStatus, ingressStatusFromService, ingressesInTable, newEvents, tableEvents, type IngressLBIngress } from './status.js';
import type { IngressRef, Route, RoutingTable } from './types.js';

const withLB = (kind: string, ingress: unknown): KObject => ({ kind, metadata: { name: 'x', namespace: 'ns' }, status: { loadBalancer: { ingress } } });
const ref = (name: string, ts = '2026-01-01T00:00:00Z'): IngressRef => ({ namespace: 'ns', name, uid: `uid-${name}`, creationTimestamp: ts });

describe('ingressStatusFromService', () => {
  const cases: { name: string; svc: KObject | undefined; want: IngressLBIngress[] }[] = [
    { name: 'missing Service', svc: undefined, want: [] },
    { name: 'pending (no status)', svc: { metadata: { name: 's' } }, want: [] },
    { name: 'ip, ipMode dropped', svc: withLB('Service', [{ ip: '10.250.0.1', ipMode: 'VIP' }]), want: [{ ip: '10.250.0.1' }] },
    { name: 'hostname and ports kept', svc: withLB('Service', [{ hostname: 'lb.example', ports: [{ port: 80, protocol: 'TCP' }] }]), want: [{ hostname: 'lb.example', ports: [{ port: 80, protocol: 'TCP' }] }] },
    { name: 'empty entries skipped, order kept', svc: withLB('Service', [{}, { ip: '10.0.0.2' }, { ip: '10.0.0.1' }]), want: [{ ip: '10.0.0.2' }, { ip: '10.0.0.1' }] },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(ingressStatusFromService(c.svc), c.want));
});

describe('decideIngressStatus', () => {
  const ours: IngressLBIngress[] = [{ ip: '10.250.0.1' }];
  const bare: KObject = { metadata: { name: 'i' } };
  const showingOurs = withLB('Ingress', [{ ip: '10.250.0.1' }]);
  const showingOther = withLB('Ingress', [{ ip: '192.0.2.9' }]);
  const cases: { name: string; ing: KObject; served: boolean; published: IngressLBIngress[]; wroteBefore?: boolean; want: IngressLBIngress[] | undefined }[] = [
    { name: 'served, no status yet → publish', ing: bare, served: true, published: ours, want: ours },
    { name: 'served, already equal → no write', ing: showingOurs, served: true, published: ours, want: undefined },
    { name: 'served, address changed → publish', ing: showingOther, served: true, published: ours, want: ours },
    { name: 'served, Service lost its address → clear', ing: showingOurs, served: true, published: [], want: [] },
    { name: 'served, both empty → no write', ing: bare, served: true, published: [], want: undefined },
    { name: 'not served, shows our address → clear', ing: showingOurs, served: false, published: ours, want: [] },
    { name: 'not served, another controller’s address → untouched', ing: showingOther, served: false, published: ours, want: undefined },
    { name: 'not served, we wrote it before → clear', ing: showingOther, served: false, published: ours, wroteBefore: true, want: [] },
    { name: 'not served, empty → nothing', ing: bare, served: false, published: ours, wroteBefore: true, want: undefined },
  ];
  for (const c of cases) it(c.name, () => assert.deepEqual(decideIngressStatus(c.ing, { served: c.served, published: c.published, wroteBefore: c.wroteBefore ?? false }), c.want));
});

function route(source: IngressRef, path: string): Route {
  return {
    source,
    path,
    pathType: 'Prefix',
    backend: { kind: 'service', namespace: 'ns', service: 'svc', port: 80, endpoints: [] },
    options: { useRegex: false, sslRedirect: true, forceSslRedirect: false, backendProtocol: 'HTTP', connectTimeoutMs: 5000, readTimeoutMs: 60000, sendTimeoutMs: 60000, bodySizeLimit: 1 << 20, limitRps: 0, limitConnections: 0 },
  };
}

describe('table bookkeeping', () => {
  const a = ref('a');
  const b = ref('b', '2026-01-02T00:00:00Z');
  const w = ref('w');
  const table: RoutingTable = {
    hosts: new Map([['x.example', { host: 'x.example', routes: [route(a, '/p')] }]]),
    conflicts: [{ host: 'x.example', path: '/p', pathType: 'Prefix', winner: a, loser: b }],
    warnings: [{ ingress: w, reason: 'MissingSecret', message: 'secret ns/tls not found' }],
  };

  it('ingressesInTable names route sources, conflict parties and warned Ingresses', () => {
    assert.deepEqual([...ingressesInTable(table).keys()].sort(), ['uid-a', 'uid-b', 'uid-w']);
  });

  it('tableEvents: a Conflict on the loser naming host, path and winner, plus warnings', () => {
    const evs = tableEvents(table);
    assert.equal(evs.length, 2);
    assert.equal(evs[0].ingress.name, 'b');
    assert.equal(evs[0].reason, 'Conflict');
    assert.equal(evs[0].type, 'Warning');
    assert.match(evs[0].message, /x\.example/);
    assert.match(evs[0].message, /\/p/);
    assert.match(evs[0].message, /ns\/a/);
    assert.deepEqual([evs[1].reason, evs[1].message, evs[1].ingress.name], ['MissingSecret', 'secret ns/tls not found', 'w']);
  });

  it('newEvents reports once while a condition persists, again after it went away', () => {
    const evs = tableEvents(table);
    const first = newEvents(evs, new Set());
    assert.equal(first.emit.length, 2);
    const second = newEvents(evs, first.keep);
    assert.equal(second.emit.length, 0);
    const gone = newEvents([], second.keep);
    assert.equal(gone.keep.size, 0);
    assert.equal(newEvents(evs, gone.keep).emit.length, 2);
  });

  it('newEvents collapses duplicates within one table', () => {
    const evs = tableEvents(table);
    assert.equal(newEvents([evs[0], evs[0]], new Set()).emit.length, 1);
  });
});
