/**
 * Workload-shape checks: enough replicas, a rolling update that keeps pods serving, a selector
 * that selects the workload's own template, and spreading replicas across nodes.
 */
import { isRecord, kindOf, podTemplateOf, rec, str, arr, stringMap, at } from '../../objects.js';
import type { Check, CheckContext, FieldPath, KObject, Problem } from '../../types.js';
import { hpasTargeting } from '../cross/lookup.js';
import { intOrPercent, replicasOf, scaled, selectorMatches, POD_KINDS, type IntOrPercent } from './util.js';

export const replicas: Check = {
  id: 'replicas',
  severity: 'warning',
  description: 'Deployments and StatefulSets should run at least 2 replicas (an unset replicas means 1), so one pod failing or being evicted does not take the service down. Not checked when an HorizontalPodAutoscaler scales the workload (hpa-min-replicas checks its minReplicas).',
  kinds: ['Deployment', 'StatefulSet'],
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['deployment-replicas'],
    kubeLinter: ['minimum-three-replicas'],
    polaris: ['deploymentMissingReplicas'],
    article: 'enough replicas (with an HPA)',
  },
  run(obj, ctx) {
    // An HorizontalPodAutoscaler decides the count (hpa-min-replicas checks its minReplicas).
    if (hpasTargeting(obj, ctx).length > 0) return [];
    const spec = rec(obj['spec']);
    const n = replicasOf(obj);
    // 0 is a deliberate scale-down, not a availability mistake.
    if (n === undefined || n === 0 || n >= 2) return [];
    const set = spec !== undefined && spec['replicas'] !== undefined && spec['replicas'] !== null;
    return [{
      message: `${set ? `replicas is ${n}` : 'replicas is not set (so 1)'}: a single pod means downtime when it fails or is evicted; set spec.replicas to 2 or more, or let a HorizontalPodAutoscaler with minReplicas >= 2 manage it`,
      path: set ? ['spec', 'replicas'] : ['spec'],
    }];
  },
};

/**
 * The replicas a workload runs at the least: spec.replicas, or when HorizontalPodAutoscalers of
 * the index scale it, the highest of their minReplicas (default 1) and spec.replicas.
 */
function scaledReplicasOf(obj: KObject, ctx: CheckContext): number | undefined {
  const n = replicasOf(obj);
  const hpas = hpasTargeting(obj, ctx);
  if (!hpas.length) return n;
  const min = Math.max(...hpas.map((h) => {
    const m = at(h, ['spec', 'minReplicas']);
    return typeof m === 'number' && Number.isInteger(m) ? m : 1;
  }));
  return Math.max(min, n ?? 0);
}

const STRATEGY_TYPES = ['RollingUpdate', 'Recreate'];

/** One rolling-update parameter, validated as the API server would (problem when invalid). */
function param(ru: Record<string, unknown>, name: 'maxUnavailable' | 'maxSurge', out: Problem[]): IntOrPercent | undefined | 'invalid' {
  const v = intOrPercent(ru[name]);
  const path = ['spec', 'strategy', 'rollingUpdate', name];
  if (v === 'invalid' || (v && v.value < 0)) {
    out.push({ message: `${name} ${JSON.stringify(ru[name])} is not a non-negative integer or percentage (e.g. 25%); fix it`, path, severity: 'error' });
    return 'invalid';
  }
  if (v && name === 'maxUnavailable' && v.kind === 'percent' && v.value > 100) {
    out.push({ message: `maxUnavailable ${v.value}% is more than 100%; use at most 100% (and better far less)`, path, severity: 'error' });
    return 'invalid';
  }
  return v;
}

