/**
 * Which cluster objects a name under the cluster domain stands for: our equivalent of CoreDNS's
 * kubernetes plugin `parseRequest` + `Records` + `findServices` + `findPods`
 * (plugin/kubernetes/parse.go, kubernetes.go). The result is a list of hits (one per address and
 * port, as CoreDNS's msg.Service list) or "no such name"; turning hits into records per query
 * type happens in records.ts.
 *
 * Name schema, read right to left below the zone (labels lowercase):
 *   svc | pod                                  → exists, no data
 *   <ns>.svc | <ns>.pod                        → exists if the namespace exists
 *   <svc>.<ns>.svc                             → the Service
 *   <endpoint>.<svc>.<ns>.svc                  → endpoints of the Service whose label matches
 *   <_port>.<_proto>.<svc>.<ns>.svc            → the Service restricted to a port (leading `_` optional)
 *   <a-b-c-d>.<ns>.pod (also with 1–2 labels in front, which CoreDNS ignores for pods)
 * Anything else (a last label other than svc/pod, or more than five labels) does not exist.
 */
import type { SvcRec, ZoneStore } from './store.js';
import { ipFromPodLabel } from './names.js';

/** One answerable item: an address (family 4/6) or, for ExternalName, a target name (family 0). */
export interface Hit {
  host: string;
  family: 0 | 4 | 6;
  /** Port number (-1 when the object declares none: no SRV record for it). */
  port: number;
  /** The Service it came from (undefined for pod names). */
  svc?: SvcRec;
  /** Endpoint label (hostname or dashed address) for endpoint hits. */
  label?: string;
}

/** undefined = the name does not exist (CoreDNS errNoItems / errNsNotExposed / errInvalidRequest). */
export type Lookup = Hit[] | undefined;

const NONE: Hit[] = [];

function stripUnderscore(s: string): string {
  return s.charCodeAt(0) === 0x5f ? s.slice(1) : s;
}

/** CoreDNS matchPortAndProtocol: an empty request part is a wildcard; comparison ignores case. */
function portMatches(port: string, protocol: string, p: { name: string; protocol: string }): boolean {
  return (port === '' || port === p.name.toLowerCase()) && (protocol === '' || protocol === p.protocol.toLowerCase());
}

/**
 * Looks up the relative labels (zone removed, lowercase). Returns the hits, an empty list for
 * names that exist without data, or undefined for names that do not exist.
 */
export function lookup(store: ZoneStore, labels: string[]): Lookup {
  const n = labels.length;
  if (n === 0) return NONE;
  const kind = labels[n - 1];
  if (kind !== 'svc' && kind !== 'pod') return undefined;
  if (n === 1) return NONE;
  if (n > 5) return undefined;
  const ns = labels[n - 2]!;
  if (!store.namespaces.has(ns)) return undefined;
  if (n === 2) return NONE;
  const name = labels[n - 3]!;
  if (kind === 'pod') return findPod(name);
  let endpoint = '';
  let port = '';
  let protocol = '';
  if (n === 4) endpoint = labels[0]!;
  else if (n === 5) {
    port = stripUnderscore(labels[0]!);
    protocol = stripUnderscore(labels[1]!);
  }
  return findService(store, { ns, name, endpoint, port, protocol });
}

/** `pods insecure`: any label that reads as an address answers with that address. */
function findPod(label: string): Lookup {
  if (label === '') return NONE;
  const ip = ipFromPodLabel(label);
  return ip ? [{ host: ip.text, family: ip.family, port: -1 }] : undefined;
}

interface ServiceQuery {
  ns: string;
  name: string;
  endpoint: string;
  port: string;
  protocol: string;
}

/**
 * CoreDNS findServices: a name "exists" only when at least one hit was produced, so a headless
 * Service with no ready endpoints, or a port name the Service does not have, is NXDOMAIN.
 */
function findService(store: ZoneStore, q: ServiceQuery): Lookup {
  const key = `${q.ns}/${q.name}`;
  const svc = store.services.get(key);
  if (!svc) return undefined;
  if (svc.kind === 'ExternalName') {
    // External services cannot have endpoints; an address for a target is not a CNAME and gives nothing.
    if (q.endpoint !== '' || svc.externalName === '') return undefined;
    return [{ host: svc.externalName, family: 0, port: -1, svc }];
  }
  const hits: Hit[] = [];
  if (svc.kind === 'Headless' || q.endpoint !== '') {
    const slices = store.slicesBySvc.get(key);
    if (!slices) return undefined;
    // A Service's endpoints are the union of its slices; an address listed twice counts once.
    const seen = slices.size > 1 ? new Set<string>() : undefined;
    for (const slice of slices.values()) {
      for (const ep of slice.endpoints) {
        if (q.endpoint !== '' && q.endpoint !== ep.label) continue;
        if (seen) {
          if (seen.has(ep.ip)) continue;
          seen.add(ep.ip);
        }
        for (const p of slice.ports) {
          if (!portMatches(q.port, q.protocol, p)) continue;
          hits.push({ host: ep.ip, family: ep.family, port: p.port, svc, label: ep.label });
        }
      }
    }
    return hits.length > 0 ? hits : undefined;
  }
  // A matching port makes the name exist even before a cluster IP is allocated.
  let matched = false;
  for (const p of svc.ports) {
    if (!portMatches(q.port, q.protocol, p)) continue;
    matched = true;
    for (const ip of svc.clusterIPs) hits.push({ host: ip.text, family: ip.family, port: p.port, svc });
  }
  return matched ? hits : undefined;
}
