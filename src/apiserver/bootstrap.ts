/**
 * What every cluster has from its first start: the four system namespaces and the
 * `default/kubernetes` Service (first IP of the service CIDR) with Endpoints and an
 * EndpointSlice pointing at this API server. Idempotent: runs on every start and only fills
 * in what is missing or stale.
 */
import type { KObject } from '../api/types.js';
import { StatusError } from './errors.js';
import type { Registry } from './registry/index.js';
import { internalContext } from './registry/strategy.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The n-th address of an IPv4 CIDR (n=1: the first usable one). */
export function nthAddress(cidr: string, n: number): string {
  const [ip] = cidr.split('/');
  const num = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => (Math.floor(num / 2 ** s) & 255).toString()).join('.');
}

async function ensure(registry: Registry, group: string, plural: string, ns: string | undefined, obj: KObject, update: boolean): Promise<void> {
  const store = registry.must(group, plural);
  const ctx = { ...internalContext('kube-apiserver'), skipValidation: plural === 'endpoints' || plural === 'endpointslices' };
  try {
    const live = await store.get(ns, obj.metadata.name!);
    if (update) {
      const next = { ...live, ...obj, metadata: { ...live.metadata, ...obj.metadata } } as KObject;
      delete next.metadata.resourceVersion;
      await store.update(ns, obj.metadata.name!, next, ctx);
    }
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
    try {
      await store.create(ns, obj, ctx);
    } catch (e) {
      if (!(e instanceof StatusError) || e.reason !== 'AlreadyExists') throw e;
    }
  }
}

export async function bootstrap(registry: Registry, opts: { serviceCIDR: string; advertiseAddress: string; port: number }): Promise<void> {
  for (const name of SYSTEM_NAMESPACES) {
    await ensure(registry, '', 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } }, false);
  }
  const clusterIP = nthAddress(opts.serviceCIDR, 1);
  await ensure(registry, '', 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.port }],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
  }, false);
  await ensure(registry, '', 'endpoints', 'default', {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'kubernetes', labels: { 'endpointslice.kubernetes.io/skip-mirror': 'true' } },
    subsets: [{ addresses: [{ ip: opts.advertiseAddress }], ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }] }],
  }, true);
  await ensure(registry, 'discovery.k8s.io', 'endpointslices', 'default', {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: 'kubernetes', labels: { 'kubernetes.io/service-name': 'kubernetes', 'endpointslice.kubernetes.io/managed-by': 'endpointslicemirroring-controller.k8s.io' } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [opts.advertiseAddress], conditions: { ready: true } }],
    ports: [{ name: 'https', port: opts.port, protocol: 'TCP' }],
  }, true);
}
