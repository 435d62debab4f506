/**
 * Object builders for the routing tests (and for other ingress parts' tests that need a table):
 * compact constructors for IngressClass, Ingress, Service, EndpointSlice and TLS Secret objects
 * shaped as the API server stores them.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { KObject } from '../../api/types.js';
import { INGRESS_CONTROLLER } from '../types.js';
import type { RoutingInputs } from './compute.js';

export function ingressClass(name: string, opts: { controller?: string; isDefault?: boolean } = {}): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'IngressClass',
    metadata: {
      name,
      ...(opts.isDefault ? { annotations: { 'ingressclass.kubernetes.io/is-default-class': 'true' } } : {}),
    },
    spec: { controller: opts.controller ?? INGRESS_CONTROLLER },
  };
}

let uidCounter = 0;

export function ingress(
  name: string,
  spec: Record<string, unknown>,
  opts: { ns?: string; created?: string; annotations?: Record<string, string>; deleting?: boolean } = {},
): KObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: opts.ns ?? 'default',
      uid: `uid-${name}-${++uidCounter}`,
      creationTimestamp: opts.created ?? '2024-01-01T00:00:00Z',
      ...(opts.annotations ? { annotations: opts.annotations } : {}),
      ...(opts.deleting ? { deletionTimestamp: '2024-06-01T00:00:00Z' } : {}),
    },
    spec: { ingressClassName: 'kubelite', ...spec },
  };
}

/** `backend:` of an Ingress path: a service port by number or by name. */
export function svcBackend(service: string, port: number | string): Record<string, unknown> {
  return { service: { name: service, port: typeof port === 'number' ? { number: port } : { name: port } } };
}

/** One rule: host ('' for none) and [path, pathType, backend] triples. */
export function rule(host: string, paths: [string, string, Record<string, unknown>][]): Record<string, unknown> {
  return {
    ...(host ? { host } : {}),
    http: { paths: paths.map(([path, pathType, backend]) => ({ path, pathType, backend })) },
  };
}

export function service(
  name: string,
  ports: { name?: string; port: number; targetPort?: number | string }[],
  opts: { ns?: string; type?: string; externalName?: string } = {},
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name, namespace: opts.ns ?? 'default' },
    spec: {
      type: opts.type ?? 'ClusterIP',
      ...(opts.externalName ? { externalName: opts.externalName } : {}),
      ports: ports.map((p) => ({ protocol: 'TCP', ...p })),
    },
  };
}

export function endpointSlice(
  serviceName: string,
  opts: { ports: { name?: string; port: number }[]; endpoints: { addresses: string[]; ready?: boolean }[]; ns?: string; name?: string },
): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: {
      name: opts.name ?? `${serviceName}-${++uidCounter}`,
      namespace: opts.ns ?? 'default',
      labels: { 'kubernetes.io/service-name': serviceName },
    },
    addressType: 'IPv4',
    ports: opts.ports.map((p) => ({ protocol: 'TCP', name: p.name ?? '', port: p.port })),
    endpoints: opts.endpoints.map((e) => ({
      addresses: e.addresses,
      conditions: e.ready === undefined ? {} : { ready: e.ready },
    })),
  };
}

/** A Service with one unnamed port 8080 → pods on 80 with one ready address (the usual backend). */
export function simpleBackend(name: string, address: string, ns = 'default'): KObject[] {
  return [
    service(name, [{ port: 8080, targetPort: 80 }], { ns }),
    endpointSlice(name, { ports: [{ port: 80 }], endpoints: [{ addresses: [address] }], ns }),
  ];
}

export function tlsSecret(
  name: string,
  { certPem, keyPem }: { certPem: string; keyPem: string },
  opts: { ns?: string; type?: string } = {},
): KObject {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name, namespace: opts.ns ?? 'default' },
    type: opts.type ?? 'kubernetes.io/tls',
    data: { 'tls.crt': Buffer.from(certPem).toString('base64'), 'tls.key': Buffer.from(keyPem).toString('base64') },
  };
}

/** A self-signed EC certificate for `cn` (openssl CLI; tests only). */
export function selfSigned(cn: string): { certPem: string; keyPem: string } {
  const dir = mkdtempSync(join(tmpdir(), 'ingress-routes-'));
  try {
    execFileSync(
      'openssl',
      ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-days', '1',
        '-subj', `/CN=${cn}`, '-keyout', join(dir, 'k.pem'), '-out', join(dir, 'c.pem')],
      { stdio: 'ignore' },
    );
    return { certPem: readFileSync(join(dir, 'c.pem'), 'utf8'), keyPem: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Inputs with our default class "kubelite" and the given objects sorted by kind. */
export function inputs(objs: KObject[], opts: { classes?: KObject[] } = {}): RoutingInputs {
  const of = (kind: string): KObject[] => objs.filter((o) => o.kind === kind);
  return {
    ingressClasses: opts.classes ?? [ingressClass('kubelite', { isDefault: true })],
    ingresses: of('Ingress'),
    services: of('Service'),
    endpointSlices: of('EndpointSlice'),
    secrets: of('Secret'),
  };
}
