/**
 * The kubelet's AtomicWriter layout, so a process reading a configMap/secret volume sees either
 * the whole old payload or the whole new one, never a mix:
 *
 *   dir/..2026_11_26_15_47_00.123456/   the payload (a fresh directory per change)
 *   dir/..data -> ..2026_11_26_...      swapped by renaming a temporary symlink over it
 *   dir/key    -> ..data/key            one per top-level entry of the payload
 *
 * Only the `..data` rename switches what readers see; user-visible links always resolve through it.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { VolumeFile } from './contents.js';

const DATA = '..data';
const DATA_TMP = '..data_tmp';

/**
 * Makes `dir` hold exactly `files` (created if missing). Returns false, touching nothing, when the
 * current payload already has the same paths, contents and modes. Paths must already be validated
 * (see `checkPath`); a path escaping the directory is rejected anyway.
 */
export async function writeAtomic(dir: string, files: VolumeFile[]): Promise<boolean> {
  for (const f of files) {
    const norm = path.posix.normalize(f.path);
    if (path.isAbsolute(f.path) || norm.startsWith('..') || norm !== f.path) throw new Error(`invalid volume file path ${JSON.stringify(f.path)}`);
  }
  await fsp.mkdir(dir, { recursive: true });
  const oldTs = await readLinkOrUndefined(path.join(dir, DATA));
  const topLevel = new Set(files.map((f) => f.path.split('/')[0]));
  if (oldTs !== undefined && (await payloadEqual(path.join(dir, oldTs), files)) && (await linksPresent(dir, topLevel))) return false;

  // 1. the new payload in a fresh timestamped directory
  const tsDir = await fsp.mkdtemp(path.join(dir, `..${timestamp(new Date())}.`));
  await fsp.chmod(tsDir, 0o755);
  for (const f of files) {
    const target = path.join(tsDir, f.path);
    await fsp.mkdir(path.dirname(target), { recursive: true });
    await fsp.writeFile(target, f.content);
    await fsp.chmod(target, f.mode);
  }
  // 2. the atomic switch
  const tmpLink = path.join(dir, DATA_TMP);
  await fsp.rm(tmpLink, { force: true });
  await fsp.symlink(path.basename(tsDir), tmpLink);
  await fsp.rename(tmpLink, path.join(dir, DATA));
  // 3. user-visible links for new top-level entries; stale ones removed
  for (const name of topLevel) {
    const link = path.join(dir, name);
    const want = path.join(DATA, name);
    if ((await readLinkOrUndefined(link)) === want) continue;
    await fsp.rm(link, { force: true, recursive: true });
    await fsp.symlink(want, link);
  }
  for (const entry of await fsp.readdir(dir)) {
    if (entry.startsWith('..') || topLevel.has(entry)) continue;
    const link = path.join(dir, entry);
    // Only our own links are removed: anything else in the directory is not ours to delete.
    if ((await readLinkOrUndefined(link)) === path.join(DATA, entry)) await fsp.rm(link, { force: true });
  }
  // 4. old payload directories
  for (const entry of await fsp.readdir(dir)) {
    if (entry.startsWith('..') && entry !== DATA && entry !== DATA_TMP && entry !== path.basename(tsDir)) {
      await fsp.rm(path.join(dir, entry), { recursive: true, force: true });
    }
  }
  return true;
}

/** `YYYY_MM_DD_HH_MM_SS` in UTC, as the kubelet names payload directories (plus a random suffix). */
function timestamp(d: Date): string {
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getUTCFullYear()}_${p(d.getUTCMonth() + 1)}_${p(d.getUTCDate())}_${p(d.getUTCHours())}_${p(d.getUTCMinutes())}_${p(d.getUTCSeconds())}`;
}

async function readLinkOrUndefined(p: string): Promise<string | undefined> {
  try {
    return await fsp.readlink(p);
  } catch {
    return undefined;
  }
}

async function linksPresent(dir: string, names: Set<string>): Promise<boolean> {
  for (const n of names) if ((await readLinkOrUndefined(path.join(dir, n))) !== path.join(DATA, n)) return false;
  for (const entry of await fsp.readdir(dir)) {
    if (entry.startsWith('..') || names.has(entry)) continue;
    if ((await readLinkOrUndefined(path.join(dir, entry))) === path.join(DATA, entry)) return false;
  }
  return true;
}

/** True when `root` holds exactly `files` (same relative paths, bytes and permission bits). */
async function payloadEqual(root: string, files: VolumeFile[]): Promise<boolean> {
  let existing: string[];
  try {
    existing = await listFiles(root, '');
  } catch {
    return false;
  }
  if (existing.length !== files.length) return false;
  const want = new Set(files.map((f) => f.path));
  if (!existing.every((p) => want.has(p))) return false;
  for (const f of files) {
    const p = path.join(root, f.path);
    const st = await fsp.stat(p);
    if ((st.mode & 0o777) !== f.mode) return false;
    if (!(await fsp.readFile(p)).equals(f.content)) return false;
  }
  return true;
}

async function listFiles(root: string, rel: string): Promise<string[]> {
  const out: string[] = [];
  for (const e of await fsp.readdir(path.join(root, rel), { withFileTypes: true })) {
    const r = rel === '' ? e.name : `${rel}/${e.name}`;
    if (e.isDirectory()) out.push(...(await listFiles(root, r)));
    else out.push(r);
  }
  return out;
}
