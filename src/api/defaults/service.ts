/**
 * Service defaulting (SetDefaults_Service) and the service strategy's create/update preparation
 * (kube's PrepareForCreate/PrepareForUpdate: patchAllocatedValues, NormalizeClusterIPs,
 * dropTypeDependentFields). IP families and allocations are the allocator's business.
 */
type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v.filter(isObj) : []);

const externallyAccessible = (spec: Obj): boolean =>
  spec.type === 'LoadBalancer' || spec.type === 'NodePort' || (spec.type === 'ClusterIP' && Array.isArray(spec.externalIPs) && spec.externalIPs.length > 0);

export function applyServiceDefaults(svc: Obj): void {
  if (!isObj(svc.spec)) svc.spec = {};
  const spec = svc.spec;
  if (!spec.sessionAffinity) spec.sessionAffinity = 'None';
  if (spec.sessionAffinity === 'None') delete spec.sessionAffinityConfig;
  if (spec.sessionAffinity === 'ClientIP') {
    const t = isObj(spec.sessionAffinityConfig) && isObj(spec.sessionAffinityConfig.clientIP) ? spec.sessionAffinityConfig.clientIP.timeoutSeconds : undefined;
    if (t === undefined || t === null) spec.sessionAffinityConfig = { clientIP: { timeoutSeconds: 10800 } };
  }
  if (!spec.type) spec.type = 'ClusterIP';
  for (const p of list(spec.ports)) {
    if (!p.protocol) p.protocol = 'TCP';
    if (p.targetPort === undefined || p.targetPort === null || p.targetPort === 0 || p.targetPort === '') p.targetPort = p.port;
  }
  if (externallyAccessible(spec) && !spec.externalTrafficPolicy) spec.externalTrafficPolicy = 'Cluster';
  if ((spec.internalTrafficPolicy === undefined || spec.internalTrafficPolicy === null) && ['NodePort', 'LoadBalancer', 'ClusterIP'].includes(spec.type)) {
    spec.internalTrafficPolicy = 'Cluster';
  }
  if (spec.type === 'LoadBalancer' && (spec.allocateLoadBalancerNodePorts === undefined || spec.allocateLoadBalancerNodePorts === null)) {
    spec.allocateLoadBalancerNodePorts = true;
  }
  if (spec.type === 'LoadBalancer' && isObj(svc.status) && isObj(svc.status.loadBalancer)) {
    for (const ing of list(svc.status.loadBalancer.ingress)) if (ing.ip && !ing.ipMode) ing.ipMode = 'VIP';
  }
}

export const needsClusterIP = (spec: Obj): boolean => spec.type !== 'ExternalName';
/**
 * kube's needsNodePort: by type only. allocateLoadBalancerNodePorts decides whether *new* ports are
 * allocated (allocators.ts), not whether existing ones are kept: turning it off on a Service keeps
 * its node ports until the user removes them.
 */
export const needsNodePorts = (spec: Obj): boolean => spec.type === 'NodePort' || spec.type === 'LoadBalancer';
export const needsHealthCheckNodePort = (spec: Obj): boolean => spec.type === 'LoadBalancer' && spec.externalTrafficPolicy === 'Local';

const arr = (v: unknown): string[] => (Array.isArray(v) ? v.map(String) : []);
const sameList = (a: unknown, b: unknown): boolean => JSON.stringify(arr(a)) === JSON.stringify(arr(b));

/** NormalizeClusterIPs: keep clusterIPs consistent with what the user changed in clusterIP. */
function normalizeClusterIPs(spec: Obj, old?: Obj): void {
  if (spec.clusterIP && arr(spec.clusterIPs).length === 0) {
    spec.clusterIPs = [spec.clusterIP];
    return;
  }
  if (!old) return;
  if (old.clusterIP && !spec.clusterIP && sameList(old.clusterIPs, spec.clusterIPs)) delete spec.clusterIPs;
  if (old.clusterIP && spec.clusterIP && spec.clusterIP !== old.clusterIP && sameList(old.clusterIPs, spec.clusterIPs) && arr(spec.clusterIPs).length) {
    spec.clusterIPs = [spec.clusterIP, ...arr(spec.clusterIPs).slice(1)];
  }
}

