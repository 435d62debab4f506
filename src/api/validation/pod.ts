/**
 * Pod and PodTemplateSpec rules (kube's ValidatePodSpec and friends, the essentials): containers,
 * ports, env, probes and handlers, resources, volumes and mounts, restart/DNS policy, and the pod
 * update rule that only images, activeDeadlineSeconds, tolerations (additions) and a grace-period
 * fix-up may change.
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asArr, asNum, asObj, asStr, child, deepEqual, fe, index, isObj, key, nonNegative, type Obj } from './field.js';
import {
  each,
  inclusiveRangeError,
  isConfigMapKey,
  isDNS1123Subdomain,
  isHTTPHeaderName,
  isValidPortName,
  isValidPortNum,
  nameIsDNSSubdomain,
  validateDNS1123Label,
  validateIP,
  validateQualifiedName,
} from './names.js';
import { validateAnnotations, validateLabels, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { parseQuantity, QUANTITY_REGEX_MESSAGE, quantityString } from './quantity.js';

export const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];
const MAX_INT32 = 2147483647;

/** Port as int or IANA service name (kube's ValidatePortNumOrName). */
export function validatePortNumOrName(port: unknown, path: string): StatusCause[] {
  if (typeof port === 'number') return isValidPortNum(port).map((m) => fe.invalid(path, port, m));
  if (typeof port === 'string') return isValidPortName(port).map((m) => fe.invalid(path, port, m));
  return [fe.invalid(path, 0, inclusiveRangeError(1, 65535))];
}

function validateContainerPorts(ports: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const names = new Set<string>();
  asArr(ports).forEach((p: Obj, i: number) => {
    const ip = index(path, i);
    const name = asStr(p?.name);
    if (name) {
      const msgs = isValidPortName(name);
      if (msgs.length) out.push(...msgs.map((m) => fe.invalid(child(ip, 'name'), name, m)));
      else if (names.has(name)) out.push(fe.duplicate(child(ip, 'name'), name));
      else names.add(name);
    }
    const cp = asNum(p?.containerPort);
    if (cp === 0) out.push(fe.required(child(ip, 'containerPort')));
    else out.push(...isValidPortNum(cp).map((m) => fe.invalid(child(ip, 'containerPort'), cp, m)));
    const hp = asNum(p?.hostPort);
    if (hp !== 0) out.push(...isValidPortNum(hp).map((m) => fe.invalid(child(ip, 'hostPort'), hp, m)));
    const proto = asStr(p?.protocol);
    if (!proto) out.push(fe.required(child(ip, 'protocol')));
    else if (!PROTOCOLS.includes(proto)) out.push(fe.notSupported(child(ip, 'protocol'), proto, PROTOCOLS));
  });
  return out;
}

function validateEnv(env: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  asArr(env).forEach((e: Obj, i: number) => {
    const ip = index(path, i);
    const name = asStr(e?.name);
    if (!name) out.push(fe.required(child(ip, 'name')));
    else if (/[^\x20-\x7e]|=/.test(name)) {
      out.push(fe.invalid(child(ip, 'name'), name, "a valid environment variable name must consist only of printable ASCII characters other than '='"));
    }
    const from = asObj(e?.valueFrom);
    if (e?.valueFrom) {
      const sources = ['fieldRef', 'resourceFieldRef', 'configMapKeyRef', 'secretKeyRef'].filter((k) => from[k]);
      const vp = child(ip, 'valueFrom');
      for (const k of ['configMapKeyRef', 'secretKeyRef']) {
        if (!from[k]) continue;
        const sel = asObj(from[k]);
        const kp = child(vp, k);
        const keyName = asStr(sel.key);
        out.push(...each(child(kp, 'name'), asStr(sel.name), nameIsDNSSubdomain(asStr(sel.name), false)));
        if (!keyName) out.push(fe.required(child(kp, 'key')));
        else out.push(...each(child(kp, 'key'), keyName, isConfigMapKey(keyName)));
      }
      if (sources.length === 0) out.push(fe.invalid(vp, '', 'must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`'));
      else if (asStr(e.value)) out.push(fe.invalid(vp, '', 'may not be specified when `value` is not empty'));
      else if (sources.length > 1) out.push(fe.invalid(vp, '', 'may not have more than one field specified at a time'));
    }
  });
  return out;
}

const HANDLER_KINDS = ['exec', 'httpGet', 'tcpSocket', 'grpc', 'sleep'] as const;

