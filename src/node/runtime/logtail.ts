/**
 * CRI log format helpers and the tailer that turns a container's raw output files into its CRI log.
 *
 * Why raw files + a tailer instead of pipes: a container writing into a pipe owned by the agent gets
 * EPIPE/SIGPIPE the moment the agent dies. Writing straight into append-only files in the sandbox
 * dir decouples the container from the agent's lifetime; the agent (or the next agent, from the
 * persisted offsets) converts the bytes to CRI records whenever it runs.
 *
 * Offsets persisted in `posPath` are "emitted" offsets: bytes already written as CRI records. Bytes
 * of an unfinished line are re-read after a restart, so nothing is lost; a crash between appending
 * a record and saving the offset can duplicate that record (at-least-once).
 */
import { appendFileSync, closeSync, existsSync, openSync, readFileSync, readSync, renameSync, watch, writeFileSync, type FSWatcher } from 'node:fs';
import type { Clock } from '../../client/workqueue.js';

/** Longest content per log line before it is split into partial (`P`) records; containerd's default is 16KiB. */
export const DEFAULT_MAX_LOG_LINE = 16 * 1024;

/**
 * Formats ms-since-epoch like Go's time.RFC3339Nano in UTC: fractional seconds with trailing
 * zeros removed (and no dot at all for a whole second), e.g. `2026-11-26T15:40:00.12Z`.
 */
export function formatRfc3339Nano(ms: number): string {
  const iso = new Date(ms).toISOString(); // 2026-11-26T15:40:00.120Z
  const [base, fracZ] = iso.split('.') as [string, string];
  const frac = fracZ.slice(0, -1).replace(/0+$/, '');
  return frac ? `${base}.${frac}Z` : `${base}Z`;
}

/** One CRI log record: `<ts> <stream> <tag> <content>\n`. */
export function formatCriLogLine(ms: number, stream: 'stdout' | 'stderr', tag: 'P' | 'F', content: Buffer | string): Buffer {
  return Buffer.concat([Buffer.from(`${formatRfc3339Nano(ms)} ${stream} ${tag} `), Buffer.from(content), Buffer.from('\n')]);
}

export interface LogRecord {
  tag: 'P' | 'F';
  content: Buffer;
}

/**
 * Splits a byte stream into CRI log records. A newline ends a full (`F`) record; content longer
 * than `maxLine` is emitted in `P` chunks (the last piece of that line is `F`). Content still
 * buffered when the stream ends is flushed by `end()` as a full record, as containerd does at EOF.
 */
export class CriLineSplitter {
  private buf: Buffer = Buffer.alloc(0);

  constructor(private readonly maxLine: number = DEFAULT_MAX_LOG_LINE) {}

  /** Bytes pushed but not yet emitted as a record. */
  get buffered(): number {
    return this.buf.length;
  }

  push(chunk: Buffer): LogRecord[] {
    this.buf = this.buf.length ? Buffer.concat([this.buf, chunk]) : chunk;
    const out: LogRecord[] = [];
    for (;;) {
      const nl = this.buf.indexOf(0x0a);
      if (nl >= 0 && nl <= this.maxLine) {
        let line = this.buf.subarray(0, nl);
        if (line.length && line[line.length - 1] === 0x0d) line = line.subarray(0, -1);
        out.push({ tag: 'F', content: Buffer.from(line) });
        this.buf = this.buf.subarray(nl + 1);
      } else if (this.buf.length > this.maxLine) {
        out.push({ tag: 'P', content: Buffer.from(this.buf.subarray(0, this.maxLine)) });
        this.buf = this.buf.subarray(this.maxLine);
      } else {
        return out;
      }
    }
  }

  end(): LogRecord[] {
    if (!this.buf.length) return [];
    const rec: LogRecord = { tag: 'F', content: Buffer.from(this.buf) };
    this.buf = Buffer.alloc(0);
    return [rec];
  }
}

export type StreamName = 'stdout' | 'stderr';

