/**
 * `default/kubernetes` Endpoints and EndpointSlices for several API servers on one store, as
 * kube-apiserver's lease endpoint reconciler: each server keeps a lease key
 * `/registry/masterleases/<identity>` (address, port, renew time) renewed every `intervalMs`,
 * and on every renewal writes the Endpoints/EndpointSlices listing every server whose lease is
 * live. Each server reconciles, so the set converges; a server stopping gracefully deletes its
 * lease and rewrites the set without itself, a crashed one drops out once its lease expires.
 *
 * Several servers on one IP with different ports (the usual kubelite setup on 127.0.0.1): an
 * Endpoints subset carries one port list for all its addresses, so servers are grouped by port
 * and every port gets its own subset (kube's canonical packing), and its own EndpointSlice
 * (`kubernetes` for the lowest port, `kubernetes-<port>` for the others). Servers sharing a
 * port (kube's usual multi-master setup: different IPs, one port) share a subset and a slice.
 *
 * Lease keys are not API objects: they are not served, not backed up, and expire by time
 * (servers sharing a store are assumed to have roughly synchronised clocks).
 */
import type { KObject } from '../api/types.js';
import { clone } from '../api/types.js';
import { ConflictError, KeyExistsError } from '../storage/errors.js';
import type { Backend } from '../storage/types.js';
import { StatusError } from './errors.js';
import type { Registry } from './registry/index.js';
import { internalContext } from './registry/strategy.js';

export const MASTER_LEASE_PREFIX = '/registry/masterleases/';
export const SLICE_MANAGED_BY = 'endpointslicemirroring-controller.k8s.io';
const SERVICE_NAME_LABEL = 'kubernetes.io/service-name';
const MANAGED_BY_LABEL = 'endpointslice.kubernetes.io/managed-by';
const SKIP_MIRROR_LABEL = 'endpointslice.kubernetes.io/skip-mirror';

export interface ApiServerAddress {
  address: string;
  port: number;
}

/** Sorts and de-duplicates addresses by port, then by IP (numerically for IPv4). */
export function sortServers(servers: ApiServerAddress[]): ApiServerAddress[] {
  const ipKey = (ip: string): string => (/^\d+\.\d+\.\d+\.\d+$/.test(ip) ? ip.split('.').map((o) => o.padStart(3, '0')).join('.') : ip);
  const seen = new Set<string>();
  return [...servers]
    .sort((a, b) => a.port - b.port || ipKey(a.address).localeCompare(ipKey(b.address)))
    .filter((s) => {
      const k = `${s.address}:${s.port}`;
      if (seen.has(k)) return false;
      seen.add(k);
      return true;
    });
}

/**
 * The desired `default/kubernetes` Endpoints subsets and EndpointSlices (name → object) for
 * these servers. With no server left: no subsets, and one empty `kubernetes` slice.
 */
export function desiredKubernetesEndpoints(servers: ApiServerAddress[]): { subsets: KObject[]; slices: KObject[] } {
  const byPort = new Map<number, string[]>();
  for (const s of sortServers(servers)) byPort.set(s.port, [...(byPort.get(s.port) ?? []), s.address]);
  const subsets: KObject[] = [];
  const slices: KObject[] = [];
  for (const [port, ips] of byPort) {
    const ports = [{ name: 'https', port, protocol: 'TCP' }];
    subsets.push({ addresses: ips.map((ip) => ({ ip })), ports } as unknown as KObject);
    slices.push(slice(slices.length === 0 ? 'kubernetes' : `kubernetes-${port}`, ips, ports));
  }
  if (!slices.length) slices.push(slice('kubernetes', [], []));
  return { subsets, slices };
}

function slice(name: string, ips: string[], ports: { name: string; port: number; protocol: string }[]): KObject {
  return {
    apiVersion: 'discovery.k8s.io/v1',
    kind: 'EndpointSlice',
    metadata: { name, namespace: 'default', labels: { [SERVICE_NAME_LABEL]: 'kubernetes', [MANAGED_BY_LABEL]: SLICE_MANAGED_BY } },
    addressType: 'IPv4',
    endpoints: ips.map((ip) => ({ addresses: [ip], conditions: { ready: true } })),
    ports,
  };
}

interface LeaseRecord extends ApiServerAddress {
  identity: string;
  renewTime: number;
  leaseDurationSeconds: number;
}

export interface LeaseEndpointReconcilerOptions extends ApiServerAddress {
  /** This server's stable identity (the lease key); one per data dir. */
  identity: string;
  /** A lease not renewed for this long no longer counts (default 15 s, as kube). */
  leaseTTLSeconds?: number;
  /** Renew-and-reconcile period (default 10 s, as kube). */
  intervalMs?: number;
  now?: () => number;
  warn?: (msg: string) => void;
}

export class LeaseEndpointReconciler {
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private readonly now: () => number;
  private readonly warn: (msg: string) => void;

  constructor(
    private readonly registry: Registry,
    private readonly opts: LeaseEndpointReconcilerOptions,
  ) {
    this.now = opts.now ?? Date.now;
    this.warn = opts.warn ?? ((m) => console.warn(`kubelite: ${m}`));
  }

  private get backend(): Backend {
    return this.registry.must('', 'endpoints').backend;
  }

  private get leaseKey(): string {
    return MASTER_LEASE_PREFIX + encodeURIComponent(this.opts.identity);
  }

