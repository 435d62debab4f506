/**
 * The SPDY variant of `kubectl exec` / `attach` (what kubectl falls back to when the WebSocket
 * upgrade fails, and what KUBECTL_REMOTE_COMMAND_WEBSOCKETS=false forces), as the kubelet serves it.
 *
 * Contract (kube's remotecommand httpstream server): same query as the WebSocket variant
 * (command, stdin, stdout, stderr, tty, container); `X-Stream-Protocol-Version` picks one of
 * v5/v4/v3/v2/channel.k8s.io (over SPDY v5 behaves as v4). The client then opens one SPDY stream
 * per channel, each with a `streamtype` header: `error` always, `stdin`/`stdout`/`stderr` as
 * requested (no stderr with a tty), `resize` with a tty from v3 on. Once all expected streams are
 * there the command starts: stdin stream → process stdin (its FIN closes stdin), process
 * stdout/stderr → their streams (FIN at EOF), resize carries a JSON stream of {"Width","Height"}.
 * When the process exited and its output is sent, the status goes on the error stream (v4+: the
 * metav1.Status JSON, also on success; older: only a failure's message), then the session closes.
 */
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { ExecSession } from '../runtime/cri.js';
import { ChannelCodec, exitStatus, parseRemoteCommandQuery, splitJsonObjects, startErrorStatus, V4, V5, type ExecStatus, type RemoteCommandResult, type ServeRemoteCommandOptions } from './remotecommand.js';
import { rejectUpgrade, upgradeSpdy, type SpdySession, type SpdyStream } from './spdy.js';

export const SPDY_REMOTECOMMAND_PROTOCOLS: readonly string[] = [V5, V4, 'v3.channel.k8s.io', 'v2.channel.k8s.io', 'channel.k8s.io'];
/** kube's default: how long the client may take to open all its streams. */
export const DEFAULT_STREAM_CREATION_TIMEOUT_MS = 30_000;

type StreamType = 'error' | 'stdin' | 'stdout' | 'stderr' | 'resize';

/** Stream types the client opens for these options and protocol (kube's expected stream count). */
export function expectedStreams(o: { stdin: boolean; stdout: boolean; stderr: boolean; tty: boolean }, protocol: string): StreamType[] {
  const out: StreamType[] = ['error'];
  if (o.stdin) out.push('stdin');
  if (o.stdout) out.push('stdout');
  if (o.stderr && !o.tty) out.push('stderr');
  const resizeCapable = protocol === V5 || protocol === V4 || protocol === 'v3.channel.k8s.io';
  if (o.tty && resizeCapable) out.push('resize');
  return out;
}

/**
 * Serves one exec/attach SPDY upgrade request to the end. Resolves when the session is over (never
 * rejects). Same options and result as serveRemoteCommand (the WebSocket one), plus the stream
 * creation timeout.
 */
