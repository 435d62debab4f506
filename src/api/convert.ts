/**
 * Version conversion for the kinds that kubelite serves in more than one shape:
 *
 * - HorizontalPodAutoscaler: stored as autoscaling/v2, also served as autoscaling/v1. v1 can only
 *   say "target CPU utilization"; every other v2 field (other metrics, current metrics, behavior,
 *   conditions) travels in `autoscaling.alpha.kubernetes.io/*` annotations, so a v1 client that
 *   reads an object and writes it back loses nothing. The annotation payloads use the same JSON
 *   as kube-apiserver (including the legacy v2beta1-style metric shapes and the behavior encoded
 *   with Go field names), so objects round-trip between kubelite and real clusters alike.
 * - Event: stored as core/v1, also served as events.k8s.io/v1 (renamed fields only).
 *
 * Contract: `convert` never mutates its input. It returns the input itself when no conversion
 * applies (same apiVersion, or a kind/version pair it does not know), else a fresh object.
 * Lists (`<Kind>List` with `items`) are converted item by item. Conversion works on plain JSON
 * and keeps field values verbatim (quantities are not re-canonicalised).
 */

type Json = Record<string, unknown>;

export const HPA_V1 = 'autoscaling/v1';
export const HPA_V2 = 'autoscaling/v2';
export const EVENTS_V1 = 'events.k8s.io/v1';
export const CORE_V1 = 'v1';

/** Annotations kube-apiserver uses to carry v2-only HPA fields through autoscaling/v1. */
export const HPA_ANNOTATIONS = {
  metrics: 'autoscaling.alpha.kubernetes.io/metrics',
  currentMetrics: 'autoscaling.alpha.kubernetes.io/current-metrics',
  conditions: 'autoscaling.alpha.kubernetes.io/conditions',
  behavior: 'autoscaling.alpha.kubernetes.io/behavior',
  scaleDownTolerance: 'autoscaling.alpha.kubernetes.io/scale-down-tolerance',
  scaleUpTolerance: 'autoscaling.alpha.kubernetes.io/scale-up-tolerance',
} as const;

/** v1 formerly defaulted to this CPU target in the controller; conversion now makes it explicit. */
export const DEFAULT_CPU_UTILIZATION = 80;

/**
 * Converts `obj` to `toApiVersion` when it is an HPA (autoscaling v1 <-> v2) or an Event
 * (core v1 <-> events.k8s.io/v1), or a list of those; returns `obj` unchanged otherwise.
 */
export function convert(obj: object, toApiVersion: string): object {
  const o = obj as Json;
  const from = o.apiVersion;
  if (typeof from !== 'string' || from === toApiVersion) return obj;
  const kind = typeof o.kind === 'string' ? o.kind : '';
  if (kind.endsWith('List') && Array.isArray(o.items)) {
    const itemKind = kind.slice(0, -'List'.length);
    const conv = converterFor(itemKind, from, toApiVersion);
    if (!conv) return obj;
    const items = (o.items as unknown[]).map((it) => (isObj(it) ? convertItem(it, itemKind, from, conv) : it));
    return { ...o, apiVersion: toApiVersion, items };
  }
  const conv = converterFor(kind, from, toApiVersion);
  return conv ? conv(o) : obj;
}

/** List items may omit kind/apiVersion (kube's typed lists do); they stay omitted after conversion. */
function convertItem(it: Json, kind: string, from: string, conv: (o: Json) => Json): Json {
  const out = conv({ ...it, kind, apiVersion: from });
  if (!('kind' in it)) delete out.kind;
  if (!('apiVersion' in it)) delete out.apiVersion;
  return out;
}

function converterFor(kind: string, from: string, to: string): ((o: Json) => Json) | undefined {
  if (kind === 'HorizontalPodAutoscaler') {
    if (from === HPA_V2 && to === HPA_V1) return hpaV2ToV1;
    if (from === HPA_V1 && to === HPA_V2) return hpaV1ToV2;
  }
  if (kind === 'Event') {
    if (from === CORE_V1 && to === EVENTS_V1) return coreEventToEventsV1;
    if (from === EVENTS_V1 && to === CORE_V1) return eventsV1ToCoreEvent;
  }
  return undefined;
}

// ---------------------------------------------------------------------------------------------
// Events

