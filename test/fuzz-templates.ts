/**
 * Valid-looking objects of every served kind for the fuzz test: the starting points that
 * mutations, wrong kinds and truncation are applied to, so fuzzed requests reach validation and
 * storage code instead of failing at the first type check.
 */
import { apiVersionOf, type ResourceInfo } from '../src/api/resources.js';

export type Json = null | boolean | number | string | Json[] | { [k: string]: Json };

/** Templates: a valid-looking object per kind, so mutations reach deep validation paths. */
export function template(res: ResourceInfo, name: string): Record<string, Json> {
  const meta = { name, labels: { app: 'fuzz', 'example.com/tier': 'x' }, annotations: { note: 'n' } };
  const base = { apiVersion: apiVersionOf(res), kind: res.kind, metadata: meta };
  const podSpec = {
    containers: [
      {
        name: 'c',
        image: 'nginx:1',
        ports: [{ containerPort: 80, protocol: 'TCP', name: 'http' }],
        env: [{ name: 'A', value: 'b' }],
        resources: { limits: { cpu: '100m', memory: '64Mi' }, requests: { cpu: '10m' } },
        args: ['a'],
      },
    ],
    restartPolicy: 'Always',
  };
  const workload = {
    replicas: 2,
    selector: { matchLabels: { app: 'fuzz' }, matchExpressions: [{ key: 'k', operator: 'In', values: ['v'] }] },
    template: { metadata: { labels: { app: 'fuzz', k: 'v' } }, spec: podSpec },
  };
  switch (res.kind) {
    case 'ConfigMap':
      return { ...base, data: { k: 'v', 'a.b': 'c' }, binaryData: { bin: 'aGVsbG8=' } };
    case 'Secret':
      return { ...base, type: 'Opaque', data: { k: 'dmFs' }, stringData: { s: 't' } };
    case 'Pod':
      return { ...base, spec: podSpec };
    case 'Service':
      return { ...base, spec: { type: 'ClusterIP', selector: { app: 'fuzz' }, ports: [{ name: 'http', port: 80, targetPort: 8080, protocol: 'TCP' }] } };
    case 'Deployment':
      return { ...base, spec: { ...workload, strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } } } };
    case 'ReplicaSet':
      return { ...base, spec: workload };
    case 'StatefulSet':
      return { ...base, spec: { ...workload, serviceName: 'svc' } };
    case 'Namespace':
      return { ...base, spec: { finalizers: ['kubernetes'] } };
    case 'Node':
      return { ...base, spec: { podCIDR: '10.0.0.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }] } };
    case 'Endpoints':
      return { ...base, subsets: [{ addresses: [{ ip: '10.0.0.1' }], ports: [{ port: 80, name: 'http' }] }] };
    case 'EndpointSlice':
      return { ...base, addressType: 'IPv4', endpoints: [{ addresses: ['10.0.0.1'], conditions: { ready: true } }], ports: [{ port: 80 }] };
    case 'Event':
      return res.group
        ? { ...base, reason: 'R', note: 'n', type: 'Normal', eventTime: '2024-01-01T00:00:00.000000Z', reportingController: 'c', reportingInstance: 'i', action: 'A', regarding: { kind: 'Pod', name: 'p' } }
        : { ...base, reason: 'R', message: 'm', type: 'Normal', involvedObject: { kind: 'Pod', name: 'p' }, count: 1 };
    case 'Ingress':
      return { ...base, spec: { rules: [{ host: 'a.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 's', port: { number: 80 } } } }] } }] } };
    case 'IngressClass':
      return { ...base, spec: { controller: 'example.com/ingress' } };
    case 'NetworkPolicy':
      return { ...base, spec: { podSelector: { matchLabels: { app: 'fuzz' } }, policyTypes: ['Ingress'], ingress: [{ ports: [{ port: 80 }] }] } };
    case 'HorizontalPodAutoscaler':
      return res.version === 'v1'
        ? { ...base, spec: { scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' }, minReplicas: 1, maxReplicas: 3, targetCPUUtilizationPercentage: 50 } }
        : {
            ...base,
            spec: {
              scaleTargetRef: { kind: 'Deployment', name: 'd', apiVersion: 'apps/v1' },
              minReplicas: 1,
              maxReplicas: 3,
              metrics: [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 50 } } }],
            },
          };
    case 'PodDisruptionBudget':
      return { ...base, spec: { minAvailable: 1, selector: { matchLabels: { app: 'fuzz' } } } };
    case 'Lease':
      return { ...base, spec: { holderIdentity: 'h', leaseDurationSeconds: 15, renewTime: '2024-01-01T00:00:00.000000Z' } };
    case 'ServiceAccount':
      return { ...base, secrets: [{ name: 's' }], automountServiceAccountToken: false };
    case 'Binding':
      return { ...base, target: { apiVersion: 'v1', kind: 'Node', name: 'node-1' } };
    default:
      return base;
  }
}

export function validObject(res: ResourceInfo, name: string): Record<string, Json> {
  return template(res, name);
}
