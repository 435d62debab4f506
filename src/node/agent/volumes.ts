/**
 * A pod's volumes on the host, laid out as the kubelet lays them out:
 *
 *   <podDir>/volumes/kubernetes.io~empty-dir/<name>/      emptyDir (a plain directory, mode 0777)
 *   <podDir>/volumes/kubernetes.io~configmap/<name>/      configMap  ┐
 *   <podDir>/volumes/kubernetes.io~secret/<name>/         secret     │ kube's atomic writer
 *   <podDir>/volumes/kubernetes.io~downward-api/<name>/   downwardAPI│ (`..data` symlink swap)
 *   <podDir>/volumes/kubernetes.io~projected/<name>/      projected  ┘
 *   hostPath volumes are the host path itself (type-checked / created as the kubelet does).
 *
 * Why here and not in the runtime: the runtime only bind-mounts host paths; deciding what goes
 * in them (and re-writing configMap/secret content when the objects change) is the kubelet's
 * volume manager's job. What goes in a file is computed by `volumes/contents.ts`; this module
 * does the I/O and turns failures into the `FailedMount` event text users know.
 *
 * Deviations (documented): emptyDir `medium: Memory` is a plain directory (no tmpfs) and
 * `sizeLimit` is not enforced; secret volumes are not tmpfs-backed; volume kinds that need a
 * storage system (persistentVolumeClaim, ephemeral, csi, nfs, ...) fail with a MountError.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { isObject, type KObject } from '../../api/types.js';
import { volumeFiles } from '../volumes/contents.js';
import { writeAtomic } from '../volumes/atomic.js';

/** Read access to the objects a pod's volumes and env refer to (usually informer caches). */
export interface ObjectLookup {
  configMap(ns: string, name: string): KObject | undefined;
  secret(ns: string, name: string): KObject | undefined;
}

/**
 * A volume could not be set up. The message is exactly what the kubelet puts in its
 * `FailedMount` Warning event, e.g. `MountVolume.SetUp failed for volume "cfg" : configmap "x" not found`.
 */
export class MountError extends Error {
  /** The volume that failed. */
  readonly volume: string;
  constructor(volume: string, cause: string) {
    super(`MountVolume.SetUp failed for volume "${volume}" : ${cause}`);
    this.name = 'MountError';
    this.volume = volume;
  }
}

export type VolumeKind = 'emptyDir' | 'configMap' | 'secret' | 'downwardAPI' | 'projected' | 'hostPath';

/** The kubelet's plugin directory name per kind (hostPath has none: it is used in place). */
const PLUGIN_DIR: Record<Exclude<VolumeKind, 'hostPath'>, string> = {
  emptyDir: 'kubernetes.io~empty-dir',
  configMap: 'kubernetes.io~configmap',
  secret: 'kubernetes.io~secret',
  downwardAPI: 'kubernetes.io~downward-api',
  projected: 'kubernetes.io~projected',
};

/** Kinds whose mounts the kubelet always makes read-only (their content is owned by the kubelet). */
export const READ_ONLY_KINDS: ReadonlySet<VolumeKind> = new Set(['configMap', 'secret', 'downwardAPI', 'projected']);

/** The supported kind of a volume spec, or undefined (the source field names, as in the API). */
export function volumeKind(volume: Record<string, unknown>): VolumeKind | undefined {
  for (const k of ['emptyDir', 'configMap', 'secret', 'downwardAPI', 'projected', 'hostPath'] as const) {
    if (isObject(volume[k])) return k;
  }
  return undefined;
}

/** The source field a volume uses (for the "not supported" message), e.g. `persistentVolumeClaim`. */
function sourceField(volume: Record<string, unknown>): string {
  return Object.keys(volume).find((k) => k !== 'name' && isObject(volume[k])) ?? 'unknown';
}

function podVolumes(pod: KObject): Record<string, unknown>[] {
  const spec = isObject(pod.spec) ? pod.spec : {};
  return Array.isArray(spec.volumes) ? spec.volumes.filter(isObject) : [];
}

