/**
 * Service and Ingress checks on a single object: the Service type, a selector, valid port
 * names, and TLS on Ingresses. Whether the selector/targetPort/backends match real objects is
 * cross-object and lives elsewhere.
 */
import { arr, at, isRecord, rec, str } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import { POD_KINDS, containerLabel, perContainer } from './util.js';

const SERVICE_TYPES = ['ClusterIP', 'NodePort', 'LoadBalancer', 'ExternalName'];

export const serviceType: Check = {
  id: 'service-type',
  severity: 'warning',
  description: 'Services should be ClusterIP (exposed through an Ingress) unless they must be reached from outside: NodePort opens a port on every node; LoadBalancer exposes the Service publicly.',
  kinds: ['Service'],
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['service-type'], kubeLinter: ['exposed-services'], article: 'the right Service type' },
  run(obj) {
    const type = at(obj, ['spec', 'type']);
    if (type === undefined || type === 'ClusterIP' || type === 'ExternalName') return [];
    const path = ['spec', 'type'];
    if (typeof type !== 'string' || !SERVICE_TYPES.includes(type)) {
      return [{ message: `type ${JSON.stringify(type)} is not a Service type; use ClusterIP, NodePort, LoadBalancer or ExternalName`, path, severity: 'error' }];
    }
    if (type === 'NodePort') {
      return [{ message: 'type NodePort opens a port on every node, bypassing NetworkPolicies on the way in; use ClusterIP behind an Ingress, or a LoadBalancer', path }];
    }
    return [{ message: 'type LoadBalancer exposes the Service outside the cluster; keep it only if it must be reachable from outside, otherwise use ClusterIP (behind an Ingress for HTTP)', path, severity: 'info' }];
  },
};

export const serviceSelector: Check = {
  id: 'service-selector',
  severity: 'info',
  description: 'A Service (other than ExternalName) should select its pods with spec.selector; without one its endpoints must be managed by hand.',
  kinds: ['Service'],
  scope: 'object',
  admission: true,
  origin: { article: 'selectors that really select the pods' },
  run(obj) {
    if (at(obj, ['spec', 'type']) === 'ExternalName') return [];
    const sel = at(obj, ['spec', 'selector']);
    if (isRecord(sel) && Object.keys(sel).length > 0) return [];
    return [{
      message: 'the Service has no selector, so no endpoints are created for it automatically; set spec.selector to the pods\' labels (or manage EndpointSlices yourself on purpose)',
      path: sel === undefined ? ['spec'] : ['spec', 'selector'],
    }];
  },
};

/** validation.IsValidPortName: IANA_SVC_NAME, 1-15 of [a-z0-9-], a letter, no edge or double hyphens. */
export function portNameError(name: string): string | undefined {
  if (name.length === 0 || name.length > 15) return 'must be 1 to 15 characters';
  if (!/^[a-z0-9-]+$/.test(name)) return 'may only contain lowercase letters, digits and \'-\'';
  if (!/[a-z]/.test(name)) return /^\d+$/.test(name) ? 'is a quoted number; write the number unquoted' : 'must contain at least one letter';
  if (name.startsWith('-') || name.endsWith('-')) return 'must not begin or end with \'-\'';
  if (name.includes('--')) return 'must not contain \'--\'';
  return undefined;
}

export const portName: Check = {
  id: 'port-name',
  severity: 'error',
  description: 'Container port names and named Service targetPorts must be valid port names (at most 15 lowercase letters, digits and hyphens, with a letter); the API server rejects them otherwise.',
  kinds: ['Service', ...POD_KINDS],
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['invalid-target-ports'], kubeScore: ['container-ports-check'] },
  run(obj) {
    if (obj['kind'] === 'Service') {
      const out: Problem[] = [];
      arr(at(obj, ['spec', 'ports'])).forEach((p, i) => {
        const tp = rec(p)?.['targetPort'];
        if (typeof tp !== 'string') return;
        const err = portNameError(tp);
        if (err) out.push({ message: `ports[${i}].targetPort "${tp}" ${err}; use a valid port name or the port number`, path: ['spec', 'ports', i, 'targetPort'] });
      });
      return out;
    }
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      arr(c.container['ports']).forEach((p, i) => {
        const name = str(rec(p)?.['name']);
        if (name === undefined) return;
        const err = portNameError(name);
        if (err) out.push({ message: `${containerLabel(c)}: port name "${name}" ${err}; rename it`, path: [...c.path, 'ports', i, 'name'], container: c.name });
      });
      return out;
    });
  },
};

/** Whether a TLS host entry covers a rule host (exact, or a one-label wildcard). */
function covers(tlsHost: string, host: string): boolean {
  if (tlsHost === host) return true;
  if (!tlsHost.startsWith('*.')) return false;
  const dot = host.indexOf('.');
  return dot > 0 && host.slice(dot) === tlsHost.slice(1);
}

export const ingressTls: Check = {
  id: 'ingress-tls',
  severity: 'warning',
  description: 'Ingresses should terminate TLS (spec.tls with a certificate Secret, e.g. managed by cert-manager) for every host they route.',
  kinds: ['Ingress'],
  scope: 'object',
  admission: true,
  origin: { polaris: ['tlsSettingsMissing'], article: 'TLS on Ingress' },
  run(obj) {
    const tls = arr(at(obj, ['spec', 'tls'])).map(rec).filter((t): t is Record<string, unknown> => t !== undefined);
    if (tls.length === 0) {
      return [{
        message: 'the Ingress has no tls section, so traffic is plain HTTP; add spec.tls with the hosts and a certificate secretName (cert-manager can issue it)',
        path: at(obj, ['spec', 'tls']) === undefined ? ['spec'] : ['spec', 'tls'],
      }];
    }
    // An entry without hosts applies the controller's default certificate to every host.
    if (tls.some((t) => arr(t['hosts']).length === 0)) return [];
    const tlsHosts = tls.flatMap((t) => arr(t['hosts']).filter((h): h is string => typeof h === 'string'));
    const out: Problem[] = [];
    arr(at(obj, ['spec', 'rules'])).forEach((r, i) => {
      const host = str(rec(r)?.['host']);
      if (!host || tlsHosts.some((h) => covers(h, host))) return;
      out.push({
        message: `host ${host} is not listed in any spec.tls[].hosts, so it is served without TLS; add it to a tls entry`,
        path: ['spec', 'rules', i, 'host'], severity: 'info',
      });
    });
    return out;
  },
};

export const SERVICE_CHECKS: readonly Check[] = [serviceType, serviceSelector, portName, ingressTls];
