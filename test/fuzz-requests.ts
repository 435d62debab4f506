/**
 * Request generators for the API-server fuzz test (test/fuzz.test.ts).
 *
 * fast-check generates small *specs* (which path, which method, which body recipe, which
 * mutations); `materialize` turns a spec into the bytes on the wire. Keeping multi-megabyte
 * bodies and deep nesting out of the generated values keeps counterexamples printable and
 * shrinking cheap.
 *
 * Safety contract (what lets the test check that sentinel objects survive): a materialized
 * request never uses a mutating method on a path whose decoded segments mention "sentinel",
 * except POST to a collection (which can only create, never overwrite), and never mutates the
 * namespaces the fuzzer itself relies on.
 */
import fc from 'fast-check';
import { stringify as stringifyYaml } from 'yaml';
import { RESOURCES, type ResourceInfo } from '../src/api/resources.js';
import { template, type Json } from './fuzz-templates.js';

export { validObject } from './fuzz-templates.js';

export const FUZZ_NAMESPACES = ['fuzz', 'fuzz-2', 'default'];
export const POOL_NAMES = ['obj-1', 'obj-2', 'obj-3'];
/** Oversized body length: one byte over kube's 3 MiB request limit, plus some. */
export const OVERSIZE = 3 * 1024 * 1024 + 17;

export interface RequestSpec {
  path: PathSpec;
  method: string;
  query: [string, string][];
  /** First query parameter for GETs, so a watch always ends. */
  timeoutSeconds: string;
  body: BodySpec;
  contentType: string | null | 'natural';
  accept: string | null;
  auth: 'ok' | 'lower' | 'none' | 'wrong' | 'basic' | 'extra' | 'empty';
  userAgent: string | null;
  chunked: boolean;
}

export type PathSpec =
  | { t: 'resource'; res: number; ns: string | null; name: string | null; sub: string | null; legacyWatch: boolean }
  | { t: 'raw'; path: string };

export type BodySpec =
  | { t: 'none' }
  | { t: 'json'; value: Json }
  | { t: 'object'; kind: number; wrongKind: boolean; name: string; mutations: Mutation[]; yaml: boolean; truncateAt: number | null }
  | { t: 'deep'; depth: number; shape: 'array' | 'object' | 'inObject' | 'jsonPatch' }
  | { t: 'huge'; size: number; where: 'label' | 'data' | 'name' }
  | { t: 'oversize' }
  | { t: 'jsonPatch'; ops: Json }
  | { t: 'smp'; patch: Json }
  | { t: 'yaml'; text: string }
  | { t: 'raw'; text: string }
  | { t: 'deleteOptions'; value: Record<string, Json> };

export interface Mutation {
  at: number;
  op: 'set' | 'delete' | 'null' | 'array' | 'number' | 'string' | 'addKey';
  value: Json;
  key: string;
}

export interface Materialized {
  method: string;
  path: string;
  headers: Record<string, string>;
  body?: Buffer;
  chunked: boolean;
  /** The exact status the request must get, when the spec implies one. */
  expect?: number;
  /** The request carries valid credentials. */
  authenticated: boolean;
  /** The path is served without authentication. */
  public: boolean;
}

// ---- building blocks ------------------------------------------------------------------

const jsonValue = fc.jsonValue({ maxDepth: 4 }) as fc.Arbitrary<Json>;

const junkString = fc.oneof(
  fc.string({ maxLength: 12 }),
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom('', ' ', '\u0000', '%', '%ZZ', '..', '.', '/', '\\', '$', '{}', '[]', 'null', '-1', '1e400', '😀', '日本', 'Ä', '\ud800'),
);

export const nameArb: fc.Arbitrary<string> = fc.oneof(
  { weight: 14, arbitrary: fc.constantFrom(...POOL_NAMES) },
  { weight: 2, arbitrary: fc.constantFrom('sentinel-cm-1', 'sentinel-deploy', 'sentinel-secret', 'sentinel-svc') },
  { weight: 1, arbitrary: fc.integer({ min: 250, max: 400 }).map((n) => 'a'.repeat(n)) },
  { weight: 1, arbitrary: fc.integer({ min: 60, max: 70 }).map((n) => 'b'.repeat(n)) },
  {
    weight: 2,
    arbitrary: fc.constantFrom('-a', 'a-', 'A', 'a_b', 'a..b', 'a.-b', 'a b', 'a/b', 'a%b', 'a:b', '0', '1.2.3.4', 'ÄÖ', '日本', '😀', 'x\u0000y', '__proto__', 'constructor'),
  },
  { weight: 1, arbitrary: junkString },
);

