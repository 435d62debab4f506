/**
 * io.k8s.api.core.v1 Pod definitions: Pod, PodSpec, PodStatus, PodTemplate(Spec), Binding and the
 * pod-level pieces they reach (scheduling: affinity, tolerations, topology spread, gates; DNS and
 * host aliases; pod security context; resource claims; status conditions and IPs).
 *
 * This module is also the entry point for the whole Pod/Node closure: its `defs` merges
 * core-container.ts, core-volume.ts and core-node.ts, so callers import one table. Kinds owned by
 * core.ts (ObjectReference, LocalObjectReference, *List) and apimachinery types (meta.ts) are only
 * referenced by name.
 */
import {
  arr,
  bool,
  group,
  int32,
  int64,
  kindObject,
  labelSelector,
  map,
  obj,
  objectMeta,
  quantity,
  str,
  time,
  type Definitions,
  atomicList,
  coreRef,
  CORE_V1,
  mergeList,
} from '../schema.js';
import { defs as containerDefs } from './core-container.js';
import { defs as nodeDefs } from './core-node.js';
import { defs as volumeDefs } from './core-volume.js';

const PKG = CORE_V1;
const v1 = coreRef;
const atomic = atomicList;

/** Pod-level definitions only (without the container/volume/node modules). */
export const podDefs: Definitions = group(PKG, {
  Pod: kindObject({ group: '', version: 'v1', kind: 'Pod' }, { spec: v1('PodSpec'), status: v1('PodStatus') }),
  PodTemplate: kindObject({ group: '', version: 'v1', kind: 'PodTemplate' }, { template: v1('PodTemplateSpec') }),
  PodTemplateSpec: obj({ metadata: objectMeta(), spec: v1('PodSpec') }),
  Binding: kindObject(
    { group: '', version: 'v1', kind: 'Binding' },
    { target: v1('ObjectReference') },
    { required: ['target'] },
  ),

  PodSpec: obj(
    {
      activeDeadlineSeconds: int64(),
      affinity: v1('Affinity'),
      automountServiceAccountToken: bool(),
      containers: mergeList(v1('Container'), 'name'),
      dnsConfig: v1('PodDNSConfig'),
      dnsPolicy: str(),
      enableServiceLinks: bool(),
      ephemeralContainers: mergeList(v1('EphemeralContainer'), 'name'),
      hostAliases: mergeList(v1('HostAlias'), 'ip'),
      hostIPC: bool(),
      hostNetwork: bool(),
      hostPID: bool(),
      hostUsers: bool(),
      hostname: str(),
      hostnameOverride: str(),
      imagePullSecrets: mergeList(v1('LocalObjectReference'), 'name'),
      initContainers: mergeList(v1('Container'), 'name'),
      nodeName: str(),
      nodeSelector: map(str(), { mapType: 'atomic' }),
      os: v1('PodOS'),
      overhead: map(quantity()),
      preemptionPolicy: str(),
      priority: int32(),
      priorityClassName: str(),
      readinessGates: atomic(v1('PodReadinessGate')),
      resourceClaims: mergeList(v1('PodResourceClaim'), 'name', { patchStrategy: 'merge,retainKeys' }),
      resources: v1('ResourceRequirements'),
      restartPolicy: str(),
      runtimeClassName: str(),
      schedulerName: str(),
      schedulingGates: mergeList(v1('PodSchedulingGate'), 'name'),
      schedulingGroup: v1('PodSchedulingGroup'),
      securityContext: v1('PodSecurityContext'),
      serviceAccount: str({ description: 'Deprecated alias of serviceAccountName.' }),
      serviceAccountName: str(),
      setHostnameAsFQDN: bool(),
      shareProcessNamespace: bool(),
      subdomain: str(),
      terminationGracePeriodSeconds: int64(),
      tolerations: atomic(v1('Toleration')),
      topologySpreadConstraints: mergeList(v1('TopologySpreadConstraint'), 'topologyKey', {
        listMapKeys: ['topologyKey', 'whenUnsatisfiable'],
      }),
      // retainKeys: a patch that switches a volume's source drops the previous source field.
      volumes: mergeList(v1('Volume'), 'name', { patchStrategy: 'merge,retainKeys' }),
    },
    { required: ['containers'] },
  ),

  // --- scheduling ----------------------------------------------------------------------------
  Affinity: obj({
    nodeAffinity: v1('NodeAffinity'),
    podAffinity: v1('PodAffinity'),
    podAntiAffinity: v1('PodAntiAffinity'),
  }),
  NodeAffinity: obj({
    preferredDuringSchedulingIgnoredDuringExecution: atomic(v1('PreferredSchedulingTerm')),
    requiredDuringSchedulingIgnoredDuringExecution: v1('NodeSelector'),
  }),
  NodeSelector: obj(
    { nodeSelectorTerms: atomic(v1('NodeSelectorTerm')) },
    { required: ['nodeSelectorTerms'], mapType: 'atomic' },
  ),
  NodeSelectorTerm: obj(
    { matchExpressions: atomic(v1('NodeSelectorRequirement')), matchFields: atomic(v1('NodeSelectorRequirement')) },
    { mapType: 'atomic' },
  ),
  NodeSelectorRequirement: obj({ key: str(), operator: str(), values: atomic(str()) }, { required: ['key', 'operator'] }),
  PreferredSchedulingTerm: obj(
    { preference: v1('NodeSelectorTerm'), weight: int32() },
    { required: ['weight', 'preference'] },
  ),
  PodAffinity: obj({
    preferredDuringSchedulingIgnoredDuringExecution: atomic(v1('WeightedPodAffinityTerm')),
    requiredDuringSchedulingIgnoredDuringExecution: atomic(v1('PodAffinityTerm')),
  }),
  PodAntiAffinity: obj({
    preferredDuringSchedulingIgnoredDuringExecution: atomic(v1('WeightedPodAffinityTerm')),
    requiredDuringSchedulingIgnoredDuringExecution: atomic(v1('PodAffinityTerm')),
  }),
  PodAffinityTerm: obj(
    {
      labelSelector: labelSelector(),
      matchLabelKeys: atomic(str()),
      mismatchLabelKeys: atomic(str()),
      namespaceSelector: labelSelector(),
      namespaces: atomic(str()),
      topologyKey: str(),
    },
    { required: ['topologyKey'] },
  ),
  WeightedPodAffinityTerm: obj(
    { podAffinityTerm: v1('PodAffinityTerm'), weight: int32() },
    { required: ['weight', 'podAffinityTerm'] },
  ),
  Toleration: obj({ effect: str(), key: str(), operator: str(), tolerationSeconds: int64(), value: str() }),
  TopologySpreadConstraint: obj(
    {
      labelSelector: labelSelector(),
      matchLabelKeys: atomic(str()),
      maxSkew: int32(),
      minDomains: int32(),
      nodeAffinityPolicy: str(),
      nodeTaintsPolicy: str(),
      topologyKey: str(),
      whenUnsatisfiable: str(),
    },
    { required: ['maxSkew', 'topologyKey', 'whenUnsatisfiable'] },
  ),
  PodSchedulingGate: obj({ name: str() }, { required: ['name'] }),
  PodSchedulingGroup: obj(
    { podGroupName: str() },
    { unions: [{ 'fields-to-discriminateBy': { podGroupName: 'PodGroupName' } }] },
  ),
  PodReadinessGate: obj({ conditionType: str() }, { required: ['conditionType'] }),
  PodOS: obj({ name: str() }, { required: ['name'] }),

  // --- networking / DNS ----------------------------------------------------------------------
  HostAlias: obj({ hostnames: atomic(str()), ip: str() }, { required: ['ip'] }),
  PodDNSConfig: obj({
    nameservers: atomic(str()),
    options: atomic(v1('PodDNSConfigOption')),
    searches: atomic(str()),
  }),
  PodDNSConfigOption: obj({ name: str(), value: str() }),

  // --- security ------------------------------------------------------------------------------
  PodSecurityContext: obj({
    appArmorProfile: v1('AppArmorProfile'),
    fsGroup: int64(),
    fsGroupChangePolicy: str(),
    runAsGroup: int64(),
    runAsNonRoot: bool(),
    runAsUser: int64(),
    seLinuxChangePolicy: str(),
    seLinuxOptions: v1('SELinuxOptions'),
    seccompProfile: v1('SeccompProfile'),
    supplementalGroups: atomic(int64()),
    supplementalGroupsPolicy: str(),
    sysctls: atomic(v1('Sysctl')),
    windowsOptions: v1('WindowsSecurityContextOptions'),
  }),
  Sysctl: obj({ name: str(), value: str() }, { required: ['name', 'value'] }),

  // --- dynamic resource allocation -----------------------------------------------------------
  PodResourceClaim: obj(
    { name: str(), resourceClaimName: str(), resourceClaimTemplateName: str() },
    { required: ['name'] },
  ),
  PodResourceClaimStatus: obj({ name: str(), resourceClaimName: str() }, { required: ['name'] }),
  PodExtendedResourceClaimStatus: obj(
    { requestMappings: atomic(v1('ContainerExtendedResourceRequest')), resourceClaimName: str() },
    { required: ['requestMappings', 'resourceClaimName'] },
  ),
  ContainerExtendedResourceRequest: obj(
    { containerName: str(), requestName: str(), resourceName: str() },
    { required: ['containerName', 'resourceName', 'requestName'] },
  ),
  NodeAllocatableResourceClaimStatus: obj(
    { containers: arr(str(), { listType: 'set' }), resourceClaimName: str(), resources: map(quantity()) },
    { required: ['resourceClaimName', 'resources'] },
  ),

  // --- status --------------------------------------------------------------------------------
  PodStatus: obj({
    allocatedResources: map(quantity()),
    conditions: mergeList(v1('PodCondition'), 'type'),
    containerStatuses: atomic(v1('ContainerStatus')),
    ephemeralContainerStatuses: atomic(v1('ContainerStatus')),
    extendedResourceClaimStatus: v1('PodExtendedResourceClaimStatus'),
    hostIP: str(),
    // Upstream oddity: atomic list type, yet strategic merge still merges by ip.
    hostIPs: arr(v1('HostIP'), { listType: 'atomic', patchStrategy: 'merge', patchMergeKey: 'ip' }),
    initContainerStatuses: atomic(v1('ContainerStatus')),
    message: str(),
    nodeAllocatableResourceClaimStatuses: atomic(v1('NodeAllocatableResourceClaimStatus')),
    nominatedNodeName: str(),
    observedGeneration: int64(),
    phase: str(),
    podIP: str(),
    podIPs: mergeList(v1('PodIP'), 'ip'),
    qosClass: str(),
    reason: str(),
    resize: str(),
    resourceClaimStatuses: mergeList(v1('PodResourceClaimStatus'), 'name', { patchStrategy: 'merge,retainKeys' }),
    resources: v1('ResourceRequirements'),
    startTime: time(),
  }),
  PodCondition: obj(
    {
      lastProbeTime: time(),
      lastTransitionTime: time(),
      message: str(),
      observedGeneration: int64(),
      reason: str(),
      status: str(),
      type: str(),
    },
    { required: ['type', 'status'] },
  ),
  PodIP: obj({ ip: str() }, { required: ['ip'] }),
  HostIP: obj({ ip: str() }, { required: ['ip'] }),
});

/** The whole Pod/Node closure of core/v1 owned by these modules. */
export const defs: Definitions = { ...podDefs, ...containerDefs, ...volumeDefs, ...nodeDefs };
