/**
 * io.k8s.api.core.v1 volume definitions: Volume with every volume source Kubernetes v1.36 still
 * publishes (including the deprecated in-tree ones, which clients may still send and must round-trip),
 * projected-volume pieces, and PersistentVolumeClaim with its closure (apps/v1 StatefulSet embeds
 * claim templates; generic ephemeral volumes embed PersistentVolumeClaimTemplate).
 *
 * LocalObjectReference is defined with the other core kinds (core.ts) and referenced by name.
 */
import {
  arr,
  bool,
  group,
  int32,
  int64,
  labelSelector,
  map,
  obj,
  objectMeta,
  quantity,
  str,
  time,
  kindObject,
  type Definitions,
  type RefSchema,
  type Schema,
  atomicList,
  coreRef,
  CORE_V1,
} from '../schema.js';

const PKG = CORE_V1;
const v1 = coreRef;
const atomic = atomicList;
const localRef = (): RefSchema => v1('LocalObjectReference');

/**
 * Volume: a name plus exactly one source. Upstream publishes no union marker for it in OpenAPI v2;
 * "exactly one source" is enforced by validation, and PodSpec.volumes carries `retainKeys` so a
 * patch switching source drops the old one.
 */
const volumeSources: Record<string, string> = {
  awsElasticBlockStore: 'AWSElasticBlockStoreVolumeSource',
  azureDisk: 'AzureDiskVolumeSource',
  azureFile: 'AzureFileVolumeSource',
  cephfs: 'CephFSVolumeSource',
  cinder: 'CinderVolumeSource',
  configMap: 'ConfigMapVolumeSource',
  csi: 'CSIVolumeSource',
  downwardAPI: 'DownwardAPIVolumeSource',
  emptyDir: 'EmptyDirVolumeSource',
  ephemeral: 'EphemeralVolumeSource',
  fc: 'FCVolumeSource',
  flexVolume: 'FlexVolumeSource',
  flocker: 'FlockerVolumeSource',
  gcePersistentDisk: 'GCEPersistentDiskVolumeSource',
  gitRepo: 'GitRepoVolumeSource',
  glusterfs: 'GlusterfsVolumeSource',
  hostPath: 'HostPathVolumeSource',
  image: 'ImageVolumeSource',
  iscsi: 'ISCSIVolumeSource',
  nfs: 'NFSVolumeSource',
  persistentVolumeClaim: 'PersistentVolumeClaimVolumeSource',
  photonPersistentDisk: 'PhotonPersistentDiskVolumeSource',
  portworxVolume: 'PortworxVolumeSource',
  projected: 'ProjectedVolumeSource',
  quobyte: 'QuobyteVolumeSource',
  rbd: 'RBDVolumeSource',
  scaleIO: 'ScaleIOVolumeSource',
  secret: 'SecretVolumeSource',
  storageos: 'StorageOSVolumeSource',
  vsphereVolume: 'VsphereVirtualDiskVolumeSource',
};

/** Names of the Volume properties that select a source (every property except `name`). */
export const VOLUME_SOURCE_FIELDS: readonly string[] = Object.keys(volumeSources);

const volumeProps: Record<string, Schema> = { name: str() };
for (const [field, def] of Object.entries(volumeSources)) volumeProps[field] = v1(def);

