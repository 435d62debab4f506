/**
 * apps/v1 workload kinds: Deployment, ReplicaSet and StatefulSet, with everything they reach in
 * the apps package. Core types (PodTemplateSpec, PersistentVolumeClaim) and apimachinery types
 * are referenced by name and defined elsewhere. Field shapes follow the upstream OpenAPI
 * definitions one to one so that our served documents and `kubectl explain` agree with them.
 */
import {
  arr,
  bool,
  int32,
  int64,
  intOrString,
  kindObject,
  labelSelector,
  listObject,
  obj,
  ref,
  str,
  time,
  group,
  type Definitions,
  type Schema,
} from '../schema.js';

const PKG = 'io.k8s.api.apps.v1';
const CORE = 'io.k8s.api.core.v1';
const gv = (kind: string): { group: string; version: string; kind: string } => ({ group: 'apps', version: 'v1', kind });

/** Status conditions share one strategic-merge shape: a map keyed by `type`. */
const conditions = (name: string): Schema =>
  arr(ref(`${PKG}.${name}`), { listType: 'map', listMapKeys: ['type'], patchStrategy: 'merge', patchMergeKey: 'type' });

/** The common condition fields; Deployment adds lastUpdateTime. */
const conditionFields = (): Record<string, Schema> => ({
  lastTransitionTime: time(),
  message: str(),
  reason: str(),
  status: str(),
  type: str(),
});

export const defs: Definitions = group(PKG, {
  Deployment: kindObject(gv('Deployment'), {
    spec: ref(`${PKG}.DeploymentSpec`),
    status: ref(`${PKG}.DeploymentStatus`),
  }),
  DeploymentList: listObject(gv('DeploymentList'), `${PKG}.Deployment`),
  DeploymentSpec: obj(
    {
      minReadySeconds: int32(),
      paused: bool(),
      progressDeadlineSeconds: int32(),
      replicas: int32({ description: 'Desired number of pods; defaults to 1 when unset.' }),
      revisionHistoryLimit: int32(),
      selector: labelSelector({
        description: 'Selects the pods this Deployment owns; must match the template labels and is immutable.',
      }),
      strategy: ref(`${PKG}.DeploymentStrategy`, {
        patchStrategy: 'retainKeys',
        description: 'How old pods are replaced: RollingUpdate (default) or Recreate.',
      }),
      template: ref(`${CORE}.PodTemplateSpec`, {
        description: 'The pod template; changing it starts a new rollout.',
      }),
    },
    { required: ['selector', 'template'] },
  ),
  DeploymentStatus: obj({
    availableReplicas: int32(),
    collisionCount: int32(),
    conditions: conditions('DeploymentCondition'),
    observedGeneration: int64(),
    readyReplicas: int32(),
    replicas: int32(),
    terminatingReplicas: int32(),
    unavailableReplicas: int32(),
    updatedReplicas: int32(),
  }),
  DeploymentCondition: obj(
    { ...conditionFields(), lastUpdateTime: time() },
    { required: ['type', 'status'] },
  ),
  DeploymentStrategy: obj({
    rollingUpdate: ref(`${PKG}.RollingUpdateDeployment`),
    type: str(),
  }),
  RollingUpdateDeployment: obj({
    maxSurge: intOrString(),
    maxUnavailable: intOrString(),
  }),

  ReplicaSet: kindObject(gv('ReplicaSet'), {
    spec: ref(`${PKG}.ReplicaSetSpec`),
    status: ref(`${PKG}.ReplicaSetStatus`),
  }),
  ReplicaSetList: listObject(gv('ReplicaSetList'), `${PKG}.ReplicaSet`),
  ReplicaSetSpec: obj(
    {
      minReadySeconds: int32(),
      replicas: int32(),
      selector: labelSelector(),
      template: ref(`${CORE}.PodTemplateSpec`),
    },
    { required: ['selector'] },
  ),
  ReplicaSetStatus: obj(
    {
      availableReplicas: int32(),
      conditions: conditions('ReplicaSetCondition'),
      fullyLabeledReplicas: int32(),
      observedGeneration: int64(),
      readyReplicas: int32(),
      replicas: int32(),
      terminatingReplicas: int32(),
    },
    { required: ['replicas'] },
  ),
  ReplicaSetCondition: obj(conditionFields(), { required: ['type', 'status'] }),

  ControllerRevision: kindObject(
    gv('ControllerRevision'),
    {
      data: ref('io.k8s.apimachinery.pkg.runtime.RawExtension', { description: 'The serialized state.' }),
      revision: int64({ description: 'The revision of the state in data.' }),
    },
    { required: ['revision'] },
  ),
  ControllerRevisionList: listObject(gv('ControllerRevisionList'), `${PKG}.ControllerRevision`),

  StatefulSet: kindObject(gv('StatefulSet'), {
    spec: ref(`${PKG}.StatefulSetSpec`),
    status: ref(`${PKG}.StatefulSetStatus`),
  }),
  StatefulSetList: listObject(gv('StatefulSetList'), `${PKG}.StatefulSet`),
  StatefulSetSpec: obj(
    {
      minReadySeconds: int32(),
      ordinals: ref(`${PKG}.StatefulSetOrdinals`),
      persistentVolumeClaimRetentionPolicy: ref(`${PKG}.StatefulSetPersistentVolumeClaimRetentionPolicy`),
      podManagementPolicy: str(),
      replicas: int32(),
      revisionHistoryLimit: int32(),
      selector: labelSelector(),
      serviceName: str(),
      template: ref(`${CORE}.PodTemplateSpec`),
      updateStrategy: ref(`${PKG}.StatefulSetUpdateStrategy`),
      volumeClaimTemplates: arr(ref(`${CORE}.PersistentVolumeClaim`), { listType: 'atomic' }),
    },
    { required: ['selector', 'template'] },
  ),
  StatefulSetStatus: obj(
    {
      availableReplicas: int32(),
      collisionCount: int32(),
      conditions: conditions('StatefulSetCondition'),
      currentReplicas: int32(),
      currentRevision: str(),
      observedGeneration: int64(),
      readyReplicas: int32(),
      replicas: int32(),
      updateRevision: str(),
      updatedReplicas: int32(),
    },
    { required: ['replicas'] },
  ),
  StatefulSetCondition: obj(conditionFields(), { required: ['type', 'status'] }),
  StatefulSetUpdateStrategy: obj({
    rollingUpdate: ref(`${PKG}.RollingUpdateStatefulSetStrategy`),
    type: str(),
  }),
  RollingUpdateStatefulSetStrategy: obj({
    maxUnavailable: intOrString(),
    partition: int32(),
  }),
  StatefulSetPersistentVolumeClaimRetentionPolicy: obj({
    whenDeleted: str(),
    whenScaled: str(),
  }),
  StatefulSetOrdinals: obj({ start: int32() }),
});
