/**
 * Watch streams, as kube-apiserver serves them: newline-delimited JSON WatchEvents over a
 * chunked response, starting per the resourceVersion rules (unset or "0": synthetic ADDED for
 * the current state, then changes; N: every change after N, or a 410 Expired ERROR event when N
 * is no longer available), with bookmarks and timeouts. Events reach the client in revision
 * order, each once; an object leaving or entering a selector is sent as DELETED or ADDED.
 */
import { stringifyJson } from '../../util/deepjson.js';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KObject } from '../../api/types.js';
import { apiVersionOf, type ResourceInfo } from '../../api/resources.js';
import { CompactedError } from '../../storage/errors.js';
import { decodeEvent, type CachedEvent, type WatchCache } from '../watchcache.js';
import type { ResourceStore } from '../registry/store.js';
import { StatusError } from '../errors.js';
import type { HttpPlugins, ObjectFilter } from './plugins.js';
import type { Negotiated } from './respond.js';

export interface WatchRequest {
  res: ResourceInfo;
  /** The resource the objects are stored as (differs for converted kinds). */
  store: ResourceStore;
  namespace?: string;
  name?: string;
  filter?: ObjectFilter;
  resourceVersion?: string;
  resourceVersionMatch?: string;
  timeoutSeconds?: number;
  allowBookmarks: boolean;
  sendInitialEvents?: boolean;
  negotiated: Negotiated;
  /** Converts a stored object to the requested version. */
  toRequested: (obj: KObject) => KObject;
  /** True when toRequested is the identity, so encoded events can be shared between watchers. */
  sameVersion?: boolean;
  bookmarkIntervalMs?: number;
}

export interface WatchDeps {
  cache: WatchCache;
  plugins: HttpPlugins;
}

interface Outgoing {
  type: string;
  object: unknown;
}

