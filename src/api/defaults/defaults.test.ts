import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { findResource, type ResourceInfo } from '../resources.js';
import { applyDefaults, prepareForCreate, prepareForUpdate, defaultPullPolicy } from './index.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const res = (group: string, version: string, plural: string): ResourceInfo => {
  const r = findResource(group, version, plural);
  assert.ok(r);
  return r;
};
const clone = <T>(x: T): T => JSON.parse(JSON.stringify(x));
const seed = parseAllDocuments(readFileSync(new URL('../../../../shared/examples/seed-app.yaml', import.meta.url), 'utf8')).map((d) => d.toJSON() as Obj);

const EXPECTED_PROBE = (path: string, delay: number, period: number): Obj => ({
  httpGet: { path, port: 8080, scheme: 'HTTP' },
  initialDelaySeconds: delay,
  periodSeconds: period,
  timeoutSeconds: 1,
  successThreshold: 1,
  failureThreshold: 3,
});

test('seed Deployment defaults to what a real cluster shows', () => {
  const d = clone(seed[0]);
  applyDefaults(res('apps', 'v1', 'deployments'), d);
  assert.deepEqual(d.spec, {
    replicas: 3,
    selector: { matchLabels: { app: 'my-app' } },
    template: {
      metadata: { labels: { app: 'my-app' } },
      spec: {
        containers: [
          {
            name: 'my-container',
            image: 'my-image:v1.0.0',
            imagePullPolicy: 'IfNotPresent',
            resources: { requests: { memory: '64Mi', cpu: '250m' }, limits: { memory: '128Mi', cpu: '500m' } },
            livenessProbe: EXPECTED_PROBE('/healthz', 15, 20),
            readinessProbe: EXPECTED_PROBE('/readiness', 5, 10),
            terminationMessagePath: '/dev/termination-log',
            terminationMessagePolicy: 'File',
          },
        ],
        dnsPolicy: 'ClusterFirst',
        restartPolicy: 'Always',
        schedulerName: 'default-scheduler',
        securityContext: {},
        terminationGracePeriodSeconds: 30,
      },
    },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: '25%' } },
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
  });
  // idempotent
  const again = clone(d);
  applyDefaults(res('apps', 'v1', 'deployments'), again);
  assert.deepEqual(again, d);
});

test('seed Service defaults to what a real cluster shows (before allocation)', () => {
  const s = clone(seed[1]);
  const r = res('', 'v1', 'services');
  applyDefaults(r, s);
  prepareForCreate(r, s);
  assert.deepEqual(s.spec, {
    selector: { app: 'my-app' },
    ports: [{ protocol: 'TCP', port: 80, targetPort: 8080 }],
    type: 'ClusterIP',
    sessionAffinity: 'None',
    internalTrafficPolicy: 'Cluster',
  });
  assert.deepEqual(s.status, { loadBalancer: {} });
});

test('service defaults per type', () => {
  const r = res('', 'v1', 'services');
  const cases: { spec: Obj; want: Obj }[] = [
    {
      spec: { type: 'NodePort', ports: [{ port: 80 }] },
      want: { type: 'NodePort', ports: [{ port: 80, protocol: 'TCP', targetPort: 80 }], sessionAffinity: 'None', externalTrafficPolicy: 'Cluster', internalTrafficPolicy: 'Cluster' },
    },
    {
      spec: { type: 'LoadBalancer', ports: [{ port: 443, targetPort: 'https' }] },
      want: {
        type: 'LoadBalancer',
        ports: [{ port: 443, protocol: 'TCP', targetPort: 'https' }],
        sessionAffinity: 'None',
        externalTrafficPolicy: 'Cluster',
        internalTrafficPolicy: 'Cluster',
        allocateLoadBalancerNodePorts: true,
      },
    },
    { spec: { type: 'ExternalName', externalName: 'a.example.com' }, want: { type: 'ExternalName', externalName: 'a.example.com', sessionAffinity: 'None' } },
    {
      spec: { sessionAffinity: 'ClientIP', ports: [{ port: 1 }] },
      want: {
        type: 'ClusterIP',
        ports: [{ port: 1, protocol: 'TCP', targetPort: 1 }],
        sessionAffinity: 'ClientIP',
        sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
        internalTrafficPolicy: 'Cluster',
      },
    },
  ];
  for (const c of cases) {
    const s: Obj = { metadata: { name: 's' }, spec: clone(c.spec) };
    applyDefaults(r, s);
    assert.deepEqual(s.spec, c.want);
  }
});

test('service update: allocated values kept, type change drops stale fields', () => {
  const r = res('', 'v1', 'services');
  const old: Obj = {
    metadata: { name: 's' },
    spec: {
      type: 'NodePort',
      clusterIP: '10.96.5.5',
      clusterIPs: ['10.96.5.5'],
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      ports: [{ name: 'http', port: 80, protocol: 'TCP', targetPort: 80, nodePort: 30080 }],
      sessionAffinity: 'None',
      externalTrafficPolicy: 'Cluster',
      internalTrafficPolicy: 'Cluster',
    },
    status: { loadBalancer: {} },
  };
  // a replace that omits clusterIP and nodePort keeps them
  const n: Obj = { metadata: { name: 's' }, spec: { type: 'NodePort', ports: [{ name: 'http', port: 80 }] } };
  applyDefaults(r, n);
  prepareForUpdate(r, n, old);
  assert.equal(n.spec.clusterIP, '10.96.5.5');
  assert.deepEqual(n.spec.clusterIPs, ['10.96.5.5']);
  assert.equal(n.spec.ports[0].nodePort, 30080);
  // NodePort -> ClusterIP with the old nodePort left in place: it is dropped
  const c = clone(old);
  c.spec.type = 'ClusterIP';
  applyDefaults(r, c);
  prepareForUpdate(r, c, old);
  assert.equal(c.spec.ports[0].nodePort, undefined);
  assert.equal(c.spec.externalTrafficPolicy, undefined);
  // ClusterIP -> ExternalName drops clusterIP(s) and families
  const e = clone(old);
  e.spec.type = 'ExternalName';
  e.spec.externalName = 'x.example.com';
  applyDefaults(r, e);
  prepareForUpdate(r, e, old);
  assert.equal(e.spec.clusterIP, undefined);
  assert.equal(e.spec.clusterIPs, undefined);
  assert.equal(e.spec.ipFamilies, undefined);
  assert.equal(e.spec.ipFamilyPolicy, undefined);
});

