/**
 * An incremental HTTP/1.1 response parser (RFC 9112) for the proxy's upstream client. It is fed
 * Buffers as they arrive, so every element (status line, header lines, chunk-size lines, chunk
 * CRLFs, trailers) may be split anywhere across calls. Body bytes are handed out as subarrays of
 * the input without copying; only lines are accumulated (as latin1 strings, like node's parser).
 *
 * Framing follows RFC 9112 section 6.3: no body for a HEAD request, 1xx, 204 and 304; chunked when
 * Transfer-Encoding ends in `chunked`; Content-Length otherwise; else the body runs to the close
 * of the connection. Interim 1xx responses (100-continue, 103) are skipped; 101 is an error since
 * upgrades never go through this client. `keepAlive` tells whether the connection may carry
 * another request once the response is complete.
 */

/** A parsed response head. Names are kept both as sent and lowercased, in order, duplicates included. */
export interface ResponseHead {
  status: number;
  statusText: string;
  /** 0 for HTTP/1.0, 1 for HTTP/1.1. */
  minorVersion: number;
  rawNames: string[];
  /** Lowercased names, parallel to rawNames/values. */
  names: string[];
  values: string[];
  /** Lowercased tokens of the Connection header(s). */
  connection: string[];
}

export class ParseError extends Error {}

/** Receives what the parser finds; called synchronously from `execute`. */
export interface ParserHandler {
  onHead(head: ResponseHead): void;
  onBody(chunk: Buffer): void;
}

const S_HEAD = 0;
const S_LENGTH = 1;
const S_CHUNK_SIZE = 2;
const S_CHUNK_DATA = 3;
const S_CHUNK_CR = 4;
const S_CHUNK_LF = 5;
const S_TRAILERS = 6;
const S_CLOSE = 7;
const S_DONE = 8;
const S_STOPPED = 9;

const LF = 10;
const MAX_CHUNK_LINE = 4096;

export class ResponseParser {
  /** Largest head (and largest trailer section) accepted. */
  readonly maxHeadBytes: number;
  /** Whether the connection may be reused after this response (valid once complete). */
  keepAlive = true;
  /** Trailer fields of a chunked body (lowercased names; duplicates joined with ", "). */
  trailers: Record<string, string> | undefined;
  private state = S_STOPPED;
  private headRequest = false;
  private line = '';
  private sectionBytes = 0;
  private remaining = 0;
  private head: ResponseHead | undefined;

  constructor(private readonly handler: ParserHandler, opts: { maxHeadBytes?: number } = {}) {
    this.maxHeadBytes = opts.maxHeadBytes ?? 64 * 1024;
  }

  /** Prepares for the response to the next request (`headRequest`: the request was HEAD). */
  reset(headRequest: boolean): void {
    this.state = S_HEAD;
    this.headRequest = headRequest;
    this.keepAlive = true;
    this.trailers = undefined;
    this.line = '';
    this.sectionBytes = 0;
    this.head = undefined;
  }

  get complete(): boolean {
    return this.state === S_DONE;
  }

  /** True while the body is delimited by the connection closing. */
  get readsUntilClose(): boolean {
    return this.state === S_CLOSE;
  }

  /** Makes `execute` return at once (the exchange was aborted from a callback). */
  stop(): void {
    this.state = S_STOPPED;
  }

