/**
 * REST handlers for served resources: verbs to store calls, with kube's request options
 * (dryRun, fieldManager, fieldValidation, selectors, paging, watch) and response forms.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { apiVersionOf, findResource, RESOURCES, type ResourceInfo } from '../../api/resources.js';
import type { KObject } from '../../api/types.js';
import { clone, isObject } from '../../api/types.js';
import { errors, shown, StatusError } from '../errors.js';
import type { Registry } from '../registry/index.js';
import type { DeleteOptions, ResourceStore } from '../registry/store.js';
import type { WriteContext } from '../registry/strategy.js';
import type { WatchCache } from '../watchcache.js';
import type { HttpPlugins } from './plugins.js';
import {
  checkBodyNesting,
  checkNesting,
  decodeBody,
  dryRunOf,
  fieldValidationOf,
  queryFlag,
  queryInt,
  readBody,
  type FieldValidation,
  type ResourcePath,
} from './request.js';
import { negotiate, send, type Negotiated } from './respond.js';
import { serveWatch } from './watch.js';
import { handleScale } from './scale.js';
import { handlePodSubresource } from './pods.js';
import type { NodeConnections } from '../nodeconnections.js';
import type { LintAdmission } from '../admission/lint.js';
import { limitWarnings } from '../admission/warnings.js';

export interface HandlerDeps {
  registry: Registry;
  cache: WatchCache;
  plugins: HttpPlugins;
  now: () => Date;
  bookmarkIntervalMs?: number;
  /** Node agents answering pod log/exec/attach/portforward. */
  nodes?: NodeConnections;
  /** Admission lint of user writes (see admission/lint.ts); absent: none. */
  lint?: LintAdmission;
}

/** Where a served resource is stored (HPA v1 lives as v2, events.k8s.io Events as core Events). */
export function storageResource(res: ResourceInfo): ResourceInfo {
  if (res.storageOf) {
    const target = RESOURCES.find((r) => r.group === res.storageOf!.group && r.plural === res.storageOf!.plural);
    if (target) return target;
  }
  const first = RESOURCES.find((r) => r.group === res.group && r.plural === res.plural);
  return first ?? res;
}

export interface Ctx {
  req: IncomingMessage;
  res: ServerResponse;
  q: URLSearchParams;
  path: ResourcePath;
  info: ResourceInfo;
  store: ResourceStore;
  deps: HandlerDeps;
  negotiated: Negotiated;
  /** Stored form → requested version. */
  out: (obj: KObject) => KObject;
  /** Requested version → stored form. */
  in: (obj: KObject) => KObject;
  userAgent: string;
}

function managerFrom(ctx: Ctx, fallbackFromAgent: boolean): string {
  const m = ctx.q.get('fieldManager');
  if (m !== null) {
    if (m.length > 128) throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [{ reason: 'FieldValueTooLong', message: `Too long: may not be more than 128 bytes`, field: 'fieldManager' }]);
    return m;
  }
  if (!fallbackFromAgent) return '';
  // kube: the user agent up to the first '/', e.g. "kubectl-client-side-apply/v1.32 ..." → "kubectl-client-side-apply".
  const ua = ctx.userAgent || 'unknown';
  return ua.split('/')[0].slice(0, 128) || 'unknown';
}

export function writeContext(ctx: Ctx, opts: { operation?: 'Update' | 'Apply'; manager?: string; subresource?: string } = {}): WriteContext {
  const wctx: WriteContext = {
    manager: opts.manager ?? managerFrom(ctx, true),
    operation: opts.operation ?? 'Update',
    dryRun: dryRunOf(ctx.q),
    warnings: [],
    now: ctx.deps.now(),
    subresource: opts.subresource,
  };
  // User writes of the object itself are linted; subresources (status, scale, binding) are not.
  const lint = ctx.deps.lint;
  if (lint && lint.mode !== 'off' && !opts.subresource) wctx.admit = (obj) => lint.admit(obj, wctx);
  return wctx;
}

/** Decodes a request body into an object of the kind, applying fieldValidation. */
export function decodeObject(ctx: Ctx, body: Buffer, warnings: string[], fv: FieldValidation): KObject {
  const decoded = decodeBody(body, ctx.req.headers['content-type']);
  return checkObject(ctx, decoded.value, decoded.duplicates, warnings, fv);
}

