/**
 * The environment a container starts with, computed the way the kubelet computes it
 * (makeEnvironmentVariables + the Service link variables), as a pure function of the pod, its
 * container and the objects it refers to. The agent fetches the Services/ConfigMaps/Secrets
 * and applies the result; everything here is deterministic so it can be table-tested.
 *
 * Precedence (later wins): Service variables, then envFrom sources in order, then `env`
 * entries in order. Only `env[].value` is `$(VAR)`-expanded, against the variables declared so
 * far (envFrom + earlier env) and then the Service variables.
 */
import type { KObject } from '../../api/types.js';
import { isObject } from '../../api/types.js';
import { fieldRefValue, rec, resourceFieldRefValue, strMap } from '../downward.js';

export { fieldRefValue, resourceFieldRefValue } from '../downward.js';

export interface ContainerEnvInput {
  pod: KObject;
  /** The container spec (an element of spec.containers / initContainers). */
  container: Record<string, unknown>;
  /** Services of the pod's namespace plus the master `kubernetes` Service of `default`. */
  services: KObject[];
  configMaps: (ns: string, name: string) => KObject | undefined;
  secrets: (ns: string, name: string) => KObject | undefined;
  /** Used when the pod has no spec.nodeName yet. */
  nodeName?: string;
  hostIP?: string;
  /** All host IPs (status.hostIPs); defaults to [hostIP]. */
  hostIPs?: string[];
  podIP?: string;
  /** All pod IPs (status.podIPs); defaults to [podIP]. */
  podIPs?: string[];
  /** Node allocatable (e.g. {cpu: '4', memory: '8Gi'}): the value of a limit the container does not set. */
  nodeAllocatable?: Record<string, string>;
}

export interface ContainerEnvResult {
  env: Record<string, string>;
  /**
   * Problems that must stop the container from being created (the agent reports the first as
   * CreateContainerConfigError), e.g. `couldn't find key X in ConfigMap ns/name`.
   */
  errors: string[];
  /**
   * Non-fatal notices the kubelet records as Warning events with reason
   * InvalidEnvironmentVariableNames (envFrom keys that are not valid variable names).
   */
  warnings: string[];
}

/** The namespace and name of the apiserver's own Service, which every pod gets variables for. */
export const MASTER_SERVICE_NAMESPACE = 'default';
export const MASTER_SERVICE_NAME = 'kubernetes';

const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** True when `name` is accepted as an environment variable name from envFrom (IsEnvVarName). */
export function isEnvVarName(name: string): boolean {
  return ENV_VAR_NAME.test(name);
}

/** A Service gets variables only when it has a real cluster IP (not headless, not unset). */
export function isServiceIPSet(svc: KObject): boolean {
  const ip = rec(svc.spec).clusterIP;
  return typeof ip === 'string' && ip !== '' && ip !== 'None';
}

/** makeEnvVariableName: '-' and '.' become '_', upper-cased, a leading digit gets a '_' in front. */
function envName(s: string): string {
  const n = s.replace(/[-.]/g, '_').toUpperCase();
  return /^[0-9]/.test(n) ? `_${n}` : n;
}

function hostPort(ip: string, port: string): string {
  return ip.includes(':') ? `[${ip}]:${port}` : `${ip}:${port}`;
}

/**
 * The variables for a set of Services (envvars.FromServices): `<NAME>_SERVICE_HOST`,
 * `<NAME>_SERVICE_PORT` (first port), `<NAME>_SERVICE_PORT_<PORTNAME>` for named ports, and the
 * docker-link style `<NAME>_PORT` (first port) and `<NAME>_PORT_<port>_<PROTO>[_PROTO|_PORT|_ADDR]`.
 */