/** [core/v1 name, events.k8s.io/v1 name]; every other field keeps its name. */
const EVENT_RENAMES: [string, string][] = [
  ['involvedObject', 'regarding'],
  ['message', 'note'],
  ['source', 'deprecatedSource'],
  ['firstTimestamp', 'deprecatedFirstTimestamp'],
  ['lastTimestamp', 'deprecatedLastTimestamp'],
  ['count', 'deprecatedCount'],
  ['reportingComponent', 'reportingController'],
];
const EVENT_SHARED = ['metadata', 'eventTime', 'series', 'action', 'reason', 'related', 'type', 'reportingInstance'];

function renameEvent(o: Json, toApiVersion: string, fromIdx: 0 | 1): Json {
  const out: Json = { kind: 'Event', apiVersion: toApiVersion };
  for (const k of EVENT_SHARED) if (k in o) out[k] = clone(o[k]);
  for (const pair of EVENT_RENAMES) {
    const src = pair[fromIdx];
    if (src in o) out[pair[1 - fromIdx]] = clone(o[src]);
  }
  return out;
}

function coreEventToEventsV1(o: Json): Json {
  return renameEvent(o, EVENTS_V1, 0);
}

function eventsV1ToCoreEvent(o: Json): Json {
  return renameEvent(o, CORE_V1, 1);
}

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler: autoscaling/v2 -> autoscaling/v1

function hpaV2ToV1(o: Json): Json {
  const spec = objAt(o, 'spec');
  const status = objAt(o, 'status');
  const metrics = arrAt(spec, 'metrics');
  const currentMetrics = arrAt(status, 'currentMetrics');
  const conditions = arrAt(status, 'conditions');

  const outSpec: Json = { scaleTargetRef: crossRef(objAt(spec, 'scaleTargetRef')) };
  copy(spec, outSpec, 'minReplicas');
  outSpec.maxReplicas = spec.maxReplicas ?? 0;
  // Only the first CPU resource metric counts, and only when it targets utilization.
  const cpu = metrics.find(isCpuResource);
  const cpuTarget = cpu ? objAt(objAt(cpu, 'resource'), 'target').averageUtilization : undefined;
  if (cpuTarget !== undefined && cpuTarget !== null) outSpec.targetCPUUtilizationPercentage = cpuTarget;

  const outStatus: Json = {};
  copy(status, outStatus, 'observedGeneration');
  copy(status, outStatus, 'lastScaleTime');
  outStatus.currentReplicas = status.currentReplicas ?? 0;
  outStatus.desiredReplicas = status.desiredReplicas ?? 0;
  // Every CPU status with a utilization overwrites the previous one: the last wins.
  for (const m of currentMetrics) {
    if (!isCpuResource(m)) continue;
    const u = objAt(objAt(m, 'resource'), 'current').averageUtilization;
    if (u !== undefined && u !== null) outStatus.currentCPUUtilizationPercentage = u;
  }

  const metadata = clone(objAt(o, 'metadata'));
  const extra: Record<string, string> = {};
  const otherMetrics = metrics.filter((m) => !isCpuUtilization(m)).map(metricSpecToLegacy);
  if (otherMetrics.length > 0) extra[HPA_ANNOTATIONS.metrics] = JSON.stringify(otherMetrics);
  if (currentMetrics.length > 0) extra[HPA_ANNOTATIONS.currentMetrics] = JSON.stringify(currentMetrics.map(metricStatusToLegacy));
  if (isObj(spec.behavior)) extra[HPA_ANNOTATIONS.behavior] = JSON.stringify(behaviorToGo(spec.behavior));
  if (conditions.length > 0) extra[HPA_ANNOTATIONS.conditions] = JSON.stringify(conditions);
  // Stale round-trip annotations (e.g. set by a v2 writer) must never leak into v1 output.
  setAnnotations(metadata, { ...withoutRoundTrip(metadata), ...extra });

  const out: Json = { kind: o.kind, apiVersion: HPA_V1 };
  if (o.metadata !== undefined || Object.keys(metadata).length > 0) out.metadata = metadata;
  out.spec = outSpec;
  out.status = outStatus;
  return out;
}

// ---------------------------------------------------------------------------------------------
// HorizontalPodAutoscaler: autoscaling/v1 -> autoscaling/v2

