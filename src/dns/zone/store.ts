/**
 * The zone's indexed view of the cluster: compact records distilled from Services,
 * EndpointSlices and Namespaces, keyed for the look-ups a query needs. Updates are incremental
 * (one object in, its entries replaced); nothing is rebuilt per change and no answer strings are
 * precomputed. Objects handed in are only read, never kept.
 *
 * Mirrors what CoreDNS's kubernetes plugin keeps in its informer caches (plugin/kubernetes/
 * object): a Service's cluster IPs (`clusterIPs`, else `[clusterIP]`) and ports, with a sentinel
 * port -1 when it declares none; an EndpointSlice's ports (sentinel -1 when none) and only its
 * ready endpoints (`conditions.ready` not false), each with its hostname.
 */
import type { KObject } from '../../api/types.js';
import { dashedIP, parseIP, type ParsedIP } from './names.js';

export interface PortRec {
  /** Port name, '' when unnamed. */
  name: string;
  /** 'TCP' | 'UDP' | 'SCTP' | '' (EndpointSlice ports may leave it unset). */
  protocol: string;
  /** -1 is CoreDNS's sentinel for "no ports declared". */
  port: number;
}

export type SvcKind = 'ClusterIP' | 'Headless' | 'ExternalName';

export interface SvcRec {
  ns: string;
  name: string;
  kind: SvcKind;
  /** Parsed cluster IPs (ClusterIP kind; empty or unparseable entries dropped). */
  clusterIPs: ParsedIP[];
  ports: PortRec[];
  /**
   * ExternalName target as written (ExternalName kind); '' when it is an address, which CoreDNS
   * does not turn into a CNAME (its HostType is A/AAAA), so the name then has no records.
   */
  externalName: string;
}

export interface EndpointRec {
  /** Canonical address text. */
  ip: string;
  family: 4 | 6;
  /** Lowercase label CoreDNS names the endpoint by: its hostname, else the dashed address. */
  label: string;
}

export interface SliceRec {
  key: string;
  ns: string;
  /** Owning Service (label kubernetes.io/service-name). */
  service: string;
  ports: PortRec[];
  /** Ready endpoints only, one entry per address. */
  endpoints: EndpointRec[];
}

const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const NO_PORTS: PortRec[] = [{ name: '', protocol: '', port: -1 }];

