/**
 * Per-kind behaviour plugged into the generic store, as kube's RESTCreateStrategy /
 * RESTUpdateStrategy: what a create or update may change, which status rules apply, which
 * fields the server fills in, and what deletion means for the kind.
 */
import type { ResourceInfo } from '../../api/resources.js';
import type { KObject, ManagedFieldsEntry } from '../../api/types.js';
import { isObject } from '../../api/types.js';
import { errors, type StatusCause } from '../errors.js';
import type { DeleteOptions } from './store.js';

export interface WriteContext {
  /** Field manager for managedFields. */
  manager: string;
  operation: 'Update' | 'Apply';
  dryRun: boolean;
  /** Warnings to return as `Warning: 299` headers. */
  warnings: string[];
  now: Date;
  subresource?: string;
  /** Write even when nothing changed (used by controllers that need a new resourceVersion). */
  forceWrite?: boolean;
  /**
   * Set only by the API server's own bootstrap for objects user validation would refuse
   * (the `default/kubernetes` Endpoints on a loopback address). Never set from a request.
   */
  skipValidation?: boolean;
  /**
   * Admission for user writes: set only by the HTTP handlers (never by in-process clients),
   * called by the store with the object as it will be stored, after defaulting and validation
   * and before it is written (dry runs too); it may add to `warnings` or throw a StatusError to
   * refuse the write. Not called for the status subresource. See admission/lint.ts.
   */
  admit?: (obj: KObject, old: KObject | undefined) => void;
}

export function internalContext(manager: string, now = new Date()): WriteContext {
  return { manager, operation: 'Update', dryRun: false, warnings: [], now };
}

/** The validators, defaulters and field managers the strategy delegates to (src/api, patch/). */
export interface KindPlugins {
  defaults(res: ResourceInfo, obj: KObject): void;
  /** Strategy steps after defaulting (kube's PrepareForCreate/PrepareForUpdate). */
  prepareForCreate(res: ResourceInfo, obj: KObject): void;
  prepareForUpdate(res: ResourceInfo, obj: KObject, old: KObject): void;
  validateCreate(res: ResourceInfo, obj: KObject): StatusCause[];
  validateUpdate(res: ResourceInfo, obj: KObject, old: KObject): StatusCause[];
  validateStatusUpdate(res: ResourceInfo, obj: KObject, old: KObject): StatusCause[];
  managedFields(
    res: ResourceInfo,
    old: KObject | undefined,
    obj: KObject,
    ctx: WriteContext,
  ): ManagedFieldsEntry[] | undefined;
}

export interface KindStrategy {
  allowCreateOnUpdate: boolean;
  allowUnconditionalUpdate: boolean;
  defaultPropagation: 'Background' | 'Orphan' | 'Foreground';
  prepareForCreate(obj: KObject, ctx: WriteContext): void;
  prepareForUpdate(obj: KObject, old: KObject, ctx: WriteContext): void;
  prepareForStatusUpdate(obj: KObject, old: KObject, ctx: WriteContext): void;
  validateCreate(obj: KObject, ctx: WriteContext): void;
  validateUpdate(obj: KObject, old: KObject, ctx: WriteContext): void;
  validateStatusUpdate(obj: KObject, old: KObject, ctx: WriteContext): void;
  managedFields(old: KObject | undefined, obj: KObject, ctx: WriteContext): ManagedFieldsEntry[] | undefined;
  /**
   * Reserves what the write needs (cluster IPs, node ports) before validation; the store
   * rolls the reservation back if the write fails or is a dry run, and commits it otherwise.
   * May be async (claims in a store shared by several API servers); the store awaits it.
   */
  reserve?(obj: KObject, old: KObject | undefined, ctx: WriteContext): Reservation | undefined | Promise<Reservation | undefined>;
  afterDelete?(obj: KObject): Promise<void>;
  /** Grace period in seconds for a graceful delete (0: delete now). */
  gracefulDelete?(obj: KObject, opts: DeleteOptions): number;
  prepareForDelete?(obj: KObject): void;
  /** True while something other than metadata.finalizers holds the object (namespace spec.finalizers). */
  blocksDeletion?(obj: KObject): boolean;
}