  /**
   * Parses `buf`; returns how many bytes belong to this response (less than `buf.length` only
   * when the response completed inside `buf`). Throws ParseError on malformed input.
   */
  execute(buf: Buffer): number {
    let i = 0;
    const n = buf.length;
    while (i < n) {
      switch (this.state) {
        case S_HEAD:
        case S_TRAILERS: {
          const end = this.readLine(buf, i, this.maxHeadBytes);
          if (end < 0) return n;
          i = end;
          if (this.state === S_HEAD) this.headLine();
          else this.trailerLine();
          break;
        }
        case S_LENGTH: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          const chunk = i === 0 && take === n ? buf : buf.subarray(i, i + take);
          i += take;
          if (this.remaining === 0) this.state = S_DONE;
          this.handler.onBody(chunk);
          break;
        }
        case S_CHUNK_SIZE: {
          const end = this.readLine(buf, i, MAX_CHUNK_LINE);
          if (end < 0) return n;
          i = end;
          this.chunkSizeLine();
          break;
        }
        case S_CHUNK_DATA: {
          const take = Math.min(this.remaining, n - i);
          this.remaining -= take;
          const chunk = buf.subarray(i, i + take);
          i += take;
          if (this.remaining === 0) this.state = S_CHUNK_CR;
          this.handler.onBody(chunk);
          break;
        }
        case S_CHUNK_CR:
        case S_CHUNK_LF: {
          const want = this.state === S_CHUNK_CR ? 13 : LF;
          if (buf[i] !== want) throw new ParseError('missing CRLF after chunk data');
          i++;
          this.state = this.state === S_CHUNK_CR ? S_CHUNK_LF : S_CHUNK_SIZE;
          break;
        }
        case S_CLOSE: {
          const chunk = i === 0 ? buf : buf.subarray(i);
          i = n;
          this.handler.onBody(chunk);
          break;
        }
        default:
          // S_DONE or S_STOPPED: the rest is not ours.
          return i;
      }
    }
    return i;
  }

  /**
   * The connection ended. Completes a close-delimited body; returns false when the response
   * was cut short (or never started).
   */
  finish(): boolean {
    if (this.state === S_CLOSE) {
      this.state = S_DONE;
      this.keepAlive = false;
    }
    return this.state === S_DONE;
  }

  /** Accumulates one CRLF-terminated line into `this.line` (without CRLF); -1 if incomplete. */
  private readLine(buf: Buffer, from: number, limit: number): number {
    const nl = buf.indexOf(LF, from);
    const stop = nl < 0 ? buf.length : nl;
    this.sectionBytes += stop - from + (nl < 0 ? 0 : 1);
    if (this.sectionBytes > limit) throw new ParseError(this.state === S_CHUNK_SIZE ? 'chunk-size line too long' : 'response head too large');
    if (stop > from) this.line = this.line.length === 0 ? buf.toString('latin1', from, stop) : this.line + buf.toString('latin1', from, stop);
    if (nl < 0) return -1;
    if (this.line.charCodeAt(this.line.length - 1) !== 13) throw new ParseError('line not terminated by CRLF');
    this.line = this.line.slice(0, -1);
    return nl + 1;
  }

  private headLine(): void {
    const line = this.line;
    this.line = '';
    if (this.head === undefined) {
      this.head = statusLine(line);
      return;
    }
    if (line.length > 0) return addField(this.head, line);
    this.endOfHead(this.head);
  }

  private endOfHead(head: ResponseHead): void {
    this.sectionBytes = 0;
    const status = head.status;
    if (status < 200) {
      if (status === 101) throw new ParseError('unexpected 101 Switching Protocols');
      // Interim response: the final one follows on the same connection.
      this.head = undefined;
      return;
    }
    let te: string | undefined;
    let cl: string | undefined;
    for (let k = 0; k < head.names.length; k++) {
      const name = head.names[k]!;
      if (name === 'transfer-encoding') te = te === undefined ? head.values[k]! : `${te}, ${head.values[k]!}`;
      else if (name === 'content-length') cl = cl === undefined ? head.values[k]! : `${cl}, ${head.values[k]!}`;
    }
    const conn = head.connection;
    if (conn.includes('close') || (head.minorVersion === 0 && !conn.includes('keep-alive'))) this.keepAlive = false;
    this.state = S_DONE;
    if (this.headRequest || status === 204 || status === 304) {
      // no body
    } else if (te !== undefined) {
      // Both framings present smells of smuggling: honour chunked, never reuse (RFC 9112 6.3).
      if (cl !== undefined) this.keepAlive = false;
      const last = te.slice(te.lastIndexOf(',') + 1).trim().toLowerCase();
      if (last === 'chunked') this.state = S_CHUNK_SIZE;
      else {
        this.state = S_CLOSE;
        this.keepAlive = false;
      }
    } else if (cl !== undefined) {
      const len = contentLength(cl);
      if (len > 0) {
        this.remaining = len;
        this.state = S_LENGTH;
      }
    } else {
      this.state = S_CLOSE;
      this.keepAlive = false;
    }
    // A callback that aborts sets S_STOPPED, which ends `execute`.
    this.handler.onHead(head);
  }

  private chunkSizeLine(): void {
    const line = this.line;
    this.line = '';
    this.sectionBytes = 0;
    let end = line.indexOf(';');
    if (end < 0) end = line.length;
    while (end > 0 && (line.charCodeAt(end - 1) === 32 || line.charCodeAt(end - 1) === 9)) end--;
    if (end === 0 || end > 13) throw new ParseError('bad chunk size');
    let size = 0;
    for (let k = 0; k < end; k++) {
      const d = hexValue(line.charCodeAt(k));
      if (d < 0) throw new ParseError('bad chunk size');
      size = size * 16 + d;
    }
    if (size === 0) {
      this.state = S_TRAILERS;
    } else {
      this.remaining = size;
      this.state = S_CHUNK_DATA;
    }
  }

  private trailerLine(): void {
    const line = this.line;
    this.line = '';
    if (line.length === 0) {
      this.state = S_DONE;
      return;
    }
    const colon = line.indexOf(':');
    if (colon <= 0) throw new ParseError('bad trailer field');
    const name = line.slice(0, colon).toLowerCase();
    const value = trimOws(line, colon + 1);
    this.trailers ??= {};
    const prior = this.trailers[name];
    this.trailers[name] = prior === undefined ? value : `${prior}, ${value}`;
  }
}

