/**
 * The remaining kinds, main rules only: EndpointSlice, Ingress, IngressClass, NetworkPolicy,
 * HorizontalPodAutoscaler (v1 and v2), PodDisruptionBudget and Lease.
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asArr, asNum, asObj, asStr, child, fe, FIELD_IMMUTABLE, index, isObj, nonNegative, type Obj } from './field.js';
import {
  each,
  isDNS1035Label,
  isDNS1123Subdomain,
  isIPv4String,
  isIPv6String,
  isValidPortName,
  isValidPortNum,
  isWildcardDNS1123Subdomain,
  nameIsDNSSubdomain,
  validateCIDR,
  validateDNS1123Label,
  validateQualifiedName,
} from './names.js';
import { validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { PROTOCOLS } from './pod.js';
import { notMoreThan100Percent, validatePositiveIntOrPercent, goIntOrString } from './apps.js';

const meta = (o: Obj): StatusCause[] => validateObjectMeta(o.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });

// ---- EndpointSlice ----
const ADDRESS_TYPES = ['FQDN', 'IPv4', 'IPv6'];

export function validateEndpointSlice(es: Obj): StatusCause[] {
  const out = meta(es);
  const at = asStr(es.addressType);
  if (!at) out.push(fe.required('addressType'));
  else if (!ADDRESS_TYPES.includes(at)) out.push(fe.notSupported('addressType', at, ADDRESS_TYPES));
  const eps = asArr(es.endpoints);
  if (eps.length > 1000) out.push(fe.tooMany('endpoints', eps.length, 1000));
  eps.forEach((ep: Obj, i: number) => {
    const p = index('endpoints', i);
    const addrs = asArr(ep?.addresses);
    if (addrs.length === 0) out.push(fe.required(child(p, 'addresses'), 'must contain at least 1 address'));
    else if (addrs.length > 100) out.push(fe.tooMany(child(p, 'addresses'), addrs.length, 100));
    addrs.forEach((a, j) => {
      const ap = index(child(p, 'addresses'), j);
      const s = asStr(a);
      if (at === 'IPv4' && !isIPv4String(s)) out.push(fe.invalid(ap, s, 'must be a valid IPv4 address'));
      if (at === 'IPv6' && !isIPv6String(s)) out.push(fe.invalid(ap, s, 'must be a valid IPv6 address'));
      if (at === 'FQDN') out.push(...each(ap, s, isDNS1123Subdomain(s)));
    });
    if (asStr(ep?.hostname)) out.push(...validateDNS1123Label(asStr(ep.hostname), child(p, 'hostname')));
    if (typeof ep?.nodeName === 'string') out.push(...each(child(p, 'nodeName'), ep.nodeName, isDNS1123Subdomain(ep.nodeName)));
  });
  const ports = asArr(es.ports);
  if (ports.length > 20000) out.push(fe.tooMany('ports', ports.length, 20000));
  const names = new Set<string>();
  ports.forEach((pt: Obj, i: number) => {
    const p = index('ports', i);
    const name = asStr(pt?.name);
    if (name) out.push(...validateDNS1123Label(name, child(p, 'name')));
    if (names.has(name)) out.push(fe.duplicate(child(p, 'name'), name));
    names.add(name);
    const proto = asStr(pt?.protocol);
    if (!proto) out.push(fe.required(child(p, 'protocol')));
    else if (!PROTOCOLS.includes(proto)) out.push(fe.notSupported(child(p, 'protocol'), proto, PROTOCOLS));
    if (typeof pt?.port === 'number') out.push(...isValidPortNum(pt.port).map((m) => fe.invalid(child(p, 'port'), pt.port, m)));
    if (typeof pt?.appProtocol === 'string') out.push(...validateQualifiedName(pt.appProtocol, child(p, 'appProtocol')));
  });
  return out;
}

export function validateEndpointSliceUpdate(es: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(es.metadata, old.metadata);
  if (asStr(es.addressType) !== asStr(old.addressType)) out.push(fe.invalid('addressType', asStr(es.addressType), FIELD_IMMUTABLE));
  return [...out, ...validateEndpointSlice(es).filter((c) => !c.field?.startsWith('metadata.'))];
}

// ---- Ingress / IngressClass ----
function validateIngressBackend(b: Obj, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const hasSvc = isObj(b.service);
  const hasRes = isObj(b.resource);
  if (hasSvc && hasRes) return [fe.invalid(path, '', 'cannot set both resource and service backends')];
  if (hasSvc) {
    const s = b.service as Obj;
    const sp = child(path, 'service');
    if (!asStr(s.name)) out.push(fe.required(child(sp, 'name')));
    else out.push(...each(child(sp, 'name'), asStr(s.name), isDNS1035Label(asStr(s.name))));
    const port = asObj(s.port);
    const pp = child(sp, 'port');
    const hasName = asStr(port.name) !== '';
    const hasNum = asNum(port.number) !== 0;
    if (hasName && hasNum) out.push(fe.invalid(pp, '', 'cannot set both port name & port number'));
    else if (hasName) out.push(...isValidPortName(asStr(port.name)).map((m) => fe.invalid(child(pp, 'name'), asStr(port.name), m)));
    else if (hasNum) out.push(...isValidPortNum(asNum(port.number)).map((m) => fe.invalid(child(pp, 'number'), asNum(port.number), m)));
    else out.push(fe.required(pp, 'port name or number is required'));
  } else if (hasRes) {
    const r = b.resource as Obj;
    const rp = child(path, 'resource');
    if (!asStr(r.kind)) out.push(fe.required(child(rp, 'kind')));
    if (!asStr(r.name)) out.push(fe.required(child(rp, 'name')));
  } else {
    out.push(fe.invalid(path, '', 'resource or service backend is required'));
  }
  return out;
}

const PATH_TYPES = ['Exact', 'ImplementationSpecific', 'Prefix'];

export function validateIngress(ing: Obj): StatusCause[] {
  const out = meta(ing);
  const spec = asObj(ing.spec);
  const rules = asArr(spec.rules);
  if (!isObj(spec.defaultBackend) && rules.length === 0) out.push(fe.invalid('spec.rules', [], 'either `defaultBackend` or `rules` must be specified'));
  if (isObj(spec.defaultBackend)) out.push(...validateIngressBackend(spec.defaultBackend, 'spec.defaultBackend'));
  rules.forEach((r: Obj, i: number) => {
    const p = index('spec.rules', i);
    const host = asStr(r?.host);
    if (host) {
      if (/^[0-9.]+$/.test(host) || host.includes(':')) out.push(fe.invalid(child(p, 'host'), host, 'must be a DNS name, not an IP address'));
      else if (host.includes('*')) out.push(...each(child(p, 'host'), host, isWildcardDNS1123Subdomain(host)));
      else out.push(...each(child(p, 'host'), host, isDNS1123Subdomain(host)));
    }
    if (!isObj(r?.http)) return;
    const hp = child(p, 'http');
    const paths = asArr(r.http.paths);
    if (paths.length === 0) out.push(fe.required(child(hp, 'paths')));
    paths.forEach((pa: Obj, j: number) => {
      const pp = index(child(hp, 'paths'), j);
      const pt = asStr(pa?.pathType);
      const path = asStr(pa?.path);
      if (!pt) out.push(fe.required(child(pp, 'pathType'), 'pathType must be specified'));
      else if (!PATH_TYPES.includes(pt)) out.push(fe.notSupported(child(pp, 'pathType'), pt, PATH_TYPES));
      if ((pt === 'Exact' || pt === 'Prefix') && !path.startsWith('/')) out.push(fe.invalid(child(pp, 'path'), path, "must be an absolute path"));
      if (pt === 'ImplementationSpecific' && path && !path.startsWith('/')) out.push(fe.invalid(child(pp, 'path'), path, 'must be an absolute path'));
      out.push(...validateIngressBackend(asObj(pa?.backend), child(pp, 'backend')));
    });
  });
  asArr(spec.tls).forEach((t: Obj, i: number) => {
    asArr(t?.hosts).forEach((h, j) => {
      const s = asStr(h);
      const hp = index(child(index('spec.tls', i), 'hosts'), j);
      out.push(...each(hp, s, s.includes('*') ? isWildcardDNS1123Subdomain(s) : isDNS1123Subdomain(s)));
    });
  });
  if (typeof spec.ingressClassName === 'string') out.push(...each('spec.ingressClassName', spec.ingressClassName, isDNS1123Subdomain(spec.ingressClassName)));
  return out;
}

export function validateIngressClass(ic: Obj): StatusCause[] {
  const out = validateObjectMeta(ic.metadata, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const ctrl = asStr(asObj(ic.spec).controller);
  if (!ctrl) out.push(fe.required('spec.controller'));
  else if (ctrl.length > 250) out.push(fe.tooLong('spec.controller', 250));
  else {
    const i = ctrl.indexOf('/');
    if (i <= 0 || i === ctrl.length - 1) out.push(fe.invalid('spec.controller', ctrl, 'must be a domain-prefixed path (such as "acme.io/foo")'));
    else out.push(...each('spec.controller', ctrl.slice(0, i), isDNS1123Subdomain(ctrl.slice(0, i))));
  }
  return out;
}

export function validateIngressClassUpdate(ic: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(ic.metadata, old.metadata);
  const c = asStr(asObj(ic.spec).controller);
  if (c !== asStr(asObj(old.spec).controller)) out.push(fe.invalid('spec.controller', c, FIELD_IMMUTABLE));
  return [...out, ...validateIngressClass(ic).filter((x) => !x.field?.startsWith('metadata.'))];
}

// ---- NetworkPolicy ----
function validatePeers(peers: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  asArr(peers).forEach((peer: Obj, i: number) => {
    const p = index(path, i);
    const n = ['podSelector', 'namespaceSelector', 'ipBlock'].filter((k) => isObj(peer?.[k])).length;
    if (n === 0) out.push(fe.required(p, 'must specify a peer'));
    if (isObj(peer?.ipBlock) && n > 1) out.push(fe.forbidden(p, 'may not specify both ipBlock and another peer'));
    if (isObj(peer?.podSelector)) out.push(...validateLabelSelector(peer.podSelector, child(p, 'podSelector')));
    if (isObj(peer?.namespaceSelector)) out.push(...validateLabelSelector(peer.namespaceSelector, child(p, 'namespaceSelector')));
    if (isObj(peer?.ipBlock)) {
      const bp = child(p, 'ipBlock');
      const cidr = asStr(peer.ipBlock.cidr);
      if (!cidr) out.push(fe.required(child(bp, 'cidr')));
      else out.push(...validateCIDR(child(bp, 'cidr'), cidr));
      asArr(peer.ipBlock.except).forEach((e, j) => out.push(...validateCIDR(index(child(bp, 'except'), j), asStr(e))));
    }
  });
  return out;
}

function validateNPPorts(ports: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  asArr(ports).forEach((pt: Obj, i: number) => {
    const p = index(path, i);
    const proto = pt?.protocol;
    if (proto !== undefined && proto !== null && !PROTOCOLS.includes(asStr(proto))) out.push(fe.notSupported(child(p, 'protocol'), asStr(proto), PROTOCOLS));
    if (typeof pt?.port === 'number') out.push(...isValidPortNum(pt.port).map((m) => fe.invalid(child(p, 'port'), pt.port, m)));
    if (typeof pt?.port === 'string') out.push(...isValidPortName(pt.port).map((m) => fe.invalid(child(p, 'port'), pt.port, m)));
    if (typeof pt?.endPort === 'number') {
      if (typeof pt.port !== 'number') out.push(fe.required(child(p, 'port'), 'must be specified when endPort is specified'));
      else if (pt.endPort < pt.port) out.push(fe.invalid(child(p, 'endPort'), pt.endPort, 'must be greater than or equal to `port`'));
    }
  });
  return out;
}

export function validateNetworkPolicy(np: Obj): StatusCause[] {
  const out = meta(np);
  const spec = asObj(np.spec);
  out.push(...validateLabelSelector(spec.podSelector, 'spec.podSelector'));
  asArr(spec.ingress).forEach((r: Obj, i: number) => {
    out.push(...validateNPPorts(r?.ports, child(index('spec.ingress', i), 'ports')));
    out.push(...validatePeers(r?.from, child(index('spec.ingress', i), 'from')));
  });
  asArr(spec.egress).forEach((r: Obj, i: number) => {
    out.push(...validateNPPorts(r?.ports, child(index('spec.egress', i), 'ports')));
    out.push(...validatePeers(r?.to, child(index('spec.egress', i), 'to')));
  });
  const types = asArr(spec.policyTypes).map(asStr);
  if (types.length > 2) out.push(fe.invalid('spec.policyTypes', types, 'may not specify more than two policyTypes'));
  else types.forEach((t, i) => {
    if (t !== 'Ingress' && t !== 'Egress') out.push(fe.notSupported(index('spec.policyTypes', i), t, ['Egress', 'Ingress']));
  });
  return out;
}

// ---- HorizontalPodAutoscaler ----
function validateScaleTargetRef(ref: unknown, path: string): StatusCause[] {
  const r = asObj(ref);
  const out: StatusCause[] = [];
  const kind = asStr(r.kind);
  const name = asStr(r.name);
  if (!kind) out.push(fe.required(child(path, 'kind')));
  else if (/[/%]/.test(kind)) out.push(fe.invalid(child(path, 'kind'), kind, `may not contain '${kind.includes('/') ? '/' : '%'}'`));
  if (!name) out.push(fe.required(child(path, 'name')));
  else if (/[/%]/.test(name)) out.push(fe.invalid(child(path, 'name'), name, `may not contain '${name.includes('/') ? '/' : '%'}'`));
  return out;
}

export function validateHPA(hpa: Obj): StatusCause[] {
  const out = meta(hpa);
  const spec = asObj(hpa.spec);
  const min = spec.minReplicas;
  const max = asNum(spec.maxReplicas);
  if (typeof min === 'number' && min < 1) out.push(fe.invalid('spec.minReplicas', min, 'must be greater than or equal to 1'));
  if (max < 1) out.push(fe.invalid('spec.maxReplicas', max, 'must be greater than 0'));
  if (typeof min === 'number' && max < min) out.push(fe.invalid('spec.maxReplicas', max, 'must be greater than or equal to `minReplicas`'));
  out.push(...validateScaleTargetRef(spec.scaleTargetRef, 'spec.scaleTargetRef'));
  if (typeof spec.targetCPUUtilizationPercentage === 'number' && spec.targetCPUUtilizationPercentage < 1) {
    out.push(fe.invalid('spec.targetCPUUtilizationPercentage', spec.targetCPUUtilizationPercentage, 'must be greater than 0'));
  }
  const metricTypes = ['ContainerResource', 'External', 'Object', 'Pods', 'Resource'];
  asArr(spec.metrics).forEach((m: Obj, i: number) => {
    const p = index('spec.metrics', i);
    const t = asStr(m?.type);
    if (!t) out.push(fe.required(child(p, 'type'), `must specify a metric source type, must be one of "ContainerResource", "External", "Object", "Pods", "Resource"`));
    else if (!metricTypes.includes(t)) out.push(fe.notSupported(child(p, 'type'), t, metricTypes));
  });
  for (const dir of ['scaleUp', 'scaleDown']) {
    const rules = asObj(asObj(spec.behavior)[dir]);
    const p = `spec.behavior.${dir}`;
    const sw = rules.stabilizationWindowSeconds;
    if (typeof sw === 'number' && (sw < 0 || sw > 3600)) out.push(fe.invalid(`${p}.stabilizationWindowSeconds`, sw, 'must be less than or equal to 3600'));
    asArr(rules.policies).forEach((pol: Obj, i: number) => {
      const pp = index(`${p}.policies`, i);
      if (asNum(pol?.value) <= 0) out.push(fe.invalid(child(pp, 'value'), asNum(pol?.value), 'must be greater than zero'));
      const ps = asNum(pol?.periodSeconds);
      if (ps <= 0) out.push(fe.invalid(child(pp, 'periodSeconds'), ps, 'must be greater than zero'));
      else if (ps > 1800) out.push(fe.invalid(child(pp, 'periodSeconds'), ps, 'must be less than or equal to 1800'));
    });
  }
  return out;
}

// ---- PodDisruptionBudget ----
export function validatePDB(pdb: Obj): StatusCause[] {
  const out = meta(pdb);
  const spec = asObj(pdb.spec);
  const has = (v: unknown): boolean => v !== undefined && v !== null;
  if (has(spec.minAvailable) && has(spec.maxUnavailable)) {
    out.push(fe.invalid('spec.minAvailable', goIntOrString(spec.minAvailable), 'minAvailable and maxUnavailable cannot be both set'));
  }
  for (const f of ['minAvailable', 'maxUnavailable']) {
    if (!has(spec[f])) continue;
    out.push(...validatePositiveIntOrPercent(spec[f], `spec.${f}`));
    out.push(...notMoreThan100Percent(spec[f], `spec.${f}`));
  }
  out.push(...validateLabelSelector(spec.selector, 'spec.selector'));
  const uep = spec.unhealthyPodEvictionPolicy;
  if (has(uep) && uep !== 'AlwaysAllow' && uep !== 'IfHealthyBudget') {
    out.push(fe.notSupported('spec.unhealthyPodEvictionPolicy', asStr(uep), ['AlwaysAllow', 'IfHealthyBudget']));
  }
  return out;
}

// ---- Lease ----
export function validateLease(l: Obj): StatusCause[] {
  const out = meta(l);
  const spec = asObj(l.spec);
  if (typeof spec.leaseDurationSeconds === 'number' && spec.leaseDurationSeconds <= 0) {
    out.push(fe.invalid('spec.leaseDurationSeconds', spec.leaseDurationSeconds, 'must be greater than 0'));
  }
  out.push(...nonNegative(spec.leaseTransitions, 'spec.leaseTransitions'));
  const strat = spec.strategy;
  if (strat !== undefined && strat !== null && !asStr(strat)) out.push(fe.required('spec.strategy'));
  return out;
}