export function checkObject(ctx: Ctx, value: unknown, duplicates: string[], warnings: string[], fv: FieldValidation, info = ctx.info): KObject {
  const gv = apiVersionOf(info);
  const notHandled = (why: string): StatusError =>
    errors.badRequest(`${info.kind} in version "${info.version}" cannot be handled as a ${info.kind}: ${why}`);
  if (!isObject(value)) {
    throw notHandled(`json: cannot unmarshal ${Array.isArray(value) ? 'array' : value === null ? 'null' : typeof value} into Go value of type struct`);
  }
  if (value.apiVersion !== undefined && value.apiVersion !== gv) {
    if (typeof value.apiVersion !== 'string') throw notHandled('json: cannot unmarshal into Go struct field .apiVersion of type string');
    throw errors.badRequest(`the API version in the data (${value.apiVersion}) does not match the expected API version (${gv})`);
  }
  if (value.kind !== undefined && value.kind !== info.kind) {
    if (typeof value.kind !== 'string') throw notHandled('json: cannot unmarshal into Go struct field .kind of type string');
    throw errors.badRequest(`the kind in the data (${value.kind}) does not match the expected kind (${info.kind})`);
  }
  const st = ctx.deps.plugins.structure(info, value, duplicates);
  if (st.decodeError) throw notHandled(st.decodeError);
  const problems = st.strictErrors;
  if (problems.length) {
    if (fv === 'Strict') throw notHandled(`strict decoding error: ${problems.join(', ')}`);
    if (fv === 'Warn') warnings.push(...problems);
  }
  const obj = value as KObject;
  if (obj.metadata === undefined || obj.metadata === null) obj.metadata = {};
  return obj;
}

function sendObject(ctx: Ctx, code: number, obj: KObject, allWarnings: string[]): void {
  const out = ctx.out(obj);
  const warnings = allWarnings.length ? limitWarnings(allWarnings) : allWarnings;
  if (ctx.negotiated.as === 'table') {
    send(ctx.res, code, ctx.deps.plugins.table(ctx.info, [out], { includeObject: ctx.q.get('includeObject') ?? 'Metadata' }), {
      contentType: ctx.negotiated.contentType,
      yaml: ctx.negotiated.yaml,
      warnings,
    });
    return;
  }
  if (ctx.negotiated.as === 'metadata') {
    send(ctx.res, code, { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: out.metadata }, {
      contentType: ctx.negotiated.contentType,
      yaml: ctx.negotiated.yaml,
      warnings,
    });
    return;
  }
  send(ctx.res, code, out, { contentType: ctx.negotiated.contentType, yaml: ctx.negotiated.yaml, warnings });
}

/** Entry point for /api/v1/... and /apis/g/v/... resource paths. */
export async function handleResource(req: IncomingMessage, res: ServerResponse, path: ResourcePath, q: URLSearchParams, deps: HandlerDeps): Promise<void> {
  const info = findResource(path.group, path.version, path.plural);
  if (!info) throw errors.pathNotFound();
  if (!info.namespaced && path.namespace !== undefined) throw errors.pathNotFound();
  if (path.subresource && !info.subresources.includes(path.subresource as never) && !(info.plural === 'namespaces' && path.subresource === 'finalize')) {
    throw errors.pathNotFound();
  }
  const stored = storageResource(info);
  const store = deps.registry.store(stored.group, stored.version, stored.plural);
  if (!store) throw errors.pathNotFound();
  const converted = stored !== info;
  const ctx: Ctx = {
    req,
    res,
    q,
    path,
    info,
    store,
    deps,
    negotiated: negotiate(req),
    out: converted ? (o) => deps.plugins.convert(o, apiVersionOf(info)) : (o) => o,
    in: converted ? (o) => deps.plugins.convert(o, apiVersionOf(stored)) : (o) => o,
    userAgent: String(req.headers['user-agent'] ?? ''),
  };
  const method = req.method ?? 'GET';
  const ns = info.namespaced ? path.namespace : undefined;
  if (path.name !== undefined && info.namespaced && ns === undefined) throw errors.pathNotFound();
  // The all-namespaces path of a namespaced kind only lists and watches (as kube): a POST there
  // would store an object outside any namespace, a DELETE would empty every namespace.
  if (info.namespaced && ns === undefined && method !== 'GET') throw errors.methodNotAllowed();
  // Legacy /watch/ paths serve GET only; any other verb there would open a watch that never ends.
  if (path.legacyWatch && method !== 'GET') throw errors.methodNotAllowed();
  if (info.plural === 'bindings') {
    if (method !== 'POST' || path.name !== undefined) throw errors.methodNotAllowed();
    return handlePodSubresource(ctx, 'binding-collection');
  }
  if (path.subresource === 'scale') return handleScale(ctx, method);
  if (path.subresource && path.subresource !== 'status' && path.subresource !== 'finalize') {
    return handlePodSubresource(ctx, path.subresource);
  }
  if (path.name === undefined) {
    switch (method) {
      case 'GET':
        if (path.legacyWatch || queryFlag(q, 'watch')) return watch(ctx, ns);
        return list(ctx, ns);
      case 'POST':
        return create(ctx, ns);
      case 'DELETE':
        // kube serves no deletecollection for namespaces: one request must not empty the cluster.
        if (info.plural === 'namespaces') throw errors.methodNotAllowed();
        return deleteCollection(ctx, ns);
      default:
        throw errors.methodNotAllowed();
    }
  }
  if (path.legacyWatch) return watch(ctx, ns, path.name);
  switch (method) {
    case 'GET':
      if (queryFlag(q, 'watch')) return watch(ctx, ns, path.name);
      return sendObject(ctx, 200, await store.get(ns, path.name, { resourceVersion: q.get('resourceVersion') ?? undefined }), []);
    case 'PUT':
      return update(ctx, ns, path.name);
    case 'PATCH':
      return patch(ctx, ns, path.name);
    case 'DELETE':
      if (path.subresource) throw errors.methodNotAllowed();
      return del(ctx, ns, path.name);
    default:
      throw errors.methodNotAllowed();
  }
}

