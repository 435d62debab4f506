/**
 * Sends questions outside the cluster zone to upstream resolvers, as CoreDNS's
 * `forward . /etc/resolv.conf` does: UDP first with an EDNS0 OPT (payload 1232, the DNS flag
 * day size), TCP when the answer comes back truncated, the next upstream when one times out,
 * refuses the port (ICMP) or answers SERVFAIL/REFUSED.
 *
 * Anti-poisoning (RFC 5452): every attempt gets a fresh cryptographically random 16-bit ID, and
 * goes out on a *connected* UDP socket with a kernel-chosen random source port; sockets are
 * pooled per upstream (each with its own in-flight ID map) and retired after a bounded number
 * of queries so source ports keep changing. A datagram is accepted only when it comes from the
 * upstream's address and port, carries the ID of an outstanding query, is a response (QR=1) and
 * repeats the asked question (name case-insensitively, type, class). Anything else is dropped
 * silently and the query keeps waiting, so a forged reply can never be returned (or cached by
 * the caller); the genuine answer, or the timeout, settles it.
 *
 * Contract: `query` resolves with the first acceptable upstream response (its ID is the
 * upstream exchange's; the caller sets the client's), or with the last SERVFAIL/REFUSED
 * response when every attempt answered that way (so the cache can hold a SERVFAIL for 5 s as
 * CoreDNS does); it rejects when no attempt got an acceptable response at all.
 */
import { randomFillSync } from 'node:crypto';
import dgram from 'node:dgram';
import net from 'node:net';
import { decodeMessage, encodeMessage } from '../wire/index.js';
import { Rcode, type Message, type Question } from '../types.js';
import { sameQuestion } from './cache.js';
import type { ForwardMetrics } from './metrics.js';

export interface Upstream {
  host: string;
  port: number;
  family: 4 | 6;
  /** `host:port` (`[v6]:port`), the `to` label of the metrics. */
  label: string;
}

export interface ForwarderOptions {
  /** "ip", "ip:port" or "[v6]:port" (bare IPv6 also accepted); default port 53. */
  upstreams: string[];
  /** Per attempt (default 2000 ms). */
  timeoutMs?: number;
  /** Attempts per query across the upstreams (default max(2, number of upstreams)). */
  maxAttempts?: number;
  /** Which upstream an exchange starts with, as CoreDNS's `policy` (default random). */
  policy?: 'random' | 'round_robin' | 'sequential';
  /** UDP sockets per upstream (default 4). */
  socketsPerUpstream?: number;
  /** Queries a UDP socket carries before it is replaced by one on a new source port (default 512). */
  queriesPerSocket?: number;
  metrics?: ForwardMetrics;
}

/** Parses "ip", "ip:port", "[v6]:port" or a bare IPv6 address. Throws on anything else. */
export function parseUpstream(s: string): Upstream {
  let host = s.trim();
  let port = 53;
  if (host.startsWith('[')) {
    const end = host.indexOf(']');
    if (end < 0) throw new Error(`invalid upstream ${JSON.stringify(s)}`);
    const rest = host.slice(end + 1);
    host = host.slice(1, end);
    if (rest) {
      if (!rest.startsWith(':')) throw new Error(`invalid upstream ${JSON.stringify(s)}`);
      port = Number(rest.slice(1));
    }
  } else if (net.isIPv4(host.split(':')[0]!) && host.includes(':')) {
    const i = host.lastIndexOf(':');
    port = Number(host.slice(i + 1));
    host = host.slice(0, i);
  }
  const fam = net.isIP(host);
  if (fam === 0 || !Number.isInteger(port) || port < 1 || port > 65535) throw new Error(`invalid upstream ${JSON.stringify(s)}`);
  if (fam === 6) host = new URL(`http://[${host}]/`).hostname.slice(1, -1); // canonical form, as rinfo reports it
  return { host, port, family: fam as 4 | 6, label: fam === 6 ? `[${host}]:${port}` : `${host}:${port}` };
}

