/**
 * kube-proxy's metric set (pkg/proxy/metrics), with kube's names, types, label names and
 * buckets so dashboards and alerts written for kube-proxy work on our `/metrics` unchanged.
 * Help texts are our own words. Labels follow current kube-proxy: the per-family metrics carry
 * `ip_family` ("IPv4"/"IPv6"; we only program IPv4), `no_local_endpoints_total` adds
 * `traffic_policy` ("internal"/"external"), the healthz/livez counters carry `code`.
 *
 * The proxier calls the typed methods of ProxyMetrics; the pure helpers below compute what to
 * report (trigger times from slices, the no-local-endpoint counts from a ProxyState).
 */
import type { KObject } from '../api/types.js';
import { Registry, exponentialBuckets, linearBuckets, type Counter, type Gauge, type Histogram } from '../util/prometheus.js';
import type { ProxyState } from './types.js';

export type IPFamily = 'IPv4' | 'IPv6';
export type ProxyMode = 'nftables' | 'iptables' | 'userspace';

/** The EndpointSlice annotation the endpointslice controller sets to when the change that produced the slice happened. */
export const TRIGGER_TIME_ANNOTATION = 'endpoints.kubernetes.io/last-change-trigger-time';

/** kube's sync duration buckets: 1 ms doubling 15 times (up to ~16 s). */
export const SYNC_BUCKETS: readonly number[] = exponentialBuckets(0.001, 2, 15);

/**
 * kube's network programming buckets. kube builds them with a merge helper that starts from a
 * one-element zero slice, so the first bucket is `le="0"`; we keep that for identical output.
 */
export const NETWORK_PROGRAMMING_BUCKETS: readonly number[] = [
  0,
  ...linearBuckets(0.25, 0.25, 2),
  ...linearBuckets(1, 1, 59),
  ...linearBuckets(60, 5, 12),
  ...linearBuckets(120, 30, 7),
];

/**
 * The trigger time of a slice (the `last-change-trigger-time` annotation) or undefined when it
 * is absent or unparsable. With `notBefore` (kube passes the change tracker's start time),
 * older times are ignored: at startup every slice would otherwise report its whole age.
 */
export function triggerTimeOf(slice: KObject, opts: { notBefore?: Date } = {}): Date | undefined {
  const raw = slice.metadata.annotations?.[TRIGGER_TIME_ANNOTATION];
  if (typeof raw !== 'string' || raw === '') return undefined;
  const ms = Date.parse(raw);
  if (!Number.isFinite(ms)) return undefined;
  if (opts.notBefore && !(ms > opts.notBefore.getTime())) return undefined;
  return new Date(ms);
}

/**
 * What kube-proxy reports in `sync_proxy_rules_no_local_endpoints_total`: service ports that
 * have endpoints somewhere but none usable for a Local traffic policy on this node, i.e. their
 * traffic is dropped here rather than rejected. Counted per service port, as kube does.
 */
export function noLocalEndpointCounts(state: ProxyState): { internal: number; external: number } {
  let internal = 0;
  let external = 0;
  for (const plan of state.services.values()) {
    if (!plan.rejectCluster && plan.clusterEndpoints.length === 0) internal++;
    if (!plan.rejectExternal && plan.externalEndpoints.length === 0) external++;
  }
  return { internal, external };
}

export interface ProxyMetricsOptions {
  /** Where to register (default: a fresh Registry, exposed as `.registry`). */
  registry?: Registry;
  /** Which rule-writing failure counter exists: nftables, iptables (iptables-restore) or neither (userspace). Default nftables. */
  mode?: ProxyMode;
  /** Value of the ip_family label. Default IPv4. */
  ipFamily?: IPFamily;
}

/** The proxier's metrics, one method per event it reports. */
export class ProxyMetrics {
  readonly registry: Registry;
  private readonly family: { ip_family: IPFamily };
  private readonly syncDuration: Histogram;
  private readonly syncFull: Histogram;
  private readonly syncPartial: Histogram;
  private readonly programming: Histogram;
  private readonly lastSync: Gauge;
  private readonly lastQueued: Gauge;
  private readonly endpointPending: Gauge;
  private readonly endpointTotal: Counter;
  private readonly servicePending: Gauge;
  private readonly serviceTotal: Counter;
  private readonly noLocal: Gauge;
  private readonly failures?: Counter;
  private readonly healthzTotal: Counter;
  private readonly livezTotal: Counter;

