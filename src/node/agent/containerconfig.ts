/**
 * From a pod's container spec to the runtime's ContainerConfig: argv, env, mounts, resources,
 * log path and the identifying labels — computed the way the kubelet's generateContainerConfig
 * + the container runtime do it, so the pod worker only has to hand the result to createContainer.
 *
 * Pure except for the subPath handling, which (like the kubelet) creates a missing subPath
 * directory inside its volume and resolves symlinks so a subPath cannot escape its volume.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { isObject, type KObject } from '../../api/types.js';
import { quantityMilli, quantityValue } from '../../controllers/scheduler/quantity.js';
import type { ContainerConfig, ContainerResources, Mount } from '../runtime/cri.js';
import { containerEnv, expandVars } from '../runtime/env.js';
import { resolveImage, type BuiltinName, type ImageCatalog, type ResolvedImage } from '../runtime/images.js';
import { podHostname } from '../network/resolvconf.js';
import { READ_ONLY_KINDS, volumeKind, type ObjectLookup } from './volumes.js';

/** Script file (without extension) under src/node/images for each node-run builtin. */
const BUILTIN_SCRIPT: Partial<Record<BuiltinName, string>> = {
  'kubelite/demo-web': 'demo-web',
  agnhost: 'agnhost',
};

/** The program names a real image's own entrypoint has; a `command` naming one runs our builtin. */
const BUILTIN_PROGRAMS: Partial<Record<BuiltinName, readonly string[]>> = {
  agnhost: ['/agnhost', 'agnhost'],
  'kubelite/demo-web': ['/demo-web', 'demo-web'],
};

/** The image's default arguments (Dockerfile CMD) where the real image has one: agnhost's is `pause`. */
const BUILTIN_DEFAULT_ARGS: Partial<Record<BuiltinName, readonly string[]>> = {
  agnhost: ['pause'],
};

/** The environment an image provides before the pod's own (docker's default PATH; HOME as containerd sets it). */
export const IMAGE_DEFAULT_PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';

/**
 * argv that runs a builtin image on this host: node + the compiled script. When the agent itself
 * runs from TypeScript sources (this module's URL ends in .ts) the script is transpiled once
 * with esbuild (which tsx brings) into a cache file and run by plain node: running it under tsx's
 * loader would cost each container ~40 MB more and an esbuild helper process inside its cgroup,
 * which the seed sample's 128Mi limit would feel. `shell` is /bin/sh.
 */
export function builtinEntrypoint(name: BuiltinName): string[] {
  const script = BUILTIN_SCRIPT[name];
  if (script === undefined) return ['/bin/sh'];
  const here = import.meta.url;
  if (here.endsWith('.ts')) return [process.execPath, transpiledBuiltin(fileURLToPath(new URL(`../images/${script}.ts`, here)))];
  return [process.execPath, fileURLToPath(new URL(`../images/${script}.js`, here))];
}

