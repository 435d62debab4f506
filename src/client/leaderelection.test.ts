import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startCluster, type TestCluster } from '../../test/harness.js';
import { LocalClient, LEASES } from './client.js';
import { LeaderElector, microTime, type LeaderElectorOptions, type LeaseRecord } from './leaderelection.js';
import { FakeClock } from './fakeclock.js';
import type { KObject } from '../api/types.js';


const LEASE_S = 15;
type Spec = Omit<LeaderElectorOptions, 'name' | 'clock'>;

/** A little world: electors sharing one fake clock, checked after every step for split brain. */
class World {
  readonly clock = new FakeClock(Date.UTC(2024, 0, 1));
  readonly electors: LeaderElector[] = [];
  readonly events: string[] = [];
  constructor(
    readonly client: LocalClient,
    readonly lease: string,
  ) {}

  add(identity: string, o: Spec & { client?: LocalClient } = {}): LeaderElector {
    const e = new LeaderElector(o.client ?? this.client, {
      name: this.lease,
      identity,
      clock: this.clock,
      random: () => 0,
      onStartedLeading: () => void this.events.push(`${identity} started`),
      onStoppedLeading: () => void this.events.push(`${identity} stopped`),
      ...o,
    });
    this.electors.push(e);
    return e;
  }

  async settle(): Promise<void> {
    await Promise.all(this.electors.map((e) => e.settled()));
  }

  /** Advances time to now+ms, firing timers in order and letting each step's I/O finish. */
  async run(ms: number): Promise<void> {
    const end = this.clock.t + ms;
    for (;;) {
      const at = this.clock.nextDue(end);
      if (at === undefined) break;
      this.clock.t = at;
      this.clock.fireDue();
      await this.settle();
      this.checkSingleLeader();
    }
    this.clock.t = end;
  }

  leaders(): string[] {
    return this.electors.filter((e) => e.isLeader()).map((e) => e.identity);
  }

  checkSingleLeader(): void {
    assert.ok(this.leaders().length <= 1, `split brain at t=${this.clock.t}: ${this.leaders().join(', ')}`);
  }

  async spec(): Promise<LeaseRecord> {
    return ((await this.client.get(LEASES, 'kube-system', this.lease)) as unknown as { spec: LeaseRecord }).spec;
  }

  async stopAll(): Promise<void> {
    for (const e of this.electors) e.crash();
  }
}