export async function serveRemoteCommandSpdy(
  req: IncomingMessage,
  socket: Duplex,
  head: Buffer,
  opts: ServeRemoteCommandOptions & { streamCreationTimeoutMs?: number },
): Promise<RemoteCommandResult> {
  const kind = opts.kind ?? 'exec';
  const parsed = parseRemoteCommandQuery(new URL(req.url ?? '/', 'http://localhost').searchParams, kind);
  if ('error' in parsed) {
    rejectUpgrade(socket, 400, parsed.error);
    return { disconnected: false, httpStatus: 400 };
  }
  const session = upgradeSpdy(req, socket, head, { protocols: [...SPDY_REMOTECOMMAND_PROTOCOLS] });
  if (!session) return { disconnected: false, httpStatus: 400 };
  const protocol = session.protocol;
  const codec = new ChannelCodec(protocol === V5 ? V4 : protocol);
  let clientGone = false;
  const gone = new Promise<void>((resolve) =>
    session.once('close', () => {
      clientGone = true;
      resolve();
    }),
  );

  const streams = await collectStreams(session, expectedStreams(parsed, protocol), opts.streamCreationTimeoutMs ?? DEFAULT_STREAM_CREATION_TIMEOUT_MS, gone);
  if (!streams) {
    session.close();
    return { protocol, disconnected: clientGone };
  }
  const finish = (status: ExecStatus): ExecStatus => {
    const payload = codec.statusPayload(status);
    const err = streams.error!;
    if (!err.destroyed) err.end(payload ?? Buffer.alloc(0));
    // Let the status frame go out before GOAWAY and the end of the connection.
    setImmediate(() => session.close());
    return status;
  };

  let exec: ExecSession;
  try {
    exec = await opts.start(parsed);
  } catch (err) {
    for (const t of ['stdout', 'stderr'] as const) streams[t]?.end();
    return { protocol, status: finish(startErrorStatus(err)), disconnected: clientGone };
  }
  if (clientGone) exec.kill();
  void gone.then(() => exec.kill());

  streams.error!.resume(); // the client writes nothing on it
  const stdin = streams.stdin;
  if (stdin && exec.stdin) {
    exec.stdin.on('error', () => undefined); // EPIPE after the process exited
    stdin.pipe(exec.stdin);
  } else exec.stdin?.end();
  if (streams.resize) {
    let text = '';
    streams.resize.on('data', (c: Buffer) => {
      const { objects, rest } = splitJsonObjects(text + c.toString('utf8'));
      text = rest.length > 4096 ? '' : rest;
      for (const obj of objects) {
        try {
          const size = JSON.parse(obj) as { Width?: unknown; Height?: unknown };
          exec.resize({ width: Number(size.Width ?? 0), height: Number(size.Height ?? 0) });
        } catch {
          // A malformed size is ignored (kubelet only logs it).
        }
      }
    });
  }
  const pumps = [pump(exec.stdout, streams.stdout)];
  if (exec.stderr) pumps.push(pump(exec.stderr, streams.stderr));

  const exitCode = await exec.exited.catch(() => -1);
  await Promise.all(pumps);
  if (clientGone) return { protocol, exitCode, disconnected: true };
  const status = exitCode < 0 ? startErrorStatus(new Error('the command was terminated')) : exitStatus(exitCode, parsed.cmd);
  return { protocol, exitCode, status: finish(status), disconnected: false };
}

/** Waits for the client's streams by `streamtype`; undefined on timeout or disconnect (after writing the timeout error). */
async function collectStreams(session: SpdySession, expected: StreamType[], timeoutMs: number, gone: Promise<void>): Promise<Partial<Record<StreamType, SpdyStream>> | undefined> {
  const got: Partial<Record<StreamType, SpdyStream>> = {};
  let onStream!: (s: SpdyStream) => void;
  let timer: NodeJS.Timeout | undefined;
  const complete = new Promise<boolean>((resolve) => {
    onStream = (s: SpdyStream): void => {
      const t = s.headers['streamtype'] as StreamType | undefined;
      if (!t || !expected.includes(t) || got[t]) {
        s.reset(); // kube: unexpected stream type
        return;
      }
      got[t] = s;
      if (expected.every((e) => got[e])) resolve(true);
    };
    session.on('stream', onStream);
    timer = setTimeout(() => resolve(false), timeoutMs);
    timer.unref?.();
    void gone.then(() => resolve(false));
  });
  const ok = await complete;
  clearTimeout(timer);
  session.off('stream', onStream);
  if (ok) return got;
  got.error?.end('timed out waiting for client to create streams');
  return undefined;
}

/** Copies process output to a stream (FIN at EOF), or discards it when the client did not ask for it. */
function pump(src: NodeJS.ReadableStream, dst: SpdyStream | undefined): Promise<void> {
  return new Promise<void>((resolve) => {
    let done = false;
    const end = (): void => {
      if (done) return;
      done = true;
      if (dst && !dst.destroyed && !dst.writableEnded) dst.end();
      resolve();
    };
    src.on('data', (chunk: Buffer | string) => {
      if (!dst || dst.destroyed) return;
      if (!dst.write(chunk)) {
        src.pause();
        dst.once('drain', () => src.resume());
      }
    });
    dst?.once('close', () => src.resume());
    src.on('end', end);
    src.on('close', end);
    src.on('error', end);
  });
}