  constructor(opts: ProxyMetricsOptions = {}) {
    const r = (this.registry = opts.registry ?? new Registry());
    this.family = { ip_family: opts.ipFamily ?? 'IPv4' };
    const fam = ['ip_family'];
    this.syncDuration = r.histogram({
      name: 'kubeproxy_sync_proxy_rules_duration_seconds',
      help: 'Time in seconds one sync of the proxy rules took (full and partial syncs)',
      labelNames: fam,
      buckets: SYNC_BUCKETS,
    });
    this.syncFull = r.histogram({
      name: 'kubeproxy_sync_full_proxy_rules_duration_seconds',
      help: 'Time in seconds a full resync of the proxy rules took',
      labelNames: fam,
      buckets: SYNC_BUCKETS,
    });
    this.syncPartial = r.histogram({
      name: 'kubeproxy_sync_partial_proxy_rules_duration_seconds',
      help: 'Time in seconds a partial resync of the proxy rules took',
      labelNames: fam,
      buckets: SYNC_BUCKETS,
    });
    this.programming = r.histogram({
      name: 'kubeproxy_network_programming_duration_seconds',
      help: 'Seconds from a Service or Pod change to the proxy rules reflecting it on this node',
      labelNames: fam,
      buckets: NETWORK_PROGRAMMING_BUCKETS,
    });
    this.lastSync = r.gauge({
      name: 'kubeproxy_sync_proxy_rules_last_timestamp_seconds',
      help: 'Unix time of the last successful sync of the proxy rules',
      labelNames: fam,
    });
    this.lastQueued = r.gauge({
      name: 'kubeproxy_sync_proxy_rules_last_queued_timestamp_seconds',
      help: 'Unix time a sync of the proxy rules was last requested',
      labelNames: fam,
    });
    this.endpointPending = r.gauge({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_pending',
      help: 'Endpoint changes seen but not yet written to the proxy rules',
    });
    this.endpointTotal = r.counter({
      name: 'kubeproxy_sync_proxy_rules_endpoint_changes_total',
      help: 'Endpoint changes seen by the proxy since it started',
    });
    this.servicePending = r.gauge({
      name: 'kubeproxy_sync_proxy_rules_service_changes_pending',
      help: 'Service changes seen but not yet written to the proxy rules',
    });
    this.serviceTotal = r.counter({
      name: 'kubeproxy_sync_proxy_rules_service_changes_total',
      help: 'Service changes seen by the proxy since it started',
    });
    this.noLocal = r.gauge({
      name: 'kubeproxy_sync_proxy_rules_no_local_endpoints_total',
      help: 'Service ports with a Local traffic policy and no usable endpoint on this node',
      labelNames: ['ip_family', 'traffic_policy'],
    });
    const mode = opts.mode ?? 'nftables';
    if (mode === 'nftables') {
      this.failures = r.counter({
        name: 'kubeproxy_sync_proxy_rules_nftables_sync_failures_total',
        help: 'Times writing the nftables ruleset failed',
        labelNames: fam,
      });
    } else if (mode === 'iptables') {
      this.failures = r.counter({
        name: 'kubeproxy_sync_proxy_rules_iptables_restore_failures_total',
        help: 'Times iptables-restore failed',
        labelNames: fam,
      });
    }
    this.healthzTotal = r.counter({
      name: 'kubeproxy_proxy_healthz_total',
      help: 'Responses of the proxy /healthz endpoint, by HTTP status code',
      labelNames: ['code'],
    });
    this.livezTotal = r.counter({
      name: 'kubeproxy_proxy_livez_total',
      help: 'Responses of the proxy /livez endpoint, by HTTP status code',
      labelNames: ['code'],
    });
  }

  /** One finished sync: its duration goes to the overall and the full or partial histogram. */
  observeSync(sync: { full: boolean; seconds: number }): void {
    this.syncDuration.observe(sync.seconds, this.family);
    (sync.full ? this.syncFull : this.syncPartial).observe(sync.seconds, this.family);
  }

  /** The rules were written successfully at `at`. */
  syncSucceeded(at: Date): void {
    this.lastSync.setToTime(at, this.family);
  }

  /** A sync was requested at `at` (a change arrived). */
  syncQueued(at: Date): void {
    this.lastQueued.setToTime(at, this.family);
  }

  /** Writing the rules failed (nft -f / iptables-restore); a no-op in userspace mode. */
  syncFailed(): void {
    this.failures?.inc(1, this.family);
  }

  /** Seconds from a change's trigger time to its rules being live. Negative values (clock skew) are clamped to 0. */
  observeNetworkProgramming(seconds: number): void {
    this.programming.observe(Math.max(0, seconds), this.family);
  }

  /** Convenience: observes `now - t` for each trigger time, as kube does after each successful sync. */
  observeTriggerTimes(times: Iterable<Date>, now: Date): void {
    for (const t of times) this.observeNetworkProgramming((now.getTime() - t.getTime()) / 1000);
  }

  /** `n` EndpointSlice changes were seen (counted in the total; the pending gauge is set separately). */
  endpointChanges(n: number): void {
    if (n > 0) this.endpointTotal.inc(n);
  }

  endpointChangesPending(n: number): void {
    this.endpointPending.set(n);
  }

  serviceChanges(n: number): void {
    if (n > 0) this.serviceTotal.inc(n);
  }

  serviceChangesPending(n: number): void {
    this.servicePending.set(n);
  }

  /** Sets both traffic_policy series (kube recounts them on every sync). */
  noLocalEndpoints(counts: { internal: number; external: number }): void {
    this.noLocal.set(counts.internal, { ...this.family, traffic_policy: 'internal' });
    this.noLocal.set(counts.external, { ...this.family, traffic_policy: 'external' });
  }

  healthz(code: number): void {
    this.healthzTotal.inc(1, { code: String(code) });
  }

  livez(code: number): void {
    this.livezTotal.inc(1, { code: String(code) });
  }

  render(): string {
    return this.registry.render();
  }
}
