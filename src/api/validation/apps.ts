/**
 * apps/v1 workloads: Deployment, ReplicaSet, StatefulSet (kube's pkg/apis/apps/validation plus the
 * apps strategies' selector-immutability rule). Expects defaulted objects.
 */
import type { StatusCause } from '../../apiserver/errors.js';
import { asObj, asStr, child, deepEqual, fe, FIELD_IMMUTABLE, goRaw, goQuote, goStringMap, isObj, nonNegative, type Obj } from './field.js';
import { isValidPercent, nameIsDNSSubdomain } from './names.js';
import { goLabelSelector, selectorMatches, validateLabelSelector, validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { validatePodTemplateSpec } from './pod.js';

/** %#v of an intstr.IntOrString value. */
export function goIntOrString(v: unknown): ReturnType<typeof goRaw> {
  if (typeof v === 'string') return goRaw(`intstr.IntOrString{Type:1, IntVal:0, StrVal:${goQuote(v)}}`);
  return goRaw(`intstr.IntOrString{Type:0, IntVal:${typeof v === 'number' ? v : 0}, StrVal:""}`);
}

/** ValidatePositiveIntOrPercent. */
export function validatePositiveIntOrPercent(v: unknown, path: string): StatusCause[] {
  if (typeof v === 'string') return isValidPercent(v).map((m) => fe.invalid(path, goIntOrString(v), m));
  if (typeof v === 'number') return nonNegative(v, path);
  if (v === undefined || v === null) return [];
  return [fe.invalid(path, goIntOrString(v), "must be an integer or percentage (e.g '5%')")];
}

const intOrPercentValue = (v: unknown): number => (typeof v === 'number' ? v : typeof v === 'string' ? parseInt(v, 10) || 0 : 0);

export function notMoreThan100Percent(v: unknown, path: string): StatusCause[] {
  if (typeof v !== 'string' || isValidPercent(v).length) return [];
  return intOrPercentValue(v) > 100 ? [fe.invalid(path, goIntOrString(v), 'must not be greater than 100%')] : [];
}

/** Shared selector + template checks of Deployment/ReplicaSet/StatefulSet specs. */
function validateSelectorAndTemplate(spec: Obj, kindWord: string, path: string): StatusCause[] {
  const out: StatusCause[] = [];
  const sel = spec.selector;
  if (!isObj(sel)) out.push(fe.required(child(path, 'selector')));
  else {
    out.push(...validateLabelSelector(sel, child(path, 'selector')));
    if (Object.keys(asObj(sel.matchLabels)).length + (Array.isArray(sel.matchExpressions) ? sel.matchExpressions.length : 0) === 0) {
      out.push(fe.invalid(child(path, 'selector'), goLabelSelector(sel), `empty selector is invalid for ${kindWord}`));
    }
  }
  const tPath = child(path, 'template');
  const tmpl = asObj(spec.template);
  const labels = asObj(tmpl.metadata).labels;
  const empty = isObj(sel) && Object.keys(asObj(sel.matchLabels)).length === 0 && !(Array.isArray(sel.matchExpressions) && sel.matchExpressions.length);
  if (!empty && !selectorMatches(sel, labels)) {
    out.push(fe.invalid(child(tPath, 'metadata.labels'), goStringMap(labels), '`selector` does not match template `labels`'));
  }
  out.push(...validatePodTemplateSpec(tmpl, tPath));
  const tspec = asObj(tmpl.spec);
  if (tspec.restartPolicy !== 'Always') out.push(fe.notSupported(child(tPath, 'spec.restartPolicy'), asStr(tspec.restartPolicy), ['Always']));
  return out;
}

// ---- Deployment ----
function validateDeploymentStrategy(strategy: unknown, path: string): StatusCause[] {
  const s = asObj(strategy);
  const out: StatusCause[] = [];
  const ru = s.rollingUpdate;
  if (s.type === 'Recreate') {
    if (ru !== undefined && ru !== null) out.push(fe.forbidden(child(path, 'rollingUpdate'), "may not be specified when strategy `type` is 'Recreate'"));
  } else if (s.type === 'RollingUpdate') {
    if (!isObj(ru)) out.push(fe.required(child(path, 'rollingUpdate'), 'this should be defaulted and never be nil'));
    else {
      const rp = child(path, 'rollingUpdate');
      out.push(...validatePositiveIntOrPercent(ru.maxUnavailable, child(rp, 'maxUnavailable')));
      out.push(...validatePositiveIntOrPercent(ru.maxSurge, child(rp, 'maxSurge')));
      if (intOrPercentValue(ru.maxUnavailable) === 0 && intOrPercentValue(ru.maxSurge) === 0) {
        out.push(fe.invalid(child(rp, 'maxUnavailable'), goIntOrString(ru.maxUnavailable), 'may not be 0 when `maxSurge` is 0'));
      }
      out.push(...notMoreThan100Percent(ru.maxUnavailable, child(rp, 'maxUnavailable')));
    }
  } else {
    const rendered = `apps.DeploymentStrategy{Type:${goQuote(asStr(s.type))}, RollingUpdate:(*apps.RollingUpdateDeployment)(${isObj(ru) ? '…' : 'nil'})}`;
    out.push(fe.notSupported(path, goRaw(rendered), ['Recreate', 'RollingUpdate']));
  }
  return out;
}

export function validateDeploymentSpec(specIn: unknown, path = 'spec'): StatusCause[] {
  const spec = asObj(specIn);
  const out = nonNegative(spec.replicas, child(path, 'replicas'));
  out.push(...validateSelectorAndTemplate(spec, 'deployment', path));
  if (asObj(asObj(spec.template).spec).activeDeadlineSeconds !== undefined) {
    out.push(fe.forbidden(child(path, 'template.spec.activeDeadlineSeconds'), 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  out.push(...validateDeploymentStrategy(spec.strategy, child(path, 'strategy')));
  out.push(...nonNegative(spec.minReadySeconds, child(path, 'minReadySeconds')));
  out.push(...nonNegative(spec.revisionHistoryLimit, child(path, 'revisionHistoryLimit')));
  if (typeof spec.progressDeadlineSeconds === 'number') {
    out.push(...nonNegative(spec.progressDeadlineSeconds, child(path, 'progressDeadlineSeconds')));
    if (spec.progressDeadlineSeconds <= (typeof spec.minReadySeconds === 'number' ? spec.minReadySeconds : 0)) {
      out.push(fe.invalid(child(path, 'progressDeadlineSeconds'), spec.progressDeadlineSeconds, 'must be greater than minReadySeconds'));
    }
  }
  return out;
}

export function validateDeployment(d: Obj): StatusCause[] {
  return [...validateObjectMeta(d.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }), ...validateDeploymentSpec(d.spec)];
}

function selectorImmutable(n: Obj, o: Obj): StatusCause[] {
  const ns = asObj(n.spec).selector;
  const os = asObj(o.spec).selector;
  return deepEqual(ns, os) ? [] : [fe.invalid('spec.selector', goLabelSelector(ns), FIELD_IMMUTABLE)];
}

export function validateDeploymentUpdate(d: Obj, old: Obj): StatusCause[] {
  return [...validateObjectMetaUpdate(d.metadata, old.metadata), ...validateDeploymentSpec(d.spec), ...selectorImmutable(d, old)];
}

// ---- ReplicaSet ----
export function validateReplicaSet(rs: Obj): StatusCause[] {
  const out = validateObjectMeta(rs.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain });
  const spec = asObj(rs.spec);
  out.push(...nonNegative(spec.replicas, 'spec.replicas'));
  out.push(...nonNegative(spec.minReadySeconds, 'spec.minReadySeconds'));
  out.push(...validateSelectorAndTemplate(spec, 'deployment', 'spec'));
  if (asObj(asObj(spec.template).spec).activeDeadlineSeconds !== undefined) {
    out.push(fe.forbidden('spec.template.spec.activeDeadlineSeconds', 'activeDeadlineSeconds in ReplicaSet is not Supported'));
  }
  return out;
}

export function validateReplicaSetUpdate(rs: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(rs.metadata, old.metadata);
  const r = validateReplicaSet(rs).filter((c) => !c.field?.startsWith('metadata.'));
  return [...out, ...r, ...selectorImmutable(rs, old)];
}

// ---- StatefulSet ----
export function validateStatefulSetSpec(specIn: unknown, path = 'spec'): StatusCause[] {
  const spec = asObj(specIn);
  const out: StatusCause[] = [];
  const pmp = asStr(spec.podManagementPolicy);
  if (!pmp) out.push(fe.required(child(path, 'podManagementPolicy')));
  else if (pmp !== 'OrderedReady' && pmp !== 'Parallel') out.push(fe.invalid(child(path, 'podManagementPolicy'), pmp, "must be 'OrderedReady' or 'Parallel'"));
  const us = asObj(spec.updateStrategy);
  const usPath = child(path, 'updateStrategy');
  switch (us.type) {
    case undefined:
    case '':
      out.push(fe.required(usPath));
      break;
    case 'OnDelete':
      if (isObj(us.rollingUpdate)) out.push(fe.invalid(child(usPath, 'rollingUpdate'), goRaw('apps.RollingUpdateStatefulSetStrategy{…}'), "only allowed for updateStrategy 'RollingUpdate'"));
      break;
    case 'RollingUpdate':
      if (isObj(us.rollingUpdate)) {
        out.push(...nonNegative(us.rollingUpdate.partition, child(child(usPath, 'rollingUpdate'), 'partition')));
        const mu = us.rollingUpdate.maxUnavailable;
        if (mu !== undefined && mu !== null) {
          const mp = child(child(usPath, 'rollingUpdate'), 'maxUnavailable');
          out.push(...validatePositiveIntOrPercent(mu, mp));
          if (intOrPercentValue(mu) === 0) out.push(fe.invalid(mp, goIntOrString(mu), 'cannot be 0'));
          out.push(...notMoreThan100Percent(mu, mp));
        }
      }
      break;
    default:
      out.push(fe.invalid(usPath, goRaw(`apps.StatefulSetUpdateStrategy{Type:${goQuote(asStr(us.type))}}`), "must be 'RollingUpdate' or 'OnDelete'"));
  }
  out.push(...nonNegative(spec.revisionHistoryLimit, child(path, 'revisionHistoryLimit')));
  const pol = asObj(spec.persistentVolumeClaimRetentionPolicy);
  for (const f of ['whenDeleted', 'whenScaled']) {
    const v = asStr(pol[f]);
    const p = child(child(path, 'persistentVolumeClaimRetentionPolicy'), f);
    if (spec.persistentVolumeClaimRetentionPolicy && v !== 'Retain' && v !== 'Delete') out.push(fe.notSupported(p, v, ['Retain', 'Delete']));
  }
  out.push(...nonNegative(spec.replicas, child(path, 'replicas')));
  out.push(...nonNegative(spec.minReadySeconds, child(path, 'minReadySeconds')));
  if (isObj(spec.ordinals)) out.push(...nonNegative(spec.ordinals.start, child(path, 'ordinals.start')));
  out.push(...validateSelectorAndTemplate(spec, 'statefulset', path));
  if (asObj(asObj(spec.template).spec).activeDeadlineSeconds !== undefined) {
    out.push(fe.forbidden(child(path, 'template.spec.activeDeadlineSeconds'), 'activeDeadlineSeconds in StatefulSet is not Supported'));
  }
  out.push(...refuseVolumeClaimTemplates(spec.volumeClaimTemplates, child(path, 'volumeClaimTemplates')));
  return out;
}

/** The message a StatefulSet with volumeClaimTemplates is refused with (create and update). */
export const VOLUME_CLAIM_TEMPLATES_UNSUPPORTED = 'persistent volumes are not supported by kubelite yet, so volumeClaimTemplates must be empty';

/**
 * kubelite-specific: there are no PersistentVolumes (nor a PVC controller) yet, so a StatefulSet
 * asking for per-pod claims could never start its pods. Refusing it up front with a 422 tells the
 * user at `kubectl apply` time instead of leaving pods Pending forever.
 */
function refuseVolumeClaimTemplates(v: unknown, path: string): StatusCause[] {
  return Array.isArray(v) && v.length > 0 ? [fe.forbidden(path, VOLUME_CLAIM_TEMPLATES_UNSUPPORTED)] : [];
}

export function validateStatefulSet(s: Obj): StatusCause[] {
  return [...validateObjectMeta(s.metadata, { namespaced: true, nameFn: nameIsDNSSubdomain }), ...validateStatefulSetSpec(s.spec)];
}

const STS_MUTABLE = ['replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy', 'minReadySeconds'];

export function validateStatefulSetUpdate(s: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(s.metadata, old.metadata);
  const n = { ...asObj(s.spec) };
  const o = { ...asObj(old.spec) };
  for (const f of STS_MUTABLE) {
    delete n[f];
    delete o[f];
  }
  if (!deepEqual(n, o)) {
    out.push(
      fe.forbidden(
        'spec',
        "updates to statefulset spec for fields other than 'replicas', 'ordinals', 'template', 'updateStrategy', 'persistentVolumeClaimRetentionPolicy' and 'minReadySeconds' are forbidden",
      ),
    );
  }
  out.push(...validateStatefulSetSpec(s.spec));
  return out;
}

/** Status and scale writes on workloads: replicas counters must be non-negative. */
export function validateWorkloadStatus(obj: Obj, old: Obj): StatusCause[] {
  const out = validateObjectMetaUpdate(obj.metadata, old.metadata);
  const st = asObj(obj.status);
  for (const f of ['replicas', 'readyReplicas', 'availableReplicas', 'updatedReplicas', 'unavailableReplicas', 'currentReplicas', 'fullyLabeledReplicas', 'observedGeneration']) {
    out.push(...nonNegative(st[f], `status.${f}`));
  }
  return out;
}
