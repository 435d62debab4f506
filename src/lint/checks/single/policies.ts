/**
 * Checks on batch workloads (Job, CronJob) and on the objects that govern availability
 * (HorizontalPodAutoscaler, PodDisruptionBudget), each on its own object only.
 */
import { at, isRecord, podTemplateOf, rec, str, arr } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import { intOrPercent } from './util.js';

export const jobRestartPolicy: Check = {
  id: 'job-restart-policy',
  severity: 'error',
  description: 'Job and CronJob pod templates must set restartPolicy to OnFailure or Never (the default Always is rejected for Jobs).',
  kinds: ['Job', 'CronJob'],
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['cronjob-restartpolicy'] },
  run(obj) {
    const t = podTemplateOf(obj);
    if (!t) return [];
    const p = t.spec['restartPolicy'];
    if (p === 'OnFailure' || p === 'Never') return [];
    return [{
      message: p === undefined
        ? 'the pod template has no restartPolicy (it would default to Always, which Jobs reject); set restartPolicy: OnFailure or Never'
        : `restartPolicy ${JSON.stringify(p)} is not allowed for Jobs; use OnFailure or Never`,
      path: p === undefined ? t.specPath : [...t.specPath, 'restartPolicy'],
    }];
  },
};

export const cronJobDeadline: Check = {
  id: 'cronjob-deadline',
  severity: 'info',
  description: 'CronJobs should set startingDeadlineSeconds, so a run that could not start in time is skipped instead of started late.',
  kinds: ['CronJob'],
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['cronjob-has-deadline'] },
  run(obj) {
    if (typeof at(obj, ['spec', 'startingDeadlineSeconds']) === 'number') return [];
    return [{
      message: 'startingDeadlineSeconds is not set, so missed runs may start arbitrarily late; set spec.startingDeadlineSeconds (e.g. 300)',
      path: ['spec'],
    }];
  },
};

export const jobTtl: Check = {
  id: 'job-ttl',
  severity: 'info',
  description: 'A standalone Job should set ttlSecondsAfterFinished so finished Jobs are cleaned up; a CronJob\'s jobTemplate should not (its history limits do that).',
  kinds: ['Job', 'CronJob'],
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['job-ttl-seconds-after-finished'] },
  run(obj) {
    if (obj['kind'] === 'CronJob') {
      if (at(obj, ['spec', 'jobTemplate', 'spec', 'ttlSecondsAfterFinished']) === undefined) return [];
      return [{
        message: 'jobTemplate.spec.ttlSecondsAfterFinished may delete Jobs before successfulJobsHistoryLimit/failedJobsHistoryLimit keep them; remove it and rely on the history limits',
        path: ['spec', 'jobTemplate', 'spec', 'ttlSecondsAfterFinished'],
      }];
    }
    // A Job created by a CronJob (an owner reference) is cleaned up by its owner.
    if (arr(at(obj, ['metadata', 'ownerReferences'])).length > 0) return [];
    if (at(obj, ['spec', 'ttlSecondsAfterFinished']) !== undefined) return [];
    return [{
      message: 'the Job has no ttlSecondsAfterFinished, so it and its pods stay after it finishes; set spec.ttlSecondsAfterFinished (e.g. 3600)',
      path: ['spec'],
    }];
  },
};

export const hpaMinReplicas: Check = {
  id: 'hpa-min-replicas',
  severity: 'warning',
  description: 'A HorizontalPodAutoscaler should keep at least 2 replicas (minReplicas defaults to 1), so scaling down never leaves a single pod.',
  kinds: ['HorizontalPodAutoscaler'],
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['horizontalpodautoscaler-replicas'], polaris: ['hpaMinAvailability'], article: 'enough replicas (with an HPA)' },
  run(obj) {
    const v = at(obj, ['spec', 'minReplicas']);
    const n = v === undefined || v === null ? 1 : v;
    if (typeof n !== 'number' || n >= 2) return [];
    return [{
      message: `minReplicas is ${v === undefined || v === null ? 'not set (so 1)' : n}: the autoscaler may scale down to a single pod; set spec.minReplicas to 2 or more`,
      path: v === undefined || v === null ? ['spec'] : ['spec', 'minReplicas'],
    }];
  },
};

function isSet(v: unknown): boolean {
  return v !== undefined && v !== null;
}

