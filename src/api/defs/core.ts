/**
 * io.k8s.api.core.v1 kinds other than the Pod/Node closure: Namespace, Service, Endpoints,
 * ConfigMap, Secret, Event, ServiceAccount, the shared ObjectReference/LocalObjectReference, and
 * the *List kind of every served core kind (PodList and NodeList reference their items by name).
 *
 * Shapes mirror kube-apiserver's published schema field for field (checked by
 * test/schema-compare.test.ts); descriptions are our own one-liners, fuller on Service so that
 * `kubectl explain service.spec.ports` is useful.
 */
import {
  type ArraySchema,
  type Definitions,
  type Schema,
  bool,
  bytes,
  enumOf,
  group,
  int32,
  intOrString,
  kindObject,
  listObject,
  map,
  microTime,
  obj,
  ref,
  str,
  time,
  META,
  atomicList,
  coreRef,
  CORE_V1,
  mergeList,
} from '../schema.js';

const PKG = CORE_V1;
const v1 = coreRef;
const gvk = (kind: string): { group: string; version: string; kind: string } => ({ group: '', version: 'v1', kind });
const atomic = (items: Schema, description?: string): ArraySchema => atomicList(items, description ? { description } : {});
const keyed = mergeList;

const PROTOCOLS = ['SCTP', 'TCP', 'UDP'];

