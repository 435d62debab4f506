/**
 * The server side of `kubectl exec` / `kubectl attach` over WebSocket, as the kubelet's streaming
 * server speaks it (the channel.k8s.io family of subprotocols).
 *
 * Wire format: every binary message starts with a channel byte — 0 stdin (client→server), 1 stdout,
 * 2 stderr, 3 error (one final metav1.Status JSON), 4 resize (client→server, `{"Width":w,"Height":h}`
 * JSON values, possibly several per message). `v5.channel.k8s.io` adds the close signal `[255, ch]`:
 * the client half-closes a channel (stdin EOF). The base64 variants send text messages whose first
 * character is the channel digit followed by base64 data. The pre-v4 protocols write only failures on
 * the error channel, as plain text.
 *
 * Order of a session, as the kubelet does it: handshake; an empty message on the lowest requested
 * output channel (stdout, else stderr, else error) to tell the client the streams are up; start the
 * command; copy streams; once the process exited and its output was sent, the status on channel 3;
 * close 1000. Start failures (command not found, container not running) are reported on the error
 * channel as an InternalError Status, like kubelet's "error executing command in container".
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExecSession } from '../runtime/cri.js';
import { acceptWebSocket, CloseCode, writeHttpError, type WebSocketConn } from './websocket.js';

export const CHANNEL = { stdin: 0, stdout: 1, stderr: 2, error: 3, resize: 4, close: 255 } as const;

export const V5 = 'v5.channel.k8s.io';
export const V4 = 'v4.channel.k8s.io';
export const V4_BASE64 = 'v4.base64.channel.k8s.io';
export const V1 = 'channel.k8s.io';
export const V1_BASE64 = 'base64.channel.k8s.io';
/** Server preference order; '' accepts a client offering no subprotocol (treated as channel.k8s.io). */
export const REMOTECOMMAND_PROTOCOLS: readonly string[] = [V5, V4, V4_BASE64, V1, V1_BASE64, ''];

/** What the client asked for, from the query string. */
export interface RemoteCommandOptions {
  cmd: string[];
  stdin: boolean;
  stdout: boolean;
  stderr: boolean;
  tty: boolean;
  container?: string;
}

/** metav1.Status as the kubelet writes it on the error channel (no kind/apiVersion). */
export interface ExecStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes?: Array<{ reason?: string; message?: string; field?: string }> };
  code?: number;
}