function validateHandler(h: Obj, path: string, allowed: readonly string[]): StatusCause[] {
  const out: StatusCause[] = [];
  let n = 0;
  for (const k of HANDLER_KINDS) {
    if (!allowed.includes(k) || h[k] === undefined || h[k] === null) continue;
    const hp = child(path, k);
    if (n > 0) {
      out.push(fe.forbidden(hp, 'may not specify more than 1 handler type'));
      continue;
    }
    n++;
    const a = asObj(h[k]);
    if (k === 'exec' && asArr(a.command).length === 0) out.push(fe.required(child(hp, 'command')));
    if (k === 'httpGet') {
      if (!asStr(a.path)) out.push(fe.required(child(hp, 'path')));
      out.push(...validatePortNumOrName(a.port, child(hp, 'port')));
      const scheme = asStr(a.scheme);
      if (scheme !== 'HTTP' && scheme !== 'HTTPS') out.push(fe.notSupported(child(hp, 'scheme'), scheme, ['HTTP', 'HTTPS']));
      for (const hd of asArr(a.httpHeaders)) out.push(...each(child(hp, 'httpHeaders'), asStr(hd?.name), isHTTPHeaderName(asStr(hd?.name))));
    }
    if (k === 'tcpSocket') out.push(...validatePortNumOrName(a.port, child(hp, 'port')));
    if (k === 'grpc') out.push(...validatePortNumOrName(asNum(a.port), child(hp, 'port')));
  }
  if (n === 0) out.push(fe.required(path, 'must specify a handler type'));
  return out;
}

function validateProbe(probe: unknown, path: string, kind: 'liveness' | 'readiness' | 'startup'): StatusCause[] {
  if (!isObj(probe)) return [];
  const out = validateHandler(probe, path, ['exec', 'httpGet', 'tcpSocket', 'grpc']);
  for (const f of ['initialDelaySeconds', 'timeoutSeconds', 'periodSeconds', 'successThreshold', 'failureThreshold']) {
    out.push(...nonNegative(probe[f], child(path, f)));
  }
  const tgp = probe.terminationGracePeriodSeconds;
  if (typeof tgp === 'number' && tgp <= 0) out.push(fe.invalid(child(path, 'terminationGracePeriodSeconds'), tgp, 'must be greater than 0'));
  if (kind !== 'readiness' && probe.successThreshold !== undefined && probe.successThreshold !== 1) {
    out.push(fe.invalid(child(path, 'successThreshold'), probe.successThreshold, 'must be 1'));
  }
  if (kind === 'readiness' && tgp !== undefined && tgp !== null) {
    out.push(fe.invalid(child(path, 'terminationGracePeriodSeconds'), tgp, 'must not be set for readinessProbes'));
  }
  return out;
}

const STD_CONTAINER_RESOURCES = new Set(['cpu', 'memory', 'ephemeral-storage']);

/** Container resources: names, non-negative parseable quantities, requests <= limits. */
export function validateResources(res: unknown, path: string): StatusCause[] {
  const r = asObj(res);
  const out: StatusCause[] = [];
  const limits = asObj(r.limits);
  const requests = asObj(r.requests);
  const check = (list: Obj, p: string): void => {
    for (const [name, q] of Object.entries(list)) {
      const kp = key(p, name);
      out.push(...validateQualifiedName(name, kp));
      if (!name.includes('/') && !STD_CONTAINER_RESOURCES.has(name) && !name.startsWith('hugepages-')) {
        out.push(fe.invalid(kp, name, 'must be a standard resource for containers'));
      }
      const v = parseQuantity(q);
      if (v === undefined) out.push(fe.invalid(kp, quantityString(q), QUANTITY_REGEX_MESSAGE));
      else if (v < 0) out.push(fe.invalid(kp, quantityString(q), 'must be greater than or equal to 0'));
    }
  };
  check(limits, child(path, 'limits'));
  check(requests, child(path, 'requests'));
  for (const [name, q] of Object.entries(requests)) {
    if (!(name in limits)) continue;
    const rv = parseQuantity(q);
    const lv = parseQuantity(limits[name]);
    if (rv === undefined || lv === undefined) continue;
    const overcommit = !name.startsWith('hugepages-') && (STD_CONTAINER_RESOURCES.has(name) || !name.includes('/'));
    if (rv !== lv && !overcommit) {
      out.push(fe.invalid(child(path, 'requests'), quantityString(q), `must be equal to ${name} limit of ${quantityString(limits[name])}`));
    } else if (rv > lv) {
      out.push(fe.invalid(child(path, 'requests'), quantityString(q), `must be less than or equal to ${name} limit of ${quantityString(limits[name])}`));
    }
  }
  return out;
}

