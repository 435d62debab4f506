/**
 * Environment-variable checks: secrets written in plain text into a manifest end up in git, in
 * `kubectl get -o yaml` and in every log that dumps the spec; duplicated names silently keep
 * only the last value.
 */
import { arr, at, isRecord, rec, str } from '../../objects.js';
import type { Check, Problem } from '../../types.js';
import { POD_KINDS, containerLabel, perContainer } from './util.js';

/** Names that usually hold a credential (kube-linter matches "secret"; we add the usual others). */
const SECRET_NAME = /secret|passw(or)?d|token|api[_-]?key|private[_-]?key|credential|access[_-]?key/i;

export const envVarSecret: Check = {
  id: 'env-var-secret',
  severity: 'warning',
  description: 'Environment variables whose name looks like a credential (PASSWORD, SECRET, TOKEN, API_KEY, ...) must not hold a literal value; read it from a Secret.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeLinter: ['env-var-secret'], polaris: ['sensitiveContainerEnvVar'], article: 'ConfigMap and Secret for configuration' },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      arr(c.container['env']).forEach((e, i) => {
        const env = rec(e);
        const name = str(env?.['name']);
        const value = str(env?.['value']);
        if (!name || !value || !SECRET_NAME.test(name)) return;
        out.push({
          message: `${containerLabel(c)}: env ${name} holds a literal value that looks like a secret; store it in a Secret and use valueFrom.secretKeyRef`,
          path: [...c.path, 'env', i, 'value'], container: c.name,
        });
      });
      return out;
    });
  },
};

export const envVarDuplicate: Check = {
  id: 'env-var-duplicate',
  severity: 'warning',
  description: 'A container must not define the same environment variable twice: only the last value takes effect.',
  kinds: POD_KINDS,
  scope: 'object',
  admission: true,
  origin: { kubeScore: ['environment-variable-key-duplication'], kubeLinter: ['duplicate-env-var'] },
  run(obj) {
    return perContainer<Problem>(obj, (c) => {
      const out: Problem[] = [];
      const seen = new Map<string, number>();
      arr(c.container['env']).forEach((e, i) => {
        const name = str(rec(e)?.['name']);
        if (!name) return;
        const first = seen.get(name);
        if (first === undefined) {
          seen.set(name, i);
          return;
        }
        out.push({
          message: `${containerLabel(c)}: env ${name} is defined again (first at env[${first}]); only the last value is used, remove one`,
          path: [...c.path, 'env', i, 'name'], container: c.name,
        });
      });
      return out;
    });
  },
};

/** Keys whose name looks like a credential but sit in a ConfigMap (readable by anyone who can read config). */
export const configMapSecretContent: Check = {
  id: 'configmap-secret-content',
  severity: 'warning',
  description: 'ConfigMaps must not hold credentials (keys like password, token, api_key): ConfigMaps are not access-controlled like Secrets.',
  kinds: ['ConfigMap'],
  scope: 'object',
  admission: true,
  origin: { polaris: ['sensitiveConfigmapContent'], article: 'ConfigMap and Secret for configuration' },
  run(obj) {
    const data = at(obj, ['data']);
    if (!isRecord(data)) return [];
    const out: Problem[] = [];
    for (const [k, v] of Object.entries(data)) {
      if (!SECRET_NAME.test(k) || typeof v !== 'string' || v === '') continue;
      out.push({
        message: `key ${k} looks like a credential stored in a ConfigMap; move it to a Secret and reference it with secretKeyRef or a secret volume`,
        path: ['data', k],
      });
    }
    return out;
  },
};

export const ENV_CHECKS: readonly Check[] = [envVarSecret, envVarDuplicate, configMapSecretContent];