/**
 * The upstreams named by `nameserver` lines of a resolv.conf, minus `exclude` (our own listen
 * addresses and the kube-dns ClusterIP: forwarding to ourselves would loop, which CoreDNS's
 * loop plugin exists to catch). Zone IDs (`fe80::1%eth0`) are not supported and skipped.
 */
export function upstreamsFromResolvConf(text: string, opts: { exclude?: string[] } = {}): string[] {
  // An exclusion without a port ("10.96.0.10") drops that address on any port; with one, only that upstream.
  const hosts = new Set<string>();
  const labels = new Set<string>();
  for (const e of opts.exclude ?? []) {
    try {
      const u = parseUpstream(e);
      if (net.isIP(e.trim()) !== 0) hosts.add(u.host);
      else labels.add(u.label);
    } catch {
      // not an address: nothing to exclude
    }
  }
  const out: string[] = [];
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#') || line.startsWith(';')) continue;
    const fields = line.split(/\s+/);
    if (fields[0] !== 'nameserver' || fields.length < 2 || net.isIP(fields[1]!) === 0) continue;
    const u = parseUpstream(fields[1]!);
    if (hosts.has(u.host) || labels.has(u.label) || out.includes(u.label)) continue;
    out.push(u.label);
  }
  return out;
}

const RCODE_NAMES: Record<number, string> = { 0: 'NOERROR', 1: 'FORMERR', 2: 'SERVFAIL', 3: 'NXDOMAIN', 4: 'NOTIMP', 5: 'REFUSED' };

/** Cryptographically random 16-bit IDs, drawn from a refilled batch (randomInt per query is slow). */
class IdSource {
  private readonly pool = new Uint16Array(1024);
  private next = this.pool.length;

  take(): number {
    if (this.next >= this.pool.length) {
      randomFillSync(this.pool);
      this.next = 0;
    }
    return this.pool[this.next++]!;
  }
}

type Settle = (err: Error | undefined, msg?: Message) => void;

interface Pending {
  question: Question;
  settle: Settle;
}

/** One connected UDP socket to one upstream with its own in-flight ID map. */
class UdpConn {
  readonly sock: dgram.Socket;
  readonly pending = new Map<number, Pending>();
  uses = 0;
  retired = false;
  closed = false;
  private readonly ready: Promise<void>;

  constructor(private readonly up: Upstream, private readonly onGone: (c: UdpConn) => void) {
    this.sock = dgram.createSocket(up.family === 6 ? 'udp6' : 'udp4');
    this.sock.on('message', (buf, rinfo) => this.receive(buf, rinfo));
    // ICMP port/host unreachable surfaces here on a connected socket: every query on it failed.
    this.sock.on('error', (err) => this.fail(err));
    // Pending queries hold timers; an idle pool must not keep the process alive.
    this.sock.unref();
    this.ready = new Promise((resolve, reject) => {
      this.sock.connect(up.port, up.host, (err?: Error) => (err ? reject(err) : resolve()));
    });
    this.ready.catch((err: Error) => this.fail(err));
  }

  send(buf: Buffer, onError: (err: Error) => void): void {
    this.ready.then(
      () => {
        if (this.closed) return onError(new Error('socket closed'));
        this.sock.send(buf, (err) => {
          if (err) onError(err);
        });
      },
      (err: Error) => onError(err),
    );
  }

  private receive(buf: Buffer, rinfo: dgram.RemoteInfo): void {
    // The kernel already filters a connected socket's peer; check again so correctness never
    // rests on socket options.
    if (rinfo.address !== this.up.host || rinfo.port !== this.up.port || buf.length < 12) return;
    const p = this.pending.get(buf.readUInt16BE(0));
    if (!p) return;
    let msg: Message;
    try {
      msg = decodeMessage(buf);
    } catch {
      return;
    }
    if (!msg.qr || msg.questions.length !== 1 || !sameQuestion(p.question, msg.questions[0]!)) return;
    p.settle(undefined, msg);
  }

