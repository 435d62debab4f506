/**
 * One built-in proxy worker process. `ProxyWorkerPool` (pool.ts) forks N of these with
 * node:cluster, as nginx's master forks its workers: each runs an `IngressProxy` whose two
 * listeners share the primary's sockets (the kernel spreads connections over the workers), so
 * proxying uses every core and never waits behind the control plane's event loop.
 *
 * Contract with the primary (messages in pool.ts): `ready` (sent first: the primary sends nothing
 * before it, as IPC messages that arrive before a listener exists are lost) → `init` → listen → `listening` (or
 * `listen-error` with the errno code, so the caller can fall back to free ports); every `update`
 * is applied in order and acknowledged with its `seq`; `close` stops the listeners, flushes and
 * exits. Metrics are folded into per-series deltas (batch.ts) and shipped at most every
 * FLUSH_MS; access-log lines are appended to the shared file in batches of whole lines (O_APPEND
 * keeps each batch in one piece), or sent to the primary when it has no file. A worker whose IPC channel closes (the primary died) exits,
 * and SIGINT/SIGTERM are left to the primary, which stops its workers itself.
 */
import cluster from 'node:cluster';
import { createWriteStream, type WriteStream } from 'node:fs';
import { MetricsBatch } from './batch.js';
import { IngressProxy } from './index.js';
import type { PrimaryMessage, WorkerMessage } from './pool.js';
import type { RequestRecord } from './observe.js';

/** Longest a finished request waits before its metrics reach the primary. */
const FLUSH_MS = 50;
/** Access-log lines are written in batches of up to 64 KiB, at least every 200 ms. */
const FILE_BUFFER_BYTES = 64 * 1024;
const FILE_FLUSH_MS = 200;

function runWorker(): void {
  let proxy: IngressProxy | undefined;
  let file: WriteStream | undefined;
  const batch = new MetricsBatch();
  let lines: string[] = [];
  let timer: NodeJS.Timeout | undefined;
  let closing = false;
  let fileBuf = '';
  let fileTimer: NodeJS.Timeout | undefined;
  const flushFile = (): void => {
    if (fileTimer) clearTimeout(fileTimer);
    fileTimer = undefined;
    if (fileBuf === '' || !file) return;
    file.write(fileBuf);
    fileBuf = '';
  };

  const send = (m: WorkerMessage): void => {
    if (process.connected) process.send!(m);
  };
  const flush = (): void => {
    timer = undefined;
    if (batch.size === 0 && lines.length === 0) return;
    const out = lines;
    lines = [];
    send({ t: 'stats', deltas: batch.drain(), lines: out });
  };
  const schedule = (): void => {
    timer ??= setTimeout(flush, FLUSH_MS);
  };

  const init = async (m: Extract<PrimaryMessage, { t: 'init' }>): Promise<void> => {
    const o = m.options;
    if (o.accessLogPath) {
      file = createWriteStream(o.accessLogPath, { flags: 'a', mode: 0o600 });
      file.on('error', (err) => console.error(`ingress worker ${cluster.worker?.id}: access log: ${err.message}`));
    }
    const accessLog = file
      ? (line: string): void => {
          // Buffered like nginx's `access_log ... buffer=64k flush=...`: one write per batch, not per request.
          fileBuf += `${line}\n`;
          if (fileBuf.length >= FILE_BUFFER_BYTES) flushFile();
          else fileTimer ??= setTimeout(flushFile, FILE_FLUSH_MS);
        }
      : o.forwardAccessLog
        ? (line: string): void => {
            lines.push(line);
            schedule();
          }
        : undefined;
    proxy = new IngressProxy({
      ...o.proxy,
      ...(accessLog ? { accessLog } : {}),
      observe: (rec: RequestRecord): void => {
        if (!rec.ingress) return;
        batch.add(rec);
        schedule();
      },
    });
    try {
      send({ t: 'listening', ports: await proxy.listen() });
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      send({ t: 'listen-error', message: e.message, ...(e.code ? { code: e.code } : {}) });
      process.exit(1);
    }
  };

  const close = async (): Promise<void> => {
    closing = true;
    if (timer) clearTimeout(timer);
    flush();
    await proxy?.close().catch(() => undefined);
    flushFile();
    if (file) await new Promise<void>((r) => file!.end(() => r()));
    process.exit(0);
  };

  process.on('message', (m: PrimaryMessage) => {
    if (closing) return;
    switch (m.t) {
      case 'init':
        void init(m);
        break;
      case 'update':
        // IngressProxy.update only swaps state, so updates apply (and are acknowledged) in order.
        void (proxy ? proxy.update(m.table) : Promise.resolve()).then(
          () => send({ t: 'updated', seq: m.seq }),
          (err: Error) => send({ t: 'updated', seq: m.seq, error: err.message }),
        );
        break;
      case 'close':
        void close();
        break;
    }
  });
  process.on('disconnect', () => process.exit(0));
  // Messages that arrive before a 'message' listener exists are dropped: say when we listen.
  send({ t: 'ready' });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(sig, () => {});
}

if (cluster.isWorker) runWorker();