function listFilter(ctx: Ctx): ((o: KObject) => boolean) | undefined {
  const labelSelector = ctx.q.get('labelSelector') ?? undefined;
  const fieldSelector = ctx.q.get('fieldSelector') ?? undefined;
  return ctx.deps.plugins.selectorFilter(ctx.info, { labelSelector, fieldSelector });
}

async function list(ctx: Ctx, ns: string | undefined): Promise<void> {
  const result = await ctx.store.list(ns, {
    filter: listFilter(ctx),
    limit: queryInt(ctx.q, 'limit'),
    continue: ctx.q.get('continue') || undefined,
    resourceVersion: ctx.q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: ctx.q.get('resourceVersionMatch') || undefined,
  });
  const items = result.items.map(ctx.out);
  if (ctx.negotiated.as === 'table') {
    const t = ctx.deps.plugins.table(ctx.info, items, {
      includeObject: ctx.q.get('includeObject') ?? 'Metadata',
      resourceVersion: result.resourceVersion,
      continue: result.continue,
      remainingItemCount: result.remainingItemCount,
    });
    send(ctx.res, 200, t, { contentType: ctx.negotiated.contentType, yaml: ctx.negotiated.yaml });
    return;
  }
  const metadata: Record<string, unknown> = { resourceVersion: result.resourceVersion };
  if (result.continue) metadata.continue = result.continue;
  if (result.remainingItemCount !== undefined) metadata.remainingItemCount = result.remainingItemCount;
  if (ctx.negotiated.as === 'metadata') {
    send(ctx.res, 200, {
      kind: 'PartialObjectMetadataList',
      apiVersion: 'meta.k8s.io/v1',
      metadata,
      items: items.map((o) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata })),
    }, { contentType: ctx.negotiated.contentType, yaml: ctx.negotiated.yaml });
    return;
  }
  send(ctx.res, 200, { kind: `${ctx.info.kind}List`, apiVersion: apiVersionOf(ctx.info), metadata, items }, {
    contentType: ctx.negotiated.contentType,
    yaml: ctx.negotiated.yaml,
  });
}

async function watch(ctx: Ctx, ns: string | undefined, name?: string): Promise<void> {
  const q = ctx.q;
  await serveWatch(ctx.req, ctx.res, {
    res: ctx.info,
    store: ctx.store,
    namespace: ns,
    name: name ?? fieldName(q.get('fieldSelector')),
    filter: listFilter(ctx),
    resourceVersion: q.get('resourceVersion') ?? undefined,
    resourceVersionMatch: q.get('resourceVersionMatch') ?? undefined,
    timeoutSeconds: queryInt(q, 'timeoutSeconds'),
    allowBookmarks: queryFlag(q, 'allowWatchBookmarks'),
    sendInitialEvents: q.get('sendInitialEvents') === 'true' ? true : undefined,
    negotiated: ctx.negotiated,
    toRequested: ctx.out,
    sameVersion: storageResource(ctx.info) === ctx.info,
    bookmarkIntervalMs: ctx.deps.bookmarkIntervalMs,
  }, { cache: ctx.deps.cache, plugins: ctx.deps.plugins });
}

