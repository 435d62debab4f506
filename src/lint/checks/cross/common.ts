/**
 * Helpers shared by the cross-object checks: full label selectors read safely from user input,
 * pod templates of a namespace, Services selecting a template, declared container ports.
 * Nothing here throws on malformed objects (a bad selector is "no selector").
 */
import { fromLabelSelectorObject, matchLabels } from '../../../apiserver/selectors/labels.js';
import type { LabelSelectorObject } from '../../../apiserver/selectors/labels.js';
import { arr, at, containersOf, isRecord, kindOf, nameOf, rec, str, stringMap } from '../../objects.js';
import type { CheckContext, KObject, PodTemplateRef, Severity } from '../../types.js';

export type LabelMatcher = (labels: Record<string, string>) => boolean;

/**
 * A metav1.LabelSelector (matchLabels + matchExpressions) as a predicate. Returns undefined when the
 * selector is absent or invalid (the API server would reject it; another check reports that), so
 * callers never flag "selects nothing" for a selector they cannot evaluate. `{}` matches everything.
 */
export function labelSelector(v: unknown): LabelMatcher | undefined {
  if (!isRecord(v)) return undefined;
  // Compiled once per selector object: workload-side checks evaluate every policy/PDB of a namespace per workload.
  if (compiled.has(v)) return compiled.get(v);
  const m = compileSelector(v);
  compiled.set(v, m);
  return m;
}

const compiled = new WeakMap<object, LabelMatcher | undefined>();

function compileSelector(v: Record<string, unknown>): LabelMatcher | undefined {
  const exprs: NonNullable<LabelSelectorObject['matchExpressions']> = [];
  for (const e of arr(v['matchExpressions'])) {
    if (!isRecord(e)) return undefined;
    const key = str(e['key']);
    const operator = str(e['operator']);
    if (key === undefined || operator === undefined) return undefined;
    exprs.push({ key, operator, values: arr(e['values']).filter((x): x is string => typeof x === 'string') });
  }
  try {
    const sel = fromLabelSelectorObject({ matchLabels: stringMap(v['matchLabels']), matchExpressions: exprs });
    return (labels) => matchLabels(sel, labels);
  } catch {
    return undefined;
  }
}

/** Every pod template (workloads and bare Pods, without controller-owned copies) of a namespace. */
export function templatesIn(ctx: CheckContext, namespace: string): readonly PodTemplateRef[] {
  return ctx.index.podTemplatesSelectedBy({}, namespace);
}

/** 'Deployment/my-app': how messages name an object. */
export function describe(obj: KObject): string {
  return `${kindOf(obj)}/${nameOf(obj)}`;
}

/** Lists names for a one-line message: at most `max`, then "and N more". */
export function listNames(names: readonly string[], max = 3): string {
  const uniq = [...new Set(names)];
  if (uniq.length <= max) return uniq.join(', ');
  return `${uniq.slice(0, max).join(', ')} and ${uniq.length - max} more`;
}

/** A Service's plain selector map, or undefined when it has none (selectorless or ExternalName). */
export function serviceSelector(svc: KObject): Record<string, string> | undefined {
  if (str(at(svc, ['spec', 'type'])) === 'ExternalName') return undefined;
  const sel = stringMap(at(svc, ['spec', 'selector']));
  return Object.keys(sel).length > 0 ? sel : undefined;
}

/** A port a container declares in `ports`. */
export interface DeclaredPort {
  container: string;
  name?: string;
  port: number;
  protocol: string;
}

/**
 * The ports a pod template declares: app containers plus restartable init containers (sidecars,
 * restartPolicy: Always), which also receive Service traffic.
 */
export function declaredPorts(t: PodTemplateRef): DeclaredPort[] {
  const out: DeclaredPort[] = [];
  for (const c of containersOf(t, { withInit: true })) {
    if (c.type === 'initContainer' && c.container['restartPolicy'] !== 'Always') continue;
    for (const p of arr(c.container['ports'])) {
      const pr = rec(p);
      const port = pr?.['containerPort'];
      if (!pr || typeof port !== 'number') continue;
      const name = str(pr['name']);
      out.push({ container: c.name, port, protocol: str(pr['protocol']) ?? 'TCP', ...(name ? { name } : {}) });
    }
  }
  return out;
}

/** 'http=8080/TCP, 9090/TCP' (or 'none'): how messages show what a workload declares. */
export function formatPorts(ports: readonly DeclaredPort[]): string {
  if (ports.length === 0) return 'none';
  return [...new Set(ports.map((p) => `${p.name ? `${p.name}=` : ''}${p.port}/${p.protocol}`))].join(', ');
}

/**
 * Severity of "this referenced object is missing" for objects that are usually managed outside
 * the manifests being linted (Secrets, ConfigMaps, ServiceAccounts). In 'cli' mode the run often
 * holds one app's files while such objects come from elsewhere (sealed secrets, an ops repo), so a
 * miss is only a hint ('info'); in 'admission' mode the index is the cluster's state, so a miss
 * means the pod will fail to start or to mount: 'warning'.
 */
export function externalRefSeverity(ctx: CheckContext): Severity {
  return ctx.mode === 'admission' ? 'warning' : 'info';
}

/** An int-or-string port: a number (or all-digit string) is a number, anything else a name. */
export function intOrString(v: unknown): number | string | undefined {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'string' && v !== '') return /^[0-9]+$/.test(v) ? Number(v) : v;
  return undefined;
}

/**
 * Numeric ports the containers' probes (liveness/readiness/startup: httpGet, tcpSocket, grpc) use:
 * evidence that the app listens there even when `ports` does not declare it.
 */
export function probedPorts(t: PodTemplateRef): number[] {
  const out: number[] = [];
  for (const c of containersOf(t, { withInit: true })) {
    if (c.type === 'initContainer' && c.container['restartPolicy'] !== 'Always') continue;
    for (const probe of ['livenessProbe', 'readinessProbe', 'startupProbe']) {
      for (const action of ['httpGet', 'tcpSocket', 'grpc']) {
        const port = intOrString(at(c.container, [probe, action, 'port']));
        if (typeof port === 'number') out.push(port);
      }
    }
  }
  return out;
}
