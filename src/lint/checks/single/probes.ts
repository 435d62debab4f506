/**
 * Probe checks. Readiness keeps traffic away from pods that cannot serve (and gates rollouts);
 * liveness restarts deadlocked containers. Both only matter for long-running workloads, so Jobs,
 * CronJobs and bare Pods are not asked for them. Whether a Service selects the pods (kube-score
 * only requires probes then) is cross-object and left to the cross checks.
 */
import { arr, isRecord, rec, str } from '../../objects.js';
import type { ContainerRef } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import { POD_KINDS, SERVING_POD_KINDS, containerLabel, perContainer } from './util.js';

const PROBES = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
const HANDLERS = ['httpGet', 'tcpSocket'] as const;

export const readinessProbe: Check = {
  id: 'readiness-probe',
  severity: 'warning',
  description: 'Containers of long-running workloads need a readinessProbe, so Services only send traffic to pods that can serve and rollouts stop on a broken version.',
  kinds: SERVING_POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['pod-probes'],
    kubeLinter: ['no-readiness-probe'],
    polaris: ['readinessProbeMissing'],
    article: 'livenessProbe and readinessProbe',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => isRecord(c.container['readinessProbe']) ? [] : [{
      message: `${containerLabel(c)}: no readinessProbe; add one (e.g. an httpGet on a health endpoint) so traffic only reaches ready pods`,
      path: c.path, container: c.name,
    }], { withInit: false });
  },
};

export const livenessProbe: Check = {
  id: 'liveness-probe',
  severity: 'info',
  description: 'Containers of long-running workloads should have a livenessProbe, so a deadlocked process is restarted (keep it cheaper and more lenient than the readiness probe).',
  kinds: SERVING_POD_KINDS,
  scope: 'object',
  admission: true,
  origin: {
    kubeScore: ['pod-probes'],
    kubeLinter: ['no-liveness-probe'],
    polaris: ['livenessProbeMissing'],
    article: 'livenessProbe and readinessProbe',
  },
  run(obj) {
    return perContainer<Problem>(obj, (c) => isRecord(c.container['livenessProbe']) ? [] : [{
      message: `${containerLabel(c)}: no livenessProbe; add one so a hung process is restarted`,
      path: c.path, container: c.name,
    }], { withInit: false });
  },
};

/** The probe's action as a comparable key (kube-score's notion of "identical"), or undefined. */
function probeKey(p: Record<string, unknown>): string | undefined {
  const http = rec(p['httpGet']);
  if (http) return `http:${String(http['path'] ?? '/')}:${String(http['port'])}`;
  const tcp = rec(p['tcpSocket']);
  if (tcp) return `tcp:${String(tcp['port'])}`;
  const exec = rec(p['exec']);
  if (exec) return `exec:${JSON.stringify(arr(exec['command']))}`;
  const grpc = rec(p['grpc']);
  if (grpc) return `grpc:${String(grpc['port'])}:${String(grpc['service'] ?? '')}`;
  return undefined;
}

export const probesIdentical: Check = {
  id: 'probes-identical',
  severity: 'warning',
  description: 'A container\'s liveness and readiness probes must not run the same check: a slow dependency would then restart every pod instead of just taking it out of rotation.',
  kinds: POD_KINDS.filter((k) => k !== 'Job' && k !== 'CronJob'),
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['pod-probes-identical'], article: 'livenessProbe and readinessProbe' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const live = rec(c.container['livenessProbe']);
      const ready = rec(c.container['readinessProbe']);
      if (!live || !ready) return [];
      const key = probeKey(live);
      if (key === undefined || key !== probeKey(ready)) return [];
      return [{
        message: `${containerLabel(c)}: livenessProbe and readinessProbe run the same check; make the liveness probe cheaper and more lenient (e.g. a separate /healthz, a higher failureThreshold)`,
        path: [...c.path, 'livenessProbe'], container: c.name,
      }];
    }, { withInit: false });
  },
};

/** Names of the container's declared ports. */
function portNames(c: ContainerRef): Set<string> {
  const names = new Set<string>();
  for (const p of arr(c.container['ports'])) {
    const n = isRecord(p) ? str(p['name']) : undefined;
    if (n) names.add(n);
  }
  return names;
}

/**
 * A NAMED probe port must be declared by the container (the kubelet cannot resolve it otherwise
 * and the probe always fails). A numeric port needs no declaration — declaring ports is only
 * informational — so, unlike kube-linter's *-port checks, numbers are never flagged.
 */
export const probePort: Check = {
  id: 'probe-port',
  severity: 'error',
  description: 'A probe that names its port (httpGet.port or tcpSocket.port as a string) must name a port the container declares; otherwise the probe always fails.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['liveness-port', 'readiness-port', 'startup-port'], article: 'livenessProbe and readinessProbe' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      const names = portNames(c);
      for (const probe of PROBES) {
        const p = rec(c.container[probe]);
        if (!p) continue;
        for (const h of HANDLERS) {
          const port = rec(p[h])?.['port'];
          if (typeof port !== 'string' || names.has(port)) continue;
          if (/^\d+$/.test(port)) {
            // The API server rejects a quoted number: a port name needs at least one letter.
            out.push({
              message: `${containerLabel(c)}: ${probe}.${h}.port "${port}" is a quoted number, which is read as a port name; write it unquoted (port: ${port})`,
              path: [...c.path, probe, h, 'port'], container: c.name,
            });
            continue;
          }
          out.push({
            message: `${containerLabel(c)}: ${probe}.${h}.port "${port}" names no port of the container; declare it under ports (name: ${port}) or use the port number`,
            path: [...c.path, probe, h, 'port'], container: c.name,
          });
        }
      }
      return out;
    });
  },
};

export const PROBE_CHECKS: readonly Check[] = [readinessProbe, livenessProbe, probesIdentical, probePort];
