import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseIngressAnnotations, parseSize } from './annotations.js';
import type { RouteOptions } from '../types.js';

const P = 'ingress.kubelite.io/';

const DEFAULTS: RouteOptions = {
  useRegex: false,
  sslRedirect: false,
  forceSslRedirect: false,
  backendProtocol: 'HTTP',
  connectTimeoutMs: 5_000,
  readTimeoutMs: 60_000,
  sendTimeoutMs: 60_000,
  bodySizeLimit: 1024 * 1024,
  limitRps: 0,
  limitConnections: 0,
};

test('no annotations: ingress-nginx defaults, no warnings', () => {
  const a = parseIngressAnnotations(undefined);
  assert.deepEqual(a.options, DEFAULTS);
  assert.equal(a.sslRedirectSet, undefined);
  assert.equal(a.canary, undefined);
  assert.deepEqual(a.warnings, []);
});

const GOOD: { name: string; ann: Record<string, string>; want: Partial<RouteOptions>; ssl?: boolean }[] = [
  { name: 'rewrite-target implies use-regex', ann: { 'rewrite-target': '/$1' }, want: { rewriteTarget: '/$1', useRegex: true } },
  { name: 'use-regex', ann: { 'use-regex': 'true' }, want: { useRegex: true } },
  { name: 'ssl-redirect false', ann: { 'ssl-redirect': 'false' }, want: {}, ssl: false },
  { name: 'ssl-redirect True (Go ParseBool spelling)', ann: { 'ssl-redirect': 'True' }, want: {}, ssl: true },
  { name: 'force-ssl-redirect', ann: { 'force-ssl-redirect': '1' }, want: { forceSslRedirect: true } },
  { name: 'backend-protocol lower case', ann: { 'backend-protocol': 'https' }, want: { backendProtocol: 'HTTPS' } },
  { name: 'backend-protocol GRPC', ann: { 'backend-protocol': 'GRPC' }, want: { backendProtocol: 'GRPC' } },
  { name: 'backend-protocol GRPCS', ann: { 'backend-protocol': 'GRPCS' }, want: { backendProtocol: 'GRPCS' } },
  {
    name: 'timeouts in seconds',
    ann: { 'proxy-connect-timeout': '10', 'proxy-read-timeout': '120', 'proxy-send-timeout': '30' },
    want: { connectTimeoutMs: 10_000, readTimeoutMs: 120_000, sendTimeoutMs: 30_000 },
  },
  { name: 'body size 8m', ann: { 'proxy-body-size': '8m' }, want: { bodySizeLimit: 8 * 1024 * 1024 } },
  { name: 'body size 0 = unlimited', ann: { 'proxy-body-size': '0' }, want: { bodySizeLimit: 0 } },
  { name: 'body size 512k', ann: { 'proxy-body-size': '512K' }, want: { bodySizeLimit: 512 * 1024 } },
  { name: 'body size 1g', ann: { 'proxy-body-size': '1g' }, want: { bodySizeLimit: 1024 ** 3 } },
  { name: 'body size in bytes', ann: { 'proxy-body-size': '1000' }, want: { bodySizeLimit: 1000 } },
  { name: 'rate limits', ann: { 'limit-rps': '5', 'limit-connections': '2' }, want: { limitRps: 5, limitConnections: 2 } },
  { name: 'other prefixes are ignored', ann: { 'nginx.ingress.kubernetes.io/limit-rps': '5' }, want: {} },
];

for (const c of GOOD) {
  test(`annotation: ${c.name}`, () => {
    const ann: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.ann)) ann[k.includes('/') ? k : P + k] = v;
    const a = parseIngressAnnotations(ann);
    assert.deepEqual(a.warnings, []);
    assert.deepEqual(a.options, { ...DEFAULTS, ...c.want });
    assert.equal(a.sslRedirectSet, c.ssl);
  });
}

