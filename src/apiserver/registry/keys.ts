/**
 * Storage keys in kube-apiserver's layout: `/registry/<resource prefix>/[<namespace>/]<name>`,
 * where the prefix is the plural resource name except for the few kinds kube keeps elsewhere
 * (`services/specs`, `services/endpoints`, `minions`, `ingress`). A trailing slash on every
 * prefix keeps `pods/default/` from matching `pods/default2/...`.
 */
import type { ResourceInfo } from '../../api/resources.js';

export const ROOT = '/registry/';

export interface StorageLocation {
  group: string;
  plural: string;
  namespaced: boolean;
}

export function storageOf(res: ResourceInfo): StorageLocation {
  if (res.storageOf) return { group: res.storageOf.group, plural: res.storageOf.plural, namespaced: res.namespaced };
  return { group: res.group, plural: res.plural, namespaced: res.namespaced };
}

/** Where kube-apiserver keeps resources whose etcd prefix is not their plural name. */
const KUBE_PREFIXES: Record<string, string> = {
  '/services': 'services/specs',
  '/endpoints': 'services/endpoints',
  '/nodes': 'minions',
  'networking.k8s.io/ingresses': 'ingress',
};

function base(loc: StorageLocation): string {
  return `${ROOT}${KUBE_PREFIXES[`${loc.group}/${loc.plural}`] ?? loc.plural}/`;
}

export function objectKey(loc: StorageLocation, ns: string | undefined, name: string): string {
  return loc.namespaced ? `${base(loc)}${ns}/${name}` : `${base(loc)}${name}`;
}

/** Prefix for a list: one namespace, or all (namespace undefined or cluster-scoped). */
export function listPrefix(loc: StorageLocation, ns?: string): string {
  return loc.namespaced && ns ? `${base(loc)}${ns}/` : base(loc);
}
