import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { KObject } from '../../api/types.js';
import { computeRoutingTable, hostCovers, matchRoute, normalizeHost, prefixMatches, rewritePath } from './index.js';
import { ingress, inputs, rule, selfSigned, svcBackend, tlsSecret } from './fixtures.js';
import type { RoutingTable } from '../types.js';

/** The service a request reaches ('404' when nothing answers, not even a default backend). */
function served(table: RoutingTable, host: string, path: string): string {
  const m = matchRoute(table, host, path);
  if (!m) return '404';
  return m.backend.kind === 'service' ? m.backend.service : `unsupported:${m.backend.message}`;
}

function tableOf(objs: KObject[]): RoutingTable {
  return computeRoutingTable(inputs(objs));
}

// The Kubernetes documentation's "Examples" table (concepts/services-networking/ingress, path
// matching), every row, as request → backend. Each rule path goes to a service named after it.
// A "No" row expects 404 (no default backend) and, with a default backend, the default.
const DOC_ROWS: { row: string; paths: [string, string, string][]; requests: string[]; expect: string }[] = [
  { row: 'Prefix / matches all paths', paths: [['/', 'Prefix', 'root']], requests: ['/', '/foo', '/foo/bar', '/a/b/c/'], expect: 'root' },
  { row: 'Exact /foo matches /foo', paths: [['/foo', 'Exact', 'foo']], requests: ['/foo'], expect: 'foo' },
  { row: 'Exact /foo does not match /bar', paths: [['/foo', 'Exact', 'foo']], requests: ['/bar'], expect: '404' },
  { row: 'Exact /foo does not match /foo/', paths: [['/foo', 'Exact', 'foo']], requests: ['/foo/'], expect: '404' },
  { row: 'Exact /foo/ does not match /foo', paths: [['/foo/', 'Exact', 'foo-slash']], requests: ['/foo'], expect: '404' },
  { row: 'Prefix /foo matches /foo and /foo/', paths: [['/foo', 'Prefix', 'foo']], requests: ['/foo', '/foo/'], expect: 'foo' },
  { row: 'Prefix /foo/ matches /foo and /foo/', paths: [['/foo/', 'Prefix', 'foo-slash']], requests: ['/foo', '/foo/'], expect: 'foo-slash' },
  { row: 'Prefix /aaa/bb does not match /aaa/bbb', paths: [['/aaa/bb', 'Prefix', 'bb']], requests: ['/aaa/bbb'], expect: '404' },
  { row: 'Prefix /aaa/bbb matches /aaa/bbb', paths: [['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/aaa/bbb'], expect: 'bbb' },
  { row: 'Prefix /aaa/bbb/ matches /aaa/bbb (ignores trailing slash)', paths: [['/aaa/bbb/', 'Prefix', 'bbb-slash']], requests: ['/aaa/bbb'], expect: 'bbb-slash' },
  { row: 'Prefix /aaa/bbb matches /aaa/bbb/ (matches trailing slash)', paths: [['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/aaa/bbb/'], expect: 'bbb' },
  { row: 'Prefix /aaa/bbb matches /aaa/bbb/ccc (subpath)', paths: [['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/aaa/bbb/ccc'], expect: 'bbb' },
  { row: 'Prefix /aaa/bbb does not match /aaa/bbbxyz (not a string prefix)', paths: [['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/aaa/bbbxyz'], expect: '404' },
  { row: 'Prefix /, /aaa: /aaa/ccc matches /aaa', paths: [['/', 'Prefix', 'root'], ['/aaa', 'Prefix', 'aaa']], requests: ['/aaa/ccc'], expect: 'aaa' },
  { row: 'Prefix /, /aaa, /aaa/bbb: /aaa/bbb matches /aaa/bbb', paths: [['/', 'Prefix', 'root'], ['/aaa', 'Prefix', 'aaa'], ['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/aaa/bbb'], expect: 'bbb' },
  { row: 'Prefix /, /aaa, /aaa/bbb: /ccc matches /', paths: [['/', 'Prefix', 'root'], ['/aaa', 'Prefix', 'aaa'], ['/aaa/bbb', 'Prefix', 'bbb']], requests: ['/ccc'], expect: 'root' },
  { row: 'Prefix /aaa: /ccc does not match (default backend)', paths: [['/aaa', 'Prefix', 'aaa']], requests: ['/ccc'], expect: '404' },
  { row: 'Mixed /foo Prefix + /foo Exact: /foo prefers Exact', paths: [['/foo', 'Prefix', 'foo-prefix'], ['/foo', 'Exact', 'foo-exact']], requests: ['/foo'], expect: 'foo-exact' },
  // The same, with the rules listed in the other order (order in the YAML must not matter).
  { row: 'Mixed, reversed order: /foo prefers Exact', paths: [['/foo', 'Exact', 'foo-exact'], ['/foo', 'Prefix', 'foo-prefix']], requests: ['/foo'], expect: 'foo-exact' },
  { row: 'Mixed: /foo/ goes to the Prefix', paths: [['/foo', 'Exact', 'foo-exact'], ['/foo', 'Prefix', 'foo-prefix']], requests: ['/foo/', '/foo/x'], expect: 'foo-prefix' },
];

for (const r of DOC_ROWS) {
  test(`docs table: ${r.row}`, () => {
    const paths = r.paths.map(([p, t, svc]): [string, string, Record<string, unknown>] => [p, t, svcBackend(svc, 80)]);
    const plain = tableOf([ingress('docs', { rules: [rule('', paths)] })]);
    const withDefault = tableOf([ingress('docs', { rules: [rule('', paths)], defaultBackend: svcBackend('the-default', 80) })]);
    for (const req of r.requests) {
      assert.equal(served(plain, 'any.example', req), r.expect, `request ${req}`);
      assert.equal(served(withDefault, 'any.example', req), r.expect === '404' ? 'the-default' : r.expect, `request ${req} (with default)`);
    }
  });
}

// kubernetes-sigs/ingress-controller-conformance features/path_rules.feature, re-created.
const PATH_RULES = ingress('path-rules', {
  rules: [
    rule('exact-path-rules', [['/foo', 'Exact', svcBackend('foo-exact', 8080)]]),
    rule('prefix-path-rules', [
      ['/foo', 'Prefix', svcBackend('foo-prefix', 8080)],
      ['/aaa/bbb', 'Prefix', svcBackend('aaa-slash-bbb-prefix', 8080)],
      ['/aaa', 'Prefix', svcBackend('aaa-prefix', 8080)],
    ]),
    rule('mixed-path-rules', [
      ['/foo', 'Prefix', svcBackend('foo-prefix', 8080)],
      ['/foo', 'Exact', svcBackend('foo-exact', 8080)],
    ]),
    rule('trailing-slash-path-rules', [
      ['/aaa/bbb/', 'Prefix', svcBackend('aaa-slash-bbb-slash-prefix', 8080)],
      ['/foo/', 'Exact', svcBackend('foo-slash-exact', 8080)],
    ]),
  ],
});

const PATH_SCENARIOS: [string, string, string][] = [
  ['exact-path-rules', '/foo', 'foo-exact'],
  ['exact-path-rules', '/foo/', '404'],
  ['exact-path-rules', '/FOO', '404'],
  ['exact-path-rules', '/bar', '404'],
  ['prefix-path-rules', '/foo', 'foo-prefix'],
  ['prefix-path-rules', '/foo/', 'foo-prefix'],
  ['prefix-path-rules', '/FOO', '404'],
  ['prefix-path-rules', '/aaa/bbb', 'aaa-slash-bbb-prefix'],
  ['prefix-path-rules', '/aaa/bbb/ccc', 'aaa-slash-bbb-prefix'],
  ['prefix-path-rules', '/aaa/ccc', 'aaa-prefix'],
  ['prefix-path-rules', '/aaaccc', '404'],
  ['mixed-path-rules', '/foo', 'foo-exact'],
  ['trailing-slash-path-rules', '/aaa/bbb', 'aaa-slash-bbb-slash-prefix'],
  ['trailing-slash-path-rules', '/aaa/bbb/', 'aaa-slash-bbb-slash-prefix'],
  ['trailing-slash-path-rules', '/foo', '404'],
  // Beyond the feature file: the Exact /foo/ rule itself.
  ['trailing-slash-path-rules', '/foo/', 'foo-slash-exact'],
];

test('conformance path_rules', () => {
  const table = tableOf([PATH_RULES]);
  for (const [host, path, expect] of PATH_SCENARIOS) assert.equal(served(table, host, path), expect, `http://${host}${path}`);
});

// features/host_rules.feature, re-created (TLS for foo.bar.com from the conformance-tls Secret).
test('conformance host_rules', () => {
  const { certPem, keyPem } = selfSigned('foo.bar.com');
  const table = tableOf([
    tlsSecret('conformance-tls', { certPem, keyPem }),
    ingress('host-rules', {
      tls: [{ hosts: ['foo.bar.com'], secretName: 'conformance-tls' }],
      rules: [
        rule('*.foo.com', [['/', 'Prefix', svcBackend('wildcard-foo-com', 8080)]]),
        rule('foo.bar.com', [['/', 'Prefix', svcBackend('foo-bar-com', 'http')]]),
      ],
    }),
  ]);
  const cases: [string, string][] = [
    ['foo.bar.com', 'foo-bar-com'],
    ['subdomain.bar.com', '404'],
    ['bar.foo.com', 'wildcard-foo-com'],
    ['baz.bar.foo.com', '404'],
    ['foo.com', '404'],
  ];
  for (const [host, expect] of cases) assert.equal(served(table, host, '/'), expect, host);
  // The https scenario: the certificate for foo.bar.com is the Secret's.
  const m = matchRoute(table, 'foo.bar.com', '/');
  assert.equal(m?.host?.tls?.secret, 'default/conformance-tls');
  assert.equal(m?.host?.tls?.certPem, certPem);
  assert.equal(m?.route?.options.sslRedirect, true);
  assert.equal(matchRoute(table, 'bar.foo.com', '/')?.route?.options.sslRedirect, false);
});

// features/default_backend.feature, re-created: an Ingress with only a defaultBackend gets everything.
test('conformance default_backend', () => {
  const table = tableOf([ingress('default-backend', { defaultBackend: svcBackend('echo-service', 8080) })]);
  const cases: [string, string][] = [
    ['my-host', '/'],
    ['my-host', '/sub-path'],
    ['some-host', '/'],
    ['', '/resource'],
    ['some-host', '/resource'],
    ['my-host', '/resource'],
  ];
  for (const [host, path] of cases) {
    const m = matchRoute(table, host, path);
    assert.equal(m?.route, undefined);
    assert.equal(served(table, host, path), 'echo-service', `${host}${path}`);
  }
});

test('host matching: wildcard covers one label, exact beats wildcard, case and port ignored', () => {
  const table = tableOf([
    ingress('hosts', {
      rules: [
        rule('*.example.com', [['/', 'Prefix', svcBackend('wild', 80)]]),
        rule('api.example.com', [['/', 'Prefix', svcBackend('api', 80)]]),
        rule('', [['/', 'Prefix', svcBackend('no-host', 80)]]),
        rule('Mixed.Case.ORG', [['/', 'Prefix', svcBackend('mixed', 80)]]),
      ],
    }),
  ]);
  const cases: [string, string][] = [
    ['api.example.com', 'api'],
    ['API.Example.COM', 'api'],
    ['api.example.com:8443', 'api'],
    ['api.example.com.', 'api'],
    ['www.example.com', 'wild'],
    ['WWW.EXAMPLE.COM:80', 'wild'],
    ['a.b.example.com', 'no-host'],
    ['example.com', 'no-host'],
    ['mixed.case.org', 'mixed'],
    ['other.net', 'no-host'],
    ['10.0.0.1:80', 'no-host'],
    ['[::1]:8080', 'no-host'],
    ['', 'no-host'],
  ];
  for (const [host, expect] of cases) assert.equal(served(table, host, '/x'), expect, host);
});

test('host matching: the chosen host does not fall back to the no-host rules for unmatched paths', () => {
  const table = tableOf([
    ingress('a', {
      rules: [rule('a.test', [['/api', 'Prefix', svcBackend('api', 80)]]), rule('', [['/', 'Prefix', svcBackend('catch', 80)]])],
    }),
  ]);
  assert.equal(served(table, 'a.test', '/api/v1'), 'api');
  assert.equal(served(table, 'a.test', '/other'), '404');
  assert.equal(served(table, 'b.test', '/other'), 'catch');
});

test('normalizeHost', () => {
  const cases: [string, string][] = [
    ['Foo.COM:8080', 'foo.com'],
    ['foo.com.', 'foo.com'],
    ['[::1]:80', '::1'],
    ['[2001:db8::1]', '2001:db8::1'],
    ['2001:db8::1', '2001:db8::1'],
    [' x.y ', 'x.y'],
  ];
  for (const [input, want] of cases) assert.equal(normalizeHost(input), want, input);
});

test('hostCovers: exact, one-label wildcard, any', () => {
  const cases: [string, string, boolean][] = [
    ['foo.bar.com', 'foo.bar.com', true],
    ['foo.bar.com', 'x.foo.bar.com', false],
    ['*.foo.com', 'bar.foo.com', true],
    ['*.foo.com', 'baz.bar.foo.com', false],
    ['*.foo.com', 'foo.com', false],
    ['*.foo.com', '.foo.com', false],
    ['', 'anything.test', true],
  ];
  for (const [ruleHost, host, want] of cases) assert.equal(hostCovers(ruleHost, host), want, `${ruleHost} vs ${host}`);
});

test('prefixMatches is element-wise', () => {
  const cases: [string, string, boolean][] = [
    ['/', '/', true],
    ['/', '/anything/at/all', true],
    ['/foo', '/foo', true],
    ['/foo', '/foo/', true],
    ['/foo', '/foo/bar', true],
    ['/foo', '/foobar', false],
    ['/foo', '/fo', false],
    ['/foo/', '/foo', true],
    ['/foo//', '/foo/x', true],
    ['/a/b', '/a', false],
    ['/a/b', '/a/bc/d', false],
  ];
  for (const [rulePath, req, want] of cases) assert.equal(prefixMatches(rulePath, req), want, `${rulePath} vs ${req}`);
});

test('query strings are ignored for matching', () => {
  const table = tableOf([ingress('q', { rules: [rule('', [['/foo', 'Exact', svcBackend('foo', 80)]])] })]);
  assert.equal(served(table, 'h', '/foo?x=1'), 'foo');
  assert.equal(served(table, 'h', '/foo/?x=1'), '404');
});

test('ImplementationSpecific is Prefix without use-regex; regex (anchored, case-insensitive) with it', () => {
  const table = tableOf([
    ingress('plain', { rules: [rule('plain.test', [['/app', 'ImplementationSpecific', svcBackend('plain', 80)]])] }),
    ingress(
      'regex',
      { rules: [rule('re.test', [['/api/v[0-9]+', 'ImplementationSpecific', svcBackend('re', 80)]])] },
      { annotations: { 'ingress.kubelite.io/use-regex': 'true' } },
    ),
    ingress(
      'rewrite',
      { rules: [rule('rw.test', [['/something(/|$)(.*)', 'ImplementationSpecific', svcBackend('rw', 80)]])] },
      { annotations: { 'ingress.kubelite.io/rewrite-target': '/$2' } },
    ),
  ]);
  const cases: [string, string, string][] = [
    ['plain.test', '/app', 'plain'],
    ['plain.test', '/app/x', 'plain'],
    ['plain.test', '/apple', '404'],
    ['re.test', '/api/v2', 're'],
    ['re.test', '/API/V12/users', 're'],
    ['re.test', '/x/api/v2', '404'],
    ['re.test', '/api/vx', '404'],
    ['rw.test', '/something', 'rw'],
    ['rw.test', '/something/new', 'rw'],
    // `/something(/|$)(.*)` needs `/` or the end after "something".
    ['rw.test', '/somethingelse', '404'],
  ];
  for (const [host, path, expect] of cases) assert.equal(served(table, host, path), expect, `${host}${path}`);

  // ingress-nginx's rewrite example: captures feed the target.
  const rewrites: [string, string][] = [
    ['/something', '/'],
    ['/something/', '/'],
    ['/something/new', '/new'],
    ['/something/a/b?q=1', '/a/b'],
  ];
  for (const [req, want] of rewrites) {
    const m = matchRoute(table, 'rw.test', req);
    assert.ok(m?.route?.options.rewriteTarget, req);
    assert.equal(rewritePath(m.route.options.rewriteTarget, m.captures), want, req);
  }
  assert.deepEqual(matchRoute(table, 'rw.test', '/something/new')?.captures, ['/something/new', '/', 'new']);
  assert.deepEqual(matchRoute(table, 'plain.test', '/app')?.captures, []);
});

test('Exact and Prefix keep their meaning even with use-regex', () => {
  const table = tableOf([
    ingress(
      'r',
      { rules: [rule('', [['/a.c', 'Exact', svcBackend('exact', 80)], ['/p.q', 'Prefix', svcBackend('prefix', 80)]])] },
      { annotations: { 'ingress.kubelite.io/use-regex': 'true' } },
    ),
  ]);
  assert.equal(served(table, 'h', '/a.c'), 'exact');
  assert.equal(served(table, 'h', '/abc'), '404');
  assert.equal(served(table, 'h', '/p.q/x'), 'prefix');
  assert.equal(served(table, 'h', '/pxq'), '404');
});

test('rewritePath', () => {
  const cases: [string, string[], string][] = [
    ['/$2', ['/x/y', '/', 'y'], '/y'],
    ['/static/$1/$3', ['w', 'a'], '/static/a/'],
    ['/fixed', [], '/fixed'],
    ['/$0', ['/whole'], '//whole'],
  ];
  for (const [target, caps, want] of cases) assert.equal(rewritePath(target, caps), want, target);
});
