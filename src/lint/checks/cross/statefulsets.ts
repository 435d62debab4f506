/**
 * StatefulSet → governing Service checks. A StatefulSet's pods get stable DNS names
 * (`pod-0.<serviceName>.<ns>.svc`) only through a headless Service (clusterIP: None) of that name
 * that selects them; without it the names never resolve.
 */
import { at, namespaceOf, podTemplateOf, str } from '../../objects.js';
import type { Check, CheckOrigin } from '../../types.js';
import { serviceSelector } from './common.js';

const ORIGIN: CheckOrigin = { kubeScore: ['statefulset-has-servicename'], article: 'headless Services for StatefulSets' };

export const statefulsetServiceMissing: Check = {
  id: 'statefulset-service-missing',
  severity: 'warning',
  description: 'A StatefulSet whose serviceName names no Service in its namespace gives its pods no stable DNS names.',
  kinds: ['StatefulSet'],
  scope: 'cross',
  admission: true,
  origin: ORIGIN,
  run(sts, ctx) {
    const name = str(at(sts, ['spec', 'serviceName']));
    if (!name) return [];
    const ns = namespaceOf(sts);
    if (ctx.index.get('Service', ns, name)) return [];
    return [{
      message: `serviceName '${name}' names no Service in namespace ${ns}; create a headless Service '${name}' (clusterIP: None) selecting the pods`,
      path: ['spec', 'serviceName'],
    }];
  },
};

export const statefulsetServiceNotHeadless: Check = {
  id: 'statefulset-service-not-headless',
  severity: 'warning',
  description: "A StatefulSet's governing Service must be headless (clusterIP: None) and select its pods, or per-pod DNS records are not created.",
  kinds: ['StatefulSet'],
  scope: 'cross',
  admission: true,
  origin: ORIGIN,
  run(sts, ctx) {
    const name = str(at(sts, ['spec', 'serviceName']));
    if (!name) return [];
    const svc = ctx.index.get('Service', namespaceOf(sts), name);
    if (!svc) return [];
    if (str(at(svc, ['spec', 'clusterIP'])) !== 'None') {
      return [{ message: `Service '${name}' is not headless; set clusterIP: None on it (a separate ClusterIP Service can serve clients)`, path: ['spec', 'serviceName'] }];
    }
    const sel = serviceSelector(svc);
    const labels = podTemplateOf(sts)?.labels ?? {};
    if (sel && !Object.entries(sel).every(([k, v]) => labels[k] === v)) {
      return [{ message: `headless Service '${name}' does not select this StatefulSet's pods; make its selector match the pod template labels`, path: ['spec', 'serviceName'] }];
    }
    return [];
  },
};

export const STATEFULSET_CHECKS: readonly Check[] = [statefulsetServiceMissing, statefulsetServiceNotHeadless];