/** Go's strconv.ParseBool truthy spellings: kubectl sends "true", the API server's proxy sends "1". */
function queryBool(v: string | null): boolean {
  return v !== null && ['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v);
}

/**
 * Parses the exec/attach query. Returns an error message (answered with HTTP 400 before the
 * upgrade, as kubelet does) when no stream is requested or an exec has no command.
 */
export function parseRemoteCommandQuery(search: URLSearchParams, kind: 'exec' | 'attach'): RemoteCommandOptions | { error: string } {
  const cmd = search.getAll('command');
  const tty = queryBool(search.get('tty'));
  const stdin = queryBool(search.get('stdin'));
  const stdout = queryBool(search.get('stdout'));
  // With a terminal stdout and stderr are one stream; kubelet silently drops stderr in that case.
  const stderr = queryBool(search.get('stderr')) && !tty;
  if (!stdin && !stdout && !queryBool(search.get('stderr'))) return { error: 'you must specify at least 1 of stdin, stdout, stderr' };
  if (kind === 'exec' && cmd.length === 0) return { error: 'you must specify at least one command for the container' };
  const container = search.get('container') ?? undefined;
  return { cmd, stdin, stdout, stderr, tty, ...(container ? { container } : {}) };
}

/** The final status for an exit code (Success for 0; NonZeroExitCode with an ExitCode cause otherwise). */
export function exitStatus(exitCode: number, cmd: string[]): ExecStatus {
  if (exitCode === 0) return { metadata: {}, status: 'Success' };
  return {
    metadata: {},
    status: 'Failure',
    message: `command terminated with non-zero exit code: error executing command [${cmd.join(' ')}], exit code ${exitCode}`,
    reason: 'NonZeroExitCode',
    details: { causes: [{ reason: 'ExitCode', message: String(exitCode) }] },
  };
}

/** The status for a command that could not be run (kubelet wraps it as an InternalError). */
export function startErrorStatus(err: unknown): ExecStatus {
  const toStatus = (err as { toStatus?: () => ExecStatus & { kind?: string; apiVersion?: string } } | null)?.toStatus;
  if (typeof toStatus === 'function') {
    const { kind: _k, apiVersion: _a, ...s } = toStatus.call(err);
    return { ...s, metadata: {} };
  }
  const inner = `error executing command in container: ${err instanceof Error ? err.message : String(err)}`;
  return {
    metadata: {},
    status: 'Failure',
    message: `Internal error occurred: ${inner}`,
    reason: 'InternalError',
    details: { causes: [{ message: inner }] },
    code: 500,
  };
}

/** Encodes/decodes channel messages for the negotiated subprotocol. */
export class ChannelCodec {
  readonly base64: boolean;
  /** v4+/v5 write the full Status JSON (also on success); older ones only a failure's text. */
  readonly statusAsJson: boolean;
  readonly closeSignal: boolean;

  constructor(readonly protocol: string) {
    this.base64 = protocol === V4_BASE64 || protocol === V1_BASE64;
    this.statusAsJson = protocol === V5 || protocol === V4 || protocol === V4_BASE64;
    this.closeSignal = protocol === V5;
  }

  send(conn: WebSocketConn, channel: number, data: Buffer): boolean {
    if (this.base64) return conn.send(String.fromCharCode(48 + channel) + data.toString('base64'), { binary: false });
    const frame = Buffer.allocUnsafe(data.length + 1);
    frame[0] = channel;
    data.copy(frame, 1);
    return conn.send(frame, { binary: true });
  }

  /** Splits a received message into channel and payload; undefined for an empty/undecodable one. */
  decode(data: Buffer, isBinary: boolean): { channel: number; data: Buffer } | undefined {
    if (data.length === 0) return undefined;
    if (!this.base64) return isBinary ? { channel: data[0], data: data.subarray(1) } : undefined;
    const channel = data[0] - 48;
    return { channel, data: Buffer.from(data.subarray(1).toString('latin1'), 'base64') };
  }

  /** The error-channel payload for a status, or undefined when this protocol writes nothing (v1 success). */
  statusPayload(status: ExecStatus): Buffer | undefined {
    if (this.statusAsJson) return Buffer.from(JSON.stringify(status));
    if (status.status === 'Success') return undefined;
    return Buffer.from(status.message ?? '');
  }
}

/**
 * Splits concatenated JSON objects (the resize channel is a JSON stream). Returns complete
 * top-level object texts and the incomplete rest.
 */
export function splitJsonObjects(text: string): { objects: string[]; rest: string } {
  const objects: string[] = [];
  let depth = 0;
  let start = -1;
  let inString = false;
  let escaped = false;
  let consumed = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (escaped) escaped = false;
      else if (c === '\\') escaped = true;
      else if (c === '"') inString = false;
      continue;
    }
    if (c === '"') inString = true;
    else if (c === '{') {
      if (depth === 0) start = i;
      depth++;
    } else if (c === '}' && depth > 0) {
      depth--;
      if (depth === 0) {
        objects.push(text.slice(start, i + 1));
        consumed = i + 1;
      }
    } else if (depth === 0 && !/\s/.test(c)) consumed = i + 1; // stray bytes outside an object are dropped
  }
  return { objects, rest: text.slice(consumed) };
}

export interface ServeRemoteCommandOptions {
  /** Starts the command (exec) or attaches (attach: cmd is empty). A rejection is reported on the error channel. */
  start: (o: RemoteCommandOptions) => Promise<ExecSession>;
  kind?: 'exec' | 'attach';
  maxMessageSize?: number;
}

/** What happened, for logging and tests. */
export interface RemoteCommandResult {
  protocol?: string;
  exitCode?: number;
  status?: ExecStatus;
  /** The client went away before the command finished (the session was killed). */
  disconnected: boolean;
  /** The request was refused before the upgrade (HTTP status). */
  httpStatus?: number;
}

/**
 * Serves one exec/attach upgrade request end to end. Resolves when the session is over (never rejects).
 * Contract: the caller routed the request (and authorized it); this parses the query, answers 400 for
 * an invalid one, upgrades, runs `start` and streams until the process exits or the client leaves.
 */
export async function serveRemoteCommand(req: IncomingMessage, socket: Duplex, head: Buffer, opts: ServeRemoteCommandOptions): Promise<RemoteCommandResult> {
  const kind = opts.kind ?? 'exec';
  const url = new URL(req.url ?? '/', 'http://localhost');
  const parsed = parseRemoteCommandQuery(url.searchParams, kind);
  if ('error' in parsed) {
    writeHttpError(socket, 400, parsed.error + '\n');
    return { disconnected: false, httpStatus: 400 };
  }
  const conn = acceptWebSocket(req, socket, head, { protocols: [...REMOTECOMMAND_PROTOCOLS], maxMessageSize: opts.maxMessageSize });
  if (!conn) return { disconnected: false, httpStatus: 403 };
  return new RemoteCommandSession(conn, parsed, opts.start).run();
}

/** One upgraded exec/attach connection. */
class RemoteCommandSession {
  private readonly codec: ChannelCodec;
  private session: ExecSession | undefined;
  /** Messages that arrived before `start` resolved. */
  private early: Array<[Buffer, boolean]> = [];
  private clientGone = false;
  /** The session ended on its own (a later close must not kill anything). */
  private finished = false;
  private stdinEnded = false;
  private resizeText = '';
  private outputs: NodeJS.ReadableStream[] = [];

