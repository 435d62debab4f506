import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { parseAllDocuments } from 'yaml';
import { RESOURCES, findResource } from '../api/resources.js';
import { StatusError } from './errors.js';
import { buildTable, columnsFor, hasPrinter, humanDuration, rowFor } from './tables.js';

const NOW = new Date('2025-01-10T12:00:00Z');
const ago = (ms: number): string => new Date(NOW.getTime() - ms).toISOString();
const S = 1000;
const M = 60 * S;
const H = 60 * M;
const D = 24 * H;

const res = (group: string, version: string, plural: string) => {
  const r = findResource(group, version, plural);
  assert.ok(r, `${group}/${version}/${plural} is served`);
  return r;
};

test('humanDuration matches duration.HumanDuration', () => {
  const cases: [number, string][] = [
    [-2 * S, '<invalid>'],
    [-1500, '0s'],
    [-999, '0s'],
    [0, '0s'],
    [5 * S, '5s'],
    [59 * S + 999, '59s'],
    [60 * S, '60s'],
    [119 * S, '119s'],
    [2 * M, '2m'],
    [3 * M + 20 * S, '3m20s'],
    [9 * M + 59 * S, '9m59s'],
    [10 * M, '10m'],
    [10 * M + 30 * S, '10m'],
    [179 * M, '179m'],
    [3 * H, '3h'],
    [3 * H + 10 * M, '3h10m'],
    [7 * H + 59 * M, '7h59m'],
    [8 * H, '8h'],
    [47 * H + 59 * M, '47h'],
    [48 * H, '2d'],
    [2 * D + 5 * H, '2d5h'],
    [7 * D + 23 * H, '7d23h'],
    [8 * D, '8d'],
    [729 * D, '729d'],
    [730 * D, '2y'],
    [760 * D, '2y30d'],
    [8 * 365 * D, '8y'],
    [20 * 365 * D, '20y'],
  ];
  for (const [ms, want] of cases) assert.equal(humanDuration(ms), want, `${ms}ms`);
});

/** The seed manifest as a cluster stores it after defaulting, IP allocation and rollout. */
function seedObjects(): { deployment: Record<string, any>; service: Record<string, any> } {
  const docs = parseAllDocuments(readFileSync(new URL('../../../shared/examples/seed-app.yaml', import.meta.url), 'utf8')).map((d) => d.toJS());
  const deployment = docs.find((d) => d.kind === 'Deployment');
  const service = docs.find((d) => d.kind === 'Service');
  const meta = { namespace: 'default', creationTimestamp: ago(5 * M + 7 * S), resourceVersion: '42', uid: 'u-1' };
  Object.assign(deployment.metadata, meta, { generation: 1 });
  deployment.status = { observedGeneration: 1, replicas: 3, updatedReplicas: 3, readyReplicas: 3, availableReplicas: 3 };
  Object.assign(service.metadata, meta);
  Object.assign(service.spec, { clusterIP: '10.96.0.15', clusterIPs: ['10.96.0.15'], sessionAffinity: 'None', ipFamilies: ['IPv4'] });
  return { deployment, service };
}

test('golden rows: seed Deployment and Service as a cluster prints them', () => {
  const { deployment, service } = seedObjects();
  const deployments = res('apps', 'v1', 'deployments');
  assert.deepEqual(
    columnsFor(deployments).map((c) => [c.name, c.priority]),
    [['Name', 0], ['Ready', 0], ['Up-to-date', 0], ['Available', 0], ['Age', 0], ['Containers', 1], ['Images', 1], ['Selector', 1]],
  );
  assert.deepEqual(rowFor(deployments, deployment, NOW), ['my-app', '3/3', 3, 3, '5m7s', 'my-container', 'my-image:v1.0.0', 'app=my-app']);

  const services = res('', 'v1', 'services');
  assert.deepEqual(
    columnsFor(services).map((c) => [c.name, c.priority]),
    [['Name', 0], ['Type', 0], ['Cluster-IP', 0], ['External-IP', 0], ['Port(s)', 0], ['Age', 0], ['Selector', 1]],
  );
  assert.deepEqual(rowFor(services, service, NOW), ['my-service', 'ClusterIP', '10.96.0.15', '<none>', '80/TCP', '5m7s', 'app=my-app']);

  // Mid-rollout: nothing ready yet.
  const fresh = { ...deployment, status: { replicas: 3, updatedReplicas: 3, unavailableReplicas: 3 } };
  assert.deepEqual(rowFor(deployments, fresh, NOW).slice(0, 4), ['my-app', '0/3', 3, 0]);
});

