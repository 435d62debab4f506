/**
 * The scale subresource (autoscaling/v1 Scale) for Deployments, ReplicaSets and StatefulSets:
 * a view of spec.replicas and status, writable by GET/PUT/PATCH.
 */
import type { KObject } from '../../api/types.js';
import { isObject } from '../../api/types.js';
import { errors, shown } from '../errors.js';
import { decodeBody, readBody } from './request.js';
import { send } from './respond.js';
import { writeContext, type Ctx } from './handlers.js';

interface LabelSelectorObj {
  matchLabels?: Record<string, string>;
  matchExpressions?: { key: string; operator: string; values?: string[] }[];
}

/** metav1.FormatLabelSelector: the selector in query syntax. */
export function formatSelector(sel: LabelSelectorObj | undefined): string {
  if (!sel) return '';
  const parts: string[] = [];
  for (const [k, v] of Object.entries(sel.matchLabels ?? {}).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) parts.push(`${k}=${v}`);
  for (const e of sel.matchExpressions ?? []) {
    const vals = [...(e.values ?? [])].sort();
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${vals.join(',')})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${vals.join(',')})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
    }
  }
  return parts.join(',');
}

export function scaleOf(obj: KObject): KObject {
  const spec = (obj.spec ?? {}) as { replicas?: number; selector?: LabelSelectorObj };
  const status = (obj.status ?? {}) as { replicas?: number };
  return {
    kind: 'Scale',
    apiVersion: 'autoscaling/v1',
    metadata: {
      name: obj.metadata.name,
      namespace: obj.metadata.namespace,
      uid: obj.metadata.uid,
      resourceVersion: obj.metadata.resourceVersion,
      creationTimestamp: obj.metadata.creationTimestamp,
    },
    spec: { replicas: spec.replicas ?? 0 },
    status: { replicas: status.replicas ?? 0, selector: formatSelector(spec.selector) },
  };
}

const SCALE_DEF = 'io.k8s.api.autoscaling.v1.Scale';

export async function handleScale(ctx: Ctx, method: string): Promise<void> {
  const ns = ctx.path.namespace;
  const name = ctx.path.name;
  if (!name) throw errors.pathNotFound();
  if (method === 'GET') {
    send(ctx.res, 200, scaleOf(await ctx.store.get(ns, name)));
    return;
  }
  if (method !== 'PUT' && method !== 'PATCH') throw errors.methodNotAllowed();
  const contentType = String(ctx.req.headers['content-type'] ?? 'application/json').split(';')[0].trim().toLowerCase();
  const raw = await readBody(ctx.req);
  const body = method === 'PUT' ? decodeBody(raw, contentType).value : undefined;
  const wctx = writeContext(ctx, { subresource: 'scale' });
  const r = await ctx.store.guaranteedUpdate(
    ns,
    name,
    (live) => {
      if (!live) throw errors.notFound(ctx.info.plural, ctx.info.group, name);
      const current = scaleOf(live);
      let next: KObject;
      if (method === 'PUT') {
        if (!isObject(body)) throw errors.badRequest('Scale in version "v1" cannot be handled as a Scale: body must be an object');
        next = body as KObject;
        if (next.kind !== undefined && next.kind !== 'Scale') throw errors.badRequest(`the kind in the data (${shown(next.kind)}) does not match the expected kind (Scale)`);
      } else {
        next = ctx.deps.plugins.patch(ctx.info, contentType, current, raw, { manager: wctx.manager, force: false, now: wctx.now, defName: SCALE_DEF, subresource: 'scale', name }).object;
      }
      const meta = isObject(next.metadata) ? next.metadata : {};
      const replicas = isObject(next.spec) ? (next.spec as { replicas?: unknown }).replicas : undefined;
      if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas))) {
        throw errors.badRequest(`Scale in version "v1" cannot be handled as a Scale: json: cannot unmarshal ${typeof replicas} into Go struct field ScaleSpec.spec.replicas of type int32`);
      }
      const n = (replicas as number | undefined) ?? 0;
      if (n < 0) {
        throw errors.invalid('Scale', 'autoscaling', name, [{ reason: 'FieldValueInvalid', message: `Invalid value: ${n}: must be greater than or equal to 0`, field: 'spec.replicas' }]);
      }
      if (meta.resourceVersion && meta.resourceVersion !== live.metadata.resourceVersion) {
        throw errors.conflict(ctx.info.plural, ctx.info.group, name, 'the object has been modified; please apply your changes to the latest version and try again');
      }
      const out = { ...live, spec: { ...((live.spec as object) ?? {}), replicas: n } } as KObject;
      delete out.metadata.resourceVersion;
      return out;
    },
    wctx,
  );
  send(ctx.res, 200, scaleOf(r.object), { warnings: wctx.warnings });
}
