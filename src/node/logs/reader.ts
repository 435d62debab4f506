/**
 * Reads container logs (CRI format, as written by `src/node/runtime/process.ts`) back the way
 * `kubectl logs` asks for them, following kubelet's kuberuntime/logs behaviour:
 *
 * - a file record is `<RFC3339Nano> stdout|stderr F|P <content>\n`; `P` records are pieces of one
 *   long line, continued by the next record of the same stream and ended by an `F` record. We
 *   join them so every option below works on whole lines;
 * - `tailLines` counts whole lines (of the selected stream) from the end of the file, found by
 *   scanning the file backwards in blocks so a large log is not read in full;
 * - `sinceTime` drops lines whose (first) record is older than it;
 * - `timestamps` prefixes each line with its record's timestamp and a space, as kubectl shows;
 * - `limitBytes` stops after exactly that many output bytes (the last chunk is cut);
 * - `follow` keeps polling (100 ms) for appended data until the signal aborts or `untilExited()`
 *   says the container is gone; a file that is truncated or replaced (new inode) is re-read from
 *   its start. Rotation into numbered files (`0.log.1`...) is NOT handled: the runtime does not
 *   rotate yet.
 *
 * `previous` needs nothing here: the agent keeps the previous container's log at another path.
 */
import { open, stat, type FileHandle } from 'node:fs/promises';

export type LogStream = 'stdout' | 'stderr';

/** One parsed file record. `time` is ms since epoch (sub-ms digits truncated), `timestamp` the raw text. */
export interface CriRecord {
  timestamp: string;
  time: number;
  stream: LogStream;
  tag: 'P' | 'F';
  content: Buffer;
}

/** One whole log line: partial records joined; `content` includes the trailing newline when complete. */
export interface LogLine {
  timestamp: string;
  time: number;
  stream: LogStream;
  content: Buffer;
}

export interface ReadLogsOptions {
  /** Whole lines from the end; undefined or negative means all. */
  tailLines?: number;
  /** Lines older than this are skipped (callers convert sinceSeconds to a time). */
  sinceTime?: Date;
  /** Prefix each line with `<RFC3339Nano> `. */
  timestamps?: boolean;
  /** Stop after this many output bytes; undefined or <= 0 means unlimited. */
  limitBytes?: number;
  /** Keep reading appended data until aborted or the container exits. */
  follow?: boolean;
  signal?: AbortSignal;
  /** Which streams to show; default 'all'. */
  stream?: LogStream | 'all';
  /** In follow mode: once this returns true, the rest of the file is drained and reading stops. */
  untilExited?: () => boolean;
  /** Poll interval in follow mode (ms); default 100. */
  pollMs?: number;
}

/** Bytes read per block, forwards and backwards. */
const BLOCK = 64 * 1024;

/**
 * Parses one record line (without its trailing newline). Returns null for a malformed line, which
 * readers skip (kubelet logs and skips them too) rather than failing the whole request.
 */
export function parseCriLine(line: Buffer): CriRecord | null {
  const s1 = line.indexOf(0x20);
  if (s1 <= 0) return null;
  const s2 = line.indexOf(0x20, s1 + 1);
  if (s2 < 0) return null;
  const s3 = line.indexOf(0x20, s2 + 1);
  // A record with empty content may end right after the tag ("... F" without the space).
  const tagEnd = s3 < 0 ? line.length : s3;
  const timestamp = line.subarray(0, s1).toString('latin1');
  const stream = line.subarray(s1 + 1, s2).toString('latin1');
  const tag = line.subarray(s2 + 1, tagEnd).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return null;
  if (tag !== 'P' && tag !== 'F') return null;
  const time = parseRfc3339(timestamp);
  if (Number.isNaN(time)) return null;
  return { timestamp, time, stream, tag, content: s3 < 0 ? Buffer.alloc(0) : line.subarray(s3 + 1) };
}

