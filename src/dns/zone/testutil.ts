/** Shared fixtures for the zone tests: Kubernetes objects and expected-record builders. */
import type { KObject } from '../../api/types.js';
import { RRClass, RRType, Rcode, type Answer, type ResourceRecord } from '../types.js';
import type { ClusterZone } from './zone.js';

export const T0 = 1_700_000_000_000;

export function service(ns: string, name: string, spec: Record<string, unknown>): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { namespace: ns, name }, spec };
}

export interface Ep {
  ip: string | string[];
  hostname?: string;
  ready?: boolean;
}

export function slice(ns: string, name: string, svc: string, eps: Ep[], ports: unknown[] | undefined, addressType = 'IPv4'): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { namespace: ns, name, labels: { 'kubernetes.io/service-name': svc } },
    addressType,
    ports,
    endpoints: eps.map((e) => ({
      addresses: Array.isArray(e.ip) ? e.ip : [e.ip],
      conditions: e.ready === undefined ? {} : { ready: e.ready },
      ...(e.hostname ? { hostname: e.hostname } : {}),
    })),
  };
}

const rr = (name: string, type: number, data: ResourceRecord['data']): ResourceRecord => ({ name, type, class: RRClass.IN, ttl: 30, data });
export const A = (name: string, address: string): ResourceRecord => rr(name, RRType.A, { kind: 'A', address });
export const AAAA = (name: string, address: string): ResourceRecord => rr(name, RRType.AAAA, { kind: 'AAAA', address });
export const CNAME = (name: string, target: string): ResourceRecord => rr(name, RRType.CNAME, { kind: 'CNAME', target });
export const PTR = (name: string, target: string): ResourceRecord => rr(name, RRType.PTR, { kind: 'PTR', target });
export const TXT = (name: string, text: string): ResourceRecord => rr(name, RRType.TXT, { kind: 'TXT', texts: [text] });
export const NS = (name: string, target: string): ResourceRecord => rr(name, RRType.NS, { kind: 'NS', target });
export const SRV = (name: string, weight: number, port: number, target: string): ResourceRecord =>
  rr(name, RRType.SRV, { kind: 'SRV', priority: 0, weight, port, target });

export function SOA(zone: string, serial: number): ResourceRecord {
  return {
    name: zone,
    type: RRType.SOA,
    class: RRClass.IN,
    ttl: 30,
    data: { kind: 'SOA', mname: `ns.dns.${zone}`, rname: `hostmaster.${zone}`, serial, refresh: 7200, retry: 1800, expire: 86400, minimum: 30 },
  };
}

/** Expected answers, built against the zone's current serial at check time. */
export type Expect =
  | { ok: ResourceRecord[]; extra?: ResourceRecord[] }
  | { nx: string }
  | { nodata: string }
  | { soa: string }
  | 'forward'
  | 'refused';

export function expected(zone: ClusterZone, e: Expect): Answer | undefined {
  if (e === 'forward') return undefined;
  if (e === 'refused') return { rcode: Rcode.REFUSED, aa: false, answers: [], authority: [], additional: [] };
  if ('ok' in e) return { rcode: Rcode.NOERROR, aa: true, answers: e.ok, authority: [], additional: e.extra ?? [] };
  if ('soa' in e) return { rcode: Rcode.NOERROR, aa: true, answers: [SOA(e.soa, zone.serial)], authority: [], additional: [] };
  const rcode = 'nx' in e ? Rcode.NXDOMAIN : Rcode.NOERROR;
  const z = 'nx' in e ? e.nx : e.nodata;
  return { rcode, aa: true, answers: [], authority: [SOA(z, zone.serial)], additional: [] };
}