  /** Writes this server's lease and the endpoints, then renews every interval. */
  async start(): Promise<void> {
    await this.sync();
    if (this.stopped) return;
    this.timer = setInterval(() => {
      if (this.running) return;
      this.running = this.sync()
        .catch((err: unknown) => this.warn(`reconciling the kubernetes endpoints failed: ${(err as Error).message}`))
        .finally(() => (this.running = undefined));
    }, this.opts.intervalMs ?? 10_000);
    this.timer.unref();
  }

  /** Graceful stop: removes this server's lease and takes it out of the endpoints. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    if (this.timer) clearInterval(this.timer);
    await this.running;
    try {
      await this.backend.delete(this.leaseKey).catch(() => undefined);
      await this.reconcile();
    } catch (err) {
      this.warn(`removing this API server from the kubernetes endpoints failed: ${(err as Error).message}`);
    }
  }

  /** One period: renew this server's lease, then reconcile. */
  async sync(): Promise<void> {
    await this.renew();
    await this.reconcile();
  }

  private async renew(): Promise<void> {
    const value = JSON.stringify({
      apiVersion: 'kubelite.internal/v1',
      kind: 'APIServerLease',
      metadata: { name: this.opts.identity },
      spec: { address: this.opts.address, port: this.opts.port, renewTime: new Date(this.now()).toISOString(), leaseDurationSeconds: this.opts.leaseTTLSeconds ?? 15 },
    });
    for (let attempt = 0; ; attempt++) {
      try {
        const kv = await this.backend.get(this.leaseKey);
        if (kv) await this.backend.update(this.leaseKey, value, kv.modRevision);
        else await this.backend.create(this.leaseKey, value);
        return;
      } catch (err) {
        if ((err instanceof ConflictError || err instanceof KeyExistsError) && attempt < 5) continue;
        throw err;
      }
    }
  }

  /** Every lease in the store, live or not. */
  async leases(): Promise<LeaseRecord[]> {
    const page = await this.backend.list(MASTER_LEASE_PREFIX);
    const out: LeaseRecord[] = [];
    for (const kv of page.items) {
      try {
        const o = JSON.parse(kv.value) as { metadata?: { name?: string }; spec?: Record<string, unknown> };
        const s = o.spec ?? {};
        const renewTime = Date.parse(String(s.renewTime ?? ''));
        if (typeof s.address !== 'string' || typeof s.port !== 'number' || !Number.isFinite(renewTime)) continue;
        out.push({ identity: String(o.metadata?.name ?? ''), address: s.address, port: s.port, renewTime, leaseDurationSeconds: Number(s.leaseDurationSeconds) || 15 });
      } catch {
        /* not ours */
      }
    }
    return out;
  }

  /** The servers with a live lease (this one included while it runs). */
  async liveServers(): Promise<ApiServerAddress[]> {
    const now = this.now();
    const mine = (l: LeaseRecord): boolean => l.identity === this.opts.identity;
    const live = (await this.leases()).filter((l) => !mine(l) && l.renewTime + l.leaseDurationSeconds * 1000 > now);
    if (!this.stopped) live.push({ identity: this.opts.identity, address: this.opts.address, port: this.opts.port, renewTime: now, leaseDurationSeconds: 0 });
    return sortServers(live.map(({ address, port }) => ({ address, port })));
  }

  /** Writes the Endpoints and EndpointSlices for the live servers (no write when nothing changes). */
  async reconcile(): Promise<void> {
    const { subsets, slices } = desiredKubernetesEndpoints(await this.liveServers());
    const ctx = { ...internalContext('kube-apiserver'), skipValidation: true };
    const endpoints = this.registry.must('', 'endpoints');
    await endpoints.guaranteedUpdate('default', 'kubernetes', (live) => {
      const base: KObject = live ? clone(live) : { apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'kubernetes', namespace: 'default' } };
      base.metadata.labels = { ...(base.metadata.labels ?? {}), [SKIP_MIRROR_LABEL]: 'true' };
      if (subsets.length) base.subsets = subsets;
      else delete base.subsets;
      return base;
    }, ctx, { allowCreate: true });
    const sliceStore = this.registry.must('discovery.k8s.io', 'endpointslices');
    for (const want of slices) {
      await sliceStore.guaranteedUpdate('default', want.metadata.name!, (live) => {
        if (!live) return clone(want);
        const next = clone(live);
        next.metadata.labels = { ...(next.metadata.labels ?? {}), ...want.metadata.labels };
        next.addressType = want.addressType;
        next.endpoints = want.endpoints;
        next.ports = want.ports;
        return next;
      }, ctx, { allowCreate: true });
    }
    // Slices for ports no server uses any more.
    const wanted = new Set(slices.map((s) => s.metadata.name));
    const { items } = await sliceStore.list('default', {
      filter: (o) => o.metadata.labels?.[SERVICE_NAME_LABEL] === 'kubernetes' && o.metadata.labels?.[MANAGED_BY_LABEL] === SLICE_MANAGED_BY,
    });
    for (const s of items) {
      if (wanted.has(s.metadata.name) || !/^kubernetes-\d+$/.test(s.metadata.name ?? '')) continue;
      await sliceStore.delete('default', s.metadata.name!, { preconditions: { uid: s.metadata.uid } }, ctx).catch((err: unknown) => {
        if (!(err instanceof StatusError) || (err.reason !== 'NotFound' && err.reason !== 'Conflict')) throw err;
      });
    }
  }
}
