/**
 * Service rules (kube's ValidateService / ValidateServiceUpdate). Expects a defaulted and
 * normalized object: clusterIPs mirrors clusterIP (see defaults' prepareServiceForCreate/Update).
 * Whether a clusterIP lies in the service CIDR is the allocator's check, not this one.
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asArr, asNum, asObj, asStr, child, fe, goQuote, goRaw, index, isObj, type Obj } from './field.js';
import {
  each,
  isDNS1123Subdomain,
  isIPv4String,
  isIPv6String,
  isValidPortNum,
  nameIsDNS1035Label,
  parseIPv4,
  parseIPv6,
  validateCIDR,
  validateDNS1123Label,
  validateIP,
  validateQualifiedName,
} from './names.js';
import { validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { PROTOCOLS, validatePortNumOrName } from './pod.js';

const TYPES = ['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'];
const MAX_CLIENT_IP_AFFINITY = 86400;

export const isHeadless = (spec: Obj): boolean => asArr(spec.clusterIPs).length === 1 && spec.clusterIPs[0] === 'None';
const externallyAccessible = (spec: Obj): boolean =>
  spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && asArr(spec.externalIPs).length > 0);
export const needsHealthCheck = (spec: Obj): boolean => spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';

/** ValidateServiceClusterIPsRelatedFields; exported for the allocator, which runs it before allocating. */
export function validateClusterIPsRelated(specIn: unknown): StatusCause[] {
  const spec = asObj(specIn);
  if (spec.type === 'ExternalName') return [];
  const out: StatusCause[] = [];
  const ips = asArr(spec.clusterIPs).map(asStr);
  const fams = asArr(spec.ipFamilies).map(asStr);
  const cip = asStr(spec.clusterIP);
  if (cip) {
    if (ips.length === 0) out.push(fe.required('spec.clusterIPs'));
    else if (ips[0] !== cip) out.push(fe.invalid('spec.clusterIPs', ips, 'first value must match `clusterIP`'));
  } else if (ips.length) {
    out.push(fe.invalid('spec.clusterIPs', ips, 'must be empty when `clusterIP` is not specified'));
  }
  const seen = new Set<string>();
  fams.forEach((f, i) => {
    if (f !== 'IPv4' && f !== 'IPv6') out.push(fe.notSupported(index('spec.ipFamilies', i), f, ['IPv4', 'IPv6']));
    if (seen.has(f)) out.push(fe.duplicate(index('spec.ipFamilies', i), f));
    seen.add(f);
  });
  const pol = spec.ipFamilyPolicy;
  const pols = ['PreferDualStack', 'RequireDualStack', 'SingleStack'];
  if (pol !== undefined && pol !== null && !pols.includes(pol)) out.push(fe.notSupported('spec.ipFamilyPolicy', asStr(pol), pols));
  let bad = false;
  ips.forEach((ip, i) => {
    if (i === 0 && ip === 'None') {
      if (ips.length > 1) {
        bad = true;
        out.push(fe.invalid('spec.clusterIPs', ips, "'None' must be the first and only value"));
      }
      return;
    }
    const e = validateIP(index('spec.clusterIPs', i), ip);
    if (e.length) bad = true;
    out.push(...e);
  });
  if (ips.length > 2) out.push(fe.invalid('spec.clusterIPs', ips, 'may only hold up to 2 values'));
  if (bad) return out;
  if (ips.length > 1 && !(ips.length === 2 && isIPv4String(ips[0]) !== isIPv4String(ips[1]))) {
    out.push(fe.invalid('spec.clusterIPs', ips, 'may specify no more than one IP for each IP family'));
  }
  if (!isHeadless(spec)) {
    ips.forEach((ip, i) => {
      if (i >= fams.length) return;
      if (fams[i] === 'IPv4' && isIPv6String(ip)) out.push(fe.invalid(index('spec.clusterIPs', i), ip, `expected an IPv4 value as indicated by \`ipFamilies[${i}]\``));
      if (fams[i] === 'IPv6' && !isIPv6String(ip)) out.push(fe.invalid(index('spec.clusterIPs', i), ip, `expected an IPv6 value as indicated by \`ipFamilies[${i}]\``));
    });
  }
  return out;
}

