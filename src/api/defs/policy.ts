/**
 * policy/v1: PodDisruptionBudget and Eviction (the body POSTed to a pod's `eviction`
 * subresource; it has no spec, only deleteOptions beside metadata).
 */
import {
  arr,
  int32,
  int64,
  intOrString,
  kindObject,
  labelSelector,
  listObject,
  map,
  obj,
  ref,
  str,
  time,
  group,
  META,
  type Definitions,
} from '../schema.js';

const PKG = 'io.k8s.api.policy.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({ group: 'policy', version: 'v1', kind });

export const defs: Definitions = group(PKG, {
  PodDisruptionBudget: kindObject(gv('PodDisruptionBudget'), {
    spec: ref(`${PKG}.PodDisruptionBudgetSpec`),
    status: ref(`${PKG}.PodDisruptionBudgetStatus`),
  }),
  PodDisruptionBudgetList: listObject(gv('PodDisruptionBudgetList'), `${PKG}.PodDisruptionBudget`),
  PodDisruptionBudgetSpec: obj({
    maxUnavailable: intOrString(),
    minAvailable: intOrString(),
    // A selector is replaced whole on strategic merge, never merged key by key.
    selector: labelSelector({ patchStrategy: 'replace' }),
    unhealthyPodEvictionPolicy: str(),
  }),
  PodDisruptionBudgetStatus: obj({
    conditions: arr(ref(`${META}.Condition`), {
      listType: 'map',
      listMapKeys: ['type'],
      patchStrategy: 'merge',
      patchMergeKey: 'type',
    }),
    currentHealthy: int32(),
    desiredHealthy: int32(),
    disruptedPods: map(time()),
    disruptionsAllowed: int32(),
    expectedPods: int32(),
    observedGeneration: int64(),
  }),
  Eviction: kindObject(gv('Eviction'), { deleteOptions: ref(`${META}.DeleteOptions`) }),
});