function validateVolumeMounts(mounts: unknown, volumes: Set<string>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const points = new Set<string>();
  asArr(mounts).forEach((m: Obj, i: number) => {
    const ip = index(path, i);
    const name = asStr(m?.name);
    const mp = asStr(m?.mountPath);
    if (!name) out.push(fe.required(child(ip, 'name')));
    if (!volumes.has(name)) out.push(fe.notFound(child(ip, 'name'), name));
    if (!mp) out.push(fe.required(child(ip, 'mountPath')));
    if (points.has(mp)) out.push(fe.invalid(child(ip, 'mountPath'), mp, 'must be unique'));
    points.add(mp);
  });
  return out;
}

function validateContainerCommon(c: Obj, volumes: Set<string>, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const name = asStr(c.name);
  if (!name) out.push(fe.required(child(path, 'name')));
  else out.push(...validateDNS1123Label(name, child(path, 'name')));
  if (!asStr(c.image)) out.push(fe.required(child(path, 'image')));
  const tmp = asStr(c.terminationMessagePolicy);
  if (!tmp) out.push(fe.required(child(path, 'terminationMessagePolicy')));
  else if (tmp !== 'File' && tmp !== 'FallbackToLogsOnError') {
    out.push(fe.notSupported(child(path, 'terminationMessagePolicy'), tmp, ['File', 'FallbackToLogsOnError']));
  }
  out.push(...validateContainerPorts(c.ports, child(path, 'ports')));
  out.push(...validateEnv(c.env, child(path, 'env')));
  out.push(...validateVolumeMounts(c.volumeMounts, volumes, child(path, 'volumeMounts')));
  const pp = asStr(c.imagePullPolicy);
  if (!pp) out.push(fe.required(child(path, 'imagePullPolicy')));
  else if (!['Always', 'IfNotPresent', 'Never'].includes(pp)) out.push(fe.notSupported(child(path, 'imagePullPolicy'), pp, ['Always', 'IfNotPresent', 'Never']));
  out.push(...validateResources(c.resources, child(path, 'resources')));
  return out;
}

function validateVolumes(vols: unknown, path: string): { names: Set<string>; errs: StatusCause[] } {
  const names = new Set<string>();
  const errs: StatusCause[] = [];
  asArr(vols).forEach((v: Obj, i: number) => {
    const ip = index(path, i);
    const name = asStr(v?.name);
    if (!name) errs.push(fe.required(child(ip, 'name')));
    else errs.push(...validateDNS1123Label(name, child(ip, 'name')));
    if (name && names.has(name)) errs.push(fe.duplicate(child(ip, 'name'), name));
    else if (name) names.add(name);
    const sources = Object.keys(asObj(v)).filter((k) => k !== 'name' && v[k] !== null && v[k] !== undefined);
    if (sources.length > 1) errs.push(fe.forbidden(child(ip, sources[1]), `may not specify more than 1 volume type`));
  });
  return { names, errs };
}

function validateLifecycle(lc: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  for (const k of ['postStart', 'preStop']) {
    const h = asObj(lc)[k];
    if (isObj(h)) out.push(...validateHandler(h, child(path, k), ['exec', 'httpGet', 'tcpSocket', 'sleep']));
  }
  return out;
}

function validateTolerations(tols: unknown, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  asArr(tols).forEach((t: Obj, i: number) => {
    const ip = index(path, i);
    const k = asStr(t?.key);
    const op = asStr(t?.operator);
    if (k) out.push(...validateQualifiedName(k, child(ip, 'key')));
    if (!k && op !== 'Exists') out.push(fe.invalid(child(ip, 'operator'), op, 'operator must be Exists when `key` is empty, which means "match all values and all keys"'));
    if (t?.tolerationSeconds !== undefined && t?.tolerationSeconds !== null && asStr(t?.effect) !== 'NoExecute') {
      out.push(fe.invalid(child(ip, 'effect'), asStr(t?.effect), 'effect must be \'NoExecute\' when `tolerationSeconds` is set'));
    }
    if (op === 'Exists' && asStr(t?.value)) out.push(fe.invalid(child(ip, 'operator'), asStr(t?.value), 'value must be empty when `operator` is \'Exists\''));
    else if (op && op !== 'Equal' && op !== 'Exists') out.push(fe.notSupported(child(ip, 'operator'), op, ['Equal', 'Exists']));
    const eff = asStr(t?.effect);
    if (eff && !['NoSchedule', 'PreferNoSchedule', 'NoExecute'].includes(eff)) {
      out.push(fe.notSupported(child(ip, 'effect'), eff, ['NoSchedule', 'PreferNoSchedule', 'NoExecute']));
    }
  });
  return out;
}

