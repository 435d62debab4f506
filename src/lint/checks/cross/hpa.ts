/**
 * HorizontalPodAutoscaler ↔ workload checks: the scale target must exist, and a workload an HPA
 * scales must not set spec.replicas (every apply would reset the HPA's choice to that number).
 * Only the built-in scalable kinds are checked; other kinds (custom resources) cannot be resolved.
 */
import { at, namespaceOf, nameOf, str } from '../../objects.js';
import type { Check } from '../../types.js';
import { hpasTargeting } from './lookup.js';

/** Built-in kinds with a scale subresource. */
export const SCALABLE_KINDS: readonly string[] = ['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'];

export const hpaTargetMissing: Check = {
  id: 'hpa-target-missing',
  severity: 'warning',
  description: 'A HorizontalPodAutoscaler whose scaleTargetRef names no existing workload scales nothing.',
  kinds: ['HorizontalPodAutoscaler'],
  scope: 'cross',
  admission: true,
  origin: { kubeScore: ['horizontalpodautoscaler-has-target'], kubeLinter: ['dangling-horizontalpodautoscaler'], article: 'scale with an HPA' },
  run(hpa, ctx) {
    const kind = str(at(hpa, ['spec', 'scaleTargetRef', 'kind']));
    const name = str(at(hpa, ['spec', 'scaleTargetRef', 'name']));
    if (!kind || !name || !SCALABLE_KINDS.includes(kind)) return [];
    const ns = namespaceOf(hpa);
    if (ctx.index.get(kind, ns, name)) return [];
    return [{
      message: `scaleTargetRef ${kind}/${name} does not exist in namespace ${ns}; fix the kind and name to match the workload`,
      path: ['spec', 'scaleTargetRef', 'name'],
    }];
  },
};

export const hpaTargetSetsReplicas: Check = {
  id: 'hpa-target-sets-replicas',
  severity: 'warning',
  description: 'A workload scaled by an HPA should not set spec.replicas: each apply resets the replica count the HPA chose.',
  kinds: SCALABLE_KINDS,
  scope: 'cross',
  admission: true,
  origin: { kubeScore: ['deployment-targeted-by-hpa-does-not-have-replicas-configured'], article: 'scale with an HPA' },
  run(obj, ctx) {
    if (at(obj, ['spec', 'replicas']) === undefined || at(obj, ['spec', 'replicas']) === null) return [];
    const hpas = hpasTargeting(obj, ctx);
    if (hpas.length === 0) return [];
    return [{
      message: `scaled by HorizontalPodAutoscaler/${nameOf(hpas[0])} but sets replicas; remove spec.replicas and let the HPA's minReplicas set the floor`,
      path: ['spec', 'replicas'],
    }];
  },
};

export const HPA_CHECKS: readonly Check[] = [hpaTargetMissing, hpaTargetSetsReplicas];