export interface SetUpResult {
  /** Volume name → host path to bind-mount. */
  paths: Map<string, string>;
  /** True when any configMap/secret/downwardAPI/projected payload was (re)written. */
  changed: boolean;
  /** Things deliberately skipped (e.g. serviceAccountToken projections), for logs. */
  notes: string[];
}

/** Materialises one pod's volumes under `podDir/volumes`; see the module comment for the layout. */
export class PodVolumes {
  private readonly podDir: string;
  private readonly lookup: ObjectLookup;
  private readonly nodeAllocatable: Record<string, string> | undefined;
  /** setUp/tearDown calls run one at a time, so a refresh never races a teardown. */
  private chain: Promise<unknown> = Promise.resolve();

  constructor(opts: { podDir: string; lookup: ObjectLookup; nodeAllocatable?: Record<string, string> }) {
    this.podDir = opts.podDir;
    this.lookup = opts.lookup;
    this.nodeAllocatable = opts.nodeAllocatable;
  }

  /** Where a volume of `kind` named `name` lives (hostPath volumes: undefined, they are used in place). */
  volumeDir(kind: Exclude<VolumeKind, 'hostPath'>, name: string): string {
    return path.join(this.podDir, 'volumes', PLUGIN_DIR[kind], name);
  }

  /**
   * Idempotent; call again to refresh content after configMap/secret changes. Volumes are set up
   * in spec order; the first failing one throws {@link MountError} (volumes before it stay set up,
   * as with the kubelet, and the next call retries). An optional source that is missing gives an
   * empty volume.
   */
  setUp(pod: KObject): Promise<SetUpResult> {
    const run = this.chain.then(() => this.doSetUp(pod));
    this.chain = run.catch(() => undefined);
    return run;
  }

  /** Removes podDir/volumes. hostPath volumes live elsewhere and are never touched; symlinks are not followed. */
  tearDown(): Promise<void> {
    const run = this.chain.then(() => fsp.rm(path.join(this.podDir, 'volumes'), { recursive: true, force: true }));
    this.chain = run.catch(() => undefined);
    return run;
  }

  private async doSetUp(pod: KObject): Promise<SetUpResult> {
    const paths = new Map<string, string>();
    const notes: string[] = [];
    let changed = false;
    for (const vol of podVolumes(pod)) {
      const name = String(vol.name ?? '');
      const kind = volumeKind(vol);
      if (kind === undefined) throw new MountError(name, `volume type ${sourceField(vol)} is not supported by kubelite`);
      if (kind === 'hostPath') {
        paths.set(name, await setUpHostPath(name, vol.hostPath as Record<string, unknown>));
        continue;
      }
      const dir = this.volumeDir(kind, name);
      if (kind === 'emptyDir') {
        await fsp.mkdir(dir, { recursive: true });
        // The kubelet makes emptyDir world-writable so any container user can write to it.
        await fsp.chmod(dir, 0o777);
        paths.set(name, dir);
        continue;
      }
      const contents = volumeFiles(vol, {
        pod,
        configMaps: (ns, n) => this.lookup.configMap(ns, n),
        secrets: (ns, n) => this.lookup.secret(ns, n),
        nodeAllocatable: this.nodeAllocatable,
      });
      if (contents.error !== undefined) throw new MountError(name, contents.error);
      for (const n of contents.notes ?? []) notes.push(`volume "${name}": ${n}`);
      try {
        if (await writeAtomic(dir, contents.files)) changed = true;
      } catch (e) {
        throw new MountError(name, (e as Error).message);
      }
      paths.set(name, dir);
    }
    return { paths, changed, notes };
  }
}

/** Node's errno text in Go's `op path: reason` form, as the kubelet's events show it. */
function goError(op: string, p: string, e: unknown): string {
  const err = e as NodeJS.ErrnoException;
  const reasons: Record<string, string> = {
    ENOENT: 'no such file or directory',
    EACCES: 'permission denied',
    ENOTDIR: 'not a directory',
    EEXIST: 'file exists',
  };
  return `${op} ${p}: ${(err.code && reasons[err.code]) ?? err.message}`;
}

