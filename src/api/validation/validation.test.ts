import { test } from 'node:test';
import assert from 'node:assert/strict';
import { findResource, type ResourceInfo } from '../resources.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from '../defaults/index.js';
import { errors, type StatusCause } from '../../apiserver/errors.js';
import { validateCreate, validateStatusUpdate, validateUpdate } from './index.js';
import { goValue } from './field.js';
import { isDNS1035Label, isDNS1123Label, isQualifiedName, isValidLabelValue } from './names.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const res = (group: string, version: string, plural: string): ResourceInfo => {
  const r = findResource(group, version, plural);
  assert.ok(r, plural);
  return r;
};
const SVC = res('', 'v1', 'services');
const POD = res('', 'v1', 'pods');
const DEPLOY = res('apps', 'v1', 'deployments');
const RS = res('apps', 'v1', 'replicasets');
const STS = res('apps', 'v1', 'statefulsets');
const NS = res('', 'v1', 'namespaces');
const CM = res('', 'v1', 'configmaps');
const SECRET = res('', 'v1', 'secrets');
const HPA = res('autoscaling', 'v2', 'horizontalpodautoscalers');
const PDB = res('policy', 'v1', 'poddisruptionbudgets');
const EPS = res('discovery.k8s.io', 'v1', 'endpointslices');
const ING = res('networking.k8s.io', 'v1', 'ingresses');
const EP = res('', 'v1', 'endpoints');

const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
/** Defaults and prepares like the server would, then validates. */
function create(r: ResourceInfo, o: Obj): StatusCause[] {
  const obj = clone(o);
  applyDefaults(r, obj);
  prepareForCreate(r, obj);
  if (r.kind === 'Service' && obj.spec.clusterIP === undefined && obj.spec.type !== 'ExternalName') {
    // stand-in for the allocator
    obj.spec.clusterIP = '10.96.0.20';
    obj.spec.clusterIPs = ['10.96.0.20'];
    obj.spec.ipFamilies = ['IPv4'];
    obj.spec.ipFamilyPolicy = 'SingleStack';
  }
  return validateCreate(r, obj);
}
function update(r: ResourceInfo, n: Obj, o: Obj): StatusCause[] {
  const nn = clone(n);
  applyDefaults(r, nn);
  prepareForUpdate(r, nn, o);
  return validateUpdate(r, nn, o);
}
const stored = (r: ResourceInfo, o: Obj): Obj => {
  const obj = clone(o);
  applyDefaults(r, obj);
  prepareForCreate(r, obj);
  return obj;
};

const svc = (spec: Obj, name = 'my-svc'): Obj => ({ apiVersion: 'v1', kind: 'Service', metadata: { name, namespace: 'default' }, spec });
const container = (extra: Obj = {}): Obj => ({ name: 'c', image: 'nginx:1.25', ...extra });
const pod = (spec: Obj, meta: Obj = {}): Obj => ({ metadata: { name: 'p', namespace: 'default', ...meta }, spec });
const deploy = (spec: Obj): Obj => ({
  metadata: { name: 'd', namespace: 'default' },
  spec: {
    selector: { matchLabels: { app: 'a' } },
    template: { metadata: { labels: { app: 'a' } }, spec: { containers: [container()] } },
    ...spec,
  },
});

const DNS1123_LABEL_MSG =
  "a lowercase RFC 1123 label must consist of lower case alphanumeric characters or '-', and must start and end with an alphanumeric character (e.g. 'my-name',  or '123-abc', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?')";
const DNS1035_MSG =
  "a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name',  or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')";
const SUBDOMAIN_MSG =
  "a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')";

test('name helpers return kube 1.32 texts', () => {
  assert.deepEqual(isDNS1123Label('My_Svc'), [DNS1123_LABEL_MSG]);
  assert.deepEqual(isDNS1123Label('a.b'), ['must not contain dots']);
  assert.deepEqual(isDNS1123Label('a'.repeat(64)), ['must be no more than 63 characters']);
  assert.deepEqual(isDNS1035Label('1abc'), [DNS1035_MSG]);
  assert.deepEqual(isDNS1123Label('ok-name'), []);
  assert.deepEqual(isQualifiedName('example.com/MyName'), []);
  assert.deepEqual(isQualifiedName('a/b/c').length, 1);
  assert.deepEqual(isQualifiedName('/x'), ['prefix part must be non-empty']);
  assert.deepEqual(isValidLabelValue('-bad'), [
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
  ]);
});