/** The builtin's TypeScript source as plain ESM in a content-addressed cache file (built once). */
function transpiledBuiltin(source: string): string {
  const code = fs.readFileSync(source, 'utf8');
  const hash = createHash('sha256').update(code).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `kubelite-builtins-${process.getuid?.() ?? 'u'}`);
  const out = path.join(dir, `${path.basename(source, '.ts')}-${hash}.mjs`);
  if (fs.existsSync(out)) return out;
  const esbuild = createRequire(import.meta.url)('esbuild') as { transformSync(c: string, o: Record<string, unknown>): { code: string } };
  const js = esbuild.transformSync(code, { loader: 'ts', format: 'esm', target: 'node20', sourcefile: source }).code;
  fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
  const tmp = `${out}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, js, { mode: 0o644 });
  fs.renameSync(tmp, out);
  return out;
}

/**
 * The container's argv with Kubernetes' (containerd's) rules over the image: no command → the
 * image entrypoint followed by `args`, or by the image's default args when `args` is empty too;
 * a command → command + args (the image's default args are dropped). For a `command` image the
 * first element of the mapped command is the entrypoint and the rest are its default args. A
 * command whose argv[0] is the image's own program (`/agnhost`, `agnhost`) runs the builtin.
 */
export function containerArgv(image: ResolvedImage & { kind: 'builtin' | 'command' }, container: { command?: string[]; args?: string[] }): string[] {
  let entry: string[];
  let defaultArgs: string[];
  let programs: readonly string[];
  if (image.kind === 'builtin') {
    entry = builtinEntrypoint(image.name);
    defaultArgs = [...(image.args ?? BUILTIN_DEFAULT_ARGS[image.name] ?? [])];
    programs = BUILTIN_PROGRAMS[image.name] ?? [];
  } else {
    entry = image.command.slice(0, 1);
    defaultArgs = image.command.slice(1);
    programs = [];
  }
  const command = container.command ?? [];
  const args = container.args ?? [];
  if (command.length === 0) return [...entry, ...(args.length > 0 ? args : defaultArgs)];
  const head = programs.includes(command[0]!) ? entry : [command[0]!];
  return [...head, ...command.slice(1), ...args];
}

export type ConfigResult =
  | { ok: true; config: ContainerConfig; warnings: string[] }
  | { ok: false; reason: 'CreateContainerConfigError' | 'ErrImagePull' | 'InvalidImageName'; message: string };

export interface ContainerConfigInput {
  /** Set when the pod shares the host network: the address built-in images listen on (the pod IP). */
  bindAddress?: string;
  pod: KObject;
  container: Record<string, unknown>;
  attempt: number;
  catalog: ImageCatalog;
  /** Volume name → host path, from PodVolumes.setUp. */
  volumePaths: Map<string, string>;
  /** From writePodFiles; `hostnamePath` (optional) adds an /etc/hostname mount as container runtimes do. */
  podFiles: { hostsPath: string; resolvConfPath: string; hostnamePath?: string };
  /** kubelet: /var/log/pods/<ns>_<name>_<uid>. */
  podLogDir: string;
  services: KObject[];
  lookup: ObjectLookup;
  podIP: string;
  podIPs?: string[];
  hostIP: string;
  hostIPs?: string[];
  nodeName: string;
  nodeAllocatable?: Record<string, string>;
  /** The pod's hostname for $HOSTNAME (writePodFiles' result); default: derived from the pod. */
  hostname?: string;
}

/** Label keys the kubelet puts on every container (and uses to find a pod's containers). */
export const LABEL_POD_NAME = 'io.kubernetes.pod.name';
export const LABEL_POD_NAMESPACE = 'io.kubernetes.pod.namespace';
export const LABEL_POD_UID = 'io.kubernetes.pod.uid';
export const LABEL_CONTAINER_NAME = 'io.kubernetes.container.name';
/** Annotation keys the kubelet sets on containers. The hash changes whenever the container spec does. */
export const ANNOTATION_CONTAINER_HASH = 'io.kubernetes.container.hash';
export const ANNOTATION_RESTART_COUNT = 'io.kubernetes.container.restartCount';
export const ANNOTATION_TERMINATION_MESSAGE_PATH = 'io.kubernetes.container.terminationMessagePath';
export const ANNOTATION_TERMINATION_MESSAGE_POLICY = 'io.kubernetes.container.terminationMessagePolicy';
export const ANNOTATION_TERMINATION_GRACE_PERIOD = 'io.kubernetes.pod.terminationGracePeriod';

function rec(v: unknown): Record<string, unknown> {
  return isObject(v) ? v : {};
}

function strList(v: unknown): string[] | undefined {
  return Array.isArray(v) ? v.map((x) => String(x)) : undefined;
}

/** JSON with sorted keys, so equal specs hash equally whatever their field order. */
function stableJSON(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(stableJSON).join(',')}]`;
  if (isObject(v)) return `{${Object.keys(v).sort().map((k) => `${JSON.stringify(k)}:${stableJSON(v[k])}`).join(',')}}`;
  return JSON.stringify(v) ?? 'null';
}

/** A short hex hash of a container spec (kubelet's io.kubernetes.container.hash): a change means "restart it". */
export function containerHash(container: Record<string, unknown>): string {
  return createHash('sha256').update(stableJSON(container)).digest('hex').slice(0, 8);
}

/** memory/cpu limits and the cpu request, in the runtime's units (a cpu limit alone implies the request, as API defaulting does). */
export function containerResources(container: Record<string, unknown>): ContainerResources {
  const res = rec(container.resources);
  const limits = rec(res.limits);
  const requests = rec(res.requests);
  const has = (m: Record<string, unknown>, k: string): boolean => typeof m[k] === 'string' || typeof m[k] === 'number';
  const out: ContainerResources = {};
  if (has(limits, 'memory')) out.memoryLimitBytes = quantityValue(limits.memory as string);
  if (has(limits, 'cpu')) out.cpuLimitMillis = quantityMilli(limits.cpu as string);
  if (has(requests, 'cpu')) out.cpuRequestMillis = quantityMilli(requests.cpu as string);
  else if (has(limits, 'cpu')) out.cpuRequestMillis = out.cpuLimitMillis;
  return out;
}

