/**
 * Resource checks: requests let the scheduler place pods where they fit; limits keep one
 * container from starving its neighbours. A zero quantity counts as unset (as kube-score does).
 */
import { rec } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import type { ContainerRef } from '../../objects.js';
import { POD_KINDS, containerLabel, perContainer } from './util.js';

/** Whether a quantity is absent or zero ("0", "0m", "0Mi", 0). */
function unsetQuantity(v: unknown): boolean {
  if (typeof v === 'number') return v === 0;
  if (typeof v !== 'string') return true;
  const m = /^[+-]?(\d+(\.\d*)?|\.\d+)/.exec(v.trim());
  return !m || Number(m[0]) === 0;
}

/**
 * Problems for missing `resources.<section>.<name>` of one container: a single problem at the
 * container when `resources` is missing, else one per missing section or quantity.
 */
function missingQuantities(c: ContainerRef, names: readonly string[], hint: string): Problem[] {
  const resources = rec(c.container['resources']);
  if (!resources) {
    return [{
      message: `${containerLabel(c)}: no resources set; ${hint}`,
      path: c.path, container: c.name,
    }];
  }
  const out: Problem[] = [];
  for (const section of ['requests', 'limits'] as const) {
    const values = rec(resources[section]);
    const missing = names.filter((n) => unsetQuantity(values?.[n]));
    if (missing.length === 0) continue;
    if (!values) {
      out.push({
        message: `${containerLabel(c)}: resources.${section} is not set; set resources.${section}.${names.join(' and ')}`,
        path: [...c.path, 'resources'], container: c.name,
      });
      continue;
    }
    for (const n of missing) {
      const why = section === 'requests' ? 'so the scheduler reserves what it needs' : 'so it cannot starve other pods on the node';
      out.push({
        message: `${containerLabel(c)}: resources.${section}.${n} is not set; set it ${why}`,
        path: n in values ? [...c.path, 'resources', section, n] : [...c.path, 'resources', section],
        container: c.name,
      });
    }
  }
  return out;
}

export const containerResources: Check = {
  id: 'container-resources',
  severity: 'warning',
  description: 'Every container (init containers too) must set CPU and memory requests and limits, so the scheduler can place it and it cannot starve its neighbours.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['container-resources'],
    kubeLinter: ['unset-cpu-requirements', 'unset-memory-requirements'],
    polaris: ['cpuRequestsMissing', 'cpuLimitsMissing', 'memoryRequestsMissing', 'memoryLimitsMissing'],
    article: 'CPU and memory requests and limits per container',
  },
  run(obj) {
    return perContainer(obj, (c) =>
      missingQuantities(c, ['cpu', 'memory'], 'set resources.requests and resources.limits for cpu and memory'));
  },
};

/** kube-score's ephemeral-storage rule; opt-in, since neither the article nor kube-linter asks for it. */
export const containerEphemeralStorage: Check = {
  id: 'container-ephemeral-storage',
  severity: 'info',
  description: 'Every container should set ephemeral-storage requests and limits, so a container filling its disk is evicted instead of the node running out (opt-in).',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['container-ephemeral-storage-request-and-limit'] },
  run(obj) {
    return perContainer(obj, (c) =>
      missingQuantities(c, ['ephemeral-storage'], 'set resources.requests and resources.limits for ephemeral-storage'));
  },
};

export const RESOURCE_CHECKS: readonly Check[] = [containerResources];