const kindObjects = RESOURCES.map((r) => r);

const mutationArb: fc.Arbitrary<Mutation> = fc.record({
  at: fc.nat(),
  op: fc.constantFrom('set', 'delete', 'null', 'array', 'number', 'string', 'addKey'),
  value: fc.oneof(jsonValue, fc.constantFrom<Json>(-1, 1e308, -0, 2 ** 53 + 1, 0.5, '', '😀', true, [], {}, 'a'.repeat(300))),
  key: fc.oneof(fc.constantFrom('__proto__', 'constructor', 'hasOwnProperty', 'toString', '$patch', '$retainKeys', 'x', ''), fc.string({ maxLength: 8 })),
});

const smpDirectiveArb: fc.Arbitrary<Json> = fc
  .record({
    where: fc.constantFrom('top', 'metadata', 'spec', 'containers', 'ports', 'labels', 'finalizers'),
    key: fc.constantFrom('$patch', '$retainKeys', '$setElementOrder/containers', '$setElementOrder/ports', '$deleteFromPrimitiveList/finalizers', '$deleteFromPrimitiveList/args', '$setElementOrder/env', '$unknownDirective'),
    value: fc.oneof(fc.constantFrom<Json>('delete', 'replace', 'merge', 'junk', 1, null, [], [null], [{}], [{ name: 1 }], ['a', 'a'], { x: 1 }), jsonValue),
    extra: fc.option(jsonValue, { nil: undefined }),
  })
  .map(({ where, key, value, extra }): Json => {
    const d: Record<string, Json> = { [key]: value };
    if (extra !== undefined) d.extra = extra;
    switch (where) {
      case 'top':
        return d;
      case 'metadata':
        return { metadata: d };
      case 'spec':
        return { spec: d };
      case 'containers':
        return { spec: { template: { spec: { containers: [{ name: 'c', ...d }, d] } }, containers: [d] } };
      case 'ports':
        return { spec: { ports: [d, { port: 80, ...d }] } };
      case 'labels':
        return { metadata: { labels: d } };
      default:
        return { metadata: { finalizers: [d] }, [key]: value };
    }
  });

const jsonPatchArb: fc.Arbitrary<Json> = fc.oneof(
  {
    weight: 5,
    arbitrary: fc.array(
      fc.record({
        op: fc.oneof(fc.constantFrom<Json>('add', 'remove', 'replace', 'move', 'copy', 'test'), fc.constantFrom<Json>('junk', '', 1, null)),
        path: fc.oneof(
          fc.constantFrom<Json>('', '/', '/metadata/labels/a', '/metadata/labels/example.com~1tier', '/data/k', '/data/-', '/spec/replicas', '/spec/containers/0/image', '/spec/template/spec/containers/99', '/spec/template/spec/containers/-', '/spec/ports/-1', '/spec/ports/01', '/metadata/name', '/metadata/resourceVersion', '/metadata/uid', '/kind', '/apiVersion', '/a~2b', '/~', 'noslash', '/metadata/labels/__proto__', '/status'),
          fc.string({ maxLength: 10 }),
          fc.constantFrom<Json>(1, null, []),
        ),
        value: fc.oneof(jsonValue, fc.constant<Json>('x')),
        from: fc.constantFrom<Json>('/metadata/labels', '/spec', '/nope', '', 'x', 7),
      }) as fc.Arbitrary<Json>,
      { maxLength: 4 },
    ),
  },
  { weight: 1, arbitrary: jsonValue },
);