export function serviceEnvVars(services: readonly KObject[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const spec = rec(svc.spec);
    const ip = spec.clusterIP as string;
    const prefix = envName(svc.metadata.name ?? '');
    const ports = Array.isArray(spec.ports) ? spec.ports.map(rec) : [];
    out[`${prefix}_SERVICE_HOST`] = ip;
    if (ports.length > 0) out[`${prefix}_SERVICE_PORT`] = String(ports[0]!.port);
    for (const p of ports) {
      if (typeof p.name === 'string' && p.name !== '') out[`${prefix}_SERVICE_PORT_${envName(p.name)}`] = String(p.port);
    }
    ports.forEach((p, i) => {
      const proto = typeof p.protocol === 'string' && p.protocol !== '' ? p.protocol : 'TCP';
      const lower = proto.toLowerCase();
      const port = String(p.port);
      const url = `${lower}://${hostPort(ip, port)}`;
      if (i === 0) out[`${prefix}_PORT`] = url;
      const pp = `${prefix}_PORT_${port}_${proto.toUpperCase()}`;
      out[pp] = url;
      out[`${pp}_PROTO`] = lower;
      out[`${pp}_PORT`] = port;
      out[`${pp}_ADDR`] = ip;
    });
  }
  return out;
}

/**
 * Which Services a pod gets variables for (getServiceEnvVarMap): the master `kubernetes`
 * Service of `default` always; the pod's namespace's Services when service links are enabled,
 * a same-named one there taking the master's place.
 */
export function servicesForPod(
  services: readonly KObject[],
  opts: { namespace: string; enableServiceLinks: boolean },
): KObject[] {
  const { namespace: ns, enableServiceLinks } = opts;
  const chosen = new Map<string, KObject>();
  for (const svc of services) {
    if (!isServiceIPSet(svc)) continue;
    const name = svc.metadata.name ?? '';
    const svcNs = svc.metadata.namespace ?? '';
    if (svcNs === MASTER_SERVICE_NAMESPACE && name === MASTER_SERVICE_NAME) {
      if (!chosen.has(name)) chosen.set(name, svc);
    } else if (svcNs === ns && enableServiceLinks) {
      chosen.set(name, svc);
    }
  }
  return [...chosen.values()].sort((a, b) => (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''));
}

/**
 * `$(VAR)` expansion with kube's rules: `$$` is a literal `$`, a reference that resolves to
 * nothing is left as written, an unterminated `$(` and any other `$x` are kept verbatim.
 */
export function expandVars(input: string, lookup: (name: string) => string | undefined): string {
  let out = '';
  let i = 0;
  while (i < input.length) {
    const c = input[i]!;
    if (c !== '$' || i + 1 >= input.length) {
      out += c;
      i++;
      continue;
    }
    const next = input[i + 1]!;
    if (next === '$') {
      out += '$';
      i += 2;
    } else if (next === '(') {
      const close = input.indexOf(')', i + 2);
      if (close < 0) {
        out += '$(';
        i += 2;
      } else {
        const name = input.slice(i + 2, close);
        out += lookup(name) ?? `$(${name})`;
        i = close + 1;
      }
    } else {
      out += '$' + next;
      i += 2;
    }
  }
  return out;
}

function decodeSecretData(secret: KObject): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(strMap(secret.data))) out[k] = Buffer.from(v, 'base64').toString('utf8');
  // stringData is folded into data by the API server; honour it for objects that never went through it.
  for (const [k, v] of Object.entries(strMap(secret.stringData))) if (!(k in out)) out[k] = v;
  return out;
}

