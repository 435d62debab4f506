/**
 * Pod spec → ConfigMap / Secret / ServiceAccount references. A missing non-optional ConfigMap or
 * Secret keeps the pod in CreateContainerConfigError / ContainerCreating; a missing ServiceAccount
 * makes the ReplicaSet fail to create pods at all.
 *
 * Severity depends on the mode (see externalRefSeverity): in 'cli' mode a lone Deployment file
 * referencing a Secret kept elsewhere (sealed secrets, an ops repo, created by hand) is normal, so
 * a miss is an 'info' hint; in 'admission' mode the index is the cluster's state, so a miss means
 * the pods will not start: 'warning'. A ConfigMap/Secret that IS in the index but lacks the
 * referenced key is certain to fail, so it is a 'warning' in both modes.
 * References marked `optional: true` are never reported (the kubelet tolerates them missing).
 */
import { WORKLOAD_KINDS, arr, at, containersOf, hasControllerOwner, namespaceOf, podTemplateOf, rec, str } from '../../objects.js';
import type { Check, CheckContext, FieldPath, KObject, Problem } from '../../types.js';
import { externalRefSeverity } from './common.js';

type RefKind = 'ConfigMap' | 'Secret';

interface Ref {
  kind: RefKind;
  name: string;
  key?: string;
  /** Path of the field holding the name. */
  path: FieldPath;
  container?: string;
  /** What references it, for the message ('env MY_VAR', 'volume config', ...). */
  via: string;
}

function isOptional(r: Record<string, unknown>): boolean {
  return r['optional'] === true;
}

/** Every non-optional ConfigMap/Secret reference of a pod spec (containers, init containers, volumes). */
export function configRefs(obj: KObject): Ref[] {
  const t = podTemplateOf(obj);
  if (!t) return [];
  const out: Ref[] = [];
  for (const c of containersOf(t, { withInit: true })) {
    arr(c.container['env']).forEach((e, i) => {
      const env = rec(e);
      const varName = str(env?.['name']) ?? `#${i}`;
      for (const [field, kind] of [['configMapKeyRef', 'ConfigMap'], ['secretKeyRef', 'Secret']] as const) {
        const r = rec(at(env, ['valueFrom', field]));
        const name = str(r?.['name']);
        if (!r || !name || isOptional(r)) continue;
        const key = str(r['key']);
        out.push({ kind, name, path: [...c.path, 'env', i, 'valueFrom', field, 'name'], container: c.name, via: `env ${varName}`, ...(key ? { key } : {}) });
      }
    });
    arr(c.container['envFrom']).forEach((e, i) => {
      for (const [field, kind] of [['configMapRef', 'ConfigMap'], ['secretRef', 'Secret']] as const) {
        const r = rec(at(e, [field]));
        const name = str(r?.['name']);
        if (!r || !name || isOptional(r)) continue;
        out.push({ kind, name, path: [...c.path, 'envFrom', i, field, 'name'], container: c.name, via: 'envFrom' });
      }
    });
  }
  arr(t.spec['volumes']).forEach((v, i) => {
    const vol = rec(v);
    const volName = str(vol?.['name']) ?? `#${i}`;
    const base = [...t.specPath, 'volumes', i];
    const cm = rec(vol?.['configMap']);
    const cmName = str(cm?.['name']);
    if (cm && cmName && !isOptional(cm)) out.push({ kind: 'ConfigMap', name: cmName, path: [...base, 'configMap', 'name'], via: `volume ${volName}` });
    const sec = rec(vol?.['secret']);
    const secName = str(sec?.['secretName']);
    if (sec && secName && !isOptional(sec)) out.push({ kind: 'Secret', name: secName, path: [...base, 'secret', 'secretName'], via: `volume ${volName}` });
    arr(at(vol, ['projected', 'sources'])).forEach((s, j) => {
      for (const [field, kind] of [['configMap', 'ConfigMap'], ['secret', 'Secret']] as const) {
        const r = rec(at(s, [field]));
        const name = str(r?.['name']);
        if (!r || !name || isOptional(r)) continue;
        out.push({ kind, name, path: [...base, 'projected', 'sources', j, field, 'name'], via: `volume ${volName}` });
      }
    });
  });
  return out;
}

function hasKey(obj: KObject, key: string): boolean {
  for (const field of ['data', 'binaryData', 'stringData']) {
    const m = rec(obj[field]);
    if (m && Object.prototype.hasOwnProperty.call(m, key)) return true;
  }
  return false;
}

function refProblem(ref: Ref, ns: string, ctx: CheckContext): Problem | undefined {
  const target = ctx.index.get(ref.kind, ns, ref.name);
  const where = ref.container ? ` (container ${ref.container}, ${ref.via})` : ` (${ref.via})`;
  const container = ref.container ? { container: ref.container } : {};
  if (!target) {
    return {
      severity: externalRefSeverity(ctx),
      message: `${ref.kind} '${ref.name}'${where} is not in namespace ${ns}${ctx.mode === 'cli' ? ' among the linted objects' : ''}; create it, fix the name, or mark the reference optional: true`,
      path: ref.path,
      ...container,
    };
  }
  if (ref.key !== undefined && !hasKey(target, ref.key)) {
    return {
      severity: 'warning',
      message: `${ref.kind} '${ref.name}' has no key '${ref.key}'${where}; add the key or fix the key name`,
      path: [...ref.path.slice(0, -1), 'key'],
      ...container,
    };
  }
  return undefined;
}

export const configReferenceMissing: Check = {
  id: 'config-reference-missing',
  severity: 'warning',
  description:
    'A ConfigMap or Secret referenced by env, envFrom or a volume (and not optional) must exist with the referenced key, or the pods never start; info in cli mode when the object may live elsewhere.',
  kinds: WORKLOAD_KINDS,
  scope: 'cross',
  admission: true,
  origin: { article: 'ConfigMap/Secret for configuration' },
  run(obj, ctx) {
    if (hasControllerOwner(obj)) return [];
    const ns = namespaceOf(obj);
    const out: Problem[] = [];
    for (const ref of configRefs(obj)) {
      const p = refProblem(ref, ns, ctx);
      if (p) out.push(p);
    }
    return out;
  },
};

export const serviceAccountMissing: Check = {
  id: 'service-account-missing',
  severity: 'warning',
  description:
    "A pod template naming a ServiceAccount that does not exist cannot create pods; info in cli mode when the account may be managed elsewhere ('default' is never reported).",
  kinds: WORKLOAD_KINDS,
  scope: 'cross',
  admission: true,
  origin: { kubeLinter: ['non-existent-service-account'] },
  run(obj, ctx) {
    if (hasControllerOwner(obj)) return [];
    const t = podTemplateOf(obj);
    if (!t) return [];
    const field = str(t.spec['serviceAccountName']) ? 'serviceAccountName' : 'serviceAccount';
    const name = str(t.spec[field]);
    if (!name || name === 'default') return [];
    const ns = namespaceOf(obj);
    if (ctx.index.get('ServiceAccount', ns, name)) return [];
    return [{
      severity: externalRefSeverity(ctx),
      message: `ServiceAccount '${name}' is not in namespace ${ns}${ctx.mode === 'cli' ? ' among the linted objects' : ''}; create it or fix ${field}`,
      path: [...t.specPath, field],
    }];
  },
};

export const REFERENCE_CHECKS: readonly Check[] = [configReferenceMissing, serviceAccountMissing];