const yamlJunkArb: fc.Arbitrary<string> = fc.oneof(
  fc.constantFrom(
    ':\n- :',
    'a: &x [*x]',
    'a: &a [1]\nb: [*a, *a, *a]',
    '!!binary AAA',
    '\tkey: v',
    '---\n---\n',
    'apiVersion: v1\nkind: ConfigMap\n---\nkind: Secret',
    'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: obj-1}\ndata: {a: 1, a: 2}',
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-1\ndata: [1, 2]',
    'metadata: !!map {name: x}',
    '? [complex key]\n: v',
    'a: !!timestamp 2001-12-14',
    '%YAML 9.9\n---\na: 1',
    'a: "unterminated',
    '- - - - - -',
    'x'.repeat(5000),
    '{"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "obj-1"}, ',
    'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: obj-1\n  managedFields: [{manager: 1, operation: Junk, fieldsV1: {"f:x": 3}}]',
  ),
  fc.string({ maxLength: 40 }),
  fc.array(fc.constantFrom('a:', ' b', '- ', '[', ']', '{', '}', '&a', '*a', '!!str', '\n', ':', '#', '|', '>', '"', "'", '?', '---', '...', 'null', '~'), { maxLength: 30 }).map((a) => a.join('')),
);

const bodyArb: fc.Arbitrary<BodySpec> = fc.oneof(
  { weight: 5, arbitrary: fc.constant<BodySpec>({ t: 'none' }) },
  { weight: 6, arbitrary: jsonValue.map((value): BodySpec => ({ t: 'json', value })) },
  {
    weight: 24,
    arbitrary: fc.record({
      t: fc.constant('object' as const),
      kind: fc.nat(),
      wrongKind: fc.oneof({ weight: 7, arbitrary: fc.constant(false) }, { weight: 1, arbitrary: fc.constant(true) }),
      name: nameArb,
      mutations: fc.oneof({ weight: 3, arbitrary: fc.constant<Mutation[]>([]) }, { weight: 2, arbitrary: fc.array(mutationArb, { minLength: 1, maxLength: 3 }) }),
      yaml: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
      truncateAt: fc.oneof({ weight: 9, arbitrary: fc.constant(null) }, { weight: 1, arbitrary: fc.nat() }),
    }),
  },
  { weight: 2, arbitrary: fc.record({ t: fc.constant('deep' as const), depth: fc.oneof(fc.integer({ min: 1, max: 6000 }), fc.integer({ min: 900, max: 1300 }), fc.integer({ min: 9990, max: 12000 })), shape: fc.constantFrom('array', 'object', 'inObject', 'jsonPatch') }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('huge' as const), size: fc.integer({ min: 64 * 1024, max: 1024 * 1024 }), where: fc.constantFrom('label', 'data', 'name') }) },
  { weight: 1, arbitrary: fc.constant<BodySpec>({ t: 'oversize' }) },
  {
    weight: 4,
    arbitrary: fc
      .record(
        {
          kind: fc.constantFrom<Json>('DeleteOptions', 'Status', 1),
          apiVersion: fc.constantFrom<Json>('v1', 'meta.k8s.io/v1', 'apps/v1', null),
          gracePeriodSeconds: fc.constantFrom<Json>(0, 30, -1, 1.5, '5', null, 2 ** 60),
          propagationPolicy: fc.constantFrom<Json>('Orphan', 'Background', 'Foreground', 'junk', 3, null),
          orphanDependents: fc.constantFrom<Json>(true, false, 'yes', null),
          dryRun: fc.constantFrom<Json>(['All'], ['junk'], [], 'All', [1]),
          preconditions: fc.constantFrom<Json>({ uid: 'nope' }, { resourceVersion: '1' }, { resourceVersion: 7 }, null, 'x', {}),
        },
        { requiredKeys: [] },
      )
      .map((value): BodySpec => ({ t: 'deleteOptions', value })),
  },
  { weight: 8, arbitrary: jsonPatchArb.map((ops): BodySpec => ({ t: 'jsonPatch', ops })) },
  { weight: 8, arbitrary: smpDirectiveArb.map((patch): BodySpec => ({ t: 'smp', patch })) },
  { weight: 4, arbitrary: yamlJunkArb.map((text): BodySpec => ({ t: 'yaml', text })) },
  { weight: 3, arbitrary: fc.oneof(fc.string({ maxLength: 30 }), fc.constantFrom('{', '[', '{"a":', '"\\ud800"', '{"a":1,"a":2}', '1e99999', 'nul', '\ufeff{}', '{"metadata":{"name":"x"}}\n{"x":1}')).map((text): BodySpec => ({ t: 'raw', text })) },
);

