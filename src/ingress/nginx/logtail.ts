/**
 * Follows the access log file nginx writes (`access_log ... buffer=64k flush=...`) and hands its
 * complete lines to a callback in batches.
 *
 * Why a file and not syslog/UDP: one datagram per request costs nginx a sendto() and Node a
 * recvmsg() plus an event-loop turn per request, on the same CPUs nginx needs; a buffered file
 * costs nginx one write() per 64 KiB and Node one read() per poll (measured: the UDP log cost the
 * data plane up to a third of its keep-alive throughput).
 *
 * Contract: lines arrive in file order, each once, without the newline. Reading is polling
 * (`intervalMs`), so a line shows up within nginx's flush time plus one interval. When the file
 * passes `maxBytes` it is rotated the way nginx expects (rename, then `reopen()`, which must make
 * nginx reopen its logs, i.e. SIGUSR1 to the master): the renamed file is still read until
 * `graceMs` after the rotation (workers flush their buffers into it when they reopen), then
 * removed. `close()` reads whatever is left, so call it after nginx has exited (its workers flush
 * on exit) to lose nothing.
 */
import { closeSync, existsSync, openSync, readSync, renameSync, unlinkSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

export interface LogTailOptions {
  /** Poll period (default 100 ms). */
  intervalMs?: number;
  /** Rotate beyond this size (default 64 MiB). */
  maxBytes?: number;
  /** Makes the writer reopen the file after a rotation (nginx: SIGUSR1 to the master). */
  reopen?: () => void;
  /** How long the rotated file is still read (default 3 s). */
  graceMs?: number;
}

interface Source {
  fd: number;
  pos: number;
  rest: string;
  /** Keeps a UTF-8 sequence split across two reads whole. */
  decoder: StringDecoder;
}

const CHUNK = 1 << 20;

/** See the file comment. */
export class LogTail {
  private current?: Source;
  private rotated?: { src: Source; path: string; until: number };
  private timer?: NodeJS.Timeout;
  private readonly buf = Buffer.allocUnsafe(CHUNK);

  constructor(
    private readonly path: string,
    private readonly onLines: (lines: string[]) => void,
    private readonly opts: LogTailOptions = {},
  ) {}

  /** Starts polling (the file may not exist yet: nginx creates it). */
  start(): void {
    if (this.timer) return;
    this.timer = setInterval(() => this.poll(), this.opts.intervalMs ?? 100);
    this.timer.unref();
  }

  /** Reads everything written so far (also called by the timer). */
  poll(): void {
    if (this.rotated) {
      this.drain(this.rotated.src);
      if (Date.now() >= this.rotated.until) this.dropRotated();
    }
    if (!this.current) {
      if (!existsSync(this.path)) return;
      try {
        this.current = { fd: openSync(this.path, 'r'), pos: 0, rest: '', decoder: new StringDecoder('utf8') };
      } catch {
        return;
      }
    }
    this.drain(this.current);
    if (this.current.pos >= (this.opts.maxBytes ?? 64 << 20) && !this.rotated) this.rotate();
  }

  /** Stops polling after a last read; closes the files. */
  close(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
    this.poll();
    this.dropRotated();
    if (this.current) {
      this.flushRest(this.current);
      closeSync(this.current.fd);
      this.current = undefined;
    }
  }

  private rotate(): void {
    const old = `${this.path}.1`;
    try {
      renameSync(this.path, old);
    } catch {
      return;
    }
    this.rotated = { src: this.current!, path: old, until: Date.now() + (this.opts.graceMs ?? 3_000) };
    this.current = undefined;
    this.opts.reopen?.();
  }

  private dropRotated(): void {
    const r = this.rotated;
    if (!r) return;
    this.rotated = undefined;
    this.drain(r.src);
    this.flushRest(r.src);
    closeSync(r.src.fd);
    try {
      unlinkSync(r.path);
    } catch {
      // Already gone.
    }
  }

  /** Reads `src` to its end and delivers the complete lines. */
  private drain(src: Source): void {
    for (;;) {
      let n: number;
      try {
        n = readSync(src.fd, this.buf, 0, CHUNK, src.pos);
      } catch {
        return;
      }
      if (n <= 0) return;
      src.pos += n;
      const text = src.rest + src.decoder.write(this.buf.subarray(0, n));
      const end = text.lastIndexOf('\n');
      if (end < 0) {
        src.rest = text;
        continue;
      }
      src.rest = text.slice(end + 1);
      const lines = text.slice(0, end).split('\n');
      this.onLines(lines);
      if (n < CHUNK) return;
    }
  }

  /** A last line without its newline (never written by nginx, but do not lose it). */
  private flushRest(src: Source): void {
    if (src.rest) this.onLines([src.rest]);
    src.rest = '';
  }
}
