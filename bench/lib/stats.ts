/**
 * Latency statistics and markdown formatting shared by the benchmarks. Percentiles use the
 * nearest-rank method on the full sample (no histogram bucketing), so p99 of 100 samples is the
 * 99th smallest: the numbers are exact for what was measured.
 */

export interface Summary {
  n: number;
  p50: number;
  p99: number;
  max: number;
  mean: number;
}

/** Nearest-rank percentile of an ascending-sorted array; NaN when empty. `p` is in [0, 100]. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  if (p <= 0) return sorted[0];
  const rank = Math.ceil((p / 100) * sorted.length);
  return sorted[Math.min(sorted.length, rank) - 1];
}

/** Summarizes samples (milliseconds or any unit); the input is not modified. */
export function summarize(samples: readonly number[]): Summary {
  const sorted = Float64Array.from(samples).sort();
  const arr = Array.from(sorted);
  let sum = 0;
  for (const v of arr) sum += v;
  return {
    n: arr.length,
    p50: percentile(arr, 50),
    p99: percentile(arr, 99),
    max: arr.length ? arr[arr.length - 1] : NaN,
    mean: arr.length ? sum / arr.length : NaN,
  };
}

/** Milliseconds with precision that suits the magnitude: 0.42, 4.2, 42, 420. */
export function ms(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  if (v < 1) return v.toFixed(2);
  if (v < 10) return v.toFixed(1);
  return v.toFixed(0);
}

/** An integer with thousands separators (req/s, bytes, counts). */
export function int(v: number): string {
  if (!Number.isFinite(v)) return 'n/a';
  return Math.round(v).toLocaleString('en-US');
}

export function mib(bytes: number): string {
  if (!Number.isFinite(bytes)) return 'n/a';
  return (bytes / (1024 * 1024)).toFixed(1);
}

/** `a / b` as `1.23x`; `n/a` when either side is missing or b is 0. */
export function ratio(a: number, b: number): string {
  if (!Number.isFinite(a) || !Number.isFinite(b) || b === 0) return 'n/a';
  return `${(a / b).toFixed(2)}x`;
}

/** A GitHub-flavoured markdown table. Every row must have as many cells as the header. */
export function table(header: readonly string[], rows: readonly (readonly string[])[]): string {
  for (const r of rows) {
    if (r.length !== header.length) throw new Error(`table row has ${r.length} cells, header has ${header.length}`);
  }
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}