/** RFC3339 with up to nanosecond fraction → ms since epoch (fraction truncated to ms; NaN if invalid). */
export function parseRfc3339(ts: string): number {
  const m = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:\d{2})$/.exec(ts);
  if (!m) return NaN;
  const frac = (m[2] ?? '').slice(0, 3).padEnd(3, '0');
  return Date.parse(`${m[1]}.${frac}${m[3]}`);
}

/**
 * Joins partial records into whole lines, per stream (stdout and stderr partials may interleave).
 * Pure and incremental, so both the forward reader and tests can drive it record by record.
 */
export class LineAssembler {
  private readonly pending = new Map<LogStream, { first: CriRecord; parts: Buffer[] }>();

  /** Feeds one record; returns the completed line, if this record completes one. */
  push(rec: CriRecord): LogLine | null {
    const p = this.pending.get(rec.stream);
    if (rec.tag === 'P') {
      if (p) p.parts.push(Buffer.from(rec.content));
      else this.pending.set(rec.stream, { first: rec, parts: [Buffer.from(rec.content)] });
      return null;
    }
    const first = p?.first ?? rec;
    const parts = p ? [...p.parts, rec.content, NEWLINE] : [rec.content, NEWLINE];
    this.pending.delete(rec.stream);
    return { timestamp: first.timestamp, time: first.time, stream: rec.stream, content: Buffer.concat(parts) };
  }

  /** Unfinished lines (no F record yet), oldest first, without a trailing newline; clears them. */
  flush(): LogLine[] {
    const out = [...this.pending.values()]
      .map(({ first, parts }) => ({ timestamp: first.timestamp, time: first.time, stream: first.stream, content: Buffer.concat(parts) }))
      .sort((a, b) => a.time - b.time);
    this.pending.clear();
    return out;
  }
}

const NEWLINE = Buffer.from('\n');

function streamMatches(want: LogStream | 'all' | undefined, s: LogStream): boolean {
  return want === undefined || want === 'all' || want === s;
}

/**
 * Byte offset where reading must start to show the last `n` whole lines of `stream`: just after
 * the (n+1)-th last complete (`F`) record of that stream, or 0 when the file has fewer lines.
 * Scans backwards in blocks; only complete records (ending in a newline) are counted, so a
 * record still being written at the end of the file is ignored.
 */
export async function tailOffset(fh: FileHandle, opts: { lines: number; stream?: LogStream | 'all'; size?: number }): Promise<number> {
  const size = opts.size ?? (await fh.stat()).size;
  if (opts.lines < 0) return 0;
  let pos = size;
  let carry: Buffer = Buffer.alloc(0); // bytes after the last newline seen (start of a line we haven't closed)
  let lineEnd = -1; // absolute offset of the newline ending the line currently accumulating, -1 before the first newline
  let seen = 0;
  while (pos > 0) {
    const len = Math.min(BLOCK, pos);
    pos -= len;
    const block = Buffer.alloc(len);
    await readFully(fh, block, pos);
    let buf = Buffer.concat([block, carry]);
    let end = buf.length; // exclusive end of the unprocessed part (relative to pos)
    for (;;) {
      const nl = buf.lastIndexOf(0x0a, end - 1);
      if (nl < 0) break;
      if (lineEnd >= 0) {
        // The line from nl+1 to lineEnd is complete.
        const rec = parseCriLine(buf.subarray(nl + 1, lineEnd - pos));
        if (rec && rec.tag === 'F' && streamMatches(opts.stream, rec.stream)) {
          seen++;
          if (seen > opts.lines) return lineEnd + 1;
        }
      }
      lineEnd = pos + nl;
      end = nl;
    }
    carry = Buffer.from(buf.subarray(0, end));
    buf = Buffer.alloc(0);
  }
  // The first line of the file (offset 0 .. lineEnd).
  if (lineEnd >= 0) {
    const rec = parseCriLine(carry.subarray(0, lineEnd));
    if (rec && rec.tag === 'F' && streamMatches(opts.stream, rec.stream)) {
      seen++;
      if (seen > opts.lines) return lineEnd + 1;
    }
  }
  return 0;
}