/** ValidateNonSpecialIP for externalIPs. */
export function nonSpecialIP(ip: string, path: string): StatusCause[] {
  const v4 = parseIPv4(ip);
  const v6 = v4 ? undefined : parseIPv6(ip);
  const unspecified = v4 ? v4.every((x) => x === 0) : !!v6 && v6.every((x) => x === 0);
  if (unspecified) return [fe.invalid(path, ip, 'may not be unspecified (0.0.0.0)')];
  if ((v4 && v4[0] === 127) || (v6 && v6.slice(0, 7).every((x) => x === 0) && v6[7] === 1)) {
    return [fe.invalid(path, ip, 'may not be in the loopback range (127.0.0.0/8, ::1/128)')];
  }
  if ((v4 && v4[0] === 169 && v4[1] === 254) || (v6 && (v6[0] & 0xffc0) === 0xfe80)) {
    return [fe.invalid(path, ip, 'may not be in the link-local range (169.254.0.0/16, fe80::/10)')];
  }
  if ((v4 && v4[0] === 224 && v4[1] === 0 && v4[2] === 0) || (v6 && v6[0] === 0xff02)) {
    return [fe.invalid(path, ip, 'may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)')];
  }
  return [];
}

/** %#v of the core.ServicePort key kube uses for duplicate (protocol, port) pairs. */
function goPortKey(proto: string, port: number): ReturnType<typeof goRaw> {
  return goRaw(
    `core.ServicePort{Name:"", Protocol:${goQuote(proto)}, AppProtocol:(*string)(nil), Port:${port}, TargetPort:intstr.IntOrString{Type:0, IntVal:0, StrVal:""}, NodePort:0}`,
  );
}

function validateServicePort(sp: Obj, requireName: boolean, names: Set<string>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const name = asStr(sp.name);
  if (requireName && !name) out.push(fe.required(child(path, 'name')));
  else if (name) {
    out.push(...validateDNS1123Label(name, child(path, 'name')));
    if (names.has(name)) out.push(fe.duplicate(child(path, 'name'), name));
    else names.add(name);
  }
  const port = asNum(sp.port);
  out.push(...isValidPortNum(port).map((m) => fe.invalid(child(path, 'port'), port, m)));
  const proto = asStr(sp.protocol);
  if (!proto) out.push(fe.required(child(path, 'protocol')));
  else if (!PROTOCOLS.includes(proto)) out.push(fe.notSupported(child(path, 'protocol'), proto, PROTOCOLS));
  out.push(...validatePortNumOrName(sp.targetPort, child(path, 'targetPort')));
  if (typeof sp.appProtocol === 'string') out.push(...validateQualifiedName(sp.appProtocol, child(path, 'appProtocol')));
  return out;
}

