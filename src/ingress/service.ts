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
import { clone, type KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { internalContext } from '../apiserver/registry/strategy.js';
import { StatusError } from '../apiserver/errors.js';

export const INGRESS_SERVICE_NAMESPACE = 'kube-system';
export const INGRESS_SERVICE_NAME = 'ingress-kubelite';
/** The EndpointSlice manager (so the slice controllers leave our slice alone). */
export const INGRESS_SLICE_MANAGER = 'kubelite-ingress';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';
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
    { name: 'http', port: t.httpPort, protocol: 'TCP' },
    { name: 'https', port: t.httpsPort, protocol: 'TCP' },
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
  const endpoints: KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: INGRESS_SERVICE_NAME, namespace: INGRESS_SERVICE_NAMESPACE, labels: { ...LABELS, [SKIP_MIRROR_LABEL]: 'true' } },
    subsets: [{ addresses: [{ ip: t.address, ...(t.nodeName ? { nodeName: t.nodeName } : {}) }], ports: epPorts }],
  };
  const slice: KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: INGRESS_SERVICE_NAME,
      namespace: INGRESS_SERVICE_NAMESPACE,
      labels: { ...LABELS, [SERVICE_NAME_LABEL]: INGRESS_SERVICE_NAME, [MANAGED_BY_LABEL]: INGRESS_SLICE_MANAGER },
    },
    addressType: 'IPv4',
    endpoints: [{ addresses: [t.address], conditions: { ready: true, serving: true, terminating: false }, ...(t.nodeName ? { nodeName: t.nodeName } : {}) }],
    ports: epPorts,
  };
  return { service, endpoints, slice };
}

/** Creates the Service if missing (never overwrites it) and converges its Endpoints and EndpointSlice on `t`. */
export async function ensureIngressService(registry: Registry, t: IngressServiceTarget): Promise<void> {
  const want = desiredIngressService(t);
  const ctx = internalContext(INGRESS_SLICE_MANAGER);
  // Endpoint validation refuses loopback addresses; a data plane on 127.0.0.1 (no pod network)
  // is still the right target for the node itself, as for kube-dns.
  const trusted = { ...ctx, skipValidation: true };
  const services = registry.must('', 'services');
  try {
    await services.get(INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME);
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
    try {
      await services.create(INGRESS_SERVICE_NAMESPACE, want.service, ctx);
    } catch (e) {
      if (!(e instanceof StatusError) || e.reason !== 'AlreadyExists') throw e;
    }
  }
  await registry.must('', 'endpoints').guaranteedUpdate(INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME, (live) => {
    const next = live ? clone(live) : clone(want.endpoints);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.endpoints.metadata.labels };
    next.subsets = want.endpoints.subsets;
    return next;
  }, trusted, { allowCreate: true });
  await registry.must('discovery.k8s.io', 'endpointslices').guaranteedUpdate(INGRESS_SERVICE_NAMESPACE, INGRESS_SERVICE_NAME, (live) => {
    const next = live ? clone(live) : clone(want.slice);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.slice.metadata.labels };
    next.addressType = want.slice.addressType;
    next.endpoints = want.slice.endpoints;
    next.ports = want.slice.ports;
    return next;
  }, trusted, { allowCreate: true });
}
