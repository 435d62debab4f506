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
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { publishSelfService, selfEndpoints } from '../client/selfservice.js';

export const KUBE_DNS_NAMESPACE = 'kube-system';
export const KUBE_DNS_NAME = 'kube-dns';
/** Who manages the EndpointSlice (so the slice controllers leave it alone). */
export const KUBE_DNS_SLICE_MANAGER = 'kubelite-dns';

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
  const epPorts: { name: string; port: number; protocol: 'TCP' | 'UDP' }[] = [
    { name: 'dns', port: t.dnsPort, protocol: 'UDP' },
    { name: 'dns-tcp', port: t.dnsPort, protocol: 'TCP' },
    ...(metricsPort ? [{ name: 'metrics', port: metricsPort, protocol: 'TCP' as const }] : []),
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
  const { endpoints, slice } = selfEndpoints({
    namespace: KUBE_DNS_NAMESPACE, name: KUBE_DNS_NAME, labels: LABELS, manager: KUBE_DNS_SLICE_MANAGER,
    address: t.address, ports: epPorts, nodeName: t.nodeName,
  });
  return { service, endpoints, slice };
}

/**
 * Creates the kube-dns Service if missing (an existing one keeps its spec: users may have
 * changed it, as with kubeadm's), then converges its Endpoints and EndpointSlice on `t`.
 * A ClusterIP already taken by another Service is reported as the API server's Invalid error.
 */
export async function ensureKubeDns(registry: Registry, t: KubeDnsTarget): Promise<void> {
  await publishSelfService(registry, desiredKubeDns(t), KUBE_DNS_SLICE_MANAGER);
}
