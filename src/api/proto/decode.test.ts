import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { closure, resolve } from '../defs/index.js';
import { RESOURCES } from '../resources.js';
import { decodeKubeProtobuf, ProtoError } from './decode.js';
import { PROTO_TAGS } from './tags.js';
import { PROTO_KEEP_ZERO } from './zero.js';

// --- a tiny protobuf encoder (field numbers below are written out by hand, from upstream) -------

type Part = Buffer;
function varint(v: number | bigint): Buffer {
  let n = BigInt.asUintN(64, BigInt(v));
  const out: number[] = [];
  do {
    let b = Number(n & 0x7fn);
    n >>= 7n;
    if (n !== 0n) b |= 0x80;
    out.push(b);
  } while (n !== 0n);
  return Buffer.from(out);
}
const key = (field: number, wire: number): Buffer => varint((field << 3) | wire);
const int = (field: number, v: number | bigint): Part => Buffer.concat([key(field, 0), varint(v)]);
const bool = (field: number, v: boolean): Part => int(field, v ? 1 : 0);
const bytesF = (field: number, b: Buffer): Part => Buffer.concat([key(field, 2), varint(b.length), b]);
const str = (field: number, s: string): Part => bytesF(field, Buffer.from(s, 'utf8'));
const msg = (field: number, ...parts: Part[]): Part => bytesF(field, Buffer.concat(parts));
const entry = (field: number, k: string, ...value: Part[]): Part => msg(field, str(1, k), ...value);
const strEntry = (field: number, k: string, v: string): Part => entry(field, k, str(2, v));
const double = (field: number, v: number): Part => {
  const b = Buffer.alloc(8);
  b.writeDoubleLE(v);
  return Buffer.concat([key(field, 1), b]);
};
const MAGIC = Buffer.from([0x6b, 0x38, 0x73, 0x00]);
function envelope(apiVersion: string, kind: string, ...raw: Part[]): Buffer {
  return Buffer.concat([MAGIC, msg(1, str(1, apiVersion), str(2, kind)), msg(2, ...raw), str(3, ''), str(4, '')]);
}
/** IntOrString {type 1, intVal 2, strVal 3}, as Go writes it (all three fields). */
const intOrStr = (field: number, v: number | string): Part =>
  typeof v === 'number' ? msg(field, int(1, 0), int(2, v), str(3, '')) : msg(field, int(1, 1), int(2, 0), str(3, v));
const qty = (field: number, s: string): Part => msg(field, str(1, s));
/** ObjectMeta as Go's encoder writes it for a new object: every non-pointer scalar, zero or not. */
const newMeta = (name: string, extra: Part[] = []): Part =>
  msg(1, str(1, name), str(2, ''), str(3, ''), str(4, ''), str(5, ''), str(6, ''), int(7, 0), msg(8), ...extra);

const decode = (b: Buffer): Record<string, unknown> => decodeKubeProtobuf(b).value;