/** Both steps may be async; they must not throw (failures are logged and left to a repair). */
export interface Reservation {
  rollback(): void | Promise<void>;
  commit(): void | Promise<void>;
}

/** Kinds that kube-apiserver lets PUT create (AllowCreateOnUpdate). */
const CREATE_ON_UPDATE = new Set(['endpoints', 'events', 'leases', 'endpointslices']);

export class GenericStrategy implements KindStrategy {
  allowCreateOnUpdate: boolean;
  allowUnconditionalUpdate = true;
  defaultPropagation: 'Background' | 'Orphan' | 'Foreground' = 'Background';
  protected readonly hasStatus: boolean;

  constructor(
    readonly res: ResourceInfo,
    protected readonly plugins: KindPlugins,
  ) {
    this.allowCreateOnUpdate = CREATE_ON_UPDATE.has(res.plural);
    this.hasStatus = res.subresources.includes('status');
  }

  prepareForCreate(obj: KObject, _ctx: WriteContext): void {
    if (this.hasStatus) delete obj.status;
    this.plugins.defaults(this.res, obj);
    this.plugins.prepareForCreate(this.res, obj);
  }

  prepareForUpdate(obj: KObject, old: KObject, _ctx: WriteContext): void {
    if (this.hasStatus) {
      if (old.status === undefined) delete obj.status;
      else obj.status = old.status;
    }
    this.plugins.defaults(this.res, obj);
    this.plugins.prepareForUpdate(this.res, obj, old);
  }

  prepareForStatusUpdate(obj: KObject, old: KObject, _ctx: WriteContext): void {
    const status = obj.status;
    for (const k of Object.keys(obj)) if (k !== 'metadata') delete obj[k];
    for (const [k, v] of Object.entries(old)) if (k !== 'metadata' && k !== 'status') obj[k] = v;
    if (status !== undefined) obj.status = status;
    // A status write keeps the object's metadata as it was, except what kube lets it change.
    const meta = obj.metadata;
    obj.metadata = { ...old.metadata, resourceVersion: meta.resourceVersion };
  }

  private fail(obj: KObject, causes: StatusCause[]): void {
    if (causes.length) throw errors.invalid(this.res.kind, this.res.group, obj.metadata.name ?? '', causes);
  }

  validateCreate(obj: KObject, ctx: WriteContext): void {
    if (ctx.skipValidation) return;
    this.fail(obj, this.plugins.validateCreate(this.res, obj));
  }

  validateUpdate(obj: KObject, old: KObject, ctx: WriteContext): void {
    if (ctx.skipValidation) return;
    this.fail(obj, this.plugins.validateUpdate(this.res, obj, old));
  }

  validateStatusUpdate(obj: KObject, old: KObject, _ctx: WriteContext): void {
    this.fail(obj, this.plugins.validateStatusUpdate(this.res, obj, old));
  }

  managedFields(old: KObject | undefined, obj: KObject, ctx: WriteContext): ManagedFieldsEntry[] | undefined {
    return this.plugins.managedFields(this.res, old, obj, ctx);
  }
}

export class NamespaceStrategy extends GenericStrategy {
  override prepareForCreate(obj: KObject, ctx: WriteContext): void {
    super.prepareForCreate(obj, ctx);
    const labels = (obj.metadata.labels ??= {});
    labels['kubernetes.io/metadata.name'] = obj.metadata.name ?? '';
  }
  override prepareForUpdate(obj: KObject, old: KObject, ctx: WriteContext): void {
    const wanted = obj.spec;
    super.prepareForUpdate(obj, old, ctx);
    // spec.finalizers changes only through the finalize subresource.
    obj.spec = ctx.subresource === 'finalize' ? wanted : old.spec;
    const labels = (obj.metadata.labels ??= {});
    labels['kubernetes.io/metadata.name'] = obj.metadata.name ?? '';
  }
  prepareForDelete(obj: KObject): void {
    obj.status = { ...(isObject(obj.status) ? obj.status : {}), phase: 'Terminating' };
  }
  blocksDeletion(obj: KObject): boolean {
    const spec = obj.spec as { finalizers?: string[] } | undefined;
    return (spec?.finalizers?.length ?? 0) > 0;
  }
}

