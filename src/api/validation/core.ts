/**
 * Core-group kinds other than Pod and Service: Namespace, ConfigMap, Secret, Endpoints,
 * ServiceAccount, Node and Event (the main rules of kube's core validation for each).
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asArr, asNum, asObj, asStr, child, deepEqual, fe, index, key, type Obj } from './field.js';
import {
  each,
  isConfigMapKey,
  isValidPortNum,
  nameIsDNSLabel,
  nameIsDNSSubdomain,
  isDNS1123Subdomain,
  validateCIDR,
  validateDNS1123Label,
  validateIP,
  validateQualifiedName,
} from './names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { PROTOCOLS } from './pod.js';
import { nonSpecialIP } from './service.js';

export const MAX_SECRET_SIZE = 1024 * 1024;
const STANDARD_FINALIZERS = new Set(['kubernetes', 'orphan', 'foregroundDeletion']);

// ---- Namespace ----
export function validateNamespace(ns: Obj): StatusCause[] {
  const out = validateObjectMeta(ns.metadata, { namespaced: false, nameFn: nameIsDNSLabel });
  asArr(asObj(ns.spec).finalizers).forEach((f, i) => {
    const s = asStr(f);
    const p = index('spec.finalizers', i);
    out.push(...validateQualifiedName(s, p));
    if (!s.includes('/') && !STANDARD_FINALIZERS.has(s)) out.push(fe.invalid(p, s, 'name is neither a standard finalizer name nor is it fully qualified'));
  });
  return out;
}

/** Namespace updates keep spec.finalizers (changed only through /finalize) and status as they were. */
export function validateNamespaceUpdate(ns: Obj, old: Obj): StatusCause[] {
  return validateObjectMetaUpdate(ns.metadata, old.metadata);
}

export function validateNamespaceStatusUpdate(ns: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(ns.metadata, old.metadata);
  const phase = asStr(asObj(ns.status).phase);
  const deleting = !!asObj(ns.metadata).deletionTimestamp;
  if (!deleting && phase !== 'Active') out.push(fe.invalid('status.Phase', phase, 'may only be \'Active\' if `deletionTimestamp` is empty'));
  if (deleting && phase !== 'Terminating') out.push(fe.invalid('status.Phase', phase, 'may only be in terminating status if `deletionTimestamp` is not empty'));
  return out;
}

// ---- ConfigMap / Secret ----
const b64len = (v: unknown): number => Buffer.from(asStr(v), 'base64').length;

export function validateConfigMap(cm: Obj): StatusCause[] {
  const out = validateObjectMeta(cm.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const data = asObj(cm.data);
  const bin = asObj(cm.binaryData);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    out.push(...each(key('data', k), k, isConfigMapKey(k)));
    if (k in bin) out.push(fe.invalid(key('data', k), k, 'duplicate of key present in binaryData'));
    total += Buffer.byteLength(asStr(v));
  }
  for (const [k, v] of Object.entries(bin)) {
    out.push(...each(key('binaryData', k), k, isConfigMapKey(k)));
    if (k in data) out.push(fe.invalid(key('binaryData', k), k, 'duplicate of key present in data'));
    total += b64len(v);
  }
  if (total > MAX_SECRET_SIZE) out.push(fe.tooLong('', MAX_SECRET_SIZE));
  return out;
}