function rec(v: unknown): Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}
function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}
function str(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

export function keyOf(ns: string, name: string): string {
  return `${ns.toLowerCase()}/${name.toLowerCase()}`;
}

/** Distils a Service object (CoreDNS object.ToService). */
export function serviceRecord(svc: KObject): SvcRec {
  const spec = rec(svc['spec']);
  const ns = svc.metadata.namespace ?? '';
  const name = svc.metadata.name ?? '';
  const ipsField = arr(spec['clusterIPs']).map(str);
  const ips = ipsField.length > 0 ? ipsField : [str(spec['clusterIP'])];
  const kind: SvcKind = str(spec['type']) === 'ExternalName' ? 'ExternalName' : ips[0] === 'None' ? 'Headless' : 'ClusterIP';
  const ports = arr(spec['ports']).map((p) => {
    const o = rec(p);
    // The API server defaults protocol to TCP; be equally forgiving with hand-made objects.
    return { name: str(o['name']), protocol: str(o['protocol']) || 'TCP', port: typeof o['port'] === 'number' ? o['port'] : -1 };
  });
  return {
    ns,
    name,
    kind,
    clusterIPs: kind === 'ClusterIP' ? ips.map((ip) => parseIP(ip)).filter((ip): ip is ParsedIP => ip !== undefined) : [],
    ports: ports.length > 0 ? ports : NO_PORTS,
    externalName: kind === 'ExternalName' && !parseIP(str(spec['externalName'])) ? str(spec['externalName']) : '',
  };
}

/** Distils an EndpointSlice (CoreDNS object.EndpointSliceToEndpoints); undefined when it belongs to no Service. */
export function sliceRecord(slice: KObject): SliceRec | undefined {
  const service = slice.metadata.labels?.[SERVICE_NAME_LABEL];
  if (!service) return undefined;
  // FQDN slices carry names, not addresses; CoreDNS does not turn them into records we serve.
  const addressType = str(slice['addressType']);
  if (addressType !== 'IPv4' && addressType !== 'IPv6') return undefined;
  const ns = slice.metadata.namespace ?? '';
  const ports = arr(slice['ports']).map((p) => {
    const o = rec(p);
    return { name: str(o['name']), protocol: str(o['protocol']), port: typeof o['port'] === 'number' ? o['port'] : -1 };
  });
  const endpoints: EndpointRec[] = [];
  for (const e of arr(slice['endpoints'])) {
    const ep = rec(e);
    if (rec(ep['conditions'])['ready'] === false) continue;
    const hostname = str(ep['hostname']);
    for (const a of arr(ep['addresses'])) {
      const address = str(a);
      const ip = parseIP(address);
      if (!ip) continue;
      endpoints.push({ ip: ip.text, family: ip.family, label: (hostname || dashedIP(address)).toLowerCase() });
    }
  }
  return { key: keyOf(ns, slice.metadata.name ?? ''), ns, service, ports: ports.length > 0 ? ports : NO_PORTS, endpoints };
}

/** Multimap helpers: inner maps keyed by slice key, so a re-upserted slice keeps its place. */
function addTo(m: Map<string, Map<string, SliceRec>>, key: string, r: SliceRec): void {
  let inner = m.get(key);
  if (!inner) m.set(key, (inner = new Map()));
  inner.set(r.key, r);
}
function removeFrom(m: Map<string, Map<string, SliceRec>>, key: string, r: SliceRec, keep: SliceRec | undefined): void {
  const inner = m.get(key);
  if (!inner || inner.get(r.key) !== r) return;
  // When the replacement is filed under the same key, overwrite in place (keeps order).
  if (keep && keep.key === r.key) inner.set(r.key, keep);
  else inner.delete(r.key);
  if (inner.size === 0) m.delete(key);
}

/** The indexes. All keys are lowercase; reverse-index keys are canonical address text. */
export class ZoneStore {
  readonly namespaces = new Set<string>();
  /** 'ns/name' → Service. */
  readonly services = new Map<string, SvcRec>();
  /** 'ns/name' of the slice → slice. */
  readonly slices = new Map<string, SliceRec>();
  /** 'ns/service' → its slices, in arrival order. */
  readonly slicesBySvc = new Map<string, Map<string, SliceRec>>();
  /** cluster IP → 'ns/name' of the Service holding it. */
  readonly byClusterIP = new Map<string, string>();
  /** endpoint address → slices listing it as ready. */
  readonly byEndpointIP = new Map<string, Map<string, SliceRec>>();

  upsertService(svc: KObject): void {
    const r = serviceRecord(svc);
    const key = keyOf(r.ns, r.name);
    this.removeService(key);
    this.services.set(key, r);
    for (const ip of r.clusterIPs) this.byClusterIP.set(ip.text, key);
  }

  removeService(key: string): void {
    const old = this.services.get(key);
    if (!old) return;
    this.services.delete(key);
    for (const ip of old.clusterIPs) {
      if (this.byClusterIP.get(ip.text) === key) this.byClusterIP.delete(ip.text);
    }
  }

  upsertSlice(slice: KObject): void {
    const key = keyOf(slice.metadata.namespace ?? '', slice.metadata.name ?? '');
    const r = sliceRecord(slice);
    this.removeSlice(key, r);
    if (!r) return;
    this.slices.set(key, r);
    addTo(this.slicesBySvc, keyOf(r.ns, r.service), r);
    for (const e of r.endpoints) addTo(this.byEndpointIP, e.ip, r);
  }

  /** Drops a slice from every index; `next` (its replacement) takes its place where it is filed again. */
  removeSlice(key: string, next?: SliceRec): void {
    const old = this.slices.get(key);
    if (!old) return;
    this.slices.delete(key);
    const sameSvc = next && keyOf(next.ns, next.service) === keyOf(old.ns, old.service) ? next : undefined;
    removeFrom(this.slicesBySvc, keyOf(old.ns, old.service), old, sameSvc);
    const stays = new Set(next ? next.endpoints.map((e) => e.ip) : []);
    for (const e of old.endpoints) removeFrom(this.byEndpointIP, e.ip, old, stays.has(e.ip) ? next : undefined);
  }
}