const SUBRESOURCES = ['status', 'scale', 'binding', 'log', 'exec', 'finalize', 'eviction', 'proxy', 'attach', 'portforward', 'junk', ''];

const nsArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(...FUZZ_NAMESPACES) },
  { weight: 2, arbitrary: fc.constantFrom('sentinels', 'sentinels-2') },
  { weight: 2, arbitrary: fc.constant(null) },
  { weight: 1, arbitrary: fc.constantFrom('missing-ns', 'kube-system', 'a'.repeat(300), 'Bad_NS', 'ns/x', '😀') },
);

const pathArb: fc.Arbitrary<PathSpec> = fc.oneof(
  {
    weight: 20,
    arbitrary: fc.record({
      t: fc.constant('resource' as const),
      res: fc.nat({ max: RESOURCES.length - 1 }),
      ns: nsArb,
      name: fc.option(nameArb, { nil: null, freq: 3 }),
      sub: fc.option(fc.constantFrom(...SUBRESOURCES), { nil: null, freq: 1 }).chain((s) => (s === null ? fc.constant(null) : fc.oneof(fc.constant(null), fc.constant(s)))),
      legacyWatch: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))).chain((b) => (b ? fc.boolean() : fc.constant(false))),
    }),
  },
  {
    weight: 2,
    arbitrary: fc
      .oneof(
        fc.constantFrom(
          '/', '/api', '/apis', '/api/v1', '/api/v2', '/apis/apps', '/apis/apps/v1', '/apis/apps/v2', '/apis/nope', '/apis/nope/v1/things',
          '/api/v1/nope', '/api/v1/namespaces/fuzz/nope/x', '/api/v1/namespaces/fuzz/configmaps/a/b/c/d', '/version', '/healthz', '/livez',
          '/readyz', '/healthz/etcd', '/openapi/v3', '/openapi/v3/api/v1', '/openapi/v3/nope', '/api/v1/namespaces/%ZZ/configmaps',
          '/api/v1/namespaces/fuzz/configmaps/%', '/api/v1/namespaces/fuzz/configmaps/%E0%A4%A', '/api//v1//namespaces', '/api/v1/namespaces/fuzz/configmaps/..',
          '/api/v1/namespaces/fuzz/configmaps/.', '/%2e%2e/api', '/api/v1/watch', '/api/v1/watch/namespaces', '/api/v1/watch/namespaces/fuzz',
          '/apis/apps/v1/namespaces/fuzz/deployments/obj-1/scale/x', '/api/v1/nodes/obj-1/proxy/a/b', '/metrics', '/logs', '/.well-known/openid-configuration',
          '/api/v1/namespaces/fuzz/pods/obj-1/log?follow=true', '/apis/apps/v1/namespaces//deployments', '/api/v1/namespaces/fuzz/configmaps?',
        ),
        fc.array(fc.oneof(fc.constantFrom('api', 'apis', 'v1', 'namespaces', 'fuzz', 'pods', 'watch', 'status', '%00', '%2F', 'é'), fc.string({ maxLength: 6 })), { maxLength: 7 }).map((parts) => '/' + parts.map(safeSegment).join('/')),
      )
      .map((path): PathSpec => ({ t: 'raw', path })),
  },
);

