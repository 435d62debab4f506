/**
 * Test helpers for the cross-object checks (imported only by *.test.ts): run checks over a set of
 * objects the way the runner does (each check on the objects of its kinds, with one shared index)
 * and small builders for the usual objects.
 */
import { buildIndex } from '../../index-objects.js';
import { kindOf, nameOf } from '../../objects.js';
import type { Check, KObject, Severity } from '../../types.js';

export interface Got {
  check: string;
  object: string;
  severity: Severity;
  path: string;
  container?: string;
  message: string;
}

/** Findings of `checks` over `objs`, as comparable rows (path joined with '.'). */
export function runChecks(checks: readonly Check[], objs: readonly KObject[], mode: 'cli' | 'admission' = 'cli'): Got[] {
  const ctx = { index: buildIndex(objs), mode };
  const out: Got[] = [];
  for (const obj of objs) {
    for (const c of checks) {
      if (!c.kinds.includes(kindOf(obj))) continue;
      for (const p of c.run(obj, ctx)) {
        out.push({
          check: c.id,
          object: `${kindOf(obj)}/${nameOf(obj)}`,
          severity: p.severity ?? c.severity,
          path: p.path.join('.'),
          ...(p.container ? { container: p.container } : {}),
          message: p.message,
        });
      }
    }
  }
  return out;
}

/** Rows without messages: what exact-set assertions compare. */
export function brief(rows: readonly Got[]): string[] {
  return rows.map((r) => `${r.check} ${r.severity} ${r.object} ${r.path}${r.container ? ` [${r.container}]` : ''}`);
}

export interface DeployOpts {
  kind?: string;
  ns?: string;
  labels?: Record<string, string>;
  replicas?: number;
  containers?: Record<string, unknown>[];
  pod?: Record<string, unknown>;
}

/** A Deployment (or another template kind) with one container 'app' by default. */
export function workload(name: string, o: DeployOpts = {}): KObject {
  const labels = o.labels ?? { app: name };
  const containers = o.containers ?? [{ name: 'app', image: 'nginx:1.27', readinessProbe: { httpGet: { port: 8080 } } }];
  return {
    apiVersion: 'apps/v1',
    kind: o.kind ?? 'Deployment',
    metadata: { name, ...(o.ns ? { namespace: o.ns } : {}) },
    spec: {
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      selector: { matchLabels: labels },
      template: { metadata: { labels }, spec: { containers, ...(o.pod ?? {}) } },
    },
  };
}

export function service(name: string, spec: Record<string, unknown>, ns?: string): KObject {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name, ...(ns ? { namespace: ns } : {}) }, spec };
}

export function object(kind: string, name: string, rest: Record<string, unknown> = {}, ns?: string): KObject {
  return { kind, metadata: { name, ...(ns ? { namespace: ns } : {}) }, ...rest };
}