export class PodStrategy extends GenericStrategy {
  /**
   * pods/binding writes spec.nodeName and the PodScheduled condition itself (BindingREST):
   * neither the ordinary pod-update rules (spec.nodeName is immutable there) nor the
   * keep-old-status rule apply to it; the binding code did its own checks.
   */
  override prepareForUpdate(obj: KObject, old: KObject, ctx: WriteContext): void {
    if (ctx.subresource === 'binding') return;
    super.prepareForUpdate(obj, old, ctx);
  }
  override validateUpdate(obj: KObject, old: KObject, ctx: WriteContext): void {
    if (ctx.subresource === 'binding') return;
    super.validateUpdate(obj, old, ctx);
  }
  override prepareForCreate(obj: KObject, ctx: WriteContext): void {
    super.prepareForCreate(obj, ctx);
    if (!isObject(obj.status)) obj.status = { phase: 'Pending', qosClass: qosClass(obj) };
  }
  /** Pods on a node get their grace period so the node agent can stop them; unscheduled pods go at once. */
  gracefulDelete(obj: KObject, opts: DeleteOptions): number {
    const spec = obj.spec as { nodeName?: string; terminationGracePeriodSeconds?: number } | undefined;
    const status = obj.status as { phase?: string } | undefined;
    if (!spec?.nodeName) return 0;
    if (status?.phase === 'Succeeded' || status?.phase === 'Failed') return 0;
    const g = opts.gracePeriodSeconds ?? spec.terminationGracePeriodSeconds ?? 30;
    return Math.max(0, g);
  }
}

/** QoS class as the kubelet and API server compute it from requests and limits. */
export function qosClass(pod: KObject): string {
  const spec = pod.spec as { containers?: { resources?: { requests?: Record<string, string>; limits?: Record<string, string> } }[] } | undefined;
  const containers = spec?.containers ?? [];
  let anySet = false;
  let guaranteed = true;
  for (const c of containers) {
    const req = c.resources?.requests ?? {};
    const lim = c.resources?.limits ?? {};
    if (Object.keys(req).length || Object.keys(lim).length) anySet = true;
    for (const r of ['cpu', 'memory']) {
      if (!lim[r]) guaranteed = false;
      else if (req[r] && req[r] !== lim[r]) guaranteed = false;
    }
  }
  if (!anySet) return 'BestEffort';
  return guaranteed ? 'Guaranteed' : 'Burstable';
}

/**
 * Services: ClusterIP and NodePort allocation around every write (kube's BeginCreate /
 * BeginUpdate hooks), and release when a Service is finally deleted.
 */
export class ServiceStrategy extends GenericStrategy {
  constructor(
    res: ResourceInfo,
    plugins: KindPlugins,
    private readonly allocation?: {
      reserve(obj: KObject, old: KObject | undefined, opts: { dryRun: boolean }): Reservation | Promise<Reservation>;
      release(obj: KObject): void | Promise<void>;
    },
  ) {
    super(res, plugins);
  }
  override prepareForCreate(obj: KObject, ctx: WriteContext): void {
    super.prepareForCreate(obj, ctx);
    obj.status = { loadBalancer: {} };
  }
  async reserve(obj: KObject, old: KObject | undefined, ctx: WriteContext): Promise<Reservation | undefined> {
    return this.allocation?.reserve(obj, old, { dryRun: ctx.dryRun });
  }
  async afterDelete(obj: KObject): Promise<void> {
    await this.allocation?.release(obj);
  }
}