async function statOrUndefined(p: string): Promise<import('node:fs').Stats | undefined> {
  try {
    return await fsp.stat(p);
  } catch {
    return undefined;
  }
}

/** The kubelet's hostPath type checks (checkTypeInternal); returns the path to mount. */
async function setUpHostPath(name: string, src: Record<string, unknown>): Promise<string> {
  const p = String(src.path ?? '');
  const type = typeof src.type === 'string' ? src.type : '';
  const fail = (what: string): never => {
    throw new MountError(name, `hostPath type check failed: ${p} is not a ${what}`);
  };
  let st = await statOrUndefined(p);
  switch (type) {
    case '':
      return p;
    case 'DirectoryOrCreate':
      if (st === undefined) {
        try {
          await fsp.mkdir(p, { recursive: true, mode: 0o755 });
        } catch (e) {
          throw new MountError(name, goError('mkdir', p, e));
        }
        return p;
      }
      if (!st.isDirectory()) fail('directory');
      return p;
    case 'Directory':
      if (!st?.isDirectory()) fail('directory');
      return p;
    case 'FileOrCreate':
      if (st === undefined) {
        // Like the kubelet: the file is created, its parent directory is not.
        try {
          await (await fsp.open(p, 'a', 0o644)).close();
        } catch (e) {
          throw new MountError(name, goError('open', p, e));
        }
        st = await statOrUndefined(p);
      }
      if (!st?.isFile()) fail('file');
      return p;
    case 'File':
      if (!st?.isFile()) fail('file');
      return p;
    case 'Socket':
      if (!st?.isSocket()) fail('socket file');
      return p;
    case 'CharDevice':
      if (!st?.isCharacterDevice()) fail('character device');
      return p;
    case 'BlockDevice':
      if (!st?.isBlockDevice()) fail('block device');
      return p;
    default:
      throw new MountError(name, `${type} is an invalid volume type`);
  }
}

/**
 * The configMaps and secrets a pod refers to — volumes, projected sources, env valueFrom and
 * envFrom of every (init/ephemeral) container — sorted and de-duplicated. The agent re-syncs a
 * pod when one of these changes (volume refresh) or appears (a container waiting on it).
 */
export function referencedObjects(pod: KObject): { configMaps: string[]; secrets: string[] } {
  const cms = new Set<string>();
  const secrets = new Set<string>();
  const nameOf = (v: unknown, field = 'name'): string | undefined => {
    if (!isObject(v)) return undefined;
    const n = v[field];
    return typeof n === 'string' && n !== '' ? n : undefined;
  };
  const add = (set: Set<string>, n: string | undefined): void => {
    if (n !== undefined) set.add(n);
  };
  for (const vol of podVolumes(pod)) {
    add(cms, nameOf(vol.configMap));
    add(secrets, nameOf(vol.secret, 'secretName'));
    if (isObject(vol.projected) && Array.isArray(vol.projected.sources)) {
      for (const s of vol.projected.sources.filter(isObject)) {
        add(cms, nameOf(s.configMap));
        add(secrets, nameOf(s.secret));
      }
    }
  }
  const spec = isObject(pod.spec) ? pod.spec : {};
  for (const list of [spec.initContainers, spec.containers, spec.ephemeralContainers]) {
    if (!Array.isArray(list)) continue;
    for (const c of list.filter(isObject)) {
      for (const e of Array.isArray(c.env) ? c.env.filter(isObject) : []) {
        if (!isObject(e.valueFrom)) continue;
        add(cms, nameOf(e.valueFrom.configMapKeyRef));
        add(secrets, nameOf(e.valueFrom.secretKeyRef));
      }
      for (const e of Array.isArray(c.envFrom) ? c.envFrom.filter(isObject) : []) {
        add(cms, nameOf(e.configMapRef));
        add(secrets, nameOf(e.secretRef));
      }
    }
  }
  return { configMaps: [...cms].sort(), secrets: [...secrets].sort() };
}