describe('decodeKubeProtobuf: kinds kubectl creates', () => {
  it('Namespace: zero scalars dropped, zero time is null, empty messages kept', () => {
    const body = envelope('v1', 'Namespace', newMeta('foo', [strEntry(11, 'team', 'a')]), msg(2), msg(3, str(1, '')));
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'foo', creationTimestamp: null, labels: { team: 'a' } },
      spec: {},
      status: {},
    });
  });

  it('ConfigMap: string map, bytes map (base64) and a pointer bool kept at false', () => {
    const body = envelope(
      'v1',
      'ConfigMap',
      newMeta('c1', [str(3, 'default')]),
      strEntry(2, 'a', 'b'),
      strEntry(2, 'empty', ''),
      entry(3, 'bin', bytesF(2, Buffer.from([0, 1, 2, 255]))),
      bool(4, false),
    );
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'c1', namespace: 'default', creationTimestamp: null },
      data: { a: 'b', empty: '' },
      binaryData: { bin: 'AAEC/w==' },
      immutable: false,
    });
  });

  it('Secret: data bytes become base64, type and stringData decode', () => {
    const body = envelope(
      'v1',
      'Secret',
      newMeta('s1'),
      entry(2, 'a', bytesF(2, Buffer.from('b'))),
      entry(2, 'missing-value'),
      str(3, 'Opaque'),
      strEntry(4, 'plain', 'text'),
    );
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: 's1', creationTimestamp: null },
      data: { a: 'Yg==', 'missing-value': '' },
      type: 'Opaque',
      stringData: { plain: 'text' },
    });
  });

  it('Service: ports with int and named targetPort, selector, clusterIPs, pointer bool', () => {
    const port = (name: string, p: number, target: number | string): Part =>
      msg(1, str(1, name), str(2, 'TCP'), int(3, p), intOrStr(4, target), int(5, 0), ...(name === 'web' ? [str(6, 'http')] : []));
    const body = envelope(
      'v1',
      'Service',
      newMeta('s2', [strEntry(11, 'app', 's2')]),
      msg(
        2,
        port('80-8080', 80, 8080),
        port('web', 443, 'https'),
        strEntry(2, 'app', 's2'),
        str(3, ''),
        str(4, 'ClusterIP'),
        str(7, ''),
        str(18, '10.96.0.10'),
        bool(20, false),
        int(12, 0),
        bool(13, false),
      ),
      msg(3, msg(1)),
    );
    assert.deepEqual(decode(body), {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 's2', creationTimestamp: null, labels: { app: 's2' } },
      spec: {
        ports: [
          { name: '80-8080', protocol: 'TCP', port: 80, targetPort: 8080 },
          { name: 'web', protocol: 'TCP', port: 443, targetPort: 'https', appProtocol: 'http' },
        ],
        selector: { app: 's2' },
        type: 'ClusterIP',
        clusterIPs: ['10.96.0.10'],
        allocateLoadBalancerNodePorts: false,
      },
      status: { loadBalancer: {} },
    });
  });

  it('Deployment: replicas 0 kept, pod template with containers, Quantity resources and probes', () => {
    const probe = (field: number, handler: Part, initialDelay: number): Part =>
      msg(field, msg(1, handler), int(2, initialDelay), int(3, 0), int(4, 10), int(5, 0), int(6, 0));
    const container = msg(
      2,
      str(1, 'nginx'),
      str(2, 'nginx:1.25'),
      str(3, 'nginx'),
      str(3, '-g'),
      str(4, 'daemon off;'),
      str(5, ''),
      msg(6, str(1, 'http'), int(2, 0), int(3, 80), str(4, 'TCP'), str(5, '')),
      msg(8, entry(1, 'cpu', qty(2, '500m')), entry(1, 'memory', qty(2, '128Mi')), entry(2, 'cpu', qty(2, '250m')), entry(2, 'gpu')),
      probe(10, msg(2, str(1, '/healthz'), intOrStr(2, 8080), str(3, ''), str(4, 'HTTP')), 5),
      probe(11, msg(1, str(1, 'cat'), str(1, '/tmp/ready')), 0),
      str(13, ''),
      str(14, 'IfNotPresent'),
      bool(16, false),
      msg(15, bool(2, false), int(4, 0)),
    );
    const body = envelope(
      'apps/v1',
      'Deployment',
      newMeta('d1', [strEntry(11, 'app', 'd1')]),
      msg(
        2,
        int(1, 0),
        msg(2, strEntry(1, 'app', 'd1')),
        msg(3, msg(1, str(1, ''), msg(8), strEntry(11, 'app', 'd1')), msg(2, container, str(3, ''), str(6, ''))),
        msg(4, str(1, 'RollingUpdate'), msg(2, intOrStr(1, '25%'), intOrStr(2, 1))),
        int(5, 0),
        bool(7, false),
      ),
      msg(3),
    );
    assert.deepEqual(decode(body), {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd1', creationTimestamp: null, labels: { app: 'd1' } },
      spec: {
        replicas: 0,
        selector: { matchLabels: { app: 'd1' } },
        template: {
          metadata: { creationTimestamp: null, labels: { app: 'd1' } },
          spec: {
            containers: [
              {
                name: 'nginx',
                image: 'nginx:1.25',
                command: ['nginx', '-g'],
                args: ['daemon off;'],
                ports: [{ name: 'http', containerPort: 80, protocol: 'TCP' }],
                resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', gpu: '0' } },
                livenessProbe: { httpGet: { path: '/healthz', port: 8080, scheme: 'HTTP' }, initialDelaySeconds: 5, periodSeconds: 10 },
                readinessProbe: { exec: { command: ['cat', '/tmp/ready'] }, periodSeconds: 10 },
                imagePullPolicy: 'IfNotPresent',
                securityContext: { privileged: false, runAsUser: 0 },
              },
            ],
          },
        },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
      },
      status: {},
    });
  });

  it('Time, MicroTime, negative and 64-bit integers, packed repeated scalars', () => {
    // Event (core/v1): eventTime MicroTime 10, firstTimestamp Time 6, count int32 8.
    const ev = decode(envelope('v1', 'Event', newMeta('e1', [int(10, -5), msg(9, int(1, 1700000000), int(2, 999))]), msg(6, int(1, 1700000000), int(2, 5)), int(8, -1), msg(10, int(1, 1700000000), int(2, 123456789))));
    assert.equal((ev.metadata as Record<string, unknown>).deletionGracePeriodSeconds, -5);
    assert.equal((ev.metadata as Record<string, unknown>).deletionTimestamp, '2023-11-14T22:13:20Z');
    assert.equal(ev.firstTimestamp, '2023-11-14T22:13:20Z');
    assert.equal(ev.count, -1);
    assert.equal(ev.eventTime, '2023-11-14T22:13:20.123456Z');
    // PodSecurityContext.supplementalGroups (int64, field 4) in both packed and unpacked form.
    const packed = bytesF(4, Buffer.concat([varint(1000), varint(2 ** 40), varint(-1)]));
    const pod = decode(envelope('v1', 'Pod', newMeta('p'), msg(2, msg(14, packed, int(4, 7)))));
    assert.deepEqual((pod.spec as { securityContext: unknown }).securityContext, { supplementalGroups: [1000, 2 ** 40, -1, 7] });
  });

  it('skips unknown fields of every wire type and fills defaults for a missing kind', () => {
    const unknown = Buffer.concat([int(900, 5), double(901, 1.5), str(902, 'x'), key(903, 5), Buffer.alloc(4), key(904, 3), int(1, 2), key(904, 4)]);
    const body = Buffer.concat([MAGIC, msg(1, str(1, 'v1')), msg(2, newMeta('n', [unknown]), unknown), str(99, 'ignored')]);
    assert.throws(() => decode(body), /Object 'Kind' is missing/);
    assert.deepEqual(decodeKubeProtobuf(body, { defaults: { kind: 'Namespace' } }).value, {
      apiVersion: 'v1',
      kind: 'Namespace',
      metadata: { name: 'n', creationTimestamp: null },
    });
  });

  it('decodes kinds that are not resources (DeleteOptions) and embedded objects (RawExtension)', () => {
    const del = decode(envelope('v1', 'DeleteOptions', int(1, 0), str(4, 'Foreground'), str(5, 'All')));
    assert.deepEqual(del, { apiVersion: 'v1', kind: 'DeleteOptions', gracePeriodSeconds: 0, propagationPolicy: 'Foreground', dryRun: ['All'] });
    const inner = envelope('v1', 'ConfigMap', newMeta('x'));
    const we = decode(envelope('v1', 'WatchEvent', str(1, 'ADDED'), msg(2, bytesF(1, inner))));
    assert.deepEqual(we.object, { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', creationTimestamp: null } });
    const weJson = decode(envelope('v1', 'WatchEvent', str(1, 'ADDED'), msg(2, str(1, '{"a":[1]}'))));
    assert.deepEqual(weJson.object, { a: [1] });
  });
});