  constructor(
    private readonly conn: WebSocketConn,
    private readonly o: RemoteCommandOptions,
    private readonly start: (o: RemoteCommandOptions) => Promise<ExecSession>,
  ) {
    this.codec = new ChannelCodec(conn.protocol);
  }

  async run(): Promise<RemoteCommandResult> {
    const { conn, o, codec } = this;
    const goneP = new Promise<void>((resolve) =>
      conn.once('close', () => {
        this.clientGone = true;
        if (!this.finished) this.session?.kill();
        this.endStdin();
        for (const s of this.outputs) s.resume(); // let killed output drain so 'end' comes
        resolve();
      }),
    );
    conn.on('message', (data: Buffer, isBinary: boolean) => {
      if (this.session) this.onMessage(data, isBinary);
      else this.early.push([data, isBinary]);
    });
    conn.on('drain', () => {
      for (const s of this.outputs) s.resume();
    });
    // Tell the client the streams are up (kubelet writes an empty message on the lowest output channel).
    codec.send(conn, o.stdout ? CHANNEL.stdout : o.stderr ? CHANNEL.stderr : CHANNEL.error, Buffer.alloc(0));

    let session: ExecSession;
    try {
      session = await this.start(o);
    } catch (err) {
      return { protocol: conn.protocol, status: this.finish(startErrorStatus(err)), disconnected: this.clientGone };
    }
    this.session = session;
    if (this.clientGone) session.kill();
    if (this.stdinEnded) session.stdin?.end();
    session.stdin?.on('error', () => undefined); // EPIPE once the process exited: nothing to report
    session.stdin?.on('drain', () => conn.resume());
    if (!o.stdin) this.endStdin();

    const pumps = [this.pump(session.stdout, o.stdout ? CHANNEL.stdout : undefined)];
    if (session.stderr) pumps.push(this.pump(session.stderr, o.stderr ? CHANNEL.stderr : undefined));
    for (const [d, b] of this.early.splice(0)) this.onMessage(d, b);

    const exitCode = await session.exited.catch(() => -1);
    await Promise.all(pumps);
    this.finished = true;
    if (this.clientGone) {
      await goneP;
      return { protocol: conn.protocol, exitCode, disconnected: true };
    }
    const status = exitCode < 0 ? startErrorStatus(new Error('the command was terminated')) : exitStatus(exitCode, o.cmd);
    return { protocol: conn.protocol, exitCode, status: this.finish(status), disconnected: false };
  }

  /** Writes the final status (if the protocol has one) and closes normally. */
  private finish(status: ExecStatus): ExecStatus {
    if (!this.clientGone) {
      const payload = this.codec.statusPayload(status);
      if (payload) this.codec.send(this.conn, CHANNEL.error, payload);
      this.conn.close(CloseCode.normal);
    }
    return status;
  }

  /** Copies one output stream to a channel (or discards it), pausing while the socket is full. */
  private pump(stream: NodeJS.ReadableStream, channel: number | undefined): Promise<void> {
    this.outputs.push(stream);
    return new Promise<void>((resolve) => {
      let done = false;
      const end = (): void => {
        if (!done) resolve();
        done = true;
      };
      stream.on('data', (chunk: Buffer | string) => {
        if (channel === undefined || this.clientGone) return;
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        if (!this.codec.send(this.conn, channel, buf)) stream.pause();
      });
      stream.on('end', end);
      stream.on('close', end);
      stream.on('error', end);
    });
  }

  private onMessage(raw: Buffer, isBinary: boolean): void {
    const m = this.codec.decode(raw, isBinary);
    if (!m) return;
    if (m.channel === CHANNEL.close && this.codec.closeSignal) {
      if (m.data.length === 1 && m.data[0] === CHANNEL.stdin) this.endStdin();
      return;
    }
    if (m.channel === CHANNEL.stdin) {
      const stdin = this.session?.stdin;
      if (!this.o.stdin || !stdin || this.stdinEnded || m.data.length === 0) return;
      if (!stdin.write(m.data)) this.conn.pause();
    } else if (m.channel === CHANNEL.resize) {
      this.onResize(m.data.toString('utf8'));
    }
  }

  private onResize(text: string): void {
    const { objects, rest } = splitJsonObjects(this.resizeText + text);
    this.resizeText = rest.length > 4096 ? '' : rest;
    for (const obj of objects) {
      try {
        const size = JSON.parse(obj) as { Width?: unknown; Height?: unknown };
        const width = Number(size.Width ?? 0);
        const height = Number(size.Height ?? 0);
        if (this.o.tty && Number.isFinite(width) && Number.isFinite(height)) this.session?.resize({ width, height });
      } catch {
        // A malformed size is ignored, as kubelet only logs it.
      }
    }
  }

  private endStdin(): void {
    if (this.stdinEnded) return;
    this.stdinEnded = true;
    this.session?.stdin?.end();
    this.conn.resume();
  }
}
