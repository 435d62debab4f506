/**
 * Service ClusterIP and NodePort allocation, following kube-apiserver's registry rules: which
 * Service types get cluster IPs / node ports, IP-family defaulting, keeping values across updates,
 * and releasing them on type change or delete. State lives in the allocator objects (rebuilt from
 * stored Services on start), randomness is injectable for tests.
 *
 * Protocol with the server: `allocateForService` mutates the Service and returns what it
 * allocated and what should be released. After a successful write call `commitRelease`; after a
 * failed one call `rollbackAllocations`. Errors are thrown as kube's 422/500 StatusErrors.
 */
import { errors, StatusError, type StatusCause } from './errors.js';
import { fe } from '../api/validation/field.js';
import { parseIPv4 } from '../api/validation/names.js';
import { validateClusterIPsRelated } from '../api/validation/service.js';

type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
const isObj = (v: unknown): v is Obj => typeof v === 'object' && v !== null && !Array.isArray(v);

export class AllocationError extends Error {
  constructor(
    readonly code: 'NotInRange' | 'Allocated' | 'Full',
    message: string,
  ) {
    super(message);
  }
}

/** A bitmap-free allocator over [min, max]: dynamic picks come from the upper band first (kube KEP-3070/3668). */
class RangeAllocator {
  private readonly used = new Set<number>();
  constructor(
    readonly min: number,
    readonly max: number,
    private readonly staticBand: number,
    private readonly random: () => number,
    private readonly skip: Set<number> = new Set(),
  ) {}
  size(): number {
    return this.max - this.min + 1;
  }
  inRange(n: number): boolean {
    return Number.isInteger(n) && n >= this.min && n <= this.max;
  }
  has(n: number): boolean {
    return this.used.has(n);
  }
  take(n: number): boolean {
    if (this.used.has(n)) return false;
    this.used.add(n);
    return true;
  }
  free(n: number): boolean {
    return this.used.delete(n);
  }
  clear(): void {
    this.used.clear();
  }
  count(): number {
    return this.used.size;
  }
  private scan(lo: number, hi: number): number | undefined {
    const span = hi - lo + 1;
    if (span <= 0) return undefined;
    const start = Math.floor(this.random() * span);
    for (let i = 0; i < span; i++) {
      const n = lo + ((start + i) % span);
      if (!this.used.has(n) && !this.skip.has(n)) return n;
    }
    return undefined;
  }
  /** Picks a free value, upper band first, then the static band; undefined when full. */
  next(): number | undefined {
    const split = this.min + Math.min(this.staticBand, this.size());
    const n = this.scan(split, this.max) ?? this.scan(this.min, split - 1);
    if (n !== undefined) this.used.add(n);
    return n;
  }
}