export function validateService(svc: Obj): StatusCause[] {
  const out = validateObjectMeta(svc.metadata, { namespaced: true, nameFn: nameIsDNS1035Label });
  const spec = asObj(svc.spec);
  const ports = asArr(spec.ports) as Obj[];
  const type = asStr(spec.type);
  const headless = isHeadless(spec);
  if (ports.length === 0 && !headless && type !== 'ExternalName') out.push(fe.required('spec.ports'));
  const ip0 = asArr(spec.clusterIPs)[0];
  if (type === 'LoadBalancer' && headless) out.push(fe.invalid('spec.clusterIPs[0]', ip0, "may not be set to 'None' for LoadBalancer services"));
  if (type === 'NodePort' && headless) out.push(fe.invalid('spec.clusterIPs[0]', ip0, "may not be set to 'None' for NodePort services"));
  if (type === 'ExternalName') {
    if (asArr(spec.clusterIPs).length > 0) out.push(fe.forbidden('spec.clusterIPs', 'may not be set for ExternalName services'));
    if (asArr(spec.ipFamilies).length > 0) out.push(fe.forbidden('spec.ipFamilies', 'may not be set for ExternalName services'));
    if (spec.ipFamilyPolicy !== undefined && spec.ipFamilyPolicy !== null) out.push(fe.forbidden('spec.ipFamilyPolicy', 'may not be set for ExternalName services'));
    const cname = asStr(spec.externalName).replace(/\.$/, '');
    if (cname) out.push(...each('spec.externalName', cname, isDNS1123Subdomain(cname)));
    else out.push(fe.required('spec.externalName'));
  }
  const names = new Set<string>();
  ports.forEach((p, i) => out.push(...validateServicePort(asObj(p), ports.length > 1, names, index('spec.ports', i))));
  if (isObj(spec.selector)) out.push(...validateLabels(spec.selector, 'spec.selector'));
  const aff = asStr(spec.sessionAffinity);
  if (!aff) out.push(fe.required('spec.sessionAffinity'));
  else if (aff !== 'ClientIP' && aff !== 'None') out.push(fe.notSupported('spec.sessionAffinity', aff, ['ClientIP', 'None']));
  if (aff === 'ClientIP') {
    const cfg = spec.sessionAffinityConfig;
    const p = 'spec.sessionAffinityConfig';
    const t = asObj(asObj(cfg).clientIP).timeoutSeconds;
    if (!isObj(cfg)) out.push(fe.required(p, 'when session affinity type is ClientIP'));
    else if (!isObj(cfg.clientIP)) out.push(fe.required(`${p}.clientIP`, 'when session affinity type is ClientIP'));
    else if (typeof t !== 'number') out.push(fe.required(`${p}.clientIP.timeoutSeconds`, 'when session affinity type is ClientIP'));
    else if (t <= 0 || t > MAX_CLIENT_IP_AFFINITY) {
      out.push(fe.invalid(`${p}.clientIP.timeoutSeconds`, t, `must be greater than 0 and less than ${MAX_CLIENT_IP_AFFINITY}`));
    }
  } else if (aff === 'None' && spec.sessionAffinityConfig) {
    out.push(fe.forbidden('spec.sessionAffinityConfig', 'must not be set when session affinity is None'));
  }
  out.push(...validateClusterIPsRelated(spec));
  asArr(spec.externalIPs).forEach((ip, i) => {
    const p = index('spec.externalIPs', i);
    const e = validateIP(p, asStr(ip));
    out.push(...(e.length ? e : nonSpecialIP(asStr(ip), p)));
  });
  if (!type) out.push(fe.required('spec.type'));
  else if (!TYPES.includes(type)) out.push(fe.notSupported('spec.type', type, TYPES));
  if (type === 'ClusterIP') {
    ports.forEach((p, i) => {
      if (asNum(p?.nodePort) !== 0) out.push(fe.forbidden(`spec.ports[${i}].nodePort`, "may not be used when `type` is 'ClusterIP'"));
    });
  }
  const nodePorts = new Set<string>();
  ports.forEach((p, i) => {
    const np = asNum(p?.nodePort);
    if (!np) return;
    const k = `${asStr(p.protocol)}/${np}`;
    if (nodePorts.has(k)) out.push(fe.duplicate(`spec.ports[${i}].nodePort`, np));
    nodePorts.add(k);
  });
  const seen = new Set<string>();
  ports.forEach((p, i) => {
    const k = `${asStr(p?.protocol)}/${asNum(p?.port)}`;
    if (seen.has(k)) out.push(fe.duplicate(`spec.ports[${i}]`, goPortKey(asStr(p?.protocol), asNum(p?.port))));
    seen.add(k);
  });
  const ranges = asArr(spec.loadBalancerSourceRanges);
  if (ranges.length) {
    if (type !== 'LoadBalancer') out.push(fe.forbidden('spec.LoadBalancerSourceRanges', "may only be used when `type` is 'LoadBalancer'"));
    ranges.forEach((r, i) => out.push(...validateCIDR(index('spec.LoadBalancerSourceRanges', i), asStr(r).trim())));
  }
  if (spec.allocateLoadBalancerNodePorts !== undefined && spec.allocateLoadBalancerNodePorts !== null && type !== 'LoadBalancer') {
    out.push(fe.forbidden('spec.allocateLoadBalancerNodePorts', "may only be used when `type` is 'LoadBalancer'"));
  }
  if (type === 'LoadBalancer' && (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null)) {
    out.push(fe.required('allocateLoadBalancerNodePorts'));
  }
  if (spec.loadBalancerClass !== undefined && spec.loadBalancerClass !== null) {
    if (type !== 'LoadBalancer') out.push(fe.forbidden('spec.loadBalancerClass', 'may only be used when `type` is \'LoadBalancer\''));
    else out.push(...validateQualifiedName(asStr(spec.loadBalancerClass), 'spec.loadBalancerClass'));
  }
  const etp = asStr(spec.externalTrafficPolicy);
  if (!externallyAccessible(spec)) {
    if (etp) out.push(fe.invalid('spec.externalTrafficPolicy', etp, 'may only be set for externally-accessible services'));
  } else if (!etp) out.push(fe.required('spec.externalTrafficPolicy'));
  else if (etp !== 'Cluster' && etp !== 'Local') out.push(fe.notSupported('spec.externalTrafficPolicy', etp, ['Cluster', 'Local']));
  const hc = asNum(spec.healthCheckNodePort);
  if (!needsHealthCheck(spec)) {
    if (hc !== 0) out.push(fe.invalid('spec.healthCheckNodePort', hc, "may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"));
  } else if (hc === 0) out.push(fe.required('spec.healthCheckNodePort'));
  else out.push(...isValidPortNum(hc).map((m) => fe.invalid('spec.healthCheckNodePort', hc, m)));
  const itp = spec.internalTrafficPolicy;
  if ((itp === undefined || itp === null) && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(type)) out.push(fe.required('spec.internalTrafficPolicy'));
  if (itp !== undefined && itp !== null && itp !== 'Cluster' && itp !== 'Local') out.push(fe.notSupported('spec.internalTrafficPolicy', asStr(itp), ['Cluster', 'Local']));
  if (spec.trafficDistribution !== undefined && spec.trafficDistribution !== null && spec.trafficDistribution !== 'PreferClose') {
    out.push(fe.notSupported('spec.trafficDistribution', asStr(spec.trafficDistribution), ['PreferClose']));
  }
  return out;
}

