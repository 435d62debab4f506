/**
 * pods/binding: assigning a pending pod to a node, shared by the HTTP subresource and the
 * in-process scheduler. Sets spec.nodeName and the PodScheduled=True condition in one write;
 * refuses pods already bound or being deleted (409), as kube-apiserver's BindingREST does.
 */
import type { KObject } from '../../api/types.js';
import { errors } from '../errors.js';
import type { ResourceStore } from './store.js';
import { rfc3339 } from './store.js';
import type { WriteContext } from './strategy.js';

export async function bindPod(store: ResourceStore, target: { namespace: string; name: string; nodeName: string }, ctx: WriteContext): Promise<KObject> {
  const { namespace, name, nodeName } = target;
  const { object } = await store.guaranteedUpdate(namespace, name, (live) => {
    if (!live) throw errors.notFound('pods', '', name);
    const spec = (live.spec ?? {}) as { nodeName?: string };
    if (live.metadata.deletionTimestamp) throw errors.conflict('pods', '', name, 'pod is being deleted, cannot be assigned to a host');
    if (spec.nodeName) throw errors.conflict('pods', '', name, `pod ${name} is already assigned to node "${spec.nodeName}"`);
    spec.nodeName = nodeName;
    live.spec = spec;
    const status = (live.status ?? {}) as { conditions?: Record<string, unknown>[] };
    const conds = (status.conditions ?? []).filter((c) => c.type !== 'PodScheduled');
    conds.push({ type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: rfc3339(ctx.now) });
    status.conditions = conds;
    live.status = status;
    delete live.metadata.resourceVersion;
    return live;
  }, { ...ctx, subresource: 'binding' });
  return object;
}