class ConfigError extends Error {}

/** Everything the runtime needs for one container; see ConfigResult for the failure reasons. */
export function buildContainerConfig(input: ContainerConfigInput): ConfigResult {
  const { pod, container } = input;
  const name = String(container.name ?? '');
  const imageRef = typeof container.image === 'string' ? container.image : '';
  const image = resolveImage(imageRef, input.catalog);
  if (image.kind === 'unmapped') return { ok: false, reason: image.reason, message: image.message };

  const envResult = containerEnv({
    pod,
    container,
    services: input.services,
    configMaps: (ns, n) => input.lookup.configMap(ns, n),
    secrets: (ns, n) => input.lookup.secret(ns, n),
    nodeName: input.nodeName,
    hostIP: input.hostIP,
    hostIPs: input.hostIPs,
    podIP: input.podIP,
    podIPs: input.podIPs,
    nodeAllocatable: input.nodeAllocatable,
  });
  if (envResult.errors.length > 0) return { ok: false, reason: 'CreateContainerConfigError', message: envResult.errors[0]! };
  const podEnv = envResult.env;
  const hostname = input.hostname ?? podHostname({ name: pod.metadata.name ?? '', hostname: typeof rec(pod.spec).hostname === 'string' ? (rec(pod.spec).hostname as string) : undefined });
  // Pods sharing the host network (no root) each have their own loopback address: the built-in
  // servers bind it instead of 0.0.0.0 so that replicas listening on one port don't collide.
  const bind: Record<string, string> = input.bindAddress ? { KUBELITE_BIND_ADDRESS: input.bindAddress, AGNHOST_BIND_ADDRESS: input.bindAddress } : {};
  const env: Record<string, string> = { PATH: IMAGE_DEFAULT_PATH, HOSTNAME: hostname, HOME: '/root', ...bind, ...podEnv };

  // The kubelet expands $(VAR) in command and args against the container's own env (not the image's).
  const lookupVar = (n: string): string | undefined => (Object.prototype.hasOwnProperty.call(podEnv, n) ? podEnv[n] : undefined);
  const command = strList(container.command)?.map((s) => expandVars(s, lookupVar));
  const args = strList(container.args)?.map((s) => expandVars(s, lookupVar));
  const argv = containerArgv(image, { command, args });

  let mounts: Mount[];
  try {
    mounts = containerMounts(input, podEnv);
  } catch (e) {
    if (e instanceof ConfigError) return { ok: false, reason: 'CreateContainerConfigError', message: e.message };
    throw e;
  }

  const spec = rec(pod.spec);
  const annotations: Record<string, string> = {
    [ANNOTATION_CONTAINER_HASH]: containerHash(container),
    [ANNOTATION_RESTART_COUNT]: String(input.attempt),
    [ANNOTATION_TERMINATION_MESSAGE_PATH]: typeof container.terminationMessagePath === 'string' ? container.terminationMessagePath : '/dev/termination-log',
    [ANNOTATION_TERMINATION_MESSAGE_POLICY]: typeof container.terminationMessagePolicy === 'string' ? container.terminationMessagePolicy : 'File',
  };
  if (typeof spec.terminationGracePeriodSeconds === 'number') annotations[ANNOTATION_TERMINATION_GRACE_PERIOD] = String(spec.terminationGracePeriodSeconds);

  const config: ContainerConfig = {
    name,
    attempt: input.attempt,
    command: argv,
    env,
    logPath: path.join(input.podLogDir, name, `${input.attempt}.log`),
    labels: {
      [LABEL_POD_NAME]: pod.metadata.name ?? '',
      [LABEL_POD_NAMESPACE]: pod.metadata.namespace ?? '',
      [LABEL_POD_UID]: pod.metadata.uid ?? '',
      [LABEL_CONTAINER_NAME]: name,
    },
    annotations,
    image: imageRef,
    mounts,
    resources: containerResources(container),
  };
  if (typeof container.workingDir === 'string' && container.workingDir !== '') config.workingDir = container.workingDir;
  return { ok: true, config, warnings: envResult.warnings };
}

/**
 * volumeMounts → bind mounts (kubelet makeMounts), then /etc/hosts, /etc/resolv.conf and /etc/hostname
 * from the pod's files unless the container mounts something there itself. /etc/hosts is only
 * mounted once the pod has an IP, as the kubelet does.
 */