function upgradeDowngradeClusterIPs(o: Obj, n: Obj): StatusCause[] {
  if (n.type === 'ExternalName' || o.type === 'ExternalName') return [];
  if (isHeadless(o) && isHeadless(n)) return [];
  const oips = asArr(o.clusterIPs).map(asStr);
  const nips = asArr(n.clusterIPs).map(asStr);
  const out: StatusCause[] = [];
  if (oips.length === nips.length) {
    oips.forEach((ip, i) => {
      if (ip !== nips[i]) out.push(fe.invalid(index('spec.clusterIPs', i), nips, 'may not change once set'));
    });
  } else if (oips.length > nips.length) {
    if (nips.length === 0) out.push(fe.invalid('spec.clusterIPs[0]', nips, 'primary clusterIP can not be unset'));
    if (oips.length > 0 && nips.length > 0 && nips[0] !== oips[0]) out.push(fe.invalid('spec.clusterIPs[0]', nips, 'may not change once set'));
    if (nips.length === 1 && n.ipFamilyPolicy !== 'SingleStack') {
      out.push(fe.invalid('spec.ipFamilyPolicy', n.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary clusterIP"));
    }
  } else if (oips.length > 0 && nips[0] !== oips[0]) {
    out.push(fe.invalid('spec.clusterIPs[0]', nips, 'may not change once set'));
  }
  return out;
}

function upgradeDowngradeIPFamilies(o: Obj, n: Obj): StatusCause[] {
  if (n.type === 'ExternalName' || o.type === 'ExternalName') return [];
  if (isHeadless(o) !== isHeadless(n) || isHeadless(n)) return [];
  const of = asArr(o.ipFamilies).map(asStr);
  const nf = asArr(n.ipFamilies).map(asStr);
  const out: StatusCause[] = [];
  if (of.length === nf.length) {
    of.forEach((f, i) => {
      if (f !== nf[i]) out.push(fe.invalid('spec.ipFamilies[0]', nf, 'may not change once set'));
    });
  } else if (of.length > nf.length) {
    if (asArr(n.clusterIPs).length === 0) out.push(fe.invalid('spec.ipFamilies[0]', nf, 'primary ipFamily can not be unset'));
    if (nf.length > 0 && nf[0] !== of[0]) out.push(fe.invalid('spec.ipFamilies[0]', asArr(n.clusterIPs).map(asStr), 'may not change once set'));
    if (nf.length === 1 && n.ipFamilyPolicy !== 'SingleStack') {
      out.push(fe.invalid('spec.ipFamilyPolicy', n.ipFamilyPolicy ?? null, "must be set to 'SingleStack' when releasing the secondary ipFamily"));
    }
  } else if (of.length > 0 && nf.length > 0 && nf[0] !== of[0]) {
    out.push(fe.invalid('spec.ipFamilies[0]', asArr(n.clusterIPs).map(asStr), 'may not change once set'));
  }
  return out;
}

export function validateServiceUpdate(svc: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(svc.metadata, old.metadata);
  const n = asObj(svc.spec);
  const o = asObj(old.spec);
  out.push(...upgradeDowngradeClusterIPs(o, n));
  out.push(...upgradeDowngradeIPFamilies(o, n));
  if (o.type === 'LoadBalancer' && n.type === 'LoadBalancer' && (o.loadBalancerClass ?? null) !== (n.loadBalancerClass ?? null)) {
    out.push(fe.invalid('spec.loadBalancerClass', n.loadBalancerClass ?? null, 'may not change once set'));
  }
  if (needsHealthCheck(o) && needsHealthCheck(n) && asNum(n.healthCheckNodePort) !== asNum(o.healthCheckNodePort)) {
    out.push(fe.forbidden('spec.healthCheckNodePort', 'field is immutable'));
  }
  out.push(...validateService(svc));
  return out;
}

/** Status writes: only load-balancer ingress entries are checked. */
export function validateServiceStatusUpdate(svc: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(svc.metadata, old.metadata);
  asArr(asObj(asObj(svc.status).loadBalancer).ingress).forEach((ing: Obj, i: number) => {
    const p = index('status.loadBalancer.ingress', i);
    if (asStr(ing?.ip)) out.push(...validateIP(child(p, 'ip'), asStr(ing.ip)));
    if (asStr(ing?.hostname)) out.push(...each(child(p, 'hostname'), asStr(ing.hostname), isDNS1123Subdomain(asStr(ing.hostname))));
  });
  return out;
}