/** PrepareForCreate: status reset and clusterIPs normalized. */
export function prepareServiceForCreate(svc: Obj): void {
  if (!isObj(svc.spec)) svc.spec = {};
  svc.status = { loadBalancer: {} };
  normalizeClusterIPs(svc.spec);
}

/** patchAllocatedValues: an update that omits allocated values keeps the old ones. */
function patchAllocatedValues(spec: Obj, old: Obj): void {
  if (needsClusterIP(old) && needsClusterIP(spec)) {
    if (!spec.clusterIP && old.clusterIP) spec.clusterIP = old.clusterIP;
    if (arr(spec.clusterIPs).length === 0 && arr(old.clusterIPs).length > 0) spec.clusterIPs = [...arr(old.clusterIPs)];
  }
  if (needsNodePorts(old) && needsNodePorts(spec)) {
    const used = (s: Obj): Set<number> => new Set(list(s.ports).map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n !== 0));
    const newUsed = used(spec);
    const both = new Set([...used(old)].filter((n) => newUsed.has(n)));
    const byName = new Map<string, number>();
    for (const p of list(old.ports)) byName.set(String(p.name ?? ''), p.nodePort ?? 0);
    for (const p of list(spec.ports)) {
      if (p.nodePort) continue;
      const v = byName.get(String(p.name ?? '')) ?? 0;
      if (v && !both.has(v)) p.nodePort = v;
    }
  }
  if (needsHealthCheckNodePort(old) && needsHealthCheckNodePort(spec) && !spec.healthCheckNodePort && old.healthCheckNodePort) {
    spec.healthCheckNodePort = old.healthCheckNodePort;
  }
}

/** dropTypeDependentFields: wipe fields that no longer apply after a type change, if the user left them as they were. */
function dropTypeDependentFields(spec: Obj, old: Obj): void {
  if (needsClusterIP(old) && !needsClusterIP(spec)) {
    if ((spec.clusterIP ?? '') === (old.clusterIP ?? '') && sameList(spec.clusterIPs, old.clusterIPs)) {
      delete spec.clusterIP;
      delete spec.clusterIPs;
    }
    if (sameList(spec.ipFamilies, old.ipFamilies)) delete spec.ipFamilies;
    if ((spec.ipFamilyPolicy ?? null) === (old.ipFamilyPolicy ?? null)) delete spec.ipFamilyPolicy;
  }
  const nodePorts = (s: Obj): string => JSON.stringify(list(s.ports).map((p) => p.nodePort ?? 0));
  if (needsNodePorts(old) && !needsNodePorts(spec) && nodePorts(spec) === nodePorts(old)) {
    for (const p of list(spec.ports)) delete p.nodePort;
  }
  if (needsHealthCheckNodePort(old) && !needsHealthCheckNodePort(spec) && (spec.healthCheckNodePort ?? 0) === (old.healthCheckNodePort ?? 0)) {
    delete spec.healthCheckNodePort;
  }
  if (old.type === 'LoadBalancer' && spec.type !== 'LoadBalancer') {
    if (typeof spec.allocateLoadBalancerNodePorts === 'boolean' && spec.allocateLoadBalancerNodePorts === old.allocateLoadBalancerNodePorts) {
      delete spec.allocateLoadBalancerNodePorts;
    }
    if ((spec.loadBalancerClass ?? null) === (old.loadBalancerClass ?? null)) delete spec.loadBalancerClass;
  }
  if (externallyAccessible(old) && !externallyAccessible(spec) && (spec.externalTrafficPolicy ?? '') === (old.externalTrafficPolicy ?? '')) {
    delete spec.externalTrafficPolicy;
  }
}

/** PrepareForUpdate: status kept from the old object, allocated values patched, stale type fields dropped. */
export function prepareServiceForUpdate(svc: Obj, old: Obj): void {
  if (!isObj(svc.spec)) svc.spec = {};
  const oldSpec = isObj(old.spec) ? old.spec : {};
  svc.status = old.status === undefined ? { loadBalancer: {} } : JSON.parse(JSON.stringify(old.status));
  patchAllocatedValues(svc.spec, oldSpec);
  normalizeClusterIPs(svc.spec, oldSpec);
  dropTypeDependentFields(svc.spec, oldSpec);
}
