/**
 * The files a kubelet puts in a configMap, secret, downwardAPI or projected volume, computed from
 * the pod and the referenced objects and nothing else (no I/O): the caller looks objects up,
 * `atomic.ts` writes the result. Errors use the kubelet's wording, since they end up in
 * `MountVolume.SetUp failed for volume "v" : <error>` events users search for.
 */
import { isObject, type KObject } from '../../api/types.js';
import { fieldRefValue, resourceFieldRefValue } from '../downward.js';

export interface VolumeFile {
  /** Relative path inside the volume (validated: not absolute, no `..` element). */
  path: string;
  content: Buffer;
  /** Permission bits, e.g. 0o644. */
  mode: number;
}

export interface VolumeContents {
  files: VolumeFile[];
  /** Set when the volume cannot be set up; `files` is then empty. */
  error?: string;
  /** Things deliberately not produced (e.g. serviceAccountToken projections), for logs. */
  notes?: string[];
}

export interface VolumeContext {
  pod: KObject;
  configMaps: (namespace: string, name: string) => KObject | undefined;
  secrets: (namespace: string, name: string) => KObject | undefined;
  /**
   * Node allocatable, used by resourceFieldRef for a limit the container does not set (as the
   * kubelet does). Without it an unset limit reads as 0.
   */
  nodeAllocatable?: Record<string, string | number>;
}

/** Kube's API default for defaultMode (420 decimal). */
export const DEFAULT_MODE = 0o644;

type Obj = Record<string, unknown>;

class VolumeError extends Error {}

/**
 * Computes a volume's files. Kinds that carry no files (emptyDir, hostPath, ...) give `{files: []}`.
 * Later files with the same path replace earlier ones (projected sources are applied in order).
 */
export function volumeFiles(volume: Obj, ctx: VolumeContext): VolumeContents {
  const notes: string[] = [];
  try {
    const files = new Map<string, VolumeFile>();
    const add = (list: VolumeFile[]): void => {
      for (const f of list) files.set(f.path, f);
    };
    if (isObject(volume.configMap)) add(keyedFiles('configmap', volume.configMap, ctx, undefined));
    else if (isObject(volume.secret)) add(keyedFiles('secret', volume.secret, ctx, undefined));
    else if (isObject(volume.downwardAPI)) add(downwardFiles(volume.downwardAPI, ctx, undefined));
    else if (isObject(volume.projected)) add(projectedFiles(volume.projected, ctx, notes));
    const out: VolumeContents = { files: [...files.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0)) };
    if (notes.length > 0) out.notes = notes;
    return out;
  } catch (e) {
    if (e instanceof VolumeError) return { files: [], error: e.message, ...(notes.length ? { notes } : {}) };
    throw e;
  }
}

function projectedFiles(src: Obj, ctx: VolumeContext, notes: string[]): VolumeFile[] {
  const defaultMode = modeOf(src.defaultMode, DEFAULT_MODE);
  const out: VolumeFile[] = [];
  const sources = Array.isArray(src.sources) ? src.sources : [];
  for (const s of sources) {
    if (!isObject(s)) continue;
    if (isObject(s.configMap)) out.push(...keyedFiles('configmap', s.configMap, ctx, defaultMode));
    else if (isObject(s.secret)) out.push(...keyedFiles('secret', s.secret, ctx, defaultMode));
    else if (isObject(s.downwardAPI)) out.push(...downwardFiles(s.downwardAPI, ctx, defaultMode));
    else if (isObject(s.serviceAccountToken)) {
      notes.push(`serviceAccountToken projection to ${String(s.serviceAccountToken.path ?? '')} skipped: token issuing is not supported`);
    } else if (isObject(s.clusterTrustBundle)) {
      notes.push('clusterTrustBundle projection skipped: not supported');
    }
  }
  return out;
}

/**
 * configMap / secret (as a volume or a projected source). In a projected source the mode default
 * comes from the projected volume (`inheritedMode`); a plain volume uses its own defaultMode.
 */
