/**
 * Wiring: connects the pure modules (schemas, validation, defaults, selectors, tables,
 * patches, conversion) to the server's plugin seams. The one place that knows them all.
 */
import type { ResourceInfo } from '../api/resources.js';
import type { KObject, ManagedFieldsEntry } from '../api/types.js';
import { convert } from '../api/convert.js';
import { errors } from './errors.js';
import type { HttpPlugins, ObjectFilter } from './http/plugins.js';
import type { KindPlugins } from './registry/strategy.js';
import { parseLabelSelector, matchLabels, parseFieldSelector, convertFieldSelector, matchFields, fieldsFor } from './selectors.js';
import { buildTable } from './tables.js';
import { applyPatchByType, updateManagedFields } from './patch/index.js';
import { DEFINITIONS } from '../api/defs/index.js';
import { apiVersionOf } from '../api/resources.js';
import { StatusError } from './errors.js';
import { applyDefaults, prepareForCreate, prepareForUpdate } from '../api/defaults/index.js';
import { validateCreate, validateUpdate, validateStatusUpdate } from '../api/validation/index.js';
import { createServiceAllocators } from './allocators.js';
import { ServiceAllocation } from './service-allocation.js';
import { ServiceStrategy, type KindStrategy } from './registry/strategy.js';
import type { Registry } from './registry/index.js';
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
    patch: (res, contentType, live, body, opts) => {
      try {
        const r = applyPatchByType(contentType, {
          defs: DEFINITIONS,
          defName: opts.defName ?? res.definition,
          live: live as never,
          body,
          manager: opts.manager,
          apiVersion: apiVersionOf(res),
          force: opts.force,
          kind: res.kind,
          now: opts.now,
          subresource: opts.subresource,
          target: { resource: res.plural, group: res.group, name: opts.name },
        });
        return { object: r.object as KObject, managedFields: r.managedFields as ManagedFieldsEntry[] | undefined };
      } catch (err) {
        // kube answers some malformed patches with a 500; a bad request is never a server error here.
        if (err instanceof StatusError && err.code >= 500) throw errors.badRequest(err.message);
        throw err;
      }
    },
    convert: (obj, to) => convert(obj, to) as KObject,
  };
}

export function kindPlugins(): KindPlugins {
  return {
    defaults: (res, obj) => applyDefaults(res, obj),
    prepareForCreate: (res, obj) => prepareForCreate(res, obj),
    prepareForUpdate: (res, obj, old) => prepareForUpdate(res, obj, old),
    validateCreate: (res, obj) => validateCreate(res, obj),
    validateUpdate: (res, obj, old) => validateUpdate(res, obj, old),
    validateStatusUpdate: (res, obj, old) => validateStatusUpdate(res, obj, old),
    managedFields: (res, old, obj, ctx) => {
      if (ctx.operation === 'Apply') return obj.metadata.managedFields;
      const entries = updateManagedFields(DEFINITIONS, res.definition, old as never, obj as never, {
        manager: ctx.manager,
        apiVersion: apiVersionOf(res),
        now: ctx.now,
        subresource: ctx.subresource,
      });
      return entries.length ? (entries as ManagedFieldsEntry[]) : undefined;
    },
  };
}

/**
 * Service strategies with ClusterIP/NodePort allocation. Values are claimed in the store, so
 * several API servers may share it (service-allocation.ts). `load` attaches the claims to the
 * registry's backend, runs the repair once (claims for every stored Service, orphans removed,
 * cache rebuilt) and then every `repairIntervalMs` (default 3 min, as kube's repair loops);
 * `stop` ends the periodic repair.
 */
export function serviceStrategies(opts: {
  serviceCIDR: string;
  nodePortRange: string;
  repairIntervalMs?: number;
  orphanGraceMs?: number;
  warn?: (msg: string) => void;
}): {
  strategies: Record<string, (res: ResourceInfo, plugins: KindPlugins) => KindStrategy>;
  allocation: ServiceAllocation;
  load(registry: Registry): Promise<void>;
  stop(): void;
} {
  const m = /^(\d+)-(\d+)$/.exec(opts.nodePortRange);
  if (!m) throw new Error(`--node-port-range must be MIN-MAX (got ${JSON.stringify(opts.nodePortRange)})`);
  const allocs = createServiceAllocators({ cidr: opts.serviceCIDR, nodePortRange: [Number(m[1]), Number(m[2])] });
  const warn = opts.warn ?? ((msg: string): void => console.warn(`kubelite: ${msg}`));
  const allocation = new ServiceAllocation(allocs, { orphanGraceMs: opts.orphanGraceMs, warn });
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;
  return {
    strategies: { services: (res, plugins) => new ServiceStrategy(res, plugins, allocation) },
    allocation,
    async load(registry: Registry): Promise<void> {
      const services = registry.must('', 'services');
      allocation.attach(services.backend);
      const list = async (): Promise<KObject[]> => (await services.list(undefined)).items;
      const repair = async (): Promise<void> => {
        await allocation.repair(await list(), { relist: list });
      };
      await repair();
      if (stopped) return;
      timer = setInterval(() => {
        repair().catch((err: unknown) => warn(`service allocation repair failed: ${(err as Error).message}`));
      }, opts.repairIntervalMs ?? 180_000);
      timer.unref();
    },
    stop(): void {
      stopped = true;
      if (timer) clearInterval(timer);
    },
  };
}