async function readFully(fh: FileHandle, buf: Buffer, position: number): Promise<void> {
  let off = 0;
  while (off < buf.length) {
    const { bytesRead } = await fh.read(buf, off, buf.length - off, position + off);
    if (bytesRead === 0) break;
    off += bytesRead;
  }
}

/** Thrown internally to unwind once limitBytes is reached. */
class LimitReached extends Error {}

/**
 * Streams the container log at `path` to `out` as `kubectl logs` wants it (see the module doc).
 * Resolves when done (EOF without follow, abort, container exit, or limitBytes reached).
 * Rejects only if the file cannot be opened at the start (e.g. ENOENT).
 */
export async function readLogs(path: string, opts: ReadLogsOptions, out: (chunk: Buffer) => void): Promise<void> {
  const limit = opts.limitBytes !== undefined && opts.limitBytes > 0 ? opts.limitBytes : Infinity;
  const since = opts.sinceTime?.getTime();
  let written = 0;
  const emit = (line: LogLine): void => {
    if (!streamMatches(opts.stream, line.stream)) return;
    if (since !== undefined && line.time < since) return;
    let chunk = opts.timestamps ? Buffer.concat([Buffer.from(`${line.timestamp} `), line.content]) : line.content;
    if (written + chunk.length >= limit) {
      chunk = chunk.subarray(0, limit - written);
      written = limit;
      if (chunk.length) out(chunk);
      throw new LimitReached();
    }
    written += chunk.length;
    out(chunk);
  };

  let fh = await open(path, 'r');
  try {
    let ino = (await fh.stat()).ino;
    let position = opts.tailLines !== undefined && opts.tailLines >= 0 ? await tailOffset(fh, { lines: opts.tailLines, stream: opts.stream }) : 0;
    let assembler = new LineAssembler();
    let carry: Buffer = Buffer.alloc(0);

    /** Reads from `position` to EOF, emitting complete lines; returns true if anything was read. */
    const drain = async (): Promise<boolean> => {
      let any = false;
      for (;;) {
        const block = Buffer.alloc(BLOCK);
        const { bytesRead } = await fh.read(block, 0, BLOCK, position);
        if (bytesRead === 0) return any;
        any = true;
        position += bytesRead;
        let buf = carry.length ? Buffer.concat([carry, block.subarray(0, bytesRead)]) : block.subarray(0, bytesRead);
        let start = 0;
        for (;;) {
          const nl = buf.indexOf(0x0a, start);
          if (nl < 0) break;
          const rec = parseCriLine(buf.subarray(start, nl));
          start = nl + 1;
          if (!rec) continue;
          const line = assembler.push(rec);
          if (line) emit(line);
        }
        carry = Buffer.from(buf.subarray(start));
        buf = Buffer.alloc(0);
      }
    };

    const finish = (): void => {
      for (const line of assembler.flush()) emit(line);
    };

    try {
      if (opts.signal?.aborted) return;
      await drain();
      if (!opts.follow) {
        finish();
        return;
      }
      const pollMs = opts.pollMs ?? 100;
      for (;;) {
        if (opts.signal?.aborted) return;
        const exited = opts.untilExited?.() ?? false;
        // Replaced (new inode) or truncated: start over on the current file.
        const st = await stat(path).catch(() => null);
        if (st && (st.ino !== ino || st.size < position)) {
          await drain(); // whatever the old file still had
          const next = await open(path, 'r').catch(() => null);
          if (next) {
            await fh.close();
            fh = next;
            ino = st.ino;
            position = 0;
            carry = Buffer.alloc(0);
            finish();
            assembler = new LineAssembler();
          }
        }
        await drain();
        if (exited) {
          finish();
          return;
        }
        await sleep(pollMs, opts.signal);
      }
    } catch (err) {
      if (err instanceof LimitReached) return;
      throw err;
    }
  } finally {
    await fh.close();
  }
}

/** Sleeps `ms`, waking early (without throwing) if the signal aborts. */
function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = (): void => {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener('abort', done, { once: true });
  });
}
