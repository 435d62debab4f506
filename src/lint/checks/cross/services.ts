/**
 * Service → pods checks: does the selector select anything, and does every Service port reach a
 * port the selected containers actually listen on?
 *
 * The targetPort check fills a gap none of kube-score, kube-linter or Polaris covers. Its grading
 * follows what the data plane does:
 * - a NAMED targetPort resolves per pod through `containers[].ports[].name`; a pod without that name
 *   gets no endpoint, so a workload lacking it receives no traffic: 'error';
 * - a NUMERIC targetPort is used as is, whether declared or not; when the containers declare ports
 *   but not this one it is very likely a typo: 'warning';
 * - a numeric targetPort with NO declared ports at all is legal and common (the seed article's own
 *   sample), and one a probe of the workload uses is evidently served: only an 'info' suggesting
 *   to declare the containerPort. Such hints are left out in 'admission' mode: a warning header on
 *   every apply of a working Service would be noise.
 */
import { arr, at, namespaceOf, rec, str } from '../../objects.js';
import type { Check, PodTemplateRef, Problem } from '../../types.js';
import { declaredPorts, describe, formatPorts, intOrString, listNames, probedPorts, serviceSelector } from './common.js';
import { templatesSelectedByService } from './lookup.js';

export const serviceSelectorNoMatch: Check = {
  id: 'service-selector-no-match',
  severity: 'warning',
  description:
    'A Service whose selector matches no workload or Pod template in its namespace has no endpoints, so its traffic goes nowhere.',
  kinds: ['Service'],
  scope: 'cross',
  admission: true,
  origin: {
    kubeScore: ['service-targets-pod'],
    kubeLinter: ['dangling-service'],
    article: 'Service selectors must really select the pods',
  },
  run(svc, ctx) {
    const sel = serviceSelector(svc);
    if (!sel || (templatesSelectedByService(ctx, svc) ?? []).length > 0) return [];
    const wanted = Object.entries(sel).map(([k, v]) => `${k}=${v}`).join(',');
    return [{
      message: `selector ${wanted} matches no workload in namespace ${namespaceOf(svc)}; make the selector equal the pod template labels (or remove it for a manually managed Service)`,
      path: ['spec', 'selector'],
    }];
  },
};

/** Problems of one Service port against the selected templates. */
function portProblems(port: Record<string, unknown>, i: number, o: { templates: readonly PodTemplateRef[]; hints: boolean }): Problem[] {
  const { templates } = o;
  const portName = str(port['name']);
  const portNum = port['port'];
  const num = typeof portNum === 'number' ? String(portNum) : `#${i}`;
  const label = portName ? `'${portName}' (${num})` : num;
  const target = port['targetPort'] === undefined ? intOrString(portNum) : intOrString(port['targetPort']);
  if (target === undefined) return [];
  const protocol = str(port['protocol']) ?? 'TCP';
  const path = port['targetPort'] === undefined ? ['spec', 'ports', i, 'port'] : ['spec', 'ports', i, 'targetPort'];
  const missing: string[] = [];
  const declaredElsewhere: string[] = [];
  const undeclared: string[] = [];
  const probedOnly: string[] = [];
  for (const t of templates) {
    const ports = declaredPorts(t);
    const name = describe(t.owner);
    if (typeof target === 'string') {
      if (!ports.some((p) => p.name === target && p.protocol === protocol)) missing.push(`${name} (declares ${formatPorts(ports)})`);
    } else if (ports.some((p) => p.port === target && p.protocol === protocol)) {
      continue;
    } else if (probedPorts(t).includes(target)) {
      probedOnly.push(name);
    } else if (ports.length === 0) {
      undeclared.push(name);
    } else {
      declaredElsewhere.push(`${name} (declares ${formatPorts(ports)})`);
    }
  }
  const out: Problem[] = [];
  if (missing.length > 0) {
    out.push({
      severity: 'error',
      path,
      message: `port ${label} targets port name '${target}'/${protocol}, which no container of ${listNames(missing)} declares, so those pods get no traffic; add a containerPort named '${target}' or set targetPort to a declared port`,
    });
  }
  if (declaredElsewhere.length > 0) {
    out.push({
      severity: 'warning',
      path,
      message: `port ${label} targets ${target}/${protocol}, which ${listNames(declaredElsewhere)} does not declare; set targetPort to a declared containerPort (or declare ${target})`,
    });
  }
  if (o.hints && probedOnly.length > 0) {
    out.push({
      severity: 'info',
      path,
      message: `port ${label} targets ${target}/${protocol}, which the probes of ${listNames(probedOnly)} use but its containers do not declare; declare containerPort ${target} (with a name) to document it and allow a named targetPort`,
    });
  }
  if (o.hints && undeclared.length > 0) {
    out.push({
      severity: 'info',
      path,
      message: `port ${label} targets ${target}/${protocol} but ${listNames(undeclared)} declares no container ports; declare containerPort ${target} (with a name) to document it and allow a named targetPort`,
    });
  }
  return out;
}

export const serviceTargetPort: Check = {
  id: 'service-target-port',
  severity: 'error',
  description:
    'Each Service port must reach a port of the selected containers: a named targetPort no container declares gets no endpoints (error); a number the containers do not declare is likely a typo (warning); with no declared ports at all, suggest declaring it (info).',
  kinds: ['Service'],
  scope: 'cross',
  admission: true,
  origin: { article: 'Service ports and targetPort must match the containers (not covered by kube-score, kube-linter or Polaris)' },
  run(svc, ctx) {
    const templates = templatesSelectedByService(ctx, svc);
    if (!templates || templates.length === 0) return [];
    const out: Problem[] = [];
    arr(at(svc, ['spec', 'ports'])).forEach((p, i) => {
      const port = rec(p);
      if (port) out.push(...portProblems(port, i, { templates, hints: ctx.mode === 'cli' }));
    });
    return out;
  },
};

export const SERVICE_CHECKS: readonly Check[] = [serviceSelectorNoMatch, serviceTargetPort];