export const rollingUpdate: Check = {
  id: 'rolling-update',
  severity: 'warning',
  description: 'Deployments should use the RollingUpdate strategy with a maxUnavailable that keeps some pods serving, and valid maxSurge/maxUnavailable values.',
  kinds: ['Deployment'],
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['deployment-strategy'],
    kubeLinter: ['no-rolling-update-strategy'],
    article: 'RollingUpdate with maxUnavailable/maxSurge',
  },
  run(obj) {
    const strategy = rec(at(obj, ['spec', 'strategy']));
    if (!strategy) return [];
    const out: Problem[] = [];
    const type = strategy['type'];
    if (type !== undefined && (typeof type !== 'string' || !STRATEGY_TYPES.includes(type))) {
      return [{ message: `strategy type ${JSON.stringify(type)} is not valid; use RollingUpdate`, path: ['spec', 'strategy', 'type'], severity: 'error' }];
    }
    const ru = rec(strategy['rollingUpdate']);
    if (type === 'Recreate') {
      out.push({
        message: 'strategy Recreate stops every pod before starting new ones, so each rollout is an outage; use type: RollingUpdate with maxUnavailable/maxSurge',
        path: ['spec', 'strategy', 'type'],
      });
      if (strategy['rollingUpdate'] !== undefined && strategy['rollingUpdate'] !== null) {
        out.push({ message: 'rollingUpdate may not be set with strategy Recreate (the API server rejects it); remove it or use RollingUpdate', path: ['spec', 'strategy', 'rollingUpdate'], severity: 'error' });
      }
      return out;
    }
    if (!ru) return out;
    const mu = param(ru, 'maxUnavailable', out);
    const ms = param(ru, 'maxSurge', out);
    if (mu === 'invalid' || ms === 'invalid') return out;
    if (mu && ms && mu.value === 0 && ms.value === 0) {
      out.push({
        message: 'maxUnavailable and maxSurge are both 0, so a rollout can make no progress (the API server rejects it); set maxSurge to at least 1 (e.g. 25%)',
        path: ['spec', 'strategy', 'rollingUpdate'], severity: 'error',
      });
      return out;
    }
    const n = replicasOf(obj);
    if (mu && n !== undefined && n > 0 && scaled(mu, n, false) >= n) {
      out.push({
        message: `maxUnavailable ${JSON.stringify(ru['maxUnavailable'])} lets all ${n} replica(s) be down at once during a rollout; lower it (e.g. 25%) and use maxSurge for speed`,
        path: ['spec', 'strategy', 'rollingUpdate', 'maxUnavailable'],
      });
    }
    return out;
  },
};

/** Kinds whose spec.selector must select their own template (the API server enforces it). */
const SELECTOR_KINDS = ['Deployment', 'ReplicaSet', 'StatefulSet', 'DaemonSet', 'ReplicationController'];

export const selectorMismatch: Check = {
  id: 'selector-mismatch',
  severity: 'error',
  description: 'A workload\'s spec.selector must be set, non-empty and match its own pod template labels; the API server rejects it otherwise.',
  kinds: SELECTOR_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['deployment-pod-selector-labels-match-template-metadata-labels', 'statefulset-pod-selector-labels-match-template-metadata-labels'],
    kubeLinter: ['mismatching-selector'],
    article: 'selectors that really select the pods',
  },
  run(obj) {
    const t = podTemplateOf(obj);
    const labels = t?.labels ?? {};
    const sel = at(obj, ['spec', 'selector']);
    const labelsText = Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') || 'none';
    if (kindOf(obj) === 'ReplicationController') {
      // A missing selector defaults to the template's labels.
      if (sel === undefined || sel === null) return [];
      const map = stringMap(sel);
      if (Object.entries(map).every(([k, v]) => labels[k] === v) && Object.keys(map).length > 0) return [];
      return [{ message: `spec.selector does not select the template's labels (${labelsText}); make them match`, path: ['spec', 'selector'] }];
    }
    if (sel === undefined || sel === null) {
      return [{ message: `spec.selector is missing; set spec.selector.matchLabels to the template's labels (${labelsText})`, path: ['spec'] }];
    }
    if (isRecord(sel) && Object.keys(stringMap(sel['matchLabels'])).length === 0 && arr(sel['matchExpressions']).length === 0) {
      return [{ message: `spec.selector is empty, which the API server rejects; set spec.selector.matchLabels to the template's labels (${labelsText})`, path: ['spec', 'selector'] }];
    }
    const m = selectorMatches(sel, labels);
    if (m === true) return [];
    return [{
      message: m === 'invalid'
        ? 'spec.selector is not a valid label selector; use matchLabels (and matchExpressions with In, NotIn, Exists or DoesNotExist)'
        : `spec.selector does not match the template's labels (${labelsText}), so the workload would not own its pods; make spec.template.metadata.labels include the selector's labels`,
      path: ['spec', 'selector'],
    }];
  },
};

/** Topology keys that put replicas on different nodes or zones (kube-score's list). */
const SPREAD_KEYS = [
  'kubernetes.io/hostname', 'topology.kubernetes.io/zone', 'topology.kubernetes.io/region',
  'failure-domain.beta.kubernetes.io/zone', 'failure-domain.beta.kubernetes.io/region',
];

