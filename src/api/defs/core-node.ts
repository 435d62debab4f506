/**
 * io.k8s.api.core.v1 Node definitions: Node, NodeSpec, NodeStatus and what they reach (addresses,
 * conditions, system info, daemon endpoints, images, attached volumes, dynamic-config status,
 * runtime handlers, taints). Node-selector types used by pod affinity live in core-pod.ts.
 */
import {
  arr,
  bool,
  group,
  int32,
  int64,
  kindObject,
  map,
  obj,
  quantity,
  str,
  time,
  type ArraySchema,
  type Definitions,
  type Schema,
  atomicList,
  coreRef,
  CORE_V1,
  mergeList,
} from '../schema.js';

const PKG = CORE_V1;
const v1 = coreRef;
const atomic = atomicList;
/** A status list merged element-wise by its `type` field (conditions, addresses). */
const byType = (items: Schema): ArraySchema => mergeList(items, 'type');

export const defs: Definitions = group(PKG, {
  Node: kindObject({ group: '', version: 'v1', kind: 'Node' }, { spec: v1('NodeSpec'), status: v1('NodeStatus') }),
  NodeSpec: obj({
    configSource: v1('NodeConfigSource'),
    externalID: str(),
    podCIDR: str(),
    podCIDRs: arr(str(), { listType: 'set', patchStrategy: 'merge' }),
    providerID: str(),
    taints: atomic(v1('Taint')),
    unschedulable: bool(),
  }),
  Taint: obj({ effect: str(), key: str(), timeAdded: time(), value: str() }, { required: ['key', 'effect'] }),
  NodeConfigSource: obj({ configMap: v1('ConfigMapNodeConfigSource') }),
  ConfigMapNodeConfigSource: obj(
    { kubeletConfigKey: str(), name: str(), namespace: str(), resourceVersion: str(), uid: str() },
    { required: ['namespace', 'name', 'kubeletConfigKey'] },
  ),

  NodeStatus: obj({
    addresses: byType(v1('NodeAddress')),
    allocatable: map(quantity()),
    capacity: map(quantity()),
    conditions: byType(v1('NodeCondition')),
    config: v1('NodeConfigStatus'),
    daemonEndpoints: v1('NodeDaemonEndpoints'),
    declaredFeatures: atomic(str()),
    features: v1('NodeFeatures'),
    images: atomic(v1('ContainerImage')),
    nodeInfo: v1('NodeSystemInfo'),
    phase: str(),
    runtimeHandlers: atomic(v1('NodeRuntimeHandler')),
    volumesAttached: atomic(v1('AttachedVolume')),
    volumesInUse: atomic(str()),
  }),
  NodeAddress: obj({ address: str(), type: str() }, { required: ['type', 'address'] }),
  NodeCondition: obj(
    {
      lastHeartbeatTime: time(),
      lastTransitionTime: time(),
      message: str(),
      reason: str(),
      status: str(),
      type: str(),
    },
    { required: ['type', 'status'] },
  ),
  NodeConfigStatus: obj({
    active: v1('NodeConfigSource'),
    assigned: v1('NodeConfigSource'),
    error: str(),
    lastKnownGood: v1('NodeConfigSource'),
  }),
  NodeDaemonEndpoints: obj({ kubeletEndpoint: v1('DaemonEndpoint') }),
  // Upstream really spells this field with a capital P.
  DaemonEndpoint: obj({ Port: int32() }, { required: ['Port'] }),
  NodeFeatures: obj({ supplementalGroupsPolicy: bool() }),
  ContainerImage: obj({ names: atomic(str()), sizeBytes: int64() }),
  NodeSystemInfo: obj(
    {
      architecture: str(),
      bootID: str(),
      containerRuntimeVersion: str(),
      kernelVersion: str(),
      kubeProxyVersion: str(),
      kubeletVersion: str(),
      machineID: str(),
      operatingSystem: str(),
      osImage: str(),
      swap: v1('NodeSwapStatus'),
      systemUUID: str(),
    },
    {
      required: [
        'machineID',
        'systemUUID',
        'bootID',
        'kernelVersion',
        'osImage',
        'containerRuntimeVersion',
        'kubeletVersion',
        'kubeProxyVersion',
        'operatingSystem',
        'architecture',
      ],
    },
  ),
  NodeSwapStatus: obj({ capacity: int64() }),
  NodeRuntimeHandler: obj({ features: v1('NodeRuntimeHandlerFeatures'), name: str() }),
  NodeRuntimeHandlerFeatures: obj({ recursiveReadOnlyMounts: bool(), userNamespaces: bool() }),
  AttachedVolume: obj({ devicePath: str(), name: str() }, { required: ['name', 'devicePath'] }),
});