test('service cells: node ports, load balancers, external names, headless', () => {
  const services = res('', 'v1', 'services');
  const svc = (spec: Record<string, unknown>, status: Record<string, unknown> = {}) => ({
    metadata: { name: 's', creationTimestamp: ago(30 * S) },
    spec,
    status,
  });
  const cases: [Record<string, unknown>, Record<string, unknown>, unknown[]][] = [
    [
      { type: 'NodePort', clusterIPs: ['10.0.0.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }, { port: 53, protocol: 'UDP' }] },
      {},
      ['s', 'NodePort', '10.0.0.1', '<none>', '80:30080/TCP,53/UDP', '30s', '<none>'],
    ],
    [{ type: 'LoadBalancer', clusterIPs: ['10.0.0.2'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }, {}, ['s', 'LoadBalancer', '10.0.0.2', '<pending>', '443:31443/TCP', '30s', '<none>']],
    [
      { type: 'LoadBalancer', clusterIPs: ['10.0.0.2'], ports: [], selector: { b: '2', a: '1' } },
      { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }] } },
      ['s', 'LoadBalancer', '10.0.0.2', '203.0.113.9,lb.example.com', '<none>', '30s', 'a=1,b=2'],
    ],
    [{ type: 'ClusterIP', clusterIP: 'None', ports: [{ port: 80, protocol: 'TCP' }] }, {}, ['s', 'ClusterIP', 'None', '<none>', '80/TCP', '30s', '<none>']],
    [{ type: 'ClusterIP', clusterIPs: ['10.0.0.3'], externalIPs: ['1.2.3.4'], ports: [{ port: 80 }] }, {}, ['s', 'ClusterIP', '10.0.0.3', '1.2.3.4', '80/TCP', '30s', '<none>']],
    [{ type: 'ExternalName', externalName: 'db.example.com' }, {}, ['s', 'ExternalName', '<none>', 'db.example.com', '<none>', '30s', '<none>']],
  ];
  for (const [spec, status, want] of cases) assert.deepEqual(rowFor(services, svc(spec, status), NOW), want, JSON.stringify(spec));
});

test('every served kind prints one cell per column', () => {
  for (const r of RESOURCES) {
    const cols = columnsFor(r);
    assert.ok(cols.length >= 2, r.plural);
    assert.equal(cols[0].name === 'Name' || cols[0].name === 'Last Seen', true, `${r.plural} first column`);
    const cells = rowFor(r, { metadata: { name: 'x', creationTimestamp: ago(90 * S) } }, NOW);
    assert.equal(cells.length, cols.length, `${r.group}/${r.version}/${r.plural}`);
    for (const c of cols) assert.deepEqual(Object.keys(c).sort(), ['description', 'format', 'name', 'priority', 'type']);
  }
  assert.equal(hasPrinter(res('', 'v1', 'bindings')), false);
  assert.deepEqual(
    columnsFor(res('', 'v1', 'bindings')).map((c) => [c.name, c.type, c.format]),
    [['Name', 'string', 'name'], ['Created At', 'date', '']],
  );
  assert.deepEqual(rowFor(res('', 'v1', 'bindings'), { metadata: { name: 'b', creationTimestamp: '2025-01-02T03:04:05Z' } }, NOW), ['b', '2025-01-02T03:04:05Z']);
});