describe('LeaderElector', () => {
  let c: TestCluster;
  let client: LocalClient;
  let n = 0;
  const world = (): World => new World(client, `test-lease-${++n}`);
  before(async () => {
    c = await startCluster({ store: 'memory', controllers: false });
    client = new LocalClient(c.server.registry, { manager: 'leader-election-test' });
  });
  after(async () => {
    await c?.close();
  });

  it('formats MicroTime with six fractional digits', () => {
    assert.equal(microTime(Date.UTC(2006, 0, 2, 15, 4, 5, 7)), '2006-01-02T15:04:05.007000Z');
  });

  it('rejects inconsistent timings', () => {
    const cases: [Partial<LeaderElectorOptions>, RegExp][] = [
      [{ leaseDurationMs: 10_000, renewDeadlineMs: 10_000 }, /leaseDuration/],
      [{ renewDeadlineMs: 2_000, retryPeriodMs: 2_000 }, /renewDeadline/],
      [{ retryPeriodMs: 0 }, /retryPeriod/],
    ];
    for (const [o, re] of cases) assert.throws(() => new LeaderElector(client, { name: 'x', ...o }), re);
  });

  it('of two candidates exactly one leads, and keeps renewing', async () => {
    const w = world();
    const a = w.add('a');
    const b = w.add('b');
    a.start();
    b.start();
    await w.run(1);
    assert.deepEqual(w.leaders(), ['a']);
    const first = await w.spec();
    assert.equal(first.holderIdentity, 'a');
    assert.equal(first.leaseDurationSeconds, LEASE_S);
    assert.equal(first.leaseTransitions, 0);
    assert.match(first.renewTime ?? '', /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/);
    await w.run(60_000);
    assert.deepEqual(w.leaders(), ['a'], 'a live leader is never displaced');
    const later = await w.spec();
    assert.equal(later.acquireTime, first.acquireTime, 'acquireTime is kept while renewing');
    assert.notEqual(later.renewTime, first.renewTime);
    assert.ok(w.clock.t - Date.parse(later.renewTime!) <= 2_000, 'renewed every retryPeriod');
    assert.equal(b.leader(), 'a');
    assert.deepEqual(w.events, ['a started']);
    await w.stopAll();
  });

  it('the other candidate takes over after leaseDuration when the leader stops renewing', async () => {
    const w = world();
    const a = w.add('a');
    const b = w.add('b');
    a.start();
    await w.run(1);
    b.start();
    await w.run(10_000);
    assert.deepEqual(w.leaders(), ['a']);
    a.crash();
    const crashedAt = w.clock.t;
    // b last saw the record change at most one retry period before the crash.
    await w.run(LEASE_S * 1000 - 2_000 - 1);
    assert.deepEqual(w.leaders(), [], 'nobody leads while the lease may still be valid');
    await w.run(crashedAt + LEASE_S * 1000 + 2 * 2_000 - w.clock.t);
    assert.deepEqual(w.leaders(), ['b']);
    const spec = await w.spec();
    assert.equal(spec.holderIdentity, 'b');
    assert.equal(spec.leaseTransitions, 1, 'a holder change counts as a transition');
    assert.ok(Date.parse(spec.acquireTime!) >= crashedAt + LEASE_S * 1000, 'acquireTime is when b took over');
    await w.stopAll();
  });

  it('a fresh candidate does not trust a stale renewTime: it waits a full lease duration', async () => {
    const w = world();
    // A record left by a holder that died long ago (by its own, possibly skewed, clock).
    await client.create(LEASES, 'kube-system', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: w.lease },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: LEASE_S, renewTime: microTime(0), acquireTime: microTime(0), leaseTransitions: 3 },
    } as KObject);
    const a = w.add('a');
    a.start();
    await w.run(LEASE_S * 1000 - 1);
    assert.deepEqual(w.leaders(), []);
    await w.run(2_000);
    assert.deepEqual(w.leaders(), ['a']);
    assert.equal((await w.spec()).leaseTransitions, 4);
    await w.stopAll();
  });

  it('two candidates racing for an expired lease: optimistic concurrency lets one win', async () => {
    const w = world();
    await client.create(LEASES, 'kube-system', {
      apiVersion: 'coordination.k8s.io/v1',
      kind: 'Lease',
      metadata: { name: w.lease },
      spec: { holderIdentity: 'ghost', leaseDurationSeconds: LEASE_S, renewTime: microTime(0), leaseTransitions: 0 },
    } as KObject);
    const a = w.add('a');
    const b = w.add('b');
    a.start();
    b.start(); // same timers, so their attempts overlap: both read the same resourceVersion
    await w.run(LEASE_S * 1000 + 2_000);
    assert.equal(w.leaders().length, 1);
    assert.equal((await w.spec()).holderIdentity, w.leaders()[0]);
    assert.equal((await w.spec()).leaseTransitions, 1, 'only one update went through');
    await w.stopAll();
  });

  it('stop() releases the lease so the other candidate takes over at once', async () => {
    const w = world();
    const a = w.add('a');
    const b = w.add('b');
    a.start();
    await w.run(1);
    b.start();
    await w.run(5_000);
    await a.stop();
    assert.deepEqual(w.events, ['a started', 'a stopped'], 'onStoppedLeading ran before the release');
    const released = await w.spec();
    assert.equal(released.holderIdentity, '');
    assert.equal(released.leaseDurationSeconds, 1);
    await w.run(2_000);
    assert.deepEqual(w.leaders(), ['b'], 'taken over within one retry period');
    assert.equal((await w.spec()).leaseTransitions, 1);
    await w.stopAll();
  });

  it('stop() without releaseOnCancel leaves the lease to expire', async () => {
    const w = world();
    const a = w.add('a', { releaseOnCancel: false });
    a.start();
    await w.run(1);
    await a.stop();
    assert.equal((await w.spec()).holderIdentity, 'a');
    assert.deepEqual(w.events, ['a started', 'a stopped']);
  });

  it('conflicts while renewing neither end leadership early nor make two leaders', async () => {
    const cases: { name: string; failFor: number; aLeadsAfter: boolean }[] = [
      { name: 'conflicts shorter than renewDeadline', failFor: 6_000, aLeadsAfter: true },
      { name: 'conflicts beyond renewDeadline', failFor: 40_000, aLeadsAfter: false },
    ];
    for (const tc of cases) {
      const w = world();
      let failing = false;
      let conflicts = 0;
      // A client whose updates race a concurrent writer: just before a's update lands,
      // someone else touches the lease, so the registry answers 409 Conflict for real.
      const racing = Object.create(client) as LocalClient;
      racing.update = async (ref, obj): Promise<KObject> => {
        if (failing) {
          await client.mutate(LEASES, 'kube-system', w.lease, (live) => {
            live.metadata.labels = { touched: String(++conflicts) };
            return live;
          });
        }
        return client.update(ref, obj);
      };
      const a = w.add('a', { client: racing });
      const b = w.add('b');
      a.start();
      await w.run(1);
      b.start();
      await w.run(4_000);
      failing = true;
      await w.run(tc.failFor);
      assert.ok(conflicts > 0, `${tc.name}: renewals did conflict`);
      if (tc.aLeadsAfter) {
        assert.deepEqual(w.leaders(), ['a'], tc.name);
        failing = false;
        await w.run(30_000);
        assert.deepEqual(w.leaders(), ['a'], `${tc.name}: renewals resume`);
        assert.deepEqual(w.events, ['a started'], tc.name);
      } else {
        assert.deepEqual(w.leaders(), ['b'], `${tc.name}: b took over once the lease expired`);
        assert.deepEqual(w.events.slice(0, 3), ['a started', 'a stopped', 'b started'], `${tc.name}: a stopped before b started`);
      }
      await w.stopAll();
    }
  });

  it('a leader that sees another holder in the record stops at once', async () => {
    const w = world();
    const a = w.add('a');
    a.start();
    await w.run(1);
    await client.mutate(LEASES, 'kube-system', w.lease, (live) => {
      (live as unknown as { spec: LeaseRecord }).spec.holderIdentity = 'usurper';
      return live;
    });
    await w.run(2_000);
    assert.deepEqual(w.leaders(), []);
    assert.deepEqual(w.events, ['a started', 'a stopped']);
    assert.equal(a.leader(), 'usurper');
    await w.stopAll();
  });
});