test('goValue renders Go %#v forms', () => {
  assert.equal(goValue('x'), '"x"');
  assert.equal(goValue(3), '3');
  assert.equal(goValue(['a', 'b']), '[]string{"a", "b"}');
  assert.equal(goValue({ b: '2', a: '1' }), 'map[string]string{"a":"1", "b":"2"}');
  assert.equal(goValue(null), 'null');
});

interface Case {
  name: string;
  r: ResourceInfo;
  obj: Obj;
  /** Expected causes (exactly, in order) — or [] for valid. */
  want: StatusCause[];
}

const cases: Case[] = [
  { name: 'service valid', r: SVC, obj: svc({ selector: { app: 'a' }, ports: [{ port: 80, targetPort: 8080 }] }), want: [] },
  {
    name: 'service bad name is DNS-1035',
    r: SVC,
    obj: svc({ ports: [{ port: 80 }] }, 'My_Svc'),
    want: [{ reason: 'FieldValueInvalid', field: 'metadata.name', message: `Invalid value: "My_Svc": ${DNS1035_MSG}` }],
  },
  {
    name: 'service missing port number',
    r: SVC,
    obj: svc({ ports: [{ protocol: 'TCP', targetPort: 80 }] }),
    want: [{ reason: 'FieldValueInvalid', field: 'spec.ports[0].port', message: 'Invalid value: 0: must be between 1 and 65535, inclusive' }],
  },
  {
    name: 'service ports required',
    r: SVC,
    obj: svc({ selector: { app: 'a' } }),
    want: [{ reason: 'FieldValueRequired', field: 'spec.ports', message: 'Required value' }],
  },
  {
    name: 'service bad protocol',
    r: SVC,
    obj: svc({ ports: [{ port: 80, protocol: 'UDPX' }] }),
    want: [{ reason: 'FieldValueNotSupported', field: 'spec.ports[0].protocol', message: 'Unsupported value: "UDPX": supported values: "SCTP", "TCP", "UDP"' }],
  },
  {
    name: 'service two ports need names, duplicate port',
    r: SVC,
    obj: svc({ ports: [{ port: 80 }, { port: 80 }] }),
    want: [
      { reason: 'FieldValueRequired', field: 'spec.ports[0].name', message: 'Required value' },
      { reason: 'FieldValueRequired', field: 'spec.ports[1].name', message: 'Required value' },
      {
        reason: 'FieldValueDuplicate',
        field: 'spec.ports[1]',
        message:
          'Duplicate value: core.ServicePort{Name:"", Protocol:"TCP", AppProtocol:(*string)(nil), Port:80, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}',
      },
    ],
  },
  {
    name: 'service duplicate port names',
    r: SVC,
    obj: svc({ ports: [{ name: 'http', port: 80 }, { name: 'http', port: 81 }] }),
    want: [{ reason: 'FieldValueDuplicate', field: 'spec.ports[1].name', message: 'Duplicate value: "http"' }],
  },
  {
    name: 'service bad targetPort name',
    r: SVC,
    obj: svc({ ports: [{ port: 80, targetPort: 'Http_Port' }] }),
    want: [
      { reason: 'FieldValueInvalid', field: 'spec.ports[0].targetPort', message: 'Invalid value: "Http_Port": must contain only alpha-numeric characters (a-z, 0-9), and hyphens (-)' },
    ],
  },
  {
    name: 'service bad type',
    r: SVC,
    obj: svc({ type: 'Foo', ports: [{ port: 80 }] }),
    want: [{ reason: 'FieldValueNotSupported', field: 'spec.type', message: 'Unsupported value: "Foo": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"' }],
  },
  {
    name: 'ExternalName requires externalName',
    r: SVC,
    obj: svc({ type: 'ExternalName' }),
    want: [{ reason: 'FieldValueRequired', field: 'spec.externalName', message: 'Required value' }],
  },
  {
    name: 'ExternalName with bad host',
    r: SVC,
    obj: svc({ type: 'ExternalName', externalName: 'Bad_Host.' }),
    want: [{ reason: 'FieldValueInvalid', field: 'spec.externalName', message: `Invalid value: "Bad_Host": ${SUBDOMAIN_MSG}` }],
  },
  {
    name: 'headless without ports is fine',
    r: SVC,
    obj: svc({ clusterIP: 'None', ipFamilies: ['IPv4'], ipFamilyPolicy: 'SingleStack', selector: { app: 'a' } }),
    want: [],
  },
  {
    name: 'None not allowed for NodePort',
    r: SVC,
    obj: svc({ type: 'NodePort', clusterIP: 'None', ports: [{ port: 80 }] }),
    want: [{ reason: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', message: `Invalid value: "None": may not be set to 'None' for NodePort services` }],
  },
  {
    name: 'nodePort on ClusterIP forbidden',
    r: SVC,
    obj: svc({ ports: [{ port: 80, nodePort: 30080 }] }),
    want: [{ reason: 'FieldValueForbidden', field: 'spec.ports[0].nodePort', message: "Forbidden: may not be used when `type` is 'ClusterIP'" }],
  },
  {
    name: 'bad sessionAffinity and externalIP',
    r: SVC,
    obj: svc({ sessionAffinity: 'Sticky', externalIPs: ['127.0.0.1'], ports: [{ port: 80 }] }),
    want: [
      { reason: 'FieldValueNotSupported', field: 'spec.sessionAffinity', message: 'Unsupported value: "Sticky": supported values: "ClientIP", "None"' },
      { reason: 'FieldValueInvalid', field: 'spec.externalIPs[0]', message: 'Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)' },
    ],
  },
  {
    name: 'loadBalancerSourceRanges only for LB and must be CIDRs',
    r: SVC,
    obj: svc({ loadBalancerSourceRanges: ['10.0.0.0/33'], ports: [{ port: 80 }] }),
    want: [
      { reason: 'FieldValueForbidden', field: 'spec.LoadBalancerSourceRanges', message: "Forbidden: may only be used when `type` is 'LoadBalancer'" },
      { reason: 'FieldValueInvalid', field: 'spec.LoadBalancerSourceRanges[0]', message: 'Invalid value: "10.0.0.0/33": must be a valid CIDR value, (e.g. 10.9.8.0/24 or 2001:db8::/64)' },
    ],
  },
  {
    name: 'selector label value invalid',
    r: SVC,
    obj: svc({ selector: { app: 'a b' }, ports: [{ port: 80 }] }),
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.selector',
        message:
          "Invalid value: \"a b\": a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or 'my_value',  or '12345', regex used for validation is '(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?')",
      },
    ],
  },
  { name: 'pod valid', r: POD, obj: pod({ containers: [container({ ports: [{ containerPort: 80 }] })] }), want: [] },
  {
    name: 'pod containers required',
    r: POD,
    obj: pod({}),
    want: [{ reason: 'FieldValueRequired', field: 'spec.containers', message: 'Required value' }],
  },
  {
    name: 'pod container name and image',
    r: POD,
    obj: pod({ containers: [{ name: 'Bad_Name' }, { name: 'Bad_Name', image: 'x' }] }),
    want: [
      { reason: 'FieldValueInvalid', field: 'spec.containers[0].name', message: `Invalid value: "Bad_Name": ${DNS1123_LABEL_MSG}` },
      { reason: 'FieldValueRequired', field: 'spec.containers[0].image', message: 'Required value' },
      { reason: 'FieldValueInvalid', field: 'spec.containers[1].name', message: `Invalid value: "Bad_Name": ${DNS1123_LABEL_MSG}` },
      { reason: 'FieldValueDuplicate', field: 'spec.containers[1].name', message: 'Duplicate value: "Bad_Name"' },
    ],
  },
  {
    name: 'pod probe with two handlers and bad port',
    r: POD,
    obj: pod({ containers: [container({ livenessProbe: { httpGet: { path: '/', port: 70000 }, tcpSocket: { port: 80 } } })] }),
    want: [
      { reason: 'FieldValueInvalid', field: 'spec.containers[0].livenessProbe.httpGet.port', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' },
      { reason: 'FieldValueForbidden', field: 'spec.containers[0].livenessProbe.tcpSocket', message: 'Forbidden: may not specify more than 1 handler type' },
    ],
  },
  {
    name: 'pod probe without handler',
    r: POD,
    obj: pod({ containers: [container({ readinessProbe: { periodSeconds: 5 } })] }),
    want: [{ reason: 'FieldValueRequired', field: 'spec.containers[0].readinessProbe', message: 'Required value: must specify a handler type' }],
  },
  {
    name: 'pod requests above limits',
    r: POD,
    obj: pod({ containers: [container({ resources: { requests: { cpu: '600m' }, limits: { cpu: '500m' } } })] }),
    want: [{ reason: 'FieldValueInvalid', field: 'spec.containers[0].resources.requests', message: 'Invalid value: "600m": must be less than or equal to cpu limit of 500m' }],
  },
  {
    name: 'pod bad restart and dns policy',
    r: POD,
    obj: pod({ restartPolicy: 'Sometimes', dnsPolicy: 'Weird', containers: [container()] }),
    want: [
      { reason: 'FieldValueNotSupported', field: 'spec.restartPolicy', message: 'Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"' },
      {
        reason: 'FieldValueNotSupported',
        field: 'spec.dnsPolicy',
        message: 'Unsupported value: "Weird": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"',
      },
    ],
  },
  {
    name: 'pod container port required',
    r: POD,
    obj: pod({ containers: [container({ ports: [{ name: 'http' }] })] }),
    want: [{ reason: 'FieldValueRequired', field: 'spec.containers[0].ports[0].containerPort', message: 'Required value' }],
  },
  {
    name: 'metadata: name required, labels, annotations, namespace',
    r: POD,
    obj: { metadata: { namespace: 'Bad_NS', labels: { 'bad key!': 'v' } }, spec: { containers: [container()] } },
    want: [
      { reason: 'FieldValueRequired', field: 'metadata.name', message: 'Required value: name or generateName is required' },
      { reason: 'FieldValueInvalid', field: 'metadata.namespace', message: `Invalid value: "Bad_NS": ${DNS1123_LABEL_MSG}` },
      {
        reason: 'FieldValueInvalid',
        field: 'metadata.labels',
        message:
          "Invalid value: \"bad key!\": name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', regex used for validation is '([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]')",
      },
    ],
  },
  {
    name: 'annotations too large',
    r: CM,
    obj: { metadata: { name: 'c', namespace: 'default', annotations: { a: 'x'.repeat(256 * 1024) } } },
    want: [{ reason: 'FieldValueTooLong', field: 'metadata.annotations', message: 'Too long: may not be more than 262144 bytes' }],
  },
  {
    name: 'finalizer must be qualified or standard',
    r: CM,
    obj: { metadata: { name: 'c', namespace: 'default', finalizers: ['custom'] } },
    want: [{ reason: 'FieldValueInvalid', field: 'metadata.finalizers[0]', message: 'Invalid value: "custom": name is neither a standard finalizer name nor is it fully qualified' }],
  },
  { name: 'deployment valid', r: DEPLOY, obj: deploy({}), want: [] },
  {
    name: 'deployment selector mismatch',
    r: DEPLOY,
    obj: deploy({ selector: { matchLabels: { app: 'b' } } }),
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: map[string]string{"app":"a"}: `selector` does not match template `labels`',
      },
    ],
  },
  {
    name: 'deployment selector missing',
    r: DEPLOY,
    obj: deploy({ selector: undefined }),
    want: [
      { reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' },
      {
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: map[string]string{"app":"a"}: `selector` does not match template `labels`',
      },
    ],
  },
  {
    name: 'deployment empty selector',
    r: DEPLOY,
    obj: deploy({ selector: {} }),
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.selector',
        message: 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string(nil), MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: empty selector is invalid for deployment',
      },
    ],
  },
  {
    name: 'deployment negative replicas, zero surge and unavailable, restartPolicy',
    r: DEPLOY,
    obj: deploy({ replicas: -1, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: 0, maxUnavailable: 0 } } }),
    want: [
      { reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' },
      {
        reason: 'FieldValueInvalid',
        field: 'spec.strategy.rollingUpdate.maxUnavailable',
        message: 'Invalid value: intstr.IntOrString{Type:0, IntVal:0, StrVal:""}: may not be 0 when `maxSurge` is 0',
      },
    ],
  },
  {
    name: 'deployment template restartPolicy must be Always',
    r: DEPLOY,
    obj: deploy({ template: { metadata: { labels: { app: 'a' } }, spec: { restartPolicy: 'Never', containers: [container()] } } }),
    want: [{ reason: 'FieldValueNotSupported', field: 'spec.template.spec.restartPolicy', message: 'Unsupported value: "Never": supported values: "Always"' }],
  },
  {
    name: 'deployment recreate with rollingUpdate',
    r: DEPLOY,
    obj: deploy({ strategy: { type: 'Recreate', rollingUpdate: { maxSurge: 1 } } }),
    want: [{ reason: 'FieldValueForbidden', field: 'spec.strategy.rollingUpdate', message: "Forbidden: may not be specified when strategy `type` is 'Recreate'" }],
  },
  {
    name: 'replicaset selector mismatch',
    r: RS,
    obj: { ...deploy({ selector: { matchLabels: { tier: 'frontend' } } }), metadata: { name: 'rs', namespace: 'default' } },
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.template.metadata.labels',
        message: 'Invalid value: map[string]string{"app":"a"}: `selector` does not match template `labels`',
      },
    ],
  },
  { name: 'statefulset valid', r: STS, obj: { ...deploy({ serviceName: 's' }), metadata: { name: 'web', namespace: 'default' } }, want: [] },
  { name: 'namespace valid', r: NS, obj: { metadata: { name: 'team-a' } }, want: [] },
  {
    name: 'namespace name must be DNS label; no namespace on cluster scope',
    r: NS,
    obj: { metadata: { name: 'a.b', namespace: 'x' } },
    want: [
      { reason: 'FieldValueInvalid', field: 'metadata.name', message: 'Invalid value: "a.b": must not contain dots' },
      { reason: 'FieldValueForbidden', field: 'metadata.namespace', message: 'Forbidden: not allowed on this type' },
    ],
  },
  {
    name: 'configmap bad key',
    r: CM,
    obj: { metadata: { name: 'c', namespace: 'default' }, data: { 'a b': 'x' } },
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'data[a b]',
        message:
          "Invalid value: \"a b\": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name',  or 'KEY_NAME',  or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')",
      },
    ],
  },
  {
    name: 'configmap too large',
    r: CM,
    obj: { metadata: { name: 'c', namespace: 'default' }, data: { a: 'x'.repeat(1024 * 1024 + 1) } },
    want: [{ reason: 'FieldValueTooLong', field: '', message: 'Too long: may not be more than 1048576 bytes' }],
  },
  {
    name: 'tls secret needs keys',
    r: SECRET,
    obj: { metadata: { name: 's', namespace: 'default' }, type: 'kubernetes.io/tls', data: {} },
    want: [
      { reason: 'FieldValueRequired', field: 'data[tls.crt]', message: 'Required value' },
      { reason: 'FieldValueRequired', field: 'data[tls.key]', message: 'Required value' },
    ],
  },
  {
    name: 'hpa replicas',
    r: HPA,
    obj: { metadata: { name: 'h', namespace: 'default' }, spec: { minReplicas: 0, maxReplicas: 0, scaleTargetRef: { kind: 'Deployment', name: 'd' } } },
    want: [
      { reason: 'FieldValueInvalid', field: 'spec.minReplicas', message: 'Invalid value: 0: must be greater than or equal to 1' },
      { reason: 'FieldValueInvalid', field: 'spec.maxReplicas', message: 'Invalid value: 0: must be greater than 0' },
    ],
  },
  {
    name: 'hpa max below min',
    r: HPA,
    obj: { metadata: { name: 'h', namespace: 'default' }, spec: { minReplicas: 5, maxReplicas: 2, scaleTargetRef: { kind: 'Deployment', name: 'd' } } },
    want: [{ reason: 'FieldValueInvalid', field: 'spec.maxReplicas', message: 'Invalid value: 2: must be greater than or equal to `minReplicas`' }],
  },
  {
    name: 'pdb both set',
    r: PDB,
    obj: { metadata: { name: 'p', namespace: 'default' }, spec: { minAvailable: 1, maxUnavailable: 1, selector: { matchLabels: { a: 'b' } } } },
    want: [
      {
        reason: 'FieldValueInvalid',
        field: 'spec.minAvailable',
        message: 'Invalid value: intstr.IntOrString{Type:0, IntVal:1, StrVal:""}: minAvailable and maxUnavailable cannot be both set',
      },
    ],
  },
  {
    name: 'endpointslice addressType and address',
    r: EPS,
    obj: { metadata: { name: 'e', namespace: 'default' }, addressType: 'IPv4', endpoints: [{ addresses: ['::1'] }] },
    want: [{ reason: 'FieldValueInvalid', field: 'endpoints[0].addresses[0]', message: 'Invalid value: "::1": must be a valid IPv4 address' }],
  },
  {
    name: 'ingress pathType required',
    r: ING,
    obj: {
      metadata: { name: 'i', namespace: 'default' },
      spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', backend: { service: { name: 'svc', port: { number: 80 } } } }] } }] },
    },
    want: [{ reason: 'FieldValueRequired', field: 'spec.rules[0].http.paths[0].pathType', message: 'Required value: pathType must be specified' }],
  },
  {
    name: 'endpoints subset needs addresses',
    r: EP,
    obj: { metadata: { name: 'e', namespace: 'default' }, subsets: [{ ports: [{ port: 80 }] }] },
    want: [{ reason: 'FieldValueRequired', field: 'subsets[0]', message: 'Required value: must specify `addresses` or `notReadyAddresses`' }],
  },
];