test('simple kinds: configmaps, secrets, serviceaccounts, namespaces, endpoints, leases', () => {
  const meta = { name: 'o', creationTimestamp: ago(2 * D + 5 * H) };
  const cases: [string, string, string, Record<string, unknown>, unknown[]][] = [
    ['', 'v1', 'configmaps', { data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }, ['o', 3, '2d5h']],
    ['', 'v1', 'configmaps', {}, ['o', 0, '2d5h']],
    ['', 'v1', 'secrets', { type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }, ['o', 'kubernetes.io/tls', 2, '2d5h']],
    ['', 'v1', 'serviceaccounts', { secrets: [{ name: 't' }] }, ['o', 1, '2d5h']],
    ['', 'v1', 'namespaces', { status: { phase: 'Terminating' } }, ['o', 'Terminating', '2d5h']],
    ['', 'v1', 'endpoints', {}, ['o', '<none>', '2d5h']],
    [
      '',
      'v1',
      'endpoints',
      { subsets: [{ addresses: [{ ip: '10.1.0.1' }, { ip: '10.1.0.2' }], ports: [{ port: 8080 }, { port: 9090 }] }] },
      ['o', '10.1.0.1:8080,10.1.0.2:8080,10.1.0.1:9090 + 1 more...', '2d5h'],
    ],
    ['', 'v1', 'endpoints', { subsets: [{ addresses: [{ ip: 'fd00::1' }], ports: [{ port: 80 }] }] }, ['o', '[fd00::1]:80', '2d5h']],
    ['coordination.k8s.io', 'v1', 'leases', { spec: { holderIdentity: 'node-1' } }, ['o', 'node-1', '2d5h']],
    ['coordination.k8s.io', 'v1', 'leases', { spec: {} }, ['o', '', '2d5h']],
  ];
  for (const [g, v, p, body, want] of cases) assert.deepEqual(rowFor(res(g, v, p), { metadata: meta, ...body }, NOW), want, `${p} ${JSON.stringify(body)}`);
});