export interface LogTailerOptions {
  raw: Record<StreamName, string>;
  logPath: string;
  /** JSON file holding the emitted offsets `{stdout, stderr}`. */
  posPath: string;
  clock: Clock;
  maxLine?: number;
  /** Fallback poll interval (fs.watch can miss events). Default 500 ms. */
  pollMs?: number;
}

/** Tails a container's raw stdout/stderr files into its CRI log file. */
export class LogTailer {
  private readonly split: Record<StreamName, CriLineSplitter>;
  private readonly read: Record<StreamName, number>;
  private readonly watchers: FSWatcher[] = [];
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;

  constructor(private readonly o: LogTailerOptions) {
    this.split = { stdout: new CriLineSplitter(o.maxLine), stderr: new CriLineSplitter(o.maxLine) };
    this.read = { stdout: 0, stderr: 0 };
    try {
      const pos = JSON.parse(readFileSync(o.posPath, 'utf8')) as Partial<Record<StreamName, number>>;
      this.read.stdout = pos.stdout ?? 0;
      this.read.stderr = pos.stderr ?? 0;
    } catch {
      // no offsets yet: start at 0
    }
  }

  /** Drains what is there now and follows the files (fs.watch plus a slow poll). */
  start(): void {
    for (const s of ['stdout', 'stderr'] as const) {
      try {
        const w = watch(this.o.raw[s], () => this.drain());
        w.on('error', () => undefined);
        w.unref();
        this.watchers.push(w);
      } catch {
        // file missing or watch unsupported: the poll covers it
      }
    }
    this.timer = setInterval(() => this.drain(), this.o.pollMs ?? 500);
    this.timer.unref();
    this.drain();
  }

  /** Converts all complete lines available now; persists the emitted offsets. */
  drain(): void {
    if (this.stopped) return;
    let wrote = false;
    for (const s of ['stdout', 'stderr'] as const) wrote = this.drainStream(s) || wrote;
    if (wrote) this.savePos();
  }

  private drainStream(s: StreamName): boolean {
    if (!existsSync(this.o.raw[s])) return false;
    const fd = openSync(this.o.raw[s], 'r');
    const out: Buffer[] = [];
    try {
      const buf = Buffer.alloc(64 * 1024);
      const now = this.o.clock.now();
      for (;;) {
        const n = readSync(fd, buf, 0, buf.length, this.read[s]);
        if (n <= 0) break;
        this.read[s] += n;
        for (const r of this.split[s].push(Buffer.from(buf.subarray(0, n)))) out.push(formatCriLogLine(now, s, r.tag, r.content));
      }
    } finally {
      closeSync(fd);
    }
    this.append(out);
    return out.length > 0;
  }

  private append(out: Buffer[]): void {
    if (!out.length) return;
    try {
      appendFileSync(this.o.logPath, Buffer.concat(out));
    } catch {
      // log dir removed: nothing to write to
    }
  }

  private savePos(): void {
    const pos = { stdout: this.read.stdout - this.split.stdout.buffered, stderr: this.read.stderr - this.split.stderr.buffered };
    try {
      writeFileSync(`${this.o.posPath}.tmp`, JSON.stringify(pos));
      renameSync(`${this.o.posPath}.tmp`, this.o.posPath);
    } catch {
      // sandbox dir removed
    }
  }

  /** The process is gone: drain, flush unterminated lines as full records, stop following. */
  finish(): void {
    this.drain();
    const now = this.o.clock.now();
    const out: Buffer[] = [];
    for (const s of ['stdout', 'stderr'] as const) {
      const recs = this.split[s].end();
      for (const r of recs) out.push(formatCriLogLine(now, s, r.tag, r.content));
    }
    this.append(out);
    this.savePos();
    this.stop();
  }

  /** Stops following without flushing (the agent goes away; a later tailer resumes from the offsets). */
  stop(): void {
    this.stopped = true;
    for (const w of this.watchers) w.close();
    this.watchers.length = 0;
    if (this.timer) clearInterval(this.timer);
  }
}
