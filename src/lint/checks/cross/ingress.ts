/**
 * Ingress → Service checks: every backend (rules[].http.paths[].backend and the default backend)
 * must name a Service of the Ingress's namespace, and a port that Service has (by number: a
 * spec.ports[].port; by name: a spec.ports[].name). Reads networking.k8s.io/v1 backends
 * (`service: {name, port: {number|name}}`) and the older v1beta1 shape (`serviceName`,
 * `servicePort`). Resource backends are skipped. ExternalName Services have no port list to check.
 */
import { arr, at, namespaceOf, rec, str } from '../../objects.js';
import type { Check, CheckContext, FieldPath, KObject } from '../../types.js';
import { intOrString } from './common.js';

interface Backend {
  service: string;
  port: number | string | undefined;
  /** Path of the backend object. */
  path: FieldPath;
  /** Path of the service name and port fields (for pointing at them). */
  namePath: FieldPath;
  portPath: FieldPath;
}

function backendAt(obj: KObject, path: FieldPath): Backend | undefined {
  const b = rec(at(obj, path));
  if (!b) return undefined;
  const svc = rec(b['service']);
  if (svc) {
    const name = str(svc['name']);
    if (!name) return undefined;
    const port = rec(svc['port']);
    const num = port?.['number'];
    const portName = str(port?.['name']);
    const value = typeof num === 'number' && num > 0 ? num : portName || undefined;
    const portPath = [...path, 'service', 'port', typeof value === 'number' ? 'number' : 'name'];
    return { service: name, port: value, path, namePath: [...path, 'service', 'name'], portPath };
  }
  const legacy = str(b['serviceName']);
  if (legacy) {
    return { service: legacy, port: intOrString(b['servicePort']), path, namePath: [...path, 'serviceName'], portPath: [...path, 'servicePort'] };
  }
  return undefined;
}

/** Every Service backend of an Ingress (default backend first, then rules in order). */
export function ingressBackends(ing: KObject): Backend[] {
  const out: Backend[] = [];
  for (const field of ['defaultBackend', 'backend']) {
    const b = backendAt(ing, ['spec', field]);
    if (b) out.push(b);
  }
  arr(at(ing, ['spec', 'rules'])).forEach((_r, i) => {
    arr(at(ing, ['spec', 'rules', i, 'http', 'paths'])).forEach((_p, j) => {
      const b = backendAt(ing, ['spec', 'rules', i, 'http', 'paths', j, 'backend']);
      if (b) out.push(b);
    });
  });
  return out;
}

const ORIGIN = { kubeScore: ['ingress-targets-service'], kubeLinter: ['dangling-ingress'], article: 'Ingress routes to Services' };

export const ingressBackendServiceMissing: Check = {
  id: 'ingress-backend-service-missing',
  severity: 'warning',
  description: 'An Ingress backend naming a Service that does not exist in its namespace answers 503 for its paths.',
  kinds: ['Ingress'],
  scope: 'cross',
  admission: true,
  origin: ORIGIN,
  run(ing, ctx) {
    const ns = namespaceOf(ing);
    return ingressBackends(ing)
      .filter((b) => !ctx.index.get('Service', ns, b.service))
      .map((b) => ({
        message: `backend Service '${b.service}' does not exist in namespace ${ns}; create it or fix the name`,
        path: b.namePath,
      }));
  },
};

function servicePorts(svc: KObject): { names: string[]; numbers: number[] } {
  const names: string[] = [];
  const numbers: number[] = [];
  for (const p of arr(at(svc, ['spec', 'ports']))) {
    const pr = rec(p);
    if (!pr) continue;
    const n = str(pr['name']);
    if (n) names.push(n);
    if (typeof pr['port'] === 'number') numbers.push(pr['port']);
  }
  return { names, numbers };
}

function portMissing(ctx: CheckContext, ns: string, b: Backend): string | undefined {
  const svc = ctx.index.get('Service', ns, b.service);
  if (!svc || b.port === undefined || str(at(svc, ['spec', 'type'])) === 'ExternalName') return undefined;
  const { names, numbers } = servicePorts(svc);
  if (typeof b.port === 'number' ? numbers.includes(b.port) : names.includes(b.port)) return undefined;
  const has = [...numbers.map(String), ...names.map((n) => `'${n}'`)].join(', ') || 'none';
  const what = typeof b.port === 'number' ? `port ${b.port}` : `a port named '${b.port}'`;
  return `Service '${b.service}' has no ${what} (it has: ${has}); use one of its ports`;
}

export const ingressBackendPortMissing: Check = {
  id: 'ingress-backend-port-missing',
  severity: 'error',
  description: 'An Ingress backend port (number or name) that its Service does not expose cannot be routed.',
  kinds: ['Ingress'],
  scope: 'cross',
  admission: true,
  origin: ORIGIN,
  run(ing, ctx) {
    const ns = namespaceOf(ing);
    const out = [];
    for (const b of ingressBackends(ing)) {
      const msg = portMissing(ctx, ns, b);
      if (msg) out.push({ message: msg, path: b.portPath });
    }
    return out;
  },
};

export const INGRESS_CHECKS: readonly Check[] = [ingressBackendServiceMissing, ingressBackendPortMissing];
