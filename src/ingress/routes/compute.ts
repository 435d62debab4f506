/**
 * The routing computation: IngressClasses, Ingresses, Services, EndpointSlices and Secrets in,
 * one `RoutingTable` out. Pure (no I/O, no clock); the controller recomputes on every change and
 * hands the table to the data plane.
 *
 * Order of work (each step relies on the previous one):
 * 1. select our Ingresses, oldest first (`classes.ts`) — so "older wins" is "first claim wins";
 * 2. TLS: every Ingress's `spec.tls` (the set of TLS hosts drives ssl-redirect's default, the first
 *    valid Secret per host is its certificate);
 * 3. routes of non-canary Ingresses, merged per host; a second claim on host+path+pathType is a
 *    `Conflict`;
 * 4. canary Ingresses attach their rules to the existing route with the same host+path;
 * 5. defaultBackend from the oldest Ingress that has one; ssl-redirect resolved; routes sorted.
 * Cost is linear in the input (Services, slices and Secrets are indexed first).
 */
import { isObject, type KObject } from '../../api/types.js';
import type { Backend, Conflict, HostRoutes, IngressRef, PathType, Route, RoutingTable, TlsCertificate } from '../types.js';
import { parseIngressAnnotations, type IngressAnnotations } from './annotations.js';
import { BackendIndex, backendWarning } from './backends.js';
import { servedIngresses } from './classes.js';
import { compareRoutes, compilePathRegex, wildcardFor } from './match.js';
import { indexSecrets, loadTlsSecret } from './tls.js';

export interface RoutingInputs {
  ingressClasses: KObject[];
  ingresses: KObject[];
  services: KObject[];
  endpointSlices: KObject[];
  secrets: KObject[];
}

export interface ComputeOptions {
  /** The IngressClass `spec.controller` we answer to (default INGRESS_CONTROLLER). */
  controller?: string;
}

const PATH_TYPES: readonly PathType[] = ['Exact', 'Prefix', 'ImplementationSpecific'];

interface Parsed {
  ing: KObject;
  ref: IngressRef;
  spec: Record<string, unknown>;
  ann: IngressAnnotations;
}

interface RulePath {
  host: string;
  path: string;
  pathType: PathType;
  backend: unknown;
}