export function validateConfigMapUpdate(cm: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(cm.metadata, old.metadata);
  if (old.immutable === true) {
    if (cm.immutable !== true) out.push(fe.forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (!deepEqual(cm.data, old.data)) out.push(fe.forbidden('data', 'field is immutable when `immutable` is set'));
    if (!deepEqual(cm.binaryData, old.binaryData)) out.push(fe.forbidden('binaryData', 'field is immutable when `immutable` is set'));
  }
  out.push(...validateConfigMap(cm));
  return out;
}

export function validateSecret(s: Obj): StatusCause[] {
  const out = validateObjectMeta(s.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const data = asObj(s.data);
  let total = 0;
  for (const [k, v] of Object.entries(data)) {
    out.push(...each(key('data', k), k, isConfigMapKey(k)));
    total += b64len(v);
  }
  if (total > MAX_SECRET_SIZE) out.push(fe.tooLong('data', MAX_SECRET_SIZE));
  const has = (k: string): boolean => Object.prototype.hasOwnProperty.call(data, k);
  const jsonCheck = (k: string): void => {
    if (!has(k)) {
      out.push(fe.required(key('data', k)));
      return;
    }
    try {
      JSON.parse(Buffer.from(asStr(data[k]), 'base64').toString('utf8'));
    } catch (e) {
      out.push(fe.invalid(key('data', k), '<secret contents redacted>', (e as Error).message));
    }
  };
  switch (asStr(s.type)) {
    case 'kubernetes.io/service-account-token':
      if (!asStr(asObj(asObj(s.metadata).annotations)['kubernetes.io/service-account.name'])) {
        out.push(fe.required('metadata.annotations[kubernetes.io/service-account.name]'));
      }
      break;
    case 'kubernetes.io/dockercfg':
      jsonCheck('.dockercfg');
      break;
    case 'kubernetes.io/dockerconfigjson':
      jsonCheck('.dockerconfigjson');
      break;
    case 'kubernetes.io/basic-auth':
      if (!has('username') && !has('password')) out.push(fe.required('data[username]'), fe.required('data[password]'));
      break;
    case 'kubernetes.io/ssh-auth':
      if (!b64len(data['ssh-privatekey'])) out.push(fe.required('data[ssh-privatekey]'));
      break;
    case 'kubernetes.io/tls':
      if (!has('tls.crt')) out.push(fe.required('data[tls.crt]'));
      if (!has('tls.key')) out.push(fe.required('data[tls.key]'));
      break;
    default:
  }
  return out;
}

export function validateSecretUpdate(s: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(s.metadata, old.metadata);
  if (asStr(s.type) !== asStr(old.type)) out.push(fe.invalid('type', asStr(s.type), 'field is immutable'));
  if (old.immutable === true) {
    if (s.immutable !== true) out.push(fe.forbidden('immutable', 'field is immutable when `immutable` is set'));
    if (!deepEqual(s.data, old.data)) out.push(fe.forbidden('data', 'field is immutable when `immutable` is set'));
  }
  out.push(...validateSecret(s));
  return out;
}

// ---- Endpoints ----
function validateEndpointAddress(a: Obj, path: string): StatusCause[] {
  const ip = asStr(a?.ip);
  const out = validateIP(child(path, 'ip'), ip);
  if (asStr(a?.hostname)) out.push(...validateDNS1123Label(asStr(a.hostname), child(path, 'hostname')));
  if (typeof a?.nodeName === 'string') out.push(...each(child(path, 'nodeName'), a.nodeName, isDNS1123Subdomain(a.nodeName)));
  out.push(...nonSpecialIP(ip, child(path, 'ip')));
  return out;
}

export function validateEndpointPort(p: Obj, requireName: boolean, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const name = asStr(p?.name);
  if (requireName && !name) out.push(fe.required(child(path, 'name')));
  else if (name) out.push(...validateDNS1123Label(name, child(path, 'name')));
  const port = asNum(p?.port);
  out.push(...isValidPortNum(port).map((m) => fe.invalid(child(path, 'port'), port, m)));
  const proto = asStr(p?.protocol);
  if (!proto) out.push(fe.required(child(path, 'protocol')));
  else if (!PROTOCOLS.includes(proto)) out.push(fe.notSupported(child(path, 'protocol'), proto, PROTOCOLS));
  if (typeof p?.appProtocol === 'string') out.push(...validateQualifiedName(p.appProtocol, child(path, 'appProtocol')));
  return out;
}

export function validateEndpoints(ep: Obj): StatusCause[] {
  const out = validateObjectMeta(ep.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  asArr(ep.subsets).forEach((ss: Obj, i: number) => {
    const p = index('subsets', i);
    const addrs = asArr(ss?.addresses);
    const nr = asArr(ss?.notReadyAddresses);
    if (addrs.length === 0 && nr.length === 0) out.push(fe.required(p, 'must specify `addresses` or `notReadyAddresses`'));
    addrs.forEach((a, j) => out.push(...validateEndpointAddress(a, index(child(p, 'addresses'), j))));
    nr.forEach((a, j) => out.push(...validateEndpointAddress(a, index(child(p, 'notReadyAddresses'), j))));
    const ports = asArr(ss?.ports);
    ports.forEach((pt, j) => out.push(...validateEndpointPort(pt, ports.length > 1, index(child(p, 'ports'), j))));
  });
  return out;
}

// ---- ServiceAccount / Node / Event ----
export function validateServiceAccount(sa: Obj): StatusCause[] {
  const out = validateObjectMeta(sa.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  asArr(sa.secrets).forEach((s: Obj, i: number) => {
    if (asStr(s?.name)) out.push(...each(child(index('secrets', i), 'name'), asStr(s.name), isDNS1123Subdomain(asStr(s.name))));
  });
  asArr(sa.imagePullSecrets).forEach((s: Obj, i: number) => {
    if (asStr(s?.name)) out.push(...each(child(index('imagePullSecrets', i), 'name'), asStr(s.name), isDNS1123Subdomain(asStr(s.name))));
  });
  return out;
}

export function validateNode(node: Obj): StatusCause[] {
  const out = validateObjectMeta(node.metadata, { namespaced: false, nameFn: nameIsDNSSubdomain });
  const spec = asObj(node.spec);
  asArr(spec.podCIDRs).forEach((c, i) => out.push(...validateCIDR(index('spec.podCIDRs', i), asStr(c))));
  if (asArr(spec.podCIDRs).length > 2) out.push(fe.invalid('spec.podCIDRs', asArr(spec.podCIDRs).map(asStr), 'may specify no more than one CIDR for each IP family'));
  const effects = ['NoSchedule', 'PreferNoSchedule', 'NoExecute'];
  asArr(spec.taints).forEach((t: Obj, i: number) => {
    const p = index('spec.taints', i);
    out.push(...validateQualifiedName(asStr(t?.key), child(p, 'key')));
    const eff = asStr(t?.effect);
    if (!eff) out.push(fe.required(child(p, 'effect')));
    else if (!effects.includes(eff)) out.push(fe.notSupported(child(p, 'effect'), eff, effects));
  });
  return out;
}

export function validateNodeUpdate(node: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(node.metadata, old.metadata);
  out.push(...validateNode(node));
  const oc = asArr(asObj(old.spec).podCIDRs);
  if (oc.length > 0 && !deepEqual(asObj(node.spec).podCIDRs, oc)) out.push(fe.forbidden('spec.podCIDRs', 'node updates may not change podCIDR except from "" to valid'));
  return out;
}

/** Core v1 Event (legacy rules: the involved object's namespace must agree with the event's). */
export function validateCoreEvent(ev: Obj): StatusCause[] {
  const out = validateObjectMeta(ev.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const ns = asStr(asObj(ev.metadata).namespace);
  const ins = asStr(asObj(ev.involvedObject).namespace);
  if (!ev.eventTime) {
    if (!ins ? ns !== '' && ns !== 'default' : ns !== ins) out.push(fe.invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
  } else {
    if (!ins && ns !== 'default' && ns !== 'kube-system') out.push(fe.invalid('involvedObject.namespace', ins, 'does not match event.namespace'));
    if (!asStr(ev.reportingComponent)) out.push(fe.required('reportingComponent'));
    out.push(...validateQualifiedName(asStr(ev.reportingComponent), 'reportingComponent'));
    if (!asStr(ev.reportingInstance)) out.push(fe.required('reportingInstance'));
    if (!asStr(ev.action)) out.push(fe.required('action'));
    if (!asStr(ev.reason)) out.push(fe.required('reason'));
  }
  return out;
}

/** events.k8s.io/v1 Event: eventTime, reportingController, reportingInstance, action and reason are required. */
export function validateEventsV1Event(ev: Obj): StatusCause[] {
  const out = validateObjectMeta(ev.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  if (!ev.eventTime) out.push(fe.required('eventTime'));
  const ns = asStr(asObj(ev.metadata).namespace);
  const rns = asStr(asObj(ev.regarding).namespace);
  if (!rns && ns !== 'default' && ns !== 'kube-system') out.push(fe.invalid('regarding.namespace', rns, 'does not match event.namespace'));
  if (!asStr(ev.reportingController)) out.push(fe.required('reportingController'));
  else out.push(...validateQualifiedName(asStr(ev.reportingController), 'reportingController'));
  if (!asStr(ev.reportingInstance)) out.push(fe.required('reportingInstance'));
  if (!asStr(ev.action)) out.push(fe.required('action'));
  if (!asStr(ev.reason)) out.push(fe.required('reason'));
  if (asStr(ev.note).length > 1024) out.push(fe.tooLong('note', 1024));
  return out;
}
