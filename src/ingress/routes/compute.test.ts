import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import type { Backend, RoutingTable } from '../types.js';
import { computeRoutingTable, matchRoute } from './index.js';
import {
  endpointSlice,
  ingress,
  ingressClass,
  inputs,
  rule,
  selfSigned,
  service,
  simpleBackend,
  svcBackend,
  tlsSecret,
} from './fixtures.js';

const P = 'ingress.kubelite.io/';

function tableOf(objs: KObject[], classes?: KObject[]): RoutingTable {
  return computeRoutingTable(inputs(objs, classes ? { classes } : {}));
}

/** Warnings other than the (expected, service-less fixtures') BackendNotFound ones. */
function otherWarnings(table: RoutingTable): RoutingTable['warnings'] {
  return table.warnings.filter((w) => w.reason !== 'BackendNotFound');
}

function svcName(b: Backend | undefined): string {
  return b?.kind === 'service' ? b.service : b ? 'unsupported' : 'none';
}

function only(host: string, svc: string): Record<string, unknown> {
  return { rules: [rule(host, [['/', 'Prefix', svcBackend(svc, 80)]])] };
}

// --- class selection ---------------------------------------------------------------------------

const CLASS_CASES: { name: string; ourDefault: boolean; spec: Record<string, unknown>; annotations?: Record<string, string>; deleting?: boolean; served: boolean }[] = [
  { name: 'ingressClassName = our class', ourDefault: false, spec: { ingressClassName: 'kubelite' }, served: true },
  { name: 'ingressClassName = our second class', ourDefault: false, spec: { ingressClassName: 'kubelite-internal' }, served: true },
  { name: "ingressClassName = another controller's class", ourDefault: true, spec: { ingressClassName: 'nginx' }, served: false },
  { name: 'ingressClassName naming no class', ourDefault: true, spec: { ingressClassName: 'missing' }, served: false },
  { name: 'no class, our class is default', ourDefault: true, spec: { ingressClassName: undefined }, served: true },
  { name: 'no class, our class is not default', ourDefault: false, spec: { ingressClassName: undefined }, served: false },
  {
    name: 'legacy annotation naming our class',
    ourDefault: false,
    spec: { ingressClassName: undefined },
    annotations: { 'kubernetes.io/ingress.class': 'kubelite' },
    served: true,
  },
  {
    name: 'legacy annotation naming another class beats our default',
    ourDefault: true,
    spec: { ingressClassName: undefined },
    annotations: { 'kubernetes.io/ingress.class': 'nginx' },
    served: false,
  },
  { name: 'being deleted', ourDefault: true, spec: { ingressClassName: 'kubelite' }, deleting: true, served: false },
];

for (const c of CLASS_CASES) {
  test(`class selection: ${c.name}`, () => {
    const classes = [
      ingressClass('kubelite', { isDefault: c.ourDefault }),
      ingressClass('kubelite-internal'),
      ingressClass('nginx', { controller: 'k8s.io/ingress-nginx' }),
    ];
    const ing = ingress('x', { ...only('x.test', 'x'), ...c.spec }, {
      ...(c.annotations ? { annotations: c.annotations } : {}),
      ...(c.deleting ? { deleting: true } : {}),
    });
    if (c.spec.ingressClassName === undefined) delete (ing.spec as Record<string, unknown>).ingressClassName;
    const table = tableOf([ing], classes);
    assert.equal(table.hosts.has('x.test'), c.served);
  });
}

test('class selection: another controller name can be configured', () => {
  const classes = [ingressClass('mine', { controller: 'example.com/other' })];
  const ing = ingress('x', { ...only('x.test', 'x'), ingressClassName: 'mine' });
  assert.equal(computeRoutingTable(inputs([ing], { classes })).hosts.has('x.test'), false);
  assert.equal(computeRoutingTable(inputs([ing], { classes }), { controller: 'example.com/other' }).hosts.has('x.test'), true);
});

// --- merging and conflicts ---------------------------------------------------------------------

test('rules for one host merge across Ingresses', () => {
  const table = tableOf([
    ingress('a', { rules: [rule('shop.test', [['/cart', 'Prefix', svcBackend('cart', 80)]])] }),
    ingress('b', { rules: [rule('shop.test', [['/api', 'Prefix', svcBackend('api', 80)]])] }, { ns: 'other' }),
  ]);
  assert.equal(svcName(matchRoute(table, 'shop.test', '/cart/1')?.backend), 'cart');
  const api = matchRoute(table, 'shop.test', '/api')?.backend;
  assert.equal(svcName(api), 'api');
  assert.equal(api?.namespace, 'other');
  assert.deepEqual(table.conflicts, []);
});

