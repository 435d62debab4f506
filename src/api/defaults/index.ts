/**
 * Defaulting as kube-apiserver applies it on decode (the SetDefaults_* functions of each group),
 * so that what `kubectl get -o yaml` shows matches a real cluster. `applyDefaults` mutates in place
 * and is idempotent. `prepareForCreate` / `prepareForUpdate` carry the strategy steps that must
 * run after defaulting and before validation (Service clusterIP normalization, Namespace
 * finalizers, Secret stringData merge, status handling).
 */
import type { ResourceInfo } from '../resources.js';
import { applyPodAdmission, applyPodOnlyDefaults, applyPodSpecDefaults, applyPodTemplateDefaults } from './pod.js';
import { applyServiceDefaults, prepareServiceForCreate, prepareServiceForUpdate } from './service.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);
const spec = (o: Obj): Obj => (isObj(o.spec) ? o.spec : (o.spec = {}));
const unset = (v: unknown): boolean => v === undefined || v === null;

function deploymentDefaults(d: Obj): void {
  const s = spec(d);
  if (unset(s.replicas)) s.replicas = 1;
  if (!isObj(s.strategy)) s.strategy = {};
  if (!s.strategy.type) s.strategy.type = 'RollingUpdate';
  if (s.strategy.type === 'RollingUpdate') {
    if (!isObj(s.strategy.rollingUpdate)) s.strategy.rollingUpdate = {};
    if (unset(s.strategy.rollingUpdate.maxUnavailable)) s.strategy.rollingUpdate.maxUnavailable = '25%';
    if (unset(s.strategy.rollingUpdate.maxSurge)) s.strategy.rollingUpdate.maxSurge = '25%';
  }
  if (unset(s.revisionHistoryLimit)) s.revisionHistoryLimit = 10;
  if (unset(s.progressDeadlineSeconds)) s.progressDeadlineSeconds = 600;
  applyPodTemplateDefaults(s.template ?? (s.template = {}));
}

function replicaSetDefaults(rs: Obj): void {
  const s = spec(rs);
  if (unset(s.replicas)) s.replicas = 1;
  applyPodTemplateDefaults(s.template ?? (s.template = {}));
}

function statefulSetDefaults(sts: Obj): void {
  const s = spec(sts);
  if (unset(s.replicas)) s.replicas = 1;
  if (!s.podManagementPolicy) s.podManagementPolicy = 'OrderedReady';
  if (!isObj(s.updateStrategy)) s.updateStrategy = {};
  if (!s.updateStrategy.type) s.updateStrategy.type = 'RollingUpdate';
  if (s.updateStrategy.type === 'RollingUpdate') {
    if (!isObj(s.updateStrategy.rollingUpdate)) s.updateStrategy.rollingUpdate = {};
    if (unset(s.updateStrategy.rollingUpdate.partition)) s.updateStrategy.rollingUpdate.partition = 0;
  }
  if (unset(s.revisionHistoryLimit)) s.revisionHistoryLimit = 10;
  if (!isObj(s.persistentVolumeClaimRetentionPolicy)) s.persistentVolumeClaimRetentionPolicy = {};
  const pol = s.persistentVolumeClaimRetentionPolicy;
  if (!pol.whenDeleted) pol.whenDeleted = 'Retain';
  if (!pol.whenScaled) pol.whenScaled = 'Retain';
  for (const pvc of list(s.volumeClaimTemplates)) {
    const ps = isObj(pvc.spec) ? pvc.spec : (pvc.spec = {});
    if (!ps.volumeMode) ps.volumeMode = 'Filesystem';
    if (!isObj(pvc.status)) pvc.status = { phase: 'Pending' };
  }
  applyPodTemplateDefaults(s.template ?? (s.template = {}));
}

const SCALE_UP_POLICIES = (): Obj[] => [
  { type: 'Pods', value: 4, periodSeconds: 15 },
  { type: 'Percent', value: 100, periodSeconds: 15 },
];
const SCALE_DOWN_POLICIES = (): Obj[] => [{ type: 'Percent', value: 100, periodSeconds: 15 }];

function hpaRules(r: unknown, window: number, policies: () => Obj[]): Obj {
  const rules: Obj = isObj(r) ? r : {};
  if (unset(rules.stabilizationWindowSeconds)) rules.stabilizationWindowSeconds = window;
  if (!rules.selectPolicy) rules.selectPolicy = 'Max';
  if (unset(rules.policies)) rules.policies = policies();
  return rules;
}

function hpaDefaults(h: Obj, version: string): void {
  const s = spec(h);
  if (unset(s.minReplicas)) s.minReplicas = 1;
  if (version === 'v1') return;
  if (!Array.isArray(s.metrics) || s.metrics.length === 0) {
    s.metrics = [{ type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } }];
  }
  if (isObj(s.behavior)) {
    s.behavior.scaleUp = hpaRules(s.behavior.scaleUp, 0, SCALE_UP_POLICIES);
    s.behavior.scaleDown = hpaRules(s.behavior.scaleDown, 300, SCALE_DOWN_POLICIES);
  }
}