const queryPairArb: fc.Arbitrary<[string, string]> = fc.oneof(
  fc.tuple(fc.constant('labelSelector'), fc.oneof(fc.constantFrom('a=b', 'app=fuzz', 'a in (x,y)', '!a', 'a notin ()', 'a!=', '=b', 'a in (', 'a,,b', 'x==y==z', '(', ')', 'a>1', 'a<x', 'a gt 1', 'a/b/c=d', 'é=1', 'k'.repeat(300) + '=v', 'a=' + 'v'.repeat(100), ',', 'a in (b),', 'a,!'), junkString)),
  fc.tuple(fc.constant('fieldSelector'), fc.oneof(fc.constantFrom('metadata.name=obj-1', 'metadata.namespace!=fuzz', 'spec.nodeName=', 'status.phase=Running', 'foo=bar', 'metadata.name', '==', 'a=b,c', 'metadata.name in (a)', 'type=Opaque', 'spec.unschedulable=x', 'involvedObject.kind=Pod', 'metadata.name=a=b', 'metadata.name=\\', 'metadata.name=a\\,b', '!'), junkString)),
  fc.tuple(fc.constant('limit'), fc.oneof(fc.constantFrom('-1', '0', '1', '2', 'abc', '1e9', '99999999999999999999', '', '1.5', ' 1'), junkString)),
  fc.tuple(fc.constant('continue'), fc.oneof(junkString, fc.constantFrom(...continueJunk()))),
  fc.tuple(fc.constant('resourceVersion'), fc.oneof(fc.constantFrom('0', '1', '', 'abc', '-1', '1.5', '99999999999999999999', '18446744073709551616', 'Infinity', ' 1', '0x10', '00'), junkString)),
  fc.tuple(fc.constant('resourceVersionMatch'), fc.constantFrom('Exact', 'NotOlderThan', 'junk', '')),
  fc.tuple(fc.constant('watch'), fc.constantFrom('true', '1', 'false', 'junk', '')),
  fc.tuple(fc.constantFrom('allowWatchBookmarks', 'sendInitialEvents', 'orphanDependents', 'force', 'pretty'), fc.constantFrom('true', 'false', 'junk', '', '1')),
  fc.tuple(fc.constant('dryRun'), fc.constantFrom('All', 'all', '', 'junk', 'All,All')),
  fc.tuple(fc.constant('fieldValidation'), fc.oneof(fc.constantFrom('Strict', 'Warn', 'Ignore', 'strict', '', 'junk'), junkString)),
  fc.tuple(fc.constant('fieldManager'), fc.oneof(fc.constantFrom('fuzzer', '', 'm'.repeat(129), 'm'.repeat(128), 'kubectl'), junkString)),
  fc.tuple(fc.constant('propagationPolicy'), fc.oneof(fc.constantFrom('Orphan', 'Background', 'Foreground', 'orphan', '', 'junk'), junkString)),
  fc.tuple(fc.constant('gracePeriodSeconds'), fc.constantFrom('0', '-1', 'abc', '1e3', '99999999999999999999', '', '30')),
  fc.tuple(fc.constant('includeObject'), fc.constantFrom('None', 'Object', 'Metadata', 'junk', '')),
  fc.tuple(fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('', '%', 'a[b]')), junkString),
);

function continueJunk(): string[] {
  const tok = (o: unknown): string => Buffer.from(JSON.stringify(o)).toString('base64url');
  return [
    tok({ v: 'meta.k8s.io/v1', rv: 1, start: 'obj-1\u0000' }),
    tok({ v: 'meta.k8s.io/v1', rv: -1, start: 'x' }),
    tok({ v: 'meta.k8s.io/v1', rv: 1e20, start: 'x' }),
    tok({ v: 'meta.k8s.io/v1', rv: 0, start: '' }),
    tok({ v: 'meta.k8s.io/v1', rv: 1.5, start: 'x' }),
    tok({ v: 'meta.k8s.io/v1', rv: 99999999, start: 'x' }),
    tok({ v: 'meta.k8s.io/v1', rv: 1, start: '../x' }),
    tok({ v: 'meta.k8s.io/v1', rv: 1, start: 'fuzz/obj-1' }),
    tok({ v: 'meta.k8s.io/v2', rv: 1, start: 'x' }),
    tok([1, 2]),
    tok(null),
    'not-base64!!',
    Buffer.from('{').toString('base64'),
  ];
}

const acceptArb: fc.Arbitrary<string | null> = fc.oneof(
  { weight: 20, arbitrary: fc.constant(null) },
  {
    weight: 4,
    arbitrary: fc.constantFrom(
      'application/json', 'application/yaml', '*/*', 'application/json;as=Table;v=v1;g=meta.k8s.io', 'application/json;as=Table;v=v1beta1;g=meta.k8s.io,application/json',
      'application/json;as=PartialObjectMetadataList;v=v1;g=meta.k8s.io', 'application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io', 'application/yaml;as=Table;v=v1;g=meta.k8s.io',
      'application/vnd.kubernetes.protobuf', 'text/html', ',,;;', 'application/json;as=Table;v=v2;g=meta.k8s.io', 'application/json;as=Junk;v=v1;g=meta.k8s.io', ';=;', 'application/json;as',
      'application/json;g=apidiscovery.k8s.io;v=v2;as=APIGroupDiscoveryList', 'application/json;g=apidiscovery.k8s.io;v=v2beta1;as=APIGroupDiscoveryList,application/json',
    ),
  },
);