function statusLine(line: string): ResponseHead {
  // HTTP/1.x SP 3DIGIT [SP reason]
  if (!line.startsWith('HTTP/1.') || line.length < 12 || line.charCodeAt(8) !== 32) throw new ParseError('bad status line');
  const minor = line.charCodeAt(7) - 48;
  if (minor !== 0 && minor !== 1) throw new ParseError('bad status line');
  let status = 0;
  for (let k = 9; k < 12; k++) {
    const d = line.charCodeAt(k) - 48;
    if (d < 0 || d > 9) throw new ParseError('bad status line');
    status = status * 10 + d;
  }
  if (status < 100 || (line.length > 12 && line.charCodeAt(12) !== 32)) throw new ParseError('bad status line');
  return { status, statusText: line.slice(13), minorVersion: minor, rawNames: [], names: [], values: [], connection: [] };
}

function addField(head: ResponseHead, line: string): void {
  const first = line.charCodeAt(0);
  if (first === 32 || first === 9) {
    // obs-fold: a proxy replaces it by a space (RFC 9112 5.2).
    const last = head.values.length - 1;
    if (last < 0) throw new ParseError('bad header line');
    head.values[last] = `${head.values[last]!} ${trimOws(line, 0)}`;
    return;
  }
  const colon = line.indexOf(':');
  if (colon <= 0) throw new ParseError('bad header line');
  const before = line.charCodeAt(colon - 1);
  if (before === 32 || before === 9) throw new ParseError('whitespace before colon');
  const raw = line.slice(0, colon);
  const name = raw.toLowerCase();
  const value = trimOws(line, colon + 1);
  head.rawNames.push(raw);
  head.names.push(name);
  head.values.push(value);
  if (name === 'connection') {
    for (const t of value.split(',')) {
      const tok = t.trim().toLowerCase();
      if (tok) head.connection.push(tok);
    }
  }
}

/** Content-Length, allowing a repeated identical value ("5, 5"); throws when invalid. */
function contentLength(v: string): number {
  let value = -1;
  for (const part of v.split(',')) {
    const s = part.trim();
    if (!/^\d{1,15}$/.test(s)) throw new ParseError('bad content-length');
    const n = Number(s);
    if (value >= 0 && n !== value) throw new ParseError('conflicting content-length');
    value = n;
  }
  return value;
}

function trimOws(s: string, from: number): string {
  let a = from;
  let b = s.length;
  while (a < b && (s.charCodeAt(a) === 32 || s.charCodeAt(a) === 9)) a++;
  while (b > a && (s.charCodeAt(b - 1) === 32 || s.charCodeAt(b - 1) === 9)) b--;
  return a === 0 && b === s.length ? s : s.slice(a, b);
}

function hexValue(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  if (c >= 97 && c <= 102) return c - 87;
  if (c >= 65 && c <= 70) return c - 55;
  return -1;
}
