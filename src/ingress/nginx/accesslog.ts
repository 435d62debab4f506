/**
 * nginx's access log → the access log lines and per-Ingress metrics the built-in proxy produces.
 *
 * nginx writes one line per request in the `kl_metrics` format: six tab-separated fields for the
 * metrics, then ingress-nginx's `upstreaminfo` line as nginx itself formats it. With nginx's
 * default log escaping, `"`, `\` and every byte below 0x20 (the tab included) or above 0x7e in a
 * variable is written as `\xHH`, so the first six tabs are always the separators.
 *
 * Why this shape (measured, see the report of issue 8): a JSON line parsed into a RequestRecord
 * and re-formatted in Node cost ~25 µs of Node CPU per request, close to nginx's own ~35 µs; now
 * Node only finds six tabs, bumps pre-resolved metric series and passes nginx's line on.
 *
 * `$kl_route` is `<generation>.<index>` of the location's route in that generation's
 * `RenderedNginxConfig.routes`, which names the Ingress, path, host and Services.
 */
import type { ProxyMetrics } from '../proxy/observe.js';
import type { RouteInfo } from './locations.js';

/** ingress-nginx's `upstreaminfo` access log format (the built-in proxy writes the same fields). */
export const UPSTREAMINFO_FORMAT =
  '$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" ' +
  '$request_length $request_time [$proxy_upstream_name] [$proxy_alternative_upstream_name] $upstream_addr ' +
  '$upstream_response_length $upstream_response_time $upstream_status $req_id';

/** Metrics fields, then the upstreaminfo line (see the file comment). */
export const METRICS_LOG_FORMAT = `$kl_route\t$request_method\t$status\t$request_time\t$upstream_response_time\t$proxy_upstream_name\t${UPSTREAMINFO_FORMAT}`;

/** One `kl_metrics` line, split. */
export interface LogFields {
  /** `<generation>.<index>`, '' outside route locations. */
  route: string;
  method: string;
  status: string;
  requestTimeSec: number;
  /** Sum over the upstreams tried; undefined when none answered (`-`). */
  upstreamTimeSec?: number;
  upstreamName: string;
  /** nginx's upstreaminfo line. */
  line: string;
}

/** Splits a `kl_metrics` line; undefined for anything else. Hot path: one call per request. */
export function parseLogLine(text: string): LogFields | undefined {
  const t0 = text.indexOf('\t');
  const t1 = t0 < 0 ? -1 : text.indexOf('\t', t0 + 1);
  const t2 = t1 < 0 ? -1 : text.indexOf('\t', t1 + 1);
  const t3 = t2 < 0 ? -1 : text.indexOf('\t', t2 + 1);
  const t4 = t3 < 0 ? -1 : text.indexOf('\t', t3 + 1);
  const t5 = t4 < 0 ? -1 : text.indexOf('\t', t4 + 1);
  if (t5 < 0) return undefined;
  const fields: LogFields = {
    route: text.slice(0, t0),
    method: text.slice(t0 + 1, t1),
    status: text.slice(t1 + 1, t2),
    requestTimeSec: Number(text.slice(t2 + 1, t3)),
    upstreamName: text.slice(t4 + 1, t5),
    line: text.slice(t5 + 1),
  };
  const ut = upstreamTime(text.slice(t3 + 1, t4));
  if (ut !== undefined) fields.upstreamTimeSec = ut;
  return fields;
}

/** `0.001`, or `0.001, 0.002 : 0.003` (every upstream tried, across internal redirects): the sum. */
function upstreamTime(v: string): number | undefined {
  if (v === '' || v === '-') return undefined;
  const n = Number(v);
  if (!Number.isNaN(n)) return n;
  let sum = 0;
  for (const part of v.split(/[,:]/)) {
    const x = Number(part);
    if (part.trim() !== '' && Number.isFinite(x)) sum += x;
  }
  return sum;
}

interface Series {
  requests: { inc(by?: number): void };
  requestDuration: { observe(v: number): void };
  responseDuration: { observe(v: number): void };
}

/** Beyond this many label combinations the series cache starts over (clients choose methods). */
const MAX_CACHED_SERIES = 4096;

/**
 * Feeds `kl_metrics` lines to the metrics and the access log callback. Metric series are resolved
 * once per (route, method, status, canary) and cached; the registry must not be `reset()` while
 * the sink is in use.
 */
export class AccessLogSink {
  private readonly series = new Map<string, Series | null>();

  constructor(
    private readonly routeOf: (id: string) => RouteInfo | undefined,
    private readonly opts: { metrics?: ProxyMetrics; accessLog?: (line: string) => void },
  ) {}

  /** One line from nginx. Lines in another format are ignored. */
  add(text: string): void {
    const f = parseLogLine(text);
    if (!f) return;
    this.opts.accessLog?.(f.line);
    const m = this.opts.metrics;
    if (!m || f.route === '') return;
    const s = this.seriesFor(m, f);
    if (!s) return;
    s.requests.inc();
    s.requestDuration.observe(f.requestTimeSec);
    if (f.upstreamTimeSec !== undefined) s.responseDuration.observe(f.upstreamTimeSec);
  }

  private seriesFor(m: ProxyMetrics, f: LogFields): Series | null {
    const key = `${f.route}\t${f.method}\t${f.status}\t${f.upstreamName}`;
    let s = this.series.get(key);
    if (s !== undefined) return s;
    const info = this.routeOf(f.route);
    if (!info) {
      // Not cached: a generation's routes may be registered after its first lines are read.
      return null;
    }
    const canary = info.canaryUpstreamName !== undefined && f.upstreamName === info.canaryUpstreamName && f.upstreamName !== info.upstreamName;
    const labels = {
      host: info.host,
      ingress: info.name,
      method: f.method,
      namespace: info.namespace,
      path: info.path,
      service: canary ? (info.canaryService ?? '') : info.service,
      status: f.status,
    };
    s = { requests: m.requests.child(labels), requestDuration: m.requestDuration.child(labels), responseDuration: m.responseDuration.child(labels) };
    if (this.series.size >= MAX_CACHED_SERIES) this.series.clear();
    this.series.set(key, s);
    return s;
  }
}
