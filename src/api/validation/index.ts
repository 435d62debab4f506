/**
 * Semantic validation entry points, dispatched by served resource. Each returns kube-style causes
 * (empty = valid); the server turns a non-empty list into a 422 with `errors.invalid`.
 *
 * Contract: objects are already defaulted (applyDefaults) and prepared (prepareForCreate /
 * prepareForUpdate) as kube's decode+strategy would have done; resourceVersion and
 * generateName handling belong to the server.
 */
import type { ResourceInfo } from '../resources.js';
import type { StatusCause } from '../../apiserver/errors.js';
import { asObj, type Obj } from './field.js';
import { nameIsDNSSubdomain } from './names.js';
import { validateObjectMeta, validateObjectMetaUpdate } from './objectmeta.js';
import { validatePod, validatePodStatusUpdate, validatePodUpdate } from './pod.js';
import { validateService, validateServiceStatusUpdate, validateServiceUpdate } from './service.js';
import {
  validateConfigMap,
  validateConfigMapUpdate,
  validateCoreEvent,
  validateEndpoints,
  validateEventsV1Event,
  validateNamespace,
  validateNamespaceStatusUpdate,
  validateNamespaceUpdate,
  validateNode,
  validateNodeUpdate,
  validateSecret,
  validateSecretUpdate,
  validateServiceAccount,
} from './core.js';
import {
  validateDeployment,
  validateDeploymentUpdate,
  validateReplicaSet,
  validateReplicaSetUpdate,
  validateStatefulSet,
  validateStatefulSetUpdate,
  validateWorkloadStatus,
} from './apps.js';
import {
  validateEndpointSlice,
  validateEndpointSliceUpdate,
  validateHPA,
  validateIngress,
  validateIngressClass,
  validateIngressClassUpdate,
  validateLease,
  validateNetworkPolicy,
  validatePDB,
} from './other.js';

type CreateFn = (o: Obj) => StatusCause[];
type UpdateFn = (n: Obj, o: Obj) => StatusCause[];

const id = (r: Pick<ResourceInfo, 'group' | 'kind'>): string => `${r.group}/${r.kind}`;

const CREATE: Record<string, CreateFn> = {
  '/Namespace': validateNamespace,
  '/Pod': validatePod,
  '/Service': validateService,
  '/Endpoints': validateEndpoints,
  '/ConfigMap': validateConfigMap,
  '/Secret': validateSecret,
  '/Node': validateNode,
  '/Event': validateCoreEvent,
  '/ServiceAccount': validateServiceAccount,
  'apps/Deployment': validateDeployment,
  'apps/ReplicaSet': validateReplicaSet,
  'apps/StatefulSet': validateStatefulSet,
  'discovery.k8s.io/EndpointSlice': validateEndpointSlice,
  'networking.k8s.io/Ingress': validateIngress,
  'networking.k8s.io/IngressClass': validateIngressClass,
  'networking.k8s.io/NetworkPolicy': validateNetworkPolicy,
  'autoscaling/HorizontalPodAutoscaler': validateHPA,
  'policy/PodDisruptionBudget': validatePDB,
  'coordination.k8s.io/Lease': validateLease,
  'events.k8s.io/Event': validateEventsV1Event,
};

/** Update validators; kinds absent here use metadata-update rules plus their create rules. */
const UPDATE: Record<string, UpdateFn> = {
  '/Namespace': validateNamespaceUpdate,
  '/Pod': validatePodUpdate,
  '/Service': validateServiceUpdate,
  '/ConfigMap': validateConfigMapUpdate,
  '/Secret': validateSecretUpdate,
  '/Node': validateNodeUpdate,
  'apps/Deployment': validateDeploymentUpdate,
  'apps/ReplicaSet': validateReplicaSetUpdate,
  'apps/StatefulSet': validateStatefulSetUpdate,
  'discovery.k8s.io/EndpointSlice': validateEndpointSliceUpdate,
  'networking.k8s.io/IngressClass': validateIngressClassUpdate,
};

const STATUS: Record<string, UpdateFn> = {
  '/Namespace': validateNamespaceStatusUpdate,
  '/Pod': validatePodStatusUpdate,
  '/Service': validateServiceStatusUpdate,
  'apps/Deployment': validateWorkloadStatus,
  'apps/ReplicaSet': validateWorkloadStatus,
  'apps/StatefulSet': validateWorkloadStatus,
};

/** Validation of an object about to be created. Unknown kinds get ObjectMeta rules only. */
export function validateCreate(resource: ResourceInfo, obj: unknown): StatusCause[] {
  const o = asObj(obj);
  const fn = CREATE[id(resource)];
  if (fn) return fn(o);
  return validateObjectMeta(o.metadata, { namespaced: resource.namespaced, nameFn: nameIsDNSSubdomain });
}

/** Validation of a full update (PUT/PATCH of the main resource). */
export function validateUpdate(resource: ResourceInfo, newObj: unknown, oldObj: unknown): StatusCause[] {
  const n = asObj(newObj);
  const o = asObj(oldObj);
  const fn = UPDATE[id(resource)];
  if (fn) return fn(n, o);
  const create = CREATE[id(resource)];
  const meta = validateObjectMetaUpdate(n.metadata, o.metadata);
  if (!create) return meta;
  // the create rules re-check metadata as for a new object; keep only their non-metadata causes
  return [...meta, ...create(n).filter((c) => !c.field?.startsWith('metadata.'))];
}

/** Validation of a write to the status subresource (spec changes are discarded by the server). */
export function validateStatusUpdate(resource: ResourceInfo, newObj: unknown, oldObj: unknown): StatusCause[] {
  const n = asObj(newObj);
  const o = asObj(oldObj);
  const fn = STATUS[id(resource)];
  return fn ? fn(n, o) : validateObjectMetaUpdate(n.metadata, o.metadata);
}

export { fe, goValue, goRaw } from './field.js';
export * from './names.js';
export { selectorMatches, validateLabelSelector, validateLabels } from './objectmeta.js';
export { validateClusterIPsRelated, isHeadless } from './service.js';