const CONFLICTS: { name: string; a: { ns?: string; created: string }; b: { ns?: string; created: string }; winner: string }[] = [
  { name: 'older creationTimestamp wins', a: { created: '2024-01-02T00:00:00Z' }, b: { created: '2024-01-01T00:00:00Z' }, winner: 'b' },
  { name: 'same time: namespace order', a: { ns: 'zz', created: '2024-01-01T00:00:00Z' }, b: { ns: 'aa', created: '2024-01-01T00:00:00Z' }, winner: 'b' },
  { name: 'same time and namespace: name order', a: { created: '2024-01-01T00:00:00Z' }, b: { created: '2024-01-01T00:00:00Z' }, winner: 'a' },
];

for (const c of CONFLICTS) {
  for (const order of ['ab', 'ba']) {
    test(`conflict: ${c.name} (input order ${order})`, () => {
      const a = ingress('a', { rules: [rule('c.test', [['/x', 'Prefix', svcBackend('svc-a', 80)]])] }, c.a);
      const b = ingress('b', { rules: [rule('c.test', [['/x', 'Prefix', svcBackend('svc-b', 80)]])] }, c.b);
      const table = tableOf(order === 'ab' ? [a, b] : [b, a]);
      assert.equal(svcName(matchRoute(table, 'c.test', '/x')?.backend), `svc-${c.winner}`);
      assert.equal(table.hosts.get('c.test')?.routes.length, 1);
      assert.equal(table.conflicts.length, 1);
      const conflict = table.conflicts[0]!;
      assert.equal(conflict.winner.name, c.winner);
      assert.equal(conflict.loser.name, c.winner === 'a' ? 'b' : 'a');
      assert.deepEqual([conflict.host, conflict.path, conflict.pathType], ['c.test', '/x', 'Prefix']);
    });
  }
}

test('same path with a different pathType or host is not a conflict', () => {
  const table = tableOf([
    ingress('a', { rules: [rule('c.test', [['/x', 'Prefix', svcBackend('p', 80)]])] }, { created: '2024-01-01T00:00:00Z' }),
    ingress('b', { rules: [rule('c.test', [['/x', 'Exact', svcBackend('e', 80)]])] }, { created: '2024-01-02T00:00:00Z' }),
    ingress('c', { rules: [rule('d.test', [['/x', 'Prefix', svcBackend('d', 80)]])] }, { created: '2024-01-03T00:00:00Z' }),
  ]);
  assert.deepEqual(table.conflicts, []);
  assert.equal(svcName(matchRoute(table, 'c.test', '/x')?.backend), 'e');
  assert.equal(svcName(matchRoute(table, 'c.test', '/x/y')?.backend), 'p');
  assert.equal(svcName(matchRoute(table, 'd.test', '/x')?.backend), 'd');
});

test('a path repeated within one Ingress: first kept, warned, not a conflict', () => {
  const table = tableOf([
    ingress('a', { rules: [rule('c.test', [['/x', 'Prefix', svcBackend('first', 80)], ['/x', 'Prefix', svcBackend('second', 80)]])] }),
  ]);
  assert.equal(svcName(matchRoute(table, 'c.test', '/x')?.backend), 'first');
  assert.deepEqual(table.conflicts, []);
  assert.ok(table.warnings.some((w) => w.reason === 'DuplicatePath'));
});

test('defaultBackend comes from the oldest Ingress that has one, and serves unmatched paths of known hosts', () => {
  const table = tableOf([
    ingress('new', { defaultBackend: svcBackend('new-default', 80) }, { created: '2024-03-01T00:00:00Z' }),
    ingress('old', { defaultBackend: svcBackend('old-default', 80) }, { created: '2024-02-01T00:00:00Z' }),
    ingress('rules', only('r.test', 'r'), { created: '2024-01-01T00:00:00Z' }),
    ingress('paths', { rules: [rule('p.test', [['/only', 'Exact', svcBackend('only', 80)]])] }),
  ]);
  assert.equal(svcName(table.defaultBackend), 'old-default');
  assert.equal(svcName(matchRoute(table, 'p.test', '/other')?.backend), 'old-default');
  assert.equal(matchRoute(table, 'p.test', '/other')?.host?.host, 'p.test');
  assert.equal(svcName(matchRoute(table, 'unknown.test', '/')?.backend), 'old-default');
  assert.equal(svcName(matchRoute(table, 'r.test', '/anything')?.backend), 'r');
});