const serviceDefs: Definitions = {
  Service: kindObject(
    gvk('Service'),
    {
      spec: v1('ServiceSpec', { description: 'The desired behaviour of the Service.' }),
      status: v1('ServiceStatus', { description: 'The most recently observed status of the Service; read-only.' }),
    },
    { description: 'A named abstraction of a set of Pods: a stable virtual IP and ports, load-balanced to the Pods that match its selector.' },
  ),
  ServiceSpec: obj(
    {
      allocateLoadBalancerNodePorts: bool({ description: 'Whether NodePorts are allocated for a LoadBalancer Service (default true).' }),
      clusterIP: str({ description: 'The virtual IP of the Service; allocated when empty, "None" makes a headless Service.' }),
      clusterIPs: atomic(str(), 'All cluster IPs of the Service, one per IP family; the first equals clusterIP.'),
      externalIPs: atomic(str(), 'Extra IPs for which nodes also accept traffic for this Service.'),
      externalName: str({ description: 'DNS name returned as a CNAME when type is ExternalName.' }),
      externalTrafficPolicy: enumOf(['Cluster', 'Local'], {
        description: 'Whether external traffic is routed to node-local endpoints only (Local) or to all endpoints (Cluster).',
      }),
      healthCheckNodePort: int32({ description: 'Node port for health checks when externalTrafficPolicy is Local on a LoadBalancer.' }),
      internalTrafficPolicy: enumOf(['Cluster', 'Local'], {
        description: 'Whether in-cluster traffic goes to node-local endpoints only (Local) or to all endpoints (Cluster).',
      }),
      ipFamilies: atomic(enumOf(['', 'IPv4', 'IPv6']), 'IP families (IPv4, IPv6) assigned to this Service.'),
      ipFamilyPolicy: enumOf(['PreferDualStack', 'RequireDualStack', 'SingleStack'], {
        description: 'SingleStack, PreferDualStack or RequireDualStack.',
      }),
      loadBalancerClass: str({ description: 'The load balancer implementation this Service belongs to.' }),
      loadBalancerIP: str({ description: 'Deprecated: requested load balancer IP, if the implementation supports it.' }),
      loadBalancerSourceRanges: atomic(str(), 'Client CIDRs allowed through a cloud load balancer.'),
      ports: keyed(v1('ServicePort'), 'port', {
        listMapKeys: ['port', 'protocol'],
        description: 'The ports exposed by the Service, each mapped to a target port on the selected Pods.',
      }),
      publishNotReadyAddresses: bool({ description: 'Publish endpoints for Pods even when they are not ready.' }),
      selector: map(str(), { mapType: 'atomic', description: 'Label selector: traffic goes to Pods whose labels match all of these.' }),
      sessionAffinity: enumOf(['ClientIP', 'None'], { description: 'ClientIP keeps a client on the same endpoint; None (default) does not.' }),
      sessionAffinityConfig: v1('SessionAffinityConfig', { description: 'Settings of session affinity.' }),
      trafficDistribution: str({ description: 'Preference for how traffic is spread over endpoints, e.g. PreferClose.' }),
      type: enumOf(['ClusterIP', 'ExternalName', 'LoadBalancer', 'NodePort'], {
        description: 'How the Service is exposed: ClusterIP (default), NodePort, LoadBalancer or ExternalName.',
      }),
    },
    { description: 'The attributes a user sets on a Service.' },
  ),
  ServicePort: obj(
    {
      appProtocol: str({ description: 'The application protocol of this port, e.g. http or kubernetes.io/h2c.' }),
      name: str({ description: 'Name of the port; required and unique when the Service has more than one port.' }),
      nodePort: int32({ description: 'Port opened on every node for NodePort and LoadBalancer Services; allocated when unset.' }),
      port: int32({ description: 'The port the Service listens on.' }),
      protocol: enumOf(PROTOCOLS, { description: 'TCP (default), UDP or SCTP.' }),
      targetPort: intOrString({ description: 'Number or name of the port on the Pods; defaults to port.' }),
    },
    { required: ['port'], description: 'One port of a Service.' },
  ),
  ServiceStatus: obj(
    {
      conditions: keyed(ref(`${META}.Condition`), 'type', { description: 'Current conditions of the Service.' }),
      loadBalancer: v1('LoadBalancerStatus', { description: 'Status of the load balancer, if any.' }),
    },
    { description: 'The observed state of a Service.' },
  ),
  SessionAffinityConfig: obj(
    { clientIP: v1('ClientIPConfig', { description: 'Settings of ClientIP affinity.' }) },
    { description: 'Settings of session affinity.' },
  ),
  ClientIPConfig: obj(
    { timeoutSeconds: int32({ description: 'Seconds a client stays bound to its endpoint (default 10800).' }) },
    { description: 'Settings of ClientIP session affinity.' },
  ),
  LoadBalancerStatus: obj(
    { ingress: atomic(v1('LoadBalancerIngress'), 'Ingress points of the load balancer.') },
    { description: 'Status of a load balancer.' },
  ),
  LoadBalancerIngress: obj(
    {
      hostname: str({ description: 'DNS name of the ingress point.' }),
      ip: str({ description: 'IP of the ingress point.' }),
      ipMode: enumOf(['Proxy', 'VIP'], { description: 'How traffic reaches the ingress IP: VIP or Proxy.' }),
      ports: atomic(v1('PortStatus'), 'Per-port status.'),
    },
    { description: 'An ingress point of a load balancer.' },
  ),
  PortStatus: obj(
    {
      error: str({ description: 'Why the port is not working, if it is not.' }),
      port: int32({ description: 'The port number.' }),
      protocol: enumOf(PROTOCOLS, { description: 'The port protocol.' }),
    },
    { required: ['port', 'protocol'], description: 'Status of one service port.' },
  ),
};

const endpointsDefs: Definitions = {
  Endpoints: kindObject(
    gvk('Endpoints'),
    { subsets: atomic(v1('EndpointSubset'), 'Sets of addresses and ports that together form the endpoints.') },
    { description: 'The addresses and ports implementing a Service.' },
  ),
  EndpointSubset: obj({
    addresses: atomic(v1('EndpointAddress'), 'Ready addresses.'),
    notReadyAddresses: atomic(v1('EndpointAddress'), 'Addresses that are not ready yet.'),
    ports: atomic(v1('EndpointPort'), 'Ports available on all the addresses.'),
  }),
  EndpointAddress: obj(
    {
      hostname: str(),
      ip: str({ description: 'The IP of the endpoint.' }),
      nodeName: str({ description: 'The node hosting the endpoint.' }),
      targetRef: v1('ObjectReference', { description: 'The object (usually a Pod) providing the endpoint.' }),
    },
    { required: ['ip'], mapType: 'atomic' },
  ),
  EndpointPort: obj(
    { appProtocol: str(), name: str(), port: int32(), protocol: enumOf(PROTOCOLS) },
    { required: ['port'], mapType: 'atomic' },
  ),
};

