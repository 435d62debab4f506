/**
 * The `kube-system/kube-dns` Service as Kubernetes serves cluster DNS: the tenth address of the
 * service CIDR, ports 53/UDP (`dns`), 53/TCP (`dns-tcp`) and 9153/TCP (`metrics`), with the
 * labels kubeadm puts on it. Our DNS server is not a pod, so the Service has no selector and we
 * write its Endpoints and EndpointSlice ourselves (as the API server does for `kubernetes`),
 * pointing at the address and ports the server really listens on: the proxy then carries pod
 * traffic for 10.96.0.10:53 to it like to any other Service.
 *
 * `desiredKubeDns` is pure; `ensureKubeDns` applies it (create or converge, idempotent, run on
 * every start so a restarted server on another port or address takes over its endpoints).
 */
import { clone, type KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { internalContext } from '../apiserver/registry/strategy.js';
import { StatusError } from '../apiserver/errors.js';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
/** Who manages the EndpointSlice (so the slice controllers leave it alone). */
export const KUBE_DNS_SLICE_MANAGER = 'kubelite-dns';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

export interface KubeDnsTarget {
  /** The Service's ClusterIP (10.96.0.10 for the default service CIDR). */
  clusterIP: string;
  /** Where our DNS server listens (UDP and TCP on one port), and its metrics port. */
  address: string;
  dnsPort: number;
  metricsPort?: number;
  /** The node the server runs on (endpoint nodeName). */
  nodeName?: string;
}

export interface KubeDnsObjects {
  service: KObject;
  endpoints: KObject;
  slice: KObject;
}

const LABELS = { 'k8s-app': 'kube-dns', 'kubernetes.io/cluster-service': 'true', 'kubernetes.io/name': 'CoreDNS' };

/** The Service, Endpoints and EndpointSlice for this target (no I/O). */
export function desiredKubeDns(t: KubeDnsTarget): KubeDnsObjects {
  const metricsPort = t.metricsPort;
  const svcPorts: Record<string, unknown>[] = [
    { name: 'dns', port: 53, protocol: 'UDP', targetPort: t.dnsPort },
    { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: t.dnsPort },
    { name: 'metrics', port: 9153, protocol: 'TCP', targetPort: metricsPort ?? 9153 },
  ];
  const epPorts: Record<string, unknown>[] = [
    { name: 'dns', port: t.dnsPort, protocol: 'UDP' },
    { name: 'dns-tcp', port: t.dnsPort, protocol: 'TCP' },
    ...(metricsPort ? [{ name: 'metrics', port: metricsPort, protocol: 'TCP' }] : []),
  ];
  const service: KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: KUBE_DNS_NAME, namespace: KUBE_DNS_NAMESPACE, labels: { ...LABELS }, annotations: { 'prometheus.io/port': '9153', 'prometheus.io/scrape': 'true' } },
    spec: {
      type: 'ClusterIP',
      clusterIP: t.clusterIP,
      clusterIPs: [t.clusterIP],
      ports: svcPorts,
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
  };
  const endpoints: KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: KUBE_DNS_NAME, namespace: KUBE_DNS_NAMESPACE, labels: { ...LABELS, [SKIP_MIRROR_LABEL]: 'true' } },
    subsets: [{ addresses: [{ ip: t.address, ...(t.nodeName ? { nodeName: t.nodeName } : {}) }], ports: epPorts }],
  };
  const slice: KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: KUBE_DNS_NAME, namespace: KUBE_DNS_NAMESPACE, labels: { ...LABELS, [SERVICE_NAME_LABEL]: KUBE_DNS_NAME, [MANAGED_BY_LABEL]: KUBE_DNS_SLICE_MANAGER } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [t.address], conditions: { ready: true, serving: true, terminating: false }, ...(t.nodeName ? { nodeName: t.nodeName } : {}) }],
    ports: epPorts,
  };
  return { service, endpoints, slice };
}

/**
 * Creates the kube-dns Service if missing (an existing one keeps its spec: users may have
 * changed it, as with kubeadm's), then converges its Endpoints and EndpointSlice on `t`.
 * A ClusterIP already taken by another Service is reported as the API server's Invalid error.
 */
export async function ensureKubeDns(registry: Registry, t: KubeDnsTarget): Promise<void> {
  const want = desiredKubeDns(t);
  const ctx = internalContext('kubelite-dns');
  // Endpoint validation refuses loopback addresses (pods could never reach them); a server on
  // 127.0.0.1 (no pod network namespaces) is still the right answer for the node itself, so our
  // own endpoints skip it, as the API server's `kubernetes` endpoints do.
  const trusted = { ...ctx, skipValidation: true };
  const services = registry.must('', 'services');
  try {
    await services.get(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME);
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
    try {
      await services.create(KUBE_DNS_NAMESPACE, want.service, ctx);
    } catch (e) {
      if (!(e instanceof StatusError) || e.reason !== 'AlreadyExists') throw e;
    }
  }
  await registry.must('', 'endpoints').guaranteedUpdate(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, (live) => {
    const next = live ? clone(live) : clone(want.endpoints);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.endpoints.metadata.labels };
    next.subsets = want.endpoints.subsets;
    return next;
  }, trusted, { allowCreate: true });
  await registry.must('discovery.k8s.io', 'endpointslices').guaranteedUpdate(KUBE_DNS_NAMESPACE, KUBE_DNS_NAME, (live) => {
    const next = live ? clone(live) : clone(want.slice);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.slice.metadata.labels };
    next.addressType = want.slice.addressType;
    next.endpoints = want.slice.endpoints;
    next.ports = want.slice.ports;
    return next;
  }, trusted, { allowCreate: true });
}
