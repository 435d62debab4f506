/**
 * The agent's side of the pod subresources the API server hands over (see
 * src/apiserver/nodeconnections.ts): logs from the CRI log files, exec/attach over the
 * remotecommand protocols, port-forward into the pod's network.
 *
 * Errors before any byte is written are StatusErrors with kube's messages, which the API server
 * turns into metav1.Status responses; after that the protocol modules own the connection.
 */
import { PassThrough } from 'node:stream';
import type { ServerResponse } from 'node:http';
import type { KObject } from '../../api/types.js';
import { errors, StatusError } from '../../apiserver/errors.js';
import type { NodeStreamingHandler, StreamingSubresource, UpgradeConnection } from '../../apiserver/nodeconnections.js';
import { readLogs, parseRfc3339, type ReadLogsOptions } from '../logs/reader.js';
import type { ExecSession, RuntimeService } from '../runtime/cri.js';
import type { NodeAgent } from '../agent/agent.js';
import { serveRemoteCommand } from './remotecommand.js';
import { dialTcp, servePortForward } from './portforward.js';
import { serveRemoteCommandSpdy } from './remotecommand-spdy.js';
import { isSpdyUpgrade } from './spdy.js';

type Located = NonNullable<Awaited<ReturnType<NodeAgent['findContainer']>>>;

/** PodLogOptions from the query, validated as kube-apiserver does (422 PodLogOptions). */
export function parseLogOptions(q: URLSearchParams, podName: string, now: Date): ReadLogsOptions & { container?: string; previous: boolean } {
  const causes: { reason: string; message: string; field: string }[] = [];
  const int = (name: string): number | undefined => {
    const v = q.get(name);
    if (v === null || v === '') return undefined;
    if (!/^-?\d+$/.test(v)) throw errors.badRequest(`invalid value for ${name}: ${JSON.stringify(v)}: must be an integer`);
    return Number(v);
  };
  const bool = (name: string): boolean => ['1', 't', 'T', 'true', 'TRUE', 'True'].includes(q.get(name) ?? '');
  const tailLines = int('tailLines');
  const limitBytes = int('limitBytes');
  const sinceSeconds = int('sinceSeconds');
  const sinceTimeRaw = q.get('sinceTime');
  if (tailLines !== undefined && tailLines < 0) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${tailLines}: must be greater than or equal to 0`, field: 'tailLines' });
  if (limitBytes !== undefined && limitBytes < 1) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${limitBytes}: must be greater than 0`, field: 'limitBytes' });
  if (sinceSeconds !== undefined && sinceSeconds < 1) causes.push({ reason: 'FieldValueInvalid', message: `Invalid value: ${sinceSeconds}: must be greater than 0`, field: 'sinceSeconds' });
  if (sinceSeconds !== undefined && sinceTimeRaw) causes.push({ reason: 'FieldValueForbidden', message: 'Forbidden: at most one of `sinceTime` or `sinceSeconds` may be specified', field: 'sinceSeconds' });
  let sinceTime: Date | undefined;
  if (sinceTimeRaw) {
    const ms = parseRfc3339(sinceTimeRaw);
    if (!Number.isFinite(ms)) throw errors.badRequest(`invalid value for sinceTime: ${JSON.stringify(sinceTimeRaw)}`);
    sinceTime = new Date(ms);
  }
  if (causes.length) throw errors.invalid('PodLogOptions', '', podName, causes);
  if (sinceSeconds !== undefined) sinceTime = new Date(now.getTime() - sinceSeconds * 1000);
  return {
    container: q.get('container') || undefined,
    previous: bool('previous'),
    follow: bool('follow'),
    timestamps: bool('timestamps'),
    tailLines,
    limitBytes,
    sinceTime,
  };
}

export class AgentStreaming implements NodeStreamingHandler {
  constructor(
    private readonly agent: NodeAgent,
    private readonly runtime: RuntimeService,
  ) {}

  private async locate(pod: KObject, container: string | undefined): Promise<Located> {
    const ns = pod.metadata.namespace ?? '';
    const name = pod.metadata.name ?? '';
    let found: Located | undefined;
    try {
      found = await this.agent.findContainer(ns, name, container);
    } catch (err) {
      if (err instanceof StatusError) throw err;
      throw errors.badRequest((err as Error).message);
    }
    if (!found) {
      throw errors.badRequest(`container "${container ?? ''}" in pod "${name}" is waiting to start: ContainerCreating`);
    }
    return found;
  }