export async function serveWatch(req: IncomingMessage, res: ServerResponse, w: WatchRequest, deps: WatchDeps): Promise<void> {
  const prefix = w.name ? w.store.key(w.namespace, w.name) : w.store.prefix(w.namespace);
  const exactKey = !!w.name;
  const match = (obj: KObject | undefined): boolean => {
    if (!obj) return false;
    if (w.name && obj.metadata.name !== w.name) return false;
    return !w.filter || w.filter(obj);
  };

  let headerSent = false;
  let firstTable = true;
  const contentType = w.negotiated.as === 'table' ? w.negotiated.contentType : 'application/json';
  const writeHeader = (): void => {
    if (headerSent) return;
    headerSent = true;
    res.writeHead(200, { 'Content-Type': contentType, 'Transfer-Encoding': 'chunked', 'Cache-Control': 'no-cache, private' });
    res.flushHeaders();
  };
  const encode = (type: string, obj: KObject): Outgoing => {
    const out = w.toRequested(obj);
    if (w.negotiated.as === 'table' && type !== 'BOOKMARK' && type !== 'ERROR') {
      const t = deps.plugins.table(w.res, [out], { includeObject: 'Metadata', noHeaders: !firstTable });
      firstTable = false;
      return { type, object: t };
    }
    if (w.negotiated.as === 'metadata' && type !== 'ERROR') {
      return { type, object: { kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: out.metadata } };
    }
    return { type, object: out };
  };
  let closed = false;
  const emit = (o: Outgoing): void => {
    if (closed) return;
    writeHeader();
    res.write(stringifyJson(o) + '\n');
  };

  // Plain-object events in the stored version are the same bytes for every watcher: encode
  // each (event, type) once and share the line (100 watchers then cost one JSON.stringify).
  const shareable = w.negotiated.as === 'object' && w.sameVersion === true;
  const emitEvent = (type: string, ev: CachedEvent): void => {
    if (!shareable) return emit(encode(type, ev.object));
    if (closed) return;
    const lines = (ev.encoded ??= {});
    const line = (lines[type] ??= stringifyJson({ type, object: ev.object }) + '\n');
    writeHeader();
    res.write(line);
  };

  let lastRV = 0;
  const onEvent = (ev: CachedEvent): void => {
    if (exactKey ? ev.key !== prefix : !ev.key.startsWith(prefix)) return;
    lastRV = ev.revision;
    const now = match(ev.object);
    const before = ev.type === 'ADDED' ? false : match(ev.prev ?? (ev.type === 'DELETED' ? ev.object : undefined));
    if (ev.type === 'DELETED') {
      if (before || match(ev.object)) emitEvent('DELETED', ev);
      return;
    }
    if (now && before) emitEvent('MODIFIED', ev);
    else if (now) emitEvent('ADDED', ev);
    else if (before) emitEvent('DELETED', ev);
  };

  let stop: (() => void) | undefined;
  let bookmarkTimer: NodeJS.Timeout | undefined;
  let timeoutTimer: NodeJS.Timeout | undefined;
  const cleanup = (): void => {
    if (closed) return;
    closed = true;
    stop?.();
    clearInterval(bookmarkTimer);
    clearTimeout(timeoutTimer);
    if (!res.writableEnded) res.end();
  };
  req.on('close', cleanup);
  res.on('close', cleanup);
  res.on('error', cleanup);

  const rvParam = w.resourceVersion;
  const bookmark = (extra?: Record<string, string>): void => {
    const meta: Record<string, unknown> = { resourceVersion: String(Math.max(lastRV, deps.cache.latestRevision())) };
    if (extra) meta.annotations = extra;
    const kind = w.negotiated.as === 'table' ? undefined : w.res.kind;
    emit({ type: 'BOOKMARK', object: { kind: kind ?? w.res.kind, apiVersion: apiVersionOf(w.res), metadata: meta } });
  };

  const initial = rvParam === undefined || rvParam === '' || rvParam === '0' || w.sendInitialEvents === true;
  let fromRevision: number;
  if (initial) {
    const list = await w.store.list(w.namespace, { filter: (o) => match(o) });
    writeHeader();
    for (const obj of list.items) emit(encode('ADDED', obj));
    fromRevision = Number(list.resourceVersion);
    lastRV = fromRevision;
    if (w.sendInitialEvents && w.allowBookmarks) bookmark({ 'k8s.io/initial-events-end': 'true' });
  } else {
    if (!/^\d+$/.test(rvParam)) throw new StatusError(400, 'BadRequest', `invalid resource version: ${JSON.stringify(rvParam)}`);
    fromRevision = Number(rvParam);
    lastRV = fromRevision;
  }

  if (closed) return;
  stop = deps.cache.subscribe({
    prefix,
    fromRevision,
    onEvent,
    onReset: () => {
      emit({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: 'the watch cache was reset; list again', reason: 'Expired', code: 410 } });
      cleanup();
    },
  });
  if (!stop) {
    // Older than the cache's window: replay from the store, which knows compaction.
    stop = w.store.backend.watch(prefix, {
      fromRevision,
      onEvent: (ev) => onEvent(decodeEvent(ev)),
      onError: (err) => {
        const msg =
          err instanceof CompactedError ? `too old resource version: ${fromRevision} (${err.compacted + 1})` : err.message;
        emit({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: msg, reason: 'Expired', code: 410 } });
        cleanup();
      },
    });
  }
  writeHeader();

  bookmarkTimer = w.allowBookmarks ? setInterval(() => bookmark(), w.bookmarkIntervalMs ?? 10_000) : undefined;
  // Without a timeout kube closes a watch after a randomised 30-60 minutes; do the same.
  const timeoutMs = w.timeoutSeconds !== undefined ? w.timeoutSeconds * 1000 : (1800 + Math.random() * 1800) * 1000;
  timeoutTimer = setTimeout(cleanup, Math.max(0, timeoutMs));
  bookmarkTimer?.unref?.();
  timeoutTimer.unref?.();
}
