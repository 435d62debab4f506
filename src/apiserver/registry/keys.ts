/**
 * Storage keys: `/registry/<group or core>/<plural>/[<namespace>/]<name>`. A trailing slash on
 * every prefix keeps `pods/default/` from matching `pods/default2/...`.
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

function base(loc: StorageLocation): string {
  return `${ROOT}${loc.group || 'core'}/${loc.plural}/`;
}

export function objectKey(loc: StorageLocation, ns: string | undefined, name: string): string {
  return loc.namespaced ? `${base(loc)}${ns}/${name}` : `${base(loc)}${name}`;
}

/** Prefix for a list: one namespace, or all (namespace undefined or cluster-scoped). */
export function listPrefix(loc: StorageLocation, ns?: string): string {
  return loc.namespaced && ns ? `${base(loc)}${ns}/` : base(loc);
}