  private fail(err: Error): void {
    for (const p of [...this.pending.values()]) p.settle(err);
    this.retire();
    this.close();
  }

  /** Stops new queries; closes once the in-flight ones are settled. */
  retire(): void {
    if (!this.retired) {
      this.retired = true;
      this.onGone(this);
    }
    if (this.pending.size === 0) this.close();
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    try {
      this.sock.close();
    } catch {
      // already closed
    }
  }
}

function abortError(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error('query aborted');
}

export class Forwarder {
  readonly upstreams: readonly Upstream[];
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly policy: NonNullable<ForwarderOptions['policy']>;
  private readonly socketsPer: number;
  private readonly queriesPer: number;
  private readonly metrics?: ForwardMetrics;
  private readonly ids = new IdSource();
  private readonly pools = new Map<string, UdpConn[]>();
  private readonly tcp = new Set<net.Socket>();
  private rr = 0;
  private closed = false;

  constructor(opts: ForwarderOptions) {
    if (!opts.upstreams.length) throw new Error('forwarder: no upstreams');
    this.upstreams = opts.upstreams.map(parseUpstream);
    this.timeoutMs = opts.timeoutMs ?? 2000;
    this.maxAttempts = Math.max(1, opts.maxAttempts ?? Math.max(2, this.upstreams.length));
    this.policy = opts.policy ?? 'random';
    this.socketsPer = Math.max(1, opts.socketsPerUpstream ?? 4);
    this.queriesPer = Math.max(1, opts.queriesPerSocket ?? 512);
    this.metrics = opts.metrics;
  }

  /** Forwards the single question of `req` (see the file comment for what resolves and rejects). */
  async query(req: Message, opts: { signal?: AbortSignal } = {}): Promise<Message> {
    if (this.closed) throw new Error('forwarder closed');
    if (req.questions.length !== 1) throw new Error('forwarder: a query needs exactly one question');
    const q = req.questions[0]!;
    const packet = encodeMessage({
      id: 0, qr: false, opcode: req.opcode, aa: false, tc: false, rd: req.rd, ra: false, ad: false, cd: req.cd, rcode: 0,
      questions: [{ name: q.name, type: q.type, class: q.class }], answers: [], authority: [], additional: [],
      edns: { udpSize: 1232, version: 0, dnssecOk: req.edns?.dnssecOk === true, extendedRcode: 0, options: [] },
    });
    const n = this.upstreams.length;
    const start = this.policy === 'sequential' ? 0 : this.policy === 'round_robin' ? this.rr++ % n : Math.floor(Math.random() * n);
    let lastErr: Error | undefined;
    let lastAnswer: Message | undefined;
    for (let i = 0; i < this.maxAttempts; i++) {
      if (opts.signal?.aborted) throw abortError(opts.signal);
      if (this.closed) throw new Error('forwarder closed');
      const up = this.upstreams[(start + i) % n]!;
      const began = performance.now();
      this.metrics?.request(up.label);
      try {
        let res = await this.exchangeUdp(up, packet, q, opts.signal);
        if (res.tc) res = await this.exchangeTcp(up, packet, q, opts.signal);
        this.metrics?.response(up.label, RCODE_NAMES[res.rcode] ?? String(res.rcode), (performance.now() - began) / 1000);
        if (res.rcode === Rcode.SERVFAIL || res.rcode === Rcode.REFUSED) {
          lastAnswer = res;
          continue;
        }
        return res;
      } catch (err) {
        if (opts.signal?.aborted) throw abortError(opts.signal);
        lastErr = err as Error;
      }
    }
    if (lastAnswer) return lastAnswer;
    throw new Error(`no upstream answered ${q.name} (${this.maxAttempts} attempts): ${lastErr?.message ?? 'unknown error'}`);
  }