function hpaV1ToV2(o: Json): Json {
  const spec = objAt(o, 'spec');
  const status = objAt(o, 'status');
  const metadata = clone(objAt(o, 'metadata'));
  const ann = objAt(metadata, 'annotations');

  const outSpec: Json = { scaleTargetRef: crossRef(objAt(spec, 'scaleTargetRef')) };
  copy(spec, outSpec, 'minReplicas');
  outSpec.maxReplicas = spec.maxReplicas ?? 0;
  let metrics: Json[] = [];
  if (spec.targetCPUUtilizationPercentage !== undefined && spec.targetCPUUtilizationPercentage !== null) {
    metrics.push(cpuUtilizationMetric(spec.targetCPUUtilizationPercentage));
  }
  const other = parseArray(ann[HPA_ANNOTATIONS.metrics]);
  // The annotated metrics come first; the one derived from targetCPU goes last.
  if (other) metrics = [...other.map(metricSpecFromLegacy), ...metrics];
  if (metrics.length === 0) metrics.push(cpuUtilizationMetric(DEFAULT_CPU_UTILIZATION));
  outSpec.metrics = metrics;
  const behavior = behaviorFromGo(ann[HPA_ANNOTATIONS.behavior]);
  if (behavior) outSpec.behavior = behavior;

  const outStatus: Json = {};
  copy(status, outStatus, 'observedGeneration');
  copy(status, outStatus, 'lastScaleTime');
  // v2 omits a zero currentReplicas; desiredReplicas is always written.
  if (status.currentReplicas !== undefined && status.currentReplicas !== 0) outStatus.currentReplicas = status.currentReplicas;
  outStatus.desiredReplicas = status.desiredReplicas ?? 0;
  const pct = status.currentCPUUtilizationPercentage;
  if (pct !== undefined && pct !== null) {
    outStatus.currentMetrics = [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: pct } } }];
  }
  // The annotated statuses carry more information than the single percentage: they win.
  const current = parseArray(ann[HPA_ANNOTATIONS.currentMetrics]);
  if (current) outStatus.currentMetrics = current.map(metricStatusFromLegacy);
  const conditions = parseArray(ann[HPA_ANNOTATIONS.conditions]);
  if (conditions) outStatus.conditions = conditions;

  setAnnotations(metadata, withoutRoundTrip(metadata));
  const out: Json = { kind: o.kind, apiVersion: HPA_V2 };
  if (o.metadata !== undefined) out.metadata = metadata;
  out.spec = outSpec;
  out.status = outStatus;
  return out;
}

function cpuUtilizationMetric(pct: unknown): Json {
  return { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: pct } } };
}

function isCpuResource(m: Json): boolean {
  return m.type === 'Resource' && isObj(m.resource) && m.resource.name === 'cpu';
}

function isCpuUtilization(m: Json): boolean {
  if (!isCpuResource(m)) return false;
  const u = objAt(objAt(m, 'resource'), 'target').averageUtilization;
  return u !== undefined && u !== null;
}

/** v1's CrossVersionObjectReference: kind and name always written, apiVersion when set. */
function crossRef(r: Json): Json {
  const out: Json = { kind: r.kind ?? '', name: r.name ?? '' };
  if (r.apiVersion !== undefined && r.apiVersion !== '') out.apiVersion = r.apiVersion;
  return out;
}

/** The metric's identifier as legacy fields: metricName plus the selector under `selKey`. */
function legacyIdent(src: Json, selKey: string): Json {
  const metric = objAt(src, 'metric');
  const out: Json = { metricName: metric.name ?? '' };
  if (isObj(metric.selector)) out[selKey] = clone(metric.selector);
  return out;
}

function ident(src: Json, selKey: string): Json {
  const out: Json = { name: src.metricName ?? '' };
  if (isObj(src[selKey])) out.selector = clone(src[selKey]);
  return out;
}

/** A non-pointer Go Quantity: the zero value is written as "0". */
const qty = (v: unknown): unknown => (v === undefined || v === null ? '0' : v);

