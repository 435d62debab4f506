/**
 * The files a kubelet puts in a configMap, secret, downwardAPI or projected volume, computed from
 * the pod and the referenced objects and nothing else (no I/O): the caller looks objects up,
 * `atomic.ts` writes the result. Errors use the kubelet's wording, since they end up in
 * `MountVolume.SetUp failed for volume "v" : <error>` events users search for.
 */
import { isObject, type KObject } from '../../api/types.js';
import { parseQuantity } from '../../api/validation/quantity.js';

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
    if (isObject(it.fieldRef)) text = fieldRefValue(String(it.fieldRef.fieldPath ?? ''), ctx.pod);
    else if (isObject(it.resourceFieldRef)) text = resourceFieldValue(it.resourceFieldRef, ctx);
    else throw new VolumeError(`downwardAPI item ${path} has neither fieldRef nor resourceFieldRef`);
    return { path, content: Buffer.from(text, 'utf8'), mode: modeOf(it.mode, defaultMode) };
  });
}

/** fieldRef paths a downwardAPI volume accepts (spec.nodeName etc. are env-only in kube). */
export function fieldRefValue(fieldPath: string, pod: KObject): string {
  const md = pod.metadata;
  const sub = /^metadata\.(labels|annotations)\['(.*)'\]$/.exec(fieldPath);
  if (sub) {
    const map = (sub[1] === 'labels' ? md.labels : md.annotations) ?? {};
    return map[sub[2]] ?? '';
  }
  switch (fieldPath) {
    case 'metadata.name':
      return md.name ?? '';
    case 'metadata.namespace':
      return md.namespace ?? '';
    case 'metadata.uid':
      return md.uid ?? '';
    case 'metadata.labels':
      return formatMap(md.labels ?? {});
    case 'metadata.annotations':
      return formatMap(md.annotations ?? {});
    default:
      throw new VolumeError(`unsupported fieldPath: ${fieldPath}`);
  }
}

/** Kube's FormatMap: `key="value"` lines, keys sorted, values Go-%q quoted, no trailing newline. */
export function formatMap(m: Record<string, string>): string {
  return Object.keys(m)
    .sort()
    .map((k) => `${k}=${goQuote(m[k])}`)
    .join('\n');
}

/** Go's %q for strings: double-quoted with Go escapes; printable non-ASCII stays as is. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const cp = ch.codePointAt(0) ?? 0;
    if (ch === '"') out += '\\"';
    else if (ch === '\\') out += '\\\\';
    else if (ch === '\n') out += '\\n';
    else if (ch === '\t') out += '\\t';
    else if (ch === '\r') out += '\\r';
    else if (ch === '\x07') out += '\\a';
    else if (ch === '\b') out += '\\b';
    else if (ch === '\f') out += '\\f';
    else if (ch === '\v') out += '\\v';
    else if (cp < 0x20 || cp === 0x7f) out += '\\x' + cp.toString(16).padStart(2, '0');
    else if (cp >= 0x80 && cp < 0xa0) out += '\\u' + cp.toString(16).padStart(4, '0');
    else out += ch;
  }
  return out + '"';
}

/**
 * resourceFieldRef: ceil(value / divisor) as an integer string; cpu compares in millicores like
 * kube. A limit the container leaves unset falls back to node allocatable.
 */
function resourceFieldValue(ref: Obj, ctx: VolumeContext): string {
  const resource = String(ref.resource ?? '');
  const containerName = String(ref.containerName ?? '');
  const spec = isObject(ctx.pod.spec) ? ctx.pod.spec : {};
  const containers = [...(Array.isArray(spec.containers) ? spec.containers : []), ...(Array.isArray(spec.initContainers) ? spec.initContainers : [])].filter(isObject);
  const c = containerName === '' ? containers[0] : containers.find((x) => x.name === containerName);
  if (c === undefined) throw new VolumeError(`container ${containerName} not found`);
  const m = /^(limits|requests)\.(.+)$/.exec(resource);
  if (!m) throw new VolumeError(`unsupported container resource : ${resource}`);
  const res = isObject(c.resources) ? c.resources : {};
  const section = isObject(res[m[1]]) ? (res[m[1]] as Obj) : {};
  let raw: unknown = section[m[2]];
  if (raw === undefined && m[1] === 'limits') raw = ctx.nodeAllocatable?.[m[2]];
  const value = parseQuantity(raw ?? 0) ?? 0;
  const divisor = parseQuantity(ref.divisor ?? '1') ?? 1;
  if (divisor === 0) throw new VolumeError(`invalid divisor for ${resource}`);
  if (m[2] === 'cpu') return String(Math.ceil(Math.round(value * 1000) / Math.round(divisor * 1000)));
  return String(Math.ceil(value / divisor));
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
