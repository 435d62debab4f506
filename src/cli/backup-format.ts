/**
 * The kubelite backup file format (`kubelite-backup/v1`), shared by `backup` and `restore`.
 *
 * A backup is gzip-compressed UTF-8 text, one JSON document per line:
 *
 *   {"format":"kubelite-backup/v1","revision":R,"createdAt":"…","server":"…"}     header
 *   {"group":"apps","plural":"deployments","namespace":"default","name":"web","object":{…}}   one per object
 *   {"end":true,"count":N,"sha256":"<hex>"}                                      trailer
 *
 * The trailer's SHA-256 covers every byte (uncompressed) before the trailer line, and `count`
 * is the number of object lines, so a truncated file (no trailer, or a gzip stream that ends
 * early) and an edited file (hash mismatch) are both caught before restore writes anything.
 * Objects are stored exactly as the API server keeps them, minus `metadata.resourceVersion`
 * (the revision belongs to the store, not the object), so restore writes byte-for-byte the
 * same JSON into any backend. Records carry group/plural/namespace/name explicitly so a record
 * whose object disagrees with its own address is rejected instead of written under a wrong key.
 */
import { createHash, type Hash } from 'node:crypto';
import { gunzipSync } from 'node:zlib';
import { RESOURCES, apiVersionOf, type ResourceInfo } from '../api/resources.js';
import type { KObject } from '../api/types.js';
import { objectKey, storageOf } from '../apiserver/registry/keys.js';

export const FORMAT = 'kubelite-backup/v1';

export interface BackupHeader {
  format: typeof FORMAT;
  /** The store revision every object in the file was read at. */
  revision: number;
  createdAt: string;
  /** The API server the backup was read from (informational). */
  server?: string;
}

export interface BackupRecord {
  group: string;
  plural: string;
  namespace?: string;
  name: string;
  object: KObject;
}

export interface BackupTrailer {
  end: true;
  count: number;
  sha256: string;
}

/** A verified backup: every record has a storage key and a JSON value ready to write. */
export interface VerifiedBackup {
  header: BackupHeader;
  entries: { key: string; value: string; record: BackupRecord }[];
}

/** Why a file is not a restorable backup; the message is meant for the user as is. */
export class BackupFormatError extends Error {
  override readonly name = 'BackupFormatError';
}

/**
 * Resources that own a storage location, each location once: `bindings` is a virtual
 * resource (it writes pods), and served aliases (`storageOf`, or a second version of the same
 * group/plural such as autoscaling/v1 HPAs) share the first entry's keys.
 */
export function storedResources(): ResourceInfo[] {
  const seen = new Set<string>();
  const out: ResourceInfo[] = [];
  for (const res of RESOURCES) {
    if (res.plural === 'bindings' || res.storageOf) continue;
    const loc = storageOf(res);
    const id = `${loc.group}/${loc.plural}`;
    if (seen.has(id)) continue;
    seen.add(id);
    out.push(res);
  }
  return out;
}

/** Incrementally builds the uncompressed text of a backup, hashing as it goes. */
export class BackupWriter {
  private readonly hash: Hash = createHash('sha256');
  private n = 0;

  constructor(private readonly emit: (line: string) => void | Promise<void>) {}

  private async line(doc: unknown, hashed: boolean): Promise<void> {
    const text = `${JSON.stringify(doc)}\n`;
    if (hashed) this.hash.update(text, 'utf8');
    await this.emit(text);
  }

  header(h: Omit<BackupHeader, 'format'>): Promise<void> {
    return this.line({ format: FORMAT, ...h }, true);
  }

  /** Adds one object as listed from the API server; its resourceVersion is dropped. */
  async object(res: ResourceInfo, obj: KObject): Promise<void> {
    const meta = { ...obj.metadata };
    delete meta.resourceVersion;
    const record: BackupRecord = {
      group: res.group,
      plural: res.plural,
      ...(res.namespaced ? { namespace: meta.namespace } : {}),
      name: meta.name ?? '',
      object: { ...obj, metadata: meta },
    };
    this.n++;
    await this.line(record, true);
  }

  get count(): number {
    return this.n;
  }

