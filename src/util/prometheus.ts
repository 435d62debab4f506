/**
 * A small Prometheus metrics registry: counters, gauges and histograms with labels, rendered
 * in the text exposition format 0.0.4 the way Go's client_golang (and so every Kubernetes
 * component) writes it — families sorted by name, series sorted by label values, labels
 * sorted by name, `le` last, numbers formatted like Go's `strconv.FormatFloat(v, 'g', -1, 64)`.
 * Matching that byte for byte lets golden tests compare our `/metrics` against kube's.
 *
 * Contract: a metric without label names always renders one series (starting at 0); a metric
 * with label names renders only the label combinations that were touched (a Go "Vec"), and a
 * family with no series is left out entirely, HELP and TYPE included, as client_golang does.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';

export type Labels = Readonly<Record<string, string>>;

/** The Content-Type of the text format. */
export const CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8';

/** client_golang's (and component-base's) DefBuckets. */
export const DEFAULT_BUCKETS: readonly number[] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** `count` buckets: start, start*factor, ... (computed by repeated multiplication, as Go does, so floats match). */
export function exponentialBuckets(start: number, factor: number, count: number): number[] {
  if (count < 1 || start <= 0 || factor <= 1) throw new Error('exponentialBuckets: need count >= 1, start > 0, factor > 1');
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v *= factor) out.push(v);
  return out;
}

/** `count` buckets: start, start+width, ... (repeated addition, as Go does). */
export function linearBuckets(start: number, width: number, count: number): number[] {
  if (count < 1 || width <= 0) throw new Error('linearBuckets: need count >= 1, width > 0');
  const out: number[] = [];
  for (let i = 0, v = start; i < count; i++, v += width) out.push(v);
  return out;
}

/**
 * A number as Go's FormatFloat(v, 'g', -1, 64): shortest round-trip digits; exponent form when
 * the decimal exponent is < -4 or >= 6 (Go's rule for shortest 'g'), with at least two exponent
 * digits (`1e+06`, `1.5e-05`, `1.700000000123e+09`); `+Inf`, `-Inf`, `NaN`.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (v === Infinity) return '+Inf';
  if (v === -Infinity) return '-Inf';
  if (v === 0) return Object.is(v, -0) ? '-0' : '0';
  const [mant, expStr] = v.toExponential().split('e');
  const exp = Number(expStr);
  if (exp < -4 || exp >= 6) {
    const sign = exp < 0 ? '-' : '+';
    const digits = String(Math.abs(exp)).padStart(2, '0');
    return `${mant}e${sign}${digits}`;
  }
  // Plain decimal notation: JS's String() is shortest round-trip and plain in this range.
  return String(v);
}

/** Escapes a label value: backslash, double quote and newline. */
export function escapeLabelValue(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');
}

