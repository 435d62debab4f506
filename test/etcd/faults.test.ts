/**
 * Issue 3 acceptance, fault test on a 3-member etcd: "while clients create objects continuously,
 * kill the leader (kill -9), then a follower, then restart them: the API answers again within a
 * few seconds each time, and every create that got 201 is present at the end".
 *
 * How the sentence is read (literally, in that order):
 * 1. kill -9 the leader. Two of three members remain, so etcd elects a new leader; the API must
 *    answer a create again within RECOVERY_MS of the kill.
 * 2. kill -9 a follower (one of the two survivors that is not the new leader). Now one member of
 *    three is left: no quorum, so no write can succeed until a restart. "Each time" cannot mean
 *    "within a few seconds of this kill"; what we require instead is that during the
 *    NO_QUORUM_MS window writes fail with a Status (503 ServiceUnavailable) instead of hanging
 *    (observed: 6–9 s per request, the etcd server's own request timeout plus client retries),
 *    that none succeeds, and that no other 5xx and no transport error is ever answered.
 * 3. restart both killed members: the API must answer a create again within RECOVERY_MS of etcd
 *    being healthy again (we also report the time from the restart command).
 *
 * Load: WRITERS closed-loop clients (one create after another) plus an open-loop prober that
 * starts a create every PROBE_EVERY_MS whatever the others are doing. The prober is what measures
 * recovery: a closed-loop writer stuck in a request sent before the fault (etcd holds a proposal
 * for its ~6 s request timeout when the leader dies under it) would otherwise hide how quickly
 * *new* requests are served. Recovery = time from the event to the first 201 for a request sent
 * after it.
 *
 * At the end every create answered 201 must be in the final list (counted in the message), and an
 * informer (@kubernetes/client-node) that ran list+watch through all faults must hold exactly the
 * final list: nothing missing, and no object delivered twice (objects are never updated, so any
 * `update` callback would be a duplicate delivery).
 */
import assert from 'node:assert/strict';
import { Agent, request } from 'node:https';
import { after, describe, it } from 'node:test';
import * as k8s from '@kubernetes/client-node';
import { startCluster, type TestCluster } from '../harness.js';
import { etcdSkipReason, startEtcdCluster, type EtcdCluster } from './etcdtest.js';

const NS = 'faults';
const WRITERS = 6;
const PROBE_EVERY_MS = 100;
const PROBE_MAX_OUTSTANDING = 40;
/** "Within a few seconds". */
const RECOVERY_MS = 5_000;
/** How long the no-quorum window is held: longer than etcd's own request timeout (~6 s here). */
const NO_QUORUM_MS = 20_000;
/** A request still unanswered after this is a hang (our backend's worst case is 3 × 10 s). */
const HANG_MS = 40_000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

interface Outcome {
  name: string;
  sentAt: number;
  doneAt: number;
  /** HTTP status, or 0 for a transport error / hang. */
  status: number;
  /** Status reason or transport error text (non-201 only). */
  detail: string;
}

/** Creates ConfigMaps and records the outcome of every request. */
class Load {
  readonly outcomes: Outcome[] = [];
  private readonly agent = new Agent({ keepAlive: true, maxSockets: Infinity });
  private readonly url: URL;
  private stopped = false;
  private readonly running: Promise<void>[] = [];
  private outstanding = 0;

  constructor(private readonly c: TestCluster) {
    this.url = new URL(c.url);
  }

  start(): void {
    for (let w = 0; w < WRITERS; w++) this.running.push(this.writer(w));
    this.running.push(this.prober());
  }

  /** Stops issuing requests and waits for every request in flight to be answered. */
  async stop(): Promise<void> {
    this.stopped = true;
    await Promise.all(this.running);
    this.agent.destroy();
  }

  destroy(): void {
    this.stopped = true;
    this.agent.destroy();
  }

  acked(): string[] {
    return this.outcomes.filter((o) => o.status === 201).map((o) => o.name);
  }

  /** ms from `t0` until a create sent at or after t0 was answered 201; rejects after `ms`. */
  async recoveryAfter(t0: number, ms = 30_000): Promise<number> {
    const deadline = Date.now() + ms;
    for (;;) {
      const first = this.outcomes.filter((o) => o.status === 201 && o.sentAt >= t0).reduce((m, o) => Math.min(m, o.doneAt), Infinity);
      if (first < Infinity) return first - t0;
      if (Date.now() > deadline) throw new Error(`no create answered 201 within ${ms} ms after the event; recent: ${this.recent()}`);
      await sleep(20);
    }
  }

  recent(): string {
    return JSON.stringify(this.outcomes.slice(-5).map((o) => `${o.status} ${o.detail}`));
  }

  private async writer(w: number): Promise<void> {
    for (let i = 0; !this.stopped; i++) await this.create(`w${w}-${i}`);
  }

  private async prober(): Promise<void> {
    const pending: Promise<void>[] = [];
    for (let i = 0; !this.stopped; i++) {
      if (this.outstanding < PROBE_MAX_OUTSTANDING) pending.push(this.create(`p-${i}`));
      await sleep(PROBE_EVERY_MS);
    }
    await Promise.all(pending);
  }