  trailer(): Promise<void> {
    const t: BackupTrailer = { end: true, count: this.n, sha256: this.hash.digest('hex') };
    return this.line(t, false);
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function parseLine(line: string, lineNo: number): unknown {
  try {
    return JSON.parse(line) as unknown;
  } catch {
    throw new BackupFormatError(`backup is corrupt: line ${lineNo} is not valid JSON`);
  }
}

/**
 * Decompresses and checks a whole backup (gzip framing, header, checksum, count, and every
 * record) and returns what to write. Throws BackupFormatError with a user-facing message;
 * nothing is returned unless the entire file is sound.
 */
export function verifyBackup(file: Buffer): VerifiedBackup {
  if (file.length < 2 || file[0] !== 0x1f || file[1] !== 0x8b) {
    throw new BackupFormatError('not a kubelite backup: the file is not gzip-compressed (expected a file written by `kubelite backup`)');
  }
  let text: string;
  try {
    text = gunzipSync(file).toString('utf8');
  } catch (err) {
    throw new BackupFormatError(`backup is truncated or corrupt: cannot decompress it (${(err as Error).message})`);
  }
  if (!text.endsWith('\n')) throw new BackupFormatError('backup is truncated: it does not end with a complete line');
  const lines = text.slice(0, -1).split('\n');
  const header = parseLine(lines[0] ?? '', 1);
  if (!isPlainObject(header) || header.format !== FORMAT) {
    const got = isPlainObject(header) && typeof header.format === 'string' ? ` (format ${JSON.stringify(header.format)})` : '';
    throw new BackupFormatError(`not a kubelite backup${got}: expected format ${FORMAT}`);
  }
  if (!Number.isSafeInteger(header.revision) || (header.revision as number) < 0 || typeof header.createdAt !== 'string') {
    throw new BackupFormatError('backup is corrupt: the header has no valid revision/createdAt');
  }
  if (lines.length < 2) throw new BackupFormatError('backup is truncated: the trailer (count and checksum) is missing');
  const trailer = parseLine(lines[lines.length - 1] as string, lines.length);
  if (!isPlainObject(trailer) || trailer.end !== true) {
    throw new BackupFormatError('backup is truncated: the trailer (count and checksum) is missing');
  }
  if (typeof trailer.sha256 !== 'string' || !Number.isSafeInteger(trailer.count)) {
    throw new BackupFormatError('backup is corrupt: the trailer has no valid count/sha256');
  }
  const body = text.slice(0, text.length - (lines[lines.length - 1] as string).length - 1);
  const digest = createHash('sha256').update(body, 'utf8').digest('hex');
  if (digest !== trailer.sha256) {
    throw new BackupFormatError(`backup checksum mismatch: the file was modified or damaged after it was written (sha256 ${digest}, trailer says ${trailer.sha256})`);
  }
  const objectLines = lines.slice(1, -1);
  if (objectLines.length !== trailer.count) {
    throw new BackupFormatError(`backup is corrupt: the trailer counts ${trailer.count} objects but the file holds ${objectLines.length}`);
  }
  const byId = new Map<string, ResourceInfo>(storedResources().map((r) => [`${r.group}/${r.plural}`, r]));
  const seen = new Set<string>();
  const entries: VerifiedBackup['entries'] = [];
  objectLines.forEach((line, i) => {
    const lineNo = i + 2;
    const rec = parseLine(line, lineNo);
    const bad = (why: string): BackupFormatError => new BackupFormatError(`backup is corrupt: line ${lineNo}: ${why}`);
    if (!isPlainObject(rec) || typeof rec.group !== 'string' || typeof rec.plural !== 'string' || typeof rec.name !== 'string' || rec.name === '') {
      throw bad('not an object record (group, plural, name, object)');
    }
    const res = byId.get(`${rec.group}/${rec.plural}`);
    if (!res) throw bad(`unknown resource ${rec.plural}${rec.group ? `.${rec.group}` : ''}`);
    const obj = rec.object;
    if (!isPlainObject(obj) || !isPlainObject(obj.metadata)) throw bad('the object has no metadata');
    const meta = obj.metadata as Record<string, unknown>;
    if (obj.apiVersion !== apiVersionOf(res) || obj.kind !== res.kind) {
      throw bad(`expected apiVersion ${apiVersionOf(res)} kind ${res.kind}, got ${JSON.stringify(obj.apiVersion)} ${JSON.stringify(obj.kind)}`);
    }
    if (meta.name !== rec.name) throw bad(`metadata.name ${JSON.stringify(meta.name)} does not match the record name ${JSON.stringify(rec.name)}`);
    if (res.namespaced) {
      if (typeof rec.namespace !== 'string' || rec.namespace === '' || meta.namespace !== rec.namespace) {
        throw bad(`${res.kind} ${rec.name}: namespace ${JSON.stringify(meta.namespace)} does not match the record namespace ${JSON.stringify(rec.namespace)}`);
      }
    } else if (rec.namespace !== undefined || meta.namespace !== undefined) {
      throw bad(`${res.kind} ${rec.name} is cluster-scoped but has a namespace`);
    }
    if (meta.resourceVersion !== undefined) throw bad('objects must not carry metadata.resourceVersion');
    // Names may not contain "/" (the key would escape its prefix).
    if (rec.name.includes('/') || (rec.namespace as string | undefined)?.includes('/')) throw bad('name or namespace contains "/"');
    const key = objectKey(storageOf(res), rec.namespace as string | undefined, rec.name);
    if (seen.has(key)) throw bad(`duplicate object ${key}`);
    seen.add(key);
    const record = rec as unknown as BackupRecord;
    entries.push({ key, value: JSON.stringify(obj), record });
  });
  return { header: header as unknown as BackupHeader, entries };
}