test('workload kinds: replicasets, statefulsets, PDBs, HPAs, ingresses, endpointslices, networkpolicies', () => {
  const meta = { name: 'o', creationTimestamp: ago(45 * S) };
  const template = { spec: { containers: [{ name: 'a', image: 'img-a' }, { name: 'b', image: 'img-b' }] } };
  const cases: [string, string, string, Record<string, unknown>, unknown[]][] = [
    [
      'apps',
      'v1',
      'replicasets',
      { spec: { replicas: 2, selector: { matchLabels: { app: 'x' } }, template }, status: { replicas: 2, readyReplicas: 1 } },
      ['o', 2, 2, 1, '45s', 'a,b', 'img-a,img-b', 'app=x'],
    ],
    ['apps', 'v1', 'statefulsets', { spec: { replicas: 3, template }, status: { readyReplicas: 2 } }, ['o', '2/3', '45s', 'a,b', 'img-a,img-b']],
    ['apps', 'v1', 'statefulsets', { spec: { template } }, ['o', '0/1', '45s', 'a,b', 'img-a,img-b']],
    ['policy', 'v1', 'poddisruptionbudgets', { spec: { minAvailable: 2 }, status: { disruptionsAllowed: 1 } }, ['o', '2', 'N/A', 1, '45s']],
    ['policy', 'v1', 'poddisruptionbudgets', { spec: { maxUnavailable: '25%' } }, ['o', 'N/A', '25%', 0, '45s']],
    [
      'autoscaling',
      'v2',
      'horizontalpodautoscalers',
      {
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'web' },
          minReplicas: 1,
          maxReplicas: 5,
          metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }],
        },
        status: { currentReplicas: 2, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40 } } }] },
      },
      ['o', 'Deployment/web', 'cpu: 40%/80%', '1', 5, 2, '45s'],
    ],
    [
      'autoscaling',
      'v2',
      'horizontalpodautoscalers',
      {
        spec: {
          scaleTargetRef: { kind: 'Deployment', name: 'web' },
          maxReplicas: 5,
          metrics: [
            { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
            { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '100Mi' } } },
            { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '10' } } },
          ],
        },
      },
      ['o', 'Deployment/web', 'cpu: <unknown>/80%, memory: <unknown>/100Mi + 1 more...', '<unset>', 5, 0, '45s'],
    ],
    [
      'autoscaling',
      'v1',
      'horizontalpodautoscalers',
      { spec: { scaleTargetRef: { kind: 'Deployment', name: 'web' }, minReplicas: 2, maxReplicas: 4, targetCPUUtilizationPercentage: 50 }, status: { currentReplicas: 2 } },
      ['o', 'Deployment/web', 'cpu: <unknown>/50%', '2', 4, 2, '45s'],
    ],
    [
      'networking.k8s.io',
      'v1',
      'ingresses',
      { spec: { ingressClassName: 'nginx', rules: [{ host: 'a.example' }, {}, { host: 'b.example' }], tls: [{ hosts: ['a.example'] }] }, status: { loadBalancer: { ingress: [{ ip: '10.0.0.9' }] } } },
      ['o', 'nginx', 'a.example,b.example', '10.0.0.9', '80, 443', '45s'],
    ],
    ['networking.k8s.io', 'v1', 'ingresses', { spec: {} }, ['o', '<none>', '*', '', '80', '45s']],
    ['networking.k8s.io', 'v1', 'ingressclasses', { spec: { controller: 'k8s.io/ingress-nginx', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } }, ['o', 'k8s.io/ingress-nginx', 'IngressParameters.k8s.example.com/p', '45s']],
    ['networking.k8s.io', 'v1', 'networkpolicies', { spec: { podSelector: {} } }, ['o', '<none>', '45s']],
    ['networking.k8s.io', 'v1', 'networkpolicies', { spec: { podSelector: { matchLabels: { role: 'db' } } } }, ['o', 'role=db', '45s']],
    [
      'discovery.k8s.io',
      'v1',
      'endpointslices',
      { addressType: 'IPv4', ports: [{ port: 80 }, { name: 'metrics' }, {}, { port: 1 }], endpoints: [{ addresses: ['10.1.0.1'] }, { addresses: ['10.1.0.2'] }] },
      ['o', 'IPv4', '80,metrics,* + 1 more...', '10.1.0.1,10.1.0.2', '45s'],
    ],
    ['discovery.k8s.io', 'v1', 'endpointslices', { addressType: 'IPv4', endpoints: [] }, ['o', 'IPv4', '<unset>', '<unset>', '45s']],
  ];
  for (const [g, v, p, body, want] of cases) assert.deepEqual(rowFor(res(g, v, p), { metadata: meta, ...body }, NOW), want, `${p} ${JSON.stringify(body)}`);
});

