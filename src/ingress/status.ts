/**
 * Ingress status and the controller's event bookkeeping, as pure functions (compute, then apply:
 * controller.ts only writes what these return).
 *
 * Status: every Ingress we serve shows the data-plane Service's `status.loadBalancer.ingress`
 * (ingress-nginx's `--publish-service`), converted to the Ingress's own type (ip, hostname,
 * ports; Services also carry `ipMode`, which Ingresses do not have). An Ingress we no longer
 * serve has its status cleared, but only when it shows our address (or we wrote it earlier in
 * this process): another controller's status is never ours to erase.
 */
import type { KObject } from '../api/types.js';
import type { Conflict, IngressRef, RoutingTable } from './types.js';

/** One entry of an Ingress's `status.loadBalancer.ingress` (networking/v1 IngressLoadBalancerIngress). */
export interface IngressLBIngress {
  ip?: string;
  hostname?: string;
  ports?: { port: number; protocol: string; error?: string }[];
}

interface LBView {
  status?: { loadBalancer?: { ingress?: unknown } };
}

function entries(obj: KObject | undefined): Record<string, unknown>[] {
  const list = (obj as LBView | undefined)?.status?.loadBalancer?.ingress;
  return Array.isArray(list) ? list.filter((e): e is Record<string, unknown> => typeof e === 'object' && e !== null) : [];
}

/** The Ingress status entries for a data-plane Service (empty while it has no address, or is missing). */
export function ingressStatusFromService(svc: KObject | undefined): IngressLBIngress[] {
  const out: IngressLBIngress[] = [];
  for (const e of entries(svc)) {
    const item: IngressLBIngress = {};
    if (typeof e.ip === 'string' && e.ip !== '') item.ip = e.ip;
    if (typeof e.hostname === 'string' && e.hostname !== '') item.hostname = e.hostname;
    if (Array.isArray(e.ports) && e.ports.length) {
      item.ports = (e.ports as Record<string, unknown>[]).map((p) => ({
        port: Number(p.port),
        protocol: String(p.protocol ?? 'TCP'),
        ...(typeof p.error === 'string' ? { error: p.error } : {}),
      }));
    }
    if (item.ip !== undefined || item.hostname !== undefined) out.push(item);
  }
  return out;
}

function norm(list: IngressLBIngress[]): string {
  return JSON.stringify(list.map((i) => [i.ip ?? '', i.hostname ?? '', (i.ports ?? []).map((p) => [p.port, p.protocol, p.error ?? ''])]));
}

/** The Ingress's current `status.loadBalancer.ingress` in our normalized shape. */
export function currentIngressStatus(ing: KObject): IngressLBIngress[] {
  return ingressStatusFromService(ing);
}

/** True when `ing` already shows exactly `want` (entry order matters, as it does for kubectl's ADDRESS column). */
export function ingressStatusEquals(ing: KObject, want: IngressLBIngress[]): boolean {
  return norm(currentIngressStatus(ing)) === norm(want);
}

/** The status write for one Ingress, or undefined when nothing must change. */
export function decideIngressStatus(
  ing: KObject,
  o: { served: boolean; published: IngressLBIngress[]; wroteBefore: boolean },
): IngressLBIngress[] | undefined {
  if (o.served) return ingressStatusEquals(ing, o.published) ? undefined : o.published;
  const current = currentIngressStatus(ing);
  if (current.length === 0) return undefined;
  const showsOurs = o.published.length > 0 && norm(current) === norm(o.published);
  return showsOurs || o.wroteBefore ? [] : undefined;
}

/** `namespace/name` of an Ingress reference. */
export function refKey(ref: { namespace: string; name: string }): string {
  return `${ref.namespace}/${ref.name}`;
}

/** Every Ingress the table mentions (route and canary owners, conflict parties, warnings), by uid. */
export function ingressesInTable(table: RoutingTable): Map<string, IngressRef> {
  const out = new Map<string, IngressRef>();
  const add = (r: IngressRef | undefined): void => {
    if (r && !out.has(r.uid)) out.set(r.uid, r);
  };
  for (const h of table.hosts.values()) for (const r of h.routes) add(r.source);
  for (const c of table.conflicts) {
    add(c.winner);
    add(c.loser);
  }
  for (const w of table.warnings) add(w.ingress);
  return out;
}

/** An event the controller should emit, with the identity that makes it "already reported". */
export interface PlannedEvent {
  /** Dedup key: the same key is reported once while it keeps appearing. */
  key: string;
  ingress: IngressRef;
  type: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

export function conflictMessage(c: Conflict): string {
  const host = c.host === '' ? '*' : c.host;
  return `path ${c.path} (${c.pathType}) on host ${host} is already served by older Ingress ${refKey(c.winner)}; this rule of ${refKey(c.loser)} is ignored`;
}

/** Conflict and warning events for a table (Warning events; dedup keys include the loser's uid). */
export function tableEvents(table: RoutingTable): PlannedEvent[] {
  const out: PlannedEvent[] = [];
  for (const c of table.conflicts) {
    const message = conflictMessage(c);
    out.push({ key: `conflict\u0000${c.loser.uid}\u0000${c.winner.uid}\u0000${c.host}\u0000${c.path}\u0000${c.pathType}`, ingress: c.loser, type: 'Warning', reason: 'Conflict', message });
  }
  for (const w of table.warnings) {
    out.push({ key: `warning\u0000${w.ingress.uid}\u0000${w.reason}\u0000${w.message}`, ingress: w.ingress, type: 'Warning', reason: w.reason, message: w.message });
  }
  return out;
}

/**
 * Which planned events are new since `reported` (the keys reported before), and the key set to
 * keep: a condition that went away and comes back is reported again.
 */
export function newEvents(planned: PlannedEvent[], reported: ReadonlySet<string>): { emit: PlannedEvent[]; keep: Set<string> } {
  const keep = new Set<string>();
  const emit: PlannedEvent[] = [];
  for (const e of planned) {
    if (keep.has(e.key)) continue;
    keep.add(e.key);
    if (!reported.has(e.key)) emit.push(e);
  }
  return { emit, keep };
}
