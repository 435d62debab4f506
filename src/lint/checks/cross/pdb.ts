/**
 * PodDisruptionBudget checks: a PDB must select something, must not forbid every eviction of the
 * workload it guards, and replicated serving workloads should have one (without it a node drain
 * may evict all replicas at once).
 *
 * "selects nothing" and "no PDB" are skipped in 'admission' mode: PDBs and workloads are written
 * in any order, so on a single write they would be noise.
 */
import { at, kindOf, namespaceOf, podTemplateOf, str } from '../../objects.js';
import type { Check, CheckContext, KObject, PodTemplateRef } from '../../types.js';
import { describe, listNames } from './common.js';
import { hpasTargeting, selectorsMatching, templatesSelectedBy } from './lookup.js';

/** Replicas the workload runs at least: spec.replicas (default 1), or the HPA's minReplicas floor. */
export function minReplicasOf(obj: KObject, ctx: CheckContext): number | undefined {
  const hpas = hpasTargeting(obj, ctx);
  if (hpas.length > 0) {
    const m = at(hpas[0], ['spec', 'minReplicas']);
    return typeof m === 'number' ? m : 1;
  }
  const r = at(obj, ['spec', 'replicas']);
  if (r === undefined || r === null) return 1;
  return typeof r === 'number' ? r : undefined;
}

function selectedTemplates(pdb: KObject, ctx: CheckContext): readonly PodTemplateRef[] | undefined {
  return templatesSelectedBy(ctx, namespaceOf(pdb), at(pdb, ['spec', 'selector']));
}

export const pdbSelectsNothing: Check = {
  id: 'pdb-selects-nothing',
  severity: 'warning',
  description: 'A PodDisruptionBudget whose selector matches no workload in its namespace protects nothing (often a label typo).',
  kinds: ['PodDisruptionBudget'],
  scope: 'cross',
  admission: false,
  origin: { article: 'PodDisruptionBudgets for availability (no kube-score/kube-linter/Polaris equivalent)' },
  run(pdb, ctx) {
    if (ctx.mode === 'admission') return [];
    const ts = selectedTemplates(pdb, ctx);
    if (!ts || ts.length > 0) return [];
    return [{
      message: `selector matches no workload in namespace ${namespaceOf(pdb)}; make it match the pod template labels of the workload to protect`,
      path: ['spec', 'selector'],
    }];
  },
};

/** Pods a PDB requires available out of `replicas`, or undefined when minAvailable is not usable. */
function requiredOf(minAvailable: unknown, replicas: number): number | undefined {
  if (typeof minAvailable === 'number') return minAvailable;
  const pct = str(minAvailable)?.match(/^([0-9]+)%$/);
  // 100% and more blocks regardless of replicas: the single-object pdb-blocks-eviction reports it.
  if (pct && Number(pct[1]) < 100) return Math.ceil((Number(pct[1]) * replicas) / 100);
  return undefined;
}

/**
 * The single-object `pdb-blocks-eviction` already reports maxUnavailable 0 and minAvailable 100%
 * (blocking whatever the replica count); this one needs the workload: an integer minAvailable
 * (or a percentage that rounds up) reaching the selected workload's replicas.
 */
export const pdbMinAvailableReplicas: Check = {
  id: 'pdb-min-available-replicas',
  severity: 'warning',
  description:
    "A PodDisruptionBudget whose minAvailable reaches the selected workload's replica count never allows an eviction, so node drains hang.",
  kinds: ['PodDisruptionBudget'],
  scope: 'cross',
  admission: true,
  origin: { kubeLinter: ['pdb-min-available'], article: 'PodDisruptionBudgets for availability' },
  run(pdb, ctx) {
    const minAvailable = at(pdb, ['spec', 'minAvailable']);
    if (minAvailable === undefined) return [];
    const blocked: string[] = [];
    for (const t of selectedTemplates(pdb, ctx) ?? []) {
      if (!['Deployment', 'StatefulSet', 'ReplicaSet', 'ReplicationController'].includes(kindOf(t.owner))) continue;
      const replicas = minReplicasOf(t.owner, ctx);
      if (replicas === undefined || replicas < 1) continue;
      const required = requiredOf(minAvailable, replicas);
      if (required !== undefined && required >= replicas) blocked.push(`${describe(t.owner)} (${replicas} replicas)`);
    }
    if (blocked.length === 0) return [];
    return [{
      message: `minAvailable ${String(minAvailable)} leaves no pod of ${listNames(blocked)} evictable; lower it below the replica count or use maxUnavailable: 1`,
      path: ['spec', 'minAvailable'],
    }];
  },
};

export const workloadNoPdb: Check = {
  id: 'workload-no-pdb',
  severity: 'warning',
  description:
    'A Deployment or StatefulSet running more than one replica should be selected by a PodDisruptionBudget, or a node drain may evict all its pods at once.',
  kinds: ['Deployment', 'StatefulSet'],
  scope: 'cross',
  admission: false,
  origin: {
    kubeScore: ['deployment-has-poddisruptionbudget', 'statefulset-has-poddisruptionbudget'],
    polaris: ['missingPodDisruptionBudget'],
    article: 'PodDisruptionBudgets for availability',
  },
  run(obj, ctx) {
    if (ctx.mode === 'admission') return [];
    const replicas = minReplicasOf(obj, ctx);
    if (replicas === undefined || replicas < 2) return [];
    const t = podTemplateOf(obj);
    if (!t) return [];
    if (selectorsMatching(ctx, 'PodDisruptionBudget', namespaceOf(obj), t.labels).length > 0) return [];
    return [{
      message: `runs ${replicas} replicas but no PodDisruptionBudget selects its pods; add one with maxUnavailable: 1 (or minAvailable below ${replicas}) and a selector matching the pod labels`,
      path: at(obj, ['spec', 'replicas']) === undefined ? ['spec'] : ['spec', 'replicas'],
    }];
  },
};

export const PDB_CHECKS: readonly Check[] = [pdbSelectsNothing, pdbMinAvailableReplicas, workloadNoPdb];