export function computeRoutingTable(objs: RoutingInputs, opts: ComputeOptions = {}): RoutingTable {
  const ingresses = servedIngresses(objs.ingressClasses, objs.ingresses, opts.controller);
  const backends = new BackendIndex(objs.services, objs.endpointSlices);
  const secrets = indexSecrets(objs.secrets);
  const hosts = new Map<string, HostRoutes>();
  const conflicts: Conflict[] = [];
  const warnings: RoutingTable['warnings'] = [];
  const warned = new Set<string>();
  const warn = (ingress: IngressRef, reason: string, message: string): void => {
    const key = `${ingress.uid}\n${ingress.namespace}/${ingress.name}\n${reason}\n${message}`;
    if (warned.has(key)) return;
    warned.add(key);
    warnings.push({ ingress, reason, message });
  };
  const entry = (host: string): HostRoutes => {
    let e = hosts.get(host);
    if (!e) {
      e = { host, routes: [] };
      hosts.set(host, e);
    }
    return e;
  };
  const resolve = (p: Parsed, backend: unknown): Backend => {
    const b = backends.resolve(p.ref.namespace, backend);
    const problem = backendWarning(b);
    if (problem) warn(p.ref, b.kind === 'unsupported' ? 'UnsupportedBackend' : 'BackendNotFound', problem);
    return b;
  };

  const parsed: Parsed[] = ingresses.map((ing) => {
    const ref = refOf(ing);
    const ann = parseIngressAnnotations(ing.metadata.annotations);
    for (const w of ann.warnings) warn(ref, w.reason, w.message);
    return { ing, ref, spec: isObject(ing.spec) ? ing.spec : {}, ann };
  });

  // 2. TLS.
  const tlsHosts = new Set<string>();
  const certs = new Map<string, TlsCertificate>();
  for (const p of parsed) {
    for (const tls of arr(p.spec.tls)) {
      let tlsHostList = strings(tls.hosts);
      // No hosts: the entry covers the Ingress's own rule hosts.
      if (tlsHostList.length === 0) tlsHostList = rulePaths(p.spec).map((r) => r.host).filter((h) => h !== '');
      const hostsHere = [...new Set(tlsHostList.map((h) => h.toLowerCase()))];
      for (const h of hostsHere) tlsHosts.add(h);
      const secretName = typeof tls.secretName === 'string' ? tls.secretName : '';
      if (!secretName) continue;
      const loaded = loadTlsSecret(secrets, { namespace: p.ref.namespace, name: secretName });
      if (!loaded.ok) {
        warn(p.ref, loaded.reason, loaded.message);
        continue;
      }
      for (const h of hostsHere) if (!certs.has(h)) certs.set(h, loaded.cert);
    }
  }

  // 3. Routes of non-canary Ingresses.
  const claims = new Map<string, IngressRef>();
  const sslRedirectSet = new Map<Route, boolean | undefined>();
  for (const p of parsed) {
    if (p.ann.canary) continue;
    for (const r of rulePaths(p.spec)) {
      const e = entry(r.host);
      if (r.path === '') continue; // a rule without http: the host exists, nothing routed.
      if (invalidRegex(p, r)) {
        warn(p.ref, 'InvalidPathRegex', `path ${r.path} of host "${r.host}" is not a valid regular expression; the path is not served`);
        continue;
      }
      const key = `${r.host}\n${r.pathType}\n${r.path}`;
      const owner = claims.get(key);
      if (owner) {
        if (owner.uid === p.ref.uid && owner.namespace === p.ref.namespace && owner.name === p.ref.name) {
          warn(p.ref, 'DuplicatePath', `host "${r.host}" path ${r.path} (${r.pathType}) is listed twice; the first one is used`);
        } else {
          conflicts.push({ host: r.host, path: r.path, pathType: r.pathType, winner: owner, loser: p.ref });
        }
        continue;
      }
      claims.set(key, p.ref);
      const route: Route = {
        source: p.ref,
        path: r.path,
        pathType: r.pathType,
        backend: resolve(p, r.backend),
        options: { ...p.ann.options },
      };
      sslRedirectSet.set(route, p.ann.sslRedirectSet);
      e.routes.push(route);
    }
  }

  // 4. Canaries attach to the main route with the same host+path (same pathType preferred).
  for (const p of parsed) {
    const canary = p.ann.canary;
    if (!canary) continue;
    for (const r of rulePaths(p.spec)) {
      if (r.path === '') continue;
      const routes = hosts.get(r.host)?.routes ?? [];
      const main =
        routes.find((x) => x.path === r.path && x.pathType === r.pathType) ?? routes.find((x) => x.path === r.path);
      const where = `host "${r.host}" path ${r.path}`;
      if (!main) {
        warn(p.ref, 'CanaryWithoutMainRoute', `canary rule for ${where} has no non-canary Ingress route to attach to; ignored`);
        continue;
      }
      if (main.canary) {
        warn(p.ref, 'CanaryConflict', `${where} already has a canary from an older Ingress; ignored`);
        continue;
      }
      main.canary = { backend: resolve(p, r.backend), ...canary };
    }
  }

  // 5. Default backend, TLS-only hosts, ssl-redirect, order.
  let defaultBackend: Backend | undefined;
  for (const p of parsed) {
    if (p.ann.canary || !isObject(p.spec.defaultBackend)) continue;
    defaultBackend = resolve(p, p.spec.defaultBackend);
    break;
  }
  for (const h of tlsHosts) entry(h);
  const hasTls = (host: string): boolean => {
    if (host === '') return false;
    const w = wildcardFor(host);
    return tlsHosts.has(host) || (w !== undefined && tlsHosts.has(w));
  };
  for (const e of hosts.values()) {
    if (e.host !== '') {
      const w = wildcardFor(e.host);
      const tls = certs.get(e.host) ?? (w !== undefined ? certs.get(w) : undefined);
      if (tls) e.tls = tls;
    }
    const tlsHere = hasTls(e.host);
    for (const route of e.routes) route.options.sslRedirect = sslRedirectSet.get(route) ?? tlsHere;
    e.routes.sort(compareRoutes);
  }

  return { hosts, ...(defaultBackend ? { defaultBackend } : {}), conflicts, warnings };
}

function refOf(ing: KObject): IngressRef {
  return {
    namespace: ing.metadata.namespace ?? '',
    name: ing.metadata.name ?? '',
    uid: ing.metadata.uid ?? '',
    creationTimestamp: ing.metadata.creationTimestamp ?? '',
  };
}

/** Flattens `spec.rules[].http.paths[]`; a rule without `http` yields one entry with path ''. */
function rulePaths(spec: Record<string, unknown>): RulePath[] {
  const out: RulePath[] = [];
  for (const rule of arr(spec.rules)) {
    const host = typeof rule.host === 'string' ? rule.host.toLowerCase() : '';
    const paths = isObject(rule.http) ? arr(rule.http.paths) : [];
    if (paths.length === 0) out.push({ host, path: '', pathType: 'Prefix', backend: undefined });
    for (const p of paths) {
      const pathType = PATH_TYPES.includes(p.pathType as PathType) ? (p.pathType as PathType) : 'ImplementationSpecific';
      out.push({ host, path: typeof p.path === 'string' && p.path !== '' ? p.path : '/', pathType, backend: p.backend });
    }
  }
  return out;
}

/** A regex path (ImplementationSpecific + use-regex) that JavaScript cannot compile. */
function invalidRegex(p: Parsed, r: RulePath): boolean {
  return r.pathType === 'ImplementationSpecific' && p.ann.options.useRegex && compilePathRegex(r.path) === null;
}

function arr(v: unknown): Record<string, unknown>[] {
  return Array.isArray(v) ? v.filter(isObject) : [];
}

function strings(v: unknown): string[] {
  return Array.isArray(v) ? v.filter((s): s is string => typeof s === 'string' && s !== '') : [];
}
