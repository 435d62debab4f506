/**
 * What the proxy reports per request: one access-log line in ingress-nginx's default
 * `log-format-upstream`, and per-Ingress metrics under ingress-nginx's family names, so the
 * log parsers and dashboards written for ingress-nginx read ours.
 */
import { Registry, type Counter, type Histogram } from '../../util/prometheus.js';

/** Everything one finished request contributes to the log and the metrics. */
export interface RequestRecord {
  remoteAddr: string;
  /** Unix ms when the request arrived. */
  startMs: number;
  method: string;
  /** The request target as received. */
  target: string;
  httpVersion: string;
  status: number;
  bodyBytesSent: number;
  referer: string;
  userAgent: string;
  requestLength: number;
  requestTimeSec: number;
  /** `ns-svc-port`, '' when no backend was chosen (nginx logs `-`). */
  upstreamName: string;
  /** The canary's upstream name when one was configured. */
  alternativeUpstreamName: string;
  /** `addr:port` of every upstream tried, in order. */
  upstreamAddrs: string[];
  upstreamResponseLength?: number;
  upstreamResponseTimeSec?: number;
  upstreamStatus?: number;
  requestId: string;
  /** The Ingress that served the request (undefined: no metrics, as for nginx's default server). */
  ingress?: { namespace: string; name: string; service: string; path: string; host: string };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** nginx's `$time_local` in UTC: `27/Nov/2026:00:10:00 +0000`. */
export function timeLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${p(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +0000`;
}

/** nginx escapes `"`, `\` and non-printable bytes in logged variables as \xHH. */
function esc(v: string): string {
  return v.replace(/["\\\x00-\x1f\x7f-\uffff]/g, (c) => {
    const code = c.charCodeAt(0);
    return code > 0xff ? '?' : `\\x${code.toString(16).toUpperCase().padStart(2, '0')}`;
  });
}

function orDash(v: string | number | undefined): string {
  return v === undefined || v === '' ? '-' : String(v);
}

/**
 * `$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer"
 * "$http_user_agent" $request_length $request_time [$proxy_upstream_name]
 * [$proxy_alternative_upstream_name] $upstream_addr $upstream_response_length
 * $upstream_response_time $upstream_status $req_id` — ingress-nginx's default.
 */
export function accessLogLine(r: RequestRecord): string {
  const request = `${r.method} ${r.target} HTTP/${r.httpVersion}`;
  return [
    `${r.remoteAddr} - - [${timeLocal(r.startMs)}]`,
    `"${esc(request)}"`,
    r.status,
    r.bodyBytesSent,
    `"${esc(orDash(r.referer))}"`,
    `"${esc(orDash(r.userAgent))}"`,
    r.requestLength,
    r.requestTimeSec.toFixed(3),
    `[${r.upstreamName}]`,
    `[${r.alternativeUpstreamName}]`,
    orDash(r.upstreamAddrs.join(', ')),
    orDash(r.upstreamResponseLength),
    orDash(r.upstreamResponseTimeSec?.toFixed(3)),
    orDash(r.upstreamStatus),
    r.requestId,
  ].join(' ');
}

const LABELS = ['host', 'ingress', 'method', 'namespace', 'path', 'service', 'status'] as const;

/** ingress-nginx's request families, labelled per Ingress (controller_* labels left out: one controller). */
export class ProxyMetrics {
  readonly registry: Registry;
  readonly requests: Counter;
  readonly requestDuration: Histogram;
  readonly responseDuration: Histogram;

  /**
   * Families already in `registry` (a previous proxy on the same registry, e.g. after a
   * restart of the data plane) are reused instead of failing on the duplicate name.
   */
  constructor(registry?: Registry) {
    const reg = (this.registry = registry ?? new Registry());
    const existing = <T>(name: string, type: string): T | undefined => {
      const m = reg.get(name);
      if (m && m.type !== type) throw new Error(`metric ${name} already registered as a ${m.type}`);
      return m as T | undefined;
    };
    this.requests =
      existing<Counter>('nginx_ingress_controller_requests', 'counter') ??
      reg.counter({ name: 'nginx_ingress_controller_requests', help: 'The total number of client requests', labelNames: LABELS });
    this.requestDuration =
      existing<Histogram>('nginx_ingress_controller_request_duration_seconds', 'histogram') ??
      reg.histogram({
        name: 'nginx_ingress_controller_request_duration_seconds',
        help: 'The request processing time in milliseconds',
        labelNames: LABELS,
      });
    this.responseDuration =
      existing<Histogram>('nginx_ingress_controller_response_duration_seconds', 'histogram') ??
      reg.histogram({
        name: 'nginx_ingress_controller_response_duration_seconds',
        help: 'The time spent on receiving the response from the upstream server',
        labelNames: LABELS,
      });
  }

  /** Counts a finished request against its Ingress; requests no Ingress served are not counted. */
  observe(r: RequestRecord): void {
    if (!r.ingress) return;
    const labels = {
      host: r.ingress.host,
      ingress: r.ingress.name,
      method: r.method,
      namespace: r.ingress.namespace,
      path: r.ingress.path,
      service: r.ingress.service,
      status: String(r.status),
    };
    this.requests.inc(1, labels);
    this.requestDuration.observe(r.requestTimeSec, labels);
    if (r.upstreamResponseTimeSec !== undefined) this.responseDuration.observe(r.upstreamResponseTimeSec, labels);
  }
}