for (const c of cases) {
  test(`validateCreate: ${c.name}`, () => {
    assert.deepEqual(create(c.r, c.obj), c.want);
  });
}

test('validateUpdate: immutable metadata and deployment selector', () => {
  const old = stored(DEPLOY, deploy({}));
  old.metadata.uid = 'u1';
  old.metadata.creationTimestamp = '2024-05-01T10:00:00Z';
  const n = clone(old);
  n.metadata.name = 'other';
  n.metadata.uid = 'u2';
  n.spec.selector = { matchLabels: { app: 'a', tier: 'x' } };
  n.spec.template.metadata.labels.tier = 'x';
  assert.deepEqual(update(DEPLOY, n, old), [
    { reason: 'FieldValueInvalid', field: 'metadata.name', message: 'Invalid value: "other": field is immutable' },
    { reason: 'FieldValueInvalid', field: 'metadata.uid', message: 'Invalid value: "u2": field is immutable' },
    {
      reason: 'FieldValueInvalid',
      field: 'spec.selector',
      message: 'Invalid value: v1.LabelSelector{MatchLabels:map[string]string{"app":"a", "tier":"x"}, MatchExpressions:[]v1.LabelSelectorRequirement(nil)}: field is immutable',
    },
  ]);
  const ts = clone(old);
  ts.metadata.creationTimestamp = '2024-05-02T10:00:00Z';
  assert.deepEqual(update(DEPLOY, ts, old), [
    { reason: 'FieldValueInvalid', field: 'metadata.creationTimestamp', message: 'Invalid value: 2024-05-02 10:00:00 +0000 UTC: field is immutable' },
  ]);
});

