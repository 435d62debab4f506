/**
 * Cache in front of the forwarder, as CoreDNS's `cache 30` sits before `forward .`: a hit is
 * answered from the cache; concurrent misses for the same key share one upstream exchange
 * (coalescing, so a burst of identical queries costs one upstream round trip); the upstream's
 * answer is stored (if cacheable) and returned.
 *
 * Contract: `resolve` resolves with a response message whose question is the caller's (its
 * letter case echoed) and whose ID is meaningless — the caller sets the client's ID and
 * re-encodes. Each caller gets its own message object with its own section arrays; record
 * objects may be shared and must not be mutated. Rejects when the forwarder rejects.
 */
import type { Message } from '../types.js';
import { cacheKey, type DnsCache } from './cache.js';

/** What the resolver needs of a forwarder (the real `Forwarder`, or a fake in tests). */
export interface Upstreams {
  query(req: Message, opts?: { signal?: AbortSignal }): Promise<Message>;
}

function forCaller(res: Message, req: Message): Message {
  const q = req.questions[0]!;
  return {
    ...res,
    questions: [{ name: q.name, type: q.type, class: q.class }],
    answers: res.answers.slice(),
    authority: res.authority.slice(),
    additional: res.additional.slice(),
  };
}

export class ForwardingResolver {
  private readonly forwarder: Upstreams;
  private readonly cache?: DnsCache;
  private readonly inflight = new Map<string, Promise<Message>>();

  constructor(deps: { forwarder: Upstreams; cache?: DnsCache }) {
    this.forwarder = deps.forwarder;
    this.cache = deps.cache;
  }

  /** Number of distinct upstream exchanges in flight (for tests and debugging). */
  get pending(): number {
    return this.inflight.size;
  }

  resolve(req: Message): Promise<Message> {
    if (req.questions.length !== 1) return Promise.reject(new Error('resolver: a query needs exactly one question'));
    const q = req.questions[0]!;
    const dnssecOk = req.edns?.dnssecOk === true;
    const hit = this.cache?.get(q, { dnssecOk });
    if (hit) return Promise.resolve(hit);
    // RD and CD change what an upstream answers, so they are part of the coalescing key.
    const key = `${cacheKey(q, dnssecOk)}/${req.rd ? 'rd' : ''}${req.cd ? 'cd' : ''}`;
    let shared = this.inflight.get(key);
    if (!shared) {
      shared = this.forwarder.query(req).then((res) => {
        this.cache?.set(q, res, { dnssecOk });
        return res;
      });
      const mine = shared;
      const forget = (): void => {
        if (this.inflight.get(key) === mine) this.inflight.delete(key);
      };
      mine.then(forget, forget);
      this.inflight.set(key, mine);
    }
    return shared.then((res) => forCaller(res, req));
  }
}
