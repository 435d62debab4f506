/**
 * The `kube-system/ingress-kubelite` Service: how the ingress data plane gets its cluster-facing
 * address. It is `type: LoadBalancer` (ports `http` 80/TCP and `https` 443/TCP), so our ServiceLB
 * controller gives it an address from the LB pool and the proxy carries that address's traffic to
 * the Service's endpoints. The data plane is not a pod: the Service has no selector and we write
 * its Endpoints and EndpointSlice ourselves, pointing at where the data plane really listens
 * (like `kube-system/kube-dns`, src/dns/kubedns.ts). The address the LB controller writes to the
 * Service's status is what every served Ingress shows in `status.loadBalancer` (status.ts).
 *
 * `desiredIngressService` is pure; `ensureIngressService` creates the Service if missing (an
 * existing one keeps its spec: users may have changed it) and converges the endpoints on every
 * start, so a restarted data plane on other ports takes them over.
 */
import type { KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { publishSelfService, selfEndpoints } from '../client/selfservice.js';

export const INGRESS_SERVICE_NAMESPACE = 'kube-system';
export const INGRESS_SERVICE_NAME = 'ingress-kubelite';
/** The EndpointSlice manager (so the slice controllers leave our slice alone). */
export const INGRESS_SLICE_MANAGER = 'kubelite-ingress';
const LABELS = { 'app.kubernetes.io/name': 'ingress-kubelite', 'app.kubernetes.io/component': 'controller' };

export interface IngressServiceTarget {
  /** Where the data plane listens (the node's address; loopback is allowed). */
  address: string;
  httpPort: number;
  httpsPort: number;
  /** The node the data plane runs on (endpoint nodeName). */
  nodeName?: string;
}

export interface IngressServiceObjects {
  service: KObject;
  endpoints: KObject;
  slice: KObject;
}

/** The Service, Endpoints and EndpointSlice for this target (no I/O). */
export function desiredIngressService(t: IngressServiceTarget): IngressServiceObjects {
  const epPorts = [
    { name: 'http', port: t.httpPort, protocol: 'TCP' as const },
    { name: 'https', port: t.httpsPort, protocol: 'TCP' as const },
  ];
  const service: KObject = {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: INGRESS_SERVICE_NAME, namespace: INGRESS_SERVICE_NAMESPACE, labels: { ...LABELS } },
    spec: {
      type: 'LoadBalancer',
      ports: [
        { name: 'http', port: 80, protocol: 'TCP', targetPort: t.httpPort, appProtocol: 'http' },
        { name: 'https', port: 443, protocol: 'TCP', targetPort: t.httpsPort, appProtocol: 'https' },
      ],
      externalTrafficPolicy: 'Cluster',
      sessionAffinity: 'None',
    },
  };
  const { endpoints, slice } = selfEndpoints({
    namespace: INGRESS_SERVICE_NAMESPACE, name: INGRESS_SERVICE_NAME, labels: LABELS, manager: INGRESS_SLICE_MANAGER,
    address: t.address, ports: epPorts, nodeName: t.nodeName,
  });
  return { service, endpoints, slice };
}

/** Creates the Service if missing (never overwrites it) and converges its Endpoints and EndpointSlice on `t`. */
export async function ensureIngressService(registry: Registry, t: IngressServiceTarget): Promise<void> {
  await publishSelfService(registry, desiredIngressService(t), INGRESS_SLICE_MANAGER);
}