const ipToInt = (p: number[]): number => ((p[0] << 24) >>> 0) + (p[1] << 16) + (p[2] << 8) + p[3];
const intToIp = (n: number): string => [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');

export interface ClusterIPAllocatorOptions {
  /** IPv4 service CIDR, default 10.96.0.0/12. */
  cidr?: string;
  /** [0,1) source for dynamic picks; Math.random by default. */
  random?: () => number;
}

/**
 * Cluster IPs from an IPv4 CIDR. The network and broadcast addresses are never handed out; the
 * first host (x.x.x.1, `default/kubernetes`) and the tenth (x.x.x.10, cluster DNS) are skipped by
 * dynamic allocation but may be requested explicitly.
 */
export class ClusterIPAllocator {
  readonly cidr: string;
  private readonly r: RangeAllocator;
  constructor(opts: ClusterIPAllocatorOptions = {}) {
    this.cidr = opts.cidr ?? '10.96.0.0/12';
    const [ip, bitsStr] = this.cidr.split('/');
    const parts = parseIPv4(ip);
    const bits = Number(bitsStr);
    if (!parts || !Number.isInteger(bits) || bits < 1 || bits > 30) throw new Error(`invalid IPv4 service CIDR ${this.cidr}`);
    const size = 2 ** (32 - bits);
    const base = ipToInt(parts) - (ipToInt(parts) % size);
    const hosts = size - 2;
    const band = Math.min(Math.max(16, Math.floor(hosts / 16)), 256);
    this.r = new RangeAllocator(base + 1, base + size - 2, band, opts.random ?? Math.random, new Set([base + 1, base + 10]));
  }
  /** The address conventionally given to the `default/kubernetes` Service. */
  get kubernetesIP(): string {
    return intToIp(this.r.min);
  }
  /** The address conventionally given to the cluster DNS Service. */
  get dnsIP(): string {
    return intToIp(this.r.min + 9);
  }
  contains(ip: string): boolean {
    const p = parseIPv4(ip);
    return !!p && this.r.inRange(ipToInt(p));
  }
  isAllocated(ip: string): boolean {
    const p = parseIPv4(ip);
    return !!p && this.r.has(ipToInt(p));
  }
  /** Reserves a specific IP; throws AllocationError with kube's texts. */
  allocate(ip: string): void {
    const p = parseIPv4(ip);
    if (!p || !this.r.inRange(ipToInt(p))) {
      throw new AllocationError('NotInRange', `the provided IP (${ip}) is not in the valid range. The range of valid IPs is ${this.cidr}`);
    }
    if (!this.r.take(ipToInt(p))) throw new AllocationError('Allocated', 'provided IP is already allocated');
  }
  allocateNext(): string {
    const n = this.r.next();
    if (n === undefined) throw new AllocationError('Full', 'range is full');
    return intToIp(n);
  }
  release(ip: string): boolean {
    const p = parseIPv4(ip);
    return !!p && this.r.free(ipToInt(p));
  }
  /** Replaces the state with exactly these IPs (those outside the range are ignored). */
  reset(ips: Iterable<string>): void {
    this.r.clear();
    for (const ip of ips) {
      const p = parseIPv4(ip);
      if (p && this.r.inRange(ipToInt(p))) this.r.take(ipToInt(p));
    }
  }
  used(): number {
    return this.r.count();
  }
}

export interface NodePortAllocatorOptions {
  /** Inclusive range, default 30000-32767. */
  min?: number;
  max?: number;
  random?: () => number;
}

export class NodePortAllocator {
  private readonly r: RangeAllocator;
  constructor(opts: NodePortAllocatorOptions = {}) {
    const min = opts.min ?? 30000;
    const max = opts.max ?? 32767;
    const size = max - min + 1;
    this.r = new RangeAllocator(min, max, Math.min(Math.max(16, Math.floor(size / 32)), 128), opts.random ?? Math.random);
  }
  get range(): string {
    return `${this.r.min}-${this.r.max}`;
  }
  contains(port: number): boolean {
    return this.r.inRange(port);
  }
  isAllocated(port: number): boolean {
    return this.r.has(port);
  }
  allocate(port: number): void {
    if (!this.r.inRange(port)) throw new AllocationError('NotInRange', `provided port is not in the valid range. The range of valid ports is ${this.range}`);
    if (!this.r.take(port)) throw new AllocationError('Allocated', 'provided port is already allocated');
  }
  allocateNext(): number {
    const n = this.r.next();
    if (n === undefined) throw new AllocationError('Full', 'range is full');
    return n;
  }
  release(port: number): boolean {
    return this.r.free(port);
  }
  reset(ports: Iterable<number>): void {
    this.r.clear();
    for (const p of ports) if (this.r.inRange(p)) this.r.take(p);
  }
  used(): number {
    return this.r.count();
  }
}

export interface ServiceAllocators {
  ips: ClusterIPAllocator;
  ports: NodePortAllocator;
}

export type Allocation = { kind: 'clusterIP'; value: string } | { kind: 'nodePort'; value: number };

export interface AllocationResult {
  /** Newly taken by this call: release them if the write fails. */
  allocated: Allocation[];
  /** Held by the old object and no longer used: release them once the write succeeded. */
  toRelease: Allocation[];
}

const needsClusterIP = (s: Obj): boolean => s.type !== 'ExternalName';
const shouldAllocateNodePorts = (s: Obj): boolean => s.type === 'NodePort' || (s.type === 'LoadBalancer' && s.allocateLoadBalancerNodePorts !== false);
const mayHaveNodePorts = (s: Obj): boolean => s.type === 'NodePort' || s.type === 'LoadBalancer';
const needsHC = (s: Obj): boolean => s.type === 'LoadBalancer' && s.externalTrafficPolicy === 'Local';
const clusterIPsOf = (s: Obj): string[] => (Array.isArray(s.clusterIPs) ? s.clusterIPs.map(String) : s.clusterIP ? [String(s.clusterIP)] : []);
const realIPs = (s: Obj): string[] => (needsClusterIP(s) ? clusterIPsOf(s).filter((ip) => ip && ip !== 'None') : []);
const nodePortsOf = (s: Obj): number[] => {
  const ports = Array.isArray(s.ports) ? s.ports.filter(isObj) : [];
  return [...new Set(ports.map((p) => p.nodePort).filter((n): n is number => typeof n === 'number' && n > 0))];
};
const hcOf = (s: Obj): number => (typeof s.healthCheckNodePort === 'number' ? s.healthCheckNodePort : 0);

function invalid(svc: Obj, causes: StatusCause[]): StatusError {
  return errors.invalid('Service', '', String(isObj(svc.metadata) ? (svc.metadata.name ?? '') : ''), causes);
}

/** IP-family defaulting done by kube's registry before allocation (single-stack IPv4 cluster). */
function initIPFamilies(svc: Obj, spec: Obj, old: Obj | undefined): void {
  if (!needsClusterIP(spec)) return;
  const pre = validateClusterIPsRelated(spec);
  if (pre.length) throw invalid(svc, pre);
  if (old && needsClusterIP(old)) {
    if (!spec.ipFamilyPolicy && old.ipFamilyPolicy && (spec.clusterIP === 'None') === (old.clusterIP === 'None')) spec.ipFamilyPolicy = old.ipFamilyPolicy;
    if ((!Array.isArray(spec.ipFamilies) || spec.ipFamilies.length === 0) && Array.isArray(old.ipFamilies) && (spec.clusterIP === 'None') === (old.clusterIP === 'None')) {
      spec.ipFamilies = [...old.ipFamilies];
    }
  }
  const causes: StatusCause[] = [];
  const families: string[] = Array.isArray(spec.ipFamilies) ? spec.ipFamilies.map(String) : [];
  const ips = clusterIPsOf(spec);
  ips.forEach((ip, i) => {
    if (ip === 'None') return;
    const fam = parseIPv4(ip) ? 'IPv4' : 'IPv6';
    if (i >= families.length) {
      if (fam !== 'IPv4') causes.push(fe.invalid(`spec.clusterIPs[${i}]`, ips, `${fam} is not configured on this cluster`));
      else families.push(fam);
    }
  });
  if (causes.length) throw invalid(svc, causes);
  if (spec.clusterIP === 'None' && (!isObj(spec.selector) || Object.keys(spec.selector).length === 0)) {
    if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = 'RequireDualStack';
    if (families.length === 0) families.push('IPv4');
    if (families.length < 2 && spec.ipFamilyPolicy !== 'SingleStack') families.push(families[0] === 'IPv4' ? 'IPv6' : 'IPv4');
    spec.ipFamilies = families;
    return;
  }
  if (!spec.ipFamilyPolicy) spec.ipFamilyPolicy = 'SingleStack';
  if (families.length === 0) families.push('IPv4');
  const headless = spec.clusterIP === 'None';
  if (spec.ipFamilyPolicy === 'RequireDualStack') causes.push(fe.invalid('spec.ipFamilyPolicy', 'RequireDualStack', 'this cluster is not configured for dual-stack services'));
  families.forEach((f, i) => {
    if (f === 'IPv6' && !headless) causes.push(fe.invalid(`spec.ipFamilies[${i}]`, f, 'not configured on this cluster'));
  });
  if (spec.ipFamilyPolicy === 'SingleStack' && families.length > 1) {
    causes.push(fe.invalid('spec.ipFamilies', families, 'when multiple IP families are specified, `ipFamilyPolicy` must be PreferDualStack or RequireDualStack'));
  }
  if (causes.length) throw invalid(svc, causes);
  spec.ipFamilies = families;
}

/** Internal errors that mean "no free value left" (so a caller may resync its cache and retry). */
const rangeFullErrors = new WeakSet<object>();
function rangeFull(what: string, e: unknown): StatusError {
  const err = errors.internal(`failed to allocate a ${what}: ${(e as Error).message}`);
  if (e instanceof AllocationError && e.code === 'Full') rangeFullErrors.add(err);
  return err;
}
/** True for the 500 `allocateForService` throws when an allocator had no free value. */
export function isRangeFull(err: unknown): boolean {
  return typeof err === 'object' && err !== null && rangeFullErrors.has(err);
}

/** Everything a stored Service holds: its cluster IPs, node ports and health-check node port. */
export function allocationsOf(svc: Obj): Allocation[] {
  const spec: Obj = isObj(svc?.spec) ? svc.spec : {};
  const out: Allocation[] = realIPs(spec).map((value) => ({ kind: 'clusterIP', value }) as Allocation);
  for (const np of new Set([...nodePortsOf(spec), hcOf(spec)])) if (np) out.push({ kind: 'nodePort', value: np });
  return out;
}

/**
 * Values the user asks for explicitly in `svc` that `old` does not hold yet (what
 * `allocateForService` will try to take by number rather than pick).
 */
export function requestedAllocations(svc: Obj, old: Obj | undefined): Allocation[] {
  const held = old ? allocationsOf(old) : [];
  const has = (x: Allocation): boolean => held.some((h) => h.kind === x.kind && h.value === x.value);
  const spec: Obj = isObj(svc?.spec) ? svc.spec : {};
  const out: Allocation[] = [];
  if (needsClusterIP(spec) && spec.clusterIP !== 'None') {
    for (const ip of clusterIPsOf(spec)) if (ip && ip !== 'None' && parseIPv4(ip)) out.push({ kind: 'clusterIP', value: ip });
  }
  if (mayHaveNodePorts(spec)) for (const np of nodePortsOf(spec)) out.push({ kind: 'nodePort', value: np });
  if (needsHC(spec) && hcOf(spec)) out.push({ kind: 'nodePort', value: hcOf(spec) });
  return out.filter((x) => !has(x));
}

/** Whether the local cache counts `x` as taken. */
export function isAllocatedLocally(x: Allocation, a: ServiceAllocators): boolean {
  return x.kind === 'clusterIP' ? a.ips.isAllocated(x.value) : a.ports.isAllocated(x.value);
}

/** Marks values taken in the local cache (values out of range are ignored). */
export function markAllocated(list: Iterable<Allocation>, a: ServiceAllocators): void {
  for (const x of list) {
    try {
      if (x.kind === 'clusterIP') a.ips.allocate(x.value);
      else a.ports.allocate(x.value);
    } catch {
      /* already marked or outside the range */
    }
  }
}

/** Forgets values in the local cache. */
export function unmarkAllocated(list: Iterable<Allocation>, a: ServiceAllocators): void {
  undo([...list], a);
}

/** Releases what this call took; used on error paths and by `rollbackAllocations`. */
function undo(list: Allocation[], a: ServiceAllocators): void {
  for (const x of list) {
    if (x.kind === 'clusterIP') a.ips.release(x.value);
    else a.ports.release(x.value);
  }
}

/**
 * Applies kube's allocation rules to `svc` (mutated: clusterIP(s), ipFamilies, ipFamilyPolicy,
 * nodePorts, healthCheckNodePort). `old` is the stored object on update. Run after
 * defaulting/prepare and before validation, as kube's BeginCreate/BeginUpdate hooks do.
 */
export function allocateForService(svc: Obj, old: Obj | undefined, a: ServiceAllocators): AllocationResult {
  const spec: Obj = isObj(svc.spec) ? svc.spec : (svc.spec = {});
  const oldSpec: Obj | undefined = old && isObj(old.spec) ? old.spec : old ? {} : undefined;
  const allocated: Allocation[] = [];
  const toRelease: Allocation[] = [];
  try {
    initIPFamilies(svc, spec, oldSpec);
    // cluster IPs
    const oldIPs = oldSpec ? realIPs(oldSpec) : [];
    if (needsClusterIP(spec) && spec.clusterIP !== 'None') {
      const wanted = clusterIPsOf(spec);
      if (wanted.length === 0) {
        let ip: string;
        try {
          ip = a.ips.allocateNext();
        } catch (e) {
          throw rangeFull('serviceIP', e);
        }
        allocated.push({ kind: 'clusterIP', value: ip });
        spec.clusterIP = ip;
        spec.clusterIPs = [ip];
      } else {
        for (const ip of wanted) {
          if (oldIPs.includes(ip)) continue;
          try {
            a.ips.allocate(ip);
          } catch (e) {
            throw invalid(svc, [fe.invalid('spec.clusterIPs', wanted, `failed to allocate IP ${ip}: ${(e as Error).message}`)]);
          }
          allocated.push({ kind: 'clusterIP', value: ip });
        }
      }
    }
    const newIPs = realIPs(spec);
    for (const ip of oldIPs) if (!newIPs.includes(ip)) toRelease.push({ kind: 'clusterIP', value: ip });

    // node ports
    const oldPorts = new Set(oldSpec ? nodePortsOf(oldSpec) : []);
    const byServicePort = new Map<number, number>();
    const ports: Obj[] = Array.isArray(spec.ports) ? spec.ports.filter(isObj) : [];
    const take = (np: number, i: number): void => {
      if (oldPorts.has(np) || allocated.some((x) => x.kind === 'nodePort' && x.value === np)) return;
      try {
        a.ports.allocate(np);
      } catch (e) {
        throw invalid(svc, [fe.invalid(`spec.ports[${i}].nodePort`, np, (e as Error).message)]);
      }
      allocated.push({ kind: 'nodePort', value: np });
    };
    if (mayHaveNodePorts(spec)) {
      ports.forEach((p, i) => {
        const requested = typeof p.nodePort === 'number' ? p.nodePort : 0;
        if (requested === 0 && !shouldAllocateNodePorts(spec)) return;
        const shared = byServicePort.get(p.port);
        if (requested !== 0) {
          take(requested, i);
          if (shared === undefined) byServicePort.set(p.port, requested);
          return;
        }
        if (shared !== undefined) {
          p.nodePort = shared;
          return;
        }
        // a later port with the same number may carry the user's request
        const later = ports.find((q, j) => j > i && q.port === p.port && typeof q.nodePort === 'number' && q.nodePort > 0);
        let np: number;
        if (later) {
          np = later.nodePort;
          take(np, i);
        } else {
          try {
            np = a.ports.allocateNext();
          } catch (e) {
            throw rangeFull('nodePort', e);
          }
          allocated.push({ kind: 'nodePort', value: np });
        }
        p.nodePort = np;
        byServicePort.set(p.port, np);
      });
    }
    // health check node port
    const oldHC = oldSpec && needsHC(oldSpec) ? hcOf(oldSpec) : 0;
    if (needsHC(spec)) {
      const hc = hcOf(spec);
      if (hc === 0) {
        let np: number;
        try {
          np = a.ports.allocateNext();
        } catch (e) {
          throw rangeFull('nodePort', e);
        }
        allocated.push({ kind: 'nodePort', value: np });
        spec.healthCheckNodePort = np;
      } else if (hc !== oldHC) {
        try {
          a.ports.allocate(hc);
        } catch (e) {
          throw invalid(svc, [fe.invalid('spec.healthCheckNodePort', hc, (e as Error).message)]);
        }
        allocated.push({ kind: 'nodePort', value: hc });
      }
    }
    const newPorts = new Set([...nodePortsOf(spec), ...(needsHC(spec) ? [hcOf(spec)] : [])]);
    for (const np of [...oldPorts, ...(oldHC ? [oldHC] : [])]) {
      if (!newPorts.has(np) && !toRelease.some((x) => x.kind === 'nodePort' && x.value === np)) toRelease.push({ kind: 'nodePort', value: np });
    }
  } catch (e) {
    undo(allocated, a);
    throw e;
  }
  return { allocated, toRelease };
}

/** After a failed write: give back what `allocateForService` took. */
export function rollbackAllocations(result: AllocationResult, a: ServiceAllocators): void {
  undo(result.allocated, a);
}

/** After a successful write: free what the old object held and the new one does not. */
export function commitRelease(result: AllocationResult, a: ServiceAllocators): void {
  undo(result.toRelease, a);
}

/** On delete: everything the Service holds. Returns what was released. */
export function releaseForService(svc: Obj, a: ServiceAllocators): Allocation[] {
  const spec: Obj = isObj(svc.spec) ? svc.spec : {};
  const out: Allocation[] = [];
  for (const ip of realIPs(spec)) if (a.ips.release(ip)) out.push({ kind: 'clusterIP', value: ip });
  for (const np of [...nodePortsOf(spec), hcOf(spec)]) if (np && a.ports.release(np)) out.push({ kind: 'nodePort', value: np });
  return out;
}

/** Start-up: rebuild both allocators from the stored Services. */
export function rebuildAllocators(services: Iterable<Obj>, a: ServiceAllocators): void {
  const ips: string[] = [];
  const ports: number[] = [];
  for (const svc of services) {
    const spec: Obj = isObj(svc?.spec) ? svc.spec : {};
    ips.push(...realIPs(spec));
    ports.push(...nodePortsOf(spec));
    if (hcOf(spec)) ports.push(hcOf(spec));
  }
  a.ips.reset(ips);
  a.ports.reset(ports);
}

/** Convenience: fresh allocators with kube's default ranges. */
export function createServiceAllocators(opts: { cidr?: string; nodePortRange?: [number, number]; random?: () => number } = {}): ServiceAllocators {
  return {
    ips: new ClusterIPAllocator({ cidr: opts.cidr, random: opts.random }),
    ports: new NodePortAllocator({ min: opts.nodePortRange?.[0], max: opts.nodePortRange?.[1], random: opts.random }),
  };
}