  /** Closes every socket; queries in flight reject. */
  close(): void {
    this.closed = true;
    for (const pool of this.pools.values()) {
      for (const c of [...pool]) {
        for (const p of [...c.pending.values()]) p.settle(new Error('forwarder closed'));
        c.retire();
        c.close();
      }
    }
    this.pools.clear();
    for (const s of this.tcp) s.destroy();
    this.tcp.clear();
  }

  private conn(up: Upstream): UdpConn {
    let pool = this.pools.get(up.label);
    if (!pool) this.pools.set(up.label, (pool = []));
    if (pool.length < this.socketsPer) {
      const c = new UdpConn(up, (gone) => {
        const i = pool!.indexOf(gone);
        if (i >= 0) pool!.splice(i, 1);
      });
      pool.push(c);
      return c;
    }
    return pool[Math.floor(Math.random() * pool.length)]!;
  }

  private exchangeUdp(up: Upstream, packet: Buffer, question: Question, signal: AbortSignal | undefined): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const conn = this.conn(up);
      let id = this.ids.take();
      while (conn.pending.has(id)) id = this.ids.take();
      const buf = Buffer.from(packet);
      buf.writeUInt16BE(id, 0);
      let done = false;
      const onAbort = (): void => settle(abortError(signal!));
      const timer = setTimeout(() => settle(new Error(`timeout after ${this.timeoutMs} ms from ${up.label}`)), this.timeoutMs);
      const settle: Settle = (err, msg) => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        conn.pending.delete(id);
        if (conn.retired && conn.pending.size === 0) conn.close();
        if (err) reject(err);
        else resolve(msg!);
      };
      if (signal) {
        if (signal.aborted) return settle(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      conn.pending.set(id, { question, settle });
      if (++conn.uses >= this.queriesPer) conn.retire();
      conn.send(buf, (err) => settle(err));
    });
  }

  /** One query over a fresh TCP connection with RFC 1035 §4.2.2 two-byte length framing. */
  private exchangeTcp(up: Upstream, packet: Buffer, question: Question, signal: AbortSignal | undefined): Promise<Message> {
    return new Promise<Message>((resolve, reject) => {
      const id = this.ids.take();
      const framed = Buffer.allocUnsafe(packet.length + 2);
      framed.writeUInt16BE(packet.length, 0);
      packet.copy(framed, 2);
      framed.writeUInt16BE(id, 2);
      const sock = net.connect({ host: up.host, port: up.port });
      this.tcp.add(sock);
      let done = false;
      let chunks: Buffer = Buffer.alloc(0);
      const onAbort = (): void => settle(abortError(signal!));
      const timer = setTimeout(() => settle(new Error(`tcp timeout after ${this.timeoutMs} ms from ${up.label}`)), this.timeoutMs);
      const settle = (err: Error | undefined, msg?: Message): void => {
        if (done) return;
        done = true;
        clearTimeout(timer);
        signal?.removeEventListener('abort', onAbort);
        this.tcp.delete(sock);
        sock.destroy();
        if (err) reject(err);
        else resolve(msg!);
      };
      if (signal) {
        if (signal.aborted) return settle(abortError(signal));
        signal.addEventListener('abort', onAbort, { once: true });
      }
      sock.on('connect', () => sock.write(framed));
      sock.on('error', (err) => settle(err));
      sock.on('close', () => settle(new Error(`tcp connection to ${up.label} closed before an answer`)));
      sock.on('data', (d: Buffer) => {
        chunks = chunks.length ? Buffer.concat([chunks, d]) : d;
        while (chunks.length >= 2) {
          const len = chunks.readUInt16BE(0);
          if (chunks.length < 2 + len) return;
          const frame = chunks.subarray(2, 2 + len);
          chunks = chunks.subarray(2 + len);
          let msg: Message;
          try {
            msg = decodeMessage(frame);
          } catch {
            continue;
          }
          // Same acceptance rules as UDP; a stray frame is skipped and the answer awaited.
          if (msg.id !== id || !msg.qr || msg.questions.length !== 1 || !sameQuestion(question, msg.questions[0]!)) continue;
          return settle(undefined, msg);
        }
      });
    });
  }
}