// --- backends -----------------------------------------------------------------------------------

const WEB = [
  service('web', [
    { name: 'http', port: 80, targetPort: 'http' },
    { name: 'metrics', port: 9090, targetPort: 9100 },
  ]),
  endpointSlice('web', {
    ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }],
    endpoints: [
      { addresses: ['10.0.0.2'], ready: true },
      { addresses: ['10.0.0.1'] }, // ready unset = ready
      { addresses: ['10.0.0.3'], ready: false },
    ],
  }),
  // A second slice repeating one address (deduplicated) and adding one.
  endpointSlice('web', { ports: [{ name: 'http', port: 8080 }, { name: 'metrics', port: 9100 }], endpoints: [{ addresses: ['10.0.0.1', '10.0.0.4'] }] }),
  // Same service name in another namespace, and a slice of another service: both ignored.
  endpointSlice('web', { ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['10.9.9.9'] }], ns: 'elsewhere' }),
  endpointSlice('api', { ports: [{ name: 'http', port: 8080 }], endpoints: [{ addresses: ['10.8.8.8'] }] }),
  service('plain', [{ port: 8080, targetPort: 80 }]),
  endpointSlice('plain', { ports: [{ port: 80 }], endpoints: [{ addresses: ['10.1.0.1'] }, { addresses: ['10.1.0.2'], ready: false }] }),
  service('ext', [{ port: 80 }], { type: 'ExternalName', externalName: 'example.org' }),
  service('empty', [{ name: 'http', port: 80 }]),
];

