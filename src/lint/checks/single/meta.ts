/**
 * Checks on every object's type and metadata: API versions Kubernetes no longer serves, and
 * label values the API server would reject.
 */
import { at, isRecord, kindOf, podTemplateOf, str } from '../../objects.js';
import type { Check, FieldPath, Problem } from '../../types.js';

interface Replacement {
  /** The apiVersion to use instead, or undefined when the kind itself is gone. */
  use?: string;
  /** The Kubernetes minor version that stopped serving it. */
  removedIn: string;
  /** What to do when there is no replacement. */
  note?: string;
}

/** apiVersion → kind → replacement (the kinds kubelite serves, plus PodSecurityPolicy/IngressClass). */
const REMOVED: Readonly<Record<string, Readonly<Record<string, Replacement>>>> = {
  'extensions/v1beta1': {
    Deployment: { use: 'apps/v1', removedIn: '1.16' },
    DaemonSet: { use: 'apps/v1', removedIn: '1.16' },
    ReplicaSet: { use: 'apps/v1', removedIn: '1.16' },
    NetworkPolicy: { use: 'networking.k8s.io/v1', removedIn: '1.16' },
    PodSecurityPolicy: { removedIn: '1.16', note: 'PodSecurityPolicy was removed entirely in 1.25; use Pod Security Admission labels on the namespace' },
    Ingress: { use: 'networking.k8s.io/v1', removedIn: '1.22' },
  },
  'apps/v1beta1': {
    Deployment: { use: 'apps/v1', removedIn: '1.16' },
    StatefulSet: { use: 'apps/v1', removedIn: '1.16' },
  },
  'apps/v1beta2': {
    Deployment: { use: 'apps/v1', removedIn: '1.16' },
    StatefulSet: { use: 'apps/v1', removedIn: '1.16' },
    DaemonSet: { use: 'apps/v1', removedIn: '1.16' },
    ReplicaSet: { use: 'apps/v1', removedIn: '1.16' },
  },
  'networking.k8s.io/v1beta1': {
    Ingress: { use: 'networking.k8s.io/v1', removedIn: '1.22' },
    IngressClass: { use: 'networking.k8s.io/v1', removedIn: '1.22' },
  },
  'batch/v1beta1': { CronJob: { use: 'batch/v1', removedIn: '1.25' } },
  'batch/v2alpha1': { CronJob: { use: 'batch/v1', removedIn: '1.21' } },
  'policy/v1beta1': {
    PodDisruptionBudget: { use: 'policy/v1', removedIn: '1.25' },
    PodSecurityPolicy: { removedIn: '1.25', note: 'use Pod Security Admission labels on the namespace instead' },
  },
  'autoscaling/v2beta1': { HorizontalPodAutoscaler: { use: 'autoscaling/v2', removedIn: '1.25' } },
  'autoscaling/v2beta2': { HorizontalPodAutoscaler: { use: 'autoscaling/v2', removedIn: '1.26' } },
};

const DEPRECATED_KINDS = [...new Set(Object.values(REMOVED).flatMap((m) => Object.keys(m)))];

export const deprecatedApiVersion: Check = {
  id: 'deprecated-api-version',
  severity: 'error',
  description: 'Objects must use an API version current Kubernetes serves (e.g. apps/v1, networking.k8s.io/v1, policy/v1, batch/v1, autoscaling/v2).',
  kinds: DEPRECATED_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['stable-version'], kubeLinter: ['no-extensions-v1beta'] },
  run(obj) {
    const apiVersion = str(obj['apiVersion']) ?? '';
    const kind = kindOf(obj);
    const r = REMOVED[apiVersion]?.[kind];
    if (!r) return [];
    return [{
      message: r.use
        ? `${apiVersion} ${kind} was removed in Kubernetes ${r.removedIn}; use apiVersion: ${r.use} (check the fields that changed)`
        : `${apiVersion} ${kind} was removed in Kubernetes ${r.removedIn}; ${r.note ?? 'remove it'}`,
      path: ['apiVersion'],
    }];
  },
};

/** metav1 label value rule: at most 63 characters of [A-Za-z0-9_.-], alphanumeric at both ends. */
function badLabelValue(v: unknown): boolean {
  if (typeof v !== 'string') return true;
  return v.length > 63 || !/^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/.test(v);
}

/** Every kind kubelite serves for lint. */
const ALL_KINDS = [
  'Pod', 'Deployment', 'ReplicaSet', 'ReplicationController', 'StatefulSet', 'DaemonSet', 'Job', 'CronJob', 'Service',
  'Ingress', 'NetworkPolicy', 'PodDisruptionBudget', 'HorizontalPodAutoscaler', 'ConfigMap', 'Secret',
];

export const labelValues: Check = {
  id: 'label-values',
  severity: 'error',
  description: 'Label values (of the object and of its pod template) must be at most 63 characters of letters, digits, \'-\', \'_\' and \'.\', starting and ending with a letter or digit.',
  kinds: ALL_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['label-values'] },
  run(obj) {
    const out: Problem[] = [];
    const scan = (base: FieldPath): void => {
      const labels = at(obj, base);
      if (!isRecord(labels)) return;
      for (const [k, v] of Object.entries(labels)) {
        if (!badLabelValue(v)) continue;
        out.push({
          message: `label ${k}: value ${JSON.stringify(v)} is not a valid label value; use at most 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit`,
          path: [...base, k],
        });
      }
    };
    scan(['metadata', 'labels']);
    const t = podTemplateOf(obj);
    if (t && t.specPath.length > 1) scan([...t.specPath.slice(0, -1), 'metadata', 'labels']);
    return out;
  },
};

export const META_CHECKS: readonly Check[] = [deprecatedApiVersion, labelValues];