/** Whether a term (anti-affinity or spread constraint) spreads pods with `labels` over `SPREAD_KEYS`. */
function spreads(term: unknown, labels: Record<string, string>): boolean {
  const t = rec(term);
  if (!t || !SPREAD_KEYS.includes(str(t['topologyKey']) ?? '')) return false;
  return selectorMatches(t['labelSelector'], labels) === true;
}

export const podAntiAffinity: Check = {
  id: 'pod-anti-affinity',
  severity: 'warning',
  description: 'Deployments and StatefulSets with 2 or more replicas (or an HorizontalPodAutoscaler keeping 2 or more) should spread them over nodes (podAntiAffinity or a topologySpreadConstraint on kubernetes.io/hostname or a zone) so one node failing does not take all replicas.',
  kinds: ['Deployment', 'StatefulSet'],
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['deployment-has-host-podantiaffinity', 'statefulset-has-host-podantiaffinity'],
    kubeLinter: ['no-anti-affinity'],
    polaris: ['topologySpreadConstraint'],
    article: 'enough replicas for high availability',
  },
  run(obj, ctx) {
    const n = scaledReplicasOf(obj, ctx);
    const t = podTemplateOf(obj);
    if (n === undefined || n < 2 || !t) return [];
    const affinity = rec(t.spec['affinity']);
    const anti = rec(affinity?.['podAntiAffinity']);
    const terms = [
      ...arr(anti?.['requiredDuringSchedulingIgnoredDuringExecution']),
      ...arr(anti?.['preferredDuringSchedulingIgnoredDuringExecution']).map((p) => rec(p)?.['podAffinityTerm']),
      ...arr(t.spec['topologySpreadConstraints']),
    ];
    if (terms.some((x) => spreads(x, t.labels))) return [];
    const path: FieldPath = anti ? [...t.specPath, 'affinity', 'podAntiAffinity'] : affinity ? [...t.specPath, 'affinity'] : t.specPath;
    return [{
      message: `${n} replicas may all land on one node; add a preferred podAntiAffinity (or topologySpreadConstraint) with topologyKey kubernetes.io/hostname and a labelSelector matching the pod labels`,
      path,
    }];
  },
};

const WHEN_UNSATISFIABLE = ['DoNotSchedule', 'ScheduleAnyway'];

export const topologySpreadConstraints: Check = {
  id: 'topology-spread-constraints',
  severity: 'error',
  description: 'topologySpreadConstraints must be complete: a labelSelector, maxSkew >= 1, a topologyKey, a valid whenUnsatisfiable and minDomains >= 1 when set.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['pod-topology-spread-constraints'] },
  run(obj) {
    const t = podTemplateOf(obj);
    if (!t) return [];
    const out: Problem[] = [];
    arr(t.spec['topologySpreadConstraints']).forEach((raw, i) => {
      const c = rec(raw);
      const base = [...t.specPath, 'topologySpreadConstraints', i];
      if (!c) return;
      const fieldPath = (f: string): FieldPath => (c[f] === undefined ? base : [...base, f]);
      if (!isRecord(c['labelSelector'])) {
        out.push({ message: `topologySpreadConstraints[${i}] has no labelSelector, so it counts no pods; set labelSelector to match the pod labels`, path: base, severity: 'warning' });
      }
      const skew = c['maxSkew'];
      if (typeof skew !== 'number' || !Number.isInteger(skew) || skew < 1) {
        out.push({ message: `topologySpreadConstraints[${i}].maxSkew must be an integer of at least 1; set maxSkew: 1`, path: fieldPath('maxSkew') });
      }
      if (c['minDomains'] !== undefined && c['minDomains'] !== null && !(typeof c['minDomains'] === 'number' && c['minDomains'] >= 1)) {
        out.push({ message: `topologySpreadConstraints[${i}].minDomains must be at least 1; remove it or set it to 1 or more`, path: [...base, 'minDomains'] });
      }
      if (!str(c['topologyKey'])) {
        out.push({ message: `topologySpreadConstraints[${i}] has no topologyKey; set one, e.g. kubernetes.io/hostname`, path: fieldPath('topologyKey') });
      }
      if (!WHEN_UNSATISFIABLE.includes(str(c['whenUnsatisfiable']) ?? '')) {
        out.push({ message: `topologySpreadConstraints[${i}].whenUnsatisfiable must be DoNotSchedule or ScheduleAnyway`, path: fieldPath('whenUnsatisfiable') });
      }
    });
    return out;
  },
};

export const WORKLOAD_CHECKS: readonly Check[] = [replicas, rollingUpdate, selectorMismatch, podAntiAffinity, topologySpreadConstraints];

