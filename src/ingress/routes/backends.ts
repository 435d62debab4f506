/**
 * Resolving an Ingress backend (`service: {name, port: {number | name}}` or `resource: {...}`)
 * to a `Backend`: the Service port's ready endpoints, taken straight from EndpointSlices (the
 * proxy balances over pod addresses itself, as ingress-nginx does, instead of going through
 * the Service's ClusterIP).
 *
 * Port resolution, as Kubernetes defines it: a port *name* selects the Service port with that
 * name; a port *number* selects the Service port whose `port` is that number. Either way the
 * Service port's name (empty for an unnamed port) selects the EndpointSlice port of the same
 * name, whose number is where the pods listen (targetPort already resolved per pod by the
 * EndpointSlice controller, named targetPorts included).
 *
 * A backend we cannot serve is never dropped: it resolves to `endpoints: []` with a `problem`
 * sentence (503 body and event text), so the route still exists and shadows shorter ones.
 * ExternalName Services are not proxied (ingress-nginx would proxy to the external name; we
 * answer 503 and say why).
 */
import { isObject, type KObject } from '../../api/types.js';
import type { Backend, Upstream } from '../types.js';

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';

/** Services by `namespace/name`, EndpointSlices by `namespace/serviceName`: built once per computation. */
export class BackendIndex {
  // Nested maps (namespace → name → ...) rather than "ns/name" keys: no string building per lookup.
  private readonly services = new Map<string, Map<string, KObject>>();
  private readonly slices = new Map<string, Map<string, KObject[]>>();

  constructor(services: KObject[], endpointSlices: KObject[]) {
    for (const s of services) inner(this.services, s.metadata.namespace ?? '').set(s.metadata.name ?? '', s);
    for (const sl of endpointSlices) {
      const svc = sl.metadata.labels?.[SERVICE_NAME_LABEL];
      if (!svc) continue;
      const byName = inner(this.slices, sl.metadata.namespace ?? '');
      const list = byName.get(svc);
      if (list) list.push(sl);
      else byName.set(svc, [sl]);
    }
  }

  /** Resolved backends by namespace + backend reference: many paths share one Service port. */
  private readonly resolved = new Map<string, Map<string, Map<number | string, Backend>>>();

  /**
   * Resolves `spec.rules[].http.paths[].backend` or `spec.defaultBackend` of an Ingress in `namespace`.
   * Results are memoized per index (one computation), so callers must treat them as read-only.
   */
  resolve(namespace: string, backend: unknown): Backend {
    if (!isObject(backend)) {
      return { kind: 'service', namespace, service: '', port: 0, endpoints: [], problem: 'the Ingress backend is empty' };
    }
    if (isObject(backend.resource)) {
      const r = backend.resource;
      const what = `${str(r.kind) || '?'}${r.apiGroup ? `.${str(r.apiGroup)}` : ''} "${str(r.name)}"`;
      return {
        kind: 'unsupported',
        namespace,
        message: `resource backend ${what} in namespace ${namespace} is not supported by this ingress controller`,
      };
    }
    const service = isObject(backend.service) ? backend.service : {};
    const name = str(service.name);
    const portRef = isObject(service.port) ? service.port : {};
    const port: number | string =
      typeof portRef.number === 'number' && portRef.number > 0 ? portRef.number : str(portRef.name);
    let byPort = inner(this.resolved, namespace).get(name);
    if (!byPort) {
      byPort = new Map();
      inner(this.resolved, namespace).set(name, byPort);
    }
    let out = byPort.get(port);
    if (!out) {
      out = this.resolveService(namespace, name, port);
      byPort.set(port, out);
    }
    return out;
  }

  private resolveService(namespace: string, name: string, port: number | string): Backend {
    const ref = { namespace, service: name, port };
    if (!name) return failed(ref, 'the Ingress backend names no service');
    if (port === '' || port === 0) {
      return failed(ref, `the Ingress backend for service ${namespace}/${name} names no port`);
    }
    const svc = this.services.get(namespace)?.get(name);
    if (!svc) return failed(ref, `service ${namespace}/${name} not found`);
    const spec = isObject(svc.spec) ? svc.spec : {};
    if (spec.type === 'ExternalName') {
      return failed(ref, `service ${namespace}/${name} is of type ExternalName (${str(spec.externalName)}), which this ingress controller does not proxy to`,
      );
    }
    let svcPort: Record<string, unknown> | undefined;
    for (const p of Array.isArray(spec.ports) ? spec.ports : []) {
      if (isObject(p) && (typeof port === 'number' ? p.port === port : p.name === port)) {
        svcPort = p;
        break;
      }
    }
    if (!svcPort) {
      const which = typeof port === 'number' ? String(port) : `named "${port}"`;
      return failed(ref, `service ${namespace}/${name} has no port ${which}`);
    }
    const portName = str(svcPort.name);

    const seen = new Set<string>();
    const endpoints: Upstream[] = [];
    for (const slice of this.slices.get(namespace)?.get(name) ?? []) {
      if (slice.metadata.deletionTimestamp) continue;
      let slicePort: number | undefined;
      for (const p of Array.isArray(slice.ports) ? slice.ports : []) {
        if (isObject(p) && str(p.name) === portName && typeof p.port === 'number') {
          slicePort = p.port;
          break;
        }
      }
      if (slicePort === undefined) continue;
      for (const ep of Array.isArray(slice.endpoints) ? slice.endpoints : []) {
        if (!isObject(ep)) continue;
        // Unset `ready` means ready (EndpointSlice API contract).
        if (isObject(ep.conditions) && ep.conditions.ready === false) continue;
        for (const address of Array.isArray(ep.addresses) ? ep.addresses : []) {
          if (typeof address !== 'string' || !address) continue;
          const k = `${address}|${slicePort}`;
          if (seen.has(k)) continue;
          seen.add(k);
          endpoints.push({ address, port: slicePort });
        }
      }
    }
    if (endpoints.length > 1) endpoints.sort(compareUpstreams);
    if (endpoints.length === 0) {
      const which = portName || String(svcPort.port);
      return failed(ref, `no ready endpoints for service ${namespace}/${name} port ${which}`);
    }
    return { kind: 'service', namespace, service: name, port, endpoints };
  }
}

function inner<V>(outer: Map<string, Map<string, V>>, key: string): Map<string, V> {
  let m = outer.get(key);
  if (!m) {
    m = new Map();
    outer.set(key, m);
  }
  return m;
}

function failed(ref: { namespace: string; service: string; port: number | string }, problem: string): Backend {
  return { kind: 'service', ...ref, endpoints: [], problem };
}

function compareUpstreams(a: Upstream, b: Upstream): number {
  return a.address < b.address ? -1 : a.address > b.address ? 1 : a.port - b.port;
}

function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

/** Whether a resolved backend is missing for a reason worth an event (not merely "no ready endpoints yet"). */
export function backendWarning(b: Backend): string | undefined {
  if (b.kind === 'unsupported') return b.message;
  if (b.problem && !b.problem.startsWith('no ready endpoints')) return b.problem;
  return undefined;
}