/** `metadata.name=x` alone in a field selector narrows a watch to one key. */
function fieldName(sel: string | null): string | undefined {
  if (!sel) return undefined;
  const m = /^metadata\.name==?([^,=!]+)$/.exec(sel);
  return m ? m[1] : undefined;
}

async function create(ctx: Ctx, ns: string | undefined): Promise<void> {
  const body = await readBody(ctx.req);
  const wctx = writeContext(ctx);
  const obj = ctx.in(decodeObject(ctx, body, wctx.warnings, fieldValidationOf(ctx.q)));
  const created = await ctx.store.create(ns, obj, wctx);
  sendObject(ctx, 201, created, wctx.warnings);
}

async function update(ctx: Ctx, ns: string | undefined, name: string): Promise<void> {
  const body = await readBody(ctx.req);
  const sub = ctx.path.subresource;
  const wctx = writeContext(ctx, { subresource: sub });
  const obj = ctx.in(decodeObject(ctx, body, wctx.warnings, fieldValidationOf(ctx.q)));
  if (obj.metadata.name && obj.metadata.name !== name) {
    throw errors.badRequest(`the name of the object (${obj.metadata.name}) does not match the name on the URL (${name})`);
  }
  const r = await ctx.store.update(ns, name, obj, wctx, { subresource: sub });
  sendObject(ctx, r.created ? 201 : 200, r.object, wctx.warnings);
}

const PATCH_TYPES = new Set([
  'application/json-patch+json',
  'application/merge-patch+json',
  'application/strategic-merge-patch+json',
  'application/apply-patch+yaml',
]);

async function patch(ctx: Ctx, ns: string | undefined, name: string): Promise<void> {
  const contentType = String(ctx.req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase();
  if (!PATCH_TYPES.has(contentType)) throw errors.unsupportedMediaType(contentType || '""');
  const body = await readBody(ctx.req);
  const apply = contentType === 'application/apply-patch+yaml';
  // Merge-style patches must themselves be JSON objects; duplicates are reported as kube does.
  const decoded = contentType === 'application/json-patch+json' ? { value: undefined, duplicates: [] } : decodeBody(body, contentType);
  if (contentType === 'application/json-patch+json') checkBodyNesting(body);
  const fv = fieldValidationOf(ctx.q);
  const sub = ctx.path.subresource;
  let manager = managerFrom(ctx, !apply);
  if (apply && !manager) {
    throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [{ reason: 'FieldValueRequired', message: 'Required value: is required for apply patch', field: 'fieldManager' }]);
  }
  const force = queryFlag(ctx.q, 'force');
  if (!apply && ctx.q.has('force')) {
    throw errors.invalid('PatchOptions', 'meta.k8s.io', '', [{ reason: 'FieldValueForbidden', message: 'Forbidden: may not be specified for non-apply patch', field: 'force' }]);
  }
  if (apply) {
    // The applied configuration must itself be a valid object of the kind.
    checkObject(ctx, decoded.value, decoded.duplicates, [], fv === 'Ignore' ? 'Ignore' : fv);
    manager = manager || 'unknown';
  }
  const wctx = writeContext(ctx, { operation: apply ? 'Apply' : 'Update', manager, subresource: sub });
  const r = await ctx.store.guaranteedUpdate(
    ns,
    name,
    (live) => {
      const liveReq = live ? ctx.out(live) : undefined;
      const patched = ctx.deps.plugins.patch(ctx.info, contentType, liveReq, body, { manager, force, now: wctx.now, subresource: sub, name });
      const obj = patched.object;
      if (!isObject(obj)) throw errors.badRequest('the patch produced a value that is not an object');
      checkNesting(obj);
      const warnings: string[] = [];
      const checked = checkObject(ctx, clone(obj), !apply ? decoded.duplicates : [], warnings, apply ? 'Ignore' : fv);
      for (const w of warnings) if (!wctx.warnings.includes(w)) wctx.warnings.push(w);
      if (patched.managedFields) checked.metadata.managedFields = patched.managedFields;
      if (live) {
        // A patch may not move the object: identity comes from the URL and the live object.
        checked.metadata.resourceVersion = checked.metadata.resourceVersion ?? undefined;
        if (checked.metadata.resourceVersion === live.metadata.resourceVersion || !checked.metadata.resourceVersion) delete checked.metadata.resourceVersion;
      }
      return ctx.in(checked);
    },
    wctx,
    { allowCreate: apply && !sub, subresource: sub },
  );
  sendObject(ctx, r.created ? 201 : 200, r.object, wctx.warnings);
}