const contentTypeArb: fc.Arbitrary<string | null | 'natural'> = fc.oneof(
  { weight: 12, arbitrary: fc.constant<'natural'>('natural') },
  { weight: 1, arbitrary: fc.constant(null) },
  {
    weight: 3,
    arbitrary: fc.constantFrom(
      'application/json', 'application/yaml', 'application/json-patch+json', 'application/merge-patch+json', 'application/strategic-merge-patch+json',
      'application/apply-patch+yaml', 'text/plain', 'application/xml', 'application/vnd.kubernetes.protobuf', '', 'application/json; charset=utf-8', 'APPLICATION/JSON',
      '*/*', 'multipart/form-data; boundary=x', ';;;', 'application/apply-patch+yaml; charset=utf-8', 'text/yaml', 'application/json-patch+json;x=y',
    ),
  },
);

const methodArb = fc.oneof(
  { weight: 30, arbitrary: fc.constant('GET') },
  { weight: 18, arbitrary: fc.constant('POST') },
  { weight: 14, arbitrary: fc.constant('PUT') },
  { weight: 22, arbitrary: fc.constant('PATCH') },
  { weight: 8, arbitrary: fc.constant('DELETE') },
  { weight: 3, arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'PURGE', 'LINK', 'MKCOL', 'COPY', 'LOCK', 'SEARCH') },
);

export const requestArb: fc.Arbitrary<RequestSpec> = fc.record({
  path: pathArb,
  method: methodArb,
  query: fc.oneof({ weight: 2, arbitrary: fc.constant<[string, string][]>([]) }, { weight: 1, arbitrary: fc.array(queryPairArb, { minLength: 1, maxLength: 3 }) }),
  timeoutSeconds: fc.oneof({ weight: 8, arbitrary: fc.constant('0') }, { weight: 2, arbitrary: fc.constant('1') }, { weight: 1, arbitrary: fc.constantFrom('abc', '1.5', '-1', '0x10', '1e3', ' 1') }),
  body: bodyArb,
  contentType: contentTypeArb,
  accept: acceptArb,
  auth: fc.oneof({ weight: 30, arbitrary: fc.constant('ok' as const) }, { weight: 1, arbitrary: fc.constantFrom('lower', 'none', 'wrong', 'basic', 'extra', 'empty') }),
  userAgent: fc.option(fc.oneof(fc.constantFrom('kubectl/v1.32.0 (linux/amd64)', '/', '', 'u'.repeat(300), 'é/1'), fc.string({ maxLength: 20 }).map(latin1Safe)), { nil: null, freq: 3 }),
  chunked: fc.boolean().chain((b) => (b ? fc.boolean() : fc.constant(false))),
});

// ---- materialization ------------------------------------------------------------------

/** Percent-encodes a path segment; lone surrogates (unencodable) become U+FFFD. */
export function safeSegment(s: string): string {
  try {
    return encodeURIComponent(s);
  } catch {
    return encodeURIComponent(s.replace(/[\ud800-\udfff]/g, '\ufffd'));
  }
}

function latin1Safe(s: string): string {
  return s.replace(/[^\t\x20-\x7e]/g, '?');
}

/** Every path (as key lists) inside a JSON value, containers included. */
function paths(v: Json, prefix: (string | number)[] = [], out: (string | number)[][] = []): (string | number)[][] {
  out.push(prefix);
  if (Array.isArray(v)) v.forEach((x, i) => paths(x, [...prefix, i], out));
  else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) paths(x, [...prefix, k], out);
  return out;
}

