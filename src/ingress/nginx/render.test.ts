/**
 * renderNginxConfig: golden output for a fixture covering every feature, a real `nginx -t` of it
 * (skipped without nginx), the warnings for values that cannot be represented, and a property
 * test that the rendered location regexes (read back with nginx's unquoting rules) match exactly
 * the requests routes/match.ts matches — the data planes' parity argument.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { compilePathRegex, matchPath } from '../routes/match.js';
import type { PathType } from '../types.js';
import { findNginx } from './dataplane.js';
import { fullFixture, hostRoutes, route, svc, table, testdataCert } from './fixture.js';
import { locationMatch } from './locations.js';
import { renderNginxConfig, type NginxRenderOptions } from './render.js';

const GOLDEN = fileURLToPath(new URL('./testdata/full.conf', import.meta.url));
const nginxBin = findNginx();
const noNginx = nginxBin ? false : 'nginx is not installed (apt-get install -y nginx-light)';

function goldenOptions(dir: string): NginxRenderOptions {
  return { dir, httpHost: '0.0.0.0', httpPort: 80, httpsPort: 443, defaultCert: testdataCert('default'), generation: 7, user: 'root', workerProcesses: 2 };
}

test('golden: the full fixture renders to testdata/full.conf (UPDATE_GOLDEN=1 rewrites it)', () => {
  const r = renderNginxConfig(fullFixture(), goldenOptions('/run/kubelite-nginx'));
  if (process.env['UPDATE_GOLDEN'] === '1') writeFileSync(GOLDEN, r.config);
  assert.equal(r.config, readFileSync(GOLDEN, 'utf8'));
  // Rendering is pure: the same input gives the same output.
  assert.equal(renderNginxConfig(fullFixture(), goldenOptions('/run/kubelite-nginx')).config, r.config);
  assert.deepEqual([...r.files.keys()].sort(), [
    'tls/872a325715a64239a6fe.crt',
    'tls/872a325715a64239a6fe.key',
    'tls/911495e0cc10e718d36f.crt',
    'tls/911495e0cc10e718d36f.key',
    'tls/a0616b610f328feb8d90.crt',
    'tls/a0616b610f328feb8d90.key',
  ]);
  assert.equal(r.files.get('tls/a0616b610f328feb8d90.crt'), testdataCert('foo').certPem);
});

test('warnings name every value left out', () => {
  const r = renderNginxConfig(fullFixture(), goldenOptions('/run/kubelite-nginx'));
  const expected = [
    /canary-by-cookie "bad cookie" is not a cookie name/,
    /canary-by-header "Bad Header" is not a header name/,
    /path "\/bad\\nreturn 200;" \(Exact\): the path contains control characters/,
    /path "\/broken\(" \(ImplementationSpecific\): the path is not a valid regular expression/,
    /rewrite-target "http:\/\/evil\/" cannot be expressed in nginx/,
    /host "bad host;" is not a valid host name/,
  ];
  assert.equal(r.warnings.length, expected.length, r.warnings.join('\n'));
  for (const re of expected) assert.ok(r.warnings.some((w) => re.test(w)), `missing ${re}`);
  assert.doesNotMatch(r.config, /return 200;"/);
  assert.doesNotMatch(r.config, /bad host/);
});

test('nginx -t accepts the rendered full fixture', { skip: noNginx }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'nginx-render-'));
  try {
    const r = renderNginxConfig(fullFixture(), { ...goldenOptions(dir), httpHost: '127.0.0.1', httpPort: 18080, httpsPort: 18443 });
    for (const d of ['tls', 'logs', 'tmp']) mkdirSync(join(dir, d));
    for (const [name, content] of r.files) writeFileSync(join(dir, name), content, { mode: 0o600 });
    writeFileSync(join(dir, 'nginx.conf'), r.config);
    execFileSync(nginxBin!, ['-t', '-q', '-p', `${dir}/`, '-c', 'nginx.conf', '-g', 'daemon off;'], { stdio: 'pipe' });
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('table cases: hosts, TLS-only hosts, default backend, redirect port', () => {
  const a = svc('a', [['10.0.0.1', 80]]);
  const cfg = (t: ReturnType<typeof table>, o: Partial<NginxRenderOptions> = {}): string =>
    renderNginxConfig(t, { ...goldenOptions('/d'), ...o }).config;
  const cases: { name: string; config: string; has: RegExp[]; hasNot?: RegExp[] }[] = [
    {
      name: 'empty table: default server answers the 404 page, control socket present',
      config: cfg(table([])),
      has: [/listen 80 default_server;/, /listen 443 ssl http2 default_server;/, /return 404 ".*default backend - 404/, /listen "unix:\/d\/control.sock";/, /return 200 "7";/],
      hasNot: [/upstream kl_/],
    },
    {
      name: 'IPv6 listen address and redirect to port 443 without a port',
      config: cfg(table([hostRoutes('s.test', [route('/', 'Prefix', a, { options: { forceSslRedirect: true } })])]), { httpHost: '::1' }),
      has: [/listen \[::1\]:80;/, /return 308 "https:\/\/\$host\$request_uri";/],
    },
    {
      name: 'ssl-redirect needs TLS on the host',
      config: cfg(table([hostRoutes('s.test', [route('/', 'Prefix', a, { options: { sslRedirect: true } })])])),
      has: [/server_name "s.test";/],
      hasNot: [/return 308/],
    },
    {
      name: 'a TLS-only host serves the host-less rules',
      config: cfg(table([hostRoutes('', [route('/x', 'Prefix', a)]), hostRoutes('t.test', [], { secret: 'default/t', ...testdataCert('foo') })])),
      has: [/server_name "t.test";\n\s+ssl_certificate "tls\/a0616b610f328feb8d90.crt";[\s\S]*location ~ "\^\/x\(\/\|\$\)"/],
    },
    {
      name: 'an unusable certificate falls back to the default one',
      config: cfg(table([hostRoutes('t.test', [route('/', 'Prefix', a)], { secret: 'default/t', certPem: 'junk', keyPem: 'junk' })])),
      has: [/server_name "t.test";\n\s+set \$proxy_upstream_name/],
    },
  ];
  for (const c of cases) {
    for (const re of c.has) assert.match(c.config, re, c.name);
    for (const re of c.hasNot ?? []) assert.doesNotMatch(c.config, re, c.name);
  }
});

/** Reads a double-quoted nginx token back the way ngx_conf_file.c does. */
function nginxUnquote(token: string): string {
  assert.ok(token.startsWith('"') && token.endsWith('"'));
  const s = token.slice(1, -1);
  let out = '';
  for (let i = 0; i < s.length; i++) {
    if (s[i] === '\\' && i + 1 < s.length) {
      const n = s[i + 1]!;
      if (n === '"' || n === "'" || n === '\\') {
        out += n;
        i++;
        continue;
      }
      if (n === 't' || n === 'r' || n === 'n') {
        out += n === 't' ? '\t' : n === 'r' ? '\r' : '\n';
        i++;
        continue;
      }
    }
    assert.notEqual(s[i], '"', 'an unescaped quote inside a quoted token');
    out += s[i];
  }
  return out;
}

