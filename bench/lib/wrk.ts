/**
 * Parsing wrk's text report (`wrk --latency`), shared by the proxy and ingress benchmarks so
 * both read throughput, percentiles and errors the same way.
 */

export interface Wrk {
  rps: number;
  /** requests/s of every run of this target (callers that repeat runs fill it in). */
  all?: number[];
  /** Latency percentiles, milliseconds. */
  p50: number;
  p99: number;
  /** Socket errors (connect, read, write, timeout) plus non-2xx/3xx responses. */
  errors: number;
}

/** wrk's duration strings ("812.00us", "1.20ms", "2.00s", "1.00m") in milliseconds; NaN if unreadable. */
export function unitMs(v: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(v.trim());
  if (!m) return NaN;
  const x = Number(m[1]);
  return m[2] === 'us' ? x / 1000 : m[2] === 'ms' ? x : m[2] === 's' ? x * 1000 : x * 60_000;
}

/** Reads one `wrk --latency` report. Missing fields come back NaN (errors: 0 when none are reported). */
export function parseWrk(out: string): Wrk {
  const num = (re: RegExp): number => Number(re.exec(out)?.[1] ?? NaN);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = (sock ? sock.slice(1).reduce((a, b) => a + Number(b), 0) : 0) + (num(/Non-2xx or 3xx responses: (\d+)/) || 0);
  return { rps: num(/Requests\/sec:\s+([\d.]+)/), p50: unitMs(/^\s+50%\s+(\S+)/m.exec(out)?.[1] ?? ''), p99: unitMs(/^\s+99%\s+(\S+)/m.exec(out)?.[1] ?? ''), errors };
}