function keyedFiles(kind: 'configmap' | 'secret', src: Obj, ctx: VolumeContext, inheritedMode: number | undefined): VolumeFile[] {
  // A secret volume names its secret in secretName; a projected secret source uses name.
  const name = String((kind === 'secret' ? (src.secretName ?? src.name) : src.name) ?? '');
  const ns = ctx.pod.metadata.namespace ?? 'default';
  const optional = src.optional === true;
  const defaultMode = inheritedMode ?? modeOf(src.defaultMode, DEFAULT_MODE);
  const obj = kind === 'configmap' ? ctx.configMaps(ns, name) : ctx.secrets(ns, name);
  if (obj === undefined) {
    if (optional) return [];
    throw new VolumeError(`${kind} "${name}" not found`);
  }
  const payload = new Map<string, Buffer>();
  if (kind === 'configmap') {
    for (const [k, v] of Object.entries(isObject(obj.data) ? obj.data : {})) payload.set(k, Buffer.from(String(v), 'utf8'));
    for (const [k, v] of Object.entries(isObject(obj.binaryData) ? obj.binaryData : {})) payload.set(k, Buffer.from(String(v), 'base64'));
  } else {
    for (const [k, v] of Object.entries(isObject(obj.data) ? obj.data : {})) payload.set(k, Buffer.from(String(v), 'base64'));
  }
  const items = Array.isArray(src.items) ? src.items.filter(isObject) : [];
  const out: VolumeFile[] = [];
  if (items.length === 0) {
    for (const [k, content] of payload) out.push({ path: checkPath(k), content, mode: defaultMode });
    return out;
  }
  for (const it of items) {
    const key = String(it.key ?? '');
    const content = payload.get(key);
    if (content === undefined) {
      if (optional) continue;
      throw new VolumeError(kind === 'configmap' ? `configmap references non-existent config key: ${key}` : `secret references non-existent secret key: ${key}`);
    }
    out.push({ path: checkPath(String(it.path ?? '')), content, mode: modeOf(it.mode, defaultMode) });
  }
  return out;
}

function downwardFiles(src: Obj, ctx: VolumeContext, inheritedMode: number | undefined): VolumeFile[] {
  const defaultMode = inheritedMode ?? modeOf(src.defaultMode, DEFAULT_MODE);
  const items = Array.isArray(src.items) ? src.items.filter(isObject) : [];
  return items.map((it) => {
    const path = checkPath(String(it.path ?? ''));
    let text: string;
    if (isObject(it.fieldRef)) text = volumeFieldValue(String(it.fieldRef.fieldPath ?? ''), ctx.pod);
    else if (isObject(it.resourceFieldRef)) text = resourceFieldValue(it.resourceFieldRef, ctx);
    else throw new VolumeError(`downwardAPI item ${path} has neither fieldRef nor resourceFieldRef`);
    return { path, content: Buffer.from(text, 'utf8'), mode: modeOf(it.mode, defaultMode) };
  });
}

/** fieldRef paths a downwardAPI volume accepts: metadata only (spec.nodeName etc. are env-only in kube). */
function volumeFieldValue(fieldPath: string, pod: KObject): string {
  if (!fieldPath.startsWith('metadata.')) throw new VolumeError(`unsupported fieldPath: ${fieldPath}`);
  try {
    return fieldRefValue(fieldPath, { pod });
  } catch (err) {
    throw new VolumeError((err as Error).message);
  }
}

/** resourceFieldRef of the named container (the first when unnamed), as the env var would read it. */
function resourceFieldValue(ref: Obj, ctx: VolumeContext): string {
  const containerName = String(ref.containerName ?? '');
  const spec = isObject(ctx.pod.spec) ? ctx.pod.spec : {};
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])].filter(isObject);
  const c = containerName === '' ? containers[0] : containers.find((x) => x.name === containerName);
  if (c === undefined) throw new VolumeError(`container ${containerName} not found`);
  const allocatable: Record<string, string> = {};
  for (const [k, v] of Object.entries(ctx.nodeAllocatable ?? {})) allocatable[k] = String(v);
  try {
    return resourceFieldRefValue(ref, c, { nodeAllocatable: allocatable });
  } catch (err) {
    throw new VolumeError((err as Error).message);
  }
}

/** Kube's rule for volume item paths: relative, no `..` element, not starting with `..`. */
export function checkPath(path: string): string {
  if (path === '') throw new VolumeError('invalid path "": must not be empty');
  if (path.startsWith('/')) throw new VolumeError(`invalid path "${path}": must be a relative path`);
  if (path.split('/').includes('..')) throw new VolumeError(`invalid path "${path}": must not contain '..'`);
  if (path.startsWith('..')) throw new VolumeError(`invalid path "${path}": must not start with '..'`);
  return path;
}

function modeOf(v: unknown, fallback: number): number {
  return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 0o777 ? v : fallback;
}