test('nodes: status, roles and wide columns', () => {
  const nodes = res('', 'v1', 'nodes');
  const node = {
    metadata: { name: 'n1', creationTimestamp: ago(10 * D), labels: { 'node-role.kubernetes.io/control-plane': '', 'kubernetes.io/role': 'worker' } },
    spec: { unschedulable: true },
    status: {
      conditions: [{ type: 'Ready', status: 'True' }],
      addresses: [{ type: 'InternalIP', address: '192.168.1.5' }, { type: 'Hostname', address: 'n1' }],
      nodeInfo: { kubeletVersion: 'v1.32.0', osImage: 'Debian', kernelVersion: '6.1', containerRuntimeVersion: 'kubelite://0.1' },
    },
  };
  assert.deepEqual(rowFor(nodes, node, NOW), ['n1', 'Ready,SchedulingDisabled', 'control-plane,worker', '10d', 'v1.32.0', '192.168.1.5', '<none>', 'Debian', '6.1', 'kubelite://0.1']);
  assert.deepEqual(rowFor(nodes, { metadata: { name: 'n2' } }, NOW), ['n2', 'Unknown', '<none>', '<unknown>', '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  assert.equal(rowFor(nodes, { metadata: { name: 'n3' }, status: { conditions: [{ type: 'Ready', status: 'Unknown' }] } }, NOW)[1], 'NotReady');
});

test('events: core and events.k8s.io print the same columns', () => {
  const core = {
    metadata: { name: 'web.17a', namespace: 'default', creationTimestamp: ago(3 * M) },
    involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{app}' },
    reason: 'Pulled',
    message: ' Container image pulled \n',
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: ago(3 * M),
    lastTimestamp: ago(20 * S),
    count: 4,
    type: 'Normal',
  };
  const want = ['20s', 'Normal', 'Pulled', 'pod/web', 'spec.containers{app}', 'kubelet, n1', 'Container image pulled', '3m', 4, 'web.17a'];
  assert.deepEqual(columnsFor(res('', 'v1', 'events')).map((c) => c.name), ['Last Seen', 'Type', 'Reason', 'Object', 'Subobject', 'Source', 'Message', 'First Seen', 'Count', 'Name']);
  assert.deepEqual(rowFor(res('', 'v1', 'events'), core, NOW), want);
  const modern = {
    apiVersion: 'events.k8s.io/v1',
    metadata: { name: 'web.17b', namespace: 'default' },
    regarding: { kind: 'Deployment', name: 'web' },
    reason: 'ScalingReplicaSet',
    note: 'Scaled up',
    reportingController: 'deployment-controller',
    eventTime: ago(90 * S),
    type: 'Normal',
  };
  assert.deepEqual(rowFor(res('events.k8s.io', 'v1', 'events'), modern, NOW), ['90s', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up', '90s', 1, 'web.17b']);
  const series = { ...modern, series: { count: 7, lastObservedTime: ago(5 * S) } };
  assert.deepEqual(rowFor(res('events.k8s.io', 'v1', 'events'), series, NOW).slice(0, 1).concat(rowFor(res('events.k8s.io', 'v1', 'events'), series, NOW)[8]), ['5s', 7]);
  assert.equal(rowFor(res('', 'v1', 'events'), { metadata: { name: 'e' }, involvedObject: { kind: 'Node' } }, NOW)[3], 'node');
});

test('buildTable assembles a meta.k8s.io/v1 Table with row objects per includeObject', () => {
  const { deployment } = seedObjects();
  const deployments = res('apps', 'v1', 'deployments');
  const t = buildTable(deployments, [deployment], { now: NOW, listMeta: { resourceVersion: '99', continue: 'tok' } });
  assert.equal(t.kind, 'Table');
  assert.equal(t.apiVersion, 'meta.k8s.io/v1');
  assert.deepEqual(t.metadata, { resourceVersion: '99', continue: 'tok' });
  assert.deepEqual(t.columnDefinitions, columnsFor(deployments));
  assert.equal(t.rows.length, 1);
  assert.deepEqual(t.rows[0].cells, rowFor(deployments, deployment, NOW));
  assert.deepEqual(t.rows[0].object, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: deployment.metadata });

  assert.equal(buildTable(deployments, [deployment], { now: NOW, includeObject: 'None' }).rows[0].object, null);
  assert.equal(buildTable(deployments, [deployment], { now: NOW, includeObject: 'Object' }).rows[0].object, deployment);
  assert.deepEqual(buildTable(deployments, [], { now: NOW }).rows, []);
  assert.deepEqual(buildTable(deployments, [], { now: NOW }).metadata, {});
  assert.equal(buildTable(deployments, [], { now: NOW, noHeaders: true }).columnDefinitions, null);
  assert.throws(
    () => buildTable(deployments, [], { includeObject: 'Everything' as never }),
    (e: unknown) => e instanceof StatusError && e.code === 400 && e.message === 'unrecognized includeObject value: "Everything"',
  );
  const json = JSON.parse(JSON.stringify(buildTable(res('', 'v1', 'pods'), [{ metadata: { name: 'p' }, status: { phase: 'Succeeded' } }], { now: NOW })));
  assert.deepEqual(json.rows[0].conditions, [{ type: 'Completed', status: 'True', reason: 'Succeeded', message: 'The pod has completed successfully.' }]);
});