export interface PodSpecOptions {
  /** true for a Pod (not a template): hostNetwork hostPort must equal containerPort. */
  isPod?: boolean;
}

/** ValidatePodSpec (essentials). Expects a defaulted spec. */
export function validatePodSpec(specIn: unknown, path: string, opts: PodSpecOptions = {}): StatusCause[] {
  const spec = asObj(specIn);
  const out: StatusCause[] = [];
  if (spec.terminationGracePeriodSeconds === undefined || spec.terminationGracePeriodSeconds === null) {
    out.push(fe.required(child(path, 'terminationGracePeriodSeconds')));
  }
  const { names: vols, errs } = validateVolumes(spec.volumes, child(path, 'volumes'));
  out.push(...errs);
  const containers = asArr(spec.containers) as Obj[];
  const cPath = child(path, 'containers');
  if (containers.length === 0) out.push(fe.required(cPath));
  const all = new Set<string>();
  containers.forEach((c, i) => {
    const ip = index(cPath, i);
    const ct = asObj(c);
    out.push(...validateContainerCommon(ct, vols, ip));
    if (all.has(asStr(ct.name))) out.push(fe.duplicate(child(ip, 'name'), asStr(ct.name)));
    else all.add(asStr(ct.name));
    if (ct.lifecycle) out.push(...validateLifecycle(ct.lifecycle, child(ip, 'lifecycle')));
    out.push(...validateProbe(ct.livenessProbe, child(ip, 'livenessProbe'), 'liveness'));
    out.push(...validateProbe(ct.readinessProbe, child(ip, 'readinessProbe'), 'readiness'));
    out.push(...validateProbe(ct.startupProbe, child(ip, 'startupProbe'), 'startup'));
    if (ct.restartPolicy !== undefined && ct.restartPolicy !== null) out.push(fe.forbidden(child(ip, 'restartPolicy'), 'may not be set for non-init containers'));
  });
  const iPath = child(path, 'initContainers');
  (asArr(spec.initContainers) as Obj[]).forEach((c, i) => {
    const ip = index(iPath, i);
    const ct = asObj(c);
    out.push(...validateContainerCommon(ct, vols, ip));
    const always = ct.restartPolicy === 'Always';
    if (ct.restartPolicy !== undefined && ct.restartPolicy !== null && !always) {
      out.push(fe.notSupported(child(ip, 'restartPolicy'), asStr(ct.restartPolicy), ['Always']));
    }
    if (all.has(asStr(ct.name))) out.push(fe.duplicate(child(ip, 'name'), asStr(ct.name)));
    else if (asStr(ct.name)) all.add(asStr(ct.name));
    if (always) {
      out.push(...validateProbe(ct.livenessProbe, child(ip, 'livenessProbe'), 'liveness'));
      out.push(...validateProbe(ct.readinessProbe, child(ip, 'readinessProbe'), 'readiness'));
      out.push(...validateProbe(ct.startupProbe, child(ip, 'startupProbe'), 'startup'));
    } else {
      for (const f of ['lifecycle', 'livenessProbe', 'readinessProbe', 'startupProbe']) {
        if (ct[f]) out.push(fe.forbidden(child(ip, f), 'may not be set for init containers without restartPolicy=Always'));
      }
    }
  });
  // host ports must be unique across containers (protocol/hostIP/port)
  const hostPorts = new Set<string>();
  containers.forEach((c, ci) =>
    asArr(asObj(c).ports).forEach((p: Obj, pi: number) => {
      const hp = asNum(p?.hostPort);
      if (!hp) return;
      const id = `${asStr(p.protocol)}/${asStr(p.hostIP)}/${hp}`;
      if (hostPorts.has(id)) out.push(fe.duplicate(child(index(child(index(cPath, ci), 'ports'), pi), 'hostPort'), id));
      hostPorts.add(id);
    }),
  );
  if (spec.hostNetwork === true) {
    containers.forEach((c, ci) =>
      asArr(asObj(c).ports).forEach((p: Obj, pi: number) => {
        const hp = asNum(p?.hostPort);
        if ((opts.isPod || hp !== 0) && hp !== asNum(p?.containerPort)) {
          out.push(fe.invalid(child(index(child(index(cPath, ci), 'ports'), pi), 'hostPort'), hp, 'must match `containerPort` when `hostNetwork` is true'));
        }
      }),
    );
  }
  const rp = asStr(spec.restartPolicy);
  if (!rp) out.push(fe.required(child(path, 'restartPolicy')));
  else if (!['Always', 'OnFailure', 'Never'].includes(rp)) out.push(fe.notSupported(child(path, 'restartPolicy'), rp, ['Always', 'OnFailure', 'Never']));
  const dp = asStr(spec.dnsPolicy);
  const dnsPolicies = ['ClusterFirstWithHostNet', 'ClusterFirst', 'Default', 'None'];
  if (!dp) out.push(fe.required(child(path, 'dnsPolicy')));
  else if (!dnsPolicies.includes(dp)) out.push(fe.notSupported(child(path, 'dnsPolicy'), dp, dnsPolicies));
  if (dp === 'None') {
    const dc = spec.dnsConfig;
    if (!isObj(dc)) out.push(fe.required(child(path, 'dnsConfig'), 'must provide `dnsConfig` when `dnsPolicy` is None'));
    else if (asArr(dc.nameservers).length === 0) {
      out.push(fe.required(child(child(path, 'dnsConfig'), 'nameservers'), 'must provide at least one DNS nameserver when `dnsPolicy` is None'));
    }
  }
  asArr(asObj(spec.dnsConfig).nameservers).forEach((ns, i) => out.push(...validateIP(index(child(child(path, 'dnsConfig'), 'nameservers'), i), asStr(ns))));
  out.push(...validateLabels(spec.nodeSelector, child(path, 'nodeSelector')));
  for (const f of ['serviceAccountName', 'nodeName']) {
    const v = asStr(spec[f]);
    if (v) out.push(...each(child(path, f), v, isDNS1123Subdomain(v)));
  }
  if (typeof spec.activeDeadlineSeconds === 'number' && (spec.activeDeadlineSeconds < 1 || spec.activeDeadlineSeconds > MAX_INT32)) {
    out.push(fe.invalid(child(path, 'activeDeadlineSeconds'), spec.activeDeadlineSeconds, inclusiveRangeError(1, MAX_INT32)));
  }
  for (const f of ['hostname', 'subdomain']) if (asStr(spec[f])) out.push(...validateDNS1123Label(asStr(spec[f]), child(path, f)));
  out.push(...validateTolerations(spec.tolerations, child(path, 'tolerations')));
  return out;
}

