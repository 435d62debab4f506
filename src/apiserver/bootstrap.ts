/**
 * What every cluster has from its first start: the four system namespaces and the
 * `default/kubernetes` Service (first IP of the service CIDR) with Endpoints and
 * EndpointSlice(s) pointing at every live API server. Idempotent: runs on every start and only
 * fills in what is missing or stale.
 */
import type { KObject } from '../api/types.js';
import { StatusError } from './errors.js';
import type { Registry } from './registry/index.js';
import { internalContext } from './registry/strategy.js';
import { LeaseEndpointReconciler } from './endpointreconciler.js';

export const SYSTEM_NAMESPACES = ['default', 'kube-system', 'kube-public', 'kube-node-lease'];

/** The n-th address of an IPv4 CIDR (n=1: the first usable one). */
export function nthAddress(cidr: string, n: number): string {
  const [ip] = cidr.split('/');
  const num = ip.split('.').reduce((acc, o) => acc * 256 + Number(o), 0) + n;
  return [24, 16, 8, 0].map((s) => (Math.floor(num / 2 ** s) & 255).toString()).join('.');
}

/**
 * Creates `obj` unless it exists (an existing one is left as it is). Several API servers may
 * bootstrap one store at once: a peer that got there first holds the ClusterIP claim a moment
 * before its Service is written, so our create fails as Invalid ("already allocated") while the
 * Service is not there yet. Such a failure is retried briefly until the peer's object appears.
 */
async function ensure(registry: Registry, group: string, plural: string, ns: string | undefined, obj: KObject): Promise<void> {
  const store = registry.must(group, plural);
  const ctx = internalContext('kube-apiserver');
  let last: unknown;
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      await store.get(ns, obj.metadata.name!);
      return;
    } catch (err) {
      if (!(err instanceof StatusError) || err.reason !== 'NotFound') throw err;
    }
    try {
      await store.create(ns, obj, ctx);
      return;
    } catch (e) {
      if (!(e instanceof StatusError)) throw e;
      if (e.reason === 'AlreadyExists') return;
      if (e.reason !== 'Invalid') throw e;
      last = e;
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw last;
}

export interface BootstrapOptions {
  serviceCIDR: string;
  advertiseAddress: string;
  port: number;
  /** This server's stable identity for its endpoints lease (default `<address>:<port>`). */
  identity?: string;
  /** Endpoints lease TTL and renew period (defaults 15 s / 10 s, as kube). */
  leaseTTLSeconds?: number;
  reconcileIntervalMs?: number;
}

/**
 * Ensures the namespaces and the `default/kubernetes` Service, then starts this server's
 * endpoint reconciler (endpointreconciler.ts), which lists every live API server sharing the
 * store in the `default/kubernetes` Endpoints/EndpointSlices. Stop the returned reconciler on
 * graceful shutdown so the server takes itself out.
 */
export async function bootstrap(registry: Registry, opts: BootstrapOptions): Promise<LeaseEndpointReconciler> {
  for (const name of SYSTEM_NAMESPACES) {
    await ensure(registry, '', 'namespaces', undefined, { apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  }
  const clusterIP = nthAddress(opts.serviceCIDR, 1);
  await ensure(registry, '', 'services', 'default', {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: { name: 'kubernetes', labels: { component: 'apiserver', provider: 'kubernetes' } },
    spec: {
      type: 'ClusterIP',
      clusterIP,
      clusterIPs: [clusterIP],
      ports: [{ name: 'https', port: 443, protocol: 'TCP', targetPort: opts.port }],
      sessionAffinity: 'None',
      ipFamilies: ['IPv4'],
      ipFamilyPolicy: 'SingleStack',
      internalTrafficPolicy: 'Cluster',
    },
  });
  const reconciler = new LeaseEndpointReconciler(registry, {
    identity: opts.identity ?? `${opts.advertiseAddress}:${opts.port}`,
    address: opts.advertiseAddress,
    port: opts.port,
    leaseTTLSeconds: opts.leaseTTLSeconds,
    intervalMs: opts.reconcileIntervalMs,
  });
  await reconciler.start();
  return reconciler;
}