describe('decodeKubeProtobuf: bad input', () => {
  const cases: [string, Buffer, RegExp][] = [
    ['empty', Buffer.alloc(0), /empty data/],
    ['no magic', Buffer.from('{"kind":"Namespace"}'), /does not appear to be a protobuf message/],
    ['magic only', MAGIC, /empty body/],
    ['unknown kind', envelope('v1', 'Nope'), /no kind "Nope" is registered for version "v1"/],
    ['truncated length', Buffer.concat([MAGIC, Buffer.from([0x0a, 0x10, 0x0a])]), /unexpected EOF/],
    ['truncated varint', Buffer.concat([MAGIC, Buffer.from([0x28, 0xff])]), /unexpected EOF/],
    ['overlong varint', Buffer.concat([MAGIC, Buffer.from([0x28, ...Array(10).fill(0xff), 0x01])]), /overflow/],
    ['field zero', Buffer.concat([MAGIC, Buffer.from([0x00, 0x00])]), /illegal tag 0/],
    ['wrong wire type', envelope('v1', 'Namespace', int(1, 3)), /wrong wireType = 0 for field metadata/],
    ['bad IntOrString type', envelope('v1', 'Service', msg(2, msg(1, msg(4, int(1, 7))))), /impossible IntOrString/],
    ['bad embedded JSON', envelope('v1', 'WatchEvent', msg(2, str(1, '{nope'))), /not valid JSON/],
    ['content encoding', Buffer.concat([envelope('v1', 'Namespace'), str(3, 'gzip')]), /unsupported content encoding "gzip"/],
    ['time out of range', envelope('v1', 'Namespace', msg(1, msg(8, int(1, 2n ** 62n)))), /year outside of range/],
  ];
  for (const [name, body, re] of cases) {
    it(name, () => {
      assert.throws(() => decodeKubeProtobuf(body), (err: unknown) => err instanceof ProtoError && re.test(err.message));
    });
  }

  it('deeply nested embedded objects are refused, not a stack overflow', () => {
    let body = envelope('v1', 'ConfigMap');
    for (let i = 0; i < 200; i++) body = envelope('v1', 'WatchEvent', msg(2, bytesF(1, body)));
    assert.throws(() => decodeKubeProtobuf(body), (err: unknown) => err instanceof ProtoError && /nested too deeply/.test(err.message));
  });

  it('never throws anything but ProtoError on random or mutated bodies (fuzz)', () => {
    const valid = envelope('apps/v1', 'Deployment', newMeta('d', [strEntry(11, 'a', 'b')]), msg(2, int(1, 3), msg(3, msg(2, msg(2, str(1, 'c'), msg(10, msg(1, msg(3, intOrStr(1, 80)))))))));
    const check = (b: Buffer): void => {
      try {
        const v = decodeKubeProtobuf(b).value;
        JSON.stringify(v);
      } catch (err) {
        if (!(err instanceof ProtoError)) throw err;
      }
    };
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 200 }), (tail) => check(Buffer.concat([MAGIC, Buffer.from(tail)]))),
      { numRuns: 2000 },
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: valid.length - 1 }), fc.integer({ min: 0, max: 255 }), fc.integer({ min: 4, max: valid.length }), (at, byte, cut) => {
        const b = Buffer.from(valid);
        b[at] = byte;
        check(b);
        check(b.subarray(0, cut));
      }),
      { numRuns: 3000 },
    );
  });
});

