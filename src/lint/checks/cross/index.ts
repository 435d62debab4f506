/**
 * Cross-object checks of `kubelite lint` (scope 'cross'): checks that read other objects of the
 * run (or of the cluster, in admission mode) through `ctx.index`. Ids and their kube-score /
 * kube-linter / Polaris counterparts are listed in docs/lint.md.
 */
import type { Check } from '../../types.js';
import { HPA_CHECKS } from './hpa.js';
import { INGRESS_CHECKS } from './ingress.js';
import { NETWORKPOLICY_CHECKS } from './networkpolicy.js';
import { PDB_CHECKS } from './pdb.js';
import { readinessProbeTargeted } from './readiness.js';
import { REFERENCE_CHECKS } from './references.js';
import { SERVICE_CHECKS } from './services.js';
import { STATEFULSET_CHECKS } from './statefulsets.js';

export const CROSS_CHECKS: readonly Check[] = [
  ...SERVICE_CHECKS,
  readinessProbeTargeted,
  ...INGRESS_CHECKS,
  ...STATEFULSET_CHECKS,
  ...HPA_CHECKS,
  ...NETWORKPOLICY_CHECKS,
  ...PDB_CHECKS,
  ...REFERENCE_CHECKS,
];