test('validateUpdate: service clusterIP may not change, ExternalName switch allowed', () => {
  const old = stored(SVC, svc({ clusterIP: '10.96.0.50', ports: [{ port: 80 }] }));
  old.spec.ipFamilies = ['IPv4'];
  old.spec.ipFamilyPolicy = 'SingleStack';
  const n = clone(old);
  n.spec.clusterIP = '10.96.0.51';
  assert.deepEqual(update(SVC, n, old), [
    { reason: 'FieldValueInvalid', field: 'spec.clusterIPs[0]', message: 'Invalid value: []string{"10.96.0.51"}: may not change once set' },
  ]);
  const toExt = clone(old);
  toExt.spec.type = 'ExternalName';
  toExt.spec.externalName = 'example.com';
  assert.deepEqual(update(SVC, toExt, old), []);
});

test('validateUpdate: pod spec is mostly immutable', () => {
  const old = stored(POD, pod({ containers: [container()] }));
  const img = clone(old);
  img.spec.containers[0].image = 'nginx:1.26';
  assert.deepEqual(update(POD, img, old), []);
  const bad = clone(old);
  bad.spec.restartPolicy = 'Never';
  const errs = update(POD, bad, old);
  assert.equal(errs.length, 1);
  assert.equal(errs[0].field, 'spec');
  assert.equal(errs[0].reason, 'FieldValueForbidden');
  assert.ok(
    errs[0].message.startsWith(
      'Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
    ),
    errs[0].message,
  );
  assert.match(errs[0].message, /RestartPolicy/);
  const more = clone(old);
  more.spec.containers.push(container({ name: 'd' }));
  assert.deepEqual(update(POD, more, old), [{ reason: 'FieldValueForbidden', field: 'spec.containers', message: 'Forbidden: pod updates may not add or remove containers' }]);
});