describe('protobuf tag table coverage', () => {
  const SPECIAL = new Set([
    'io.k8s.apimachinery.pkg.apis.meta.v1.Time',
    'io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime',
    'io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1',
    'io.k8s.apimachinery.pkg.api.resource.Quantity',
    'io.k8s.apimachinery.pkg.util.intstr.IntOrString',
    'io.k8s.apimachinery.pkg.runtime.RawExtension',
  ]);
  const reachable = closure([...RESOURCES.map((r) => r.definition), 'io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions']);

  it('every definition reachable from a served kind has a tag for each field', () => {
    const gaps: string[] = [];
    for (const name of reachable) {
      if (SPECIAL.has(name)) continue;
      const s = resolve(name);
      if (!s || s.type !== 'object') {
        gaps.push(`${name}: not an object schema`);
        continue;
      }
      const tags = PROTO_TAGS[name];
      if (!tags) {
        gaps.push(`${name}: no tags`);
        continue;
      }
      for (const prop of Object.keys(s.properties)) {
        if (s.gvk && (prop === 'apiVersion' || prop === 'kind')) continue; // carried by the envelope
        if (!(prop in tags)) gaps.push(`${name}.${prop}`);
      }
    }
    assert.deepEqual(gaps, []);
  });

  it('tags are unique within a message and only name real fields; keep-zero lists name scalar fields', () => {
    const problems: string[] = [];
    for (const [name, tags] of Object.entries(PROTO_TAGS)) {
      const s = resolve(name);
      if (!s || s.type !== 'object') {
        problems.push(`${name}: unknown definition`);
        continue;
      }
      const seen = new Set<string>();
      for (const [prop, tag] of Object.entries(tags)) {
        if (!(prop in s.properties)) problems.push(`${name}.${prop}: not in schema`);
        const k = String(tag);
        if (seen.has(k)) problems.push(`${name}: tag ${k} used twice`);
        seen.add(k);
      }
    }
    for (const [name, fields] of Object.entries(PROTO_KEEP_ZERO)) {
      const s = resolve(name);
      for (const f of fields.split(' ')) {
        const p = s?.type === 'object' ? s.properties[f] : undefined;
        if (!p || !['string', 'integer', 'number', 'boolean'].includes(p.type)) problems.push(`${name}.${f}: not a scalar field`);
      }
    }
    assert.deepEqual(problems, []);
  });
});