/** ValidatePodTemplateSpec: note kube reports template labels at `<path>.labels`, not `metadata.labels`. */
export function validatePodTemplateSpec(tmplIn: unknown, path: string): StatusCause[] {
  const t = asObj(tmplIn);
  const meta = asObj(t.metadata);
  const out = validateLabels(meta.labels, child(path, 'labels'));
  out.push(...validateAnnotations(meta.annotations, child(path, 'annotations')));
  out.push(...validatePodSpec(t.spec, child(path, 'spec')));
  if (asArr(asObj(t.spec).ephemeralContainers).length > 0) {
    out.push(fe.forbidden(child(child(path, 'spec'), 'ephemeralContainers'), 'ephemeral containers not allowed in pod template'));
  }
  return out;
}

export function validatePod(pod: Obj): StatusCause[] {
  const out = validateObjectMeta(pod.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  out.push(...validatePodSpec(pod.spec, 'spec', { isPod: true }));
  if (asArr(asObj(pod.spec).ephemeralContainers).length > 0) out.push(fe.forbidden('spec.ephemeralContainers', 'cannot be set on create'));
  return out;
}

const UPDATABLE_POD_FIELDS = [
  '`spec.containers[*].image`',
  '`spec.initContainers[*].image`',
  '`spec.activeDeadlineSeconds`',
  '`spec.tolerations` (only additions to existing tolerations)',
  '`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)',
];

const goFieldName = (k: string): string => k.charAt(0).toUpperCase() + k.slice(1);

/** A short cmp.Diff-like rendering of top-level PodSpec differences (kube appends one to the message). */
function specDiff(oldSpec: Obj, newSpec: Obj): string {
  const lines = ['  core.PodSpec{'];
  const keys = [...new Set([...Object.keys(oldSpec), ...Object.keys(newSpec)])].sort();
  for (const k of keys) {
    if (deepEqual(oldSpec[k], newSpec[k])) continue;
    if (oldSpec[k] !== undefined) lines.push(`- \t${goFieldName(k)}: ${JSON.stringify(oldSpec[k])},`);
    if (newSpec[k] !== undefined) lines.push(`+ \t${goFieldName(k)}: ${JSON.stringify(newSpec[k])},`);
  }
  lines.push('  }', '');
  return lines.join('\n');
}

export function validatePodUpdate(newPod: Obj, oldPod: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(newPod.metadata, oldPod.metadata);
  out.push(...validatePodSpec(newPod.spec, 'spec', { isPod: true }));
  const ns = asObj(newPod.spec);
  const os = asObj(oldPod.spec);
  for (const list of ['containers', 'initContainers']) {
    const nl = asArr(ns[list]);
    const ol = asArr(os[list]);
    if (nl.length !== ol.length) {
      out.push(fe.forbidden(child('spec', list), 'pod updates may not add or remove containers'));
      return out;
    }
    nl.forEach((c: Obj, i: number) => {
      const img = asStr(c?.image);
      if (img && img.trim() !== img) out.push(fe.invalid(child(index(child('spec', list), i), 'image'), img, 'must not have leading or trailing whitespace'));
    });
  }
  const nad = ns.activeDeadlineSeconds;
  const oad = os.activeDeadlineSeconds;
  if (typeof nad === 'number') {
    if (nad < 0 || nad > MAX_INT32) return [...out, fe.invalid('spec.activeDeadlineSeconds', nad, inclusiveRangeError(0, MAX_INT32))];
    if (typeof oad === 'number' && oad < nad) return [...out, fe.invalid('spec.activeDeadlineSeconds', nad, 'must be less than or equal to previous value')];
  } else if (typeof oad === 'number') {
    out.push(fe.invalid('spec.activeDeadlineSeconds', null, 'must not update from a positive integer to nil value'));
  }
  // tolerations: every old toleration must still be present (tolerationSeconds may change)
  for (const ot of asArr(os.tolerations) as Obj[]) {
    const found = (asArr(ns.tolerations) as Obj[]).some((nt) => deepEqual({ ...ot, tolerationSeconds: nt?.tolerationSeconds }, nt));
    if (!found) out.push(fe.forbidden('spec.tolerations', 'existing toleration can not be modified except its tolerationSeconds'));
  }
  if (deepEqual(ns, os)) return out;
  const munged: Obj = JSON.parse(JSON.stringify(ns));
  for (const list of ['containers', 'initContainers']) {
    asArr(munged[list]).forEach((c: Obj, i: number) => {
      if (isObj(c)) c.image = asObj(asArr(os[list])[i]).image;
    });
  }
  if (oad === undefined) delete munged.activeDeadlineSeconds;
  else munged.activeDeadlineSeconds = oad;
  munged.tolerations = os.tolerations;
  if (munged.tolerations === undefined) delete munged.tolerations;
  munged.schedulingGates = os.schedulingGates;
  if (munged.schedulingGates === undefined) delete munged.schedulingGates;
  if (typeof os.terminationGracePeriodSeconds === 'number' && os.terminationGracePeriodSeconds < 0 && munged.terminationGracePeriodSeconds === 1) {
    munged.terminationGracePeriodSeconds = os.terminationGracePeriodSeconds;
  }
  if (!deepEqual(munged, os)) {
    out.push(fe.forbidden('spec', `pod updates may not change fields other than ${UPDATABLE_POD_FIELDS.join(',')}\n${specDiff(os, munged)}`));
  }
  return out;
}

/** Status writes: metadata rules, nodeName may not change through status. */
export function validatePodStatusUpdate(newPod: Obj, oldPod: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(newPod.metadata, oldPod.metadata);
  if (asStr(asObj(newPod.spec).nodeName) !== asStr(asObj(oldPod.spec).nodeName)) out.push(fe.forbidden('status.nodeName', 'may not be changed directly'));
  return out;
}