function mutate(obj: Json, m: Mutation): Json {
  const all = paths(obj);
  const at = all[m.at % all.length];
  if (at.length === 0) return m.op === 'array' ? [obj] : m.op === 'null' ? null : m.op === 'set' ? m.value : obj;
  let parent: Json = obj;
  for (const k of at.slice(0, -1)) parent = (parent as Record<string, Json>)[k as string];
  const last = at[at.length - 1];
  const container = parent as Record<string | number, Json>;
  const cur = container[last];
  switch (m.op) {
    case 'set':
      container[last] = m.value;
      break;
    case 'delete':
      if (Array.isArray(container)) container.splice(last as number, 1);
      else delete container[last];
      break;
    case 'null':
      container[last] = null;
      break;
    case 'array':
      container[last] = [cur];
      break;
    case 'number':
      container[last] = typeof cur === 'number' ? String(cur) : 42;
      break;
    case 'string':
      container[last] = typeof cur === 'string' ? 7 : JSON.stringify(cur) ?? 'x';
      break;
    case 'addKey':
      if (cur && typeof cur === 'object' && !Array.isArray(cur)) Object.defineProperty(cur, m.key, { value: m.value, enumerable: true, writable: true, configurable: true });
      else container[last] = { [m.key]: m.value };
      break;
  }
  return obj;
}

function deep(depth: number, shape: 'array' | 'object' | 'inObject' | 'jsonPatch'): string {
  if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
  const nest = '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
  if (shape === 'object') return nest;
  if (shape === 'jsonPatch') return `[{"op":"add","path":"/metadata/labels","value":${nest}},{"op":"add","path":"/spec","value":${nest}},{"op":"add","path":"/data","value":${nest}}]`;
  return `{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"obj-1","labels":${nest}},"data":${nest}}`;
}

function toYaml(v: Json, block: boolean): string {
  // Block style through the yaml package, or flow style (JSON is valid YAML): both reach the YAML decoder.
  return block ? stringifyYaml(v) : JSON.stringify(v);
}

let oversizeBuf: Buffer | undefined;