const otherDefs: Definitions = {
  Namespace: kindObject(
    gvk('Namespace'),
    { spec: v1('NamespaceSpec'), status: v1('NamespaceStatus') },
    { description: 'A scope for names of namespaced objects.' },
  ),
  NamespaceSpec: obj({ finalizers: atomic(str(), 'Must be empty before the namespace is removed.') }),
  NamespaceStatus: obj({
    conditions: keyed(v1('NamespaceCondition'), 'type'),
    phase: enumOf(['Active', 'Terminating'], { description: 'Active or Terminating.' }),
  }),
  NamespaceCondition: obj(
    { lastTransitionTime: time(), message: str(), reason: str(), status: str(), type: str() },
    { required: ['type', 'status'] },
  ),
  ConfigMap: kindObject(
    gvk('ConfigMap'),
    {
      binaryData: map(bytes(), { description: 'Binary values, base64 encoded.' }),
      data: map(str(), { description: 'UTF-8 configuration values.' }),
      immutable: bool({ description: 'When true, data cannot change.' }),
    },
    { description: 'Non-secret configuration data.' },
  ),
  Secret: kindObject(
    gvk('Secret'),
    {
      data: map(bytes(), { description: 'Secret values, base64 encoded.' }),
      immutable: bool({ description: 'When true, data cannot change.' }),
      stringData: map(str(), { description: 'Write-only plain-text values merged into data.' }),
      type: str({ description: 'Used to facilitate programmatic handling of secret data.' }),
    },
    { description: 'Holds secret data such as passwords or keys.' },
  ),
  Event: kindObject(
    gvk('Event'),
    {
      action: str(),
      count: int32(),
      eventTime: microTime(),
      firstTimestamp: time(),
      involvedObject: v1('ObjectReference', { description: 'The object this event is about.' }),
      lastTimestamp: time(),
      message: str(),
      reason: str(),
      related: v1('ObjectReference'),
      reportingComponent: str(),
      reportingInstance: str(),
      series: v1('EventSeries'),
      source: v1('EventSource'),
      type: str(),
    },
    { required: ['metadata', 'involvedObject'], description: 'A report of something that happened in the cluster.' },
  ),
  EventSource: obj({ component: str(), host: str() }),
  EventSeries: obj({ count: int32(), lastObservedTime: microTime() }),
  ServiceAccount: kindObject(
    gvk('ServiceAccount'),
    {
      automountServiceAccountToken: bool(),
      imagePullSecrets: atomic(v1('LocalObjectReference')),
      secrets: keyed(v1('ObjectReference'), 'name'),
    },
    { description: 'An identity for processes running in Pods.' },
  ),
  ObjectReference: obj(
    {
      apiVersion: str(),
      fieldPath: str(),
      kind: str(),
      name: str(),
      namespace: str(),
      resourceVersion: str(),
      uid: str(),
    },
    { mapType: 'atomic', description: 'A reference to another object.' },
  ),
  LocalObjectReference: obj({ name: str() }, { mapType: 'atomic', description: 'A reference to an object in the same namespace.' }),
};

/** Every served core kind that has a list form. */
const LIST_KINDS = ['Namespace', 'Pod', 'Service', 'Endpoints', 'ConfigMap', 'Secret', 'Node', 'Event', 'ServiceAccount'];
const listDefs: Definitions = Object.fromEntries(
  LIST_KINDS.map((k) => [`${k}List`, listObject(gvk(`${k}List`), `${PKG}.${k}`)]),
);

export const defs: Definitions = group(PKG, { ...serviceDefs, ...endpointsDefs, ...otherDefs, ...listDefs });