  private create(name: string): Promise<void> {
    const body = JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data: { n: name } });
    const sentAt = Date.now();
    this.outstanding++;
    return new Promise<Outcome>((resolve) => {
      const done = (status: number, detail: string): void => resolve({ name, sentAt, doneAt: Date.now(), status, detail });
      const req = request(
        {
          host: this.url.hostname,
          port: this.url.port,
          method: 'POST',
          path: `/api/v1/namespaces/${NS}/configmaps`,
          ca: this.c.caCertPem,
          agent: this.agent,
          headers: { authorization: `Bearer ${this.c.token}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
        },
        (res) => {
          let b = '';
          res.on('data', (d: Buffer) => (b += d.toString()));
          res.on('end', () => {
            const status = res.statusCode ?? 0;
            let detail = '';
            if (status !== 201) {
              try {
                const s = JSON.parse(b) as { reason?: string; message?: string };
                detail = `${s.reason}: ${s.message}`;
              } catch {
                detail = `non-Status body: ${b.slice(0, 200)}`;
              }
            }
            done(status, detail);
          });
          res.on('error', (e) => done(0, `response error: ${e.message}`));
        },
      );
      req.setTimeout(HANG_MS, () => req.destroy(new Error(`no answer in ${HANG_MS} ms`)));
      req.on('error', (e) => done(0, `transport: ${e.message}`));
      req.end(body);
    }).then((o) => {
      this.outstanding--;
      this.outcomes.push(o);
    });
  }
}

/** Outcome counts by status, e.g. `{ "201": 812, "503": 40 }`. */
function countByStatus(outcomes: readonly Outcome[]): Record<string, number> {
  const out: Record<string, number> = {};
  for (const o of outcomes) out[String(o.status)] = (out[String(o.status)] ?? 0) + 1;
  return out;
}

describe('kubelite on a 3-member etcd under member faults', { skip: etcdSkipReason, timeout: 150_000 }, () => {
  let etcd: EtcdCluster | undefined;
  let c: TestCluster | undefined;
  let load: Load | undefined;
  let informer: k8s.Informer<k8s.V1ConfigMap> | undefined;
  /** Set once the test is done with the informer, so its restart-on-error stops. */
  let closing = false;
  after(async () => {
    closing = true;
    load?.destroy();
    await informer?.stop().catch(() => undefined);
    // A cluster whose store lost quorum (a failed run) may take a while to close: bound it.
    if (c) {
      let timer: NodeJS.Timeout | undefined;
      await Promise.race([c.close().catch(() => undefined), new Promise((r) => (timer = setTimeout(r, 10_000)))]);
      clearTimeout(timer);
    }
    await etcd?.stop();
  });

  it('kill -9 leader, then a follower, then restart both: API recovers each time, no acknowledged create lost, watch cache exact', async (t) => {
    const t0 = Date.now();
    const log = (s: string): void => t.diagnostic(`+${((Date.now() - t0) / 1000).toFixed(1)}s ${s}`);
    etcd = await startEtcdCluster(3);
    c = await startCluster({ storeUrl: `etcd://${etcd.endpoints.join(',')}` });
    const ns = await c.http('POST', '/api/v1/namespaces', { body: JSON.stringify({ metadata: { name: NS } }) });
    assert.equal(ns.status, 201, ns.body);

    // The watch that rides through every fault.
    const kc = new k8s.KubeConfig();
    kc.loadFromFile(c.kubeconfig);
    const core = kc.makeApiClient(k8s.CoreV1Api);
    const adds = new Map<string, number>();
    let updates = 0;
    let deletes = 0;
    const informerErrors: string[] = [];
    const inf = k8s.makeInformer(kc, `/api/v1/namespaces/${NS}/configmaps`, () => core.listNamespacedConfigMap({ namespace: NS }));
    informer = inf;
    inf.on('add', (o) => adds.set(o.metadata!.name!, (adds.get(o.metadata!.name!) ?? 0) + 1));
    inf.on('update', () => updates++);
    inf.on('delete', () => deletes++);
    // A client restarts its informer after an error (client-node's documented pattern); that
    // relists, so errors are counted and must stay at zero for the exactness check to mean much.
    inf.on('error', (e) => {
      informerErrors.push(String((e as Error)?.message ?? e));
      if (!closing) setTimeout(() => void (closing ? undefined : inf.start().catch(() => undefined)), 500);
    });
    await inf.start();

    const l = new Load(c);
    load = l;
    l.start();
    const deadline = Date.now() + 10_000;
    while (l.acked().length < 100) {
      if (Date.now() > deadline) throw new Error(`warm-up: only ${l.acked().length} creates acknowledged in 10 s; recent: ${l.recent()}`);
      await sleep(20);
    }
    log(`warm-up done, ${l.acked().length} acked`);

    // Phase 1: kill -9 the leader; the two survivors elect a new one.
    const leader = await etcd.leaderIndex();
    const kill1 = Date.now();
    await etcd.kill(leader, 'SIGKILL');
    const rec1 = await l.recoveryAfter(kill1);
    log(`killed leader m${leader}: API answered a create again after ${rec1} ms`);
    await sleep(1_000);

    // Phase 2: kill -9 a follower: one member of three left, no quorum.
    const leader2 = await etcd.leaderIndex();
    const follower = [0, 1, 2].find((i) => i !== leader && i !== leader2 && etcd!.running(i));
    assert.ok(follower !== undefined, `a running follower besides the new leader m${leader2}`);
    const kill2 = Date.now();
    await etcd.kill(follower, 'SIGKILL');
    log(`killed follower m${follower} (new leader was m${leader2}); holding the no-quorum window for ${NO_QUORUM_MS} ms`);
    await sleep(NO_QUORUM_MS);
    const restartAt = Date.now();
    const inWindow = l.outcomes.filter((o) => o.sentAt >= kill2 + 1_000 && o.doneAt < restartAt);

    // Phase 3: restart both; quorum returns.
    await Promise.all([etcd.restart(leader), etcd.restart(follower)]);
    const healthyAt = Date.now();
    const rec3 = await l.recoveryAfter(restartAt);
    log(`restarted m${leader} and m${follower} (healthy after ${healthyAt - restartAt} ms): API answered a create after ${rec3} ms from the restart command`);
    await sleep(1_000);
    await l.stop();
    log(`load stopped: ${JSON.stringify(countByStatus(l.outcomes))}`);

    // Every acknowledged create is in the final list.
    const list = await core.listNamespacedConfigMap({ namespace: NS });
    const listed = new Set(list.items.map((o) => o.metadata!.name!));
    const acked = l.acked();
    const lost = acked.filter((n) => !listed.has(n));
    assert.deepEqual(lost, [], `${lost.length} of ${acked.length} acknowledged creates are missing from the final list of ${listed.size}`);
    assert.ok(acked.length >= 200, `enough load to mean something: ${acked.length} acknowledged creates`);
    log(`${acked.length} acknowledged creates, all ${acked.length} present among ${listed.size} listed`);

    // Recovery within a few seconds each time quorum exists.
    assert.ok(rec1 <= RECOVERY_MS, `API answered again ${rec1} ms after the leader was killed (limit ${RECOVERY_MS})`);
    const afterHealthy = rec3 - (healthyAt - restartAt);
    assert.ok(afterHealthy <= RECOVERY_MS, `API answered again ${afterHealthy} ms after the restarted etcd was healthy (limit ${RECOVERY_MS})`);

    // Without quorum writes fail with a Status (503), they do not hang.
    const windowCounts = countByStatus(inWindow);
    log(`answered during the no-quorum window: ${JSON.stringify(windowCounts)}`);
    assert.ok((windowCounts['503'] ?? 0) > 0, `writes without quorum are answered 503 within the window: ${JSON.stringify(windowCounts)}`);
    assert.equal(windowCounts['201'] ?? 0, 0, 'no create can succeed without quorum');

    // Never a 5xx other than unavailability, never a transport error or hang.
    const bad = l.outcomes.filter((o) => o.status === 0 || (o.status >= 500 && o.status !== 503 && o.status !== 504));
    assert.deepEqual(bad.map((o) => `${o.name}: ${o.status} ${o.detail}`), [], 'only 503/504 for a store outage');
    const slowest = l.outcomes.reduce((m, o) => Math.max(m, o.doneAt - o.sentAt), 0);
    const at = (ms: number): string => `+${((ms - t0) / 1000).toFixed(1)}s`;
    log(`events: leader killed ${at(kill1)}, follower killed ${at(kill2)}, restart ${at(restartAt)}; slowest answer ${slowest} ms`);
    // A 409 here means a create was told AlreadyExists for a name nobody else ever used: the
    // etcd client re-sent a create that had already committed (see the report on etcd3 retries).
    const odd = l.outcomes.filter((o) => o.status !== 201 && o.status !== 503);
    if (odd.length > 0) log(`other answers: ${JSON.stringify(odd.map((o) => `${o.name} sent ${at(o.sentAt)} answered ${at(o.doneAt)}: ${o.status} ${o.detail}`))}`);

    // The informer's cache converges on exactly the final list.
    const want = list.items.map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
    const cached = (): string[] => inf.list(NS).map((o) => `${o.metadata!.name}@${o.metadata!.resourceVersion}`).sort();
    const until = Date.now() + 15_000;
    while (cached().length < want.length && Date.now() < until) await sleep(50);
    const got = cached();
    const missing = want.filter((x) => !got.includes(x));
    const extra = got.filter((x) => !want.includes(x));
    assert.deepEqual({ missing, extra }, { missing: [], extra: [] }, `informer cache (${got.length}) equals the final list (${want.length})`);
    const dupAdds = [...adds].filter(([, n]) => n > 1).map(([name]) => name);
    assert.deepEqual({ dupAdds, updates, deletes }, { dupAdds: [], updates: 0, deletes: 0 }, 'each object delivered exactly once');
    closing = true;
    assert.deepEqual(informerErrors, [], 'the watch rode through every fault without an error');
    log(`informer cache holds exactly the ${want.length} listed objects; total ${((Date.now() - t0) / 1000).toFixed(1)} s`);
  });
});