test('property: rendered location regexes match exactly what matchRoute matches', () => {
  const segment = fc.string({ unit: fc.constantFrom('a', 'b', 'A', '.', '*', '(', ')', '[', '$', '^', '\\', '"', ';', '{', '}', '+', '?', '|', ' ', '%', '-'), maxLength: 4 });
  const pathArb = fc.array(segment, { minLength: 1, maxLength: 3 }).map((segs) => `/${segs.join('/')}`);
  const typeArb = fc.constantFrom<PathType>('Exact', 'Prefix', 'ImplementationSpecific');
  fc.assert(
    fc.property(pathArb, typeArb, fc.boolean(), fc.boolean(), fc.array(pathArb, { maxLength: 6 }), (path, pathType, slash, useRegex, requests) => {
      const r = route(slash ? `${path}/` : path, pathType, svc('a', []), { options: { useRegex } });
      const m = locationMatch(r);
      if ('error' in m) {
        // Only an invalid regex may be refused.
        assert.ok(useRegex && pathType === 'ImplementationSpecific' && compilePathRegex(r.path) === null, m.error);
        return;
      }
      const head = /^location (~\*?) (".*")$/.exec(m.head);
      assert.ok(head, m.head);
      const re = new RegExp(nginxUnquote(head[2]!), head[1] === '~*' ? 'i' : '');
      const probes = [...requests, r.path, path, `${path}/`, `${path}x`, `${path}/x`];
      for (const req of probes) assert.equal(re.test(req), matchPath(r, req) !== undefined, `${r.pathType} ${JSON.stringify(r.path)} vs ${JSON.stringify(req)}`);
    }),
    { numRuns: 300 },
  );
});