const BACKENDS: { name: string; backend: Record<string, unknown>; endpoints: string[]; problem?: RegExp; kind?: string }[] = [
  { name: 'port by name', backend: svcBackend('web', 'http'), endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.4:8080'] },
  { name: 'port by number selects the slice port by the service port name', backend: svcBackend('web', 9090), endpoints: ['10.0.0.1:9100', '10.0.0.2:9100', '10.0.0.4:9100'] },
  { name: 'port by number (named service port)', backend: svcBackend('web', 80), endpoints: ['10.0.0.1:8080', '10.0.0.2:8080', '10.0.0.4:8080'] },
  { name: 'unnamed port', backend: svcBackend('plain', 8080), endpoints: ['10.1.0.1:80'] },
  { name: 'unknown port number', backend: svcBackend('web', 81), endpoints: [], problem: /^service default\/web has no port 81$/ },
  { name: 'unknown port name', backend: svcBackend('web', 'grpc'), endpoints: [], problem: /^service default\/web has no port named "grpc"$/ },
  { name: 'missing service', backend: svcBackend('nope', 80), endpoints: [], problem: /^service default\/nope not found$/ },
  { name: 'ExternalName', backend: svcBackend('ext', 80), endpoints: [], problem: /ExternalName \(example\.org\).*does not proxy/ },
  { name: 'no ready endpoints', backend: svcBackend('empty', 'http'), endpoints: [], problem: /^no ready endpoints for service default\/empty port http$/ },
  {
    name: 'resource backend',
    backend: { resource: { apiGroup: 'k8s.example.com', kind: 'StorageBucket', name: 'static-assets' } },
    endpoints: [],
    kind: 'unsupported',
  },
];

for (const c of BACKENDS) {
  test(`backend: ${c.name}`, () => {
    const table = tableOf([...WEB, ingress('b', { rules: [rule('b.test', [['/', 'Prefix', c.backend]])] })]);
    const b = matchRoute(table, 'b.test', '/')?.backend;
    assert.ok(b);
    if (c.kind === 'unsupported') {
      assert.equal(b.kind, 'unsupported');
      assert.match(b.kind === 'unsupported' ? b.message : '', /resource backend StorageBucket\.k8s\.example\.com "static-assets".*not supported/);
      assert.ok(table.warnings.some((w) => w.reason === 'UnsupportedBackend'));
      return;
    }
    assert.equal(b.kind, 'service');
    if (b.kind !== 'service') return;
    assert.deepEqual(b.endpoints.map((e) => `${e.address}:${e.port}`), c.endpoints);
    if (c.problem) assert.match(b.problem ?? '', c.problem);
    else assert.equal(b.problem, undefined);
    // Missing things are events; "no ready endpoints yet" is not.
    const notFound = table.warnings.filter((w) => w.reason === 'BackendNotFound');
    assert.equal(notFound.length, c.problem && !c.name.startsWith('no ready') ? 1 : 0);
  });
}

// --- TLS ----------------------------------------------------------------------------------------

const A = selfSigned('a.test');
const W = selfSigned('*.wild.test');
const OTHER = selfSigned('other');

test('TLS: certificate selection by host, wildcard TLS hosts, TLS-only hosts, oldest wins', () => {
  const table = tableOf([
    tlsSecret('a-tls', A),
    tlsSecret('wild-tls', W),
    tlsSecret('other-tls', OTHER),
    ingress(
      'old',
      {
        tls: [{ hosts: ['a.test', 'only-tls.test'], secretName: 'a-tls' }, { hosts: ['*.wild.test'], secretName: 'wild-tls' }],
        rules: [rule('a.test', [['/', 'Prefix', svcBackend('a', 80)]]), rule('x.wild.test', [['/', 'Prefix', svcBackend('x', 80)]])],
      },
      { created: '2024-01-01T00:00:00Z' },
    ),
    ingress('new', { tls: [{ hosts: ['A.test'], secretName: 'other-tls' }], rules: [] }, { created: '2024-02-01T00:00:00Z' }),
  ]);
  assert.equal(table.hosts.get('a.test')?.tls?.secret, 'default/a-tls');
  assert.equal(table.hosts.get('x.wild.test')?.tls?.secret, 'default/wild-tls');
  assert.equal(table.hosts.get('*.wild.test')?.tls?.secret, 'default/wild-tls');
  assert.equal(table.hosts.get('only-tls.test')?.tls?.secret, 'default/a-tls');
  assert.deepEqual(table.hosts.get('only-tls.test')?.routes, []);
  assert.equal(table.hosts.get('a.test')?.tls?.keyPem, A.keyPem);
  assert.deepEqual(otherWarnings(table), []);
});

const BAD_TLS: { name: string; secrets: KObject[]; reason: string; message: RegExp }[] = [
  { name: 'missing secret', secrets: [], reason: 'TLSSecretNotFound', message: /TLS secret default\/s not found/ },
  { name: 'secret in another namespace', secrets: [tlsSecret('s', A, { ns: 'other' })], reason: 'TLSSecretNotFound', message: /default\/s not found/ },
  { name: 'wrong type', secrets: [tlsSecret('s', A, { type: 'Opaque' })], reason: 'InvalidTLSSecret', message: /type "Opaque"/ },
  { name: 'garbage certificate', secrets: [tlsSecret('s', { certPem: 'not a cert', keyPem: A.keyPem })], reason: 'InvalidTLSSecret', message: /not a PEM certificate/ },
  { name: 'garbage key', secrets: [tlsSecret('s', { certPem: A.certPem, keyPem: 'not a key' })], reason: 'InvalidTLSSecret', message: /not a PEM private key/ },
  { name: 'key of another certificate', secrets: [tlsSecret('s', { certPem: A.certPem, keyPem: OTHER.keyPem })], reason: 'InvalidTLSSecret', message: /does not match/ },
];

for (const c of BAD_TLS) {
  test(`TLS: ${c.name} → warning, no certificate, host still present`, () => {
    const table = tableOf([...c.secrets, ingress('t', { tls: [{ hosts: ['a.test'], secretName: 's' }], ...only('a.test', 'a') })]);
    const entry = table.hosts.get('a.test');
    assert.ok(entry);
    assert.equal(entry.tls, undefined);
    const warnings = otherWarnings(table);
    assert.equal(warnings.length, 1, JSON.stringify(warnings));
    assert.equal(warnings[0]!.reason, c.reason);
    assert.match(warnings[0]!.message, c.message);
    assert.equal(warnings[0]!.ingress.name, 't');
    // ssl-redirect still defaults to true: the host is listed under tls (default certificate served).
    assert.equal(entry.routes[0]!.options.sslRedirect, true);
  });
}

test('TLS: an entry without hosts covers the Ingress rule hosts', () => {
  const table = tableOf([tlsSecret('s', A), ingress('t', { tls: [{ secretName: 's' }], ...only('a.test', 'a') })]);
  assert.equal(table.hosts.get('a.test')?.tls?.secret, 'default/s');
});

test('ssl-redirect: default true only for TLS hosts, annotation overrides', () => {
  const table = tableOf([
    tlsSecret('s', A),
    ingress('tls', { tls: [{ hosts: ['a.test'], secretName: 's' }], ...only('a.test', 'a') }),
    ingress('plain', only('plain.test', 'p')),
    ingress('off', { tls: [{ hosts: ['off.test'], secretName: 's' }], ...only('off.test', 'o') }, { annotations: { [P + 'ssl-redirect']: 'false' } }),
    ingress('force', only('force.test', 'f'), { annotations: { [P + 'force-ssl-redirect']: 'true' } }),
  ]);
  const opts = (h: string): { ssl: boolean; force: boolean } => {
    const o = matchRoute(table, h, '/')!.route!.options;
    return { ssl: o.sslRedirect, force: o.forceSslRedirect };
  };
  assert.deepEqual(opts('a.test'), { ssl: true, force: false });
  assert.deepEqual(opts('plain.test'), { ssl: false, force: false });
  assert.deepEqual(opts('off.test'), { ssl: false, force: false });
  assert.deepEqual(opts('force.test'), { ssl: false, force: true });
});

test('TLS-only host with rules without host: the no-host rules serve it, its TLS entry is kept', () => {
  const table = tableOf([
    tlsSecret('s', A),
    ingress('t', { tls: [{ hosts: ['a.test'], secretName: 's' }], rules: [rule('', [['/', 'Prefix', svcBackend('any', 80)]])] }),
  ]);
  const m = matchRoute(table, 'a.test', '/x');
  assert.equal(svcName(m?.backend), 'any');
  assert.equal(table.hosts.get('a.test')?.tls?.secret, 'default/s');
});

// --- canary -------------------------------------------------------------------------------------

test('canary: attaches to the main route with the same host+path, adds no routes', () => {
  const table = tableOf([
    ...simpleBackend('prod', '10.0.0.1'),
    ...simpleBackend('canary', '10.0.0.2'),
    ingress('main', { rules: [rule('app.test', [['/', 'Prefix', svcBackend('prod', 8080)], ['/api', 'Prefix', svcBackend('prod', 8080)]])] }),
    ingress(
      'canary',
      { rules: [rule('app.test', [['/', 'Prefix', svcBackend('canary', 8080)]])] },
      { annotations: { [P + 'canary']: 'true', [P + 'canary-weight']: '20', [P + 'canary-by-header']: 'X-Canary' }, created: '2024-05-01T00:00:00Z' },
    ),
  ]);
  const routes = table.hosts.get('app.test')!.routes;
  assert.equal(routes.length, 2);
  const root = routes.find((r) => r.path === '/')!;
  assert.equal(root.source.name, 'main');
  assert.deepEqual(root.canary && { ...root.canary, backend: svcName(root.canary.backend) }, {
    backend: 'canary',
    header: 'X-Canary',
    weight: 20,
    weightTotal: 100,
  });
  assert.deepEqual(root.canary?.backend.kind === 'service' && root.canary.backend.endpoints, [{ address: '10.0.0.2', port: 80 }]);
  assert.equal(routes.find((r) => r.path === '/api')!.canary, undefined);
  assert.deepEqual(table.conflicts, []);
});

test('canary: no main route → warning; second canary → older wins, warning', () => {
  const canaryAnn = { [P + 'canary']: 'true', [P + 'canary-weight']: '50' };
  const table = tableOf([
    ingress('main', only('app.test', 'prod')),
    ingress('c1', only('app.test', 'canary-1'), { annotations: canaryAnn, created: '2024-02-01T00:00:00Z' }),
    ingress('c2', only('app.test', 'canary-2'), { annotations: canaryAnn, created: '2024-03-01T00:00:00Z' }),
    ingress('lonely', only('nomain.test', 'canary-3'), { annotations: canaryAnn }),
  ]);
  assert.equal(svcName(table.hosts.get('app.test')!.routes[0]!.canary?.backend), 'canary-1');
  assert.equal(table.hosts.get('nomain.test')?.routes.length ?? 0, 0);
  assert.equal(matchRoute(table, 'nomain.test', '/'), undefined);
  const reasons = otherWarnings(table).map((w) => `${w.ingress.name}:${w.reason}`).sort();
  assert.deepEqual(reasons, ['c2:CanaryConflict', 'lonely:CanaryWithoutMainRoute']);
});

// --- misc ---------------------------------------------------------------------------------------

test('an invalid regex path is dropped with a warning', () => {
  const table = tableOf([
    ingress(
      'r',
      { rules: [rule('r.test', [['/(unclosed', 'ImplementationSpecific', svcBackend('bad', 80)], ['/ok', 'ImplementationSpecific', svcBackend('ok', 80)]])] },
      { annotations: { [P + 'use-regex']: 'true' } },
    ),
  ]);
  assert.deepEqual(table.hosts.get('r.test')!.routes.map((r) => r.path), ['/ok']);
  assert.equal(table.warnings.filter((w) => w.reason === 'InvalidPathRegex').length, 1);
});

test('annotation warnings are reported on the Ingress and defaults are used', () => {
  const table = tableOf([ingress('a', only('a.test', 'a'), { annotations: { [P + 'proxy-read-timeout']: 'forever' } })]);
  const warnings = otherWarnings(table);
  assert.equal(warnings.length, 1);
  assert.equal(warnings[0]!.reason, 'BadAnnotation');
  assert.equal(warnings[0]!.ingress.name, 'a');
  assert.equal(matchRoute(table, 'a.test', '/')!.route!.options.readTimeoutMs, 60_000);
});

test('omitted path is /, routes are sorted longest first with Exact first', () => {
  const ing = ingress('s', {
    rules: [
      {
        host: 's.test',
        http: {
          paths: [
            { pathType: 'Prefix', backend: svcBackend('root', 80) },
            { path: '/a', pathType: 'Prefix', backend: svcBackend('a', 80) },
            { path: '/a/b/', pathType: 'Prefix', backend: svcBackend('ab', 80) },
            { path: '/a/b', pathType: 'Exact', backend: svcBackend('ab-exact', 80) },
          ],
        },
      },
    ],
  });
  const table = tableOf([ing]);
  assert.deepEqual(table.hosts.get('s.test')!.routes.map((r) => `${r.pathType}:${r.path}`), ['Exact:/a/b', 'Prefix:/a/b/', 'Prefix:/a', 'Prefix:/']);
});

test('performance: 1,000 Ingresses with 3 paths each and their Services compute in milliseconds', (t) => {
  const objs: KObject[] = [];
  for (let i = 0; i < 1000; i++) {
    const ns = `ns${i % 50}`;
    objs.push(
      service(`svc${i}`, [{ name: 'http', port: 80 }], { ns }),
      endpointSlice(`svc${i}`, {
        ports: [{ name: 'http', port: 8080 }],
        endpoints: [{ addresses: [`10.${i >> 8}.${i & 255}.1`] }, { addresses: [`10.${i >> 8}.${i & 255}.2`] }],
        ns,
      }),
      ingress(
        `ing${i}`,
        {
          rules: [
            rule(`h${i % 300}.test`, [
              [`/p${i}`, 'Prefix', svcBackend(`svc${i}`, 'http')],
              [`/p${i}/exact`, 'Exact', svcBackend(`svc${i}`, 80)],
              [`/q${i}`, 'ImplementationSpecific', svcBackend(`svc${i}`, 'http')],
            ]),
          ],
        },
        { ns, created: `2024-01-01T00:${String(i % 60).padStart(2, '0')}:00Z` },
      ),
    );
  }
  const input = inputs(objs);
  // Best of 5 after warm-up (JIT, and other test files running in parallel).
  for (let i = 0; i < 3; i++) computeRoutingTable(input);
  let ms = Infinity;
  let table = computeRoutingTable(input);
  for (let i = 0; i < 5; i++) {
    // CPU time, not wall time: other processes on a busy test machine do not count.
    const start = process.cpuUsage();
    table = computeRoutingTable(input);
    const used = process.cpuUsage(start);
    ms = Math.min(ms, (used.user + used.system) / 1000);
  }
  assert.equal([...table.hosts.values()].reduce((n, h) => n + h.routes.length, 0), 3000);
  assert.equal(table.warnings.length, 0);
  const m = matchRoute(table, 'h7.test', '/p7/x');
  assert.equal(m?.backend.kind === 'service' && m.backend.endpoints.length, 2);
  t.diagnostic(`computeRoutingTable: ${ms.toFixed(1)} ms CPU for 1,000 Ingresses / 3,000 paths`);
  // ~20 ms on an idle machine; the bound only catches accidental quadratic work (which would take
  // seconds) without failing on a loaded 2-CPU test machine.
  assert.ok(ms < 200, `took ${ms.toFixed(1)} ms`);
});
