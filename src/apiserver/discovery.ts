/**
 * Discovery documents, as kube-apiserver serves them: the legacy /api, /apis and per
 * group-version APIResourceLists, and aggregated discovery (apidiscovery.k8s.io/v2) that
 * kubectl 1.32 asks for first.
 */
import { createHash } from 'node:crypto';
import { RESOURCES, groupVersions, type ResourceInfo, type Subresource } from '../api/resources.js';

export const KUBE_VERSION = { major: '1', minor: '32', gitVersion: 'v1.32.0+kubelite' };

export function versionInfo(): Record<string, string> {
  return {
    major: KUBE_VERSION.major,
    minor: KUBE_VERSION.minor,
    gitVersion: KUBE_VERSION.gitVersion,
    gitCommit: '0000000000000000000000000000000000000000',
    gitTreeState: 'clean',
    buildDate: '2026-11-26T00:00:00Z',
    goVersion: `node${process.versions.node}`,
    compiler: 'tsc',
    platform: `${process.platform}/${process.arch === 'x64' ? 'amd64' : process.arch}`,
  };
}

const FULL = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];

export function verbsOf(res: ResourceInfo): string[] {
  if (res.plural === 'bindings') return ['create'];
  return FULL;
}

function subVerbs(sub: Subresource): string[] {
  switch (sub) {
    case 'status':
    case 'scale':
      return ['get', 'patch', 'update'];
    case 'binding':
    case 'eviction':
      return ['create'];
    case 'log':
      return ['get'];
    case 'exec':
    case 'attach':
    case 'portforward':
      return ['create', 'get'];
    case 'proxy':
      return ['create', 'delete', 'get', 'patch', 'update'];
  }
}

function subKind(res: ResourceInfo, sub: Subresource): { group: string; version: string; kind: string } {
  switch (sub) {
    case 'scale':
      return { group: 'autoscaling', version: 'v1', kind: 'Scale' };
    case 'binding':
      return { group: '', version: 'v1', kind: 'Binding' };
    case 'eviction':
      return { group: 'policy', version: 'v1', kind: 'Eviction' };
    case 'log':
    case 'exec':
    case 'attach':
    case 'portforward':
      return { group: '', version: 'v1', kind: sub === 'log' ? 'Pod' : sub === 'exec' ? 'PodExecOptions' : sub === 'attach' ? 'PodAttachOptions' : 'PodPortForwardOptions' };
    case 'proxy':
      return { group: '', version: 'v1', kind: res.kind === 'Node' ? 'NodeProxyOptions' : 'ServiceProxyOptions' };
    default:
      return { group: res.group, version: res.version, kind: res.kind };
  }
}

function storageVersionHash(res: ResourceInfo): string {
  return createHash('sha256').update(`${res.group}/${res.version}/${res.kind}`).digest('base64').slice(0, 11) + '=';
}

/** GET /api/v1, /apis/{g}/{v} */
export function apiResourceList(group: string, version: string): Record<string, unknown> | undefined {
  const list = RESOURCES.filter((r) => r.group === group && r.version === version);
  if (!list.length) return undefined;
  const resources: Record<string, unknown>[] = [];
  for (const r of list) {
    const entry: Record<string, unknown> = {
      name: r.plural,
      singularName: r.singular,
      namespaced: r.namespaced,
      kind: r.kind,
      verbs: verbsOf(r),
    };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    if (r.plural !== 'bindings') entry.storageVersionHash = storageVersionHash(r);
    resources.push(entry);
    for (const sub of r.subresources) {
      const k = subKind(r, sub);
      const s: Record<string, unknown> = { name: `${r.plural}/${sub}`, singularName: '', namespaced: r.namespaced, kind: k.kind, verbs: subVerbs(sub) };
      if (k.group !== r.group || k.version !== r.version) {
        s.group = k.group;
        s.version = k.version;
      }
      resources.push(s);
    }
  }
  return { kind: 'APIResourceList', apiVersion: 'v1', groupVersion: group ? `${group}/${version}` : version, resources };
}

/** GET /api (legacy form) */
export function apiVersions(serverAddress: string): Record<string, unknown> {
  return {
    kind: 'APIVersions',
    versions: ['v1'],
    serverAddressByClientCIDRs: [{ clientCIDR: '0.0.0.0/0', serverAddress }],
  };
}

function groupEntry(group: string, versions: string[]): Record<string, unknown> {
  const vs = versions.map((v) => ({ groupVersion: `${group}/${v}`, version: v }));
  return { name: group, versions: vs, preferredVersion: vs[0] };
}

/** GET /apis (legacy form) */
export function apiGroupList(): Record<string, unknown> {
  return {
    kind: 'APIGroupList',
    apiVersion: 'v1',
    groups: groupVersions()
      .filter((g) => g.group !== '')
      .map((g) => groupEntry(g.group, g.versions)),
  };
}

/** GET /apis/{group} */
export function apiGroup(group: string): Record<string, unknown> | undefined {
  const g = groupVersions().find((x) => x.group === group && group !== '');
  if (!g) return undefined;
  return { kind: 'APIGroup', apiVersion: 'v1', ...groupEntry(g.group, g.versions) };
}

function discoveryVersion(group: string, version: string): Record<string, unknown> {
  const resources = RESOURCES.filter((r) => r.group === group && r.version === version).map((r) => {
    const entry: Record<string, unknown> = {
      resource: r.plural,
      responseKind: { group: r.group, version: r.version, kind: r.kind },
      scope: r.namespaced ? 'Namespaced' : 'Cluster',
      singularResource: r.singular,
      verbs: verbsOf(r),
    };
    if (r.shortNames) entry.shortNames = r.shortNames;
    if (r.categories) entry.categories = r.categories;
    if (r.subresources.length) {
      entry.subresources = r.subresources.map((sub) => ({
        subresource: sub,
        responseKind: subKind(r, sub),
        verbs: subVerbs(sub),
      }));
    }
    return entry;
  });
  return { version, resources, freshness: 'Current' };
}

/** Aggregated discovery (apidiscovery.k8s.io/v2 or v2beta1) for /api (core) or /apis (the rest). */
export function aggregatedDiscovery(which: 'api' | 'apis', apiVersion: string): Record<string, unknown> {
  const groups = groupVersions().filter((g) => (which === 'api' ? g.group === '' : g.group !== ''));
  return {
    kind: 'APIGroupDiscoveryList',
    apiVersion,
    metadata: {},
    items: groups.map((g) => ({
      metadata: { name: g.group, creationTimestamp: null },
      versions: g.versions.map((v) => discoveryVersion(g.group, v)),
    })),
  };
}

/** Whether the Accept header asks for aggregated discovery; returns the version to answer with. */
export function wantsAggregated(accept: string | undefined): string | undefined {
  if (!accept) return undefined;
  for (const part of accept.split(',')) {
    const p = part.replace(/\s+/g, '');
    if (!p.includes('as=APIGroupDiscoveryList') || !p.includes('g=apidiscovery.k8s.io')) continue;
    if (p.includes('v=v2beta1')) return 'v2beta1';
    if (p.includes('v=v2')) return 'v2';
  }
  return undefined;
}