// Bad values: one BadAnnotation warning naming the annotation, and the default.
const BAD: { ann: string; value: string; want: Partial<RouteOptions> }[] = [
  { ann: 'use-regex', value: 'yes', want: {} },
  { ann: 'force-ssl-redirect', value: 'on', want: {} },
  { ann: 'backend-protocol', value: 'FCGI', want: {} },
  { ann: 'proxy-connect-timeout', value: '5s', want: {} },
  { ann: 'proxy-read-timeout', value: '-1', want: {} },
  { ann: 'proxy-send-timeout', value: '0', want: {} },
  { ann: 'proxy-send-timeout', value: '1.5', want: {} },
  { ann: 'proxy-body-size', value: '10mb', want: {} },
  { ann: 'proxy-body-size', value: '-1', want: {} },
  { ann: 'proxy-body-size', value: 'm', want: {} },
  { ann: 'limit-rps', value: 'ten', want: {} },
  { ann: 'limit-connections', value: '-3', want: {} },
];

for (const c of BAD) {
  test(`bad annotation ${c.ann}: "${c.value}" → warning and default`, () => {
    const a = parseIngressAnnotations({ [P + c.ann]: c.value });
    assert.deepEqual(a.options, { ...DEFAULTS, ...c.want });
    assert.equal(a.warnings.length, 1);
    assert.equal(a.warnings[0]!.reason, 'BadAnnotation');
    assert.match(a.warnings[0]!.message, new RegExp(`${P}${c.ann}: invalid value "${c.value.replace('.', '\\.')}"`));
  });
}

test('bad ssl-redirect: warning, default left to the host (undefined)', () => {
  const a = parseIngressAnnotations({ [P + 'ssl-redirect']: 'maybe' });
  assert.equal(a.sslRedirectSet, undefined);
  assert.equal(a.warnings.length, 1);
});

const CANARY: { name: string; ann: Record<string, string>; want: unknown; warnings: number }[] = [
  { name: 'canary false', ann: { canary: 'false', 'canary-weight': '20' }, want: undefined, warnings: 0 },
  { name: 'canary defaults', ann: { canary: 'true' }, want: { weight: 0, weightTotal: 100 }, warnings: 0 },
  { name: 'weight', ann: { canary: 'true', 'canary-weight': '20' }, want: { weight: 20, weightTotal: 100 }, warnings: 0 },
  {
    name: 'weight total',
    ann: { canary: 'true', 'canary-weight': '3', 'canary-weight-total': '1000' },
    want: { weight: 3, weightTotal: 1000 },
    warnings: 0,
  },
  {
    name: 'header + value + cookie',
    ann: { canary: 'true', 'canary-by-header': 'X-Canary', 'canary-by-header-value': 'yes', 'canary-by-cookie': 'beta' },
    want: { header: 'X-Canary', headerValue: 'yes', cookie: 'beta', weight: 0, weightTotal: 100 },
    warnings: 0,
  },
  { name: 'header value without header is dropped', ann: { canary: 'true', 'canary-by-header-value': 'yes' }, want: { weight: 0, weightTotal: 100 }, warnings: 0 },
  { name: 'bad weight', ann: { canary: 'true', 'canary-weight': 'half' }, want: { weight: 0, weightTotal: 100 }, warnings: 1 },
  { name: 'bad weight total', ann: { canary: 'true', 'canary-weight': '20', 'canary-weight-total': '0' }, want: { weight: 20, weightTotal: 100 }, warnings: 1 },
  { name: 'weight above total is clamped', ann: { canary: 'true', 'canary-weight': '150' }, want: { weight: 100, weightTotal: 100 }, warnings: 1 },
  { name: 'bad canary flag', ann: { canary: 'sure', 'canary-weight': '20' }, want: undefined, warnings: 1 },
];

for (const c of CANARY) {
  test(`canary annotations: ${c.name}`, () => {
    const ann: Record<string, string> = {};
    for (const [k, v] of Object.entries(c.ann)) ann[P + k] = v;
    const a = parseIngressAnnotations(ann);
    assert.deepEqual(a.canary, c.want);
    assert.equal(a.warnings.length, c.warnings, JSON.stringify(a.warnings));
  });
}

test('parseSize', () => {
  const cases: [string, number | undefined][] = [
    ['0', 0],
    ['1', 1],
    ['1k', 1024],
    ['1K', 1024],
    ['2m', 2 * 1024 ** 2],
    ['3G', 3 * 1024 ** 3],
    [' 4m ', 4 * 1024 ** 2],
    ['', undefined],
    ['1.5m', undefined],
    ['1t', undefined],
    ['99999999999999999999g', undefined],
  ];
  for (const [input, want] of cases) assert.equal(parseSize(input), want, JSON.stringify(input));
});
