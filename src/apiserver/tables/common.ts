/**
 * Shared pieces of server-side printing: the meta.k8s.io/v1 Table types, kube's
 * `duration.HumanDuration`, timestamp helpers and column builders used by every kind's printer.
 *
 * kube-apiserver always prints with Wide=true (priority-1 columns included, nothing clipped);
 * kubectl hides priority-1 columns unless `-o wide`. Our printers follow that contract: every
 * row has exactly one cell per column definition.
 */

export interface TableColumnDefinition {
  name: string;
  type: string;
  format: string;
  description: string;
  priority: number;
}

export interface TableRowCondition {
  type: string;
  status: string;
  reason?: string;
  message?: string;
}

export type Obj = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

/** One kind's printer: its columns and a row function returning one cell per column. */
export interface Printer {
  columns: TableColumnDefinition[];
  row(obj: Obj, now: Date): unknown[];
  /** Row conditions (pods: Completed for Succeeded/Failed). */
  conditions?(obj: Obj): TableRowCondition[] | undefined;
}

/** Column constructor; `priority` 1 marks a wide-only column. */
export function col(name: string, type: string, description: string, opts: { format?: string; priority?: number } = {}): TableColumnDefinition {
  return { name, type, format: opts.format ?? '', description, priority: opts.priority ?? 0 };
}

export const NAME_DESC =
  'Name of the object, unique within its namespace (or cluster for cluster-scoped kinds); set by the client or generated from generateName.';
export const AGE_DESC = 'Time since the object was created (server time at creation, RFC 3339, UTC).';

export const nameCol = (): TableColumnDefinition => col('Name', 'string', NAME_DESC, { format: 'name' });
export const ageCol = (): TableColumnDefinition => col('Age', 'string', AGE_DESC);
export const containersCol = (): TableColumnDefinition => col('Containers', 'string', 'Names of the containers in the pod template.', { priority: 1 });
export const imagesCol = (): TableColumnDefinition => col('Images', 'string', 'Images used by the containers in the pod template.', { priority: 1 });

/**
 * duration.HumanDuration: ~2–3 significant figures, e.g. `45s`, `3m20s`, `12m`, `5h3m`, `30h`,
 * `2d5h`, `20d`, `2y30d`, `9y`. Up to 1s in the future prints `0s`; further is `<invalid>`.
 */
export function humanDuration(ms: number): string {
  const seconds = Math.trunc(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.trunc(ms / 60_000);
  if (minutes < 10) {
    const s = seconds % 60;
    return s === 0 ? `${minutes}m` : `${minutes}m${s}s`;
  }
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.trunc(ms / 3_600_000);
  if (hours < 8) {
    const m = minutes % 60;
    return m === 0 ? `${hours}h` : `${hours}h${m}m`;
  }
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) {
    const h = hours % 24;
    return h === 0 ? `${Math.trunc(hours / 24)}d` : `${Math.trunc(hours / 24)}d${h}h`;
  }
  if (hours < 24 * 365 * 2) return `${Math.trunc(hours / 24)}d`;
  if (hours < 24 * 365 * 8) {
    const dy = Math.trunc(hours / 24) % 365;
    const y = Math.trunc(hours / 24 / 365);
    return dy === 0 ? `${y}y` : `${y}y${dy}d`;
  }
  return `${Math.trunc(hours / 24 / 365)}y`;
}

/** Milliseconds of an RFC 3339 timestamp, or undefined when absent/zero (Go's IsZero). */
export function parseTime(ts: unknown): number | undefined {
  if (typeof ts !== 'string' || ts === '') return undefined;
  const t = Date.parse(ts);
  if (Number.isNaN(t)) return undefined;
  if (t === Date.parse('0001-01-01T00:00:00Z')) return undefined;
  return t;
}

/** translateTimestampSince: `<unknown>` for a zero time, else the human age at `now`. */
export function since(ts: unknown, now: Date): string {
  const t = parseTime(ts);
  return t === undefined ? '<unknown>' : humanDuration(now.getTime() - t);
}

/** The AGE cell every printer ends with. */
export function age(obj: Obj, now: Date): string {
  return since(obj.metadata?.creationTimestamp, now);
}

export function nameOf(obj: Obj): string {
  return typeof obj.metadata?.name === 'string' ? obj.metadata.name : '';
}

export function str(v: unknown): string {
  return typeof v === 'string' ? v : v == null ? '' : String(v);
}

export function int(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) ? Math.trunc(v) : 0;
}

/** layoutContainerCells: container names and images, comma-joined. */
export function containerCells(containers: unknown): [string, string] {
  const list: Obj[] = Array.isArray(containers) ? containers : [];
  return [list.map((c) => str(c?.name)).join(','), list.map((c) => str(c?.image)).join(',')];
}

/** IntOrString.String(): numbers in decimal, strings as-is. */
export function intOrString(v: unknown): string {
  return typeof v === 'number' ? String(Math.trunc(v)) : str(v);
}

/** listWithMoreString: first `max` items then ` + N more...`; `<unset>` when empty. */
export function listWithMore(list: string[], more: boolean, count: number, max: number): string {
  const ret = list.join(',');
  if (more) return `${ret} + ${count - max} more...`;
  return ret === '' ? '<unset>' : ret;
}

/** Sorted, de-duplicated load-balancer ingress IPs or hostnames (never clipped server-side). */
export function loadBalancerString(status: Obj | undefined): string {
  const set = new Set<string>();
  for (const ing of (status?.ingress as Obj[] | undefined) ?? []) {
    if (ing?.ip) set.add(str(ing.ip));
    else if (ing?.hostname) set.add(str(ing.hostname));
  }
  return [...set].sort().join(',');
}