  async logs(pod: KObject, query: URLSearchParams, res: ServerResponse): Promise<void> {
    const opts = parseLogOptions(query, pod.metadata.name ?? '', new Date());
    const c = await this.locate(pod, opts.container);
    const path = opts.previous ? c.previousLogPath : c.logPath;
    if (!path) {
      throw errors.badRequest(`previous terminated container "${opts.container ?? ''}" in pod "${pod.metadata.name}" not found`);
    }
    let exited = false;
    const check = async (): Promise<void> => {
      try {
        exited = (await this.runtime.containerStatus(c.containerId)).state === 'exited';
      } catch {
        exited = true;
      }
    };
    await check();
    const off = this.runtime.onContainerExit((ev) => {
      if (ev.containerId === c.containerId) exited = true;
    });
    const abort = new AbortController();
    res.on('close', () => abort.abort());
    res.writeHead(200, { 'Content-Type': 'text/plain', 'Cache-Control': 'no-cache, private', 'X-Content-Type-Options': 'nosniff' });
    res.flushHeaders();
    try {
      await readLogs(path, { ...opts, follow: opts.follow && !opts.previous, signal: abort.signal, untilExited: () => exited }, (chunk) => {
        res.write(chunk);
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT' && !abort.signal.aborted) res.write(`kubelite: reading logs failed: ${(err as Error).message}\n`);
    } finally {
      off();
      res.end();
    }
  }

  async upgrade(sub: StreamingSubresource, pod: KObject, query: URLSearchParams, conn: UpgradeConnection): Promise<void> {
    const phase = (pod.status as { phase?: string } | undefined)?.phase;
    if (sub !== 'portforward' && (phase === 'Succeeded' || phase === 'Failed')) {
      throw errors.badRequest(`cannot ${sub === 'exec' ? 'exec into' : 'attach to'} a container in a completed pod; current phase is ${phase}`);
    }
    if (sub === 'portforward') {
      const c = await this.locate(pod, undefined).catch(() => undefined);
      const podIP = c?.podIP ?? (pod.status as { podIP?: string } | undefined)?.podIP;
      if (!podIP) throw errors.badRequest(`pod ${pod.metadata.name} has no IP yet`);
      const uid = pod.metadata.uid ?? '';
      servePortForward(conn.req, conn.socket, conn.head, {
        dial: dialTcp(podIP),
        podName: pod.metadata.name ?? '',
        podUid: uid,
      });
      return;
    }
    const c = await this.locate(pod, query.get('container') || undefined);
    const status = await this.runtime.containerStatus(c.containerId).catch(() => undefined);
    if (!status || status.state !== 'running') {
      throw errors.badRequest(`container ${query.get('container') ?? status?.metadata.name ?? ''} is not valid for pod ${pod.metadata.name}: container not running`);
    }
    // kubectl 1.32 speaks WebSocket first and falls back to SPDY (both are served).
    const serve = isSpdyUpgrade(conn.req) ? serveRemoteCommandSpdy : serveRemoteCommand;
    await serve(conn.req, conn.socket, conn.head, {
      kind: sub,
      start: (o) => (sub === 'exec' ? this.runtime.exec(c.containerId, { cmd: o.cmd, tty: o.tty, stdin: o.stdin }) : this.attachSession(c)),
    });
  }

  /**
   * attach: the container's output as it is written (from its log), without stdin — the process
   * runtime does not keep containers' stdin open.
   */
  private async attachSession(c: Located): Promise<ExecSession> {
    const stdout = new PassThrough();
    const stderr = new PassThrough();
    const abort = new AbortController();
    let exited = false;
    const off = this.runtime.onContainerExit((ev) => {
      if (ev.containerId === c.containerId) exited = true;
    });
    const done = readLogs(c.logPath, { follow: true, tailLines: 0, stream: 'stdout', signal: abort.signal, untilExited: () => exited }, (b) => stdout.write(b));
    const doneErr = readLogs(c.logPath, { follow: true, tailLines: 0, stream: 'stderr', signal: abort.signal, untilExited: () => exited }, (b) => stderr.write(b));
    const exitedP = Promise.allSettled([done, doneErr]).then(async () => {
      off();
      stdout.end();
      stderr.end();
      const st = await this.runtime.containerStatus(c.containerId).catch(() => undefined);
      return st?.exitCode ?? 0;
    });
    return { stdout, stderr, resize: () => undefined, exited: exitedP, kill: () => abort.abort() };
  }
}

