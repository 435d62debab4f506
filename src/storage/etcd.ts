/**
 * `etcd://` backend: the store is a real etcd v3 cluster, reached over gRPC with the `etcd3`
 * client, laid out exactly like kube-apiserver's etcd3 store so the two are interchangeable:
 *
 * - Keys are ours verbatim (`/registry/...`), behind an optional `prefix` that is prepended on
 *   the way in and stripped on the way out.
 * - The store revision *is* etcd's revision; createRevision/modRevision are etcd's.
 * - Writes are single compare-and-swap transactions (create: `create_revision == 0`; update and
 *   delete: `mod_revision == expected`), so optimistic concurrency is decided by raft, not by us.
 * - Reads are linearizable Range calls (optionally at a revision).
 *
 * Two deliberate translations between our contract (types.ts) and etcd's:
 * 1. Compaction is off by one. Our `compact(R)` makes R itself unreadable (the oldest readable
 *    revision is compactRevision()+1), while etcd's Compact(R) keeps R readable. So compact(R)
 *    asks etcd to compact at R+1 and "etcd compacted at C" means our compactRevision is C-1. When
 *    R is the current revision etcd cannot compact at R+1 yet; it compacts at R and we reject
 *    reads at R ourselves.
 * 2. etcd does not report its compaction point, so compactRevision() is the max of what this
 *    process compacted and what etcd revealed: a read failing with ErrCompacted at revision r
 *    proves compactRevision >= r, a watch canceled with `compact_revision = C` proves C-1.
 *
 * Watches use raw gRPC watch streams (one per watch) rather than the library's Watcher, whose
 * reconnect resumes from the last *header* revision and can skip replayed events. Each watch
 * tracks the revision of the last event it delivered, re-creates its etcd watcher from last+1
 * after any stream failure (lost connection, killed member, leader change) and drops anything at
 * or below last, so a resumed watch has no gap and no duplicate (etcd-watch.ts).
 */
import { readFileSync } from 'node:fs';
import {
  CompareResult, CompareTarget, Etcd3,
  type IKeyValue, type IOptions, type IRangeRequest, type IRangeResponse, type ITxnRequest, type ITxnResponse,
} from 'etcd3';
import { CompactedError, ConflictError, FutureRevisionError, KeyExistsError, NotFoundError, UnavailableError } from './errors.js';
import { EtcdWatch } from './etcd-watch.js';
import type { Backend, KeyValue, ListOptions, ListResult, WatchOptions } from './types.js';

export interface EtcdBackendOptions {
  /** `host:port` of each member (http, or https when `tls` is set). */
  endpoints: string[];
  /** Prepended to every key in etcd (default: none, i.e. kube-apiserver's layout). */
  prefix?: string;
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  /** Deadline for each unary call (default 10 s), so a dead cluster fails requests instead of hanging. */
  requestTimeoutMs?: number;
}

/**
 * Parses `etcd://HOST:PORT[,HOST:PORT...][?prefix=/p&ca=PATH&cert=PATH&key=PATH]` (the raw text,
 * since WHATWG URL parsing rejects comma-separated hosts). Reads the TLS files.
 */