async function deleteOptions(ctx: Ctx): Promise<DeleteOptions> {
  const body = await readBody(ctx.req);
  let opts: DeleteOptions = {};
  if (body.length && body.toString('utf8').trim()) {
    const decoded = decodeBody(body, ctx.req.headers['content-type'] ?? 'application/json');
    if (!isObject(decoded.value)) throw errors.badRequest('DeleteOptions must be an object');
    const v = decoded.value as Record<string, unknown>;
    if (v.kind !== undefined && v.kind !== 'DeleteOptions') throw errors.badRequest(`the kind in the data (${shown(v.kind)}) does not match the expected kind (DeleteOptions)`);
    opts = v as DeleteOptions;
    if (Array.isArray((v as { dryRun?: unknown }).dryRun) && ((v as { dryRun: unknown[] }).dryRun).length) ctx.q.set('dryRun', 'All');
  }
  const grace = queryInt(ctx.q, 'gracePeriodSeconds');
  if (grace !== undefined) opts.gracePeriodSeconds = grace;
  const pp = ctx.q.get('propagationPolicy');
  if (pp) opts.propagationPolicy = pp as DeleteOptions['propagationPolicy'];
  if (ctx.q.has('orphanDependents')) opts.orphanDependents = queryFlag(ctx.q, 'orphanDependents');
  if (opts.propagationPolicy && !['Orphan', 'Background', 'Foreground'].includes(opts.propagationPolicy)) {
    throw errors.invalid('DeleteOptions', 'meta.k8s.io', '', [
      { reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(shown(opts.propagationPolicy))}: supported values: "Foreground", "Background", "Orphan"`, field: 'propagationPolicy' },
    ]);
  }
  if (opts.gracePeriodSeconds !== undefined && (typeof opts.gracePeriodSeconds !== 'number' || !Number.isInteger(opts.gracePeriodSeconds))) {
    throw errors.badRequest('gracePeriodSeconds must be an integer');
  }
  if (opts.propagationPolicy && opts.orphanDependents !== undefined) {
    throw errors.invalid('DeleteOptions', 'meta.k8s.io', '', [
      { reason: 'FieldValueInvalid', message: `Invalid value: ${JSON.stringify(shown(opts.propagationPolicy))}: orphanDependents and deletionPropagation cannot be both set`, field: 'propagationPolicy' },
    ]);
  }
  return opts;
}

/** Object kinds whose DELETE returns the object (kube's ReturnDeletedObject); others a Status. */
const RETURNS_OBJECT = new Set(['pods', 'services', 'namespaces']);

async function del(ctx: Ctx, ns: string | undefined, name: string): Promise<void> {
  const opts = await deleteOptions(ctx);
  const wctx = writeContext(ctx);
  const r = await ctx.store.delete(ns, name, opts, wctx);
  if (!r.deleted || RETURNS_OBJECT.has(ctx.info.plural)) {
    sendObject(ctx, r.deleted ? 200 : 200, r.object, wctx.warnings);
    return;
  }
  send(ctx.res, 200, {
    kind: 'Status',
    apiVersion: 'v1',
    metadata: {},
    status: 'Success',
    details: { name, group: ctx.info.group || undefined, kind: ctx.info.plural, uid: r.object.metadata.uid },
  });
}

async function deleteCollection(ctx: Ctx, ns: string | undefined): Promise<void> {
  const opts = await deleteOptions(ctx);
  const wctx = writeContext(ctx);
  const listed = await ctx.store.list(ns, { filter: listFilter(ctx) });
  const items: KObject[] = [];
  for (const obj of listed.items) {
    try {
      const r = await ctx.store.delete(obj.metadata.namespace, obj.metadata.name ?? '', opts, wctx);
      items.push(ctx.out(r.object));
    } catch (err) {
      if (err instanceof StatusError && err.reason === 'NotFound') continue;
      throw err;
    }
  }
  send(ctx.res, 200, { kind: `${ctx.info.kind}List`, apiVersion: apiVersionOf(ctx.info), metadata: { resourceVersion: listed.resourceVersion }, items });
}