function metricSpecToLegacy(m: Json): Json {
  const out: Json = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const t = objAt(m.object, 'target');
    const v: Json = { target: crossRef(objAt(m.object, 'describedObject')), ...legacyIdent(m.object, 'selector') };
    v.targetValue = qty(t.value);
    copy(t, v, 'averageValue');
    out.object = v;
  }
  if (isObj(m.pods)) {
    out.pods = { ...legacyIdent(m.pods, 'selector'), targetAverageValue: qty(objAt(m.pods, 'target').averageValue) };
  }
  for (const key of ['resource', 'containerResource']) {
    const r = m[key];
    if (!isObj(r)) continue;
    const t = objAt(r, 'target');
    const v: Json = { name: r.name ?? '' };
    copy(t, v, 'averageUtilization', 'targetAverageUtilization');
    copy(t, v, 'averageValue', 'targetAverageValue');
    if (key === 'containerResource') v.container = r.container ?? '';
    out[key] = v;
  }
  if (isObj(m.external)) {
    const t = objAt(m.external, 'target');
    const v = legacyIdent(m.external, 'metricSelector');
    copy(t, v, 'value', 'targetValue');
    copy(t, v, 'averageValue', 'targetAverageValue');
    out.external = v;
  }
  return out;
}

function metricSpecFromLegacy(m: Json): Json {
  const out: Json = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const o = m.object;
    const target: Json = { type: o.averageValue == null ? 'Value' : 'AverageValue', value: qty(o.targetValue) };
    copy(o, target, 'averageValue');
    out.object = { describedObject: crossRef(objAt(o, 'target')), metric: ident(o, 'selector'), target };
  }
  if (isObj(m.pods)) {
    out.pods = {
      metric: ident(m.pods, 'selector'),
      target: { type: 'AverageValue', averageValue: qty(m.pods.targetAverageValue) },
    };
  }
  for (const key of ['resource', 'containerResource']) {
    const r = m[key];
    if (!isObj(r)) continue;
    const target: Json = { type: r.targetAverageUtilization == null ? 'AverageValue' : 'Utilization' };
    copy(r, target, 'targetAverageValue', 'averageValue');
    copy(r, target, 'targetAverageUtilization', 'averageUtilization');
    const v: Json = { name: r.name ?? '' };
    if (key === 'containerResource') v.container = r.container ?? '';
    v.target = target;
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const target: Json = { type: e.targetValue == null ? 'AverageValue' : 'Value' };
    copy(e, target, 'targetValue', 'value');
    copy(e, target, 'targetAverageValue', 'averageValue');
    out.external = { metric: ident(e, 'metricSelector'), target };
  }
  return out;
}

function metricStatusToLegacy(m: Json): Json {
  const out: Json = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const c = objAt(m.object, 'current');
    const v: Json = { target: crossRef(objAt(m.object, 'describedObject')), ...legacyIdent(m.object, 'selector') };
    v.currentValue = qty(c.value);
    copy(c, v, 'averageValue');
    out.object = v;
  }
  if (isObj(m.pods)) {
    out.pods = { ...legacyIdent(m.pods, 'selector'), currentAverageValue: qty(objAt(m.pods, 'current').averageValue) };
  }
  for (const key of ['resource', 'containerResource']) {
    const r = m[key];
    if (!isObj(r)) continue;
    const c = objAt(r, 'current');
    const v: Json = { name: r.name ?? '' };
    copy(c, v, 'averageUtilization', 'currentAverageUtilization');
    v.currentAverageValue = qty(c.averageValue);
    if (key === 'containerResource') v.container = r.container ?? '';
    out[key] = v;
  }
  if (isObj(m.external)) {
    const c = objAt(m.external, 'current');
    const v = legacyIdent(m.external, 'metricSelector');
    v.currentValue = qty(c.value);
    copy(c, v, 'averageValue', 'currentAverageValue');
    out.external = v;
  }
  return out;
}

function metricStatusFromLegacy(m: Json): Json {
  const out: Json = { type: m.type ?? '' };
  if (isObj(m.object)) {
    const o = m.object;
    const current: Json = { value: qty(o.currentValue) };
    copy(o, current, 'averageValue');
    out.object = { metric: ident(o, 'selector'), current, describedObject: crossRef(objAt(o, 'target')) };
  }
  if (isObj(m.pods)) {
    out.pods = { metric: ident(m.pods, 'selector'), current: { averageValue: qty(m.pods.currentAverageValue) } };
  }
  for (const key of ['resource', 'containerResource']) {
    const r = m[key];
    if (!isObj(r)) continue;
    const current: Json = { averageValue: qty(r.currentAverageValue) };
    copy(r, current, 'currentAverageUtilization', 'averageUtilization');
    const v: Json = { name: r.name ?? '' };
    if (key === 'containerResource') v.container = r.container ?? '';
    v.current = current;
    out[key] = v;
  }
  if (isObj(m.external)) {
    const e = m.external;
    const current: Json = { value: qty(e.currentValue) };
    copy(e, current, 'currentAverageValue', 'averageValue');
    out.external = { metric: ident(e, 'metricSelector'), current };
  }
  return out;
}