test('validateUpdate: immutable secret and configmap', () => {
  const old = stored(SECRET, { metadata: { name: 's', namespace: 'default' }, immutable: true, data: { a: 'YQ==' } });
  const n = clone(old);
  n.data.a = 'Yg==';
  n.type = 'kubernetes.io/tls';
  const errs = update(SECRET, n, old);
  assert.deepEqual(errs.slice(0, 2), [
    { reason: 'FieldValueInvalid', field: 'type', message: 'Invalid value: "kubernetes.io/tls": field is immutable' },
    { reason: 'FieldValueForbidden', field: 'data', message: 'Forbidden: field is immutable when `immutable` is set' },
  ]);
  const cm = stored(CM, { metadata: { name: 'c', namespace: 'default' }, immutable: true, data: { a: '1' } });
  const cm2 = clone(cm);
  delete cm2.immutable;
  assert.deepEqual(update(CM, cm2, cm), [{ reason: 'FieldValueForbidden', field: 'immutable', message: 'Forbidden: field is immutable when `immutable` is set' }]);
});

test('validateUpdate: endpointslice addressType immutable', () => {
  const old = stored(EPS, { metadata: { name: 'e', namespace: 'default' }, addressType: 'IPv4', endpoints: [] });
  const n = clone(old);
  n.addressType = 'IPv6';
  assert.deepEqual(update(EPS, n, old), [{ reason: 'FieldValueInvalid', field: 'addressType', message: 'Invalid value: "IPv6": field is immutable' }]);
});