export const pdbPolicy: Check = {
  id: 'pdb-policy',
  severity: 'warning',
  description: 'A PodDisruptionBudget must set exactly one of minAvailable and maxUnavailable, and a selector.',
  kinds: ['PodDisruptionBudget'],
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['poddisruptionbudget-has-policy'], kubeLinter: ['pdb-min-available'] },
  run(obj) {
    const spec = rec(obj['spec']);
    const out: Problem[] = [];
    const min = spec?.['minAvailable'];
    const max = spec?.['maxUnavailable'];
    if (!isSet(min) && !isSet(max)) {
      out.push({ message: 'neither minAvailable nor maxUnavailable is set, so the budget protects nothing; set one, e.g. maxUnavailable: 1', path: spec ? ['spec'] : [] });
    } else if (isSet(min) && isSet(max)) {
      out.push({ message: 'minAvailable and maxUnavailable are both set (the API server rejects it); keep only one', path: ['spec', 'maxUnavailable'], severity: 'error' });
    }
    if (!isRecord(spec?.['selector'])) {
      out.push({ message: 'the budget has no selector, so it applies to no pods; set spec.selector.matchLabels to the pods\' labels', path: spec ? ['spec'] : [] });
    }
    return out;
  },
};

export const pdbBlocksEviction: Check = {
  id: 'pdb-blocks-eviction',
  severity: 'warning',
  description: 'A PodDisruptionBudget must allow at least one disruption (maxUnavailable 0 or minAvailable 100% blocks node drains forever).',
  kinds: ['PodDisruptionBudget'],
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['pdb-max-unavailable', 'pdb-min-available'], polaris: ['pdbDisruptionsIsZero'] },
  run(obj) {
    const max = intOrPercent(at(obj, ['spec', 'maxUnavailable']));
    const min = intOrPercent(at(obj, ['spec', 'minAvailable']));
    const out: Problem[] = [];
    if (max === 'invalid') {
      out.push({ message: 'maxUnavailable is not an integer or a percentage; fix it (e.g. 1 or 25%)', path: ['spec', 'maxUnavailable'], severity: 'error' });
    } else if (max && max.value === 0) {
      out.push({ message: 'maxUnavailable is 0, so no pod may ever be evicted and node drains hang; allow at least 1', path: ['spec', 'maxUnavailable'] });
    }
    if (min === 'invalid') {
      out.push({ message: 'minAvailable is not an integer or a percentage; fix it (e.g. 1 or 50%)', path: ['spec', 'minAvailable'], severity: 'error' });
    } else if (min && min.kind === 'percent' && min.value >= 100) {
      out.push({ message: `minAvailable is ${min.value}%, so no pod may ever be evicted and node drains hang; lower it or use maxUnavailable: 1`, path: ['spec', 'minAvailable'] });
    }
    return out;
  },
};

export const pdbUnhealthyPodEvictionPolicy: Check = {
  id: 'pdb-unhealthy-pod-eviction-policy',
  severity: 'info',
  description: 'A PodDisruptionBudget should set unhealthyPodEvictionPolicy (AlwaysAllow lets drains evict pods that are not ready anyway).',
  kinds: ['PodDisruptionBudget'],
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['pdb-unhealthy-pod-eviction-policy'] },
  run(obj) {
    const v = str(at(obj, ['spec', 'unhealthyPodEvictionPolicy']));
    if (v === 'AlwaysAllow' || v === 'IfHealthyBudget') return [];
    return [{
      message: v === undefined
        ? 'unhealthyPodEvictionPolicy is not set, so a crash-looping pod can block node drains; set spec.unhealthyPodEvictionPolicy: AlwaysAllow'
        : `unhealthyPodEvictionPolicy ${JSON.stringify(v)} is not valid; use AlwaysAllow or IfHealthyBudget`,
      path: v === undefined ? ['spec'] : ['spec', 'unhealthyPodEvictionPolicy'],
      ...(v === undefined ? {} : { severity: 'error' as const }),
    }];
  },
};

export const POLICY_CHECKS: readonly Check[] = [
  jobRestartPolicy, cronJobDeadline, jobTtl, hpaMinReplicas, pdbPolicy, pdbBlocksEviction, pdbUnhealthyPodEvictionPolicy,
];