/**
 * The behavior annotation holds kube's internal Go type marshalled without JSON tags: keys are
 * Go field names and unset pointers are null. Decoding matches keys case-insensitively, as
 * Go's encoding/json does.
 */
function behaviorToGo(b: Json): Json {
  const rules = (r: unknown): unknown => {
    if (!isObj(r)) return null;
    const policies = Array.isArray(r.policies)
      ? r.policies.filter(isObj).map((p) => ({ Type: p.type ?? '', Value: p.value ?? 0, PeriodSeconds: p.periodSeconds ?? 0 }))
      : null;
    return {
      StabilizationWindowSeconds: r.stabilizationWindowSeconds ?? null,
      SelectPolicy: r.selectPolicy ?? null,
      Policies: policies,
      Tolerance: r.tolerance ?? null,
    };
  };
  return { ScaleUp: rules(b.scaleUp), ScaleDown: rules(b.scaleDown) };
}

function behaviorFromGo(raw: unknown): Json | undefined {
  const b = parseJson(raw);
  if (!isObj(b)) return undefined;
  const rules = (r: unknown): Json | undefined => {
    if (!isObj(r)) return undefined;
    const out: Json = {};
    const setIf = (goName: string, name: string): void => {
      const v = getCI(r, goName);
      if (v !== undefined && v !== null) out[name] = v;
    };
    setIf('StabilizationWindowSeconds', 'stabilizationWindowSeconds');
    setIf('SelectPolicy', 'selectPolicy');
    const policies = getCI(r, 'Policies');
    if (Array.isArray(policies)) {
      out.policies = policies.filter(isObj).map((p) => ({
        type: getCI(p, 'Type') ?? '',
        value: getCI(p, 'Value') ?? 0,
        periodSeconds: getCI(p, 'PeriodSeconds') ?? 0,
      }));
    }
    setIf('Tolerance', 'tolerance');
    return out;
  };
  const out: Json = {};
  const up = rules(getCI(b, 'ScaleUp'));
  const down = rules(getCI(b, 'ScaleDown'));
  if (up) out.scaleUp = up;
  if (down) out.scaleDown = down;
  // A behavior that decodes to the zero value is not moved into the spec.
  return up || down ? out : undefined;
}

// ---------------------------------------------------------------------------------------------
// Helpers

function isObj(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function objAt(o: Json, key: string): Json {
  const v = o[key];
  return isObj(v) ? v : {};
}

function arrAt(o: Json, key: string): Json[] {
  const v = o[key];
  return Array.isArray(v) ? v.filter(isObj) : [];
}

/** Copies `from[key]` to `to[toKey ?? key]` when set (not undefined or null), deep-cloned. */
function copy(from: Json, to: Json, key: string, toKey?: string): void {
  const v = from[key];
  if (v !== undefined && v !== null) to[toKey ?? key] = clone(v);
}

function clone<T>(v: T): T {
  return v === undefined ? v : (structuredClone(v) as T);
}

function getCI(o: Json, name: string): unknown {
  if (name in o) return o[name];
  const lower = name.toLowerCase();
  for (const [k, v] of Object.entries(o)) if (k.toLowerCase() === lower) return v;
  return undefined;
}

function parseJson(raw: unknown): unknown {
  if (typeof raw !== 'string') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    return undefined;
  }
}

/**
 * A JSON array of objects from an annotation. kube-apiserver rejects malformed payloads; we
 * ignore them instead (treated as absent), since they can only come from a hand-edited object.
 */
function parseArray(raw: unknown): Json[] | undefined {
  const v = parseJson(raw);
  return Array.isArray(v) ? v.filter(isObj) : undefined;
}

const ROUND_TRIP = Object.values(HPA_ANNOTATIONS) as string[];

function withoutRoundTrip(metadata: Json): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(objAt(metadata, 'annotations'))) if (!ROUND_TRIP.includes(k)) out[k] = v;
  return out;
}

/** Sets metadata.annotations, removing the key when the map ends up empty (Go's omitempty). */
function setAnnotations(metadata: Json, annotations: Record<string, unknown>): void {
  const had = isObj(metadata.annotations);
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  else if (had && Object.keys(metadata.annotations as Json).length > 0) delete metadata.annotations;
}