function networkPolicyDefaults(np: Obj): void {
  const s = spec(np);
  if (!isObj(s.podSelector)) s.podSelector = {};
  for (const r of [...list(s.ingress), ...list(s.egress)]) for (const p of list(r.ports)) if (!p.protocol) p.protocol = 'TCP';
  if (!Array.isArray(s.policyTypes) || s.policyTypes.length === 0) {
    s.policyTypes = ['Ingress'];
    if (Array.isArray(s.egress) && s.egress.length > 0) s.policyTypes.push('Egress');
  }
}

/** Applies kube's defaults for the resource's kind, in place. */
export function applyDefaults(resource: ResourceInfo, obj: Obj): void {
  if (!isObj(obj)) return;
  switch (`${resource.group}/${resource.kind}`) {
    case '/Service':
      applyServiceDefaults(obj);
      break;
    case '/Pod':
      applyPodOnlyDefaults(obj);
      break;
    case '/Namespace': {
      const name = isObj(obj.metadata) ? obj.metadata.name : undefined;
      if (typeof name === 'string' && name) {
        obj.metadata.labels = { ...(isObj(obj.metadata.labels) ? obj.metadata.labels : {}), 'kubernetes.io/metadata.name': name };
      }
      if (!isObj(obj.status)) obj.status = {};
      if (!obj.status.phase) obj.status.phase = 'Active';
      break;
    }
    case '/Secret':
      if (!obj.type) obj.type = 'Opaque';
      mergeStringData(obj);
      break;
    case '/Endpoints':
      for (const ss of list(obj.subsets)) for (const p of list(ss.ports)) if (!p.protocol) p.protocol = 'TCP';
      break;
    case '/Node':
      if (isObj(obj.status) && isObj(obj.status.capacity) && !isObj(obj.status.allocatable)) obj.status.allocatable = { ...obj.status.capacity };
      break;
    case 'apps/Deployment':
      deploymentDefaults(obj);
      break;
    case 'apps/ReplicaSet':
      replicaSetDefaults(obj);
      break;
    case 'apps/StatefulSet':
      statefulSetDefaults(obj);
      break;
    case 'discovery.k8s.io/EndpointSlice':
      for (const p of list(obj.ports)) {
        if (!p.protocol) p.protocol = 'TCP';
        if (unset(p.name)) p.name = '';
      }
      break;
    case 'networking.k8s.io/NetworkPolicy':
      networkPolicyDefaults(obj);
      break;
    case 'autoscaling/HorizontalPodAutoscaler':
      hpaDefaults(obj, resource.version);
      break;
    default:
  }
}

/**
 * Secret.stringData is write-only: kube merges it into data (base64, overriding same keys) when
 * converting to the internal type, so it is never stored nor returned.
 */
function mergeStringData(secret: Obj): void {
  if (!isObj(secret.stringData)) {
    delete secret.stringData;
    return;
  }
  const data: Obj = isObj(secret.data) ? secret.data : {};
  for (const [k, v] of Object.entries(secret.stringData)) data[k] = Buffer.from(String(v), 'utf8').toString('base64');
  secret.data = data;
  delete secret.stringData;
}

/** Strategy steps after defaulting on create (before validation and allocation). */
export function prepareForCreate(resource: ResourceInfo, obj: Obj): void {
  switch (`${resource.group}/${resource.kind}`) {
    case '/Service':
      prepareServiceForCreate(obj);
      break;
    case '/Namespace':
      {
        // kube keeps the user's finalizers and appends `kubernetes` when missing
        const s = spec(obj);
        const fins: unknown[] = Array.isArray(s.finalizers) ? s.finalizers : [];
        if (!fins.includes('kubernetes')) fins.push('kubernetes');
        s.finalizers = fins;
        obj.status = { phase: 'Active' };
      }
      break;
    case '/Pod':
      applyPodAdmission(obj);
      break;
    default:
  }
}

/** Strategy steps after defaulting on update (before validation and allocation). */
export function prepareForUpdate(resource: ResourceInfo, obj: Obj, old: Obj): void {
  switch (`${resource.group}/${resource.kind}`) {
    case '/Service':
      prepareServiceForUpdate(obj, old);
      break;
    case '/Namespace':
      obj.spec = isObj(old.spec) ? JSON.parse(JSON.stringify(old.spec)) : { finalizers: ['kubernetes'] };
      obj.status = isObj(old.status) ? JSON.parse(JSON.stringify(old.status)) : { phase: 'Active' };
      break;
    default:
  }
}

export { applyPodSpecDefaults, applyPodTemplateDefaults, applyPodOnlyDefaults, applyPodAdmission, podQOSClass, defaultPullPolicy } from './pod.js';
export { applyServiceDefaults, prepareServiceForCreate, prepareServiceForUpdate, needsClusterIP, needsNodePorts, needsHealthCheckNodePort } from './service.js';
