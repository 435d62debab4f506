/**
 * io.k8s.api.core.v1 container-level definitions: Container / EphemeralContainer and everything
 * they reach (env, ports, probes and their handlers, lifecycle, resources, security context,
 * mounts), plus the per-container status types reported in PodStatus.
 *
 * Field names, formats, required lists and list/patch metadata follow the Kubernetes v1.36 API
 * exactly, because strategic merge patch and `kubectl explain` depend on them. Enumerated string
 * fields are plain strings here, as in the published OpenAPI v2 document; allowed values are
 * enforced by the validation layer.
 */
import {
  arr,
  bool,
  group,
  int32,
  int64,
  intOrString,
  map,
  obj,
  quantity,
  str,
  time,
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

/**
 * Fields shared verbatim by Container and EphemeralContainer. Upstream keeps them as two separate
 * structs with identical field sets (ephemeral containers only add `targetContainerName`).
 */
const containerFields = (): Record<string, Schema> => ({
  args: atomic(str()),
  command: atomic(str()),
  env: mergeList(v1('EnvVar'), 'name'),
  envFrom: atomic(v1('EnvFromSource')),
  image: str(),
  imagePullPolicy: str(),
  lifecycle: v1('Lifecycle'),
  livenessProbe: v1('Probe'),
  name: str(),
  ports: mergeList(v1('ContainerPort'), 'containerPort', { listMapKeys: ['containerPort', 'protocol'] }),
  readinessProbe: v1('Probe'),
  resizePolicy: atomic(v1('ContainerResizePolicy')),
  resources: v1('ResourceRequirements'),
  restartPolicy: str(),
  restartPolicyRules: atomic(v1('ContainerRestartRule')),
  securityContext: v1('SecurityContext'),
  startupProbe: v1('Probe'),
  stdin: bool(),
  stdinOnce: bool(),
  terminationMessagePath: str(),
  terminationMessagePolicy: str(),
  tty: bool(),
  volumeDevices: mergeList(v1('VolumeDevice'), 'devicePath'),
  volumeMounts: mergeList(v1('VolumeMount'), 'mountPath'),
  workingDir: str(),
});

/** A `{name, optional}` reference to a ConfigMap or Secret, used by envFrom. */
const namedOptional = (): Record<string, Schema> => ({ name: str(), optional: bool() });

export const defs: Definitions = group(PKG, {
  Container: obj(containerFields(), { required: ['name'] }),
  EphemeralContainer: obj(
    {
      ...containerFields(),
      targetContainerName: str({
        description: 'Name of the (non-ephemeral) container whose namespaces this ephemeral container joins.',
      }),
    },
    { required: ['name'] },
  ),
  ContainerPort: obj(
    { containerPort: int32(), hostIP: str(), hostPort: int32(), name: str(), protocol: str() },
    { required: ['containerPort'] },
  ),
  ContainerResizePolicy: obj({ resourceName: str(), restartPolicy: str() }, { required: ['resourceName', 'restartPolicy'] }),
  ContainerRestartRule: obj({ action: str(), exitCodes: v1('ContainerRestartRuleOnExitCodes') }, { required: ['action'] }),
  ContainerRestartRuleOnExitCodes: obj(
    { operator: str(), values: arr(int32(), { listType: 'set' }) },
    { required: ['operator'] },
  ),

  // --- environment ---------------------------------------------------------------------------
  EnvVar: obj({ name: str(), value: str(), valueFrom: v1('EnvVarSource') }, { required: ['name'] }),
  EnvVarSource: obj({
    configMapKeyRef: v1('ConfigMapKeySelector'),
    fieldRef: v1('ObjectFieldSelector'),
    fileKeyRef: v1('FileKeySelector'),
    resourceFieldRef: v1('ResourceFieldSelector'),
    secretKeyRef: v1('SecretKeySelector'),
  }),
  ConfigMapKeySelector: obj({ key: str(), name: str(), optional: bool() }, { required: ['key'], mapType: 'atomic' }),
  SecretKeySelector: obj({ key: str(), name: str(), optional: bool() }, { required: ['key'], mapType: 'atomic' }),
  FileKeySelector: obj(
    { key: str(), optional: bool(), path: str(), volumeName: str() },
    { required: ['volumeName', 'path', 'key'], mapType: 'atomic' },
  ),
  ObjectFieldSelector: obj({ apiVersion: str(), fieldPath: str() }, { required: ['fieldPath'], mapType: 'atomic' }),
  ResourceFieldSelector: obj(
    { containerName: str(), divisor: quantity(), resource: str() },
    { required: ['resource'], mapType: 'atomic' },
  ),
  EnvFromSource: obj({ configMapRef: v1('ConfigMapEnvSource'), prefix: str(), secretRef: v1('SecretEnvSource') }),
  ConfigMapEnvSource: obj(namedOptional()),
  SecretEnvSource: obj(namedOptional()),

  // --- resources -----------------------------------------------------------------------------
  ResourceRequirements: obj({
    claims: arr(v1('ResourceClaim'), { listType: 'map', listMapKeys: ['name'] }),
    limits: map(quantity()),
    requests: map(quantity()),
  }),
  ResourceClaim: obj({ name: str(), request: str() }, { required: ['name'] }),

  // --- probes and lifecycle ------------------------------------------------------------------
  Probe: obj({
    exec: v1('ExecAction'),
    failureThreshold: int32(),
    grpc: v1('GRPCAction'),
    httpGet: v1('HTTPGetAction'),
    initialDelaySeconds: int32(),
    periodSeconds: int32(),
    successThreshold: int32(),
    tcpSocket: v1('TCPSocketAction'),
    terminationGracePeriodSeconds: int64(),
    timeoutSeconds: int32(),
  }),
  ExecAction: obj({ command: atomic(str()) }),
  HTTPGetAction: obj(
    { host: str(), httpHeaders: atomic(v1('HTTPHeader')), path: str(), port: intOrString(), scheme: str() },
    { required: ['port'] },
  ),
  HTTPHeader: obj({ name: str(), value: str() }, { required: ['name', 'value'] }),
  TCPSocketAction: obj({ host: str(), port: intOrString() }, { required: ['port'] }),
  GRPCAction: obj({ port: int32(), service: str() }, { required: ['port'] }),
  SleepAction: obj({ seconds: int64() }, { required: ['seconds'] }),
  Lifecycle: obj({ postStart: v1('LifecycleHandler'), preStop: v1('LifecycleHandler'), stopSignal: str() }),
  LifecycleHandler: obj({
    exec: v1('ExecAction'),
    httpGet: v1('HTTPGetAction'),
    sleep: v1('SleepAction'),
    tcpSocket: v1('TCPSocketAction'),
  }),

  // --- security ------------------------------------------------------------------------------
  SecurityContext: obj({
    allowPrivilegeEscalation: bool(),
    appArmorProfile: v1('AppArmorProfile'),
    capabilities: v1('Capabilities'),
    privileged: bool(),
    procMount: str(),
    readOnlyRootFilesystem: bool(),
    runAsGroup: int64(),
    runAsNonRoot: bool(),
    runAsUser: int64(),
    seLinuxOptions: v1('SELinuxOptions'),
    seccompProfile: v1('SeccompProfile'),
    windowsOptions: v1('WindowsSecurityContextOptions'),
  }),
  Capabilities: obj({ add: atomic(str()), drop: atomic(str()) }),
  SELinuxOptions: obj({ level: str(), role: str(), type: str(), user: str() }),
  SeccompProfile: obj(
    { localhostProfile: str(), type: str() },
    { required: ['type'], unions: [{ discriminator: 'type', 'fields-to-discriminateBy': { localhostProfile: 'LocalhostProfile' } }] },
  ),
  AppArmorProfile: obj(
    { localhostProfile: str(), type: str() },
    { required: ['type'], unions: [{ discriminator: 'type', 'fields-to-discriminateBy': { localhostProfile: 'LocalhostProfile' } }] },
  ),
  WindowsSecurityContextOptions: obj({
    gmsaCredentialSpec: str(),
    gmsaCredentialSpecName: str(),
    hostProcess: bool(),
    runAsUserName: str(),
  }),

  // --- mounts --------------------------------------------------------------------------------
  VolumeMount: obj(
    {
      mountPath: str(),
      mountPropagation: str(),
      name: str(),
      readOnly: bool(),
      recursiveReadOnly: str(),
      subPath: str(),
      subPathExpr: str(),
    },
    { required: ['name', 'mountPath'] },
  ),
  VolumeDevice: obj({ devicePath: str(), name: str() }, { required: ['name', 'devicePath'] }),

  // --- status --------------------------------------------------------------------------------
  ContainerStatus: obj(
    {
      allocatedResources: map(quantity()),
      allocatedResourcesStatus: mergeList(v1('ResourceStatus'), 'name'),
      containerID: str(),
      image: str(),
      imageID: str(),
      lastState: v1('ContainerState'),
      name: str(),
      ready: bool(),
      resources: v1('ResourceRequirements'),
      restartCount: int32(),
      started: bool(),
      state: v1('ContainerState'),
      stopSignal: str(),
      user: v1('ContainerUser'),
      volumeMounts: mergeList(v1('VolumeMountStatus'), 'mountPath'),
    },
    { required: ['name', 'ready', 'restartCount', 'image', 'imageID'] },
  ),
  ContainerState: obj({
    running: v1('ContainerStateRunning'),
    terminated: v1('ContainerStateTerminated'),
    waiting: v1('ContainerStateWaiting'),
  }),
  ContainerStateRunning: obj({ startedAt: time() }),
  ContainerStateTerminated: obj(
    {
      containerID: str(),
      exitCode: int32(),
      finishedAt: time(),
      message: str(),
      reason: str(),
      signal: int32(),
      startedAt: time(),
    },
    { required: ['exitCode'] },
  ),
  ContainerStateWaiting: obj({ message: str(), reason: str() }),
  ContainerUser: obj({ linux: v1('LinuxContainerUser') }),
  LinuxContainerUser: obj(
    { gid: int64(), supplementalGroups: atomic(int64()), uid: int64() },
    { required: ['uid', 'gid'] },
  ),
  ResourceStatus: obj(
    { name: str(), resources: arr(v1('ResourceHealth'), { listType: 'map', listMapKeys: ['resourceID'] }) },
    { required: ['name'] },
  ),
  ResourceHealth: obj({ health: str(), message: str(), resourceID: str() }, { required: ['resourceID'] }),
  VolumeMountStatus: obj(
    { mountPath: str(), name: str(), readOnly: bool(), recursiveReadOnly: str(), volumeStatus: v1('VolumeStatus') },
    { required: ['name', 'mountPath'] },
  ),
  VolumeStatus: obj({ image: v1('ImageVolumeStatus') }),
  ImageVolumeStatus: obj({ imageRef: str() }, { required: ['imageRef'] }),
});