export const defs: Definitions = group(PKG, {
  Volume: obj(volumeProps, { required: ['name'] }),

  // --- ephemeral / projected / config-like sources --------------------------------------------
  EmptyDirVolumeSource: obj({ medium: str(), sizeLimit: quantity() }),
  HostPathVolumeSource: obj({ path: str(), type: str() }, { required: ['path'] }),
  ImageVolumeSource: obj({ pullPolicy: str(), reference: str() }),
  KeyToPath: obj({ key: str(), mode: int32(), path: str() }, { required: ['key', 'path'] }),
  ConfigMapVolumeSource: obj({ defaultMode: int32(), items: atomic(v1('KeyToPath')), name: str(), optional: bool() }),
  SecretVolumeSource: obj({ defaultMode: int32(), items: atomic(v1('KeyToPath')), optional: bool(), secretName: str() }),
  DownwardAPIVolumeSource: obj({ defaultMode: int32(), items: atomic(v1('DownwardAPIVolumeFile')) }),
  DownwardAPIVolumeFile: obj(
    {
      fieldRef: v1('ObjectFieldSelector'),
      mode: int32(),
      path: str(),
      resourceFieldRef: v1('ResourceFieldSelector'),
    },
    { required: ['path'] },
  ),
  ProjectedVolumeSource: obj({ defaultMode: int32(), sources: atomic(v1('VolumeProjection')) }),
  VolumeProjection: obj({
    clusterTrustBundle: v1('ClusterTrustBundleProjection'),
    configMap: v1('ConfigMapProjection'),
    downwardAPI: v1('DownwardAPIProjection'),
    podCertificate: v1('PodCertificateProjection'),
    secret: v1('SecretProjection'),
    serviceAccountToken: v1('ServiceAccountTokenProjection'),
  }),
  ClusterTrustBundleProjection: obj(
    { labelSelector: labelSelector(), name: str(), optional: bool(), path: str(), signerName: str() },
    { required: ['path'] },
  ),
  ConfigMapProjection: obj({ items: atomic(v1('KeyToPath')), name: str(), optional: bool() }),
  SecretProjection: obj({ items: atomic(v1('KeyToPath')), name: str(), optional: bool() }),
  DownwardAPIProjection: obj({ items: atomic(v1('DownwardAPIVolumeFile')) }),
  PodCertificateProjection: obj(
    {
      certificateChainPath: str(),
      credentialBundlePath: str(),
      keyPath: str(),
      keyType: str(),
      maxExpirationSeconds: int32(),
      signerName: str(),
      userAnnotations: map(str()),
    },
    { required: ['signerName', 'keyType'] },
  ),
  ServiceAccountTokenProjection: obj({ audience: str(), expirationSeconds: int64(), path: str() }, { required: ['path'] }),
  EphemeralVolumeSource: obj({ volumeClaimTemplate: v1('PersistentVolumeClaimTemplate') }),
  PersistentVolumeClaimVolumeSource: obj({ claimName: str(), readOnly: bool() }, { required: ['claimName'] }),
  CSIVolumeSource: obj(
    {
      driver: str(),
      fsType: str(),
      nodePublishSecretRef: localRef(),
      readOnly: bool(),
      volumeAttributes: map(str()),
    },
    { required: ['driver'] },
  ),
  GitRepoVolumeSource: obj({ directory: str(), repository: str(), revision: str() }, { required: ['repository'] }),

  // --- network and cloud-provider sources (mostly deprecated in-tree plugins) ------------------
  AWSElasticBlockStoreVolumeSource: obj(
    { fsType: str(), partition: int32(), readOnly: bool(), volumeID: str() },
    { required: ['volumeID'] },
  ),
  AzureDiskVolumeSource: obj(
    { cachingMode: str(), diskName: str(), diskURI: str(), fsType: str(), kind: str(), readOnly: bool() },
    { required: ['diskName', 'diskURI'] },
  ),
  AzureFileVolumeSource: obj(
    { readOnly: bool(), secretName: str(), shareName: str() },
    { required: ['secretName', 'shareName'] },
  ),
  CephFSVolumeSource: obj(
    { monitors: atomic(str()), path: str(), readOnly: bool(), secretFile: str(), secretRef: localRef(), user: str() },
    { required: ['monitors'] },
  ),
  CinderVolumeSource: obj(
    { fsType: str(), readOnly: bool(), secretRef: localRef(), volumeID: str() },
    { required: ['volumeID'] },
  ),
  FCVolumeSource: obj({
    fsType: str(),
    lun: int32(),
    readOnly: bool(),
    targetWWNs: atomic(str()),
    wwids: atomic(str()),
  }),
  FlexVolumeSource: obj(
    { driver: str(), fsType: str(), options: map(str()), readOnly: bool(), secretRef: localRef() },
    { required: ['driver'] },
  ),
  FlockerVolumeSource: obj({ datasetName: str(), datasetUUID: str() }),
  GCEPersistentDiskVolumeSource: obj(
    { fsType: str(), partition: int32(), pdName: str(), readOnly: bool() },
    { required: ['pdName'] },
  ),
  GlusterfsVolumeSource: obj({ endpoints: str(), path: str(), readOnly: bool() }, { required: ['endpoints', 'path'] }),
  ISCSIVolumeSource: obj(
    {
      chapAuthDiscovery: bool(),
      chapAuthSession: bool(),
      fsType: str(),
      initiatorName: str(),
      iqn: str(),
      iscsiInterface: str(),
      lun: int32(),
      portals: atomic(str()),
      readOnly: bool(),
      secretRef: localRef(),
      targetPortal: str(),
    },
    { required: ['targetPortal', 'iqn', 'lun'] },
  ),
  NFSVolumeSource: obj({ path: str(), readOnly: bool(), server: str() }, { required: ['server', 'path'] }),
  PhotonPersistentDiskVolumeSource: obj({ fsType: str(), pdID: str() }, { required: ['pdID'] }),
  PortworxVolumeSource: obj({ fsType: str(), readOnly: bool(), volumeID: str() }, { required: ['volumeID'] }),
  QuobyteVolumeSource: obj(
    { group: str(), readOnly: bool(), registry: str(), tenant: str(), user: str(), volume: str() },
    { required: ['registry', 'volume'] },
  ),
  RBDVolumeSource: obj(
    {
      fsType: str(),
      image: str(),
      keyring: str(),
      monitors: atomic(str()),
      pool: str(),
      readOnly: bool(),
      secretRef: localRef(),
      user: str(),
    },
    { required: ['monitors', 'image'] },
  ),
  ScaleIOVolumeSource: obj(
    {
      fsType: str(),
      gateway: str(),
      protectionDomain: str(),
      readOnly: bool(),
      secretRef: localRef(),
      sslEnabled: bool(),
      storageMode: str(),
      storagePool: str(),
      system: str(),
      volumeName: str(),
    },
    { required: ['gateway', 'system', 'secretRef'] },
  ),
  StorageOSVolumeSource: obj({
    fsType: str(),
    readOnly: bool(),
    secretRef: localRef(),
    volumeName: str(),
    volumeNamespace: str(),
  }),
  VsphereVirtualDiskVolumeSource: obj(
    { fsType: str(), storagePolicyID: str(), storagePolicyName: str(), volumePath: str() },
    { required: ['volumePath'] },
  ),

  // --- PersistentVolumeClaim -----------------------------------------------------------------
  PersistentVolumeClaim: kindObject(
    { group: '', version: 'v1', kind: 'PersistentVolumeClaim' },
    { spec: v1('PersistentVolumeClaimSpec'), status: v1('PersistentVolumeClaimStatus') },
  ),
  PersistentVolumeClaimSpec: obj({
    accessModes: atomic(str()),
    dataSource: v1('TypedLocalObjectReference'),
    dataSourceRef: v1('TypedObjectReference'),
    resources: v1('VolumeResourceRequirements'),
    selector: labelSelector(),
    storageClassName: str(),
    volumeAttributesClassName: str(),
    volumeMode: str(),
    volumeName: str(),
  }),
  PersistentVolumeClaimStatus: obj({
    accessModes: atomic(str()),
    allocatedResourceStatuses: map(str(), { mapType: 'granular' }),
    allocatedResources: map(quantity()),
    capacity: map(quantity()),
    conditions: arr(v1('PersistentVolumeClaimCondition'), {
      listType: 'map',
      listMapKeys: ['type'],
      patchStrategy: 'merge',
      patchMergeKey: 'type',
    }),
    currentVolumeAttributesClassName: str(),
    modifyVolumeStatus: v1('ModifyVolumeStatus'),
    phase: str(),
  }),
  PersistentVolumeClaimCondition: obj(
    {
      lastProbeTime: time(),
      lastTransitionTime: time(),
      message: str(),
      reason: str(),
      status: str(),
      type: str(),
    },
    { required: ['type', 'status'] },
  ),
  PersistentVolumeClaimTemplate: obj(
    {
      metadata: objectMeta({ description: 'Copied unchanged into the PVC created from this template.' }),
      spec: v1('PersistentVolumeClaimSpec'),
    },
    { required: ['spec'] },
  ),
  ModifyVolumeStatus: obj({ status: str(), targetVolumeAttributesClassName: str() }, { required: ['status'] }),
  VolumeResourceRequirements: obj({ limits: map(quantity()), requests: map(quantity()) }),
  TypedLocalObjectReference: obj(
    { apiGroup: str(), kind: str(), name: str() },
    { required: ['kind', 'name'], mapType: 'atomic' },
  ),
  TypedObjectReference: obj(
    { apiGroup: str(), kind: str(), name: str(), namespace: str() },
    { required: ['kind', 'name'] },
  ),
});