test('pod-only defaults and image pull policy', () => {
  const r = res('', 'v1', 'pods');
  const p: Obj = {
    metadata: { name: 'p' },
    spec: { containers: [{ name: 'c', image: 'nginx', ports: [{ containerPort: 80 }], resources: { limits: { cpu: '1' } } }], volumes: [{ name: 'v' }] },
  };
  applyDefaults(r, p);
  prepareForCreate(r, p);
  const c = p.spec.containers[0];
  assert.equal(c.imagePullPolicy, 'Always');
  assert.deepEqual(c.ports, [{ containerPort: 80, protocol: 'TCP' }]);
  assert.deepEqual(c.resources, { limits: { cpu: '1' }, requests: { cpu: '1' } });
  assert.equal(p.spec.enableServiceLinks, true);
  assert.deepEqual(p.spec.volumes, [{ name: 'v', emptyDir: {} }]);
  assert.equal(p.spec.serviceAccountName, 'default');
  assert.equal(p.spec.priority, 0);
  assert.deepEqual(p.spec.tolerations, [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
  ]);
  assert.deepEqual(p.status, { phase: 'Pending', qosClass: 'Burstable' });
  const cases: [string, string][] = [
    ['nginx', 'Always'],
    ['nginx:latest', 'Always'],
    ['nginx:1.25', 'IfNotPresent'],
    ['registry:5000/team/app', 'Always'],
    ['registry:5000/team/app:v2', 'IfNotPresent'],
    ['app@sha256:abcd', 'IfNotPresent'],
  ];
  for (const [img, want] of cases) assert.equal(defaultPullPolicy(img), want, img);
});

test('other kinds', () => {
  const sts: Obj = { metadata: { name: 'w' }, spec: { serviceName: 'w', selector: {}, template: { spec: { containers: [] } } } };
  applyDefaults(res('apps', 'v1', 'statefulsets'), sts);
  assert.equal(sts.spec.replicas, 1);
  assert.equal(sts.spec.podManagementPolicy, 'OrderedReady');
  assert.deepEqual(sts.spec.updateStrategy, { type: 'RollingUpdate', rollingUpdate: { partition: 0 } });
  assert.equal(sts.spec.revisionHistoryLimit, 10);
  assert.deepEqual(sts.spec.persistentVolumeClaimRetentionPolicy, { whenDeleted: 'Retain', whenScaled: 'Retain' });

  const ns: Obj = { metadata: { name: 'team' } };
  applyDefaults(res('', 'v1', 'namespaces'), ns);
  prepareForCreate(res('', 'v1', 'namespaces'), ns);
  assert.deepEqual(ns, { metadata: { name: 'team', labels: { 'kubernetes.io/metadata.name': 'team' } }, spec: { finalizers: ['kubernetes'] }, status: { phase: 'Active' } });

  const sec: Obj = { metadata: { name: 's' }, data: { a: 'eA==' }, stringData: { b: 'hi' } };
  applyDefaults(res('', 'v1', 'secrets'), sec);
  assert.deepEqual(sec, { metadata: { name: 's' }, type: 'Opaque', data: { a: 'eA==', b: 'aGk=' } });

  const np: Obj = { metadata: { name: 'n' }, spec: { egress: [{ ports: [{ port: 53 }] }] } };
  applyDefaults(res('networking.k8s.io', 'v1', 'networkpolicies'), np);
  assert.deepEqual(np.spec, { podSelector: {}, egress: [{ ports: [{ port: 53, protocol: 'TCP' }] }], policyTypes: ['Ingress', 'Egress'] });

  const hpa: Obj = { metadata: { name: 'h' }, spec: { maxReplicas: 3, behavior: { scaleDown: { stabilizationWindowSeconds: 60 } } } };
  applyDefaults(res('autoscaling', 'v2', 'horizontalpodautoscalers'), hpa);
  assert.deepEqual(hpa.spec, {
    maxReplicas: 3,
    minReplicas: 1,
    metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
    behavior: {
      scaleUp: {
        stabilizationWindowSeconds: 0,
        selectPolicy: 'Max',
        policies: [
          { type: 'Pods', value: 4, periodSeconds: 15 },
          { type: 'Percent', value: 100, periodSeconds: 15 },
        ],
      },
      scaleDown: { stabilizationWindowSeconds: 60, selectPolicy: 'Max', policies: [{ type: 'Percent', value: 100, periodSeconds: 15 }] },
    },
  });
  const eps: Obj = { addressType: 'IPv4', ports: [{ port: 80 }] };
  applyDefaults(res('discovery.k8s.io', 'v1', 'endpointslices'), eps);
  assert.deepEqual(eps.ports, [{ port: 80, protocol: 'TCP', name: '' }]);
});
