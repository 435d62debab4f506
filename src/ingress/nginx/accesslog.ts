/**
 * nginx's access log → the built-in proxy's `RequestRecord`, so the nginx data plane reports the
 * same per-Ingress metrics (`ProxyMetrics.observe`) and writes the same upstreaminfo lines
 * (`accessLogLine`) as the built-in proxy.
 *
 * nginx writes one JSON object per request (`log_format kl_json escape=json`) to its stdout;
 * `$kl_route` is `<generation>.<index>` of the location's route in that generation's
 * `RenderedNginxConfig.routes`, which names
 * the Ingress, path, host and Services.
 */
import type { RequestRecord } from '../proxy/observe.js';
import type { RouteInfo } from './locations.js';

/** Field names are short; every value is a string (nginx JSON-escapes them). */
export const JSON_LOG_FORMAT =
  '{"ra":"$remote_addr","msec":"$msec","m":"$request_method","t":"$request_uri","proto":"$server_protocol",' +
  '"s":"$status","bs":"$body_bytes_sent","ref":"$http_referer","ua":"$http_user_agent","rl":"$request_length",' +
  '"rt":"$request_time","up":"$proxy_upstream_name","alt":"$proxy_alternative_upstream_name",' +
  '"uaddr":"$upstream_addr","ulen":"$upstream_response_length","utime":"$upstream_response_time",' +
  '"ustatus":"$upstream_status","id":"$req_id","route":"$kl_route"}';

type LogFields = Record<string, string | undefined>;

/** Numbers of a multi-upstream field (`0.001, 0.002 : 0.003`); undefined when none. */
function numbers(v: string | undefined): number[] | undefined {
  if (!v || v === '-') return undefined;
  const out = v.split(/[,:]\s*/).map((x) => Number(x.trim())).filter((n) => Number.isFinite(n));
  return out.length ? out : undefined;
}

/** Parses one JSON access log line; undefined for anything else (nginx's own messages). */
export function parseAccessLine(line: string, routeOf: (id: string) => RouteInfo | undefined): RequestRecord | undefined {
  let f: LogFields;
  try {
    f = JSON.parse(line) as LogFields;
  } catch {
    return undefined;
  }
  if (typeof f !== 'object' || f === null || f['s'] === undefined) return undefined;
  const requestTimeSec = Number(f['rt'] ?? 0);
  const endMs = Number(f['msec'] ?? 0) * 1000;
  const upstreamName = f['up'] && f['up'] !== '-' ? f['up'] : '';
  const rec: RequestRecord = {
    remoteAddr: f['ra'] ?? '',
    startMs: Math.round(endMs - requestTimeSec * 1000),
    method: f['m'] ?? '',
    target: f['t'] ?? '',
    httpVersion: (f['proto'] ?? '').replace(/^HTTP\//, ''),
    status: Number(f['s']),
    bodyBytesSent: Number(f['bs'] ?? 0),
    referer: f['ref'] ?? '',
    userAgent: f['ua'] ?? '',
    requestLength: Number(f['rl'] ?? 0),
    requestTimeSec,
    upstreamName,
    alternativeUpstreamName: f['alt'] ?? '',
    upstreamAddrs: f['uaddr'] && f['uaddr'] !== '-' ? f['uaddr'].split(/[,:]\s+/).map((s) => s.trim()).filter(Boolean) : [],
    requestId: f['id'] ?? '',
  };
  const len = numbers(f['ulen']);
  if (len) rec.upstreamResponseLength = len[len.length - 1]!;
  const time = numbers(f['utime']);
  if (time) rec.upstreamResponseTimeSec = time.reduce((a, b) => a + b, 0);
  const st = numbers(f['ustatus']);
  if (st) rec.upstreamStatus = st[st.length - 1]!;
  const id = f['route'];
  const info = id ? routeOf(id) : undefined;
  if (info) {
    const canary = info.canaryUpstreamName !== undefined && upstreamName === info.canaryUpstreamName && upstreamName !== info.upstreamName;
    rec.ingress = { namespace: info.namespace, name: info.name, path: info.path, host: info.host, service: canary ? (info.canaryService ?? '') : info.service };
  }
  return rec;
}
