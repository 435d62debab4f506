/**
 * The proxy's model: what one node must do with Service traffic, computed from Services and
 * EndpointSlices by a pure function (compute.ts) and rendered by each mode (nftables,
 * iptables, userspace). Every renderer and the packet tracer read only these types, so the
 * modes cannot disagree about *what* to do — only about how to say it.
 *
 * Mirrors kube-proxy's ServicePortInfo / Endpoint / CategorizeEndpoints results.
 */

export type Protocol = 'TCP' | 'UDP' | 'SCTP';

/** One backend address of a service port, as the EndpointSlices say. */
export interface ProxyEndpoint {
  ip: string;
  port: number;
  ready: boolean;
  serving: boolean;
  terminating: boolean;
  /** spec.nodeName of the endpoint (when set in the slice). */
  nodeName?: string;
  zone?: string;
  /** nodeName === this node. */
  isLocal: boolean;
}

/** One port of one Service (kube-proxy's unit of programming). */
export interface ServicePortInfo {
  /** `<namespace>/<name>:<portName>` (portName may be empty), then `/<protocol>` — stable, used for chain names. */
  id: string;
  namespace: string;
  name: string;
  portName: string;
  protocol: Protocol;
  /** spec.clusterIPs (empty for headless / ExternalName: such services are never programmed). */
  clusterIPs: string[];
  /** spec.ports[].port */
  port: number;
  nodePort?: number;
  externalIPs: string[];
  /** status.loadBalancer.ingress[].ip */
  loadBalancerIPs: string[];
  /** spec.loadBalancerSourceRanges (CIDRs); empty = everyone. */
  loadBalancerSourceRanges: string[];
  externalTrafficPolicy: 'Cluster' | 'Local';
  internalTrafficPolicy: 'Cluster' | 'Local';
  /** spec.healthCheckNodePort (LoadBalancer + externalTrafficPolicy Local). */
  healthCheckNodePort?: number;
  /** sessionAffinity ClientIP with its timeout (default 10800 s); undefined for None. */
  sessionAffinity?: { timeoutSeconds: number };
}

/** What to do with one service port on this node. */
export interface ServicePlan {
  svc: ServicePortInfo;
  /** Endpoints for traffic from inside the cluster (pods, the node itself) — already filtered by internalTrafficPolicy and the ready/serving-terminating fallback. */
  clusterEndpoints: ProxyEndpoint[];
  /** Endpoints for external traffic (NodePort, externalIPs, LB IPs) — filtered by externalTrafficPolicy. */
  externalEndpoints: ProxyEndpoint[];
  /** All endpoints on this node that are usable (for the health check node port: its count is what kube-proxy reports). */
  localEndpoints: ProxyEndpoint[];
  /** True when no endpoint exists at all for cluster traffic: the traffic must be rejected (ICMP/TCP reset), not dropped. */
  rejectCluster: boolean;
  /** Same for external traffic. */
  rejectExternal: boolean;
}

export interface ProxyNode {
  name: string;
  /** The node's own addresses (NodePorts answer on these). */
  addresses: string[];
  /** The service CIDR(s): traffic to unused addresses in them is dropped. */
  serviceCIDRs: string[];
  /** The pod CIDR(s) of the cluster: traffic from them is "internal"; anything else to a NodePort/externalIP/LB IP is external and masqueraded (Cluster policy). */
  podCIDRs: string[];
}

/** The whole desired state for one node (one IP family). */
export interface ProxyState {
  node: ProxyNode;
  /** Keyed by ServicePortInfo.id, sorted iteration order is the renderers' job. */
  services: Map<string, ServicePlan>;
}
