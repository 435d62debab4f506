/**
 * Services whose backends are kubelite itself rather than pods (`kube-system/kube-dns`,
 * `kube-system/ingress-kubelite`): the Service has no selector, so no controller writes its
 * endpoints; the component that serves it writes one Endpoints object and one EndpointSlice
 * pointing at the address and ports it really listens on, as kube-apiserver does for
 * `default/kubernetes`. The Endpoints carry `skip-mirror` and the slice our own `managed-by`,
 * so neither the mirroring nor the EndpointSlice controller touches them.
 *
 * `selfEndpoints` is pure; `publishSelfService` applies: it creates the Service only when missing
 * (an existing one keeps its spec: users may have changed it) and converges the endpoints on
 * every start, so a restarted component on another port or address takes them over.
 */
import { clone, type KObject } from '../api/types.js';
import type { Registry } from '../apiserver/registry/index.js';
import { internalContext } from '../apiserver/registry/strategy.js';
import { StatusError } from '../apiserver/errors.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

export interface SelfEndpointsTarget {
  namespace: string;
  name: string;
  labels: Record<string, string>;
  /** The slice's `managed-by` and the writer's field manager. */
  manager: string;
  /** Where the component listens (the node's address; loopback is allowed). */
  address: string;
  ports: { name: string; port: number; protocol: 'TCP' | 'UDP' }[];
  /** The node it runs on (endpoint nodeName). */
  nodeName?: string;
}

/** The Endpoints and EndpointSlice for `t` (no I/O). */
export function selfEndpoints(t: SelfEndpointsTarget): { endpoints: KObject; slice: KObject } {
  const node = t.nodeName ? { nodeName: t.nodeName } : {};
  const endpoints: KObject = {
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: t.name, namespace: t.namespace, labels: { ...t.labels, [SKIP_MIRROR_LABEL]: 'true' } },
    subsets: [{ addresses: [{ ip: t.address, ...node }], ports: t.ports.map((p) => ({ ...p })) }],
  };
  const slice: KObject = {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name: t.name, namespace: t.namespace, labels: { ...t.labels, [SERVICE_NAME_LABEL]: t.name, [MANAGED_BY_LABEL]: t.manager } },
    addressType: 'IPv4',
    endpoints: [{ addresses: [t.address], conditions: { ready: true, serving: true, terminating: false }, ...node }],
    ports: t.ports.map((p) => ({ ...p })),
  };
  return { endpoints, slice };
}

/**
 * Creates `want.service` if missing, then converges the Endpoints and EndpointSlice. The
 * endpoint writes skip validation: it refuses loopback addresses (pods could never reach
 * them), yet a component on 127.0.0.1 (no pod network) is still right for the node itself.
 */
export async function publishSelfService(registry: Registry, want: { service: KObject; endpoints: KObject; slice: KObject }, manager: string): Promise<void> {
  const ns = want.service.metadata.namespace!;
  const name = want.service.metadata.name!;
  const ctx = internalContext(manager);
  const trusted = { ...ctx, skipValidation: true };
  const services = registry.must('', 'services');
  try {
    await services.get(ns, name);
  } catch (err) {
    if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
    try {
      await services.create(ns, want.service, ctx);
    } catch (e) {
      if (!(e instanceof StatusError) || e.reason !== 'AlreadyExists') throw e;
    }
  }
  await registry.must('', 'endpoints').guaranteedUpdate(ns, name, (live) => {
    const next = live ? clone(live) : clone(want.endpoints);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.endpoints.metadata.labels };
    next.subsets = want.endpoints.subsets;
    return next;
  }, trusted, { allowCreate: true });
  await registry.must('discovery.k8s.io', 'endpointslices').guaranteedUpdate(ns, name, (live) => {
    const next = live ? clone(live) : clone(want.slice);
    next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.slice.metadata.labels };
    next.addressType = want.slice.addressType;
    next.endpoints = want.slice.endpoints;
    next.ports = want.slice.ports;
    return next;
  }, trusted, { allowCreate: true });
}