function containerMounts(input: ContainerConfigInput, env: Record<string, string>): Mount[] {
  const { pod, container } = input;
  const cname = String(container.name ?? '');
  const volumeKinds = new Map<string, ReturnType<typeof volumeKind>>();
  for (const v of Array.isArray(rec(pod.spec).volumes) ? (rec(pod.spec).volumes as unknown[]).filter(isObject) : []) {
    volumeKinds.set(String(v.name ?? ''), volumeKind(v));
  }
  const mounts: Mount[] = [];
  const claimed = new Set<string>();
  for (const vm of Array.isArray(container.volumeMounts) ? container.volumeMounts.filter(isObject) : []) {
    const volName = String(vm.name ?? '');
    const mountPath = String(vm.mountPath ?? '');
    claimed.add(path.posix.normalize(mountPath));
    const volPath = input.volumePaths.get(volName);
    if (volPath === undefined) throw new ConfigError(`cannot find volume "${volName}" to mount into container "${cname}"`);
    let subPath = typeof vm.subPath === 'string' ? vm.subPath : '';
    if (typeof vm.subPathExpr === 'string' && vm.subPathExpr !== '') subPath = expandSubPath(vm.subPathExpr, env);
    const hostPath = subPath === '' ? volPath : resolveSubPath(volPath, subPath);
    const kind = volumeKinds.get(volName);
    const readonly = vm.readOnly === true || (kind !== undefined && READ_ONLY_KINDS.has(kind));
    mounts.push({ containerPath: mountPath, hostPath, readonly });
  }
  const spec = rec(pod.spec);
  const hasIP = input.podIP !== '' || (input.podIPs?.length ?? 0) > 0 || spec.hostNetwork === true;
  // An empty host path means "no such file written" (e.g. a caller without pod files yet): no mount.
  const managed = (containerPath: string, hostPath: string | undefined, when = true): void => {
    if (when && hostPath !== undefined && hostPath !== '' && !claimed.has(containerPath)) mounts.push({ containerPath, hostPath, readonly: false });
  };
  managed('/etc/hosts', input.podFiles.hostsPath, hasIP);
  managed('/etc/resolv.conf', input.podFiles.resolvConfPath);
  managed('/etc/hostname', input.podFiles.hostnamePath);
  return mounts;
}

/** subPathExpr expansion (kubelet ExpandContainerVolumeMounts): every referenced variable must be set and non-empty. */
export function expandSubPath(expr: string, env: Record<string, string>): string {
  const missing = new Set<string>();
  const out = expandVars(expr, (n) => {
    const v = Object.prototype.hasOwnProperty.call(env, n) ? env[n] : undefined;
    if (v === undefined || v === '') missing.add(n);
    return v ?? '';
  });
  if (missing.size > 0) throw new ConfigError(`missing value for ${[...missing].sort().join(', ')}`);
  return out;
}

/**
 * `volPath/subPath` with the kubelet's checks: relative, no `..`, created as a directory (with the
 * volume's permissions) when missing, and — after following symlinks — still inside the volume.
 * Symlinks are resolved here, so a configMap key mounted by subPath is pinned to its current
 * payload (and, as in Kubernetes, does not see later updates).
 */
function resolveSubPath(volPath: string, subPath: string): string {
  if (path.isAbsolute(subPath)) throw new ConfigError(`error SubPath \`${subPath}\` must not be an absolute path`);
  if (subPath.split('/').includes('..')) throw new ConfigError(`unable to provision SubPath \`${subPath}\`: must not contain '..'`);
  const joined = path.join(volPath, subPath);
  try {
    let exists = true;
    try {
      fs.lstatSync(joined);
    } catch {
      exists = false;
    }
    if (!exists) {
      const mode = fs.statSync(volPath).mode & 0o7777;
      fs.mkdirSync(joined, { recursive: true, mode });
      fs.chmodSync(joined, mode);
    }
    const realVol = fs.realpathSync(volPath);
    const real = fs.realpathSync(joined);
    if (real !== realVol && !real.startsWith(realVol + path.sep)) throw new ConfigError(`subpath "${real}" not within volume path "${realVol}"`);
    return real;
  } catch (e) {
    if (e instanceof ConfigError) throw e;
    throw new ConfigError(`failed to prepare subPath for volumeMount "${subPath}": ${(e as Error).message}`);
  }
}