test('validateStatusUpdate: pod nodeName may not change via status', () => {
  const old = stored(POD, pod({ containers: [container()] }));
  const n = clone(old);
  n.spec.nodeName = 'node-1';
  assert.deepEqual(validateStatusUpdate(POD, n, old), [{ reason: 'FieldValueForbidden', field: 'status.nodeName', message: 'Forbidden: may not be changed directly' }]);
});

test('errors.invalid builds kube top-level message from causes', () => {
  const causes = create(SVC, svc({ ports: [{ protocol: 'TCP', targetPort: 80 }] }));
  const e = errors.invalid('Service', '', 'x', causes).toStatus();
  assert.equal(e.message, 'Service "x" is invalid: spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive');
  assert.equal(e.code, 422);
  const two = errors.invalid('Deployment', 'apps', 'd', [
    { reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' },
    { reason: 'FieldValueRequired', field: 'spec.selector', message: 'Required value' },
    { reason: 'FieldValueInvalid', field: 'spec.replicas', message: 'Invalid value: -1: must be greater than or equal to 0' },
  ]);
  assert.equal(two.message, 'Deployment.apps "d" is invalid: [spec.selector: Required value, spec.replicas: Invalid value: -1: must be greater than or equal to 0]');
  assert.equal(two.details?.causes?.length, 3);
});