function bodyText(spec: RequestSpec, res: ResourceInfo | undefined): { text?: string | Buffer; natural: string } {
  const b = spec.body;
  switch (b.t) {
    case 'none':
      return { natural: 'application/json' };
    case 'json':
      return { text: JSON.stringify(b.value), natural: spec.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
    case 'object': {
      const target = b.wrongKind || !res ? kindObjects[b.kind % kindObjects.length] : res;
      let obj: Json = template(target, b.name);
      for (const m of b.mutations) obj = mutate(obj, m);
      let text = b.yaml ? toYaml(obj, b.kind % 3 !== 0) : JSON.stringify(obj);
      if (b.truncateAt !== null) text = text.slice(0, b.truncateAt % Math.max(1, text.length));
      const natural =
        spec.method === 'PATCH'
          ? b.yaml
            ? 'application/apply-patch+yaml'
            : b.kind % 2
              ? 'application/strategic-merge-patch+json'
              : 'application/merge-patch+json'
          : b.yaml
            ? 'application/yaml'
            : 'application/json';
      return { text, natural };
    }
    case 'deep':
      return {
        text: deep(b.depth, b.shape),
        natural: b.shape === 'jsonPatch' ? 'application/json-patch+json' : spec.method === 'PATCH' ? (b.depth % 2 ? 'application/strategic-merge-patch+json' : 'application/merge-patch+json') : 'application/json',
      };
    case 'huge': {
      const big = 'h'.repeat(b.size);
      const target = res ?? RESOURCES[0];
      const obj = template(target, b.where === 'name' ? big : 'obj-1') as { metadata: { labels: Record<string, string> } } & Record<string, Json>;
      if (b.where === 'label') obj.metadata.labels.big = big;
      if (b.where === 'data') obj.data = { big };
      return { text: JSON.stringify(obj), natural: spec.method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' };
    }
    case 'oversize':
      oversizeBuf ??= Buffer.from(`{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"big"},"data":{"a":"${'x'.repeat(OVERSIZE)}"}}`);
      return { text: oversizeBuf, natural: 'application/json' };
    case 'jsonPatch':
      return { text: JSON.stringify(b.ops), natural: 'application/json-patch+json' };
    case 'smp':
      return { text: JSON.stringify(b.patch), natural: 'application/strategic-merge-patch+json' };
    case 'yaml':
      return { text: b.text, natural: spec.method === 'PATCH' ? 'application/apply-patch+yaml' : 'application/yaml' };
    case 'raw':
      return { text: b.text, natural: 'application/json' };
    case 'deleteOptions':
      return { text: JSON.stringify(b.value), natural: 'application/json' };
  }
}

const PUBLIC = /^\/(healthz|livez|readyz|version)(\/.*)?$/;
const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS', 'TRACE', 'PROPFIND', 'SEARCH']);

/** Turns a spec into a request, enforcing the safety contract (see the file comment). */
export function materialize(spec: RequestSpec, token: string): Materialized {
  let method = spec.method;
  let res: ResourceInfo | undefined;
  let path: string;
  let decodedParts: string[];
  let isCollection = false;
  if (spec.path.t === 'resource') {
    res = RESOURCES[spec.path.res];
    let { ns, name } = spec.path;
    const { sub, legacyWatch } = spec.path;
    // Creates go to collections; keep the odd POST to a named path for junk names only.
    if (method === 'POST' && sub === null && name !== null && POOL_NAMES.includes(name)) name = null;
    // The fuzzer must not delete or rewrite the namespaces it works in.
    if (res.plural === 'namespaces' && name !== null && !READ_METHODS.has(method) && (FUZZ_NAMESPACES.includes(name) || name === 'kube-system')) name = 'fuzz-tmp';
    const parts: string[] = [res.group ? 'apis' : 'api'];
    if (res.group) parts.push(res.group);
    parts.push(res.version);
    if (legacyWatch) parts.push('watch');
    if (ns !== null && (res.namespaced || ns.length % 3 === 0)) parts.push('namespaces', ns);
    else ns = null;
    parts.push(res.plural);
    if (name !== null && name !== '') parts.push(name);
    if (name !== null && name !== '' && sub !== null) parts.push(sub);
    isCollection = name === null || name === '';
    decodedParts = parts;
    path = '/' + parts.map(safeSegment).join('/');
  } else {
    path = spec.path.path;
    decodedParts = path.split(/[/?]/).map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
    isCollection = false;
  }
  const touchesSentinels = decodedParts.some((p) => /sentinel/i.test(p));
  if (touchesSentinels && !READ_METHODS.has(method) && !(method === 'POST' && isCollection)) method = 'GET';
  // "." and ".." segments are resolved by URL parsing and would retarget a write (e.g. to a namespace).
  if (decodedParts.some((p) => p === '.' || p === '..') && !READ_METHODS.has(method)) method = 'GET';

  const q = new URLSearchParams();
  if (method === 'GET' || method === 'HEAD') q.append('timeoutSeconds', spec.timeoutSeconds);
  for (const [k, v] of spec.query) q.append(k, v);
  const qs = q.toString();
  const fullPath = spec.path.t === 'raw' && path.includes('?') ? path + (qs ? '&' + qs : '') : path + (qs ? '?' + qs : '');

  const { text, natural } = bodyText(spec, res);
  const headers: Record<string, string> = {};
  const ct = spec.contentType === 'natural' ? natural : spec.contentType;
  if (ct !== null && (text !== undefined || spec.contentType !== 'natural')) headers['content-type'] = ct;
  if (spec.accept !== null) headers.accept = spec.accept;
  if (spec.userAgent !== null) headers['user-agent'] = spec.userAgent;
  const authHeader: Record<RequestSpec['auth'], string | null> = {
    ok: `Bearer ${token}`,
    lower: `bearer ${token}`,
    none: null,
    wrong: 'Bearer not-the-token',
    basic: `Basic ${Buffer.from('admin:' + token).toString('base64')}`,
    extra: `Bearer ${token}x`,
    empty: 'Bearer ',
  };
  const auth = authHeader[spec.auth];
  if (auth !== null) headers.authorization = auth;
  const body = text === undefined ? undefined : Buffer.isBuffer(text) ? text : Buffer.from(text);
  const pathname = fullPath.split('?')[0];
  const isPublic = PUBLIC.test(pathname.length > 1 ? pathname.replace(/\/+$/, '') : pathname);
  const authenticated = spec.auth === 'ok' || spec.auth === 'lower';
  let expect: number | undefined;
  if (!authenticated && !isPublic) expect = 401;
  else if (
    spec.body.t === 'oversize' &&
    res &&
    spec.path.t === 'resource' &&
    !spec.path.legacyWatch &&
    res.plural === 'configmaps' &&
    spec.path.ns !== null &&
    spec.accept === null &&
    ((method === 'POST' && isCollection) || (method === 'PUT' && !isCollection && spec.path.sub === null))
  ) {
    expect = 413;
  }
  return { method, path: fullPath, headers, body, chunked: spec.chunked, expect, authenticated, public: isPublic };
}
