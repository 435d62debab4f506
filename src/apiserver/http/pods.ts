/**
 * Pod subresources: binding (scheduling a pod to a node), eviction, and the streaming
 * endpoints (log, exec, attach, portforward) that need a node agent to answer.
 */
import type { KObject } from '../../api/types.js';
import { isObject } from '../../api/types.js';
import { errors, shown, StatusError } from '../errors.js';
import { bindPod } from '../registry/binding.js';
import { decodeBody, readBody } from './request.js';
import { send } from './respond.js';
import { writeContext, type Ctx } from './handlers.js';
import type { NodeConnections, NodeStreamingHandler } from '../nodeconnections.js';

async function bind(ctx: Ctx, podName: string, binding: Record<string, unknown>): Promise<void> {
  const ns = ctx.path.namespace;
  const target = binding.target as { kind?: string; name?: string } | undefined;
  if (!isObject(target) || !target.name) {
    throw errors.invalid('Binding', '', podName, [{ reason: 'FieldValueRequired', message: 'Required value', field: 'target.name' }]);
  }
  if (target.kind && target.kind !== 'Node') {
    throw errors.invalid('Binding', '', podName, [{ reason: 'FieldValueNotSupported', message: `Unsupported value: ${JSON.stringify(shown(target.kind))}: supported values: "Node"`, field: 'target.kind' }]);
  }
  await bindPod(ctx.store, { namespace: ns ?? '', name: podName, nodeName: target.name }, writeContext(ctx, { subresource: 'binding' }));
  send(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
}

export async function handlePodSubresource(ctx: Ctx, sub: string): Promise<void> {
  const method = ctx.req.method ?? 'GET';
  const name = ctx.path.name;
  if (sub === 'binding-collection' || sub === 'binding') {
    if (method !== 'POST') throw errors.methodNotAllowed();
    const body = decodeBody(await readBody(ctx.req), ctx.req.headers['content-type']).value;
    if (!isObject(body)) throw errors.badRequest('Binding in version "v1" cannot be handled as a Binding: body must be an object');
    const meta = (isObject(body.metadata) ? body.metadata : {}) as { name?: string };
    const podName = name ?? meta.name;
    if (!podName) throw errors.invalid('Binding', '', '', [{ reason: 'FieldValueRequired', message: 'Required value: name or generateName is required', field: 'metadata.name' }]);
    return bind(ctx, podName, body);
  }
  if (!name) throw errors.pathNotFound();
  if (sub === 'eviction') {
    if (method !== 'POST') throw errors.methodNotAllowed();
    await readBody(ctx.req);
    const wctx = writeContext(ctx);
    await ctx.store.delete(ctx.path.namespace, name, {}, wctx);
    send(ctx.res, 201, { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Success', code: 201 });
    return;
  }
  // log, exec, attach, portforward: the pod must exist and be bound; then its node's agent answers.
  const pod: KObject = await ctx.store.get(ctx.path.namespace, name);
  const handler = nodeHandler(ctx.deps.nodes, pod, name, sub);
  if (sub === 'log') {
    if (method !== 'GET') throw errors.methodNotAllowed();
    return handler.logs(pod, ctx.q, ctx.res);
  }
  // exec/attach/portforward only work as upgraded connections (they arrive through
  // handlePodUpgrade); a plain request gets kube's answer.
  throw errors.badRequest('Upgrade request required');
}

/** The agent serving the pod's node, or kube's errors for an unbound pod / a node nobody serves. */
export function nodeHandler(nodes: NodeConnections | undefined, pod: KObject, name: string, sub: string): NodeStreamingHandler {
  const nodeName = (pod.spec as { nodeName?: string } | undefined)?.nodeName;
  if (!nodeName) throw new StatusError(400, 'BadRequest', `pod ${name} does not have a host assigned`);
  const handler = nodes?.get(nodeName);
  if (!handler) {
    throw new StatusError(
      400,
      'BadRequest',
      `${sub} for pod ${name} is not available: no node agent is serving node "${nodeName}"`,
    );
  }
  return handler;
}
