/**
 * The DNS server's Prometheus metrics under CoreDNS's names and labels (plugin/metrics), so
 * dashboards and alerts written for CoreDNS work unchanged: requests by proto/family/type,
 * responses by rcode and the plugin that wrote them, request duration and message sizes.
 * `server` is the listener (`dns://<addr>:<port>`), `zone` the server block (`.` as kubeadm's
 * Corefile), `view` empty. Cache and forward families live next to their code (forward/).
 */
import { Registry, exponentialBuckets, type Counter, type Histogram } from '../util/prometheus.js';

/** Query types CoreDNS reports by name; anything else is "other" (keeps the label set bounded). */
const MONITORED_TYPES = new Set(['A', 'AAAA', 'NS', 'PTR', 'SOA', 'CNAME', 'MX', 'TXT', 'SRV', 'NAPTR', 'DS', 'DNSKEY', 'RRSIG', 'NSEC', 'NSEC3', 'HTTPS', 'SVCB', 'IXFR', 'AXFR', 'ANY']);
const SIZE_BUCKETS = [0, 100, 200, 300, 400, 511, 1023, 2047, 4095, 8291, 16000, 32000, 48000, 64000];

export function metricType(typeName: string): string {
  return MONITORED_TYPES.has(typeName) ? typeName : 'other';
}

export interface RequestObservation {
  proto: 'udp' | 'tcp';
  family: 4 | 6;
  /** Query type name (A, AAAA, ...). */
  type: string;
  rcode: string;
  /** Which part answered: kubernetes, cache, forward, or '' for errors answered by the server. */
  plugin: string;
  durationSeconds: number;
  requestBytes: number;
  responseBytes: number;
}

interface SeriesSet {
  requests: { inc(by?: number): void };
  responses: { inc(by?: number): void };
  duration: { observe(v: number): void };
  requestSize: { observe(v: number): void };
  responseSize: { observe(v: number): void };
}

export class DnsMetrics {
  readonly registry: Registry;
  private readonly requests: Counter;
  private readonly responses: Counter;
  private readonly duration: Histogram;
  private readonly requestSize: Histogram;
  private readonly responseSize: Histogram;
  readonly panics: Counter;
  private readonly base: { server: string; zone: string; view: string };
  private readonly series = new Map<string, SeriesSet>();

  constructor(opts: { registry?: Registry; server: string; zone?: string }) {
    const r = (this.registry = opts.registry ?? new Registry());
    this.base = { server: opts.server, zone: opts.zone ?? '.', view: '' };
    this.requests = r.counter({ name: 'coredns_dns_requests_total', help: 'Counter of DNS requests made per zone, protocol and family.', labelNames: ['server', 'zone', 'view', 'proto', 'family', 'type'] });
    this.responses = r.counter({ name: 'coredns_dns_responses_total', help: 'Counter of response status codes.', labelNames: ['server', 'zone', 'view', 'rcode', 'plugin'] });
    this.duration = r.histogram({ name: 'coredns_dns_request_duration_seconds', help: 'Histogram of the time (in seconds) each request took per zone.', labelNames: ['server', 'zone', 'view', 'type'], buckets: exponentialBuckets(0.00025, 2, 16) });
    this.requestSize = r.histogram({ name: 'coredns_dns_request_size_bytes', help: 'Size of the request in bytes per zone and protocol.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS });
    this.responseSize = r.histogram({ name: 'coredns_dns_response_size_bytes', help: 'Size of the returned response in bytes.', labelNames: ['server', 'zone', 'view', 'proto'], buckets: SIZE_BUCKETS });
    this.panics = r.counter({ name: 'coredns_panics_total', help: 'A metrics that counts the number of panics.' });
    r.gauge({ name: 'coredns_build_info', help: 'A metric with a constant \'1\' value labeled by version, revision, and goversion from which CoreDNS was built.', labelNames: ['version', 'revision', 'goversion'] })
      .set(1, { version: '1.11.3', revision: 'kubelite', goversion: `node${process.versions.node}` });
    this.panics.inc(0);
  }

  /**
   * Counts one request. The series for a (proto, family, type, rcode, plugin) combination are
   * resolved once and kept: the label checks and key building would otherwise cost a quarter of
   * a cluster answer's CPU time.
   */
  observe(o: RequestObservation): void {
    const type = metricType(o.type);
    const key = `${o.proto}|${o.family}|${type}|${o.rcode}|${o.plugin}`;
    let s = this.series.get(key);
    if (!s) {
      const { server, zone, view } = this.base;
      s = {
        requests: this.requests.child({ server, zone, view, proto: o.proto, family: o.family === 6 ? '2' : '1', type }),
        responses: this.responses.child({ server, zone, view, rcode: o.rcode, plugin: o.plugin }),
        duration: this.duration.child({ server, zone, view, type }),
        requestSize: this.requestSize.child({ server, zone, view, proto: o.proto }),
        responseSize: this.responseSize.child({ server, zone, view, proto: o.proto }),
      };
      this.series.set(key, s);
    }
    s.requests.inc();
    s.responses.inc();
    s.duration.observe(o.durationSeconds);
    s.requestSize.observe(o.requestBytes);
    s.responseSize.observe(o.responseBytes);
  }
}