/** Escapes HELP text: backslash and newline only. */
export function escapeHelp(v: string): string {
  return v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n');
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

export interface MetricOptions {
  name: string;
  help: string;
  /** Label names every observation must supply (exactly these). */
  labelNames?: readonly string[];
}

export interface HistogramOptions extends MetricOptions {
  /** Upper bounds, strictly increasing, without +Inf (added implicitly). Default DEFAULT_BUCKETS. */
  buckets?: readonly number[];
}

type MetricType = 'counter' | 'gauge' | 'histogram';

/** Shared series bookkeeping: label validation and a stable key per label combination. */
abstract class Metric<S> {
  readonly name: string;
  readonly help: string;
  readonly labelNames: readonly string[];
  abstract readonly type: MetricType;
  protected readonly series = new Map<string, { labels: string[]; state: S }>();

  constructor(opts: MetricOptions) {
    if (!METRIC_NAME.test(opts.name)) throw new Error(`invalid metric name ${JSON.stringify(opts.name)}`);
    const names = opts.labelNames ?? [];
    for (const l of names) {
      if (!LABEL_NAME.test(l) || l.startsWith('__')) throw new Error(`invalid label name ${JSON.stringify(l)} on ${opts.name}`);
    }
    if (new Set(names).size !== names.length) throw new Error(`duplicate label names on ${opts.name}`);
    this.name = opts.name;
    this.help = opts.help;
    this.labelNames = [...names];
  }

  protected abstract initial(): S;

  /** The series state for these labels, created on first use; throws on a wrong label set. */
  protected stateFor(labels: Labels | undefined): S {
    const given = labels ?? {};
    const keys = Object.keys(given);
    if (keys.length !== this.labelNames.length || this.labelNames.some((l) => !(l in given))) {
      throw new Error(`${this.name}: labels ${JSON.stringify(keys)} do not match ${JSON.stringify(this.labelNames)}`);
    }
    const values = this.labelNames.map((l) => String(given[l]));
    const key = JSON.stringify(values);
    let s = this.series.get(key);
    if (!s) {
      s = { labels: values, state: this.initial() };
      this.series.set(key, s);
    }
    return s.state;
  }

  /** Drops every labelled series (e.g. a gauge recounted from scratch each sync); unlabelled metrics reset to 0. */
  reset(): void {
    this.series.clear();
  }

  /** Series in client_golang's order: by label values, in label-name order. */
  protected sortedSeries(): { labels: string[]; state: S }[] {
    return [...this.series.values()].sort((a, b) => {
      for (let i = 0; i < a.labels.length; i++) {
        if (a.labels[i] !== b.labels[i]) return a.labels[i] < b.labels[i] ? -1 : 1;
      }
      return 0;
    });
  }

  /** `{a="x",b="y"}` (labels sorted by name, extra pairs appended), or '' for none. */
  protected labelText(values: string[], extra: [string, string][] = []): string {
    const pairs = this.labelNames.map((n, i): [string, string] => [n, values[i]]).sort((x, y) => (x[0] < y[0] ? -1 : x[0] > y[0] ? 1 : 0));
    const all = [...pairs, ...extra];
    if (all.length === 0) return '';
    return `{${all.map(([n, v]) => `${n}="${escapeLabelValue(v)}"`).join(',')}}`;
  }

  protected abstract sampleLines(): string[];

  /** The family's text, or '' when it has no series. */
  render(): string {
    if (this.labelNames.length === 0) this.stateFor(undefined);
    if (this.series.size === 0) return '';
    const head = `# HELP ${this.name} ${escapeHelp(this.help)}\n# TYPE ${this.name} ${this.type}\n`;
    return head + this.sampleLines().map((l) => `${l}\n`).join('');
  }
}

interface ValueState {
  value: number;
}

/** A monotonically increasing count. */
export class Counter extends Metric<ValueState> {
  readonly type = 'counter' as const;

  protected initial(): ValueState {
    return { value: 0 };
  }

  /** Adds `by` (default 1; must be >= 0: a counter never goes down). */
  inc(by = 1, labels?: Labels): void {
    if (!(by >= 0)) throw new Error(`${this.name}: counter increment must be >= 0, got ${by}`);
    this.stateFor(labels).value += by;
  }

  get(labels?: Labels): number {
    return this.stateFor(labels).value;
  }

  /**
   * One series resolved once, for hot paths that would otherwise pay the label check and key
   * building on every increment. Valid until `reset()` (which drops the series it points at).
   */
  child(labels?: Labels): { inc(by?: number): void } {
    const state = this.stateFor(labels);
    const name = this.name;
    return {
      inc(by = 1): void {
        if (!(by >= 0)) throw new Error(`${name}: counter increment must be >= 0, got ${by}`);
        state.value += by;
      },
    };
  }

  protected sampleLines(): string[] {
    return this.sortedSeries().map((s) => `${this.name}${this.labelText(s.labels)} ${formatValue(s.state.value)}`);
  }
}

/** A value that goes up and down. */
export class Gauge extends Metric<ValueState> {
  readonly type = 'gauge' as const;

  protected initial(): ValueState {
    return { value: 0 };
  }

  set(value: number, labels?: Labels): void {
    this.stateFor(labels).value = value;
  }

  inc(by = 1, labels?: Labels): void {
    this.stateFor(labels).value += by;
  }

  dec(by = 1, labels?: Labels): void {
    this.stateFor(labels).value -= by;
  }

  /** Sets the gauge to a time as Unix seconds (fractional), as Go's SetToCurrentTime. */
  setToTime(t: Date, labels?: Labels): void {
    this.set(t.getTime() / 1000, labels);
  }

  get(labels?: Labels): number {
    return this.stateFor(labels).value;
  }

  protected sampleLines(): string[] {
    return this.sortedSeries().map((s) => `${this.name}${this.labelText(s.labels)} ${formatValue(s.state.value)}`);
  }
}

interface HistogramState {
  /** Non-cumulative count per bucket; index buckets.length is the +Inf overflow. */
  counts: number[];
  sum: number;
  count: number;
}

export interface HistogramSnapshot {
  /** Cumulative counts, one per upper bound, then +Inf. */
  cumulative: number[];
  sum: number;
  count: number;
}

/** Observations counted into cumulative `le` buckets, plus their sum and count. */
export class Histogram extends Metric<HistogramState> {
  readonly type = 'histogram' as const;
  readonly buckets: readonly number[];

  constructor(opts: HistogramOptions) {
    const buckets = [...(opts.buckets ?? DEFAULT_BUCKETS)];
    if (buckets.length && buckets[buckets.length - 1] === Infinity) buckets.pop();
    for (let i = 1; i < buckets.length; i++) {
      if (!(buckets[i] > buckets[i - 1])) throw new Error(`${opts.name}: histogram buckets must be strictly increasing`);
    }
    if ((opts.labelNames ?? []).includes('le')) throw new Error(`${opts.name}: "le" is reserved for histogram buckets`);
    super(opts);
    this.buckets = buckets;
  }

  protected initial(): HistogramState {
    return { counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
  }

  observe(value: number, labels?: Labels): void {
    this.record(this.stateFor(labels), value);
  }

  /** One series resolved once (see Counter.child); valid until `reset()`. */
  child(labels?: Labels): { observe(value: number): void } {
    const state = this.stateFor(labels);
    return { observe: (value: number): void => this.record(state, value) };
  }

  private record(s: HistogramState, value: number): void {
    const b = this.buckets;
    let i = 0;
    while (i < b.length && !(value <= b[i]!)) i++;
    s.counts[i]++;
    s.sum += value;
    s.count++;
  }

  /**
   * Adds observations made elsewhere (another process) with the same buckets: non-cumulative
   * `counts` (one per bucket, then +Inf), their sum and count. Throws on a bucket count mismatch.
   */
  merge(delta: { counts: readonly number[]; sum: number; count: number }, labels?: Labels): void {
    if (delta.counts.length !== this.buckets.length + 1) throw new Error(`${this.name}: merged histogram has ${delta.counts.length - 1} buckets, not ${this.buckets.length}`);
    const s = this.stateFor(labels);
    for (let i = 0; i < delta.counts.length; i++) s.counts[i]! += delta.counts[i]!;
    s.sum += delta.sum;
    s.count += delta.count;
  }

  snapshot(labels?: Labels): HistogramSnapshot {
    const s = this.stateFor(labels);
    let acc = 0;
    return { cumulative: s.counts.map((c) => (acc += c)), sum: s.sum, count: s.count };
  }

  protected sampleLines(): string[] {
    const out: string[] = [];
    for (const s of this.sortedSeries()) {
      let acc = 0;
      this.buckets.forEach((b, i) => {
        acc += s.state.counts[i];
        out.push(`${this.name}_bucket${this.labelText(s.labels, [['le', formatValue(b)]])} ${formatValue(acc)}`);
      });
      out.push(`${this.name}_bucket${this.labelText(s.labels, [['le', '+Inf']])} ${formatValue(s.state.count)}`);
      out.push(`${this.name}_sum${this.labelText(s.labels)} ${formatValue(s.state.sum)}`);
      out.push(`${this.name}_count${this.labelText(s.labels)} ${formatValue(s.state.count)}`);
    }
    return out;
  }
}

/** A set of uniquely named metrics, rendered together. */
export class Registry {
  private readonly metrics = new Map<string, Counter | Gauge | Histogram>();

  counter(opts: MetricOptions): Counter {
    return this.add(new Counter(opts));
  }

  gauge(opts: MetricOptions): Gauge {
    return this.add(new Gauge(opts));
  }

  histogram(opts: HistogramOptions): Histogram {
    return this.add(new Histogram(opts));
  }

  get(name: string): Counter | Gauge | Histogram | undefined {
    return this.metrics.get(name);
  }

  /** The whole exposition, families sorted by name. */
  render(): string {
    return [...this.metrics.keys()].sort().map((n) => this.metrics.get(n)!.render()).join('');
  }

  private add<M extends Counter | Gauge | Histogram>(m: M): M {
    // Histograms own name_bucket/_sum/_count; reject clashes so the output stays parseable.
    const owned = (x: Counter | Gauge | Histogram): string[] =>
      x.type === 'histogram' ? [x.name, `${x.name}_bucket`, `${x.name}_sum`, `${x.name}_count`] : [x.name];
    const taken = new Set([...this.metrics.values()].flatMap(owned));
    if (owned(m).some((n) => taken.has(n))) throw new Error(`metric ${m.name} already registered`);
    this.metrics.set(m.name, m);
    return m;
  }
}

/** An HTTP handler serving `registries` (rendered in order, e.g. proxy then process metrics) on GET/HEAD. */
export function metricsHandler(...registries: Registry[]): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { Allow: 'GET, HEAD', 'Content-Type': 'text/plain; charset=utf-8' });
      res.end('method not allowed\n');
      return;
    }
    const body = registries.map((r) => r.render()).join('');
    res.writeHead(200, { 'Content-Type': CONTENT_TYPE, 'Content-Length': Buffer.byteLength(body) });
    res.end(req.method === 'HEAD' ? undefined : body);
  };
}

/**
 * A small HTTP listener for a component's `/metrics` plus plain health paths answering 200
 * with `healthBody` (CoreDNS's `/health` says "OK", ingress-nginx's `/healthz` "ok"); anything
 * else is 404. Resolves once listening; rejects with the bind error (EADDRINUSE, EACCES...).
 */
export function listenMetricsServer(
  host: string,
  port: number,
  opts: { registries: Registry[]; healthPaths: string[]; healthBody: string },
): Promise<Server> {
  const metrics = metricsHandler(...opts.registries);
  const srv = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path === '/metrics') return metrics(req, res);
    if (opts.healthPaths.includes(path ?? '')) {
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
      res.end(opts.healthBody);
      return;
    }
    res.writeHead(404, { 'Content-Type': 'text/plain; charset=utf-8' });
    res.end('404 page not found\n');
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, host, () => {
      srv.off('error', reject);
      resolve(srv);
    });
  });
}
