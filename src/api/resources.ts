/**
 * The served resources: one row per REST resource, as discovery lists them. Everything that
 * routes, discovers, validates or prints a kind starts from this table.
 */
export type Subresource = 'status' | 'scale' | 'binding' | 'log' | 'exec' | 'portforward' | 'attach' | 'proxy' | 'eviction';

export interface ResourceInfo {
  group: string; // '' for core
  version: string;
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  subresources: Subresource[];
  /** OpenAPI definition name of the kind, e.g. io.k8s.api.core.v1.Service */
  definition: string;
  /** metadata.generation is maintained (bumped on changes outside metadata/status). */
  generation: boolean;
  /** The kind is stored under another group-version's key space (e.g. events.k8s.io Event shares core Events). */
  storageOf?: { group: string; plural: string };
}

const ALL = ['all'];
const core = 'io.k8s.api.core.v1';

function r(
  group: string,
  version: string,
  kind: string,
  plural: string,
  o: Partial<ResourceInfo> & { pkg: string },
): ResourceInfo {
  const { pkg, ...rest } = o;
  return {
    group,
    version,
    kind,
    plural,
    singular: kind.toLowerCase(),
    namespaced: true,
    subresources: [],
    definition: `${pkg}.${kind}`,
    generation: false,
    ...rest,
  };
}

export const RESOURCES: ResourceInfo[] = [
  r('', 'v1', 'Namespace', 'namespaces', { pkg: core, namespaced: false, shortNames: ['ns'], subresources: ['status'] }),
  r('', 'v1', 'Pod', 'pods', {
    pkg: core,
    shortNames: ['po'],
    categories: ALL,
    subresources: ['status', 'binding', 'log', 'exec', 'portforward', 'attach', 'eviction'],
  }),
  r('', 'v1', 'Binding', 'bindings', { pkg: core }),
  r('', 'v1', 'Service', 'services', { pkg: core, shortNames: ['svc'], categories: ALL, subresources: ['status', 'proxy'] }),
  r('', 'v1', 'Endpoints', 'endpoints', { pkg: core, shortNames: ['ep'], singular: 'endpoints' }),
  r('', 'v1', 'ConfigMap', 'configmaps', { pkg: core, shortNames: ['cm'] }),
  r('', 'v1', 'Secret', 'secrets', { pkg: core }),
  r('', 'v1', 'Node', 'nodes', { pkg: core, namespaced: false, shortNames: ['no'], subresources: ['status', 'proxy'] }),
  r('', 'v1', 'Event', 'events', { pkg: core, shortNames: ['ev'] }),
  r('', 'v1', 'ServiceAccount', 'serviceaccounts', { pkg: core, shortNames: ['sa'] }),
  r('apps', 'v1', 'Deployment', 'deployments', {
    pkg: 'io.k8s.api.apps.v1',
    shortNames: ['deploy'],
    categories: ALL,
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r('apps', 'v1', 'ReplicaSet', 'replicasets', {
    pkg: 'io.k8s.api.apps.v1',
    shortNames: ['rs'],
    categories: ALL,
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r('apps', 'v1', 'StatefulSet', 'statefulsets', {
    pkg: 'io.k8s.api.apps.v1',
    shortNames: ['sts'],
    categories: ALL,
    subresources: ['status', 'scale'],
    generation: true,
  }),
  r('apps', 'v1', 'ControllerRevision', 'controllerrevisions', { pkg: 'io.k8s.api.apps.v1' }),
  r('discovery.k8s.io', 'v1', 'EndpointSlice', 'endpointslices', { pkg: 'io.k8s.api.discovery.v1' }),
  r('networking.k8s.io', 'v1', 'Ingress', 'ingresses', { pkg: 'io.k8s.api.networking.v1', shortNames: ['ing'], subresources: ['status'], generation: true }),
  r('networking.k8s.io', 'v1', 'IngressClass', 'ingressclasses', { pkg: 'io.k8s.api.networking.v1', namespaced: false, generation: true }),
  r('networking.k8s.io', 'v1', 'NetworkPolicy', 'networkpolicies', { pkg: 'io.k8s.api.networking.v1', shortNames: ['netpol'], generation: true }),
  r('autoscaling', 'v2', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    pkg: 'io.k8s.api.autoscaling.v2',
    shortNames: ['hpa'],
    categories: ALL,
    subresources: ['status'],
  }),
  r('autoscaling', 'v1', 'HorizontalPodAutoscaler', 'horizontalpodautoscalers', {
    pkg: 'io.k8s.api.autoscaling.v1',
    shortNames: ['hpa'],
    categories: ALL,
    subresources: ['status'],
  }),
  r('policy', 'v1', 'PodDisruptionBudget', 'poddisruptionbudgets', { pkg: 'io.k8s.api.policy.v1', shortNames: ['pdb'], subresources: ['status'], generation: true }),
  r('coordination.k8s.io', 'v1', 'Lease', 'leases', { pkg: 'io.k8s.api.coordination.v1' }),
  r('events.k8s.io', 'v1', 'Event', 'events', { pkg: 'io.k8s.api.events.v1', shortNames: ['ev'], storageOf: { group: '', plural: 'events' } }),
];

/** Group versions in discovery order; the first version of a group is its preferred one. */
export function groupVersions(): { group: string; versions: string[] }[] {
  const out: { group: string; versions: string[] }[] = [];
  for (const res of RESOURCES) {
    let g = out.find((x) => x.group === res.group);
    if (!g) out.push((g = { group: res.group, versions: [] }));
    if (!g.versions.includes(res.version)) g.versions.push(res.version);
  }
  return out;
}

export function findResource(group: string, version: string, plural: string): ResourceInfo | undefined {
  return RESOURCES.find((x) => x.group === group && x.version === version && x.plural === plural);
}

export function apiVersionOf(res: { group: string; version: string }): string {
  return res.group ? `${res.group}/${res.version}` : res.version;
}