export function parseEtcdUrl(raw: string): EtcdBackendOptions {
  const m = /^etcd:\/\/([^/?#]*)\/?(?:\?([^#]*))?$/i.exec(raw);
  if (!m) throw new Error(`invalid etcd storage URL "${raw}": expected etcd://HOST:PORT[,HOST:PORT...][?prefix=...&ca=...&cert=...&key=...]`);
  const endpoints = (m[1] ?? '').split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (endpoints.length === 0) throw new Error(`etcd storage URL "${raw}" names no endpoint, e.g. etcd://127.0.0.1:2379`);
  for (const e of endpoints) {
    if (!/^(?:\[[0-9a-fA-F:.]+\]|[^:[\]]+):\d{1,5}$/.test(e)) throw new Error(`etcd endpoint "${e}" in "${raw}" must be HOST:PORT`);
  }
  const params = new URLSearchParams(m[2] ?? '');
  const known = new Set(['prefix', 'ca', 'cert', 'key']);
  for (const k of params.keys()) if (!known.has(k)) throw new Error(`unknown etcd storage URL parameter "${k}" (known: ${[...known].join(', ')})`);
  const opts: EtcdBackendOptions = { endpoints };
  const prefix = params.get('prefix');
  if (prefix) opts.prefix = prefix;
  const file = (name: string): Buffer | undefined => {
    const p = params.get(name);
    return p ? readFileSync(p) : undefined;
  };
  const [ca, cert, key] = [file('ca'), file('cert'), file('key')];
  if ((cert === undefined) !== (key === undefined)) throw new Error(`etcd storage URL "${raw}": cert and key must be given together`);
  if (ca || cert) opts.tls = { ca, cert, key };
  return opts;
}

type HostPolicy = ReturnType<NonNullable<NonNullable<IOptions['faultHandling']>['host']>>;

/**
 * A per-host policy that just runs the call. The library's default circuit breaker refuses every
 * call to a host for 5 s after three failures, which turns a one-second member restart into five
 * seconds of errors; failover between members is already done by the retry across hosts.
 */
const passThrough = {
  execute: <T>(fn: (ctx: { signal: AbortSignal }) => PromiseLike<T> | T): Promise<T> =>
    Promise.resolve().then(() => fn({ signal: new AbortController().signal })),
  onSuccess: () => ({ dispose: () => {} }),
  onFailure: () => ({ dispose: () => {} }),
} as unknown as HostPolicy;

export class EtcdBackend implements Backend {
  private readonly client: Etcd3;
  private readonly prefix: Buffer;
  private compacted = 0;
  private closed = false;
  private readonly watches = new Set<EtcdWatch>();

  constructor(readonly options: EtcdBackendOptions) {
    const secure = options.tls !== undefined;
    const timeout = options.requestTimeoutMs ?? 10_000;
    const tls = options.tls;
    this.client = new Etcd3({
      hosts: options.endpoints.map((e) => `${secure ? 'https' : 'http'}://${e}`),
      credentials: tls && (tls.ca || tls.cert)
        ? { rootCertificate: tls.ca as Buffer, privateKey: tls.key, certChain: tls.cert }
        : undefined,
      grpcOptions: {
        'grpc.max_receive_message_length': -1,
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
      },
      defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + timeout }),
      faultHandling: { host: () => passThrough },
    });
    this.prefix = Buffer.from(options.prefix ?? '', 'utf8');
  }

  async create(key: string, value: string): Promise<number> {
    const k = this.k(key);
    const res = await this.txn({
      compare: [{ key: k, target: CompareTarget.Create, result: CompareResult.Equal, create_revision: 0 }],
      success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8') } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) {
      const mine = this.ownEarlierWrite(res, value);
      if (mine !== undefined) return mine;
      throw new KeyExistsError(key);
    }
    return Number(res.header.revision);
  }

  /**
   * The etcd3 client re-sends a request whose reply was lost (a timeout, a leader change). If
   * the first attempt had committed, the retry's precondition fails against our own write; the
   * key then holds exactly the bytes we sent (API objects carry a uid and timestamps, so equal
   * bytes mean this write). Returns that write's revision, or undefined for a real conflict.
   */
  private ownEarlierWrite(res: ITxnResponse, value: string): number | undefined {
    const cur = res.responses[0]?.response_range?.kvs?.[0];
    if (cur && Buffer.from(cur.value).toString('utf8') === value) return Number(cur.mod_revision);
    return undefined;
  }

  async update(key: string, value: string, expectedRevision: number): Promise<number> {
    const k = this.k(key);
    const res = await this.txn({
      compare: [...this.exists(k), { key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expectedRevision }],
      success: [{ request_put: { key: k, value: Buffer.from(value, 'utf8') } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) {
      const cur = res.responses[0]?.response_range?.kvs?.[0];
      const mine = cur && Number(cur.mod_revision) > expectedRevision ? this.ownEarlierWrite(res, value) : undefined;
      if (mine !== undefined) return mine;
      throw this.writeFailure(key, res);
    }
    return Number(res.header.revision);
  }

  async delete(key: string, expectedRevision?: number): Promise<{ revision: number; prev: KeyValue }> {
    const k = this.k(key);
    const compare = this.exists(k);
    if (expectedRevision !== undefined) compare.push({ key: k, target: CompareTarget.Mod, result: CompareResult.Equal, mod_revision: expectedRevision });
    const res = await this.txn({
      compare,
      success: [{ request_delete_range: { key: k, prev_kv: true } }],
      failure: [{ request_range: { key: k } }],
    });
    if (!res.succeeded) throw this.writeFailure(key, res);
    const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
    if (!prev) throw new UnavailableError(`etcd: delete of ${key} returned no previous value`);
    return { revision: Number(res.header.revision), prev: this.toKv(prev) };
  }

  async get(key: string, opts?: { revision?: number }): Promise<KeyValue | null> {
    const res = await this.range({ key: this.k(key) }, opts?.revision);
    const kv = res.kvs[0];
    return kv ? this.toKv(kv) : null;
  }

  async list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    const start = this.k(prefix);
    const end = this.prefixEnd(start);
    let from = start;
    if (opts.startAfter !== undefined) {
      const after = Buffer.concat([this.k(opts.startAfter), Buffer.from([0])]);
      if (Buffer.compare(after, start) > 0) from = after;
    }
    const req: IRangeRequest = { key: from, range_end: end };
    if (opts.limit && opts.limit > 0) req.limit = opts.limit;
    // The range may be empty (startAfter beyond the prefix); etcd would reject key > range_end.
    if (Buffer.compare(from, end) >= 0 && !(end.length === 1 && end[0] === 0)) {
      const res = await this.range({ key: start, count_only: true }, opts.revision);
      return { items: [], revision: this.readRevision(res, opts.revision), more: false, remaining: 0 };
    }
    const res = await this.range(req, opts.revision);
    const items = res.kvs.map((kv) => this.toKv(kv));
    const more = Boolean(res.more);
    return { items, revision: this.readRevision(res, opts.revision), more, remaining: more ? Number(res.count) - items.length : 0 };
  }

  async count(prefix: string): Promise<number> {
    const start = this.k(prefix);
    const res = await this.range({ key: start, range_end: this.prefixEnd(start), count_only: true });
    return Number(res.count);
  }

  async currentRevision(): Promise<number> {
    const res = await this.range({ key: this.k('/'), count_only: true });
    return Number(res.header.revision);
  }

  async compactRevision(): Promise<number> {
    this.ensureOpen();
    return this.compacted;
  }

  async compact(revision: number): Promise<void> {
    this.ensureOpen();
    if (revision <= this.compacted) return;
    const tryCompact = async (at: number): Promise<'ok' | 'future' | 'compacted'> => {
      try {
        await this.client.kv.compact({ revision: at, physical: true });
        return 'ok';
      } catch (err) {
        const msg = String((err as Error)?.message ?? err);
        if (msg.includes('is a future revision')) return 'future';
        if (msg.includes('has been compacted')) return 'compacted';
        throw this.mapError(err);
      }
    };
    // etcd keeps its compaction revision readable, we do not: compact etcd one further.
    let r = await tryCompact(revision + 1);
    if (r === 'future') r = await tryCompact(revision);
    if (r === 'future') throw new FutureRevisionError(revision, await this.currentRevision());
    this.learnCompacted(revision);
  }

  watch(prefix: string, opts: WatchOptions): () => void {
    this.ensureOpen();
    const start = this.k(prefix);
    const w = new EtcdWatch({
      watchClient: this.client.watchClient,
      key: start,
      rangeEnd: this.prefixEnd(start),
      opts,
      compacted: () => this.compacted,
      decode: (kv) => this.toKv(kv),
      onCompacted: (rev) => this.learnCompacted(rev),
      onEnd: () => this.watches.delete(w),
    });
    this.watches.add(w);
    w.start();
    return () => w.stop();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new UnavailableError('etcd storage closed');
    for (const w of [...this.watches]) w.fail(err);
    this.watches.clear();
    this.client.close();
  }

  // --- helpers -------------------------------------------------------------------------------

  private ensureOpen(): void {
    if (this.closed) throw new UnavailableError('etcd storage is closed');
  }

  /** Our key → etcd key. */
  private k(key: string): Buffer {
    return this.prefix.length === 0 ? Buffer.from(key, 'utf8') : Buffer.concat([this.prefix, Buffer.from(key, 'utf8')]);
  }

  /** etcd's prefix range end: the last byte below 0xff incremented, the rest dropped; "\0" = to the end. */
  private prefixEnd(start: Buffer): Buffer {
    for (let i = start.length - 1; i >= 0; i--) {
      if ((start[i] as number) < 0xff) {
        const end = Buffer.from(start.subarray(0, i + 1));
        end[i] = (start[i] as number) + 1;
        return end;
      }
    }
    return Buffer.from([0]);
  }

  private toKv(kv: IKeyValue): KeyValue {
    const key = kv.key.subarray(this.prefix.length).toString('utf8');
    return { key, value: kv.value.toString('utf8'), createRevision: Number(kv.create_revision), modRevision: Number(kv.mod_revision) };
  }

  /** "the key exists" as an etcd comparison (a missing key has create_revision 0). */
  private exists(k: Buffer): ITxnRequest['compare'] & object {
    return [{ key: k, target: CompareTarget.Create, result: CompareResult.Greater, create_revision: 0 }];
  }

  /** NotFound or Conflict from a failed conditional write whose failure branch read the key. */
  private writeFailure(key: string, res: ITxnResponse): Error {
    const cur = res.responses[0]?.response_range?.kvs?.[0];
    return cur ? new ConflictError(key, Number(cur.mod_revision)) : new NotFoundError(key);
  }

  private readRevision(res: IRangeResponse, requested: number | undefined): number {
    return requested !== undefined && requested > 0 ? requested : Number(res.header.revision);
  }

  private learnCompacted(revision: number): void {
    if (revision > this.compacted) this.compacted = revision;
  }

  private async txn(req: ITxnRequest): Promise<ITxnResponse> {
    this.ensureOpen();
    try {
      return await this.client.kv.txn(req);
    } catch (err) {
      throw this.mapError(err);
    }
  }

  /** A linearizable Range, at `revision` when given (> 0), with our compaction rule applied. */
  private async range(req: IRangeRequest, revision?: number): Promise<IRangeResponse> {
    this.ensureOpen();
    const at = revision !== undefined && revision > 0 ? revision : 0;
    // etcd may still hold `at` (see the off-by-one note above), but our contract does not.
    if (at > 0 && at <= this.compacted) throw new CompactedError(at, this.compacted);
    try {
      return await this.client.kv.range({ ...req, revision: at, serializable: false });
    } catch (err) {
      const msg = String((err as Error)?.message ?? err);
      if (msg.includes('has been compacted')) {
        this.learnCompacted(at);
        throw new CompactedError(at, this.compacted);
      }
      if (msg.includes('is a future revision')) throw new FutureRevisionError(at, await this.currentRevision().catch(() => 0));
      throw this.mapError(err);
    }
  }

  private mapError(err: unknown): Error {
    if (this.closed) return new UnavailableError('etcd storage is closed');
    return etcdUnavailable(err);
  }
}

/** Every failure that is not one of the typed outcomes means the store cannot be reached or used. */
export function etcdUnavailable(err: unknown): Error {
  if (err instanceof UnavailableError) return err;
  if (err instanceof TypeError || err instanceof RangeError) return err; // our bugs stay visible
  return new UnavailableError(`etcd unavailable: ${(err as Error)?.message ?? String(err)}`);
}

/** Connects and checks that etcd answers (so a wrong URL fails at startup, not at first request). */
export async function openEtcdBackend(options: EtcdBackendOptions): Promise<EtcdBackend> {
  const b = new EtcdBackend(options);
  try {
    await b.currentRevision();
  } catch (err) {
    await b.close();
    throw new UnavailableError(`cannot reach etcd at ${options.endpoints.join(',')}: ${(err as Error).message}`);
  }
  return b;
}
