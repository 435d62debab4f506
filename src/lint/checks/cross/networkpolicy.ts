/**
 * NetworkPolicy coverage checks. Both are skipped in 'admission' mode: on a live cluster policies
 * and workloads arrive in any order (Helm installs policies first), so "nothing selects this yet"
 * on one write is noise; `kubelite lint` over the whole manifest set is where they belong.
 */
import { WORKLOAD_KINDS, arr, at, hasControllerOwner, isRecord, namespaceOf, podTemplateOf } from '../../objects.js';
import type { Check, CheckContext, FieldPath, KObject, PodTemplateRef } from '../../types.js';
import { selectorsMatching, templatesSelectedBy } from './lookup.js';

/** Which directions a policy restricts (unset policyTypes: Ingress, plus Egress when it has egress rules). */
function policyTypes(np: KObject): { ingress: boolean; egress: boolean } {
  const types = arr(at(np, ['spec', 'policyTypes'])).filter((t): t is string => typeof t === 'string');
  if (types.length === 0) return { ingress: true, egress: arr(at(np, ['spec', 'egress'])).length > 0 };
  return { ingress: types.includes('Ingress'), egress: types.includes('Egress') };
}

function labelsPath(t: PodTemplateRef): FieldPath {
  return t.specPath.length === 1 ? ['metadata', 'labels'] : [...t.specPath.slice(0, -1), 'metadata', 'labels'];
}

function policiesSelecting(t: PodTemplateRef, ctx: CheckContext): KObject[] {
  return selectorsMatching(ctx, 'NetworkPolicy', namespaceOf(t.owner), t.labels);
}

export const workloadNoNetworkPolicy: Check = {
  id: 'workload-no-networkpolicy',
  severity: 'warning',
  description:
    'Pods no NetworkPolicy selects accept traffic from, and send it to, anywhere in the cluster; select them with a policy restricting ingress (and egress).',
  kinds: WORKLOAD_KINDS,
  scope: 'cross',
  admission: false,
  origin: { kubeScore: ['pod-networkpolicy'], kubeLinter: ['non-isolated-pod'], article: 'NetworkPolicies' },
  run(obj, ctx) {
    if (ctx.mode === 'admission' || hasControllerOwner(obj)) return [];
    const t = podTemplateOf(obj);
    if (!t) return [];
    const pols = policiesSelecting(t, ctx);
    if (pols.length === 0) {
      return [{
        message: `no NetworkPolicy in namespace ${namespaceOf(obj)} selects these pods; add one whose podSelector matches their labels and allows only the traffic they need`,
        path: labelsPath(t),
      }];
    }
    const ingress = pols.some((p) => policyTypes(p).ingress);
    const egress = pols.some((p) => policyTypes(p).egress);
    if (ingress && egress) return [];
    const lacking = ingress ? 'Egress' : 'Ingress';
    return [{
      severity: 'info',
      message: `the NetworkPolicies selecting these pods do not restrict ${lacking.toLowerCase()}; add policyTypes: [${lacking}] with the allowed ${lacking.toLowerCase()} rules`,
      path: labelsPath(t),
    }];
  },
};

export const networkPolicySelectsNothing: Check = {
  id: 'networkpolicy-selects-nothing',
  severity: 'warning',
  description: 'A NetworkPolicy whose podSelector matches no workload in its namespace protects nothing (often a label typo).',
  kinds: ['NetworkPolicy'],
  scope: 'cross',
  admission: false,
  origin: { kubeScore: ['networkpolicy-targets-pod'], kubeLinter: ['dangling-networkpolicy'], article: 'NetworkPolicies' },
  run(np, ctx) {
    if (ctx.mode === 'admission') return [];
    const raw = at(np, ['spec', 'podSelector']);
    // `{}` selects every pod of the namespace: a namespace-wide (e.g. default-deny) policy, valid with no workloads yet.
    if (!isRecord(raw) || (arr(raw['matchExpressions']).length === 0 && Object.keys(isRecord(raw['matchLabels']) ? raw['matchLabels'] : {}).length === 0)) return [];
    const selected = templatesSelectedBy(ctx, namespaceOf(np), raw);
    if (!selected || selected.length > 0) return [];
    return [{
      message: `podSelector matches no workload in namespace ${namespaceOf(np)}; make it match the pod template labels`,
      path: ['spec', 'podSelector'],
    }];
  },
};

export const NETWORKPOLICY_CHECKS: readonly Check[] = [workloadNoNetworkPolicy, networkPolicySelectsNothing];