/** Compute the environment of `input.container` as the kubelet would. Never throws. */
export function containerEnv(input: ContainerEnvInput): ContainerEnvResult {
  const { pod, container } = input;
  const ns = pod.metadata.namespace ?? 'default';
  const spec = rec(pod.spec);
  const errors: string[] = [];
  const warnings: string[] = [];
  const serviceEnv = serviceEnvVars(servicesForPod(input.services, { namespace: ns, enableServiceLinks: spec.enableServiceLinks !== false }));
  const declared: Record<string, string> = {};

  const cmCache = new Map<string, KObject | undefined>();
  const getCM = (name: string): KObject | undefined => {
    if (!cmCache.has(name)) cmCache.set(name, input.configMaps(ns, name));
    return cmCache.get(name);
  };
  const secretCache = new Map<string, Record<string, string> | undefined>();
  const getSecret = (name: string): Record<string, string> | undefined => {
    if (!secretCache.has(name)) {
      const s = input.secrets(ns, name);
      secretCache.set(name, s ? decodeSecretData(s) : undefined);
    }
    return secretCache.get(name);
  };

  for (const raw of Array.isArray(container.envFrom) ? container.envFrom : []) {
    const src = rec(raw);
    const prefix = typeof src.prefix === 'string' ? src.prefix : '';
    const isCM = isObject(src.configMapRef);
    const ref = rec(isCM ? src.configMapRef : src.secretRef);
    if (!isObject(src.configMapRef) && !isObject(src.secretRef)) continue;
    const name = typeof ref.name === 'string' ? ref.name : '';
    const optional = ref.optional === true;
    let data: Record<string, string> | undefined;
    if (isCM) {
      const cm = getCM(name);
      data = cm ? strMap(cm.data) : undefined;
    } else {
      data = getSecret(name);
    }
    if (!data) {
      if (!optional) errors.push(`${isCM ? 'configmap' : 'secret'} "${name}" not found`);
      continue;
    }
    const invalid: string[] = [];
    for (const [key, value] of Object.entries(data)) {
      const k = prefix + key;
      if (!isEnvVarName(k)) {
        invalid.push(k);
        continue;
      }
      declared[k] = value;
    }
    if (invalid.length > 0) {
      invalid.sort();
      warnings.push(
        `Keys [${invalid.join(', ')}] from the EnvFrom ${isCM ? 'configMap' : 'secret'} ${ns}/${name} were skipped since they are considered invalid environment variable names.`,
      );
    }
  }

  const lookup = (n: string): string | undefined =>
    Object.prototype.hasOwnProperty.call(declared, n) ? declared[n] : Object.prototype.hasOwnProperty.call(serviceEnv, n) ? serviceEnv[n] : undefined;

  for (const raw of Array.isArray(container.env) ? container.env : []) {
    const e = rec(raw);
    const name = typeof e.name === 'string' ? e.name : '';
    let value = typeof e.value === 'string' ? e.value : '';
    if (value !== '') {
      value = expandVars(value, lookup);
    } else if (isObject(e.valueFrom)) {
      const vf = e.valueFrom;
      try {
        if (isObject(vf.fieldRef)) {
          value = fieldRefValue(String(vf.fieldRef.fieldPath ?? ''), input);
        } else if (isObject(vf.resourceFieldRef)) {
          const ref = vf.resourceFieldRef;
          const target = typeof ref.containerName === 'string' && ref.containerName !== '' ? findContainer(pod, ref.containerName) : container;
          value = resourceFieldRefValue(ref, target ?? container, { nodeAllocatable: input.nodeAllocatable });
        } else if (isObject(vf.configMapKeyRef) || isObject(vf.secretKeyRef)) {
          const isCM = isObject(vf.configMapKeyRef);
          const ref = rec(isCM ? vf.configMapKeyRef : vf.secretKeyRef);
          const refName = typeof ref.name === 'string' ? ref.name : '';
          const key = typeof ref.key === 'string' ? ref.key : '';
          const optional = ref.optional === true;
          const data = isCM ? (getCM(refName) ? strMap(getCM(refName)!.data) : undefined) : getSecret(refName);
          if (!data) {
            if (!optional) errors.push(`${isCM ? 'configmap' : 'secret'} "${refName}" not found`);
            continue;
          }
          if (!Object.prototype.hasOwnProperty.call(data, key)) {
            if (!optional) errors.push(`couldn't find key ${key} in ${isCM ? 'ConfigMap' : 'Secret'} ${ns}/${refName}`);
            continue;
          }
          value = data[key]!;
        }
      } catch (err) {
        errors.push((err as Error).message);
        continue;
      }
    }
    declared[name] = value;
  }

  return { env: { ...serviceEnv, ...declared }, errors, warnings };
}

function findContainer(pod: KObject, name: string): Record<string, unknown> | undefined {
  const spec = rec(pod.spec);
  for (const list of [spec.containers, spec.initContainers]) {
    if (!Array.isArray(list)) continue;
    const found = list.map(rec).find((c) => c.name === name);
    if (found) return found;
  }
  return undefined;
}

/** The environment as `NAME=value` lines' entries, sorted by name (for exec-style APIs). */
export function envList(env: Record<string, string>): string[] {
  return Object.keys(env)
    .sort()
    .map((k) => `${k}=${env[k]}`);
}
