/**
 * `readiness-probe-targeted`: kube-score's pod-probes rule — a readiness probe matters when a
 * Service sends traffic to the pod (without one, a pod gets traffic as soon as its containers
 * start, before the app is ready, and a broken rollout is not held back).
 *
 * Distinct from the single-object readiness check (which asks for readiness on every serving
 * kind regardless of Services): this one names the Services, so users who disable the blanket
 * rule still get the targeted one. A pod is ready when all its containers are; containers without
 * a probe count as ready once running, so one probed container is enough (kube-score agrees).
 */
import { SERVING_KINDS, containersOf, hasControllerOwner, podTemplateOf, rec } from '../../objects.js';
import type { Check } from '../../types.js';
import { describe, listNames } from './common.js';
import { servicesSelecting } from './lookup.js';

export const readinessProbeTargeted: Check = {
  id: 'readiness-probe-targeted',
  severity: 'warning',
  description:
    'A workload selected by a Service needs a readinessProbe, or its pods receive traffic before they are ready and failing rollouts are not stopped.',
  kinds: [...SERVING_KINDS, 'Pod'],
  scope: 'cross',
  admission: true,
  origin: {
    kubeScore: ['pod-probes'],
    kubeLinter: ['no-readiness-probe'],
    polaris: ['readinessProbeMissing'],
    article: 'liveness and readiness probes',
  },
  run(obj, ctx) {
    if (hasControllerOwner(obj)) return [];
    const t = podTemplateOf(obj);
    if (!t) return [];
    const containers = containersOf(t);
    if (containers.length === 0) return [];
    if (containers.some((c) => rec(c.container['readinessProbe']))) return [];
    const services = servicesSelecting(ctx, t);
    if (services.length === 0) return [];
    const first = containers[0];
    return [{
      message: `pods are targeted by ${listNames(services.map(describe))} but no container has a readinessProbe; add one (e.g. httpGet on the served port) so traffic waits until the app is ready`,
      path: [...first.path, 'readinessProbe'],
      container: first.name,
    }];
  },
};
